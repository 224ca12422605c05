/* The running Fisher of EWC++ (Chaudhry et al. 2018, Eq. 6), shared by ewc++ and rwalk:
 *
 *     F <- alpha F_window + (1 - alpha) F          every `every` optimizer steps
 *
 * F_window the mean over the window's steps of each step's Fisher: with fisher=sample the exact empirical
 * Fisher of the step's batch, (1/B) sum_k g_k^2 with g_k the gradient of sample k's own loss
 * (cl_step_per_sample); with fisher=batch the square of the batch-mean gradient, what the authors' code
 * computes (about 1/B of the other for uncorrelated samples: a different number, kept to reproduce it).
 * The authors' code averages over windows of 50 steps with alpha 0.9, the defaults here; every=1 is the
 * paper's per-step Eq. 6.
 *
 * Only the step's trained ranges are updated: a frozen head has no gradient in the step, and averaging its
 * zeros in would erase the Fisher its own task left. The first window sets F instead of averaging into
 * zeros, which would start every Fisher at alpha times its value. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "regularizers/regint.h"

void cl_fisher_ema_init(cl_fisher_ema *e, const cl_mlp *m, int nranges_max)
{
    size_t n = m->nparams;
    memset(e, 0, sizeof *e);
    e->n = n;
    e->work = cl_aligned_calloc(cl_step_per_sample_work(m), sizeof(float));
    e->F = cl_aligned_calloc(n, sizeof(float));
    e->window = cl_aligned_calloc(n, sizeof(float));
    e->ranges = cl_calloc(nranges_max > 0 ? nranges_max : 1, sizeof *e->ranges);
    e->cap = nranges_max;
}

void cl_fisher_ema_free(cl_fisher_ema *e)
{
    free(e->F);
    free(e->window);
    free(e->work);
    free(e->ranges);
    memset(e, 0, sizeof *e);
}

int cl_fisher_ema_step(cl_fisher_ema *e, const cl_mlp *m, const cl_step *step)
{
    e->nranges = step->nranges < e->cap ? step->nranges : e->cap;
    memcpy(e->ranges, step->ranges, sizeof *e->ranges * e->nranges);
    if (e->sample && step->signals) {
        cl_step_per_sample(m, step, CL_IMP_SQUARE, 1.0f, e->window, e->work);
    } else {
        for (int k = 0; k < e->nranges; k++) {
            const float *restrict g = step->grad + e->ranges[k].off;
            float *restrict w = e->window + e->ranges[k].off;
            for (size_t i = 0; i < e->ranges[k].len; i++) w[i] += g[i] * g[i];
        }
    }
    if (++e->nwindow < e->every) return 0;
    cl_fisher_ema_flush(e);
    return 1;
}

void cl_fisher_ema_flush(cl_fisher_ema *e)
{
    if (e->nwindow == 0) return;
    float inv = 1.0f / (float)e->nwindow, a = e->seeded ? e->alpha : 1.0f;
    for (int k = 0; k < e->nranges; k++) {
        float *restrict F = e->F + e->ranges[k].off, *restrict w = e->window + e->ranges[k].off;
        for (size_t i = 0; i < e->ranges[k].len; i++) {
            F[i] = a * (w[i] * inv) + (1.0f - a) * F[i];
            w[i] = 0.0f;
        }
    }
    e->seeded = 1;
    e->nwindow = 0;
}

/* make bench-style measurement (clreg train, permuted Fashion-MNIST, the MLP, batch 128): the exact
 * per-sample Fisher adds FISHER_SAMPLE_PERMILLE of a training step; the batch form's square is a pass over
 * the parameters, which the penalty's cost already counts the like of. */
#define FISHER_SAMPLE_PERMILLE 350

int cl_fisher_ema_step_cost(const cl_reg *r, int old_heads)
{
    (void)old_heads;
    const char *f = cl_reg_get(r, "fisher");
    return f && !strcmp(f, "sample") ? FISHER_SAMPLE_PERMILLE : 0;
}

int cl_fisher_ema_params(cl_reg *r, cl_fisher_ema *e)
{
    static const char *const kinds[] = {"batch", "sample", NULL};
    return cl_reg_get_float(r, "alpha", 1e-6, 1.0, &e->alpha) || cl_reg_get_int(r, "every", 1, 1 << 30, &e->every) ||
                   cl_reg_get_choice(r, "fisher", kinds, &e->sample)
               ? -1
               : 0;
}
