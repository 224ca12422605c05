/* LwF (regularizers/lwf.c): its gradient against central finite differences of the loss it returns, in
 * the task-incremental (a head per old task) and class-incremental (one head, the old classes a growing
 * prefix) scenarios; its value against a distillation loss worked by hand; and its effect through the real
 * training loop (the old head's outputs stay closer to the frozen copy with a large lambda than without). */
#include "tests/testutil.h"

#include <math.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"
#include "models/mlp.h"
#include "regularizers/regint.h"

enum { BMAX = 16, NB = 12 };

static cl_data data;  /* 6 classes of 5x5: a split stream of 3 tasks of 2 classes */
static cl_data data2; /* 4 classes of 12x12, as test_train's: 2 tasks that learn well */

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 240, 60, 5, 5, 6, 23);
    cl_data_synthetic(&data2, 1200, 300, 12, 12, 4, 42);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    cl_data_free(&data2);
    return 0;
}

/* A split stream in scenario sc, a random 25-6-4-heads MLP with weights twice the default init (so the
 * logits are not all near 0 and the softmaxes not all near uniform), and lwf with the given parameters. */
typedef struct world {
    cl_stream s;
    cl_mlp *m;
    cl_reg *r;
} world;

static void build(world *w, cl_scenario sc, const char *const *params, int nparams)
{
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = sc;
    assert_int_equal(cl_stream_create(&w->s, &data, &c), 0);
    assert_int_equal(w->s.ntasks, 3);
    int hidden[2] = {6, 4};
    w->m = cl_mlp_create(w->s.input_dim, hidden, 2, w->s.head_out, w->s.nheads, BMAX);
    cl_rng r;
    cl_rng_seed(&r, 3, 7);
    cl_mlp_init(w->m, &r);
    for (size_t i = 0; i < w->m->nparams; i++) w->m->params[i] *= 2.0f;
    w->r = cl_reg_create("lwf", params, nparams, w->m);
    if (!w->r) fail_msg("lwf: %s", cl_errmsg());
}

static void destroy(world *w)
{
    cl_reg_free(w->r);
    cl_mlp_free(w->m);
    cl_stream_free(&w->s);
}

/* Freeze the model as it is (what the loop does at a task's end), then move every parameter by a random
 * 0.3 sigma, as training the next tasks would: the current model now disagrees with the frozen copy. */
static void freeze_and_drift(world *w, uint64_t seed)
{
    cl_rng irng;
    cl_rng_seed(&irng, 1, 2);
    cl_task_view v = {.stream = &w->s, .task = 0, .rng = &irng};
    assert_int_equal(cl_reg_end_task(w->r, w->m, &v), 0);
    assert_non_null(cl_reg_previous(w->r));
    cl_rng r;
    cl_rng_seed(&r, seed, 11);
    for (size_t i = 0; i < w->m->nparams; i++) w->m->params[i] += 0.3f * cl_rng_normal(&r);
}

/* The batch hook on NB training samples of task `task`, gradient from zero into m->grads. */
static double hook(world *w, int task, const float *X, const int *y, float *dlogits)
{
    cl_batch b = {.stream = &w->s, .task = task, .batch = NB, .x = X, .y = y, .model = w->m,
                  .previous = cl_reg_previous(w->r), .dlogits = dlogits};
    memset(w->m->grads, 0, w->m->nparams * sizeof(float));
    return cl_reg_batch_loss(w->r, &b);
}

/* The gradient the hook adds against central differences of the loss it returns, over every parameter. A
 * parameter of a head no earlier task used (task-incremental: the current one, and the later ones) or of a
 * new class's unit (class-incremental) gets no gradient at all: exactly 0, not a small number.
 *
 * Tolerance: 2% of the entry plus 0.2% of the largest entry. The float32 logits' rounding over a 1e-3 step
 * stays below 0.05 of it (the test prints the largest error as a fraction of it); a factor of T too many or
 * too few in the gradient or T^2 in the loss (2 or 4 at T = 2), or a wrong sign, is far outside: each of
 * these, tried in lwf.c, fails here. The step could cross a ReLU's kink and spoil one difference; at these
 * seeds none does, and a change of seeds that makes one do so shows as a single outlier. */
static void check_gradient(cl_scenario sc, int task, const char *T)
{
    world w;
    char tparam[32];
    snprintf(tparam, sizeof tparam, "T=%s", T);
    const char *params[2] = {"lambda=1.5", tparam};
    build(&w, sc, params, 2);
    freeze_and_drift(&w, 5 + (uint64_t)task);
    cl_mlp *m = w.m;
    size_t n = m->nparams;
    float X[NB * 25], dl[NB * 6];
    int y[NB], pos[NB];
    for (int k = 0; k < NB; k++) pos[k] = 3 * k;
    cl_stream_batch(&w.s, task, 0, pos, NB, X, y);
    float *prev0 = malloc(n * sizeof(float)), *grad = malloc(n * sizeof(float));
    memcpy(prev0, cl_reg_previous(w.r)->params, n * sizeof(float));

    double L = hook(&w, task, X, y, dl);
    assert_true(isfinite(L) && L > 0);
    memcpy(grad, m->grads, n * sizeof(float));
    /* the frozen copy is only read */
    assert_memory_equal(prev0, cl_reg_previous(w.r)->params, n * sizeof(float));

    /* which parameters the distillation may reach: the trunk, and the old heads' rows of the old units */
    int A = 0; /* class-incremental: old units of the shared head */
    for (int j = 0; j < task; j++) A = w.s.task[j].active > A ? w.s.task[j].active : A;
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(grad[i]));
    assert_true(scale > 0);
    int checked = 0; /* non-zero entries of the gradient */
    double worst = 0; /* the largest error as a fraction of its tolerance */
    for (size_t i = 0; i < n; i++) {
        int reachable = 1;
        if (i >= m->ntrunk) {
            int h = 0;
            while (!(i >= m->head_off[h] && i < m->head_off[h] + m->head_len[h])) h++;
            const cl_linear *L_h = cl_mlp_head(m, h);
            size_t unit = i < L_h->b ? (i - L_h->w) / (size_t)L_h->in : i - L_h->b;
            if (sc == CL_SCEN_TASK) {
                reachable = 0;
                for (int j = 0; j < task; j++) reachable |= w.s.task[j].head == h;
            } else {
                reachable = (int)unit < A;
            }
        }
        if (!reachable && grad[i] != 0.0f)
            fail_msg("scenario %d task %d: parameter %zu (no old unit) has gradient %g", sc, task, i, grad[i]);
        float keep = m->params[i];
        float up = keep + 1e-3f, down = keep - 1e-3f;
        m->params[i] = up;
        double fp = hook(&w, task, X, y, dl);
        m->params[i] = down;
        double fm = hook(&w, task, X, y, dl);
        m->params[i] = keep;
        double numeric = (fp - fm) / ((double)up - down), tol = 2e-2 * fabs(grad[i]) + 2e-3 * scale;
        worst = fmax(worst, fabs(numeric - grad[i]) / tol);
        if (fabs(numeric - grad[i]) > tol)
            fail_msg("scenario %d task %d T=%s: gradient[%zu] = %.8g, finite differences %.8g (largest %.3g)", sc, task,
                     T, i, grad[i], numeric, scale);
        checked += grad[i] != 0.0f;
    }
    assert_true(checked >= 64); /* not a vacuous comparison of zeros */
    print_message("scenario %d, task %d, T=%s: loss %.6g, %d non-zero entries, largest error %.2f of the tolerance\n",
                  sc, task, T, L, checked, worst);
    free(prev0);
    free(grad);
    destroy(&w);
}

static void test_gradient_task_incremental(void **state)
{
    (void)state;
    /* task 1: head 0 distilled, head 1 trained; task 2: heads 0 and 1 distilled, head 2 trained */
    check_gradient(CL_SCEN_TASK, 1, "2");
    check_gradient(CL_SCEN_TASK, 2, "2");
    check_gradient(CL_SCEN_TASK, 2, "5");
}

static void test_gradient_class_incremental(void **state)
{
    (void)state;
    /* one head of 6 units: task 1 distils units 0-1, task 2 units 0-3 */
    check_gradient(CL_SCEN_CLASS, 1, "2");
    check_gradient(CL_SCEN_CLASS, 2, "2");
    check_gradient(CL_SCEN_CLASS, 2, "0.5");
}

/* A linear model small enough to work the loss out by hand. Two inputs, one head of 3 units, two samples
 * x1 = (1, 0) and x2 = (0, 1). The frozen model has W = [[1, 0], [0, 1], [0, 0]], b = (0, 0, b2), so its
 * logits are (1, 0, b2) and (0, 1, b2); the current model has W = 0, b = 0: all logits 0.
 *
 * Domain-incremental (every unit old, b2 = 0), T = 2, lambda = 0.5: with a = e^(1/2), S = a + 2,
 *     q_1 = (a, 1, 1) / S,  q_2 = (1, a, 1) / S,  p = (1, 1, 1) / 3
 *     KL(q_1 || p) = sum_c q_c log(3 q_c) = (a / S)(1/2) - log(S / 3), the same for q_2
 *     L = lambda T^2 (1/2)(KL_1 + KL_2) = 2 (a / (2S) - log(S / 3)) = 0.0603...
 * and the gradient of b_0 is lambda T (1/2) sum_k (p_0 - q_k0) = 0.5 (2/3 - (a + 1)/S).
 *
 * Class-incremental (the old task had 2 units, b2 = 7 on the frozen model and 4 on the current one, both
 * outside): q_1 = (a, 1) / (a + 1), q_2 = (1, a) / (a + 1), p = (1/2, 1/2), and unit 2 gets no gradient. */
static void test_hand_worked(void **state)
{
    (void)state;
    int heads[1] = {3};
    cl_mlp *m = cl_mlp_create(2, NULL, 0, heads, 1, 4);
    const cl_linear *H = cl_mlp_head(m, 0);
    const float X[4] = {1, 0, 0, 1};
    const int y[2] = {0, 1};
    float dl[2 * 3];
    const double a = exp(0.5), S = a + 2;

    /* domain-incremental: two tasks on head 0, both with all 3 units; the batch is task 1's */
    cl_task tasks[2] = {{.head = 0, .active = 3}, {.head = 0, .active = 3}};
    cl_stream s = {.ntasks = 2, .task = tasks, .nheads = 1, .head_out = heads};
    const char *params[2] = {"lambda=0.5", "T=2"};
    cl_reg *r = cl_reg_create("lwf", params, 2, m);
    assert_non_null(r);
    memset(m->params, 0, m->nparams * sizeof(float));
    m->params[H->w + 0] = 1; /* W[0][0] */
    m->params[H->w + 3] = 1; /* W[1][1] */
    cl_task_view v = {.stream = &s, .task = 0};
    assert_int_equal(cl_reg_end_task(r, m, &v), 0);
    memset(m->params, 0, m->nparams * sizeof(float));
    memset(m->grads, 0, m->nparams * sizeof(float));
    cl_batch b = {.stream = &s, .task = 1, .batch = 2, .x = X, .y = y, .model = m, .previous = cl_reg_previous(r),
                  .dlogits = dl};
    double L = cl_reg_batch_loss(r, &b), want = 2 * (a / (2 * S) - log(S / 3));
    print_message("domain: L = %.9f, by hand %.9f\n", L, want);
    assert_true(fabs(L - want) < 1e-6 * want);
    assert_true(fabs(m->grads[H->b + 0] - 0.5 * (2.0 / 3 - (a + 1) / S)) < 1e-6);
    assert_true(fabs(m->grads[H->b + 2] - 0.5 * (2.0 / 3 - 2 / S)) < 1e-6);
    assert_true(fabs(m->grads[H->w + 0] - 0.5 * (1.0 / 3 - a / S)) < 1e-6); /* W[0][0]: sample 1 only */
    /* KL is 0 where the models agree, and so is the gradient, exactly */
    memcpy(m->params, cl_reg_previous(r)->params, m->nparams * sizeof(float));
    memset(m->grads, 0, m->nparams * sizeof(float));
    assert_true(cl_reg_batch_loss(r, &b) == 0.0);
    for (size_t i = 0; i < m->nparams; i++) assert_true(m->grads[i] == 0.0f);
    /* the first task has nothing to distil */
    b.task = 0;
    assert_true(cl_reg_batch_loss(r, &b) == 0.0);
    cl_reg_free(r);

    /* class-incremental: the old task had units 0 and 1; unit 2 is the new class */
    tasks[0].active = 2;
    r = cl_reg_create("lwf", params, 2, m);
    memset(m->params, 0, m->nparams * sizeof(float));
    m->params[H->w + 0] = 1;
    m->params[H->w + 3] = 1;
    m->params[H->b + 2] = 7;
    assert_int_equal(cl_reg_end_task(r, m, &v), 0);
    memset(m->params, 0, m->nparams * sizeof(float));
    m->params[H->b + 2] = 4;
    memset(m->grads, 0, m->nparams * sizeof(float));
    b.task = 1;
    b.previous = cl_reg_previous(r);
    double S2 = a + 1, kl = (a / S2) * log(2 * a / S2) + (1 / S2) * log(2 / S2);
    want = 0.5 * 4 * kl; /* lambda T^2 (1/2)(KL_1 + KL_2), KL_1 = KL_2 */
    L = cl_reg_batch_loss(r, &b);
    print_message("class: L = %.9f, by hand %.9f\n", L, want);
    assert_true(fabs(L - want) < 1e-6 * want);
    assert_true(m->grads[H->b + 2] == 0.0f && m->grads[H->w + 4] == 0.0f && m->grads[H->w + 5] == 0.0f);
    assert_true(fabs(m->grads[H->w + 0] - 0.5 * (0.5 - a / S2)) < 1e-6); /* W[0][0]: lambda T (1/2)(p_0 - q_10) */
    cl_reg_free(r);
    cl_mlp_free(m);
}

/* T and lambda are checked, with messages naming the method, key and range. */
static void test_parameters(void **state)
{
    (void)state;
    int hidden[1] = {3}, heads[1] = {2};
    cl_mlp *m = cl_mlp_create(4, hidden, 1, heads, 1, 4);
    struct { const char *param, *expect; } cases[] = {
        {"T=0", "lwf: T: expected a number in [0.1, 100]"},
        {"T=1e3", "lwf: T: expected a number in [0.1, 100]"},
        {"T=warm", "lwf: T: expected a finite number"},
        {"lambda=-1", "lwf: lambda"},
        {"t=2", "did you mean 'T'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *p[1] = {cases[i].param};
        cl_reg *r = cl_reg_create("lwf", p, 1, m);
        if (r) fail_msg("lwf %s was accepted", cases[i].param);
        if (!strstr(cl_errmsg(), cases[i].expect))
            fail_msg("lwf %s: message '%s' lacks '%s'", cases[i].param, cl_errmsg(), cases[i].expect);
    }
    cl_reg *r = cl_reg_create("lwf", NULL, 0, m);
    assert_non_null(r);
    char d[128];
    cl_reg_describe(r, d, sizeof d);
    assert_string_equal(d, "lwf lambda=1 T=2");
    assert_true(cl_reg_importance(r, (float[64]){0}) == -1); /* no Omega: nothing to save or draw */
    assert_int_equal(cl_reg_importance_cost(r, 10), 0);
    cl_reg_free(r);
    cl_mlp_free(m);
}

/* ---- through the training loop ------------------------------------------------------------------------- */

typedef struct snap {
    cl_mlp *after_task1; /* the model as task 1 left it */
} snap;

static void keep_task1(void *ctx, cl_mlp *m, int task, const float *row)
{
    (void)row;
    snap *sn = ctx;
    if (task == 0) sn->after_task1 = cl_mlp_clone(m, m->bmax);
}

/* Mean squared difference of head 0's logits between the model and its snapshot after task 1, on task 2's
 * training inputs: how far the old head's outputs moved while task 2 trained. */
static double drift(cl_mlp *m, cl_mlp *old, const cl_stream *s)
{
    int n = s->task[1].ntrain < 256 ? s->task[1].ntrain : 256, C = m->head_out[0];
    float *X = malloc(sizeof(float) * (size_t)n * s->input_dim), *z = malloc(sizeof(float) * (size_t)n * C);
    int *y = malloc(sizeof(int) * n), *pos = malloc(sizeof(int) * n);
    double sum = 0;
    for (int k = 0; k < n; k++) pos[k] = k;
    for (int a = 0; a < n; a += m->bmax) {
        int nb = n - a < m->bmax ? n - a : m->bmax;
        cl_stream_batch(s, 1, 0, pos + a, nb, X, y);
        cl_mlp_forward(old, X, nb, 0);
        memcpy(z, old->logits, sizeof(float) * (size_t)nb * C);
        cl_mlp_forward(m, X, nb, 0);
        for (int i = 0; i < nb * C; i++) sum += ((double)m->logits[i] - z[i]) * ((double)m->logits[i] - z[i]);
    }
    free(X), free(z), free(y), free(pos);
    return sum / n;
}

typedef struct lrun {
    cl_run run;
    double drift;
    float *params; /* the model at the end */
    size_t nparams;
} lrun;

/* 2 epochs per task of the 2-task split task-incremental stream, a 144-32-16-heads MLP, or the network of
 * architecture `arch` (NULL: that MLP). */
static void train(const char *method, const char *lambda, const char *arch, lrun *out)
{
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &data2, &sc), 0);
    assert_int_equal(s.ntasks, 2);
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = 2;
    tc.batch = 32;
    tc.eval_batch = 64;
    int hidden[2] = {32, 16};
    cl_arch a;
    if (arch) assert_int_equal(cl_arch_parse(&a, arch, "arch"), 0);
    cl_mlp *m = arch ? cl_model_for_stream(&s, &a, &tc) : cl_mlp_for_stream(&s, hidden, 2, &tc);
    assert_non_null(m);
    const char *p[1] = {lambda};
    tc.reg = cl_reg_create(method, p, lambda ? 1 : 0, m);
    if (!tc.reg) fail_msg("%s: %s", method, cl_errmsg());
    snap sn = {NULL};
    tc.on_task = keep_task1;
    tc.ctx = &sn;
    assert_int_equal(cl_train_stream(m, &s, &tc, &out->run), 0);
    assert_false(out->run.diverged);
    for (int t = 0; t < 2; t++) assert_true(isfinite(out->run.loss[t]));
    assert_non_null(sn.after_task1);
    out->drift = drift(m, sn.after_task1, &s);
    if (cl_reg_previous(tc.reg)) assert_false(cl_reg_previous(tc.reg)->training); /* no masks in the targets */
    out->nparams = m->nparams;
    out->params = malloc(m->nparams * sizeof(float));
    memcpy(out->params, m->params, m->nparams * sizeof(float));
    cl_mlp_free(sn.after_task1);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

static void test_training_loop(void **state)
{
    (void)state;
    lrun none, off, on;
    train("none", NULL, NULL, &none);
    train("lwf", "lambda=0", NULL, &off);
    train("lwf", "lambda=100", NULL, &on);
    print_message("head 0 drift on task 2's inputs: none %.4g, lwf lambda 0 %.4g, lwf lambda 100 %.4g; "
                  "task 1 accuracy after task 2: %.3f, %.3f, %.3f; task 2: %.3f, %.3f, %.3f\n",
                  none.drift, off.drift, on.drift, *cl_run_R(&none.run, 2, 0), *cl_run_R(&off.run, 2, 0),
                  *cl_run_R(&on.run, 2, 0), *cl_run_R(&none.run, 2, 1), *cl_run_R(&off.run, 2, 1),
                  *cl_run_R(&on.run, 2, 1));
    /* lambda 0 is fine-tuning, to the bit */
    assert_memory_equal(none.run.R, off.run.R, sizeof(float) * 3 * 2);
    assert_true(off.drift > 0);
    /* a large lambda holds the old head's outputs near the frozen copy's */
    assert_true(on.drift < 0.25 * off.drift);
    /* and task 2 still learns through its own head */
    assert_true(*cl_run_R(&on.run, 2, 1) > 0.8f);
    lrun *all[] = {&none, &off, &on};
    for (int i = 0; i < 3; i++) {
        cl_run_free(&all[i]->run);
        free(all[i]->params);
    }
}

/* With dropout the current model's distillation pass runs in training mode and draws masks of its own from
 * the step's stream: the run still repeats to the bit, and the distillation still holds the old head. */
static void test_training_loop_dropout(void **state)
{
    (void)state;
    const char *arch = "dropout0.1, dense32, dropout0.3, dense16";
    lrun off, a, b;
    train("lwf", "lambda=0", arch, &off);
    train("lwf", "lambda=30", arch, &a);
    train("lwf", "lambda=30", arch, &b);
    print_message("with dropout, head 0 drift: lambda 0 %.4g, lambda 30 %.4g\n", off.drift, a.drift);
    assert_memory_equal(a.run.R, b.run.R, sizeof(float) * 3 * 2);
    assert_int_equal(a.nparams, b.nparams);
    assert_memory_equal(a.params, b.params, a.nparams * sizeof(float));
    assert_true(a.drift < 0.25 * off.drift);
    lrun *all[] = {&off, &a, &b};
    for (int i = 0; i < 3; i++) {
        cl_run_free(&all[i]->run);
        free(all[i]->params);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gradient_task_incremental),
        cmocka_unit_test(test_gradient_class_incremental),
        cmocka_unit_test(test_hand_worked),
        cmocka_unit_test(test_parameters),
        cmocka_unit_test(test_training_loop),
        cmocka_unit_test(test_training_loop_dropout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
