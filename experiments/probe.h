/* Where a run's changes sit: put subsets of the parameters back to their values after a reference task and
 * evaluate every task again.
 *
 * A quadratic penalty judges each weight alone, by an importance measured at the anchor. Two things escape
 * it, and this probe shows both (README, "Why a larger lambda can forget more"):
 *   - the combined effect of many weights it rates unimportant: put the least important q% back and see
 *     whether the old task returns (and the new one leaves);
 *   - hidden units silent (ReLU output 0 on every training sample of the reference task): a silent unit
 *     passes no gradient, so every importance built on gradients or activations at the anchor is exactly 0
 *     for the weights into and out of it, and a later task can revive it for free.
 *
 * Used by `clreg train --probe K`: cl_probe_capture after task K, cl_probe_eval after the last task. */
#ifndef CLREG_PROBE_H
#define CLREG_PROBE_H

#include <stddef.h>

#include "datasets/stream.h"
#include "models/mlp.h"
#include "regularizers/regularizer.h"

typedef struct cl_probe {
    int task;               /* the reference task (0-based) */
    size_t n;               /* the model's nparams */
    float *anchor;          /* parameters after the reference task */
    float *omega;           /* the regularizer's total importance then; NULL when it has none or it is flat */
    size_t *order;          /* with omega: parameter indices by ascending importance, ties by index */
    unsigned char *silent;  /* per parameter: 1 if it is a weight into or out of, or the bias of, a silent unit */
    int *silent_units;      /* per trunk layer: units silent on every training sample of the task */
    size_t silent_params;   /* parameters marked in `silent` */
} cl_probe;

/* Capture the reference: m's parameters now, reg's importance (reg may be NULL), and the hidden units
 * silent on all of task `task`'s training samples (one forward pass over them). Returns 0. */
int cl_probe_capture(cl_probe *p, cl_mlp *m, const cl_stream *s, int task, const cl_reg *reg);
void cl_probe_free(cl_probe *p);

/* Mark (mask[i] = 1) the parameters whose importance rank, ascending (ties by index), lies in
 * [lo * n, hi * n). Returns the number marked, or -1 when the probe has no importance. */
long cl_probe_rank_mask(const cl_probe *p, double lo, double hi, unsigned char *mask);

/* Test accuracy on every task (acc[ntasks]) with the parameters in mask (NULL: all) put back to the anchor,
 * the output units chosen as after training task `row_task`. m's parameters are restored before return. */
void cl_probe_eval(const cl_probe *p, cl_mlp *m, const cl_stream *s, const unsigned char *mask, int row_task,
                   float *acc);

#endif
