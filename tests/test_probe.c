/* The probe behind `clreg train --probe K`: silent units against a brute-force scan one sample at a time,
 * the importance-rank masks against a full sort, putting parameters back against plain evaluation, and
 * the command's output against its own accuracy matrix. */
#include "tests/testutil.h"
#include "tests/testdata.h"

#include <math.h>

#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/probe.h"
#include "experiments/train.h"

static cl_data data;
static char out[1 << 16];

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 600, 200, 12, 12, 4, 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

static void make_stream(cl_stream *s)
{
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 2;
    assert_int_equal(cl_stream_create(s, &data, &sc), 0);
}

static void test_silent_units(void **state)
{
    (void)state;
    cl_stream s;
    make_stream(&s);
    cl_train_cfg tc = cl_train_defaults();
    int hidden[2] = {24, 16};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    /* Silence units 3 and 7 of layer 1 and unit 5 of layer 2 whatever the input: inputs lie in [0, 1], so a
     * bias of -1000 keeps the pre-activation negative. */
    int forced[3][2] = {{0, 3}, {0, 7}, {1, 5}};
    for (int f = 0; f < 3; f++) m->params[m->layer[forced[f][0]].b + forced[f][1]] = -1000.0f;

    cl_probe p;
    assert_int_equal(cl_probe_capture(&p, m, &s, 0, NULL), 0);
    assert_null(p.omega);

    /* Brute force: one sample at a time, is any output of the unit positive? */
    int B = 1;
    float *x = calloc(s.input_dim, sizeof(float));
    int y;
    unsigned char *alive[2] = {calloc(24, 1), calloc(16, 1)};
    for (int k = 0; k < s.task[0].ntrain; k++) {
        cl_stream_batch(&s, 0, 0, &k, B, x, &y);
        cl_mlp_forward(m, x, B, 0);
        for (int l = 0; l < 2; l++)
            for (int u = 0; u < hidden[l]; u++) alive[l][u] |= m->act[l + 1][u] > 0;
    }
    size_t expect_params = 0;
    unsigned char *mark = calloc(m->nparams, 1);
    for (int l = 0; l < 2; l++) {
        int nsilent = 0;
        for (int u = 0; u < hidden[l]; u++) {
            if (alive[l][u]) continue;
            nsilent++;
            const cl_linear *L = &m->layer[l], *N = &m->layer[l + 1];
            for (int i = 0; i < L->in; i++) mark[L->w + (size_t)u * L->in + i] = 1;
            mark[L->b + u] = 1;
            for (int o = 0; o < N->out; o++) mark[N->w + (size_t)o * N->in + u] = 1;
        }
        assert_int_equal(p.silent_units[l], nsilent);
    }
    for (int f = 0; f < 3; f++) assert_false(alive[forced[f][0]][forced[f][1]]);
    for (size_t i = 0; i < m->nparams; i++) {
        expect_params += mark[i];
        if (mark[i] != p.silent[i]) fail_msg("parameter %zu: silent mark %d, brute force %d", i, p.silent[i], mark[i]);
    }
    /* a weight between silent units of adjacent layers counts once */
    assert_int_equal(p.silent_params, expect_params);

    free(mark);
    free(alive[0]);
    free(alive[1]);
    free(x);
    cl_probe_free(&p);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

static void test_rank_mask_and_put_back(void **state)
{
    (void)state;
    cl_stream s;
    make_stream(&s);
    cl_train_cfg tc = cl_train_defaults();
    int hidden[1] = {20};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 1, &tc);
    tc.reg = cl_reg_create("mas", NULL, 0, m);
    assert_non_null(tc.reg);
    cl_task_view v = {.stream = &s, .task = 0};
    assert_int_equal(cl_reg_end_task(tc.reg, m, &v), 0);

    cl_probe p;
    assert_int_equal(cl_probe_capture(&p, m, &s, 0, tc.reg), 0);
    assert_non_null(p.omega);
    float *before = malloc(sizeof(float) * m->nparams);
    memcpy(before, m->params, sizeof(float) * m->nparams);

    /* Rank masks: every marked parameter of the lowest 30% has an importance no larger than every unmarked
     * one, and the count is floor(0.3 n). */
    unsigned char *mask = calloc(m->nparams, 1);
    long nm = cl_probe_rank_mask(&p, 0, 0.3, mask);
    assert_int_equal(nm, (long)(0.3 * (double)m->nparams));
    float max_in = -1, min_out = INFINITY;
    long count = 0;
    for (size_t i = 0; i < m->nparams; i++) {
        count += mask[i];
        if (mask[i]) max_in = fmaxf(max_in, p.omega[i]);
        else min_out = fminf(min_out, p.omega[i]);
    }
    assert_int_equal(count, nm);
    assert_true(max_in <= min_out);
    /* [0.3, 1) is the complement */
    unsigned char *rest = calloc(m->nparams, 1);
    cl_probe_rank_mask(&p, 0.3, 1.0, rest);
    for (size_t i = 0; i < m->nparams; i++) assert_int_equal(mask[i] + rest[i], 1);

    /* Move the model, then put back: everything = the anchor's accuracies, nothing = the moved model's,
     * and the moved parameters are left as they were. */
    float acc_anchor[2], acc_moved[2], acc[2];
    for (int j = 0; j < 2; j++) acc_anchor[j] = cl_evaluate(m, &s, j, cl_stream_eval_active(&s, 1, j));
    for (size_t i = 0; i < m->nparams; i++) m->params[i] += 0.5f * sinf((float)i);
    for (int j = 0; j < 2; j++) acc_moved[j] = cl_evaluate(m, &s, j, cl_stream_eval_active(&s, 1, j));
    assert_true(acc_moved[0] != acc_anchor[0] || acc_moved[1] != acc_anchor[1]);
    float *moved = malloc(sizeof(float) * m->nparams);
    memcpy(moved, m->params, sizeof(float) * m->nparams);
    cl_probe_eval(&p, m, &s, NULL, 1, acc);
    for (int j = 0; j < 2; j++) assert_true(acc[j] == acc_anchor[j]);
    memset(mask, 0, m->nparams);
    cl_probe_eval(&p, m, &s, mask, 1, acc);
    for (int j = 0; j < 2; j++) assert_true(acc[j] == acc_moved[j]);
    assert_memory_equal(m->params, moved, sizeof(float) * m->nparams);
    /* mask and complement put back together are the anchor again */
    for (size_t i = 0; i < m->nparams; i++)
        if (rest[i]) m->params[i] = before[i];
    cl_probe_rank_mask(&p, 0, 0.3, mask);
    cl_probe_eval(&p, m, &s, mask, 1, acc);
    for (int j = 0; j < 2; j++) assert_true(acc[j] == acc_anchor[j]);

    free(moved);
    free(rest);
    free(mask);
    free(before);
    cl_probe_free(&p);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

/* Value of column `col` (1-based) on the output line starting with `label`. */
static double column(const char *label, int col)
{
    const char *l = strstr(out, label);
    if (!l) fail_msg("no line '%s' in:\n%s", label, out);
    l += strlen(label);
    double v = NAN;
    for (int c = 0; c < col; c++) v = strtod(l, (char **)&l);
    return v;
}

static void test_cli(void **state)
{
    (void)state;
    const char *args = "train --dataset synthetic --tasks 3 --hidden 32,16 --reg mas --lambda 1 --probe 1 --quiet";
    if (tu_run_clreg(args, out, sizeof out) != 0) fail_msg("clreg %s failed:\n%s", args, out);
    /* "everything" is the state after task 1: its row equals R's row "after 1"; "nothing" equals "after 3" */
    for (int j = 1; j <= 3; j++) {
        assert_true(fabs(column("everything (the state after the task)", j) - column("after 1 ", j)) < 1e-9);
        assert_true(fabs(column("nothing (the run's end)", j) - column("after 3 ", j)) < 1e-9);
    }
    assert_non_null(strstr(out, "least important 20%"));
    assert_non_null(strstr(out, "parameters of the silent units"));
    /* no importance to rank by: says so, still shows the silent units */
    assert_int_equal(tu_run_clreg("train --dataset synthetic --tasks 2 --hidden 16 --probe 1 --quiet", out, sizeof out), 0);
    assert_non_null(strstr(out, "no ranking by importance"));
    assert_non_null(strstr(out, "parameters of the silent units"));
    /* the last task has nothing after it */
    int rc = tu_run_clreg("train --dataset synthetic --tasks 2 --probe 2", out, sizeof out);
    assert_int_equal(rc, 2);
    assert_int_equal(tu_count_lines(out), 1);
    assert_non_null(strstr(out, "--probe 2: expected a task before the last (1..1)"));
    rc = tu_run_clreg("train --dataset synthetic --probe 0", out, sizeof out);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, "--probe"));

    /* a CNN: the rows put back agree with the matrix, and the probe says which units it counts */
    char *dir = tu_mkdtemp(), cmd[2048];
    td_write_mnist(dir, "", 200, 60, 8, 8, 4, TD_RAW);
    snprintf(cmd, sizeof cmd, "train --dataset idx --data-path %s/ --stream split --tasks 2 --arch "
                              "'conv4k3, maxpool2, dense8' --reg mas --probe 1 --quiet", dir);
    if (tu_run_clreg(cmd, out, sizeof out) != 0) fail_msg("clreg %s failed:\n%s", cmd, out);
    for (int j = 1; j <= 2; j++) {
        assert_true(fabs(column("everything (the state after the task)", j) - column("after 1 ", j)) < 1e-9);
        assert_true(fabs(column("nothing (the run's end)", j) - column("after 2 ", j)) < 1e-9);
    }
    assert_non_null(strstr(out, "units in hidden layer 1 (dense layers; conv channels are not probed)"));
    assert_non_null(strstr(out, "least important 20%"));
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_silent_units), cmocka_unit_test(test_rank_mask_and_put_back),
                                       cmocka_unit_test(test_cli)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
