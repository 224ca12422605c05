#include "experiments/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <omp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/blas.h"
#include "core/error.h"
#include "core/npy.h"
#include "core/quote.h"
#include "core/timer.h"
#include "core/version.h"
#include "experiments/dirlock.h"
#include "experiments/fingerprint.h"
#include "experiments/metrics.h"
#include "experiments/results.h"
#include "experiments/table.h"
#include "experiments/train.h"



/* ---- progress ------------------------------------------------------------------------------------------ */

typedef struct progress {
    int enabled;
    int total, done_before, done, running;
    double start;
    double *cell_frac;   /* per thread: how far its current cell is (0..1), for the estimate */
    int nthreads;
} progress;

static void fmt_time(char *buf, size_t n, double sec)
{
    if (sec < 0 || !isfinite(sec)) snprintf(buf, n, "?");
    else if (sec < 60) snprintf(buf, n, "%.0fs", sec);
    else if (sec < 3600) snprintf(buf, n, "%dm%02ds", (int)sec / 60, (int)sec % 60);
    else snprintf(buf, n, "%dh%02dm", (int)sec / 3600, ((int)sec % 3600) / 60);
}

/* One status line, redrawn in place: cells done and running, elapsed, and an estimate of the time left
 * from the work done so far (finished cells plus the fractions of running ones). */
static void progress_draw(progress *p)
{
    if (!p->enabled) return;
    double el = cl_now() - p->start, work = p->done;
    for (int t = 0; t < p->nthreads; t++) work += p->cell_frac[t];
    int todo = p->total - p->done_before;
    char e[32], left[32];
    fmt_time(e, sizeof e, el);
    fmt_time(left, sizeof left, work > 0.05 ? el / work * (todo - work) : -1);
    fprintf(stderr, "\r\033[Kcells %d/%d done, %d running; elapsed %s, about %s left", p->done_before + p->done,
            p->total, p->running, e, left);
    fflush(stderr);
}

/* ---- one cell ------------------------------------------------------------------------------------------ */

typedef struct cell_job {
    const cl_grid *g;
    const cl_grid_cell *c;
    const cl_stream *s;
    cl_curve_point *pts; /* the points between task ends, in training order */
    long npts, cap;
    int epochs;
    int joint;           /* joint training's epochs grow with the union of tasks */
    int batch;
    progress *prog;
    int tid;
} cell_job;

static void add_point(cl_curve_point **pts, long *n, long *cap, cl_curve_point p)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *pts = cl_realloc(*pts, sizeof **pts * (size_t)*cap);
    }
    (*pts)[(*n)++] = p;
}

static void curve_rows(cell_job *j, cl_mlp *m, int task, int epoch, long step)
{
    double x = task + (double)step / (double)(cl_steps_per_epoch(j->s, task, j->batch, j->joint) * j->epochs);
    for (int e = 0; e < j->s->ntasks; e++) {
        float acc = cl_evaluate(m, j->s, e, cl_stream_eval_active(j->s, task, e));
        add_point(&j->pts, &j->npts, &j->cap,
                  (cl_curve_point){.run = j->c->run, .trained_task = task + 1, .epoch = epoch + 1, .step = step, .x = x,
                                   .eval_task = e + 1, .accuracy = acc});
    }
}

static void on_epoch(void *ctx, cl_mlp *m, int task, int epoch, long step, double loss)
{
    cell_job *j = ctx;
    (void)loss;
    /* the last epoch's point is the task's row of the accuracy matrix, written at the end */
    if (j->g->eval_epochs && epoch < j->epochs - 1) curve_rows(j, m, task, epoch, step);
    if (j->prog->enabled) {
        j->prog->cell_frac[j->tid] = (task + (epoch + 1.0) / j->epochs) / j->s->ntasks;
#pragma omp critical(clreg_progress)
        progress_draw(j->prog);
    }
}

static void on_steps(void *ctx, cl_mlp *m, int task, int epoch, long step)
{
    cell_job *j = ctx;
    if (step % cl_steps_per_epoch(j->s, task, j->batch, j->joint) != 0) /* epoch ends: on_epoch */
        curve_rows(j, m, task, epoch, step);
}

typedef struct cell_out {
    cl_buf runs, matrix, curves;
    int failed;
    int stopped;         /* the run was asked to stop: nothing to write */
    char err[1024];
} cell_out;

static void run_cell(const cl_grid *g, const cl_data *d, const cl_grid_cell *c, const char *outdir, progress *prog,
                     int tid, volatile sig_atomic_t *stop, cell_out *out)
{
    memset(out, 0, sizeof *out);
    const cl_grid_section *sec = &g->sections[c->section];
    cl_stream_cfg sc = g->set.stream;
    sc.order = g->orders[c->order];
    sc.seed = c->seed;
    cl_stream s;
    cl_mlp *m = NULL;
    cl_reg *reg = NULL;
    if (cl_stream_create(&s, d, &sc)) goto fail_early;
    cl_train_cfg tc = cl_train_defaults();
    tc.epochs = g->set.epochs;
    tc.batch = g->set.batch;
    tc.opt = g->set.opt;
    tc.reset_optim = g->set.reset_optim;
    tc.eval_batch = cl_eval_batch(&g->set.arch, g->set.batch);
    tc.seed = c->seed;
    m = cl_model_for_stream(&s, &g->set.arch, &tc);
    if (!m) goto fail_stream;
    reg = cl_reg_create(cl_reg_method_name(sec->method), (const char *const *)c->params, c->nparams, m);
    if (!reg) goto fail_model;
    char statedir[4200];
    if (g->save_state) {
        snprintf(statedir, sizeof statedir, "%s/state/run%d", outdir, c->run);
        tc.save_dir = statedir;
        tc.save_tasks = g->save_state == 2 ? 1 : 0;
    }
    cell_job job = {.g = g, .c = c, .s = &s, .epochs = g->set.epochs, .prog = prog, .tid = tid};
    job.joint = cl_reg_method_joint(sec->method);
    job.batch = g->set.batch;
    tc.reg = reg;
    tc.stop = stop;
    tc.ctx = &job;
    tc.on_epoch = on_epoch;
    if (g->curve_steps > 0) {
        tc.on_steps = on_steps;
        tc.steps_every = g->curve_steps;
    }
    cl_run run;
    int rc = cl_train_stream(m, &s, &tc, &run);
    if (rc || run.stopped) { /* a cell cut short has no rows: it runs again on resume */
        out->stopped = !rc;
        cl_run_free(&run);
        free(job.pts);
        if (rc) goto fail_reg;
        cl_reg_free(reg);
        cl_mlp_free(m);
        cl_stream_free(&s);
        return;
    }
    int T = s.ntasks;
    /* curves: before training, then each task's per-epoch points (job.pts, in training order) followed by
     * the task's end, which is its row of the accuracy matrix */
    cl_buf *cv = &out->curves;
    long ncurve = 0, k = 0;
    for (int e = 0; e < T; e++, ncurve++)
        cl_row_write(cv, cl_curves_schema, &(cl_curve_point){.run = c->run, .eval_task = e + 1,
                                                             .accuracy = *cl_run_R(&run, 0, e)});
    for (int i = 1; i <= T; i++) {
        for (; k < job.npts && job.pts[k].trained_task == i; k++, ncurve++) cl_row_write(cv, cl_curves_schema, &job.pts[k]);
        long steps = cl_steps_per_epoch(&s, i - 1, g->set.batch, job.joint) * g->set.epochs;
        for (int e = 0; e < T; e++, ncurve++)
            cl_row_write(cv, cl_curves_schema,
                         &(cl_curve_point){.run = c->run, .trained_task = i, .epoch = g->set.epochs, .step = steps,
                                           .x = i, .eval_task = e + 1, .accuracy = *cl_run_R(&run, i, e)});
    }
    free(job.pts);

    for (int i = 0; i <= T; i++)
        for (int e = 0; e < T; e++)
            cl_row_write(&out->matrix, cl_matrix_schema,
                         &(cl_matrix_row){.run = c->run, .trained_task = i, .eval_task = e + 1,
                                          .accuracy = *cl_run_R(&run, i, e),
                                          .val_accuracy = run.V ? *cl_run_V(&run, i, e) : NAN});

    char params[1024] = "", hidden[1024] = "", order[1024] = "";
    size_t len = 0;
    for (const cl_reg_param *rp = cl_reg_method_params(sec->method); rp && rp->name; rp++) {
        if (!strcmp(rp->name, "lambda")) continue;
        len += (size_t)snprintf(params + len, len < sizeof params ? sizeof params - len : 0, "%s%s=%s", len ? " " : "",
                                rp->name, cl_reg_get(reg, rp->name));
    }
    cl_settings_model_text(&g->set.arch, hidden, sizeof hidden);
    len = 0;
    for (int t = 0; t < T; t++)
        len += (size_t)snprintf(order + len, len < sizeof order ? sizeof order - len : 0, "%s%d", t ? " " : "", g->orders[c->order][t] + 1);
    /* a diverged run's metrics are NaN: its later rows are */
    cl_metrics mt = cl_metrics_compute(run.R, T), mv = {NAN, NAN, NAN, NAN, NAN};
    if (run.V) mv = cl_metrics_compute(run.V, T);
    if (run.diverged) mt = mv = (cl_metrics){NAN, NAN, NAN, NAN, NAN};
    cl_run_row row = {
        .run = c->run, .label = sec->label, .regularizer = cl_reg_method_name(sec->method), .params = params,
        .lambda = cl_reg_method_has_penalty(sec->method) ? cl_reg_lambda(reg) : NAN, .dataset = g->set.dataset,
        .stream = cl_stream_kind_name(g->set.stream.kind), .scenario = cl_scenario_name(g->set.stream.scenario),
        .tasks = T, .hidden = hidden, .optimizer = g->set.opt.kind == CL_OPT_ADAM ? "adam" : "sgd",
        .lr = g->set.opt.lr, .epochs = g->set.epochs, .batch = g->set.batch, .order = c->order, .order_tasks = order,
        .seed = (unsigned long long)c->seed, .validation = g->set.stream.validation,
        .acc = mt.acc, .bwt = mt.bwt, .fwt = mt.fwt, .forgetting = mt.forgetting, .learning = mt.learning,
        .intransigence = NAN, /* filled in when the results are summarized: it needs the joint cell */
        .val_acc = mv.acc, .val_bwt = mv.bwt, .val_fwt = mv.fwt, .val_forgetting = mv.forgetting,
        .val_learning = mv.learning, .diverged = run.diverged,
        .curve_rows = ncurve, /* the check that curves.csv holds all of them (results.h) */
        .train_sec = run.train_sec, .importance_sec = run.importance_sec, .eval_sec = run.eval_sec};
    cl_row_write(&out->runs, cl_runs_schema, &row);
    cl_run_free(&run);
    cl_reg_free(reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    return;

fail_reg:
    cl_reg_free(reg);
fail_model:
    cl_mlp_free(m);
fail_stream:
    cl_stream_free(&s);
fail_early:
    out->failed = 1;
    snprintf(out->err, sizeof out->err, "cell %d (%s, order %d, seed %llu): %s", c->run, sec->label, c->order,
             (unsigned long long)c->seed, cl_errmsg());
    cl_buf_free(&out->curves);
    cl_buf_free(&out->matrix);
    cl_buf_free(&out->runs);
}

/* ---- the results directory ----------------------------------------------------------------------------- */

static int path_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Open a results file for appending, writing the header if it is new or empty. */
static int open_append(const char *dir, const char *name, const char *const *cols, char *path, size_t pn)
{
    snprintf(path, pn, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return cl_fail("%s: cannot open for writing: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size == 0) {
        cl_buf b = {0};
        cl_results_header(&b, cols);
        int rc = cl_write_all(fd, path, &b);
        cl_buf_free(&b);
        if (rc) {
            close(fd);
            return -1;
        }
    }
    return fd;
}

static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "a signal";
}

/* The manifest says what ran and how it ended: "(running)" while it runs (and when the process was killed
 * outright), the end time, "interrupted", or "failed" with the reason. */
static void write_manifest(const char *dir, const cl_grid *g, const cl_runner_opts *o, const char *data, int threads,
                           int bt, time_t start, const char *finished, int cells_run)
{
    char path[4200], blas[256], t0[64];
    snprintf(path, sizeof path, "%s/manifest.txt", dir);
    cl_blas_describe(blas, sizeof blas);
    strftime(t0, sizeof t0, "%Y-%m-%d %H:%M:%S %Z", localtime(&start));
    cl_buf b = {0};
    char shard[128] = "";
    if (o->shard_of) {
        int k = 0;
        for (int c = 0; c < g->ncells; c++) k += o->shard_of[c] == o->shard.index;
        snprintf(shard, sizeof shard, "shard: %d/%d, %d cells (%s)\n", o->shard.index, o->shard.count, k,
                 CL_SHARD_FILE);
    }
    cl_buf_printf(&b, "clreg %s\ngrid: %s (%s)\ncommand: %s\nBLAS: %s\n%s%scells in parallel: %d, BLAS threads "
                      "per cell: %d\ncells: %d in the grid, %d run by this invocation\nstarted: %s\nfinished: %s\n",
                  cl_version(), g->name, g->path, o->command ? o->command : "", blas, shard, data, threads, bt,
                  g->ncells, cells_run, t0, finished);
    if (cl_write_file_atomic(path, b.s, b.len))
        fprintf(stderr, "clreg run: warning: %s\n", cl_errmsg()); /* the results stand without it */
    cl_buf_free(&b);
}

static void now_text(char *buf, size_t n)
{
    time_t t = time(NULL);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
}

/* The files a fresh start removes; the first three are the results proper. */
static const char *const result_files[] = {"runs.csv", "matrix.csv", "curves.csv", "summary.csv", "summary_tasks.csv",
                                           "summary_matrix.csv", "summary_curves.csv", "best.csv", "manifest.txt",
                                           CL_FINGERPRINT_FILE, CL_SHARD_FILE, NULL};

/* A shard's directory holds that shard's cells and nothing else; a whole grid's holds no shard. */
static int check_shard_dir(const char *outdir, const cl_grid *g, const cl_runner_opts *o, int has_results,
                           unsigned char **want)
{
    cl_shard was;
    int n = g->ncells;
    unsigned char *mask = NULL;
    int r = cl_shard_read(outdir, &was, &n, &mask);
    if (r < 0) return cl_fail_prefix("cannot resume in %s (start over with --fresh)", outdir);
    if (r == 0 && !o->shard_of) {
        free(mask);
        return cl_fail("%s holds the results of shard %d/%d of this grid: run that shard there (--shard %d/%d), or "
                       "merge the shards with clreg merge, or choose another directory with -o", outdir, was.index,
                       was.count, was.index, was.count);
    }
    if (!o->shard_of) return 0;
    if (r == 1 && has_results)
        return cl_fail("%s holds results of a run of the whole grid, not of shard %d/%d; choose another directory "
                       "with -o", outdir, o->shard.index, o->shard.count);
    if (r == 0) {
        int same = was.index == o->shard.index && was.count == o->shard.count;
        for (int c = 0; c < g->ncells && same; c++) same = mask[c + 1] == (o->shard_of[c] == o->shard.index);
        free(mask);
        if (!same)
            return cl_fail("%s holds the results of shard %d/%d%s, not of shard %d/%d: choose another directory with "
                           "-o, or start over there with --fresh", outdir, was.index, was.count,
                           was.index == o->shard.index && was.count == o->shard.count
                               ? " with other cells (another clreg's assignment?)" : "",
                           o->shard.index, o->shard.count);
    }
    *want = cl_calloc((size_t)g->ncells + 1, 1);
    for (int c = 0; c < g->ncells; c++) (*want)[c + 1] = o->shard_of[c] == o->shard.index;
    if (r == 1 && cl_shard_write(outdir, &o->shard, g->ncells, o->shard_of)) {
        free(*want);
        *want = NULL;
        return -1;
    }
    return 0;
}

/* Before anything in the directory changes: it must be this grid's (or new), its results this grid's, and
 * computed from these data. Then the grid and the data's fingerprint are recorded (a new directory) and
 * whatever is not a complete run is dropped, to run again. On success *res holds what was there. */
static int prepare_dir(const char *outdir, const cl_grid *g, const cl_data *d, const cl_runner_opts *o,
                       cl_results *res, cl_run_report *rep, unsigned char **want)
{
    char path[4200], q[300];
    snprintf(path, sizeof path, "%s/grid.ini", outdir);
    if (o->fresh) {
        for (int i = 0; result_files[i]; i++) {
            char f[4200];
            snprintf(f, sizeof f, "%s/%s", outdir, result_files[i]);
            if (unlink(f) != 0 && errno != ENOENT) return cl_fail("%s: cannot remove: %s", f, strerror(errno));
        }
        if (unlink(path) != 0 && errno != ENOENT) return cl_fail("%s: cannot remove: %s", path, strerror(errno));
    }
    int have_grid = path_exists(path);
    if (have_grid) {
        char *old = cl_read_file(path, CL_GRID_MAX_BYTES, 0);
        int same = old && strcmp(old, g->text) == 0;
        free(old);
        if (!same)
            return cl_fail("%s holds results of a different grid (its grid.ini differs from %s); rerun with --fresh "
                           "to start over, or choose another directory with -o", outdir,
                           cl_quote_n(q, sizeof q, g->path, 80));
    } else {
        /* results without the grid they came from cannot be checked against this one */
        for (int i = 0; i < 3; i++) {
            char f[4200];
            snprintf(f, sizeof f, "%s/%s", outdir, result_files[i]);
            if (path_exists(f))
                return cl_fail("%s holds %s but no grid.ini, so its results cannot be checked against this grid; put "
                               "back the grid.ini they came from, or start over with --fresh, or choose another "
                               "directory with -o", outdir, result_files[i]);
        }
    }
    /* a results file without one whole line (created, then killed or out of space before its header was
     * written) holds nothing: removed, it is created again with its header */
    for (int i = 0; i < 3; i++) {
        char f[4200], head[4096];
        snprintf(f, sizeof f, "%s/%s", outdir, result_files[i]);
        FILE *fp = fopen(f, "rb");
        if (!fp) continue;
        size_t n = fread(head, 1, sizeof head, fp);
        int more = fgetc(fp) != EOF;
        fclose(fp);
        if (!more && !memchr(head, '\n', n) && unlink(f) != 0)
            return cl_fail("%s: cannot remove: %s", f, strerror(errno));
    }
    {
        char f[4200];
        int any = 0;
        for (int i = 0; i < 3; i++) {
            snprintf(f, sizeof f, "%s/%s", outdir, result_files[i]);
            any |= path_exists(f);
        }
        if (check_shard_dir(outdir, g, o, any, want)) return -1;
    }
    if (cl_results_load_shard(res, outdir, g->ncells, g, 1, *want)) {
        free(*want);
        *want = NULL;
        return cl_fail_prefix("cannot resume in %s", outdir);
    }
    if (res->foreign) {
        cl_fail("cannot resume in %s: %s; start over with --fresh, or choose another directory with -o", outdir,
                res->problem);
        cl_results_free(res);
        return -1;
    }
    /* the data */
    cl_fingerprint now, was;
    if (cl_fingerprint_data(&now, d)) {
        cl_results_free(res);
        return -1;
    }
    int fr = cl_fingerprint_read(outdir, &was), rc = 0;
    int has_results = res->runs.nrows > 0 || res->matrix.nrows > 0 || res->curves.nrows > 0;
    if (fr < 0) {
        rc = cl_fail_prefix("cannot resume in %s (a damaged fingerprint: start over with --fresh)", outdir);
    } else if (fr == 0) {
        if (cl_fingerprint_compare(&was, &now))
            rc = cl_fail_prefix("cannot resume in %s: the data differ from those its results came from; run with "
                                "those data (--data-path), or start over with --fresh (discards the results there), "
                                "or choose another directory with -o", outdir);
        cl_fingerprint_free(&was);
    } else {
        /* No fingerprint: a new directory, or results of a clreg that did not record one. Those are taken to
         * come from these data (there is nothing to compare them with), and the command says so. */
        rep->adopted = has_results;
    }
    if (!rc && !have_grid && cl_write_file_atomic(path, g->text, strlen(g->text))) rc = -1;
    if (!rc && fr == 1) rc = cl_fingerprint_write(outdir, &now);
    cl_fingerprint_free(&now);
    if (!rc && (res->nproblems || res->ndamaged)) {
        rep->repaired = res->ndamaged;
        snprintf(rep->repair, sizeof rep->repair, "%s", res->problem);
    }
    if (!rc) rc = cl_results_prune(res);
    if (rc) cl_results_free(res);
    return rc;
}

/* Append a finished cell's rows: curves, matrix, then its runs.csv row, one write(2) each. A write that fails
 * (a full disk) is cut back from all three files, so they end in whole rows and no half cell is left for
 * the next append to follow. */
static int append_cell(const int fd[3], const char *const path[3], const cell_out *out)
{
    const cl_buf *b[3] = {&out->curves, &out->matrix, &out->runs};
    off_t size[3];
    for (int i = 0; i < 3; i++) {
        struct stat st;
        if (fstat(fd[i], &st) != 0) return cl_fail("%s: %s", path[i], strerror(errno));
        size[i] = st.st_size;
    }
    for (int i = 0; i < 3; i++) {
        if (!cl_write_all(fd[i], path[i], b[i])) continue;
        for (int k = 0; k <= i; k++)
            if (ftruncate(fd[k], size[k]) != 0) {} /* if even that fails, the next resume drops the cut rows */
        return -1;
    }
    return 0;
}

/* Cells computed with another BLAS kernel (a resume on another machine, or with OPENBLAS_CORETYPE) differ
 * from this run's in the last bits, and forgetting amplifies such differences: the table is then not that of
 * one uninterrupted run. Nothing is wrong with either, so this is a note, and a line in the manifest that
 * stays there through later resumes ("earlier cells: ..."). The kernel of earlier cells is the one the last
 * manifest names. */
static void kernel_history(const char *outdir, int done_before, char *extra, size_t n, cl_run_report *rep)
{
    char path[4200], line[1024], old[64] = "";
    snprintf(path, sizeof path, "%s/manifest.txt", outdir);
    FILE *f = fopen(path, "r");
    if (!f) return;
    size_t len = strlen(extra);
    while (fgets(line, sizeof line, f)) {
        const char *k = strncmp(line, "BLAS: ", 6) == 0 ? strstr(line, ", kernel ") : NULL;
        if (k) sscanf(k + 9, "%63[^ ,\n]", old);
        /* history the directory keeps: earlier kernels, and that it began as a merge of shards (merge.h) */
        if ((strncmp(line, "earlier cells: ", 15) == 0 || strncmp(line, "merged: ", 8) == 0) && !strstr(extra, line) &&
            len < n)
            len += (size_t)snprintf(extra + len, n - len, "%s", line);
    }
    fclose(f);
    const char *now = cl_blas_core();
    if (!done_before || !old[0] || strcasecmp(old, now) == 0) return;
    snprintf(rep->other_kernel, sizeof rep->other_kernel, "%s", old);
    snprintf(line, sizeof line, "earlier cells: computed with BLAS kernel %s\n", old);
    if (!strstr(extra, line) && len < n) snprintf(extra + len, n - len, "%s", line);
}

static int run_locked(const cl_grid *g, const cl_data *d, const cl_runner_opts *o, const char *outdir,
                      cl_run_report *rep)
{
    cl_results res;
    unsigned char *want = NULL;
    if (prepare_dir(outdir, g, d, o, &res, rep, &want)) {
        free(want);
        return -1;
    }
    int *todo = cl_malloc(sizeof(int) * (g->ncells ? g->ncells : 1)), ntodo = 0, mine = 0;
    for (int c = 0; c < g->ncells; c++) {
        if (want && !want[c + 1]) continue;
        mine++;
        if (res.status[c + 1] != CL_RUN_COMPLETE) todo[ntodo++] = c;
    }
    rep->done_before = res.ncomplete;
    rep->ncells = mine;
    cl_results_free(&res);
    free(want);

    char pr[4200], pm[4200], pc[4200];
    int fr = open_append(outdir, "runs.csv", cl_runs_columns, pr, sizeof pr);
    int fm = fr < 0 ? -1 : open_append(outdir, "matrix.csv", cl_matrix_columns, pm, sizeof pm);
    int fc = fm < 0 ? -1 : open_append(outdir, "curves.csv", cl_curves_columns, pc, sizeof pc);
    if (fc < 0) {
        if (fr >= 0) close(fr);
        if (fm >= 0) close(fm);
        free(todo);
        return -1;
    }
    const int fds[3] = {fc, fm, fr};
    const char *const paths[3] = {pc, pm, pr};

    /* BLAS threads per cell: the grid's blas_threads, or automatically every core for a grid of a single
     * cell (the spare threads) and one otherwise. It depends on the grid and the machine, never on -j or
     * on how many cells are left, so a resumed or re-threaded run computes the same numbers. */
    int bt = g->blas_threads > 0 ? g->blas_threads : (g->ncells == 1 ? omp_get_num_procs() : 1);
    int threads = bt > 1 ? 1 : (o->threads > 0 ? o->threads : omp_get_num_procs());
    if (threads > ntodo && ntodo > 0) threads = ntodo;
    if (threads < 1) threads = 1;
    time_t start = time(NULL);
    cl_fingerprint fp;
    char data[2048] = "";
    if (cl_fingerprint_read(outdir, &fp) == 0) {
        cl_fingerprint_describe(&fp, data, sizeof data);
        cl_fingerprint_free(&fp);
    }
    kernel_history(outdir, rep->done_before, data, sizeof data, rep);
    write_manifest(outdir, g, o, data, threads, bt, start, "(running)", ntodo);

    progress prog = {.enabled = o->progress < 0 ? isatty(2) : o->progress, .total = mine,
                     .done_before = mine - ntodo, .start = cl_now(), .nthreads = threads};
    prog.cell_frac = cl_calloc(threads, sizeof(double));
    int failed = 0, write_failed = 0;
    char first_err[1024] = "";

    cl_blas_set_threads(bt);
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (int k = 0; k < ntodo; k++) {
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop || (o->stop && *o->stop)) continue;
        int tid = omp_get_thread_num();
#pragma omp critical(clreg_progress)
        {
            prog.running++;
            prog.cell_frac[tid] = 0;
            progress_draw(&prog);
        }
        cell_out out;
        run_cell(g, d, &g->cells[todo[k]], outdir, &prog, tid, o->stop, &out);
        int wrote = 0;
#pragma omp critical(clreg_write)
        {
            if (out.failed) {
                if (!failed) snprintf(first_err, sizeof first_err, "%s", out.err);
#pragma omp atomic write
                failed = 1;
            } else if (!out.stopped && !write_failed) {
                /* after a failed write nothing more is appended: the disk is full, or the files are gone */
                if (append_cell(fds, paths, &out)) {
                    if (!failed) snprintf(first_err, sizeof first_err, "%s", cl_errmsg());
                    write_failed = 1;
#pragma omp atomic write
                    failed = 1;
                } else {
                    wrote = 1;
                }
            }
        }
#pragma omp critical(clreg_progress)
        {
            prog.running--;
            prog.done += wrote;
            prog.cell_frac[tid] = 0;
            progress_draw(&prog);
        }
        cl_buf_free(&out.curves);
        cl_buf_free(&out.matrix);
        cl_buf_free(&out.runs);
    }
    if (prog.enabled) fprintf(stderr, "\n");
    cl_blas_set_threads(omp_get_num_procs());
    close(fr);
    close(fm);
    close(fc);
    rep->done = rep->done_before + prog.done;
    free(prog.cell_frac);
    free(todo);
    char when[64], fin[1400];
    now_text(when, sizeof when);
    if (failed) {
        snprintf(fin, sizeof fin, "failed at %s: %s", when, first_err);
        write_manifest(outdir, g, o, data, threads, bt, start, fin, ntodo);
        return cl_fail("%s", first_err);
    }
    int sig = o->stop ? *o->stop : 0;
    if (sig && rep->done < mine) {
        rep->stopped = sig;
        snprintf(fin, sizeof fin, "interrupted by %s at %s, %d of %d cells done (%d by this invocation); rerunning the "
                                  "same command resumes", signal_name(sig), when, rep->done, mine, prog.done);
        write_manifest(outdir, g, o, data, threads, bt, start, fin, ntodo);
        return 0;
    }
    cl_summarize_opts so = {.ncells = g->ncells};
    cl_summarize_report sr;
    if (o->shard_of) { /* summaries need every cell: clreg merge writes them */
        now_text(when, sizeof when);
        write_manifest(outdir, g, o, data, threads, bt, start, when, ntodo);
        return 0;
    }
    if (cl_results_summarize(outdir, &so, &sr)) {
        char err[1024];
        snprintf(err, sizeof err, "%s", cl_errmsg());
        now_text(when, sizeof when);
        snprintf(fin, sizeof fin, "failed at %s while summarizing: %.900s", when, err);
        write_manifest(outdir, g, o, data, threads, bt, start, fin, ntodo);
        return cl_fail("%s", err);
    }
    now_text(when, sizeof when);
    write_manifest(outdir, g, o, data, threads, bt, start, when, ntodo);
    return 0;
}

int cl_grid_run(const cl_grid *g, const cl_data *d, const cl_runner_opts *o, cl_run_report *report)
{
    char outdir[4096];
    memset(report, 0, sizeof *report);
    report->ncells = g->ncells; /* a shard's count once its directory is checked */
    if (o->outdir) snprintf(outdir, sizeof outdir, "%s", o->outdir);
    else snprintf(outdir, sizeof outdir, "results/%s", g->name);
    if (cl_mkdirs(outdir)) return -1;
    /* one writer: nothing in the directory is read or changed before the lock is ours */
    cl_dirlock lock;
    if (cl_dirlock_take(&lock, outdir, o->command)) return -1;
    int rc = run_locked(g, d, o, outdir, report);
    cl_dirlock_release(&lock);
    return rc;
}
