/* Helpers shared by the test programs (header-only so each test stays one file). */
#ifndef CLREG_TESTUTIL_H
#define CLREG_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

/* A fresh temporary directory for one test; removed by tu_rmdir. */
static inline char *tu_mkdtemp(void)
{
    char *d = strdup("/tmp/clreg-test-XXXXXX");
    if (!mkdtemp(d)) { perror("mkdtemp"); abort(); }
    return d;
}

static inline void tu_rmdir(char *d)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", d);
    free(d);
}

static inline void tu_write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) { perror(path); abort(); }
    if (n && fwrite(data, 1, n, f) != n) { perror(path); abort(); }
    fclose(f);
}

/* Run the clreg binary under test ($CLREG_BIN) with a shell argument string, after the shell variable
 * assignments in env ("" for none, else e.g. "OPENBLAS_CORETYPE=PRESCOTT"); capture stdout+stderr into
 * out (NUL-terminated, truncated to cap) and return the exit status (-1 if it died from a signal). */
static inline int tu_run_clreg_env(const char *env, const char *args, char *out, size_t cap)
{
    const char *bin = getenv("CLREG_BIN");
    if (!bin) bin = "./clreg";
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "%s %s %s 2>&1", env, bin, args);
    FILE *p = popen(cmd, "r");
    if (!p) { perror("popen"); abort(); }
    size_t len = 0, r;
    while (len + 1 < cap && (r = fread(out + len, 1, cap - 1 - len, p)) > 0) len += r;
    out[len] = 0;
    char sink[256];
    while (fread(sink, 1, sizeof sink, p) > 0) {}
    int st = pclose(p);
    if (WIFEXITED(st)) return WEXITSTATUS(st);
    return -1;
}

static inline int tu_run_clreg(const char *args, char *out, size_t cap)
{
    return tu_run_clreg_env("", args, out, cap);
}

/* Count lines of text (for "exactly one message" checks). */
static inline int tu_count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++) n += *s == '\n';
    return n;
}

#endif
