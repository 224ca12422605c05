/* EWC++ (Chaudhry et al. 2018, Sec. 4.1): EWC whose Fisher is a moving average updated during training
 * instead of a pass over the finished task's data,
 *
 *     F <- alpha F_window + (1 - alpha) F       every `every` steps (fisher_ema.c)
 *     penalty = lambda * sum_i F_i (theta_i - theta*_i)^2,  F and theta* as the last task ended
 *
 * One penalty anchored at the latest optimum, like online EWC, but the Fisher of earlier tasks is not kept
 * apart: it fades as the average moves on (by (1 - alpha) per window of the trunk; a frozen head keeps
 * its task's). The Fisher is the empirical one (true labels), as the paper's Appendix A says, and exact
 * per sample by default (fisher=sample), through the per-sample signals the step leaves in the model. */
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "regularizers/regint.h"

static int ewcpp_create(cl_reg *r, const cl_mlp *m)
{
    cl_fisher_ema *e = cl_calloc(1, sizeof *e);
    r->state = e;
    cl_fisher_ema_init(e, m, m->nheads + 1);
    return cl_fisher_ema_params(r, e);
}

static void ewcpp_after_step(cl_reg *r, const cl_mlp *m, const cl_step *step)
{
    cl_fisher_ema_step(r->state, m, step);
}

static int ewcpp_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    (void)v;
    cl_fisher_ema *e = r->state;
    cl_fisher_ema_flush(e);
    cl_quad_term *t = cl_quad_single(&r->quad);
    memcpy(t->omega, e->F, m->nparams * sizeof(float));
    memcpy(t->anchor, m->params, m->nparams * sizeof(float));
    return 0;
}

static void ewcpp_destroy(cl_reg *r)
{
    if (r->state) cl_fisher_ema_free(r->state);
}

const cl_reg_method cl_reg_ewcpp = {
    .name = "ewcpp",
    .summary = "EWC++: Omega = running (moving-average) empirical Fisher, updated every step",
    .style = {"#17becf", 1, 10},
    .memory = {.state = 2},
    .params = (const cl_reg_param[]){{"lambda", "100", "penalty strength (the EWC paper's lambda is 2x this)"},
                                     CL_FISHER_EMA_PARAMS,
                                     {NULL, NULL, NULL}},
    .create = ewcpp_create,
    .after_step = ewcpp_after_step,
    .end_task = ewcpp_end_task,
    .importance_cost = cl_reg_cost_no_data,
    .step_cost = cl_fisher_ema_step_cost,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
    .destroy = ewcpp_destroy,
};
