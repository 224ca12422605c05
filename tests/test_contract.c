/* The contract every registered regularizer keeps, checked over the whole registry (a method is tested
 * the day it is registered):
 *   - the penalty is zero at the anchor, and its gradient vanishes there;
 *   - away from it the penalty is finite and non-negative, and its gradient matches finite differences;
 *   - end_task is deterministic for a fixed seed (importances bit for bit);
 *   - importances are finite and non-negative;
 *   (a method that sets signed_importance, SI in the paper's unclipped form, may have negative importances
 *   and so a negative penalty: for it both are only finite and not all zero);
 *   - methods without a penalty (none, joint) contribute nothing;
 *   - nothing leaks (run under ASan by make test). */
#include "tests/testutil.h"

#include <math.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "models/mlp.h"
#include "regularizers/regint.h"

static cl_data data;

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 120, 40, 5, 5, 4, 17);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

typedef struct world {
    cl_stream s;
    cl_mlp *m;
    cl_reg *r;
} world;

/* A 2-task split stream with a head per task, a small MLP, the method with lambda 1.5 (where it has one)
 * and samples=30; task 1 "trained" by a few SGD steps through the hooks, then end_task. */
static void build(world *w, const cl_reg_method *meth, int scenario)
{
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = (cl_scenario)scenario;
    assert_int_equal(cl_stream_create(&w->s, &data, &c), 0);
    int hidden[2] = {6, 4};
    w->m = cl_mlp_create(w->s.input_dim, hidden, 2, w->s.head_out, w->s.nheads, 16);
    cl_rng r;
    cl_rng_seed(&r, 8, 8);
    cl_mlp_init(w->m, &r);
    const char *params[2];
    int np = 0;
    for (const cl_reg_param *p = meth->params; p->name; p++) {
        if (!strcmp(p->name, "lambda")) params[np++] = "lambda=1.5";
        if (!strcmp(p->name, "samples")) params[np++] = "samples=30";
    }
    w->r = cl_reg_create(meth->name, params, np, w->m);
    if (!w->r) fail_msg("%s: %s", meth->name, cl_errmsg());

    cl_mlp *m = w->m;
    const cl_task *tk = &w->s.task[0];
    size_t n = m->nparams;
    float X[16 * 25], dl[16 * 4], *g = malloc(n * sizeof(float)), *before = malloc(n * sizeof(float));
    int y[16], pos[16];
    cl_reg_begin_task(w->r, m, 0);
    for (int step = 0; step < 4; step++) {
        for (int k = 0; k < 16; k++) pos[k] = (step * 16 + k) % tk->ntrain;
        cl_stream_batch(&w->s, 0, 0, pos, 16, X, y);
        cl_mlp_forward(m, X, 16, tk->head);
        cl_softmax_xent(m->logits, y, 16, m->head_out[tk->head], tk->active, dl);
        cl_mlp_backward(m, dl, 16, tk->head, CL_GRAD_SET);
        memcpy(g, m->grads, n * sizeof(float));
        memcpy(before, m->params, n * sizeof(float));
        cl_reg_add_penalty_grad(w->r, m, m->grads);
        for (size_t i = 0; i < m->ntrunk; i++) m->params[i] -= 0.2f * m->grads[i];
        for (size_t i = 0; i < m->head_len[tk->head]; i++)
            m->params[m->head_off[tk->head] + i] -= 0.2f * m->grads[m->head_off[tk->head] + i];
        cl_range rg[2] = {{0, m->ntrunk}, {m->head_off[tk->head], m->head_len[tk->head]}};
        cl_step st = {.task = 0, .head = tk->head, .batch = 16, .index = step, .ranges = rg, .nranges = 2,
                      .grad = g, .theta_before = before, .signals = 1};
        cl_reg_after_step(w->r, m, &st);
    }
    cl_rng irng;
    cl_rng_seed(&irng, 1, 2);
    cl_task_view v = {.stream = &w->s, .task = 0, .test = w->r->on_test, .nsamples = w->r->samples, .rng = &irng};
    assert_int_equal(cl_reg_end_task(w->r, m, &v), 0);
    free(g);
    free(before);
}

static void destroy(world *w)
{
    cl_reg_free(w->r);
    cl_mlp_free(w->m);
    cl_stream_free(&w->s);
}

static void contract(const cl_reg_method *meth, int scenario)
{
    world w, w2;
    build(&w, meth, scenario);
    cl_mlp *m = w.m;
    size_t n = m->nparams;
    float *grad = calloc(n, sizeof(float)), *om = malloc(n * sizeof(float)), *om2 = malloc(n * sizeof(float));
    int has_penalty = meth->penalty != NULL;

    /* at the anchor */
    double p0 = cl_reg_penalty(w.r, m);
    if (p0 != 0.0) fail_msg("%s: penalty %g at the anchor, expected 0", meth->name, p0);
    cl_reg_add_penalty_grad(w.r, m, grad);
    for (size_t i = 0; i < n; i++)
        if (grad[i] != 0.0f) fail_msg("%s: penalty gradient %g at the anchor (parameter %zu)", meth->name, grad[i], i);

    /* importances */
    if (has_penalty) {
        assert_int_equal(cl_reg_importance(w.r, om), 0);
        size_t positive = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(om[i]) || (om[i] < 0 && !w.r->signed_importance))
                fail_msg("%s: Omega[%zu] = %g", meth->name, i, om[i]);
            positive += om[i] != 0;
        }
        if (positive == 0) fail_msg("%s: every importance is zero", meth->name);
        /* deterministic: the same world built again gives the same importances, bit for bit */
        build(&w2, meth, scenario);
        assert_int_equal(cl_reg_importance(w2.r, om2), 0);
        if (memcmp(om, om2, n * sizeof(float)) != 0) fail_msg("%s: end_task is not deterministic", meth->name);
        destroy(&w2);
    } else {
        assert_int_equal(cl_reg_importance(w.r, om), -1);
    }

    /* away from the anchor: a random perturbation of every parameter */
    cl_rng r;
    cl_rng_seed(&r, 5, 6);
    for (size_t i = 0; i < n; i++) m->params[i] += 0.1f * cl_rng_normal(&r);
    double p = cl_reg_penalty(w.r, m);
    if (!isfinite(p) || (p < 0 && !w.r->signed_importance))
        fail_msg("%s: penalty %g away from the anchor", meth->name, p);
    if (has_penalty && !(p != 0)) fail_msg("%s: penalty is zero away from the anchor", meth->name);
    memset(grad, 0, n * sizeof(float));
    cl_reg_add_penalty_grad(w.r, m, grad);
    double scale = 0;
    for (size_t i = 0; i < n; i++) scale = fmax(scale, fabs(grad[i]));
    for (size_t i = 0; i < n; i += 1 + (i % 3)) {
        float keep = m->params[i];
        float up = keep + 1e-2f, down = keep - 1e-2f;
        m->params[i] = up;
        double fp = cl_reg_penalty(w.r, m);
        m->params[i] = down;
        double fm = cl_reg_penalty(w.r, m);
        m->params[i] = keep;
        double numeric = (fp - fm) / ((double)up - down);
        if (fabs(numeric - grad[i]) > 1e-3 * fabs(grad[i]) + 1e-4 * scale + 1e-7)
            fail_msg("%s: penalty gradient[%zu] = %.8g, finite differences %.8g", meth->name, i, grad[i], numeric);
    }
    if (!has_penalty) assert_true(scale == 0.0);
    free(grad);
    free(om);
    free(om2);
    destroy(&w);
}

static void test_every_method(void **state)
{
    (void)state;
    int count = 0;
    for (int i = 0; cl_reg_method_at(i); i++) {
        contract(cl_reg_method_at(i), CL_SCEN_TASK);
        contract(cl_reg_method_at(i), CL_SCEN_CLASS);
        count++;
    }
    assert_true(count >= 7);
}

/* Parameters are validated with messages that name the key or value, and suggest the closest name. */
static void test_bad_parameters(void **state)
{
    (void)state;
    int hidden[1] = {3}, heads[1] = {2};
    cl_mlp *m = cl_mlp_create(4, hidden, 1, heads, 1, 4);
    struct { const char *name, *param, *expect; } cases[] = {
        {"ewc", "lamda=3", "did you mean 'lambda'"},
        {"ewc", "fisher=exactt", "did you mean 'exact'"},
        {"ewc", "lambda=-1", "lambda"},
        {"ewc", "lambda=nan", "finite"},
        {"ewc", "gamma=2", "gamma"},
        {"ewc", "fisher", "key=value"},
        {"mas", "norm=l1", "l2sq, l2"},
        {"si", "xi=0", "xi"},
        {"none", "lambda=1", "takes no parameters"},
        {"mas", "data=valid", "train, test"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *p[1] = {cases[i].param};
        cl_reg *r = cl_reg_create(cases[i].name, p, 1, m);
        if (r) fail_msg("%s %s was accepted", cases[i].name, cases[i].param);
        if (!strstr(cl_errmsg(), cases[i].expect)) fail_msg("%s %s: message '%s' lacks '%s'", cases[i].name, cases[i].param, cl_errmsg(), cases[i].expect);
    }
    assert_null(cl_reg_create("mass", NULL, 0, m));
    assert_non_null(strstr(cl_errmsg(), "did you mean 'mas'"));
    const char *twice[2] = {"lambda=1", "lambda=2"};
    assert_null(cl_reg_create("l2", twice, 2, m));
    assert_non_null(strstr(cl_errmsg(), "twice"));
    const char *emp[2] = {"fisher=empirical", "data=test"};
    assert_null(cl_reg_create("ewc", emp, 2, m));
    assert_non_null(strstr(cl_errmsg(), "test labels"));
    cl_mlp_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_every_method), cmocka_unit_test(test_bad_parameters)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
