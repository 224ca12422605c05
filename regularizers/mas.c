/* MAS, memory aware synapses (Aljundi et al. 2018), global form: Omega is the mean over samples of the
 * absolute per-sample gradient of the squared L2 norm of the network's output,
 *
 *     Omega_i = (1/N) sum_k | d ||f(x_k)||_2^2 / d theta_i |
 *
 * f the logits of the finished task's head (class-incremental: the units of the classes seen so far). It
 * needs no labels, so it can be computed on the task's test inputs (data=test). The per-sample signal at
 * the logits is d_k = 2 f(x_k), and importance.c turns it into Omega_W = (1/N) |D|^T |X| per layer.
 * Importances are summed across tasks, as the official code does, and anchored at the latest optimum.
 *
 * Compatibility options, to reproduce other libraries (not the paper):
 *   norm=l2           the unsquared norm ||f(x_k)||_2, d_k = f / ||f||
 *   estimate=batch    the abs of the batch-mean gradient, averaged over batches of `batch` samples
 * mas_forms.c computes each library's exact form with them, for the lambda factors in the README. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "regularizers/regint.h"

enum { NORM_L2SQ, NORM_L2 };
enum { EST_PER_SAMPLE, EST_BATCH };

typedef struct mas_state {
    int norm, estimate, batch;
} mas_state;

void cl_mas_signal_l2sq(const float *logits, int B, int C, int active, float *dlogits)
{
    for (int k = 0; k < B; k++) {
        const float *f = logits + (size_t)k * C;
        float *d = dlogits + (size_t)k * C;
        memset(d, 0, sizeof(float) * C);
        for (int c = 0; c < active; c++) d[c] = 2.0f * f[c];
    }
}

static void mas_signal(void *ctx, int pass, const float *logits, const int *y, int B, int C, int active,
                       float *dlogits, float *weight)
{
    const mas_state *st = ctx;
    if (st->norm == NORM_L2SQ) {
        cl_mas_signal_l2sq(logits, B, C, active, dlogits);
        return;
    }
    for (int k = 0; k < B; k++) {
        const float *f = logits + (size_t)k * C;
        float *d = dlogits + (size_t)k * C;
        memset(d, 0, sizeof(float) * C);
        double nrm = 0;
        for (int c = 0; c < active; c++) nrm += (double)f[c] * f[c];
        nrm = sqrt(nrm);
        if (nrm > 0)
            for (int c = 0; c < active; c++) d[c] = (float)(f[c] / nrm);
    }
}

static int mas_create(cl_reg *r, const cl_mlp *m)
{
    static const char *const norms[] = {"l2sq", "l2", NULL};
    static const char *const ests[] = {"per-sample", "batch", NULL};
    mas_state *st = cl_calloc(1, sizeof *st);
    r->state = st;
    return cl_reg_get_choice(r, "norm", norms, &st->norm) || cl_reg_get_choice(r, "estimate", ests, &st->estimate) ||
                   cl_reg_get_int(r, "batch", 1, 1 << 20, &st->batch)
               ? -1
               : 0;
}

static int mas_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    mas_state *st = r->state;
    cl_imp_estimator est = {.combine = CL_IMP_ABS, .npasses = 1, .signal = mas_signal, .ctx = st,
                            .batch_estimate = st->estimate == EST_BATCH,
                            .batch = st->estimate == EST_BATCH ? st->batch : 0};
    cl_quad_term *t = cl_quad_single(&r->quad);
    if (cl_importance(m, v, &est, t->omega)) return -1; /* adds the new importance to the old */
    memcpy(t->anchor, m->params, m->nparams * sizeof(float));
    return 0;
}

/* make bench: the per-sample estimate costs 0.91 of a training sample; the batch estimate is a training
 * step without the update. */
static int mas_cost(const cl_reg *r, int nclasses)
{
    (void)r, (void)nclasses;
    return 910;
}

const cl_reg_method cl_reg_mas = {
    .name = "mas",
    .summary = "memory aware synapses, global: Omega = mean |per-sample grad of ||f(x)||^2|",
    .style = {"#ff7f0e", 1, 5},
    .memory = {.imp = 1},
    .params =
        (const cl_reg_param[]){
            {"lambda", "0.01", "penalty strength"},
            {"norm", "l2sq", "l2sq (squared norm, the paper) or l2 (unsquared, some libraries)"},
            {"estimate", "per-sample", "per-sample (exact) or batch (abs of the batch-mean gradient)"},
            {"batch", "128", "estimate=batch: samples per batch"},
            CL_REG_DATA_PARAMS,
            {NULL, NULL, NULL}},
    .create = mas_create,
    .end_task = mas_end_task,
    .importance_cost = mas_cost,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
};
