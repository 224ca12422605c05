#include "experiments/probe.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "experiments/train.h"

/* Mark unit u of trunk layer l and every parameter attached to it: its row of W and its bias, and its
 * column in the next layer (every head's, for the last trunk layer). */
static size_t mark_unit(const cl_mlp *m, int l, int u, unsigned char *mark)
{
    size_t k = 0;
    const cl_linear *L = &m->layer[l];
    for (int i = 0; i < L->in; i++) k += !mark[L->w + (size_t)u * L->in + i]++;
    k += !mark[L->b + u]++;
    int next0 = l + 1, next1 = l + 1 < m->nhidden ? l + 2 : m->nhidden + m->nheads;
    for (int nl = next0; nl < next1; nl++) {
        const cl_linear *N = &m->layer[nl];
        for (int o = 0; o < N->out; o++) k += !mark[N->w + (size_t)o * N->in + u]++;
    }
    return k;
}

int cl_probe_capture(cl_probe *p, cl_mlp *m, const cl_stream *s, int task, const cl_reg *reg)
{
    memset(p, 0, sizeof *p);
    p->task = task;
    p->n = m->nparams;
    p->anchor = cl_malloc(sizeof(float) * p->n);
    memcpy(p->anchor, m->params, sizeof(float) * p->n);

    /* A flat importance (l2's Omega = 1) ranks nothing: treated as none. */
    float *om = cl_malloc(sizeof(float) * p->n);
    int flat = 1;
    if (reg && cl_reg_importance(reg, om) == 0) {
        for (size_t i = 1; i < p->n && flat; i++) flat = om[i] == om[0];
    }
    if (flat) free(om);
    else p->omega = om;

    /* Largest ReLU output of every hidden unit over the task's training samples. */
    const cl_task *t = &s->task[task];
    int B = m->bmax;
    float *X = cl_aligned_calloc((size_t)B * s->input_dim, sizeof(float));
    int *y = cl_malloc(sizeof(int) * B), *pos = cl_malloc(sizeof(int) * B);
    float **peak = cl_calloc(m->nhidden ? m->nhidden : 1, sizeof *peak);
    for (int l = 0; l < m->nhidden; l++) peak[l] = cl_calloc(m->hidden[l], sizeof(float));
    for (int start = 0; start < t->ntrain; start += B) {
        int nb = t->ntrain - start < B ? t->ntrain - start : B;
        for (int k = 0; k < nb; k++) pos[k] = start + k;
        cl_stream_batch(s, task, 0, pos, nb, X, y);
        cl_mlp_forward(m, X, nb, t->head);
        for (int l = 0; l < m->nhidden; l++) {
            const float *a = m->act[l + 1];
            int h = m->hidden[l];
            for (int k = 0; k < nb; k++)
                for (int u = 0; u < h; u++)
                    if (a[(size_t)k * h + u] > peak[l][u]) peak[l][u] = a[(size_t)k * h + u];
        }
    }
    p->silent = cl_calloc(p->n, 1);
    p->silent_units = cl_calloc(m->nhidden ? m->nhidden : 1, sizeof(int));
    for (int l = 0; l < m->nhidden; l++)
        for (int u = 0; u < m->hidden[l]; u++)
            if (!(peak[l][u] > 0)) {
                p->silent_units[l]++;
                p->silent_params += mark_unit(m, l, u, p->silent);
            }
    /* mark_unit counts up to 2 marks for a weight between two silent units; make the mask 0/1 */
    for (size_t i = 0; i < p->n; i++) p->silent[i] = p->silent[i] != 0;
    for (int l = 0; l < m->nhidden; l++) free(peak[l]);
    free(peak);
    free(X);
    free(y);
    free(pos);
    return 0;
}

void cl_probe_free(cl_probe *p)
{
    free(p->anchor);
    free(p->omega);
    free(p->silent);
    free(p->silent_units);
    memset(p, 0, sizeof *p);
}

typedef struct ranked {
    float omega;
    size_t index;
} ranked;

static int by_omega(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->omega != y->omega) return x->omega < y->omega ? -1 : 1;
    return (x->index > y->index) - (x->index < y->index);
}

long cl_probe_rank_mask(const cl_probe *p, double lo, double hi, unsigned char *mask)
{
    if (!p->omega) return -1;
    ranked *r = cl_malloc(sizeof *r * p->n);
    for (size_t i = 0; i < p->n; i++) r[i] = (ranked){p->omega[i], i};
    qsort(r, p->n, sizeof *r, by_omega);
    size_t a = (size_t)(lo * (double)p->n), b = (size_t)(hi * (double)p->n);
    if (b > p->n) b = p->n;
    memset(mask, 0, p->n);
    for (size_t k = a; k < b; k++) mask[r[k].index] = 1;
    free(r);
    return a < b ? (long)(b - a) : 0;
}

void cl_probe_eval(const cl_probe *p, cl_mlp *m, const cl_stream *s, const unsigned char *mask, int row_task,
                   float *acc)
{
    float *saved = cl_malloc(sizeof(float) * p->n);
    memcpy(saved, m->params, sizeof(float) * p->n);
    for (size_t i = 0; i < p->n; i++)
        if (!mask || mask[i]) m->params[i] = p->anchor[i];
    for (int j = 0; j < s->ntasks; j++) acc[j] = cl_evaluate(m, s, j, cl_stream_eval_active(s, row_task, j));
    memcpy(m->params, saved, sizeof(float) * p->n);
    free(saved);
}
