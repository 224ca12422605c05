#include "experiments/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/rng.h"

cl_train_cfg cl_train_defaults(void)
{
    cl_train_cfg c = {.epochs = 1, .batch = 128, .eval_batch = 1000, .opt = cl_optim_defaults(CL_OPT_ADAM),
                      .reset_optim = 0, .seed = 1, .progress = 0};
    return c;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

cl_mlp *cl_model_for_stream(const cl_stream *s, const int *hidden, int nhidden, const cl_train_cfg *cfg)
{
    int bmax = cfg->batch > cfg->eval_batch ? cfg->batch : cfg->eval_batch;
    cl_mlp *m = cl_mlp_create(s->input_dim, hidden, nhidden, s->head_out, s->nheads, bmax);
    if (!m) return NULL;
    cl_rng r;
    cl_rng_seed(&r, cfg->seed, cl_hash_str("init"));
    cl_mlp_init(m, &r);
    return m;
}

float cl_evaluate(cl_mlp *m, const cl_stream *s, int j, int active)
{
    const cl_task *t = &s->task[j];
    int B = m->bmax, C = m->head_out[t->head];
    float *X = cl_aligned_calloc((size_t)B * s->input_dim, sizeof(float));
    int *y = cl_malloc(sizeof(int) * B), *pos = cl_malloc(sizeof(int) * B);
    long correct = 0;
    for (int start = 0; start < t->ntest; start += B) {
        int nb = t->ntest - start < B ? t->ntest - start : B;
        for (int k = 0; k < nb; k++) pos[k] = start + k;
        cl_stream_batch(s, j, 1, pos, nb, X, y);
        cl_mlp_forward(m, X, nb, t->head);
        for (int k = 0; k < nb; k++) correct += cl_argmax(m->logits + (size_t)k * C, active) == y[k];
    }
    free(X);
    free(y);
    free(pos);
    return t->ntest ? (float)correct / (float)t->ntest : NAN;
}

static void evaluate_row(cl_mlp *m, const cl_stream *s, cl_run *run, int row)
{
    for (int j = 0; j < s->ntasks; j++)
        *cl_run_R(run, row, j) = cl_evaluate(m, s, j, cl_stream_eval_active(s, row - 1, j));
}

/* One epoch over task t; returns the mean loss (NaN/Inf when the run diverged). */
static double train_epoch(cl_mlp *m, const cl_stream *s, int t, int epoch, const cl_train_cfg *cfg,
                          cl_optim *opt, float *X, int *y, float *dlogits, int *order)
{
    const cl_task *tk = &s->task[t];
    int B = cfg->batch, C = m->head_out[tk->head];
    cl_rng r;
    cl_rng_seed(&r, cfg->seed, cl_hash_mix(cl_hash_mix(cl_hash_str("shuffle"), (uint64_t)tk->id), (uint64_t)epoch));
    for (int i = 0; i < tk->ntrain; i++) order[i] = i;
    cl_rng_shuffle(&r, order, tk->ntrain);

    /* Only the trunk and this task's head are trained (see core/optim.h on why that matters for Adam). */
    cl_range ranges[2] = {{0, m->ntrunk}, {m->head_off[tk->head], m->head_len[tk->head]}};
    double total = 0.0;
    int nbatches = 0;
    for (int start = 0; start < tk->ntrain; start += B) {
        int nb = tk->ntrain - start < B ? tk->ntrain - start : B;
        cl_stream_batch(s, t, 0, order + start, nb, X, y);
        cl_mlp_forward(m, X, nb, tk->head);
        float loss = cl_softmax_xent(m->logits, y, nb, C, tk->active, dlogits);
        if (!isfinite(loss)) return loss;
        cl_mlp_backward(m, dlogits, nb, tk->head, 1);
        cl_optim_step(opt, m->params, m->grads, ranges, 2);
        total += loss;
        nbatches++;
    }
    return nbatches ? total / nbatches : 0.0;
}

int cl_train_stream(cl_mlp *m, const cl_stream *s, const cl_train_cfg *cfg, cl_run *run)
{
    int T = s->ntasks;
    memset(run, 0, sizeof *run);
    run->ntasks = T;
    run->R = cl_malloc(sizeof(float) * (size_t)(T + 1) * T);
    for (int i = 0; i < (T + 1) * T; i++) run->R[i] = NAN;
    run->loss = cl_malloc(sizeof(float) * T);
    for (int i = 0; i < T; i++) run->loss[i] = NAN;

    int maxtrain = 0;
    for (int t = 0; t < T; t++) maxtrain = s->task[t].ntrain > maxtrain ? s->task[t].ntrain : maxtrain;
    float *X = cl_aligned_calloc((size_t)cfg->batch * s->input_dim, sizeof(float));
    float *dlogits = cl_aligned_calloc((size_t)cfg->batch * m->maxout, sizeof(float));
    int *y = cl_malloc(sizeof(int) * cfg->batch);
    int *order = cl_malloc(sizeof(int) * (maxtrain ? maxtrain : 1));
    cl_optim opt;
    cl_optim_init(&opt, &cfg->opt, m->nparams);

    double t0 = now_sec();
    evaluate_row(m, s, run, 0);
    run->eval_sec += now_sec() - t0;

    for (int t = 0; t < T && !run->diverged; t++) {
        if (t > 0 && cfg->reset_optim) cl_optim_reset(&opt);
        for (int e = 0; e < cfg->epochs; e++) {
            double e0 = now_sec();
            double loss = train_epoch(m, s, t, e, cfg, &opt, X, y, dlogits, order);
            run->train_sec += now_sec() - e0;
            run->loss[t] = (float)loss;
            if (!isfinite(loss)) {
                run->diverged = 1;
                if (cfg->progress) fprintf(stderr, "task %d/%d epoch %d/%d: loss %g, diverged; stopping\n", t + 1,
                                           T, e + 1, cfg->epochs, loss);
                break;
            }
            if (cfg->progress)
                fprintf(stderr, "task %d/%d (%s) epoch %d/%d: loss %.4f, %.1f s\n", t + 1, T, s->task[t].desc,
                        e + 1, cfg->epochs, loss, now_sec() - e0);
            if (cfg->on_epoch) cfg->on_epoch(cfg->ctx, m, t, e, loss);
        }
        if (run->diverged) break;
        double v0 = now_sec();
        evaluate_row(m, s, run, t + 1);
        run->eval_sec += now_sec() - v0;
        if (cfg->on_task) cfg->on_task(cfg->ctx, m, t, cl_run_R(run, t + 1, 0));
    }
    cl_optim_free(&opt);
    free(X);
    free(dlogits);
    free(y);
    free(order);
    return 0;
}

void cl_run_free(cl_run *run)
{
    free(run->R);
    free(run->loss);
    memset(run, 0, sizeof *run);
}
