/* Optimizers against steps worked out by hand, and the rule that untrained ranges do not move. */
#include "tests/testutil.h"

#include <math.h>

#include "core/optim.h"

static void test_sgd_momentum(void **state)
{
    (void)state;
    cl_optim_cfg c = cl_optim_defaults(CL_OPT_SGD);
    c.lr = 0.1f;
    c.momentum = 0.5f;
    cl_optim o;
    cl_optim_init(&o, &c, 1);
    float p = 1.0f, g = 2.0f;
    cl_range r = {0, 1};
    cl_optim_step(&o, &p, &g, &r, 1); /* v = 2, p = 1 - 0.2 = 0.8 */
    assert_float_equal(p, 0.8f, 1e-7);
    g = 1.0f;
    cl_optim_step(&o, &p, &g, &r, 1); /* v = 0.5*2 + 1 = 2, p = 0.8 - 0.2 = 0.6 */
    assert_float_equal(p, 0.6f, 1e-7);
    cl_optim_reset(&o);
    cl_optim_step(&o, &p, &g, &r, 1); /* v = 1, p = 0.5 */
    assert_float_equal(p, 0.5f, 1e-7);
    cl_optim_free(&o);
}

static void test_adam_matches_formula(void **state)
{
    (void)state;
    cl_optim_cfg c = cl_optim_defaults(CL_OPT_ADAM);
    c.lr = 0.01f;
    cl_optim o;
    cl_optim_init(&o, &c, 1);
    float p = 0.5f;
    double pd = 0.5, m = 0, v = 0;
    float gs[4] = {0.3f, -0.1f, 0.2f, 0.05f};
    cl_range r = {0, 1};
    for (int t = 1; t <= 4; t++) {
        cl_optim_step(&o, &p, &gs[t - 1], &r, 1);
        m = 0.9 * m + 0.1 * gs[t - 1];
        v = 0.999 * v + 0.001 * gs[t - 1] * gs[t - 1];
        double mh = m / (1 - pow(0.9, t)), vh = v / (1 - pow(0.999, t));
        pd -= 0.01 * mh / (sqrt(vh) + 1e-8);
        assert_float_equal(p, (float)pd, 1e-6);
    }
    cl_optim_free(&o);
}

/* An old head's parameters (outside the ranges) stay put even though Adam still holds moments for them. */
static void test_ranges_freeze_old_head(void **state)
{
    (void)state;
    cl_optim_cfg c = cl_optim_defaults(CL_OPT_ADAM);
    cl_optim o;
    cl_optim_init(&o, &c, 8);
    float p[8] = {1, 1, 1, 1, 1, 1, 1, 1}, g[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    cl_range all = {0, 8};
    cl_optim_step(&o, p, g, &all, 1); /* every parameter now has a non-zero first moment */
    float frozen[4];
    memcpy(frozen, p + 4, sizeof frozen);
    memset(g + 4, 0, 4 * sizeof(float));
    cl_range trunk = {0, 4};
    for (int s = 0; s < 10; s++) cl_optim_step(&o, p, g, &trunk, 1);
    assert_memory_equal(frozen, p + 4, sizeof frozen);
    assert_true(p[0] < frozen[0]); /* while the trained range kept moving */
    /* the same steps over the whole buffer would have moved them: that is what the ranges prevent */
    cl_optim_step(&o, p, g, &all, 1);
    assert_true(p[4] != frozen[0]);
    cl_optim_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sgd_momentum),
        cmocka_unit_test(test_adam_matches_formula),
        cmocka_unit_test(test_ranges_freeze_old_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
