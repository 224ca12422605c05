/* Grid throughput and memory.
 *
 * 1. Cells per minute of a small grid (8 cells: 2-task permuted Fashion-MNIST, MLP 784-256-10) with -j 1
 *    and -j 2, and the speedup (target >= 1.8x on two cores). Two cores of a machine do not make twice one
 *    core: the cells share the last-level cache and memory bandwidth. So the same run also measures the
 *    machine's own ceiling, two independent single-thread processes running the same grid at once, and
 *    reports the runner's speedup as a fraction of it. Each timing is the best of three rounds, as the
 *    machine is shared and noisy.
 * 2. Peak resident memory of a 2-thread grid of 2 cells on 10 permuted tasks, against the program's own
 *    footprint (code and libraries), plus one copy of the dataset (uint8), plus the per-cell state: the
 *    data is shared, never copied per cell or task. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "core/timer.h"

static int run(const char *grid, const char *out, const char *threads, double *sec, double *peak_mb)
{
    char *args[] = {"clreg", "run", (char *)grid, "-o", (char *)out, "-j", (char *)threads, "--fresh", "--quiet", NULL};
    double t0 = cl_now(), peak = bench_reap(bench_spawn(args), grid);
    *sec = cl_now() - t0;
    if (peak_mb) *peak_mb = peak;
    return peak < 0 ? -1 : 0;
}

/* Two -j 1 runs of the same grid at once, into two result directories. */
static int run_pair(const char *grid, const char *out_a, const char *out_b, double *sec)
{
    char *a[] = {"clreg", "run", (char *)grid, "-o", (char *)out_a, "-j", "1", "--fresh", "--quiet", NULL};
    char *b[] = {"clreg", "run", (char *)grid, "-o", (char *)out_b, "-j", "1", "--fresh", "--quiet", NULL};
    double t0 = cl_now();
    pid_t pa = bench_spawn(a), pb = bench_spawn(b);
    double ra = bench_reap(pa, "first of two concurrent runs"), rb = bench_reap(pb, "second of two concurrent runs");
    *sec = cl_now() - t0;
    return ra < 0 || rb < 0 ? -1 : 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

static double min2(double a, double b) { return a < b ? a : b; }

int main(void)
{
    char dir[] = "/tmp/clreg-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char small[256], big[256], out[256], out_b[256];
    snprintf(small, sizeof small, "%s/small.ini", dir);
    snprintf(big, sizeof big, "%s/big.ini", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(out_b, sizeof out_b, "%s/out_b", dir);
    write_file(small, "[experiment]\ntasks = 2\nhidden = 256\nseeds = 2\neval = task\nimportance_samples = 2000\n"
                      "[none]\n[l2]\n[mas]\n[si]\n");
    write_file(big, "[experiment]\ntasks = 10\nseeds = 2\neval = task\n[none]\n");

    printf("grid of 8 cells (2 permuted Fashion-MNIST tasks, MLP 784-256-10, 1 epoch each), best of 3 rounds\n");
    double t1 = 1e30, t2 = 1e30, tp = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        double a, b, c;
        if (run(small, out, "1", &a, NULL) || run(small, out, "2", &b, NULL) || run_pair(small, out, out_b, &c))
            return 1;
        printf("  round %d: -j 1 %.1f s, -j 2 %.1f s, two -j 1 at once %.1f s\n", rep + 1, a, b, c);
        fflush(stdout);
        t1 = min2(t1, a), t2 = min2(t2, b), tp = min2(tp, c);
    }
    double speedup = t1 / t2, ceiling = 2 * t1 / tp;
    printf("  -j 1: %6.1f s  %5.1f cells/min\n", t1, 8 * 60.0 / t1);
    printf("  -j 2: %6.1f s  %5.1f cells/min\n", t2, 8 * 60.0 / t2);
    printf("  speedup on two threads: %.2fx (target >= 1.8x)\n", speedup);
    printf("  ceiling: two independent -j 1 runs at once, %.1f s for 16 cells: %.2fx\n", tp, ceiling);
    printf("  the runner reaches %.2f of the machine's ceiling\n", speedup / ceiling);

    char *version[] = {"clreg", "version", NULL};
    double base = bench_reap(bench_spawn(version), "clreg version"), tb, peak;
    if (base < 0 || run(big, out, "2", &tb, &peak)) return 1;
    double data = BENCH_DATA_MB, state = bench_run_state_mb(), bound = base + data + 2 * state;
    printf("grid of 2 cells on 10 permuted tasks, -j 2 (%.0f s)\n", tb);
    printf("  peak resident set: %.1f MB\n", peak);
    printf("  program and libraries (clreg version) %.1f MB + dataset once (uint8) %.1f MB + 2 cells x %.1f MB of "
           "state = %.1f MB: peak / that = %.2f\n", base, data, state, bound, peak / bound);
    printf("  (a copy of the data per task would be %.0f MB, per cell %.0f MB)\n", 10 * data, 2 * data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", dir);
    return 0;
}
