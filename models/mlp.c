#include "models/mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/error.h"

cl_mlp *cl_mlp_create(int ninput, const int *hidden, int nhidden, const int *head_out, int nheads, int bmax)
{
    if (ninput <= 0 || nhidden < 0 || nheads <= 0 || bmax <= 0) {
        cl_fail("invalid model shape: %d inputs, %d hidden layers, %d heads, batch %d", ninput, nhidden,
                nheads, bmax);
        return NULL;
    }
    for (int l = 0; l < nhidden; l++)
        if (hidden[l] <= 0) {
            cl_fail("hidden layer %d has width %d, expected a positive width", l + 1, hidden[l]);
            return NULL;
        }
    for (int k = 0; k < nheads; k++)
        if (head_out[k] <= 0) {
            cl_fail("head %d has %d outputs, expected at least 1", k, head_out[k]);
            return NULL;
        }

    cl_mlp *m = cl_calloc(1, sizeof *m);
    m->ninput = ninput;
    m->nhidden = nhidden;
    m->nheads = nheads;
    m->bmax = bmax;
    m->hidden = cl_malloc(sizeof(int) * (nhidden ? nhidden : 1));
    if (nhidden) memcpy(m->hidden, hidden, sizeof(int) * nhidden);
    m->head_out = cl_malloc(sizeof(int) * nheads);
    memcpy(m->head_out, head_out, sizeof(int) * nheads);
    m->layer = cl_calloc(nhidden + nheads, sizeof *m->layer);
    m->head_off = cl_calloc(nheads, sizeof(size_t));
    m->head_len = cl_calloc(nheads, sizeof(size_t));

    /* Lay the layers out in the flat buffer. Offsets are rounded to 16 floats (64 bytes) so every weight
     * matrix starts cache-line aligned for BLAS; the padding is zero and never trained. */
    size_t off = 0;
    int in = ninput;
    for (int l = 0; l < nhidden + nheads; l++) {
        int out = l < nhidden ? hidden[l] : head_out[l - nhidden];
        int lin = l < nhidden ? in : (nhidden ? hidden[nhidden - 1] : ninput);
        if (l == nhidden) m->ntrunk = off;
        if (l >= nhidden) m->head_off[l - nhidden] = off;
        m->layer[l].in = lin;
        m->layer[l].out = out;
        m->layer[l].w = off;
        off += (size_t)out * lin;
        off = (off + 15) / 16 * 16;
        m->layer[l].b = off;
        off += (size_t)out;
        off = (off + 15) / 16 * 16;
        if (l >= nhidden) m->head_len[l - nhidden] = off - m->head_off[l - nhidden];
        if (l < nhidden) in = out;
    }
    m->nparams = off;
    m->params = cl_aligned_calloc(off, sizeof(float));
    m->grads = cl_aligned_calloc(off, sizeof(float));

    m->maxout = 0;
    for (int k = 0; k < nheads; k++)
        if (head_out[k] > m->maxout) m->maxout = head_out[k];
    m->act = cl_calloc(nhidden + 1, sizeof *m->act);
    m->dz = cl_calloc(nhidden + 1, sizeof *m->dz);
    for (int l = 0; l < nhidden; l++) {
        m->act[l + 1] = cl_aligned_calloc((size_t)bmax * hidden[l], sizeof(float));
        m->dz[l] = cl_aligned_calloc((size_t)bmax * hidden[l], sizeof(float));
    }
    m->logits = cl_aligned_calloc((size_t)bmax * m->maxout, sizeof(float));
    return m;
}

void cl_mlp_free(cl_mlp *m)
{
    if (!m) return;
    for (int l = 0; l < m->nhidden; l++) {
        free((void *)m->act[l + 1]);
        free(m->dz[l]);
    }
    free(m->act);
    free(m->dz);
    free(m->logits);
    free(m->xbuf);
    free(m->ybuf);
    free(m->posbuf);
    free(m->params);
    free(m->grads);
    free(m->layer);
    free(m->head_off);
    free(m->head_len);
    free(m->hidden);
    free(m->head_out);
    free(m);
}

void cl_mlp_init(cl_mlp *m, cl_rng *rng)
{
    memset(m->params, 0, m->nparams * sizeof(float));
    for (int l = 0; l < m->nhidden + m->nheads; l++) {
        const cl_linear *L = &m->layer[l];
        float bound = 1.0f / sqrtf((float)L->in);
        for (size_t i = 0; i < (size_t)L->out * L->in; i++)
            m->params[L->w + i] = (2.0f * cl_rng_uniform(rng) - 1.0f) * bound;
        for (int o = 0; o < L->out; o++) m->params[L->b + o] = (2.0f * cl_rng_uniform(rng) - 1.0f) * bound;
    }
}

/* ---- layers ------------------------------------------------------------------------------------------ */

void cl_linear_forward(float *out, const float *in, const float *W, const float *b, int B, int nin, int nout)
{
    /* Seed every row with the bias and let sgemm accumulate onto it (beta = 1): one pass, no extra loop. */
    for (int k = 0; k < B; k++) memcpy(out + (size_t)k * nout, b, sizeof(float) * nout);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, nout, nin, 1.0f, in, nin, W, nin, 1.0f, out, nout);
}

void cl_linear_backward(float *din, float *dW, float *db, const float *dout, const float *in, const float *W,
                        int B, int nin, int nout, int accumulate)
{
    if (dW) /* dW[nout][nin] = dout^T[nout][B] in[B][nin] */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nout, nin, B, 1.0f, dout, nout, in, nin,
                    accumulate ? 1.0f : 0.0f, dW, nin);
    if (db) {
        if (!accumulate) memset(db, 0, sizeof(float) * nout);
        for (int k = 0; k < B; k++) {
            const float *d = dout + (size_t)k * nout;
            for (int o = 0; o < nout; o++) db[o] += d[o];
        }
    }
    if (din) /* din[B][nin] = dout[B][nout] W[nout][nin] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, nin, nout, 1.0f, dout, nout, W, nin, 0.0f, din, nin);
}

void cl_relu_forward(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) x[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void cl_relu_backward(float *d, const float *y, size_t n)
{
    for (size_t i = 0; i < n; i++) d[i] = y[i] > 0.0f ? d[i] : 0.0f;
}

float cl_softmax_xent(const float *logits, const int *y, int B, int C, int nactive, float *dlogits)
{
    double total = 0.0;
    float invB = 1.0f / (float)B;
    for (int k = 0; k < B; k++) {
        const float *z = logits + (size_t)k * C;
        float mx = z[0];
        for (int c = 1; c < nactive; c++) mx = z[c] > mx ? z[c] : mx;
        double sum = 0.0;
        for (int c = 0; c < nactive; c++) sum += exp((double)(z[c] - mx));
        double logsum = log(sum) + mx;
        total += logsum - z[y[k]];
        if (dlogits) {
            float *d = dlogits + (size_t)k * C;
            for (int c = 0; c < nactive; c++) d[c] = (float)exp((double)z[c] - logsum) * invB;
            for (int c = nactive; c < C; c++) d[c] = 0.0f;
            d[y[k]] -= invB;
        }
    }
    return (float)(total / B);
}

int cl_argmax(const float *row, int nactive)
{
    int best = 0;
    for (int c = 1; c < nactive; c++)
        if (row[c] > row[best]) best = c;
    return best;
}

/* ---- the network ------------------------------------------------------------------------------------- */

void cl_mlp_forward(cl_mlp *m, const float *x, int B, int head)
{
    const float *P = m->params;
    m->act[0] = x;
    for (int l = 0; l < m->nhidden; l++) {
        const cl_linear *L = &m->layer[l];
        float *out = (float *)m->act[l + 1];
        cl_linear_forward(out, m->act[l], P + L->w, P + L->b, B, L->in, L->out);
        cl_relu_forward(out, (size_t)B * L->out);
    }
    const cl_linear *H = cl_mlp_head(m, head);
    cl_linear_forward(m->logits, m->act[m->nhidden], P + H->w, P + H->b, B, H->in, H->out);
}

void cl_mlp_backward(cl_mlp *m, const float *dlogits, int B, int head, cl_grad_mode mode)
{
    const float *P = m->params;
    float *G = m->grads;
    const cl_linear *H = cl_mlp_head(m, head);
    m->dz[m->nhidden] = (float *)dlogits;
    /* Walk down: each layer turns the signal at its output into its parameter gradients and the signal at
     * its input; the ReLU below then masks that signal into the previous layer's dz. The first layer needs
     * no input signal (the data is not trained), which saves the largest of the backward gemms. */
    for (int l = m->nhidden; l >= 0; l--) {
        const cl_linear *L = l == m->nhidden ? H : &m->layer[l];
        float *din = l > 0 ? m->dz[l - 1] : NULL;
        int grads = mode != CL_GRAD_NONE;
        cl_linear_backward(din, grads ? G + L->w : NULL, grads ? G + L->b : NULL, m->dz[l], m->act[l], P + L->w, B,
                           L->in, L->out, mode == CL_GRAD_ADD);
        if (din) cl_relu_backward(din, m->act[l], (size_t)B * L->in);
    }
}
