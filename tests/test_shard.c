/* Shards and merge: which shard a cell goes to, the cost it is balanced by, shards merged equal to one
 * process's run, and every refusal of clreg merge. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testdata.h"
#include "testutil.h"
#include "testresults.h"

#include "core/error.h"
#include "datasets/dataset.h"
#include "experiments/grid.h"
#include "experiments/shard.h"
#include "experiments/table.h"
#include "experiments/train.h"

static char out[1 << 16];

typedef struct fixture {
    char *dir;
    char data[1100], grid[1100];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    snprintf(f->data, sizeof f->data, "%s/data", f->dir);
    tr_make_data(f->data, 0);
    snprintf(f->grid, sizeof f->grid, "%s/g.ini", f->dir);
    td_write_text(f->grid, tr_mixed_grid);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
    char args[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    return tu_run_clreg(args, out, sizeof out);
}

#define RUN_OK(...)                                                                                                    \
    do {                                                                                                               \
        if (run(__VA_ARGS__) != 0) fail_msg("clreg failed: %s", out);                                                 \
    } while (0)

/* ---- which shard ------------------------------------------------------------------------------------------- */

static void test_parse(void **state)
{
    (void)state;
    cl_shard s;
    assert_int_equal(cl_shard_parse("--shard", "0/4", &s), 0);
    assert_int_equal(s.index, 0);
    assert_int_equal(s.count, 4);
    assert_int_equal(cl_shard_parse("--shard", "3/4", &s), 0);
    assert_int_equal(s.index, 3);
    static const struct {
        const char *text, *msg;
    } bad[] = {{"4/4", "the shard I from 0 to 3"}, {"-1/4", "the shard I from 0 to 3"}, {"a/4", "shard I from 0"},
               {"1/0", "number of shards N from 1"}, {"1", "expected I/N"}, {"", "expected I/N"},
               {"1/ 4", "number of shards N"}, {"0x1/4", "the shard I"}, {"1/1001", "number of shards N from 1 to 1000"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(cl_shard_parse("--shard", bad[i].text, &s), -1);
        if (!strstr(cl_errmsg(), bad[i].msg)) fail_msg("'%s': %s", bad[i].text, cl_errmsg());
    }
    /* a SLURM array need not start at 0: I = ID - MIN */
    setenv("SLURM_ARRAY_TASK_ID", "7", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "5", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "4", 1);
    assert_int_equal(cl_shard_parse("--shard", "slurm", &s), 0);
    assert_int_equal(s.index, 2);
    assert_int_equal(s.count, 4);
    setenv("SLURM_ARRAY_TASK_ID", "9", 1); /* a stepped array (5-11:2): IDs beyond MIN + COUNT - 1 */
    assert_int_equal(cl_shard_parse("--shard", "slurm", &s), -1);
    assert_non_null(strstr(cl_errmsg(), "must be consecutive"));
    setenv("SLURM_ARRAY_TASK_ID", "x", 1);
    assert_int_equal(cl_shard_parse("--shard", "slurm", &s), -1);
    assert_non_null(strstr(cl_errmsg(), "SLURM_ARRAY_TASK_ID is 'x'"));
    unsetenv("SLURM_ARRAY_TASK_ID");
    assert_int_equal(cl_shard_parse("--shard", "slurm", &s), -1);
    assert_non_null(strstr(cl_errmsg(), "SLURM_ARRAY_TASK_ID is not set"));
    unsetenv("SLURM_ARRAY_TASK_MIN");
    unsetenv("SLURM_ARRAY_TASK_COUNT");
}

/* The greedy rule, worked by hand: costs 7 5 4 3 3 2 over two shards.
 *   7 -> 0 (0: 7)   5 -> 1 (1: 5)   4 -> 1 (1: 9)   3 -> 0 (0: 10)   3 (run 5) -> 1 (1: 12)   2 -> 0 (0: 12)
 * and k mod 2 would load 7+4+3 = 14 against 10. */
static void test_assign_by_hand(void **state)
{
    (void)state;
    const uint64_t cost[6] = {7, 5, 4, 3, 3, 2};
    int of[6];
    cl_shard_assign(6, cost, 2, of);
    const int want[6] = {0, 1, 1, 0, 1, 0};
    for (int i = 0; i < 6; i++) assert_int_equal(of[i], want[i]);
    /* ties go to the lower run first and the lower shard: equal costs deal out in turn */
    const uint64_t same[5] = {1, 1, 1, 1, 1};
    int of5[5];
    cl_shard_assign(5, same, 3, of5);
    const int want5[5] = {0, 1, 2, 0, 1};
    for (int i = 0; i < 5; i++) assert_int_equal(of5[i], want5[i]);
    /* more shards than cells: the extra shards are empty */
    cl_shard_assign(2, cost, 4, of);
    assert_int_equal(of[0], 0);
    assert_int_equal(of[1], 1);
}

/* The cost estimate against the formula in shard.h, computed here from the stream's counts. */
static void test_costs(void **state)
{
    fixture *f = *state;
    cl_grid g;
    cl_data d;
    if (cl_grid_load(&g, f->grid)) fail_msg("%s", cl_errmsg());
    if (cl_data_open(&d, "idx", f->data, 1)) fail_msg("%s", cl_errmsg());
    if (cl_grid_prepare(&g, &d)) fail_msg("%s", cl_errmsg());
    assert_int_equal(g.ncells, 12);
    uint64_t cost[12];
    if (cl_shard_costs(&g, &d, cost)) fail_msg("%s", cl_errmsg());
    cl_stream s;
    cl_stream_cfg sc = g.set.stream;
    if (cl_stream_create(&s, &d, &sc)) fail_msg("%s", cl_errmsg());
    assert_int_equal(s.ntasks, 2);
    /* per sample: 64 x 16 + 16 x 2 multiply-adds (two-class heads) */
    const uint64_t P = 64 * 16 + 16 * 2;
    uint64_t n0 = (uint64_t)s.task[0].ntrain, n1 = (uint64_t)s.task[1].ntrain;
    uint64_t eval_row = P * (uint64_t)(s.task[0].ntest + s.task[1].ntest);
    /* 120 training samples per task: 6 steps of batch 20 per epoch, 12 in 2 epochs. Curve points: after
     * epoch 1 (eval = epoch, the default), and at steps 4 and 8 (curve_steps = 4; step 12 ends the task) */
    assert_true(n0 == 120 && n1 == 120);
    uint64_t steps0 = 12, steps1 = 12;
    uint64_t curve = 2 * 3 * eval_row;
    uint64_t none = 3 * eval_row + 3 * 2 * P * (n0 + n1) + curve;
    /* cells: none (2 seeds), joint, ewc exact, ewc empirical, mas, si */
    if (cost[0] != none || cost[1] != none)
        fail_msg("none: %llu %llu, expected %llu", (unsigned long long)cost[0], (unsigned long long)cost[1],
                 (unsigned long long)none);
    /* joint's second task trains on 240 samples: 12 steps per epoch, 24 in all; points after epoch 1 and at
     * steps 4, 8, 16, 20 (12 and 24 end epochs) */
    uint64_t joint = 3 * eval_row + 3 * 2 * P * (n0 + (n0 + n1)) + (3 + 5) * eval_row;
    assert_true(cost[2] == joint);
    uint64_t pen = 16 * P * (steps0 + steps1);
    uint64_t exact = none + pen + 3 * P * n0 * 1140 / 1000 + 3 * P * n1 * 1140 / 1000; /* two classes per head */
    if (cost[4] != exact) fail_msg("ewc exact: %llu, expected %llu", (unsigned long long)cost[4], (unsigned long long)exact);
    uint64_t emp = none + pen + 3 * P * n0 * 920 / 1000 + 3 * P * n1 * 920 / 1000;
    if (cost[6] != emp) fail_msg("ewc empirical: %llu, expected %llu", (unsigned long long)cost[6], (unsigned long long)emp);
    assert_true(cost[10] == none + pen); /* si reads nothing at a task's end */
    assert_true(cost[2] > cost[0] && cost[4] > cost[6] && cost[6] > cost[10] && cost[10] > cost[0]);
    cl_stream_free(&s);
    cl_data_free(&d);
    cl_grid_free(&g);
}

/* ---- merged shards equal one process ---------------------------------------------------------------------- */

static void test_shards_equal_single_run(void **state)
{
    fixture *f = *state;
    RUN_OK("run %s --data-path %s -o %s/single -j 1 --quiet", f->grid, f->data, f->dir);
    for (int i = 0; i < 3; i++) RUN_OK("run %s --data-path %s --shard %d/3 -o %s/sh -j 1 --quiet", f->grid, f->data, i, f->dir);
    assert_non_null(strstr(out, "shard 2/3:"));
    assert_non_null(strstr(out, "clreg merge"));
    /* every cell in exactly one shard, and the shards' loads within 4/3 of the best split */
    int seen[13] = {0};
    for (int i = 0; i < 3; i++) {
        char d[1200];
        snprintf(d, sizeof d, "%s/sh/shard-%d-of-3", f->dir, i);
        cl_shard s;
        int n = 0;
        unsigned char *runs;
        assert_int_equal(cl_shard_read(d, &s, &n, &runs), 0);
        assert_int_equal(s.index, i);
        assert_int_equal(n, 12);
        for (int r = 1; r <= 12; r++) seen[r] += runs[r];
        free(runs);
    }
    for (int r = 1; r <= 12; r++) assert_int_equal(seen[r], 1);
    /* the curve points test_costs counts are the ones the runner writes: T x (1 + per task (points + 1)) rows,
     * 2 x (1 + 4 + 4) for none, 2 x (1 + 4 + 6) for joint */
    char p[1200];
    snprintf(p, sizeof p, "%s/single/runs.csv", f->dir);
    char *runs = tr_slurp(p);
    assert_non_null(strstr(runs, ",18,")); /* none's curve_rows */
    assert_non_null(strstr(runs, ",22,")); /* joint's */
    free(runs);
    RUN_OK("merge %s/sh", f->dir);
    assert_non_null(strstr(out, "merged 3 shards of 3: 12 of the grid's 12 cells"));
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/single", f->dir);
    snprintf(b, sizeof b, "%s/sh", f->dir);
    tr_assert_same_results(a, b);
    /* merging again (the same shards) replaces the merge with the same files */
    RUN_OK("merge %s/sh %s/sh/shard-2-of-3 %s/sh/shard-0-of-3 %s/sh/shard-1-of-3", f->dir, f->dir, f->dir, f->dir);
    tr_assert_same_results(a, b);
    /* the merged directory is an ordinary one: a rerun of the grid into it finds nothing to do */
    RUN_OK("run %s --data-path %s -o %s/sh -j 1 --quiet", f->grid, f->data, f->dir);
    tr_assert_same_results(a, b);
}

/* A grid with a validation split: the held-out samples are the seed's, so one process at -j 1, at -j 2 and
 * three shards merged write the same results, validation accuracies included. */
static void test_validation_same_everywhere(void **state)
{
    fixture *f = *state;
    char grid[1200], a[1200], b[1200], p[1300];
    snprintf(grid, sizeof grid, "%s/val.ini", f->dir);
    td_write_text(grid, "[experiment]\ndataset = idx\nstream = split\nscenario = task\nhidden = 16\nepochs = 2\n"
                        "batch = 20\nseeds = 2\nvalidation = 0.25\n[none]\n[ewc]\nlambda = 1, 10\n[mas]\nlambda = 0.1\n");
    RUN_OK("run %s --data-path %s -o %s/v1 -j 1 --quiet", grid, f->data, f->dir);
    RUN_OK("run %s --data-path %s -o %s/v2 -j 2 --quiet", grid, f->data, f->dir);
    for (int i = 0; i < 3; i++) RUN_OK("run %s --data-path %s --shard %d/3 -o %s/vs -j 1 --quiet", grid, f->data, i, f->dir);
    RUN_OK("merge %s/vs", f->dir);
    snprintf(a, sizeof a, "%s/v1", f->dir);
    snprintf(b, sizeof b, "%s/v2", f->dir);
    tr_assert_same_results(a, b);
    snprintf(b, sizeof b, "%s/vs", f->dir);
    tr_assert_same_results(a, b);
    /* the validation columns hold numbers, and the selection says it used them */
    snprintf(p, sizeof p, "%s/matrix.csv", a);
    cl_table t;
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    double v;
    for (int r = 0; r < t.nrows; r++) {
        assert_int_equal(cl_table_num(&t, r, cl_table_col(&t, "val_accuracy"), &v), 0);
        assert_true(v >= 0 && v <= 1);
    }
    cl_table_free(&t);
    snprintf(p, sizeof p, "%s/best.csv", a);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_int_equal(t.nrows, 3);
    for (int r = 0; r < t.nrows; r++) assert_string_equal(t.cells[r][cl_table_col(&t, "selected_on")], "val_acc");
    cl_table_free(&t);
}

/* A partial merge, then the missing shard, then a full merge; and a partial merge completed by clreg run. */
static void test_partial(void **state)
{
    fixture *f = *state;
    RUN_OK("run %s --data-path %s -o %s/single -j 1 --quiet", f->grid, f->data, f->dir);
    for (int i = 0; i < 2; i++) RUN_OK("run %s --data-path %s --shard %d/3 -o %s/sh -j 2 --quiet", f->grid, f->data, i, f->dir);
    assert_int_equal(run("merge %s/sh", f->dir), 1);
    assert_non_null(strstr(out, "shard 2 of 3 is absent: runs "));
    assert_non_null(strstr(out, "--partial"));
    assert_int_equal(tu_count_lines(out), 1);
    char p[1200];
    snprintf(p, sizeof p, "%s/sh/runs.csv", f->dir);
    assert_int_equal(access(p, F_OK), -1); /* refused: nothing written */
    RUN_OK("merge %s/sh --partial", f->dir);
    assert_non_null(strstr(out, "partial: "));
    assert_non_null(strstr(out, "are not merged: shard 2 of 3 is absent"));
    char *runs = tr_slurp(p);
    int merged = tu_count_lines(runs) - 1;
    free(runs);
    assert_true(merged > 0 && merged < 12);
    snprintf(p, sizeof p, "%s/sh/summary.csv", f->dir);
    assert_int_equal(access(p, F_OK), 0);
    /* the merged directory resumes: clreg run computes the missing cells only */
    RUN_OK("run %s --data-path %s -o %s/sh -j 2 --quiet", f->grid, f->data, f->dir);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/single", f->dir);
    snprintf(b, sizeof b, "%s/sh", f->dir);
    tr_assert_same_results(a, b);
    /* the last shard, and a full merge over the partial one */
    RUN_OK("run %s --data-path %s --shard 2/3 -o %s/sh -j 2 --quiet", f->grid, f->data, f->dir);
    RUN_OK("merge %s/sh", f->dir);
    tr_assert_same_results(a, b);
}

/* A copy of one shard directory, to damage. */
static void copy_dir(const char *from, const char *to)
{
    char cmd[4000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", to, from, to);
    assert_int_equal(system(cmd), 0);
}

static void edit(const char *path, const char *from, const char *to)
{
    char *s = tr_slurp(path), *at = s ? strstr(s, from) : NULL;
    if (!at) fail_msg("%s: no '%s'", path, from);
    FILE *fp = fopen(path, "wb");
    fwrite(s, 1, (size_t)(at - s), fp);
    fputs(to, fp);
    fputs(at + strlen(from), fp);
    fclose(fp);
    free(s);
}

static void expect_merge(const char *args, const char *a, const char *b, const char *c)
{
    assert_int_equal(run("merge %s", args), 1);
    if (!strstr(out, a) || (b && !strstr(out, b)) || (c && !strstr(out, c))) fail_msg("merge %s: %s", args, out);
    if (tu_count_lines(out) != 1) fail_msg("merge %s: more than one line: %s", args, out);
}

static void test_refusals(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < 2; i++) RUN_OK("run %s --data-path %s --shard %d/2 -o %s/sh -j 2 --quiet", f->grid, f->data, i, f->dir);
    char s0[1200], s1[1200], x[1200], args[4000], p[1300];
    snprintf(s0, sizeof s0, "%s/sh/shard-0-of-2", f->dir);
    snprintf(s1, sizeof s1, "%s/sh/shard-1-of-2", f->dir);
    snprintf(x, sizeof x, "%s/x", f->dir);

    /* a missing cell: shard 1's last runs.csv row gone (killed before it was written) */
    copy_dir(s1, x);
    snprintf(p, sizeof p, "%s/runs.csv", x);
    char *r = tr_slurp(p);
    char *last = r + strlen(r) - 1;
    while (last > r && last[-1] != '\n') last--;
    long lastrun = strtol(last, NULL, 10);
    *last = 0;
    td_write_text(p, r);
    free(r);
    char want[200];
    snprintf(want, sizeof want, "lacks 1 of its cells: runs %ld", lastrun);
    snprintf(args, sizeof args, "%s/m %s %s", f->dir, s0, x);
    expect_merge(args, "1 of the grid's 12 cells are not complete", want, "shard 1/2");

    /* a duplicate: shard 0 twice, under two names */
    copy_dir(s0, x);
    snprintf(args, sizeof args, "%s/m %s %s %s", f->dir, s0, s1, x);
    expect_merge(args, "are both shard 0/2", "would be merged twice", "runs ");

    /* another grid: the same shard of an edited grid file */
    copy_dir(s1, x);
    snprintf(p, sizeof p, "%s/grid.ini", x);
    edit(p, "seeds = 2", "seeds = 1, 2");
    snprintf(args, sizeof args, "%s/m %s %s", f->dir, s0, x);
    expect_merge(args, "are shards of different grids", NULL, NULL);

    /* other data: shard 1 run on other files of the same shape */
    char other[1200];
    snprintf(other, sizeof other, "%s/data2", f->dir);
    tr_make_data(other, 3);
    RUN_OK("run %s --data-path %s --shard 1/2 -o %s/other -j 2 --quiet", f->grid, other, f->dir);
    snprintf(args, sizeof args, "%s/m %s %s/other/shard-1-of-2", f->dir, s0, f->dir);
    expect_merge(args, "ran on different data", "train-images-idx3-ubyte", NULL);

    /* another clreg build */
    copy_dir(s1, x);
    snprintf(p, sizeof p, "%s/manifest.txt", x);
    edit(p, "clreg 0.", "clreg 9.");
    snprintf(args, sizeof args, "%s/m %s %s", f->dir, s0, x);
    expect_merge(args, "ran clreg 0.", "ran clreg 9.", "one build");

    /* another split: shard 1 of 3 beside shard 0 of 2 */
    RUN_OK("run %s --data-path %s --shard 1/3 -o %s/three -j 2 --quiet", f->grid, f->data, f->dir);
    snprintf(args, sizeof args, "%s/m %s %s/three/shard-1-of-3", f->dir, s0, f->dir);
    expect_merge(args, "is shard 0/2 of a grid of 12 cells", "shard 1/3", NULL);

    /* a shard still running: its lock is held */
    snprintf(p, sizeof p, "%s/.lock", s1);
    int fd = open(p, O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    snprintf(args, sizeof args, "%s/m %s %s", f->dir, s0, s1);
    expect_merge(args, "is in use by another clreg", "shard-1-of-2", NULL);
    close(fd);

    /* not a shard, and not a directory of shards */
    snprintf(args, sizeof args, "%s/m %s", f->dir, f->data);
    expect_merge(args, "is neither a shard's results directory", NULL, NULL);
    /* a results directory of a run is not replaced by a merge */
    RUN_OK("run %s --data-path %s -o %s/single -j 2 --quiet", f->grid, f->data, f->dir);
    snprintf(args, sizeof args, "%s/single %s %s", f->dir, s0, s1);
    expect_merge(args, "holds the results of a run, not of a merge", NULL, NULL);
    /* nothing was written by any refusal */
    snprintf(p, sizeof p, "%s/m/runs.csv", f->dir);
    assert_int_equal(access(p, F_OK), -1);
    /* and the two shards merge */
    snprintf(args, sizeof args, "%s/m %s %s", f->dir, s0, s1);
    RUN_OK("merge %s", args);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/single", f->dir);
    snprintf(b, sizeof b, "%s/m", f->dir);
    tr_assert_same_results(a, b);
}

/* A shard's directory is its own: resumable, and refused to any other shard or a whole run. */
static void test_shard_dirs(void **state)
{
    fixture *f = *state;
    RUN_OK("run %s --data-path %s --shard 0/2 -o %s/sh -j 2 --quiet", f->grid, f->data, f->dir);
    char d[1200], p[1300];
    snprintf(d, sizeof d, "%s/sh/shard-0-of-2", f->dir);
    snprintf(p, sizeof p, "%s/manifest.txt", d);
    char *man = tr_slurp(p);
    assert_non_null(strstr(man, "shard: 0/2, "));
    assert_non_null(strstr(man, "cells: 12 in the grid"));
    free(man);
    snprintf(p, sizeof p, "%s/summary.csv", d); /* summaries need every cell: merge writes them */
    assert_int_equal(access(p, F_OK), -1);
    /* resume: a cell's rows gone, the rerun computes that cell only */
    snprintf(p, sizeof p, "%s/runs.csv", d);
    char *r = tr_slurp(p);
    int before = tu_count_lines(r);
    char *last = r + strlen(r) - 1;
    while (last > r && last[-1] != '\n') last--;
    *last = 0;
    td_write_text(p, r);
    free(r);
    RUN_OK("run %s --data-path %s --shard 0/2 -o %s/sh -j 2", f->grid, f->data, f->dir);
    r = tr_slurp(p);
    assert_int_equal(tu_count_lines(r), before);
    free(r);
    /* another shard, or the whole grid, into this shard's directory */
    assert_int_equal(run("run %s --data-path %s -o %s -j 2 --quiet", f->grid, f->data, d), 1);
    assert_non_null(strstr(out, "holds the results of shard 0/2"));
    /* --shard slurm from the array's environment: task 6 of an array 5-6 is shard 1/2 */
    char args[4000];
    snprintf(args, sizeof args, "run %s --data-path %s --shard slurm -o %s/sh -j 2 --quiet", f->grid, f->data, f->dir);
    assert_int_equal(tu_run_clreg_env("SLURM_ARRAY_TASK_ID=6 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=2", args,
                                      out, sizeof out), 0);
    assert_non_null(strstr(out, "shard 1/2"));
    snprintf(p, sizeof p, "%s/sh/shard-1-of-2/shard.txt", f->dir);
    assert_int_equal(access(p, F_OK), 0);
    /* a shard's summaries are the merge's: summarize refuses, or summarizes its own cells with --partial */
    assert_int_equal(run("summarize %s", d), 1);
    assert_non_null(strstr(out, "holds shard 0/2 of a grid; its summaries come from merging every shard: clreg merge"));
    RUN_OK("summarize %s --partial", d);
    snprintf(p, sizeof p, "%s/summary.csv", d);
    assert_int_equal(access(p, F_OK), 0);
    /* the estimate: every cell with its time, the grid's and the largest cell's (joint, which trains on the
     * union of the tasks, or the exact Fisher, which reads every class: runs 3-6), and the shard's */
    RUN_OK("run %s --data-path %s --dry-run --shard 1/2", f->grid, f->data);
    assert_non_null(strstr(out, "estimated CPU time "));
    assert_non_null(strstr(out, "for the 12 cells, the largest cell "));
    if (!strstr(out, "(run 3: joint,") && !strstr(out, "(run 4: joint,") && !strstr(out, "(run 5: ewc,") &&
        !strstr(out, "(run 6: ewc,"))
        fail_msg("largest cell: %s", out);
    assert_non_null(strstr(out, "shard 1/2: 6 cells, CPU time about "));
    assert_int_equal(tu_count_lines(out), 1 + 12 + 3);
    /* outside an array */
    assert_int_equal(run("run %s --data-path %s --shard slurm -o %s/sh", f->grid, f->data, f->dir), 2);
    assert_non_null(strstr(out, "--shard slurm: SLURM_ARRAY_TASK_ID is not set"));
    assert_int_equal(run("run %s --data-path %s --shard 2/2 -o %s/sh", f->grid, f->data, f->dir), 2);
    assert_non_null(strstr(out, "--shard: '2/2': expected the shard I from 0 to 1"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_assign_by_hand),
        cmocka_unit_test_setup_teardown(test_costs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shards_equal_single_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_validation_same_everywhere, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shard_dirs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
