/* Synthetic image data: learnable, deterministic, and small enough to generate in every test.
 *
 * Each class has a prototype: a coarse grid of random values (about 4x4 pixels a cell) smoothed by
 * bilinear interpolation and thresholded, so prototypes look like blotchy images with a dark background
 * and survive rotation and permutation views sensibly. A sample of class c blends c's prototype with a
 * little of another class's prototype and adds pixel noise. The blend weight of the other class is at
 * most SYN_MIX_MAX, just above one half, so a few percent of samples sit near the boundary between two
 * classes: a classifier reaches high accuracy quickly but not 100%, leaving room to see forgetting. */
#include "datasets/dataset.h"
#include "core/error.h"
#include "core/rng.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SYN_CELL 4          /* pixels per cell of the prototype's random grid */
#define SYN_MIX_MAX 0.53f   /* the other class's weight is uniform in [0, SYN_MIX_MAX] */
#define SYN_NOISE 40.0f     /* standard deviation of the pixel noise, on the 0..255 scale */

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Prototype of class c as floats in 0..255, from its own stream so it does not depend on nclasses or on
 * how many samples were drawn. */
static void prototype(float *proto, int rows, int cols, int c, uint64_t seed)
{
    cl_rng r;
    cl_rng_seed(&r, seed, cl_hash_mix(cl_hash_str("synthetic/prototype"), (uint64_t)c));
    int gr = rows / SYN_CELL + 2, gc = cols / SYN_CELL + 2;
    float *grid = cl_malloc((size_t)gr * gc * sizeof *grid);
    for (int i = 0; i < gr * gc; i++) grid[i] = cl_rng_uniform(&r);
    for (int i = 0; i < rows; i++) {
        float y = rows > 1 ? (float)i * (gr - 1) / (rows - 1) : 0;
        int y0 = (int)y < gr - 1 ? (int)y : gr - 2;
        float fy = y - y0;
        for (int j = 0; j < cols; j++) {
            float x = cols > 1 ? (float)j * (gc - 1) / (cols - 1) : 0;
            int x0 = (int)x < gc - 1 ? (int)x : gc - 2;
            float fx = x - x0;
            const float *g = grid + (size_t)y0 * gc + x0;
            float v = (1 - fy) * ((1 - fx) * g[0] + fx * g[1]) + fy * ((1 - fx) * g[gc] + fx * g[gc + 1]);
            /* Stretch and clip: roughly a third of the pixels become background (0) and some saturate. */
            proto[(size_t)i * cols + j] = 255.0f * clampf((v - 0.4f) / 0.35f, 0.0f, 1.0f);
        }
    }
    free(grid);
}

/* One split: balanced shuffled labels, then each sample from its class prototype, all from stream `key`. */
static void synth_split(cl_dataset *d, const float *protos, int n, int rows, int cols, int nclasses,
                        uint64_t seed, const char *split)
{
    char key[64];
    snprintf(key, sizeof key, "synthetic/%s", split);
    snprintf(d->name, sizeof d->name, "synthetic/%s", split);
    cl_rng r;
    cl_rng_seed(&r, seed, cl_hash_str(key));
    int dim = rows * cols;
    d->n = n;
    d->channels = 1; /* grey images: the synthetic data stays one channel */
    d->rows = rows;
    d->cols = cols;
    d->dim = dim;
    d->nclasses = nclasses;
    d->feat = NULL;
    d->byte_valued = 1;
    d->pix = cl_malloc((size_t)n * dim);
    d->labels = cl_malloc((size_t)n * sizeof *d->labels);
    int *lab = cl_malloc((size_t)n * sizeof *lab);
    for (int i = 0; i < n; i++) lab[i] = i % nclasses;
    cl_rng_shuffle(&r, lab, n);
    for (int i = 0; i < n; i++) {
        int c = lab[i], o = c;
        float a = 0;
        if (nclasses > 1) {
            o = (c + 1 + (int)cl_rng_below(&r, (uint32_t)nclasses - 1)) % nclasses;
            a = SYN_MIX_MAX * cl_rng_uniform(&r);
        }
        const float *pc = protos + (size_t)c * dim, *po = protos + (size_t)o * dim;
        uint8_t *x = d->pix + (size_t)i * dim;
        for (int j = 0; j < dim; j++) {
            float v = (1 - a) * pc[j] + a * po[j] + SYN_NOISE * cl_rng_normal(&r);
            x[j] = (uint8_t)lrintf(clampf(v, 0.0f, 255.0f));
        }
        d->labels[i] = c;
    }
    free(lab);
}

static float *make_prototypes(int rows, int cols, int nclasses, uint64_t seed)
{
    size_t dim = (size_t)rows * cols;
    float *protos = cl_malloc((size_t)nclasses * dim * sizeof *protos);
    for (int c = 0; c < nclasses; c++) prototype(protos + c * dim, rows, cols, c, seed);
    return protos;
}

/* The same samples as the train split of cl_data_synthetic with the same arguments. */
void cl_dataset_synthetic(cl_dataset *d, int n, int rows, int cols, int nclasses, uint64_t seed)
{
    assert(n >= 0 && rows > 0 && cols > 0 && nclasses > 0);
    memset(d, 0, sizeof *d);
    float *protos = make_prototypes(rows, cols, nclasses, seed);
    synth_split(d, protos, n, rows, cols, nclasses, seed, "train");
    free(protos);
}

void cl_data_synthetic(cl_data *d, int ntrain, int ntest, int rows, int cols, int nclasses, uint64_t seed)
{
    assert(ntrain >= 0 && ntest >= 0 && rows > 0 && cols > 0 && nclasses > 0);
    memset(d, 0, sizeof *d);
    float *protos = make_prototypes(rows, cols, nclasses, seed);
    synth_split(&d->train, protos, ntrain, rows, cols, nclasses, seed, "train");
    synth_split(&d->test, protos, ntest, rows, cols, nclasses, seed, "test");
    free(protos);
    snprintf(d->origin, sizeof d->origin, "generated: synthetic %d train + %d test images of %dx%d, %d classes, seed %llu",
             ntrain, ntest, rows, cols, nclasses, (unsigned long long)seed);
}
