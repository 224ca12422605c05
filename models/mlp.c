#include "models/mlp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/error.h"

/* The model: an optional stem (conv and pooling items, their shapes and dropout filled in), dense hidden
 * layers over its nfeat outputs, then the heads. in_p: dropout on the input; hidden_p (NULL: none): dropout
 * on each hidden layer's output. */
static cl_mlp *build(int ninput, const cl_stem *stem, int nstem, int nfeat, const int *hidden, int nhidden,
                     const int *head_out, int nheads, int bmax, float in_p, const float *hidden_p)
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
    m->nfeat = nfeat;
    m->nstem = nstem;
    m->nhidden = nhidden;
    m->nheads = nheads;
    m->bmax = bmax;
    m->stem = cl_calloc(nstem ? nstem : 1, sizeof *m->stem);
    if (nstem) memcpy(m->stem, stem, sizeof *stem * nstem);
    m->hidden = cl_malloc(sizeof(int) * (nhidden ? nhidden : 1));
    if (nhidden) memcpy(m->hidden, hidden, sizeof(int) * nhidden);
    m->head_out = cl_malloc(sizeof(int) * nheads);
    memcpy(m->head_out, head_out, sizeof(int) * nheads);
    m->layer = cl_calloc(nhidden + nheads, sizeof *m->layer);
    m->head_off = cl_calloc(nheads, sizeof(size_t));
    m->head_len = cl_calloc(nheads, sizeof(size_t));

    /* Lay the layers out in the flat buffer: the stem's convolutions, then the dense layers. Offsets are
     * rounded to 16 floats (64 bytes) so every weight matrix starts cache-line aligned for BLAS; the padding
     * is zero and never trained. */
    size_t off = 0, col = 0;
    for (int i = 0; i < nstem; i++) {
        cl_stem *st = &m->stem[i];
        if (st->kind != CL_STEM_CONV) continue;
        const cl_conv_shape *c = &st->conv;
        st->w = off;
        off += (size_t)c->cout * c->cin * c->k * c->k;
        off = (off + 15) / 16 * 16;
        st->b = off;
        off += (size_t)c->cout;
        off = (off + 15) / 16 * 16;
        col = cl_conv_col_size(c) > col ? cl_conv_col_size(c) : col;
    }
    int in = nfeat;
    for (int l = 0; l < nhidden + nheads; l++) {
        int out = l < nhidden ? hidden[l] : head_out[l - nhidden];
        int lin = l < nhidden ? in : (nhidden ? hidden[nhidden - 1] : nfeat);
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

    for (int i = 0; i < nstem; i++) {
        cl_stem *st = &m->stem[i];
        st->out = cl_aligned_calloc((size_t)bmax * st->out_n, sizeof(float));
        st->dout = cl_aligned_calloc((size_t)bmax * st->out_n, sizeof(float));
        if (st->kind == CL_STEM_MAXPOOL) st->argmax = cl_calloc((size_t)bmax * st->out_n, sizeof(int));
        st->drop.mask = NULL;
        if (st->drop.p > 0) {
            st->drop.mask = cl_calloc((size_t)bmax * st->out_n, 1);
            m->ndrop++;
        }
    }
    m->col = col ? cl_aligned_calloc(col, sizeof(float)) : NULL;
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
    m->drop = cl_calloc(nhidden ? nhidden : 1, sizeof *m->drop);
    for (int l = 0; l < nhidden && hidden_p; l++)
        if (hidden_p[l] > 0) {
            m->drop[l].p = hidden_p[l];
            m->drop[l].mask = cl_calloc((size_t)bmax * hidden[l], 1);
            m->ndrop++;
        }
    if (in_p > 0) {
        m->in_drop.p = in_p;
        m->xdrop = cl_aligned_calloc((size_t)bmax * ninput, sizeof(float));
        m->ndrop++;
    }
    return m;
}

cl_mlp *cl_mlp_create(int ninput, const int *hidden, int nhidden, const int *head_out, int nheads, int bmax)
{
    return build(ninput, NULL, 0, ninput, hidden, nhidden, head_out, nheads, bmax, 0.0f, NULL);
}

cl_mlp *cl_mlp_create_arch(const cl_arch *a, int c, int h, int w, const int *head_out, int nheads, int bmax,
                           const char *what)
{
    cl_arch_shape shape[CL_ARCH_MAX];
    if (c < 1 || h < 1 || w < 1) {
        cl_fail("%s: inputs of %dx%dx%d: expected positive sizes", what, c, h, w);
        return NULL;
    }
    if (cl_arch_shapes(a, c, h, w, shape, NULL, what)) return NULL;
    cl_stem stem[CL_ARCH_MAX];
    int hidden[CL_ARCH_MAX], nstem = 0, nhidden = 0, pc = c, ph = h, pw = w, rc = 0;
    float hidden_p[CL_ARCH_MAX] = {0}, in_p = 0.0f;
    /* Where a dropout item acts: the output of the last stem item or dense layer before it, or the input.
     * cl_arch_shapes has refused a second dropout on one output. */
    float *drop_at = &in_p;
    for (int i = 0; i < a->n && !rc; i++) {
        const cl_arch_item *it = &a->item[i];
        cl_stem *st = &stem[nstem];
        memset(st, 0, sizeof *st);
        switch (it->kind) {
        case CL_ARCH_CONV:
            st->kind = CL_STEM_CONV;
            rc = cl_conv_shape_init(&st->conv, pc, ph, pw, it->units, it->k, it->stride, it->pad);
            drop_at = &stem[nstem++].drop.p;
            break;
        case CL_ARCH_MAXPOOL:
        case CL_ARCH_AVGPOOL:
            st->kind = it->kind == CL_ARCH_MAXPOOL ? CL_STEM_MAXPOOL : CL_STEM_AVGPOOL;
            rc = cl_pool_shape_init(&st->pool, pc, ph, pw, it->k, it->stride);
            drop_at = &stem[nstem++].drop.p;
            break;
        case CL_ARCH_DENSE:
            drop_at = &hidden_p[nhidden];
            hidden[nhidden++] = it->units;
            break;
        case CL_ARCH_FLATTEN: break;
        case CL_ARCH_DROPOUT: *drop_at = it->p; break;
        }
        if (!rc && (it->kind == CL_ARCH_CONV || it->kind == CL_ARCH_MAXPOOL || it->kind == CL_ARCH_AVGPOOL)) {
            st->in_n = (size_t)pc * ph * pw;
            st->out_n = (size_t)shape[i].c * shape[i].h * shape[i].w;
        }
        if (it->kind != CL_ARCH_DENSE && it->kind != CL_ARCH_FLATTEN) pc = shape[i].c, ph = shape[i].h, pw = shape[i].w;
    }
    if (rc) return NULL;
    int nfeat = nstem ? (int)stem[nstem - 1].out_n : c * h * w;
    return build(c * h * w, stem, nstem, nfeat, hidden, nhidden, head_out, nheads, bmax, in_p, hidden_p);
}

cl_mlp *cl_mlp_clone(const cl_mlp *m, int bmax)
{
    float hidden_p[m->nhidden ? m->nhidden : 1];
    for (int l = 0; l < m->nhidden; l++) hidden_p[l] = m->drop[l].p;
    /* build copies the stem's shapes and allocates its own buffers over the copied pointers */
    cl_mlp *c = build(m->ninput, m->stem, m->nstem, m->nfeat, m->hidden, m->nhidden, m->head_out, m->nheads, bmax,
                      m->in_drop.p, hidden_p);
    if (c) memcpy(c->params, m->params, m->nparams * sizeof(float));
    return c;
}

void cl_mlp_free(cl_mlp *m)
{
    if (!m) return;
    for (int i = 0; i < m->nstem; i++) {
        free(m->stem[i].out);
        free(m->stem[i].dout);
        free(m->stem[i].argmax);
        free(m->stem[i].drop.mask);
    }
    free(m->stem);
    free(m->col);
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
    for (int l = 0; l < m->nhidden; l++) free(m->drop[l].mask);
    free(m->drop);
    free(m->xdrop);
    free(m->params);
    free(m->grads);
    free(m->layer);
    free(m->head_off);
    free(m->head_len);
    free(m->hidden);
    free(m->head_out);
    free(m);
}

size_t cl_mlp_conv_max(const cl_mlp *m, int *max_cout)
{
    size_t big = 0;
    int cout = 0;
    for (int i = 0; i < m->nstem; i++) {
        const cl_conv_shape *c = &m->stem[i].conv;
        if (m->stem[i].kind != CL_STEM_CONV) continue;
        size_t n = (size_t)c->cout * c->cin * c->k * c->k;
        big = n > big ? n : big;
        cout = c->cout > cout ? c->cout : cout;
    }
    if (max_cout) *max_cout = cout;
    return big;
}

void cl_mlp_init(cl_mlp *m, cl_rng *rng)
{
    memset(m->params, 0, m->nparams * sizeof(float));
    /* PyTorch's nn.Conv2d default is the same bound over the fan-in cin k k */
    for (int i = 0; i < m->nstem; i++) {
        const cl_stem *st = &m->stem[i];
        if (st->kind != CL_STEM_CONV) continue;
        const cl_conv_shape *c = &st->conv;
        size_t fan = (size_t)c->cin * c->k * c->k;
        float bound = 1.0f / sqrtf((float)fan);
        for (size_t j = 0; j < (size_t)c->cout * fan; j++) m->params[st->w + j] = (2.0f * cl_rng_uniform(rng) - 1.0f) * bound;
        for (int o = 0; o < c->cout; o++) m->params[st->b + o] = (2.0f * cl_rng_uniform(rng) - 1.0f) * bound;
    }
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

void cl_dropout_forward(float *out, const float *in, uint8_t *mask, size_t n, float p, cl_rng *rng)
{
    /* In chunks, two passes: the draws, then the scaling, a loop the compiler vectorizes (a branch per
     * unit, taken at random, made dropout ten times slower: 5% of a Zenke CIFAR step). Each 64-bit draw
     * decides two units by its low and its high 32 bits: a unit is dropped when its 32 bits fall below
     * p 2^32, so with probability p to within 2^-32. Units are multiplied by their factor, 1/(1-p) or 0, as
     * PyTorch does: a dropped unit that is not finite stays so (0 x inf is NaN), and dropout never hides a
     * divergence. The scale is computed once, in float, and the backward pass computes the same: a
     * survivor's forward and backward factors are exactly equal. */
    float scale = 1.0f / (1.0f - p);
    uint32_t below = (uint32_t)((double)p * 4294967296.0);
    uint8_t chunk[4096];
    for (size_t start = 0; start < n; start += sizeof chunk) {
        size_t len = n - start < sizeof chunk ? n - start : sizeof chunk;
        uint8_t *mk = mask ? mask + start : chunk;
        for (size_t i = 0; i < len; i += 2) {
            uint64_t bits = cl_rng_next(rng);
            mk[i] = (uint32_t)bits >= below;
            if (i + 1 < len) mk[i + 1] = (uint32_t)(bits >> 32) >= below;
        }
        for (size_t i = 0; i < len; i++) out[start + i] = in[start + i] * (mk[i] ? scale : 0.0f);
    }
}

void cl_dropout_backward(float *d, const uint8_t *mask, size_t n, float p)
{
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) d[i] *= mask[i] ? scale : 0.0f;
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

void cl_mlp_set_training(cl_mlp *m, const cl_rng *rng)
{
    m->training = rng != NULL;
    if (rng) m->drop_rng = *rng;
}

void cl_mlp_forward(cl_mlp *m, const float *x, int B, int head)
{
    const float *P = m->params;
    /* Dropout acts in training mode only, in place on the output it follows (on the input through xdrop:
     * the caller's x is not ours to change). A ReLU output that is then zeroed reads as inactive to the
     * ReLU's backward pass, which is right: a dropped unit passes no gradient either way. */
    int masked = m->masked = m->training && m->ndrop > 0;
    if (masked && m->in_drop.p > 0) {
        cl_dropout_forward(m->xdrop, x, NULL, (size_t)B * m->ninput, m->in_drop.p, &m->drop_rng);
        x = m->xdrop;
    }
    for (int i = 0; i < m->nstem; i++) {
        cl_stem *st = &m->stem[i];
        st->in = x;
        if (st->kind == CL_STEM_CONV) {
            cl_conv2d_forward(st->out, x, P + st->w, P + st->b, B, &st->conv, m->col);
            cl_relu_forward(st->out, (size_t)B * st->out_n);
        } else if (st->kind == CL_STEM_MAXPOOL) {
            cl_maxpool_forward(st->out, st->argmax, x, B, &st->pool);
        } else {
            cl_avgpool_forward(st->out, x, B, &st->pool);
        }
        if (masked && st->drop.p > 0)
            cl_dropout_forward(st->out, st->out, st->drop.mask, (size_t)B * st->out_n, st->drop.p, &m->drop_rng);
        x = st->out;
    }
    m->act[0] = x;
    for (int l = 0; l < m->nhidden; l++) {
        const cl_linear *L = &m->layer[l];
        float *out = (float *)m->act[l + 1];
        cl_linear_forward(out, m->act[l], P + L->w, P + L->b, B, L->in, L->out);
        cl_relu_forward(out, (size_t)B * L->out);
        if (masked && m->drop[l].p > 0)
            cl_dropout_forward(out, out, m->drop[l].mask, (size_t)B * L->out, m->drop[l].p, &m->drop_rng);
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
     * its input; the dropout below (if the forward pass drew masks) and then the ReLU below mask that signal
     * into the previous layer's dz. The first layer needs no input signal (the data is not trained), which
     * saves the largest of the backward gemms. */
    int grads = mode != CL_GRAD_NONE, masked = m->masked;
    for (int l = m->nhidden; l >= 0; l--) {
        const cl_linear *L = l == m->nhidden ? H : &m->layer[l];
        float *din = l > 0 ? m->dz[l - 1] : m->nstem ? m->stem[m->nstem - 1].dout : NULL;
        cl_linear_backward(din, grads ? G + L->w : NULL, grads ? G + L->b : NULL, m->dz[l], m->act[l], P + L->w, B,
                           L->in, L->out, mode == CL_GRAD_ADD);
        if (din && l > 0) {
            const cl_dropout *d = &m->drop[l - 1];
            if (masked && d->p > 0) cl_dropout_backward(din, d->mask, (size_t)B * L->in, d->p);
            cl_relu_backward(din, m->act[l], (size_t)B * L->in);
        }
    }
    /* The stem, top down: each item's dout holds the signal at its output; its dropout's mask applies first,
     * then a conv masks it by its ReLU (dout is then at its pre-activation), then the item passes the signal
     * to the item below. The first item needs no input signal (the data is not trained), so the input's
     * dropout has no backward pass. */
    for (int i = m->nstem - 1; i >= 0; i--) {
        cl_stem *st = &m->stem[i];
        float *below = i > 0 ? m->stem[i - 1].dout : NULL;
        if (masked && st->drop.p > 0)
            cl_dropout_backward(st->dout, st->drop.mask, (size_t)B * st->out_n, st->drop.p);
        if (st->kind == CL_STEM_CONV) {
            cl_relu_backward(st->dout, st->out, (size_t)B * st->out_n);
            if (below || grads)
                cl_conv2d_backward(below, grads ? G + st->w : NULL, grads ? G + st->b : NULL, st->dout, st->in,
                                   P + st->w, B, &st->conv, m->col, mode == CL_GRAD_ADD);
        } else if (below && st->kind == CL_STEM_MAXPOOL) {
            cl_maxpool_backward(below, st->dout, st->argmax, B, &st->pool);
        } else if (below) {
            cl_avgpool_backward(below, st->dout, B, &st->pool);
        }
    }
}
