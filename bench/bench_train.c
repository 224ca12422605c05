/* Training throughput against the BLAS ceiling, and memory of a long stream.
 *
 * 1. One epoch of 784-400-400-10 training on Fashion-MNIST (batch 128, 60,000 samples, Adam, one thread),
 *    against the time the same sgemm calls alone take on the same shapes in the same run. The ratio
 *    ceiling / training is the fraction of the BLAS ceiling the whole training step reaches (target >= 0.75).
 * 2. Peak resident memory of `clreg train` on a 10-task permuted stream, against the program's own
 *    footprint plus the dataset held once as uint8 plus one run's state: tasks are views, so ten tasks must
 *    not cost ten copies. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "bench/bench_common.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/timer.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"

/* The sgemm calls of one training step of a 784-400-400-10 MLP at batch B, as models/mlp.c issues them. */
static void step_gemms(int B, const int *w, int L, float **act, float **dz, float **W, float **dW)
{
    for (int l = 0; l < L; l++) /* forward: act[l+1][B][w[l+1]] = act[l] W[l]^T */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, B, w[l + 1], w[l], 1.0f, act[l], w[l], W[l], w[l],
                    1.0f, act[l + 1], w[l + 1]);
    for (int l = L - 1; l >= 0; l--) {
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, w[l + 1], w[l], B, 1.0f, dz[l + 1], w[l + 1],
                    act[l], w[l], 0.0f, dW[l], w[l]);
        if (l > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, B, w[l], w[l + 1], 1.0f, dz[l + 1], w[l + 1],
                        W[l], w[l], 0.0f, dz[l], w[l]);
    }
}

static double gemm_ceiling(int n, int batch)
{
    enum { L = 3 };
    int w[L + 1] = {784, 400, 400, 10};
    float *act[L + 1], *dz[L + 1], *W[L], *dW[L];
    for (int l = 0; l <= L; l++) {
        act[l] = cl_aligned_calloc((size_t)batch * w[l], sizeof(float));
        dz[l] = cl_aligned_calloc((size_t)batch * w[l], sizeof(float));
        for (size_t i = 0; i < (size_t)batch * w[l]; i++) act[l][i] = dz[l][i] = 0.01f * (float)(i % 7);
    }
    for (int l = 0; l < L; l++) {
        W[l] = cl_aligned_calloc((size_t)w[l] * w[l + 1], sizeof(float));
        dW[l] = cl_aligned_calloc((size_t)w[l] * w[l + 1], sizeof(float));
        for (size_t i = 0; i < (size_t)w[l] * w[l + 1]; i++) W[l][i] = 0.001f * (float)(i % 11);
    }
    step_gemms(batch, w, L, act, dz, W, dW); /* warm up */
    double t0 = cl_now();
    for (int start = 0; start < n; start += batch) step_gemms(n - start < batch ? n - start : batch, w, L, act, dz, W, dW);
    double t = cl_now() - t0;
    for (int l = 0; l <= L; l++) free(act[l]), free(dz[l]);
    for (int l = 0; l < L; l++) free(W[l]), free(dW[l]);
    return t;
}

static int bench_throughput(void)
{
    cl_data d;
    cl_stream s;
    if (bench_fashion_task(&d, &s)) return 1;
    cl_train_cfg tc = cl_train_defaults();
    int hidden[2] = {400, 400};
    double best_train = 1e30, best_gemm = 1e30;
    /* Best of three for both, interleaved, so a noisy neighbour hurts neither side more than the other. */
    for (int rep = 0; rep < 3; rep++) {
        cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
        cl_run run;
        cl_train_stream(m, &s, &tc, &run);
        if (run.train_sec < best_train) best_train = run.train_sec;
        cl_run_free(&run);
        cl_mlp_free(m);
        double g = gemm_ceiling(d.train.n, tc.batch);
        if (g < best_gemm) best_gemm = g;
    }
    double flops = 0;
    int w[4] = {784, 400, 400, 10};
    for (int l = 0; l < 3; l++) flops += 2.0 * w[l] * w[l + 1] * (l ? 3 : 2);
    flops *= d.train.n;
    printf("training epoch, 784-400-400-10, batch %d, %d samples, 1 thread (%s)\n", tc.batch, d.train.n,
           cl_blas_core());
    printf("  sgemm calls alone (BLAS ceiling): %6.2f s  (%.1f GFLOP/s)\n", best_gemm, flops / best_gemm * 1e-9);
    printf("  full training epoch:              %6.2f s  (%.1f GFLOP/s)\n", best_train, flops / best_train * 1e-9);
    printf("  fraction of the BLAS ceiling:     %6.2f   (target >= 0.75)\n", best_gemm / best_train);
    cl_stream_free(&s);
    cl_data_free(&d);
    return 0;
}

static int bench_memory(void)
{
    char *version[] = {"clreg", "--version", NULL};
    char *train[] = {"clreg", "train", "--tasks", "10", "--quiet", "--threads", "1", NULL};
    double base = bench_reap(bench_spawn(version), "clreg --version");
    double peak = bench_reap(bench_spawn(train), "clreg train --tasks 10");
    if (base < 0 || peak < 0) return 1;
    double data = BENCH_DATA_MB, state = bench_run_state_mb(), bound = base + data + state;
    printf("memory, clreg train on 10 permuted Fashion-MNIST tasks\n");
    printf("  peak resident set of the run:     %6.1f MB\n", peak);
    printf("  program and libraries (clreg --version) %.1f MB + dataset once (uint8) %.1f MB + %.1f MB of run "
           "state = %.1f MB: peak / that = %.2f\n", base, data, state, bound, peak / bound);
    printf("  (ten copies of the data, one per task, would be %.0f MB)\n", 10 * data);
    return 0;
}

int main(int argc, char **argv)
{
    cl_blas_startup(argv);
    cl_blas_set_threads(1);
    /* memory first: a forked child's peak starts at this process's resident set, which holds the data once
     * the throughput part has run */
    if (bench_memory()) return 1;
    return bench_throughput();
}
