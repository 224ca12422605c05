/* Freeing datasets, and opening one by the name the command line and grid files use. */
#include "datasets/dataset.h"
#include "core/error.h"
#include "core/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

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
}

typedef enum { SRC_IDX, SRC_CSV, SRC_SYNTHETIC } data_source;

/* The name table of cl_data_open (documented in dataset.h). */
typedef struct data_entry {
    const char *name;
    data_source src;
    int nclasses;          /* for IDX: expected classes, 0 = from the labels */
    int transpose;         /* for IDX: images stored column-major */
    const char *default_path; /* NULL: --data-path is required (except for synthetic data) */
} data_entry;

static const data_entry data_table[] = {
    {"fashion-mnist", SRC_IDX, 10, 0, CL_FASHION_MNIST_DIR},
    {"mnist", SRC_IDX, 10, 0, NULL},
    {"kmnist", SRC_IDX, 10, 0, NULL},
    {"emnist", SRC_IDX, 0, 1, NULL},
    {"idx", SRC_IDX, 0, 0, NULL},
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
    return cl_fail("dataset '%s' needs --data-path: a directory holding train-images-idx3-ubyte[.gz], "
                   "train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz], "
                   "or a file-name prefix such as .../emnist-balanced- (only fashion-mnist and synthetic work "
                   "without --data-path)", e->name);
}

/* path is "train.csv,test.csv"; split at the last comma so a comma inside the train directory name is kept
 * (file names with commas in the test part cannot be expressed, which is the lesser evil). */
static int data_open_csv(cl_data *d, const char *path)
{
    const char *comma = strrchr(path, ',');
    if (!comma || comma == path || !comma[1])
        return cl_fail("dataset 'csv': --data-path must be TRAIN.csv,TEST.csv (two files separated by a comma), "
                       "got '%s'", path);
    size_t n = (size_t)(comma - path);
    char *train = cl_malloc(n + 1);
    memcpy(train, path, n);
    train[n] = 0;
    int rc = cl_data_load_csv(d, train, comma + 1, NULL);
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
    memset(d, 0, sizeof *d);
    const data_entry *e = NULL;
    for (int i = 0; name && i < DATA_TABLE_LEN; i++)
        if (strcasecmp(name, data_table[i].name) == 0) e = &data_table[i];
    if (!e) {
        char names[256];
        data_names(names, sizeof names);
        return cl_fail("unknown dataset '%s': valid names are %s", name ? name : "(none)", names);
    }
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
    if (e->src == SRC_CSV) return data_open_csv(d, path);
    return cl_data_load_idx(d, e->name, path, e->nclasses, e->transpose);
}
