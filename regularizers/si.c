/* SI, synaptic intelligence (Zenke et al. 2017). Along the training path of a task, each parameter's
 * contribution to the decrease of the (unregularized) loss is integrated:
 *
 *     omega_i += -g_i * delta_theta_i          at every optimizer step, g the task gradient without penalty
 *
 * and at the end of the task it becomes importance, normalized by how far the parameter moved:
 *
 *     Omega_i += omega_i / ((theta_end_i - theta_start_i)^2 + xi),   xi the damping (default 0.1)
 *
 * Summed across tasks, anchored at the latest optimum. That is the paper's Eq. 5, which the reference
 * implementations follow: a task's term may be negative (a parameter whose steps raised the loss, as
 * momentum and Adam's steps can), and lowers the parameter's importance. clip=yes clips each task's term at
 * 0 first, the form clreg used before (see the README for what each gives). Negative terms can leave a
 * parameter's Omega negative; the penalty then pulls it away from its anchor, as the paper's would. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "regularizers/regint.h"

typedef struct si_state {
    float xi;
    int clip;     /* clip each task's term at 0 */
    float *path;  /* omega: the running path integral of this task */
    float *start; /* theta at the start of the task */
} si_state;

static int si_create(cl_reg *r, const cl_mlp *m)
{
    si_state *st = cl_calloc(1, sizeof *st);
    r->state = st;
    static const char *const noyes[] = {"no", "yes", NULL};
    if (cl_reg_get_float(r, "xi", 1e-12, 1e12, &st->xi) || cl_reg_get_choice(r, "clip", noyes, &st->clip)) return -1;
    r->signed_importance = !st->clip;
    st->path = cl_aligned_calloc(m->nparams, sizeof(float));
    st->start = cl_aligned_calloc(m->nparams, sizeof(float));
    return 0;
}

static void si_begin_task(cl_reg *r, const cl_mlp *m, int task)
{
    si_state *st = r->state;
    memcpy(st->start, m->params, m->nparams * sizeof(float));
    memset(st->path, 0, m->nparams * sizeof(float));
}

/* Over the step's trained ranges only: elsewhere the gradient is zero and the parameters did not move. */
static void si_after_step(cl_reg *r, const cl_mlp *m, const cl_step *step)
{
    si_state *st = r->state;
    for (int k = 0; k < step->nranges; k++) {
        size_t o = step->ranges[k].off, n = step->ranges[k].len;
        const float *restrict th = m->params + o, *restrict g = step->grad + o, *restrict b = step->theta_before + o;
        float *restrict w = st->path + o;
        for (size_t i = 0; i < n; i++) w[i] -= g[i] * (th[i] - b[i]);
    }
}

static int si_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    si_state *st = r->state;
    cl_quad_term *t = cl_quad_single(&r->quad);
    for (size_t i = 0; i < m->nparams; i++) {
        float d = m->params[i] - st->start[i];
        float o = st->path[i] / (d * d + st->xi);
        t->omega[i] += st->clip && !(o > 0.0f) ? 0.0f : o;
    }
    memcpy(t->anchor, m->params, m->nparams * sizeof(float));
    return 0;
}

static void si_destroy(cl_reg *r)
{
    si_state *st = r->state;
    if (!st) return;
    free(st->path);
    free(st->start);
}

const cl_reg_method cl_reg_si = {
    .name = "si",
    .summary = "synaptic intelligence: Omega from the path integral of -g * delta theta",
    .style = {"#d62728", 1, 13},
    .memory = {.state = 2},
    .params = (const cl_reg_param[]){{"lambda", "1", "penalty strength"},
                                     {"xi", "0.1", "damping added to the squared distance moved"},
                                     {"clip", "no", "clip each task's term at 0 (yes) or not (no: the paper's Eq. 5)"},
                                     {NULL, NULL, NULL}},
    .create = si_create,
    .begin_task = si_begin_task,
    .after_step = si_after_step,
    .end_task = si_end_task,
    .importance_cost = cl_reg_cost_no_data,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
    .destroy = si_destroy,
};
