/* The data a results directory's cells were computed from.
 *
 * A grid's results are only comparable if every cell saw the same data. A resume that reads other files
 * (another --data-path, a dataset replaced in place) would mix two datasets in one table, and nothing in
 * the rows would show it. So when a grid starts in a directory, the data are fingerprinted into
 * DIR/data_fingerprint.csv, and every resume compares its own data against it and refuses a difference.
 *
 * A file is fingerprinted by its resolved path, its size and the zlib crc32 of its bytes (as stored, e.g.
 * still gzip-compressed); generated data by the line that says how it was made. The content decides: the
 * same files moved elsewhere are the same data, and the recorded paths stay those of the first run. */
#ifndef CLREG_FINGERPRINT_H
#define CLREG_FINGERPRINT_H

#include "datasets/dataset.h"

#define CL_FINGERPRINT_FILE "data_fingerprint.csv"

typedef struct cl_fingerprint_item {
    char *source;        /* resolved path, or for generated data how it was made */
    int generated;
    long long bytes;     /* files only */
    unsigned long crc;   /* files only: zlib crc32 of the whole file */
} cl_fingerprint_item;

typedef struct cl_fingerprint {
    int n;
    cl_fingerprint_item item[CL_DATA_MAX_FILES + 1];
} cl_fingerprint;

/* Fingerprint loaded data (reads every file it came from once more). */
int cl_fingerprint_data(cl_fingerprint *fp, const cl_data *d);
/* DIR/data_fingerprint.csv, replaced atomically. */
int cl_fingerprint_write(const char *dir, const cl_fingerprint *fp);
/* Returns 0 with *fp read, 1 when the directory has no fingerprint, -1 with a message when it is unreadable. */
int cl_fingerprint_read(const char *dir, cl_fingerprint *fp);
/* 0 when `now` is the same data as `was`; -1 with a message naming the first file that differs and how
 * ("train-images-idx3-ubyte.gz: /b/train-images-idx3-ubyte.gz has 1000 bytes, crc32 0x1234abcd; the results
 * here come from /a/train-images-idx3-ubyte.gz with 2000 bytes, crc32 0x0badf00d"). */
int cl_fingerprint_compare(const cl_fingerprint *was, const cl_fingerprint *now);
/* One line per item, for the manifest. */
void cl_fingerprint_describe(const cl_fingerprint *fp, char *out, size_t n);
void cl_fingerprint_free(cl_fingerprint *fp);

#endif
