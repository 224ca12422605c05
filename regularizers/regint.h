/* Writing a regularizer: what a method author implements and the machinery written once for them.
 * (The training loop's view is regularizer.h; this header includes it.)
 *
 * Every quadratic method here has the same form (one convention for all, the MAS paper's; no 1/2):
 *
 *     L = L_task(theta) + lambda * sum_i Omega_i (theta_i - theta*_i)^2,   gradient 2 lambda Omega (theta - theta*)
 *
 * and differs only in Omega, the importance of each parameter, and in how Omega and the anchor theta* move
 * from task to task. A functional method (LwF) instead adds a loss on each batch's outputs through the
 * batch hook. A method is one table of function pointers (cl_reg_method, below) in one .c file, plus one
 * line in registry.c. It sees the model's flat parameter and gradient arrays, never the optimizer or the
 * runner. The quadratic-anchor machinery (cl_quad) is written once, in quad.c; the exact per-sample
 * importance machinery once, in importance.c. See regularizers/README.md for a walk-through. */
#ifndef CLREG_REGINT_H
#define CLREG_REGINT_H

#include "regularizers/regularizer.h"

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

/* ---- the method table -------------------------------------------------------------------------------- */
struct cl_reg_method {
    const char *name;
    const char *summary;        /* one line for `clreg list` and --help */
    const cl_reg_param *params; /* terminated by {NULL}; "lambda" among them where the method has a penalty.
                                 * A default lambda is the best of the method's sweep on the permuted grid
                                 * (regularizers/sweep.ini) under clreg train's defaults: a user who names
                                 * only --reg gets a lambda measured to help there, not a paper's value
                                 * tuned for another optimizer. */
    int joint;                  /* trains on the union of the tasks seen so far (the upper bound) */
    int previous;               /* keep a frozen copy of the model at each task's end for the batch hook */
    cl_reg_style style;         /* how figures draw it (regularizer.h) */
    cl_reg_memory memory;       /* what it keeps (regularizer.h); zero: one term, cl_importance's buffers */

    /* Read parameters (cl_reg_get_*) and allocate state. Return -1 with a message on a bad value. */
    int (*create)(cl_reg *r, const cl_mlp *m);
    /* A task starts (e.g. SI remembers theta_start). May be NULL. */
    void (*begin_task)(cl_reg *r, const cl_mlp *m, int task);
    /* After every optimizer step, with what the step did (regularizer.h, cl_step). May be NULL: the loop then
     * skips the copies it needs. */
    void (*after_step)(cl_reg *r, const cl_mlp *m, const cl_step *step);
    /* A functional loss on the step's batch: run b->model (and b->previous) forward, backward with
     * CL_GRAD_ADD, return the loss added (lambda included). May be NULL. */
    double (*batch_loss)(cl_reg *r, const cl_batch *b);
    /* The task is over: compute importance, move anchors. May run the model (forward/backward) on the
     * task's data through the view; must leave the parameters unchanged. May be NULL. */
    int (*end_task)(cl_reg *r, cl_mlp *m, const cl_task_view *v);
    /* lambda * sum Omega (theta - theta*)^2 and its gradient added into grad. NULL: no such penalty. */
    double (*penalty)(const cl_reg *r, const cl_mlp *m);
    void (*add_penalty_grad)(const cl_reg *r, const cl_mlp *m, float *grad);
    /* Release the method's state (r->state itself, and the quad, are released by the caller). May be NULL. */
    void (*destroy)(cl_reg *r);
    /* The cost of end_task per sample it reads, in thousandths of one training sample (forward and backward),
     * with the model's largest head of nclasses outputs: what shards are balanced by and --dry-run estimates
     * (experiments/shard.h). NULL: 1000 when the method has an end_task, else 0. A method whose end_task
     * reads no data (SI, L2) returns 0. */
    int (*importance_cost)(const cl_reg *r, int nclasses);
    /* What the method adds to each training step, in thousandths of the step's own cost (forward and
     * backward), while a task trains after `old_heads` distinct heads have finished tasks: the same use as
     * importance_cost. NULL: 0. (lwf: a forward pass on each model and a backward pass per old head.) */
    int (*step_cost)(const cl_reg *r, int old_heads);
};

#define CL_REG_MAX_PARAMS 16

struct cl_reg {
    const cl_reg_method *method;
    float lambda;
    int nset;
    char *keys[CL_REG_MAX_PARAMS], *vals[CL_REG_MAX_PARAMS]; /* parameters as given, validated names */
    cl_quad quad;        /* the shared anchor machinery (unused by methods without a quadratic penalty) */
    void *state;         /* the method's own; freed by the caller after destroy */
    cl_mlp *previous;    /* method->previous: the model as the last finished task left it */
    /* Common importance-data options, read by cl_reg_create for methods that have them. */
    int samples;         /* "samples": first n samples of a finished task; 0 = all */
    int on_test;         /* "data": 0 train, 1 test */
    /* Set by a method whose importances may be negative (si with clip=no, as the SI paper defines them):
     * its penalty is then not bounded below by 0. */
    int signed_importance;
};

/* Create a regularizer from a method table that need not be in the registry: how tests exercise the loop
 * with a method of their own, and how an author tries one before registering it. */
cl_reg *cl_reg_create_method(const cl_reg_method *method, const char *const *params, int nparams, const cl_mlp *m);

/* Parameter access for create(): the value given, else the default from the method's table. Each parse
 * failure names the method and key. */
int cl_reg_get_float(const cl_reg *r, const char *key, double min, double max, float *out);
int cl_reg_get_int(const cl_reg *r, const char *key, long min, long max, int *out);
/* One of a NULL-terminated list of choices; *out is its index. */
int cl_reg_get_choice(const cl_reg *r, const char *key, const char *const *choices, int *out);

/* importance_cost of a method whose end_task reads no data (its importance was gathered during training,
 * or needs none): 0. */
int cl_reg_cost_no_data(const cl_reg *r, int nclasses);

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
    /* 1: also give the units of the dense trunk that are silent (ReLU output 0) on every sample the
     * importance reads the importance they would have if their ReLU passed the signal: for such a unit u of
     * layer l, Omega_W[u][j] += (1/N) sum_k T(e_ku) T(x_kj) and Omega_b[u] += (1/N) sum_k T(e_ku), with
     * e_k = W_{l+1}^T d_{k,l+1} the signal arriving at u's output before the ReLU (mas_silent.c says why).
     * Per-sample estimate only. */
    int open_silent;
} cl_imp_estimator;

/* Add the estimator's importance over the view's samples into omega (nparams; trunk and the task's head). */
int cl_importance(cl_mlp *m, const cl_task_view *v, const cl_imp_estimator *est, float *omega);

/* MAS's per-sample signal at the logits (mas.c): 2 f(x_k) for the squared norm (norm=l2sq). */
void cl_mas_signal_l2sq(const float *logits, int B, int C, int active, float *dlogits);

/* Positions of the view's samples: count, and a batch assembler over them. */
int cl_view_count(const cl_task_view *v);

/* The per-sample gradients of the step's task loss, from the signals the model holds (step->signals must
 * be 1): out += alpha * (1/B) sum_k T(g_k) over the step's trunk and head, with g_k the gradient of sample
 * k's own loss (B times its share of the mean) and T = |.| or (.)^2. With CL_IMP_SQUARE and alpha 1 it is
 * the step's exact empirical Fisher; with the square of the batch-mean gradient it is not. */
void cl_step_per_sample(const cl_mlp *m, const cl_step *step, cl_imp_combine c, float alpha, float *out, float *work);
/* Floats of the workspace cl_step_per_sample takes (work; NULL: it allocates its own per call, which
 * costs more than the arithmetic on a large layer: the buffers come fresh from mmap each time). */
size_t cl_step_per_sample_work(const cl_mlp *m);

/* ---- the running Fisher of EWC++ (fisher_ema.c), for methods that update importance every step ----------- */
typedef struct cl_fisher_ema {
    size_t n;
    float alpha;          /* weight of the newest window */
    int every;            /* steps per window */
    int sample;           /* 1: exact per-sample Fisher of each step; 0: square of the batch-mean gradient */
    float *F;             /* [n] the running Fisher */
    float *window;        /* [n] the current window's sum of step Fishers */
    int nwindow, seeded;
    float *work;          /* cl_step_per_sample's workspace */
    cl_range *ranges;     /* the trained ranges of the last step (constant within a task) */
    int nranges, cap;
} cl_fisher_ema;

void cl_fisher_ema_init(cl_fisher_ema *e, const cl_mlp *m, int nranges_max);
void cl_fisher_ema_free(cl_fisher_ema *e);
/* Read alpha, every and fisher (the parameters CL_FISHER_EMA_PARAMS declares). */
int cl_fisher_ema_params(cl_reg *r, cl_fisher_ema *e);
/* Add the step's Fisher to the window; at the window's end fold it into F and return 1. */
int cl_fisher_ema_step(cl_fisher_ema *e, const cl_mlp *m, const cl_step *step);
/* step_cost of a method built on it (the per-sample Fisher: one more gemm per layer and step). */
int cl_fisher_ema_step_cost(const cl_reg *r, int old_heads);
/* Fold a partial window in (a task's last steps). */
void cl_fisher_ema_flush(cl_fisher_ema *e);

#define CL_FISHER_EMA_PARAMS                                                                                      \
    {"alpha", "0.9", "weight of the newest window in the running Fisher, in (0, 1]"},                              \
    {"every", "50", "optimizer steps per window of the running Fisher (1: every step, the paper's Eq. 6)"},      \
    {"fisher", "sample", "sample (exact per-sample empirical Fisher of each step) or batch (square of the batch-mean gradient)"}

#endif
