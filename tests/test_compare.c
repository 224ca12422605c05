/* clreg compare on results directories written by the test: pairing by (seed, order), diverged pairs,
 * the reference and the best method, compare.csv against numbers worked by hand, and bad input. */
#include "tests/testresults.h"

#include <math.h>
#include <sys/stat.h>

#include "core/error.h"
#include "experiments/compare.h"
#include "experiments/results.h"
#include "experiments/table.h"

/* One cell of the fabricated grid: its key, its ACC (forgetting is written as 1 - ACC, so the two metrics
 * rank the methods the same way in opposite directions) and an optional validation ACC. */
typedef struct cell {
    const char *label, *reg, *params;
    double lambda;
    int seed, order, diverged;
    double acc, val;
} cell;

/* Four keys (seed, order): (1,0), (1,1), (2,0), (3,0). ewc's cell at (3,0) diverged. ewc at lambda 1 is
 * a group summary.csv does not select: its cells (ACC 0.99) must never enter a comparison.
 *
 *            (1,0)  (1,1)  (2,0)  (3,0)   mean
 *   none     0.50   0.52   0.55   0.60    0.5425
 *   joint    0.95   0.94   0.96   0.99    0.96     (the upper bound: the highest mean, never the best)
 *   ewc 10   0.69   0.76   0.76   div     0.7367
 *   ewc 1    0.99   0.99   0.99   0.99             (not selected)
 *   mas 0.1  0.72   0.77   0.78   0.80    0.7675   (the best method on the test data)
 *
 * Validation ACC (val_acc) makes ewc the best instead: ewc 0.90, mas 0.80, none 0.5, joint 0.99. */
static const cell grid[] = {
    {"none", "none", "", NAN, 1, 0, 0, 0.50, 0.5},       {"none", "none", "", NAN, 1, 1, 0, 0.52, 0.5},
    {"none", "none", "", NAN, 2, 0, 0, 0.55, 0.5},       {"none", "none", "", NAN, 3, 0, 0, 0.60, 0.5},
    {"joint", "joint", "", NAN, 1, 0, 0, 0.95, 0.99},    {"joint", "joint", "", NAN, 1, 1, 0, 0.94, 0.99},
    {"joint", "joint", "", NAN, 2, 0, 0, 0.96, 0.99},    {"joint", "joint", "", NAN, 3, 0, 0, 0.99, 0.99},
    {"ewc", "ewc", "fisher=empirical", 1, 1, 0, 0, 0.99, 0.5}, {"ewc", "ewc", "fisher=empirical", 1, 1, 1, 0, 0.99, 0.5},
    {"ewc", "ewc", "fisher=empirical", 1, 2, 0, 0, 0.99, 0.5}, {"ewc", "ewc", "fisher=empirical", 1, 3, 0, 0, 0.99, 0.5},
    {"ewc", "ewc", "fisher=empirical", 10, 1, 0, 0, 0.69, 0.9}, {"ewc", "ewc", "fisher=empirical", 10, 1, 1, 0, 0.76, 0.9},
    {"ewc", "ewc", "fisher=empirical", 10, 2, 0, 0, 0.76, 0.9}, {"ewc", "ewc", "fisher=empirical", 10, 3, 0, 1, NAN, NAN},
    {"mas", "mas", "", 0.1, 1, 0, 0, 0.72, 0.8},         {"mas", "mas", "", 0.1, 1, 1, 0, 0.77, 0.8},
    {"mas", "mas", "", 0.1, 2, 0, 0, 0.78, 0.8},         {"mas", "mas", "", 0.1, 3, 0, 0, 0.80, 0.8},
};
#define NGRID ((int)(sizeof grid / sizeof *grid))

static const char *const summary_text = "label,regularizer,params,lambda,selected\n"
                                        "none,none,,nan,1\n"
                                        "joint,joint,,nan,1\n"
                                        "ewc,ewc,fisher=empirical,1,0\n"
                                        "ewc,ewc,fisher=empirical,10,1\n"
                                        "mas,mas,,0.1,1\n";

enum { VAL_NONE, VAL_VALUES, VAL_EMPTY };

/* runs.csv with clreg's columns (cl_runs_columns), the cells in the order perm gives (NULL: as listed), and
 * a val_acc column with the validation values, empty, or none at all. */
static void write_runs(const char *dir, const cell *cs, int n, const int *perm, int val)
{
    cl_buf b = {0};
    int has_val_col = 0;
    for (int c = 0; cl_runs_columns[c]; c++) {
        cl_buf_str(&b, cl_runs_columns[c]);
        has_val_col |= !strcmp(cl_runs_columns[c], "val_acc");
    }
    int add_val = val != VAL_NONE && !has_val_col;
    if (add_val) cl_buf_str(&b, "val_acc");
    cl_buf_endrow(&b);
    for (int k = 0; k < n; k++) {
        int i = perm ? perm[k] : k;
        const cell *x = &cs[i];
        double acc = x->diverged ? NAN : x->acc;
        for (int c = 0; cl_runs_columns[c]; c++) {
            const char *col = cl_runs_columns[c];
            if (!strcmp(col, "run")) cl_buf_int(&b, i + 1);
            else if (!strcmp(col, "label")) cl_buf_str(&b, x->label);
            else if (!strcmp(col, "regularizer")) cl_buf_str(&b, x->reg);
            else if (!strcmp(col, "params")) cl_buf_str(&b, x->params);
            else if (!strcmp(col, "lambda")) cl_buf_num(&b, x->lambda);
            else if (!strcmp(col, "seed")) cl_buf_int(&b, x->seed);
            else if (!strcmp(col, "order")) cl_buf_int(&b, x->order);
            else if (!strcmp(col, "diverged")) cl_buf_int(&b, x->diverged);
            else if (!strcmp(col, "acc") || !strcmp(col, "learning")) cl_buf_num(&b, acc);
            else if (!strcmp(col, "forgetting")) cl_buf_num(&b, 1 - acc);
            else if (!strcmp(col, "intransigence")) cl_buf_num(&b, NAN);
            else if (!strcmp(col, "val_acc")) {
                if (val == VAL_VALUES) cl_buf_num(&b, x->val);
                else cl_buf_str(&b, "");
            } else if (!strncmp(col, "val_", 4)) cl_buf_str(&b, "");
            else if (!strcmp(col, "dataset")) cl_buf_str(&b, "idx");
            else if (!strcmp(col, "order_tasks")) cl_buf_str(&b, x->order ? "2 1" : "1 2");
            else cl_buf_int(&b, 1);
        }
        if (add_val) {
            if (val == VAL_VALUES) cl_buf_num(&b, x->val);
            else cl_buf_str(&b, "");
        }
        cl_buf_endrow(&b);
    }
    char p[4200];
    snprintf(p, sizeof p, "%s/runs.csv", dir);
    tu_write_file(p, b.s, b.len);
    cl_buf_free(&b);
}

static void write_summary(const char *dir, const char *text)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    tu_write_file(p, text, strlen(text));
}

static char *setup(const int *perm, int val)
{
    char *d = tu_mkdtemp();
    write_runs(d, grid, NGRID, perm, val);
    write_summary(d, summary_text);
    return d;
}

static const cl_compare_row *find_row(const cl_compare_result *r, const char *label, const char *against)
{
    for (int i = 0; i < r->nrows; i++)
        if (!strcmp(r->rows[i].label, label) && !strcmp(r->rows[i].against, against)) return &r->rows[i];
    return NULL;
}

static int run_compare(const char *dir, const char *metric, const char *reference, cl_compare_result *r)
{
    cl_compare_opts o = {.metric = metric, .reference = reference, .seed = 1};
    int rc = cl_compare(dir, &o, r);
    if (rc) fprintf(stderr, "cl_compare: %s\n", cl_errmsg());
    return rc;
}

/* The rows against the reference (none) and the best (mas), worked by hand:
 *
 * ewc against none, pairs (1,0), (1,1), (2,0) ((3,0) dropped: ewc diverged there):
 *   d = 0.69 - 0.50, 0.76 - 0.52, 0.76 - 0.55 = 0.19, 0.24, 0.21; n = 3, mean = 0.64 / 3 = 0.213333
 *   deviations -0.023333, 0.026667, -0.003333; squares sum 0.00126667; sd = sqrt(0.00126667 / 2) = 0.0251661
 *   se = 0.0251661 / sqrt(3) = 0.0145297, t = 14.6826 on 2 df; t_{0.975, 2} = 4.302653
 *   CI 0.213333 +- 4.302653 * 0.0145297 = [0.150817, 0.275849]
 *   p: on 2 df the t CDF is 1/2 + t / (2 sqrt(2 + t^2)), so p = 1 - t / sqrt(2 + t^2) = 0.00460664
 *   Wilcoxon: 3 positive differences, exact p = 2 / 2^3 = 0.25
 * ewc against mas: d = 0.69 - 0.72, 0.76 - 0.77, 0.76 - 0.78 = -0.03, -0.01, -0.02; mean -0.02, sd 0.01,
 *   se 0.01 / sqrt(3) = 0.00577350, t = -2 sqrt(3) = -3.46410
 *   CI -0.02 +- 4.302653 * 0.0057735 = [-0.0448414, 0.00484138]
 *   p = 1 - 3.46410 / sqrt(14) = 1 - 0.925820 = 0.0741799; Wilcoxon 0.25
 * mas against none: d = 0.22, 0.25, 0.23, 0.20, mean 0.225; Wilcoxon 2 / 2^4 = 0.125
 * joint against none (0.45, 0.42, 0.41, 0.39) and against mas (0.23, 0.17, 0.18, 0.19): Wilcoxon 0.125 each
 *
 * Holm over the 5 rows. Wilcoxon: 0.125 x3, 0.25 x2 -> 5 * 0.125 = 0.625, then 4 * 0.125 = 0.5, 3 * 0.125,
 * 2 * 0.25, 1 * 0.25 are all below the running maximum: every adjusted value is 0.625. t: joint-none
 * (t = 33.4 on 3 df), mas-none (21.6), joint-mas (14.6 on 3 df, p ~ 7e-4, times 3 ~ 0.002) come first;
 * ewc-none is fourth: 2 * 0.00460664 = 0.00921329; ewc-mas last: 1 * 0.0741799, above the maximum before.
 * No row is significant (Wilcoxon). */
static void test_hand_worked(void **state)
{
    (void)state;
    char *d = setup(NULL, VAL_NONE);
    cl_compare_result r;
    assert_int_equal(run_compare(d, NULL, NULL, &r), 0);
    assert_string_equal(r.metric, "acc");
    assert_int_equal(r.lower_better, 0);
    assert_string_equal(r.reference, "none");
    /* joint has the highest mean, but an upper bound is never the best method */
    assert_string_equal(r.best, "mas");
    assert_string_equal(r.chosen_on, "acc");
    assert_int_equal(r.on_validation, 0);
    assert_float_equal(r.best_mean, 0.7675, 1e-12);
    /* rows: joint-none, joint-mas, ewc-none, ewc-mas, mas-none (none is the reference, mas the best) */
    assert_int_equal(r.nrows, 5);
    static const char *const order[5][2] = {{"joint", "none"}, {"joint", "mas"}, {"ewc", "none"}, {"ewc", "mas"},
                                            {"mas", "none"}};
    for (int i = 0; i < 5; i++) {
        assert_string_equal(r.rows[i].label, order[i][0]);
        assert_string_equal(r.rows[i].against, order[i][1]);
    }
    const cl_compare_row *en = find_row(&r, "ewc", "none"), *em = find_row(&r, "ewc", "mas");
    assert_non_null(en);
    assert_non_null(em);
    assert_int_equal(en->n, 3);
    assert_float_equal(en->lambda, 10, 0);
    assert_true(isnan(en->against_lambda));
    assert_float_equal(en->mean_diff, 0.213333, 1e-6);
    assert_float_equal(en->t_low, 0.150817, 1e-6);
    assert_float_equal(en->t_high, 0.275849, 1e-6);
    assert_float_equal(en->p_t, 0.00460664, 1e-8);
    assert_float_equal(en->p_wilcoxon, 0.25, 1e-15);
    assert_float_equal(en->p_t_holm, 0.00921329, 1e-8);
    assert_float_equal(en->p_wilcoxon_holm, 0.625, 1e-12);
    assert_int_equal(en->significant, 0);
    /* the bootstrap interval lies within the differences and holds their mean */
    assert_true(en->boot_low >= 0.19 - 1e-12 && en->boot_high <= 0.24 + 1e-12);
    assert_true(en->boot_low < en->mean_diff && en->mean_diff < en->boot_high);
    assert_int_equal(em->n, 3);
    assert_float_equal(em->against_lambda, 0.1, 1e-12);
    assert_float_equal(em->mean_diff, -0.02, 1e-9);
    assert_float_equal(em->t_low, -0.0448414, 1e-6);
    assert_float_equal(em->t_high, 0.00484138, 1e-6);
    assert_float_equal(em->p_t, 0.0741799, 1e-6);
    assert_float_equal(em->p_t_holm, 0.0741799, 1e-6);
    const cl_compare_row *mn = find_row(&r, "mas", "none");
    assert_int_equal(mn->n, 4);
    assert_float_equal(mn->mean_diff, 0.225, 1e-9);
    assert_float_equal(mn->p_wilcoxon, 0.125, 1e-15);
    for (int i = 0; i < r.nrows; i++) assert_float_equal(r.rows[i].p_wilcoxon_holm, 0.625, 1e-12);
    assert_int_equal(r.min_n, 3);
    assert_int_equal(r.max_n, 4);
    /* too few pairs for the Wilcoxon test to reach 0.05: said, with the true threshold */
    char warn[1024];
    cl_compare_warning(&r, warn, sizeof warn);
    assert_non_null(strstr(warn, "n = 3 pairs"));
    assert_non_null(strstr(warn, "0.25"));
    assert_non_null(strstr(warn, "n >= 6"));
    /* 5 comparisons: 5 * 2 / 2^n < 0.05 needs n >= 8 (5 * 2/128 = 0.078, 5 * 2/256 = 0.039) */
    assert_non_null(strstr(warn, "n >= 8"));
    cl_compare_free(&r);

    /* compare.csv: the columns of cl_compare_columns, the same numbers (%.6g) */
    char p[4200];
    snprintf(p, sizeof p, "%s/compare.csv", d);
    cl_table t;
    assert_int_equal(cl_table_read(&t, p, cl_compare_columns), 0);
    assert_int_equal(t.ncols, CL_CMP_NCOLS);
    for (int c = 0; c < CL_CMP_NCOLS; c++) assert_string_equal(t.cols[c], cl_compare_columns[c]);
    assert_int_equal(t.nrows, 5);
    assert_string_equal(t.cells[2][CL_CMP_METRIC], "acc");
    assert_string_equal(t.cells[2][CL_CMP_LABEL], "ewc");
    assert_string_equal(t.cells[2][CL_CMP_LAMBDA], "10");
    assert_string_equal(t.cells[2][CL_CMP_AGAINST], "none");
    assert_string_equal(t.cells[2][CL_CMP_ROLE], "reference");
    assert_string_equal(t.cells[2][CL_CMP_AGAINST_LAMBDA], "nan");
    assert_string_equal(t.cells[2][CL_CMP_N], "3");
    assert_string_equal(t.cells[2][CL_CMP_MEAN_DIFF], "0.213333");
    assert_string_equal(t.cells[2][CL_CMP_T_LOW], "0.150817");
    assert_string_equal(t.cells[2][CL_CMP_T_HIGH], "0.275849");
    assert_string_equal(t.cells[2][CL_CMP_P_T], "0.00460664");
    assert_string_equal(t.cells[2][CL_CMP_P_WILCOXON], "0.25");
    assert_string_equal(t.cells[2][CL_CMP_P_T_HOLM], "0.00921329");
    assert_string_equal(t.cells[2][CL_CMP_P_WILCOXON_HOLM], "0.625");
    assert_string_equal(t.cells[2][CL_CMP_SIGNIFICANT], "0");
    assert_string_equal(t.cells[3][CL_CMP_AGAINST_LAMBDA], "0.1");
    assert_string_equal(t.cells[3][CL_CMP_ROLE], "best");
    cl_table_free(&t);
    tu_rmdir(d);
}

/* The pairs come from (seed, order), not from row positions: runs.csv shuffled gives the same compare.csv,
 * byte for byte (bootstrap included: its draws run over the pairs in key order). */
static void test_shuffled_rows(void **state)
{
    (void)state;
    int perm[NGRID];
    for (int i = 0; i < NGRID; i++) perm[i] = (i * 7 + 3) % NGRID; /* 7 is prime to 20: a permutation */
    char *a = setup(NULL, VAL_NONE), *b = setup(perm, VAL_NONE);
    cl_compare_result r;
    assert_int_equal(run_compare(a, NULL, NULL, &r), 0);
    cl_compare_free(&r);
    assert_int_equal(run_compare(b, NULL, NULL, &r), 0);
    cl_compare_free(&r);
    char pa[4200], pb[4200];
    snprintf(pa, sizeof pa, "%s/compare.csv", a);
    snprintf(pb, sizeof pb, "%s/compare.csv", b);
    char *x = cl_read_file(pa, 1 << 20, 0), *y = cl_read_file(pb, 1 << 20, 0);
    assert_non_null(x);
    assert_non_null(y);
    assert_string_equal(x, y);
    /* and again in the same directory: the same bytes (a seeded bootstrap) */
    assert_int_equal(run_compare(a, NULL, NULL, &r), 0);
    cl_compare_free(&r);
    char *z = cl_read_file(pa, 1 << 20, 0);
    assert_string_equal(x, z);
    free(x), free(y), free(z);
    tu_rmdir(a);
    tu_rmdir(b);
}

/* forgetting = 1 - ACC: lower is better, the differences change sign, the best is still mas */
static void test_lower_is_better(void **state)
{
    (void)state;
    char *d = setup(NULL, VAL_NONE);
    cl_compare_result r;
    assert_int_equal(run_compare(d, "forgetting", NULL, &r), 0);
    assert_int_equal(r.lower_better, 1);
    assert_string_equal(r.best, "mas");
    assert_float_equal(r.best_mean, 1 - 0.7675, 1e-12);
    const cl_compare_row *en = find_row(&r, "ewc", "none");
    assert_float_equal(en->mean_diff, -0.213333, 1e-6);
    assert_float_equal(en->t_low, -0.275849, 1e-6);
    assert_float_equal(en->p_t, 0.00460664, 1e-8);
    cl_compare_free(&r);
    tu_rmdir(d);
}

/* With val_acc the best method is chosen on it (ewc), and said; empty val_acc (no validation split) falls
 * back to the test metric (mas). */
static void test_best_on_validation(void **state)
{
    (void)state;
    char *d = setup(NULL, VAL_VALUES);
    cl_compare_result r;
    assert_int_equal(run_compare(d, NULL, NULL, &r), 0);
    assert_string_equal(r.best, "ewc");
    assert_string_equal(r.chosen_on, "val_acc");
    assert_int_equal(r.on_validation, 1);
    assert_float_equal(r.best_mean, 0.9, 1e-12);
    /* the rows now go against ewc, with the same test-metric pairs: mas against ewc is -(ewc against mas) */
    const cl_compare_row *me = find_row(&r, "mas", "ewc");
    assert_non_null(me);
    assert_null(find_row(&r, "ewc", "mas"));
    assert_float_equal(me->mean_diff, 0.02, 1e-9);
    assert_float_equal(me->p_t, 0.0741799, 1e-6);
    cl_compare_free(&r);
    tu_rmdir(d);

    d = setup(NULL, VAL_EMPTY);
    assert_int_equal(run_compare(d, NULL, NULL, &r), 0);
    assert_string_equal(r.best, "mas");
    assert_string_equal(r.chosen_on, "acc");
    assert_int_equal(r.on_validation, 0);
    assert_int_equal(r.has_val_column, 1);
    cl_compare_free(&r);
    tu_rmdir(d);
}

/* The reference: asked for by label; by default the label none, else the first label whose method is none;
 * else none at all (only comparisons with the best). */
static void test_reference(void **state)
{
    (void)state;
    char *d = setup(NULL, VAL_NONE);
    cl_compare_result r;
    assert_int_equal(run_compare(d, NULL, "ewc", &r), 0);
    assert_string_equal(r.reference, "ewc");
    /* the best among none and mas (joint excluded): mas; rows none-ewc, none-mas, joint-ewc, joint-mas, mas-ewc */
    assert_string_equal(r.best, "mas");
    assert_int_equal(r.nrows, 5);
    assert_non_null(find_row(&r, "none", "ewc"));
    assert_non_null(find_row(&r, "none", "mas"));
    assert_null(find_row(&r, "ewc", "mas")); /* the reference against the best: mas-ewc, once */
    assert_non_null(find_row(&r, "mas", "ewc"));
    cl_compare_free(&r);
    tu_rmdir(d);

    /* fine-tuning under another label, and the upper bound too: the regularizer (the registry's joint
     * flag) decides, not the label's name */
    d = tu_mkdtemp();
    cell g2[NGRID];
    memcpy(g2, grid, sizeof g2);
    for (int i = 0; i < NGRID; i++) {
        if (!strcmp(g2[i].label, "none")) g2[i].label = "finetune";
        if (!strcmp(g2[i].label, "joint")) g2[i].label = "upper";
    }
    write_runs(d, g2, NGRID, NULL, VAL_NONE);
    write_summary(d, "label,regularizer,params,lambda,selected\n"
                     "upper,joint,,nan,1\n"
                     "finetune,none,,nan,1\n"
                     "ewc,ewc,fisher=empirical,10,1\n"
                     "mas,mas,,0.1,1\n");
    assert_int_equal(run_compare(d, NULL, NULL, &r), 0);
    assert_string_equal(r.reference, "finetune");
    assert_string_equal(r.best, "mas");
    assert_non_null(find_row(&r, "upper", "mas"));
    assert_float_equal(find_row(&r, "ewc", "finetune")->p_t, 0.00460664, 1e-8);
    cl_compare_free(&r);
    tu_rmdir(d);

    /* no fine-tuning at all: only the comparisons with the best (ewc-mas, joint-mas) */
    d = tu_mkdtemp();
    write_runs(d, grid, NGRID, NULL, VAL_NONE);
    write_summary(d, "label,regularizer,params,lambda,selected\n"
                     "joint,joint,,nan,1\n"
                     "ewc,ewc,fisher=empirical,10,1\n"
                     "mas,mas,,0.1,1\n");
    assert_int_equal(run_compare(d, NULL, NULL, &r), 0);
    assert_null(r.reference);
    assert_string_equal(r.best, "mas");
    assert_int_equal(r.nrows, 2);
    assert_non_null(find_row(&r, "joint", "mas"));
    assert_non_null(find_row(&r, "ewc", "mas"));
    /* Holm over 2 rows now: ewc-mas 0.0741799 is the larger, times 1 */
    assert_float_equal(find_row(&r, "ewc", "mas")->p_t_holm, 0.0741799, 1e-6);
    cl_compare_free(&r);
    char out[8192];
    char args[4400];
    snprintf(args, sizeof args, "compare %s", d);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "reference: none found"));
    assert_non_null(strstr(out, "only comparisons with the best method"));
    tu_rmdir(d);
}

/* Enough pairs: 8 seeds, ewc above fine-tuning in every one. Wilcoxon exact p = 2 / 2^8 = 0.0078125, the only
 * comparison (ewc is the best, and the reference is never compared with itself), so Holm leaves it:
 * significant. */
static void test_significant(void **state)
{
    (void)state;
    char *d = tu_mkdtemp();
    cell cs[16];
    for (int s = 0; s < 8; s++) {
        cs[s] = (cell){"none", "none", "", NAN, s + 1, 0, 0, 0.5 + 0.01 * s, NAN};
        cs[8 + s] = (cell){"ewc", "ewc", "", 10, s + 1, 0, 0, 0.6 + 0.011 * s + 0.001 * (s % 3), NAN};
    }
    write_runs(d, cs, 16, NULL, VAL_NONE);
    write_summary(d, "label,regularizer,params,lambda,selected\nnone,none,,nan,1\newc,ewc,,10,1\n");
    cl_compare_result r;
    assert_int_equal(run_compare(d, NULL, NULL, &r), 0);
    assert_int_equal(r.nrows, 1);
    assert_int_equal(r.rows[0].n, 8);
    assert_float_equal(r.rows[0].p_wilcoxon, 0.0078125, 1e-15);
    assert_float_equal(r.rows[0].p_wilcoxon_holm, 0.0078125, 1e-15);
    assert_true(r.rows[0].p_t_holm < 1e-6);
    assert_int_equal(r.rows[0].significant, 1);
    char warn[1024];
    cl_compare_warning(&r, warn, sizeof warn);
    assert_string_equal(warn, "");
    /* another bootstrap seed moves the bootstrap interval (8 pairs: 8^8 resamples, the quantiles are not
     * pinned to the extremes as with 3 pairs, where both seeds give the smallest and largest difference)
     * and nothing else */
    cl_compare_result r2;
    cl_compare_opts o2 = {.seed = 2};
    assert_int_equal(cl_compare(d, &o2, &r2), 0);
    assert_true(r2.rows[0].boot_low != r.rows[0].boot_low || r2.rows[0].boot_high != r.rows[0].boot_high);
    assert_memory_equal(&r2.rows[0].t_low, &r.rows[0].t_low, sizeof(double));
    assert_memory_equal(&r2.rows[0].p_t, &r.rows[0].p_t, sizeof(double));
    assert_true(r2.rows[0].boot_low < r2.rows[0].mean_diff && r2.rows[0].mean_diff < r2.rows[0].boot_high);
    cl_compare_free(&r2);
    cl_compare_free(&r);
    char out[8192], args[4400];
    snprintf(args, sizeof args, "compare %s --boot 2000 --seed 9", d);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    assert_non_null(strstr(out, "metric acc (higher is better)"));
    assert_non_null(strstr(out, "reference: none"));
    assert_non_null(strstr(out, "best method: ewc, by the mean acc"));
    assert_non_null(strstr(out, "pairs: n = 8"));
    assert_null(strstr(out, "warning"));
    tu_rmdir(d);
}

/* A real grid's results (tr_mixed_grid: none, joint, ewc in two Fisher variants, mas, si; 2 seeds): compare
 * reads what clreg run writes, takes each label at the group summary.csv selects, and its mean difference
 * equals the one the test computes from runs.csv itself, seed by seed. */
static void test_real_grid(void **state)
{
    (void)state;
    char *d = tu_mkdtemp(), data[1024], grid_path[1024], args[4096], out[16384], res[1100];
    tr_mixed_setup(d, data, grid_path, sizeof data);
    snprintf(res, sizeof res, "%s/res", d);
    snprintf(args, sizeof args, "run %s --data-path %s -o %s -j 2 --quiet", grid_path, data, res);
    if (tu_run_clreg(args, out, sizeof out) != 0) fail_msg("clreg %s: %s", args, out);
    snprintf(args, sizeof args, "compare %s --metric acc", res);
    if (tu_run_clreg(args, out, sizeof out) != 0) fail_msg("clreg %s: %s", args, out);
    assert_non_null(strstr(out, "reference: none"));
    assert_null(strstr(out, "best method: joint"));
    /* with 2 pairs the Wilcoxon test cannot reach 0.05 (2/2^2 = 0.5): warned */
    assert_non_null(strstr(out, "warning: with n = 2 pairs"));

    /* the test's own pairing: the selected mas group's cells minus none's, by seed (one order) */
    char p[4400];
    cl_table rt, st, ct;
    snprintf(p, sizeof p, "%s/runs.csv", res);
    assert_int_equal(cl_table_read(&rt, p, NULL), 0);
    snprintf(p, sizeof p, "%s/summary.csv", res);
    assert_int_equal(cl_table_read(&st, p, NULL), 0);
    snprintf(p, sizeof p, "%s/compare.csv", res);
    assert_int_equal(cl_table_read(&ct, p, cl_compare_columns), 0);
    const char *mas_lambda = NULL;
    for (int r = 0; r < st.nrows; r++)
        if (!strcmp(st.cells[r][cl_table_col(&st, "label")], "mas") && !strcmp(st.cells[r][cl_table_col(&st, "selected")], "1"))
            mas_lambda = st.cells[r][cl_table_col(&st, "lambda")];
    assert_non_null(mas_lambda);
    double acc[2][3] = {{NAN, NAN, NAN}, {NAN, NAN, NAN}}; /* [none, mas][seed] */
    for (int r = 0; r < rt.nrows; r++) {
        const char *label = rt.cells[r][cl_table_col(&rt, "label")];
        int seed = atoi(rt.cells[r][cl_table_col(&rt, "seed")]);
        int which = !strcmp(label, "none") ? 0 : !strcmp(label, "mas") ? 1 : -1;
        if (which < 0 || seed < 1 || seed > 2) continue;
        if (which == 1 && strcmp(rt.cells[r][cl_table_col(&rt, "lambda")], mas_lambda)) continue;
        acc[which][seed] = strtod(rt.cells[r][cl_table_col(&rt, "acc")], NULL);
    }
    double expect = ((acc[1][1] - acc[0][1]) + (acc[1][2] - acc[0][2])) / 2;
    assert_true(isfinite(expect));
    int found = 0;
    for (int r = 0; r < ct.nrows; r++) {
        if (strcmp(ct.cells[r][CL_CMP_LABEL], "mas") || strcmp(ct.cells[r][CL_CMP_AGAINST], "none")) continue;
        found = 1;
        assert_string_equal(ct.cells[r][CL_CMP_N], "2");
        assert_string_equal(ct.cells[r][CL_CMP_LAMBDA], mas_lambda);
        assert_float_equal(strtod(ct.cells[r][CL_CMP_MEAN_DIFF], NULL), expect, 1e-5);
    }
    assert_true(found);
    /* ewc has two groups (fisher=exact, empirical): one label, one row against none */
    int ewc_rows = 0;
    for (int r = 0; r < ct.nrows; r++)
        ewc_rows += !strcmp(ct.cells[r][CL_CMP_LABEL], "ewc") && !strcmp(ct.cells[r][CL_CMP_AGAINST], "none");
    assert_int_equal(ewc_rows, 1);
    cl_table_free(&rt);
    cl_table_free(&st);
    cl_table_free(&ct);
    tu_rmdir(d);
}

/* Each refusal: one line naming what is wrong, a non-zero status, no compare.csv, no crash. */
static void expect_refusal(const char *args, int status, const char *needle, const char *dir)
{
    char out[8192];
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != status || tu_count_lines(out) != 1 || !strstr(out, needle))
        fail_msg("clreg %s: status %d, expected %d with one line holding '%s'; got:\n%s", args, rc, status, needle, out);
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/compare.csv", dir);
    assert_int_not_equal(stat(p, &st), 0);
}

static void test_bad_input(void **state)
{
    (void)state;
    char *d = setup(NULL, VAL_NONE), args[4400];
    snprintf(args, sizeof args, "compare %s --metric forgeting", d);
    expect_refusal(args, 2, "did you mean 'forgetting'", d);
    snprintf(args, sizeof args, "compare %s --reference sgd", d);
    expect_refusal(args, 1, "--reference 'sgd': no such label", d);
    snprintf(args, sizeof args, "compare %s --boot 5", d);
    expect_refusal(args, 2, "--boot", d);
    snprintf(args, sizeof args, "compare %s --seed x", d);
    expect_refusal(args, 2, "--seed", d);
    snprintf(args, sizeof args, "compare %s --frobnicate", d);
    expect_refusal(args, 2, "unknown option", d);
    snprintf(args, sizeof args, "compare %s --metric", d);
    expect_refusal(args, 2, "--metric needs a value", d);
    snprintf(args, sizeof args, "compare %s/nowhere", d);
    expect_refusal(args, 1, "no such results directory", d);

    /* summary.csv missing: named, with the command that writes it */
    char p[4200];
    snprintf(p, sizeof p, "%s/summary.csv", d);
    unlink(p);
    snprintf(args, sizeof args, "compare %s", d);
    expect_refusal(args, 1, "summary.csv: missing", d);
    expect_refusal(args, 1, "clreg summarize", d);
    /* runs.csv missing */
    write_summary(d, summary_text);
    snprintf(p, sizeof p, "%s/runs.csv", d);
    unlink(p);
    expect_refusal(args, 1, "runs.csv: missing", d);
    /* a cell of runs.csv that is not a number: file, line and column */
    const char *bad = "label,params,lambda,seed,order,diverged,acc\nnone,,nan,1,0,0,abc\n";
    tu_write_file(p, bad, strlen(bad));
    expect_refusal(args, 1, "runs.csv:2: column 'acc': expected a number", d);
    /* two runs of one label at one (seed, order) */
    const char *dup = "label,params,lambda,seed,order,diverged,acc\nnone,,nan,1,0,0,0.5\nnone,,nan,1,0,0,0.6\n";
    tu_write_file(p, dup, strlen(dup));
    expect_refusal(args, 1, "runs.csv:3: a second run of label 'none' at seed 1, order 0 (the first is on line 2)", d);
    /* a required column missing */
    const char *nocol = "label,params,lambda,seed,diverged,acc\nnone,,nan,1,0,0.5\n";
    tu_write_file(p, nocol, strlen(nocol));
    expect_refusal(args, 1, "no column 'order'", d);
    /* summary.csv: a regularizer this clreg does not know, two selected groups of a label */
    write_runs(d, grid, NGRID, NULL, VAL_NONE);
    write_summary(d, "label,regularizer,params,lambda,selected\nnone,sgd,,nan,1\n");
    expect_refusal(args, 1, "summary.csv:2: column 'regularizer': unknown method 'sgd'", d);
    write_summary(d, "label,regularizer,params,lambda,selected\nnone,none,,nan,1\nnone,none,,nan,1\n");
    expect_refusal(args, 1, "summary.csv:3: label 'none' has a second selected group", d);
    write_summary(d, "label,regularizer,params,lambda,selected\nnone,none,,nan,2\n");
    expect_refusal(args, 1, "summary.csv:2: column 'selected': expected 0 or 1", d);
    tu_rmdir(d);
}

/* --help teaches the pairing, the columns, the tests and Holm; clreg's help lists the command. */
static void test_help(void **state)
{
    (void)state;
    static char out[65536];
    assert_int_equal(tu_run_clreg("compare --help", out, sizeof out), 0);
    static const char *const words[] = {"same seed and task order", "p_wilcoxon_holm", "Holm", "Wilcoxon signed-rank",
                                        "paired t", "bootstrap", "significant", "2/2^n", NULL};
    for (int i = 0; words[i]; i++)
        if (!strstr(out, words[i])) fail_msg("clreg compare --help does not say '%s'", words[i]);
    for (int c = 0; cl_compare_columns[c]; c++)
        if (!strstr(out, cl_compare_columns[c])) fail_msg("clreg compare --help misses column %s", cl_compare_columns[c]);
    assert_int_equal(tu_run_clreg("--help", out, sizeof out), 0);
    assert_non_null(strstr(out, "  compare "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_worked),     cmocka_unit_test(test_shuffled_rows),
        cmocka_unit_test(test_lower_is_better), cmocka_unit_test(test_best_on_validation),
        cmocka_unit_test(test_reference),       cmocka_unit_test(test_significant),
        cmocka_unit_test(test_real_grid),       cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_help),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
