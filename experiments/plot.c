#include "experiments/plot.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/npy.h"
#include "experiments/runner.h"
#include "experiments/table.h"

extern char **environ;

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- importance summaries ---------------------------------------------------------------------------------
 * With save_state, every cell wrote its parameters and importances after task 1. All cells of one seed and
 * order have trained task 1 identically (no penalty exists yet, and initialization and shuffling are shared),
 * so their task-1 importances are measured on the same parameters and can be compared entry by entry.
 *
 *   importance_hist.csv     label, layer, log10_lo, log10_hi, fraction: histogram of log10(Omega) of the
 *                           weights of each layer, for ewc, mas and mas-local (the selected group's first run)
 *   importance_scatter.csv  layer, ewc, mas: a deterministic subsample of weights with both importances */

enum { NBINS = 60 };
static const double LOG_LO = -14, LOG_HI = 4;

typedef struct imp_run {
    const char *label, *regularizer;
    long run;
} imp_run;

static int load_layer(const char *dir, long run, const char *layer, float **v, size_t *n)
{
    char path[4400];
    int nd;
    size_t shape[4];
    snprintf(path, sizeof path, "%s/state/run%ld/task1/importance/%s.weight.npy", dir, run, layer);
    if (!exists(path)) return 1;
    return cl_npy_read(path, v, n, &nd, shape) ? -1 : 0;
}

int cl_importance_summaries(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/state", dir);
    if (!exists(path)) return 0;
    cl_table rt, st;
    static const char *const rreq[] = {"run", "label", "regularizer", "params", "lambda", NULL};
    static const char *const sreq[] = {"label", "params", "lambda", "selected", NULL};
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (cl_table_read(&rt, path, rreq)) return -1;
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (cl_table_read(&st, path, sreq)) {
        cl_table_free(&rt);
        return -1;
    }
    /* for each of ewc, mas, mas-local: the first run of its label's selected group */
    static const char *const methods[3] = {"ewc", "mas", "mas-local"};
    imp_run pick[3] = {{0}};
    int cl = cl_table_col(&rt, "label"), cr = cl_table_col(&rt, "regularizer"), cp = cl_table_col(&rt, "params"),
        cm = cl_table_col(&rt, "lambda"), crun = cl_table_col(&rt, "run");
    for (int s = 0; s < st.nrows; s++) {
        if (strcmp(st.cells[s][cl_table_col(&st, "selected")], "1") != 0) continue;
        for (int r = 0; r < rt.nrows; r++) {
            if (strcmp(rt.cells[r][cl], st.cells[s][cl_table_col(&st, "label")]) ||
                strcmp(rt.cells[r][cp], st.cells[s][cl_table_col(&st, "params")]) ||
                strcmp(rt.cells[r][cm], st.cells[s][cl_table_col(&st, "lambda")]))
                continue;
            for (int k = 0; k < 3; k++)
                if (!strcmp(rt.cells[r][cr], methods[k]) && !pick[k].label) {
                    pick[k].label = rt.cells[r][cl];
                    pick[k].regularizer = methods[k];
                    pick[k].run = strtol(rt.cells[r][crun], NULL, 10);
                }
        }
    }
    cl_buf hist = {0}, scat = {0};
    cl_buf_printf(&hist, "label,layer,log10_lo,log10_hi,fraction\n");
    cl_buf_printf(&scat, "layer,ewc,mas\n");
    int rc = 0, any = 0;
    for (int layer = 0; layer < 64 && rc == 0; layer++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d", layer);
        float *v[3] = {NULL, NULL, NULL};
        size_t n[3] = {0, 0, 0};
        int found = 0;
        for (int k = 0; k < 3 && rc == 0; k++) {
            if (!pick[k].label) continue;
            int r = load_layer(dir, pick[k].run, name, &v[k], &n[k]);
            if (r < 0) rc = -1;
            else if (r == 0) found = 1;
        }
        if (rc || !found) {
            for (int k = 0; k < 3; k++) free(v[k]);
            break;
        }
        any = 1;
        for (int k = 0; k < 3; k++) {
            if (!v[k]) continue;
            long counts[NBINS] = {0};
            for (size_t i = 0; i < n[k]; i++) {
                double lg = v[k][i] > 0 ? log10(v[k][i]) : LOG_LO; /* zero importance: the lowest bin */
                int b = (int)((lg - LOG_LO) / (LOG_HI - LOG_LO) * NBINS);
                counts[b < 0 ? 0 : b >= NBINS ? NBINS - 1 : b]++;
            }
            for (int b = 0; b < NBINS; b++) {
                cl_buf_str(&hist, pick[k].label);
                cl_buf_int(&hist, layer);
                cl_buf_num(&hist, LOG_LO + (LOG_HI - LOG_LO) * b / NBINS);
                cl_buf_num(&hist, LOG_LO + (LOG_HI - LOG_LO) * (b + 1) / NBINS);
                cl_buf_num(&hist, (double)counts[b] / (double)n[k]);
                cl_buf_endrow(&hist);
            }
        }
        if (v[0] && v[1] && n[0] == n[1]) {
            size_t step = n[0] / 4000 + 1; /* about 4,000 points per layer */
            for (size_t i = 0; i < n[0]; i += step) {
                if (!(v[0][i] > 0 && v[1][i] > 0)) continue;
                cl_buf_int(&scat, layer), cl_buf_printf(&scat, ",%.6g,%.6g", v[0][i], v[1][i]), cl_buf_endrow(&scat);
            }
        }
        for (int k = 0; k < 3; k++) free(v[k]);
    }
    if (rc == 0 && any) {
        snprintf(path, sizeof path, "%s/importance_hist.csv", dir);
        rc = cl_write_file_atomic(path, hist.s, hist.len);
        snprintf(path, sizeof path, "%s/importance_scatter.csv", dir);
        if (!rc) rc = cl_write_file_atomic(path, scat.s, scat.len);
    }
    cl_buf_free(&hist);
    cl_buf_free(&scat);
    cl_table_free(&rt);
    cl_table_free(&st);
    return rc ? -1 : any;
}

/* ---- running gnuplot -------------------------------------------------------------------------------------- */

/* Quote a value for a gnuplot string literal in single quotes ('' inside). */
static void gp_quote(char *out, size_t n, const char *s)
{
    size_t k = 0;
    for (; *s && k + 3 < n; s++) {
        if (*s == '\'') out[k++] = '\'';
        out[k++] = *s;
    }
    out[k] = 0;
}

/* Run one script; 0, or -1 with the script name and gnuplot's first error line. */
static int run_gnuplot(const char *plotdir, const char *script, const char *dir, const char *name, const char *term,
                       const char *labels, const char *label)
{
    char qdir[4200], qout[4400], qpd[4200], qlabels[2048], qlabel[512], vars[16384], spath[4400], errpath[] = "/tmp/clreg-gnuplot-XXXXXX";
    char out[4400];
    snprintf(out, sizeof out, "%s/plots/%s", dir, name);
    gp_quote(qdir, sizeof qdir, dir);
    gp_quote(qout, sizeof qout, out);
    gp_quote(qpd, sizeof qpd, plotdir);
    gp_quote(qlabels, sizeof qlabels, labels);
    gp_quote(qlabel, sizeof qlabel, label ? label : "");
    snprintf(vars, sizeof vars, "dir='%s'; out='%s'; term='%s'; plotdir='%s'; labels='%s'; label='%s'", qdir, qout, term,
             qpd, qlabels, qlabel);
    snprintf(spath, sizeof spath, "%s/%s", plotdir, script);
    int efd = mkstemp(errpath);
    if (efd < 0) return cl_fail("cannot create a temporary file: %s", strerror(errno));
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    posix_spawn_file_actions_adddup2(&fa, efd, 1);
    char *argv[] = {"gnuplot", "-e", vars, spath, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(efd);
        unlink(errpath);
        return cl_fail("cannot run gnuplot: %s (install it with make deps)", strerror(rc));
    }
    int st;
    waitpid(pid, &st, 0);
    char msg[600] = "";
    FILE *ef = fdopen(efd, "r");
    if (ef) {
        rewind(ef);
        char line[600];
        /* gnuplot's error report: the line that names the script position, then the message */
        while (fgets(line, sizeof line, ef))
            if (strstr(line, "line ") || strstr(line, "rror")) {
                line[strcspn(line, "\n")] = 0;
                snprintf(msg, sizeof msg, "%s", line);
                break;
            }
        fclose(ef);
    } else {
        close(efd);
    }
    unlink(errpath);
    char file[4500];
    snprintf(file, sizeof file, "%s.%s", out, term);
    struct stat fs;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || stat(file, &fs) != 0 || fs.st_size == 0)
        return cl_fail("gnuplot %s (%s) failed%s%s", spath, term, msg[0] ? ": " : "", msg);
    return 0;
}

static const char *find_plotdir(char *buf, size_t n)
{
    const char *env = getenv("CLREG_PLOTS");
    if (env && *env) return env;
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            /* ./clreg at the top of the repository, or build/asan/clreg two levels down */
            const char *ups[] = {"", "/../..", NULL};
            for (int i = 0; ups[i]; i++) {
                snprintf(buf, n, "%s%s/plots/common.gp", exe, ups[i]);
                if (exists(buf)) {
                    snprintf(buf, n, "%s%s/plots", exe, ups[i]);
                    return buf;
                }
            }
        }
    }
    return "plots";
}

int cl_plot(const char *dir, const cl_plot_opts *o)
{
    char path[4400], pdbuf[4200];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (!exists(dir)) return cl_fail("%s: no such results directory", dir);
    if (!exists(path)) return cl_fail("%s: no runs.csv: run a grid into it first (clreg run GRID.ini -o %s)", dir, dir);
    /* summaries: recomputed (cheap) so a selection or a partial run is always reflected */
    if (cl_results_finalize(dir, o->select, o->nselect)) return -1;
    const char *plotdir = o->plotdir ? o->plotdir : find_plotdir(pdbuf, sizeof pdbuf);
    snprintf(path, sizeof path, "%s/common.gp", plotdir);
    if (!exists(path)) return cl_fail("%s: the gnuplot scripts are missing (set CLREG_PLOTS to the plots/ directory)", path);
    int imp = cl_importance_summaries(dir);
    if (imp < 0) return -1;

    /* every file a script reads, checked here so a problem is one clear message, not gnuplot's */
    static const char *const files[] = {"summary.csv", "summary_tasks.csv", "summary_matrix.csv", "summary_curves.csv", NULL};
    for (int i = 0; files[i]; i++) {
        cl_table t;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (cl_table_read(&t, path, NULL)) return -1;
        int empty = t.nrows == 0;
        cl_table_free(&t);
        if (empty) return cl_fail("%s: no rows (did every cell diverge?)", path);
    }
    /* labels in summary order, no duplicates */
    cl_table st;
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (cl_table_read(&st, path, NULL)) return -1;
    char labels[2048] = "";
    size_t len = 0;
    for (int r = 0; r < st.nrows; r++) {
        int dup = 0;
        for (int q = 0; q < r; q++) dup |= !strcmp(st.cells[q][0], st.cells[r][0]);
        if (!dup) len += (size_t)snprintf(labels + len, len < sizeof labels ? sizeof labels - len : 0, "%s%s", len ? " " : "", st.cells[r][0]);
    }
    snprintf(path, sizeof path, "%s/plots", dir);
    if (cl_mkdirs(path)) {
        cl_table_free(&st);
        return -1;
    }
    static const char *const figures[] = {"curves", "avg_acc", "lambda", "bars", NULL};
    const char *terms[2] = {"png", "svg"};
    int rc = 0;
    for (int ti = 0; ti < 2 && !rc; ti++) {
        if ((ti == 0 && !o->png) || (ti == 1 && !o->svg)) continue;
        for (int f = 0; figures[f] && !rc; f++) {
            char script[64];
            snprintf(script, sizeof script, "%s.gp", figures[f]);
            rc = run_gnuplot(plotdir, script, dir, figures[f], terms[ti], labels, NULL);
        }
        for (int r = 0; r < st.nrows && !rc; r++) {
            int dup = 0;
            for (int q = 0; q < r; q++) dup |= !strcmp(st.cells[q][0], st.cells[r][0]);
            if (dup) continue;
            char name[300];
            snprintf(name, sizeof name, "matrix_%s", st.cells[r][0]);
            rc = run_gnuplot(plotdir, "matrix.gp", dir, name, terms[ti], labels, st.cells[r][0]);
        }
        if (!rc && imp > 0) rc = run_gnuplot(plotdir, "importance.gp", dir, "importance", terms[ti], labels, NULL);
        if (!rc && imp > 0) {
            snprintf(path, sizeof path, "%s/importance_scatter.csv", dir);
            struct stat fs;
            if (stat(path, &fs) == 0 && fs.st_size > 20)
                rc = run_gnuplot(plotdir, "importance_scatter.gp", dir, "importance_scatter", terms[ti], labels, NULL);
        }
    }
    cl_table_free(&st);
    return rc;
}
