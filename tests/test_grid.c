/* Grids: parsing and expansion, rejection of bad grids before anything runs, determinism across thread
 * counts, resume after SIGKILL, and the finalized metrics (intransigence, summaries) against hand-worked
 * numbers. */
#include "tests/testutil.h"
#include "tests/testdata.h"

#include <math.h>
#include <signal.h>
#include <fcntl.h>
#include <glob.h>
#include <sys/stat.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "experiments/grid.h"
#include "experiments/runner.h"
#include "experiments/table.h"

static char out[1 << 16];

static const char *tiny_grid =
    "; a small grid on synthetic data\n"
    "[experiment]\n"
    "dataset = synthetic\n"
    "stream = split\n"
    "scenario = task\n"
    "hidden = 24\n"
    "epochs = 2\n"
    "batch = 32\n"
    "seeds = 2\n"
    "orders = 2\n"
    "curve_steps = 10\n"
    "\n"
    "[none]\n"
    "[joint]\n"
    "[ewc]\n"
    "lambda = 1, 10\n"
    "fisher = empirical, exact\n"
    "[ewc online]\n"
    "mode = online\n"
    "[mas]\n"
    "lambda = 0.1\n";

static void write_grid(const char *dir, const char *name, const char *text, char *path)
{
    snprintf(path, 4096, "%s/%s", dir, name);
    td_write_text(path, text);
}

static void test_expansion(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096];
    write_grid(dir, "tiny.ini", tiny_grid, path);
    cl_grid g;
    if (cl_grid_load(&g, path)) fail_msg("%s", cl_errmsg());
    assert_string_equal(g.name, "tiny");
    assert_int_equal(g.nsections, 5);
    assert_string_equal(g.sections[3].label, "ewc_online");
    cl_data d;
    cl_data_synthetic(&d, 200, 50, 6, 6, 10, 1);
    if (cl_grid_prepare(&g, &d)) fail_msg("%s", cl_errmsg());
    /* (none 1 + joint 1 + ewc 2x2 + ewc online 1 + mas 1) combinations x 2 orders x 2 seeds */
    assert_int_equal(g.ncells, 8 * 4);
    assert_int_equal(g.ntasks, 5);
    /* order 0 is the natural order, order 1 a permutation */
    for (int t = 0; t < 5; t++) assert_int_equal(g.orders[0][t], t);
    int seen[5] = {0}, moved = 0;
    for (int t = 0; t < 5; t++) seen[g.orders[1][t]]++, moved += g.orders[1][t] != t;
    for (int t = 0; t < 5; t++) assert_int_equal(seen[t], 1);
    assert_true(moved > 0);
    /* ewc cells: lambda slowest, then fisher, then order, then seed */
    const cl_grid_cell *c = &g.cells[8]; /* after none's and joint's 4 cells each */
    assert_string_equal(g.sections[c->section].label, "ewc");
    assert_string_equal(cl_grid_cell_value(c, "lambda"), "1");
    assert_string_equal(cl_grid_cell_value(c, "fisher"), "empirical");
    assert_int_equal(c->order, 0);
    assert_int_equal(c->seed, 1);
    c = &g.cells[8 + 4];
    assert_string_equal(cl_grid_cell_value(c, "fisher"), "exact");
    c = &g.cells[8 + 8];
    assert_string_equal(cl_grid_cell_value(c, "lambda"), "10");
    for (int i = 0; i < g.ncells; i++) assert_int_equal(g.cells[i].run, i + 1);
    cl_grid_free(&g);
    cl_data_free(&d);
    tu_rmdir(dir);
}

/* Each bad grid: a message with the file and line, a non-zero exit, and no cell run (no runs.csv). */
static void test_bad_grids(void **state)
{
    (void)state;
    struct {
        const char *text, *expect1, *expect2;
    } cases[] = {
        {"[experiment]\ndataset = synthetic\n[ewcc]\n", ":3:", "did you mean [ewc]"},
        {"[experiment]\ndataset = synthetic\nepoch = 2\n[none]\n", ":3:", "did you mean 'epochs'"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlamda = 1\n", ":4:", "did you mean 'lambda'"},
        {"[experiment]\ndataset = synthetic\n[mas]\nlambda = 1, -2\n", ":4:", "lambda"},
        {"[experiment]\ndataset = synthetic\n[mas]\nlambda = inf\n", ":4:", "finite"},
        {"[experiment]\ndataset = synthetic\n[mas]\nlambda = nan\n", ":4:", "finite"},
        {"[experiment]\ndataset = synthetic\nstream = split\ntasks = 9\n[none]\n", ":1:", "only 5 class groups"},
        {"[experiment]\ndataset = synthetic\n[fancy]\n", ":3:", "unknown section [fancy]"},
        {"[experiment]\ndataset = synthetic\nthis line has no equals sign\n[none]\n", ":3:", "key = value"},
        {"[experiment]\ndataset = synthetic\nseeds = 1, x\n[none]\n", ":3:", "seeds"},
        {"[experiment]\ndataset = synthetic\norders = 1 2 3 4 4\n[none]\n", ":3:", "task 4 twice"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 1,,2\n", ":4:", "empty item"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 1\nlambda = 2\n", ":5:", "given twice"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nfisher = empirical\ndata = test\n", ":3:", "test labels"},
        {"[experiment]\ndataset = synthetic\n", "no method sections", NULL},
        {"[experiment]\ndataset = synthetic\n[none]\n[none]\n", ":4:", "appears twice"},
        {"[experiment]\ndataset = imagenet\n[none]\n", "imagenet", "fashion-mnist"},
        {"[experiment]\ndataset = synthetic\nscenario = sometimes\n[none]\n", ":3:", "task, domain or class"},
        {"[experiment]\ndataset = synthetic\nhidden = 10,0\n[none]\n", ":3:", "hidden"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *dir = tu_mkdtemp(), path[4096], args[8400], runs[4200];
        write_grid(dir, "bad.ini", cases[i].text, path);
        snprintf(args, sizeof args, "run %s -o %s/res", path, dir);
        int rc = tu_run_clreg(args, out, sizeof out);
        if (rc == 0 || rc < 0 || tu_count_lines(out) != 1 || !strstr(out, cases[i].expect1) ||
            (cases[i].expect2 && !strstr(out, cases[i].expect2)))
            fail_msg("case %zu: exit %d, output:\n%s", i, rc, out);
        if (strstr(cases[i].expect1, ":") && !strstr(out, "bad.ini")) fail_msg("case %zu: no file name:\n%s", i, out);
        snprintf(runs, sizeof runs, "%s/res/runs.csv", dir);
        if (access(runs, F_OK) == 0) fail_msg("case %zu: a cell ran", i);
        tu_rmdir(dir);
    }
    assert_int_not_equal(tu_run_clreg("run /nonexistent/grid.ini", out, sizeof out), 0);
    assert_non_null(strstr(out, "/nonexistent/grid.ini"));
}

static int files_equal(const char *a, const char *b, int runs_csv)
{
    char cmd[9000];
    if (runs_csv) /* timing columns (the last three) aside */
        snprintf(cmd, sizeof cmd, "cmp -s <(cut -d, -f1-24 '%s') <(cut -d, -f1-24 '%s')", a, b);
    else
        snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    char full[9100];
    snprintf(full, sizeof full, "bash -c \"%s\"", cmd);
    return system(full) == 0;
}

static void compare_dirs(const char *a, const char *b)
{
    static const char *const files[] = {"runs.csv", "matrix.csv", "curves.csv", "summary.csv", "summary_tasks.csv",
                                        "summary_matrix.csv", "summary_curves.csv", "best.csv", NULL};
    for (int i = 0; files[i]; i++) {
        char pa[4200], pb[4200];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        if (!files_equal(pa, pb, i == 0)) fail_msg("%s differs between %s and %s", files[i], a, b);
    }
}

static void test_threads_do_not_change_results(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096], args[8400], a[4200], b[4200];
    write_grid(dir, "tiny.ini", tiny_grid, path);
    snprintf(a, sizeof a, "%s/j1", dir);
    snprintf(b, sizeof b, "%s/j2", dir);
    snprintf(args, sizeof args, "run %s -o %s -j 1", path, a);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "run %s -o %s -j 2", path, b);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    compare_dirs(a, b);
    /* and the table has every cell once */
    char runs[4300];
    snprintf(runs, sizeof runs, "%s/runs.csv", a);
    cl_table t;
    assert_int_equal(cl_table_read(&t, runs, NULL), 0);
    assert_int_equal(t.nrows, 32);
    cl_table_free(&t);
    tu_rmdir(dir);
}

/* A one-cell grid gives the cell's BLAS every core (the threads cells cannot use), whatever -j says, so
 * -j 1 and -j 2 still agree. */
static void test_single_cell_gets_blas_threads(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096], args[8400], a[4200], b[4200], man[4300];
    write_grid(dir, "one.ini", "[experiment]\ndataset = synthetic\ntasks = 2\nhidden = 64\n[none]\n", path);
    snprintf(a, sizeof a, "%s/j1", dir);
    snprintf(b, sizeof b, "%s/j2", dir);
    snprintf(args, sizeof args, "run %s -o %s -j 1", path, a);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "run %s -o %s -j 2", path, b);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    compare_dirs(a, b);
    snprintf(man, sizeof man, "%s/manifest.txt", a);
    FILE *f = fopen(man, "r");
    char text[4096] = "", want[64];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    snprintf(want, sizeof want, "BLAS threads per cell: %ld", sysconf(_SC_NPROCESSORS_ONLN));
    if (!strstr(text, want)) fail_msg("manifest lacks '%s':\n%s", want, text);
    tu_rmdir(dir);
}

static long count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    long n = 0;
    int c;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

/* Killed with SIGKILL once a few cells are done, rerun: exactly the rows of an uninterrupted run. */
static void test_resume_after_kill(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096], full[4200], killed[4200], runs[4300], args[8400];
    /* longer cells, so the kill lands while cells are running */
    char *slow = strdup(tiny_grid);
    char *e = strstr(slow, "epochs = 2");
    memcpy(e, "epochs = 9", 10);
    write_grid(dir, "slow.ini", slow, path);
    free(slow);
    snprintf(full, sizeof full, "%s/full", dir);
    snprintf(killed, sizeof killed, "%s/killed", dir);
    snprintf(args, sizeof args, "run %s -o %s -j 2", path, full);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);

    const char *bin = getenv("CLREG_BIN") ? getenv("CLREG_BIN") : "./clreg";
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(bin, bin, "run", path, "-o", killed, "-j", "2", (char *)NULL);
        _exit(127);
    }
    snprintf(runs, sizeof runs, "%s/runs.csv", killed);
    for (int i = 0; i < 6000 && count_lines(runs) < 4; i++) usleep(10000); /* header + 3 cells */
    kill(pid, SIGKILL);
    int st;
    waitpid(pid, &st, 0);
    long done = count_lines(runs) - 1;
    print_message("killed after %ld of 32 cells\n", done);
    assert_true(done >= 3 && done < 32);
    /* simulate a row cut short as well: a partial line at the end of matrix.csv and runs.csv */
    char pm[4300];
    snprintf(pm, sizeof pm, "%s/matrix.csv", killed);
    td_append(pm, "999,1,", 6);
    td_append(runs, "31,ewc,ew", 9);

    snprintf(args, sizeof args, "run %s -o %s -j 2", path, killed);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    compare_dirs(full, killed);
    tu_rmdir(dir);
}

/* A different grid into the same directory is refused; --fresh starts over. */
static void test_directory_belongs_to_one_grid(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), p1[4096], p2[4096], args[8400];
    write_grid(dir, "a.ini", "[experiment]\ndataset = synthetic\ntasks = 2\nhidden = 8\n[none]\n", p1);
    write_grid(dir, "b.ini", "[experiment]\ndataset = synthetic\ntasks = 3\nhidden = 8\n[none]\n", p2);
    snprintf(args, sizeof args, "run %s -o %s/res", p1, dir);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "run %s -o %s/res", p2, dir);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "different grid"));
    snprintf(args, sizeof args, "run %s -o %s/res --fresh", p2, dir);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    /* a second run of a finished grid has nothing to do and keeps the results */
    assert_int_equal(tu_run_clreg(args + 0, out, sizeof out), 0);
    tu_rmdir(dir);
}

/* Every grid shipped in experiments/ must parse and expand to the cell count experiments/README.md gives,
 * so an edit to a shipped grid cannot leave it broken or the documentation stale. The data is a tiny
 * MNIST-format set of 10 classes (the MNIST versions need --data-path anyway; the Fashion-MNIST ones are
 * pointed at it too, so the test does not need the dataset package). */
static void test_shipped_grids(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int cells;
    } shipped[] = {
        {"quick.ini", 7},         {"permuted.ini", 48},     {"split_task.ini", 66},
        {"split_domain.ini", 66}, {"split_class.ini", 66}, {"rotated.ini", 48},
    };
    char *dir = tu_mkdtemp(), prefix[4200];
    td_write_mnist(dir, "", 40, 20, 28, 28, 10, 1);
    snprintf(prefix, sizeof prefix, "%s/", dir);
    int checked = 0;
    for (int mnist = 0; mnist < 2; mnist++) {
        for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
            char path[256], args[8400], expect[300];
            snprintf(path, sizeof path, "experiments/%s%s", mnist ? "mnist/" : "", shipped[i].file);
            if (mnist && strcmp(shipped[i].file, "quick.ini") == 0) continue;
            if (access(path, R_OK) != 0) fail_msg("%s: missing", path);
            snprintf(args, sizeof args, "run %s --dry-run --data-path %s", path, prefix);
            int rc = tu_run_clreg(args, out, sizeof out);
            if (rc != 0) fail_msg("%s: exit %d:\n%.2000s", path, rc, out);
            snprintf(expect, sizeof expect, "%s: %d cells", path, shipped[i].cells);
            if (!strstr(out, expect)) fail_msg("%s: expected '%s', got:\n%.500s", path, expect, out);
            checked++;
        }
    }
    assert_int_equal(checked, 11);
    /* A grid added to experiments/ must be added to the table above (and to the README's). */
    glob_t g;
    assert_int_equal(glob("experiments/*.ini", 0, NULL, &g), 0);
    assert_int_equal(glob("experiments/mnist/*.ini", GLOB_APPEND, NULL, &g), 0);
    if (g.gl_pathc != (size_t)checked) fail_msg("experiments/ holds %zu grids, the test knows %d", g.gl_pathc, checked);
    globfree(&g);
    tu_rmdir(dir);
}

/* Finalizing hand-made results: intransigence and the summaries against numbers worked by hand. */
static void test_finalize_hand_worked(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), p[4200];
    const char *hdr = "run,label,regularizer,params,lambda,dataset,stream,scenario,tasks,hidden,optimizer,lr,epochs,"
                      "batch,order,order_tasks,seed,acc,bwt,fwt,forgetting,learning,intransigence,diverged,train_sec,"
                      "importance_sec,eval_sec\n";
    char runs[4096];
    /* two tasks; joint and ewc for seeds 1 and 2; ewc's diagonal: seed 1 (0.8, 0.7), seed 2 (0.9, 0.6);
     * joint's diagonal: seed 1 (0.9, 0.9), seed 2 (0.95, 0.85). Rows out of order on purpose. */
    snprintf(runs, sizeof runs,
             "%s"
             "3,ewc,ewc,fisher=exact,100,synthetic,permuted,domain,2,8,adam,0.001,1,32,0,1 2,1,0.6,-0.1,0,0.1,0.75,nan,0,1,1,1\n"
             "1,joint,joint,,nan,synthetic,permuted,domain,2,8,adam,0.001,1,32,0,1 2,1,0.9,0,0,0,0.9,nan,0,1,1,1\n"
             "2,joint,joint,,nan,synthetic,permuted,domain,2,8,adam,0.001,1,32,0,1 2,2,0.9,0,0,0,0.9,nan,0,1,1,1\n"
             "4,ewc,ewc,fisher=exact,100,synthetic,permuted,domain,2,8,adam,0.001,1,32,0,1 2,2,0.7,-0.2,0,0.2,0.75,nan,0,1,1,1\n",
             hdr);
    snprintf(p, sizeof p, "%s/runs.csv", dir);
    td_write_text(p, runs);
    const double diag[4][2] = {{0.9, 0.9}, {0.95, 0.85}, {0.8, 0.7}, {0.9, 0.6}};
    char m[8192];
    size_t len = (size_t)snprintf(m, sizeof m, "run,trained_task,eval_task,accuracy\n");
    for (int r = 0; r < 4; r++)
        for (int i = 0; i <= 2; i++)
            for (int j = 1; j <= 2; j++)
                len += (size_t)snprintf(m + len, sizeof m - len, "%d,%d,%d,%g\n", r + 1, i, j,
                                        i == j ? diag[r][j - 1] : (i == 0 ? 0.1 : 0.5));
    snprintf(p, sizeof p, "%s/matrix.csv", dir);
    td_write_text(p, m);
    snprintf(p, sizeof p, "%s/curves.csv", dir);
    td_write_text(p, "run,trained_task,epoch,step,x,eval_task,accuracy\n");
    if (cl_results_finalize(dir, NULL, 0)) fail_msg("%s", cl_errmsg());

    cl_table t;
    snprintf(p, sizeof p, "%s/runs.csv", dir);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    int ci = cl_table_col(&t, "intransigence"), cr = cl_table_col(&t, "run");
    /* sorted by run now */
    for (int r = 0; r < 4; r++) assert_int_equal(atoi(t.cells[r][cr]), r + 1);
    double v;
    /* run 3 (seed 1): ((0.9 - 0.8) + (0.9 - 0.7)) / 2 = 0.15; run 4 (seed 2): ((0.95-0.9) + (0.85-0.6)) / 2 = 0.15 */
    cl_table_num(&t, 2, ci, &v);
    assert_float_equal(v, 0.15, 1e-6);
    cl_table_num(&t, 3, ci, &v);
    assert_float_equal(v, 0.15, 1e-6);
    cl_table_num(&t, 0, ci, &v);
    assert_float_equal(v, 0.0, 1e-9);
    cl_table_free(&t);

    snprintf(p, sizeof p, "%s/summary.csv", dir);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.cells[1][0], "ewc");
    cl_table_num(&t, 1, cl_table_col(&t, "acc_mean"), &v);
    assert_float_equal(v, 0.65, 1e-6);
    cl_table_num(&t, 1, cl_table_col(&t, "acc_std"), &v); /* sample std of 0.6, 0.7 */
    assert_float_equal(v, sqrt(0.005), 1e-6);
    cl_table_num(&t, 1, cl_table_col(&t, "bwt_mean"), &v);
    assert_float_equal(v, -0.15, 1e-6);
    assert_string_equal(t.cells[1][cl_table_col(&t, "n")], "2");
    assert_string_equal(t.cells[1][cl_table_col(&t, "selected")], "1");
    cl_table_free(&t);

    /* average accuracy over the tasks seen: after task 1, mean of R[1][1] over seeds = (0.8 + 0.9) / 2 */
    snprintf(p, sizeof p, "%s/summary_tasks.csv", dir);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    cl_table_num(&t, 2, cl_table_col(&t, "avg_acc_mean"), &v);
    assert_string_equal(t.cells[2][0], "ewc");
    assert_float_equal(v, 0.85, 1e-6);
    /* after task 2: mean over seeds of (R[2][1] + R[2][2]) / 2 = ((0.5 + 0.7)/2 + (0.5 + 0.6)/2) / 2 */
    cl_table_num(&t, 3, cl_table_col(&t, "avg_acc_mean"), &v);
    assert_float_equal(v, 0.575, 1e-6);
    cl_table_free(&t);

    /* a malformed results file: a clear message naming it and the line */
    snprintf(p, sizeof p, "%s/matrix.csv", dir);
    td_write_text(p, "run,trained_task,eval_task,accuracy\n1,0,1,high\n");
    assert_int_equal(cl_results_finalize(dir, NULL, 0), -1);
    assert_non_null(strstr(cl_errmsg(), "matrix.csv:2"));
    assert_non_null(strstr(cl_errmsg(), "accuracy"));
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion),
        cmocka_unit_test(test_bad_grids),
        cmocka_unit_test(test_threads_do_not_change_results),
        cmocka_unit_test(test_single_cell_gets_blas_threads),
        cmocka_unit_test(test_resume_after_kill),
        cmocka_unit_test(test_directory_belongs_to_one_grid),
        cmocka_unit_test(test_finalize_hand_worked),
        cmocka_unit_test(test_shipped_grids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
