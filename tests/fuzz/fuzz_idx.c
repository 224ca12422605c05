/* Fuzz target: the IDX reader (datasets/idx.c), raw and gzip, one file or a train/test set of four.
 *
 * Input: one mode byte, then the payload.
 *   bit 0    one file: 0 images (cl_idx_read_images), 1 labels (cl_idx_read_labels)
 *   bit 1    gzip: the target compresses each file itself, so mutations of the IDX bytes reach the parser
 *            behind zlib; without it the bytes are the file (a gzip file in the corpus then exercises
 *            damaged compressed streams)
 *   bit 2    a set: the payload is four files separated by FZ_SEPARATOR (train images, train labels, test
 *            images, test labels), opened through cl_data_open like --data-path DIR
 *   bits 3-4 the set's dataset name: mnist (10 classes), idx (classes from the labels), emnist (transposed,
 *            classes from the labels), kmnist (10 classes)
 *   bit 5    CIFAR instead (datasets/cifar.c): bits 3-4 choose cifar10 (the payload is data_batch_1..5.bin
 *            and test_batch.bin), cifar100 or cifar100-coarse (train.bin and test.bin), each file gzip'd by
 *            the target with bit 1. A success must hold exactly the records' bytes: 3x32x32 images, as many
 *            as whole records, the pixels equal to the record's, the labels its label byte. */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "datasets/dataset.h"

enum { IDX_BIT_LABELS = 1, IDX_BIT_GZIP = 2, IDX_BIT_SET = 4 };

static const char *const std_names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

static uint32_t be32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | (uint32_t)b[3];
}

static int is_gzip(const uint8_t *b, size_t n) { return n >= 2 && b[0] == 0x1f && b[1] == 0x8b; }

/* A file as the target writes it: the bytes, or their gzip. *owned is the buffer to free, if any. */
static const uint8_t *encode(const uint8_t *raw, size_t n, int gzip, size_t *outlen, uint8_t **owned)
{
    *owned = NULL;
    *outlen = n;
    if (!gzip) return raw;
    *owned = fz_gzip(raw, n, outlen);
    return *owned;
}

/* ---- one file ----------------------------------------------------------------------------------------- */

/* Whether the uncompressed bytes are a well-formed IDX file of the kind asked for, with small dimensions:
 * such a file must be accepted (the reader may refuse large headers, not small valid ones). */
static int valid_small(const uint8_t *b, size_t n, int labels)
{
    if (labels) return n >= 8 && be32(b) == 0x801 && be32(b + 4) > 0 && be32(b + 4) <= 4096 && n == 8 + be32(b + 4);
    if (n < 16 || be32(b) != 0x803) return 0;
    uint64_t c = be32(b + 4), r = be32(b + 8), k = be32(b + 12);
    return c > 0 && r > 0 && k > 0 && c <= 4096 && r <= 256 && k <= 256 && n == 16 + c * r * k;
}

static void one_file(const uint8_t *raw, size_t n, int labels, int gzip)
{
    size_t flen;
    uint8_t *owned;
    const uint8_t *file = encode(raw, n, gzip, &flen, &owned);
    const char *path = fz_memfile(0, file, flen);
    /* When the bytes given are themselves gzip, what the reader sees is not `raw`: only the shape is checked. */
    int known = gzip || !is_gzip(raw, n);
    uint8_t *buf = NULL;
    int count = 0, rows = 1, cols = 1, rc;
    size_t header = labels ? 8 : 16;
    if (labels) rc = cl_idx_read_labels(path, &buf, &count);
    else rc = cl_idx_read_images(path, &buf, &count, &rows, &cols);
    const char *call = labels ? "cl_idx_read_labels" : "cl_idx_read_images";
    if (rc) {
        fz_check_message(call, &path, 1);
        if (known && valid_small(raw, n, labels)) fz_violation("%s refused a valid file: %s", call, cl_errmsg());
    } else {
        if (count <= 0 || rows <= 0 || cols <= 0 || !buf)
            fz_violation("%s accepted %d items of %dx%d", call, count, rows, cols);
        size_t want = (size_t)count * (size_t)rows * (size_t)cols;
        if (known && (n != header + want || memcmp(buf, raw + header, want) != 0))
            fz_violation("%s: %zu input bytes gave %d items of %dx%d that are not the bytes after the header", call,
                         n, count, rows, cols);
        if (!known) (void)buf[want - 1]; /* the buffer holds what it claims (ASan checks the access) */
    }
    free(buf);
    free(owned);
}

/* ---- a set of four files ------------------------------------------------------------------------------- */

static const char *set_dir;

/* The directory holding the four standard names, each a symlink to one memory file, made once. */
static const char *set_directory(void)
{
    if (set_dir) return set_dir;
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/idx", fz_workdir());
    char link[600];
    if (mkdir(dir, 0755) != 0) {
        perror(dir);
        abort();
    }
    for (int k = 0; k < 4; k++) {
        const char *target = fz_memfile(k, "", 0);
        snprintf(link, sizeof link, "%s/%s", dir, std_names[k]);
        if (symlink(target, link) != 0) {
            perror(link);
            abort();
        }
    }
    set_dir = dir;
    return dir;
}

static void check_split(const cl_dataset *s, const uint8_t *img, size_t nimg, int known, int transpose)
{
    if (s->n <= 0 || s->rows <= 0 || s->cols <= 0 || s->dim != s->rows * s->cols || !s->pix || !s->labels)
        fz_violation("cl_data_open accepted %s with %d samples of %dx%d (dim %d)", s->name, s->n, s->rows, s->cols,
                     s->dim);
    for (int i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->nclasses)
            fz_violation("%s: label %d of sample %d is outside 0..%d", s->name, s->labels[i], i, s->nclasses - 1);
    if (!known) return;
    /* file rows/cols (as stored) */
    int fr = transpose ? s->cols : s->rows, fc = transpose ? s->rows : s->cols;
    if (nimg != 16 + (size_t)s->n * s->dim)
        fz_violation("%s: %d images of %dx%d from a file of %zu bytes", s->name, s->n, s->rows, s->cols, nimg);
    for (int i = 0; i < s->n; i++)
        for (int r = 0; r < fr; r++)
            for (int c = 0; c < fc; c++) {
                uint8_t want = img[16 + ((size_t)i * fr + r) * fc + c];
                size_t at = (size_t)i * s->dim + (transpose ? (size_t)c * fr + r : (size_t)r * fc + c);
                if (s->pix[at] != want) fz_violation("%s: image %d pixel (%d, %d) differs from the file", s->name, i, r, c);
            }
}

static void file_set(const uint8_t *payload, size_t n, int gzip, int which)
{
    static const struct {
        const char *name;
        int nclasses, transpose;
    } kinds[4] = {{"mnist", 10, 0}, {"idx", 0, 0}, {"emnist", 0, 1}, {"kmnist", 10, 0}};
    const uint8_t *part[4];
    size_t len[4];
    int np = fz_split(payload, n, part, len, 4, 0);
    for (int k = np; k < 4; k++) part[k] = payload + n, len[k] = 0; /* missing files are empty */
    const char *dir = set_directory();
    int known = 1;
    for (int k = 0; k < 4; k++) {
        size_t flen;
        uint8_t *owned;
        const uint8_t *file = encode(part[k], len[k], gzip, &flen, &owned);
        fz_memfile(k, file, flen);
        free(owned);
        known &= gzip || !is_gzip(part[k], len[k]);
    }
    cl_data d;
    int rc = cl_data_open(&d, kinds[which].name, dir, 1);
    if (rc) {
        char paths[4][600];
        const char *p[4];
        for (int k = 0; k < 4; k++) {
            snprintf(paths[k], sizeof paths[k], "%s/%s", dir, std_names[k]);
            p[k] = paths[k];
        }
        fz_check_message("cl_data_open", p, 4);
    } else {
        if (d.train.nclasses != d.test.nclasses || d.train.nclasses < 1 ||
            (kinds[which].nclasses && d.train.nclasses != kinds[which].nclasses))
            fz_violation("cl_data_open(%s): %d train and %d test classes", kinds[which].name, d.train.nclasses,
                         d.test.nclasses);
        if (d.train.rows != d.test.rows || d.train.cols != d.test.cols)
            fz_violation("cl_data_open(%s): train %dx%d and test %dx%d images", kinds[which].name, d.train.rows,
                         d.train.cols, d.test.rows, d.test.cols);
        check_split(&d.train, part[0], len[0], known, kinds[which].transpose);
        check_split(&d.test, part[2], len[2], known, kinds[which].transpose);
    }
    cl_data_free(&d);
}

/* ---- CIFAR ------------------------------------------------------------------------------------------------ */

static void check_cifar_split(const cl_dataset *s, const uint8_t *const *part, const size_t *len, int nfiles,
                              int recsize, int labelbyte, int nclasses, int known)
{
    if (s->channels != 3 || s->rows != 32 || s->cols != 32 || s->dim != 3072 || s->n <= 0 || !s->pix ||
        s->nclasses != nclasses)
        fz_violation("%s: %d samples of %dx%dx%d (dim %d), %d classes", s->name, s->n, s->channels, s->rows, s->cols,
                     s->dim, s->nclasses);
    for (int i = 0; i < s->n; i++)
        if (s->labels[i] < 0 || s->labels[i] >= s->nclasses)
            fz_violation("%s: label %d of sample %d is outside 0..%d", s->name, s->labels[i], i, s->nclasses - 1);
    if (!known) return;
    int i = 0;
    for (int f = 0; f < nfiles; f++) {
        if (len[f] % (size_t)recsize) fz_violation("%s: file %d of %zu bytes accepted", s->name, f, len[f]);
        for (size_t r = 0; r < len[f] / (size_t)recsize; r++, i++) {
            const uint8_t *rec = part[f] + r * (size_t)recsize;
            if (i >= s->n) fz_violation("%s: fewer samples (%d) than records", s->name, s->n);
            if (s->labels[i] != rec[labelbyte]) fz_violation("%s: sample %d's label is not its record's", s->name, i);
            if (memcmp(s->pix + (size_t)i * 3072, rec + recsize - 3072, 3072))
                fz_violation("%s: sample %d's pixels are not its record's", s->name, i);
        }
    }
    if (i != s->n) fz_violation("%s: %d samples from %d records", s->name, s->n, i);
}

static void cifar_set(const uint8_t *payload, size_t n, int gzip, int which)
{
    static const char *const names10[6] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                           "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"};
    static const char *const names100[2] = {"train.bin", "test.bin"};
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/cifar", fz_workdir());
        if (mkdir(dir, 0755) != 0) {
            perror(dir);
            abort();
        }
    }
    int ten = which == 0 || which == 3, nfiles = ten ? 6 : 2, recsize = ten ? 3073 : 3074;
    const char *const *names = ten ? names10 : names100;
    const char *dataset = ten ? "cifar10" : which == 1 ? "cifar100" : "cifar100-coarse";
    const uint8_t *part[6];
    size_t len[6];
    int np = fz_split(payload, n, part, len, nfiles, 0);
    for (int k = np; k < nfiles; k++) part[k] = payload + n, len[k] = 0;
    int known = 1;
    for (int k = 0; k < nfiles; k++) {
        size_t flen;
        uint8_t *owned;
        const uint8_t *file = encode(part[k], len[k], gzip, &flen, &owned);
        fz_write(dir, names[k], file, flen);
        free(owned);
        known &= gzip || !is_gzip(part[k], len[k]);
    }
    cl_data d;
    if (cl_data_open(&d, dataset, dir, 1)) {
        char paths[7][600];
        const char *p[7];
        for (int k = 0; k < nfiles; k++) {
            snprintf(paths[k], sizeof paths[k], "%s/%s", dir, names[k]);
            p[k] = paths[k];
        }
        p[nfiles] = dir;
        fz_check_message("cl_data_open", p, nfiles + 1);
        return;
    }
    int labelbyte = ten ? 0 : which == 1 ? 1 : 0, nclasses = ten ? 10 : which == 1 ? 100 : 20;
    check_cifar_split(&d.train, part, len, nfiles - 1, recsize, labelbyte, nclasses, known);
    check_cifar_split(&d.test, part + nfiles - 1, len + nfiles - 1, 1, recsize, labelbyte, nclasses, known);
    cl_data_free(&d);
}

int cl_fuzz_idx(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int mode = data[0];
    if (mode & 0x20) cifar_set(data + 1, size - 1, mode & IDX_BIT_GZIP, (mode >> 3) & 3);
    else if (mode & IDX_BIT_SET) file_set(data + 1, size - 1, mode & IDX_BIT_GZIP, (mode >> 3) & 3);
    else one_file(data + 1, size - 1, mode & IDX_BIT_LABELS, mode & IDX_BIT_GZIP);
    return 0;
}

#ifdef CL_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cl_fuzz_idx(data, size); }
#endif
