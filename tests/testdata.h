/* Small IDX and CIFAR files for tests, and ways to damage them.
 *
 * Header-only (static inline, so a test that uses only some helpers gets no unused-function warnings).
 * Every helper aborts with a message on an I/O failure: a test cannot go on without its input files.
 *
 * Typical use:
 *     char *dir = tu_mkdtemp();
 *     td_write_mnist(dir, "", 50, 20, 28, 28, 10, TD_GZIP);       // the four standard files, gzip
 *     ... cl_data_load_idx(&d, "t", dir, 10, 0) ...
 *     td_truncate(td_path(p, dir, "train-images-idx3-ubyte.gz"), 100); // a damaged copy
 *     tu_rmdir(dir);
 *
 *     td_write_cifar10(dir, 4, 6, TD_RAW);   // data_batch_1..5.bin of 4 records each, test_batch.bin of 6
 *
 * Content is a known function of the indices (td_pixel, td_label, td_cifar_pixel, td_cifar_label), so a
 * reader's output can be checked byte by byte without keeping the written buffers around. */
#ifndef CLREG_TESTDATA_H
#define CLREG_TESTDATA_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

enum { TD_RAW = 0, TD_GZIP = 1 };

#define TD_MAGIC_LABELS 0x00000801u
#define TD_MAGIC_IMAGES 0x00000803u

/* Pixel (r, c) of image i in the generated files; `salt` lets train and test (or two versions of one
 * file) differ. */
static inline uint8_t td_pixel(int i, int r, int c, int salt)
{
    return (uint8_t)(i * 31 + r * 7 + c * 3 + salt * 101);
}

/* Label of sample i, in [0, nclasses). */
static inline uint8_t td_label(int i, int nclasses, int salt)
{
    return (uint8_t)((i * 7 + 3 + salt) % nclasses);
}

/* dir + "/" + name into buf (PATH_MAX-sized is plenty); returns buf so calls can be nested. */
static inline char *td_path(char *buf, const char *dir, const char *name)
{
    snprintf(buf, 4096, "%s/%s", dir, name);
    return buf;
}

static inline void td_die(const char *what, const char *path)
{
    fprintf(stderr, "testdata: %s %s failed\n", what, path);
    abort();
}

static inline void td_put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* Write bytes to a file as they are (TD_RAW) or gzip-compressed (TD_GZIP). */
static inline void td_write_bytes(const char *path, const void *data, size_t n, int gz)
{
    if (!gz) {
        FILE *f = fopen(path, "wb");
        if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) td_die("writing", path);
        return;
    }
    gzFile g = gzopen(path, "wb");
    if (!g) td_die("gzopen", path);
    if (n && gzwrite(g, data, (unsigned)n) != (int)n) td_die("gzwrite", path);
    if (gzclose(g) != Z_OK) td_die("gzclose", path);
}

/* The general writer: any magic number, any dimension values (ndims of them, at most 4), then `len`
 * payload bytes. Use it for deliberately wrong headers (bad magic, zero or absurd dimensions, a header
 * that disagrees with the payload length). */
static inline void td_write_idx(const char *path, uint32_t magic, const uint32_t *dims, int ndims,
                                const uint8_t *payload, size_t len, int gz)
{
    size_t hlen = 4 + 4 * (size_t)ndims;
    unsigned char *buf = malloc(hlen + len + 1);
    if (!buf) td_die("malloc for", path);
    td_put_be32(buf, magic);
    for (int i = 0; i < ndims; i++) td_put_be32(buf + 4 + 4 * i, dims[i]);
    if (len) memcpy(buf + hlen, payload, len);
    td_write_bytes(path, buf, hlen + len, gz);
    free(buf);
}

/* A valid idx3-ubyte image file of n images of rows x cols, filled with td_pixel(i, r, c, salt). */
static inline void td_write_images(const char *path, int n, int rows, int cols, int salt, int gz)
{
    size_t dim = (size_t)rows * cols;
    uint8_t *pix = malloc(n * dim + 1);
    if (!pix) td_die("malloc for", path);
    for (int i = 0; i < n; i++)
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) pix[i * dim + (size_t)r * cols + c] = td_pixel(i, r, c, salt);
    uint32_t dims[3] = {(uint32_t)n, (uint32_t)rows, (uint32_t)cols};
    td_write_idx(path, TD_MAGIC_IMAGES, dims, 3, pix, n * dim, gz);
    free(pix);
}

/* A valid idx1-ubyte label file of n labels td_label(i, nclasses, salt). */
static inline void td_write_labels(const char *path, int n, int nclasses, int salt, int gz)
{
    uint8_t *lab = malloc((size_t)n + 1);
    if (!lab) td_die("malloc for", path);
    for (int i = 0; i < n; i++) lab[i] = td_label(i, nclasses, salt);
    uint32_t dims[1] = {(uint32_t)n};
    td_write_idx(path, TD_MAGIC_LABELS, dims, 1, lab, (size_t)n, gz);
    free(lab);
}

/* The four files of an MNIST-style train/test pair in dir, named prefix + the standard names
 * (+ ".gz" when gz). Train uses salt 0, test salt 1. */
static inline void td_write_mnist(const char *dir, const char *prefix, int ntrain, int ntest, int rows, int cols,
                                  int nclasses, int gz)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char path[4096];
    for (int k = 0; k < 4; k++) {
        snprintf(path, sizeof path, "%s/%s%s%s", dir, prefix, names[k], gz ? ".gz" : "");
        int n = k < 2 ? ntrain : ntest, salt = k < 2 ? 0 : 1;
        if (k % 2 == 0)
            td_write_images(path, n, rows, cols, salt, gz);
        else
            td_write_labels(path, n, nclasses, salt, gz);
    }
}

static inline long td_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) td_die("stat", path);
    return (long)st.st_size;
}

/* Cut a file down to its first k bytes (a download that stopped early). */
static inline void td_truncate(const char *path, long k)
{
    if (truncate(path, k) != 0) td_die("truncate", path);
}

/* Overwrite n bytes at offset (offset < 0 counts from the end: -8 is the gzip CRC, -4 the gzip length). */
static inline void td_overwrite(const char *path, long offset, const void *bytes, size_t n)
{
    if (offset < 0) offset += td_file_size(path);
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, offset, SEEK_SET) != 0 || fwrite(bytes, 1, n, f) != n || fclose(f) != 0)
        td_die("overwriting", path);
}

/* Flip every bit of the byte at offset (a corruption that never leaves the byte unchanged). */
static inline void td_flip_byte(const char *path, long offset)
{
    if (offset < 0) offset += td_file_size(path);
    FILE *f = fopen(path, "r+b");
    if (!f || fseek(f, offset, SEEK_SET) != 0) td_die("opening", path);
    int c = fgetc(f);
    if (c == EOF || fseek(f, offset, SEEK_SET) != 0 || fputc(c ^ 0xff, f) == EOF || fclose(f) != 0)
        td_die("flipping a byte of", path);
}

/* Append n bytes to a file (trailing garbage after the data). */
static inline void td_append(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "ab");
    if (!f || fwrite(bytes, 1, n, f) != n || fclose(f) != 0) td_die("appending to", path);
}

/* Write a text file (CSV inputs, a fake HTML page in place of an IDX file, ...). */
static inline void td_write_text(const char *path, const char *text)
{
    td_write_bytes(path, text, strlen(text), TD_RAW);
}

/* ---- CIFAR -------------------------------------------------------------------------------------- */

enum { TD_CIFAR10 = 1, TD_CIFAR100 = 2 };   /* the label bytes of a record */
#define TD_CIFAR_PIXELS 3072

/* Pixel (channel ch, row r, column c) of record i (counted over a split's files, in order). */
static inline uint8_t td_cifar_pixel(int i, int ch, int r, int c, int salt)
{
    return (uint8_t)(i * 31 + ch * 57 + r * 7 + c * 3 + salt * 101);
}

/* Label byte b of record i: CIFAR-10's label (0..9) when the record has one label byte; for CIFAR-100 byte 0
 * is the coarse label (0..19), byte 1 the fine label (0..99). */
static inline uint8_t td_cifar_label(int i, int label_bytes, int b, int salt)
{
    if (label_bytes == TD_CIFAR10) return (uint8_t)((i * 7 + 3 + salt) % 10);
    return b == 0 ? (uint8_t)((i * 3 + salt) % 20) : (uint8_t)((i * 7 + 3 + salt) % 100);
}

/* n records i0 .. i0+n-1 of a CIFAR file (label_bytes TD_CIFAR10 or TD_CIFAR100) into a malloc'd buffer. */
static inline uint8_t *td_cifar_records(int i0, int n, int label_bytes, int salt, size_t *len)
{
    size_t R = (size_t)label_bytes + TD_CIFAR_PIXELS;
    uint8_t *buf = malloc(R * (size_t)n + 1);
    if (!buf) td_die("malloc for", "CIFAR records");
    for (int k = 0; k < n; k++) {
        uint8_t *rec = buf + R * (size_t)k;
        for (int b = 0; b < label_bytes; b++) rec[b] = td_cifar_label(i0 + k, label_bytes, b, salt);
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    rec[label_bytes + ch * 1024 + r * 32 + c] = td_cifar_pixel(i0 + k, ch, r, c, salt);
    }
    *len = R * (size_t)n;
    return buf;
}

/* One CIFAR file of records i0 .. i0+n-1, raw or gzip-compressed. */
static inline void td_write_cifar_file(const char *path, int i0, int n, int label_bytes, int salt, int gz)
{
    size_t len;
    uint8_t *buf = td_cifar_records(i0, n, label_bytes, salt, &len);
    td_write_bytes(path, buf, len, gz);
    free(buf);
}

/* CIFAR-10's six files in dir: data_batch_1..5.bin of per_batch records each (train records numbered across
 * the batches, salt 0) and test_batch.bin of ntest (salt 1); with TD_GZIP each named .bin.gz. */
static inline void td_write_cifar10(const char *dir, int per_batch, int ntest, int gz)
{
    char path[8192]; /* the directory may be a long path itself */
    for (int b = 1; b <= 5; b++) {
        snprintf(path, sizeof path, "%s/data_batch_%d.bin%s", dir, b, gz ? ".gz" : "");
        td_write_cifar_file(path, (b - 1) * per_batch, per_batch, TD_CIFAR10, 0, gz);
    }
    snprintf(path, sizeof path, "%s/test_batch.bin%s", dir, gz ? ".gz" : "");
    td_write_cifar_file(path, 0, ntest, TD_CIFAR10, 1, gz);
}

/* CIFAR-100's train.bin (ntrain records, salt 0) and test.bin (ntest, salt 1) in dir. */
static inline void td_write_cifar100(const char *dir, int ntrain, int ntest, int gz)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/train.bin%s", dir, gz ? ".gz" : "");
    td_write_cifar_file(path, 0, ntrain, TD_CIFAR100, 0, gz);
    snprintf(path, sizeof path, "%s/test.bin%s", dir, gz ? ".gz" : "");
    td_write_cifar_file(path, 0, ntest, TD_CIFAR100, 1, gz);
}

/* 1 when msg contains every one of the NULL-terminated strings; otherwise prints the message and what
 * is missing (to stderr) and returns 0. For error-message checks: assert_true(td_has_all(cl_errmsg(),
 * path, "truncated", NULL)). A message must also be one line: a newline inside counts as a failure. */
static inline __attribute__((sentinel)) int td_has_all(const char *msg, ...)
{
    int ok = strchr(msg, '\n') == NULL;
    if (!ok) fprintf(stderr, "message has a newline: [%s]\n", msg);
    va_list ap;
    va_start(ap, msg);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;)
        if (!strstr(msg, w)) {
            fprintf(stderr, "message [%s] lacks [%s]\n", msg, w);
            ok = 0;
        }
    va_end(ap);
    return ok;
}

#endif
