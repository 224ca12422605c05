/* Real data: Fashion-MNIST from Debian's dataset-fashion-mnist package.
 * - An MLP 784-400-400-10 trained one epoch (Adam, lr 1e-3, batch 128) reaches at least 83% test accuracy
 *   (PyTorch with that set-up lands at 84.2-85.1% over four seeds).
 * - Two permuted tasks without a regularizer show forgetting: task 1's accuracy drops after task 2, the
 *   problem the harness exists to study.
 * One two-task run serves both: its first row after training is the one-epoch single-task result. */
#include "tests/testutil.h"

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"

static cl_data data;
static cl_run run;

static void train(int ntasks, cl_run *r);

static int setup(void **state)
{
    (void)state;
    if (cl_data_open(&data, "fashion-mnist", NULL, 1)) {
        fprintf(stderr, "%s\n", cl_errmsg());
        return -1;
    }
    train(2, &run);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_run_free(&run);
    cl_data_free(&data);
    return 0;
}

static void train(int ntasks, cl_run *r)
{
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = ntasks;
    cl_stream s;
    if (cl_stream_create(&s, &data, &sc)) abort();
    cl_train_cfg tc = cl_train_defaults();
    int hidden[2] = {400, 400};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    cl_train_stream(m, &s, &tc, r);
    cl_mlp_free(m);
    cl_stream_free(&s);
}

static void test_one_epoch_accuracy(void **state)
{
    (void)state;
    float acc = *cl_run_R(&run, 1, 0);
    print_message("one epoch: test accuracy %.4f\n", acc);
    assert_true(acc >= 0.83f);
}

static void test_two_permuted_tasks_forget(void **state)
{
    (void)state;
    float before = *cl_run_R(&run, 1, 0), after = *cl_run_R(&run, 2, 0);
    print_message("task 1: %.4f after task 1, %.4f after task 2; task 2: %.4f\n", before, after, *cl_run_R(&run, 2, 1));
    assert_true(*cl_run_R(&run, 2, 1) >= 0.80f); /* the second task is learned */
    assert_true(after < before - 0.02f);         /* at the price of the first */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_epoch_accuracy),
        cmocka_unit_test(test_two_permuted_tasks_forget),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
