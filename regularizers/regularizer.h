/* Regularizers as the training loop, the experiment runner and the command line see them.
 *
 * A regularizer protects what earlier tasks learned while a new task trains. The methods are named in one
 * table (registry.c); a caller creates one by name with "key=value" parameters and calls its hooks at fixed
 * points of training. What a method is made of, and how to write one, is in regint.h (the author's header,
 * the way SQLite splits btree.h from btreeInt.h): nothing here needs changing to add a method.
 *
 * The training loop, per task:
 *
 *     cl_reg_begin_task
 *     per step:  forward + backward of the task loss          (model->grads = its gradient)
 *                cl_reg_batch_loss         functional methods add a loss on the batch and its gradient
 *                cl_reg_add_penalty_grad   quadratic methods add 2 lambda Omega (theta - theta*)
 *                optimizer step over the trained ranges
 *                cl_reg_after_step         with a cl_step: what the step trained, and how
 *     cl_reg_end_task                      importance, anchors, the frozen copy of the model */
#ifndef CLREG_REGULARIZER_H
#define CLREG_REGULARIZER_H

#include <stddef.h>
#include <stdio.h>

#include "core/optim.h"
#include "core/rng.h"
#include "datasets/stream.h"
#include "models/mlp.h"

typedef struct cl_reg cl_reg;               /* one regularizer of one run (opaque here) */
typedef struct cl_reg_method cl_reg_method; /* one entry of the registry (opaque here) */

/* ---- what the hooks are given ------------------------------------------------------------------------ */

/* A finished task's data, for end_task. */
typedef struct cl_task_view {
    const cl_stream *stream;
    int task;          /* position in the stream's training order */
    int test;          /* 1: the task's test inputs (label-free importances: "adapt to test conditions") */
    int nsamples;      /* the first n samples of the task in the dataset's own order; 0: all */
    cl_rng *rng;       /* the run's stream for sampled labels */
} cl_task_view;

/* One optimizer step, for after_step. Every field describes the step just taken.
 *
 * grad is the unregularized gradient of the step's mean task loss, taken at theta_before, and it is zero
 * outside the trained ranges by construction: the loop copies the ranges only into a buffer whose other
 * entries it never writes. (m->grads itself may hold anything outside them: a frozen head's entries are
 * left from the last task that trained it, plus penalty gradients the optimizer ignores.)
 *
 * signals: 1 when the model still holds the step's per-sample backward signals (act[] and dz[] of the
 * forward and backward pass at theta_before, masks and all), which cl_step_per_sample (regint.h) turns
 * into exact per-sample gradient statistics. 0 for joint training (one pass per head group) and for a
 * method with a batch hook, whose own passes replace them. */
typedef struct cl_step {
    int task;                 /* position in the training order */
    int head;                 /* the head the step trained (-1: several, joint training) */
    int batch;                /* samples in the step */
    long index;               /* steps of this task before this one */
    const cl_range *ranges;   /* the parameter ranges the optimizer updated: the trunk and the trained head */
    int nranges;
    const float *grad;        /* [nparams] unregularized mean gradient, zero outside the ranges */
    const float *theta_before;/* [nparams] the parameters before the step (the model holds them after) */
    int signals;
} cl_step;

/* One training batch, for the batch hook of functional methods (LwF). model's forward/backward passes may
 * run on it; a backward with CL_GRAD_ADD adds into the gradient the step will take. previous is the frozen
 * copy of the model at the end of the last finished task (NULL during the first task, or when the method
 * does not ask for one); it is in evaluation mode and its workspace is the method's to use. */
typedef struct cl_batch {
    const cl_stream *stream;
    int task;                 /* position in the training order */
    int batch;                /* samples */
    const float *x;           /* [batch][input_dim] the step's inputs (as the model saw them) */
    const int *y;             /* [batch] their labels (output units of the task's head) */
    cl_mlp *model;
    cl_mlp *previous;
    float *dlogits;           /* [batch][model->maxout] scratch */
} cl_batch;

/* ---- the registry ------------------------------------------------------------------------------------ */

/* A method's look in figures: fixed in its registry entry, so a method is drawn the same in every figure
 * whatever else a grid holds. color "#rrggbb"; dash a gnuplot dash type (1 solid); point a point type. */
typedef struct cl_reg_style {
    const char *color;
    int dash, point;
} cl_reg_style;

/* A method's parameter: name, default (as text), one line of help with the valid values. */
typedef struct cl_reg_param {
    const char *name;
    const char *def;
    const char *help;
} cl_reg_param;

/* What a method keeps beyond the model, for memory budgets (experiments/budget.c), in floats per
 * parameter unless said otherwise. */
typedef struct cl_reg_memory {
    double state;      /* its own arrays (si: path integral and start) */
    int per_task;      /* one penalty term per task when mode=separate (ewc) */
    int imp;           /* end of task: 0 reads no data, 1 cl_importance's buffers, 2 its own (mas-local's) */
    double imp_extra;  /* during end_task (ewc: its Fisher before it joins the terms) */
    int model_copy;    /* keeps a frozen copy of the model (lwf) */
} cl_reg_memory;

int cl_reg_method_count(void);
const cl_reg_method *cl_reg_method_at(int i);      /* registry order; NULL past the end */
const cl_reg_method *cl_reg_find(const char *name);
const char *cl_reg_method_name(const cl_reg_method *m);
const char *cl_reg_method_summary(const cl_reg_method *m);
const cl_reg_param *cl_reg_method_params(const cl_reg_method *m); /* terminated by {NULL} */
int cl_reg_method_takes(const cl_reg_method *m, const char *param);
int cl_reg_method_joint(const cl_reg_method *m);       /* the upper bound: trains on every task seen so far */
int cl_reg_method_has_penalty(const cl_reg_method *m); /* a lambda-weighted term (quadratic or functional) */
int cl_reg_method_has_importance(const cl_reg_method *m); /* an Omega to save, summarize and draw */
int cl_reg_method_has_after_step(const cl_reg_method *m);
int cl_reg_method_has_end_task(const cl_reg_method *m);
const cl_reg_style *cl_reg_method_style(const cl_reg_method *m);
const cl_reg_memory *cl_reg_method_memory(const cl_reg_method *m);
/* 0 when `key` is a parameter of the method, else -1 with a message listing its parameters and the closest
 * name (grid files check their keys with it before the values). */
int cl_reg_check_param(const cl_reg_method *m, const char *key);
/* Every method with its parameters and defaults (clreg list), or the names alone, comma-separated. */
void cl_reg_list(FILE *f);
void cl_reg_names(char *buf, size_t n);

/* ---- one regularizer ----------------------------------------------------------------------------------- */

/* Create a regularizer for model m. params are "key=value" strings (n of them); unknown keys and bad values
 * are rejected with a message that names the key and, for a misspelling, the closest valid name. */
cl_reg *cl_reg_create(const char *name, const char *const *params, int nparams, const cl_mlp *m);
void cl_reg_free(cl_reg *r);
/* "ewc lambda=10 fisher=exact mode=separate gamma=1 ..." (every parameter, defaults included). */
void cl_reg_describe(const cl_reg *r, char *buf, size_t n);
const cl_reg_method *cl_reg_method_of(const cl_reg *r);
const char *cl_reg_get(const cl_reg *r, const char *key); /* as given, else the default; NULL: no such key */
float cl_reg_lambda(const cl_reg *r);
int cl_reg_samples(const cl_reg *r);  /* importance from the first n samples (0: all) */
int cl_reg_on_test(const cl_reg *r);  /* importance on the task's test inputs */
int cl_reg_signed(const cl_reg *r);   /* importances may be negative (si clip=no) */
/* end_task's cost per sample it reads, in thousandths of a training sample (experiments/shard.h). */
int cl_reg_importance_cost(const cl_reg *r, int nclasses);
/* What the method adds to a training step, in thousandths of the step (regint.h, step_cost). */
int cl_reg_step_cost(const cl_reg *r, int old_heads);

/* Hooks as the training loop calls them; each is a no-op where the method has none (and for r NULL). */
void cl_reg_begin_task(cl_reg *r, const cl_mlp *m, int task);
int cl_reg_has_after_step(const cl_reg *r);
void cl_reg_after_step(cl_reg *r, const cl_mlp *m, const cl_step *step);
int cl_reg_has_batch_loss(const cl_reg *r);
/* The functional loss of the batch (already times lambda), its gradient added into b->model->grads. */
double cl_reg_batch_loss(cl_reg *r, const cl_batch *b);
/* The frozen copy of the model the batch hook sees (NULL when the method keeps none, or before a task
 * ended). */
cl_mlp *cl_reg_previous(const cl_reg *r);
int cl_reg_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v);
double cl_reg_penalty(const cl_reg *r, const cl_mlp *m);
void cl_reg_add_penalty_grad(const cl_reg *r, const cl_mlp *m, float *grad);
/* Total Omega into out (nparams); returns 0, or -1 when the method has no importance. */
int cl_reg_importance(const cl_reg *r, float *out);

#endif
