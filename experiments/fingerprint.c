#include "experiments/fingerprint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"
#include "core/quote.h"
#include "experiments/table.h"

static int crc_file(const char *path, long long *bytes, unsigned long *crc)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cl_fail("%s: cannot open to fingerprint it: %s", path, strerror(errno));
    enum { CHUNK = 1 << 20 };
    unsigned char *buf = cl_malloc(CHUNK);
    uLong c = crc32(0L, Z_NULL, 0);
    long long total = 0;
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = cl_fail("%s: cannot read to fingerprint it: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        c = crc32(c, buf, (uInt)n);
        total += n;
    }
    free(buf);
    close(fd);
    *bytes = total;
    *crc = c;
    return rc;
}

int cl_fingerprint_data(cl_fingerprint *fp, const cl_data *d)
{
    memset(fp, 0, sizeof *fp);
    for (int i = 0; i < d->nfiles; i++) {
        cl_fingerprint_item *it = &fp->item[fp->n];
        char *real = realpath(d->files[i], NULL);
        it->source = real ? cl_strdup(real) : cl_strdup(d->files[i]);
        free(real);
        fp->n++;
        if (crc_file(it->source, &it->bytes, &it->crc)) {
            cl_fingerprint_free(fp);
            return -1;
        }
    }
    if (d->origin[0]) {
        fp->item[fp->n].source = cl_strdup(d->origin);
        fp->item[fp->n].generated = 1;
        fp->n++;
    }
    if (fp->n == 0) return cl_fail("the data record neither the files they came from nor how they were made");
    return 0;
}

int cl_fingerprint_write(const char *dir, const cl_fingerprint *fp)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, CL_FINGERPRINT_FILE);
    cl_buf b = {0};
    cl_buf_printf(&b, "kind,source,bytes,crc32\n");
    for (int i = 0; i < fp->n; i++) {
        const cl_fingerprint_item *it = &fp->item[i];
        cl_buf_str(&b, it->generated ? "generated" : "file");
        cl_buf_str(&b, it->source);
        if (it->generated) cl_buf_printf(&b, ",,");
        else cl_buf_printf(&b, ",%lld,%08lx", it->bytes, it->crc);
        cl_buf_endrow(&b);
    }
    int rc = cl_write_file_atomic(path, b.s, b.len);
    cl_buf_free(&b);
    return rc;
}

int cl_fingerprint_read(const char *dir, cl_fingerprint *fp)
{
    char path[4200];
    memset(fp, 0, sizeof *fp);
    snprintf(path, sizeof path, "%s/%s", dir, CL_FINGERPRINT_FILE);
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT) return 1;
    cl_table t;
    static const char *const req[] = {"kind", "source", "bytes", "crc32", NULL};
    if (cl_table_read(&t, path, req)) return -1;
    int ck = cl_table_col(&t, "kind"), cs = cl_table_col(&t, "source"), cb = cl_table_col(&t, "bytes"),
        cc = cl_table_col(&t, "crc32"), rc = 0;
    if (t.cut_line) rc = cl_fail("%s:%d: the file ends inside a row", path, t.cut_line);
    if (!rc && (t.nrows < 1 || t.nrows > CL_DATA_MAX_FILES + 1))
        rc = cl_fail("%s: %d rows, expected 1 to %d", path, t.nrows, CL_DATA_MAX_FILES + 1);
    for (int r = 0; r < t.nrows && !rc; r++) {
        cl_fingerprint_item *it = &fp->item[r];
        it->generated = strcmp(t.cells[r][ck], "generated") == 0;
        if (!it->generated && strcmp(t.cells[r][ck], "file") != 0) {
            rc = cl_fail("%s:%d: kind: expected file or generated", path, t.lines[r]);
            break;
        }
        if (!it->generated) {
            char *e1, *e2;
            errno = 0;
            it->bytes = strtoll(t.cells[r][cb], &e1, 10);
            it->crc = strtoul(t.cells[r][cc], &e2, 16);
            if (errno || e1 == t.cells[r][cb] || *e1 || e2 == t.cells[r][cc] || *e2 || it->bytes < 0) {
                rc = cl_fail("%s:%d: expected a size in bytes and a hexadecimal crc32", path, t.lines[r]);
                break;
            }
        }
        it->source = cl_strdup(t.cells[r][cs]);
        fp->n++;
    }
    cl_table_free(&t);
    if (rc) cl_fingerprint_free(fp);
    return rc;
}

static const char *base(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

static void describe_item(char *out, size_t n, const cl_fingerprint_item *it)
{
    char q[400];
    if (it->generated) snprintf(out, n, "'%s'", cl_quote_n(q, sizeof q, it->source, 90));
    else
        snprintf(out, n, "%s with %lld bytes, crc32 0x%08lx", cl_quote_n(q, sizeof q, it->source, 90), it->bytes, it->crc);
}

int cl_fingerprint_compare(const cl_fingerprint *was, const cl_fingerprint *now)
{
    char a[512], b[512];
    int same_kinds = was->n == now->n;
    for (int i = 0; i < was->n && same_kinds; i++) same_kinds = was->item[i].generated == now->item[i].generated;
    if (!same_kinds) {
        describe_item(a, sizeof a, &now->item[0]);
        describe_item(b, sizeof b, &was->item[0]);
        return cl_fail("this run reads %d data item(s), the first %s; the results here come from %d, the first %s",
                       now->n, a, was->n, b);
    }
    for (int i = 0; i < was->n; i++) {
        const cl_fingerprint_item *w = &was->item[i], *x = &now->item[i];
        int same = w->generated ? strcmp(w->source, x->source) == 0 : (w->bytes == x->bytes && w->crc == x->crc);
        if (same) continue;
        char q[300];
        describe_item(a, sizeof a, x);
        describe_item(b, sizeof b, w);
        if (w->generated) return cl_fail("this run's data are %s; the results here come from %s", a, b);
        return cl_fail("%s: %s; the results here come from %s", cl_quote_n(q, sizeof q, base(x->source), 60), a, b);
    }
    return 0;
}

void cl_fingerprint_describe(const cl_fingerprint *fp, char *out, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < fp->n && len < n; i++) {
        char d[512];
        describe_item(d, sizeof d, &fp->item[i]);
        len += (size_t)snprintf(out + len, n - len, "data: %s\n", d);
    }
}

void cl_fingerprint_free(cl_fingerprint *fp)
{
    for (int i = 0; i < fp->n; i++) free(fp->item[i].source);
    memset(fp, 0, sizeof *fp);
}
