/* Statistics over paired differences (stats.h). Distribution functions are GSL's. */
#include "experiments/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_cdf.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "core/error.h"
#include "core/rng.h"

double cl_stats_t_halfwidth95(double std, int n)
{
    if (n < 2 || !isfinite(std)) return NAN;
    return gsl_cdf_tdist_Pinv(0.975, n - 1) * std / sqrt(n);
}

void cl_stats_paired_t(const double *d, int n, double *mean, double *low, double *high, double *p)
{
    *mean = n > 0 ? gsl_stats_mean(d, 1, (size_t)n) : NAN;
    *low = *high = *p = NAN;
    if (n < 2) return;
    double sd = gsl_stats_sd_m(d, 1, (size_t)n, *mean); /* n - 1 in the denominator */
    double hw = cl_stats_t_halfwidth95(sd, n);
    *low = *mean - hw;
    *high = *mean + hw;
    if (sd == 0) {
        /* t is 0/0 or +-inf: no spread to judge the mean against */
        *p = *mean == 0 ? NAN : 0.0;
        return;
    }
    double t = *mean / (sd / sqrt(n));
    *p = 2 * gsl_cdf_tdist_Q(fabs(t), n - 1);
    if (*p > 1) *p = 1;
}

void cl_stats_bootstrap95(const double *d, int n, int B, uint64_t seed, uint64_t key, double *low, double *high)
{
    *low = *high = NAN;
    if (n < 2 || B < 1) return;
    cl_rng r;
    cl_rng_seed(&r, seed, key);
    double *means = cl_malloc(sizeof(double) * (size_t)B);
    for (int b = 0; b < B; b++) {
        double s = 0;
        for (int i = 0; i < n; i++) s += d[cl_rng_below(&r, (uint32_t)n)];
        means[b] = s / n;
    }
    gsl_sort(means, 1, (size_t)B);
    *low = gsl_stats_quantile_from_sorted_data(means, 1, (size_t)B, 0.025);
    *high = gsl_stats_quantile_from_sorted_data(means, 1, (size_t)B, 0.975);
    free(means);
}

/* The exact null distribution of T+ for n untied ranks 1..n: count[s] = the number of the 2^n sign patterns
 * whose positive ranks sum to s (a subset-sum count, built one rank at a time). Doubles hold these counts
 * exactly: the largest, for n = 50, is below 2^47. */
static double *signed_rank_counts(int n)
{
    int top = n * (n + 1) / 2;
    double *c = cl_calloc((size_t)top + 1, sizeof(double));
    c[0] = 1;
    for (int k = 1; k <= n; k++)
        for (int s = k * (k + 1) / 2; s >= k; s--) c[s] += c[s - k];
    return c;
}

static double exact_p(int n, double tplus)
{
    double *c = signed_rank_counts(n);
    int top = n * (n + 1) / 2, t = (int)lround(tplus);
    double below = 0, above = 0; /* patterns with T+ <= t, and with T+ >= t */
    for (int s = 0; s <= top; s++) {
        if (s <= t) below += c[s];
        if (s >= t) above += c[s];
    }
    free(c);
    double p = 2 * fmin(below, above) / ldexp(1.0, n);
    return p > 1 ? 1 : p;
}

double cl_stats_wilcoxon_min_p(int n)
{
    if (n < 1) return NAN;
    return fmin(1.0, 2 / ldexp(1.0, n));
}

typedef struct absval {
    double a;
    int positive;
} absval;

static int cmp_abs(const void *x, const void *y)
{
    double a = ((const absval *)x)->a, b = ((const absval *)y)->a;
    return (a > b) - (a < b);
}

double cl_stats_wilcoxon(const double *d, int n, int *nz_out)
{
    if (nz_out) *nz_out = 0;
    if (n < 2) return NAN;
    absval *v = cl_malloc(sizeof(absval) * (size_t)n);
    int nz = 0;
    for (int i = 0; i < n; i++)
        if (d[i] != 0) v[nz++] = (absval){fabs(d[i]), d[i] > 0};
    if (nz_out) *nz_out = nz;
    if (nz == 0) {
        free(v);
        return NAN;
    }
    qsort(v, (size_t)nz, sizeof *v, cmp_abs);
    /* average ranks over runs of equal |d|; T+ and the ties' sum of (t^3 - t) */
    double tplus = 0, ties = 0;
    for (int i = 0; i < nz;) {
        int j = i;
        while (j + 1 < nz && v[j + 1].a == v[i].a) j++;
        double rank = (i + 1 + j + 1) / 2.0, t = j - i + 1;
        for (int k = i; k <= j; k++)
            if (v[k].positive) tplus += rank;
        ties += t * t * t - t;
        i = j + 1;
    }
    free(v);
    if (nz <= 50 && ties == 0) return exact_p(nz, tplus);
    double mu = nz * (nz + 1) / 4.0, var = nz * (nz + 1) * (2.0 * nz + 1) / 24.0 - ties / 48.0;
    if (var <= 0) return NAN;
    double diff = tplus - mu;
    double z = (diff - (diff > 0 ? 0.5 : diff < 0 ? -0.5 : 0)) / sqrt(var);
    double p = 2 * gsl_cdf_ugaussian_Q(fabs(z));
    return p > 1 ? 1 : p;
}

typedef struct pidx {
    double p;
    int i;
} pidx;

static int cmp_pidx(const void *x, const void *y)
{
    const pidx *a = x, *b = y;
    if (a->p != b->p) return a->p < b->p ? -1 : 1;
    return a->i - b->i; /* equal p: input order, so the result does not depend on qsort */
}

void cl_stats_holm(const double *p, int m, double *adj)
{
    pidx *s = cl_malloc(sizeof(pidx) * (size_t)(m > 0 ? m : 1));
    int k = 0;
    for (int i = 0; i < m; i++)
        if (isfinite(p[i])) s[k++] = (pidx){p[i], i};
    for (int i = 0; i < m; i++)
        if (!isfinite(p[i])) adj[i] = NAN;
    qsort(s, (size_t)k, sizeof *s, cmp_pidx);
    /* the running maximum keeps the adjusted values in the order of the raw ones (step-down monotonicity) */
    double run = 0;
    for (int j = 0; j < k; j++) {
        double a = (k - j) * s[j].p;
        if (a > run) run = a;
        adj[s[j].i] = run < 1 ? run : 1;
    }
    free(s);
}
