/* The training loop on synthetic data: it learns, it is reproducible to the bit, and an old task's head
 * does not move while later tasks train. */
#include "tests/testutil.h"

#include <math.h>

#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"

static cl_data data;

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 1200, 300, 12, 12, 4, 42);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

static void run_stream(cl_stream_cfg *sc, cl_train_cfg *tc, cl_run *run)
{
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &data, sc), 0);
    int hidden[2] = {32, 16};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, tc);
    assert_non_null(m);
    assert_int_equal(cl_train_stream(m, &s, tc, run), 0);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

static void test_learns_and_reproduces(void **state)
{
    (void)state;
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = 3;
    tc.batch = 32;
    tc.eval_batch = 64;
    cl_run a, b, c;
    run_stream(&sc, &tc, &a);
    assert_int_equal(a.ntasks, 2);
    assert_false(a.diverged);
    for (int j = 0; j < 2; j++) assert_true(*cl_run_R(&a, j + 1, j) > 0.9f);
    /* same seed: the same numbers to the bit, whatever the evaluation chunk size */
    tc.eval_batch = 50;
    run_stream(&sc, &tc, &b);
    assert_memory_equal(a.R, b.R, sizeof(float) * 3 * 2);
    /* another seed: another run */
    tc.seed = 2;
    sc.seed = 2;
    run_stream(&sc, &tc, &c);
    assert_true(memcmp(a.R, c.R, sizeof(float) * 3 * 2) != 0);
    cl_run_free(&a);
    cl_run_free(&b);
    cl_run_free(&c);
}

/* Snapshots of head 0 after each task: it must not change once task 1 is over, under Adam. */
typedef struct { float *after_task1; int same; } head_watch;

static void watch_head(void *ctx, cl_mlp *m, int task, const float *row)
{
    (void)row;
    head_watch *w = ctx;
    size_t len = m->head_len[0] * sizeof(float);
    if (task == 0) {
        w->after_task1 = malloc(len);
        memcpy(w->after_task1, m->params + m->head_off[0], len);
    } else {
        w->same = memcmp(w->after_task1, m->params + m->head_off[0], len) == 0;
    }
}

static void test_old_head_frozen(void **state)
{
    (void)state;
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_train_cfg tc = cl_train_defaults();
    tc.batch = 32;
    tc.eval_batch = 64;
    head_watch w = {NULL, 0};
    tc.on_task = watch_head;
    tc.ctx = &w;
    cl_run r;
    run_stream(&sc, &tc, &r);
    assert_true(w.same);
    free(w.after_task1);
    cl_run_free(&r);
}

/* An absurd learning rate makes the parameters overflow: the run says so instead of printing garbage. */
static void test_divergence_reported(void **state)
{
    (void)state;
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 2;
    sc.scale01 = 0;
    cl_train_cfg tc = cl_train_defaults();
    tc.opt = cl_optim_defaults(CL_OPT_SGD);
    tc.opt.lr = 1e30f;
    tc.batch = 32;
    tc.eval_batch = 64;
    cl_run r;
    run_stream(&sc, &tc, &r);
    assert_true(r.diverged);
    assert_true(isnan(*cl_run_R(&r, 2, 1)));
    cl_run_free(&r);
}

/* Joint training sees every task so far in every epoch: on a domain-incremental split stream, where the
 * tasks' labels conflict and fine-tuning forgets, it keeps task 1. With a head per task it trains the old
 * heads too (several heads in one batch). */
static void test_joint(void **state)
{
    (void)state;
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_DOMAIN;
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = 3;
    tc.batch = 32;
    tc.eval_batch = 64;
    cl_run plain, joint;
    run_stream(&sc, &tc, &plain);
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &data, &sc), 0);
    int hidden[2] = {32, 16};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    tc.reg = cl_reg_create("joint", NULL, 0, m);
    assert_int_equal(cl_train_stream(m, &s, &tc, &joint), 0);
    print_message("task 1 after task 2: fine-tuning %.3f, joint %.3f\n", *cl_run_R(&plain, 2, 0), *cl_run_R(&joint, 2, 0));
    assert_true(*cl_run_R(&joint, 2, 0) > 0.85f);
    assert_true(*cl_run_R(&joint, 2, 1) > 0.85f);
    assert_true(*cl_run_R(&plain, 2, 0) < *cl_run_R(&joint, 2, 0) - 0.1f);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_run_free(&plain);
    cl_run_free(&joint);

    /* task-incremental: both heads are trained while task 2 trains (head 0 moves; it would not otherwise) */
    sc.scenario = CL_SCEN_TASK;
    assert_int_equal(cl_stream_create(&s, &data, &sc), 0);
    m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    tc.reg = cl_reg_create("joint", NULL, 0, m);
    head_watch w = {NULL, 0};
    tc.on_task = watch_head;
    tc.ctx = &w;
    assert_int_equal(cl_train_stream(m, &s, &tc, &joint), 0);
    assert_false(w.same);
    assert_true(*cl_run_R(&joint, 2, 0) > 0.9f && *cl_run_R(&joint, 2, 1) > 0.9f);
    free(w.after_task1);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_run_free(&joint);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_reproduces),
        cmocka_unit_test(test_old_head_frozen),
        cmocka_unit_test(test_divergence_reported),
        cmocka_unit_test(test_joint),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
