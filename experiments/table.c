#include "experiments/table.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csv.h>

#include "core/error.h"

/* ---- reading --------------------------------------------------------------------------------------- */

typedef struct reader {
    cl_table *t;
    char **fields;
    int nfields, cap;
    int line, row_line; /* current line, first line of the current record */
    int failed;
} reader;

static void on_field(void *s, size_t len, void *ctx)
{
    reader *r = ctx;
    if (r->failed) return;
    if (len && memchr(s, 0, len)) {
        /* the strings the callers see would silently end at it */
        cl_fail("%s:%d: a field holds a NUL byte (a damaged file, or not CSV text)", r->t->path, r->line);
        r->failed = 1;
        return;
    }
    if (r->nfields == r->cap) {
        r->cap = r->cap ? 2 * r->cap : 16;
        r->fields = cl_realloc(r->fields, r->cap * sizeof *r->fields);
    }
    char *f = cl_malloc(len + 1);
    if (len) memcpy(f, s, len);
    f[len] = 0;
    r->fields[r->nfields++] = f;
}

static void drop_fields(reader *r)
{
    for (int i = 0; i < r->nfields; i++) free(r->fields[i]);
    r->nfields = 0;
}

static void on_row(int c, void *ctx)
{
    (void)c;
    reader *r = ctx;
    cl_table *t = r->t;
    if (r->failed) {
        drop_fields(r);
        return;
    }
    if (!t->cols) {
        t->ncols = r->nfields;
        t->cols = cl_malloc(sizeof(char *) * (r->nfields ? r->nfields : 1));
        memcpy(t->cols, r->fields, sizeof(char *) * r->nfields);
        r->nfields = 0;
        return;
    }
    if (r->nfields == 1 && r->fields[0][0] == 0) { /* a blank line */
        drop_fields(r);
        return;
    }
    if (r->nfields != t->ncols) {
        cl_fail("%s:%d: %d fields, expected %d (as in the header)", t->path, r->row_line, r->nfields, t->ncols);
        r->failed = 1;
        drop_fields(r);
        return;
    }
    t->cells = cl_realloc(t->cells, sizeof(char **) * (t->nrows + 1));
    t->lines = cl_realloc(t->lines, sizeof(int) * (t->nrows + 1));
    t->cells[t->nrows] = cl_malloc(sizeof(char *) * t->ncols);
    memcpy(t->cells[t->nrows], r->fields, sizeof(char *) * t->ncols);
    t->lines[t->nrows] = r->row_line;
    t->nrows++;
    r->nfields = 0;
}

int cl_table_read(cl_table *t, const char *path, const char *const *required)
{
    memset(t, 0, sizeof *t);
    t->path = cl_strdup(path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        cl_fail("%s: cannot open: %s", path, strerror(errno));
        cl_table_free(t);
        return -1;
    }
    size_t cap = 1 << 16, len = 0, n;
    char *text = cl_malloc(cap);
    while ((n = fread(text + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) text = cl_realloc(text, cap *= 2);
    }
    fclose(f);
    size_t whole = len;
    while (whole > 0 && text[whole - 1] != '\n') whole--; /* a row cut short by a kill is not a row */
    if (whole < len) {
        t->cut_line = 1;
        for (size_t i = 0; i < whole; i++) t->cut_line += text[i] == '\n';
        len = whole;
    }
    struct csv_parser p;
    csv_init(&p, CSV_APPEND_NULL);
    /* libcsv grows a field's buffer by this much at a time: the default (128 bytes) makes a long field
     * (a hand-edited or damaged file) quadratic to read */
    csv_set_blk_size(&p, 1 << 16);
    reader r = {.t = t, .line = 1, .row_line = 1};
    /* feed line by line so messages can name the line where each record starts */
    size_t start = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
    int rc = 0;
    while (start < len && !r.failed) {
        size_t end = start;
        while (end < len && text[end] != '\n') end++;
        if (r.nfields == 0) r.row_line = r.line;
        if (csv_parse(&p, text + start, end + 1 - start, on_field, on_row, &r) != end + 1 - start) {
            cl_fail("%s:%d: %s", path, r.line, csv_strerror(csv_error(&p)));
            r.failed = 1;
        }
        r.line++;
        start = end + 1;
    }
    if (!r.failed) csv_fini(&p, on_field, on_row, &r);
    csv_free(&p);
    drop_fields(&r);
    free(r.fields);
    free(text);
    if (r.failed) rc = -1;
    if (!rc && !t->cols) rc = cl_fail("%s: empty file, expected a header row", path);
    for (int i = 0; !rc && required && required[i]; i++)
        if (cl_table_col(t, required[i]) < 0) rc = cl_fail("%s: no column '%s' in the header", path, required[i]);
    if (rc) cl_table_free(t);
    return rc;
}

void cl_table_free(cl_table *t)
{
    for (int r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols; c++) free(t->cells[r][c]);
        free(t->cells[r]);
    }
    for (int c = 0; c < t->ncols && t->cols; c++) free(t->cols[c]);
    free(t->cols);
    free(t->cells);
    free(t->lines);
    free(t->path);
    memset(t, 0, sizeof *t);
}

int cl_table_col(const cl_table *t, const char *name)
{
    for (int c = 0; c < t->ncols; c++)
        if (strcmp(t->cols[c], name) == 0) return c;
    return -1;
}

int cl_table_num(const cl_table *t, int row, int col, double *out)
{
    const char *s = t->cells[row][col];
    if (strcmp(s, "nan") == 0 || strcmp(s, "-nan") == 0) {
        *out = NAN;
        return 0;
    }
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno)
        return cl_fail("%s:%d: column '%.*s': expected a number, got '%.*s'", t->path, t->lines[row], CL_SHOW,
                       t->cols[col], CL_SHOW, s);
    *out = v;
    return 0;
}

int cl_table_int(const cl_table *t, int row, int col, long *out)
{
    const char *s = t->cells[row][col];
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno)
        return cl_fail("%s:%d: column '%.*s': expected a whole number, got '%.*s'", t->path, t->lines[row], CL_SHOW,
                       t->cols[col], CL_SHOW, s);
    *out = v;
    return 0;
}

/* ---- writing --------------------------------------------------------------------------------------- */

static void reserve(cl_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    while (b->len + extra + 1 > b->cap) b->cap = b->cap ? 2 * b->cap : 256;
    b->s = cl_realloc(b->s, b->cap);
}

void cl_buf_free(cl_buf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

void cl_buf_printf(cl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sep(cl_buf *b)
{
    if (b->len && b->s[b->len - 1] != '\n') cl_buf_printf(b, ",");
}

void cl_buf_str(cl_buf *b, const char *s)
{
    if (!*s && (!b->len || b->s[b->len - 1] == '\n')) {
        /* an empty first field written as nothing would vanish: the next field's comma decides by line start */
        cl_buf_printf(b, "\"\"");
        return;
    }
    sep(b);
    size_t n = strlen(s);
    /* quoted also with spaces or tabs at either end, which libcsv trims from unquoted fields when reading */
    int edge_space = n && (s[0] == ' ' || s[0] == '\t' || s[n - 1] == ' ' || s[n - 1] == '\t');
    if (!strpbrk(s, ",\"\n\r") && !edge_space) {
        cl_buf_printf(b, "%s", s);
        return;
    }
    /* libcsv quotes the field and doubles embedded quotes */
    reserve(b, 2 * n + 2);
    b->len += csv_write(b->s + b->len, 2 * n + 2, s, n);
    b->s[b->len] = 0;
}

void cl_buf_int(cl_buf *b, long v)
{
    sep(b);
    cl_buf_printf(b, "%ld", v);
}

void cl_buf_num(cl_buf *b, double v)
{
    sep(b);
    if (isfinite(v)) cl_buf_printf(b, "%.6g", v);
    else cl_buf_printf(b, "nan");
}

void cl_buf_endrow(cl_buf *b) { cl_buf_printf(b, "\n"); }

int cl_write_all(int fd, const char *path, const cl_buf *b)
{
    size_t off = 0;
    while (off < b->len) {
        ssize_t w = write(fd, b->s + off, b->len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return cl_fail("%s: write failed: %s", path, strerror(errno));
        off += (size_t)w;
    }
    return 0;
}

int cl_write_file_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return cl_fail("%s: cannot write: %s", tmp, strerror(errno));
    cl_buf b = {(char *)data, len, len};
    int rc = cl_write_all(fd, tmp, &b);
    if (!rc && fsync(fd) != 0) rc = cl_fail("%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc) rc = cl_fail("%s: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0) rc = cl_fail("%s: cannot rename to %s: %s", tmp, path, strerror(errno));
    if (rc) unlink(tmp);
    return rc;
}

/* 1 when the file at path holds exactly these bytes */
static int same_contents(const char *path, const char *data, size_t len)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size != len) return 0;
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[1 << 16];
    size_t off = 0, n;
    int same = 1;
    while (same && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        same = off + n <= len && memcmp(buf, data + off, n) == 0;
        off += n;
    }
    fclose(f);
    return same && off == len;
}

static int write_tmp(const char *tmp, const char *data, size_t len)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return cl_fail("%s: cannot write: %s", tmp, strerror(errno));
    cl_buf b = {(char *)data, len, len};
    int rc = cl_write_all(fd, tmp, &b);
    if (!rc && fsync(fd) != 0) rc = cl_fail("%s: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc) rc = cl_fail("%s: %s", tmp, strerror(errno));
    if (rc) unlink(tmp);
    return rc;
}

int cl_replace_stage(cl_replace *r, const char *path, const char *data, size_t len)
{
    if (same_contents(path, data, len)) return 0;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (write_tmp(tmp, data, len)) {
        cl_replace_abort(r);
        return -1;
    }
    r->paths = cl_realloc(r->paths, sizeof(char *) * (r->n + 1));
    r->paths[r->n++] = cl_strdup(path);
    return 0;
}

int cl_replace_commit(cl_replace *r)
{
    int rc = 0;
    char tmp[4200], dir[4200] = "";
    for (int i = 0; i < r->n; i++) {
        snprintf(tmp, sizeof tmp, "%s.tmp", r->paths[i]);
        if (!rc && rename(tmp, r->paths[i]) != 0)
            rc = cl_fail("%s: cannot rename to %s: %s", tmp, r->paths[i], strerror(errno));
        if (rc) unlink(tmp);
        if (i == 0) {
            char copy[4200];
            snprintf(copy, sizeof copy, "%s", r->paths[i]);
            snprintf(dir, sizeof dir, "%s", dirname(copy));
        }
    }
    /* the renames themselves reach the disk only with the directory */
    int dfd = r->n ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        if (fsync(dfd) != 0) {} /* some file systems cannot: the renames are done either way */
        close(dfd);
    }
    for (int i = 0; i < r->n; i++) free(r->paths[i]);
    free(r->paths);
    memset(r, 0, sizeof *r);
    return rc;
}

void cl_replace_abort(cl_replace *r)
{
    char tmp[4200];
    for (int i = 0; i < r->n; i++) {
        snprintf(tmp, sizeof tmp, "%s.tmp", r->paths[i]);
        unlink(tmp);
        free(r->paths[i]);
    }
    free(r->paths);
    memset(r, 0, sizeof *r);
}

char *cl_read_file(const char *path, size_t max, int missing_ok)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int err = errno;
        if (!(missing_ok && err == ENOENT)) cl_fail("%s: cannot read: %s", cl_quote_path(path), strerror(err));
        errno = err;
        return NULL;
    }
    char *t = cl_malloc(max + 1);
    size_t n = fread(t, 1, max + 1, f);
    fclose(f);
    if (n > max) {
        free(t);
        cl_fail("%s: larger than clreg writes it (%zu bytes at most)", cl_quote_path(path), max);
        return NULL;
    }
    t[n] = 0;
    return t;
}
