#include "experiments/estimate.h"

#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/blas.h"
#include "core/error.h"
#include "core/timer.h"
#include "experiments/shard.h"
#include "experiments/train.h"

typedef struct calib {
    long mark;             /* the step at which timing starts */
    double t0, t1;
    volatile sig_atomic_t stop;
} calib;

static void on_steps(void *ctx, cl_mlp *m, int task, int epoch, long step)
{
    calib *c = ctx;
    (void)m, (void)epoch;
    if (task != 0) return;
    if (step == c->mark) c->t0 = cl_now();
    else if (step == 2 * c->mark) {
        c->t1 = cl_now();
        c->stop = 1; /* the run ends at its next step: nothing after it is timed */
    }
}

/* Seconds per multiply-add of training and of evaluation, on the grid's network and first task. */
static int calibrate(const cl_grid *g, const cl_data *d, double *train_rate, double *eval_rate)
{
    cl_stream s;
    if (cl_grid_stream(g, d, &s)) return -1;
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = g->set.epochs;
    tc.batch = g->set.batch;
    tc.opt = g->set.opt;
    tc.eval_batch = cl_eval_batch(&g->set.arch, g->set.batch);
    tc.seed = 1;
    cl_mlp *m = cl_model_for_stream(&s, &g->set.arch, &tc);
    if (!m) {
        cl_stream_free(&s);
        return -1;
    }
    /* per sample of task 0: the forward pass's multiply-adds (shard.h's unit) */
    double fwd = (double)cl_shard_forward_cost(g, &s, s.task[0].head);
    long spe = cl_steps_per_epoch(&s, 0, g->set.batch, 0), total = spe * g->set.epochs;
    calib c = {.mark = total / 2 < 20 ? (total / 2 > 0 ? total / 2 : 1) : 20};
    tc.on_steps = on_steps;
    tc.steps_every = 1;
    tc.ctx = &c;
    tc.stop = &c.stop;
    cl_blas_set_threads(g->blas_threads > 0 ? g->blas_threads : 1); /* as a cell of the grid runs */
    cl_run run;
    int rc = cl_train_stream(m, &s, &tc, &run);
    cl_run_free(&run);
    if (!rc) {
        double steps = c.t1 > c.t0 ? (double)c.mark : 0;
        if (steps > 0) *train_rate = (c.t1 - c.t0) / (steps * g->set.batch * 3 * fwd);
        else *train_rate = 0; /* a task of a single step: nothing between two marks; see below */
        /* evaluation: task 0's test set, twice, the faster (the first may pay for page faults) */
        double best = INFINITY;
        for (int k = 0; k < 2; k++) {
            double t = cl_now();
            cl_evaluate(m, &s, 0, cl_stream_eval_active(&s, 0, 0));
            t = cl_now() - t;
            best = t < best ? t : best;
        }
        *eval_rate = best / ((double)s.task[0].ntest * fwd);
        if (*train_rate <= 0) *train_rate = 3 * *eval_rate; /* backward twice the forward's work */
    }
    cl_blas_set_threads(omp_get_num_procs());
    cl_mlp_free(m);
    cl_stream_free(&s);
    return rc;
}

int cl_estimate_grid(cl_estimate *e, const cl_grid *g, const cl_data *d)
{
    memset(e, 0, sizeof *e);
    size_t n = (size_t)(g->ncells ? g->ncells : 1);
    uint64_t *train = cl_malloc(sizeof(uint64_t) * n), *eval = cl_malloc(sizeof(uint64_t) * n);
    int rc = cl_shard_cost_parts(g, d, train, eval);
    if (!rc) rc = calibrate(g, d, &e->train_rate, &e->eval_rate);
    if (!rc) {
        e->cell_sec = cl_malloc(sizeof(double) * n);
        for (int c = 0; c < g->ncells; c++) {
            e->cell_sec[c] = (double)train[c] * e->train_rate + (double)eval[c] * e->eval_rate;
            e->total_sec += e->cell_sec[c];
            if (e->cell_sec[c] > e->cell_sec[e->largest]) e->largest = c;
        }
    }
    free(train);
    free(eval);
    return rc;
}

void cl_estimate_free(cl_estimate *e)
{
    free(e->cell_sec);
    memset(e, 0, sizeof *e);
}

void cl_estimate_time(char *buf, size_t n, double sec)
{
    if (!isfinite(sec) || sec < 0) snprintf(buf, n, "?");
    else if (sec < 10) snprintf(buf, n, "%.1fs", sec);
    else if (sec < 60) snprintf(buf, n, "%.0fs", sec);
    else if (sec < 3600) snprintf(buf, n, "%dm%02ds", (int)sec / 60, (int)sec % 60);
    else snprintf(buf, n, "%dh%02dm", (int)(sec / 3600), ((int)sec % 3600) / 60);
}
