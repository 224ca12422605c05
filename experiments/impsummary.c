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

