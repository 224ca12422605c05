/* Convolutional training throughput against the BLAS ceiling (one thread).
 *
 * The Zenke et al. CIFAR network (models/arch.h preset zenke-cifar: four 3x3 convolutions, two max-pools,
 * dense 512, a 10-way head) trained on CIFAR-shaped random data, batch 128, Adam: forward, cross-entropy,
 * backward with parameter gradients, the optimizer step. Against it, the same sgemm calls alone on the same
 * shapes (per sample: a conv's forward gemm, its weight-gradient gemm and, above the first, its input-signal
 * gemm; the dense layers' batched gemms): ceiling / training is the fraction of the BLAS ceiling the whole
 * step reaches, the rest being im2col/col2im, ReLU, pooling and the optimizer. Also the exact per-sample conv
 * importances (cl_conv2d_sample_grads, what EWC and MAS run per sample on a conv layer) over the same
 * batches, as a fraction of a training step. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/blas.h"
#include "core/error.h"
#include "core/optim.h"
#include "core/rng.h"
#include "core/timer.h"
#include "models/arch.h"
#include "models/mlp.h"

enum { B = 128, STEPS = 12 };

/* The sgemm calls of one training step, as models/conv.c and models/mlp.c issue them. */
static void step_gemms(const cl_mlp *m, float *col, float *tmp, float *G)
{
    const float *P = m->params;
    for (int i = 0; i < m->nstem; i++) {
        const cl_stem *st = &m->stem[i];
        if (st->kind != CL_STEM_CONV) continue;
        const cl_conv_shape *c = &st->conv;
        int KK = c->cin * c->k * c->k, Q = c->ho * c->wo;
        for (int n = 0; n < B; n++) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c->cout, Q, KK, 1.0f, P + st->w, KK, col, Q, 1.0f,
                        tmp, Q);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->cout, KK, Q, 1.0f, tmp, Q, col, Q, 1.0f, G, KK);
            if (i > 0)
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, KK, Q, c->cout, 1.0f, P + st->w, KK, tmp, Q, 0.0f,
                            col, Q);
        }
    }
    for (int l = 0; l <= m->nhidden; l++) {
        const cl_linear *L = &m->layer[l];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, L->out, L->in, 1.0f, tmp, L->in, P + L->w, L->in, 1.0f,
                    col, L->out);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->out, L->in, B, 1.0f, col, L->out, tmp, L->in, 1.0f, G,
                    L->in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, L->in, L->out, 1.0f, col, L->out, P + L->w, L->in,
                    0.0f, tmp, L->in);
    }
}

int main(void)
{
    cl_blas_set_threads(1);
    cl_arch a;
    int head[1] = {10};
    if (cl_arch_parse(&a, "zenke-cifar", "bench")) return 1;
    cl_mlp *m = cl_mlp_create_arch(&a, 3, 32, 32, head, 1, B, "bench");
    if (!m) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    cl_rng r;
    cl_rng_seed(&r, 1, 1);
    cl_mlp_init(m, &r);
    float *x = cl_aligned_calloc((size_t)B * 3072, sizeof(float)), *dl = cl_aligned_calloc((size_t)B * 10, sizeof(float));
    int *y = cl_malloc(sizeof(int) * B);
    for (size_t i = 0; i < (size_t)B * 3072; i++) x[i] = cl_rng_uniform(&r);
    for (int k = 0; k < B; k++) y[k] = k % 10;
    cl_optim opt;
    cl_optim_cfg oc = cl_optim_defaults(CL_OPT_ADAM);
    cl_optim_init(&opt, &oc, m->nparams);
    cl_range range = {0, m->nparams};
    /* multiply-adds of one sample's forward pass */
    double fwd = 0;
    for (int i = 0; i < m->nstem; i++)
        if (m->stem[i].kind == CL_STEM_CONV) {
            const cl_conv_shape *c = &m->stem[i].conv;
            fwd += (double)c->cout * c->cin * c->k * c->k * c->ho * c->wo;
        }
    for (int l = 0; l <= m->nhidden; l++) fwd += (double)m->layer[l].in * m->layer[l].out;

    double best = 1e30;
    for (int round = 0; round < 2; round++) {
        double t0 = cl_now();
        for (int s = 0; s < STEPS; s++) {
            cl_mlp_forward(m, x, B, 0);
            cl_softmax_xent(m->logits, y, B, 10, 10, dl);
            cl_mlp_backward(m, dl, B, 0, CL_GRAD_SET);
            cl_optim_step(&opt, m->params, m->grads, &range, 1);
        }
        double t = (cl_now() - t0) / STEPS;
        best = t < best ? t : best;
    }
    /* the gemms alone, on buffers as large as the largest operand */
    size_t big = 0;
    for (int i = 0; i < m->nstem; i++) big = m->stem[i].out_n > big ? m->stem[i].out_n : big;
    big = big * 10 > (size_t)B * 4096 ? big * 10 : (size_t)B * 4096;
    float *col = cl_aligned_calloc(big, sizeof(float)), *tmp = cl_aligned_calloc(big, sizeof(float)),
          *G = cl_aligned_calloc(m->nparams, sizeof(float));
    double ceil = 1e30;
    for (int round = 0; round < 2; round++) {
        double t0 = cl_now();
        for (int s = 0; s < STEPS; s++) step_gemms(m, col, tmp, G);
        double t = (cl_now() - t0) / STEPS;
        ceil = t < ceil ? t : ceil;
    }
    /* per-sample conv importances of one batch, every conv layer (signals from the last backward pass) */
    float *om = cl_aligned_calloc(m->nparams, sizeof(float)), *Gs = cl_aligned_calloc(m->nparams, sizeof(float));
    double timp = 1e30;
    for (int round = 0; round < 2; round++) {
        double t0 = cl_now();
        for (int i = 0; i < m->nstem; i++)
            if (m->stem[i].kind == CL_STEM_CONV)
                cl_conv2d_sample_grads(om + m->stem[i].w, om + m->stem[i].b, m->stem[i].dout, m->stem[i].in, B,
                                       &m->stem[i].conv, 1, 1.0f / B, NULL, m->col, Gs);
        double t = cl_now() - t0;
        timp = t < timp ? t : timp;
    }
    printf("bench_conv: zenke-cifar (conv32k3p1 x2, maxpool2, conv64k3p1 x2, maxpool2, dense512, 10 outputs; %zu "
           "parameters) on 3x32x32 inputs, batch %d, Adam, one thread, kernel %s\n", m->nparams, B, cl_blas_core());
    printf("  training:        %.1f samples/s (%.1f GFLOP/s of the network's multiply-adds x 3 x 2)\n", B / best,
           3 * 2 * fwd * B / best / 1e9);
    printf("  the same sgemm calls alone: %.1f samples/s; training reaches %.2f of this ceiling\n", B / ceil,
           ceil / best);
    printf("  exact per-sample conv importances (G_n^2, every conv layer): %.2f of a training step per batch\n",
           timp / best);
    free(om), free(Gs), free(col), free(tmp), free(G), free(x), free(dl), free(y);
    cl_optim_free(&opt);
    cl_mlp_free(m);
    return 0;
}
