#include "core/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static _Thread_local char errbuf[1024];

/* Copy src into errbuf with every byte that is not printable UTF-8 written as \n, \r, \t or \xNN
 * (cl_escape_char). Messages quote what users give (names, cells, keys), and a binary file or a terminal
 * escape sequence must neither split the one-line message nor reach the terminal. Cut at the buffer's end
 * between whole characters. */
static void set_escaped(const char *src)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, cap = sizeof errbuf - 1;
    while (*s) {
        char one[8];
        size_t used, n = cl_escape_char(one, s, &used);
        if (o + n > cap) break;
        memcpy(errbuf + o, one, n);
        o += n;
        s += used;
    }
    errbuf[o] = 0;
}

int cl_fail(const char *fmt, ...)
{
    char msg[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_escaped(msg);
    return -1;
}

int cl_fail_prefix(const char *fmt, ...)
{
    char prefix[512], old[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, errbuf, sizeof old);
    /* Assemble by hand: the result is cut to the buffer, which is fine for a message. */
    size_t np = strlen(prefix), no = strlen(old), cap = sizeof errbuf - 1;
    if (np > cap) np = cap;
    memcpy(errbuf, prefix, np);
    size_t len = np;
    if (len + 2 <= cap) {
        memcpy(errbuf + len, ": ", 2);
        len += 2;
    }
    if (no > cap - len) no = cap - len;
    memcpy(errbuf + len, old, no);
    errbuf[len + no] = 0;
    memcpy(old, errbuf, sizeof old);
    set_escaped(old); /* the prefix may quote user text too */
    return -1;
}

const char *cl_errmsg(void) { return errbuf; }

/* ---- checked allocation -------------------------------------------------------------------------------- */

/* One line and exit status 1. _exit, not exit: the failing thread may be one of several running cells, and
 * exit's handlers (OpenBLAS's and OpenMP's destructors) must not run under threads still inside them. The
 * results a grid wrote are whole rows already (write(2) per cell), and stdout is flushed first. */
static void oom(size_t count, size_t size)
{
    char msg[256];
    double bytes = (double)count * (double)size;
    int len = snprintf(msg, sizeof msg,
                       "clreg: out of memory: could not allocate %.0f bytes (%.1f MB); the machine or its limits "
                       "(ulimit -v, cgroup memory.max) leave too little for this run\n",
                       bytes, bytes / 1e6);
    fflush(stdout);
    if (write(2, msg, (size_t)len) < 0) { /* nothing more to do */
    }
    _exit(1);
}

void *cl_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n, 1);
    return p;
}

void *cl_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p) oom(count, size);
    return p;
}

void *cl_realloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n, 1);
    return q;
}

char *cl_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = cl_malloc(n);
    memcpy(d, s, n);
    return d;
}

void *cl_aligned_calloc(size_t count, size_t size)
{
    if (size && count > (SIZE_MAX - 64) / size) oom(count, size); /* the product would wrap */
    size_t n = count * size;
    size_t rounded = (n + 63) / 64 * 64;
    void *p = aligned_alloc(64, rounded ? rounded : 64);
    if (!p) oom(count, size);
    memset(p, 0, rounded ? rounded : 64);
    return p;
}
