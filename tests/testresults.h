/* Helpers for tests that run grids through the command line and compare results directories. */
#ifndef CLREG_TESTRESULTS_H
#define CLREG_TESTRESULTS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "testdata.h"
#include "testutil.h"

/* Tiny MNIST-format data (4 classes of 8x8 images); salt makes other data of the same shape. */
static inline void tr_make_data(const char *dir, int salt)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char p[4200];
    mkdir(dir, 0755);
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        int n = k < 2 ? 240 : 60;
        if (k % 2 == 0) td_write_images(p, n, 8, 8, (k < 2 ? 0 : 1) + 7 * salt, TD_RAW);
        else td_write_labels(p, n, 4, (k < 2 ? 0 : 1) + salt, TD_RAW);
    }
}

static inline char *tr_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0, n;
    char *s = malloc(cap);
    while ((n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) s = realloc(s, cap *= 2);
    }
    fclose(f);
    s[len] = 0;
    return s;
}

/* A results file without its timing columns (the only ones allowed to differ between two runs). */
static inline char *tr_untimed(const char *path)
{
    char *s = tr_slurp(path);
    if (!s) fail_msg("%s: missing", path);
    char *o = malloc(strlen(s) + 1), *w = o;
    /* the timing columns are the last three of runs.csv; other files have none */
    int runs = strstr(path, "runs.csv") != NULL;
    for (char *line = s; *line;) {
        char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        size_t keep = len;
        if (runs) {
            int commas = 0;
            for (size_t i = len; i > 0; i--)
                if (line[i - 1] == ',' && ++commas == 3) {
                    keep = i - 1;
                    break;
                }
        }
        memcpy(w, line, keep);
        w += keep;
        *w++ = '\n';
        line += len + (nl ? 1 : 0);
    }
    *w = 0;
    free(s);
    return o;
}

static inline void tr_assert_same_results(const char *a, const char *b)
{
    static const char *const files[] = {"runs.csv", "matrix.csv", "curves.csv", "summary.csv", "summary_tasks.csv",
                                        "summary_matrix.csv", "summary_curves.csv", "best.csv", NULL};
    for (int i = 0; files[i]; i++) {
        char pa[4200], pb[4200];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        char *x = tr_untimed(pa), *y = tr_untimed(pb);
        if (strcmp(x, y)) fail_msg("%s and %s differ", pa, pb);
        free(x);
        free(y);
    }
}

/* 12 cells whose costs differ: joint trains on the growing union, the exact Fisher reads every class, SI
 * and none read nothing at a task's end. Two tasks of two classes each, two seeds. */
static const char *const tr_mixed_grid = "[experiment]\n"
                               "dataset = idx\n"
                               "stream = split\n"
                               "scenario = task\n"
                               "hidden = 16\n"
                               "epochs = 2\n"
                               "batch = 20\n"
                               "seeds = 2\n"
                               "curve_steps = 4\n"
                               "[none]\n"
                               "[joint]\n"
                               "[ewc]\n"
                               "lambda = 1\n"
                               "fisher = exact, empirical\n"
                               "[mas]\n"
                               "lambda = 0.1\n"
                               "[si]\n"
                               "lambda = 1\n";

/* The tiny data (tr_make_data) in DIR/data and tr_mixed_grid in DIR/g.ini, their paths into data and grid. */
static inline void tr_mixed_setup(const char *dir, char *data, char *grid, size_t n)
{
    snprintf(data, n, "%s/data", dir);
    tr_make_data(data, 0);
    snprintf(grid, n, "%s/g.ini", dir);
    td_write_text(grid, tr_mixed_grid);
}

/* Run grid_text as DIR/tiny.ini into DIR/res (its path into results); 0, or -1 with clreg's output on stderr.
 * The fixture of the tests that work on one finished grid's results. */
static inline int tr_run_grid(const char *dir, const char *grid_text, char *results, size_t n, char *out, size_t outn)
{
    char path[4200], args[9000];
    snprintf(path, sizeof path, "%s/tiny.ini", dir);
    td_write_text(path, grid_text);
    snprintf(results, n, "%s/res", dir);
    snprintf(args, sizeof args, "run %s -o %s --quiet", path, results);
    if (tu_run_clreg(args, out, outn) != 0) {
        fprintf(stderr, "grid failed:\n%s\n", out);
        return -1;
    }
    return 0;
}

#endif
