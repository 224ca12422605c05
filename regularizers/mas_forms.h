/* MAS importance in the forms other libraries compute, so a lambda published with one of them can be carried
 * over to clreg (README, "lambda between papers"; measured by bench/bench_mas_forms.c).
 *
 * clreg's MAS (mas.c) is the paper's exact per-sample mean,
 *
 *     Omega = (1/N) sum_k | d ||f(x_k)||_2^2 / d theta |,
 *
 * the squared norm summed over the C outputs of the task's head. The libraries differ from it in three ways,
 * each a factor between their Omega and clreg's:
 *   - the batch approximation: the abs of the gradient of a batch's *mean* loss, averaged over batches. The
 *     abs of a mean is at most the mean of the abs, so their Omega is smaller, by a factor that depends on the
 *     network, the data and the batch size: it is measured, not derived;
 *   - the mean over outputs: a loss averaged over the C outputs instead of summed is 1/C of it, and so are
 *     its gradient and their abs: exactly 1/C, for every parameter;
 *   - the unsquared norm ||f||: its gradient is that of ||f||^2 divided by 2 ||f||, a per-sample factor.
 * and, outside Omega, in the penalty's prefactor (a 1/2) and in how Omega is merged across tasks.
 *
 * Each form is computed with mas.c's own options (norm=l2|l2sq, estimate=batch, batch=B), so what is
 * measured is what `clreg train --reg mas -p ...` would use; the 1/C and the libraries' handling of the
 * final, partial batch are applied here. */
#ifndef CLREG_MAS_FORMS_H
#define CLREG_MAS_FORMS_H

#include <stddef.h>

#include "models/mlp.h"
#include "regularizers/regint.h"

/* How a library weighs the final batch of N samples when B does not divide N (n_b = ceil(N/B) batches). */
typedef enum {
    CL_MAS_LAST_WEIGHTED, /* sum_b (B_b/N) |mean_b g|: mas.c's estimate=batch, a sample-weighted mean */
    CL_MAS_LAST_MEAN,     /* (1/n_b) sum_b |mean_b g|: every batch counts once, the partial one too */
    CL_MAS_LAST_DROPPED,  /* the partial batch is never seen: floor(N/B) full batches, sample-weighted */
} cl_mas_last;

typedef struct cl_mas_form {
    const char *name;       /* the libraries that compute it */
    const char *loss;       /* their per-batch loss, in words */
    int squared;            /* 1: ||f||^2 (mas norm=l2sq); 0: ||f|| (norm=l2) */
    int mean_outputs;       /* 1: the loss averages over the C outputs the head's loss sees (1/C of the sum) */
    int batch;              /* the library's default batch for the importance pass; 0: exact per-sample */
    cl_mas_last last;       /* the final, partial batch */
    double penalty_scale;   /* after one task their penalty is penalty_scale * lambda * sum Omega (dtheta)^2:
                             * the penalty's own prefactor times what the merge across tasks leaves of
                             * the first task's Omega */
    int trunk_only;         /* 1: they keep no importance for the heads (their penalty spares them) */
} cl_mas_form;

/* The library forms, terminated by {NULL}; bench_mas_forms measures each, the README cites them. */
extern const cl_mas_form cl_mas_forms[];

/* Omega of form f at batch `batch` (0: f->batch) over the view's samples, into omega (m->nparams, overwritten;
 * zero outside the trunk and the task's head, and outside the trunk when f->trunk_only). batch must be at
 * most m->bmax. 0, or -1 with a message. */
int cl_mas_form_importance(cl_mlp *m, const cl_task_view *v, const cl_mas_form *f, int batch, float *omega);

/* clreg's own Omega (mas.c's defaults: exact, per-sample, squared norm) over the view, into omega. */
int cl_mas_exact_importance(cl_mlp *m, const cl_task_view *v, float *omega);

/* How Omega `lib` compares with Omega `ref` over the parameters [from, to): *sum_ratio = sum lib / sum ref,
 * *median_ratio = the median of lib_i / ref_i over the parameters with ref_i > 0 (a silent unit's are 0 in
 * every form), *n how many those are. */
void cl_mas_form_ratio(const float *lib, const float *ref, size_t from, size_t to, double *sum_ratio,
                       double *median_ratio, size_t *n);

#endif
