/* MAS importance in other libraries' forms (see mas_forms.h). What each library computes, read from its
 * source, with g_k = d ||f(x_k)||^2 / d theta the per-sample gradient clreg averages the abs of:
 *
 *   MAS authors' code (compute_importance_l2): loss = sum over the batch of ||f||^2 (MSELoss against 0,
 *     no averaging); Omega a running mean of |grad| over batches, which for full batches is
 *     sum_b |sum_{k in b} g_k| / N, and which counts a final partial batch once, like a full one:
 *     (1/n_b) sum_b |mean_b g|. Importance batch 200 (batch 1 optional); penalty gradient 2 lambda Omega
 *     dtheta, so lambda sum Omega dtheta^2; Omegas summed across tasks.
 *   Avalanche MASPlugin: loss = mean over the batch of ||f||^2; Omega = sum_b |grad_b| / n_b, the same form;
 *     batch = the strategy's train_mb_size; penalty lambda sum Omega dtheta^2; the first experience's Omega
 *     taken as is, later ones merged as alpha Omega_old + (1 - alpha) Omega_new.
 *   Continual-Learning-Benchmark (GT-RIPL) MAS: loss = mean of f^2 over the batch *and the C outputs*;
 *     Omega = sum_b |grad_b| / n_b: 1/C times the form above. Batch 100 (its training loader);
 *     penalty reg_coef sum Omega dtheta^2; Omegas summed across tasks.
 *   FACIL MAS: loss = mean over the batch of ||f|| (unsquared; f all heads' outputs so far, one head after
 *     the first task); Omega = sum_b |grad_b| B_b / (n_full B)
 *     over the n_full = floor(N/B) full batches only; trunk only (heads unpenalized); penalty
 *     lambda sum Omega dtheta^2 / 2, and Omega = alpha Omega_old + (1 - alpha) Omega_new from Omega_old = 0
 *     with alpha 0.5 by default, so after the first task it applies (1/2) (1/2) lambda Omega. Batch 64.
 *   CLB and FACIL draw the batches from their shuffled training loaders; here they are formed in the
 *   dataset's order, as for the others. Mammoth has no MAS.
 *
 * The forms are computed by mas.c itself (cl_reg_create("mas", ...) with its norm, estimate and batch
 * options), not re-implemented, so the factors describe the estimator clreg ships. */
#include "regularizers/mas_forms.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

const cl_mas_form cl_mas_forms[] = {
    {"MAS authors' code", "sum_batch ||f||^2", 1, 0, 200, CL_MAS_LAST_MEAN, 1.0, 0},
    {"Avalanche MASPlugin", "mean_batch ||f||^2", 1, 0, 128, CL_MAS_LAST_MEAN, 1.0, 0},
    {"Continual-Learning-Benchmark", "mean_batch,outputs f^2", 1, 1, 100, CL_MAS_LAST_MEAN, 1.0, 0},
    {"FACIL", "mean_batch ||f||", 0, 0, 64, CL_MAS_LAST_DROPPED, 0.25, 1},
    {NULL, NULL, 0, 0, 0, 0, 0, 0},
};

/* mas.c's Omega over the first n samples of the view (n >= 1): exact per-sample (batch 0) or its batch-mean
 * option with batches of `batch`, on the squared or the unsquared norm. */
static int mas_omega(cl_mlp *m, const cl_task_view *v, int squared, int batch, int n, float *omega)
{
    char norm[32], est[32], bsz[32];
    snprintf(norm, sizeof norm, "norm=%s", squared ? "l2sq" : "l2");
    snprintf(est, sizeof est, "estimate=%s", batch ? "batch" : "per-sample");
    snprintf(bsz, sizeof bsz, "batch=%d", batch ? batch : m->bmax);
    const char *params[3] = {norm, est, bsz};
    cl_reg *r = cl_reg_create("mas", params, 3, m);
    if (!r) return -1;
    cl_task_view w = *v;
    w.nsamples = n;
    int rc = cl_reg_end_task(r, m, &w) || cl_reg_importance(r, omega) ? -1 : 0;
    cl_reg_free(r);
    return rc;
}

int cl_mas_exact_importance(cl_mlp *m, const cl_task_view *v, float *omega)
{
    return mas_omega(m, v, 1, 0, cl_view_count(v), omega);
}

int cl_mas_form_importance(cl_mlp *m, const cl_task_view *v, const cl_mas_form *f, int batch, float *omega)
{
    int N = cl_view_count(v), B = batch > 0 ? batch : f->batch;
    if (B < 1) return cl_fail("MAS form %s: no batch size", f->name);
    /* importance.c would quietly cap a larger batch at the model's workspace, a different estimate */
    if (B > m->bmax) return cl_fail("MAS form %s: batch %d exceeds the model's largest batch %d", f->name, B, m->bmax);
    int nfull = N / B, Nfull = nfull * B, Blast = N - Nfull, nb = nfull + (Blast > 0);
    if (Blast == 0 || f->last == CL_MAS_LAST_WEIGHTED) {
        if (mas_omega(m, v, f->squared, B, N, omega)) return -1;
    } else if (f->last == CL_MAS_LAST_DROPPED) {
        if (nfull == 0) return cl_fail("MAS form %s: %d samples make no full batch of %d", f->name, N, B);
        if (mas_omega(m, v, f->squared, B, Nfull, omega)) return -1;
    } else {
        /* mas.c weighs batch b by B_b/N: E(n) = (1/n) sum_b |G_b| over the first n samples (G_b the batch's
         * summed gradient). The full batches' sum is Nfull E(Nfull), the partial one's N E(N) - Nfull E(Nfull),
         * and the per-batch mean is (1/n_b) (sum_full |G_b| / B + |G_last| / Blast). */
        float *full = cl_aligned_calloc(m->nparams, sizeof(float));
        int rc = mas_omega(m, v, f->squared, B, N, omega) || (nfull > 0 && mas_omega(m, v, f->squared, B, Nfull, full));
        if (rc) {
            free(full);
            return -1;
        }
        for (size_t i = 0; i < m->nparams; i++) {
            double sfull = (double)Nfull * full[i], slast = (double)N * omega[i] - sfull;
            double o = (sfull / B + slast / Blast) / nb;
            omega[i] = (float)(o > 0 ? o : 0); /* a sum of abs values: a negative is rounding of a zero */
        }
        free(full);
    }
    if (f->mean_outputs) {
        /* the library's loss averages f^2 over the outputs it sees, which are the task's active units (the
         * head's width, or the classes seen so far in the class-incremental scenario) */
        float invC = 1.0f / (float)v->stream->task[v->task].active;
        for (size_t i = 0; i < m->nparams; i++) omega[i] *= invC;
    }
    if (f->trunk_only) memset(omega + m->ntrunk, 0, (m->nparams - m->ntrunk) * sizeof(float));
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void cl_mas_form_ratio(const float *lib, const float *ref, size_t from, size_t to, double *sum_ratio,
                       double *median_ratio, size_t *n)
{
    double sl = 0, sr = 0;
    size_t k = 0;
    double *r = cl_malloc((to > from ? to - from : 1) * sizeof(double));
    for (size_t i = from; i < to; i++) {
        sl += lib[i];
        sr += ref[i];
        if (ref[i] > 0) r[k++] = (double)lib[i] / ref[i];
    }
    *sum_ratio = sr > 0 ? sl / sr : NAN;
    if (k == 0) *median_ratio = NAN;
    else {
        qsort(r, k, sizeof *r, cmp_double);
        *median_ratio = k % 2 ? r[k / 2] : 0.5 * (r[k / 2 - 1] + r[k / 2]);
    }
    *n = k;
    free(r);
}
