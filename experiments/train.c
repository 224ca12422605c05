#include "experiments/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "core/timer.h"
#include "core/rng.h"
#include "experiments/state.h"

cl_train_cfg cl_train_defaults(void)
{
    cl_train_cfg c = {.epochs = 1, .batch = 128, .eval_batch = 1000, .opt = cl_optim_defaults(CL_OPT_ADAM),
                      .reset_optim = 0, .seed = 1, .progress = 0};
    return c;
}

int cl_eval_batch(const cl_arch *arch, int batch)
{
    for (int i = 0; i < arch->n; i++)
        if (arch->item[i].kind != CL_ARCH_DENSE && arch->item[i].kind != CL_ARCH_FLATTEN &&
            arch->item[i].kind != CL_ARCH_DROPOUT)
            return batch;
    return 1000;
}

cl_mlp *cl_mlp_for_stream(const cl_stream *s, const int *hidden, int nhidden, const cl_train_cfg *cfg)
{
    cl_arch a;
    cl_arch_from_hidden(&a, hidden, nhidden);
    return cl_model_for_stream(s, &a, cfg);
}

int cl_model_check(const cl_arch *arch, const cl_stream *s, const char *what)
{
    cl_arch_shape shape[CL_ARCH_MAX];
    return cl_arch_shapes(arch, s->channels, s->in_rows, s->in_cols, shape, NULL, what);
}

cl_mlp *cl_model_for_stream(const cl_stream *s, const cl_arch *arch, const cl_train_cfg *cfg)
{
    int bmax = cfg->batch > cfg->eval_batch ? cfg->batch : cfg->eval_batch;
    cl_mlp *m = cl_mlp_create_arch(arch, s->channels, s->in_rows, s->in_cols, s->head_out, s->nheads, bmax, "arch");
    if (!m) return NULL;
    cl_rng r;
    cl_rng_seed(&r, cfg->seed, cl_hash_str("init"));
    cl_mlp_init(m, &r);
    return m;
}

float cl_evaluate(cl_mlp *m, const cl_stream *s, int j, int active)
{
    return cl_evaluate_part(m, s, j, active, CL_PART_TEST);
}

float cl_evaluate_part(cl_mlp *m, const cl_stream *s, int j, int active, int part)
{
    const cl_task *t = &s->task[j];
    int total = cl_stream_part_n(s, j, part);
    int B = m->bmax, C = m->head_out[t->head];
    if (!m->xbuf) {
        m->xbuf = cl_aligned_calloc((size_t)B * m->ninput, sizeof(float));
        m->ybuf = cl_malloc(sizeof(int) * B);
        m->posbuf = cl_malloc(sizeof(int) * B);
    }
    float *X = m->xbuf;
    int *y = m->ybuf, *pos = m->posbuf;
    long correct = 0;
    for (int start = 0; start < total; start += B) {
        int nb = total - start < B ? total - start : B;
        for (int k = 0; k < nb; k++) pos[k] = start + k;
        cl_stream_batch(s, j, part, pos, nb, X, y);
        cl_mlp_forward(m, X, nb, t->head);
        for (int k = 0; k < nb; k++) correct += cl_argmax(m->logits + (size_t)k * C, active) == y[k];
    }
    return total ? (float)correct / (float)total : NAN;
}

static void evaluate_row(cl_mlp *m, const cl_stream *s, cl_run *run, int row)
{
    for (int j = 0; j < s->ntasks; j++) {
        int active = cl_stream_eval_active(s, row - 1, j);
        *cl_run_R(run, row, j) = cl_evaluate(m, s, j, active);
        if (run->V) *cl_run_V(run, row, j) = cl_evaluate_part(m, s, j, active, CL_PART_VAL);
    }
}

long cl_steps_per_epoch(const cl_stream *s, int t, int batch, int joint)
{
    long n = 0;
    for (int j = joint ? 0 : t; j <= t; j++) n += s->task[j].ntrain;
    return (n + batch - 1) / batch;
}

/* Buffers of one training run. */
typedef struct trainer {
    cl_mlp *m;
    const cl_stream *s;
    const cl_train_cfg *cfg;
    cl_optim opt;
    float *X, *dlogits;
    int *y;
    int *order;              /* shuffled sample positions of an epoch */
    int *utask, *upos;       /* joint: the union of tasks seen so far, as (task, position) pairs */
    int *btask, *bpos;       /* joint: one batch's pairs, grouped by task */
    float *grad_task, *theta_before; /* for regularizers with after_step (SI): the step's cl_step. grad_task is
                                      * zeroed at each task's start and written on the trained ranges only,
                                      * so it is zero elsewhere by construction */
    cl_range *ranges;
    long step;               /* optimizer steps of the current task so far */
    int stopped;             /* cfg->stop was seen set */
    double observer_sec;     /* time spent in on_steps (evaluations for curves): not training time */
    double batch_loss;       /* the epoch's sum of the batch hook's losses (functional methods), for progress */
} trainer;

/* Loss, gradient and update of one batch of nb samples already in t->X / t->y, all of task `task`. */
static float step_single(trainer *t, int task, int nb)
{
    cl_mlp *m = t->m;
    const cl_task *tk = &t->s->task[task];
    int C = m->head_out[tk->head];
    cl_mlp_forward(m, t->X, nb, tk->head);
    float loss = cl_softmax_xent(m->logits, t->y, nb, C, tk->active, t->dlogits);
    if (!isfinite(loss)) return loss;
    cl_mlp_backward(m, t->dlogits, nb, tk->head, CL_GRAD_SET);
    return loss;
}

/* Joint training: a batch mixing tasks 0..cur. With one shared head it is a single pass (softmax over the
 * current task's active units, which covers every class seen so far); with a head per task each task's
 * rows go through their own head and the gradients add up, each group weighted by its share of the batch
 * so the result is the gradient of the mean loss over the whole batch. */
static float step_joint(trainer *t, int cur, int nb)
{
    cl_mlp *m = t->m;
    const cl_stream *s = t->s;
    if (s->nheads == 1) {
        int C = m->head_out[0];
        cl_mlp_forward(m, t->X, nb, 0);
        float loss = cl_softmax_xent(m->logits, t->y, nb, C, s->task[cur].active, t->dlogits);
        if (!isfinite(loss)) return loss;
        cl_mlp_backward(m, t->dlogits, nb, 0, CL_GRAD_SET);
        return loss;
    }
    memset(m->grads, 0, m->nparams * sizeof(float));
    double total = 0;
    for (int a = 0; a < nb;) {
        int task = t->btask[a], b = a;
        while (b < nb && t->btask[b] == task) b++;
        const cl_task *tk = &s->task[task];
        int C = m->head_out[tk->head], ng = b - a;
        const float *Xg = t->X + (size_t)a * s->input_dim;
        cl_mlp_forward(m, Xg, ng, tk->head);
        float loss = cl_softmax_xent(m->logits, t->y + a, ng, C, tk->active, t->dlogits);
        if (!isfinite(loss)) return loss;
        float share = (float)ng / (float)nb;
        for (int i = 0; i < ng * C; i++) t->dlogits[i] *= share;
        cl_mlp_backward(m, t->dlogits, ng, tk->head, CL_GRAD_ADD);
        total += (double)loss * ng;
        a = b;
    }
    return (float)(total / nb);
}

/* Assemble a joint batch from union entries order[start .. start+nb): grouped by task (counting sort,
 * stable), so every group is contiguous in X. */
static void joint_batch(trainer *t, int cur, const int *entries, int nb)
{
    int count[cur + 2];
    memset(count, 0, sizeof count);
    for (int k = 0; k < nb; k++) count[t->utask[entries[k]] + 1]++;
    for (int g = 1; g <= cur + 1; g++) count[g] += count[g - 1];
    for (int k = 0; k < nb; k++) {
        int e = entries[k], slot = count[t->utask[e]]++;
        t->btask[slot] = t->utask[e];
        t->bpos[slot] = t->upos[e];
    }
    for (int a = 0; a < nb;) {
        int b = a;
        while (b < nb && t->btask[b] == t->btask[a]) b++;
        cl_stream_batch(t->s, t->btask[a], 0, t->bpos + a, b - a, t->X + (size_t)a * t->s->input_dim, t->y + a);
        a = b;
    }
}

static int diverged_loss(double loss) { return !isfinite(loss) || loss > CL_DIVERGED_LOSS; }

static int stop_asked(const cl_train_cfg *cfg) { return cfg->stop && *cfg->stop; }

/* 1 when every parameter is finite. An update can overflow a parameter while the loss that drove it was
 * still finite; the next forward pass would show it, but the task's last step has no next pass. */
static int params_finite(const cl_mlp *m)
{
    for (size_t i = 0; i < m->nparams; i++)
        if (!isfinite(m->params[i])) return 0;
    return 1;
}

/* One epoch of task `cur`; returns the mean task loss, or the loss of the batch that diverged (see
 * CL_DIVERGED_LOSS), or NaN with t->stopped set when asked to stop. */
static double train_epoch(trainer *t, int cur, int epoch, int nranges)
{
    cl_mlp *m = t->m;
    const cl_stream *s = t->s;
    const cl_train_cfg *cfg = t->cfg;
    cl_reg *reg = cfg->reg;
    int joint = reg && cl_reg_method_joint(cl_reg_method_of(reg));
    int n = 0;
    if (joint) {
        for (int j = 0; j <= cur; j++)
            for (int p = 0; p < s->task[j].ntrain; p++) {
                t->utask[n] = j;
                t->upos[n++] = p;
            }
    } else {
        n = s->task[cur].ntrain;
    }
    cl_rng r;
    cl_rng_seed(&r, cfg->seed, cl_hash_mix(cl_hash_mix(cl_hash_str("shuffle"), (uint64_t)s->task[cur].id), (uint64_t)epoch));
    for (int i = 0; i < n; i++) t->order[i] = i;
    cl_rng_shuffle(&r, t->order, n);

    int B = cfg->batch, has_after = cl_reg_has_after_step(reg), has_batch = cl_reg_has_batch_loss(reg);
    double total = 0.0;
    int nbatches = 0;
    for (int start = 0; start < n; start += B) {
        int nb = n - start < B ? n - start : B;
        float loss;
        if (stop_asked(cfg)) {
            t->stopped = 1;
            return NAN;
        }
        if (joint) joint_batch(t, cur, t->order + start, nb);
        else cl_stream_batch(s, cur, 0, t->order + start, nb, t->X, t->y);
        /* The step's forward and backward passes, and only they, run in training mode. Its dropout masks come
         * from a stream of their own, keyed by (task, epoch, step) as the shuffle is by (task, epoch): no
         * other stream's draws move them, so a run repeats to the bit whatever the thread count. A step that
         * runs several forward passes (joint training, one per head group) draws them one after another
         * from that stream: distinct masks, the same every run. */
        cl_rng drop;
        cl_rng_seed(&drop, cfg->seed,
                    cl_hash_mix(cl_hash_mix(cl_hash_mix(cl_hash_str("dropout"), (uint64_t)s->task[cur].id),
                                            (uint64_t)epoch), (uint64_t)t->step));
        cl_mlp_set_training(m, &drop);
        loss = joint ? step_joint(t, cur, nb) : step_single(t, cur, nb);
        if (diverged_loss(loss)) {
            cl_mlp_set_training(m, NULL);
            return loss;
        }
        if (has_after) {
            /* the unregularized gradient, on the ranges this step trains and nowhere else */
            for (int k = 0; k < nranges; k++)
                memcpy(t->grad_task + t->ranges[k].off, m->grads + t->ranges[k].off, t->ranges[k].len * sizeof(float));
            memcpy(t->theta_before, m->params, m->nparams * sizeof(float));
        }
        if (has_batch) { /* in training mode, like the task loss's passes */
            cl_batch b = {.stream = s, .task = cur, .batch = nb, .x = t->X, .y = t->y, .model = m,
                          .previous = cl_reg_previous(reg), .dlogits = t->dlogits};
            /* only a loss that is not a number ends the run: a large lambda makes a large loss, and the task
             * loss (checked above) is what says whether the model still means anything */
            double bl = cl_reg_batch_loss(reg, &b);
            t->batch_loss += bl;
            if (!isfinite(bl)) {
                cl_mlp_set_training(m, NULL);
                return NAN;
            }
        }
        cl_mlp_set_training(m, NULL);
        cl_reg_add_penalty_grad(reg, m, m->grads);
        cl_optim_step(&t->opt, m->params, m->grads, t->ranges, nranges);
        if (has_after) {
            cl_step st = {.task = cur, .head = joint ? -1 : s->task[cur].head, .batch = nb, .index = t->step,
                          .ranges = t->ranges, .nranges = nranges, .grad = t->grad_task,
                          .theta_before = t->theta_before, .signals = !joint && !has_batch};
            cl_reg_after_step(reg, m, &st);
        }
        total += loss;
        nbatches++;
        t->step++;
        if (cfg->on_steps && cfg->steps_every > 0 && t->step % cfg->steps_every == 0) {
            double o0 = cl_now();
            cfg->on_steps(cfg->ctx, m, cur, epoch, t->step);
            t->observer_sec += cl_now() - o0;
        }
    }
    return nbatches ? total / nbatches : 0.0;
}

/* Trainable ranges while task `cur` trains: the trunk, and the heads of the tasks being trained (the
 * current one; joint training: every head seen so far). */
static int trainable_ranges(const trainer *t, int cur, int joint)
{
    const cl_mlp *m = t->m;
    int n = 0;
    t->ranges[n++] = (cl_range){0, m->ntrunk};
    for (int h = 0; h < m->nheads; h++) {
        int used = 0;
        for (int j = joint ? 0 : cur; j <= cur; j++) used |= t->s->task[j].head == h;
        if (used) t->ranges[n++] = (cl_range){m->head_off[h], m->head_len[h]};
    }
    return n;
}

int cl_train_stream(cl_mlp *m, const cl_stream *s, const cl_train_cfg *cfg, cl_run *run)
{
    int T = s->ntasks, rc = 0;
    cl_reg *reg = cfg->reg;
    int joint = reg && cl_reg_method_joint(cl_reg_method_of(reg));
    memset(run, 0, sizeof *run);
    run->ntasks = T;
    run->R = cl_malloc(sizeof(float) * (size_t)(T + 1) * T);
    for (int i = 0; i < (T + 1) * T; i++) run->R[i] = NAN;
    if (s->cfg.validation > 0) {
        run->V = cl_malloc(sizeof(float) * (size_t)(T + 1) * T);
        for (int i = 0; i < (T + 1) * T; i++) run->V[i] = NAN;
    }
    run->loss = cl_malloc(sizeof(float) * T);
    for (int i = 0; i < T; i++) run->loss[i] = NAN;

    trainer t = {.m = m, .s = s, .cfg = cfg};
    long maxn = 0, union_n = 0;
    for (int j = 0; j < T; j++) {
        maxn = s->task[j].ntrain > maxn ? s->task[j].ntrain : maxn;
        union_n += s->task[j].ntrain;
    }
    if (joint) maxn = union_n;
    t.X = cl_aligned_calloc((size_t)cfg->batch * s->input_dim, sizeof(float));
    t.dlogits = cl_aligned_calloc((size_t)cfg->batch * m->maxout, sizeof(float));
    t.y = cl_malloc(sizeof(int) * cfg->batch);
    t.order = cl_malloc(sizeof(int) * (maxn ? maxn : 1));
    t.ranges = cl_malloc(sizeof(cl_range) * (m->nheads + 1));
    if (joint) {
        t.utask = cl_malloc(sizeof(int) * (maxn ? maxn : 1));
        t.upos = cl_malloc(sizeof(int) * (maxn ? maxn : 1));
        t.btask = cl_malloc(sizeof(int) * cfg->batch);
        t.bpos = cl_malloc(sizeof(int) * cfg->batch);
    }
    if (cl_reg_has_after_step(reg)) {
        t.grad_task = cl_aligned_calloc(m->nparams, sizeof(float));
        t.theta_before = cl_aligned_calloc(m->nparams, sizeof(float));
    }
    cl_optim_init(&t.opt, &cfg->opt, m->nparams);

    double t0 = cl_now();
    evaluate_row(m, s, run, 0);
    run->eval_sec += cl_now() - t0;

    for (int cur = 0; cur < T && !run->diverged && !run->stopped && rc == 0; cur++) {
        if (cur > 0 && cfg->reset_optim) cl_optim_reset(&t.opt);
        int nranges = trainable_ranges(&t, cur, joint);
        t.step = 0;
        if (t.grad_task) memset(t.grad_task, 0, m->nparams * sizeof(float));
        cl_reg_begin_task(reg, m, cur);
        for (int e = 0; e < cfg->epochs; e++) {
            double e0 = cl_now();
            t.observer_sec = 0;
            t.batch_loss = 0;
            double loss = train_epoch(&t, cur, e, nranges);
            run->train_sec += cl_now() - e0 - t.observer_sec;
            run->eval_sec += t.observer_sec;
            if (t.stopped) {
                run->stopped = 1;
                break;
            }
            run->loss[cur] = (float)loss;
            if (diverged_loss(loss) || !params_finite(m)) {
                run->diverged = 1;
                if (cfg->progress)
                    fprintf(stderr, "task %d/%d epoch %d/%d: loss %g%s, diverged; stopping\n", cur + 1, T, e + 1,
                            cfg->epochs, loss, diverged_loss(loss) ? "" : " but a parameter is not finite");
                break;
            }
            if (cfg->progress) {
                double pen = cl_reg_penalty(reg, m);
                fprintf(stderr, "task %d/%d (%s) epoch %d/%d: loss %.4f", cur + 1, T, s->task[cur].desc, e + 1,
                        cfg->epochs, loss);
                if (reg && cl_reg_method_has_importance(cl_reg_method_of(reg))) fprintf(stderr, ", penalty %.4g", pen);
                if (cl_reg_has_batch_loss(reg)) {
                    long steps = cl_steps_per_epoch(s, cur, cfg->batch, joint);
                    fprintf(stderr, ", %s loss %.4g", cl_reg_method_name(cl_reg_method_of(reg)),
                            steps ? t.batch_loss / (double)steps : 0.0);
                }
                fprintf(stderr, ", %.1f s\n", cl_now() - e0);
            }
            if (cfg->on_epoch) {
                double o0 = cl_now();
                cfg->on_epoch(cfg->ctx, m, cur, e, t.step, loss);
                run->eval_sec += cl_now() - o0;
            }
        }
        if (run->diverged || run->stopped) break;
        if (stop_asked(cfg)) { /* the importance pass can take a while: do not start it */
            run->stopped = 1;
            break;
        }

        double i0 = cl_now();
        cl_rng irng;
        cl_rng_seed(&irng, cfg->seed, cl_hash_mix(cl_hash_str("importance"), (uint64_t)s->task[cur].id));
        cl_task_view view = {.stream = s, .task = cur, .test = cl_reg_on_test(reg), .nsamples = cl_reg_samples(reg),
                             .rng = &irng};
        rc = cl_reg_end_task(reg, m, &view);
        run->importance_sec += cl_now() - i0;
        if (rc) break;

        double v0 = cl_now();
        evaluate_row(m, s, run, cur + 1);
        run->eval_sec += cl_now() - v0;
        if (cfg->save_dir && (cfg->save_tasks <= 0 || cur < cfg->save_tasks) &&
            (rc = cl_save_state(cfg->save_dir, cur + 1, m, reg)))
            break;
        if (cfg->on_task) cfg->on_task(cfg->ctx, m, cur, cl_run_R(run, cur + 1, 0));
    }
    cl_optim_free(&t.opt);
    free(t.X);
    free(t.dlogits);
    free(t.y);
    free(t.order);
    free(t.ranges);
    free(t.utask);
    free(t.upos);
    free(t.btask);
    free(t.bpos);
    free(t.grad_task);
    free(t.theta_before);
    return rc;
}

void cl_run_free(cl_run *run)
{
    free(run->R);
    free(run->V);
    free(run->loss);
    memset(run, 0, sizeof *run);
}
