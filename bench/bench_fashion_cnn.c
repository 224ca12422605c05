/* A small CNN on Fashion-MNIST, clreg's test accuracy against PyTorch's on the same recipe (one thread each).
 *
 * conv16k5, maxpool2, conv32k5, maxpool2, dense128 and a 10-way head (no padding; ReLU after every conv and
 * dense layer), one task of all 10 classes, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), batch 128, 2 epochs,
 * inputs x/255 without normalization, each side's default initialization (the same distribution: uniform in
 * +-1/sqrt(fan_in)), seeds 1 to 9 (three seeds' means differ by their standard error of about 0.3 points
 * alone, as much as the difference the comparison is after). clreg runs as a user runs it:
 *
 *     ./clreg train --arch 'conv16k5, maxpool2, conv32k5, maxpool2, dense128' --stream split --tasks 1
 *                   --epochs 2 --threads 1 --seed N
 *
 * and PyTorch as bench/torch/fashion_cnn.py. The seeds draw different initializations and shuffles on the
 * two sides, so single runs differ by chance: three seeds' means differ by about their standard error, and
 * now and then by several (measured over seeds 1-9: a spread of 0.005 from seed to seed on both sides). So
 * PyTorch also trains once from exactly where clreg's seed-1 run starts, its initial parameters, with
 * exactly its batches in its order: that run differs from clreg's only by the arithmetic (float sums in
 * another order; Adam's steps amplify them, so the parameters drift apart, but not the way two seeds do).
 * Its accuracy comes out much closer to clreg's than the seeds' spread (measured: 0.8483 against 0.8480).
 *
 * The batch order is rebuilt here as experiments/train.c's train_epoch draws it (the stream "shuffle", keyed
 * by the task and the epoch); should that change, the paired line says so by differing like two seeds. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"
#include "core/error.h"
#include "core/rng.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"
#include "models/arch.h"

#define ARCH "conv16k5, maxpool2, conv32k5, maxpool2, dense128"
enum { NSEEDS = 9, EPOCHS = 2, BATCH = 128 };

static void mean_std(const double *v, int n, double *mean, double *std)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (v[i] - *mean) * (v[i] - *mean);
    *std = n > 1 ? sqrt(ss / (n - 1)) : 0; /* the sample standard deviation, as fashion_cnn.py prints it */
}

/* Where `clreg train --arch ARCH --stream split --tasks 1 --epochs EPOCHS --seed 1` starts: its initial
 * parameters (dir/init.f32, in PyTorch's order) and the training images of each epoch in the order its
 * training loop takes them (dir/order.i32). */
static int write_start(const char *dir)
{
    cl_data d;
    cl_stream s;
    cl_arch a;
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT, sc.ntasks = 1, sc.seed = 1;
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = EPOCHS, tc.batch = BATCH, tc.seed = 1;
    if (cl_data_open(&d, "fashion-mnist", NULL, 1)) return -1;
    if (cl_stream_create(&s, &d, &sc)) {
        cl_data_free(&d);
        return -1;
    }
    cl_mlp *m = NULL;
    const cl_task *t = &s.task[0];
    int rc = -1, n = t->ntrain;
    int *order = cl_malloc(sizeof(int) * (size_t)n * EPOCHS);
    float *init = NULL;
    if (cl_arch_parse(&a, ARCH, "bench")) goto done;
    tc.eval_batch = cl_eval_batch(&a, tc.batch);
    if (!(m = cl_model_for_stream(&s, &a, &tc))) goto done;
    for (int e = 0; e < EPOCHS; e++) {
        int *o = order + (size_t)e * n;
        cl_rng r;
        cl_rng_seed(&r, tc.seed, cl_hash_mix(cl_hash_mix(cl_hash_str("shuffle"), (uint64_t)t->id), (uint64_t)e));
        for (int i = 0; i < n; i++) o[i] = i;
        cl_rng_shuffle(&r, o, n);
        for (int i = 0; i < n; i++) {
            o[i] = t->train_idx ? t->train_idx[o[i]] : o[i]; /* position in the task -> image of the dataset */
            if (t->label_map[d.train.labels[o[i]]] != d.train.labels[o[i]]) {
                cl_fail("the task's output units are not the dataset's labels");
                goto done;
            }
        }
    }
    size_t np = bench_pack(m, m->params, NULL);
    init = cl_malloc(sizeof(float) * np);
    bench_pack(m, m->params, init);
    rc = bench_write(dir, "init.f32", init, sizeof(float), np) ||
                 bench_write(dir, "order.i32", order, sizeof(int), (size_t)n * EPOCHS)
             ? cl_fail("cannot write the start files")
             : 0;
done:
    free(order), free(init);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&d);
    return rc;
}

/* The last line of a command's output that says anything, for a failure message. */
static void print_last_line(const char *out)
{
    const char *end = out + strlen(out);
    while (end > out && (end[-1] == '\n' || end[-1] == ' ')) end--;
    const char *start = end;
    while (start > out && start[-1] != '\n') start--;
    fprintf(stderr, "    %.*s\n", (int)(end - start), start);
}

int main(void)
{
    double acc_c[NSEEDS], acc_t[NSEEDS], sec_c[NSEEDS], sec_t[NSEEDS];
    for (int i = 0; i < NSEEDS; i++) acc_c[i] = acc_t[i] = sec_c[i] = sec_t[i] = NAN;
    int clreg_ok = 1, torch_ok = 1;
    char cmd[1024];

    printf("bench_fashion_cnn: %s, 10-way head, on Fashion-MNIST: one task of 10 classes, Adam lr 1e-3, batch %d, "
           "%d epochs, inputs x/255, one thread; seeds 1..%d\n", ARCH, BATCH, EPOCHS, NSEEDS);
    fflush(stdout);
    for (int i = 0; i < NSEEDS && clreg_ok; i++) {
        snprintf(cmd, sizeof cmd, "./clreg train --arch '%s' --stream split --tasks 1 --epochs %d --batch %d "
                 "--threads 1 --seed %d 2>&1", ARCH, EPOCHS, BATCH, i + 1);
        int ok;
        char *out = bench_capture(cmd, &ok);
        acc_c[i] = out && ok ? bench_value(out, "ACC") : NAN; /* one task: ACC is its test accuracy */
        const char *t = out ? strstr(out, "time: training ") : NULL;
        sec_c[i] = t ? strtod(t + 15, NULL) : NAN;
        if (isnan(acc_c[i])) {
            clreg_ok = 0;
            fprintf(stderr, "bench: clreg's side failed: %s\n", cmd);
            if (out) print_last_line(out);
        }
        free(out);
    }

    char dir[] = "/tmp/clreg-bench-fashion-XXXXXX";
    static const char *const files[] = {"init.f32", "order.i32", NULL};
    if (!mkdtemp(dir)) {
        perror("bench: mkdtemp");
        return 1;
    }
    if (write_start(dir)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        bench_remove(dir, files);
        return 1;
    }
    char seeds[256] = "";
    for (int i = 0; i < NSEEDS; i++) snprintf(seeds + strlen(seeds), sizeof seeds - strlen(seeds), "%s%d", i ? "," : "", i + 1);
    snprintf(cmd, sizeof cmd, "%s bench/torch/fashion_cnn.py --seeds %s --epochs %d --batch %d --threads 1 "
             "--start %s", BENCH_PYTHON, seeds, EPOCHS, BATCH, dir);
    int ok;
    char *out = bench_capture(cmd, &ok);
    bench_remove(dir, files);
    double same = out && ok ? bench_value(out, "same_start accuracy") : NAN;
    if (isnan(same)) torch_ok = 0;
    for (int i = 0; i < NSEEDS; i++) {
        char key[32];
        snprintf(key, sizeof key, "seed %d accuracy ", i + 1);
        const char *line = out && ok ? strstr(out, key) : NULL;
        char *end = NULL;
        acc_t[i] = line ? strtod(line + strlen(key), &end) : NAN;
        sec_t[i] = end && strncmp(end, " seconds ", 9) == 0 ? strtod(end + 9, NULL) : NAN;
        if (isnan(acc_t[i])) torch_ok = 0;
    }
    if (!torch_ok) fprintf(stderr, "bench: the PyTorch side failed: %s\n", cmd);
    free(out);

    printf("  seed  clreg   PyTorch   training seconds: clreg, PyTorch\n");
    for (int i = 0; i < NSEEDS; i++)
        printf("  %-4d  %.4f  %.4f    %.1f, %.1f\n", i + 1, acc_c[i], acc_t[i], sec_c[i], sec_t[i]);
    double mc, sc, mt, st;
    mean_std(acc_c, NSEEDS, &mc, &sc);
    mean_std(acc_t, NSEEDS, &mt, &st);
    printf("  mean  %.4f +- %.4f (clreg)   %.4f +- %.4f (PyTorch)   (+- the sample standard deviation over the "
           "seeds)\n", mc, sc, mt, st);
    double se = sqrt((sc * sc + st * st) / NSEEDS);
    printf("  clreg - PyTorch: %+.4f; the standard error of that difference over %d seeds: %.4f\n", mc - mt, NSEEDS, se);
    printf("  PyTorch from clreg's seed-1 start (its initial parameters, its batches in its order): %.4f, against "
           "clreg's %.4f: %+.4f\n", same, acc_c[0], acc_c[0] - same);
    return clreg_ok && torch_ok ? 0 : 1;
}
