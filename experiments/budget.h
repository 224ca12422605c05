/* Memory a run needs, estimated before it starts, against the memory it may use.
 *
 * `clreg run` and `clreg train` refuse a run that cannot fit before they create anything (exit 2, one
 * message with the estimate, its largest parts and the limit), instead of failing halfway through it. The
 * estimate is of the peak resident memory:
 *
 *     resident when the check runs (program, libraries, the dataset held once, the grid's cells)
 *   + cells running at once x the peak of the largest cell
 *     (or the memory of reading the results back at the end, if that is larger)
 *
 * A cell's peak, counted from the code that allocates it (P = the model's parameters, B = max(batch, the
 * evaluation batch: 1000 for an MLP, the batch with conv layers), floats of 4 bytes):
 *   model        parameters and gradients 2P; activations and backward signals of B samples per hidden
 *                layer and per conv or pooling item (max pooling's winners and dropout's masks
 *                besides); the largest conv's im2col workspace; logits of B samples; the evaluation's
 *                input batch of B samples, kept once the model has been evaluated  (models/mlp.c, train.c)
 *   optimizer    Adam's two moments 2P, SGD's velocity P                       (core/optim.c)
 *   regularizer  importance and anchor 2P per penalty term (EWC in separate mode: one term per task);
 *                SI's path integral and start 2P; the two copies the training loop keeps for methods
 *                with after_step 2P                                            (regularizers/, train.c)
 *   transient    the largest of: the importance pass's batch buffers (input, per layer |X| or X^2 and
 *                the signals; a sample's largest conv weight gradient; EWC's Fisher P besides);
 *                save_state's importance P; clreg train --probe's copies (about 21 bytes per parameter)
 *   training     the training batch and its logit gradients, the epoch's shuffled order (joint: the union
 *                of the tasks seen, with its task and position lists)
 *   stream       the task views: split index lists, permutation maps, rotation maps
 *   results      the cell's curves.csv and matrix.csv rows, held until the cell ends
 *   BLAS         the packing buffers of each BLAS thread the cell uses
 *
 * The limits: physical memory; the cgroup's memory.max (v2) or memory.limit_in_bytes (v1) when set; and,
 * as virtual sizes, RLIMIT_AS (ulimit -v) and RLIMIT_DATA (ulimit -d) when set. Against those two the
 * check adds the estimate to the process's current virtual size and counts every further thread at the
 * address space it takes (a malloc arena, its stack, an OpenBLAS buffer). tests/test_budget.c holds the
 * estimate to measured peaks of real runs, so it cannot drift away from the code unnoticed. */
#ifndef CLREG_BUDGET_H
#define CLREG_BUDGET_H

#include <stddef.h>

#include "core/optim.h"
#include "datasets/stream.h"
#include "experiments/grid.h"
#include "regularizers/regularizer.h"

/* One cell, or one clreg train run. */
typedef struct cl_budget_run {
    const cl_stream *stream;     /* its tasks (any order: sizes do not depend on it) */
    const cl_arch *arch;         /* the network before its heads */
    int batch, eval_batch;
    cl_opt_kind opt;
    const cl_reg *reg;           /* its regularizer, created on any model (its method and parameters), or NULL */
    int epochs;
    int eval_epochs;             /* curves after every epoch */
    int curve_steps;             /* and every k steps (0: never) */
    int keep_results;            /* holds its results rows until it ends (grid cells) */
    int save_state;              /* writes parameters and importances */
    int probe;                   /* clreg train --probe */
    int blas_threads;
} cl_budget_run;

typedef struct cl_budget_cell {
    double model, optim, reg, transient, train, stream, results, blas;
    double total;
    double curve_rows, matrix_rows; /* the rows it writes (with keep_results) */
} cl_budget_cell;

typedef struct cl_budget {
    double resident;   /* at the check: program, libraries, data, grid */
    double data;       /* the dataset, part of resident */
    cl_budget_cell cell; /* the largest cell */
    int parallel;      /* cells at once */
    int threads;       /* threads the run adds to the process's one (cells at once, or a cell's BLAS threads) */
    double finalize;   /* reading the results back at the end of a grid */
    double total;      /* the estimated peak resident memory */
    double vm_size, vm_data; /* the process's virtual and data size at the check */
} cl_budget;

/* The model's parameter count with its layout (models/mlp.c pads every weight matrix and bias to 16
 * floats), without allocating it. */
size_t cl_budget_nparams(int ninput, const int *hidden, int nhidden, const int *head_out, int nheads);

/* The peak of one cell or train run, by part. */
void cl_budget_cell_estimate(const cl_budget_run *r, cl_budget_cell *out);

/* The estimate of a grid run with `threads` cells in parallel (0: every core), as the runner runs it (the
 * same rule for BLAS threads and cells at once, see runner.h), once the grid is prepared with the data. */
int cl_budget_grid(cl_budget *b, const cl_grid *g, const cl_data *d, int threads);

/* The estimate of a single run (clreg train) with the data loaded. */
void cl_budget_single(cl_budget *b, const cl_data *d, const cl_budget_run *r);

/* 0 when the estimate fits every limit; else -1 with a message giving the estimate, its largest parts and
 * the limit it exceeds, e.g. "the run needs an estimated 40.1 GB of memory (...), more than the 25.3 GB of
 * physical memory: <hint>". */
int cl_budget_check(const cl_budget *b, const char *hint);

/* "estimated peak memory 98.4 MB (resident 60.1 MB, of it the data 54.9 MB; 2 cells at once x 19.2 MB
 * (...)); the tightest limit: 25.3 GB of memory, needed 98.4 MB" */
void cl_budget_describe(const cl_budget *b, char *buf, size_t n);

#endif
