/* Metrics against an accuracy matrix worked out by hand. */
#include "tests/testutil.h"

#include <math.h>

#include "experiments/metrics.h"

static void test_hand_worked(void **state)
{
    (void)state;
    /* rows: before, after task 1, 2, 3 */
    const float R[4 * 3] = {
        0.10f, 0.20f, 0.10f,
        0.90f, 0.30f, 0.20f,
        0.95f, 0.80f, 0.25f,
        0.60f, 0.50f, 0.85f,
    };
    cl_metrics m = cl_metrics_compute(R, 3);
    /* ACC = (0.6 + 0.5 + 0.85) / 3 */
    assert_float_equal(m.acc, 0.65, 1e-6);
    /* BWT = ((0.6 - 0.9) + (0.5 - 0.8)) / 2 */
    assert_float_equal(m.bwt, -0.30, 1e-6);
    /* FWT = ((0.3 - 0.2) + (0.25 - 0.1)) / 2 */
    assert_float_equal(m.fwt, 0.125, 1e-6);
    /* forgetting: task 1 peaked at 0.95 (after task 2): 0.35; task 2 peaked at 0.8: 0.3; mean 0.325 */
    assert_float_equal(m.forgetting, 0.325, 1e-6);
    /* learning accuracy = (0.9 + 0.8 + 0.85) / 3 */
    assert_float_equal(m.learning, 0.85, 1e-6);
}

static void test_single_task(void **state)
{
    (void)state;
    const float R[2] = {0.1f, 0.7f};
    cl_metrics m = cl_metrics_compute(R, 1);
    assert_float_equal(m.acc, 0.7, 1e-6);
    assert_true(isnan(m.bwt) && isnan(m.fwt) && isnan(m.forgetting));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_hand_worked), cmocka_unit_test(test_single_task)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
