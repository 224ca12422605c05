/* Exact per-sample importances with one batched backward pass and one gemm per dense layer (per sample for
 * the conv layers of a stem, whose per-sample gradients do not factor: models/conv.h).
 *
 * The per-sample gradient of a dense layer z = W x + b for sample k is the outer product d_k x_k^T (and d_k
 * for the bias), with d_k = dloss_k/dz the per-sample backward signal. Elementwise, |d_k x_k^T| =
 * |d_k| |x_k|^T and (d_k x_k^T)^2 = d_k^2 (x_k^2)^T, so the sum over a batch of |per-sample gradient| is
 * the product |D|^T |X|, and of its square (D o D)^T (X o X): exact, not the abs or square of the batch
 * gradient that many libraries compute instead. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/error.h"
#include "regularizers/regint.h"

int cl_view_count(const cl_task_view *v)
{
    const cl_task *t = &v->stream->task[v->task];
    int n = v->test ? t->ntest : t->ntrain;
    return v->nsamples > 0 && v->nsamples < n ? v->nsamples : n;
}

static void transform(float *out, const float *in, size_t n, cl_imp_combine c)
{
    if (c == CL_IMP_ABS)
        for (size_t i = 0; i < n; i++) out[i] = fabsf(in[i]);
    else
        for (size_t i = 0; i < n; i++) out[i] = in[i] * in[i];
}

/* TD[k] += w_k T(D[k]) for the B rows of width nout, T = |.| or (.)^2. */
static void add_transformed(float *TD, const float *D, const float *w, int B, int nout, cl_imp_combine c)
{
    for (int k = 0; k < B; k++) {
        float *t = TD + (size_t)k * nout;
        const float *d = D + (size_t)k * nout;
        float wk = w[k];
        if (c == CL_IMP_ABS)
            for (int o = 0; o < nout; o++) t[o] += wk * fabsf(d[o]);
        else
            for (int o = 0; o < nout; o++) t[o] += wk * d[o] * d[o];
    }
}

/* omW[out][in] += alpha * TD^T TX; omB += alpha * column sums of TD (TD, TX already transformed). */
static void accumulate(float *omW, float *omB, const float *TD, const float *TX, int B, int nout, int nin, float alpha)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, B, alpha, TD, nout, TX, nin, 1.0f, omW, nin);
    for (int k = 0; k < B; k++)
        for (int o = 0; o < nout; o++) omB[o] += alpha * TD[(size_t)k * nout + o];
}

/* The batch-mean compatibility estimate from G, B times the batch-mean gradient of the weights (nw
 * entries), and gb, the bias's: add (B/N) |G/B| = |G|/N, or (B/N) (G/B)^2 = G^2/(N B). */
static void add_batch_terms(float *omW, float *omB, const float *G, const float *gb, size_t nw, int nout, int B, int N,
                            cl_imp_combine c)
{
    if (c == CL_IMP_ABS) {
        float s = 1.0f / (float)N;
        for (size_t i = 0; i < nw; i++) omW[i] += s * fabsf(G[i]);
        for (int o = 0; o < nout; o++) omB[o] += s * fabsf(gb[o]);
    } else {
        float s = 1.0f / ((float)N * (float)B);
        for (size_t i = 0; i < nw; i++) omW[i] += s * G[i] * G[i];
        for (int o = 0; o < nout; o++) omB[o] += s * gb[o] * gb[o];
    }
}

/* The same for a dense layer: G = D^T X. */
static void accumulate_batch(float *omW, float *omB, const float *D, const float *X, int B, int nout, int nin, int N,
                             cl_imp_combine c, float *G, float *gb)
{
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, B, 1.0f, D, nout, X, nin, 0.0f, G, nin);
    memset(gb, 0, sizeof(float) * nout);
    for (int k = 0; k < B; k++)
        for (int o = 0; o < nout; o++) gb[o] += D[(size_t)k * nout + o];
    add_batch_terms(omW, omB, G, gb, (size_t)nout * nin, nout, B, N, c);
}

/* A conv layer of the stem after a backward pass (its dout at the pre-activation): the exact per-sample
 * terms |G_n| or G_n^2 (models/conv.h: one gemm per sample, G_n does not factor), or the batch estimate. */
static void accumulate_conv(float *omega, cl_mlp *m, cl_stem *st, const float *weight, int nb, int N,
                            const cl_imp_estimator *est, float *G, float *gb)
{
    const cl_conv_shape *c = &st->conv;
    if (!est->batch_estimate) {
        cl_conv2d_sample_grads(omega + st->w, omega + st->b, st->dout, st->in, nb, c, est->combine == CL_IMP_SQUARE,
                               1.0f / (float)N, weight, m->col, G);
        return;
    }
    for (int k = 0; k < nb; k++)
        if (weight[k] != 1.0f)
            for (size_t i = 0; i < st->out_n; i++) st->dout[(size_t)k * st->out_n + i] *= weight[k];
    cl_conv2d_backward(NULL, G, gb, st->dout, st->in, m->params + st->w, nb, c, m->col, 0);
    add_batch_terms(omega + st->w, omega + st->b, G, gb, (size_t)c->cout * c->cin * c->k * c->k, c->cout, nb, N,
                    est->combine);
}

int cl_importance(cl_mlp *m, const cl_task_view *v, const cl_imp_estimator *est, float *omega)
{
    const cl_stream *s = v->stream;
    const cl_task *tk = &s->task[v->task];
    int head = tk->head, C = m->head_out[head], L = m->nhidden + 1;
    int N = cl_view_count(v);
    if (N <= 0) return cl_fail("importance: task %d has no samples to compute it on", v->task + 1);
    int B = est->batch > 0 && est->batch < m->bmax ? est->batch : m->bmax;

    /* Layer l < nhidden is trunk layer l; l == nhidden is the task's head. */
    const cl_linear *lay[L];
    int widest = 0;
    for (int l = 0; l < L; l++) {
        lay[l] = l < m->nhidden ? &m->layer[l] : cl_mlp_head(m, head);
        widest = lay[l]->in > widest ? lay[l]->in : widest;
        widest = lay[l]->out > widest ? lay[l]->out : widest;
    }
    float *X = cl_aligned_calloc((size_t)B * s->input_dim, sizeof(float));
    float *dlogits = cl_aligned_calloc((size_t)B * C, sizeof(float));
    float *weight = cl_malloc(sizeof(float) * B);
    /* Per layer: the transformed inputs TX (|X| or X o X) and the transformed signals TD summed over the
     * passes. X is the same in every pass, so sum_p (w_p o T(D_p))^T T(X) = (sum_p w_p o T(D_p))^T T(X):
     * one gemm per layer and batch however many passes (the exact Fisher's C). */
    float **TX = cl_calloc(L, sizeof *TX), **TD = cl_calloc(L, sizeof *TD);
    for (int l = 0; l < L; l++) {
        TX[l] = cl_aligned_calloc((size_t)B * lay[l]->in, sizeof(float));
        TD[l] = cl_aligned_calloc((size_t)B * lay[l]->out, sizeof(float));
    }
    float *G = NULL, *gb = NULL;
    int cout;
    size_t big = cl_mlp_conv_max(m, &cout); /* conv layers need G in either estimate */
    widest = cout > widest ? cout : widest;
    if (est->batch_estimate)
        for (int l = 0; l < L; l++) big = (size_t)lay[l]->out * lay[l]->in > big ? (size_t)lay[l]->out * lay[l]->in : big;
    if (big) {
        G = cl_aligned_calloc(big, sizeof(float));
        gb = cl_malloc(sizeof(float) * widest);
    }
    int *y = cl_malloc(sizeof(int) * B), *pos = cl_malloc(sizeof(int) * B);
    float invN = 1.0f / (float)N;
    /* open_silent: per trunk layer, the signal at its output before the ReLU (E), its transform summed over
     * the passes (TE), the open-gate importance of every unit (OW, Ob) and which units ever fired */
    int H = est->open_silent && !est->batch_estimate ? m->nhidden : 0;
    float **E = NULL, **TE = NULL, **OW = NULL, **Ob = NULL;
    unsigned char **fired = NULL;
    if (H) {
        E = cl_calloc(H, sizeof *E), TE = cl_calloc(H, sizeof *TE), OW = cl_calloc(H, sizeof *OW);
        Ob = cl_calloc(H, sizeof *Ob), fired = cl_calloc(H, sizeof *fired);
        for (int l = 0; l < H; l++) {
            E[l] = cl_aligned_calloc((size_t)B * lay[l]->out, sizeof(float));
            TE[l] = cl_aligned_calloc((size_t)B * lay[l]->out, sizeof(float));
            OW[l] = cl_aligned_calloc((size_t)lay[l]->out * lay[l]->in, sizeof(float));
            Ob[l] = cl_calloc(lay[l]->out, sizeof(float));
            fired[l] = cl_calloc(lay[l]->out, 1);
        }
    }

    for (int start = 0; start < N; start += B) {
        int nb = N - start < B ? N - start : B;
        for (int k = 0; k < nb; k++) pos[k] = start + k;
        cl_stream_batch(s, v->task, v->test, pos, nb, X, y);
        cl_mlp_forward(m, X, nb, head);
        if (!est->batch_estimate)
            for (int l = 0; l < L; l++) {
                transform(TX[l], m->act[l], (size_t)nb * lay[l]->in, est->combine);
                memset(TD[l], 0, sizeof(float) * (size_t)nb * lay[l]->out);
            }
        for (int l = 0; l < H; l++) {
            memset(TE[l], 0, sizeof(float) * (size_t)nb * lay[l]->out);
            const float *a = m->act[l + 1];
            for (size_t i = 0; i < (size_t)nb * lay[l]->out; i++)
                if (a[i] > 0.0f) fired[l][i % lay[l]->out] = 1;
        }
        for (int p = 0; p < est->npasses; p++) {
            for (int k = 0; k < nb; k++) weight[k] = 1.0f;
            est->signal(est->ctx, p, m->logits, y, nb, C, tk->active, dlogits, weight);
            cl_mlp_backward(m, dlogits, nb, head, CL_GRAD_NONE);
            for (int l = 0; l < L; l++) {
                const cl_linear *ly = lay[l];
                float *D = m->dz[l];
                if (est->batch_estimate) {
                    for (int k = 0; k < nb; k++)
                        if (weight[k] != 1.0f)
                            for (int o = 0; o < ly->out; o++) D[(size_t)k * ly->out + o] *= weight[k];
                    accumulate_batch(omega + ly->w, omega + ly->b, D, m->act[l], nb, ly->out, ly->in, N,
                                     est->combine, G, gb);
                    continue;
                }
                add_transformed(TD[l], D, weight, nb, ly->out, est->combine);
            }
            /* E_l = D_{l+1} W_{l+1}: layer l+1's signal carried back to layer l's output, before the ReLU
             * zeroes it where the unit did not fire */
            for (int l = 0; l < H; l++) {
                const cl_linear *nx = lay[l + 1];
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nb, nx->in, nx->out, 1.0f, m->dz[l + 1],
                            nx->out, m->params + nx->w, nx->in, 0.0f, E[l], nx->in);
                add_transformed(TE[l], E[l], weight, nb, lay[l]->out, est->combine);
            }
            for (int i = 0; i < m->nstem; i++)
                if (m->stem[i].kind == CL_STEM_CONV) accumulate_conv(omega, m, &m->stem[i], weight, nb, N, est, G, gb);
        }
        if (!est->batch_estimate)
            for (int l = 0; l < L; l++)
                accumulate(omega + lay[l]->w, omega + lay[l]->b, TD[l], TX[l], nb, lay[l]->out, lay[l]->in, invN);
        for (int l = 0; l < H; l++) accumulate(OW[l], Ob[l], TE[l], TX[l], nb, lay[l]->out, lay[l]->in, invN);
    }
    /* a unit that fired on some sample has its ordinary importance; a silent one gets the open-gate one */
    for (int l = 0; l < H; l++) {
        const cl_linear *ly = lay[l];
        for (int u = 0; u < ly->out; u++)
            if (!fired[l][u]) {
                float *w = omega + ly->w + (size_t)u * ly->in;
                const float *o = OW[l] + (size_t)u * ly->in;
                for (int j = 0; j < ly->in; j++) w[j] += o[j];
                omega[ly->b + u] += Ob[l][u];
            }
        free(E[l]);
        free(TE[l]);
        free(OW[l]);
        free(Ob[l]);
        free(fired[l]);
    }
    free(E);
    free(TE);
    free(OW);
    free(Ob);
    free(fired);
    for (int l = 0; l < L; l++) {
        free(TX[l]);
        free(TD[l]);
    }
    free(TX);
    free(TD);
    free(X);
    free(dlogits);
    free(weight);
    free(G);
    free(gb);
    free(y);
    free(pos);
    return 0;
}

/* The step's mean loss is (1/B) sum_k loss_k, so the signals the model holds are d_k / B and the per-sample
 * gradient of loss_k is g_k = B (d_k/B) x_k^T: (1/B) sum_k g_k^2 = B sum_k (d_k/B)^2 (x_k^2)^T and
 * (1/B) sum_k |g_k| = sum_k |d_k/B| |x_k|^T. One gemm per dense layer over the batch, as in cl_importance;
 * conv layers one per sample. The signals were computed at theta_before, which is where the gradient is. */
/* The widest input or output of a dense layer (every head's too). */
static size_t widest_layer(const cl_mlp *m)
{
    size_t widest = 0;
    for (int l = 0; l < m->nhidden + m->nheads; l++) {
        size_t w = (size_t)(m->layer[l].in > m->layer[l].out ? m->layer[l].in : m->layer[l].out);
        widest = w > widest ? w : widest;
    }
    return widest;
}

size_t cl_step_per_sample_work(const cl_mlp *m) { return 2 * (size_t)m->bmax * widest_layer(m); }

void cl_step_per_sample(const cl_mlp *mc, const cl_step *step, cl_imp_combine c, float alpha, float *out, float *work)
{
    cl_mlp *m = (cl_mlp *)mc; /* only the im2col workspace and a G buffer are written */
    int B = step->batch, L = m->nhidden + 1;
    if (!step->signals || B <= 0 || step->head < 0 || B > m->bmax) return;
    float scale = alpha * (c == CL_IMP_SQUARE ? (float)B : 1.0f);
    size_t widest = widest_layer(m);
    float *own = work ? NULL : cl_aligned_calloc(cl_step_per_sample_work(m), sizeof(float));
    float *TX = work ? work : own, *TD = TX + (size_t)m->bmax * widest;
    for (int l = 0; l < L; l++) {
        const cl_linear *ly = l < m->nhidden ? &m->layer[l] : cl_mlp_head(m, step->head);
        transform(TX, m->act[l], (size_t)B * ly->in, c);
        transform(TD, m->dz[l], (size_t)B * ly->out, c);
        accumulate(out + ly->w, out + ly->b, TD, TX, B, ly->out, ly->in, scale);
    }
    free(own);
    int cout;
    size_t big = cl_mlp_conv_max(m, &cout);
    if (big) {
        float *G = cl_aligned_calloc(big, sizeof(float));
        for (int i = 0; i < m->nstem; i++) {
            cl_stem *st = &m->stem[i];
            if (st->kind == CL_STEM_CONV)
                cl_conv2d_sample_grads(out + st->w, out + st->b, st->dout, st->in, B, &st->conv, c == CL_IMP_SQUARE,
                                       scale, NULL, m->col, G);
        }
        free(G);
    }
}
