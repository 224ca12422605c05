/* Statistics over paired differences: the numbers `clreg compare` reports, and the confidence-interval
 * half-width the summaries use.
 *
 * Every distribution function comes from GNU GSL (gsl_cdf_*): no special function is written by hand here.
 * Every function takes the differences d[i] = x[i] - y[i] of n pairs (the caller drops pairs with a
 * missing value before) and gives NaN, never a crash, where a statistic is undefined (too few pairs, no
 * spread, every difference zero). */
#ifndef CLREG_STATS_H
#define CLREG_STATS_H

#include <stdint.h>

/* Half-width of the 95% t confidence interval of a mean from its sample standard deviation (n - 1) and
 * count: t_{0.975, n-1} * std / sqrt(n). NaN for n < 2 or a std that is not finite. */
double cl_stats_t_halfwidth95(double std, int n);

/* The paired t-test: mean of d, its 95% confidence interval mean +- t_{0.975, n-1} * sd / sqrt(n), and the
 * two-sided p-value of t = mean / (sd / sqrt(n)) on n - 1 degrees of freedom. n < 2: the mean (NaN for
 * n = 0) and NaN for the rest. Every difference equal (sd = 0): the interval is that value twice, and p is
 * NaN when they are all 0 (0/0: no evidence either way) and 0 otherwise (as SciPy's ttest_rel gives). */
void cl_stats_paired_t(const double *d, int n, double *mean, double *low, double *high, double *p);

/* Percentile bootstrap 95% interval of the mean of d: B resamples of n with replacement drawn from the
 * seeded stream (seed, key) of core/rng.h, so the same inputs give the same interval to the bit; the
 * bounds are the 2.5% and 97.5% quantiles of the B means, interpolated linearly between order statistics
 * (gsl_stats_quantile_from_sorted_data, numpy's default percentile). NaN for n < 2 or B < 1. */
void cl_stats_bootstrap95(const double *d, int n, int B, uint64_t seed, uint64_t key, double *low, double *high);

/* Two-sided p-value of the Wilcoxon signed-rank test of d. Convention (R's wilcox.test, and SciPy's wilcoxon
 * with zero_method="wilcox" where the two agree):
 *   - zero differences are dropped (Wilcoxon's method); nz is the count left;
 *   - with nz <= 50 and no ties among |d|, the exact null distribution of T+ (the sum of the ranks of the
 *     positive differences) by counting the sign patterns per rank sum; p = min(1, 2 min(P(T+ <= t),
 *     P(T+ >= t)));
 *   - otherwise the normal approximation with average ranks for ties, the tie correction of the variance
 *     (n(n+1)(2n+1)/24 - sum(t^3 - t)/48) and a continuity correction of 0.5 towards the mean (R's default
 *     correct = TRUE; SciPy's default is correction=False, and older SciPy falls back to the approximation
 *     as soon as a zero was dropped where this stays exact on the rest).
 * NaN when fewer than 2 pairs are given, or every difference is zero. nz is set when not NULL. */
double cl_stats_wilcoxon(const double *d, int n, int *nz);

/* The smallest two-sided p the exact signed-rank test can give with n untied nonzero differences (every
 * sign the same): 2 / 2^n, e.g. 0.25 for n = 3 and 0.0625 for n = 5. */
double cl_stats_wilcoxon_min_p(int n);

/* Holm's step-down adjustment of m p-values: with the finite ones sorted, p_(1) <= ... <= p_(k), the
 * adjusted p_(i) is min(1, max_{j <= i} (k - j + 1) p_(j)), written back in the input order. NaN p-values
 * are not tests: they stay NaN and do not count in k. adj may be p. */
void cl_stats_holm(const double *p, int m, double *adj);

#endif
