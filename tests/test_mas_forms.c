/* The MAS forms other libraries compute (regularizers/mas_forms.c, what bench_mas_forms measures the lambda
 * factors with) against a brute force that runs the model on one sample at a time, takes each sample's
 * gradient of the library's own loss, and forms the batch means, their abs and the averages over batches the
 * slow obvious way, in double. A wrong batch weighting, a 1/C over the wrong C or a lost head would change
 * the factors the README prints; each one fails here. */
#include "tests/testutil.h"

#include <math.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "models/mlp.h"
#include "regularizers/mas_forms.h"

enum { BMAX = 16 };

static cl_data data;

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 200, 150, 6, 6, 6, 9);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

typedef struct fixture {
    cl_stream s;
    cl_mlp *m;
} fixture;

/* A split stream (3 tasks of 2 classes) and a random 36-7-5-heads MLP with weights large enough that the
 * logits are not all tiny. */
static void make_fixture(fixture *f, cl_scenario sc)
{
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = sc;
    assert_int_equal(cl_stream_create(&f->s, &data, &c), 0);
    int hidden[2] = {7, 5};
    f->m = cl_mlp_create(f->s.input_dim, hidden, 2, f->s.head_out, f->s.nheads, BMAX);
    cl_rng r;
    cl_rng_seed(&r, 4, 5);
    cl_mlp_init(f->m, &r);
    for (size_t i = 0; i < f->m->nparams; i++) f->m->params[i] *= 2.0f;
}

static void free_fixture(fixture *f)
{
    cl_mlp_free(f->m);
    cl_stream_free(&f->s);
}

/* The brute force over the first n samples of task `task`: each sample's gradient of its loss on the active
 * outputs z (||z||^2, or ||z|| when !squared; divided by the A active outputs when mean_outputs), by a
 * backward pass of that one sample. batch 0: (1/n) sum_k |g_k|; else batches of `batch` in order, each
 * contributing |mean of its g_k|, averaged with every batch counted once (last == CL_MAS_LAST_MEAN) or over
 * the full batches only, the partial one dropped (CL_MAS_LAST_DROPPED). */
static void brute(fixture *f, int task, int n, int squared, int mean_outputs, int batch, cl_mas_last last, double *om)
{
    cl_mlp *m = f->m;
    const cl_task *tk = &f->s.task[task];
    int A = tk->active;
    float x[64], d[16];
    int y;
    double *bsum = calloc(m->nparams, sizeof(double));
    memset(om, 0, m->nparams * sizeof(double));
    int counted = 0, inbatch = 0;
    for (int k = 0; k < n; k++) {
        cl_stream_batch(&f->s, task, 0, &k, 1, x, &y);
        cl_mlp_forward(m, x, 1, tk->head);
        const float *z = m->logits;
        double nrm = 0;
        for (int c = 0; c < A; c++) nrm += (double)z[c] * z[c];
        nrm = sqrt(nrm);
        memset(d, 0, sizeof d);
        for (int c = 0; c < A; c++) d[c] = (float)((squared ? 2 * z[c] : z[c] / nrm) / (mean_outputs ? A : 1));
        memset(m->grads, 0, m->nparams * sizeof(float));
        cl_mlp_backward(m, d, 1, tk->head, CL_GRAD_SET);
        for (size_t i = 0; i < m->nparams; i++) {
            if (batch) bsum[i] += m->grads[i];
            else om[i] += fabs(m->grads[i]) / n;
        }
        inbatch++;
        if (batch && (inbatch == batch || k == n - 1)) {
            if (inbatch == batch || last == CL_MAS_LAST_MEAN) {
                for (size_t i = 0; i < m->nparams; i++) om[i] += fabs(bsum[i] / inbatch);
                counted++;
            }
            memset(bsum, 0, m->nparams * sizeof(double));
            inbatch = 0;
        }
    }
    if (batch)
        for (size_t i = 0; i < m->nparams; i++) om[i] /= counted;
    free(bsum);
}

static void compare(const float *got, const double *want, size_t from, size_t to, const char *what)
{
    double mx = 0;
    size_t nonzero = 0;
    for (size_t i = from; i < to; i++) mx = fmax(mx, fabs(want[i]));
    assert_true(mx > 0);
    for (size_t i = from; i < to; i++) {
        double tol = 1e-5 * fmax(fabs(got[i]), fabs(want[i])) + 1e-9 * mx;
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("%s: Omega[%zu] = %.9g, brute force %.9g", what, i, got[i], want[i]);
        nonzero += want[i] != 0;
    }
    if (!(nonzero > (to - from) / 3)) fail_msg("%s: only %zu of %zu entries non-zero", what, nonzero, to - from);
}

/* The form f at batch `batch` after task `task` over n samples against the brute force of the same. */
static void check_form(cl_scenario sc, int task, int n, const cl_mas_form *f, int batch)
{
    fixture fx;
    make_fixture(&fx, sc);
    cl_rng rng;
    cl_rng_seed(&rng, 3, 3);
    cl_task_view v = {.stream = &fx.s, .task = task, .nsamples = n, .rng = &rng};
    float *got = malloc(fx.m->nparams * sizeof(float));
    double *want = malloc(fx.m->nparams * sizeof(double));
    if (cl_mas_form_importance(fx.m, &v, f, batch, got)) fail_msg("%s", cl_errmsg());
    brute(&fx, task, n, f->squared, f->mean_outputs, batch, f->last, want);
    char what[160];
    snprintf(what, sizeof what, "%s, batch %d, %d samples (scenario %s, task %d)", f->name, batch, n,
             cl_scenario_name(sc), task + 1);
    size_t end = f->trunk_only ? fx.m->ntrunk : fx.m->nparams;
    compare(got, want, 0, end, what);
    for (size_t i = end; i < fx.m->nparams; i++)
        if (got[i] != 0) fail_msg("%s: a head parameter has importance %g, the library keeps none", what, got[i]);
    free(got);
    free(want);
    free_fixture(&fx);
}

static const cl_mas_form *form(const char *name)
{
    for (const cl_mas_form *f = cl_mas_forms; f->name; f++)
        if (strcmp(f->name, name) == 0) return f;
    fail_msg("no form %s", name);
    return NULL;
}

/* clreg's own Omega, the bench's reference: the exact per-sample mean. */
static void test_exact(void **state)
{
    (void)state;
    fixture fx;
    make_fixture(&fx, CL_SCEN_DOMAIN);
    cl_rng rng;
    cl_rng_seed(&rng, 3, 3);
    cl_task_view v = {.stream = &fx.s, .task = 1, .nsamples = 37, .rng = &rng};
    float *got = malloc(fx.m->nparams * sizeof(float));
    double *want = malloc(fx.m->nparams * sizeof(double));
    assert_int_equal(cl_mas_exact_importance(fx.m, &v, got), 0);
    brute(&fx, 1, 37, 1, 0, 0, CL_MAS_LAST_MEAN, want);
    compare(got, want, 0, fx.m->nparams, "clreg's exact Omega");
    free(got);
    free(want);
    free_fixture(&fx);
}

/* The MAS authors' code and Avalanche: the abs of the batch-mean gradient of ||f||^2, every batch counted
 * once. 37 samples in batches of 8 end in a partial batch of 5, which counts as much as a full one; 32 in
 * batches of 8 have none; 10 samples under a batch of 16 are one partial batch; batch 1 is the exact mean. */
static void test_batch_mean(void **state)
{
    (void)state;
    const cl_mas_form *f = form("MAS authors' code");
    check_form(CL_SCEN_DOMAIN, 1, 37, f, 8);
    check_form(CL_SCEN_TASK, 2, 32, f, 8);
    check_form(CL_SCEN_DOMAIN, 0, 10, f, 16);
    check_form(CL_SCEN_DOMAIN, 0, 37, form("Avalanche MASPlugin"), 6);
    /* batch 1: the batch mean of one sample is the sample: the batch form is then clreg's */
    fixture fx;
    make_fixture(&fx, CL_SCEN_DOMAIN);
    cl_rng rng;
    cl_rng_seed(&rng, 3, 3);
    cl_task_view v = {.stream = &fx.s, .task = 1, .nsamples = 37, .rng = &rng};
    float *b1 = malloc(fx.m->nparams * sizeof(float)), *ex = malloc(fx.m->nparams * sizeof(float));
    assert_int_equal(cl_mas_form_importance(fx.m, &v, f, 1, b1), 0);
    assert_int_equal(cl_mas_exact_importance(fx.m, &v, ex), 0);
    for (size_t i = 0; i < fx.m->nparams; i++) assert_true(fabsf(b1[i] - ex[i]) <= 1e-5f * fmaxf(ex[i], 1e-3f));
    free(b1);
    free(ex);
    free_fixture(&fx);
}

/* Continual-Learning-Benchmark averages f^2 over the outputs as well: exactly 1/C of the form above, C the
 * outputs its loss sees. In the class-incremental scenario at task 2 that is 4 of the head's 6 units, so a
 * 1/C over the head's width would fail. */
static void test_mean_over_outputs(void **state)
{
    (void)state;
    const cl_mas_form *clb = form("Continual-Learning-Benchmark");
    check_form(CL_SCEN_CLASS, 1, 37, clb, 8);
    check_form(CL_SCEN_DOMAIN, 2, 37, clb, 8);

    fixture fx;
    make_fixture(&fx, CL_SCEN_CLASS);
    assert_int_equal(fx.s.task[1].active, 4);
    assert_int_equal(fx.m->head_out[fx.s.task[1].head], 6);
    cl_rng rng;
    cl_rng_seed(&rng, 3, 3);
    cl_task_view v = {.stream = &fx.s, .task = 1, .nsamples = 37, .rng = &rng};
    float *mean = malloc(fx.m->nparams * sizeof(float)), *sum = malloc(fx.m->nparams * sizeof(float));
    assert_int_equal(cl_mas_form_importance(fx.m, &v, clb, 8, mean), 0);
    assert_int_equal(cl_mas_form_importance(fx.m, &v, form("MAS authors' code"), 8, sum), 0);
    size_t nonzero = 0;
    for (size_t i = 0; i < fx.m->nparams; i++) {
        assert_true(fabs((double)mean[i] * 4 - sum[i]) <= 1e-6 * sum[i]);
        nonzero += sum[i] > 0;
    }
    assert_true(nonzero > fx.m->nparams / 3);
    free(mean);
    free(sum);
    free_fixture(&fx);
}

/* FACIL: the unsquared norm, the partial batch dropped (37 samples in batches of 8: the first 32 only), no
 * importance for the heads. */
static void test_unsquared_dropped(void **state)
{
    (void)state;
    const cl_mas_form *f = form("FACIL");
    check_form(CL_SCEN_TASK, 1, 37, f, 8);
    check_form(CL_SCEN_DOMAIN, 0, 37, f, 6);
    /* fewer samples than one batch: nothing to compute, and said so */
    fixture fx;
    make_fixture(&fx, CL_SCEN_DOMAIN);
    cl_rng rng;
    cl_rng_seed(&rng, 3, 3);
    cl_task_view v = {.stream = &fx.s, .task = 0, .nsamples = 5, .rng = &rng};
    float *om = malloc(fx.m->nparams * sizeof(float));
    assert_int_equal(cl_mas_form_importance(fx.m, &v, f, 8, om), -1);
    assert_non_null(strstr(cl_errmsg(), "no full batch"));
    /* a batch beyond the model's workspace would be cut silently by importance.c: refused instead */
    v.nsamples = 37;
    assert_int_equal(cl_mas_form_importance(fx.m, &v, f, BMAX + 1, om), -1);
    assert_non_null(strstr(cl_errmsg(), "exceeds the model's largest batch"));
    free(om);
    free_fixture(&fx);
}

/* The ratios the bench prints, on values worked by hand. */
static void test_ratio(void **state)
{
    (void)state;
    float lib[6] = {1, 2, 0, 6, 9, 4}, ref[6] = {2, 2, 0, 3, 1, 8};
    double sum, med;
    size_t n;
    /* [0, 4): sums 9 / 7; ratios 0.5, 1, 2 (the zero of ref skipped): median 1 */
    cl_mas_form_ratio(lib, ref, 0, 4, &sum, &med, &n);
    assert_true(fabs(sum - 9.0 / 7) < 1e-12);
    assert_true(fabs(med - 1) < 1e-12);
    assert_int_equal(n, 3);
    /* [1, 6): sums 21 / 14; ratios 1, 2, 9, 0.5: median (1 + 2) / 2 */
    cl_mas_form_ratio(lib, ref, 1, 6, &sum, &med, &n);
    assert_true(fabs(sum - 1.5) < 1e-12);
    assert_true(fabs(med - 1.5) < 1e-12);
    assert_int_equal(n, 4);
}

/* The penalty prefactors the lambda factors use, as read from each library's source (mas_forms.c). */
static void test_table(void **state)
{
    (void)state;
    assert_true(form("MAS authors' code")->penalty_scale == 1.0 && form("MAS authors' code")->batch == 200);
    assert_true(form("Continual-Learning-Benchmark")->mean_outputs && form("Continual-Learning-Benchmark")->batch == 100);
    const cl_mas_form *facil = form("FACIL");
    /* lambda/2 in the penalty, and alpha = 0.5 of the first task's Omega merged with a zero one */
    assert_true(facil->penalty_scale == 0.25 && !facil->squared && facil->trunk_only && facil->batch == 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact),           cmocka_unit_test(test_batch_mean),
        cmocka_unit_test(test_mean_over_outputs), cmocka_unit_test(test_unsquared_dropped),
        cmocka_unit_test(test_ratio),           cmocka_unit_test(test_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
