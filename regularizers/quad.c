/* The quadratic anchor, shared by every method with a penalty (L2, EWC, MAS, MAS-local, SI):
 *
 *     penalty  = lambda * sum_k sum_i Omega_ki (theta_i - theta*_ki)^2
 *     gradient = 2 lambda sum_k Omega_k (theta - theta*_k)
 *
 * Both are plain loops over the flat parameter buffer that the compiler vectorizes; the gradient runs at
 * every training step, so it is kept to one pass per term. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "regularizers/regint.h"

void cl_quad_init(cl_quad *q, size_t n)
{
    memset(q, 0, sizeof *q);
    q->n = n;
}

void cl_quad_free(cl_quad *q)
{
    for (int k = 0; k < q->nterms; k++) {
        free(q->terms[k].omega);
        free(q->terms[k].anchor);
    }
    free(q->terms);
    memset(q, 0, sizeof *q);
}

cl_quad_term *cl_quad_push(cl_quad *q, const float *theta)
{
    if (q->nterms == q->cap) {
        q->cap = q->cap ? 2 * q->cap : 4;
        q->terms = cl_realloc(q->terms, q->cap * sizeof *q->terms);
    }
    cl_quad_term *t = &q->terms[q->nterms++];
    t->omega = cl_aligned_calloc(q->n, sizeof(float));
    t->anchor = cl_aligned_calloc(q->n, sizeof(float));
    if (theta) memcpy(t->anchor, theta, q->n * sizeof(float));
    return t;
}

cl_quad_term *cl_quad_single(cl_quad *q)
{
    return q->nterms ? &q->terms[0] : cl_quad_push(q, NULL);
}

double cl_quad_penalty(const cl_quad *q, float lambda, const float *theta)
{
    double total = 0.0;
    for (int k = 0; k < q->nterms; k++) {
        const float *restrict om = q->terms[k].omega, *restrict an = q->terms[k].anchor;
        /* float partial sums per block, double across blocks: vectorizable and accurate enough */
        for (size_t a = 0; a < q->n; a += 4096) {
            size_t b = a + 4096 < q->n ? a + 4096 : q->n;
            float s = 0.0f;
            for (size_t i = a; i < b; i++) {
                float d = theta[i] - an[i];
                s += om[i] * d * d;
            }
            total += s;
        }
    }
    return lambda * total;
}

void cl_quad_add_grad(const cl_quad *q, float lambda, const float *theta, float *grad)
{
    float c = 2.0f * lambda;
    for (int k = 0; k < q->nterms; k++) {
        const float *restrict om = q->terms[k].omega, *restrict an = q->terms[k].anchor;
        float *restrict g = grad;
        for (size_t i = 0; i < q->n; i++) g[i] += c * om[i] * (theta[i] - an[i]);
    }
}

void cl_quad_total_omega(const cl_quad *q, float *out)
{
    memset(out, 0, q->n * sizeof(float));
    for (int k = 0; k < q->nterms; k++)
        for (size_t i = 0; i < q->n; i++) out[i] += q->terms[k].omega[i];
}
