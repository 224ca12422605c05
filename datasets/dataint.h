/* Helpers shared by the dataset readers (idx.c, csvdata.c, dataset.c); callers use dataset.h. */
#ifndef CLREG_DATAINT_H
#define CLREG_DATAINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <zlib.h>

#include "datasets/dataset.h"

/* Open a data file for reading and return its descriptor, or -1 with a message. Anything but a regular
 * file is refused before it is read: /dev/zero has no end and no line breaks, a FIFO or a process
 * substitution (<(...)) blocks until a writer comes and cannot be read twice. The file is checked with
 * stat before opening (opening a FIFO would block) and again on the open descriptor, so a file swapped in
 * between is caught. *size receives the size in bytes. `expected` names what the file should be, for the
 * message ("an IDX file", "a CSV file"). */
int cl_data_open_regular(const char *path, const char *expected, off_t *size);

/* A path for messages: control bytes escaped, and a path longer than CL_PATH_SHOW characters cut to its
 * first 40 and last CL_PATH_SHOW - 44 with "..." between (the file name is at the end), so that a message
 * keeps its reason and stays one line. dst holds CL_PATH_SHOW_CAP bytes. */
#define CL_PATH_SHOW 160
#define CL_PATH_SHOW_CAP (CL_PATH_SHOW * 4 + 8)
void cl_data_show_path(char *dst, const char *path);

/* A binary data file (IDX, CIFAR) read through zlib's gzread, which reads gzip and raw files alike. Whether
 * the file is gzip is still detected from its first two bytes, so that messages can say "corrupt gzip stream"
 * rather than something vague. */
typedef struct cl_gzfile {
    const char *path;               /* for messages: points at shown */
    char shown[CL_PATH_SHOW_CAP];   /* the path with control bytes escaped, cut if very long */
    gzFile gz;
    int gzip;                       /* the file starts with the gzip magic 1f 8b */
} cl_gzfile;

/* Open through cl_data_open_regular (`expected` names what the file should be, for its messages). */
int cl_gzfile_open(cl_gzfile *f, const char *path, const char *expected);
/* Read up to len bytes, stopping early only at the end of the data. Returns the count read, or -1 with the
 * message set when the stream is corrupt (truncated or damaged gzip) or unreadable. */
long long cl_gzfile_read(cl_gzfile *f, void *buf, size_t len);
void cl_gzfile_close(cl_gzfile *f);

/* The most pixel bytes one IDX image file may hold: CL_IDX_MAX_BYTES. A variable only so that a test can
 * lower it instead of writing gigabytes. */
extern size_t cl_idx_max_bytes;

/* The most bytes one CIFAR file may hold (after gunzip): CL_CIFAR_MAX_BYTES; a variable for the same reason. */
extern size_t cl_cifar_max_bytes;

/* A copy of user text for a one-line message (cl_quote_n, core/quote.h): at most `show` characters, escaped (\n, \r,
 * \t, \xHH) and "..." appended when cut. dst holds show * 4 + 4 bytes. */
void cl_data_show(char *dst, const char *s, size_t show);


/* Number the classes of a train/test pair whose classes come from the labels (idx, emnist, csv):
 *   CL_LABELS_INDEX: the labels must be the classes 0..K-1 themselves;
 *   CL_LABELS_REMAP: the K distinct training labels become classes 0..K-1 in increasing order (the
 *                    original label of each class is kept in d->class_label).
 * In both modes every class must have training samples (a test label the training split lacks is an
 * error naming the test file), there must be at least 2 classes and at most CL_MAX_CLASSES. Errors name
 * the label file, the number of distinct labels and their range, a few absent classes and, when the
 * labels are not 0..K-1, the --labels remap choice. Sets nclasses of both splits. */
int cl_data_number_labels(cl_data *d, cl_labels_mode mode, const char *train_file, const char *test_file);

#endif
