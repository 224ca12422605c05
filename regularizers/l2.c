/* L2: every parameter equally important, Omega = 1, anchored where the previous task ended.
 *
 * The shortest method, and the walk-through in regularizers/README.md. Omega is 1 on the trunk and on the
 * heads of the tasks trained so far; a head that has not trained yet is not pulled towards its random
 * initialization. */
#include <string.h>

#include "regularizers/regint.h"

static int l2_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    cl_quad_term *t = cl_quad_single(&r->quad);
    int head = v->stream->task[v->task].head;
    for (size_t i = 0; i < m->ntrunk; i++) t->omega[i] = 1.0f;
    for (size_t i = 0; i < m->head_len[head]; i++) t->omega[m->head_off[head] + i] = 1.0f;
    memcpy(t->anchor, m->params, m->nparams * sizeof(float));
    return 0;
}

const cl_reg_method cl_reg_l2 = {
    .name = "l2",
    .summary = "L2 to the previous task's parameters: Omega = 1",
    .style = {"#8c564b", 1, 11},
    .params = (const cl_reg_param[]){{"lambda", "0.01", "penalty strength"}, {NULL, NULL, NULL}},
    .end_task = l2_end_task,
    .importance_cost = cl_reg_cost_no_data,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
};
