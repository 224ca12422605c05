/* Experiment grids: an INI file (parsed with inih) describing a cross product of cells.
 *
 *     [experiment]                  the task stream, model, training, seeds and task orders
 *     dataset = fashion-mnist
 *     stream = permuted
 *     tasks = 5
 *     seeds = 3                     a count (seeds 1..3) or a list of two or more: 1, 7, 42
 *     orders = 1                    a count (order 0 natural, the others random) or lists: 1 2 3 | 3 2 1
 *
 *     [none]                        one section per method to compare; every value may be a comma list
 *     [ewc]
 *     lambda = 10, 100, 1000
 *     fisher = empirical, exact
 *
 *     [ewc online]                  a second section of one method, labelled "ewc online"
 *     mode = online
 *
 * The cells are method section x parameter combination x order x seed, numbered in that order. Every value
 * is checked before anything runs; a bad one gets a message with the file, the line and, for a misspelt
 * name, the closest valid one. A grid file is UTF-8 text (a byte order mark is skipped; \n, \r\n and \r
 * end lines), at most CL_GRID_MAX_BYTES, with lines of at most CL_GRID_MAX_LINE bytes. No list holds a value
 * twice (seeds, orders, method parameters; 1 and 1.0 are one value), and a grid expands to at most
 * CL_GRID_MAX_CELLS cells, counted before they are expanded. */
#ifndef CLREG_GRID_H
#define CLREG_GRID_H

#include <stdint.h>

#include "core/optim.h"
#include "experiments/settings.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "regularizers/regularizer.h"

#define CL_GRID_MAX_KEYS 16
#define CL_GRID_MAX_BYTES (1 << 20)  /* a file larger than this is not a grid (/dev/zero, a dataset by mistake) */
#define CL_GRID_MAX_LINE (1 << 16)   /* bytes in a line, line end aside */
#define CL_GRID_MAX_CELLS 100000     /* more is a typo (three lists of 1000 values) or several studies in one */
#define CL_GRID_MAX_NAME 64          /* the results directory's name: letters, digits, '.', '_', '-' */
#define CL_GRID_MAX_LABEL 48         /* a section's label, which names results rows and figure files */
#define CL_GRID_MAX_VALUE 256        /* one value of a method parameter's list */

typedef struct cl_grid_section {
    char *label;                   /* the section name with spaces as '_' (a CSV and plot key) */
    const cl_reg_method *method;
    int line;
    int nkeys;
    char *keys[CL_GRID_MAX_KEYS];
    int keyline[CL_GRID_MAX_KEYS];
    int nvals[CL_GRID_MAX_KEYS];
    char **vals[CL_GRID_MAX_KEYS]; /* the comma list of each key */
} cl_grid_section;

typedef struct cl_grid_cell {
    int run;                       /* 1-based */
    int section;
    int nparams;
    char *params[CL_GRID_MAX_KEYS + 1]; /* "key=value" for cl_reg_create (samples added from the grid) */
    int order;                     /* index into the grid's orders */
    uint64_t seed;
} cl_grid_cell;

typedef struct cl_grid {
    char *path, *name, *text;      /* text: the file's bytes (copied into the results directory) */
    char *shown;                   /* the path as messages show it (escaped, cut: cl_quote_path) */
    int regular;                   /* read from a regular file (not a pipe): its name names the grid */
    int named;                     /* the name came from `name =` */
    /* [experiment] */
    cl_settings set;               /* the keys clreg train also takes (settings.h): data, stream, network, training */
    int nseeds;
    uint64_t *seeds;
    int seeds_line;
    int norders_random;            /* orders = N: order 0 natural plus N - 1 random, all distinct */
    int norders_explicit;          /* the number of explicit orders (orders_text), before they are checked */
    int norders;                   /* after cl_grid_prepare: the orders, each a permutation (0-based ids) */
    int **orders;
    char *orders_text;             /* explicit lists, checked against the number of tasks in prepare */
    int orders_line;
    int importance_samples;        /* default for methods that take `samples` */
    int eval_epochs;               /* eval = epoch: curves after every epoch */
    int curve_steps;               /* also every k steps (0: never) */
    int save_state;                /* 0 no, 1 after every task, 2 after the first task only */
    int blas_threads;              /* BLAS threads inside each cell; 0: auto (see runner.c) */
    int experiment_line;
    /* methods and cells */
    int nsections;
    cl_grid_section *sections;
    int ncells;
    cl_grid_cell *cells;
    int ntasks;                    /* after prepare */
} cl_grid;

/* Read a grid file once (a pipe works; a directory is refused) and parse and check it: syntax, names, values,
 * parameter combinations, the number of cells. The name, unless `name =` gives it, is the file's name
 * without extension, or for a pipe "grid-<crc32 of the bytes>". On failure g holds what was read so far:
 * cl_grid_free it either way. */
int cl_grid_load(cl_grid *g, const char *path);
/* With the data loaded: check the stream against it, fix the number of tasks, build the task orders and
 * expand the cells. */
int cl_grid_prepare(cl_grid *g, const cl_data *d);
void cl_grid_free(cl_grid *g);

/* The grid's task stream over d in the natural task order: the tasks every cell trains, in some order, with
 * their sizes and shapes (for estimates of memory and time). -1 with a message naming the grid. */
int cl_grid_stream(const cl_grid *g, const cl_data *d, cl_stream *s);

/* "lambda=100 fisher=exact ..." parts of a cell, as written to runs.csv. */
const char *cl_grid_cell_value(const cl_grid_cell *c, const char *key);

#endif
