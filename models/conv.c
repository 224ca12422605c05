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

void cl_conv2d_forward(float *y, const float *x, const float *W, const float *b, int B, const cl_conv_shape *s,
                       float *col)
{
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
    if (dx) memset(dx, 0, sizeof(float) * in_n * (size_t)B);
    for (int n = 0; n < B; n++) {
        const float *dyn = dy + (size_t)n * s->cout * P;
        if (db)
            for (int o = 0; o < s->cout; o++) {
                double sum = 0;
                for (int p = 0; p < P; p++) sum += dyn[(size_t)o * P + p];
                db[o] += (float)sum;
            }
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
    for (int n = 0; n < B; n++) {
        const float *dyn = dy + (size_t)n * s->cout * P;
        float f = scale * (weight ? weight[n] : 1.0f);
        if (f == 0.0f) continue;
        cl_im2col(col, x + (size_t)n * in_n, s);
        /* G_n[cout][KK] = dy_n[cout][P] col_n[KK][P]^T: this sample's weight gradient */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->cout, KK, P, 1.0f, dyn, P, col, P, 0.0f, G, KK);
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
