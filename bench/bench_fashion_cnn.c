/* A small CNN on Fashion-MNIST, clreg's test accuracy against PyTorch's on the same recipe (one thread each).
 *
 * conv16k5, maxpool2, conv32k5, maxpool2, dense128 and a 10-way head (no padding; ReLU after every conv and
 * dense layer), one task of all 10 classes, Adam (lr 1e-3, betas 0.9/0.999, eps 1e-8), batch 128, 2 epochs,
 * inputs x/255 without normalization, each side's default initialization (the same distribution: uniform in
 * +-1/sqrt(fan_in)), seeds 1, 2, 3. clreg runs as a user runs it:
 *
 *     ./clreg train --arch 'conv16k5, maxpool2, conv32k5, maxpool2, dense128' --stream split --tasks 1
 *                   --epochs 2 --threads 1 --seed N
 *
 * and PyTorch as bench/torch/fashion_cnn.py. The seeds draw different initializations and shuffles on the
 * two sides, so single runs differ by chance; what is compared is the mean over the seeds, against the
 * standard error of that difference. A correct implementation of the same recipe lands within it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/bench_common.h"

#define ARCH "conv16k5, maxpool2, conv32k5, maxpool2, dense128"
enum { NSEEDS = 3, EPOCHS = 2, BATCH = 128 };

static void mean_std(const double *v, int n, double *mean, double *std)
{
    double s = 0, ss = 0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    for (int i = 0; i < n; i++) ss += (v[i] - *mean) * (v[i] - *mean);
    *std = n > 1 ? sqrt(ss / (n - 1)) : 0; /* the sample standard deviation, as fashion_cnn.py prints it */
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

    snprintf(cmd, sizeof cmd, "%s bench/torch/fashion_cnn.py --seeds 1,2,3 --epochs %d --batch %d --threads 1",
             BENCH_PYTHON, EPOCHS, BATCH);
    int ok;
    char *out = bench_capture(cmd, &ok);
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
    return clreg_ok && torch_ok ? 0 : 1;
}
