/* What the benchmarks share: Fashion-MNIST as a one-task stream (the plain data), the shape every
 * throughput number in the README is measured on, running ./clreg as a child to time it and read its
 * peak memory, and running the PyTorch side of a comparison (bench/torch/) and reading what it prints. */
#ifndef CLREG_BENCH_COMMON_H
#define CLREG_BENCH_COMMON_H

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "models/mlp.h"

static inline int bench_fashion_task(cl_data *d, cl_stream *s)
{
    if (cl_data_open(d, "fashion-mnist", NULL, 1)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return -1;
    }
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 1;
    if (cl_stream_create(s, d, &sc)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        cl_data_free(d);
        return -1;
    }
    return 0;
}

/* Start ./clreg with ARGS (args[0] is "clreg"), its output discarded. */
static inline pid_t bench_spawn(char *const args[])
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2);
        execv("./clreg", args);
        _exit(127);
    }
    return pid;
}

/* Wait for one child started by bench_spawn; its own peak resident set in MB, or -1 if it failed.
 * wait4 gives this child's figure, where getrusage(RUSAGE_CHILDREN) gives the largest of all children.
 * A forked child's peak starts at the parent's resident set at the fork, so a benchmark measures memory
 * before it loads anything itself. */
static inline double bench_reap(pid_t pid, const char *what)
{
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: %s failed\n", what);
        return -1;
    }
    return ru.ru_maxrss * 1024.0 / 1e6;
}

/* Fashion-MNIST held once as uint8: 70,000 images of 784 pixels. */
#define BENCH_DATA_MB (70000.0 * 784 / 1e6)

/* The state one run of the default 784-400-400-10 MLP holds, in MB: parameters, gradients and Adam's two
 * moments (4 x 478,416 floats); the activations of a 1,000-sample evaluation batch (input, 2 hidden layers
 * and their backward signals, logits); one 128-sample training batch and its epoch's shuffled order; the
 * BLAS packing buffer of its thread (the Zen kernel packs 384 x 1,000 floats for the evaluation gemm). */
static inline double bench_run_state_mb(void)
{
    return (4 * 478416.0 + 1000.0 * (784 + 2 * 400 * 2 + 10) + 128.0 * 784 + 60000 + 384.0 * 1000) * 4 / 1e6;
}

/* Debian's interpreter, where `make bench` installs python3-torch: the python3 first on PATH may be another
 * build (pyenv's, say) that does not see Debian's packages. */
#define BENCH_PYTHON "/usr/bin/python3"

/* Run a shell command and return its standard output, whole and NUL-terminated (its standard error passes
 * through to ours, unless the command redirects it); *ok says whether it exited with status 0. NULL when it
 * could not start. Free the result. */
static inline char *bench_capture(const char *cmd, int *ok)
{
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    if (!p) return NULL;
    size_t len = 0, cap = 4096;
    char *out = cl_malloc(cap);
    for (size_t got; (got = fread(out + len, 1, cap - len - 1, p)) > 0;) {
        len += got;
        if (cap - len < 2) out = cl_realloc(out, cap *= 2);
    }
    out[len] = 0;
    int st = pclose(p);
    *ok = st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
    return out;
}

/* The number after `key` on the first line of out that starts with "key " (the scripts under bench/torch/
 * print one "key value" pair a line); NAN when there is none. */
static inline double bench_value(const char *out, const char *key)
{
    size_t n = strlen(key);
    for (const char *line = out; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, n) == 0 && line[n] == ' ') return strtod(line + n + 1, NULL);
    return NAN;
}

/* The parameters (or importances) of a flat buffer, packed in PyTorch's order: each conv layer's weight then
 * its bias, then each dense layer's and the head's. The flat buffer starts every weight on a cache line
 * (models/mlp.c), so it holds a few floats of padding that PyTorch's parameters do not. Returns the count. */
static inline size_t bench_pack(const cl_mlp *m, const float *flat, float *out)
{
    size_t n = 0;
    for (int i = 0; i < m->nstem; i++) {
        const cl_stem *st = &m->stem[i];
        if (st->kind != CL_STEM_CONV) continue;
        size_t nw = (size_t)st->conv.cout * st->conv.cin * st->conv.k * st->conv.k;
        if (out) {
            memcpy(out + n, flat + st->w, sizeof(float) * nw);
            memcpy(out + n + nw, flat + st->b, sizeof(float) * st->conv.cout);
        }
        n += nw + st->conv.cout;
    }
    for (int l = 0; l <= m->nhidden; l++) { /* the trunk's dense layers, then head 0 (the benchmarks have one) */
        const cl_linear *L = &m->layer[l];
        size_t nw = (size_t)L->out * L->in;
        if (out) {
            memcpy(out + n, flat + L->w, sizeof(float) * nw);
            memcpy(out + n + nw, flat + L->b, sizeof(float) * L->out);
        }
        n += nw + L->out;
    }
    return n;
}

/* n items of `size` bytes into dir/name; -1 with a message. */
static inline int bench_write(const char *dir, const char *name, const void *p, size_t size, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(p, size, n, f) == n;
    if (f && fclose(f)) ok = 0;
    if (!ok) fprintf(stderr, "bench: cannot write %s\n", path);
    return ok ? 0 : -1;
}

/* Remove the files of a NULL-terminated list from dir, then dir. */
static inline void bench_remove(const char *dir, const char *const *names)
{
    char path[512];
    for (int i = 0; names[i]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

#endif
