/* The contract every registered regularizer keeps, one named test per entry of the registry ("contract:
 * ewc", ...), so a method is tested, by name, the day it is registered.
 *
 * Each method trains a three-task task-incremental stream (a head per task, so frozen heads with stale
 * gradients exist from task 2 on) through the real training loop, cl_train_stream, with lambda 1.5 and
 * samples=30 where it has them; after every task (on_task):
 *   - the accuracies are finite and in [0, 1];
 *   - the heads of earlier tasks are exactly as their tasks left them (the loop trains the trunk and the
 *     current head only, whatever the method adds to the gradient);
 *   - after the first task the penalty is zero and its gradient vanishes (every anchor is where training
 *     stopped);
 *   - importances (methods with an Omega) are finite, non-negative (except for a method that sets
 *     signed_importance: SI in the paper's unclipped form), not all zero, and change from task to task;
 * and after the last task:
 *   - the penalty's gradient matches finite differences away from the anchors, and the penalty is finite
 *     and non-negative there (signed methods: finite);
 *   - the same run again gives the same accuracies and importances, bit for bit;
 *   - lambda matters: the run with lambda 0 ends at different parameters (a hook or penalty that did
 *     nothing would not);
 *   - methods without a penalty contribute nothing, and have no importance;
 *   - a functional method (a batch hook) adds the gradient of the loss it returns (finite differences, on a
 *     batch of the last task with the parameters moved away from its frozen copy).
 * Parameter validation is derived from each method's parameter table (and the name must be one a grid
 * section and the results' file names take): every default is accepted and
 * described back; a value that is not one (text, empty, out of any range) is refused naming the method and
 * the key; a misspelt key gets the right suggestion; a key given twice is refused.
 * Nothing leaks (run under ASan by make test). */
#include "tests/testutil.h"

#include <ctype.h>
#include <math.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"
#include "models/mlp.h"
#include "regularizers/regint.h"

static cl_data data;

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 120, 40, 5, 5, 6, 17);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

enum { NTASKS = 3 };

/* One run of a method, and what its observer saw. */
typedef struct world {
    const cl_reg_method *meth;
    cl_stream s;
    cl_mlp *m;
    cl_reg *r;
    cl_run run;
    float *heads;            /* each head's parameters as its task ended */
    float *omega[NTASKS];    /* Omega after each task (methods with importance) */
} world;

static void on_task(void *ctx, cl_mlp *m, int task, const float *R_row)
{
    world *w = ctx;
    const char *name = cl_reg_method_name(w->meth);
    int joint = cl_reg_method_joint(w->meth);
    for (int j = 0; j < NTASKS; j++)
        if (!(R_row[j] >= 0.0f && R_row[j] <= 1.0f)) fail_msg("%s: after task %d, R[%d] = %g", name, task + 1, j, R_row[j]);
    int head = w->s.task[task].head;
    memcpy(w->heads + m->head_off[head], m->params + m->head_off[head], m->head_len[head] * sizeof(float));
    if (!joint)
        for (int j = 0; j < task; j++) {
            int h = w->s.task[j].head;
            if (memcmp(w->heads + m->head_off[h], m->params + m->head_off[h], m->head_len[h] * sizeof(float)))
                fail_msg("%s: head %d (task %d) changed while task %d trained", name, h, j + 1, task + 1);
        }
    size_t n = m->nparams;
    if (task == 0) {
        double p = cl_reg_penalty(w->r, m);
        if (p != 0.0) fail_msg("%s: penalty %g at the anchor after task 1, expected 0", name, p);
        float *g = calloc(n, sizeof(float));
        cl_reg_add_penalty_grad(w->r, m, g);
        for (size_t i = 0; i < n; i++)
            if (g[i] != 0.0f) fail_msg("%s: penalty gradient %g at the anchor (parameter %zu)", name, g[i], i);
        free(g);
    }
    w->omega[task] = calloc(n, sizeof(float));
    if (!cl_reg_method_has_importance(w->meth)) {
        assert_int_equal(cl_reg_importance(w->r, w->omega[task]), -1);
        return;
    }
    assert_int_equal(cl_reg_importance(w->r, w->omega[task]), 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) {
        float o = w->omega[task][i];
        if (!isfinite(o) || (o < 0 && !cl_reg_signed(w->r)))
            fail_msg("%s: after task %d, Omega[%zu] = %g", name, task + 1, i, o);
        nonzero += o != 0;
    }
    if (!nonzero) fail_msg("%s: after task %d every importance is zero", name, task + 1);
    if (task > 0 && !memcmp(w->omega[task], w->omega[task - 1], n * sizeof(float)))
        fail_msg("%s: Omega after task %d is the same as after task %d", name, task + 1, task);
}

/* Train the stream with the method; lambda_text NULL: 1.5 where it has one. */
static void run_world(world *w, const cl_reg_method *meth, const char *lambda_text)
{
    memset(w, 0, sizeof *w);
    w->meth = meth;
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = CL_SCEN_TASK;
    assert_int_equal(cl_stream_create(&w->s, &data, &c), 0);
    assert_int_equal(w->s.ntasks, NTASKS);
    cl_train_cfg cfg = cl_train_defaults();
    cfg.batch = 16;
    cfg.eval_batch = 16;
    cfg.epochs = 2;
    cfg.seed = 5;
    int hidden[2] = {6, 4};
    w->m = cl_mlp_create(w->s.input_dim, hidden, 2, w->s.head_out, w->s.nheads, 16);
    cl_rng r;
    cl_rng_seed(&r, 8, 8);
    cl_mlp_init(w->m, &r);
    char lam[64];
    snprintf(lam, sizeof lam, "lambda=%s", lambda_text ? lambda_text : "1.5");
    const char *params[2];
    int np = 0;
    if (cl_reg_method_takes(meth, "lambda")) params[np++] = lam;
    if (cl_reg_method_takes(meth, "samples")) params[np++] = "samples=30";
    w->r = cl_reg_create(cl_reg_method_name(meth), params, np, w->m);
    if (!w->r) fail_msg("%s: %s", cl_reg_method_name(meth), cl_errmsg());
    w->heads = calloc(w->m->nparams, sizeof(float));
    cfg.reg = w->r;
    cfg.on_task = on_task;
    cfg.ctx = w;
    assert_int_equal(cl_train_stream(w->m, &w->s, &cfg, &w->run), 0);
    if (w->run.diverged || w->run.stopped) fail_msg("%s: the run did not finish", cl_reg_method_name(meth));
}

static void free_world(world *w)
{
    cl_run_free(&w->run);
    cl_reg_free(w->r);
    cl_mlp_free(w->m);
    cl_stream_free(&w->s);
    free(w->heads);
    for (int t = 0; t < NTASKS; t++) free(w->omega[t]);
}

static void check_penalty_gradient(world *w)
{
    const char *name = cl_reg_method_name(w->meth);
    cl_mlp *m = w->m;
    size_t n = m->nparams;
    cl_rng r;
    cl_rng_seed(&r, 5, 6);
    for (size_t i = 0; i < n; i++) m->params[i] += 0.1f * cl_rng_normal(&r);
    double p = cl_reg_penalty(w->r, m);
    if (!isfinite(p) || (p < 0 && !cl_reg_signed(w->r))) fail_msg("%s: penalty %g away from the anchor", name, p);
    int quadratic = cl_reg_method_has_importance(w->meth);
    if (quadratic && !(p != 0)) fail_msg("%s: penalty is zero away from the anchor", name);
    float *grad = calloc(n, sizeof(float));
    cl_reg_add_penalty_grad(w->r, m, grad);
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(grad[i]));
    for (size_t i = 0; i < n; i += 1 + (i % 3)) {
        float keep = m->params[i], up = keep + 1e-2f, down = keep - 1e-2f;
        m->params[i] = up;
        double fp = cl_reg_penalty(w->r, m);
        m->params[i] = down;
        double fm = cl_reg_penalty(w->r, m);
        m->params[i] = keep;
        double numeric = (fp - fm) / ((double)up - down);
        if (fabs(numeric - grad[i]) > 1e-3 * fabs(grad[i]) + 1e-4 * scale + 1e-7)
            fail_msg("%s: penalty gradient[%zu] = %.8g, finite differences %.8g", name, i, grad[i], numeric);
    }
    if (!quadratic && scale != 0.0) fail_msg("%s: no quadratic penalty, but a penalty gradient", name);
    free(grad);
}

/* A functional method (a batch hook): on a batch of the last task, with the parameters moved away from the
 * frozen copy, its loss is finite and the gradient it adds matches central finite differences of it. */
static void check_batch_gradient(world *w)
{
    if (!cl_reg_has_batch_loss(w->r)) return;
    const char *name = cl_reg_method_name(w->meth);
    cl_mlp *m = w->m;
    size_t n = m->nparams;
    int task = NTASKS - 1, pos[16], y[16];
    float X[16 * 25], dl[16 * 4];
    for (int k = 0; k < 16; k++) pos[k] = k;
    cl_stream_batch(&w->s, task, 0, pos, 16, X, y);
    cl_batch b = {.stream = &w->s, .task = task, .batch = 16, .x = X, .y = y, .model = m,
                  .previous = cl_reg_previous(w->r), .dlogits = dl};
    if (!b.previous) fail_msg("%s: asks for no frozen copy, or none was kept", name);
    cl_rng r;
    cl_rng_seed(&r, 9, 9);
    for (size_t i = 0; i < n; i++) m->params[i] += 0.2f * cl_rng_normal(&r);
    memset(m->grads, 0, n * sizeof(float));
    double L = cl_reg_batch_loss(w->r, &b);
    if (!isfinite(L) || L == 0.0) fail_msg("%s: batch loss %g away from the frozen copy", name, L);
    float *grad = malloc(n * sizeof(float));
    memcpy(grad, m->grads, n * sizeof(float));
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(grad[i]));
    for (size_t i = 0; i < n; i += 1 + (i % 5)) {
        float keep = m->params[i], up = keep + 1e-2f, down = keep - 1e-2f;
        m->params[i] = up;
        double fp = cl_reg_batch_loss(w->r, &b);
        m->params[i] = down;
        double fm = cl_reg_batch_loss(w->r, &b);
        m->params[i] = keep;
        double numeric = (fp - fm) / ((double)up - down);
        if (fabs(numeric - grad[i]) > 2e-2 * fabs(grad[i]) + 2e-3 * scale + 1e-6)
            fail_msg("%s: batch-loss gradient[%zu] = %.8g, finite differences %.8g", name, i, grad[i], numeric);
    }
    free(grad);
}

static void contract(void **state)
{
    const cl_reg_method *meth = *state;
    const char *name = cl_reg_method_name(meth);
    world a, b;
    run_world(&a, meth, NULL);
    run_world(&b, meth, NULL);
    size_t n = a.m->nparams, cells = (size_t)(NTASKS + 1) * NTASKS;
    if (memcmp(a.run.R, b.run.R, cells * sizeof(float))) fail_msg("%s: the same run gave other accuracies", name);
    if (memcmp(a.m->params, b.m->params, n * sizeof(float))) fail_msg("%s: the same run ended elsewhere", name);
    for (int t = 0; t < NTASKS; t++)
        if (memcmp(a.omega[t], b.omega[t], n * sizeof(float))) fail_msg("%s: Omega after task %d differs between runs", name, t + 1);
    free_world(&b);
    if (cl_reg_method_takes(meth, "lambda")) {
        run_world(&b, meth, "0");
        if (!memcmp(a.m->params, b.m->params, n * sizeof(float)))
            fail_msg("%s: lambda 1.5 and lambda 0 end at the same parameters", name);
        free_world(&b);
    }
    if (!cl_reg_method_has_penalty(meth) && cl_reg_penalty(a.r, a.m) != 0.0)
        fail_msg("%s: has no penalty but returns one", name);
    check_batch_gradient(&a);
    check_penalty_gradient(&a);
    free_world(&a);
}

/* ---- parameter validation, from the method's table ------------------------------------------------------- */

static void expect_refused(const cl_reg_method *meth, const cl_mlp *m, const char *const *p, int np, const char *what,
                           const char *want1, const char *want2)
{
    cl_reg *r = cl_reg_create(cl_reg_method_name(meth), p, np, m);
    if (r) fail_msg("%s: %s was accepted (%s)", cl_reg_method_name(meth), p[np - 1], what);
    const char *msg = cl_errmsg();
    if ((want1 && !strstr(msg, want1)) || (want2 && !strstr(msg, want2)))
        fail_msg("%s: %s (%s): message '%s' should name '%s'%s%s", cl_reg_method_name(meth), p[np - 1], what, msg,
                 want1, want2 ? " and " : "", want2 ? want2 : "");
}

static void validation(void **state)
{
    const cl_reg_method *meth = *state;
    const char *name = cl_reg_method_name(meth);
    int hidden[1] = {3}, heads[1] = {2};
    cl_mlp *m = cl_mlp_create(4, hidden, 1, heads, 1, 4);
    /* the name becomes a grid section, a results label and file names (experiments/grid.c, plain_name) */
    for (const char *c = name; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '-' || *c == '_' || *c == '.'))
            fail_msg("%s: the name holds '%c'; a grid section and the results' file names allow letters, digits, "
                     "'-', '_' and '.'", name, *c);
    size_t nparams = 0;
    for (const cl_reg_param *p = cl_reg_method_params(meth); p->name; p++, nparams++) {
        char kv[128], kv2[128], typo[80];
        /* the default, given explicitly, is accepted and described back */
        snprintf(kv, sizeof kv, "%s=%s", p->name, p->def);
        const char *one[1] = {kv};
        cl_reg *r = cl_reg_create(name, one, 1, m);
        if (!r) fail_msg("%s: its own default %s was refused: %s", name, kv, cl_errmsg());
        char desc[1024];
        cl_reg_describe(r, desc, sizeof desc);
        if (!strstr(desc, kv)) fail_msg("%s: '%s' does not describe %s", name, desc, kv);
        cl_reg_free(r);
        if (!p->help || !*p->help) fail_msg("%s: parameter %s has no help", name, p->name);
        /* values that are not values */
        const char *bad[] = {"@@", "", "1e300", "nan"};
        for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
            snprintf(kv2, sizeof kv2, "%s=%s", p->name, bad[k]);
            const char *b1[1] = {kv2};
            expect_refused(meth, m, b1, 1, "not a value", name, p->name);
        }
        /* a misspelling: the last letter doubled */
        snprintf(typo, sizeof typo, "%s%c=1", p->name, p->name[strlen(p->name) - 1]);
        char sugg[96];
        snprintf(sugg, sizeof sugg, "did you mean '%s'", p->name);
        const char *t1[1] = {typo};
        expect_refused(meth, m, t1, 1, "misspelt", sugg, NULL);
        const char *twice[2] = {kv, kv};
        expect_refused(meth, m, twice, 2, "given twice", "twice", p->name);
    }
    if (nparams == 0) {
        const char *p[1] = {"lambda=1"};
        expect_refused(meth, m, p, 1, "a method without parameters", "takes no parameters", NULL);
    }
    cl_mlp_free(m);
}

/* Messages that the table cannot derive: the unknown method, a value without '=', a refused combination. */
static void test_other_refusals(void **state)
{
    (void)state;
    int hidden[1] = {3}, heads[1] = {2};
    cl_mlp *m = cl_mlp_create(4, hidden, 1, heads, 1, 4);
    assert_null(cl_reg_create("mass", NULL, 0, m));
    assert_non_null(strstr(cl_errmsg(), "did you mean 'mas'"));
    const char *nokv[1] = {"fisher"};
    assert_null(cl_reg_create("ewc", nokv, 1, m));
    assert_non_null(strstr(cl_errmsg(), "key=value"));
    const char *emp[2] = {"fisher=empirical", "data=test"};
    assert_null(cl_reg_create("ewc", emp, 2, m));
    assert_non_null(strstr(cl_errmsg(), "test labels"));
    const char *choice[1] = {"fisher=exactt"};
    assert_null(cl_reg_create("ewc", choice, 1, m));
    assert_non_null(strstr(cl_errmsg(), "did you mean 'exact'"));
    cl_mlp_free(m);
}

int main(void)
{
    int n = cl_reg_method_count();
    struct CMUnitTest *tests = calloc((size_t)(2 * n + 1), sizeof *tests);
    char **names = calloc((size_t)(2 * n), sizeof *names);
    for (int i = 0; i < n; i++) {
        const cl_reg_method *meth = cl_reg_method_at(i);
        names[2 * i] = malloc(96), names[2 * i + 1] = malloc(96);
        snprintf(names[2 * i], 96, "contract: %s", cl_reg_method_name(meth));
        snprintf(names[2 * i + 1], 96, "parameters: %s", cl_reg_method_name(meth));
        tests[2 * i] = (struct CMUnitTest){names[2 * i], contract, NULL, NULL, (void *)meth};
        tests[2 * i + 1] = (struct CMUnitTest){names[2 * i + 1], validation, NULL, NULL, (void *)meth};
    }
    tests[2 * n] = (struct CMUnitTest){"other refusals", test_other_refusals, NULL, NULL, NULL};
    int rc = _cmocka_run_group_tests("contract", tests, (size_t)(2 * n + 1), setup, teardown);
    for (int i = 0; i < 2 * n; i++) free(names[i]);
    free(names);
    free(tests);
    return rc;
}
