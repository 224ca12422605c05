/* The training loop on synthetic data: it learns, it is reproducible to the bit (with dropout too), and an
 * old task's head does not move while later tasks train. */
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

/* A run of a network with dropout: its parameters at the end, its accuracy matrix, and whether any observer
 * (every step, every task) saw the model in training mode. */
typedef struct arch_run {
    float *params;
    size_t nparams;
    float R[3 * 2];
    int saw_training;
} arch_run;

static void note_mode_steps(void *ctx, cl_mlp *m, int task, int epoch, long step)
{
    (void)task, (void)epoch, (void)step;
    ((arch_run *)ctx)->saw_training |= m->training;
}

static void note_mode_task(void *ctx, cl_mlp *m, int task, const float *row)
{
    (void)task, (void)row;
    ((arch_run *)ctx)->saw_training |= m->training;
}

/* Train a network of architecture `text` through the split task-incremental stream (a head per task), with
 * MAS (an importance pass after each task) or the joint method (a batch mixes heads: several forward passes
 * per step). -1 when something failed: no cmocka assertion here, as it may run on another thread. */
static int train_arch(const char *text, uint64_t seed, const char *method, arch_run *out)
{
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = 2;
    tc.batch = 32;
    tc.eval_batch = 64;
    tc.seed = seed;
    tc.on_steps = note_mode_steps;
    tc.steps_every = 1;
    tc.on_task = note_mode_task;
    tc.ctx = out;
    cl_stream s;
    cl_arch a;
    out->params = NULL;
    out->saw_training = 0;
    if (cl_stream_create(&s, &data, &sc)) return -1;
    cl_mlp *m = NULL;
    if (!cl_arch_parse(&a, text, "arch")) m = cl_mlp_create_arch(&a, 1, 12, 12, s.head_out, s.nheads, 64, "arch");
    tc.reg = m ? cl_reg_create(method, NULL, 0, m) : NULL;
    if (!tc.reg) {
        cl_mlp_free(m);
        cl_stream_free(&s);
        return -1;
    }
    cl_rng r;
    cl_rng_seed(&r, seed, cl_hash_str("init"));
    cl_mlp_init(m, &r);
    cl_run run;
    int rc = cl_train_stream(m, &s, &tc, &run) || run.diverged ? -1 : 0;
    memcpy(out->R, run.R, sizeof out->R);
    out->nparams = m->nparams;
    out->params = malloc(m->nparams * sizeof(float));
    memcpy(out->params, m->params, m->nparams * sizeof(float));
    cl_run_free(&run);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    return rc;
}

static int same_run(const arch_run *a, const arch_run *b)
{
    return a->nparams == b->nparams && !memcmp(a->params, b->params, a->nparams * sizeof(float)) &&
           !memcmp(a->R, b->R, sizeof a->R);
}

/* Dropout keeps runs reproducible: the same seed gives bit-identical parameters and accuracies, also when
 * two runs go at once on two threads, and also under joint training (several forward passes per step);
 * another seed gives another run, and the masks do act (the network without its dropout items ends
 * elsewhere from the same seed). Observers only ever see the model in evaluation mode. The network learns. */
static void test_dropout_reproducible(void **state)
{
    (void)state;
    const char *text = "dropout0.1, conv4k3p1, dropout0.2, maxpool2, dense16, dropout0.5";
    arch_run a, b, par[2], other, plain, j1, j2;
    assert_int_equal(train_arch(text, 1, "mas", &a), 0);
    assert_false(a.saw_training);
    for (int j = 0; j < 2; j++) assert_true(a.R[(j + 1) * 2 + j] > 0.8f); /* R[j+1][j]: task j after training it */
    assert_int_equal(train_arch(text, 1, "mas", &b), 0);
    assert_true(same_run(&a, &b));
    int rc[2];
#pragma omp parallel for num_threads(2) schedule(static, 1)
    for (int i = 0; i < 2; i++) rc[i] = train_arch(text, 1, "mas", &par[i]);
    assert_true(rc[0] == 0 && rc[1] == 0);
    assert_true(same_run(&a, &par[0]) && same_run(&a, &par[1]));
    assert_int_equal(train_arch(text, 2, "mas", &other), 0);
    assert_false(same_run(&a, &other));
    assert_int_equal(train_arch("conv4k3p1, maxpool2, dense16", 1, "mas", &plain), 0);
    assert_false(same_run(&a, &plain));
    assert_int_equal(train_arch(text, 1, "joint", &j1), 0);
    assert_int_equal(train_arch(text, 1, "joint", &j2), 0);
    assert_true(same_run(&j1, &j2));
    assert_false(j1.saw_training);
    arch_run *all[] = {&a, &b, &par[0], &par[1], &other, &plain, &j1, &j2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->params);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns_and_reproduces),
        cmocka_unit_test(test_old_head_frozen),
        cmocka_unit_test(test_divergence_reported),
        cmocka_unit_test(test_joint),
        cmocka_unit_test(test_dropout_reproducible),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
