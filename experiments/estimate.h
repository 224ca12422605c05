/* What a grid will cost in CPU time, before it runs (clreg run --dry-run).
 *
 * Each cell's estimated multiply-adds (shard.h: training, penalties and importances; evaluation) are turned
 * into seconds with two rates measured on this machine, on the grid's own network and data, in a
 * calibration of about a second: the seconds per multiply-add of training steps (timed between two points
 * of a real training run, so neither setup nor the first evaluation counts) and of evaluating a task's test
 * set. A cell runs on one core with one BLAS thread (unless the grid says blas_threads), so the sum over
 * cells is the grid's CPU time, and the wall time at -j K is about that over K. make bench measures how
 * close the estimate comes to the time a grid then takes. */
#ifndef CLREG_ESTIMATE_H
#define CLREG_ESTIMATE_H

#include <stdint.h>

#include "experiments/grid.h"

typedef struct cl_estimate {
    double train_rate, eval_rate; /* seconds per multiply-add, measured */
    double *cell_sec;             /* per cell */
    double total_sec;
    int largest;                  /* the cell with the most seconds (0-based) */
} cl_estimate;

/* Calibrate and estimate every cell of a prepared grid. -1 with a message if the calibration run fails. */
int cl_estimate_grid(cl_estimate *e, const cl_grid *g, const cl_data *d);
void cl_estimate_free(cl_estimate *e);

/* "1h07m", "4m10s", "12s", "0.4s" */
void cl_estimate_time(char *buf, size_t n, double sec);

#endif
