/* clreg compare: paired comparisons of the methods of a results directory.
 *
 * Cells with the same seed and task order share the initialization, the shuffling and the task order, so
 * two methods' cells of one (seed, order) form a pair, and the difference of their metric is free of most
 * of the seed-to-seed spread. Each label is taken at its selected group (summary.csv's `selected`: the
 * group its figures and tables use) and compared, pair by pair, with the reference (fine-tuning by
 * default) and with the best method (chosen on validation metrics when runs.csv has them). Per comparison:
 * the mean difference, its 95% paired-t and bootstrap intervals, the paired t-test's and the Wilcoxon
 * signed-rank test's p-values, and both Holm-adjusted over every comparison of the file (stats.h).
 *
 * DIR/compare.csv has the columns of cl_compare_columns, in that order. */
#ifndef CLREG_COMPARE_H
#define CLREG_COMPARE_H

#include <stdint.h>
#include <stdio.h>

/* compare.csv's columns, the one definition the writer and every reader use (NULL-terminated). */
extern const char *const cl_compare_columns[];
enum {
    CL_CMP_METRIC, CL_CMP_LABEL, CL_CMP_LAMBDA, CL_CMP_AGAINST, CL_CMP_ROLE, CL_CMP_AGAINST_LAMBDA, CL_CMP_N,
    CL_CMP_MEAN_DIFF, CL_CMP_T_LOW, CL_CMP_T_HIGH, CL_CMP_BOOT_LOW, CL_CMP_BOOT_HIGH, CL_CMP_P_T,
    CL_CMP_P_WILCOXON, CL_CMP_P_T_HOLM, CL_CMP_P_WILCOXON_HOLM, CL_CMP_SIGNIFICANT, CL_CMP_NCOLS
};

/* The metrics compare knows: runs.csv columns of these names (and val_<name> on a validation split). */
extern const char *const cl_compare_metrics[];
/* 1 when lower is better for the metric (forgetting, intransigence), 0 when higher is, -1 when unknown. */
int cl_compare_lower_better(const char *metric);

#define CL_COMPARE_BOOT_DEFAULT 10000
#define CL_COMPARE_ALPHA 0.05

typedef struct cl_compare_opts {
    const char *metric;    /* NULL: acc */
    const char *reference; /* NULL or "none": the label none, else the first label whose regularizer is none */
    int boot;              /* bootstrap resamples; 0: CL_COMPARE_BOOT_DEFAULT */
    uint64_t seed;         /* the bootstrap's seed */
} cl_compare_opts;

typedef struct cl_compare_row {
    char *label, *against;
    double lambda, against_lambda;
    int n;                 /* pairs used: (seed, order) present for both, both values finite */
    int nz;                /* of them, nonzero differences (what the Wilcoxon test ranks) */
    double mean_diff, t_low, t_high, boot_low, boot_high, p_t, p_wilcoxon, p_t_holm, p_wilcoxon_holm;
    int significant;       /* p_t_holm < 0.05 and p_wilcoxon_holm < 0.05 */
} cl_compare_row;

typedef struct cl_compare_result {
    char dir[4096];
    char metric[32];
    int lower_better;
    char *reference;       /* NULL: no reference in the directory */
    char *best;            /* NULL: no candidate with a finite mean */
    double best_mean;      /* the best's mean of chosen_on */
    char chosen_on[64];    /* the column the best was chosen by: val_<metric> or <metric> */
    int on_validation;     /* chosen_on is the validation metric */
    int has_val_column;    /* runs.csv has val_<metric> (possibly empty: a grid without a validation split) */
    int nlabels;
    int nrows;
    cl_compare_row *rows;
    int min_n, max_n;      /* over the rows */
    int boot;
    uint64_t seed;
} cl_compare_result;

/* The options alone (the metric's name, the resample count): 0, or -1 with a message naming the option. */
int cl_compare_check(const cl_compare_opts *o);

/* Read DIR/runs.csv and DIR/summary.csv, compute every comparison, and write DIR/compare.csv atomically.
 * -1 with one message (naming the file, line and column, or the option) on bad input; the caller holds
 * the directory's lock. */
int cl_compare(const char *dir, const cl_compare_opts *o, cl_compare_result *res);
void cl_compare_free(cl_compare_result *res);

/* The readable report: a header (metric and direction, reference, best method and what chose it, pairs),
 * the aligned table and the significance rule. */
void cl_compare_print(FILE *f, const cl_compare_result *res);
/* A warning when some row has too few pairs for the exact Wilcoxon test to reach 0.05 (2 / 2^n >= 0.05,
 * that is n <= 5), naming the smallest p and the pairs needed, also after Holm; "" when none. */
void cl_compare_warning(const cl_compare_result *res, char *out, size_t n);

#endif
