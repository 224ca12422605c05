/* CSV data through libcsv: one row per sample, an integer label column and numeric feature columns.
 *
 * libcsv reports fields and row ends through callbacks but not where they are in the file, and it skips
 * blank lines, so the row count is not a line number. To name lines the way a text editor does, the input
 * is handed to csv_parse one line at a time (split at '\n'), counting lines as they go by; a record is
 * named by the line it starts on (a quoted field may span lines).
 *
 * Callbacks cannot stop the parser, so the first error is recorded (cl_fail) and later callbacks do
 * nothing; the feeding loop checks after every line and stops. Within a row, errors are reported at the
 * row's end so that a wrong field count, the more basic fault, is reported before the bad cell it causes.
 *
 * Sizes are bounded before they cost memory: only regular files are read, a file larger than
 * CL_CSV_MAX_FILE_BYTES is refused, and so is a row longer than CL_CSV_MAX_ROW_BYTES (a file without line
 * breaks would otherwise be held whole in libcsv's field buffer). */
#include "datasets/dataset.h"
#include "datasets/dataint.h"
#include "core/error.h"

#include <csv.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The largest label read; classes are numbered from the labels afterwards (cl_data_number_labels), which
 * is where a label too large for a class index is reported with the remap choice. */
#define CSV_MAX_LABEL (INT32_MAX - 1)
#define CSV_CHUNK (1 << 16)
#define CSV_SHOW 40 /* characters of a bad cell quoted in messages */

typedef enum {
    CELL_OK,
    CELL_EMPTY,      /* feature cell is empty */
    CELL_NOTNUM,     /* not a number */
    CELL_NONFINITE,  /* nan, inf or overflow */
    CELL_NUL,        /* contains a NUL byte: binary data */
    LABEL_EMPTY,
    LABEL_NOTINT,
    LABEL_NEGATIVE,
    LABEL_TOOBIG,
} cell_status;

typedef struct csv_ctx {
    const char *path;         /* for messages: escaped and cut (cl_data_show_path) */
    const char *label_column; /* as given in the options (NULL: default) */
    int header_mode;          /* 1, 0 or -1 (detect) */
    int failed;

    /* position (see the comment at the top) */
    long line;       /* line being fed, 1-based */
    long rec_line;   /* line the current record started on */
    int in_record;   /* a record has started and not yet ended */
    int row_ended;   /* a record ended while feeding the current piece */
    int after_cr;    /* the last byte fed was a CR: an LF right after it ends no further line */
    size_t rec_bytes; /* bytes of the current record so far */
    long long file_bytes;

    /* The first record is kept as text until it is known to be a header or data. */
    int first_done;
    char **first;
    int nfirst, capfirst;
    long first_line;
    int has_header;

    int ncols, label_col;

    /* the record being read */
    int nfields;
    float *rowv;                /* ncols - 1 features */
    int32_t label;
    cell_status bad;            /* first bad cell of the record, CELL_OK if none */
    int bad_col;
    char bad_text[CSV_SHOW * 4 + 4];

    /* output */
    float *feat;
    int32_t *labels;
    size_t n, cap;
    int32_t max_label;
    int byte_valued;            /* every feature so far is a whole number in 0..255 */
} csv_ctx;

/* ---- cells ---------------------------------------------------------------------------------------- */

static int all_space(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s)) return 0;
    return 1;
}

/* A number with nothing else in the cell but surrounding spaces (quoted cells keep theirs). */
static cell_status parse_number(const char *s, size_t len, float *out)
{
    if (strlen(s) != len) return CELL_NUL;
    if (all_space(s)) return CELL_EMPTY;
    /* strtof also reads hexadecimal ("0x1A", "0x1p3"): no CSV export writes those, so such a cell is more
     * likely an identifier or hash in the wrong column than a number. */
    if (strpbrk(s, "xX")) return CELL_NOTNUM;
    char *end;
    float v = strtof(s, &end);
    if (end == s || !all_space(end)) return CELL_NOTNUM;
    if (!isfinite(v)) return CELL_NONFINITE;
    *out = v;
    return CELL_OK;
}

/* A label: a non-negative integer, also when written as a float with no fraction ("3.0", "3e0"), which is
 * how numpy.savetxt writes integer columns. */
static cell_status parse_label(const char *s, size_t len, int32_t *out)
{
    if (strlen(s) != len) return CELL_NUL;
    if (all_space(s)) return LABEL_EMPTY;
    if (strpbrk(s, "xX")) return LABEL_NOTINT;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || !all_space(end) || errno == ERANGE) {
        double x = strtod(s, &end);
        if (end == s || !all_space(end) || !isfinite(x) || x != floor(x)) return LABEL_NOTINT;
        if (x < 0) return LABEL_NEGATIVE;
        if (x > CSV_MAX_LABEL) return LABEL_TOOBIG;
        v = (long)x;
    }
    if (v < 0) return LABEL_NEGATIVE;
    if (v > CSV_MAX_LABEL) return LABEL_TOOBIG;
    *out = (int32_t)v;
    return CELL_OK;
}

/* A copy of a cell for messages: at most CSV_SHOW characters, with control characters escaped so that a
 * quoted cell holding a line break cannot split the one-line message. dst holds CSV_SHOW * 4 + 4 bytes. */
static void keep_text(char *dst, const char *s) { cl_data_show(dst, s, CSV_SHOW); }

/* "column 'name'" with a header, "column 4" (1-based) without. */
static void column_name(const csv_ctx *c, int col, char *buf, size_t cap)
{
    char name[CSV_SHOW * 4 + 4];
    keep_text(name, c->has_header ? c->first[col] : "");
    if (c->has_header && name[0])
        snprintf(buf, cap, "column '%s'", name);
    else if (c->has_header)
        snprintf(buf, cap, "column %d (unnamed in the header)", col + 1);
    else
        snprintf(buf, cap, "column %d", col + 1);
}

/* Parse one data cell into the current record; remember only the record's first problem. */
static void data_cell(csv_ctx *c, int col, const char *s, size_t len)
{
    if (col >= c->ncols) return; /* a ragged row: reported with its field count at the row's end */
    cell_status st;
    if (col == c->label_col)
        st = parse_label(s, len, &c->label);
    else
        st = parse_number(s, len, &c->rowv[col - (col > c->label_col)]);
    if (st != CELL_OK && c->bad == CELL_OK) {
        c->bad = st;
        c->bad_col = col;
        keep_text(c->bad_text, s);
    }
}

static int cell_fail(const csv_ctx *c)
{
    char col[CSV_SHOW * 4 + 64];
    column_name(c, c->bad_col, col, sizeof col);
    const char *p = c->path, *t = c->bad_text;
    long ln = c->rec_line;
    switch (c->bad) {
    case CELL_EMPTY: return cl_fail("%s: line %ld: %s: empty cell, expected a number", p, ln, col);
    case CELL_NOTNUM: return cl_fail("%s: line %ld: %s: expected a number, got '%s'", p, ln, col, t);
    case CELL_NONFINITE:
        return cl_fail("%s: line %ld: %s: expected a finite number, got '%s'", p, ln, col, t);
    case CELL_NUL: return cl_fail("%s: line %ld: %s: cell contains a NUL byte (binary file?)", p, ln, col);
    case LABEL_EMPTY: return cl_fail("%s: line %ld: label %s: empty label, expected an integer >= 0", p, ln, col);
    case LABEL_NOTINT:
        return cl_fail("%s: line %ld: label %s: expected an integer label >= 0, got '%s'", p, ln, col, t);
    case LABEL_NEGATIVE:
        return cl_fail("%s: line %ld: label %s: negative label '%s', labels must be whole numbers >= 0", p, ln,
                       col, t);
    case LABEL_TOOBIG:
        return cl_fail("%s: line %ld: label %s: label '%s' is too large (at most %d; is the label column right?)",
                       p, ln, col, t, (int)CSV_MAX_LABEL);
    case CELL_OK: break;
    }
    return 0;
}

/* ---- records -------------------------------------------------------------------------------------- */

static void append_sample(csv_ctx *c)
{
    size_t dim = (size_t)c->ncols - 1;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->feat = cl_realloc(c->feat, c->cap * dim * sizeof *c->feat);
        c->labels = cl_realloc(c->labels, c->cap * sizeof *c->labels);
    }
    memcpy(c->feat + c->n * dim, c->rowv, dim * sizeof *c->feat);
    for (size_t j = 0; j < dim && c->byte_valued; j++)
        c->byte_valued = c->rowv[j] >= 0.0f && c->rowv[j] <= 255.0f && c->rowv[j] == floorf(c->rowv[j]);
    c->labels[c->n] = c->label;
    if (c->label > c->max_label) c->max_label = c->label;
    c->n++;
}

static void end_record(csv_ctx *c)
{
    if (c->nfields != c->ncols) {
        c->failed = 1;
        if (c->has_header)
            cl_fail("%s: line %ld has %d fields, expected %d as in the header", c->path, c->rec_line, c->nfields,
                    c->ncols);
        else
            cl_fail("%s: line %ld has %d fields, expected %d as on line %ld", c->path, c->rec_line, c->nfields,
                    c->ncols, c->first_line);
    } else if (c->bad != CELL_OK) {
        c->failed = 1;
        cell_fail(c);
    } else {
        append_sample(c);
    }
    c->nfields = 0;
    c->bad = CELL_OK;
}

/* The header, when detecting: a first row with any cell that is not a number (an empty one included). */
static int looks_like_header(const csv_ctx *c)
{
    float v;
    for (int i = 0; i < c->nfirst; i++)
        if (parse_number(c->first[i], strlen(c->first[i]), &v) != CELL_OK) return 1;
    return 0;
}

/* "'a', 'b', 'c' and 780 more": the header's columns for a message, each cut short and at most a dozen of
 * them, so that the message stays one readable line for a header of thousands of pixel names. */
static void list_columns(const csv_ctx *c, char *names, size_t cap)
{
    size_t len = 0;
    names[0] = 0;
    char shown[16 * 4 + 4];
    int listed = 0;
    for (; listed < c->ncols && listed < 12 && len < cap; listed++) {
        cl_data_show(shown, c->first[listed], 16);
        len += (size_t)snprintf(names + len, cap - len, "%s'%s'", listed ? ", " : "", shown);
    }
    if (listed < c->ncols && len < cap) snprintf(names + len, cap - len, " and %d more", c->ncols - listed);
}

/* Which column holds the label, from the option and the header. */
static int find_label_column(csv_ctx *c)
{
    const char *want = c->label_column;
    char names[400], shown[CSV_SHOW * 4 + 4];
    if (!want) {
        if (!c->has_header) {
            c->label_col = 0; /* no header: the label comes first, as in the common MNIST-as-CSV files */
            return 0;
        }
        for (int i = 0; i < c->ncols; i++)
            if (strcasecmp(c->first[i], "label") == 0) {
                c->label_col = i;
                return 0;
            }
        /* With a header, the label column must be named: taking column 0 would silently make the first
         * feature (a pixel, often 0..255) the label. */
        list_columns(c, names, sizeof names);
        return cl_fail("%s: the header (line %ld) has no column named 'label': its %d columns are %s; name the "
                       "label column with --label-column NAME or 0-based INDEX (grid: label_column)", c->path,
                       c->rec_line, c->ncols, names);
    }
    if (c->has_header) {
        for (int pass = 0; pass < 2; pass++) /* an exact match wins over a case-insensitive one */
            for (int i = 0; i < c->ncols; i++)
                if (pass ? strcasecmp(c->first[i], want) == 0 : strcmp(c->first[i], want) == 0) {
                    c->label_col = i;
                    return 0;
                }
    }
    keep_text(shown, want);
    char *end;
    errno = 0;
    long idx = strtol(want, &end, 10);
    if (*want && end != want && !*end) {
        if (idx < 0 || idx >= c->ncols || errno)
            return cl_fail("%s: label column %s is out of range: the file has %d columns (0-based indices 0..%d)",
                           c->path, shown, c->ncols, c->ncols - 1);
        c->label_col = (int)idx;
        return 0;
    }
    if (!c->has_header)
        return cl_fail("%s: label column '%s' is a name, but the file has no header row (give a 0-based column "
                       "index)", c->path, shown);
    list_columns(c, names, sizeof names);
    return cl_fail("%s: unknown label column '%s': the header has columns %s", c->path, shown, names);
}

/* The first record decides the column count and, when detecting, whether there is a header. */
static void first_record(csv_ctx *c)
{
    c->first_done = 1;
    c->first_line = c->rec_line;
    c->ncols = c->nfirst;
    c->has_header = c->header_mode > 0 || (c->header_mode < 0 && looks_like_header(c));
    if (find_label_column(c)) {
        c->failed = 1;
        return;
    }
    if (c->ncols < 2) {
        c->failed = 1;
        cl_fail("%s: line %ld has %d field: need a label column and at least one feature column", c->path,
                c->rec_line, c->ncols);
        return;
    }
    c->rowv = cl_malloc((size_t)(c->ncols - 1) * sizeof *c->rowv);
    if (c->has_header) return;
    for (int i = 0; i < c->nfirst; i++) data_cell(c, i, c->first[i], strlen(c->first[i]));
    c->nfields = c->nfirst;
    end_record(c);
}

static void on_field(void *s, size_t len, void *data)
{
    csv_ctx *c = data;
    if (c->failed) return;
    const char *text = s ? s : ""; /* libcsv passes its (NULL) buffer for an empty field before any data */
    if (!s) len = 0;
    if (!c->first_done) {
        if (c->nfirst > CL_MAX_INPUT_DIM) { /* a label and CL_MAX_INPUT_DIM features are allowed */
            c->failed = 1;
            cl_fail("%s: line %ld has more than %d columns, the limit (one label and %d features)", c->path,
                    c->rec_line, CL_MAX_INPUT_DIM + 1, CL_MAX_INPUT_DIM);
            return;
        }
        if (c->nfirst == c->capfirst) {
            c->capfirst = c->capfirst ? 2 * c->capfirst : 16;
            c->first = cl_realloc(c->first, (size_t)c->capfirst * sizeof *c->first);
        }
        char *copy = cl_malloc(len + 1);
        memcpy(copy, text, len);
        copy[len] = 0;
        c->first[c->nfirst++] = copy;
        return;
    }
    data_cell(c, c->nfields, text, len);
    c->nfields++;
}

static void on_row(int term, void *data)
{
    csv_ctx *c = data;
    c->row_ended = 1;
    if (c->failed) return;
    if (!c->first_done)
        first_record(c);
    else
        end_record(c);
}

/* ---- feeding -------------------------------------------------------------------------------------- */

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n') return 0;
    return 1;
}

/* Hand a chunk to libcsv one line at a time (a line may continue into the next chunk). Lines end at LF,
 * CRLF or a lone CR, as libcsv ends rows at either byte; a CRLF pair ends one line, also when a chunk
 * boundary falls between its two bytes. */
static int feed(csv_ctx *c, struct csv_parser *p, const char *buf, size_t len)
{
    size_t pos = 0;
    while (pos < len) {
        size_t e = pos;
        while (e < len && buf[e] != '\n' && buf[e] != '\r') e++;
        int eol = e < len;
        size_t seg = eol ? e - pos + 1 : len - pos;
        if (!c->in_record) {
            c->rec_line = c->line;
            c->rec_bytes = 0;
        }
        c->rec_bytes += seg;
        if (c->rec_bytes > CL_CSV_MAX_ROW_BYTES)
            return cl_fail("%s: line %ld: a row longer than %d MiB, the limit for one CSV row (is this a CSV file, "
                           "with line breaks?)", c->path, c->rec_line, CL_CSV_MAX_ROW_BYTES >> 20);
        /* libcsv grows its field buffer by a fixed block (128 bytes by default) and copies the field each
         * time, which is quadratic in a field's length: a 4 MB cell took 85 s under ASan. A block as large
         * as the buffer already is makes the growth geometric. */
        size_t have = csv_get_buffer_size(p);
        csv_set_blk_size(p, have > CSV_CHUNK ? have : CSV_CHUNK);
        c->row_ended = 0;
        if (csv_parse(p, buf + pos, seg, on_field, on_row, c) != seg)
            return cl_fail("%s: line %ld: malformed quoting (a quote inside an unquoted field, or text after a "
                           "closing quote)", c->path, c->line);
        if (c->failed) return -1;
        if (c->row_ended)
            c->in_record = 0;
        else if (!blank(buf + pos, seg))
            c->in_record = 1;
        if (eol) {
            if (!(buf[e] == '\n' && e == pos && c->after_cr)) c->line++;
            c->after_cr = buf[e] == '\r';
        } else {
            c->after_cr = 0;
        }
        pos += seg;
    }
    return 0;
}

static int parse_file(csv_ctx *c, FILE *fp)
{
    struct csv_parser p;
    if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
        return cl_fail("%s: cannot initialise the CSV parser", c->path);
    char *buf = cl_malloc(CSV_CHUNK);
    int rc = 0, start = 1;
    size_t got;
    while (rc == 0 && (got = fread(buf, 1, CSV_CHUNK, fp)) > 0) {
        /* the size was checked at open; this catches a file that grows while it is read */
        if ((c->file_bytes += (long long)got) > CL_CSV_MAX_FILE_BYTES) {
            rc = cl_fail("%s: larger than %lld GiB, the limit for one CSV file", c->path, CL_CSV_MAX_FILE_BYTES >> 30);
            break;
        }
        size_t skip = 0;
        /* A UTF-8 byte-order mark (spreadsheet exports) would otherwise become part of the first name. */
        if (start && got >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) skip = 3;
        start = 0;
        rc = feed(c, &p, buf + skip, got - skip);
    }
    if (rc == 0 && ferror(fp)) rc = cl_fail("%s: read error: %s", c->path, strerror(errno));
    if (rc == 0) {
        if (!c->in_record) c->rec_line = c->line;
        if (csv_fini(&p, on_field, on_row, c) != 0)
            rc = cl_fail("%s: line %ld: quoted field is never closed (missing closing quote)", c->path, c->rec_line);
        else if (c->failed)
            rc = -1;
    }
    csv_free(&p);
    free(buf);
    return rc;
}

static void ctx_free(csv_ctx *c)
{
    for (int i = 0; i < c->nfirst; i++) free(c->first[i]);
    free(c->first);
    free(c->rowv);
    free(c->feat);
    free(c->labels);
}

static void set_name(cl_dataset *d, const char *path)
{
    const char *base = strrchr(path, '/');
    char shown[48 * 4 + 4];
    cl_data_show(shown, base ? base + 1 : path, 48);
    size_t n = strlen(shown) < sizeof d->name - 1 ? strlen(shown) : sizeof d->name - 1;
    memcpy(d->name, shown, n);
    d->name[n] = 0;
}

int cl_dataset_load_csv(cl_dataset *d, const char *path, const cl_csv_opts *opts)
{
    memset(d, 0, sizeof *d);
    csv_ctx c;
    memset(&c, 0, sizeof c);
    char shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(shown, path);
    c.path = shown;
    c.label_column = opts ? opts->label_column : NULL;
    c.header_mode = opts ? opts->header : -1;
    c.line = 1;
    c.byte_valued = 1;
    off_t size;
    int fd = cl_data_open_regular(path, "a CSV file", &size);
    if (fd < 0) return -1;
    if (size > CL_CSV_MAX_FILE_BYTES) {
        close(fd);
        return cl_fail("%s: %lld bytes, more than %lld GiB, the limit for one CSV file", c.path, (long long)size,
                       CL_CSV_MAX_FILE_BYTES >> 30);
    }
    FILE *fp = fdopen(fd, "rb");
    if (!fp) {
        int rc = cl_fail("%s: cannot open: %s", c.path, strerror(errno));
        close(fd);
        return rc;
    }
    int rc = parse_file(&c, fp);
    fclose(fp);
    if (rc == 0 && !c.first_done) rc = cl_fail("%s: empty file: no rows", c.path);
    if (rc == 0 && c.n == 0)
        rc = cl_fail("%s: the file has a header (line %ld) but no data rows", c.path, c.first_line);
    if (rc == 0 && c.n > (size_t)INT32_MAX) rc = cl_fail("%s: too many rows (%zu)", c.path, c.n);
    if (rc) {
        ctx_free(&c);
        return -1;
    }
    set_name(d, path);
    d->n = (int)c.n;
    d->channels = 1;
    d->rows = 1;
    d->cols = d->dim = c.ncols - 1;
    d->nclasses = c.max_label + 1;
    d->byte_valued = c.byte_valued;
    d->feat = cl_realloc(c.feat, c.n * (size_t)d->dim * sizeof *d->feat); /* drop the growth slack */
    d->labels = cl_realloc(c.labels, c.n * sizeof *d->labels);
    c.feat = NULL;
    c.labels = NULL;
    ctx_free(&c);
    return 0;
}

int cl_data_load_csv(cl_data *d, const char *train_path, const char *test_path, const cl_csv_opts *opts)
{
    memset(d, 0, sizeof *d);
    char train_shown[CL_PATH_SHOW_CAP], test_shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(train_shown, train_path);
    cl_data_show_path(test_shown, test_path);
    if (cl_dataset_load_csv(&d->train, train_path, opts)) return -1;
    if (cl_dataset_load_csv(&d->test, test_path, opts)) {
        cl_data_free(d);
        return -1;
    }
    if (d->test.dim != d->train.dim) {
        int rc = cl_fail("%s has %d features per row but %s has %d; train and test must have the same columns",
                         test_shown, d->test.dim, train_shown, d->train.dim);
        cl_data_free(d);
        return rc;
    }
    if (cl_data_number_labels(d, opts ? opts->labels : CL_LABELS_INDEX, train_shown, test_shown)) {
        cl_data_free(d);
        return -1;
    }
    d->files[d->nfiles++] = cl_strdup(train_path);
    d->files[d->nfiles++] = cl_strdup(test_path);
    return 0;
}
