/* The Zenke et al. CIFAR network, clreg against PyTorch and against the BLAS ceiling (one thread, batch 128).
 *
 * The network is models/arch.h's preset zenke-cifar (conv32k3p1, conv32k3p1, maxpool2, conv64k3p1,
 * conv64k3p1, maxpool2, dense512, a 10-way head; ReLU after every conv and dense layer) on CIFAR-shaped
 * random data (3x32x32 uint8 pixels scaled to [0, 1], random labels), held and streamed as clreg holds CIFAR.
 *
 * (a) Training throughput. clreg: one epoch of the training loop itself (cl_train_stream: shuffle, batch
 *     assembly, forward, cross-entropy, backward, Adam) over NTRAIN samples; PyTorch: the same network and
 *     step on random batches (bench/torch/zenke_cifar.py), with glibc's heap kept and with its defaults (see
 *     KEEP_HEAP). All as samples/s, a 50,000-sample CIFAR epoch extrapolated from them. Against clreg, the
 *     same sgemm calls alone on the same shapes (per sample: a conv's forward gemm, its weight-gradient gemm
 *     and, above the first, its input-signal gemm; the dense layers' batched gemms): the fraction of the BLAS
 *     ceiling a whole step reaches, the rest being im2col/col2im, ReLU, pooling, the optimizer and batch
 *     assembly.
 * (b) Exact per-sample importances over the NTRAIN samples, through the regularizers' own end-of-task code
 *     (cl_reg_end_task, what the training loop calls): EWC with the empirical Fisher (fisher=empirical: the
 *     mean of the squared per-sample gradient of log p(true label | x)) and MAS in the paper's form
 *     (norm=l2sq, estimate=per-sample: the mean of |per-sample gradient of ||logits||_2^2|). Each as a
 *     multiple of clreg's training epoch on the same samples (goal: at most 1.5), and against PyTorch's plain
 *     exact method, a loop over single samples (forward, backward, accumulate grad^2 or |grad|), timed on
 *     TORCH_SAMPLES samples and extrapolated to NTRAIN (goal: clreg at least 3x faster). Both sides then
 *     compute the importances of the first TORCH_SAMPLES samples at the same parameters, and the two must
 *     agree: the check that they measure the same quantity. And where clreg's time goes in one batch: an
 *     importance pass is a forward pass, a backward pass for the signals and, per sample, the same weight-
 *     gradient gemm a training step runs once per sample too, so it costs about one training step.
 *
 * Times are process CPU time on both sides (one thread each, so the time spent computing; on a machine shared
 * with other work, wall-clock time would add the time the process waited for a core). They stay noisy all the
 * same (neighbours share the caches and the memory bus): what carries over is the ratios, both sides
 * measured in the same run, one after the other. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench/bench_common.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"
#include "models/arch.h"
#include "models/mlp.h"
#include "regularizers/regint.h"

enum {
    B = 128,              /* batch, both sides: clreg train's default */
    NTRAIN = 10000,       /* samples of clreg's timed epoch and of its importances */
    NTEST = 16,           /* the stream needs a test split; evaluating it twice adds 0.1% to the timed epoch */
    CEIL_STEPS = 12,      /* steps of the sgemm-only ceiling */
    TORCH_STEPS = 40,     /* PyTorch's timed training batches (after 2 untimed) */
    TORCH_SAMPLES = 1000  /* PyTorch's per-sample loops, and the samples both sides' importances are checked on */
};

/* glibc's malloc serves blocks above its mmap threshold from fresh mappings and returns the top of its heap to
 * the kernel once more than a trim threshold is free. PyTorch allocates every step's activations anew (16 MB
 * for one conv layer's output at batch 128) and frees them, so by default each step faults its activation
 * memory in again, page by page: on this network a third or more of its CPU time, most of it in the kernel
 * (page faults are dear on a virtual machine). These tunables keep the heap, which is what PyTorch's
 * performance tuning guide gets by another allocator (jemalloc, TCMalloc); clreg allocates its buffers once.
 * Both are reported: the kept heap compares the arithmetic, the defaults are what a user gets out of the box. */
#define KEEP_HEAP "GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=4294967296"

_Static_assert(TORCH_SAMPLES >= B, "the batch profile runs on the first B of PyTorch's samples");

#define CIFAR_EPOCH 50000.0 /* CIFAR-10's training split, what an epoch means to a user of this network */

/* CPU seconds of this process (its one computing thread) */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* The sgemm calls of one training step in the im2col formulation (models/conv.c now runs its stride-1 layers
 * with cin >= 8 as shifted gemms of the same arithmetic, so this ceiling is a fixed yardstick). */
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

/* Seconds per step of the sgemm calls alone, on buffers as large as the largest operand. */
static double gemm_ceiling(const cl_mlp *m)
{
    size_t big = 0;
    for (int i = 0; i < m->nstem; i++) big = m->stem[i].out_n > big ? m->stem[i].out_n : big;
    big = big * 10 > (size_t)B * 4096 ? big * 10 : (size_t)B * 4096;
    float *col = cl_aligned_calloc(big, sizeof(float)), *tmp = cl_aligned_calloc(big, sizeof(float)),
          *G = cl_aligned_calloc(m->nparams, sizeof(float));
    step_gemms(m, col, tmp, G); /* first touch of the buffers and of BLAS's packing space */
    double t0 = cpu_now();
    for (int s = 0; s < CEIL_STEPS; s++) step_gemms(m, col, tmp, G);
    double t = (cpu_now() - t0) / CEIL_STEPS;
    free(col), free(tmp), free(G);
    return t;
}

/* Where one batch's time goes, in CPU seconds (each the mean of 3 runs), on the batch x, y of B samples:
 * t[0] the forward pass, t[1] the backward pass with parameter gradients after the cross-entropy (a training
 * step but for the optimizer's 0.5%), t[2] the backward pass with signals only and t[3] the per-sample conv
 * gradients of every conv layer (an importance pass but for its dense layers' one gemm each). The parameters
 * stay as they are. */
static void batch_profile(cl_mlp *m, const float *x, const int *y, double t[4])
{
    float *dl = cl_aligned_calloc((size_t)B * m->maxout, sizeof(float)), *om = cl_aligned_calloc(m->nparams, sizeof(float));
    float *G = cl_aligned_calloc(cl_mlp_conv_max(m, NULL), sizeof(float));
    memset(t, 0, 4 * sizeof *t);
    for (int rep = 0; rep < 3; rep++) {
        double c0 = cpu_now();
        cl_mlp_forward(m, x, B, 0);
        double c1 = cpu_now();
        cl_softmax_xent(m->logits, y, B, m->head_out[0], m->head_out[0], dl);
        cl_mlp_backward(m, dl, B, 0, CL_GRAD_SET);
        double c2 = cpu_now();
        cl_mlp_backward(m, dl, B, 0, CL_GRAD_NONE);
        double c3 = cpu_now();
        for (int i = 0; i < m->nstem; i++)
            if (m->stem[i].kind == CL_STEM_CONV)
                cl_conv2d_sample_grads(om + m->stem[i].w, om + m->stem[i].b, m->stem[i].dout, m->stem[i].in, B,
                                       &m->stem[i].conv, 1, 1.0f / B, NULL, m->col, G);
        double c4 = cpu_now();
        t[0] += (c1 - c0) / 3, t[1] += (c2 - c1) / 3, t[2] += (c3 - c2) / 3, t[3] += (c4 - c3) / 3;
    }
    free(dl), free(om), free(G);
}

/* CIFAR-shaped random data held as clreg holds CIFAR: uint8 pixels, channel-planar, labels 0..9. */
static void random_split(cl_dataset *d, const char *name, int n, cl_rng *r)
{
    snprintf(d->name, sizeof d->name, "%s", name);
    d->n = n, d->channels = 3, d->rows = 32, d->cols = 32, d->dim = 3 * 32 * 32, d->nclasses = 10;
    d->byte_valued = 1;
    d->pix = cl_malloc((size_t)n * d->dim);
    d->labels = cl_malloc(sizeof *d->labels * n);
    for (size_t i = 0; i < (size_t)n * d->dim; i++) d->pix[i] = (uint8_t)cl_rng_below(r, 256);
    for (int i = 0; i < n; i++) d->labels[i] = (int32_t)cl_rng_below(r, 10);
}

/* The method's importances over the first n samples of the stream's task (0: all), computed the way the
 * training loop does at the end of a task; the total Omega into omega (if given). Seconds, or -1. */
static double importance(cl_mlp *m, const cl_stream *s, const char *method, const char *p1, const char *p2, int n,
                         float *omega)
{
    char samples[32];
    snprintf(samples, sizeof samples, "samples=%d", n);
    const char *params[3] = {p1, p2, samples};
    int np = 0;
    for (int i = 0; i < 3; i++)
        if (params[i]) params[np++] = params[i];
    cl_reg *r = cl_reg_create(method, params, np, m);
    if (!r) return -1;
    cl_rng rng;
    cl_rng_seed(&rng, 1, cl_hash_str("importance"));
    cl_task_view v = {.stream = s, .task = 0, .nsamples = r->samples, .rng = &rng};
    double t0 = cpu_now();
    int rc = cl_reg_end_task(r, m, &v);
    double t = cpu_now() - t0;
    if (rc == 0 && omega) cl_reg_importance(r, omega);
    cl_reg_free(r);
    return rc ? -1 : t;
}

/* n floats of dir/name into a new buffer; NULL if the file is missing or of another size. */
static float *read_floats(const char *dir, const char *name, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    float *p = cl_malloc(sizeof(float) * (n + 1));
    size_t got = f ? fread(p, sizeof(float), n + 1, f) : 0;
    if (f) fclose(f);
    if (got != n) {
        fprintf(stderr, "bench: %s: expected %zu floats, read %zu\n", path, n, got);
        free(p);
        return NULL;
    }
    return p;
}

/* How far PyTorch's importances are from clreg's: ||a - b||_2 / ||b||_2, and the largest |a_i - b_i| over the
 * largest |b_i|. */
static void compare(const float *a, const float *b, size_t n, double *rel_l2, double *rel_max)
{
    double d2 = 0, b2 = 0, dmax = 0, bmax = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        d2 += d * d, b2 += (double)b[i] * b[i];
        dmax = fabs(d) > dmax ? fabs(d) : dmax;
        bmax = fabs(b[i]) > bmax ? fabs(b[i]) : bmax;
    }
    *rel_l2 = b2 > 0 ? sqrt(d2 / b2) : sqrt(d2);
    *rel_max = bmax > 0 ? dmax / bmax : dmax;
}

static void remove_dir(const char *dir)
{
    static const char *const names[] = {"params.f32", "x.f32", "y.i32", "torch_ewc.f32", "torch_mas.f32", NULL};
    bench_remove(dir, names);
}

int main(int argc, char **argv)
{
    (void)argc;
    cl_blas_startup(argv);
    cl_blas_set_threads(1);

    cl_data d;
    memset(&d, 0, sizeof d);
    cl_rng r;
    cl_rng_seed(&r, 1, cl_hash_str("bench_conv/data"));
    random_split(&d.train, "random-cifar/train", NTRAIN, &r);
    random_split(&d.test, "random-cifar/test", NTEST, &r);
    snprintf(d.origin, sizeof d.origin, "generated: uniform random 3x32x32 pixels and labels");
    cl_stream s;
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 1;
    cl_arch a;
    if (cl_stream_create(&s, &d, &sc) || cl_arch_parse(&a, "zenke-cifar", "bench")) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    cl_train_cfg tc = cl_train_defaults(); /* batch 128, Adam lr 1e-3, one epoch */
    tc.eval_batch = cl_eval_batch(&a, tc.batch);
    cl_mlp *m = cl_model_for_stream(&s, &a, &tc); /* as clreg train builds it */
    if (!m) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    printf("bench_conv: zenke-cifar (conv32k3p1 x2, maxpool2, conv64k3p1 x2, maxpool2, dense512, 10 outputs; %zu "
           "parameters) on CIFAR-shaped random data (3x32x32), batch %d, Adam, one thread; OpenBLAS kernel %s; "
           "times are process CPU time\n",
           bench_pack(m, m->params, NULL), B, cl_blas_core());
    fflush(stdout);

    /* (a) clreg: one epoch of the training loop, then the ceiling */
    cl_run run;
    double t0 = cpu_now();
    if (cl_train_stream(m, &s, &tc, &run)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    double epoch = cpu_now() - t0, ceil = gemm_ceiling(m);
    cl_run_free(&run);

    /* (b) clreg: the importances over the epoch's samples, then over PyTorch's samples to compare */
    double t_ewc = importance(m, &s, "ewc", "fisher=empirical", NULL, 0, NULL);
    double t_mas = importance(m, &s, "mas", "norm=l2sq", "estimate=per-sample", 0, NULL);
    float *ewc = cl_aligned_calloc(m->nparams, sizeof(float)), *mas = cl_aligned_calloc(m->nparams, sizeof(float));
    if (t_ewc < 0 || t_mas < 0 || importance(m, &s, "ewc", "fisher=empirical", NULL, TORCH_SAMPLES, ewc) < 0 ||
        importance(m, &s, "mas", "norm=l2sq", "estimate=per-sample", TORCH_SAMPLES, mas) < 0) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }

    /* PyTorch: clreg's parameters and its first TORCH_SAMPLES inputs, as the stream assembles them */
    char dir[] = "/tmp/clreg-bench-conv-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench: mkdtemp");
        return 1;
    }
    float *x = cl_aligned_calloc((size_t)TORCH_SAMPLES * s.input_dim, sizeof(float));
    int *y = cl_malloc(sizeof(int) * TORCH_SAMPLES), *pos = cl_malloc(sizeof(int) * TORCH_SAMPLES);
    for (int i = 0; i < TORCH_SAMPLES; i++) pos[i] = i;
    cl_stream_batch(&s, 0, 0, pos, TORCH_SAMPLES, x, y);
    double prof[4];
    batch_profile(m, x, y, prof);
    int32_t *y32 = cl_malloc(sizeof(int32_t) * TORCH_SAMPLES);
    for (int i = 0; i < TORCH_SAMPLES; i++) y32[i] = y[i];
    size_t np = bench_pack(m, m->params, NULL);
    float *packed = cl_malloc(sizeof(float) * np);
    bench_pack(m, m->params, packed);
    if (bench_write(dir, "params.f32", packed, sizeof(float), np) ||
        bench_write(dir, "x.f32", x, sizeof(float), (size_t)TORCH_SAMPLES * s.input_dim) ||
        bench_write(dir, "y.i32", y32, sizeof(int32_t), TORCH_SAMPLES)) {
        remove_dir(dir);
        return 1;
    }
    /* PyTorch twice: with the heap kept (the comparison of the arithmetic, and the importances), then as
     * glibc's allocator runs it by default (training only; see KEEP_HEAP) */
    char cmd[1024], cmd2[1024];
    snprintf(cmd, sizeof cmd, KEEP_HEAP " %s bench/torch/zenke_cifar.py --threads 1 --batch %d --steps %d --state %s "
             "--samples %d", BENCH_PYTHON, B, TORCH_STEPS, dir, TORCH_SAMPLES);
    snprintf(cmd2, sizeof cmd2, "%s bench/torch/zenke_cifar.py --threads 1 --batch %d --steps %d --train-only",
             BENCH_PYTHON, B, TORCH_STEPS);
    int ok, ok2 = 0;
    char *out = bench_capture(cmd, &ok), *out2 = NULL;
    float *tw = NULL, *tm = NULL;
    if (out && ok && bench_value(out, "params") == (double)np) {
        tw = read_floats(dir, "torch_ewc.f32", np);
        tm = read_floats(dir, "torch_mas.f32", np);
        out2 = bench_capture(cmd2, &ok2);
    }
    remove_dir(dir);
    if (!tw || !tm || !out2 || !ok2) {
        fprintf(stderr, "bench: the PyTorch side failed (%s)%s\n", tw && tm ? cmd2 : cmd,
                out && ok && !tw ? ": its network's parameter count differs from clreg's" : "");
        return 1;
    }
    double torch_sps = bench_value(out, "train_samples_per_sec"), torch_n = bench_value(out, "samples");
    double def_sps = bench_value(out2, "train_samples_per_sec"), def_sys = bench_value(out2, "train_system_share");
    double torch_ewc = bench_value(out, "ewc_sec") * NTRAIN / torch_n, torch_mas = bench_value(out, "mas_sec") * NTRAIN / torch_n;
    double ewc_l2, ewc_max, mas_l2, mas_max;
    bench_pack(m, ewc, packed);
    compare(tw, packed, np, &ewc_l2, &ewc_max);
    bench_pack(m, mas, packed);
    compare(tm, packed, np, &mas_l2, &mas_max);
    const char *ver = strstr(out, "debian_version ");

    double sps = NTRAIN / epoch;
    printf("  PyTorch %.*s (Debian python3-torch), torch.set_num_threads(1)\n",
           ver ? (int)strcspn(ver + 15, "\n") : 7, ver ? ver + 15 : "unknown");
    printf("  (a) training; clreg: one epoch of its training loop over %d samples, PyTorch: %d batches after 2 "
           "untimed\n", NTRAIN, TORCH_STEPS);
    printf("      clreg                      %6.1f samples/s   (a 50,000-sample epoch: %5.1f s)\n", sps,
           CIFAR_EPOCH / sps);
    printf("      PyTorch, heap kept         %6.1f samples/s   (a 50,000-sample epoch: %5.1f s)   clreg / PyTorch: "
           "%.2fx\n", torch_sps, CIFAR_EPOCH / torch_sps, sps / torch_sps);
    printf("      PyTorch, glibc's defaults  %6.1f samples/s   (a 50,000-sample epoch: %5.1f s)   clreg / PyTorch: "
           "%.2fx  (%.0f%% of its CPU time in the kernel)\n", def_sps, CIFAR_EPOCH / def_sps, sps / def_sps,
           100 * def_sys);
    printf("      the same sgemm calls alone: %.1f samples/s; clreg's training reaches %.2f of this ceiling\n",
           B / ceil, ceil * NTRAIN / B / epoch);
    printf("  (b) exact per-sample importances over %d samples; clreg's training epoch on them: %.1f s; PyTorch's "
           "loop over single samples (heap kept) timed on %.0f and extrapolated x%.0f\n", NTRAIN, epoch, torch_n,
           NTRAIN / torch_n);
    printf("      EWC, empirical Fisher: clreg %6.1f s = %.2f epochs (goal <= 1.5); PyTorch %6.1f s: clreg %.2fx "
           "faster (goal >= 3)\n", t_ewc, t_ewc / epoch, torch_ewc, torch_ewc / t_ewc);
    printf("      MAS, ||logits||^2:     clreg %6.1f s = %.2f epochs (goal <= 1.5); PyTorch %6.1f s: clreg %.2fx "
           "faster (goal >= 3)\n", t_mas, t_mas / epoch, torch_mas, torch_mas / t_mas);
    printf("      where clreg's time goes, per batch of %d: forward %.0f ms, backward signals %.0f ms, per-sample conv "
           "gradients %.0f ms (an importance pass); forward %.0f ms, backward with parameter gradients %.0f ms (a "
           "training step)\n", B, prof[0] * 1e3, prof[2] * 1e3, prof[3] * 1e3, prof[0] * 1e3, prof[1] * 1e3);
    printf("      the same quantity: on the first %d samples at the same parameters, PyTorch's importances differ "
           "from clreg's by %.1e (EWC) and %.1e (MAS) in L2 norm, relative; largest entry %.1e and %.1e of the "
           "largest importance\n", TORCH_SAMPLES, ewc_l2, mas_l2, ewc_max, mas_max);
    /* float32 sums over a thousand samples in another order differ by about 1e-6 relative; a different
     * quantity (the batch gradient squared, another norm, another loss) differs by far more than 1e-3. */
    int same = ewc_l2 < 1e-3 && mas_l2 < 1e-3;
    if (!same) fprintf(stderr, "bench: clreg's and PyTorch's importances disagree\n");

    free(out), free(out2), free(tw), free(tm), free(packed), free(ewc), free(mas), free(x), free(y), free(y32), free(pos);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&d);
    return same ? 0 : 1;
}
