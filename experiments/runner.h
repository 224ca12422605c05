/* Running a grid: cells in parallel under OpenMP, whole CSV rows as each cell ends, resume, progress.
 *
 * Determinism: a cell's random streams (initialization, shuffling, permutations, sampled labels) derive
 * from its seed and task order only, and the number of BLAS threads inside a cell is fixed by the grid
 * (blas_threads; auto: every core for a one-cell grid, else 1), so a cell's numbers are the same whatever
 * -j, the schedule, or how many cells a resumed run has left. The BLAS thread
 * count cannot follow -j: OpenBLAS's sgemm rounds differently with 1 and 2 threads, and even when the same
 * product is split by rows or columns (measured on this project's shapes: every split differs in the last
 * bits), and forgetting amplifies such differences into visibly different accuracies. With blas_threads > 1
 * the cells run one after another (OpenBLAS's OpenMP build is single-threaded inside a parallel region). Cells of the same seed and order share their
 * initialization and shuffling across methods: comparisons between methods are paired.
 *
 * Resume: rows are appended with one write(2) each, a cell's runs.csv row last. A rerun into the same
 * directory reads runs.csv, drops matrix and curves rows of cells that have no runs row (a cell killed
 * halfway), and runs only the missing cells. At the end every file is rewritten sorted by run (so the
 * files do not depend on the schedule), intransigence is filled in, and the summaries are written. */
#ifndef CLREG_RUNNER_H
#define CLREG_RUNNER_H

#include "experiments/grid.h"

typedef struct cl_runner_opts {
    int threads;          /* cells in parallel (default: all cores) */
    const char *outdir;   /* default results/<grid name> */
    int fresh;            /* discard earlier results in outdir */
    int progress;         /* -1: when stderr is a terminal, 0: never, 1: always */
    const char *command;  /* the command line, for the manifest */
} cl_runner_opts;

/* Run the grid (loaded and prepared with the data). Returns 0 when every cell has a row (diverged cells
 * included), -1 with a message otherwise. */
int cl_grid_run(const cl_grid *g, const cl_data *d, const cl_runner_opts *o);

/* Rewrite runs/matrix/curves sorted with intransigence filled in, and write the summary files.
 * select: NULL, or "label=lambda" entries choosing the group the figures draw for a label. */
int cl_results_finalize(const char *dir, const char *const *select, int nselect);

#endif
