/* Finalizing a results directory: runs, matrix and curves sorted by run, intransigence filled in, and the
 * aggregated files the figures, `clreg compare` and `clreg report` read (means, standard deviations and 95%
 * confidence intervals over seeds and orders; the group each label is drawn at, chosen on validation data
 * when the grid holds some out). All the aggregation is here, in C; the gnuplot scripts only draw.
 *
 * The steps, in order (summarize() below): read the complete runs (read_runs) and their accuracy matrices
 * (read_matrices), intransigence against the upper bound of the same order and seed (fill_intransigence),
 * groups of runs by (label, params, lambda) in the grid's order (make_groups), their statistics
 * (group_stats), the group each label is drawn at (select_groups), then each file (write_summary, write_best,
 * write_tasks, write_curves), all replaced together, and the importance summaries when state was saved. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/quote.h"
#include "experiments/results.h"
#include "experiments/shard.h"
#include "experiments/stats.h"
#include "experiments/runner.h"
#include "experiments/table.h"
#include "regularizers/regularizer.h"

/* The per-run metrics summarized, in summary.csv's order: the test metrics, intransigence, and the same
 * metrics on validation data (NaN for a grid without a validation split). */
enum { M_ACC, M_BWT, M_FWT, M_FORGETTING, M_LEARNING, M_INTRANSIGENCE, M_VAL_ACC, NMETRIC = 11 };
static const char *const metric_names[NMETRIC] = {"acc",     "bwt",     "fwt",     "forgetting",     "learning",
                                                  "intransigence", "val_acc", "val_bwt", "val_fwt",
                                                  "val_forgetting", "val_learning"};

typedef struct runrec {
    cl_run_row row;    /* its strings point into runs.csv's table */
    int line_row;      /* its row in runs.csv */
    const char *lambda_text; /* lambda as written: groups are keyed by it */
    int joint;         /* its method is the upper bound (the registry's joint flag) */
    double m[NMETRIC];
    float *R, *V;      /* (tasks + 1) x tasks, NaN where missing: test and validation accuracy */
    int group;
} runrec;

typedef struct group {
    const char *label, *regularizer, *params, *lambda_text;
    double lambda;
    long first_run, tasks;
    int n, diverged, selected;
    const char *selected_on;  /* the metric the label's selection compared: "val_acc", "acc", or "chosen" */
    double mean[NMETRIC], std[NMETRIC], ci95[NMETRIC];
} group;

typedef struct summary {
    const char *dir;
    cl_results *res;
    const cl_summarize_opts *o;
    runrec *runs;
    int nr;
    long maxrun;
    runrec **byrun;    /* run number -> record (NULL: not summarized) */
    group *gs;
    int ng;
    int *gord;         /* groups in summary order */
} summary;

/* mean and sample standard deviation of the finite values of x[0..n) (std 0 for one value) */
static void mean_std(const double *x, int n, double *mean, double *std, int *count)
{
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) s += x[i], k++;
    *mean = k ? s / k : NAN;
    double v = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) v += (x[i] - *mean) * (x[i] - *mean);
    *std = k > 1 ? sqrt(v / (k - 1)) : (k == 1 ? 0.0 : NAN);
    if (count) *count = k;
}

typedef struct rowref {
    long run;
    int row;
} rowref;

static int cmp_rowref(const void *a, const void *b)
{
    const rowref *x = a, *y = b;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    return x->row - y->row;
}

/* Stage a table sorted by run (stable), replacing column `col` with values[row] when given. */
static int rewrite_sorted(cl_replace *rp, const cl_table *t, int col, const double *values)
{
    int rc_col = cl_table_col(t, "run");
    rowref *ord = cl_malloc(sizeof(rowref) * (t->nrows ? t->nrows : 1));
    for (int r = 0; r < t->nrows; r++) {
        ord[r].run = strtol(t->cells[r][rc_col], NULL, 10);
        ord[r].row = r;
    }
    qsort(ord, t->nrows, sizeof *ord, cmp_rowref);
    cl_buf b = {0};
    for (int c = 0; c < t->ncols; c++) cl_buf_str(&b, t->cols[c]);
    cl_buf_endrow(&b);
    for (int i = 0; i < t->nrows; i++) {
        int r = ord[i].row;
        for (int c = 0; c < t->ncols; c++) {
            if (c == col && values) cl_buf_num(&b, values[r]);
            else cl_buf_str(&b, t->cells[r][c]); /* written back exactly as read (quoted where needed) */
        }
        cl_buf_endrow(&b);
    }
    int rc = cl_replace_stage(rp, t->path, b.s, b.len);
    cl_buf_free(&b);
    free(ord);
    return rc;
}

static void group_key(cl_buf *b, const group *g)
{
    cl_buf_str(b, g->label);
    cl_buf_str(b, g->params);
    cl_buf_num(b, g->lambda);
    cl_buf_int(b, g->selected);
}

static int summarize(const char *dir, cl_results *res, const cl_summarize_opts *o);

/* Load and check DIR's results; 0 with res loaded when they can be summarized (whole, or partial asked). */
static int check(const char *dir, const cl_summarize_opts *o, cl_summarize_report *rep, cl_results *res)
{
    int ncells = o->ncells, m = 0;
    char command[1024] = "", q[300], why[900], path[4200];
    memset(rep, 0, sizeof *rep);
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (access(path, F_OK) != 0)
        return cl_fail("%s: no runs.csv: not a results directory, or no cell has finished yet", dir);
    if (!ncells && (m = cl_results_manifest(dir, &ncells, command, sizeof command)) < 0) return -1;
    /* a shard's directory holds part of a grid: its summaries are the merge's, or (partial) its own cells' */
    cl_shard sh;
    int nsh = ncells;
    unsigned char *want = NULL;
    int shard = cl_shard_read(dir, &sh, &nsh, &want);
    if (shard < 0) return -1;
    if (shard == 0 && !o->partial) {
        free(want);
        char parent[4200];
        snprintf(parent, sizeof parent, "%s", dir);
        char *slash = strrchr(parent, '/');
        if (slash && slash != parent) *slash = 0;
        else snprintf(parent, sizeof parent, ".");
        return cl_fail("%s holds shard %d/%d of a grid; its summaries come from merging every shard: clreg merge %s "
                       "(or summarize this shard's cells alone with --partial)", dir, sh.index, sh.count, parent);
    }
    if (shard == 0) ncells = nsh;
    if (cl_results_load_shard(res, dir, ncells, NULL, 0, want)) {
        free(want);
        return -1;
    }
    res->owns_want = want != NULL; /* released with res */
    if (!res->want) free(want);
    rep->ncells = ncells;
    rep->ncomplete = res->ncomplete;
    rep->nmissing = res->nmissing;
    rep->ndamaged = res->ndamaged;
    cl_results_describe(res, why, sizeof why);
    if (!why[0] && m == 1 && o->require_manifest && !o->partial) {
        cl_results_free(res);
        return cl_fail("%s/manifest.txt: missing; it records how many cells the grid has, so missing runs cannot be "
                       "told: rerun the grid into %s with clreg run to write it (finished cells are kept), or "
                       "summarize what is there with clreg summarize --partial", dir, dir);
    }
    if (why[0] && !o->partial) {
        /* the way back; the command that ran the grid helps to find its data (--data-path) again */
        char ran[400] = "";
        if (command[0]) snprintf(ran, sizeof ran, " (it ran as '%s')", cl_quote_n(q, sizeof q, command, 120));
        if (res->foreign)
            cl_fail("%s; these rows are not this grid's (another grid's results, or edited by hand): remove them, or "
                    "start over with clreg run --fresh", why);
        else
            cl_fail("%s; the results are incomplete or damaged: rerunning the grid into %s with clreg run repairs "
                    "them, keeping the finished cells%s; or summarize what is complete with clreg summarize --partial",
                    why, dir, ran);
        cl_results_free(res);
        return -1;
    }
    if (why[0]) snprintf(rep->note, sizeof rep->note, "left out: %s", why);
    else if (m == 1 && o->partial)
        snprintf(rep->note, sizeof rep->note, "%s/manifest.txt is missing, so runs missing at the end cannot be told",
                 dir);
    if (!res->ncomplete) {
        cl_results_free(res);
        return cl_fail("%s: no complete runs to summarize%s%s", dir, why[0] ? ": " : "", why);
    }
    return 0;
}

int cl_results_check(const char *dir, const cl_summarize_opts *o, cl_summarize_report *rep)
{
    cl_results res;
    if (check(dir, o, rep, &res)) return -1;
    cl_results_free(&res);
    return 0;
}

int cl_results_summarize(const char *dir, const cl_summarize_opts *o, cl_summarize_report *rep)
{
    cl_results res;
    if (check(dir, o, rep, &res)) return -1;
    int rc = summarize(dir, &res, o);
    cl_results_free(&res);
    return rc;
}

int cl_results_finalize(const char *dir, const char *const *select, int nselect)
{
    cl_summarize_opts o = {.select = select, .nselect = nselect};
    cl_summarize_report rep;
    return cl_results_summarize(dir, &o, &rep);
}

/* ---- the steps -------------------------------------------------------------------------------------------- */

/* The complete runs of res (every one, unless partial), each read whole from its runs.csv row. */
static int read_runs(summary *S)
{
    cl_table *rt = &S->res->runs;
    int crun = cl_table_col(rt, "run"), clam = cl_table_col(rt, "lambda"), rc = 0;
    S->runs = cl_calloc(rt->nrows ? rt->nrows : 1, sizeof *S->runs);
    for (int r = 0; r < rt->nrows && !rc; r++) {
        long run = strtol(rt->cells[r][crun], NULL, 10);
        if (!(run >= 1 && run <= S->res->nslots && S->res->status[run] == CL_RUN_COMPLETE && S->res->runs_row[run] == r))
            continue;
        runrec *x = &S->runs[S->nr++];
        x->line_row = r;
        if ((rc = cl_row_read(rt, r, cl_runs_schema, &x->row))) break;
        const cl_run_row *w = &x->row;
        const cl_reg_method *method = cl_reg_find(w->regularizer);
        x->lambda_text = rt->cells[r][clam];
        x->joint = method && cl_reg_method_joint(method);
        if (w->tasks < 1 || w->tasks > 100000) {
            rc = cl_fail("%s:%d: column 'tasks': expected a positive number of tasks", rt->path, rt->lines[r]);
            break;
        }
        double m[NMETRIC] = {w->acc, w->bwt, w->fwt, w->forgetting, w->learning, NAN, w->val_acc, w->val_bwt,
                             w->val_fwt, w->val_forgetting, w->val_learning};
        memcpy(x->m, m, sizeof m);
        size_t cells = (size_t)(w->tasks + 1) * (size_t)w->tasks;
        x->R = cl_malloc(sizeof(float) * cells);
        x->V = cl_malloc(sizeof(float) * cells);
        for (size_t i = 0; i < cells; i++) x->R[i] = x->V[i] = NAN;
        S->maxrun = w->run > S->maxrun ? w->run : S->maxrun;
    }
    S->byrun = cl_calloc((size_t)S->maxrun + 1, sizeof *S->byrun);
    for (int r = 0; r < S->nr && !rc; r++) S->byrun[S->runs[r].row.run] = &S->runs[r];
    return rc;
}

static int read_matrices(summary *S)
{
    cl_table *mt = &S->res->matrix;
    for (int r = 0; r < mt->nrows; r++) {
        cl_matrix_row e;
        if (cl_row_read(mt, r, cl_matrix_schema, &e)) return -1;
        runrec *x = e.run >= 1 && e.run <= S->maxrun ? S->byrun[e.run] : NULL;
        if (!x) continue; /* rows of a run not summarized (killed before it finished, or damaged) */
        long T = x->row.tasks;
        if (e.trained_task < 0 || e.trained_task > T || e.eval_task < 1 || e.eval_task > T)
            return cl_fail("%s:%d: task numbers %ld, %ld outside run %ld's %ld tasks", mt->path, mt->lines[r],
                           e.trained_task, e.eval_task, e.run, T);
        x->R[e.trained_task * T + (e.eval_task - 1)] = (float)e.accuracy;
        x->V[e.trained_task * T + (e.eval_task - 1)] = (float)e.val_accuracy;
    }
    return 0;
}

/* Intransigence (Chaudhry et al. 2018): how much less a run learned each task than the upper bound of the same
 * order and seed did, averaged over tasks. The upper bound is the method whose registry entry says so (the
 * joint flag), not a name. */
static void fill_intransigence(summary *S, double *intr)
{
    for (int r = 0; r < S->nr; r++) {
        runrec *x = &S->runs[r], *joint = NULL;
        for (int q = 0; q < S->nr; q++) {
            if (S->runs[q].joint && S->runs[q].row.order == x->row.order && S->runs[q].row.seed == x->row.seed &&
                S->runs[q].row.tasks == x->row.tasks)
                joint = &S->runs[q];
        }
        double v = NAN;
        long T = x->row.tasks;
        if (joint && !joint->row.diverged && !x->row.diverged) {
            double s = 0;
            for (long j = 1; j <= T; j++) s += (double)joint->R[j * T + j - 1] - (double)x->R[j * T + j - 1];
            v = s / T;
        }
        x->m[M_INTRANSIGENCE] = intr[x->line_row] = v;
    }
}

static int find_group(summary *S, const runrec *r)
{
    const char *lambda_text = r->lambda_text;
    for (int i = 0; i < S->ng; i++) {
        group *g = &S->gs[i];
        if (!strcmp(g->label, r->row.label) && !strcmp(g->params, r->row.params) && !strcmp(g->lambda_text, lambda_text))
            return i;
    }
    S->gs = cl_realloc(S->gs, sizeof *S->gs * (size_t)(S->ng + 1));
    group *g = &S->gs[S->ng];
    memset(g, 0, sizeof *g);
    g->label = r->row.label;
    g->regularizer = r->row.regularizer;
    g->params = r->row.params;
    g->lambda_text = lambda_text;
    g->lambda = r->row.lambda;
    g->first_run = r->row.run;
    g->tasks = r->row.tasks;
    return S->ng++;
}

/* Groups by (label, params, lambda text), ordered by label rank (the label's first run), params, lambda. */
static void make_groups(summary *S)
{
    rowref *ord = cl_malloc(sizeof(rowref) * (S->nr ? S->nr : 1));
    for (int r = 0; r < S->nr; r++) ord[r] = (rowref){S->runs[r].row.run, r};
    qsort(ord, S->nr, sizeof *ord, cmp_rowref);
    for (int i = 0; i < S->nr; i++) S->runs[ord[i].row].group = find_group(S, &S->runs[ord[i].row]);
    free(ord);
    group *gs = S->gs;
    int ng = S->ng, *gord = S->gord = cl_malloc(sizeof(int) * (ng ? ng : 1));
    for (int i = 0; i < ng; i++) gord[i] = i;
    for (int a = 1; a < ng; a++) /* insertion sort: few groups, and a comparator needing the label ranks */
        for (int b = a; b > 0; b--) {
            group *x = &gs[gord[b - 1]], *y = &gs[gord[b]];
            long rx = x->first_run, ry = y->first_run;
            for (int k = 0; k < ng; k++) {
                if (!strcmp(gs[k].label, x->label) && gs[k].first_run < rx) rx = gs[k].first_run;
                if (!strcmp(gs[k].label, y->label) && gs[k].first_run < ry) ry = gs[k].first_run;
            }
            int c = rx != ry ? (rx < ry ? -1 : 1) : strcmp(x->params, y->params);
            if (c == 0 && x->lambda != y->lambda) c = x->lambda < y->lambda ? -1 : 1;
            if (c <= 0) break;
            int t = gord[b - 1];
            gord[b - 1] = gord[b];
            gord[b] = t;
        }
}

/* Mean, standard deviation and 95% interval of every metric over each group's runs that did not diverge. */
static void group_stats(summary *S)
{
    double *vals = cl_malloc(sizeof(double) * (S->nr ? S->nr : 1));
    for (int gi = 0; gi < S->ng; gi++) {
        group *g = &S->gs[gi];
        for (int k = 0; k < NMETRIC; k++) {
            int n = 0, cnt;
            for (int r = 0; r < S->nr; r++)
                if (S->runs[r].group == gi && !S->runs[r].row.diverged) vals[n++] = S->runs[r].m[k];
            mean_std(vals, n, &g->mean[k], &g->std[k], &cnt);
            g->ci95[k] = cl_stats_t_halfwidth95(g->std[k], cnt); /* t(0.975, n-1) std / sqrt(n) */
            if (k == M_ACC) g->n = n;
        }
        for (int r = 0; r < S->nr; r++) g->diverged += S->runs[r].group == gi && S->runs[r].row.diverged;
    }
    free(vals);
}

/* The group each label's figures, tables and comparisons use: the best mean ACC on validation data when the
 * label's runs have some, else (a grid without a validation split) the best mean test ACC, which flatters
 * and is marked so (selected_on). On a tie, the group whose first run comes first. Exactly one per label,
 * always: when no group of a label has a finite mean (every cell diverged), its first group in summary
 * order (the smallest lambda) is selected, so the label still has its row in best.csv and its (nan) line in
 * the figures. --select LABEL=LAMBDA overrides. */
static int select_groups(summary *S)
{
    group *gs = S->gs;
    int ng = S->ng, *gord = S->gord;
    for (int gi = 0; gi < ng; gi++) gs[gi].selected = 0;
    for (int i = 0; i < ng; i++) {
        const char *label = gs[gord[i]].label;
        int seen = 0, first = -1, best = -1, on_val = 0;
        for (int k = 0; k < i && !seen; k++) seen = !strcmp(gs[gord[k]].label, label);
        if (seen) continue; /* the label was done at its first group */
        for (int k = i; k < ng; k++)
            if (!strcmp(gs[gord[k]].label, label) && isfinite(gs[gord[k]].mean[M_VAL_ACC])) on_val = 1;
        int m = on_val ? M_VAL_ACC : M_ACC;
        for (int k = i; k < ng; k++) {
            int h = gord[k];
            if (strcmp(gs[h].label, label)) continue;
            if (first < 0) first = h;
            if (isfinite(gs[h].mean[m]) &&
                (best < 0 || gs[h].mean[m] > gs[best].mean[m] || (gs[h].mean[m] == gs[best].mean[m] && h < best)))
                best = h;
        }
        gs[best >= 0 ? best : first].selected = 1;
        for (int k = i; k < ng; k++)
            if (!strcmp(gs[gord[k]].label, label)) gs[gord[k]].selected_on = metric_names[m];
    }
    for (int s = 0; s < S->o->nselect; s++) {
        const char *sel = S->o->select[s], *eq = strchr(sel, '=');
        if (!eq) return cl_fail("--select %s: expected label=lambda", sel);
        char label[256];
        snprintf(label, sizeof label, "%.*s", (int)(eq - sel), sel);
        double lam = strtod(eq + 1, NULL);
        int found = -1;
        for (int gi = 0; gi < ng; gi++)
            if (!strcmp(gs[gi].label, label) && fabs(gs[gi].lambda - lam) <= 1e-6 * fabs(lam)) found = gi;
        if (found < 0) return cl_fail("--select %s: no group of label '%s' has lambda %s", sel, label, eq + 1);
        for (int gi = 0; gi < ng; gi++)
            if (!strcmp(gs[gi].label, label)) gs[gi].selected = gi == found, gs[gi].selected_on = "chosen";
    }
    return 0;
}

static int stage(cl_replace *rp, const char *dir, const char *name, const cl_buf *b)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return cl_replace_stage(rp, path, b->s ? b->s : "", b->len);
}

/* summary.csv: one row per group; for every metric its mean, sample standard deviation and the half-width
 * of its 95% t interval over the group's n runs. */
static int write_summary(summary *S, cl_replace *rp)
{
    cl_buf b = {0};
    cl_buf_printf(&b, "label,regularizer,params,lambda,selected,selected_on,n,diverged");
    for (int k = 0; k < NMETRIC; k++)
        cl_buf_printf(&b, ",%s_mean,%s_std,%s_ci95", metric_names[k], metric_names[k], metric_names[k]);
    cl_buf_endrow(&b);
    for (int i = 0; i < S->ng; i++) {
        group *g = &S->gs[S->gord[i]];
        cl_buf_str(&b, g->label);
        cl_buf_str(&b, g->regularizer);
        cl_buf_str(&b, g->params);
        cl_buf_num(&b, g->lambda);
        cl_buf_int(&b, g->selected);
        cl_buf_str(&b, g->selected_on);
        cl_buf_int(&b, g->n);
        cl_buf_int(&b, g->diverged);
        for (int k = 0; k < NMETRIC; k++) cl_buf_num(&b, g->mean[k]), cl_buf_num(&b, g->std[k]), cl_buf_num(&b, g->ci95[k]);
        cl_buf_endrow(&b);
    }
    int rc = stage(rp, S->dir, "summary.csv", &b);
    cl_buf_free(&b);
    return rc;
}

/* best.csv: each label's selected group, what it was selected on, and its test ACC. */
static int write_best(summary *S, cl_replace *rp)
{
    cl_buf b = {0};
    cl_buf_printf(&b, "label,params,lambda,selected_on,val_acc_mean,acc_mean,acc_std,acc_ci95,n\n");
    for (int i = 0; i < S->ng; i++) {
        group *g = &S->gs[S->gord[i]];
        if (!g->selected) continue;
        cl_buf_str(&b, g->label), cl_buf_str(&b, g->params), cl_buf_num(&b, g->lambda), cl_buf_str(&b, g->selected_on);
        cl_buf_num(&b, g->mean[M_VAL_ACC]), cl_buf_num(&b, g->mean[M_ACC]), cl_buf_num(&b, g->std[M_ACC]);
        cl_buf_num(&b, g->ci95[M_ACC]), cl_buf_int(&b, g->n);
        cl_buf_endrow(&b);
    }
    int rc = stage(rp, S->dir, "best.csv", &b);
    cl_buf_free(&b);
    return rc;
}

/* summary_tasks.csv (average test accuracy over the tasks learned so far) and summary_matrix.csv (the mean
 * accuracy matrix), per group. */
static int write_tasks(summary *S, cl_replace *rp)
{
    cl_buf b = {0}, m2 = {0};
    double *vals = cl_malloc(sizeof(double) * (S->nr ? S->nr : 1));
    cl_buf_printf(&b, "label,params,lambda,selected,tasks_learned,avg_acc_mean,avg_acc_std,n\n");
    cl_buf_printf(&m2, "label,params,lambda,selected,trained_task,eval_task,acc_mean,acc_std,n\n");
    for (int i = 0; i < S->ng; i++) {
        int gi = S->gord[i];
        group *g = &S->gs[gi];
        long T = g->tasks;
        for (long t = 1; t <= T; t++) {
            int n = 0, cnt;
            for (int r = 0; r < S->nr; r++) {
                const runrec *x = &S->runs[r];
                if (x->group != gi || x->row.diverged || x->row.tasks != T) continue;
                double s = 0;
                for (long j = 1; j <= t; j++) s += x->R[t * T + j - 1];
                vals[n++] = s / t;
            }
            double mean, sd;
            mean_std(vals, n, &mean, &sd, &cnt);
            group_key(&b, g), cl_buf_int(&b, t), cl_buf_num(&b, mean), cl_buf_num(&b, sd), cl_buf_int(&b, cnt);
            cl_buf_endrow(&b);
        }
        for (long t = 0; t <= T; t++)
            for (long j = 1; j <= T; j++) {
                int n = 0, cnt;
                for (int r = 0; r < S->nr; r++) {
                    const runrec *x = &S->runs[r];
                    if (x->group == gi && !x->row.diverged && x->row.tasks == T) vals[n++] = x->R[t * T + j - 1];
                }
                double mean, sd;
                mean_std(vals, n, &mean, &sd, &cnt);
                group_key(&m2, g), cl_buf_int(&m2, t), cl_buf_int(&m2, j), cl_buf_num(&m2, mean), cl_buf_num(&m2, sd);
                cl_buf_int(&m2, cnt), cl_buf_endrow(&m2);
            }
    }
    int rc = stage(rp, S->dir, "summary_tasks.csv", &b);
    if (!rc) rc = stage(rp, S->dir, "summary_matrix.csv", &m2);
    cl_buf_free(&b);
    cl_buf_free(&m2);
    free(vals);
    return rc;
}

/* summary_curves.csv: per group, the points (x, trained_task, eval_task) of its runs. The curve rows of one
 * run define the points; every run of a group has the same points. */
static int write_curves(summary *S, cl_replace *rp)
{
    const cl_table *ct = &S->res->curves;
    long maxrun = S->maxrun;
    int rc = 0;
    cl_buf b = {0};
    cl_buf_printf(&b, "label,params,lambda,selected,x,trained_task,eval_task,acc_mean,acc_std,n\n");
    cl_curve_point *pts = cl_malloc(sizeof *pts * (ct->nrows ? ct->nrows : 1));
    rowref *cord = cl_malloc(sizeof(rowref) * (ct->nrows ? ct->nrows : 1));
    for (int r = 0; r < ct->nrows && !rc; r++) {
        rc = cl_row_read(ct, r, cl_curves_schema, &pts[r]);
        cord[r] = (rowref){pts[r].run, r};
    }
    qsort(cord, ct->nrows, sizeof *cord, cmp_rowref);
    long *start = cl_calloc((size_t)maxrun + 2, sizeof(long)), *count = cl_calloc((size_t)maxrun + 2, sizeof(long));
    for (int i = 0; i < ct->nrows && !rc; i++) {
        long run = cord[i].run;
        if (run < 1 || run > maxrun) continue;
        if (!count[run]) start[run] = i;
        count[run]++;
    }
    double *vals = cl_malloc(sizeof(double) * (S->nr ? S->nr : 1));
    for (int i = 0; i < S->ng && !rc; i++) {
        int gi = S->gord[i];
        const runrec *first = NULL;
        for (int r = 0; r < S->nr; r++) {
            const runrec *x = &S->runs[r];
            if (x->group == gi && !x->row.diverged && count[x->row.run] && (!first || x->row.run < first->row.run))
                first = x;
        }
        if (!first) continue;
        for (long p = 0; p < count[first->row.run]; p++) {
            const cl_curve_point *pt = &pts[cord[start[first->row.run] + p].row];
            int n = 0, cnt;
            for (int r = 0; r < S->nr; r++) {
                const runrec *x = &S->runs[r];
                if (x->group != gi || x->row.diverged || count[x->row.run] != count[first->row.run]) continue;
                vals[n++] = pts[cord[start[x->row.run] + p].row].accuracy;
            }
            double mean, sd;
            mean_std(vals, n, &mean, &sd, &cnt);
            group_key(&b, &S->gs[gi]);
            cl_buf_num(&b, pt->x), cl_buf_int(&b, pt->trained_task), cl_buf_int(&b, pt->eval_task);
            cl_buf_num(&b, mean), cl_buf_num(&b, sd), cl_buf_int(&b, cnt);
            cl_buf_endrow(&b);
        }
    }
    if (!rc) rc = stage(rp, S->dir, "summary_curves.csv", &b);
    free(vals);
    free(pts);
    free(cord);
    free(start);
    free(count);
    cl_buf_free(&b);
    return rc;
}

static int summarize(const char *dir, cl_results *res, const cl_summarize_opts *o)
{
    summary S = {.dir = dir, .res = res, .o = o};
    cl_table *rt = &res->runs;
    double *intr = cl_malloc(sizeof(double) * (rt->nrows ? rt->nrows : 1));
    for (int r = 0; r < rt->nrows; r++) intr[r] = NAN;
    int rc = read_runs(&S);
    if (!rc) rc = read_matrices(&S);
    if (!rc) fill_intransigence(&S, intr);
    if (!rc) make_groups(&S);
    if (!rc) group_stats(&S);
    if (!rc) rc = select_groups(&S);

    /* Every file below is staged, and all of them replace the old ones together at the end: a failure
     * (a full disk) leaves the directory's files as they were, never summaries that disagree. The results
     * themselves are rewritten (sorted, intransigence filled in) only when they are whole and the caller
     * finalizes them: a partial summary, or the figures' (keep_raw), leave them as they are. */
    cl_replace rp = {0};
    int raw = !o->partial && !o->keep_raw;
    if (!rc && raw) rc = rewrite_sorted(&rp, rt, cl_table_col(rt, "intransigence"), intr);
    if (!rc && raw) rc = rewrite_sorted(&rp, &res->matrix, -1, NULL);
    if (!rc && raw) rc = rewrite_sorted(&rp, &res->curves, -1, NULL);
    if (!rc) rc = write_summary(&S, &rp);
    if (!rc) rc = write_best(&S, &rp);
    if (!rc) rc = write_tasks(&S, &rp);
    if (!rc) rc = write_curves(&S, &rp);
    /* a failed stage has removed the staged files already */
    if (!rc) rc = cl_replace_commit(&rp);
    else cl_replace_abort(&rp);
    /* after the commit: they read the summary.csv just written (its selected groups) */
    if (!rc && cl_importance_summaries(dir) < 0) rc = -1;
    free(intr);
    for (int r = 0; r < S.nr; r++) free(S.runs[r].R), free(S.runs[r].V);
    free(S.runs);
    free(S.byrun);
    free(S.gs);
    free(S.gord);
    return rc ? -1 : 0;
}
