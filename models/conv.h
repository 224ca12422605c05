/* Convolution and pooling layers over NCHW batches, as free functions (forward, backward), and the exact
 * per-sample weight gradients that importances need.
 *
 * Layouts are PyTorch's, so saved parameters load into torch.nn.Conv2d as they are:
 *     input   x[B][cin][h][w]
 *     weight  W[cout][cin][k][k]          bias b[cout]
 *     output  y[B][cout][ho][wo]          ho = (h + 2 pad - k) / stride + 1, the same for wo
 *
 * A convolution is a gemm per sample over its im2col matrix col[cin k k][ho wo] (each column the receptive
 * field of one output position, zero where it reaches into the padding):
 *     y_n = W col_n + b                  W as [cout][cin k k]
 *     dW += dy_n col_n^T                 db += sum over positions of dy_n
 *     dcol = W^T dy_n,  dx_n = col2im(dcol)   (the transpose of im2col: overlapping fields add up)
 * The per-sample weight gradient G_n = dy_n col_n^T is the same gemm as the batch's weight gradient, one
 * sample at a time; unlike a dense layer's, |G_n| and G_n^2 do not factor into products of per-sample
 * vectors, because G_n sums over output positions. So cl_conv2d_sample_grads forms G_n and accumulates
 * |G_n| or G_n^2 (DESIGN.md, "Networks of layers").
 *
 * Stride-1 layers with at least 8 input channels (all but the first of a typical stem) compute the same
 * sums without im2col, as k k gemms over shifted views of a zero-padded copy of the input (models/conv.c:
 * the k k-fold copy, and col2im's pass over it, cost more than the smaller gemms lose); the per-sample G_n
 * is formed the same way.
 *
 * Workspace: col holds cl_conv_col_size(s) floats (one sample's im2col matrix, or the shifted path's padded
 * input, its gradient, the output over the padded width and the weights by kernel offset, whichever is
 * larger); G (sample grads) holds cout x cin k k floats. */
#ifndef CLREG_CONV_H
#define CLREG_CONV_H

#include <stddef.h>

typedef struct cl_conv_shape {
    int cin, h, w;        /* input channels and size */
    int cout, k;          /* output channels, square kernel */
    int stride, pad;      /* zero padding on every side */
    int ho, wo;           /* output size */
} cl_conv_shape;

/* Fill s and its output size; -1 with a message for a kernel larger than the padded input, or a size,
 * stride or padding out of range (pad < k, so every output sees at least one input). */
int cl_conv_shape_init(cl_conv_shape *s, int cin, int h, int w, int cout, int k, int stride, int pad);

/* Floats of workspace (col) the layer's functions need: one sample's im2col matrix, or for a stride-1 layer
 * the larger of that and the shifted path's buffers (models/conv.c). */
size_t cl_conv_col_size(const cl_conv_shape *s);

/* col[cin k k][ho wo] from one image x[cin][h][w] */
void cl_im2col(float *col, const float *x, const cl_conv_shape *s);
/* x[cin][h][w] += col2im(col): every column's entries added back where im2col took them */
void cl_col2im_add(float *x, const float *col, const cl_conv_shape *s);

/* y[B][cout][ho][wo] = conv(x[B][cin][h][w], W) + b */
void cl_conv2d_forward(float *y, const float *x, const float *W, const float *b, int B, const cl_conv_shape *s,
                       float *col);
/* Given dy[B][cout][ho][wo]: dx[B][cin][h][w] (if dx), dW[cout][cin][k][k] (if dW) and db[cout] (if db),
 * overwritten, or added to with accumulate. x is the forward's input. */
void cl_conv2d_backward(float *dx, float *dW, float *db, const float *dy, const float *x, const float *W, int B,
                        const cl_conv_shape *s, float *col, int accumulate);

/* Per-sample importances of one batch: for each sample n, with G_n = dy_n col_n^T and g_n = sum_p dy_n,
 *     omegaW += scale * |G_n| (or G_n^2 when square),  omegab += scale * |g_n| (or g_n^2).
 * weight (may be NULL): a per-sample factor on the added terms (the exact Fisher's class probabilities).
 * G: cout x cin k k floats of workspace. */
void cl_conv2d_sample_grads(float *omegaW, float *omegab, const float *dy, const float *x, int B,
                            const cl_conv_shape *s, int square, float scale, const float *weight, float *col,
                            float *G);

/* Pooling over k x k windows with a stride (no padding): out[B][c][ho][wo], ho = (h - k) / stride + 1. */
typedef struct cl_pool_shape {
    int c, h, w, k, stride, ho, wo;
} cl_pool_shape;

/* -1 with a message when the window does not fit the input. */
int cl_pool_shape_init(cl_pool_shape *s, int c, int h, int w, int k, int stride);

/* Max pooling; argmax[B][c][ho][wo] records each output's input position within its channel plane (the
 * first of equal maxima), which the backward pass routes the gradient to. */
void cl_maxpool_forward(float *y, int *argmax, const float *x, int B, const cl_pool_shape *s);
/* dx (overwritten) from dy and the forward's argmax; overlapping windows (stride < k) add up. */
void cl_maxpool_backward(float *dx, const float *dy, const int *argmax, int B, const cl_pool_shape *s);

/* Average pooling: each output the mean of its window. */
void cl_avgpool_forward(float *y, const float *x, int B, const cl_pool_shape *s);
void cl_avgpool_backward(float *dx, const float *dy, int B, const cl_pool_shape *s);

#endif
