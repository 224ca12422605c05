#include "experiments/results.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/quote.h"

#define QFIELD 200

#define RUNS_COL(name, kind, opt) {#name, CL_COL_##kind, opt, offsetof(cl_run_row, name)},
#define MATRIX_COL(name, kind, opt) {#name, CL_COL_##kind, opt, offsetof(cl_matrix_row, name)},
#define CURVES_COL(name, kind, opt) {#name, CL_COL_##kind, opt, offsetof(cl_curve_point, name)},
#define NAME_OF(name, kind, opt) #name,
const cl_column cl_runs_schema[] = {CL_RUNS_COLUMNS(RUNS_COL){NULL, 0, NULL, 0}};
const cl_column cl_matrix_schema[] = {CL_MATRIX_COLUMNS(MATRIX_COL){NULL, 0, NULL, 0}};
const cl_column cl_curves_schema[] = {CL_CURVES_COLUMNS(CURVES_COL){NULL, 0, NULL, 0}};
const char *const cl_runs_columns[] = {CL_RUNS_COLUMNS(NAME_OF) NULL};
const char *const cl_matrix_columns[] = {CL_MATRIX_COLUMNS(NAME_OF) NULL};
const char *const cl_curves_columns[] = {CL_CURVES_COLUMNS(NAME_OF) NULL};

void cl_row_write(cl_buf *b, const cl_column *schema, const void *row)
{
    const char *base = row;
    for (const cl_column *c = schema; c->name; c++) {
        const void *f = base + c->offset;
        switch (c->kind) {
        case CL_COL_TEXT: cl_buf_str(b, *(const char *const *)f ? *(const char *const *)f : ""); break;
        case CL_COL_INT: cl_buf_int(b, *(const long *)f); break;
        case CL_COL_NUM: cl_buf_num(b, *(const double *)f); break;
        case CL_COL_U64: cl_buf_printf(b, "%s%llu", c == schema ? "" : ",", *(const unsigned long long *)f); break;
        case CL_COL_SEC: cl_buf_printf(b, "%s%.2f", c == schema ? "" : ",", *(const double *)f); break;
        }
    }
    cl_buf_endrow(b);
}

int cl_row_read(const cl_table *t, int row, const cl_column *schema, void *out)
{
    char *base = out;
    for (const cl_column *c = schema; c->name; c++) {
        void *f = base + c->offset;
        int col = cl_table_col(t, c->name);
        if (col < 0 && !c->missing) return cl_fail("%s: no column '%s' in the header", t->path, c->name);
        const char *v = col >= 0 ? t->cells[row][col] : NULL;
        switch (c->kind) {
        case CL_COL_TEXT: *(const char **)f = v ? v : c->missing; break;
        case CL_COL_INT:
            *(long *)f = v ? 0 : strtol(c->missing, NULL, 10);
            if (v && cl_table_int(t, row, col, (long *)f)) return -1;
            break;
        case CL_COL_NUM:
        case CL_COL_SEC:
            *(double *)f = v ? 0 : strtod(c->missing, NULL);
            if (v && cl_table_num(t, row, col, (double *)f)) return -1;
            break;
        case CL_COL_U64: {
            char *end;
            errno = 0;
            *(unsigned long long *)f = strtoull(v ? v : c->missing, &end, 10);
            if (v && (end == v || *end || errno || *v == '-')) {
                char q[QFIELD];
                return cl_fail("%s:%d: column '%s': expected a whole number, got '%s'", t->path, t->lines[row],
                               c->name, cl_quote_n(q, QFIELD, v, 40));
            }
            break;
        }
        }
    }
    return 0;
}

/* The grid's cells are bounded when it is loaded; this bounds what a damaged file can make us allocate
 * when the cell count is unknown. */
#define MAX_RUN 10000000L

void cl_results_header(cl_buf *b, const char *const *cols)
{
    for (int c = 0; cols[c]; c++) cl_buf_str(b, cols[c]);
    cl_buf_endrow(b);
}

/* Record a problem: the first is kept word for word, the others counted. */
static void problem(cl_results *r, int foreign, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void problem(cl_results *r, int foreign, const char *fmt, ...)
{
    if (!r->nproblems++) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->problem, sizeof r->problem, fmt, ap);
        va_end(ap);
    }
    r->foreign |= foreign;
}

/* A field of a file, quoted for a message (a damaged file can hold anything). */
static const char *qf(char *buf, const char *s) { return cl_quote_n(buf, QFIELD, s, 40); }

static void not_a_cell(cl_results *r, const cl_table *t, int row, long run)
{
    if (r->ncells)
        problem(r, 1, "%s:%d: run %ld is not a cell of this grid (its runs are 1 to %d)", t->path, t->lines[row], run,
                r->ncells);
    else
        problem(r, 1, "%s:%d: run %ld: expected a run number from 1 to %ld", t->path, t->lines[row], run, MAX_RUN);
}

static void damage(cl_results *r, long run)
{
    if (run >= 1 && run <= r->nslots) r->status[run] = CL_RUN_DAMAGED;
}

static int read_table(cl_table *t, int *has, const char *dir, const char *name, const char *const *req, int missing_ok)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    memset(t, 0, sizeof *t);
    *has = 0;
    if (missing_ok && stat(path, &st) != 0 && errno == ENOENT) {
        t->path = cl_strdup(path); /* for messages about rows it lacks */
        return 0;
    }
    if (cl_table_read(t, path, req)) return -1;
    *has = 1;
    return 0;
}

static int parse_long(const char *s, long *v)
{
    char *end;
    errno = 0;
    *v = strtol(s, &end, 10);
    return end == s || *end || errno ? -1 : 0;
}

/* The run a row of matrix.csv or curves.csv belongs to, or 0 when it belongs to no run with a runs.csv
 * row (a cell killed before it finished: ignored, the run is missing). */
static long owner(cl_results *r, const cl_table *t, int row)
{
    long run;
    char q[QFIELD];
    const char *s = t->cells[row][cl_table_col(t, "run")];
    if (parse_long(s, &run)) {
        problem(r, 0, "%s:%d: column 'run': expected a whole number, got '%s'", t->path, t->lines[row], qf(q, s));
        return 0;
    }
    if (run < 1 || (r->ncells && run > r->ncells)) {
        not_a_cell(r, t, row, run);
        return 0;
    }
    if (run > r->nslots || r->runs_row[run] < 0) return 0;
    return run;
}

/* Each runs.csv row: a run number of the grid, once, with a number of tasks, and (resuming) its cell's
 * key. */
static void check_runs(cl_results *r, const cl_grid *g)
{
    cl_table *t = &r->runs;
    int cl = cl_table_col(t, "label"), cr = cl_table_col(t, "regularizer"), cm = cl_table_col(t, "lambda"),
        co = cl_table_col(t, "order"), cs = cl_table_col(t, "seed"), ct = cl_table_col(t, "tasks"),
        cc = cl_table_col(t, "curve_rows"), crun = cl_table_col(t, "run");
    r->old_runs = cc < 0;
    if (t->cut_line) problem(r, 0, "%s:%d: a row cut short (the file ends inside it)", t->path, t->cut_line);
    for (int row = 0; row < t->nrows; row++) {
        long run, tasks, curves = 0;
        int line = t->lines[row];
        char q[QFIELD];
        if (parse_long(t->cells[row][crun], &run)) {
            problem(r, 0, "%s:%d: column 'run': expected a whole number, got '%s'", t->path, line,
                    qf(q, t->cells[row][crun]));
            continue;
        }
        if (run < 1 || run > r->nslots) {
            not_a_cell(r, t, row, run);
            continue;
        }
        if (r->want && !r->want[run]) {
            problem(r, 1, "%s:%d: run %ld is a cell of another shard (shard.txt lists this shard's)", t->path, line,
                    run);
            continue;
        }
        if (r->runs_row[run] >= 0) {
            problem(r, 0, "%s:%d: run %ld appears twice (also line %d)", t->path, line, run,
                    t->lines[r->runs_row[run]]);
            damage(r, run);
            continue;
        }
        r->runs_row[run] = row;
        r->status[run] = CL_RUN_COMPLETE; /* until a problem says otherwise */
        if (parse_long(t->cells[row][ct], &tasks) || tasks < 1 || tasks > 100000) {
            problem(r, 0, "%s:%d: column 'tasks': expected a number of tasks, got '%s'", t->path, line,
                    qf(q, t->cells[row][ct]));
            damage(r, run);
            continue;
        }
        if (cc >= 0 && (parse_long(t->cells[row][cc], &curves) || curves < 0)) {
            problem(r, 0, "%s:%d: column 'curve_rows': expected a count, got '%s'", t->path, line,
                    qf(q, t->cells[row][cc]));
            damage(r, run);
            continue;
        }
        if (!g || run > g->ncells) continue;
        /* the row must be its cell's: anything else is another grid's results, or an edit */
        const cl_grid_cell *c = &g->cells[run - 1];
        const cl_grid_section *sec = &g->sections[c->section];
        const char *lam = cl_grid_cell_value(c, "lambda");
        long order;
        unsigned long long seed = strtoull(t->cells[row][cs], NULL, 10);
        double lrow = strtod(t->cells[row][cm], NULL), lcell = lam ? strtod(lam, NULL) : 0;
        int same = strcmp(t->cells[row][cl], sec->label) == 0 && strcmp(t->cells[row][cr], cl_reg_method_name(sec->method)) == 0 &&
                   parse_long(t->cells[row][co], &order) == 0 && order == c->order && seed == c->seed &&
                   tasks == g->ntasks && (!lam || !cl_reg_method_has_penalty(sec->method) || fabs(lrow - lcell) <= 1e-5 * fabs(lcell));
        if (!same) {
            char qo[QFIELD], qs[QFIELD];
            problem(r, 1, "%s:%d: run %ld is %s (order %s, seed %s) here, but the grid's cell %ld is %s (order %d, "
                          "seed %llu)", t->path, line, run, qf(q, t->cells[row][cl]), qf(qo, t->cells[row][co]),
                    qf(qs, t->cells[row][cs]), run, sec->label, c->order, (unsigned long long)c->seed);
            damage(r, run);
        }
    }
}

static long run_tasks(const cl_results *r, long run)
{
    return strtol(r->runs.cells[r->runs_row[run]][cl_table_col(&r->runs, "tasks")], NULL, 10);
}

/* One accuracy-matrix row, for finding repeats by sorting. */
typedef struct mentry {
    long run, i, j;
    int line;
} mentry;

static int cmp_mentry(const void *a, const void *b)
{
    const mentry *x = a, *y = b;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    if (x->i != y->i) return x->i < y->i ? -1 : 1;
    if (x->j != y->j) return x->j < y->j ? -1 : 1;
    return (x->line > y->line) - (x->line < y->line);
}

/* Every entry (i, j), 0 <= i <= T, 1 <= j <= T, of each run's accuracy matrix, once.
 *
 * Repeats are found by sorting the rows, not with a table of (T + 1) x T flags per run: the number of tasks
 * comes from runs.csv, and a damaged row claiming 100000 tasks would otherwise cost 10 GB for one matrix
 * row (found by fuzzing). Memory follows the rows the file has. */
static void check_matrix(cl_results *r)
{
    cl_table *t = &r->matrix;
    int ci = cl_table_col(t, "trained_task"), cj = cl_table_col(t, "eval_task"), ca = cl_table_col(t, "accuracy");
    mentry *e = cl_malloc(sizeof *e * ((size_t)t->nrows + 1));
    long *count = cl_calloc((size_t)r->nslots + 1, sizeof *count);
    size_t ne = 0;
    if (t->cut_line) problem(r, 0, "%s:%d: a row cut short (the file ends inside it)", t->path, t->cut_line);
    for (int row = 0; row < t->nrows; row++) {
        long run = owner(r, t, row), i, j;
        if (!run || r->status[run] == CL_RUN_DAMAGED) continue;
        long T = run_tasks(r, run);
        int line = t->lines[row];
        double acc;
        char *end, q[QFIELD];
        if (parse_long(t->cells[row][ci], &i) || parse_long(t->cells[row][cj], &j) || i < 0 || i > T || j < 1 ||
            j > T) {
            char q2[QFIELD];
            problem(r, 0, "%s:%d: run %ld: expected an entry of its %ld-task accuracy matrix, got (%s, %s)", t->path,
                    line, run, T, qf(q, t->cells[row][ci]), qf(q2, t->cells[row][cj]));
            damage(r, run);
            continue;
        }
        acc = strtod(t->cells[row][ca], &end);
        if (end == t->cells[row][ca] || *end || (isfinite(acc) && (acc < 0 || acc > 1))) {
            problem(r, 0, "%s:%d: column 'accuracy': expected a number in [0, 1] or nan, got '%s'", t->path, line,
                    qf(q, t->cells[row][ca]));
            damage(r, run);
            continue;
        }
        e[ne++] = (mentry){run, i, j, line};
    }
    qsort(e, ne, sizeof *e, cmp_mentry);
    for (size_t k = 0; k < ne; k++) {
        if (r->status[e[k].run] == CL_RUN_DAMAGED) continue;
        if (k && e[k].run == e[k - 1].run && e[k].i == e[k - 1].i && e[k].j == e[k - 1].j) {
            problem(r, 0, "%s:%d: run %ld: entry (%ld, %ld) appears twice (also line %d)", t->path, e[k].line,
                    e[k].run, e[k].i, e[k].j, e[k - 1].line);
            damage(r, e[k].run);
            continue;
        }
        count[e[k].run]++;
    }
    for (long run = 1; run <= r->nslots; run++) {
        if (r->status[run] != CL_RUN_COMPLETE) continue;
        long T = run_tasks(r, run);
        if (count[run] != (T + 1) * T) {
            problem(r, 0, "%s: run %ld has %ld of the %ld rows of its accuracy matrix", t->path, run, count[run],
                    (T + 1) * T);
            damage(r, run);
        }
    }
    free(e);
    free(count);
}

typedef struct point {
    long run, task, step, eval;
    int line;
} point;

static int cmp_point(const void *a, const void *b)
{
    const point *x = a, *y = b;
    if (x->run != y->run) return x->run < y->run ? -1 : 1;
    if (x->task != y->task) return x->task < y->task ? -1 : 1;
    if (x->step != y->step) return x->step < y->step ? -1 : 1;
    if (x->eval != y->eval) return x->eval < y->eval ? -1 : 1;
    return x->line - y->line;
}

/* Each run's curves: as many rows as its runs.csv row says, none twice, each point (trained task, step)
 * with every task evaluated. Files written before runs.csv counted them are checked by their shape: every
 * trained task 0..T has whole points (a directory whose curves.csv has no rows at all, e.g. made by hand,
 * is summarized without curves). */
static void check_curves(cl_results *r, int strict_old)
{
    cl_table *t = &r->curves;
    int ct = cl_table_col(t, "trained_task"), cs = cl_table_col(t, "step"), ce = cl_table_col(t, "eval_task"),
        ca = cl_table_col(t, "accuracy");
    point *pts = cl_malloc(sizeof(point) * (t->nrows ? t->nrows : 1));
    if (t->cut_line) problem(r, 0, "%s:%d: a row cut short (the file ends inside it)", t->path, t->cut_line);
    int np = 0;
    for (int row = 0; row < t->nrows; row++) {
        long run = owner(r, t, row);
        if (!run || r->status[run] == CL_RUN_DAMAGED) continue;
        long T = run_tasks(r, run);
        point p = {.run = run, .line = t->lines[row]};
        char *end;
        double acc = strtod(t->cells[row][ca], &end);
        if (parse_long(t->cells[row][ct], &p.task) || parse_long(t->cells[row][cs], &p.step) ||
            parse_long(t->cells[row][ce], &p.eval) || p.task < 0 || p.task > T || p.eval < 1 || p.eval > T ||
            p.step < 0 || end == t->cells[row][ca] || *end || (isfinite(acc) && (acc < 0 || acc > 1))) {
            problem(r, 0, "%s:%d: run %ld: expected a point of its %ld-task curves (trained_task, step, eval_task, "
                          "accuracy)", t->path, p.line, run, T);
            damage(r, run);
            continue;
        }
        pts[np++] = p;
    }
    qsort(pts, np, sizeof *pts, cmp_point);
    int cc = cl_table_col(&r->runs, "curve_rows");
    for (int a = 0; a < np;) {
        long run = pts[a].run;
        int b = a;
        while (b < np && pts[b].run == run) b++;
        r->curve_rows[run] = b - a;
        if (r->status[run] == CL_RUN_COMPLETE) {
            long T = run_tasks(r, run), tasks_seen = 0, last_task = -1;
            for (int k = a; k < b && r->status[run] == CL_RUN_COMPLETE; k++) {
                const point *p = &pts[k], *prev = k > a ? &pts[k - 1] : NULL, *next = k + 1 < b ? &pts[k + 1] : NULL;
                if (prev && p->task == prev->task && p->step == prev->step && p->eval == prev->eval) {
                    problem(r, 0, "%s:%d: run %ld: the point (trained_task %ld, step %ld, eval_task %ld) appears "
                                  "twice (also line %d)", t->path, p->line, run, p->task, p->step, p->eval, prev->line);
                    damage(r, run);
                }
                if (p->task != last_task) tasks_seen++, last_task = p->task;
                /* a point's rows: eval_task 1..T, sorted, so a whole point ends with eval_task T after T rows */
                int first = !prev || p->task != prev->task || p->step != prev->step;
                int last = !next || next->task != p->task || next->step != p->step;
                if ((first && p->eval != 1) || (!first && p->eval != prev->eval + 1) || (last && p->eval != T)) {
                    if (r->status[run] == CL_RUN_COMPLETE)
                        problem(r, 0, "%s:%d: run %ld: the point (trained_task %ld, step %ld) lacks some of its %ld "
                                      "tasks' rows", t->path, p->line, run, p->task, p->step, T);
                    damage(r, run);
                }
            }
            if (r->status[run] == CL_RUN_COMPLETE && cc < 0 && tasks_seen != T + 1 && strict_old) {
                problem(r, 0, "%s: run %ld has curves for %ld of its %ld trained tasks (counting before training)",
                        t->path, run, tasks_seen, T + 1);
                damage(r, run);
            }
        }
        a = b;
    }
    for (long run = 1; run <= r->nslots; run++) {
        if (r->status[run] != CL_RUN_COMPLETE) continue;
        if (cc >= 0) {
            long want = strtol(r->runs.cells[r->runs_row[run]][cc], NULL, 10);
            if (r->curve_rows[run] != want) {
                problem(r, 0, "%s: run %ld has %ld curves rows, its runs.csv row says %ld", t->path, run,
                        r->curve_rows[run], want);
                damage(r, run);
            }
        } else if (r->curve_rows[run] == 0 && strict_old) {
            problem(r, 0, "%s: run %ld has no curves rows", t->path, run);
            damage(r, run);
        }
    }
    free(pts);
}

int cl_results_load(cl_results *r, const char *dir, int ncells, const cl_grid *g, int missing_ok)
{
    return cl_results_load_shard(r, dir, ncells, g, missing_ok, NULL);
}

int cl_results_load_shard(cl_results *r, const char *dir, int ncells, const cl_grid *g, int missing_ok,
                          const unsigned char *want)
{
    static const char *const rreq[] = {"run", "label", "regularizer", "lambda", "tasks", "order", "seed", NULL};
    static const char *const mreq[] = {"run", "trained_task", "eval_task", "accuracy", NULL};
    static const char *const creq[] = {"run", "trained_task", "epoch", "step", "x", "eval_task", "accuracy", NULL};
    memset(r, 0, sizeof *r);
    snprintf(r->dir, sizeof r->dir, "%s", dir);
    r->ncells = ncells;
    r->want = ncells ? want : NULL;
    if (read_table(&r->runs, &r->has_runs, dir, "runs.csv", rreq, missing_ok) ||
        read_table(&r->matrix, &r->has_matrix, dir, "matrix.csv", mreq, missing_ok) ||
        read_table(&r->curves, &r->has_curves, dir, "curves.csv", creq, missing_ok)) {
        cl_results_free(r);
        return -1;
    }
    /* run numbers tracked: the grid's, or when unknown every one runs.csv names (within reason) */
    long slots = ncells;
    if (!ncells)
        for (int row = 0; row < r->runs.nrows; row++) {
            long run;
            if (!parse_long(r->runs.cells[row][cl_table_col(&r->runs, "run")], &run) && run > slots && run <= MAX_RUN)
                slots = run;
        }
    r->nslots = (int)slots;
    r->status = cl_calloc((size_t)slots + 1, 1);
    r->runs_row = cl_malloc(sizeof(int) * ((size_t)slots + 1));
    r->curve_rows = cl_calloc((size_t)slots + 1, sizeof(long));
    for (long i = 0; i <= slots; i++) r->runs_row[i] = -1;
    check_runs(r, g);
    check_matrix(r);
    /* old files are checked by their shape; strictly when resuming (it decides what to keep), and also
     * when summarizing unless curves.csv has no rows at all */
    check_curves(r, g != NULL || r->curves.nrows > 0);
    for (long run = 1; run <= r->nslots; run++) {
        r->ncomplete += r->status[run] == CL_RUN_COMPLETE;
        r->ndamaged += r->status[run] == CL_RUN_DAMAGED;
        r->nmissing += r->status[run] == CL_RUN_MISSING && (ncells || run <= r->nslots) && (!r->want || r->want[run]);
        r->nwant += !r->want || r->want[run];
    }
    if (!ncells) r->nmissing = 0; /* without the grid's count, a run can only be missing if we know it exists */
    return 0;
}

void cl_results_free(cl_results *r)
{
    /* an absent file's table holds only its path */
    cl_table_free(&r->runs);
    cl_table_free(&r->matrix);
    cl_table_free(&r->curves);
    free(r->status);
    free(r->runs_row);
    free(r->curve_rows);
    if (r->owns_want) free((void *)r->want);
    memset(r, 0, sizeof *r);
}

/* "5, 9-11, 20 and 3 more" for the runs with the given status */
static void list_runs(const cl_results *r, int status, char *out, size_t n)
{
    size_t len = 0;
    int shown = 0, more = 0;
    out[0] = 0;
    for (long a = 1; a <= r->nslots; a++) {
        if (r->status[a] != status || (r->want && !r->want[a])) continue;
        long b = a;
        while (b + 1 <= r->nslots && r->status[b + 1] == status && (!r->want || r->want[b + 1])) b++;
        if (shown < 6) {
            len += (size_t)snprintf(out + len, len < n ? n - len : 0, b > a ? "%s%ld-%ld" : "%s%ld", shown ? ", " : "",
                                    a, b);
            shown++;
        } else {
            more += (int)(b - a + 1);
        }
        a = b;
    }
    if (more && len < n) snprintf(out + len, n - len, " and %d more", more);
}

void cl_results_describe(const cl_results *r, char *out, size_t n)
{
    size_t len = 0;
    char list[256];
    out[0] = 0;
    if (r->nproblems) len += (size_t)snprintf(out, n, "%s", r->problem);
    if (r->nproblems > 1 && len < n)
        len += (size_t)snprintf(out + len, n - len, " (and %d more problem%s)", r->nproblems - 1,
                                r->nproblems > 2 ? "s" : "");
    if (r->nmissing && len < n) {
        list_runs(r, CL_RUN_MISSING, list, sizeof list);
        const char *whose = r->want ? "shard's" : "grid's";
        int of = r->want ? r->nwant : r->ncells;
        if (r->nmissing == 1)
            snprintf(out + len, n - len, "%srun %s of the %s %d has no results", len ? "; " : "", list, whose, of);
        else
            snprintf(out + len, n - len, "%s%d of the %s %d runs have no results (runs %s)", len ? "; " : "",
                     r->nmissing, whose, of, list);
    }
}

/* Rewrite t with the rows of complete runs only, in the schema's columns (its own may be in another order, and
 * a file from an earlier clreg may lack optional columns: runs.csv's curve_rows is counted then, any other
 * gets the schema's value for its absence). Nothing is written when nothing changes. */
static int rewrite(const cl_results *r, const cl_table *t, const cl_column *schema, int runs_file)
{
    int ncols = 0, same = 1, map[64];
    cl_buf b = {0};
    for (; schema[ncols].name; ncols++) {
        map[ncols] = cl_table_col(t, schema[ncols].name);
        same &= map[ncols] == ncols;
        if (map[ncols] < 0 && !schema[ncols].missing) {
            cl_buf_free(&b);
            return cl_fail("%s: no column '%s': not a file clreg wrote (or edited by hand); restore the column, or "
                           "start over with --fresh", t->path, schema[ncols].name);
        }
        cl_buf_str(&b, schema[ncols].name);
    }
    cl_buf_endrow(&b);
    for (int c = 0; c < t->ncols; c++) {
        int known = 0;
        for (int k = 0; k < ncols; k++) known |= strcmp(t->cols[c], schema[k].name) == 0;
        if (!known) {
            char q[200];
            cl_buf_free(&b);
            return cl_fail("%s: column '%s' is not one clreg writes (edited by hand?); remove it, or start over "
                           "with --fresh", t->path, cl_quote_n(q, sizeof q, t->cols[c], 40));
        }
    }
    same &= t->ncols == ncols;
    int crun = cl_table_col(t, "run"), dropped = 0, rc = 0;
    for (int row = 0; row < t->nrows; row++) {
        long run;
        if (parse_long(t->cells[row][crun], &run) || run < 1 || run > r->nslots || r->status[run] != CL_RUN_COMPLETE ||
            (runs_file && r->runs_row[run] != row)) {
            dropped++;
            continue;
        }
        for (int c = 0; c < ncols; c++) {
            if (map[c] >= 0) cl_buf_str(&b, t->cells[row][map[c]]);
            else if (runs_file && !strcmp(schema[c].name, "curve_rows"))
                cl_buf_int(&b, r->curve_rows[run]); /* counted: the run's curves were checked whole */
            else cl_buf_str(&b, schema[c].missing);
        }
        cl_buf_endrow(&b);
    }
    if (dropped || t->cut_line || !same) rc = cl_write_file_atomic(t->path, b.s, b.len);
    cl_buf_free(&b);
    return rc;
}

int cl_results_prune(const cl_results *r)
{
    int rc = 0;
    if (r->has_matrix) rc = rewrite(r, &r->matrix, cl_matrix_schema, 0);
    if (!rc && r->has_curves) rc = rewrite(r, &r->curves, cl_curves_schema, 0);
    if (!rc && r->has_runs) rc = rewrite(r, &r->runs, cl_runs_schema, 1);
    return rc;
}

int cl_results_manifest(const char *dir, int *ncells, char *command, size_t n)
{
    char path[4200], line[4096];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    if (command && n) command[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 1;
        return cl_fail("%s: cannot read: %s", path, strerror(errno));
    }
    int found = 0;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cells: ", 7) == 0) {
            /* a count no grid can have is a damaged manifest, not an allocation of that many runs */
            char *end;
            errno = 0;
            long v = strtol(line + 7, &end, 10);
            if (end == line + 7 || strncmp(end, " in the grid", 12) != 0) continue;
            if (errno || v < 1 || v > CL_GRID_MAX_CELLS) {
                fclose(f);
                return cl_fail("%s: 'cells: %.20s...': expected a number of cells from 1 to %d (edited by hand?)", path,
                               line + 7, CL_GRID_MAX_CELLS);
            }
            *ncells = (int)v;
            found = 1;
        }
        if (command && n && strncmp(line, "command: ", 9) == 0) {
            line[strcspn(line, "\n")] = 0;
            snprintf(command, n, "%s", line + 9);
        }
    }
    fclose(f);
    if (!found) return cl_fail("%s: no line 'cells: N in the grid' (edited by hand?)", path);
    return 0;
}
