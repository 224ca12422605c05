/* Finalizing a results directory: runs, matrix and curves sorted by run, intransigence filled in, and the
 * aggregated files the figures draw from (means and standard deviations over seeds and orders). All the
 * aggregation is here, in C; the gnuplot scripts only draw. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/quote.h"
#include "experiments/results.h"
#include "experiments/shard.h"
#include "experiments/runner.h"
#include "experiments/table.h"

typedef struct runrec {
    long run;
    int row;           /* in runs.csv */
    const char *label, *regularizer, *params, *lambda_text;
    double lambda;
    long order, tasks;
    const char *seed;
    double m[6];       /* acc, bwt, fwt, forgetting, learning, intransigence */
    int diverged;
    float *R;          /* (tasks + 1) x tasks, NaN where missing */
    int group;
} runrec;

static const char *const metric_names[6] = {"acc", "bwt", "fwt", "forgetting", "learning", "intransigence"};

typedef struct group {
    const char *label, *regularizer, *params, *lambda_text;
    double lambda;
    long first_run, tasks;
    int n, diverged, selected;
    double mean[6], std[6];
} group;

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

static int find_group(group **gs, int *ng, const runrec *r)
{
    for (int i = 0; i < *ng; i++) {
        group *g = &(*gs)[i];
        if (!strcmp(g->label, r->label) && !strcmp(g->params, r->params) && !strcmp(g->lambda_text, r->lambda_text))
            return i;
    }
    *gs = cl_realloc(*gs, sizeof **gs * (*ng + 1));
    group *g = &(*gs)[*ng];
    memset(g, 0, sizeof *g);
    g->label = r->label;
    g->regularizer = r->regularizer;
    g->params = r->params;
    g->lambda_text = r->lambda_text;
    g->lambda = r->lambda;
    g->first_run = r->run;
    g->tasks = r->tasks;
    return (*ng)++;
}

static void group_key(cl_buf *b, const group *g)
{
    cl_buf_str(b, g->label);
    cl_buf_str(b, g->params);
    cl_buf_num(b, g->lambda);
    cl_buf_int(b, g->selected);
}

/* Summaries of the complete runs of res (all of its runs unless partial). */
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

static int summarize(const char *dir, cl_results *res, const cl_summarize_opts *o)
{
    const char *const *select = o->select;
    int nselect = o->nselect;
    char path[4200];
    cl_table rt = res->runs, mt = res->matrix, ct = res->curves;
    const char *pm = mt.path;
    /* the columns every summary needs; the check needed fewer */
    static const char *const rreq[] = {"params", "acc", "bwt", "fwt", "forgetting", "learning", "intransigence",
                                       "diverged", NULL};
    for (int k = 0; rreq[k]; k++)
        if (cl_table_col(&rt, rreq[k]) < 0) return cl_fail("%s: no column '%s' in the header", rt.path, rreq[k]);
    /* the runs summarized: the complete ones (every one, unless partial) */
    int rc = 0, nr = 0, crun = cl_table_col(&rt, "run");
    int *rows = cl_malloc(sizeof(int) * (rt.nrows ? rt.nrows : 1));
    for (int r = 0; r < rt.nrows; r++) {
        long run = strtol(rt.cells[r][crun], NULL, 10);
        if (run >= 1 && run <= res->nslots && res->status[run] == CL_RUN_COMPLETE && res->runs_row[run] == r)
            rows[nr++] = r;
    }
    runrec *runs = cl_calloc(nr ? nr : 1, sizeof *runs);
    long maxrun = 0;
    for (int k = 0; k < nr && !rc; k++) {
        runrec *x = &runs[k];
        int r = rows[k];
        long div;
        x->row = r;
        x->label = rt.cells[r][cl_table_col(&rt, "label")];
        x->regularizer = rt.cells[r][cl_table_col(&rt, "regularizer")];
        x->params = rt.cells[r][cl_table_col(&rt, "params")];
        x->lambda_text = rt.cells[r][cl_table_col(&rt, "lambda")];
        x->seed = rt.cells[r][cl_table_col(&rt, "seed")];
        rc = cl_table_int(&rt, r, cl_table_col(&rt, "run"), &x->run) ||
             cl_table_num(&rt, r, cl_table_col(&rt, "lambda"), &x->lambda) ||
             cl_table_int(&rt, r, cl_table_col(&rt, "tasks"), &x->tasks) ||
             cl_table_int(&rt, r, cl_table_col(&rt, "order"), &x->order) ||
             cl_table_int(&rt, r, cl_table_col(&rt, "diverged"), &div);
        for (int mk = 0; mk < 5 && !rc; mk++) rc = cl_table_num(&rt, r, cl_table_col(&rt, metric_names[mk]), &x->m[mk]);
        if (rc) break;
        if (x->tasks < 1 || x->tasks > 100000) {
            rc = cl_fail("%s:%d: column 'tasks': expected a positive number of tasks", rt.path, rt.lines[r]);
            break;
        }
        x->diverged = div != 0;
        x->R = cl_malloc(sizeof(float) * (x->tasks + 1) * x->tasks);
        for (long i = 0; i < (x->tasks + 1) * x->tasks; i++) x->R[i] = NAN;
        maxrun = x->run > maxrun ? x->run : maxrun;
    }
    /* run id -> record */
    runrec **byrun = cl_calloc((size_t)maxrun + 1, sizeof *byrun);
    for (int r = 0; r < nr && !rc; r++) byrun[runs[r].run] = &runs[r];
    for (int r = 0; r < mt.nrows && !rc; r++) {
        long run, i, j;
        double acc;
        rc = cl_table_int(&mt, r, cl_table_col(&mt, "run"), &run) ||
             cl_table_int(&mt, r, cl_table_col(&mt, "trained_task"), &i) ||
             cl_table_int(&mt, r, cl_table_col(&mt, "eval_task"), &j) ||
             cl_table_num(&mt, r, cl_table_col(&mt, "accuracy"), &acc);
        if (rc) break;
        runrec *x = run >= 1 && run <= maxrun ? byrun[run] : NULL;
        if (!x) continue; /* rows of a run not summarized (killed before it finished, or damaged) */
        if (i < 0 || i > x->tasks || j < 1 || j > x->tasks) {
            rc = cl_fail("%s:%d: task numbers %ld, %ld outside run %ld's %ld tasks", pm, mt.lines[r], i, j, run, x->tasks);
            break;
        }
        x->R[i * x->tasks + (j - 1)] = (float)acc;
    }

    /* intransigence against the joint cell of the same order and seed */
    double *intr = cl_malloc(sizeof(double) * (rt.nrows ? rt.nrows : 1));
    for (int r = 0; r < rt.nrows; r++) intr[r] = NAN;
    for (int r = 0; r < nr && !rc; r++) {
        runrec *x = &runs[r], *joint = NULL;
        for (int q = 0; q < nr; q++)
            if (!strcmp(runs[q].regularizer, "joint") && runs[q].order == x->order && !strcmp(runs[q].seed, x->seed) &&
                runs[q].tasks == x->tasks)
                joint = &runs[q];
        double v = NAN;
        if (joint && !joint->diverged && !x->diverged) {
            double s = 0;
            for (long j = 1; j <= x->tasks; j++)
                s += (double)joint->R[j * x->tasks + j - 1] - (double)x->R[j * x->tasks + j - 1];
            v = s / x->tasks;
        }
        x->m[5] = intr[x->row] = v;
    }

    /* Every file below is staged, and all of them replace the old ones together at the end: a failure
     * (a full disk) leaves the directory's files as they were, never summaries that disagree. The results
     * themselves are rewritten (sorted, intransigence filled in) only when they are whole: a partial
     * summary leaves them as they are, for the rerun that repairs them. */
    cl_replace rp = {0};
    if (!rc && !o->partial) rc = rewrite_sorted(&rp, &rt, cl_table_col(&rt, "intransigence"), intr);
    if (!rc && !o->partial) rc = rewrite_sorted(&rp, &mt, -1, NULL);
    if (!rc && !o->partial) rc = rewrite_sorted(&rp, &ct, -1, NULL);

    /* groups, in the grid's order of labels, then by params, then by lambda */
    group *gs = NULL;
    int ng = 0;
    rowref *ord = cl_malloc(sizeof(rowref) * (nr ? nr : 1));
    for (int r = 0; r < nr; r++) ord[r] = (rowref){runs[r].run, r};
    qsort(ord, nr, sizeof *ord, cmp_rowref);
    for (int i = 0; i < nr && !rc; i++) runs[ord[i].row].group = find_group(&gs, &ng, &runs[ord[i].row]);
    /* order: label rank (first run of the label), params, lambda */
    int *gord = cl_malloc(sizeof(int) * (ng ? ng : 1));
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

    /* metrics per group */
    double *vals = cl_malloc(sizeof(double) * (nr ? nr : 1));
    for (int gi = 0; gi < ng; gi++) {
        group *g = &gs[gi];
        for (int k = 0; k < 6; k++) {
            int n = 0;
            for (int r = 0; r < nr; r++)
                if (runs[r].group == gi && !runs[r].diverged) vals[n++] = runs[r].m[k];
            mean_std(vals, n, &g->mean[k], &g->std[k], NULL);
            if (k == 0) g->n = n;
        }
        for (int r = 0; r < nr; r++) g->diverged += runs[r].group == gi && runs[r].diverged;
    }
    /* The group each label's figures draw: the best mean ACC (on a tie, the group whose first run comes
     * first), unless chosen. Exactly one per label, always: when no group of a label has a finite mean
     * (every cell diverged), its first group in summary order (the smallest lambda) is selected, so the
     * label still has its row in best.csv and its (nan) line in the figures. */
    for (int gi = 0; gi < ng; gi++) gs[gi].selected = 0;
    for (int i = 0; i < ng; i++) {
        const char *label = gs[gord[i]].label;
        int seen = 0, first = -1, best = -1;
        for (int k = 0; k < i && !seen; k++) seen = !strcmp(gs[gord[k]].label, label);
        if (seen) continue; /* the label was done at its first group */
        for (int k = i; k < ng; k++) {
            int h = gord[k];
            if (strcmp(gs[h].label, label)) continue;
            if (first < 0) first = h;
            if (isfinite(gs[h].mean[0]) &&
                (best < 0 || gs[h].mean[0] > gs[best].mean[0] || (gs[h].mean[0] == gs[best].mean[0] && h < best)))
                best = h;
        }
        gs[best >= 0 ? best : first].selected = 1;
    }
    for (int s = 0; s < nselect && !rc; s++) {
        const char *eq = strchr(select[s], '=');
        if (!eq) {
            rc = cl_fail("--select %s: expected label=lambda", select[s]);
            break;
        }
        char label[256];
        snprintf(label, sizeof label, "%.*s", (int)(eq - select[s]), select[s]);
        double lam = strtod(eq + 1, NULL);
        int found = -1;
        for (int gi = 0; gi < ng; gi++)
            if (!strcmp(gs[gi].label, label) && fabs(gs[gi].lambda - lam) <= 1e-6 * fabs(lam)) found = gi;
        if (found < 0) {
            rc = cl_fail("--select %s: no group of label '%s' has lambda %s", select[s], label, eq + 1);
            break;
        }
        for (int gi = 0; gi < ng; gi++)
            if (!strcmp(gs[gi].label, label)) gs[gi].selected = gi == found;
    }

    cl_buf b = {0};
    if (!rc) { /* summary.csv */
        cl_buf_printf(&b, "label,regularizer,params,lambda,selected,n,diverged");
        for (int k = 0; k < 6; k++) cl_buf_printf(&b, ",%s_mean,%s_std", metric_names[k], metric_names[k]);
        cl_buf_endrow(&b);
        for (int i = 0; i < ng; i++) {
            group *g = &gs[gord[i]];
            cl_buf_str(&b, g->label);
            cl_buf_str(&b, g->regularizer);
            cl_buf_str(&b, g->params);
            cl_buf_num(&b, g->lambda);
            cl_buf_int(&b, g->selected);
            cl_buf_int(&b, g->n);
            cl_buf_int(&b, g->diverged);
            for (int k = 0; k < 6; k++) cl_buf_num(&b, g->mean[k]), cl_buf_num(&b, g->std[k]);
            cl_buf_endrow(&b);
        }
        snprintf(path, sizeof path, "%s/summary.csv", dir);
        rc = cl_replace_stage(&rp, path, b.s, b.len);
        b.len = 0;
    }
    if (!rc) { /* best.csv */
        cl_buf_printf(&b, "label,params,lambda,acc_mean\n");
        for (int i = 0; i < ng; i++) {
            group *g = &gs[gord[i]];
            if (!g->selected) continue;
            cl_buf_str(&b, g->label), cl_buf_str(&b, g->params), cl_buf_num(&b, g->lambda), cl_buf_num(&b, g->mean[0]);
            cl_buf_endrow(&b);
        }
        snprintf(path, sizeof path, "%s/best.csv", dir);
        rc = cl_replace_stage(&rp, path, b.s, b.len);
        b.len = 0;
    }
    if (!rc) { /* summary_tasks.csv and summary_matrix.csv */
        cl_buf m2 = {0};
        cl_buf_printf(&b, "label,params,lambda,selected,tasks_learned,avg_acc_mean,avg_acc_std,n\n");
        cl_buf_printf(&m2, "label,params,lambda,selected,trained_task,eval_task,acc_mean,acc_std,n\n");
        for (int i = 0; i < ng; i++) {
            int gi = gord[i];
            group *g = &gs[gi];
            long T = g->tasks;
            for (long t = 1; t <= T; t++) {
                int n = 0, cnt;
                for (int r = 0; r < nr; r++) {
                    if (runs[r].group != gi || runs[r].diverged || runs[r].tasks != T) continue;
                    double s = 0;
                    for (long j = 1; j <= t; j++) s += runs[r].R[t * T + j - 1];
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
                    for (int r = 0; r < nr; r++)
                        if (runs[r].group == gi && !runs[r].diverged && runs[r].tasks == T) vals[n++] = runs[r].R[t * T + j - 1];
                    double mean, sd;
                    mean_std(vals, n, &mean, &sd, &cnt);
                    group_key(&m2, g), cl_buf_int(&m2, t), cl_buf_int(&m2, j), cl_buf_num(&m2, mean), cl_buf_num(&m2, sd);
                    cl_buf_int(&m2, cnt), cl_buf_endrow(&m2);
                }
        }
        snprintf(path, sizeof path, "%s/summary_tasks.csv", dir);
        rc = cl_replace_stage(&rp, path, b.s, b.len);
        snprintf(path, sizeof path, "%s/summary_matrix.csv", dir);
        if (!rc) rc = cl_replace_stage(&rp, path, m2.s, m2.len);
        cl_buf_free(&m2);
        b.len = 0;
    }
    if (!rc) { /* summary_curves.csv: per group, the points (x, trained_task, eval_task) of its runs */
        int cx = cl_table_col(&ct, "x"), ctt = cl_table_col(&ct, "trained_task"), cet = cl_table_col(&ct, "eval_task"),
            cacc = cl_table_col(&ct, "accuracy");
        cl_buf_printf(&b, "label,params,lambda,selected,x,trained_task,eval_task,acc_mean,acc_std,n\n");
        /* the curve rows of one run define the points; every run of a group has the same points */
        rowref *cord = cl_malloc(sizeof(rowref) * (ct.nrows ? ct.nrows : 1));
        for (int r = 0; r < ct.nrows; r++) cord[r] = (rowref){strtol(ct.cells[r][0], NULL, 10), r};
        qsort(cord, ct.nrows, sizeof *cord, cmp_rowref);
        long *start = cl_calloc((size_t)maxrun + 2, sizeof(long)), *count = cl_calloc((size_t)maxrun + 2, sizeof(long));
        for (int i = 0; i < ct.nrows; i++) {
            long run = cord[i].run;
            if (run < 1 || run > maxrun) continue;
            if (!count[run]) start[run] = i;
            count[run]++;
        }
        for (int i = 0; i < ng && !rc; i++) {
            int gi = gord[i];
            runrec *first = NULL;
            for (int r = 0; r < nr; r++)
                if (runs[r].group == gi && !runs[r].diverged && count[runs[r].run] && (!first || runs[r].run < first->run))
                    first = &runs[r];
            if (!first) continue;
            for (long p = 0; p < count[first->run]; p++) {
                int row0 = cord[start[first->run] + p].row;
                int n = 0, cnt;
                for (int r = 0; r < nr; r++) {
                    if (runs[r].group != gi || runs[r].diverged || count[runs[r].run] != count[first->run]) continue;
                    double v;
                    if (cl_table_num(&ct, cord[start[runs[r].run] + p].row, cacc, &v)) {
                        rc = -1;
                        break;
                    }
                    vals[n++] = v;
                }
                if (rc) break;
                double mean, sd;
                mean_std(vals, n, &mean, &sd, &cnt);
                group_key(&b, &gs[gi]);
                cl_buf_str(&b, ct.cells[row0][cx]);
                cl_buf_str(&b, ct.cells[row0][ctt]);
                cl_buf_str(&b, ct.cells[row0][cet]);
                cl_buf_num(&b, mean), cl_buf_num(&b, sd), cl_buf_int(&b, cnt);
                cl_buf_endrow(&b);
            }
        }
        free(cord);
        free(start);
        free(count);
        snprintf(path, sizeof path, "%s/summary_curves.csv", dir);
        if (!rc) rc = cl_replace_stage(&rp, path, b.s, b.len);
    }
    /* a failed stage has removed the staged files already */
    if (!rc) rc = cl_replace_commit(&rp);
    else cl_replace_abort(&rp);
    cl_buf_free(&b);
    free(vals);
    free(gord);
    free(ord);
    free(gs);
    free(intr);
    for (int r = 0; r < nr; r++) free(runs[r].R);
    free(runs);
    free(rows);
    free(byrun);
    return rc ? -1 : 0;
}
