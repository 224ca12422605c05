/* Shards: what splitting a grid costs, how even the split is, how good the time estimate is, and merging.
 *
 * 1. A grid of 25 cells whose costs differ (split Fashion-MNIST, 5 tasks: fine-tuning, joint training on the
 *    growing union, the exact Fisher, MAS, SI; five seeds), run once as one process (-j 1) and once as 4
 *    shards one after another (-j 1 each). The shards' total CPU time (user + system, from wait4) against
 *    the single run's is the overhead of sharding (each shard loads the data and checks its directory;
 *    target within 5%). The largest shard's CPU time over the mean is the balance (1.00 is perfect); the
 *    same cells dealt out as k mod 4, timed by their runs.csv rows, show what the cost estimate buys.
 * 2. --dry-run's estimated CPU time against the single run's measured CPU time.
 * 3. Merging 10,000 cells: four shard directories of generated rows (2 tasks: a runs.csv row, 6 matrix and
 *    14 curves rows per cell), merged with clreg merge (checks, sorted rows, summaries), timed. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "core/blas.h"
#include "core/npy.h"
#include "core/timer.h"
#include "core/version.h"
#include "datasets/dataset.h"
#include "experiments/estimate.h"
#include "experiments/fingerprint.h"
#include "experiments/grid.h"
#include "experiments/results.h"
#include "experiments/table.h"

static const char *grid_text = "[experiment]\n"
                               "dataset = fashion-mnist\n"
                               "stream = split\n"
                               "scenario = task\n"
                               "hidden = 400\n"
                               "epochs = 1\n"
                               "batch = 128\n"
                               "seeds = 5\n"
                               "importance_samples = 2000\n"
                               "[none]\n"
                               "[joint]\n"
                               "[ewc]\n"
                               "lambda = 10\n"
                               "fisher = exact\n"
                               "[mas]\n"
                               "lambda = 0.01\n"
                               "[si]\n"
                               "lambda = 1\n";

/* Run ./clreg with args; its CPU seconds (user + system) and wall seconds. */
static int timed(char *const args[], double *cpu, double *wall)
{
    double t0 = cl_now();
    pid_t pid = bench_spawn(args);
    int st;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "bench: clreg %s %s failed\n", args[1], args[2]);
        return -1;
    }
    *wall = cl_now() - t0;
    *cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    return 0;
}

static void write_text(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(text, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

/* Each cell's seconds (train + importance + eval) from a results directory's runs.csv. */
static int cell_seconds(const char *dir, int ncells, double *sec)
{
    char p[600];
    snprintf(p, sizeof p, "%s/runs.csv", dir);
    cl_table t;
    static const char *const req[] = {"run", "train_sec", "importance_sec", "eval_sec", NULL};
    if (cl_table_read(&t, p, req)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return -1;
    }
    for (int r = 0; r < t.nrows; r++) {
        long run = strtol(t.cells[r][cl_table_col(&t, "run")], NULL, 10);
        if (run >= 1 && run <= ncells)
            sec[run - 1] = atof(t.cells[r][cl_table_col(&t, "train_sec")]) +
                           atof(t.cells[r][cl_table_col(&t, "importance_sec")]) +
                           atof(t.cells[r][cl_table_col(&t, "eval_sec")]);
    }
    cl_table_free(&t);
    return 0;
}

/* Four shard directories of generated rows for a grid of 10,000 cells (100 lambdas x 100 seeds). */
static int make_shards(const char *dir, double *gen_sec)
{
    double t0 = cl_now();
    const int M = 10000, N = 4, T = 2;
    cl_buf grid = {0};
    cl_buf_printf(&grid, "[experiment]\ndataset = synthetic\nstream = permuted\ntasks = 2\nseeds = 100\n[l2]\nlambda = ");
    for (int i = 0; i < 100; i++) cl_buf_printf(&grid, "%s%g", i ? ", " : "", 0.001 * (i + 1));
    cl_buf_printf(&grid, "\n");
    cl_data d;
    cl_fingerprint fp;
    if (cl_data_open(&d, "synthetic", NULL, 1) || cl_fingerprint_data(&fp, &d)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return -1;
    }
    char blas[256];
    cl_blas_describe(blas, sizeof blas);
    for (int k = 0; k < N; k++) {
        char sd[600], p[700];
        snprintf(sd, sizeof sd, "%s/big/shard-%d-of-%d", dir, k, N);
        if (cl_mkdirs(sd)) return -1;
        snprintf(p, sizeof p, "%s/grid.ini", sd);
        write_text(p, grid.s, grid.len);
        if (cl_fingerprint_write(sd, &fp)) return -1;
        cl_buf b = {0};
        cl_buf_printf(&b, "clreg %s\ngrid: big (big.ini)\ncommand: generated\nBLAS: %s\nshard: %d/%d\n"
                          "cells: %d in the grid, %d run by this invocation\nstarted: -\nfinished: -\n",
                      cl_version(), blas, k, N, M, M / N);
        snprintf(p, sizeof p, "%s/manifest.txt", sd);
        write_text(p, b.s, b.len);
        cl_buf_free(&b);
        cl_buf_printf(&b, "shard: %d/%d\ncells: %d of the grid's %d\nruns:", k, N, M / N, M);
        for (int r = k + 1; r <= M; r += N) cl_buf_printf(&b, " %d", r);
        cl_buf_printf(&b, "\n");
        snprintf(p, sizeof p, "%s/shard.txt", sd);
        write_text(p, b.s, b.len);
        cl_buf_free(&b);
        cl_buf runs = {0}, mx = {0}, cv = {0};
        cl_results_header(&runs, cl_runs_columns);
        cl_results_header(&mx, cl_matrix_columns);
        cl_results_header(&cv, cl_curves_columns);
        for (int r = k + 1; r <= M; r += N) {
            int li = (r - 1) / 100, seed = (r - 1) % 100 + 1;
            double acc[3][2] = {{0.5, 0.5}, {0.9, 0.5}, {0.7 + 0.0001 * li, 0.9}};
            for (int i = 0; i <= T; i++)
                for (int j = 0; j < T; j++)
                    cl_row_write(&mx, cl_matrix_schema,
                                 &(cl_matrix_row){.run = r, .trained_task = i, .eval_task = j + 1,
                                                  .accuracy = acc[i][j], .val_accuracy = NAN});
            for (int j = 0; j < T; j++)
                cl_row_write(&cv, cl_curves_schema, &(cl_curve_point){.run = r, .eval_task = j + 1, .accuracy = acc[0][j]});
            for (int i = 1; i <= T; i++)
                for (int s = 1; s <= 3; s++)
                    for (int j = 0; j < T; j++)
                        cl_row_write(&cv, cl_curves_schema,
                                     &(cl_curve_point){.run = r, .trained_task = i, .epoch = 1, .step = s * 10,
                                                       .x = i - 1 + s / 3.0, .eval_task = j + 1, .accuracy = acc[i][j]});
            cl_run_row row = {.run = r, .label = "l2", .regularizer = "l2", .params = "", .lambda = 0.001 * (li + 1),
                              .dataset = "synthetic", .stream = "permuted", .scenario = "domain", .tasks = 2,
                              .hidden = "400 400", .optimizer = "adam", .lr = 0.001, .epochs = 1, .batch = 128,
                              .order = 0, .order_tasks = "1 2", .seed = (unsigned long long)seed,
                              .acc = (acc[2][0] + acc[2][1]) / 2, .bwt = -0.2, .fwt = 0, .forgetting = 0.2,
                              .learning = 0.8, .intransigence = NAN, .val_acc = NAN, .val_bwt = NAN, .val_fwt = NAN,
                              .val_forgetting = NAN, .val_learning = NAN, .curve_rows = 14, .train_sec = 1,
                              .importance_sec = 0.1, .eval_sec = 0.1};
            cl_row_write(&runs, cl_runs_schema, &row);
        }
        snprintf(p, sizeof p, "%s/runs.csv", sd);
        write_text(p, runs.s, runs.len);
        snprintf(p, sizeof p, "%s/matrix.csv", sd);
        write_text(p, mx.s, mx.len);
        snprintf(p, sizeof p, "%s/curves.csv", sd);
        write_text(p, cv.s, cv.len);
        cl_buf_free(&runs);
        cl_buf_free(&mx);
        cl_buf_free(&cv);
    }
    cl_fingerprint_free(&fp);
    cl_data_free(&d);
    cl_buf_free(&grid);
    *gen_sec = cl_now() - t0;
    return 0;
}

int main(void)
{
    char dir[] = "/tmp/clreg-bench-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char grid[256], single[256], sharded[256];
    snprintf(grid, sizeof grid, "%s/mixed.ini", dir);
    snprintf(single, sizeof single, "%s/single", dir);
    snprintf(sharded, sizeof sharded, "%s/sharded", dir);
    write_text(grid, grid_text, strlen(grid_text));

    /* the estimate, as --dry-run makes it */
    cl_grid g;
    cl_data d;
    cl_estimate est;
    if (cl_grid_load(&g, grid) || cl_data_open(&d, g.set.dataset, NULL, 1) || cl_grid_prepare(&g, &d) ||
        cl_estimate_grid(&est, &g, &d)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    int M = g.ncells;

    double cpu1, wall1;
    char *one[] = {"clreg", "run", grid, "-o", single, "-j", "1", "--fresh", "--quiet", NULL};
    if (timed(one, &cpu1, &wall1)) return 1;
    double shard_cpu[4], total = 0, mx = 0, wall;
    for (int k = 0; k < 4; k++) {
        char spec[16];
        snprintf(spec, sizeof spec, "%d/4", k);
        char *a[] = {"clreg", "run", grid, "--shard", spec, "-o", sharded, "-j", "1", "--fresh", "--quiet", NULL};
        if (timed(a, &shard_cpu[k], &wall)) return 1;
        total += shard_cpu[k];
        mx = shard_cpu[k] > mx ? shard_cpu[k] : mx;
    }
    double mcpu, mwall;
    char *mg[] = {"clreg", "merge", sharded, NULL};
    if (timed(mg, &mcpu, &mwall)) return 1;

    /* k mod 4 with the same cells' measured seconds */
    double *sec = calloc((size_t)M, sizeof *sec), modl[4] = {0}, modmax = 0, sum = 0;
    if (cell_seconds(single, M, sec)) return 1;
    for (int c = 0; c < M; c++) modl[c % 4] += sec[c], sum += sec[c];
    for (int k = 0; k < 4; k++) modmax = modl[k] > modmax ? modl[k] : modmax;

    printf("bench_shard: grid of %d cells (split Fashion-MNIST, 5 tasks, MLP 784-400-2x5; none, joint, ewc exact, "
           "mas, si; 5 seeds), kernel %s\n", M, cl_blas_core());
    printf("  one process -j 1:         CPU %.1f s (wall %.1f s)\n", cpu1, wall1);
    printf("  4 shards, -j 1 each:      CPU %.1f s in all (%.1f, %.1f, %.1f, %.1f): %.3fx the single run "
           "(target <= 1.05)\n", total, shard_cpu[0], shard_cpu[1], shard_cpu[2], shard_cpu[3], total / cpu1);
    printf("  balance (largest / mean): %.2f by the cost estimate; k mod 4 would give %.2f (from the cells' "
           "measured seconds)\n", mx / (total / 4), modmax / (sum / 4));
    printf("  --dry-run estimate:       CPU %.1f s, %.2fx the measured single run\n", est.total_sec,
           est.total_sec / cpu1);
    printf("  merging the 4 shards:     %.2f s\n", mwall);

    double gen;
    char big[300];
    snprintf(big, sizeof big, "%s/big", dir);
    if (make_shards(dir, &gen)) return 1;
    char *mb[] = {"clreg", "merge", big, NULL};
    if (timed(mb, &mcpu, &mwall)) return 1;
    char p[400];
    snprintf(p, sizeof p, "%s/runs.csv", big);
    cl_table t;
    static const char *const req[] = {"run", NULL};
    if (cl_table_read(&t, p, req) || t.nrows != 10000) {
        fprintf(stderr, "bench: the merge of 10,000 cells has %d rows\n", t.nrows);
        return 1;
    }
    cl_table_free(&t);
    printf("  merging 10,000 cells:     %.2f s wall, %.2f s CPU (4 shards of generated rows: 10,000 runs.csv, "
           "60,000 matrix and 140,000 curves rows; checked, sorted, summarized)\n", mwall, mcpu);

    free(sec);
    cl_estimate_free(&est);
    cl_data_free(&d);
    cl_grid_free(&g);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "bench: could not remove %s\n", dir);
    return 0;
}
