/* What the benchmarks share: Fashion-MNIST as a one-task stream (the plain data), the shape every
 * throughput number in the README is measured on. */
#ifndef CLREG_BENCH_COMMON_H
#define CLREG_BENCH_COMMON_H

#include <stdio.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"

static inline int bench_fashion_task(cl_data *d, cl_stream *s)
{
    if (cl_data_open(d, "fashion-mnist", NULL, 1)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return -1;
    }
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 1;
    if (cl_stream_create(s, d, &sc)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        cl_data_free(d);
        return -1;
    }
    return 0;
}

#endif
