/* RWalk, Riemannian walk (Chaudhry et al. 2018): the EWC++ running Fisher plus a path score, SI's path
 * integral measured in the Fisher's metric instead of the Euclidean one:
 *
 *     w_i   += -g_i (theta_i(t+1) - theta_i(t))                         every step, g unregularized
 *     s_i   += relu( w_i / (1/2 F_i (theta_i - theta_i^start)^2 + eps) )  every `every` steps (a window),
 *              theta^start where the window began, F the running Fisher with the window folded in; w <- 0
 *     S     <- (S + s) / 2,  s <- 0                                     at the end of a task (the first: S = s)
 *     Omega  = norm(F) + norm(S),   norm(x) = (x - min x) / (max x - min x) over all parameters
 *     penalty = lambda * sum_i Omega_i (theta_i - theta*_i)^2,  theta* where the last task ended
 *
 * As the paper and the authors' code: negative window scores set to zero (they care about the parameters
 * that lowered the loss), the scores averaged across tasks so the penalty does not grow ever more rigid,
 * and F and S rescaled to [0, 1] so that neither term swamps the other (normalize=no keeps them raw).
 * Departures from the authors' code, both towards the paper: the 1/2 in the denominator is kept (the code
 * drops it), and the average is (S + s)/2 (the code's assign_add makes it 1.5 S + s/2). eps is the code's
 * 1e-3. The running Fisher is fisher_ema.c's; see it for alpha, every and fisher. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "regularizers/regint.h"

typedef struct rwalk_state {
    cl_fisher_ema fe;
    float eps;
    int normalize;
    float *w;       /* the window's path integral */
    float *start;   /* theta where the window began */
    float *s;       /* this task's score so far */
    float *S;       /* the scores averaged over the finished tasks */
    int ntasks;     /* finished tasks */
} rwalk_state;

static int rwalk_create(cl_reg *r, const cl_mlp *m)
{
    rwalk_state *st = cl_calloc(1, sizeof *st);
    r->state = st;
    cl_fisher_ema_init(&st->fe, m, m->nheads + 1);
    static const char *const noyes[] = {"no", "yes", NULL};
    if (cl_fisher_ema_params(r, &st->fe) || cl_reg_get_float(r, "eps", 1e-12, 1e12, &st->eps) ||
        cl_reg_get_choice(r, "normalize", noyes, &st->normalize))
        return -1;
    st->w = cl_aligned_calloc(m->nparams, sizeof(float));
    st->start = cl_aligned_calloc(m->nparams, sizeof(float));
    st->s = cl_aligned_calloc(m->nparams, sizeof(float));
    st->S = cl_aligned_calloc(m->nparams, sizeof(float));
    return 0;
}

static void rwalk_begin_task(cl_reg *r, const cl_mlp *m, int task)
{
    (void)task;
    rwalk_state *st = r->state;
    memcpy(st->start, m->params, m->nparams * sizeof(float));
    memset(st->w, 0, m->nparams * sizeof(float));
}

/* Close a window: its path integral, normalized by the Fisher distance it walked, into this task's score.
 * Over the trained ranges only; elsewhere nothing moved. */
static void close_window(rwalk_state *st, const cl_mlp *m)
{
    const cl_fisher_ema *e = &st->fe;
    for (int k = 0; k < e->nranges; k++) {
        size_t o = e->ranges[k].off, n = e->ranges[k].len;
        for (size_t i = o; i < o + n; i++) {
            float d = m->params[i] - st->start[i];
            float v = st->w[i] / (0.5f * e->F[i] * d * d + st->eps);
            st->s[i] += v > 0.0f ? v : 0.0f;
            st->w[i] = 0.0f;
            st->start[i] = m->params[i];
        }
    }
}

static void rwalk_after_step(cl_reg *r, const cl_mlp *m, const cl_step *step)
{
    rwalk_state *st = r->state;
    for (int k = 0; k < step->nranges; k++) {
        size_t o = step->ranges[k].off, n = step->ranges[k].len;
        const float *restrict g = step->grad + o, *restrict b = step->theta_before + o, *restrict th = m->params + o;
        float *restrict w = st->w + o;
        for (size_t i = 0; i < n; i++) w[i] -= g[i] * (th[i] - b[i]);
    }
    if (cl_fisher_ema_step(&st->fe, m, step)) close_window(st, m);
}

/* out = (x - min) / (max - min) over all n entries (0 when they are all equal). */
static void normalize_into(float *out, const float *x, size_t n)
{
    float lo = FLT_MAX, hi = -FLT_MAX;
    for (size_t i = 0; i < n; i++) lo = x[i] < lo ? x[i] : lo, hi = x[i] > hi ? x[i] : hi;
    float span = hi - lo;
    for (size_t i = 0; i < n; i++) out[i] = span > 0 ? (x[i] - lo) / span : 0.0f;
}

static int rwalk_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    (void)v;
    rwalk_state *st = r->state;
    size_t n = m->nparams;
    if (st->fe.nwindow) { /* the task's last, partial window */
        cl_fisher_ema_flush(&st->fe);
        close_window(st, m);
    }
    for (size_t i = 0; i < n; i++) {
        st->S[i] = st->ntasks ? 0.5f * (st->S[i] + st->s[i]) : st->s[i];
        st->s[i] = 0.0f;
    }
    st->ntasks++;
    cl_quad_term *t = cl_quad_single(&r->quad);
    if (st->normalize) {
        float *tmp = cl_aligned_calloc(n, sizeof(float));
        normalize_into(t->omega, st->fe.F, n);
        normalize_into(tmp, st->S, n);
        for (size_t i = 0; i < n; i++) t->omega[i] += tmp[i];
        free(tmp);
    } else {
        for (size_t i = 0; i < n; i++) t->omega[i] = st->fe.F[i] + st->S[i];
    }
    memcpy(t->anchor, m->params, n * sizeof(float));
    return 0;
}

static void rwalk_destroy(cl_reg *r)
{
    rwalk_state *st = r->state;
    if (!st) return;
    cl_fisher_ema_free(&st->fe);
    free(st->w);
    free(st->start);
    free(st->s);
    free(st->S);
}

const cl_reg_method cl_reg_rwalk = {
    .name = "rwalk",
    .summary = "Riemannian walk: Omega = running Fisher + path score (SI in the Fisher metric), both in [0, 1]",
    .style = {"#bcbd22", 1, 12},
    .memory = {.state = 6},
    .params = (const cl_reg_param[]){{"lambda", "0.1", "penalty strength"},
                                     CL_FISHER_EMA_PARAMS,
                                     {"eps", "0.001", "damping added to the Fisher distance of a window"},
                                     {"normalize", "yes", "rescale the Fisher and the scores to [0, 1] (the authors' code) or not (no)"},
                                     {NULL, NULL, NULL}},
    .create = rwalk_create,
    .begin_task = rwalk_begin_task,
    .after_step = rwalk_after_step,
    .end_task = rwalk_end_task,
    .importance_cost = cl_reg_cost_no_data,
    .step_cost = cl_fisher_ema_step_cost,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
    .destroy = rwalk_destroy,
};
