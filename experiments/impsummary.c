/* Importance summaries (see runner.h, cl_importance_summaries): written with a directory's other summaries,
 * read by the importance figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/npy.h"
#include "experiments/runner.h"
#include "experiments/table.h"
#include "regularizers/regularizer.h"

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* With save_state, every cell wrote its parameters and importances after task 1. All cells of one seed and
 * order have trained task 1 identically (no penalty exists yet, and initialization and shuffling are shared),
 * so their task-1 importances are measured on the same parameters and can be compared entry by entry.
 *
 *   importance_hist.csv     label, layer, log10_lo, log10_hi, fraction: histogram of log10(Omega) of the
 *                           weights of each layer, one per registered method whose entry has importances
 *                           (cl_reg_method_has_importance) and whose run saved them, in registry order
 *   importance_scatter.csv  layer, ewc, mas: a deterministic subsample of weights with both importances
 *
 * One label draws each method: the label named as the method when the grid has it, else its first label in
 * summary order, at its selected group's first run. The histogram takes every such method from the registry,
 * so a method added there is summarized without a change here. The scatter is the one comparison clreg
 * exists for, Fisher against MAS's Omega, and names its two methods (SCATTER_X, SCATTER_Y): it is written
 * with rows when the grid has both. */

enum { NBINS = 60 };
static const double LOG_LO = -14, LOG_HI = 4;
static const char *const SCATTER_X = "ewc", *const SCATTER_Y = "mas";

typedef struct imp_run {
    const char *label; /* NULL: no label of the method in the grid */
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

/* The registry index of a method named `name`, -1 when it is not registered. */
static int method_index(const char *name)
{
    for (int k = 0; k < cl_reg_method_count(); k++)
        if (!strcmp(cl_reg_method_name(cl_reg_method_at(k)), name)) return k;
    return -1;
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
    /* per registered method with importances: the first run of its label's selected group */
    int nm = cl_reg_method_count();
    imp_run *pick = cl_calloc((size_t)nm, sizeof *pick);
    int cl = cl_table_col(&rt, "label"), cr = cl_table_col(&rt, "regularizer"), cp = cl_table_col(&rt, "params"),
        cm = cl_table_col(&rt, "lambda"), crun = cl_table_col(&rt, "run");
    int sl = cl_table_col(&st, "label"), sp = cl_table_col(&st, "params"), sm = cl_table_col(&st, "lambda"),
        ss = cl_table_col(&st, "selected");
    for (int s = 0; s < st.nrows; s++) {
        if (strcmp(st.cells[s][ss], "1") != 0) continue;
        for (int r = 0; r < rt.nrows; r++) {
            if (strcmp(rt.cells[r][cl], st.cells[s][sl]) || strcmp(rt.cells[r][cp], st.cells[s][sp]) ||
                strcmp(rt.cells[r][cm], st.cells[s][sm]))
                continue;
            int k = method_index(rt.cells[r][cr]);
            if (k >= 0 && cl_reg_method_has_importance(cl_reg_method_at(k)) &&
                (!pick[k].label || (strcmp(pick[k].label, rt.cells[r][cr]) && !strcmp(rt.cells[r][cl], rt.cells[r][cr])))) {
                pick[k].label = rt.cells[r][cl];
                pick[k].run = strtol(rt.cells[r][crun], NULL, 10);
            }
            break; /* the group's first run */
        }
    }
    int kx = method_index(SCATTER_X), ky = method_index(SCATTER_Y);
    cl_buf hist = {0}, scat = {0};
    cl_buf_printf(&hist, "label,layer,log10_lo,log10_hi,fraction\n");
    cl_buf_printf(&scat, "layer,%s,%s\n", SCATTER_X, SCATTER_Y);
    float **v = cl_calloc((size_t)nm, sizeof *v);
    size_t *n = cl_calloc((size_t)nm, sizeof *n);
    int rc = 0, any = 0;
    for (int layer = 0; layer < 64 && rc == 0; layer++) {
        char name[32];
        snprintf(name, sizeof name, "layer%d", layer);
        int found = 0;
        for (int k = 0; k < nm && rc == 0; k++) {
            v[k] = NULL, n[k] = 0;
            if (!pick[k].label) continue;
            int r = load_layer(dir, pick[k].run, name, &v[k], &n[k]);
            if (r < 0) rc = -1;
            else if (r == 0) found = 1;
        }
        if (rc || !found) {
            for (int k = 0; k < nm; k++) free(v[k]), v[k] = NULL;
            break;
        }
        any = 1;
        for (int k = 0; k < nm; k++) {
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
        if (kx >= 0 && ky >= 0 && v[kx] && v[ky] && n[kx] == n[ky]) {
            const float *x = v[kx], *y = v[ky];
            size_t step = n[kx] / 4000 + 1; /* about 4,000 points per layer */
            for (size_t i = 0; i < n[kx]; i += step) {
                if (!(x[i] > 0 && y[i] > 0)) continue;
                cl_buf_int(&scat, layer), cl_buf_printf(&scat, ",%.6g,%.6g", x[i], y[i]), cl_buf_endrow(&scat);
            }
        }
        for (int k = 0; k < nm; k++) free(v[k]), v[k] = NULL;
    }
    if (rc == 0 && any) {
        snprintf(path, sizeof path, "%s/importance_hist.csv", dir);
        rc = cl_write_file_atomic(path, hist.s, hist.len);
        snprintf(path, sizeof path, "%s/importance_scatter.csv", dir);
        if (!rc) rc = cl_write_file_atomic(path, scat.s, scat.len);
    }
    free(v);
    free(n);
    free(pick);
    cl_buf_free(&hist);
    cl_buf_free(&scat);
    cl_table_free(&rt);
    cl_table_free(&st);
    return rc ? -1 : any;
}
