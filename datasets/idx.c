/* IDX reader (the MNIST family's format: a big-endian header, then unsigned bytes).
 *
 * Everything goes through zlib's gzread (cl_gzfile, datasets/dataint.h), which reads gzip and raw files
 * alike. The header is never trusted for allocation: the payload is read in growing chunks, so a
 * corrupt header that claims terabytes costs only as much memory as the file actually holds, and ends in
 * a "truncated" message. */
#include "datasets/dataset.h"
#include "datasets/dataint.h"
#include "core/error.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_MAGIC_LABELS 0x00000801u
#define IDX_MAGIC_IMAGES 0x00000803u

/* Limits on header values. Real files are far below them; anything above is a corrupt header. */
#define IDX_MAX_SIDE 65536                 /* rows or cols */
#define IDX_MAX_PIXELS CL_MAX_INPUT_DIM    /* rows * cols of one image */

#define IDX_FIRST_ALLOC (1u << 16)         /* the payload buffer starts at this size and doubles */
#define IDX_TRAILING_COUNT_MAX (1ull << 30) /* stop counting trailing bytes here ("or more") */

size_t cl_idx_max_bytes = (size_t)CL_IDX_MAX_BYTES;

static const char *idx_kind(uint32_t magic)
{
    return magic == IDX_MAGIC_IMAGES ? "idx3-ubyte images" : "idx1-ubyte labels";
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static uint32_t bswap32(uint32_t x)
{
    return (x >> 24) | ((x >> 8) & 0xff00u) | ((x << 8) & 0xff0000u) | (x << 24);
}

static const char *idx_type_name(unsigned t)
{
    switch (t) {
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown type";
    }
}

/* One message for a wrong magic number, recognising the mistakes people actually make: the label file
 * where the images belong (and vice versa), an IDX file of another element type, a byte-swapped header,
 * or a text file (typically an HTML error page saved by a failed download). */
static int idx_bad_magic(const cl_gzfile *f, uint32_t found, uint32_t want)
{
    char expect[64];
    snprintf(expect, sizeof expect, "expected 0x%08X (%s)", want, idx_kind(want));
    uint32_t other = want == IDX_MAGIC_IMAGES ? IDX_MAGIC_LABELS : IDX_MAGIC_IMAGES;
    unsigned type = (found >> 8) & 0xff, nd = found & 0xff;
    if (found == IDX_MAGIC_LABELS && want == IDX_MAGIC_IMAGES)
        return cl_fail("%s: bad magic number 0x%08X: this is a label file (idx1-ubyte), not an image file; %s",
                       f->path, found, expect);
    if (found == IDX_MAGIC_IMAGES && want == IDX_MAGIC_LABELS)
        return cl_fail("%s: bad magic number 0x%08X: this is an image file (idx3-ubyte), not a label file; %s",
                       f->path, found, expect);
    if (bswap32(found) == want || bswap32(found) == other)
        return cl_fail("%s: bad magic number 0x%08X: the header is byte-swapped (written little-endian); %s",
                       f->path, found, expect);
    if ((found >> 16) == 0 && type != 0x08)
        return cl_fail("%s: bad magic number 0x%08X: IDX element type 0x%02X (%s) is not supported, only "
                       "unsigned bytes (0x08); %s", f->path, found, type, idx_type_name(type), expect);
    if ((found >> 16) == 0)
        return cl_fail("%s: bad magic number 0x%08X: an IDX file with %u dimensions; %s", f->path, found, nd,
                       expect);
    if ((found >> 16) == 0x1f8b)
        return cl_fail("%s: bad magic number 0x%08X: the data is gzip-compressed twice; %s", f->path, found,
                       expect);
    char text[5];
    int printable = 1;
    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)(found >> (24 - 8 * i));
        printable &= c >= 0x20 && c < 0x7f;
        text[i] = (char)c;
    }
    text[4] = 0;
    if (printable)
        return cl_fail("%s: bad magic number 0x%08X ('%s'): this looks like a text file, not IDX data (an "
                       "error page saved by a failed download?); %s", f->path, found, text, expect);
    return cl_fail("%s: bad magic number 0x%08X: not an IDX file; %s", f->path, found, expect);
}

/* Read and check the magic number and the ndims dimension sizes that follow it. */
static int idx_header(cl_gzfile *f, uint32_t want, uint32_t *dims, int ndims)
{
    unsigned char h[16];
    size_t hlen = 4 + 4 * (size_t)ndims;
    long long got = cl_gzfile_read(f, h, 4);
    if (got < 0) return -1;
    if (got == 0) return cl_fail("%s: empty file (0 bytes of data), expected %s", f->path, idx_kind(want));
    if (got < 4)
        return cl_fail("%s: truncated header: an %s header is %zu bytes, the file has %lld", f->path,
                       idx_kind(want), hlen, got);
    uint32_t magic = be32(h);
    if (magic != want) return idx_bad_magic(f, magic, want);
    long long more = cl_gzfile_read(f, h + 4, hlen - 4);
    if (more < 0) return -1;
    if ((size_t)more < hlen - 4)
        return cl_fail("%s: truncated header: an %s header is %zu bytes, the file has %lld", f->path,
                       idx_kind(want), hlen, 4 + more);
    for (int i = 0; i < ndims; i++) dims[i] = be32(h + 4 + 4 * i);
    return 0;
}

/* Read exactly `want` payload bytes into a malloc'd buffer, growing it as data arrives, then insist that
 * the data ends there. `what` describes the header's claim ("10 images of 28x28 = 7840 bytes") and
 * `unit` names the payload ("pixel") for messages. At most `max` bytes are ever held: a claim beyond it is
 * refused once the file has shown that much data (a small gzip file can unpack to any size its header
 * claims), while a claim over a short file still ends as "truncated". */
static int idx_payload(cl_gzfile *f, size_t want, size_t max, const char *what, const char *unit, uint8_t **out)
{
    size_t goal = want < max ? want : max;
    size_t cap = goal < IDX_FIRST_ALLOC ? goal : IDX_FIRST_ALLOC, got = 0;
    uint8_t *buf = cl_malloc(cap);
    for (;;) {
        long long r = cl_gzfile_read(f, buf + got, cap - got);
        if (r < 0) {
            free(buf);
            return -1;
        }
        got += (size_t)r;
        if (got < cap || cap == goal) break;
        cap = cap <= goal / 2 ? cap * 2 : goal;
        buf = cl_realloc(buf, cap);
    }
    if (got == goal && goal < want) {
        free(buf);
        return cl_fail("%s: header says %s, more than the limit of %zu bytes for one file (the data is there: "
                       "the file is that large, or a gzip stream unpacks to that much)", f->path, what, max);
    }
    if (got < want) {
        free(buf);
        return cl_fail("%s: truncated: header says %s, file has %zu bytes of %s data", f->path, what, got,
                       unit);
    }
    /* Count what follows (reading on also makes zlib verify the gzip CRC and length trailer). */
    unsigned char sink[1 << 16];
    unsigned long long extra = 0;
    for (;;) {
        long long r = cl_gzfile_read(f, sink, sizeof sink);
        if (r < 0) {
            free(buf);
            return -1;
        }
        extra += (unsigned long long)r;
        if (r == 0 || extra >= IDX_TRAILING_COUNT_MAX) break;
    }
    if (extra) {
        free(buf);
        return cl_fail("%s: trailing data: header says %s, but %llu%s more byte%s follow (wrong header or "
                       "concatenated files?)", f->path, what, extra, extra >= IDX_TRAILING_COUNT_MAX ? " or" : "",
                       extra == 1 ? "" : "s");
    }
    *out = buf;
    return 0;
}

int cl_idx_read_images(const char *path, uint8_t **pix, int *n, int *rows, int *cols)
{
    *pix = NULL;
    *n = *rows = *cols = 0;
    cl_gzfile f;
    if (cl_gzfile_open(&f, path, "an IDX file")) return -1;
    uint32_t dims[3] = {0, 0, 0};
    int rc = idx_header(&f, IDX_MAGIC_IMAGES, dims, 3);
    if (rc == 0 && (dims[0] == 0 || dims[1] == 0 || dims[2] == 0))
        rc = cl_fail("%s: zero dimension in header: %u images of %ux%u pixels; all three must be positive",
                     f.path, dims[0], dims[1], dims[2]);
    if (rc == 0 && (dims[0] > INT_MAX || dims[1] > IDX_MAX_SIDE || dims[2] > IDX_MAX_SIDE ||
                    (uint64_t)dims[1] * dims[2] > IDX_MAX_PIXELS))
        rc = cl_fail("%s: absurd dimensions in header: %u images of %ux%u pixels (limits: %d images, %d "
                     "pixels per side, %d pixels per image); the header is corrupt",
                     f.path, dims[0], dims[1], dims[2], INT_MAX, IDX_MAX_SIDE, IDX_MAX_PIXELS);
    if (rc == 0) {
        size_t want = (size_t)dims[0] * dims[1] * dims[2];
        char what[128];
        snprintf(what, sizeof what, "%u images of %ux%u = %zu bytes", dims[0], dims[1], dims[2], want);
        rc = idx_payload(&f, want, cl_idx_max_bytes, what, "pixel", pix);
    }
    cl_gzfile_close(&f);
    if (rc) return -1;
    *n = (int)dims[0];
    *rows = (int)dims[1];
    *cols = (int)dims[2];
    return 0;
}

int cl_idx_read_labels(const char *path, uint8_t **labels, int *n)
{
    *labels = NULL;
    *n = 0;
    cl_gzfile f;
    if (cl_gzfile_open(&f, path, "an IDX file")) return -1;
    uint32_t count = 0;
    int rc = idx_header(&f, IDX_MAGIC_LABELS, &count, 1);
    if (rc == 0 && count == 0)
        rc = cl_fail("%s: zero dimension in header: 0 labels; expected at least one", f.path);
    if (rc == 0 && count > INT_MAX)
        rc = cl_fail("%s: absurd dimensions in header: %u labels (limit %d); the header is corrupt", f.path, count,
                     INT_MAX);
    if (rc == 0) {
        char what[64];
        snprintf(what, sizeof what, "%u labels = %u bytes", count, count);
        rc = idx_payload(&f, count, count, what, "label", labels);
    }
    cl_gzfile_close(&f);
    if (rc) return -1;
    *n = (int)count;
    return 0;
}

/* ---- train/test pairs ----------------------------------------------------------------------------- */

enum { IDX_TRAIN_IMAGES, IDX_TRAIN_LABELS, IDX_TEST_IMAGES, IDX_TEST_LABELS, IDX_NFILES };

static const char *const idx_std_names[IDX_NFILES] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte",
};
static const char *const idx_roles[IDX_NFILES] = {"train images", "train labels", "test images", "test labels"};

#define IDX_PATH_MAX 4096

/* Find one of the four files: <dir>/<name>.gz or <dir>/<name> when location is a directory, else
 * <location><name>.gz or <location><name>. The .gz comes first because that is how the data ships. */
static int idx_locate(const char *location, int which, char *out)
{
    struct stat st;
    int is_dir = stat(location, &st) == 0 && S_ISDIR(st.st_mode);
    size_t len = strlen(location);
    const char *sep = is_dir && len && location[len - 1] != '/' ? "/" : "";
    char tried[2][IDX_PATH_MAX], shown[3][CL_PATH_SHOW_CAP];
    cl_data_show_path(shown[2], location);
    for (int gz = 1, k = 0; gz >= 0; gz--, k++) {
        int w = snprintf(tried[k], IDX_PATH_MAX, "%s%s%s%s", location, sep, idx_std_names[which], gz ? ".gz" : "");
        if (w < 0 || w >= IDX_PATH_MAX) return cl_fail("%s: data location too long (%zu characters)", shown[2], len);
        if (stat(tried[k], &st) == 0 && !S_ISDIR(st.st_mode)) {
            memcpy(out, tried[k], (size_t)w + 1);
            return 0;
        }
    }
    const char *hint = "";
    if (!is_dir && stat(location, &st) == 0)
        hint = " (the location is a file; pass the directory holding the four files, or a file-name prefix)";
    else if (!is_dir)
        hint = " (the location is not a directory, so it was used as a file-name prefix)";
    cl_data_show_path(shown[0], tried[0]);
    cl_data_show_path(shown[1], tried[1]);
    return cl_fail("no %s file found: tried %s and %s%s", idx_roles[which], shown[0], shown[1], hint);
}

/* Images and labels of one split, as read from the files. */
typedef struct idx_split {
    uint8_t *pix, *lab;
    int n, rows, cols;
} idx_split;

static void idx_split_free(idx_split *s)
{
    free(s->pix);
    free(s->lab);
    s->pix = s->lab = NULL;
}

/* path and shown (for messages) hold the four files; img and lab index the split's two. */
static int idx_load_split(idx_split *s, char path[][IDX_PATH_MAX], char shown[][CL_PATH_SHOW_CAP], int img, int lab)
{
    int nlab;
    memset(s, 0, sizeof *s);
    if (cl_idx_read_images(path[img], &s->pix, &s->n, &s->rows, &s->cols)) return -1;
    if (cl_idx_read_labels(path[lab], &s->lab, &nlab)) return -1;
    if (nlab != s->n)
        return cl_fail("%s has %d images but %s has %d labels; image and label counts must agree", shown[img], s->n,
                       shown[lab], nlab);
    return 0;
}

static int idx_check_labels(const idx_split *s, const char *lab_path, int nclasses)
{
    for (int i = 0; i < s->n; i++)
        if (s->lab[i] >= nclasses)
            return cl_fail("%s: label %d at sample %d (0-based) is out of range: expected 0..%d for %d classes",
                           lab_path, s->lab[i], i, nclasses - 1, nclasses);
    return 0;
}

/* EMNIST stores each image column-major; transposing in place through one image-sized scratch buffer. */
static void idx_transpose(idx_split *s)
{
    size_t dim = (size_t)s->rows * s->cols;
    uint8_t *tmp = cl_malloc(dim);
    for (int i = 0; i < s->n; i++) {
        uint8_t *img = s->pix + (size_t)i * dim;
        for (int r = 0; r < s->rows; r++)
            for (int c = 0; c < s->cols; c++) tmp[(size_t)c * s->rows + r] = img[(size_t)r * s->cols + c];
        memcpy(img, tmp, dim);
    }
    free(tmp);
    int t = s->rows;
    s->rows = s->cols;
    s->cols = t;
}

/* Move a split into a dataset (the pixel buffer changes owner; labels widen to int32). */
static void idx_fill(cl_dataset *d, idx_split *s, const char *name, const char *split, int nclasses)
{
    snprintf(d->name, sizeof d->name, "%s/%s", name, split);
    d->n = s->n;
    d->channels = 1;
    d->rows = s->rows;
    d->cols = s->cols;
    d->dim = s->rows * s->cols;
    d->nclasses = nclasses;
    d->pix = s->pix;
    d->feat = NULL;
    d->byte_valued = 1;
    d->labels = cl_malloc((size_t)s->n * sizeof *d->labels);
    for (int i = 0; i < s->n; i++) d->labels[i] = s->lab[i];
    s->pix = NULL;
    idx_split_free(s);
}

int cl_data_load_idx(cl_data *d, const char *name, const char *location, int nclasses, int transpose,
                     cl_labels_mode labels)
{
    memset(d, 0, sizeof *d);
    if (!name) name = "idx";
    if (!location || !*location) return cl_fail("%s: no data location given", name);
    if (nclasses < 0) return cl_fail("%s: nclasses must be >= 0 (0: from the labels), got %d", name, nclasses);
    char path[IDX_NFILES][IDX_PATH_MAX], shown[IDX_NFILES][CL_PATH_SHOW_CAP];
    for (int k = 0; k < IDX_NFILES; k++) {
        if (idx_locate(location, k, path[k])) return -1;
        cl_data_show_path(shown[k], path[k]);
    }

    idx_split tr, te;
    memset(&te, 0, sizeof te);
    int rc = idx_load_split(&tr, path, shown, IDX_TRAIN_IMAGES, IDX_TRAIN_LABELS);
    if (rc == 0) rc = idx_load_split(&te, path, shown, IDX_TEST_IMAGES, IDX_TEST_LABELS);
    if (rc == 0 && (tr.rows != te.rows || tr.cols != te.cols))
        rc = cl_fail("train/test geometry mismatch: %s holds %dx%d images but %s holds %dx%d images",
                     shown[IDX_TRAIN_IMAGES], tr.rows, tr.cols, shown[IDX_TEST_IMAGES], te.rows, te.cols);
    if (rc == 0 && nclasses > 0) rc = idx_check_labels(&tr, shown[IDX_TRAIN_LABELS], nclasses);
    if (rc == 0 && nclasses > 0) rc = idx_check_labels(&te, shown[IDX_TEST_LABELS], nclasses);
    if (rc) {
        idx_split_free(&tr);
        idx_split_free(&te);
        return -1;
    }
    if (transpose) {
        idx_transpose(&tr);
        idx_transpose(&te);
    }
    idx_fill(&d->train, &tr, name, "train", nclasses);
    idx_fill(&d->test, &te, name, "test", nclasses);
    if (nclasses == 0 && cl_data_number_labels(d, labels, shown[IDX_TRAIN_LABELS], shown[IDX_TEST_LABELS])) {
        cl_data_free(d);
        return -1;
    }
    for (int k = 0; k < IDX_NFILES; k++) d->files[d->nfiles++] = cl_strdup(path[k]);
    return 0;
}
