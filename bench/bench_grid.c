/* Grid throughput and memory.
 *
 * 1. Cells per minute of a small grid (8 cells: 2-task permuted Fashion-MNIST, MLP 784-256-10) with -j 1
 *    and -j 2, and the speedup (target >= 1.8x on two cores).
 * 2. Peak resident memory of a 2-thread grid of 2 cells on 10 permuted tasks, against one copy of the
 *    dataset (uint8) plus the per-cell model state: the data is shared, never copied per cell or task. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/timer.h"

static int run(const char *grid, const char *out, const char *threads, double *sec)
{
    double t0 = cl_now();
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execl("./clreg", "clreg", "run", grid, "-o", out, "-j", threads, "--fresh", "--quiet", (char *)NULL);
        _exit(127);
    }
    int st;
    waitpid(pid, &st, 0);
    *sec = cl_now() - t0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: clreg run %s -j %s failed\n", grid, threads);
        return -1;
    }
    return 0;
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

int main(void)
{
    char dir[] = "/tmp/clreg-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char small[256], big[256], out[256];
    snprintf(small, sizeof small, "%s/small.ini", dir);
    snprintf(big, sizeof big, "%s/big.ini", dir);
    snprintf(out, sizeof out, "%s/out", dir);
    write_file(small, "[experiment]\ntasks = 2\nhidden = 256\nseeds = 2\neval = task\nimportance_samples = 2000\n"
                      "[none]\n[l2]\n[mas]\n[si]\n");
    write_file(big, "[experiment]\ntasks = 10\nseeds = 2\neval = task\n[none]\n");

    double t1, t2;
    if (run(small, out, "1", &t1) || run(small, out, "2", &t2)) return 1;
    printf("grid of 8 cells (2 permuted Fashion-MNIST tasks, MLP 784-256-10, 1 epoch each)\n");
    printf("  -j 1: %6.1f s  %5.1f cells/min\n", t1, 8 * 60.0 / t1);
    printf("  -j 2: %6.1f s  %5.1f cells/min\n", t2, 8 * 60.0 / t2);
    printf("  speedup on two threads: %.2fx (target >= 1.8x)\n", t1 / t2);

    double tb;
    if (run(big, out, "2", &tb)) return 1;
    struct rusage ru;
    getrusage(RUSAGE_CHILDREN, &ru); /* the largest child so far: the 10-task grid */
    double peak = ru.ru_maxrss * 1024.0 / 1e6, data = 70000.0 * 784 / 1e6;
    /* per cell: parameters, gradients and Adam's two moments (4 x 478,416 floats), the activations of a
     * 1,000-sample evaluation batch (input, 2 hidden layers, logits, backward signals) */
    double model = 4 * 478416 * 4 / 1e6 + 1000.0 * (784 + 2 * 400 * 2 + 10) * 4 / 1e6;
    printf("grid of 2 cells on 10 permuted tasks, -j 2 (%.0f s)\n", tb);
    printf("  peak resident set: %.1f MB; dataset once (uint8) %.1f MB + 2 cells x %.1f MB of model state = %.1f MB, "
           "the rest is the BLAS and OpenMP runtimes and buffers\n", peak, data, model, data + 2 * model);
    printf("  (a copy of the data per task would be %.0f MB, per cell %.0f MB)\n", 10 * data, 2 * data);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", dir);
    return 0;
}
