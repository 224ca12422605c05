/* The regularizer interface.
 *
 * A regularizer protects what earlier tasks learned while a new task trains. Every method here has the
 * same quadratic form (one convention for all, the MAS paper's; no 1/2):
 *
 *     L = L_task(theta) + lambda * sum_i Omega_i (theta_i - theta*_i)^2,   gradient 2 lambda Omega (theta - theta*)
 *
 * and differs only in Omega, the importance of each parameter, and in how Omega and the anchor theta* move
 * from task to task. A method is one table of function pointers (below) in one .c file, plus one line in
 * registry.c. It sees the model's flat parameter and gradient arrays, never the optimizer or the runner.
 * The quadratic-anchor machinery (cl_quad: Omega, theta*, penalty, gradient) is written once, in quad.c,
 * and the exact per-sample importance machinery once, in importance.c; a method supplies its importance.
 * See regularizers/README.md for a walk-through of adding one. */
#ifndef CLREG_REGULARIZER_H
#define CLREG_REGULARIZER_H

#include <stddef.h>
#include <stdio.h>

#include "core/rng.h"
#include "datasets/stream.h"
#include "models/mlp.h"

/* ---- the quadratic anchor ------------------------------------------------------------------------------
 * One or more terms (Omega_k, theta*_k); the penalty sums them. Most methods keep one term; EWC in its
 * paper form keeps one per task. */
typedef struct cl_quad_term {
    float *omega, *anchor;
} cl_quad_term;

typedef struct cl_quad {
    size_t n;          /* parameters (the model's flat buffer) */
    int nterms, cap;
    cl_quad_term *terms;
} cl_quad;

void cl_quad_init(cl_quad *q, size_t n);
void cl_quad_free(cl_quad *q);
/* Append a term with Omega = 0 and the anchor at theta; returns it. */
cl_quad_term *cl_quad_push(cl_quad *q, const float *theta);
/* The single term of a one-term method, created on first use with Omega = 0. */
cl_quad_term *cl_quad_single(cl_quad *q);
/* lambda * sum_k sum_i Omega_ki (theta_i - theta*_ki)^2, accumulated in double. */
double cl_quad_penalty(const cl_quad *q, float lambda, const float *theta);
/* grad += 2 lambda sum_k Omega_k (theta - theta*_k). */
void cl_quad_add_grad(const cl_quad *q, float lambda, const float *theta, float *grad);
/* out = sum_k Omega_k: the total importance the penalty applies (what --save-state writes). */
void cl_quad_total_omega(const cl_quad *q, float *out);

/* ---- what end_task sees: the finished task's data ------------------------------------------------------ */
typedef struct cl_task_view {
    const cl_stream *stream;
    int task;          /* position in the stream's training order */
    int test;          /* 1: the task's test inputs (label-free importances: "adapt to test conditions") */
    int nsamples;      /* the first n samples of the task in the dataset's own order; 0: all */
    cl_rng *rng;       /* the run's stream for sampled labels */
} cl_task_view;

/* ---- parameters -------------------------------------------------------------------------------------- */
typedef struct cl_reg_param {
    const char *name;
    const char *def;   /* default, as text. A default lambda is the best of the shipped permuted sweep
                        * (experiments/permuted.ini), whose protocol is clreg train's defaults: a user who
                        * names only --reg gets a lambda measured to help there, not a paper's value tuned
                        * for another optimizer (under Adam, larger lambdas can forget more). */
    const char *help;  /* one line, including the valid values */
} cl_reg_param;

/* ---- the method table -------------------------------------------------------------------------------- */
typedef struct cl_reg cl_reg;

typedef struct cl_reg_method {
    const char *name;
    const char *summary;        /* one line for `clreg list` and --help */
    const cl_reg_param *params; /* terminated by {NULL}; "lambda" among them where the method has a penalty */
    int joint;                  /* trains on the union of the tasks seen so far (the upper bound) */

    /* Read parameters (cl_reg_get_*) and allocate state. Return -1 with a message on a bad value. */
    int (*create)(cl_reg *r, const cl_mlp *m);
    /* A task starts (e.g. SI remembers theta_start). May be NULL. */
    void (*begin_task)(cl_reg *r, const cl_mlp *m, int task);
    /* After every optimizer step: grad_task is the unregularized gradient of the step, theta_before the
     * parameters before it (m->params holds them after). May be NULL: the loop then skips the copies. */
    void (*after_step)(cl_reg *r, const cl_mlp *m, const float *grad_task, const float *theta_before);
    /* The task is over: compute importance, move anchors. May run the model (forward/backward) on the
     * task's data through the view; must leave the parameters unchanged. May be NULL. */
    int (*end_task)(cl_reg *r, cl_mlp *m, const cl_task_view *v);
    /* lambda * sum Omega (theta - theta*)^2 and its gradient added into grad. NULL: no penalty. */
    double (*penalty)(const cl_reg *r, const cl_mlp *m);
    void (*add_penalty_grad)(const cl_reg *r, const cl_mlp *m, float *grad);
    /* Release the method's state (the quad is released by the caller). May be NULL. */
    void (*destroy)(cl_reg *r);
    /* The cost of end_task per sample it reads, in thousandths of one training sample (forward and backward),
     * with the model's largest head of nclasses outputs: what shards are balanced by and --dry-run estimates
     * (experiments/shard.h). NULL: 1000 when the method has an end_task, else 0. A method whose end_task
     * reads no data (SI, L2) returns 0. */
    int (*importance_cost)(const cl_reg *r, int nclasses);
} cl_reg_method;

#define CL_REG_MAX_PARAMS 16

struct cl_reg {
    const cl_reg_method *method;
    float lambda;
    int nset;
    char *keys[CL_REG_MAX_PARAMS], *vals[CL_REG_MAX_PARAMS]; /* parameters as given, validated names */
    cl_quad quad;        /* the shared anchor machinery (unused by none and joint) */
    void *state;         /* the method's own */
    /* Common importance-data options, read by cl_reg_create for methods that have them. */
    int samples;         /* "samples": first n samples of a finished task; 0 = all */
    int on_test;         /* "data": 0 train, 1 test */
    /* Set by a method whose importances may be negative (si with clip=no, as the SI paper defines them):
     * its penalty is then not bounded below by 0. */
    int signed_importance;
};

/* ---- the registry ------------------------------------------------------------------------------------ */
extern const cl_reg_method *const cl_reg_methods[];   /* NULL-terminated, in registry order */
const cl_reg_method *cl_reg_find(const char *name);
/* 0 when `key` is a parameter of the method, else -1 with a message listing its parameters and the closest
 * name (grid files check their keys with it before the values). */
int cl_reg_check_param(const cl_reg_method *m, const char *key);
/* Print every method with its parameters and defaults (clreg list). */
void cl_reg_list(FILE *f);

/* Create a regularizer for model m. params are "key=value" strings (n of them); unknown keys and bad values
 * are rejected with a message that names the key and, for a misspelling, the closest valid name. */
cl_reg *cl_reg_create(const char *name, const char *const *params, int nparams, const cl_mlp *m);
void cl_reg_free(cl_reg *r);
/* "ewc lambda=10 fisher=exact mode=separate gamma=1 ..." (every parameter, defaults included). */
void cl_reg_describe(const cl_reg *r, char *buf, size_t n);

/* Hooks as the training loop calls them; each is a no-op where the method has none. */
void cl_reg_begin_task(cl_reg *r, const cl_mlp *m, int task);
int cl_reg_has_after_step(const cl_reg *r);
void cl_reg_after_step(cl_reg *r, const cl_mlp *m, const float *grad_task, const float *theta_before);
int cl_reg_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v);
double cl_reg_penalty(const cl_reg *r, const cl_mlp *m);
void cl_reg_add_penalty_grad(const cl_reg *r, const cl_mlp *m, float *grad);
/* Total Omega into out (nparams); returns 0, or -1 when the method has no importance (none, joint). */
int cl_reg_importance(const cl_reg *r, float *out);

/* Parameter access for create(): the value given, else the default from the method's table. Each parse
 * failure names the method and key. */
const char *cl_reg_get(const cl_reg *r, const char *key);
int cl_reg_get_float(const cl_reg *r, const char *key, double min, double max, float *out);
int cl_reg_get_int(const cl_reg *r, const char *key, long min, long max, int *out);
/* One of a NULL-terminated list of choices; *out is its index. */
int cl_reg_get_choice(const cl_reg *r, const char *key, const char *const *choices, int *out);

/* Penalty and gradient of methods whose penalty is the shared quad. */
double cl_reg_quad_penalty(const cl_reg *r, const cl_mlp *m);
void cl_reg_quad_add_grad(const cl_reg *r, const cl_mlp *m, float *grad);

/* The common parameters of methods that compute importance from data. */
#define CL_REG_DATA_PARAMS                                                                                    \
    {"samples", "0", "importance from the first n samples of the finished task, dataset order (0: all)"},   \
    {"data", "train", "importance data: train, or test (the task's test inputs, no labels needed)"}

/* ---- exact per-sample importances (importance.c) --------------------------------------------------------
 * For a dense layer z = W x + b with per-sample backward signal d_k = dloss_k/dz and input x_k over N samples:
 *     abs:    Omega_W += (1/N) |D|^T |X|          Omega_b += (1/N) sum_k |d_k|
 *     square: Omega_W += (1/N) (D o D)^T (X o X)  Omega_b += (1/N) sum_k d_k o d_k
 * which is the mean over samples of |per-sample gradient| (or its square), computed with one batched
 * backward pass and one gemm per layer instead of N backward passes.
 *
 * The estimator supplies, per batch, the per-sample gradient of its loss w.r.t. the logits (signal),
 * possibly several times ("passes", e.g. one per class for the exact Fisher) with a weight per sample and
 * pass; the weight multiplies the per-sample contribution (so rows are scaled by sqrt(w) before squaring,
 * or by w before abs). */
typedef enum { CL_IMP_ABS, CL_IMP_SQUARE } cl_imp_combine;

typedef struct cl_imp_estimator {
    cl_imp_combine combine;
    int npasses;
    /* Fill dlogits[B][C] (only the first `active` columns matter) with d loss_k / d logits for pass p, and
     * weight[B] (1 when unweighted). logits are the head's outputs, y the labels (output units). */
    void (*signal)(void *ctx, int pass, const float *logits, const int *y, int B, int C, int active,
                   float *dlogits, float *weight);
    void *ctx;
    /* Compatibility option: 1 = the abs (or square) of the batch-mean gradient, averaged over batches
     * weighted by batch size, instead of the per-sample mean. What several libraries compute. */
    int batch_estimate;
    int batch;         /* samples per batch (also the batch of the batch estimate) */
} cl_imp_estimator;

/* Add the estimator's importance over the view's samples into omega (nparams; trunk and the task's head). */
int cl_importance(cl_mlp *m, const cl_task_view *v, const cl_imp_estimator *est, float *omega);

/* Positions of the view's samples: count, and a batch assembler over them. */
int cl_view_count(const cl_task_view *v);

#endif
