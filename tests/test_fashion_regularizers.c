/* The point of the harness, on real data: on a 5-task permuted Fashion-MNIST stream (domain-incremental,
 * MLP 784-400-400-10, Adam lr 1e-3, one epoch per task, batch 128), each of ewc, mas, mas-local and si at
 * its default lambda ends, averaged over seeds 1 and 2, with a higher average accuracy (ACC) and a lower
 * forgetting than fine-tuning with the same seeds.
 *
 * Why two seeds: under Adam one seed is a coin toss at the level of a few points. Adam turns a rounding
 * difference in a near-zero gradient into a full lr-sized step, so two BLAS kernels (FMA or not) give
 * runs whose weights differ by half their range after one task; measured on this protocol, MAS at lambda
 * 0.1 ended anywhere between ACC 0.61 and 0.78 over seeds and kernels, fine-tuning between 0.65 and 0.70.
 * The defaults' margin over two seeds is several points on every kernel tried.
 *
 * The numbers go into the README. Minutes of training: skipped in the sanitizer build, whose other tests
 * cover the same code paths on small data. */
#include "tests/testutil.h"

#include "core/blas.h"
#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/metrics.h"
#include "experiments/train.h"

enum { NSEEDS = 2 };

static cl_metrics run_method(const cl_data *data, const char *method, int seed)
{
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 5;
    sc.seed = (uint64_t)seed;
    cl_stream s;
    if (cl_stream_create(&s, data, &sc)) fail_msg("%s", cl_errmsg());
    cl_train_cfg tc = cl_train_defaults();
    tc.seed = (uint64_t)seed;
    int hidden[2] = {400, 400};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    tc.reg = cl_reg_create(method, NULL, 0, m);
    assert_non_null(tc.reg);
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    assert_false(run.diverged);
    cl_metrics mt = cl_metrics_compute(run.R, run.ntasks);
    char desc[256];
    cl_reg_describe(tc.reg, desc, sizeof desc);
    print_message("seed %d  %-62s ACC %.4f  BWT %+.4f  forgetting %.4f  (train %.0f s, importance %.0f s)\n", seed,
                  desc, mt.acc, mt.bwt, mt.forgetting, run.train_sec, run.importance_sec);
    cl_run_free(&run);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    return mt;
}

static void mean_over_seeds(const cl_data *data, const char *method, double *acc, double *forgetting)
{
    *acc = *forgetting = 0;
    for (int seed = 1; seed <= NSEEDS; seed++) {
        cl_metrics mt = run_method(data, method, seed);
        *acc += mt.acc / NSEEDS;
        *forgetting += mt.forgetting / NSEEDS;
    }
    print_message("mean     %-62s ACC %.4f               forgetting %.4f\n", method, *acc, *forgetting);
}

static void test_regularizers_beat_finetuning(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip();
#endif
    cl_data data;
    if (cl_data_open(&data, "fashion-mnist", NULL, 1)) fail_msg("%s", cl_errmsg());
    double base_acc, base_fgt;
    mean_over_seeds(&data, "none", &base_acc, &base_fgt);
    const char *methods[] = {"ewc", "mas", "mas-local", "si"};
    for (int i = 0; i < 4; i++) {
        double acc, fgt;
        mean_over_seeds(&data, methods[i], &acc, &fgt);
        if (!(acc > base_acc)) fail_msg("%s: mean ACC %.4f does not beat fine-tuning's %.4f", methods[i], acc, base_acc);
        if (!(fgt < base_fgt))
            fail_msg("%s: mean forgetting %.4f is not below fine-tuning's %.4f", methods[i], fgt, base_fgt);
    }
    cl_data_free(&data);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* The kernel users get (clreg restarts itself onto a modern one): five times faster than a generic
     * fallback, and the numbers in the README are the ones clreg train prints. */
    cl_blas_startup(argv);
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_regularizers_beat_finetuning)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
