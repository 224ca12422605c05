/* Command-line values of clreg run and clreg train as a user meets them: options named as typed, empty and
 * hostile values refused with one clean line, output directories checked before any work. Runs the binary
 * under test ($CLREG_BIN). */
#include "tests/testutil.h"
#include "tests/testdata.h"

#include <sys/stat.h>

static char out[1 << 16];

/* Expect exit status `status`, one line of printable text, containing w1 and w2 (when given). */
static void expect(const char *args, int status, const char *w1, const char *w2)
{
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != status) fail_msg("clreg %.200s: exit %d, expected %d; output:\n%s", args, rc, status, out);
    if (tu_count_lines(out) != 1) fail_msg("clreg %.200s: expected one line, got:\n%s", args, out);
    for (const unsigned char *c = (const unsigned char *)out; *c; c++)
        if ((*c < 0x20 && *c != '\n') || *c >= 0x7f) fail_msg("clreg %.200s: raw byte 0x%02x in:\n%s", args, *c, out);
    if (w1 && !strstr(out, w1)) fail_msg("clreg %.200s: output lacks '%s':\n%s", args, w1, out);
    if (w2 && !strstr(out, w2)) fail_msg("clreg %.200s: output lacks '%s':\n%s", args, w2, out);
}

/* A value is reported under the option's name as typed: -j when -j was typed, --threads for --threads or an
 * abbreviation of it. */
static void test_options_named_as_typed(void **state)
{
    (void)state;
    expect("run -j 0 g.ini", 2, "clreg run: -j: expected a whole number from 1 to 1024, got '0'", NULL);
    expect("run --threads 0 g.ini", 2, "clreg run: --threads: expected", NULL);
    expect("run --thr=0 g.ini", 2, "clreg run: --threads: expected", NULL);
    expect("run -j0 g.ini", 2, "clreg run: -j: expected", NULL);
    expect("run g.ini -j", 2, "option '-j' needs a value", NULL);
    expect("run g.ini -o ''", 2, "-o: expected a directory, got an empty value", NULL);
    expect("run g.ini --out ''", 2, "--out: expected a directory", NULL);
    expect("train -p", 2, "option -p needs a value", NULL);
    expect("train --param", 2, "option --param needs a value", NULL);
    expect("train --epo 0", 2, "--epochs: expected a whole number from 1", NULL);
    expect("run a.ini b.ini", 2, "expected one grid file, got 'a.ini' and 'b.ini'", NULL);
}

/* Values that meant something silently, or that carry bytes a terminal would act on. */
static void test_hostile_values(void **state)
{
    (void)state;
    /* an empty --hidden (an unset shell variable) was a linear model; "none" says so */
    expect("train --dataset synthetic --hidden ''", 2, "--hidden", "none for a linear model");
    expect("train --dataset synthetic --hidden ' , '", 2, "--hidden", "comma list");
    assert_int_equal(tu_run_clreg("train --dataset synthetic --tasks 1 --hidden none --quiet", out, sizeof out), 0);
    assert_int_equal(tu_run_clreg("train --dataset synthetic --tasks 1 --hidden ' 16 , 8 ' --quiet", out, sizeof out),
                     0);
    /* a misspelt dataset is an option error, with the closest name */
    expect("train --dataset fashion-mnst", 2, "--dataset: unknown dataset 'fashion-mnst'",
           "did you mean 'fashion-mnist'");
    /* a leading blank let strtoull wrap -1 to 2^64 - 1 */
    expect("train --seed ' -1'", 2, "--seed", "non-negative");
    /* an empty path meant the default location without a word */
    expect("train --data-path ''", 2, "--data-path: expected a path, got an empty value", NULL);
    expect("run g.ini --data-path ''", 2, "--data-path: expected a path, got an empty value", NULL);
    expect("train --seed 99999999999999999999999", 2, "--seed", "from 0 to 18446744073709551615");
    expect("train --epochs 99999999999999999999999", 2, "--epochs", "from 1 to 100000");
    /* control bytes are refused where they are typed (every module's messages quote values as they are),
     * and shown escaped; long values are cut, and the reason kept */
    expect("train --lr \"$(printf '\\033[2J')\"", 2, "--lr: the value '\\x1B[2J' holds a control byte (0x1b)", NULL);
    expect("train --data-path \"$(printf 'a\\nb')\"", 2, "--data-path: the value 'a\\nb' holds a control byte", NULL);
    expect("run \"$(printf 'g\\r.ini')\"", 2, "the grid file's name: the value 'g\\r.ini' holds a control byte", NULL);
    expect("train --reg \"$(head -c 3000 /dev/zero | tr '\\0' x)\"", 2, "--reg: 'xxx", "(3000 bytes)' is longer");
    char args[8000] = "train --optimizer ";
    size_t n = strlen(args);
    memset(args + n, 'z', 5000);
    args[n + 5000] = 0;
    expect(args, 2, "--optimizer: expected adam or sgd, got 'zzzz", "... (5000 bytes)");
    if (strlen(out) > 200) fail_msg("a message of %zu bytes:\n%s", strlen(out), out);
    strcpy(args, "train --bogus");
    memset(args + 13, 'q', 5000);
    args[13 + 5000] = 0;
    expect(args, 2, "unknown option '--bogusqqq", "(5007 bytes)");
}

/* Output directories are checked before any training: --save-state /proc/x used to fail after task 1
 * trained, and the results directory of a run after its data was loaded. */
static void test_output_dirs_checked_first(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), args[8400], path[4200];
    snprintf(args, sizeof args, "train --dataset synthetic --tasks 2 --hidden 8 --save-state /proc/clreg-no/x");
    int rc = tu_run_clreg(args, out, sizeof out);
    /* not quiet: any training would print an epoch line before the message */
    if (rc != 1 || strstr(out, "epoch") || !strstr(out, "--save-state: /proc/clreg-no: cannot create directory"))
        fail_msg("exit %d:\n%s", rc, out);
    snprintf(path, sizeof path, "%s/file", dir);
    td_write_text(path, "x");
    snprintf(args, sizeof args, "train --dataset synthetic --tasks 2 --hidden 8 --save-state %s/file/sub", dir);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || strstr(out, "epoch") || !strstr(out, "exists and is not a directory"))
        fail_msg("exit %d:\n%s", rc, out);

    snprintf(path, sizeof path, "%s/g.ini", dir);
    td_write_text(path, "[experiment]\ndataset = synthetic\ntasks = 2\nhidden = 8\n[none]\n");
    snprintf(args, sizeof args, "run %s -o /proc/clreg-no/x", path);
    expect(args, 1, "clreg run: -o: /proc/clreg-no: cannot create directory", NULL);
    snprintf(args, sizeof args, "run %s --out %s/file/res", path, dir);
    expect(args, 1, "--out: ", "exists and is not a directory");
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options_named_as_typed),
        cmocka_unit_test(test_hostile_values),
        cmocka_unit_test(test_output_dirs_checked_first),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
