#include "core/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

cl_optim_cfg cl_optim_defaults(cl_opt_kind kind)
{
    cl_optim_cfg c = {.kind = kind, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f};
    if (kind == CL_OPT_ADAM) {
        c.lr = 1e-3f;
    } else {
        c.lr = 0.1f;
        c.momentum = 0.9f;
    }
    return c;
}

void cl_optim_init(cl_optim *o, const cl_optim_cfg *cfg, size_t nparams)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = nparams;
    o->m = cl_aligned_calloc(nparams, sizeof(float));
    if (cfg->kind == CL_OPT_ADAM) o->v = cl_aligned_calloc(nparams, sizeof(float));
}

void cl_optim_free(cl_optim *o)
{
    free(o->m);
    free(o->v);
    memset(o, 0, sizeof *o);
}

void cl_optim_reset(cl_optim *o)
{
    memset(o->m, 0, o->n * sizeof(float));
    if (o->v) memset(o->v, 0, o->n * sizeof(float));
    o->t = 0;
}

/* PyTorch's SGD: v = mu v + g; p -= lr v. */
static void sgd_range(float *restrict p, const float *restrict g, float *restrict v, size_t n, float lr, float mu)
{
    if (mu == 0.0f) {
        for (size_t i = 0; i < n; i++) p[i] -= lr * g[i];
        return;
    }
    for (size_t i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i];
        p[i] -= lr * v[i];
    }
}

/* Adam (Kingma & Ba), in PyTorch's arrangement: p -= lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps). */
static void adam_range(float *restrict p, const float *restrict g, float *restrict m, float *restrict v, size_t n,
                       float lr_t, float b1, float b2, float inv_sqrt_bc2, float eps)
{
    for (size_t i = 0; i < n; i++) {
        m[i] = b1 * m[i] + (1.0f - b1) * g[i];
        v[i] = b2 * v[i] + (1.0f - b2) * g[i] * g[i];
        p[i] -= lr_t * m[i] / (sqrtf(v[i]) * inv_sqrt_bc2 + eps);
    }
}

void cl_optim_step(cl_optim *o, float *params, const float *grads, const cl_range *ranges, int nranges)
{
    const cl_optim_cfg *c = &o->cfg;
    if (c->kind == CL_OPT_SGD) {
        for (int r = 0; r < nranges; r++) {
            size_t a = ranges[r].off;
            sgd_range(params + a, grads + a, o->m + a, ranges[r].len, c->lr, c->momentum);
        }
        return;
    }
    o->t++;
    double bc1 = 1.0 - pow(c->beta1, (double)o->t);
    double bc2 = 1.0 - pow(c->beta2, (double)o->t);
    float lr_t = (float)(c->lr / bc1);
    float inv_sqrt_bc2 = (float)(1.0 / sqrt(bc2));
    for (int r = 0; r < nranges; r++) {
        size_t a = ranges[r].off;
        adam_range(params + a, grads + a, o->m + a, o->v + a, ranges[r].len, lr_t, c->beta1, c->beta2,
                   inv_sqrt_bc2, c->eps);
    }
}
