/* Figures: every gnuplot script runs on a small results directory made by a tiny grid, and each expected
 * image exists, is a valid PNG of the stated size (or a valid SVG) and is not blank; a gnuplot error fails
 * the test through clreg plot's exit status. Missing or malformed CSVs give one clear message.
 *
 * Unusual results come from plots/sample_results.sh (fabricated, consistent results files; SAMPLE_GROUPS
 * chooses labels, lambdas, diverged cells): numbers that print with an exponent, labels whose every run
 * diverged, hostile labels, params and dataset text (quotes, backslashes, newlines, commands), one method,
 * task or seed, lambda 0, many labels, non-ASCII labels. What the figures say is read from the SVG text. */
#include <limits.h>
#include <sys/stat.h>

#include "tests/testutil.h"
#include "tests/testdata.h"
#include "tests/testresults.h"
#include "tests/pngcheck.h"

#include "regularizers/regularizer.h"

static char out[1 << 16];
static char *dir;
static char results[4200];

static const char *grid =
    "[experiment]\n"
    "dataset = synthetic\n"
    "stream = split\n"
    "scenario = task\n"
    "tasks = 3\n"
    "hidden = 16\n"
    "epochs = 2\n"
    "batch = 64\n"
    "seeds = 2\n"
    "curve_steps = 5\n"
    "save_state = first\n"
    "[none]\n[joint]\n[ewc]\nlambda = 1, 100\n[mas]\n[mas-local]\n[si]\n";

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    return tr_run_grid(dir, grid, results, sizeof results, out, sizeof out);
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

/* DIR/plots/NAME.png valid, not blank and w x h (0: any), and NAME.svg valid when svg (svg == 2: a figure
 * that only says why it has nothing to draw, with a few elements). */
static void check_fig(const char *d, const char *name, int w, int h, int svg)
{
    char path[9000], err[512];
    int iw = 0, ih = 0;
    snprintf(path, sizeof path, "%s/plots/%s.png", d, name);
    if (png_check_nonblank(path, &iw, &ih, err, sizeof err)) fail_msg("%s: %s", path, err);
    if ((w && iw != w) || (h && ih != h)) fail_msg("%s: %dx%d, expected %dx%d", path, iw, ih, w, h);
    if (!svg) return;
    snprintf(path, sizeof path, "%s/plots/%s.svg", d, name);
    if (svg_check_n(path, svg == 2 ? 3 : SVG_MIN_ELEMENTS, err, sizeof err)) fail_msg("%s", err);
}

static void check_png(const char *name, int w, int h)
{
    check_fig(results, name, w, h, 1);
}

/* The figures every results directory gets: curves, avg_acc, lambda, bars and a matrix per label (by the
 * name its file has); notes: the first three figures only say why they are empty. */
static void check_all_notes(const char *d, const char *const *matrices, int svg, int notes)
{
    check_fig(d, "curves", 0, 0, svg && notes ? 2 : svg);
    check_fig(d, "avg_acc", 0, 0, svg && notes ? 2 : svg);
    check_fig(d, "lambda", 0, 0, svg);
    check_fig(d, "bars", 0, 0, svg && notes ? 2 : svg);
    for (int i = 0; matrices[i]; i++) {
        /* "!LABEL": a label without accuracies, whose matrix is a note */
        int note = matrices[i][0] == '!';
        char name[300];
        snprintf(name, sizeof name, "matrix_%s", matrices[i] + note);
        check_fig(d, name, 0, 0, svg && note ? 2 : svg);
    }
}

static void check_all(const char *d, const char *const *matrices, int svg)
{
    check_all_notes(d, matrices, svg, 0);
}

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    char *t = NULL;
    size_t n = 0, cap = 0, r;
    do {
        if (n + 4096 + 1 > cap) t = realloc(t, cap = 2 * cap + 8192);
        r = fread(t + n, 1, 4096, f);
        n += r;
    } while (r > 0);
    fclose(f);
    t[n] = 0;
    return t;
}

/* 1 when DIR/plots/NAME.svg has a text element (or tspan) whose content is exactly text. */
static int svg_has(const char *d, const char *name, const char *text)
{
    char path[9000], pat[600];
    snprintf(path, sizeof path, "%s/plots/%s.svg", d, name);
    snprintf(pat, sizeof pat, ">%s<", text);
    char *t = read_text(path);
    int found = strstr(t, pat) != NULL;
    free(t);
    return found;
}

/* 1 when DIR/plots/NAME.svg contains s anywhere. */
static int svg_contains(const char *d, const char *name, const char *s)
{
    char path[9000];
    snprintf(path, sizeof path, "%s/plots/%s.svg", d, name);
    char *t = read_text(path);
    int found = strstr(t, s) != NULL;
    free(t);
    return found;
}

static int file_has(const char *d, const char *file, const char *s)
{
    char path[9000];
    snprintf(path, sizeof path, "%s/%s", d, file);
    char *t = read_text(path);
    int found = strstr(t, s) != NULL;
    free(t);
    return found;
}

static int path_exists(const char *d, const char *name)
{
    char path[9000];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", d, name);
    return stat(path, &st) == 0;
}

/* The fields after the label (method,color,dash,point,note) of label's row in DIR/plots/styles.csv, into
 * row; 0 when the map has no row for it. */
static int style_row(const char *d, const char *label, char *row, size_t n)
{
    char path[9000], pat[300];
    snprintf(path, sizeof path, "%s/plots/styles.csv", d);
    char *t = read_text(path);
    snprintf(pat, sizeof pat, "\n%s,", label);
    char *p = strstr(t, pat);
    if (p) {
        p += strlen(pat);
        snprintf(row, n, "%.*s", (int)strcspn(p, "\n"), p);
    }
    free(t);
    return p != NULL;
}

/* A fabricated results directory DIR/name (plots/sample_results.sh): tasks, seeds, the groups (the lines
 * of SAMPLE_GROUPS; NULL: the script's own) and the dataset text (NULL: its own). */
static const char *sample(const char *name, int tasks, int seeds, const char *groups, const char *dataset)
{
    static char path[4300];
    char cmd[9000], sn[16];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(sn, sizeof sn, "%d", seeds);
    setenv("SAMPLE_SEEDS", sn, 1);
    if (groups) setenv("SAMPLE_GROUPS", groups, 1);
    if (dataset) setenv("SAMPLE_DATASET", dataset, 1);
    snprintf(cmd, sizeof cmd, "sh plots/sample_results.sh '%s' %d", path, tasks);
    int rc = system(cmd);
    unsetenv("SAMPLE_SEEDS");
    unsetenv("SAMPLE_GROUPS");
    unsetenv("SAMPLE_DATASET");
    if (rc != 0) fail_msg("plots/sample_results.sh %s failed", path);
    return path;
}

/* clreg plot DIR [opts] succeeds with its one line of output. */
static void plot_ok(const char *d, const char *opts)
{
    char args[9000];
    snprintf(args, sizeof args, "plot '%s' %s", d, opts);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || tu_count_lines(out) != 1 || !strstr(out, "figures in")) fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
}

static void test_every_figure(void **state)
{
    (void)state;
    char args[4400];
    snprintf(args, sizeof args, "plot %s", results);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0) fail_msg("clreg plot failed (%d):\n%s", rc, out);
    check_png("avg_acc", 1000, 700);
    check_png("lambda", 1000, 700);
    check_png("bars", 1000, 700);
    check_png("curves", 1000, 0);
    const char *labels[] = {"none", "joint", "ewc", "mas", "mas-local", "si"};
    for (int i = 0; i < 6; i++) {
        char name[64];
        snprintf(name, sizeof name, "matrix_%s", labels[i]);
        check_png(name, 900, 800);
    }
    check_png("importance", 1000, 0);
    check_png("importance_scatter", 900, 800);
    /* the histograms cover exactly the grid's methods whose registry entry has importances: si and the
     * others, none and joint not */
    for (int i = 0; i < 6; i++) {
        char row[64];
        snprintf(row, sizeof row, "\n%s,", labels[i]);
        int want = cl_reg_method_has_importance(cl_reg_find(labels[i]));
        if (file_has(results, "importance_hist.csv", row) != want)
            fail_msg("importance_hist.csv: %s has %s rows", labels[i], want ? "no" : "");
    }
    assert_true(file_has(results, "importance_hist.csv", "\nsi,"));
}

/* --select draws a chosen lambda: the summaries mark it, and the figures still build. */
static void test_select(void **state)
{
    (void)state;
    char args[4400], path[4300];
    snprintf(args, sizeof args, "plot %s --png --select ewc=100", results);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    snprintf(path, sizeof path, "%s/best.csv", results);
    FILE *f = fopen(path, "r");
    char text[4096] = "";
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    assert_non_null(strstr(text, "ewc,fisher=exact mode=separate gamma=1 samples=0 data=train,100,"));
    snprintf(args, sizeof args, "plot %s --png --select ewc=5", results);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 1);
    assert_non_null(strstr(out, "no group of label 'ewc' has lambda 5"));
}

/* Missing or malformed inputs: one line naming the file, exit 1, no gnuplot noise. */
static void test_bad_inputs(void **state)
{
    (void)state;
    char args[4400], path[17400], bad[4200];
    snprintf(bad, sizeof bad, "%s/bad", dir);
    snprintf(args, sizeof args, "plot %s", bad);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "no such results directory")) fail_msg("%d: %s", rc, out);
    /* a directory without runs.csv */
    snprintf(path, sizeof path, "mkdir -p '%s'", bad);
    assert_int_equal(system(path), 0);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "no runs.csv")) fail_msg("%d: %s", rc, out);
    /* a copy with a ragged runs.csv row, then with matrix.csv missing */
    snprintf(path, sizeof path, "cp '%s'/*.csv '%s'/manifest.txt '%s'/", results, results, bad);
    assert_int_equal(system(path), 0);
    snprintf(path, sizeof path, "%s/runs.csv", bad);
    td_append(path, "99,ewc,ewc\n", 11);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "runs.csv:") || !strstr(out, "fields")) fail_msg("%d: %s", rc, out);
    snprintf(path, sizeof path, "cp '%s'/runs.csv '%s'/ && rm '%s'/matrix.csv", results, bad, bad);
    assert_int_equal(system(path), 0);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "matrix.csv")) fail_msg("%d: %s", rc, out);
    /* DIR/plots a file; no gnuplot; no temporary directory */
    snprintf(path, sizeof path, "cp '%s'/*.csv '%s'/manifest.txt '%s'/ && touch '%s'/plots", results, results, bad, bad);
    assert_int_equal(system(path), 0);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "/plots: exists and is not a directory")) fail_msg("%d: %s", rc, out);
    snprintf(args, sizeof args, "plot %s --png", results);
    rc = tu_run_clreg_env("PATH=/nonexistent", args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "cannot run gnuplot")) fail_msg("%d: %s", rc, out);
    rc = tu_run_clreg_env("TMPDIR=/nonexistent", args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "temporary directory in /nonexistent")) fail_msg("%d: %s", rc, out);
    /* a script that fails: its name and gnuplot's message, naming the results file (not the copy) */
    char env[4400];
    snprintf(path, sizeof path, "mkdir '%s/gp' && cp plots/*.gp '%s/gp/' && printf \"exit error sprintf('boom: %%%%s', F)\\n\" >> '%s/gp/bars.gp'",
             bad, bad, bad);
    assert_int_equal(system(path), 0);
    snprintf(env, sizeof env, "CLREG_PLOTS='%s/gp'", bad);
    rc = tu_run_clreg_env(env, args, out, sizeof out);
    snprintf(path, sizeof path, "boom: %s/summary.csv", results);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "bars.gp (png) failed") || !strstr(out, path) ||
        strstr(out, "clreg-plot-"))
        fail_msg("%d: %s", rc, out);
}

/* Lambdas and metrics that %.6g writes with an exponent (1e-05, 1e+06, 2.5e-07, standard deviations like
 * 5.7735e-05, -3.33333e-05): gnuplot 5.4 reads a string without '.' as an integer and fails on "1e-05", so
 * every figure failed. Now every figure is drawn, and from the numbers themselves: the lambda axis spans
 * 1e-06 to 1e+06 and the legends give the selected lambdas. */
static void test_exponent_numbers(void **state)
{
    (void)state;
    const char *d = sample("exponents", 3, 3,
                           "none\tnone\t\tnan\t0.3\t0.86\t0\n"
                           "ewc\tewc\tfisher=exact\t1e-05\t0.01\t0.86\t0\t0.01\n"
                           "ewc\tewc\tfisher=exact\t1e+06\t0\t0.7\t0\t0.01\n"
                           "mas\tmas\t\t2.5e-07\t0.2\t0.85\t0\t0\n",
                           NULL);
    plot_ok(d, "");
    /* the summaries clreg plot recomputed hold the forms this test is about */
    assert_true(file_has(d, "summary.csv", ",1e-05,"));
    assert_true(file_has(d, "summary.csv", ",1e+06,"));
    assert_true(file_has(d, "summary.csv", ",2.5e-07,"));
    assert_true(file_has(d, "summary.csv", ",5.7735e-05,"));
    assert_true(file_has(d, "summary.csv", ",-3.33333e-05,"));
    assert_true(file_has(d, "summary_tasks.csv", "e-05,"));
    const char *const m[] = {"none", "ewc", "mas", NULL};
    check_all(d, m, 1);
    check_fig(d, "lambda", 1000, 700, 1);
    assert_true(svg_has(d, "lambda", "1e-06"));
    assert_true(svg_has(d, "lambda", "1e+06"));
    assert_true(svg_has(d, "avg_acc", "ewc, λ=1e-05"));
    assert_true(svg_has(d, "avg_acc", "mas, λ=2.5e-07"));
    assert_true(svg_has(d, "bars", "ewc, λ=1e-05"));
}

/* A label whose every run diverged (all its metrics nan; clreg writes no curve rows for it): every figure
 * is drawn, the label's matrix says so, and the other figures list it in their legends as diverged. */
static void test_diverged_label(void **state)
{
    (void)state;
    const char *d = sample("diverged", 3, 2,
                           "none\tnone\t\tnan\t0.3\t0.86\t0\n"
                           "ewc\tewc\t\t1\t0.1\t0.85\t0\n"
                           "ewc\tewc\t\t10\t0.05\t0.8\t0\n"
                           "l2\tl2\t\t1\t0.1\t0.85\t2\n"
                           "l2\tl2\t\t10\t0.1\t0.85\t2\n"
                           "mas\tmas\t\t1\t0.1\t0.85\t1\n",
                           NULL);
    plot_ok(d, "");
    /* the label is missing from one file, all nan in the others */
    assert_false(file_has(d, "summary_curves.csv", "\nl2,"));
    assert_true(file_has(d, "summary_tasks.csv", "\nl2,"));
    const char *const m[] = {"none", "ewc", "!l2", "mas", NULL};
    check_all(d, m, 1);
    check_fig(d, "matrix_l2", 900, 800, 2);
    const char *figs[] = {"curves", "avg_acc", "lambda", "bars"};
    for (int i = 0; i < 4; i++) {
        if (!svg_has(d, figs[i], "l2: every run diverged")) fail_msg("%s: no legend entry for l2", figs[i]);
        if (svg_contains(d, figs[i], ">l2, λ")) fail_msg("%s: l2 drawn", figs[i]);
        if (!svg_contains(d, figs[i], ">mas")) fail_msg("%s: mas (one run diverged) missing", figs[i]);
    }
    assert_true(svg_contains(d, "matrix_l2", "every run of l2 diverged"));
    assert_true(svg_has(d, "lambda", "1 of 2 diverged"));
}

/* Every run of every label diverged: summary_curves.csv has a header only, yet every figure is drawn and
 * says why it is empty. */
static void test_every_label_diverged(void **state)
{
    (void)state;
    const char *d = sample("alldiverged", 3, 2,
                           "ewc\tewc\t\t1\t0.1\t0.85\t2\n"
                           "l2\tl2\t\t1\t0.1\t0.85\t2\n"
                           "l2\tl2\t\t10\t0.1\t0.85\t2\n",
                           NULL);
    plot_ok(d, "");
    const char *const m[] = {"!ewc", "!l2", NULL};
    check_all_notes(d, m, 1, 1);
    assert_true(svg_contains(d, "avg_acc", "every run of every method diverged"));
    assert_true(svg_contains(d, "curves", "every run of every method diverged"));
    assert_true(svg_contains(d, "bars", "every run of every method diverged"));
    assert_true(svg_has(d, "curves", "ewc: every run diverged"));
    assert_true(svg_has(d, "lambda", "l2: every run diverged"));
}

/* Labels, params and dataset text from hand-written results: quotes, backslashes, ';', backquotes, a
 * gnuplot system() call, a newline, a comma, '#', '@', '|', "../", "nan", a blank, invalid UTF-8, two
 * labels that clean to one name, a 100-character label. Nothing is run, every figure is drawn, each label
 * under a token in the legends and in its matrix file name, every SVG is valid UTF-8 with escaped text. */
static void test_hostile_labels(void **state)
{
    (void)state;
    char groups[8192], dataset[600], name[5000];
    char longl[101];
    memset(longl, 'L', 100);
    longl[100] = 0;
    snprintf(groups, sizeof groups,
             "none\tnone\t\tnan\t0.3\t0.86\t0\n"
             "ewc\"x\tewc\tp=\"q\"\t1\t0.1\t0.85\t0\n"
             "a'b\tmas\tp\\\\q\t1\t0.1\t0.85\t0\n"
             "c\\\\d\tmas\tp\\\\q\t10\t0.1\t0.85\t0\n"
             "e;f`touch %s/pwned1`\tsi\tx;y\t1\t0.1\t0.85\t0\n"
             "system(\"touch %s/pwned2\")\tl2\t`touch %s/pwned3`\t1\t0.1\t0.85\t0\n"
             "g\\nh\tl2\ta\\nb\t1\t0.1\t0.85\t0\n"
             "i,j\tl2\t#c,d\t1\t0.1\t0.85\t0\n"
             "#k\tl2\t\t1\t0.1\t0.85\t0\n"
             "@m\tl2\t@n\t1\t0.1\t0.85\t0\n"
             "../../n\tl2\t\t1\t0.1\t0.85\t0\n"
             "nan\tl2\t\t1\t0.1\t0.85\t0\n"
             "ewc online\tewc\t\t1\t0.1\t0.85\t0\n"
             "ewc_online\tewc\t\t1\t0.1\t0.85\t0\n"
             "bad\xff\tewc\t\xfe\t1\t0.1\t0.85\t0\n"
             "|touch %s/pwned4\tewc\t\t1\t0.1\t0.85\t0\n"
             "%s\tewc\t\t1\t0.1\t0.85\t0\n",
             dir, dir, dir, dir, longl);
    snprintf(dataset, sizeof dataset, "data\"set,\\\\x`touch %s/pwned5`<&>", dir);
    const char *d = sample("hostile", 2, 1, groups, dataset);
    plot_ok(d, "");
    for (int i = 1; i <= 5; i++) {
        snprintf(name, sizeof name, "pwned%d", i);
        if (path_exists(dir, name)) fail_msg("%s/%s: a command in the results text was run", dir, name);
    }
    char tok64[65];
    memset(tok64, 'L', 64);
    tok64[64] = 0;
    const char *const m[] = {"none", "ewc_x", "a_b", "c_d", "g_h", "i_j", "_k", "_m", ".._.._n", "nan", "ewc_online",
                             "ewc_online_2", "bad_", tok64, NULL};
    check_all(d, m, 1);
    /* the tokens in the legends; the label that is its own token keeps it */
    assert_true(svg_has(d, "avg_acc", "ewc_x, λ=1"));
    assert_true(svg_has(d, "avg_acc", "g_h, λ=1"));
    assert_true(svg_has(d, "avg_acc", "ewc_online, λ=1"));
    assert_true(svg_has(d, "avg_acc", "ewc_online_2, λ=1"));
    assert_true(svg_has(d, "bars", "nan, λ=1"));
    /* "ewc online" came first: it is ewc_online_2, drawn before ewc_online */
    char *t = NULL;
    snprintf(name, sizeof name, "%s/plots/avg_acc.svg", d);
    t = read_text(name);
    char *p2 = strstr(t, ">ewc_online_2, λ=1<"), *p1 = strstr(t, ">ewc_online, λ=1<");
    int order_ok = p1 && p2 && p2 < p1;
    free(t);
    assert_true(order_ok);
    /* the style map names each label by its token */
    char row[300];
    assert_true(style_row(d, "ewc_x", row, sizeof row) && !strncmp(row, "ewc,", 4));
    assert_true(style_row(d, "ewc_online_2", row, sizeof row) && !strncmp(row, "ewc,", 4));
    /* the dataset text in the subtitle, with the characters gnuplot would misread replaced */
    assert_true(svg_contains(d, "avg_acc", ">data_set__x`touch "));
    /* nothing outside DIR/plots */
    assert_false(path_exists(d, "n.png"));
    assert_false(path_exists(dir, "n.png"));
}

/* Results directories whose names gnuplot could take for a command: `set output '|...'` runs one, so a
 * relative name starting with '|' was a command; quotes and newlines must stay inside the name. */
static void test_results_dir_names(void **state)
{
    (void)state;
    const char *src = sample("dirnames", 2, 1, "none\tnone\t\tnan\t0.3\t0.86\t0\newc\tewc\t\t1\t0.1\t0.85\t0\n", NULL);
    char cmd[16384], bin[PATH_MAX], sub[4400];
    const char *b = getenv("CLREG_BIN");
    if (!realpath(b ? b : "./clreg", bin)) fail_msg("cannot resolve the clreg binary");
    const char *names[] = {"|touch pwned;x", "it's \"q\" \\ $(touch pwned)\nx", NULL};
    for (int i = 0; names[i]; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
        mkdir(sub, 0700);
        snprintf(cmd, sizeof cmd, "cp '%s'/*.csv '%s'/manifest.txt \"$0\"/", src, src);
        char *argv_cmd = cmd;
        /* copy through the shell with the name as $0: no quoting of it needed */
        pid_t pid = fork();
        if (pid == 0) {
            execl("/bin/sh", "sh", "-c", argv_cmd, sub, (char *)NULL);
            _exit(127);
        }
        int st;
        waitpid(pid, &st, 0);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        /* run from dir with the relative name, through $0 again */
        snprintf(cmd, sizeof cmd, "cd '%s' && '%s' plot \"$0\" --png 2>&1", dir, bin);
        int fd[2];
        assert_int_equal(pipe(fd), 0);
        pid = fork();
        if (pid == 0) {
            dup2(fd[1], 1);
            close(fd[0]);
            execl("/bin/sh", "sh", "-c", cmd, names[i], (char *)NULL);
            _exit(127);
        }
        close(fd[1]);
        size_t n = 0;
        ssize_t r;
        while (n + 1 < sizeof out && (r = read(fd[0], out + n, sizeof out - 1 - n)) > 0) n += (size_t)r;
        out[n] = 0;
        close(fd[0]);
        waitpid(pid, &st, 0);
        if (path_exists(dir, "pwned")) fail_msg("'%s': gnuplot ran a command from the directory name", names[i]);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) fail_msg("'%s': exit %d: %s", names[i], WEXITSTATUS(st), out);
        check_fig(sub, "avg_acc", 1000, 700, 0);
        check_fig(sub, "matrix_ewc", 900, 800, 0);
    }
}

/* Small and odd results: one method, one task, one seed (standard deviations 0), lambda 0 (in a sweep,
 * and as a label's only lambda: drawn at a "0" left of a break in the log axis, not as a baseline),
 * labels without lambda only, non-ASCII labels. */
static void test_unusual_results(void **state)
{
    (void)state;
    const char *d = sample("onemethod", 3, 3, "ewc\tewc\tx=1\t1\t0.1\t0.85\t0\n", NULL);
    plot_ok(d, "");
    const char *const m1[] = {"ewc", NULL};
    check_all(d, m1, 1);

    d = sample("onetask", 1, 2, "none\tnone\t\tnan\t0.3\t0.86\t0\newc\tewc\t\t1\t0.1\t0.85\t0\n", NULL);
    plot_ok(d, "");
    const char *const m2[] = {"none", "ewc", NULL};
    check_all(d, m2, 1);
    assert_true(svg_contains(d, "bars", "no values"));

    d = sample("oneseed", 3, 1, "none\tnone\t\tnan\t0.3\t0.86\t0\newc\tewc\t\t1\t0.1\t0.85\t0\newc\tewc\t\t10\t0.1\t0.8\t0\n",
               NULL);
    plot_ok(d, "");
    assert_true(file_has(d, "summary.csv", "\nnone,none,,nan,1,acc,1,0,0.632733,0,nan,"));
    check_all(d, m2, 1);

    d = sample("lambda0", 3, 2,
               "none\tnone\t\tnan\t0.3\t0.86\t0\n"
               "ewc\tewc\t\t0\t0.3\t0.86\t0\n"
               "ewc\tewc\t\t1\t0.1\t0.85\t0\n"
               "ewc\tewc\t\t10\t0.05\t0.8\t0\n"
               "mas\tmas\t\t0\t0.3\t0.86\t0\n",
               NULL);
    plot_ok(d, "");
    const char *const m3[] = {"none", "ewc", "mas", NULL};
    check_all(d, m3, 1);
    assert_true(svg_has(d, "lambda", "0"));
    assert_true(svg_has(d, "lambda", "mas"));
    assert_false(svg_contains(d, "lambda", ">mas: 0."));

    d = sample("nolambda", 3, 2, "none\tnone\t\tnan\t0.3\t0.86\t0\njoint\tjoint\t\tnan\t0\t0.88\t0\n", NULL);
    plot_ok(d, "");
    const char *const m4[] = {"none", "joint", NULL};
    check_all(d, m4, 1);
    assert_true(svg_contains(d, "lambda", "no group with a penalty strength"));

    d = sample("nonascii", 2, 1,
               "ewc_é\tewc\t\t1\t0.1\t0.85\t0\n"
               "λ\tmas\t\t1\t0.1\t0.85\t0\n"
               "方法\tsi\t\t1\t0.1\t0.85\t0\n"
               "ok🙂\tl2\t\t1\t0.1\t0.85\t0\n",
               NULL);
    plot_ok(d, "");
    const char *const m5[] = {"ewc_é", "λ", "方法", "ok🙂", NULL};
    check_all(d, m5, 1);
    assert_true(svg_has(d, "avg_acc", "方法, λ=1"));
    assert_true(svg_has(d, "curves", "ok🙂, λ=1"));
}

/* More labels than colours (7 methods + 12 others) and than a 700-pixel legend holds: the figures grow so
 * that every entry is in the legend. */
static void test_many_labels(void **state)
{
    (void)state;
    char groups[8192] = "";
    size_t n = 0;
    for (int i = 1; i <= 40; i++) n += (size_t)snprintf(groups + n, sizeof groups - n, "lab%d\tewc\t\t%d\t0.1\t0.85\t0\n", i, i);
    const char *d = sample("many", 2, 1, groups, NULL);
    plot_ok(d, "--svg");
    char path[4400], text[64];
    for (int i = 1; i <= 40; i++) {
        snprintf(text, sizeof text, "lab%d, λ=%d", i, i);
        if (!svg_has(d, "avg_acc", text)) fail_msg("avg_acc: no legend entry %s", text);
        snprintf(path, sizeof path, "%s/plots/matrix_lab%d.svg", d, i);
        char err[512];
        if (svg_check(path, err, sizeof err)) fail_msg("%s", err);
    }
    /* 41 legend rows of 21 pixels do not fit in 700 */
    snprintf(path, sizeof path, "%s/plots/avg_acc.svg", d);
    char *t = read_text(path);
    int h = 0;
    char *sz = strstr(t, "height=\"");
    if (sz) h = atoi(sz + 8);
    free(t);
    if (h <= 700) fail_msg("avg_acc.svg: height %d, the legend of 40 labels does not fit", h);
}

/* The map's row of a label of method `name`, checked against the registry: the method, its colour, its
 * dash and point types when exact (else a pair other than the method's own), the note its flags give. */
static void check_style(const char *d, const char *label, const char *name, int exact)
{
    char row[300], want[300];
    const cl_reg_method *m = cl_reg_find(name);
    const cl_reg_style *st = cl_reg_method_style(m);
    const char *note = cl_reg_method_joint(m) ? "upper bound" : !cl_reg_method_has_penalty(m) ? "no penalty" : "";
    if (!style_row(d, label, row, sizeof row)) fail_msg("%s/plots/styles.csv: no row for %s", d, label);
    int dash = 0, point = 0, k = 0;
    snprintf(want, sizeof want, "%s,%s,", name, st->color);
    if (strncmp(row, want, strlen(want)) || sscanf(row + strlen(want), "%d,%d,%n", &dash, &point, &k) != 2 ||
        strcmp(row + strlen(want) + k, note))
        fail_msg("styles.csv: %s: '%s', expected '%s' dash,point,'%s'", label, row, want, note);
    if (exact && (dash != st->dash || point != st->point))
        fail_msg("styles.csv: %s: dash %d point %d, the registry's %s has %d %d", label, dash, point, name, st->dash,
                 st->point);
    if (!exact && dash == st->dash && point == st->point)
        fail_msg("styles.csv: the variant %s is drawn exactly like %s", label, name);
}

/* The figures' styles come from the registry: clreg plot writes the map it draws with (plots/styles.csv). A
 * label named as its method has the method's style; variants keep the method's colour and take distinct
 * dash and point types by their rank among the method's labels, the same whatever other methods the grid
 * holds and in whatever order; the notes say what the registry's flags say; and the figures draw the
 * map's colours, not the neutral ones the scripts use without a map. */
static void test_styles(void **state)
{
    (void)state;
    char a[4300], b[4300], ra[2][300], rb[2][300];
    snprintf(a, sizeof a, "%s", sample("stylesA", 2, 1,
                                       "none\tnone\t\tnan\t0.3\t0.86\t0\n"
                                       "joint\tjoint\t\tnan\t0\t0.88\t0\n"
                                       "ewc\tewc\t\t1\t0.1\t0.85\t0\n"
                                       "ewc_online\tewc\t\t1\t0.1\t0.8\t0\n"
                                       "ewc_b\tewc\t\t1\t0.1\t0.8\t0\n"
                                       "mas\tmas\t\t1\t0.1\t0.85\t0\n",
                                       NULL));
    plot_ok(a, "--svg");
    check_style(a, "none", "none", 1);
    check_style(a, "joint", "joint", 1);
    check_style(a, "ewc", "ewc", 1);
    check_style(a, "mas", "mas", 1);
    check_style(a, "ewc_online", "ewc", 0);
    check_style(a, "ewc_b", "ewc", 0);
    assert_true(style_row(a, "ewc_online", ra[0], sizeof ra[0]) && style_row(a, "ewc_b", ra[1], sizeof ra[1]));
    if (!strcmp(ra[0], ra[1])) fail_msg("styles.csv: ewc_online and ewc_b drawn alike: %s", ra[0]);
    /* the same variants, listed the other way round, among other methods */
    snprintf(b, sizeof b, "%s", sample("stylesB", 2, 1,
                                       "si\tsi\t\t1\t0.1\t0.85\t0\n"
                                       "ewc_online\tewc\t\t1\t0.1\t0.8\t0\n"
                                       "mas_x\tmas\t\t1\t0.1\t0.85\t0\n"
                                       "ewc_b\tewc\t\t1\t0.1\t0.8\t0\n"
                                       "l2\tl2\t\t1\t0.1\t0.85\t0\n",
                                       NULL));
    plot_ok(b, "--png");
    check_style(b, "si", "si", 1);
    check_style(b, "mas_x", "mas", 0);
    assert_true(style_row(b, "ewc_online", rb[0], sizeof rb[0]) && style_row(b, "ewc_b", rb[1], sizeof rb[1]));
    assert_string_equal(ra[0], rb[0]);
    assert_string_equal(ra[1], rb[1]);
    /* the figures draw with the map: every method's registry colour is in them */
    const char *names[] = {"none", "joint", "ewc", "mas"};
    for (int i = 0; i < 4; i++) {
        unsigned r, g, bl;
        char rgb[64];
        assert_int_equal(sscanf(cl_reg_method_style(cl_reg_find(names[i]))->color, "#%2x%2x%2x", &r, &g, &bl), 3);
        snprintf(rgb, sizeof rgb, "rgb(%3u, %3u, %3u)", r, g, bl);
        if (!svg_contains(a, "avg_acc", rgb)) fail_msg("avg_acc.svg: %s not drawn in its colour %s", names[i], rgb);
    }
    assert_true(svg_contains(a, "lambda", ">none (no penalty): "));
    assert_true(svg_contains(a, "lambda", ">joint (upper bound): "));
}

/* The label lookups of common.gp on lists longer than gnuplot's recursion limit (about 250). */
static void test_many_words(void **state)
{
    (void)state;
    char cmd[16384];
    size_t n = (size_t)snprintf(cmd, sizeof cmd, "gnuplot -e \"dir='.'; labels='");
    for (int i = 1; i <= 400; i++) n += (size_t)snprintf(cmd + n, sizeof cmd - n, "%sl%d", i > 1 ? " " : "", i);
    snprintf(cmd + n, sizeof cmd - n,
             "'\" -e \"load 'plots/common.gp'; print lidx('l399'), lidx('nope'), lcol('l399') eq lcol('l15')\" 2>&1");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[512] = "";
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    pclose(p);
    if (strcmp(line, "399 0 1\n")) fail_msg("expected \"399 0 1\", got \"%s\"", line);
}

/* The importance figure with a label that is not a method name, after another label. */
static void test_importance_label(void **state)
{
    (void)state;
    char path[4400], args[9000], res[4400];
    snprintf(path, sizeof path, "%s/imp.ini", dir);
    td_write_text(path, "[experiment]\ndataset = synthetic\nstream = split\nscenario = task\ntasks = 2\nhidden = 8\n"
                        "epochs = 1\nbatch = 64\nseeds = 1\nsave_state = first\n[mas]\n[ewc online]\n[l2]\n");
    snprintf(res, sizeof res, "%s/imp", dir);
    snprintf(args, sizeof args, "run %s -o %s --quiet", path, res);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    plot_ok(res, "--png");
    check_fig(res, "importance", 1000, 0, 0);
    assert_true(file_has(res, "importance_hist.csv", "\newc_online,"));
    /* a method outside EWC and MAS gets its histogram too (Omega = 1: every weight in the bin holding log10 = 0) */
    assert_true(file_has(res, "importance_hist.csv", "\nl2,0,-0.2,0.1,1\n"));
    assert_true(file_has(res, "importance_hist.csv", "\nmas,"));
    /* the variant keeps its method's colour in the figure's map */
    char row[128];
    snprintf(row, sizeof row, "\newc_online,ewc,%s,", cl_reg_method_style(cl_reg_find("ewc"))->color);
    assert_true(file_has(res, "plots/styles.csv", row));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_figure),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_exponent_numbers),
        cmocka_unit_test(test_diverged_label),
        cmocka_unit_test(test_every_label_diverged),
        cmocka_unit_test(test_hostile_labels),
        cmocka_unit_test(test_results_dir_names),
        cmocka_unit_test(test_unusual_results),
        cmocka_unit_test(test_many_labels),
        cmocka_unit_test(test_many_words),
        cmocka_unit_test(test_styles),
        cmocka_unit_test(test_importance_label),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
