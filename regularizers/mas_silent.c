/* MAS that sees silent units: global MAS (mas.c), plus an importance for the units every gradient estimator
 * misses.
 *
 * Why. A ReLU unit that outputs 0 on every sample of a finished task passes no gradient, so its incoming
 * weights and bias get Omega = 0 under MAS, EWC's Fisher, MAS-local and SI alike, and so do its outgoing
 * weights (their input is 0). The next task is then free to move them, and does: on permuted
 * Fashion-MNIST under Adam, 85 of 800 hidden units were silent after task 1, task 2 was learned through
 * them, and once revived they fire on task-1 inputs too (README, "Why a larger lambda can forget more").
 * The outgoing weights of a unit that stays silent on the old data cannot hurt it; the harm comes from the
 * unit waking up on it, which only its incoming weights and bias can do (given protected layers below).
 *
 * What. For a unit u of a dense trunk layer that is silent on every sample the importance reads, its
 * incoming weights and bias get the importance they would have if its ReLU were open: the MAS term with the
 * signal that reaches u's output from above, e_k = W_{l+1}^T d_{k,l+1}, in place of the zero the ReLU
 * leaves,
 *
 *     Omega_W[u][j] = (1/N) sum_k |e_ku| |x_kj|,     Omega_b[u] = (1/N) sum_k |e_ku|
 *
 * (importance.c, open_silent). It is in MAS's units, so one lambda serves both, and it is large exactly
 * where waking the unit would change the output norm on the old task's inputs. Units that fired keep MAS's
 * importance unchanged, and the outgoing weights of silent units stay free, so new tasks still have the
 * capacity: what they lose is the freedom to move a silent unit's input weights along directions the old
 * inputs excite. Summed across tasks and anchored at the latest optimum, like MAS. The stem's convolution
 * channels are not covered (their silent channels get MAS's zero). */
#include <string.h>

#include "regularizers/regint.h"

static void silent_signal(void *ctx, int pass, const float *logits, const int *y, int B, int C, int active,
                          float *dlogits, float *weight)
{
    (void)ctx, (void)pass, (void)y, (void)weight;
    cl_mas_signal_l2sq(logits, B, C, active, dlogits);
}

static int silent_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    cl_imp_estimator est = {.combine = CL_IMP_ABS, .npasses = 1, .signal = silent_signal, .open_silent = 1};
    cl_quad_term *t = cl_quad_single(&r->quad);
    if (cl_importance(m, v, &est, t->omega)) return -1; /* adds the new importance to the old */
    memcpy(t->anchor, m->params, m->nparams * sizeof(float));
    return 0;
}

/* MAS's pass (0.91 of a training sample, make bench) plus one more gemm per layer for the open signal
 * and one for its importance. */
static int silent_cost(const cl_reg *r, int nclasses)
{
    (void)r, (void)nclasses;
    return 1500;
}

const cl_reg_method cl_reg_mas_silent = {
    .name = "mas-silent",
    .summary = "MAS plus, for units silent on all of a task, the importance their inputs would have if they fired",
    .style = {"#e377c2", 1, 14},
    .memory = {.imp = 1, .imp_extra = 1},
    .params = (const cl_reg_param[]){{"lambda", "0.001", "penalty strength (MAS's units)"},
                                     CL_REG_DATA_PARAMS,
                                     {NULL, NULL, NULL}},
    .end_task = silent_end_task,
    .importance_cost = silent_cost,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
};
