/* Writing NumPy .npy files (format 1.0): float32, little-endian, C order. Enough for anyone to load
 * clreg's parameters and importances with numpy.load and look at them in any tool. */
#ifndef CLREG_NPY_H
#define CLREG_NPY_H

#include <stddef.h>

/* Write data (product of shape[0..ndim) floats) to path. Returns 0, or -1 with a message naming the file. */
int cl_npy_write(const char *path, const float *data, int ndim, const size_t *shape);

/* Read a float32 little-endian C-order .npy (as cl_npy_write writes them). *data is malloc'd; shape gets up
 * to 4 dimensions. Errors name the file and what was wrong (magic, dtype, order, size). */
int cl_npy_read(const char *path, float **data, size_t *count, int *ndim, size_t shape[4]);

/* Create a directory and its parents (like mkdir -p); -1 with a message on failure. */
int cl_mkdirs(const char *path);

#endif
