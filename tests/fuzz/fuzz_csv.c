/* Fuzz target: the CSV loader (datasets/csvdata.c, libcsv underneath).
 *
 * Input: one option byte, then the file.
 *   bits 0-1  header: 0 and 3 detect, 1 no header, 2 header
 *   bits 2-4  label column option: none (the default rule), "label", "0", "2", "y", "-1", "99", "Label"
 *   bit 5     load the file as both train and test through cl_data_open("csv", "F,F"), as --data-path does;
 *             otherwise one file through cl_dataset_load_csv */
#include "tests/fuzz/fuzz.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "datasets/dataset.h"

static void check_dataset(const cl_dataset *d, const char *call)
{
    if (d->n <= 0 || d->dim <= 0 || d->rows != 1 || d->cols != d->dim || !d->feat || d->pix || !d->labels ||
        d->nclasses < 1)
        fz_violation("%s accepted %d samples of %d features (rows %d, cols %d), %d classes", call, d->n, d->dim,
                     d->rows, d->cols, d->nclasses);
    for (int i = 0; i < d->n; i++)
        if (d->labels[i] < 0 || d->labels[i] >= d->nclasses)
            fz_violation("%s: label %d of sample %d is outside 0..%d", call, d->labels[i], i, d->nclasses - 1);
    for (size_t i = 0; i < (size_t)d->n * d->dim; i++)
        if (!isfinite(d->feat[i])) fz_violation("%s: feature %zu is not finite", call, i);
}

int cl_fuzz_csv(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    static const int headers[4] = {-1, 0, 1, -1};
    static const char *const label_cols[8] = {NULL, "label", "0", "2", "y", "-1", "99", "Label"};
    int mode = data[0];
    cl_csv_opts opts = {.label_column = label_cols[(mode >> 2) & 7], .header = headers[mode & 3]};
    const char *path = fz_memfile(0, data + 1, size - 1);
    if (mode & 32) {
        /* the command line's way in: the label column as chosen, labels as classes or renumbered */
        char arg[80];
        snprintf(arg, sizeof arg, "%s,%s", path, path);
        cl_data_opts dopts = {.labels = mode & 64 ? CL_LABELS_REMAP : CL_LABELS_INDEX,
                              .label_column = opts.label_column};
        cl_data d;
        if (cl_data_open_opts(&d, "csv", arg, 1, &dopts)) fz_check_message("cl_data_open_opts(csv)", &path, 1);
        else {
            check_dataset(&d.train, "cl_data_open_opts(csv) train");
            check_dataset(&d.test, "cl_data_open_opts(csv) test");
            if (d.train.n != d.test.n || d.train.nclasses != d.test.nclasses ||
                memcmp(d.train.feat, d.test.feat, sizeof(float) * (size_t)d.train.n * d.train.dim) != 0)
                fz_violation("cl_data_open_opts(csv): the same file read twice gave different data");
            /* the classes are 0..K-1, 2 <= K <= CL_MAX_CLASSES, each with a training sample */
            int K = d.train.nclasses;
            if (K < 2 || K > CL_MAX_CLASSES) fz_violation("cl_data_open_opts(csv): %d classes", K);
            char *has = calloc((size_t)K, 1);
            for (int i = 0; i < d.train.n; i++) has[d.train.labels[i]] = 1;
            for (int c = 0; c < K; c++)
                if (!has[c]) fz_violation("cl_data_open_opts(csv): class %d of %d has no training sample", c, K);
            free(has);
        }
        cl_data_free(&d);
        return 0;
    }
    cl_dataset d;
    if (cl_dataset_load_csv(&d, path, &opts)) fz_check_message("cl_dataset_load_csv", &path, 1);
    else check_dataset(&d, "cl_dataset_load_csv");
    cl_dataset_free(&d);
    return 0;
}

#ifdef CL_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cl_fuzz_csv(data, size); }
#endif
