/* Finalizing a results directory: runs, matrix and curves sorted by run, intransigence filled in, and the
 * aggregated files the figures draw from (means and standard deviations over seeds and orders). All the
 * aggregation is here, in C; the gnuplot scripts only draw. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
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

/* Rewrite a table sorted by run (stable), replacing column `col` with values[row] when given. */
static int rewrite_sorted(const cl_table *t, const char *path, int col, const double *values)
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
    int rc = cl_write_file_atomic(path, b.s, b.len);
    cl_buf_free(&b);
    free(ord);
    return rc;
}

/* The record of run id `run` through ord (the records sorted by run id), or NULL. Run ids are looked up, not
 * used as indices: in a damaged or hand-edited runs.csv they can be any number. */
static runrec *run_by_id(runrec *runs, const rowref *ord, int nr, long run)
{
    int lo = 0, hi = nr - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (ord[mid].run == run) return &runs[ord[mid].row];
        if (ord[mid].run < run) lo = mid + 1;
        else hi = mid - 1;
    }
    return NULL;
}

/* A run's accuracy matrix, (tasks + 1) x tasks, all NaN. Every run writes its whole matrix to matrix.csv before
 * its runs.csv row, so the runs together never need more entries than matrix.csv has rows; more means damaged
 * files, and a claimed task count must not decide how much memory is taken. */
static int alloc_matrix(runrec *x, long *entries, int matrix_rows, const char *pr, const char *pm)
{
    long n = (x->tasks + 1) * x->tasks;
    if (n > matrix_rows - *entries)
        return cl_fail("%s: its runs need more accuracy-matrix rows ((tasks + 1) x tasks each) than the %d of %s; "
                       "the files are damaged or do not belong together", pr, matrix_rows, pm);
    *entries += n;
    x->R = cl_malloc(sizeof(float) * n);
    for (long i = 0; i < n; i++) x->R[i] = NAN;
    return 0;
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

int cl_results_finalize(const char *dir, const char *const *select, int nselect)
{
    char pr[4200], pm[4200], pc[4200], path[4200];
    snprintf(pr, sizeof pr, "%s/runs.csv", dir);
    snprintf(pm, sizeof pm, "%s/matrix.csv", dir);
    snprintf(pc, sizeof pc, "%s/curves.csv", dir);
    static const char *const rreq[] = {"run", "label", "regularizer", "params", "lambda", "tasks", "order", "seed", "acc",
                                       "bwt", "fwt", "forgetting", "learning", "intransigence", "diverged", NULL};
    static const char *const mreq[] = {"run", "trained_task", "eval_task", "accuracy", NULL};
    static const char *const creq[] = {"run", "trained_task", "epoch", "step", "x", "eval_task", "accuracy", NULL};
    cl_table rt, mt, ct;
    if (cl_table_read(&rt, pr, rreq)) return -1;
    if (cl_table_read(&mt, pm, mreq)) {
        cl_table_free(&rt);
        return -1;
    }
    if (cl_table_read(&ct, pc, creq)) {
        cl_table_free(&rt);
        cl_table_free(&mt);
        return -1;
    }
    int rc = 0, nr = rt.nrows;
    runrec *runs = cl_calloc(nr ? nr : 1, sizeof *runs);
    for (int r = 0; r < nr && !rc; r++) {
        runrec *x = &runs[r];
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
        for (int k = 0; k < 5 && !rc; k++) rc = cl_table_num(&rt, r, cl_table_col(&rt, metric_names[k]), &x->m[k]);
        if (rc) break;
        if (x->run < 1) {
            rc = cl_fail("%s:%d: column 'run': expected a run number >= 1, got %ld", pr, rt.lines[r], x->run);
            break;
        }
        if (x->tasks < 1 || x->tasks > 100000) {
            rc = cl_fail("%s:%d: column 'tasks': expected a positive number of tasks", pr, rt.lines[r]);
            break;
        }
        x->diverged = div != 0;
    }
    /* the records by run id; one row per run */
    long entries = 0; /* accuracy-matrix entries allocated so far */
    rowref *ord = cl_malloc(sizeof(rowref) * (nr ? nr : 1));
    for (int r = 0; r < nr; r++) ord[r] = (rowref){runs[r].run, r};
    qsort(ord, nr, sizeof *ord, cmp_rowref);
    for (int i = 1; i < nr && !rc; i++)
        if (ord[i].run == ord[i - 1].run)
            rc = cl_fail("%s:%d: run %ld appears twice (first on line %d)", pr, rt.lines[ord[i].row], ord[i].run,
                         rt.lines[ord[i - 1].row]);
    for (int r = 0; r < mt.nrows && !rc; r++) {
        long run, i, j;
        double acc;
        rc = cl_table_int(&mt, r, cl_table_col(&mt, "run"), &run) ||
             cl_table_int(&mt, r, cl_table_col(&mt, "trained_task"), &i) ||
             cl_table_int(&mt, r, cl_table_col(&mt, "eval_task"), &j) ||
             cl_table_num(&mt, r, cl_table_col(&mt, "accuracy"), &acc);
        if (rc) break;
        runrec *x = run_by_id(runs, ord, nr, run);
        if (!x) continue; /* rows of a run without a runs.csv row are dropped on the next resume */
        if (i < 0 || i > x->tasks || j < 1 || j > x->tasks) {
            rc = cl_fail("%s:%d: task numbers %ld, %ld outside run %ld's %ld tasks", pm, mt.lines[r], i, j, run, x->tasks);
            break;
        }
        if (!x->R) rc = alloc_matrix(x, &entries, mt.nrows, pr, pm);
        if (rc) break;
        x->R[i * x->tasks + (j - 1)] = (float)acc;
    }
    for (int r = 0; r < nr && !rc; r++) /* runs without matrix rows: all NaN */
        if (!runs[r].R) rc = alloc_matrix(&runs[r], &entries, mt.nrows, pr, pm);

    /* curve rows are summarized after the files are rewritten: check their run ids before anything is written */
    for (int r = 0; r < ct.nrows && !rc; r++) {
        long run;
        rc = cl_table_int(&ct, r, cl_table_col(&ct, "run"), &run);
    }

    /* intransigence against the joint cell of the same order and seed */
    double *intr = cl_malloc(sizeof(double) * (nr ? nr : 1));
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
        x->m[5] = intr[r] = v;
    }

    if (!rc) rc = rewrite_sorted(&rt, pr, cl_table_col(&rt, "intransigence"), intr);
    if (!rc) rc = rewrite_sorted(&mt, pm, -1, NULL);
    if (!rc) rc = rewrite_sorted(&ct, pc, -1, NULL);

    /* groups, in the grid's order of labels, then by params, then by lambda */
    group *gs = NULL;
    int ng = 0;
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
    /* the group each label's figures draw: best mean ACC, unless chosen */
    for (int gi = 0; gi < ng; gi++) {
        group *g = &gs[gi];
        int best = 1;
        for (int h = 0; h < ng; h++)
            if (h != gi && !strcmp(gs[h].label, g->label) && isfinite(gs[h].mean[0]) &&
                (!isfinite(g->mean[0]) || gs[h].mean[0] > g->mean[0] || (gs[h].mean[0] == g->mean[0] && h < gi)))
                best = 0;
        g->selected = best;
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
        rc = cl_write_file_atomic(path, b.s, b.len);
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
        rc = cl_write_file_atomic(path, b.s, b.len);
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
        rc = cl_write_file_atomic(path, b.s, b.len);
        snprintf(path, sizeof path, "%s/summary_matrix.csv", dir);
        if (!rc) rc = cl_write_file_atomic(path, m2.s, m2.len);
        cl_buf_free(&m2);
        b.len = 0;
    }
    if (!rc) { /* summary_curves.csv: per group, the points (x, trained_task, eval_task) of its runs */
        int cx = cl_table_col(&ct, "x"), ctt = cl_table_col(&ct, "trained_task"), cet = cl_table_col(&ct, "eval_task"),
            cacc = cl_table_col(&ct, "accuracy");
        cl_buf_printf(&b, "label,params,lambda,selected,x,trained_task,eval_task,acc_mean,acc_std,n\n");
        /* the curve rows of one run define the points; every run of a group has the same points */
        rowref *cord = cl_malloc(sizeof(rowref) * (ct.nrows ? ct.nrows : 1));
        int crun = cl_table_col(&ct, "run");
        for (int r = 0; r < ct.nrows; r++) cord[r] = (rowref){strtol(ct.cells[r][crun], NULL, 10), r};
        qsort(cord, ct.nrows, sizeof *cord, cmp_rowref);
        /* each run record's curve rows: count[r] rows from cord[start[r]] (r indexes runs) */
        long *start = cl_calloc((size_t)nr + 1, sizeof(long)), *count = cl_calloc((size_t)nr + 1, sizeof(long));
        for (int i = 0; i < ct.nrows; i++) {
            runrec *x = run_by_id(runs, ord, nr, cord[i].run);
            if (!x) continue;
            long r = x - runs;
            if (!count[r]) start[r] = i;
            count[r]++;
        }
        for (int i = 0; i < ng && !rc; i++) {
            int gi = gord[i];
            runrec *first = NULL;
            for (int r = 0; r < nr; r++)
                if (runs[r].group == gi && !runs[r].diverged && count[r] && (!first || runs[r].run < first->run))
                    first = &runs[r];
            if (!first) continue;
            long f = first - runs;
            for (long p = 0; p < count[f]; p++) {
                int row0 = cord[start[f] + p].row;
                int n = 0, cnt;
                for (int r = 0; r < nr; r++) {
                    if (runs[r].group != gi || runs[r].diverged || count[r] != count[f]) continue;
                    double v;
                    if (cl_table_num(&ct, cord[start[r] + p].row, cacc, &v)) {
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
        if (!rc) rc = cl_write_file_atomic(path, b.s, b.len);
    }
    cl_buf_free(&b);
    free(vals);
    free(gord);
    free(ord);
    free(gs);
    free(intr);
    for (int r = 0; r < nr; r++) free(runs[r].R);
    free(runs);
    cl_table_free(&rt);
    cl_table_free(&mt);
    cl_table_free(&ct);
    return rc ? -1 : 0;
}
