/* Shards: a grid's cells split into N parts that separate processes (a SLURM job array, GNU parallel, a
 * shell loop over machines) run on their own, to be merged into one results directory (merge.h).
 *
 * Every shard process computes the same assignment on its own, so it must be a pure function of the grid
 * and the data: an estimate of each cell's cost from its shapes and counts (below), in integers, never a
 * timing. The cells are taken in decreasing cost (ties: lower run first) and each goes to the shard with the
 * least estimated work so far (ties: lower shard first): the greedy "longest processing time first" rule,
 * whose largest shard is at most 4/3 of the best possible split. With k mod N instead, one shard of a grid
 * whose joint cells sit together gets them all.
 *
 * The cost of a cell, in multiply-adds of the network (P per sample and forward pass: the sum over layers
 * of inputs x outputs, the task's head for the output layer; a conv layer's output positions x channels x
 * its kernel's inputs, a pooling window element one; W the weights, which for an MLP is P):
 *
 *     training     epochs x sum over tasks of the samples trained (joint: the union of the tasks so far)
 *                  x 3P (forward, and backward for the signals and the weight gradients)
 *                  + steps x 16W for a method with a penalty (its gradient over every parameter, measured
 *                  at about 4% of a step of batch 128)
 *     evaluation   every task's test set after every task and before the first (and at each curve point)
 *                  x P
 *     importance   at each task's end, the samples the method reads x 3P x the method's own factor
 *                  (cl_reg_method.importance_cost: per mille of a training sample, measured by make bench:
 *                  EWC's exact Fisher with C classes about 1 + 0.14 (C - 1), MAS 0.9)
 *
 * The same estimate, with this machine's seconds per unit from a short calibration, is what
 * `clreg run --dry-run` prints. */
#ifndef CLREG_SHARD_H
#define CLREG_SHARD_H

#include <stdint.h>

#include "experiments/grid.h"

/* A shard of N: index 0..N-1. count 0 means "not sharded". */
typedef struct cl_shard {
    int index, count;
} cl_shard;

/* Shards of one grid. SLURM's default MaxArraySize allows arrays of 1,000 tasks; a merge holds each shard's
 * per-cell bookkeeping at once (about 13 bytes per cell of the grid per shard), which this keeps below
 * 1.3 GB for the largest grid. */
#define CL_SHARD_MAX 1000

/* Parse "I/N" (0 <= I < N <= CL_SHARD_MAX) or "slurm": I and N from SLURM_ARRAY_TASK_ID,
 * SLURM_ARRAY_TASK_MIN and SLURM_ARRAY_TASK_COUNT (I = ID - MIN; arrays need not start at 0, and a
 * throttled or stepped array is refused when its IDs are not MIN..MIN+COUNT-1). opt names the option in
 * messages. -1 with a message on anything else. */
int cl_shard_parse(const char *opt, const char *text, cl_shard *out);

/* The unit of the estimate: multiply-adds of one sample's forward pass through the grid's network with
 * head `head` of the stream. */
uint64_t cl_shard_forward_cost(const cl_grid *g, const cl_stream *s, int head);

/* The estimated cost (see above) of every cell of a prepared grid, in multiply-adds. cost[ncells]. */
int cl_shard_costs(const cl_grid *g, const cl_data *d, uint64_t *cost);
/* The same in two parts: training, penalties and importances (train[]), and evaluation (eval[]), which
 * --dry-run converts to seconds with two rates of its own. */
int cl_shard_cost_parts(const cl_grid *g, const cl_data *d, uint64_t *train, uint64_t *eval);

/* The shard of each cell (shard_of[ncells]) for N shards, from the costs. */
void cl_shard_assign(int ncells, const uint64_t *cost, int nshards, int *shard_of);

/* "shard-I-of-N", the name of a shard's results directory under the grid's. */
void cl_shard_dirname(const cl_shard *s, char *out, size_t n);

/* The file in a shard's results directory that says which shard it is and which cells it runs:
 *     shard: I/N
 *     cells: K of the grid's M
 *     runs: 1 4 7 ...          (one line, the run numbers in increasing order)
 * merge reads it to tell which shard should have held a missing cell. */
#define CL_SHARD_FILE "shard.txt"
int cl_shard_write(const char *dir, const cl_shard *s, int ncells, const int *shard_of);
/* Read DIR/shard.txt: returns 0 with s and, when runs is given, runs[1..ncells] set to 1 for the shard's
 * cells (ncells as the file says, checked against *ncells when that is non-zero); 1 when there is no such
 * file (not a shard); -1 with a message naming the file and line when it is damaged. */
int cl_shard_read(const char *dir, cl_shard *s, int *ncells, unsigned char **runs);

#endif
