/* Paired statistics (experiments/stats.c) against values worked by hand or read from a reference table. */
#include "tests/testutil.h"

#include <math.h>

#include "experiments/stats.h"

/* Student's t table, two-sided 95%: t_{0.975, 2} = 4.303, t_{0.975, 9} = 2.262, t_{0.975, 4} = 2.776.
 * The half-width is t * std / sqrt(n); std = sqrt(n) leaves the quantile itself. */
static void test_t_quantiles(void **state)
{
    (void)state;
    assert_float_equal(cl_stats_t_halfwidth95(sqrt(3.0), 3), 4.303, 5e-4);
    assert_float_equal(cl_stats_t_halfwidth95(sqrt(10.0), 10), 2.262, 5e-4);
    assert_float_equal(cl_stats_t_halfwidth95(sqrt(5.0), 5), 2.776, 5e-4);
    /* std 2 over n = 10: 2.262157 * 2 / sqrt(10) = 1.430714 */
    assert_float_equal(cl_stats_t_halfwidth95(2.0, 10), 1.430714, 1e-5);
    assert_true(isnan(cl_stats_t_halfwidth95(1.0, 1)));
    assert_true(isnan(cl_stats_t_halfwidth95(1.0, 0)));
    assert_true(isnan(cl_stats_t_halfwidth95(NAN, 5)));
}

/* Differences of five pairs, e.g. ACC of a method minus ACC of fine-tuning for five seeds:
 *   d = 0.02, 0.04, 0.01, 0.05, 0.03           mean = 0.15 / 5 = 0.03
 *   deviations -0.01, 0.01, -0.02, 0.02, 0     sum of squares = 0.0001 + 0.0001 + 0.0004 + 0.0004 = 0.001
 *   sd = sqrt(0.001 / 4) = 0.0158114           se = sd / sqrt(5) = 0.00707107
 *   t = 0.03 / 0.00707107 = 4.24264 = 3 sqrt(2), on 4 degrees of freedom
 *   95% CI: 0.03 +- 2.776445 * 0.00707107 = 0.03 +- 0.0196324 = [0.0103676, 0.0496324]
 *   p: for 4 degrees of freedom the t CDF has the closed form
 *      F(t) = 1/2 + (3/8) (t / sqrt(1 + t^2/4)) (1 - t^2 / (12 (1 + t^2/4)));
 *      t^2 = 18: 1 + 4.5 = 5.5, t / sqrt(5.5) = 1.809068, 1 - 18/66 = 0.727273,
 *      F = 0.5 + 0.375 * 1.809068 * 0.727273 = 0.993382, p = 2 (1 - F) = 0.0132356 */
static void test_paired_t_hand_worked(void **state)
{
    (void)state;
    const double d[5] = {0.02, 0.04, 0.01, 0.05, 0.03};
    double mean, low, high, p;
    cl_stats_paired_t(d, 5, &mean, &low, &high, &p);
    assert_float_equal(mean, 0.03, 1e-12);
    assert_float_equal(low, 0.0103676, 1e-6);
    assert_float_equal(high, 0.0496324, 1e-6);
    assert_float_equal(p, 0.0132356, 1e-6);
    /* the other sign: the same p, the interval mirrored */
    const double e[5] = {-0.02, -0.04, -0.01, -0.05, -0.03};
    double mean2, low2, high2, p2;
    cl_stats_paired_t(e, 5, &mean2, &low2, &high2, &p2);
    assert_float_equal(mean2, -0.03, 1e-12);
    assert_float_equal(low2, -high, 1e-12);
    assert_float_equal(high2, -low, 1e-12);
    assert_float_equal(p2, p, 1e-12);
}

/* The exact signed-rank distribution. Under no difference each of the 2^n sign patterns of the ranks is
 * equally likely; two-sided p = 2 min(P(T+ <= t), P(T+ >= t)).
 *   n = 5, all positive: T+ = 15, only the pattern "all +" reaches it: p = 2 * 1/32 = 0.0625
 *   n = 3, all positive: p = 2 * 1/8 = 0.25 (the smallest p three pairs can give)
 *   d = -0.1, -0.2, 0.3, 0.4, 0.5, 0.6: ranks of |d| 1..6, the negatives have ranks 1 and 2, T- = 3,
 *     T+ = 21 - 3 = 18. Patterns with T- <= 3: {}, {1}, {2}, {3}, {1,2}: 5 of 64, p = 2 * 5/64 = 0.15625
 *   d = -1, 2, 3, 4, 5: T- = 1; patterns with T- <= 1: {}, {1}: p = 2 * 2/32 = 0.125 */
static void test_wilcoxon_exact(void **state)
{
    (void)state;
    const double five[5] = {0.1, 0.2, 0.3, 0.4, 0.5};
    int nz;
    assert_float_equal(cl_stats_wilcoxon(five, 5, &nz), 0.0625, 1e-15);
    assert_int_equal(nz, 5);
    assert_float_equal(cl_stats_wilcoxon(five, 3, NULL), 0.25, 1e-15);
    const double six[6] = {-0.1, -0.2, 0.3, 0.4, 0.5, 0.6};
    assert_float_equal(cl_stats_wilcoxon(six, 6, NULL), 0.15625, 1e-15);
    const double mirrored[6] = {0.1, 0.2, -0.3, -0.4, -0.5, -0.6};
    assert_float_equal(cl_stats_wilcoxon(mirrored, 6, NULL), 0.15625, 1e-15);
    const double one_neg[5] = {-1, 2, 3, 4, 5};
    assert_float_equal(cl_stats_wilcoxon(one_neg, 5, NULL), 0.125, 1e-15);
    /* a zero difference is dropped (Wilcoxon's method): the same six nonzero differences, still exact */
    const double with_zero[7] = {-0.1, 0, -0.2, 0.3, 0.4, 0.5, 0.6};
    assert_float_equal(cl_stats_wilcoxon(with_zero, 7, &nz), 0.15625, 1e-15);
    assert_int_equal(nz, 6);
    /* balanced signs: T+ at the centre of its distribution, p capped at 1 */
    const double centre[4] = {-1, 2, 3, -4}; /* T+ = 2 + 3 = 5 = 4*5/4 */
    assert_float_equal(cl_stats_wilcoxon(centre, 4, NULL), 1.0, 1e-15);
    /* the smallest attainable p: 2 / 2^n */
    assert_float_equal(cl_stats_wilcoxon_min_p(3), 0.25, 1e-15);
    assert_float_equal(cl_stats_wilcoxon_min_p(5), 0.0625, 1e-15);
    assert_float_equal(cl_stats_wilcoxon_min_p(6), 0.03125, 1e-15);
    /* a larger case through the counting: 20 positive differences, p = 2 / 2^20 */
    double twenty[20];
    for (int i = 0; i < 20; i++) twenty[i] = i + 1;
    assert_float_equal(cl_stats_wilcoxon(twenty, 20, NULL), 2.0 / 1048576, 1e-18);
}

/* Ties: the normal approximation with tie and continuity corrections.
 *   d = 1, -1, 2, 2, 3: |d| = 1, 1, 2, 2, 3 get average ranks 1.5, 1.5, 3.5, 3.5, 5
 *   T+ = 1.5 (the +1) + 3.5 + 3.5 + 5 = 13.5; mean n(n+1)/4 = 7.5
 *   variance n(n+1)(2n+1)/24 - sum(t^3 - t)/48 = 5*6*11/24 - (6 + 6)/48 = 13.75 - 0.25 = 13.5
 *   z = (13.5 - 7.5 - 0.5) / sqrt(13.5) = 5.5 / 3.674235 = 1.496910
 *   p = 2 (1 - Phi(1.496910)) = 0.134417 (R's wilcox.test(c(1, -1, 2, 2, 3)) prints V = 13.5, p = 0.1344) */
static void test_wilcoxon_ties(void **state)
{
    (void)state;
    const double d[5] = {1, -1, 2, 2, 3};
    assert_float_equal(cl_stats_wilcoxon(d, 5, NULL), 0.1344166, 1e-6);
    const double e[5] = {-1, 1, -2, -2, -3};
    assert_float_equal(cl_stats_wilcoxon(e, 5, NULL), 0.1344166, 1e-6);
}

/* Holm: p = 0.01, 0.04, 0.03, 0.005, m = 4. Sorted: 0.005, 0.01, 0.03, 0.04, multiplied by 4, 3, 2, 1:
 * 0.02, 0.03, 0.06, 0.04; the running maximum makes the last 0.06 (never below the one before it).
 * Back in input order: 0.03, 0.06, 0.06, 0.02. */
static void test_holm(void **state)
{
    (void)state;
    const double p[4] = {0.01, 0.04, 0.03, 0.005};
    double adj[4];
    cl_stats_holm(p, 4, adj);
    assert_float_equal(adj[0], 0.03, 1e-15);
    assert_float_equal(adj[1], 0.06, 1e-15);
    assert_float_equal(adj[2], 0.06, 1e-15);
    assert_float_equal(adj[3], 0.02, 1e-15);
    /* NaN is not a test (not counted in m), and adjusted values cap at 1 */
    const double q[5] = {0.04, NAN, 0.01, 0.5, 0.6};
    double b[5];
    cl_stats_holm(q, 5, b);
    /* finite: 0.01, 0.04, 0.5, 0.6 (k = 4): 0.04, 0.12, 1.0, 0.6 -> running max 0.04, 0.12, 1, 1 */
    assert_float_equal(b[2], 0.04, 1e-15);
    assert_float_equal(b[0], 0.12, 1e-15);
    assert_float_equal(b[3], 1.0, 1e-15);
    assert_float_equal(b[4], 1.0, 1e-15);
    assert_true(isnan(b[1]));
    /* in place */
    double c[4] = {0.01, 0.04, 0.03, 0.005};
    cl_stats_holm(c, 4, c);
    assert_float_equal(c[1], 0.06, 1e-15);
    assert_float_equal(c[3], 0.02, 1e-15);
    /* monotone: a smaller raw p never gets a larger adjusted p */
    const double r[6] = {0.2, 0.001, 0.04, 0.011, 0.012, 0.9};
    double ar[6];
    cl_stats_holm(r, 6, ar);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            if (r[i] < r[j]) assert_true(ar[i] <= ar[j]);
    cl_stats_holm(NULL, 0, NULL); /* nothing to adjust */
}

static void test_bootstrap(void **state)
{
    (void)state;
    const double d[8] = {0.02, 0.04, 0.01, 0.05, 0.03, -0.01, 0.06, 0.02};
    double mean = 0;
    for (int i = 0; i < 8; i++) mean += d[i] / 8;
    double lo1, hi1, lo2, hi2, lo3, hi3;
    cl_stats_bootstrap95(d, 8, 10000, 7, 42, &lo1, &hi1);
    cl_stats_bootstrap95(d, 8, 10000, 7, 42, &lo2, &hi2);
    /* repeats to the bit */
    assert_memory_equal(&lo1, &lo2, sizeof lo1);
    assert_memory_equal(&hi1, &hi2, sizeof hi1);
    assert_true(lo1 < mean && mean < hi1);
    /* inside the range of the data, and narrower than it */
    assert_true(lo1 > -0.01 && hi1 < 0.06);
    /* the percentile interval of the mean of 8 values is close to the t interval (0.0275 +- 0.0188 here:
     * sd 0.0225, t_{0.975,7} 2.365); the bootstrap's is a little narrower, as it is for small n */
    double m, tl, th, p;
    cl_stats_paired_t(d, 8, &m, &tl, &th, &p);
    assert_true(fabs(lo1 - tl) < 0.006 && fabs(hi1 - th) < 0.006);
    assert_true(hi1 - lo1 < th - tl);
    /* another seed, another stream: a different interval, not a copy */
    cl_stats_bootstrap95(d, 8, 10000, 8, 42, &lo3, &hi3);
    assert_true(lo3 != lo1 || hi3 != hi1);
    /* constant differences: every resample has the same mean */
    const double c[4] = {0.5, 0.5, 0.5, 0.5};
    cl_stats_bootstrap95(c, 4, 1000, 1, 1, &lo3, &hi3);
    assert_float_equal(lo3, 0.5, 1e-15);
    assert_float_equal(hi3, 0.5, 1e-15);
}

static void test_degenerate(void **state)
{
    (void)state;
    double mean, lo, hi, p;
    cl_stats_paired_t(NULL, 0, &mean, &lo, &hi, &p);
    assert_true(isnan(mean) && isnan(lo) && isnan(hi) && isnan(p));
    const double one[1] = {0.3};
    cl_stats_paired_t(one, 1, &mean, &lo, &hi, &p);
    assert_float_equal(mean, 0.3, 1e-15);
    assert_true(isnan(lo) && isnan(hi) && isnan(p));
    assert_true(isnan(cl_stats_wilcoxon(NULL, 0, NULL)));
    assert_true(isnan(cl_stats_wilcoxon(one, 1, NULL)));
    cl_stats_bootstrap95(NULL, 0, 100, 1, 1, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
    cl_stats_bootstrap95(one, 1, 100, 1, 1, &lo, &hi);
    assert_true(isnan(lo) && isnan(hi));
    /* every difference zero: no evidence either way */
    const double zeros[4] = {0, 0, 0, 0};
    int nz = -1;
    cl_stats_paired_t(zeros, 4, &mean, &lo, &hi, &p);
    assert_float_equal(mean, 0, 0);
    assert_true(isnan(p));
    assert_true(isnan(cl_stats_wilcoxon(zeros, 4, &nz)));
    assert_int_equal(nz, 0);
    /* the same nonzero difference every time: certain direction, p 0 for t; exact Wilcoxon cannot rank
     * ties exactly, so the approximation: T+ = 10, mean 5, var 7.5 - (64 - 4)/48 = 6.25, z = 4.5/2.5 = 1.8,
     * p = 2 (1 - Phi(1.8)) = 0.0718606 */
    const double same[4] = {0.1, 0.1, 0.1, 0.1};
    cl_stats_paired_t(same, 4, &mean, &lo, &hi, &p);
    assert_float_equal(p, 0, 0);
    assert_float_equal(lo, 0.1, 1e-15);
    assert_float_equal(cl_stats_wilcoxon(same, 4, NULL), 0.0718606, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_t_quantiles),   cmocka_unit_test(test_paired_t_hand_worked),
        cmocka_unit_test(test_wilcoxon_exact), cmocka_unit_test(test_wilcoxon_ties),
        cmocka_unit_test(test_holm),          cmocka_unit_test(test_bootstrap),
        cmocka_unit_test(test_degenerate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
