/* A dataset held once in memory and shared read-only by every task and every grid cell.
 *
 * Images (IDX, synthetic) are kept as uint8 exactly as stored: 60,000 Fashion-MNIST images are 47 MB this
 * way instead of 188 MB as float. Tabular data (CSV) is float. Conversion to the network's float input
 * happens when a batch is assembled (datasets/stream.c), where task views (permutation, rotation, class
 * subset) are applied too, so no task ever copies the data. */
#ifndef CLREG_DATASET_H
#define CLREG_DATASET_H

#include <stddef.h>
#include <stdint.h>

typedef struct cl_dataset {
    char name[64];     /* e.g. "fashion-mnist/train" (for messages) */
    int n;             /* number of samples */
    int channels;      /* colour planes: 3 for CIFAR (red, green, blue), 1 for everything else */
    int rows, cols;    /* image geometry; CSV data has rows = 1, cols = dim */
    int dim;           /* features per sample = channels * rows * cols */
    int nclasses;      /* labels are in [0, nclasses) */
    uint8_t *pix;      /* n * dim pixels, or NULL: per image channel-planar (CHW, as CIFAR files store it:
                          all of the red plane, then green, then blue), each plane row-major */
    float *feat;       /* n * dim features, or NULL (exactly one of pix / feat is set) */
    int32_t *labels;   /* n labels */
    int byte_valued;   /* every value is a whole number in 0..255, as pixels are (always so for pix) */
} cl_dataset;

#define CL_DATA_MAX_FILES 8 /* the files one dataset is read from (CIFAR-10: 6) */

/* Limits on data files, each refused with a message naming the file and the limit. Real data sits far
 * below them; they exist so that a wrong file (a log, a disk image, a gzip bomb) fails fast instead of
 * filling memory. */
#define CL_MAX_CLASSES 4096                         /* classes of a dataset (output units of a head) */
#define CL_CSV_MAX_ROW_BYTES (16 << 20)             /* one CSV row (a record; a quoted field may span lines) */
#define CL_CSV_MAX_FILE_BYTES (4LL << 30)           /* one CSV file */
#define CL_IDX_MAX_BYTES (8LL << 30)                /* the pixels of one IDX image file, after gunzip */
#define CL_CIFAR_MAX_BYTES (2LL << 30)             /* one CIFAR file, after gunzip (the largest real one,
                                                       CIFAR-100's train.bin, is 154 MB) */
#define CL_MAX_INPUT_DIM (1 << 20)                  /* inputs per sample: CSV features, IDX pixels per image
                                                       (1024x1024), images after padding */

/* A train split and a test split of the same data, and where they came from: the files read (as found,
 * not resolved; a results directory fingerprints them to refuse resuming on other data) or, for generated
 * data, how it was made. */
typedef struct cl_data {
    cl_dataset train, test;
    int nfiles;
    char *files[CL_DATA_MAX_FILES];
    char origin[128];  /* "generated: ..." for synthetic data, "" for data read from files */
    int32_t *class_label; /* labels = remap: the original label of class k (nclasses entries); else NULL */
    int channel_norm;  /* streams normalize each channel by default (CIFAR; cl_norm_mode in stream.h) */
} cl_data;

/* How a dataset whose classes come from its labels (idx, emnist, csv) turns labels into classes:
 *   CL_LABELS_INDEX (default)  the labels are the classes: they must be 0..K-1, every one with training
 *                              samples; anything else is an error that names the remap choice
 *   CL_LABELS_REMAP            the K distinct training labels, in increasing order, become classes 0..K-1
 *                              (EMNIST letters ships labels 1..26; CSV labels may be 0/1000/2000)
 * Class groups (--groups) and task descriptions name the classes 0..K-1. */
typedef enum { CL_LABELS_INDEX, CL_LABELS_REMAP } cl_labels_mode;

/* "index" or "remap"; -1 with a message naming both otherwise. */
int cl_labels_mode_parse(const char *s, cl_labels_mode *out);

void cl_dataset_free(cl_dataset *d);
void cl_data_free(cl_data *d);

/* Pixel/feature j of sample i as a float (raw scale: 0..255 for images). */
static inline float cl_dataset_value(const cl_dataset *d, int i, int j)
{
    return d->pix ? (float)d->pix[(size_t)i * d->dim + j] : d->feat[(size_t)i * d->dim + j];
}

/* ---- IDX (MNIST family) --------------------------------------------------------------------------- */

/* Read an idx3-ubyte image file, gzip-compressed or raw (detected from the content, not the name).
 * Refuses anything but a regular file (a device, FIFO or directory). Validates the magic number
 * (0x00000803), that dimensions are positive and within the limits above, that the payload matches the
 * header exactly (truncated or trailing data is an error), and gzip integrity. On success *pix is a
 * malloc'd n*rows*cols buffer. */
int cl_idx_read_images(const char *path, uint8_t **pix, int *n, int *rows, int *cols);

/* Read an idx1-ubyte label file (magic 0x00000801), same validation. *labels is malloc'd (n entries). */
int cl_idx_read_labels(const char *path, uint8_t **labels, int *n);

/* Load a train/test pair of an MNIST-family dataset.
 *   location: a directory holding train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz],
 *             t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz]; or a path prefix to which those
 *             names are appended (EMNIST ships "emnist-balanced-train-images-idx3-ubyte.gz": pass
 *             ".../emnist-balanced-").
 *   nclasses: the expected number of classes (10 for MNIST, Fashion-MNIST, KMNIST); a label outside
 *             [0, nclasses) is an error naming the file and the sample index. 0 means the classes come
 *             from the labels, numbered as `labels` says (see cl_labels_mode), the same for both splits.
 *   transpose: store each image transposed (EMNIST's files hold images column-major).
 * Checks that image and label counts agree and that train and test have the same geometry. */
int cl_data_load_idx(cl_data *d, const char *name, const char *location, int nclasses, int transpose,
                     cl_labels_mode labels);

/* ---- CIFAR-10 / CIFAR-100 (binary version) -------------------------------------------------------- */

/* Which labels of the CIFAR files become the classes. */
typedef enum {
    CL_CIFAR10,           /* data_batch_1..5.bin, test_batch.bin: 1 label byte (0..9) + 3072 pixel bytes */
    CL_CIFAR100,          /* train.bin, test.bin: coarse (0..19) + fine (0..99) label bytes + 3072 pixels;
                             the 100 fine labels are the classes */
    CL_CIFAR100_COARSE    /* the same files; the 20 superclasses (coarse labels) are the classes */
} cl_cifar_kind;

/* Load CIFAR from the directory dir (the unpacked "binary version" archive: cifar-10-batches-bin/ or
 * cifar-100-binary/). Each file may also be gzip-compressed (NAME.bin.gz; gzip is recognised from the
 * content). Images are 3x32x32, kept channel-planar exactly as the files hold them. Validation, each a
 * one-line message naming the file: a missing file (and the files the format needs), anything but a regular
 * file, an empty file, a size that is not a whole number of records (where the last record is cut), a label
 * byte out of range (the record and the byte), a file larger than CL_CIFAR_MAX_BYTES after gunzip, damaged
 * gzip. Sets channel_norm (per-channel normalization is CIFAR's default). */
int cl_data_load_cifar(cl_data *d, const char *name, const char *dir, cl_cifar_kind kind);

/* ---- CSV (libcsv) --------------------------------------------------------------------------------- */

typedef struct cl_csv_opts {
    const char *label_column; /* header name or 0-based index as text; NULL: the column named "label" (any
                                 case) when there is a header (none is an error listing the columns),
                                 column 0 when there is none */
    int header;               /* 1: first row is a header, 0: no header, -1: detect (non-numeric first row) */
    cl_labels_mode labels;    /* cl_data_load_csv: how labels become classes */
} cl_csv_opts;

/* One row per sample: an integer label column >= 0 and numeric feature columns. Errors name the file, the
 * line and the column: ragged rows ("line 7 has 5 fields, expected 6"), non-numeric cells, an empty or
 * non-integer or negative label, an empty file, a row longer than CL_CSV_MAX_ROW_BYTES, a file larger than
 * CL_CSV_MAX_FILE_BYTES, a file that is not a regular file. Lines end in LF, CRLF or CR. nclasses = max
 * label + 1 (the labels as read; cl_data_load_csv numbers the classes). byte_valued says whether every
 * feature is a whole number in 0..255. */
int cl_dataset_load_csv(cl_dataset *d, const char *path, const cl_csv_opts *opts);

/* Train and test CSV files; test must have the same number of features; the classes are numbered from the
 * labels as opts->labels says (cl_labels_mode), with the checks of that mode. */
int cl_data_load_csv(cl_data *d, const char *train_path, const char *test_path, const cl_csv_opts *opts);

/* ---- synthetic ------------------------------------------------------------------------------------ */

/* Small, learnable image data for tests: each class has a fixed random prototype image and samples are
 * noisy copies of it (uint8). Deterministic in seed. */
void cl_dataset_synthetic(cl_dataset *d, int n, int rows, int cols, int nclasses, uint64_t seed);
void cl_data_synthetic(cl_data *d, int ntrain, int ntest, int rows, int cols, int nclasses, uint64_t seed);

/* ---- by name -------------------------------------------------------------------------------------- */

/* Default location of the dataset that Debian's dataset-fashion-mnist package installs. */
#define CL_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* Options of cl_data_open_opts; all zero is the default. */
typedef struct cl_data_opts {
    cl_labels_mode labels;    /* idx, emnist, csv: how labels become classes */
    const char *label_column; /* csv only: the label column's header name or 0-based index (cl_csv_opts) */
} cl_data_opts;

/* Open a dataset by name, as the command line and grid files name it:
 *   fashion-mnist   IDX at `path`, or CL_FASHION_MNIST_DIR when path is NULL; 10 classes
 *   mnist, kmnist   IDX at `path` (required); 10 classes
 *   emnist          IDX at `path` (a prefix such as .../emnist-balanced-); classes from the labels;
 *                   images transposed to row-major
 *   idx             any MNIST-format data at `path`; classes from the labels
 *   cifar10         CIFAR-10 binary files in the directory `path` (required); 10 classes, 3x32x32
 *   cifar100        CIFAR-100 binary files in `path` (required); the 100 fine labels
 *   cifar100-coarse the same files; the 20 superclasses
 *   csv             `path` is "train.csv,test.csv"; classes from the labels
 *   synthetic       generated: 2,000 train and 500 test 28x28 images, 10 classes
 * An unknown name or missing path is an error that lists the valid names; labels = remap or a label column
 * given for a dataset they mean nothing to is an error too. opts may be NULL (the defaults). */
int cl_data_open_opts(cl_data *d, const char *name, const char *path, uint64_t seed, const cl_data_opts *opts);
int cl_data_open(cl_data *d, const char *name, const char *path, uint64_t seed); /* default options */

/* The checks of cl_data_open_opts that need no file: the dataset name, and options it cannot take. For
 * command lines and grid files to refuse a bad combination as an option error before any data is read. */
int cl_data_check_opts(const char *name, const cl_data_opts *opts);

/* 0 if cl_data_open knows the name (case-insensitive), else -1 with a message giving the closest valid name
 * and the list: for checking a name where it is given (a grid line, an option) before any data is read. */
int cl_data_check_name(const char *name);

#endif
