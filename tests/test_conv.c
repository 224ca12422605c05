/* Convolution and pooling layers (models/conv.c): the forward pass against a direct convolution loop, every
 * backward pass against central finite differences, and the per-sample weight gradients against one-sample
 * backward passes. Shapes are non-square, with stride and padding, so a transposed index cannot pass. */
#include "tests/testutil.h"

#include <math.h>

#include "core/error.h"
#include "core/rng.h"
#include "models/conv.h"

static void fill(float *a, size_t n, cl_rng *r)
{
    for (size_t i = 0; i < n; i++) a[i] = 2.0f * cl_rng_uniform(r) - 1.0f;
}

/* y = conv(x, W) + b by its definition, in double */
static void direct_conv(double *y, const float *x, const float *W, const float *b, int B, const cl_conv_shape *s)
{
    for (int n = 0; n < B; n++)
        for (int o = 0; o < s->cout; o++)
            for (int oh = 0; oh < s->ho; oh++)
                for (int ow = 0; ow < s->wo; ow++) {
                    double acc = b[o];
                    for (int c = 0; c < s->cin; c++)
                        for (int i = 0; i < s->k; i++)
                            for (int j = 0; j < s->k; j++) {
                                int ih = oh * s->stride + i - s->pad, iw = ow * s->stride + j - s->pad;
                                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w) continue;
                                acc += (double)W[((o * s->cin + c) * s->k + i) * s->k + j] *
                                       x[((size_t)(n * s->cin + c) * s->h + ih) * s->w + iw];
                            }
                    y[((size_t)(n * s->cout + o) * s->ho + oh) * s->wo + ow] = acc;
                }
}

static const int shapes[][7] = {
    /* cin, h, w, cout, k, stride, pad */
    {3, 7, 5, 4, 3, 2, 1}, {2, 6, 6, 3, 3, 1, 1}, {1, 5, 8, 2, 2, 2, 0}, {4, 4, 3, 5, 1, 1, 0}, {2, 9, 7, 3, 5, 3, 2},
    /* stride 1 with kernel columns wholly in the padding (a one-pixel-wide input, a 5-wide kernel) */
    {2, 3, 1, 2, 5, 1, 2}, {1, 4, 2, 3, 3, 1, 2},
    /* stride 1 with cin >= 8: the shifted-gemm path (models/conv.c), including an even kernel without
     * padding and a kernel wider than the input */
    {8, 6, 5, 3, 3, 1, 1}, {9, 5, 4, 2, 2, 1, 0}, {8, 3, 1, 2, 5, 1, 2}, {8, 4, 6, 3, 3, 1, 2},
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])

static void test_forward_is_a_convolution(void **state)
{
    (void)state;
    cl_rng r;
    cl_rng_seed(&r, 1, 2);
    for (int t = 0; t < NSHAPES; t++) {
        cl_conv_shape s;
        const int *a = shapes[t];
        assert_int_equal(cl_conv_shape_init(&s, a[0], a[1], a[2], a[3], a[4], a[5], a[6]), 0);
        assert_int_equal(s.ho, (a[1] + 2 * a[6] - a[4]) / a[5] + 1);
        const int B = 3;
        size_t nx = (size_t)B * s.cin * s.h * s.w, ny = (size_t)B * s.cout * s.ho * s.wo,
               nw = (size_t)s.cout * s.cin * s.k * s.k;
        float *x = malloc(nx * 4), *W = malloc(nw * 4), *b = malloc(s.cout * 4), *y = malloc(ny * 4),
              *col = malloc(cl_conv_col_size(&s) * 4);
        double *want = malloc(ny * 8);
        fill(x, nx, &r), fill(W, nw, &r), fill(b, (size_t)s.cout, &r);
        cl_conv2d_forward(y, x, W, b, B, &s, col);
        direct_conv(want, x, W, b, B, &s);
        for (size_t i = 0; i < ny; i++)
            if (fabs(y[i] - want[i]) > 1e-5 * (1 + fabs(want[i]))) fail_msg("shape %d, output %zu: %g, want %g", t, i, y[i], want[i]);
        free(x), free(W), free(b), free(y), free(col), free(want);
    }
}

/* L = sum(y * R): dL/dy = R. Central differences of L in double, against the backward pass. */
static double conv_loss(const float *x, const float *W, const float *b, const float *R, int B, const cl_conv_shape *s)
{
    size_t ny = (size_t)B * s->cout * s->ho * s->wo;
    double *y = malloc(ny * 8), L = 0;
    direct_conv(y, x, W, b, B, s);
    for (size_t i = 0; i < ny; i++) L += y[i] * R[i];
    free(y);
    return L;
}

static void check_fd(const char *what, float *v, size_t n, const float *grad, double (*loss)(void *), void *ctx)
{
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float keep = v[i];
        v[i] = keep + eps;
        double lp = loss(ctx);
        v[i] = keep - eps;
        double lm = loss(ctx);
        v[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)eps);
        if (fabs(fd - grad[i]) > 1e-4 * (1 + fabs(fd))) fail_msg("%s[%zu]: backward %g, finite differences %g", what, i, grad[i], fd);
    }
}

typedef struct conv_ctx {
    float *x, *W, *b, *R;
    int B;
    const cl_conv_shape *s;
} conv_ctx;

static double conv_ctx_loss(void *p)
{
    conv_ctx *c = p;
    return conv_loss(c->x, c->W, c->b, c->R, c->B, c->s);
}

static void test_conv_backward_finite_differences(void **state)
{
    (void)state;
    cl_rng r;
    cl_rng_seed(&r, 3, 4);
    for (int t = 0; t < NSHAPES; t++) {
        cl_conv_shape s;
        const int *a = shapes[t];
        assert_int_equal(cl_conv_shape_init(&s, a[0], a[1], a[2], a[3], a[4], a[5], a[6]), 0);
        const int B = 2;
        size_t nx = (size_t)B * s.cin * s.h * s.w, ny = (size_t)B * s.cout * s.ho * s.wo,
               nw = (size_t)s.cout * s.cin * s.k * s.k;
        float *x = malloc(nx * 4), *W = malloc(nw * 4), *b = malloc(s.cout * 4), *R = malloc(ny * 4),
              *dx = malloc(nx * 4), *dW = malloc(nw * 4), *db = malloc(s.cout * 4),
              *col = malloc(cl_conv_col_size(&s) * 4);
        fill(x, nx, &r), fill(W, nw, &r), fill(b, (size_t)s.cout, &r), fill(R, ny, &r);
        cl_conv2d_backward(dx, dW, db, R, x, W, B, &s, col, 0);
        conv_ctx c = {x, W, b, R, B, &s};
        check_fd("dx", x, nx, dx, conv_ctx_loss, &c);
        check_fd("dW", W, nw, dW, conv_ctx_loss, &c);
        check_fd("db", b, (size_t)s.cout, db, conv_ctx_loss, &c);
        /* accumulate adds: a second pass doubles dW and db */
        float *dW2 = malloc(nw * 4), *db2 = malloc(s.cout * 4);
        memcpy(dW2, dW, nw * 4);
        memcpy(db2, db, s.cout * 4);
        cl_conv2d_backward(NULL, dW2, db2, R, x, W, B, &s, col, 1);
        for (size_t i = 0; i < nw; i++) assert_true(fabsf(dW2[i] - 2 * dW[i]) <= 1e-5f * (1 + fabsf(dW[i])));
        for (int o = 0; o < s.cout; o++) assert_true(fabsf(db2[o] - 2 * db[o]) <= 1e-5f * (1 + fabsf(db[o])));
        free(x), free(W), free(b), free(R), free(dx), free(dW), free(db), free(col), free(dW2), free(db2);
    }
}

/* The exact per-sample importances against one-sample backward passes, for both combines and with weights. */
static void test_sample_grads_brute_force(void **state)
{
    (void)state;
    cl_rng r;
    cl_rng_seed(&r, 5, 6);
    for (int t = 0; t < NSHAPES; t++) {
        cl_conv_shape s;
        const int *a = shapes[t];
        assert_int_equal(cl_conv_shape_init(&s, a[0], a[1], a[2], a[3], a[4], a[5], a[6]), 0);
        const int B = 5;
        size_t in_n = (size_t)s.cin * s.h * s.w, out_n = (size_t)s.cout * s.ho * s.wo,
               nw = (size_t)s.cout * s.cin * s.k * s.k;
        float *x = malloc(B * in_n * 4), *dy = malloc(B * out_n * 4), *W = malloc(nw * 4), *wt = malloc(B * 4),
              *col = malloc(cl_conv_col_size(&s) * 4), *G = malloc(nw * 4), *gW = malloc(nw * 4),
              *gb = malloc(s.cout * 4), *oW = malloc(nw * 4), *ob = malloc(s.cout * 4);
        double *wantW = malloc(nw * 8), *wantb = malloc(s.cout * 8);
        fill(x, B * in_n, &r), fill(dy, B * out_n, &r), fill(W, nw, &r);
        for (int n = 0; n < B; n++) wt[n] = cl_rng_uniform(&r);
        for (int square = 0; square <= 1; square++)
            for (int weighted = 0; weighted <= 1; weighted++) {
                memset(wantW, 0, nw * 8);
                memset(wantb, 0, s.cout * 8);
                for (int n = 0; n < B; n++) {
                    cl_conv2d_backward(NULL, gW, gb, dy + n * out_n, x + n * in_n, W, 1, &s, col, 0);
                    double f = 0.5 * (weighted ? wt[n] : 1.0);
                    for (size_t i = 0; i < nw; i++) wantW[i] += f * (square ? (double)gW[i] * gW[i] : fabs(gW[i]));
                    for (int o = 0; o < s.cout; o++) wantb[o] += f * (square ? (double)gb[o] * gb[o] : fabs(gb[o]));
                }
                memset(oW, 0, nw * 4);
                memset(ob, 0, s.cout * 4);
                cl_conv2d_sample_grads(oW, ob, dy, x, B, &s, square, 0.5f, weighted ? wt : NULL, col, G);
                for (size_t i = 0; i < nw; i++)
                    if (fabs(oW[i] - wantW[i]) > 1e-5 * (1e-6 + fabs(wantW[i])) + 1e-7)
                        fail_msg("shape %d square %d weighted %d: omega W[%zu] %g, brute force %g", t, square, weighted,
                                 i, oW[i], wantW[i]);
                for (int o = 0; o < s.cout; o++)
                    if (fabs(ob[o] - wantb[o]) > 1e-5 * (1e-6 + fabs(wantb[o])) + 1e-7)
                        fail_msg("shape %d: omega b[%d] %g, brute force %g", t, o, ob[o], wantb[o]);
            }
        free(x), free(dy), free(W), free(wt), free(col), free(G), free(gW), free(gb), free(oW), free(ob), free(wantW),
            free(wantb);
    }
}

typedef struct pool_ctx {
    float *x, *R, *y;
    int *arg;
    int B, max;
    const cl_pool_shape *s;
} pool_ctx;

static double pool_loss(void *p)
{
    pool_ctx *c = p;
    if (c->max) cl_maxpool_forward(c->y, c->arg, c->x, c->B, c->s);
    else cl_avgpool_forward(c->y, c->x, c->B, c->s);
    double L = 0;
    for (size_t i = 0; i < (size_t)c->B * c->s->c * c->s->ho * c->s->wo; i++) L += (double)c->y[i] * c->R[i];
    return L;
}

static void test_pool_backward_finite_differences(void **state)
{
    (void)state;
    /* c, h, w, k, stride: non-overlapping, overlapping, a remainder that no window covers */
    static const int ps[][5] = {{2, 4, 6, 2, 2}, {3, 5, 4, 2, 1}, {1, 7, 5, 3, 2}, {2, 3, 3, 3, 1}};
    cl_rng r;
    cl_rng_seed(&r, 7, 8);
    for (size_t t = 0; t < sizeof ps / sizeof ps[0]; t++) {
        cl_pool_shape s;
        assert_int_equal(cl_pool_shape_init(&s, ps[t][0], ps[t][1], ps[t][2], ps[t][3], ps[t][4]), 0);
        const int B = 2;
        size_t nx = (size_t)B * s.c * s.h * s.w, ny = (size_t)B * s.c * s.ho * s.wo;
        float *x = malloc(nx * 4), *R = malloc(ny * 4), *y = malloc(ny * 4), *dx = malloc(nx * 4);
        int *arg = malloc(ny * sizeof(int));
        /* distinct values 0.1 apart, shuffled: the maximum of a window stays put under a step of 1e-2 */
        for (size_t i = 0; i < nx; i++) x[i] = 0.1f * (float)i;
        for (size_t i = nx - 1; i > 0; i--) {
            size_t j = (size_t)(cl_rng_uniform(&r) * (float)(i + 1)) % (i + 1);
            float v = x[i];
            x[i] = x[j];
            x[j] = v;
        }
        fill(R, ny, &r);
        for (int max = 0; max <= 1; max++) {
            pool_ctx c = {x, R, y, arg, B, max, &s};
            pool_loss(&c);
            if (max) cl_maxpool_backward(dx, R, arg, B, &s);
            else cl_avgpool_backward(dx, R, B, &s);
            check_fd(max ? "maxpool dx" : "avgpool dx", x, nx, dx, pool_loss, &c);
        }
        /* the maximum by hand for the first window */
        cl_maxpool_forward(y, arg, x, B, &s);
        float m = -INFINITY;
        for (int i = 0; i < s.k; i++)
            for (int j = 0; j < s.k; j++) m = fmaxf(m, x[i * s.w + j]);
        assert_true(y[0] == m);
        free(x), free(R), free(y), free(dx), free(arg);
    }
}

static void test_shapes_refused(void **state)
{
    (void)state;
    cl_conv_shape s;
    cl_pool_shape p;
    assert_int_equal(cl_conv_shape_init(&s, 3, 4, 4, 8, 3, 1, 3), -1);
    assert_non_null(strstr(cl_errmsg(), "expected padding < kernel"));
    assert_int_equal(cl_conv_shape_init(&s, 3, 2, 9, 8, 5, 1, 1), -1);
    assert_non_null(strstr(cl_errmsg(), "kernel 5 is larger than the padded input 4x11"));
    assert_int_equal(cl_conv_shape_init(&s, 0, 4, 4, 8, 3, 1, 1), -1);
    assert_int_equal(cl_conv_shape_init(&s, 3, 4, 4, 8, 3, 0, 1), -1);
    assert_int_equal(cl_pool_shape_init(&p, 3, 1, 4, 2, 2), -1);
    assert_non_null(strstr(cl_errmsg(), "window 2 is larger than the input 1x4"));
    /* Zenke et al.'s CIFAR network: 32x32 -> conv 3 pad 1 -> 32x32 -> pool 2 -> 16x16 */
    assert_int_equal(cl_conv_shape_init(&s, 3, 32, 32, 32, 3, 1, 1), 0);
    assert_int_equal(s.ho * s.wo, 32 * 32);
    assert_int_equal(cl_pool_shape_init(&p, 32, 32, 32, 2, 2), 0);
    assert_int_equal(p.ho, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_is_a_convolution),
        cmocka_unit_test(test_conv_backward_finite_differences),
        cmocka_unit_test(test_sample_grads_brute_force),
        cmocka_unit_test(test_pool_backward_finite_differences),
        cmocka_unit_test(test_shapes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
