/* Results that cannot be lost or mixed: one writer per results directory, the data fingerprint checked on
 * resume, one selected group per label, damaged results refused (and repaired by a rerun), clean stops on
 * signals, divergence, and the ways a directory gets damaged in practice (a full disk, a spreadsheet, a
 * symlink, a missing manifest, results of an older clreg). */
#include "tests/testutil.h"
#include "tests/testdata.h"
#include "tests/testresults.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/quote.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/dirlock.h"
#include "experiments/fingerprint.h"
#include "experiments/results.h"
#include "experiments/table.h"
#include "experiments/train.h"

static char out[1 << 16];

/* ---- helpers ------------------------------------------------------------------------------------------- */

static const char *bin(void) { return getenv("CLREG_BIN") ? getenv("CLREG_BIN") : "./clreg"; }

/* Tiny MNIST-format data (4 classes of 8x8 images): cells take a fraction of a second. salt makes other data
 * of the same shape. */
static void make_data(const char *dir, int salt)
{
    static const char *const names[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};
    char p[1200];
    mkdir(dir, 0755);
    for (int k = 0; k < 4; k++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[k]);
        int n = k < 2 ? 200 : 60;
        if (k % 2 == 0) td_write_images(p, n, 8, 8, (k < 2 ? 0 : 1) + 7 * salt, TD_RAW);
        else td_write_labels(p, n, 4, (k < 2 ? 0 : 1) + salt, TD_RAW);
    }
}

/* 6 cells: none, and l2 at two lambdas, times two seeds; curves every 3 steps */
static const char *small_grid = "[experiment]\n"
                                "dataset = idx\n"
                                "stream = permuted\n"
                                "tasks = 2\n"
                                "hidden = 16\n"
                                "epochs = 2\n"
                                "batch = 20\n"
                                "seeds = 2\n"
                                "curve_steps = 3\n"
                                "[none]\n"
                                "[l2]\n"
                                "lambda = 1, 10\n";

static void write_file(const char *dir, const char *name, const char *text, char *path)
{
    snprintf(path, 1024, "%s/%s", dir, name);
    td_write_text(path, text);
}


static int sh(const char *cmd)
{
    char full[16384];
    snprintf(full, sizeof full, "bash -c \"%s\"", cmd);
    int st = system(full);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Same file, or for runs.csv the same file but for the timing columns (the last three). */
static int files_equal(const char *a, const char *b, int runs_csv)
{
    char cmd[9000];
    int untimed = -3; /* every column but the timing ones, the last three */
    while (cl_runs_columns[untimed + 3]) untimed++;
    if (runs_csv)
        snprintf(cmd, sizeof cmd, "cmp -s <(cut -d, -f1-%d '%s') <(cut -d, -f1-%d '%s')", untimed, a, untimed, b);
    else snprintf(cmd, sizeof cmd, "cmp -s '%s' '%s'", a, b);
    return sh(cmd) == 0;
}

static void compare_dirs(const char *a, const char *b)
{
    static const char *const files[] = {"runs.csv", "matrix.csv", "curves.csv", "summary.csv", "summary_tasks.csv",
                                        "summary_matrix.csv", "summary_curves.csv", "best.csv", NULL};
    for (int i = 0; files[i]; i++) {
        char pa[1100], pb[1100];
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        if (!files_equal(pa, pb, i == 0)) fail_msg("%s differs between %s and %s", files[i], a, b);
    }
}

static long count_lines(const char *path)
{
    char *s = tr_slurp(path);
    if (!s) return 0;
    long n = 0;
    for (char *p = s; *p; p++) n += *p == '\n';
    free(s);
    return n;
}

static int file_contains(const char *path, const char *what)
{
    char *s = tr_slurp(path);
    int yes = s && strstr(s, what);
    free(s);
    return yes;
}

/* Start clreg with these arguments (NULL-terminated), its output into logpath. */
static pid_t spawn(const char *logpath, ...)
{
    const char *argv[32];
    int n = 0;
    argv[n++] = bin();
    va_list ap;
    va_start(ap, logpath);
    const char *a;
    while ((a = va_arg(ap, const char *)) && n < 31) argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        /* a test run from a background shell has SIGINT ignored, and clreg leaves ignored signals alone */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Wait for the process, at most `limit` seconds (then kill it and fail). Returns its wait status. */
static int wait_for(pid_t pid, double limit, const char *what)
{
    double t0 = now_sec();
    int st;
    for (;;) {
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) return st;
        if (now_sec() - t0 > limit) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("%s: still running after %.0f s", what, limit);
        }
        usleep(20000);
    }
}

/* Poll until the file contains `what` (or has at least `lines` lines when what is NULL). */
static void wait_file(const char *path, const char *what, long lines, double limit)
{
    double t0 = now_sec();
    while (what ? !file_contains(path, what) : count_lines(path) < lines) {
        if (now_sec() - t0 > limit) fail_msg("%s: no '%s' after %.0f s", path, what ? what : "lines", limit);
        usleep(20000);
    }
}

/* A grid with one cell that would train for hours: something to hold a directory, or to interrupt. */
static const char *endless_grid = "[experiment]\n"
                                  "dataset = idx\n"
                                  "tasks = 2\n"
                                  "hidden = 16\n"
                                  "epochs = 100000\n"
                                  "batch = 20\n"
                                  "[none]\n";

/* ---- one writer per directory ------------------------------------------------------------------------------ */

/* A second clreg on a directory in use is refused with one message naming the holder: run (also through a
 * symlink to the directory), summarize and plot. A holder killed with SIGKILL does not block the next one. */
static void test_one_writer(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], res[1024], link[1024], lockp[1100], args[8000], log[1024];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "endless.ini", endless_grid, grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(link, sizeof link, "%s/link", dir);
    snprintf(lockp, sizeof lockp, "%s/.lock", res);
    snprintf(log, sizeof log, "%s/a.log", dir);
    mkdir(res, 0755);
    assert_int_equal(symlink(res, link), 0);

    pid_t a = spawn(log, "run", grid, "-o", res, "--data-path", data, NULL);
    char holder[64];
    snprintf(holder, sizeof holder, "pid %d on", (int)a);
    wait_file(lockp, holder, 0, 120);

    /* the same grid, through the symlink, with --fresh (which must not delete under the holder), summarize, plot */
    const char *second[] = {"run %s -o %s --data-path %s", "run %s -o %s/ --data-path %s",
                            "run %s -o %s --data-path %s --fresh", "summarize %s%s%s", "plot %s%s%s"};
    for (int i = 0; i < 5; i++) {
        const char *target = i == 1 ? link : res;
        if (i < 3) snprintf(args, sizeof args, second[i], grid, target, data);
        else snprintf(args, sizeof args, second[i], target, "", "");
        /* bounded: a second writer that is not refused would train as long as the first */
        int rc = tu_run_clreg_env("timeout 300", args, out, sizeof out);
        if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "in use by another clreg") || !strstr(out, holder) ||
            !strstr(out, "clreg run"))
            fail_msg("'%s': exit %d, expected 1 and one line naming %s:\n%s", args, rc, holder, out);
    }
    /* the holder is still the only writer: no second set of rows, its files in place */
    snprintf(args, sizeof args, "%s/runs.csv", res);
    assert_true(count_lines(args) <= 1);
    snprintf(args, sizeof args, "%s/grid.ini", res);
    assert_int_equal(access(args, F_OK), 0);

    kill(a, SIGKILL);
    int st = wait_for(a, 60, "the killed holder");
    assert_true(WIFSIGNALED(st));
    /* the kernel released its lock: the next run takes the directory (a fresh start of another grid) */
    char fast[1024];
    write_file(dir, "fast.ini", "[experiment]\ndataset = idx\ntasks = 2\nhidden = 8\nbatch = 50\n[none]\n", fast);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s --fresh", fast, res, data);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("after the holder was killed: exit %d:\n%s", rc, out);
    /* and, from this process, the lock is free again once that run ended */
    cl_dirlock l;
    if (cl_dirlock_take(&l, res, "test")) fail_msg("%s", cl_errmsg());
    /* while this test process holds it, clreg is refused and names this process */
    snprintf(holder, sizeof holder, "pid %d on", (int)getpid());
    snprintf(args, sizeof args, "summarize %s", res);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 1);
    if (!strstr(out, holder)) fail_msg("expected the holder %s:\n%s", holder, out);
    cl_dirlock_release(&l);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    tu_rmdir(dir);
}

/* ---- the data fingerprint ---------------------------------------------------------------------------------- */

/* A resume with other data (another --data-path, or a file changed in place) is refused, naming the file and
 * what differs, and adds no rows; the same files elsewhere are the same data. A directory written before
 * fingerprints existed is resumed, its results taken to come from this run's data, and says so. */
static void test_fingerprint(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), a[1024], b[1024], c[1024], grid[1024], res[1024], runs[1100], args[8000], p[1100];
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(c, sizeof c, "%s/c", dir);
    make_data(a, 0);
    make_data(b, 1);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(runs, sizeof runs, "%s/runs.csv", res);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, a);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(p, sizeof p, "%s/%s", res, CL_FINGERPRINT_FILE);
    assert_true(file_contains(p, "train-images-idx3-ubyte"));
    assert_int_equal(count_lines(p), 5); /* header + the four files */
    /* lose two cells, as an interrupted run would */
    snprintf(args, sizeof args, "head -n 5 '%s' > '%s.x' && mv '%s.x' '%s'", runs, runs, runs, runs);
    assert_int_equal(sh(args), 0);
    char *before = tr_slurp(runs);

    /* other data: refused before anything changes */
    snprintf(args, sizeof args, "run %s -o %s --data-path %s", grid, res, b);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "data differ") || !strstr(out, "-ubyte: ") ||
        !strstr(out, "crc32") || !strstr(out, "--fresh"))
        fail_msg("other data: exit %d:\n%s", rc, out);
    char *after = tr_slurp(runs);
    assert_string_equal(before, after);
    free(after);

    /* a file changed in place (same size, other labels) */
    snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", a);
    td_write_labels(p, 200, 4, 3, TD_RAW);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s", grid, res, a);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || !strstr(out, "train-labels-idx1-ubyte: ") || !strstr(out, "data differ"))
        fail_msg("a file changed in place: exit %d:\n%s", rc, out);
    td_write_labels(p, 200, 4, 0, TD_RAW); /* put it back */

    /* the same files in another place are the same data */
    snprintf(args, sizeof args, "cp -r '%s' '%s'", a, c);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s", grid, res, c);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("the same data elsewhere: exit %d:\n%s", rc, out);
    assert_int_equal(count_lines(runs), 7);

    /* an older clreg's directory: no fingerprint. It resumes, says so, and records one. */
    snprintf(p, sizeof p, "%s/%s", res, CL_FINGERPRINT_FILE);
    unlink(p);
    snprintf(args, sizeof args, "head -n 4 '%s' > '%s.x' && mv '%s.x' '%s'", runs, runs, runs, runs);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s", grid, res, a);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || !strstr(out, "no data fingerprint")) fail_msg("no fingerprint: exit %d:\n%s", rc, out);
    assert_true(file_contains(p, "train-images-idx3-ubyte"));
    assert_int_equal(count_lines(runs), 7);
    free(before);
    tu_rmdir(dir);
}

/* The comparison itself, for generated data and for files. */
static void test_fingerprint_compare(void **state)
{
    (void)state;
    cl_data d1, d2;
    cl_data_synthetic(&d1, 20, 10, 4, 4, 2, 1);
    cl_data_synthetic(&d2, 20, 10, 4, 4, 2, 2);
    cl_fingerprint f1, f2;
    assert_int_equal(cl_fingerprint_data(&f1, &d1), 0);
    assert_int_equal(cl_fingerprint_data(&f2, &d2), 0);
    assert_int_equal(cl_fingerprint_compare(&f1, &f1), 0);
    assert_int_equal(cl_fingerprint_compare(&f1, &f2), -1);
    assert_non_null(strstr(cl_errmsg(), "seed 2"));
    assert_non_null(strstr(cl_errmsg(), "seed 1"));
    /* written and read back: the same */
    char *dir = tu_mkdtemp();
    cl_fingerprint back;
    assert_int_equal(cl_fingerprint_read(dir, &back), 1); /* none yet */
    assert_int_equal(cl_fingerprint_write(dir, &f1), 0);
    assert_int_equal(cl_fingerprint_read(dir, &back), 0);
    assert_int_equal(cl_fingerprint_compare(&back, &f1), 0);
    cl_fingerprint_free(&back);
    /* files: a crc32 against zlib's of the same bytes */
    char p[1200];
    make_data(dir, 0);
    cl_data d3;
    if (cl_data_open(&d3, "idx", dir, 1)) fail_msg("%s", cl_errmsg());
    cl_fingerprint f3;
    assert_int_equal(cl_fingerprint_data(&f3, &d3), 0);
    assert_int_equal(f3.n, 4);
    snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dir);
    char *bytes = tr_slurp(p);
    long n = td_file_size(p);
    assert_int_equal(f3.item[0].bytes, n);
    assert_int_equal(f3.item[0].crc, crc32(crc32(0L, Z_NULL, 0), (const Bytef *)bytes, (uInt)n));
    assert_non_null(strstr(f3.item[0].source, "/train-images-idx3-ubyte"));
    assert_int_equal(f3.item[0].source[0], '/'); /* resolved */
    free(bytes);
    cl_fingerprint_free(&f1);
    cl_fingerprint_free(&f2);
    cl_fingerprint_free(&f3);
    cl_data_free(&d1);
    cl_data_free(&d2);
    cl_data_free(&d3);
    tu_rmdir(dir);
}

/* ---- one selected group per label --------------------------------------------------------------------- */

/* Count the rows of a summary file whose label is `label` and whose `selected` is 1. */
static int selected_rows(const char *path, const char *label)
{
    cl_table t;
    if (cl_table_read(&t, path, NULL)) fail_msg("%s", cl_errmsg());
    int cl = cl_table_col(&t, "label"), cs = cl_table_col(&t, "selected"), n = 0;
    for (int r = 0; r < t.nrows; r++) n += !strcmp(t.cells[r][cl], label) && (cs < 0 || !strcmp(t.cells[r][cs], "1"));
    cl_table_free(&t);
    return n;
}

/* A learning rate that wrecks every cell (finite losses in the billions, not NaN): every run is diverged, and
 * still each label has exactly one selected group in summary.csv and one row in best.csv. */
static void test_all_diverged_one_selected(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], res[1024], p[1100], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini",
               "[experiment]\ndataset = idx\ntasks = 2\nhidden = 16\nbatch = 20\nlr = 1000\nseeds = 2\n"
               "[none]\n[l2]\nlambda = 1, 10, 100\n[mas]\nlambda = 0.1, 1\n",
               grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    cl_table t;
    snprintf(p, sizeof p, "%s/runs.csv", res);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_int_equal(t.nrows, 12);
    for (int r = 0; r < t.nrows; r++) assert_string_equal(t.cells[r][cl_table_col(&t, "diverged")], "1");
    cl_table_free(&t);
    static const char *const labels[] = {"none", "l2", "mas"};
    static const char *const files[] = {"summary.csv", "best.csv"};
    for (int f = 0; f < 2; f++) {
        snprintf(p, sizeof p, "%s/%s", res, files[f]);
        for (int l = 0; l < 3; l++)
            if (selected_rows(p, labels[l]) != 1)
                fail_msg("%s: %d selected rows of label %s", files[f], selected_rows(p, labels[l]), labels[l]);
    }
    /* the selected group is the first in summary order, the smallest lambda: l2 at 1 */
    snprintf(p, sizeof p, "%s/best.csv", res);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_int_equal(t.nrows, 3);
    assert_string_equal(t.cells[1][0], "l2");
    assert_string_equal(t.cells[1][cl_table_col(&t, "lambda")], "1");
    cl_table_free(&t);
    /* the other summaries agree: one selected group per label (its rows) */
    snprintf(p, sizeof p, "%s/summary_tasks.csv", res);
    assert_int_equal(selected_rows(p, "l2"), 2); /* its two tasks_learned rows */
    tu_rmdir(dir);
}

/* ---- divergence -------------------------------------------------------------------------------------------- */

/* Adam at lr 1000 sends the loss into the billions without it ever becoming NaN: diverged, by the bound. An
 * enormous SGD step on raw 0-255 pixels overflows the parameters while the loss that drove it was finite:
 * diverged, by the parameters. */
static void test_divergence(void **state)
{
    (void)state;
    cl_data d;
    cl_data_synthetic(&d, 60, 30, 8, 8, 4, 3);
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 1;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &sc), 0);
    int hidden[1] = {16};
    cl_train_cfg tc = cl_train_defaults();
    tc.batch = 20;
    tc.eval_batch = 30;
    tc.opt = cl_optim_defaults(CL_OPT_ADAM);
    tc.opt.lr = 1000;
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 1, &tc);
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    assert_true(run.diverged);
    assert_true(isfinite(run.loss[0])); /* not NaN or Inf: the bound decided */
    assert_true(run.loss[0] > CL_DIVERGED_LOSS);
    assert_true(isnan(*cl_run_R(&run, 1, 0)));
    cl_run_free(&run);
    cl_mlp_free(m);

    /* one step of one batch: the loss is the initial one (finite, small), the step overflows */
    sc.scale01 = 0;
    cl_stream_free(&s);
    assert_int_equal(cl_stream_create(&s, &d, &sc), 0);
    tc = cl_train_defaults();
    tc.batch = 60;
    tc.eval_batch = 30;
    tc.opt = cl_optim_defaults(CL_OPT_SGD);
    tc.opt.momentum = 0;
    tc.opt.lr = 3e38f;
    m = cl_mlp_for_stream(&s, hidden, 1, &tc);
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    assert_true(run.diverged);
    assert_true(isfinite(run.loss[0]) && run.loss[0] < 100);
    cl_run_free(&run);
    cl_mlp_free(m);

    /* and a sane run is not diverged */
    tc = cl_train_defaults();
    tc.batch = 20;
    tc.eval_batch = 30;
    m = cl_mlp_for_stream(&s, hidden, 1, &tc);
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    assert_false(run.diverged);
    cl_run_free(&run);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&d);
}

/* The stop flag ends training between steps: nothing after it is evaluated. */
static void test_stop_flag(void **state)
{
    (void)state;
    cl_data d;
    cl_data_synthetic(&d, 60, 30, 8, 8, 4, 3);
    cl_stream_cfg sc = cl_stream_defaults();
    sc.ntasks = 2;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &sc), 0);
    int hidden[1] = {16};
    cl_train_cfg tc = cl_train_defaults();
    tc.batch = 20;
    tc.eval_batch = 30;
    volatile sig_atomic_t stop = SIGINT;
    tc.stop = &stop;
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 1, &tc);
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    assert_true(run.stopped);
    assert_false(run.diverged);
    assert_false(isnan(*cl_run_R(&run, 0, 0))); /* before training: evaluated */
    assert_true(isnan(*cl_run_R(&run, 1, 0)));  /* nothing trained */
    cl_run_free(&run);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&d);
}

/* ---- damaged results ------------------------------------------------------------------------------------- */

typedef struct damage {
    const char *name, *shell; /* a shell command run in the copy (cwd), damaging it */
    const char *expect1, *expect2;
} damage;

/* Each damage: summarize and plot refuse with one line naming the file and line (or the runs) and saying a
 * rerun repairs it; --partial summarizes the rest and says what it left out; rerunning the grid repairs the
 * directory to exactly the files of the undamaged run. */
static void test_damaged_results(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], good[1024], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, good, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    /* the undamaged directory summarizes, and the check passes the way the run left it */
    snprintf(args, sizeof args, "summarize %s", good);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);

    const damage cases[] = {
        {"runs.csv cut mid-row", "truncate -s -9 runs.csv", "runs.csv:7: a row cut short", "run 6 of the grid's 6"},
        {"a run twice", "sed -n 3p runs.csv >> runs.csv", "runs.csv:8: run 2 appears twice (also line 3)", NULL},
        {"a run missing", "sed -i 4d runs.csv", "run 3 of the grid's 6 has no results", NULL},
        {"two runs missing", "sed -i '3d;5d' runs.csv", "2 of the grid's 6 runs have no results (runs 2, 4)", NULL},
        {"an incomplete accuracy matrix", "sed -i 5d matrix.csv", "matrix.csv: run 1 has 5 of the 6 rows", NULL},
        {"a matrix row twice", "sed -n 9p matrix.csv >> matrix.csv", "matrix.csv:", "appears twice"},
        {"curves.csv truncated", "head -n -5 curves.csv > c && mv c curves.csv", "curves.csv:", "run 6"},
        {"curves.csv cut mid-row", "truncate -s -3 curves.csv", "curves.csv:", "a row cut short"},
        {"a whole curve point lost", "sed -i '/^2,[0-9]*,[0-9]*,3,/d' curves.csv",
         "curves.csv: run 2 has", "its runs.csv row says"},
        {"a curve row twice", "sed -n 20p curves.csv >> curves.csv", "curves.csv:", "appears twice"},
        {"no manifest", "rm manifest.txt", "manifest.txt: missing", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char bad[1024];
        snprintf(bad, sizeof bad, "%s/bad%zu", dir, i);
        snprintf(args, sizeof args, "cp -r '%s' '%s' && cd '%s' && %s", good, bad, bad, cases[i].shell);
        assert_int_equal(sh(args), 0);
        /* summarize and plot refuse, one line */
        for (int plot = 0; plot < 2; plot++) {
            snprintf(args, sizeof args, "%s %s", plot ? "plot" : "summarize", bad);
            int rc = tu_run_clreg(args, out, sizeof out);
            if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, cases[i].expect1) ||
                (cases[i].expect2 && !strstr(out, cases[i].expect2)) || !strstr(out, "clreg run"))
                fail_msg("%s: %s: exit %d, expected 1 and one line with '%s':\n%s", cases[i].name, args, rc,
                         cases[i].expect1, out);
        }
        /* --partial: what is complete, and what was left out */
        snprintf(args, sizeof args, "summarize %s --partial", bad);
        int rc = tu_run_clreg(args, out, sizeof out);
        if (strcmp(cases[i].name, "no manifest") == 0) {
            if (rc != 0) fail_msg("%s: --partial: exit %d:\n%s", cases[i].name, rc, out);
        } else if (rc != 0 || !strstr(out, "partial: the summaries are of the 5 complete runs") ||
                   !strstr(out, cases[i].expect1)) {
            if (!(strcmp(cases[i].name, "two runs missing") == 0 && rc == 0 && strstr(out, "of the 4 complete runs")))
                fail_msg("%s: --partial: exit %d:\n%s", cases[i].name, rc, out);
        }
        /* the rerun repairs it */
        snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, bad, data);
        rc = tu_run_clreg(args, out, sizeof out);
        if (rc != 0) fail_msg("%s: the rerun: exit %d:\n%s", cases[i].name, rc, out);
        compare_dirs(good, bad);
        snprintf(args, sizeof args, "summarize %s", bad);
        assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    }
    /* files without one whole line (killed, or out of space, before the header was written): the rerun
     * starts them again instead of refusing an "empty file" */
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/headless", dir);
    snprintf(args, sizeof args, "cp -r '%s' '%s' && cd '%s' && printf 'run,lab' > runs.csv && : > curves.csv", good, bad,
             bad);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, bad, data);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("headless files: the rerun: exit %d:\n%s", rc, out);
    compare_dirs(good, bad);
    tu_rmdir(dir);
}

/* Rows a rerun cannot repair, because they are not this grid's, are refused by summarize and by a resume,
 * and a resume changes nothing. */
static void test_foreign_rows(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], res[1024], runs[1100], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(runs, sizeof runs, "%s/runs.csv", res);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    static const struct {
        const char *shell, *expect;
    } cases[] = {
        {"sed -i 's/^3,l2,/33,l2,/' runs.csv", "runs.csv:4: run 33 is not a cell of this grid (its runs are 1 to 6)"},
        {"sed -i 's/^3,l2,l2,/3,mas,mas,/' runs.csv", "runs.csv:4: run 3 is mas (order 0, seed 1) here, but the grid's "
                                                      "cell 3 is l2 (order 0, seed 1)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(args, sizeof args, "cd '%s' && cp runs.csv runs.keep && %s", res, cases[i].shell);
        assert_int_equal(sh(args), 0);
        char *before = tr_slurp(runs);
        snprintf(args, sizeof args, "run %s -o %s --data-path %s", grid, res, data);
        int rc = tu_run_clreg(args, out, sizeof out);
        if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, cases[i].expect) || !strstr(out, "--fresh"))
            fail_msg("case %zu: resume: exit %d:\n%s", i, rc, out);
        char *after = tr_slurp(runs);
        assert_string_equal(before, after); /* nothing dropped */
        free(before);
        free(after);
        if (i == 0) { /* summarize knows the run count, not the cells' keys */
            snprintf(args, sizeof args, "summarize %s", res);
            rc = tu_run_clreg(args, out, sizeof out);
            if (rc != 1 || !strstr(out, cases[i].expect) || !strstr(out, "not this grid's"))
                fail_msg("case %zu: summarize: exit %d:\n%s", i, rc, out);
        }
        snprintf(args, sizeof args, "cd '%s' && mv runs.keep runs.csv", res);
        assert_int_equal(sh(args), 0);
    }
    /* results whose grid.ini is gone cannot be checked: refused, not adopted */
    snprintf(args, sizeof args, "%s/grid.ini", res);
    unlink(args);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s", grid, res, data);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || !strstr(out, "but no grid.ini")) fail_msg("no grid.ini: exit %d:\n%s", rc, out);
    assert_int_equal(count_lines(runs), 7);
    tu_rmdir(dir);
}

/* ---- signals ----------------------------------------------------------------------------------------------- */

/* SIGTERM in the middle of a cell that would train for hours: clreg stops within moments (the training loop
 * polls the flag), writes no row of the unfinished cell, marks the manifest, says so in one line, exits 143. */
static void test_signal_stops_promptly(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], res[1024], p[1100], log[1100];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "endless.ini", endless_grid, grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    pid_t pid = spawn(log, "run", grid, "-o", res, "--data-path", data, NULL);
    snprintf(p, sizeof p, "%s/manifest.txt", res);
    wait_file(p, "(running)", 0, 120);
    usleep(300000); /* well inside the cell's training */
    double t0 = now_sec();
    kill(pid, SIGTERM);
    int st = wait_for(pid, 60, "clreg run after SIGTERM");
    print_message("stopped %.2f s after SIGTERM\n", now_sec() - t0);
    char *msg = tr_slurp(log);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 143 || tu_count_lines(msg) != 1 ||
        !strstr(msg, "interrupted by SIGTERM: 0 of 1 cells done") || !strstr(msg, "rerun the same command to resume"))
        fail_msg("status %d, output:\n%s", st, msg);
    free(msg);
    assert_true(file_contains(p, "finished: interrupted by SIGTERM"));
    assert_true(file_contains(p, "0 of 1 cells done"));
    snprintf(p, sizeof p, "%s/runs.csv", res);
    assert_int_equal(count_lines(p), 1);
    snprintf(p, sizeof p, "%s/curves.csv", res);
    assert_int_equal(count_lines(p), 1); /* the cell's curves (it had finished epochs) were not written */

    /* two signals: the second ends clreg at once, by the signal */
    pid = spawn(log, "run", grid, "-o", res, "--data-path", data, NULL);
    snprintf(p, sizeof p, "%s/manifest.txt", res);
    usleep(100000);
    wait_file(p, "(running)", 0, 120);
    usleep(300000);
    kill(pid, SIGINT);
    kill(pid, SIGTERM);
    st = wait_for(pid, 60, "clreg run after two signals");
    if (!WIFSIGNALED(st)) fail_msg("expected death by a signal, got status %d", st);
    /* the lock went with it */
    cl_dirlock l;
    if (cl_dirlock_take(&l, res, "test")) fail_msg("%s", cl_errmsg());
    cl_dirlock_release(&l);
    tu_rmdir(dir);
}

/* SIGINT while some cells are done and others run: exit 130, whole rows of the finished cells only, and the
 * resume ends with exactly the rows of an uninterrupted run (timing columns aside). */
static void test_signal_then_resume(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], full[1024], cut[1024], p[1100], log[1100], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini",
               "[experiment]\ndataset = idx\nstream = permuted\ntasks = 2\nhidden = 32\nepochs = 60\nbatch = 20\n"
               "[none]\n[l2]\nlambda = 1, 10\n",
               grid);
    snprintf(full, sizeof full, "%s/full", dir);
    snprintf(cut, sizeof cut, "%s/cut", dir);
    snprintf(log, sizeof log, "%s/log", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 1", grid, full, data);
    double t0 = now_sec();
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    print_message("uninterrupted: %.1f s for 3 cells\n", now_sec() - t0);

    pid_t pid = spawn(log, "run", grid, "-o", cut, "--data-path", data, "-j", "1", NULL);
    snprintf(p, sizeof p, "%s/runs.csv", cut);
    wait_file(p, NULL, 2, 300); /* the first cell's row */
    kill(pid, SIGINT);
    int st = wait_for(pid, 120, "clreg run after SIGINT");
    char *msg = tr_slurp(log);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 130 || tu_count_lines(msg) != 1 || !strstr(msg, "interrupted by SIGINT"))
        fail_msg("status %d, output:\n%s", st, msg);
    free(msg);
    long done = count_lines(p) - 1;
    print_message("interrupted after %ld of 3 cells\n", done);
    assert_true(done >= 1 && done < 3);
    snprintf(p, sizeof p, "%s/manifest.txt", cut);
    char want[64];
    snprintf(want, sizeof want, "%ld of 3 cells done", done);
    assert_true(file_contains(p, "interrupted by SIGINT"));
    assert_true(file_contains(p, want));
    /* what is there is whole: --partial finds missing runs and nothing damaged */
    snprintf(args, sizeof args, "summarize %s --partial", cut);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    if (strstr(out, "cut short") || strstr(out, "twice") || strstr(out, "lacks") || !strstr(out, "no results"))
        fail_msg("after SIGINT:\n%s", out);

    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 1", grid, cut, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    compare_dirs(full, cut);
    tu_rmdir(dir);
}

/* ---- the disk fills up ------------------------------------------------------------------------------------- */

static int ends_with_newline(const char *path)
{
    char *s = tr_slurp(path);
    size_t n = s ? strlen(s) : 0;
    int yes = n > 0 && s[n - 1] == '\n';
    free(s);
    return yes;
}

/* A file size limit (ulimit -f, as a full disk) hit while cells append: one message, the files end in whole
 * rows (the failed write is cut back, and nothing is appended after it), and the rerun completes the grid
 * to exactly the uninterrupted files. */
static void test_disk_full_while_running(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], full[1024], res[1024], p[1100], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(full, sizeof full, "%s/full", dir);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, full, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(p, sizeof p, "%s/curves.csv", full);
    long kb = td_file_size(p) / 2 / 1024;
    if (kb < 2) fail_msg("curves.csv is too small (%ld bytes) for the test", td_file_size(p));
    snprintf(args, sizeof args, "ulimit -f %ld; '%s' run %s -o %s --data-path %s -j 2 2>&1", kb, bin(), grid, res, data);
    char cmd[8200];
    snprintf(cmd, sizeof cmd, "bash -c \"%s\"", args);
    FILE *f = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    int st = pclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || tu_count_lines(out) != 1 || !strstr(out, "curves.csv: write failed"))
        fail_msg("status %d:\n%s", st, out);
    static const char *const files[] = {"runs.csv", "matrix.csv", "curves.csv", NULL};
    for (int i = 0; files[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", res, files[i]);
        if (!ends_with_newline(p)) fail_msg("%s ends inside a row", p);
    }
    snprintf(p, sizeof p, "%s/manifest.txt", res);
    assert_true(file_contains(p, "finished: failed at"));
    /* only missing runs, nothing damaged */
    snprintf(args, sizeof args, "summarize %s --partial", res);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    if (strstr(out, "cut short") || strstr(out, "twice") || strstr(out, "lacks")) fail_msg("%s", out);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    compare_dirs(full, res);
    tu_rmdir(dir);
}

/* The limit hit while summarize replaces the summaries: they are replaced all together or not at all, so
 * the directory never holds summaries that disagree (here: a new selection in summary.csv beside the old
 * one in summary_curves.csv). */
static void test_disk_full_while_summarizing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], res[1024], p[1100], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    /* a selection other than the default: the l2 lambda best.csv does not hold */
    snprintf(p, sizeof p, "%s/best.csv", res);
    const char *other = file_contains(p, "l2,,10,") ? "l2=1" : "l2=10";
    /* a limit that summary_curves.csv (the largest, written last) exceeds and the others do not */
    snprintf(p, sizeof p, "%s/summary_curves.csv", res);
    long big = td_file_size(p), kb = (big - 1) / 1024;
    static const char *const small[] = {"summary.csv", "summary_tasks.csv", "summary_matrix.csv", "best.csv", NULL};
    for (int i = 0; small[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", res, small[i]);
        if (td_file_size(p) >= kb * 1024) fail_msg("%s (%ld bytes) is not below the limit %ld KiB", p, td_file_size(p), kb);
    }
    char *before[4];
    for (int i = 0; small[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", res, small[i]);
        before[i] = tr_slurp(p);
    }
    snprintf(args, sizeof args, "ulimit -f %ld; '%s' summarize %s --select %s 2>&1", kb, bin(), res, other);
    char cmd[8200];
    snprintf(cmd, sizeof cmd, "bash -c \"%s\"", args);
    FILE *f = popen(cmd, "r");
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    int st = pclose(f);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 1 || tu_count_lines(out) != 1 || !strstr(out, "summary_curves.csv.tmp"))
        fail_msg("status %d:\n%s", st, out);
    for (int i = 0; small[i]; i++) {
        snprintf(p, sizeof p, "%s/%s", res, small[i]);
        char *now = tr_slurp(p);
        if (strcmp(now, before[i]) != 0) fail_msg("%s changed although the summaries could not all be written", p);
        free(now);
        free(before[i]);
    }
    snprintf(args, sizeof args, "ls %s | grep -q tmp", res);
    assert_int_not_equal(sh(args), 0); /* nothing staged is left behind */
    /* without the limit the selection is made, in every file */
    snprintf(args, sizeof args, "summarize %s --select %s", res, other);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(p, sizeof p, "%s/best.csv", res);
    assert_true(file_contains(p, strcmp(other, "l2=1") == 0 ? "l2,,1," : "l2,,10,"));
    tu_rmdir(dir);
}

/* ---- edited and older directories ---------------------------------------------------------------------- */

/* runs.csv saved by a spreadsheet (a UTF-8 byte order mark, CRLF line ends) still summarizes and resumes,
 * and comes back in clreg's own form. */
static void test_spreadsheet_saved_runs(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], good[1024], res[1024], args[8000];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, good, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(args, sizeof args, "cp -r %s %s && cd %s && (printf '\\\\xef\\\\xbb\\\\xbf'; sed 's/$/\\\\r/' runs.csv) > x && "
                                "mv x runs.csv && head -c 3 runs.csv | od -An -tx1 | grep -q 'ef bb bf'",
             good, res, res);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "summarize %s", res);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("exit %d:\n%s", rc, out);
    compare_dirs(good, res);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    compare_dirs(good, res);
    tu_rmdir(dir);
}

/* A directory of a clreg before curve_rows and fingerprints: summarized (its curves checked by their
 * shape), and a resume brings it up to date, saying the data were taken as its results' data. Truncated
 * curves in such a directory are found by their shape too. */
static void test_older_directory(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], good[1024], old[1024], args[8000], p[1100];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(good, sizeof good, "%s/good", dir);
    snprintf(old, sizeof old, "%s/old", dir);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, good, data);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    /* the columns that clreg did not write: curve_rows, and the validation split's (dropped by name) */
    char keep[512] = "";
    size_t kl = 0;
    for (int c = 0; cl_runs_columns[c]; c++)
        if (strcmp(cl_runs_columns[c], "curve_rows") && strcmp(cl_runs_columns[c], "validation") &&
            strncmp(cl_runs_columns[c], "val_", 4))
            kl += (size_t)snprintf(keep + kl, sizeof keep - kl, "%s%d", kl ? "," : "", c + 1);
    snprintf(args, sizeof args, "cp -r %s %s && cd %s && cut -d, -f%s runs.csv > x && mv x runs.csv && "
                                "cut -d, -f1-4 matrix.csv > x && mv x matrix.csv && rm %s && "
                                "head -1 runs.csv | grep -vq curve_rows && head -1 runs.csv | grep -vq val_acc",
             good, old, old, keep, CL_FINGERPRINT_FILE);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "summarize %s", old);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("summarize: exit %d:\n%s", rc, out);
    /* the last run's curves cut at a point: its last task has none */
    snprintf(args, sizeof args, "cd %s && grep -v '^6,2,' curves.csv > x && mv x curves.csv", old);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "summarize %s", old);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || !strstr(out, "curves.csv: run 6 has curves for 2 of its 3 trained tasks"))
        fail_msg("summarize with truncated curves: exit %d:\n%s", rc, out);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, old, data);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || !strstr(out, "no data fingerprint") || !strstr(out, "damaged results"))
        fail_msg("resume: exit %d:\n%s", rc, out);
    compare_dirs(good, old);
    snprintf(p, sizeof p, "%s/%s", old, CL_FINGERPRINT_FILE);
    assert_true(file_contains(p, "train-labels-idx1-ubyte"));
    tu_rmdir(dir);
}

/* A resume with another BLAS kernel (another machine, or OPENBLAS_CORETYPE) mixes cells whose numbers
 * differ in the last bits: allowed, but said, and kept in the manifest through later resumes. */
static void test_other_kernel(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], res[1024], runs[1100], man[1100], args[8000], env[64], want[1200];
    snprintf(data, sizeof data, "%s/data", dir);
    make_data(data, 0);
    write_file(dir, "g.ini", small_grid, grid);
    snprintf(res, sizeof res, "%s/res", dir);
    snprintf(runs, sizeof runs, "%s/runs.csv", res);
    snprintf(man, sizeof man, "%s/manifest.txt", res);
    /* a kernel other than the one clreg uses by default */
    assert_int_equal(tu_run_clreg("--version", out, sizeof out), 0);
    const char *other = strstr(out, "kernel Prescott") ? "Nehalem" : "Prescott";
    snprintf(env, sizeof env, "OPENBLAS_CORETYPE=%s", other);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    assert_int_equal(tu_run_clreg_env(env, args, out, sizeof out), 0);
    snprintf(args, sizeof args, "head -n 5 '%s' > '%s.x' && mv '%s.x' '%s'", runs, runs, runs, runs);
    assert_int_equal(sh(args), 0);
    snprintf(args, sizeof args, "run %s -o %s --data-path %s -j 2", grid, res, data);
    int rc = tu_run_clreg(args, out, sizeof out);

    snprintf(want, sizeof want, "the 4 cells already in %s were computed with BLAS kernel %s", res, other);
    if (rc != 0 || !strstr(out, want)) fail_msg("exit %d, expected '%s':\n%s", rc, want, out);
    snprintf(want, sizeof want, "earlier cells: computed with BLAS kernel %s", other);
    assert_true(file_contains(man, want));
    /* a resume with nothing left to do, on this kernel: no note, and the manifest keeps the line */
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || strstr(out, "note")) fail_msg("exit %d:\n%s", rc, out);
    assert_true(file_contains(man, want));
    tu_rmdir(dir);
}

/* Text from files and command lines is quoted into messages: one line, cut to a length, control bytes
 * escaped, UTF-8 kept whole. */
static void test_quote(void **state)
{
    (void)state;
    char q[64];
    assert_string_equal(cl_quote_n(q, sizeof q, "plain", 10), "plain");
    assert_string_equal(cl_quote_n(q, sizeof q, "a\nb\x1b[31m", 10), "a\\nb\\x1B[31m");
    /* bytes that are not UTF-8 are escaped, characters that are stay whole; the short forms agree */
    assert_string_equal(cl_quote_n(q, sizeof q, "\xff\xc3(\xe2\x82\xac", 10), "\\xFF\\xC3(\xe2\x82\xac");
    assert_string_equal(cl_quote("\xff\xc3(\xe2\x82\xac"), "\\xFF\\xC3(\xe2\x82\xac");
    /* a long text keeps its beginning and says how long it was; a long path keeps its end */
    char big[300];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_non_null(strstr(cl_quote(big), "... (299 bytes)"));
    assert_true(strlen(cl_quote(big)) < 80);
    big[sizeof big - 5] = '/';
    assert_string_equal(cl_quote_path(big) + strlen(cl_quote_path(big)) - 4, "/xxx");
    assert_string_equal(cl_quote_n(q, sizeof q, "0123456789abc", 10), "0123456789...");
    assert_string_equal(cl_quote_n(q, sizeof q, "\xc3\xa9t\xc3\xa9", 2), "\xc3\xa9t...");
    assert_string_equal(cl_quote_n(q, 8, "0123456789", 100), "0123...");
}

int main(int argc, char **argv)
{
    if (argc > 1) cmocka_set_test_filter(argv[1]); /* e.g. test_trust 'test_signal*' */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_writer),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_fingerprint_compare),
        cmocka_unit_test(test_all_diverged_one_selected),
        cmocka_unit_test(test_divergence),
        cmocka_unit_test(test_stop_flag),
        cmocka_unit_test(test_damaged_results),
        cmocka_unit_test(test_foreign_rows),
        cmocka_unit_test(test_signal_stops_promptly),
        cmocka_unit_test(test_signal_then_resume),
        cmocka_unit_test(test_disk_full_while_running),
        cmocka_unit_test(test_disk_full_while_summarizing),
        cmocka_unit_test(test_spreadsheet_saved_runs),
        cmocka_unit_test(test_older_directory),
        cmocka_unit_test(test_other_kernel),
        cmocka_unit_test(test_quote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
