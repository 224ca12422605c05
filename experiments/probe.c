#include "experiments/probe.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "experiments/train.h"

/* Mark unit u of trunk layer l and every parameter attached to it: its row of W and its bias, and its
 * column in the next layer (every head's, for the last trunk layer). */
static void mark_unit(const cl_mlp *m, int l, int u, unsigned char *mark)
{
    const cl_linear *L = &m->layer[l];
    memset(mark + L->w + (size_t)u * L->in, 1, (size_t)L->in);
    mark[L->b + u] = 1;
    int next_end = l + 1 < m->nhidden ? l + 2 : m->nhidden + m->nheads;
    for (int nl = l + 1; nl < next_end; nl++) {
        const cl_linear *N = &m->layer[nl];
        for (int o = 0; o < N->out; o++) mark[N->w + (size_t)o * N->in + u] = 1;
    }
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

/* Parameter indices by ascending importance, ties by index: sorted once here, cut by every rank mask. */
static size_t *rank_order(const float *omega, size_t n)
{
    ranked *r = cl_malloc(sizeof *r * n);
    for (size_t i = 0; i < n; i++) r[i] = (ranked){omega[i], i};
    qsort(r, n, sizeof *r, by_omega);
    size_t *order = cl_malloc(sizeof *order * n);
    for (size_t k = 0; k < n; k++) order[k] = r[k].index;
    free(r);
    return order;
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
    if (flat) {
        free(om);
    } else {
        p->omega = om;
        p->order = rank_order(om, p->n);
    }

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
                mark_unit(m, l, u, p->silent);
            }
    /* counted after marking: a weight between two silent units is marked twice but counts once */
    for (size_t i = 0; i < p->n; i++) p->silent_params += p->silent[i];
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
    free(p->order);
    free(p->silent);
    free(p->silent_units);
    memset(p, 0, sizeof *p);
}

long cl_probe_rank_mask(const cl_probe *p, double lo, double hi, unsigned char *mask)
{
    if (!p->omega) return -1;
    size_t a = (size_t)(lo * (double)p->n), b = (size_t)(hi * (double)p->n);
    if (b > p->n) b = p->n;
    memset(mask, 0, p->n);
    for (size_t k = a; k < b; k++) mask[p->order[k]] = 1;
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
