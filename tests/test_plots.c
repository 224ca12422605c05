/* Figures: every gnuplot script runs on a small results directory made by a tiny grid, and each expected
 * image exists, is a valid PNG of the stated size (or a valid SVG) and is not blank; a gnuplot error fails
 * the test through clreg plot's exit status. Missing or malformed CSVs give one clear message. */
#include "tests/testutil.h"
#include "tests/testdata.h"
#include "tests/pngcheck.h"

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
    char path[4200], args[9000];
    snprintf(path, sizeof path, "%s/tiny.ini", dir);
    td_write_text(path, grid);
    snprintf(results, sizeof results, "%s/res", dir);
    snprintf(args, sizeof args, "run %s -o %s --quiet", path, results);
    if (tu_run_clreg(args, out, sizeof out) != 0) {
        fprintf(stderr, "grid failed:\n%s\n", out);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static void check_png(const char *name, int w, int h)
{
    char path[4400], err[512];
    int pw = 0, ph = 0;
    snprintf(path, sizeof path, "%s/plots/%s.png", results, name);
    if (png_check_nonblank(path, &pw, &ph, err, sizeof err)) fail_msg("%s: %s", path, err);
    if ((w && pw != w) || (h && ph != h)) fail_msg("%s: %dx%d, expected %dx%d", path, pw, ph, w, h);
    snprintf(path, sizeof path, "%s/plots/%s.svg", results, name);
    if (svg_check(path, err, sizeof err)) fail_msg("%s: %s", path, err);
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
    char args[4400], path[13000], bad[4200];
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
    snprintf(path, sizeof path, "cp '%s'/*.csv '%s'/", results, bad);
    assert_int_equal(system(path), 0);
    snprintf(path, sizeof path, "%s/runs.csv", bad);
    td_append(path, "99,ewc,ewc\n", 11);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "runs.csv:") || !strstr(out, "fields")) fail_msg("%d: %s", rc, out);
    snprintf(path, sizeof path, "cp '%s'/runs.csv '%s'/ && rm '%s'/matrix.csv", results, bad, bad);
    assert_int_equal(system(path), 0);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "matrix.csv")) fail_msg("%d: %s", rc, out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_figure),
        cmocka_unit_test(test_select),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
