#include "models/conv.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/error.h"

int cl_conv_shape_init(cl_conv_shape *s, int cin, int h, int w, int cout, int k, int stride, int pad)
{
    memset(s, 0, sizeof *s);
    if (cin < 1 || h < 1 || w < 1 || cout < 1 || k < 1 || stride < 1 || pad < 0)
        return cl_fail("conv: channels %d -> %d, input %dx%d, kernel %d, stride %d, padding %d: expected positive "
                       "sizes and stride, padding >= 0", cin, cout, h, w, k, stride, pad);
    if (pad >= k) return cl_fail("conv: padding %d with kernel %d: expected padding < kernel", pad, k);
    if (h + 2 * pad < k || w + 2 * pad < k)
        return cl_fail("conv: kernel %d is larger than the padded input %dx%d", k, h + 2 * pad, w + 2 * pad);
    *s = (cl_conv_shape){.cin = cin, .h = h, .w = w, .cout = cout, .k = k, .stride = stride, .pad = pad,
                         .ho = (h + 2 * pad - k) / stride + 1, .wo = (w + 2 * pad - k) / stride + 1};
    return 0;
}

/* Row (c, i, j) of col is channel c shifted by the kernel offset (i, j): col[(c k + i) k + j][oh wo + ow] =
 * x[c][oh stride + i - pad][ow stride + j - pad], 0 outside the image. */
void cl_im2col(float *col, const float *x, const cl_conv_shape *s)
{
    const int K = s->k, P = s->ho * s->wo;
    for (int c = 0; c < s->cin; c++)
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                float *row = col + ((size_t)(c * K + i) * K + j) * P;
                const float *plane = x + (size_t)c * s->h * s->w;
                for (int oh = 0; oh < s->ho; oh++) {
                    int ih = oh * s->stride + i - s->pad;
                    float *out = row + (size_t)oh * s->wo;
                    if (ih < 0 || ih >= s->h) {
                        memset(out, 0, sizeof(float) * s->wo);
                        continue;
                    }
                    if (s->stride == 1) {
                        /* stride 1 (most layers): the valid outputs read one contiguous run of the input row */
                        int lo = s->pad - j > 0 ? s->pad - j : 0, hi = s->w + s->pad - j < s->wo ? s->w + s->pad - j : s->wo;
                        if (lo > s->wo) lo = s->wo; /* a kernel column that lies wholly in the padding */
                        if (hi < lo) hi = lo;
                        if (lo) memset(out, 0, sizeof(float) * lo);
                        if (hi > lo) memcpy(out + lo, plane + (size_t)ih * s->w + lo + j - s->pad, sizeof(float) * (hi - lo));
                        if (hi < s->wo) memset(out + hi, 0, sizeof(float) * (s->wo - hi));
                        continue;
                    }
                    for (int ow = 0; ow < s->wo; ow++) {
                        int iw = ow * s->stride + j - s->pad;
                        out[ow] = iw >= 0 && iw < s->w ? plane[(size_t)ih * s->w + iw] : 0.0f;
                    }
                }
            }
}

void cl_col2im_add(float *x, const float *col, const cl_conv_shape *s)
{
    const int K = s->k, P = s->ho * s->wo;
    for (int c = 0; c < s->cin; c++)
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                const float *row = col + ((size_t)(c * K + i) * K + j) * P;
                float *plane = x + (size_t)c * s->h * s->w;
                for (int oh = 0; oh < s->ho; oh++) {
                    int ih = oh * s->stride + i - s->pad;
                    if (ih < 0 || ih >= s->h) continue;
                    if (s->stride == 1) { /* as in im2col: one contiguous run, a loop the compiler vectorizes */
                        int lo = s->pad - j > 0 ? s->pad - j : 0, hi = s->w + s->pad - j < s->wo ? s->w + s->pad - j : s->wo;
                        float *dst = plane + (size_t)ih * s->w + j - s->pad;
                        const float *src = row + (size_t)oh * s->wo;
                        for (int ow = lo; ow < hi; ow++) dst[ow] += src[ow];
                        continue;
                    }
                    for (int ow = 0; ow < s->wo; ow++) {
                        int iw = ow * s->stride + j - s->pad;
                        if (iw >= 0 && iw < s->w) plane[(size_t)ih * s->w + iw] += row[(size_t)oh * s->wo + ow];
                    }
                }
            }
}

/* ---- stride 1: shifted gemms over the padded input (no im2col) ----------------------------------------
 *
 * With stride 1, output position (oh, ow) reads the padded input xp[c][oh + i][ow + j] at kernel offset
 * (i, j). Lay xp out as planes of hp = h + 2 pad rows of wp = w + 2 pad floats and compute the output over
 * the padded width, ye[cout][ho][wp] (Q' = ho wp columns, the last wp - wo of each row garbage): then for
 * each offset the input the outputs read is one strided matrix, xp + i wp + j viewed as [cin][Q'] with row
 * stride plane, and the layer is k k gemms with K = cin instead of one over the k k times larger im2col
 * matrix:
 *     ye    += W_ij xp_ij                 W_ij[cout][cin] = W[.][.][i][j]
 *     G_ij  += ye_dy xp_ij^T              (dy copied into ye's layout, its garbage columns zero)
 *     dxp_ij += W_ij^T ye_dy              (shifted views of the padded input gradient; the padding dropped)
 * The garbage columns read inputs wrapped from the next row: discarded in the forward pass, multiplied by
 * the zero signal in the backward ones. The view at the last offset reaches k - 1 floats past hp wp, so
 * planes get one more row (and the views of dxp's channels never overlap in one gemm). Each output still
 * sums the same products, in another order: exact to float rounding. Used from cin >= CL_CONV_SHIFT_CIN:
 * with fewer channels (the RGB input) K would be too short for the gemm to run well. */
#define CL_CONV_SHIFT_CIN 8

static int shifted(const cl_conv_shape *s)
{
    return s->stride == 1 && s->cin >= CL_CONV_SHIFT_CIN;
}

/* The workspace of the shifted path, carved from col (cl_conv_col_size counts it). */
typedef struct shift_ws {
    int wp, plane, Q;        /* padded row, plane (hp + 1 rows), extended output Q' = ho wp */
    float *xp, *dxp, *ye;    /* xp[cin][plane], dxp[cin][plane], ye[cout][Q'] */
    float *Wk, *Gk;          /* Wk[k k][cout][cin] the weights by offset, Gk[k k][cout][cin] their gradient */
} shift_ws;

static void shift_carve(shift_ws *ws, const cl_conv_shape *s, float *col)
{
    ws->wp = s->w + 2 * s->pad;
    ws->plane = (s->h + 2 * s->pad + 1) * ws->wp;
    ws->Q = s->ho * ws->wp;
    size_t xn = (size_t)s->cin * ws->plane, kw = (size_t)s->k * s->k * s->cout * s->cin;
    ws->xp = col;
    ws->dxp = ws->xp + xn;
    ws->ye = ws->dxp + xn;
    ws->Wk = ws->ye + (size_t)s->cout * ws->Q;
    ws->Gk = ws->Wk + kw;
}

size_t cl_conv_col_size(const cl_conv_shape *s)
{
    size_t col = (size_t)s->cin * s->k * s->k * (size_t)s->ho * s->wo;
    if (!shifted(s)) return col;
    size_t wp = (size_t)s->w + 2 * s->pad, plane = ((size_t)s->h + 2 * s->pad + 1) * wp;
    size_t ws = 2 * (size_t)s->cin * plane + (size_t)s->cout * s->ho * wp + 2 * (size_t)s->k * s->k * s->cout * s->cin;
    return ws > col ? ws : col;
}

/* Wk[i k + j][o][c] = W[o][c][i][j] */
static void shift_weights(float *Wk, const float *W, const cl_conv_shape *s)
{
    const int kk = s->k * s->k;
    for (int o = 0; o < s->cout; o++)
        for (int c = 0; c < s->cin; c++)
            for (int t = 0; t < kk; t++) Wk[((size_t)t * s->cout + o) * s->cin + c] = W[((size_t)o * s->cin + c) * kk + t];
}

/* The interior of xp (its padding zeroed once by the caller) from one image x[cin][h][w]. */
static void shift_pad(float *xp, const float *x, const cl_conv_shape *s, const shift_ws *ws)
{
    for (int c = 0; c < s->cin; c++)
        for (int i = 0; i < s->h; i++)
            memcpy(xp + (size_t)c * ws->plane + (size_t)(i + s->pad) * ws->wp + s->pad, x + ((size_t)c * s->h + i) * s->w,
                   sizeof(float) * s->w);
}

/* ye's valid columns from dy_n[cout][ho][wo] (its garbage columns zeroed once by the caller). */
static void shift_dy(float *ye, const float *dyn, const cl_conv_shape *s, const shift_ws *ws)
{
    for (int o = 0; o < s->cout; o++)
        for (int i = 0; i < s->ho; i++)
            memcpy(ye + (size_t)o * ws->Q + (size_t)i * ws->wp, dyn + ((size_t)o * s->ho + i) * s->wo, sizeof(float) * s->wo);
}

/* Gk[k k][cout][cin] (= or +=, beta) = ye_dy xp_ij^T at every offset: one sample's weight gradient by offset. */
static void shift_weight_grad(const cl_conv_shape *s, const shift_ws *ws, float beta)
{
    const size_t nk = (size_t)s->cout * s->cin;
    for (int i = 0; i < s->k; i++)
        for (int j = 0; j < s->k; j++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, s->cin, ws->Q, 1.0f, ws->ye, ws->Q,
                        ws->xp + (size_t)i * ws->wp + j, ws->plane, beta, ws->Gk + (size_t)(i * s->k + j) * nk, s->cin);
}

static void forward_shifted(float *y, const float *x, const float *W, const float *b, int B, const cl_conv_shape *s,
                            float *col)
{
    shift_ws ws;
    shift_carve(&ws, s, col);
    const int P = s->ho * s->wo;
    const size_t nk = (size_t)s->cout * s->cin;
    shift_weights(ws.Wk, W, s);
    memset(ws.xp, 0, sizeof(float) * (size_t)s->cin * ws.plane);
    for (int n = 0; n < B; n++) {
        shift_pad(ws.xp, x + (size_t)n * s->cin * s->h * s->w, s, &ws);
        /* ye[cout][Q'] = sum over offsets of Wk[ij][cout][cin] xp_ij[cin][Q'] */
        for (int i = 0; i < s->k; i++)
            for (int j = 0; j < s->k; j++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, ws.Q, s->cin, 1.0f,
                            ws.Wk + (size_t)(i * s->k + j) * nk, s->cin, ws.xp + (size_t)i * ws.wp + j, ws.plane,
                            i || j ? 1.0f : 0.0f, ws.ye, ws.Q);
        float *yn = y + (size_t)n * s->cout * P;
        for (int o = 0; o < s->cout; o++) {
            float bo = b ? b[o] : 0.0f;
            for (int oh = 0; oh < s->ho; oh++) {
                const float *src = ws.ye + (size_t)o * ws.Q + (size_t)oh * ws.wp;
                float *dst = yn + (size_t)o * P + (size_t)oh * s->wo;
                for (int ow = 0; ow < s->wo; ow++) dst[ow] = src[ow] + bo;
            }
        }
    }
}

/* dW[o][c][i][j] (+)= Gk[ij][o][c] */
static void shift_scatter(float *dW, const float *Gk, const cl_conv_shape *s, int accumulate)
{
    const int kk = s->k * s->k;
    for (int o = 0; o < s->cout; o++)
        for (int c = 0; c < s->cin; c++) {
            float *d = dW + ((size_t)o * s->cin + c) * kk;
            for (int t = 0; t < kk; t++) {
                float g = Gk[((size_t)t * s->cout + o) * s->cin + c];
                d[t] = accumulate ? d[t] + g : g;
            }
        }
}

static void backward_shifted(float *dx, float *dW, const float *dy, const float *x, const float *W, int B,
                             const cl_conv_shape *s, float *col, int accumulate)
{
    shift_ws ws;
    shift_carve(&ws, s, col);
    const int P = s->ho * s->wo;
    const size_t nk = (size_t)s->cout * s->cin, in_n = (size_t)s->cin * s->h * s->w;
    if (dx) shift_weights(ws.Wk, W, s);
    memset(ws.xp, 0, sizeof(float) * (size_t)s->cin * ws.plane);
    memset(ws.ye, 0, sizeof(float) * (size_t)s->cout * ws.Q);
    for (int n = 0; n < B; n++) {
        shift_dy(ws.ye, dy + (size_t)n * s->cout * P, s, &ws);
        if (dW) {
            /* summed over the batch in Gk, scattered into dW's layout once */
            shift_pad(ws.xp, x + (size_t)n * in_n, s, &ws);
            shift_weight_grad(s, &ws, n ? 1.0f : 0.0f);
        }
        if (dx) {
            /* dxp = sum over offsets of the shifted Wk[ij]^T[cin][cout] ye[cout][Q'], then its interior */
            memset(ws.dxp, 0, sizeof(float) * (size_t)s->cin * ws.plane);
            for (int i = 0; i < s->k; i++)
                for (int j = 0; j < s->k; j++)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->cin, ws.Q, s->cout, 1.0f,
                                ws.Wk + (size_t)(i * s->k + j) * nk, s->cin, ws.ye, ws.Q, 1.0f,
                                ws.dxp + (size_t)i * ws.wp + j, ws.plane);
            float *dxn = dx + (size_t)n * in_n;
            for (int c = 0; c < s->cin; c++)
                for (int i = 0; i < s->h; i++)
                    memcpy(dxn + ((size_t)c * s->h + i) * s->w,
                           ws.dxp + (size_t)c * ws.plane + (size_t)(i + s->pad) * ws.wp + s->pad, sizeof(float) * s->w);
        }
    }
    if (dW && B > 0) shift_scatter(dW, ws.Gk, s, accumulate);
}

void cl_conv2d_forward(float *y, const float *x, const float *W, const float *b, int B, const cl_conv_shape *s,
                       float *col)
{
    if (shifted(s)) {
        forward_shifted(y, x, W, b, B, s, col);
        return;
    }
    const int KK = s->cin * s->k * s->k, P = s->ho * s->wo;
    for (int n = 0; n < B; n++) {
        float *yn = y + (size_t)n * s->cout * P;
        cl_im2col(col, x + (size_t)n * s->cin * s->h * s->w, s);
        for (int o = 0; o < s->cout; o++)
            for (int p = 0; p < P; p++) yn[(size_t)o * P + p] = b ? b[o] : 0.0f;
        /* y_n[cout][P] += W[cout][KK] col[KK][P] */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, P, KK, 1.0f, W, KK, col, P, 1.0f, yn, P);
    }
}

void cl_conv2d_backward(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int B,
                        const cl_conv_shape *s, float *col, int accumulate)
{
    const int KK = s->cin * s->k * s->k, P = s->ho * s->wo;
    const size_t in_n = (size_t)s->cin * s->h * s->w;
    if (!accumulate) {
        if (dW) memset(dW, 0, sizeof(float) * (size_t)s->cout * KK);
        if (db) memset(db, 0, sizeof(float) * (size_t)s->cout);
    }
    for (int n = 0; n < B && db; n++) {
        const float *dyn = dy + (size_t)n * s->cout * P;
        for (int o = 0; o < s->cout; o++) {
            double sum = 0;
            for (int p = 0; p < P; p++) sum += dyn[(size_t)o * P + p];
            db[o] += (float)sum;
        }
    }
    if (shifted(s)) {
        if (dx || dW) backward_shifted(dx, dW, dy, x, W, B, s, col, 1);
        return;
    }
    if (dx) memset(dx, 0, sizeof(float) * in_n * (size_t)B);
    for (int n = 0; n < B; n++) {
        const float *dyn = dy + (size_t)n * s->cout * P;
        if (dW) {
            cl_im2col(col, x + (size_t)n * in_n, s);
            /* dW[cout][KK] += dy_n[cout][P] col[KK][P]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, KK, P, 1.0f, dyn, P, col, P, 1.0f, dW, KK);
        }
        if (dx) {
            /* dcol[KK][P] = W[cout][KK]^T dy_n[cout][P], then back to the image */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, KK, P, s->cout, 1.0f, W, KK, dyn, P, 0.0f, col, P);
            cl_col2im_add(dx + (size_t)n * in_n, col, s);
        }
    }
}

void cl_conv2d_sample_grads(float *omegaW, float *omegab, const float *dy, const float *x, int B,
                            const cl_conv_shape *s, int square, float scale, const float *weight, float *col,
                            float *G)
{
    const int KK = s->cin * s->k * s->k, P = s->ho * s->wo;
    const size_t nW = (size_t)s->cout * KK, in_n = (size_t)s->cin * s->h * s->w;
    shift_ws ws;
    if (shifted(s)) {
        shift_carve(&ws, s, col);
        memset(ws.xp, 0, sizeof(float) * (size_t)s->cin * ws.plane);
        memset(ws.ye, 0, sizeof(float) * (size_t)s->cout * ws.Q);
    }
    for (int n = 0; n < B; n++) {
        const float *dyn = dy + (size_t)n * s->cout * P;
        float f = scale * (weight ? weight[n] : 1.0f);
        if (f == 0.0f) continue;
        if (shifted(s)) {
            /* G_n by kernel offset in Gk, then into W's layout */
            shift_pad(ws.xp, x + (size_t)n * in_n, s, &ws);
            shift_dy(ws.ye, dyn, s, &ws);
            shift_weight_grad(s, &ws, 0.0f);
            shift_scatter(G, ws.Gk, s, 0);
        } else {
            cl_im2col(col, x + (size_t)n * in_n, s);
            /* G_n[cout][KK] = dy_n[cout][P] col_n[KK][P]^T: this sample's weight gradient */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, KK, P, 1.0f, dyn, P, col, P, 0.0f, G, KK);
        }
        if (square)
            for (size_t i = 0; i < nW; i++) omegaW[i] += f * G[i] * G[i];
        else
            for (size_t i = 0; i < nW; i++) omegaW[i] += f * fabsf(G[i]);
        if (omegab)
            for (int o = 0; o < s->cout; o++) {
                double g = 0;
                for (int p = 0; p < P; p++) g += dyn[(size_t)o * P + p];
                omegab[o] += f * (float)(square ? g * g : fabs(g));
            }
    }
}

int cl_pool_shape_init(cl_pool_shape *s, int c, int h, int w, int k, int stride)
{
    memset(s, 0, sizeof *s);
    if (c < 1 || h < 1 || w < 1 || k < 1 || stride < 1)
        return cl_fail("pool: %d channels of %dx%d, window %d, stride %d: expected positive sizes", c, h, w, k, stride);
    if (k > h || k > w) return cl_fail("pool: window %d is larger than the input %dx%d", k, h, w);
    *s = (cl_pool_shape){.c = c, .h = h, .w = w, .k = k, .stride = stride, .ho = (h - k) / stride + 1,
                         .wo = (w - k) / stride + 1};
    return 0;
}

void cl_maxpool_forward(float *y, int *argmax, const float *x, int B, const cl_pool_shape *s)
{
    for (int n = 0; n < B * s->c; n++) {
        const float *plane = x + (size_t)n * s->h * s->w;
        float *out = y + (size_t)n * s->ho * s->wo;
        int *arg = argmax + (size_t)n * s->ho * s->wo;
        for (int oh = 0; oh < s->ho; oh++)
            for (int ow = 0; ow < s->wo; ow++) {
                int best = (oh * s->stride) * s->w + ow * s->stride;
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++) {
                        int at = (oh * s->stride + i) * s->w + ow * s->stride + j;
                        if (plane[at] > plane[best]) best = at;
                    }
                out[oh * s->wo + ow] = plane[best];
                arg[oh * s->wo + ow] = best;
            }
    }
}

void cl_maxpool_backward(float *dx, const float *dy, const int *argmax, int B, const cl_pool_shape *s)
{
    memset(dx, 0, sizeof(float) * (size_t)B * s->c * s->h * s->w);
    for (int n = 0; n < B * s->c; n++) {
        float *plane = dx + (size_t)n * s->h * s->w;
        const float *d = dy + (size_t)n * s->ho * s->wo;
        const int *arg = argmax + (size_t)n * s->ho * s->wo;
        for (int p = 0; p < s->ho * s->wo; p++) plane[arg[p]] += d[p];
    }
}

void cl_avgpool_forward(float *y, const float *x, int B, const cl_pool_shape *s)
{
    const float inv = 1.0f / (float)(s->k * s->k);
    for (int n = 0; n < B * s->c; n++) {
        const float *plane = x + (size_t)n * s->h * s->w;
        float *out = y + (size_t)n * s->ho * s->wo;
        for (int oh = 0; oh < s->ho; oh++)
            for (int ow = 0; ow < s->wo; ow++) {
                float sum = 0;
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++) sum += plane[(oh * s->stride + i) * s->w + ow * s->stride + j];
                out[oh * s->wo + ow] = sum * inv;
            }
    }
}

void cl_avgpool_backward(float *dx, const float *dy, int B, const cl_pool_shape *s)
{
    const float inv = 1.0f / (float)(s->k * s->k);
    memset(dx, 0, sizeof(float) * (size_t)B * s->c * s->h * s->w);
    for (int n = 0; n < B * s->c; n++) {
        float *plane = dx + (size_t)n * s->h * s->w;
        const float *d = dy + (size_t)n * s->ho * s->wo;
        for (int oh = 0; oh < s->ho; oh++)
            for (int ow = 0; ow < s->wo; ow++)
                for (int i = 0; i < s->k; i++)
                    for (int j = 0; j < s->k; j++)
                        plane[(oh * s->stride + i) * s->w + ow * s->stride + j] += d[oh * s->wo + ow] * inv;
    }
}
