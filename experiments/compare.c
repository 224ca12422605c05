/* clreg compare (compare.h): pairing the selected groups' runs by (seed, order), the statistics of each
 * comparison (stats.h), Holm over the file, compare.csv and the printed table. */
#include "experiments/compare.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/names.h"
#include "core/rng.h"
#include "experiments/stats.h"
#include "experiments/table.h"
#include "regularizers/regularizer.h"

const char *const cl_compare_columns[] = {
    "metric", "label", "lambda", "against", "role", "against_lambda", "n", "mean_diff", "t_low", "t_high", "boot_low",
    "boot_high", "p_t", "p_wilcoxon", "p_t_holm", "p_wilcoxon_holm", "significant", NULL};
_Static_assert(sizeof cl_compare_columns / sizeof *cl_compare_columns == CL_CMP_NCOLS + 1,
               "cl_compare_columns and the CL_CMP_ enum must list the same columns");

const char *const cl_compare_metrics[] = {"acc", "bwt", "fwt", "forgetting", "learning", "intransigence", NULL};

int cl_compare_lower_better(const char *metric)
{
    for (int k = 0; cl_compare_metrics[k]; k++)
        if (!strcmp(metric, cl_compare_metrics[k]))
            return !strcmp(metric, "forgetting") || !strcmp(metric, "intransigence");
    return -1;
}

/* One label at its selected group (a summary.csv row with selected = 1). */
typedef struct label {
    const char *name, *regularizer, *params;
    double lambda;
    int line;          /* in summary.csv */
    int joint;         /* an upper bound (the registry's joint flag): never the best method */
    int nruns;
    struct run *runs;  /* its runs, sorted by key */
    double test_mean, val_mean; /* over its runs with a finite value */
} label;

typedef struct run {
    const char *seed;
    long order;
    int line;          /* in runs.csv */
    double value, val; /* the metric (NaN when diverged), and val_<metric> (NaN when absent) */
} run;

/* Seeds are whole numbers in every grid clreg writes; compared as numbers then, so seed 10 comes after 9. */
static int cmp_seed(const char *a, const char *b)
{
    char *ea, *eb;
    errno = 0;
    long long x = strtoll(a, &ea, 10), y = strtoll(b, &eb, 10);
    if (!errno && ea != a && !*ea && eb != b && !*eb && x != y) return x < y ? -1 : 1;
    return strcmp(a, b);
}

static int cmp_run(const void *pa, const void *pb)
{
    const run *a = pa, *b = pb;
    int c = cmp_seed(a->seed, b->seed);
    if (c) return c;
    return (a->order > b->order) - (a->order < b->order);
}

static int same_lambda(double a, double b)
{
    if (isnan(a) || isnan(b)) return isnan(a) && isnan(b); /* none and joint have no lambda */
    return a == b || fabs(a - b) <= 1e-9 * fabs(b);
}

/* A cell as a number where an empty cell is missing (NaN): the validation columns are empty when the grid
 * has no validation split. */
static int num_or_empty(const cl_table *t, int r, int c, double *v)
{
    if (!t->cells[r][c][0]) {
        *v = NAN;
        return 0;
    }
    return cl_table_num(t, r, c, v);
}

static double finite_mean(const run *rs, int n, int val)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++) {
        double v = val ? rs[i].val : rs[i].value;
        if (isfinite(v)) s += v, k++;
    }
    return k ? s / k : NAN;
}

/* The differences of a against b over the pairs they share (a run of each at one (seed, order), both values
 * finite), in key order: the bootstrap's draws then do not depend on the order of runs.csv's rows. */
static int pair_diffs(const label *a, const label *b, double *d)
{
    int n = 0, i = 0, j = 0;
    while (i < a->nruns && j < b->nruns) {
        int c = cmp_run(&a->runs[i], &b->runs[j]);
        if (c < 0) i++;
        else if (c > 0) j++;
        else {
            if (isfinite(a->runs[i].value) && isfinite(b->runs[j].value)) d[n++] = a->runs[i].value - b->runs[j].value;
            i++, j++;
        }
    }
    return n;
}

static void compare_pair(cl_compare_row *row, const label *a, const label *b, const cl_compare_opts *o, double *d)
{
    memset(row, 0, sizeof *row);
    row->label = cl_strdup(a->name);
    row->against = cl_strdup(b->name);
    row->lambda = a->lambda;
    row->against_lambda = b->lambda;
    int n = row->n = pair_diffs(a, b, d);
    cl_stats_paired_t(d, n, &row->mean_diff, &row->t_low, &row->t_high, &row->p_t);
    /* each comparison draws from its own stream, named by its two labels: its interval does not depend on
     * which other comparisons the file holds */
    uint64_t key = cl_hash_mix(cl_hash_mix(cl_hash_str("compare bootstrap"), cl_hash_str(a->name)), cl_hash_str(b->name));
    cl_stats_bootstrap95(d, n, o->boot, o->seed, key, &row->boot_low, &row->boot_high);
    row->p_wilcoxon = cl_stats_wilcoxon(d, n, &row->nz);
}

static int find_label(const label *ls, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(ls[i].name, name)) return i;
    return -1;
}

static int read_summary(const char *path, cl_table *st, label **out, int *nout)
{
    static const char *const req[] = {"label", "regularizer", "params", "lambda", "selected", NULL};
    if (cl_table_read(st, path, req)) return -1;
    int cl = cl_table_col(st, "label"), cr = cl_table_col(st, "regularizer"), cp = cl_table_col(st, "params"),
        cla = cl_table_col(st, "lambda"), cs = cl_table_col(st, "selected");
    label *ls = cl_calloc((size_t)st->nrows + 1, sizeof *ls);
    int n = 0;
    for (int r = 0; r < st->nrows; r++) {
        long sel;
        if (cl_table_int(st, r, cs, &sel)) goto fail;
        if (sel != 0 && sel != 1) {
            cl_fail("%s:%d: column 'selected': expected 0 or 1, got '%.*s'", path, st->lines[r], CL_SHOW,
                    st->cells[r][cs]);
            goto fail;
        }
        if (!sel) continue;
        const char *name = st->cells[r][cl];
        int k = find_label(ls, n, name);
        if (k >= 0) {
            cl_fail("%s:%d: label '%.*s' has a second selected group (the first is on line %d); rerun clreg "
                    "summarize on the directory", path, st->lines[r], CL_SHOW, name, ls[k].line);
            goto fail;
        }
        label *L = &ls[n];
        L->name = name;
        L->regularizer = st->cells[r][cr];
        L->params = st->cells[r][cp];
        L->line = st->lines[r];
        if (cl_table_num(st, r, cla, &L->lambda)) goto fail;
        const cl_reg_method *m = cl_reg_find(L->regularizer);
        if (!m) {
            cl_fail("%s:%d: column 'regularizer': unknown method '%.*s' (results of another clreg?)", path,
                    st->lines[r], CL_SHOW, L->regularizer);
            goto fail;
        }
        L->joint = cl_reg_method_joint(m);
        n++;
    }
    /* a label of the directory without a selected group is a summary from before `selected`, or edited */
    for (int r = 0; r < st->nrows; r++)
        if (find_label(ls, n, st->cells[r][cl]) < 0) {
            cl_fail("%s:%d: label '%.*s' has no selected group; rerun clreg summarize on the directory", path,
                    st->lines[r], CL_SHOW, st->cells[r][cl]);
            goto fail;
        }
    *out = ls;
    *nout = n;
    return 0;
fail:
    free(ls);
    cl_table_free(st);
    return -1;
}

/* Each label's runs of its selected group, with the metric and (when runs.csv has it) val_<metric>. */
static int read_runs(const cl_table *rt, const char *metric, label *ls, int nl, int *has_val)
{
    int cl = cl_table_col(rt, "label"), cp = cl_table_col(rt, "params"), cla = cl_table_col(rt, "lambda"),
        cs = cl_table_col(rt, "seed"), co = cl_table_col(rt, "order"), cd = cl_table_col(rt, "diverged"),
        cm = cl_table_col(rt, metric);
    char valname[64];
    snprintf(valname, sizeof valname, "val_%s", metric);
    int cv = cl_table_col(rt, valname);
    *has_val = cv >= 0;
    /* room for every row of a label (selected or not): counted first, as a grid may have many labels and rows */
    int *count = cl_calloc((size_t)nl + 1, sizeof(int));
    for (int r = 0; r < rt->nrows; r++) {
        int k = find_label(ls, nl, rt->cells[r][cl]);
        if (k >= 0) count[k]++;
    }
    for (int i = 0; i < nl; i++) ls[i].runs = cl_calloc((size_t)count[i] + 1, sizeof(run));
    free(count);
    for (int r = 0; r < rt->nrows; r++) {
        int k = find_label(ls, nl, rt->cells[r][cl]);
        if (k < 0) continue; /* summary.csv decides the labels compared */
        label *L = &ls[k];
        double lambda;
        if (cl_table_num(rt, r, cla, &lambda)) return -1;
        if (strcmp(rt->cells[r][cp], L->params) || !same_lambda(lambda, L->lambda)) continue; /* not selected */
        run *x = &L->runs[L->nruns];
        long div;
        x->seed = rt->cells[r][cs];
        x->line = rt->lines[r];
        if (cl_table_int(rt, r, co, &x->order) || cl_table_int(rt, r, cd, &div) || cl_table_num(rt, r, cm, &x->value))
            return -1;
        x->val = NAN;
        if (cv >= 0 && num_or_empty(rt, r, cv, &x->val)) return -1;
        if (div) x->value = x->val = NAN; /* a diverged cell has no metric: its pairs are dropped */
        for (int q = 0; q < L->nruns; q++)
            if (!cmp_run(&L->runs[q], x))
                return cl_fail("%s:%d: a second run of label '%.*s' at seed %.*s, order %ld (the first is on line %d)",
                               rt->path, x->line, CL_SHOW, L->name, CL_SHOW, x->seed, x->order, L->runs[q].line);
        L->nruns++;
    }
    for (int i = 0; i < nl; i++) {
        qsort(ls[i].runs, (size_t)ls[i].nruns, sizeof(run), cmp_run);
        ls[i].test_mean = finite_mean(ls[i].runs, ls[i].nruns, 0);
        ls[i].val_mean = finite_mean(ls[i].runs, ls[i].nruns, 1);
    }
    return 0;
}

static int write_csv(const char *dir, const cl_compare_result *res)
{
    cl_buf b = {0};
    for (int c = 0; cl_compare_columns[c]; c++) cl_buf_str(&b, cl_compare_columns[c]);
    cl_buf_endrow(&b);
    for (int i = 0; i < res->nrows; i++) {
        const cl_compare_row *w = &res->rows[i];
        /* in the order of cl_compare_columns */
        cl_buf_str(&b, res->metric);
        cl_buf_str(&b, w->label);
        cl_buf_num(&b, w->lambda);
        cl_buf_str(&b, w->against);
        /* which comparison this is, so no reader has to work out which `against` is the best */
        cl_buf_str(&b, res->reference && !strcmp(w->against, res->reference) ? "reference" : "best");
        cl_buf_num(&b, w->against_lambda);
        cl_buf_int(&b, w->n);
        cl_buf_num(&b, w->mean_diff);
        cl_buf_num(&b, w->t_low);
        cl_buf_num(&b, w->t_high);
        cl_buf_num(&b, w->boot_low);
        cl_buf_num(&b, w->boot_high);
        cl_buf_num(&b, w->p_t);
        cl_buf_num(&b, w->p_wilcoxon);
        cl_buf_num(&b, w->p_t_holm);
        cl_buf_num(&b, w->p_wilcoxon_holm);
        cl_buf_int(&b, w->significant);
        cl_buf_endrow(&b);
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/compare.csv", dir);
    cl_replace rp = {0};
    int rc = cl_replace_stage(&rp, path, b.s, b.len);
    if (!rc) rc = cl_replace_commit(&rp); /* a failed stage has removed its file already */
    cl_buf_free(&b);
    return rc;
}

int cl_compare_check(const cl_compare_opts *o)
{
    const char *metric = o->metric ? o->metric : "acc";
    if (cl_compare_lower_better(metric) < 0) {
        const char *near = cl_closest_name(metric, cl_compare_metrics);
        char hint[64] = "";
        if (near) snprintf(hint, sizeof hint, "did you mean '%s'? ", near);
        return cl_fail("--metric '%s': unknown metric; %s(one of: acc, bwt, fwt, forgetting, learning, intransigence)",
                       cl_quote(metric), hint);
    }
    if (o->boot && (o->boot < 100 || o->boot > 10000000))
        return cl_fail("--boot %d: expected between 100 and 10000000 resamples (default %d)", o->boot,
                       CL_COMPARE_BOOT_DEFAULT);
    return 0;
}

int cl_compare(const char *dir, const cl_compare_opts *o_in, cl_compare_result *res)
{
    memset(res, 0, sizeof *res);
    cl_compare_opts o = *o_in;
    if (!o.metric) o.metric = "acc";
    if (!o.boot) o.boot = CL_COMPARE_BOOT_DEFAULT;
    snprintf(res->dir, sizeof res->dir, "%s", dir);
    if (cl_compare_check(&o)) return -1;
    int lower = cl_compare_lower_better(o.metric);
    snprintf(res->metric, sizeof res->metric, "%s", o.metric);
    res->lower_better = lower;
    res->boot = o.boot;
    res->seed = o.seed;

    char rpath[4200], spath[4200];
    snprintf(rpath, sizeof rpath, "%s/runs.csv", dir);
    snprintf(spath, sizeof spath, "%s/summary.csv", dir);
    if (access(rpath, F_OK) != 0)
        return cl_fail("%s: missing: not a results directory, or no cell has finished yet (clreg run GRID.ini -o %s "
                       "writes it)", cl_quote_path(rpath), cl_quote_path(dir));
    if (access(spath, F_OK) != 0)
        return cl_fail("%s: missing: compare takes each label at the group the summaries select; write it with "
                       "clreg summarize %s", cl_quote_path(spath), cl_quote_path(dir));
    cl_table st, rt;
    label *ls = NULL;
    int nl = 0, has_val = 0, rc = 0;
    if (read_summary(spath, &st, &ls, &nl)) return -1;
    const char *rreq[] = {"label", "params", "lambda", "seed", "order", "diverged", o.metric, NULL};
    if (cl_table_read(&rt, rpath, rreq)) {
        free(ls);
        cl_table_free(&st);
        return -1;
    }
    rc = read_runs(&rt, o.metric, ls, nl, &has_val);
    res->nlabels = nl;

    /* the reference: the label asked for; by default (or asked for "none") the label none, else the first
     * label (in summary order) whose method is none */
    int ref = -1;
    if (!rc && o.reference && strcmp(o.reference, "none")) {
        ref = find_label(ls, nl, o.reference);
        if (ref < 0) {
            cl_buf names = {0};
            for (int i = 0; i < nl; i++) cl_buf_printf(&names, "%s%s", i ? ", " : "", ls[i].name);
            rc = cl_fail("--reference '%s': no such label in %s (labels: %s)", cl_quote(o.reference),
                         cl_quote_path(spath), names.s ? names.s : "none");
            cl_buf_free(&names);
        }
    } else if (!rc) {
        ref = find_label(ls, nl, "none");
        for (int i = 0; i < nl && ref < 0; i++)
            if (!strcmp(ls[i].regularizer, "none")) ref = i;
    }

    /* the best method: not the reference, not an upper bound; chosen on the validation metric when every
     * candidate has one (mixing validation and test means would compare unlike numbers), else on the test
     * metric, and the output says which */
    int best = -1, on_val = has_val;
    for (int i = 0; i < nl && !rc && on_val; i++)
        if (i != ref && !ls[i].joint && !isfinite(ls[i].val_mean)) on_val = 0;
    int ncand = 0;
    for (int i = 0; i < nl && !rc; i++) {
        if (i == ref || ls[i].joint) continue;
        ncand++;
        double v = on_val ? ls[i].val_mean : ls[i].test_mean;
        double bv = best >= 0 ? (on_val ? ls[best].val_mean : ls[best].test_mean) : NAN;
        if (!isfinite(v)) continue;
        if (best < 0 || (lower ? v < bv : v > bv)) best = i; /* a tie keeps the earlier label */
    }
    if (ncand == 0) on_val = has_val; /* nothing was chosen; say what would have been used */
    res->on_validation = on_val;
    res->has_val_column = has_val;
    snprintf(res->chosen_on, sizeof res->chosen_on, "%s%s", on_val ? "val_" : "", o.metric);
    if (!rc && ref >= 0) res->reference = cl_strdup(ls[ref].name);
    if (!rc && best >= 0) {
        res->best = cl_strdup(ls[best].name);
        res->best_mean = on_val ? ls[best].val_mean : ls[best].test_mean;
    }

    /* the rows: each label against the reference, then against the best. The reference's row against the
     * best is the best's row against the reference with the sign turned; it is written once (as the best's),
     * so Holm does not count one comparison twice. */
    double *d = cl_malloc(sizeof(double) * ((size_t)rt.nrows + 1));
    if (!rc) res->rows = cl_calloc((size_t)2 * nl + 1, sizeof *res->rows);
    for (int i = 0; i < nl && !rc; i++) {
        if (ref >= 0 && i != ref) compare_pair(&res->rows[res->nrows++], &ls[i], &ls[ref], &o, d);
        if (best >= 0 && i != best && i != ref) compare_pair(&res->rows[res->nrows++], &ls[i], &ls[best], &o, d);
    }
    free(d);
    if (!rc) {
        double *pt = cl_malloc(sizeof(double) * ((size_t)res->nrows + 1)),
               *pw = cl_malloc(sizeof(double) * ((size_t)res->nrows + 1));
        for (int i = 0; i < res->nrows; i++) pt[i] = res->rows[i].p_t, pw[i] = res->rows[i].p_wilcoxon;
        cl_stats_holm(pt, res->nrows, pt);
        cl_stats_holm(pw, res->nrows, pw);
        res->min_n = res->nrows ? res->rows[0].n : 0;
        for (int i = 0; i < res->nrows; i++) {
            cl_compare_row *w = &res->rows[i];
            w->p_t_holm = pt[i];
            w->p_wilcoxon_holm = pw[i];
            /* NaN compares false: a comparison without a p-value is never significant */
            w->significant = w->p_t_holm < CL_COMPARE_ALPHA && w->p_wilcoxon_holm < CL_COMPARE_ALPHA;
            if (w->n < res->min_n) res->min_n = w->n;
            if (w->n > res->max_n) res->max_n = w->n;
        }
        free(pt);
        free(pw);
        rc = write_csv(dir, res);
    }
    for (int i = 0; i < nl; i++) free(ls[i].runs);
    free(ls);
    /* the result keeps copies of every string it needs: the tables go */
    cl_table_free(&rt);
    cl_table_free(&st);
    if (rc) cl_compare_free(res);
    return rc;
}

void cl_compare_free(cl_compare_result *res)
{
    for (int i = 0; i < res->nrows; i++) free(res->rows[i].label), free(res->rows[i].against);
    free(res->rows);
    free(res->reference);
    free(res->best);
    memset(res, 0, sizeof *res);
}

/* %.4f, or "nan"; a p-value below 1e-4 as %.1e so it does not print as 0 */
static void fmt_num(char *s, size_t n, double v, int p)
{
    if (!isfinite(v)) snprintf(s, n, "nan");
    else if (p && v < 1e-4 && v > 0) snprintf(s, n, "%.1e", v);
    else snprintf(s, n, "%.4f", v);
}

static void fmt_ci(char *s, size_t n, double lo, double hi)
{
    if (!isfinite(lo) || !isfinite(hi)) snprintf(s, n, "nan");
    else snprintf(s, n, "[%+.4f, %+.4f]", lo, hi);
}

void cl_compare_print(FILE *f, const cl_compare_result *res)
{
    fprintf(f, "%s: metric %s (%s is better); mean_diff = label - against, over pairs of cells with the same "
               "seed and task order\n",
            res->dir, res->metric, res->lower_better ? "lower" : "higher");
    if (res->reference) fprintf(f, "reference: %s\n", res->reference);
    else
        fprintf(f, "reference: none found (no label 'none' and no label whose regularizer is none): only "
                   "comparisons with the best method\n");
    if (res->best)
        fprintf(f, "best method: %s, by the mean %s of its selected group (%.4f), %s\n", res->best, res->chosen_on,
                res->best_mean,
                res->on_validation    ? "on the validation split"
                : res->has_val_column ? "on the test data: val_ values are missing for some candidate (no validation split)"
                                      : "on the test data: runs.csv has no validation metrics");
    else fprintf(f, "best method: none (no label besides the reference and the upper bounds has a finite mean)\n");
    fprintf(f, "pairs: n = %d", res->min_n);
    if (res->max_n != res->min_n) fprintf(f, " to %d", res->max_n);
    fprintf(f, " per comparison; a pair with a diverged cell or a missing value is dropped\n\n");
    if (!res->nrows) {
        fprintf(f, "nothing to compare: a single label\n");
        return;
    }
    int wl = 5, wa = 7;
    for (int i = 0; i < res->nrows; i++) {
        int a = (int)strlen(res->rows[i].label), b = (int)strlen(res->rows[i].against);
        wl = a > wl ? a : wl;
        wa = b > wa ? b : wa;
    }
    wl = wl > 40 ? 40 : wl;
    wa = wa > 40 ? 40 : wa;
    fprintf(f, "%-*s %-10s %-*s %4s %9s  %-20s  %-20s  %8s %8s %8s %8s  %s\n", wl, "label", "lambda", wa, "against",
            "n", "mean_diff", "t 95% CI", "bootstrap 95% CI", "p_t", "p_wilc", "p_t_holm", "p_w_holm", "sig");
    for (int i = 0; i < res->nrows; i++) {
        const cl_compare_row *w = &res->rows[i];
        char lam[32], md[32], tci[64], bci[64], p1[32], p2[32], p3[32], p4[32];
        if (isfinite(w->lambda)) snprintf(lam, sizeof lam, "%g", w->lambda);
        else snprintf(lam, sizeof lam, "-");
        if (isfinite(w->mean_diff)) snprintf(md, sizeof md, "%+.4f", w->mean_diff);
        else snprintf(md, sizeof md, "nan");
        fmt_ci(tci, sizeof tci, w->t_low, w->t_high);
        fmt_ci(bci, sizeof bci, w->boot_low, w->boot_high);
        fmt_num(p1, sizeof p1, w->p_t, 1);
        fmt_num(p2, sizeof p2, w->p_wilcoxon, 1);
        fmt_num(p3, sizeof p3, w->p_t_holm, 1);
        fmt_num(p4, sizeof p4, w->p_wilcoxon_holm, 1);
        fprintf(f, "%-*.*s %-10s %-*.*s %4d %9s  %-20s  %-20s  %8s %8s %8s %8s  %s\n", wl, wl, w->label, lam, wa, wa,
                w->against, w->n, md, tci, bci, p1, p2, p3, p4, w->significant ? "*" : "");
    }
    fprintf(f, "\n* significant: p_t_holm < 0.05 and p_wilcoxon_holm < 0.05 (Holm over the %d comparisons, each test "
               "separately)\n", res->nrows);
}

void cl_compare_warning(const cl_compare_result *res, char *out, size_t n)
{
    out[0] = 0;
    int small = -1;
    for (int i = 0; i < res->nrows; i++)
        if (cl_stats_wilcoxon_min_p(res->rows[i].n) >= CL_COMPARE_ALPHA || res->rows[i].n < 1)
            if (small < 0 || res->rows[i].n < small) small = res->rows[i].n;
    if (small < 0) return;
    /* the pairs the exact test needs: 2 / 2^n < 0.05, and after Holm over m comparisons, m * 2 / 2^n < 0.05
     * for the most significant one */
    int need = 1, need_holm = 1, m = res->nrows;
    while (cl_stats_wilcoxon_min_p(need) >= CL_COMPARE_ALPHA) need++;
    while (m * cl_stats_wilcoxon_min_p(need_holm) >= CL_COMPARE_ALPHA) need_holm++;
    if (small >= 1)
        snprintf(out, n, "with n = %d pairs the exact Wilcoxon test's smallest two-sided p is %g (2/2^%d): it cannot "
                 "reach 0.05, so those comparisons are never significant; 0.05 needs n >= %d pairs, and after Holm "
                 "over these %d comparisons n >= %d (zero differences, dropped by the test, count against n)",
                 small, cl_stats_wilcoxon_min_p(small), small, need, m, need_holm);
    else
        snprintf(out, n, "a comparison has no pairs (no (seed, order) with a finite value for both labels); 0.05 "
                 "needs n >= %d pairs for the Wilcoxon test, and after Holm over these %d comparisons n >= %d",
                 need, m, need_holm);
}
