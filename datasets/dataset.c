/* Freeing datasets, opening one by the name the command line and grid files use, and what the readers
 * share: refusing files that are not regular files, quoting user text, numbering classes from labels. */
#include "datasets/dataset.h"
#include "datasets/dataint.h"
#include "core/error.h"
#include "core/names.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

void cl_dataset_free(cl_dataset *d)
{
    if (!d) return;
    free(d->pix);
    free(d->feat);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void cl_data_free(cl_data *d)
{
    if (!d) return;
    cl_dataset_free(&d->train);
    cl_dataset_free(&d->test);
    for (int i = 0; i < d->nfiles; i++) free(d->files[i]);
    d->nfiles = 0;
    free(d->class_label);
    d->class_label = NULL;
}

/* ---- files ---------------------------------------------------------------------------------------- */

static const char *file_kind(mode_t m)
{
    if (S_ISDIR(m)) return "a directory";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISFIFO(m)) return "a FIFO or pipe";
    if (S_ISSOCK(m)) return "a socket";
    return "not a regular file";
}

static int not_regular(const char *path, mode_t m, const char *expected)
{
    char shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(shown, path);
    path = shown;
    if (S_ISDIR(m)) return cl_fail("%s: is a directory, expected %s", path, expected);
    return cl_fail("%s: is %s, not a regular file; expected %s (devices, pipes and <(...) cannot be read: save "
                   "the data to a file)", path, file_kind(m), expected);
}

int cl_data_open_regular(const char *path, const char *expected, off_t *size)
{
    struct stat st, fst;
    char shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(shown, path);
    if (stat(path, &st) != 0) return cl_fail("%s: cannot open: %s", shown, strerror(errno));
    if (!S_ISREG(st.st_mode)) return not_regular(path, st.st_mode, expected);
    /* O_NONBLOCK: should a FIFO have been swapped in since the stat, open must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return cl_fail("%s: cannot open: %s", shown, strerror(errno));
    if (fstat(fd, &fst) != 0) {
        int rc = cl_fail("%s: cannot read: %s", shown, strerror(errno));
        close(fd);
        return rc;
    }
    if (!S_ISREG(fst.st_mode)) {
        close(fd);
        return not_regular(path, fst.st_mode, expected);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0) fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    *size = fst.st_size;
    return fd;
}

void cl_data_show(char *dst, const char *s, size_t show)
{
    /* show characters of at most 4 bytes each (an escape or a UTF-8 character), then "..." and the NUL */
    cl_quote_n(dst, show * 4 + 4, s, show);
}

void cl_data_show_path(char *dst, const char *path)
{
    size_t n = strlen(path), tail = CL_PATH_SHOW - 44;
    if (n <= CL_PATH_SHOW) {
        cl_data_show(dst, path, CL_PATH_SHOW);
        return;
    }
    cl_data_show(dst, path, 40); /* ends in "..." */
    cl_data_show(dst + strlen(dst), path + n - tail, tail);
}

/* ---- reading (gzip or raw) ----------------------------------------------------------------------- */

#define GZ_READ_MAX (1u << 30) /* gzread takes an unsigned length and returns an int */

int cl_gzfile_open(cl_gzfile *f, const char *path, const char *expected)
{
    cl_data_show_path(f->shown, path);
    f->path = f->shown;
    f->gz = NULL;
    f->gzip = 0;
    off_t size;
    int fd = cl_data_open_regular(path, expected, &size);
    if (fd < 0) return -1;
    unsigned char m[2];
    ssize_t got = pread(fd, m, sizeof m, 0);
    if (got < 0) {
        int rc = cl_fail("%s: cannot read: %s", f->path, strerror(errno));
        close(fd);
        return rc;
    }
    f->gzip = got == 2 && m[0] == 0x1f && m[1] == 0x8b;
    f->gz = gzdopen(fd, "rb"); /* owns fd from here: gzclose closes it */
    if (!f->gz) {
        close(fd);
        return cl_fail("%s: cannot open: %s", f->path, errno ? strerror(errno) : "zlib could not open it");
    }
    gzbuffer(f->gz, 1u << 15); /* fewer read calls than zlib's 8 KiB default; 32 KiB keeps it below ASan's
                                * mmap threshold, so fuzzing the reader stays fast (real files load as fast) */
    return 0;
}

void cl_gzfile_close(cl_gzfile *f)
{
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Turn zlib's error state into one message. Z_BUF_ERROR is zlib's "the compressed data ended early". No
 * byte position is given: gzread drops the part of a read that preceded an error, so it would be wrong. */
static int gzfile_fail(cl_gzfile *f)
{
    int err = Z_OK;
    const char *zmsg = gzerror(f->gz, &err);
    /* zlib puts its name for the file in front ("<fd:3>: " for a descriptor); the message names the file */
    const char *cut = strncmp(zmsg, "<fd:", 4) == 0 ? strstr(zmsg, ">: ") : NULL;
    if (cut) zmsg = cut + 3;
    if (err == Z_ERRNO) return cl_fail("%s: read error: %s", f->path, strerror(errno));
    if (!f->gzip) return cl_fail("%s: read error: %s", f->path, zmsg);
    if (err == Z_BUF_ERROR)
        return cl_fail("%s: truncated gzip stream: the compressed data ends early (%s; incomplete download?)",
                       f->path, zmsg);
    return cl_fail("%s: corrupt gzip stream: %s (the file is damaged; fetch it again)", f->path, zmsg);
}

long long cl_gzfile_read(cl_gzfile *f, void *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        size_t want = len - got < GZ_READ_MAX ? len - got : GZ_READ_MAX;
        int r = gzread(f->gz, (char *)buf + got, (unsigned)want);
        if (r < 0) return gzfile_fail(f);
        if (r == 0) break;
        got += (size_t)r;
    }
    /* A short read is either the real end of the data or an error that gzread reported as end of file. */
    int err = Z_OK;
    gzerror(f->gz, &err);
    if (err != Z_OK) return gzfile_fail(f);
    return (long long)got;
}

/* ---- classes from labels -------------------------------------------------------------------------- */

int cl_labels_mode_parse(const char *s, cl_labels_mode *out)
{
    if (!strcmp(s, "index")) return *out = CL_LABELS_INDEX, 0;
    if (!strcmp(s, "remap")) return *out = CL_LABELS_REMAP, 0;
    char shown[64 * 4 + 4];
    cl_data_show(shown, s, 64);
    return cl_fail("expected index (the labels are the classes 0..K-1) or remap (number the distinct labels "
                   "0..K-1), got '%s'", shown);
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The distinct values of labels[0..n), sorted; returns their count (the array is malloc'd into *out). */
static int distinct_labels(const int32_t *labels, int n, int32_t **out)
{
    int32_t *u = cl_malloc(sizeof *u * (size_t)(n ? n : 1));
    memcpy(u, labels, sizeof *u * (size_t)n);
    qsort(u, (size_t)n, sizeof *u, cmp_i32);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (k == 0 || u[i] != u[k - 1]) u[k++] = u[i];
    *out = u;
    return k;
}

static int find_label(const int32_t *u, int k, int32_t v)
{
    const int32_t *hit = bsearch(&v, u, (size_t)k, sizeof *u, cmp_i32);
    return hit ? (int)(hit - u) : -1;
}

/* "1, 2, 3, 5, 8 and 2990 more": the first few classes of 0..hi that are not among the k sorted, distinct
 * labels u (all in 0..hi, so hi + 1 - k are absent). Returns that count. */
static long absent_classes(const int32_t *u, int k, int32_t hi, char *buf, size_t cap)
{
    long count = (long)hi + 1 - k;
    int shown = 0;
    size_t len = 0;
    buf[0] = 0;
    for (int32_t c = 0, j = 0; c <= hi && shown < 5; c++) {
        while (j < k && u[j] < c) j++;
        if (j < k && u[j] == c) continue;
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", shown ? ", " : "", (int)c);
        shown++;
    }
    if (count > shown) snprintf(buf + len, cap - len, " and %ld more", count - shown);
    return count;
}

int cl_data_number_labels(cl_data *d, cl_labels_mode mode, const char *train_file, const char *test_file)
{
    int32_t *u;
    int k = distinct_labels(d->train.labels, d->train.n, &u);
    int rc = 0;
    int32_t lo = k ? u[0] : 0, hi = k ? u[k - 1] : 0;
    /* A test label without training samples is a class the network cannot learn (and, in a split stream,
     * a task without training data): the same error in both modes. */
    for (int i = 0; i < d->test.n && rc == 0; i++)
        if (find_label(u, k, d->test.labels[i]) < 0)
            rc = cl_fail("%s: test label %d (sample %d, 0-based) never occurs in the training labels of %s (%d "
                         "distinct labels in %d..%d): a class without training samples cannot be learned",
                         test_file, (int)d->test.labels[i], i, train_file, k, (int)lo, (int)hi);
    if (rc == 0 && mode == CL_LABELS_INDEX && (lo != 0 || hi != k - 1)) {
        char absent[160];
        long na = absent_classes(u, k, hi, absent, sizeof absent);
        rc = cl_fail("%s: the labels are not the classes 0..K-1: %d distinct labels in %d..%d, so %ld of the "
                     "classes 0..%d ha%s no training sample (%s); pass --labels remap (grid: labels = remap) to "
                     "number the %d distinct labels 0..%d in increasing order", train_file, k, (int)lo, (int)hi,
                     na, (int)hi, na == 1 ? "s" : "ve", absent, k, k - 1);
    }
    if (rc == 0 && k > CL_MAX_CLASSES)
        rc = cl_fail("%s: %d distinct labels in %d..%d: more than %d classes (the limit for one dataset); is the "
                     "label column right?", train_file, k, (int)lo, (int)hi, CL_MAX_CLASSES);
    if (rc == 0 && k < 2)
        rc = cl_fail("%s: every training label is %d: one class, nothing to classify (at least 2 classes are "
                     "needed)", train_file, (int)lo);
    if (rc) {
        free(u);
        return -1;
    }
    if (mode == CL_LABELS_REMAP) {
        /* lo..hi may be 0..K-1 already; the table is kept anyway so that what was asked for is on record. */
        cl_dataset *sets[2] = {&d->train, &d->test};
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < sets[s]->n; i++) sets[s]->labels[i] = find_label(u, k, sets[s]->labels[i]);
        d->class_label = u;
    } else {
        free(u);
    }
    d->train.nclasses = d->test.nclasses = k;
    return 0;
}

typedef enum { SRC_IDX, SRC_CSV, SRC_SYNTHETIC, SRC_CIFAR } data_source;

/* The name table of cl_data_open (documented in dataset.h). */
typedef struct data_entry {
    const char *name;
    data_source src;
    int nclasses;          /* IDX: expected classes, 0 = from the labels; CIFAR: its classes */
    int transpose;         /* IDX: images stored column-major; CIFAR: the cl_cifar_kind */
    const char *default_path; /* NULL: --data-path is required (except for synthetic data) */
} data_entry;

static const data_entry data_table[] = {
    {"fashion-mnist", SRC_IDX, 10, 0, CL_FASHION_MNIST_DIR},
    {"mnist", SRC_IDX, 10, 0, NULL},
    {"kmnist", SRC_IDX, 10, 0, NULL},
    {"emnist", SRC_IDX, 0, 1, NULL},
    {"idx", SRC_IDX, 0, 0, NULL},
    {"cifar10", SRC_CIFAR, 10, CL_CIFAR10, NULL},
    {"cifar100", SRC_CIFAR, 100, CL_CIFAR100, NULL},
    {"cifar100-coarse", SRC_CIFAR, 20, CL_CIFAR100_COARSE, NULL},
    {"csv", SRC_CSV, 0, 0, NULL},
    {"synthetic", SRC_SYNTHETIC, 0, 0, NULL},
};
#define DATA_TABLE_LEN ((int)(sizeof data_table / sizeof data_table[0]))

/* "fashion-mnist, mnist, ..." for messages. */
static void data_names(char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < DATA_TABLE_LEN && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%s", i ? ", " : "", data_table[i].name);
}

static int data_missing_path(const data_entry *e)
{
    if (e->src == SRC_CSV)
        return cl_fail("dataset 'csv' needs --data-path TRAIN.csv,TEST.csv (two files separated by a comma)");
    /* No Debian package ships CIFAR: say where it comes from and what the directory must hold. */
    if (e->src == SRC_CIFAR && e->transpose == CL_CIFAR10)
        return cl_fail("dataset 'cifar10' needs --data-path DIR: download the CIFAR-10 binary version "
                       "(cifar-10-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html) and pass the "
                       "directory it unpacks to, cifar-10-batches-bin, which holds data_batch_1.bin .. "
                       "data_batch_5.bin and test_batch.bin (each may be gzip-compressed as .bin.gz)");
    if (e->src == SRC_CIFAR)
        return cl_fail("dataset '%s' needs --data-path DIR: download the CIFAR-100 binary version "
                       "(cifar-100-binary.tar.gz from https://www.cs.toronto.edu/~kriz/cifar.html) and pass the "
                       "directory it unpacks to, cifar-100-binary, which holds train.bin and test.bin (each may be "
                       "gzip-compressed as .bin.gz)", e->name);
    return cl_fail("dataset '%s' needs --data-path: a directory holding train-images-idx3-ubyte[.gz], "
                   "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz], "
                   "or a file-name prefix such as .../emnist-balanced- (only fashion-mnist and synthetic work "
                   "without --data-path)", e->name);
}

/* path is "train.csv,test.csv"; split at the last comma so a comma inside the train directory name is kept
 * (file names with commas in the test part cannot be expressed, which is the lesser evil). */
static int data_open_csv(cl_data *d, const char *path, const cl_data_opts *opts)
{
    const char *comma = strrchr(path, ',');
    char shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(shown, path);
    if (!comma || comma == path || !comma[1])
        return cl_fail("dataset 'csv': --data-path must be TRAIN.csv,TEST.csv (two files separated by a comma), "
                       "got '%s'", shown);
    size_t n = (size_t)(comma - path);
    char *train = cl_malloc(n + 1);
    memcpy(train, path, n);
    train[n] = 0;
    cl_csv_opts co = {.label_column = opts->label_column, .header = -1, .labels = opts->labels};
    int rc = cl_data_load_csv(d, train, comma + 1, &co);
    free(train);
    return rc;
}

int cl_data_check_name(const char *name)
{
    const char *names[DATA_TABLE_LEN + 1];
    for (int i = 0; i < DATA_TABLE_LEN; i++) {
        if (strcasecmp(name, data_table[i].name) == 0) return 0;
        names[i] = data_table[i].name;
    }
    names[DATA_TABLE_LEN] = NULL;
    char list[256];
    data_names(list, sizeof list);
    const char *near = cl_closest_name(name, names);
    if (near) return cl_fail("unknown dataset '%s'; did you mean '%s'? (valid names: %s)", cl_quote(name), near, list);
    return cl_fail("unknown dataset '%s' (valid names: %s)", cl_quote(name), list);
}

int cl_data_open(cl_data *d, const char *name, const char *path, uint64_t seed)
{
    return cl_data_open_opts(d, name, path, seed, NULL);
}

static const data_entry *data_find(const char *name)
{
    for (int i = 0; name && i < DATA_TABLE_LEN; i++)
        if (strcasecmp(name, data_table[i].name) == 0) return &data_table[i];
    return NULL;
}

int cl_data_check_opts(const char *name, const cl_data_opts *opts)
{
    const data_entry *e = data_find(name);
    if (!e) {
        char names[256], shown[64 * 4 + 4];
        data_names(names, sizeof names);
        cl_data_show(shown, name ? name : "(none)", 64);
        return cl_fail("unknown dataset '%s': valid names are %s", shown, names);
    }
    if (!opts) return 0;
    /* Options that mean nothing to this dataset are refused rather than ignored: the user expects them to
     * act. Named datasets have the fixed classes 0..9 (checked label by label). */
    if (opts->label_column && e->src != SRC_CSV)
        return cl_fail("a label column is given, but dataset '%s' is not csv (only CSV files have columns)",
                       e->name);
    if (opts->label_column && !*opts->label_column)
        return cl_fail("label column: expected a header name or a 0-based column index, got ''");
    if (opts->labels == CL_LABELS_REMAP && e->src == SRC_CIFAR)
        return cl_fail("labels = remap: dataset '%s' has the fixed classes 0..%d", e->name, e->nclasses - 1);
    if (opts->labels == CL_LABELS_REMAP && (e->src == SRC_SYNTHETIC || e->nclasses))
        return cl_fail("labels = remap: dataset '%s' has the fixed classes 0..%d; for MNIST-format files with "
                       "other labels use --dataset idx", e->name, (e->nclasses ? e->nclasses : 10) - 1);
    if (opts->labels != CL_LABELS_INDEX && opts->labels != CL_LABELS_REMAP)
        return cl_fail("labels mode %d: expected index or remap", (int)opts->labels);
    return 0;
}

int cl_data_open_opts(cl_data *d, const char *name, const char *path, uint64_t seed, const cl_data_opts *opts)
{
    static const cl_data_opts defaults = {CL_LABELS_INDEX, NULL};
    if (!opts) opts = &defaults;
    memset(d, 0, sizeof *d);
    if (cl_data_check_opts(name, opts)) return -1;
    const data_entry *e = data_find(name);
    if (path && !*path) path = NULL;
    /* Synthetic data is generated: a path means nothing to it and is ignored, so a grid file can set one
     * --data-path for all its datasets. */
    if (e->src == SRC_SYNTHETIC) {
        cl_data_synthetic(d, 2000, 500, 28, 28, 10, seed);
        return 0;
    }
    if (!path && e->default_path) {
        struct stat st;
        if (stat(e->default_path, &st) != 0)
            return cl_fail("dataset '%s' is not installed at %s: install the Debian package dataset-fashion-mnist "
                           "(make deps) or pass --data-path", e->name, e->default_path);
        path = e->default_path;
    }
    if (!path) return data_missing_path(e);
    if (e->src == SRC_CSV) return data_open_csv(d, path, opts);
    if (e->src == SRC_CIFAR) return cl_data_load_cifar(d, e->name, path, (cl_cifar_kind)e->transpose);
    return cl_data_load_idx(d, e->name, path, e->nclasses, e->transpose, opts->labels);
}
