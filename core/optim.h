/* Optimizers over the flat parameter buffer: SGD with momentum, and Adam.
 *
 * A step updates only the parameter ranges the current task trains (the trunk and the current head).
 * This matters for Adam: an old task's head has zero gradient while a new task trains, but a plain Adam
 * step would keep moving it with its decaying first moment. Skipping it leaves it exactly where its task
 * left it. */
#ifndef CLREG_OPTIM_H
#define CLREG_OPTIM_H

#include <stddef.h>

typedef enum { CL_OPT_SGD, CL_OPT_ADAM } cl_opt_kind;

typedef struct cl_optim_cfg {
    cl_opt_kind kind;
    float lr;
    float momentum;     /* SGD: heavy-ball momentum (0 = plain SGD) */
    float beta1, beta2; /* Adam moments (0.9, 0.999) */
    float eps;          /* Adam denominator (1e-8) */
} cl_optim_cfg;

/* The defaults for a kind: Adam lr 1e-3, betas (0.9, 0.999), eps 1e-8; SGD lr 0.1, momentum 0.9. */
cl_optim_cfg cl_optim_defaults(cl_opt_kind kind);

typedef struct cl_range { size_t off, len; } cl_range;

typedef struct cl_optim {
    cl_optim_cfg cfg;
    size_t n;
    float *m, *v; /* SGD uses m as its velocity; v only for Adam */
    long t;       /* Adam's step count, for bias correction */
} cl_optim;

void cl_optim_init(cl_optim *o, const cl_optim_cfg *cfg, size_t nparams);
void cl_optim_free(cl_optim *o);
/* Zero the moments and the step count (an option between tasks). */
void cl_optim_reset(cl_optim *o);
/* One step on params[r.off .. r.off + r.len) for each range, from grads at the same offsets. */
void cl_optim_step(cl_optim *o, float *params, const float *grads, const cl_range *ranges, int nranges);

#endif
