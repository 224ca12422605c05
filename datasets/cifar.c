/* CIFAR-10 and CIFAR-100, the "binary version" files (https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * A file is nothing but records, one after another, with no header: CIFAR-10 records are a label byte and
 * 3072 pixel bytes, CIFAR-100 records a coarse and a fine label byte and 3072 pixel bytes. The pixels of a
 * 32x32 image are its red plane, then green, then blue, each row-major; they are copied as they are
 * (channel-planar, CHW), so a batch reads them in the layout a convolution wants.
 *
 * Without a header the only checks on the format are the size (a whole number of records) and the label
 * bytes (in range): a file of the wrong kind usually fails both. Records are read in chunks straight into
 * the growing dataset, so a large file is never held twice, and the byte limit stops a gzip bomb. */
#include "datasets/dataset.h"
#include "datasets/dataint.h"
#include "core/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CIFAR_PIXELS 3072       /* 3 x 32 x 32 */
#define CIFAR_CHUNK 512         /* records per read */
#define CIFAR_PATH_MAX 4096
#define CIFAR_MAX_FILES 6

size_t cl_cifar_max_bytes = (size_t)CL_CIFAR_MAX_BYTES;

/* One of the two file formats, and which of its label bytes are the classes. */
typedef struct cifar_format {
    const char *title;          /* "CIFAR-10", for messages */
    int label_bytes;            /* 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine) */
    int label_max[2];           /* each label byte is in 0..label_max - 1 */
    const char *label_name[2];  /* what each label byte is, for messages */
    int class_byte;             /* the label byte that is the class */
    int ntrain;                 /* training files; the test file follows them in `files` */
    const char *files[CIFAR_MAX_FILES];
    const char *needs;          /* the files, for messages */
    const char *archive;        /* what to download and which directory it unpacks to */
} cifar_format;

static const cifar_format cifar_formats[] = {
    [CL_CIFAR10] = {"CIFAR-10", 1, {10, 0}, {"label", NULL}, 0, 5,
                    {"data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5", "test_batch"},
                    "data_batch_1.bin .. data_batch_5.bin and test_batch.bin",
                    "the CIFAR-10 binary version, cifar-10-binary.tar.gz, unpacks to cifar-10-batches-bin/"},
    [CL_CIFAR100] = {"CIFAR-100", 2, {20, 100}, {"coarse label", "fine label"}, 1, 1, {"train", "test"},
                     "train.bin and test.bin",
                     "the CIFAR-100 binary version, cifar-100-binary.tar.gz, unpacks to cifar-100-binary/"},
    [CL_CIFAR100_COARSE] = {"CIFAR-100", 2, {20, 100}, {"coarse label", "fine label"}, 0, 1, {"train", "test"},
                            "train.bin and test.bin",
                            "the CIFAR-100 binary version, cifar-100-binary.tar.gz, unpacks to cifar-100-binary/"},
};

/* The records of one split, as they accumulate over its files. */
typedef struct cifar_split {
    uint8_t *pix;
    int32_t *labels;
    size_t n, cap;
} cifar_split;

static void split_grow(cifar_split *s, size_t more)
{
    if (s->n + more <= s->cap) return;
    size_t cap = s->cap ? s->cap : 1024;
    while (cap < s->n + more) cap *= 2;
    s->pix = cl_realloc(s->pix, cap * CIFAR_PIXELS);
    s->labels = cl_realloc(s->labels, cap * sizeof *s->labels);
    s->cap = cap;
}

/* A size that is not a whole number of records; when it is a whole number of the other format's records,
 * the likely mistake is said too. */
static int cut_record(const cl_gzfile *g, const cifar_format *f, unsigned long long total)
{
    size_t R = (size_t)f->label_bytes + CIFAR_PIXELS, other = f->label_bytes == 1 ? R + 1 : R - 1;
    char hint[160] = " (a truncated download?)";
    if (total % other == 0)
        snprintf(hint, sizeof hint, "; it is a whole number of %zu-byte records: is this a %s file? (then use "
                 "--dataset %s)", other, f->label_bytes == 1 ? "CIFAR-100" : "CIFAR-10",
                 f->label_bytes == 1 ? "cifar100" : "cifar10");
    return cl_fail("%s: %llu bytes is not a whole number of %zu-byte %s records (%s%d pixel bytes): record %llu "
                   "(0-based) is cut after %llu of its bytes%s", g->path, total, R, f->title,
                   f->label_bytes == 1 ? "a label byte and " : "a coarse and a fine label byte and ", CIFAR_PIXELS,
                   total / R, total % R, hint);
}

/* Append the records of one file to s, checking each label byte. */
static int cifar_read_file(cifar_split *s, const char *path, const cifar_format *f)
{
    size_t R = (size_t)f->label_bytes + CIFAR_PIXELS;
    char expected[96];
    snprintf(expected, sizeof expected, "a %s binary file (records of %zu bytes)", f->title, R);
    cl_gzfile g;
    if (cl_gzfile_open(&g, path, expected)) return -1;
    uint8_t *buf = cl_malloc(CIFAR_CHUNK * R);
    unsigned long long total = 0, first = s->n; /* records of earlier files are not this file's */
    /* The first label out of range is reported only once the size is known to be whole records: a file of
     * the other format (or a shifted one) has both faults, and its size says more about it. */
    long long bad = -1;
    int bad_byte = 0, bad_value = 0, rc = 0;
    for (;;) {
        long long got = cl_gzfile_read(&g, buf, CIFAR_CHUNK * R);
        if (got < 0) {
            rc = -1;
            break;
        }
        total += (unsigned long long)got;
        if (total > cl_cifar_max_bytes) {
            rc = cl_fail("%s: more than the limit of %zu bytes for one %s file (the data is there: the file is "
                         "that large, or a gzip stream unpacks to that much; real files are at most 154 MB)", g.path,
                         cl_cifar_max_bytes, f->title);
            break;
        }
        size_t whole = (size_t)got / R;
        if (bad < 0) split_grow(s, whole);
        for (size_t k = 0; k < whole && bad < 0; k++) {
            const uint8_t *rec = buf + k * R;
            for (int b = 0; b < f->label_bytes && bad < 0; b++)
                if (rec[b] >= f->label_max[b]) bad = (long long)(s->n - first), bad_byte = b, bad_value = rec[b];
            if (bad >= 0) break;
            s->labels[s->n] = rec[f->class_byte];
            memcpy(s->pix + s->n * CIFAR_PIXELS, rec + f->label_bytes, CIFAR_PIXELS);
            s->n++;
        }
        if ((size_t)got < CIFAR_CHUNK * R) break; /* a short read is the end of the data */
    }
    if (rc == 0 && total == 0)
        rc = cl_fail("%s: empty file (0 bytes of data), expected %s records of %zu bytes", g.path, f->title, R);
    if (rc == 0 && total % R) rc = cut_record(&g, f, total);
    if (rc == 0 && bad >= 0)
        rc = cl_fail("%s: record %lld (0-based; byte %llu of the file): %s %d is out of range: expected 0..%d", g.path,
                     bad, (unsigned long long)bad * R + (unsigned long long)bad_byte, f->label_name[bad_byte],
                     bad_value, f->label_max[bad_byte] - 1);
    free(buf);
    cl_gzfile_close(&g);
    return rc;
}

/* dir/NAME.bin, else dir/NAME.bin.gz. The archive unpacks to raw .bin files, so those come first. */
static int cifar_locate(const char *dir, const char *name, const cifar_format *f, const char *dataset, char *out)
{
    size_t len = strlen(dir);
    const char *sep = len && dir[len - 1] != '/' ? "/" : "";
    struct stat st;
    char tried[2][CIFAR_PATH_MAX];
    for (int gz = 0; gz < 2; gz++) {
        int w = snprintf(tried[gz], CIFAR_PATH_MAX, "%s%s%s.bin%s", dir, sep, name, gz ? ".gz" : "");
        if (w < 0 || w >= CIFAR_PATH_MAX) {
            char shown[CL_PATH_SHOW_CAP];
            cl_data_show_path(shown, dir);
            return cl_fail("%s: data location too long (%zu characters)", shown, len);
        }
        /* anything by that name is taken, so that a directory or a FIFO is refused by name when opened */
        if (stat(tried[gz], &st) == 0) {
            memcpy(out, tried[gz], (size_t)w + 1);
            return 0;
        }
    }
    /* The usual mistakes: the directory above the unpacked one, or the other CIFAR's directory. */
    char hint[CIFAR_PATH_MAX + 160] = "";
    static const char *const sub[] = {"cifar-10-batches-bin", "cifar-100-binary"};
    for (int k = 0; k < 2 && !hint[0]; k++) {
        snprintf(hint, sizeof hint, "%s%s%s", dir, sep, sub[k]);
        if (stat(hint, &st) == 0 && S_ISDIR(st.st_mode)) {
            char shown[CL_PATH_SHOW_CAP];
            cl_data_show_path(shown, hint);
            snprintf(hint, sizeof hint, "; the directory holds %s/: pass --data-path %s", sub[k], shown);
        } else {
            hint[0] = 0;
        }
    }
    const char *other = f->label_bytes == 1 ? "train.bin" : "data_batch_1.bin";
    snprintf(tried[1], CIFAR_PATH_MAX, "%s%s%s", dir, sep, other);
    if (!hint[0] && stat(tried[1], &st) == 0)
        snprintf(hint, sizeof hint, "; it holds %s, a %s file: use --dataset %s", other,
                 f->label_bytes == 1 ? "CIFAR-100" : "CIFAR-10", f->label_bytes == 1 ? "cifar100" : "cifar10");
    char shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(shown, dir);
    return cl_fail("%s: no %s.bin or %s.bin.gz: dataset '%s' needs %s (each raw or gzip-compressed as .bin.gz) "
                   "in the directory given (%s)%s", shown, name, name, dataset, f->needs, f->archive, hint);
}

/* Move a split into a dataset: 3x32x32 images, channel-planar. */
static void cifar_fill(cl_dataset *d, cifar_split *s, const char *name, const char *split, int nclasses)
{
    snprintf(d->name, sizeof d->name, "%s/%s", name, split);
    d->n = (int)s->n;
    d->channels = 3;
    d->rows = d->cols = 32;
    d->dim = CIFAR_PIXELS;
    d->nclasses = nclasses;
    d->pix = cl_realloc(s->pix, s->n * CIFAR_PIXELS); /* drop the growth slack */
    d->labels = cl_realloc(s->labels, s->n * sizeof *d->labels);
    d->feat = NULL;
    d->byte_valued = 1;
    memset(s, 0, sizeof *s);
}

int cl_data_load_cifar(cl_data *d, const char *name, const char *dir, cl_cifar_kind kind)
{
    memset(d, 0, sizeof *d);
    if ((unsigned)kind > CL_CIFAR100_COARSE) return cl_fail("CIFAR kind %d: expected 0..2", (int)kind);
    const cifar_format *f = &cifar_formats[kind];
    if (!name) name = kind == CL_CIFAR10 ? "cifar10" : kind == CL_CIFAR100 ? "cifar100" : "cifar100-coarse";
    if (!dir || !*dir) return cl_fail("%s: no data location given", name);
    char shown[CL_PATH_SHOW_CAP];
    cl_data_show_path(shown, dir);
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return cl_fail("%s: %s; dataset '%s' needs the directory holding %s (%s)", shown,
                       stat(dir, &st) != 0 ? "no such directory" : "not a directory", name, f->needs, f->archive);
    int nfiles = f->ntrain + 1;
    char path[CIFAR_MAX_FILES][CIFAR_PATH_MAX];
    for (int k = 0; k < nfiles; k++)
        if (cifar_locate(dir, f->files[k], f, name, path[k])) return -1;
    cifar_split tr = {0}, te = {0};
    int rc = 0;
    for (int k = 0; k < nfiles && rc == 0; k++) rc = cifar_read_file(k < f->ntrain ? &tr : &te, path[k], f);
    if (rc == 0 && tr.n + te.n > (size_t)INT32_MAX) rc = cl_fail("%s: more than %d records", shown, INT32_MAX);
    if (rc) {
        free(tr.pix);
        free(tr.labels);
        free(te.pix);
        free(te.labels);
        return -1;
    }
    int nclasses = f->label_max[f->class_byte];
    cifar_fill(&d->train, &tr, name, "train", nclasses);
    cifar_fill(&d->test, &te, name, "test", nclasses);
    for (int k = 0; k < nfiles; k++) d->files[d->nfiles++] = cl_strdup(path[k]);
    d->channel_norm = 1;
    return 0;
}
