/* The regularizer interface v2 (regularizers/regularizer.h) and the methods built on its step context:
 *   - after_step never sees a stale gradient: through the real training loop, a task-incremental run whose
 *     frozen heads hold old gradients in m->grads, the step's gradient is zero outside the trained ranges
 *     and the ranges are the trunk and the task's head;
 *   - ewc++: the running Fisher against a brute-force computation (each sample's gradient from its own
 *     forward and backward pass, the windows and the moving average by hand, in double), with the exact
 *     per-sample Fisher and with the square of the batch-mean gradient;
 *   - rwalk: the path score and the normalized Omega over two tasks, the same way;
 *   - mas-silent: against a per-sample computation in double of MAS with the ReLU of silent units opened. */
#include "tests/testutil.h"

#include <float.h>
#include <math.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"
#include "models/mlp.h"
#include "regularizers/regint.h"

enum { B = 8 };

static cl_data data;

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 120, 60, 5, 5, 6, 21);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

/* A task-incremental split stream (3 tasks of 2 classes, a head each) and a random 25-6-5-heads MLP. */
static void make(cl_stream *s, cl_mlp **m, int bmax)
{
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = CL_SCEN_TASK;
    assert_int_equal(cl_stream_create(s, &data, &c), 0);
    int hidden[2] = {6, 5};
    *m = cl_mlp_create(s->input_dim, hidden, 2, s->head_out, s->nheads, bmax);
    cl_rng r;
    cl_rng_seed(&r, 3, 4);
    cl_mlp_init(*m, &r);
    for (size_t i = 0; i < (*m)->nparams; i++) (*m)->params[i] *= 2.0f;
}

/* ---- stale gradients ----------------------------------------------------------------------------------- */

static struct {
    long steps, stale, outside_range_grads, bad_ranges, later_steps;
} spy;

static void spy_after_step(cl_reg *r, const cl_mlp *m, const cl_step *st)
{
    (void)r;
    spy.steps++;
    /* the ranges: the trunk, then the task's own head */
    if (st->nranges != 2 || st->ranges[0].off != 0 || st->ranges[0].len != m->ntrunk ||
        st->ranges[1].off != m->head_off[st->head] || st->ranges[1].len != m->head_len[st->head])
        spy.bad_ranges++;
    for (size_t i = m->ntrunk; i < m->nparams; i++) {
        int inside = i >= m->head_off[st->head] && i < m->head_off[st->head] + m->head_len[st->head];
        if (inside) continue;
        spy.stale += st->grad[i] != 0.0f;
        spy.outside_range_grads += m->grads[i] != 0.0f;
    }
    spy.later_steps += st->task > 0;
}

static const cl_reg_method spy_method = {
    .name = "spy",
    .summary = "records what after_step sees",
    .params = (const cl_reg_param[]){{NULL, NULL, NULL}},
    .after_step = spy_after_step,
};

static void test_no_stale_gradient(void **state)
{
    (void)state;
    cl_stream s;
    cl_mlp *m;
    cl_train_cfg cfg = cl_train_defaults();
    cfg.batch = 16;
    cfg.eval_batch = 16;
    make(&s, &m, 16);
    cfg.reg = cl_reg_create_method(&spy_method, NULL, 0, m);
    assert_non_null(cfg.reg);
    memset(&spy, 0, sizeof spy);
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &cfg, &run), 0);
    assert_true(spy.steps > 0 && spy.later_steps > 0);
    assert_int_equal(spy.bad_ranges, 0);
    /* the condition the regression is about exists: the model's own gradient buffer holds old values in
     * the frozen heads while later tasks train (from their last step) */
    if (spy.outside_range_grads == 0) fail_msg("no frozen head held an old gradient: the test shows nothing");
    if (spy.stale) fail_msg("after_step saw %ld non-zero gradient entries outside the trained ranges", spy.stale);
    cl_run_free(&run);
    cl_reg_free(cfg.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

/* ---- ewc++ and rwalk against a reference in double --------------------------------------------------------- */

typedef struct ref {
    size_t n;
    double *F, *win, *w, *start, *s, *S;
    int nwin, seeded, ntasks;
} ref;

static void ref_init(ref *q, size_t n)
{
    memset(q, 0, sizeof *q);
    q->n = n;
    q->F = calloc(n, sizeof(double)), q->win = calloc(n, sizeof(double)), q->w = calloc(n, sizeof(double));
    q->start = calloc(n, sizeof(double)), q->s = calloc(n, sizeof(double)), q->S = calloc(n, sizeof(double));
}

static void ref_free(ref *q)
{
    free(q->F), free(q->win), free(q->w), free(q->start), free(q->s), free(q->S);
}

static int in_ranges(const cl_range *rg, int nr, size_t i)
{
    for (int k = 0; k < nr; k++)
        if (i >= rg[k].off && i < rg[k].off + rg[k].len) return 1;
    return 0;
}

/* Fold the window into F, then (rwalk) its path score into s. */
static void ref_close(ref *q, const cl_mlp *m, const cl_range *rg, int nr, double alpha, double eps)
{
    if (!q->nwin) return;
    double a = q->seeded ? alpha : 1.0;
    for (size_t i = 0; i < q->n; i++) {
        if (!in_ranges(rg, nr, i)) continue;
        q->F[i] = a * q->win[i] / q->nwin + (1 - a) * q->F[i];
        q->win[i] = 0;
        double d = (double)m->params[i] - q->start[i];
        double v = q->w[i] / (0.5 * q->F[i] * d * d + eps);
        q->s[i] += v > 0 ? v : 0;
        q->w[i] = 0;
        q->start[i] = m->params[i];
    }
    q->seeded = 1;
    q->nwin = 0;
}

static void normalized(const double *x, size_t n, double *out)
{
    double lo = DBL_MAX, hi = -DBL_MAX;
    for (size_t i = 0; i < n; i++) lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
    for (size_t i = 0; i < n; i++) out[i] = hi > lo ? (x[i] - lo) / (hi - lo) : 0;
}

/* Train tasks 1 and 2 by hand-rolled SGD with the method's penalty (steps per task, batches of B), calling
 * the hooks as the loop does, and follow the method in double alongside. Returns the method's Omega and
 * the reference's (F for ewc++, norm(F) + norm(S) for rwalk) after task `check`. */
static void online_case(const char *method, const char *const *params, int np, double alpha, int every, int sample,
                        int steps, int rwalk)
{
    cl_stream s;
    cl_mlp *m;
    make(&s, &m, B);
    cl_reg *r = cl_reg_create(method, params, np, m);
    if (!r) fail_msg("%s: %s", method, cl_errmsg());
    size_t n = m->nparams;
    ref q;
    ref_init(&q, n);
    float X[B * 25], dl[B * 2], *g = calloc(n, sizeof(float)), *before = malloc(n * sizeof(float));
    int y[B], pos[B];
    const double eps = 1e-3;
    for (int t = 0; t < 2; t++) {
        const cl_task *tk = &s.task[t];
        int head = tk->head, C = m->head_out[head];
        cl_range rg[2] = {{0, m->ntrunk}, {m->head_off[head], m->head_len[head]}};
        memset(g, 0, n * sizeof(float));
        cl_reg_begin_task(r, m, t);
        for (size_t i = 0; i < n; i++) q.start[i] = m->params[i], q.w[i] = 0;
        for (int step = 0; step < steps; step++) {
            for (int k = 0; k < B; k++) pos[k] = (step * B + k * 3) % tk->ntrain;
            cl_stream_batch(&s, t, 0, pos, B, X, y);
            /* the reference's Fisher of the step: each sample alone */
            if (sample) {
                for (int k = 0; k < B; k++) {
                    cl_mlp_forward(m, X + (size_t)k * s.input_dim, 1, head);
                    cl_softmax_xent(m->logits, y + k, 1, C, tk->active, dl);
                    cl_mlp_backward(m, dl, 1, head, CL_GRAD_SET);
                    for (size_t i = 0; i < n; i++)
                        if (in_ranges(rg, 2, i)) q.win[i] += (double)m->grads[i] * m->grads[i] / B;
                }
            }
            cl_mlp_forward(m, X, B, head);
            cl_softmax_xent(m->logits, y, B, C, tk->active, dl);
            cl_mlp_backward(m, dl, B, head, CL_GRAD_SET);
            for (int k = 0; k < 2; k++) memcpy(g + rg[k].off, m->grads + rg[k].off, rg[k].len * sizeof(float));
            if (!sample)
                for (size_t i = 0; i < n; i++) q.win[i] += (double)g[i] * g[i];
            memcpy(before, m->params, n * sizeof(float));
            cl_reg_add_penalty_grad(r, m, m->grads);
            for (int k = 0; k < 2; k++)
                for (size_t i = rg[k].off; i < rg[k].off + rg[k].len; i++) m->params[i] -= 0.3f * m->grads[i];
            cl_step st = {.task = t, .head = head, .batch = B, .index = step, .ranges = rg, .nranges = 2,
                          .grad = g, .theta_before = before, .signals = 1};
            cl_reg_after_step(r, m, &st);
            for (size_t i = 0; i < n; i++) q.w[i] -= (double)g[i] * ((double)m->params[i] - before[i]);
            if (++q.nwin == every) ref_close(&q, m, rg, 2, alpha, eps);
        }
        ref_close(&q, m, rg, 2, alpha, eps); /* the task's partial window */
        for (size_t i = 0; i < n; i++) {
            q.S[i] = q.ntasks ? 0.5 * (q.S[i] + q.s[i]) : q.s[i];
            q.s[i] = 0;
        }
        q.ntasks++;
        cl_task_view v = {.stream = &s, .task = t};
        assert_int_equal(cl_reg_end_task(r, m, &v), 0);

        float *got = malloc(n * sizeof(float));
        double *want = calloc(n, sizeof(double)), *a = calloc(n, sizeof(double)), *b = calloc(n, sizeof(double));
        assert_int_equal(cl_reg_importance(r, got), 0);
        if (rwalk) {
            normalized(q.F, n, a);
            normalized(q.S, n, b);
            for (size_t i = 0; i < n; i++) want[i] = a[i] + b[i];
        } else {
            memcpy(want, q.F, n * sizeof(double));
        }
        double scale = 0, worst = 0;
        size_t at = 0, nonzero = 0, scored = 0;
        for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(want[i])), nonzero += want[i] != 0, scored += q.S[i] > 0;
        for (size_t i = 0; i < n; i++) {
            double e = fabs(got[i] - want[i]) / (fabs(want[i]) + 1e-4 * scale);
            if (e > worst) worst = e, at = i;
        }
        if (worst > 2e-3)
            fail_msg("%s after task %d: Omega[%zu] = %.8g, reference %.8g", method, t + 1, at, got[at], want[at]);
        if (nonzero < n / 4) fail_msg("%s: only %zu of %zu reference entries non-zero", method, nonzero, n);
        if (rwalk && scored < n / 8) fail_msg("rwalk: only %zu positive path scores: the test shows little", scored);
        free(got), free(want), free(a), free(b);
    }
    free(g);
    free(before);
    ref_free(&q);
    cl_reg_free(r);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

static void test_ewcpp_sample(void **state)
{
    (void)state;
    /* 7 steps in windows of 3: two whole windows and a partial one per task */
    const char *p[] = {"alpha=0.7", "every=3", "fisher=sample", "lambda=0.5"};
    online_case("ewcpp", p, 4, 0.7, 3, 1, 7, 0);
}

static void test_ewcpp_batch(void **state)
{
    (void)state;
    const char *p[] = {"alpha=0.4", "every=1", "fisher=batch", "lambda=2"};
    online_case("ewcpp", p, 4, 0.4, 1, 0, 5, 0);
}

static void test_rwalk(void **state)
{
    (void)state;
    const char *p[] = {"alpha=0.9", "every=2", "fisher=sample", "lambda=0.5", "eps=0.001"};
    online_case("rwalk", p, 5, 0.9, 2, 1, 7, 1);
}

/* ---- mas-silent ------------------------------------------------------------------------------------------ */

/* MAS of the view's N samples in double, with the ReLU of the units in `silent` treated as open for their
 * own incoming parameters (the signal from above, unmasked). Layer by layer: h1 = relu(W1 x + b1),
 * h2 = relu(W2 h1 + b2), f = W3 h2 + b3; d3 = 2 f; e2 = W3^T d3; d2 = e2 o (h2 > 0); e1 = W2^T d2;
 * d1 = e1 o (h1 > 0). */
static void mas_open_reference(const cl_mlp *m, const cl_stream *s, int task, int N, const int *silent1,
                               const int *silent2, double *want, int *fired1, int *fired2)
{
    const cl_task *tk = &s->task[task];
    int head = tk->head, C = m->head_out[head], in = s->input_dim, n1 = m->hidden[0], n2 = m->hidden[1];
    const cl_linear *L1 = &m->layer[0], *L2 = &m->layer[1], *L3 = cl_mlp_head(m, head);
    const float *P = m->params;
    float x[64];
    int yy, p;
    double h1[16], h2[16], d1[16], d2[16], e1[16], e2[16], d3[16];
    for (int k = 0; k < N; k++) {
        p = k;
        cl_stream_batch(s, task, 0, &p, 1, x, &yy);
        for (int u = 0; u < n1; u++) {
            double z = P[L1->b + u];
            for (int j = 0; j < in; j++) z += (double)P[L1->w + (size_t)u * in + j] * x[j];
            h1[u] = z > 0 ? z : 0;
            if (fired1) fired1[u] |= z > 0;
        }
        for (int u = 0; u < n2; u++) {
            double z = P[L2->b + u];
            for (int j = 0; j < n1; j++) z += (double)P[L2->w + (size_t)u * n1 + j] * h1[j];
            h2[u] = z > 0 ? z : 0;
            if (fired2) fired2[u] |= z > 0;
        }
        for (int c = 0; c < C; c++) {
            double z = P[L3->b + c];
            for (int j = 0; j < n2; j++) z += (double)P[L3->w + (size_t)c * n2 + j] * h2[j];
            d3[c] = c < tk->active ? 2 * z : 0;
        }
        for (int u = 0; u < n2; u++) {
            e2[u] = 0;
            for (int c = 0; c < C; c++) e2[u] += (double)P[L3->w + (size_t)c * n2 + u] * d3[c];
            d2[u] = h2[u] > 0 ? e2[u] : 0;
        }
        for (int u = 0; u < n1; u++) {
            e1[u] = 0;
            for (int v = 0; v < n2; v++) e1[u] += (double)P[L2->w + (size_t)v * n1 + u] * d2[v];
            d1[u] = h1[u] > 0 ? e1[u] : 0;
        }
        if (!want) continue;
        for (int u = 0; u < n1; u++) {
            double sig = fabs(silent1[u] ? e1[u] : d1[u]) / N;
            for (int j = 0; j < in; j++) want[L1->w + (size_t)u * in + j] += sig * fabs(x[j]);
            want[L1->b + u] += sig;
        }
        for (int u = 0; u < n2; u++) {
            double sig = fabs(silent2[u] ? e2[u] : d2[u]) / N;
            for (int j = 0; j < n1; j++) want[L2->w + (size_t)u * n1 + j] += sig * fabs(h1[j]);
            want[L2->b + u] += sig;
        }
        for (int c = 0; c < C; c++) {
            for (int j = 0; j < n2; j++) want[L3->w + (size_t)c * n2 + j] += fabs(d3[c]) * fabs(h2[j]) / N;
            want[L3->b + c] += fabs(d3[c]) / N;
        }
    }
}

static void test_mas_silent(void **state)
{
    (void)state;
    cl_stream s;
    cl_mlp *m;
    make(&s, &m, B);
    /* silence two units of each hidden layer on every input (a large negative bias), and make the others
     * fire on most (a positive one), so that signals reach the silent units of the first layer */
    for (int u = 0; u < m->hidden[0]; u++) m->params[m->layer[0].b + u] = u == 1 || u == 4 ? -1e3f : 1.0f;
    for (int u = 0; u < m->hidden[1]; u++) m->params[m->layer[1].b + u] = u == 0 || u == 3 ? -1e3f : 2.0f;
    const int N = 21; /* batches of 8, 8 and 5 */
    int fired1[16] = {0}, fired2[16] = {0}, silent1[16], silent2[16];
    mas_open_reference(m, &s, 0, N, NULL, NULL, NULL, fired1, fired2);
    int nsilent = 0;
    for (int u = 0; u < 16; u++) silent1[u] = !fired1[u], silent2[u] = !fired2[u];
    for (int u = 0; u < m->hidden[0]; u++) nsilent += silent1[u];
    for (int u = 0; u < m->hidden[1]; u++) nsilent += silent2[u];
    assert_int_equal(nsilent, 4);
    size_t n = m->nparams;
    double *want = calloc(n, sizeof(double)), *plain = calloc(n, sizeof(double));
    int none[16] = {0};
    mas_open_reference(m, &s, 0, N, silent1, silent2, want, NULL, NULL);
    mas_open_reference(m, &s, 0, N, none, none, plain, NULL, NULL);

    const char *p[] = {"samples=21"};
    cl_reg *r = cl_reg_create("mas-silent", p, 1, m), *mas = cl_reg_create("mas", p, 1, m);
    cl_task_view v = {.stream = &s, .task = 0, .nsamples = N};
    assert_int_equal(cl_reg_end_task(r, m, &v), 0);
    assert_int_equal(cl_reg_end_task(mas, m, &v), 0);
    float *got = malloc(n * sizeof(float)), *got_mas = malloc(n * sizeof(float));
    cl_reg_importance(r, got);
    cl_reg_importance(mas, got_mas);
    double scale = 0;
    size_t opened = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, want[i]);
    for (size_t i = 0; i < n; i++) {
        if (fabs(got[i] - want[i]) > 1e-5 * (want[i] + 1e-3 * scale))
            fail_msg("mas-silent: Omega[%zu] = %.8g, reference %.8g", i, got[i], want[i]);
        if (fabs(got_mas[i] - plain[i]) > 1e-5 * (plain[i] + 1e-3 * scale))
            fail_msg("mas: Omega[%zu] = %.8g, reference %.8g", i, got_mas[i], plain[i]);
        opened += plain[i] == 0 && want[i] > 0;
    }
    /* the silent units' incoming weights: zero under MAS, the open-gate importance here */
    if (opened < (size_t)s.input_dim) fail_msg("mas-silent: only %zu parameters gained importance", opened);
    free(want), free(plain), free(got), free(got_mas);
    cl_reg_free(r);
    cl_reg_free(mas);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_stale_gradient), cmocka_unit_test(test_ewcpp_sample),
        cmocka_unit_test(test_ewcpp_batch),       cmocka_unit_test(test_rwalk),
        cmocka_unit_test(test_mas_silent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
