/* The command line as a user meets it: help and version, one clear message and a non-zero exit for every
 * bad value or bad input file, and a working run on small IDX data. Runs the binary under test
 * ($CLREG_BIN: the optimized or the sanitized build). */
#include "tests/testutil.h"
#include "tests/testdata.h"

#include "core/blas.h"
#include "regularizers/regularizer.h"

static char out[1 << 16];

/* Expect failure with exit status `status`, a single line of output, containing every given string. */
static void expect_error(const char *args, int status, const char *w1, const char *w2)
{
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != status) fail_msg("clreg %s: exit %d, expected %d; output:\n%s", args, rc, status, out);
    if (tu_count_lines(out) != 1) fail_msg("clreg %s: expected one line, got:\n%s", args, out);
    if (w1 && !strstr(out, w1)) fail_msg("clreg %s: output lacks '%s':\n%s", args, w1, out);
    if (w2 && !strstr(out, w2)) fail_msg("clreg %s: output lacks '%s':\n%s", args, w2, out);
}

static void test_version_and_help(void **state)
{
    (void)state;
    assert_int_equal(tu_run_clreg("--version", out, sizeof out), 0);
    assert_non_null(strstr(out, "clreg "));
    assert_non_null(strstr(out, "OpenBLAS"));
    assert_non_null(strstr(out, "OpenMP build"));
    assert_non_null(strstr(out, "kernel "));
    /* On a CPU with AVX2 the kernel in use is never a generic fallback: either OpenBLAS picked a modern one
     * or clreg restarted itself with one, silently when stderr is not a terminal (as here). */
    cl_cpu cpu = cl_cpu_detect();
    if (cpu.avx2_fma) {
        /* the kernel's name ends at the comma or the space before "(chosen by clreg ...)" */
        char k[64] = "";
        sscanf(strstr(out, "kernel ") + 7, "%63[^, ]", k);
        if (cl_blas_core_is_generic(k)) fail_msg("generic BLAS kernel '%s' on a CPU with AVX2:\n%s", k, out);
    }
    assert_null(strstr(out, "restarting"));
    /* A kernel the user names is kept, and nothing claims clreg chose it. */
    assert_int_equal(tu_run_clreg_env("OPENBLAS_CORETYPE=PRESCOTT", "--version", out, sizeof out), 0);
    assert_non_null(strstr(out, "kernel Prescott,"));
    assert_int_equal(tu_run_clreg("--help", out, sizeof out), 0);
    assert_non_null(strstr(out, "train"));
    assert_int_equal(tu_run_clreg("train --help", out, sizeof out), 0);
    assert_non_null(strstr(out, "--scenario"));
    assert_non_null(strstr(out, "--data-path"));
    assert_int_not_equal(tu_run_clreg("", out, sizeof out), 0);
}

static void test_bad_options(void **state)
{
    (void)state;
    expect_error("frobnicate", 2, "unknown command 'frobnicate'", NULL);
    expect_error("train --lr abc", 2, "--lr", "expected a finite number");
    expect_error("train --lr -1", 2, "--lr", "(0, ");
    expect_error("train --tasks 0", 2, "--tasks", "from 1");
    expect_error("train --epochs 2.5", 2, "--epochs", "whole number");
    expect_error("train --hidden 400,x", 2, "--hidden", "comma list");
    expect_error("train --stream spiral", 2, "--stream", "permuted, split or rotated");
    expect_error("train --scenario sometimes", 2, "--scenario", "task, domain or class");
    expect_error("train --optimizer rmsprop", 2, "--optimizer", "adam or sgd");
    expect_error("train --bogus", 2, "unknown option '--bogus'", NULL);
    expect_error("train --lr", 2, "--lr needs a value", NULL);
    expect_error("train extra", 2, "unexpected argument 'extra'", NULL);
    expect_error("train --seed -3", 2, "--seed", "non-negative");
    expect_error("train --dataset imagenet", 2, "imagenet", "fashion-mnist");
    expect_error("train --dataset mnist", 1, "mnist", "--data-path");
    expect_error("train --dataset synthetic --stream split --groups 0,1/2,77", 2, "class 77", NULL);
    expect_error("train --dataset synthetic --stream split --tasks 9", 2, "only 5 class groups", NULL);
    expect_error("train --dataset synthetic --reg mass", 2, "unknown regularizer 'mass'", "did you mean 'mas'");
    expect_error("train --dataset synthetic --reg ewc -p fisher=bogus", 2, "fisher", "empirical, sampled, exact");
    expect_error("train --dataset synthetic --reg ewc --lambda -5", 2, "lambda", "[0, ");
    expect_error("train --dataset synthetic --reg si -p lamda=2", 2, "did you mean 'lambda'", NULL);
    expect_error("train --dataset synthetic --reg none --lambda 3", 2, "none: takes no parameters", NULL);
    expect_error("train -x", 2, "unknown option '-x'", NULL);
}

/* The line of text that starts at *p (its length; *p moves past it). */
static size_t next_line(const char **p)
{
    const char *s = *p;
    size_t n = strcspn(s, "\n");
    *p = s + n + (s[n] == '\n');
    return n;
}

/* The first word of the line at s (n bytes) after its leading blanks: its length, *w where it starts. */
static size_t first_word(const char *s, size_t n, const char **w)
{
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    *w = s + i;
    size_t k = 0;
    while (i + k < n && s[i + k] != ' ') k++;
    return k;
}

/* 1 when the line at s (n bytes) holds t after byte `from`. */
static int line_has(const char *s, size_t n, size_t from, const char *t)
{
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)n, s);
    return from <= strlen(line) && strstr(line + from, t) != NULL;
}

/* clreg list names every registered method with its parameters: each method of the registry, in its
 * order, on a line of its own with its summary (the name at the start of the line), followed by one
 * indented line per entry of its parameter table (the name first, then "=", the default and the help),
 * and nothing else. Read from the registry, so a method added to it is checked the day it is; the column
 * widths are cl_reg_list's to choose. */
static void test_list(void **state)
{
    (void)state;
    assert_int_equal(tu_run_clreg("list", out, sizeof out), 0);
    const char *p = strstr(out, "\n\n");
    assert_non_null(p);
    p += 2;
    int nm = cl_reg_method_count();
    assert_true(nm > 0);
    for (int i = 0; i < nm; i++) {
        const cl_reg_method *m = cl_reg_method_at(i);
        const char *name = cl_reg_method_name(m), *line = p, *w;
        size_t n = next_line(&p), k = first_word(line, n, &w);
        if (w != line || k != strlen(name) || strncmp(w, name, k) || !line_has(line, n, k, cl_reg_method_summary(m)))
            fail_msg("clreg list: method %d: expected '%s' and its summary, got '%.*s'", i, name, (int)n, line);
        for (const cl_reg_param *q = cl_reg_method_params(m); q && q->name; q++) {
            line = p;
            n = next_line(&p);
            k = first_word(line, n, &w);
            size_t at = (size_t)(w - line) + k;
            if (w == line || k != strlen(q->name) || strncmp(w, q->name, k) || !line_has(line, n, at, " = ") ||
                !line_has(line, n, at, q->def) || !line_has(line, n, at, q->help))
                fail_msg("clreg list: %s: expected the parameter '%s' (= %s, %s), got '%.*s'", name, q->name, q->def,
                         q->help, (int)n, line);
        }
    }
    if (*p) fail_msg("clreg list: text after the last registered method's parameters: '%s'", p);
}

/* clreg train --help names every registered method under --reg (the list wraps; names are separated by
 * ", " or a line break), and marks the default. */
static void test_help_methods(void **state)
{
    (void)state;
    assert_int_equal(tu_run_clreg("train --help", out, sizeof out), 0);
    const char *a = strstr(out, "--reg NAME"), *b = a ? strstr(a, "\n  --lambda") : NULL;
    if (!a || !b) fail_msg("train --help: no --reg block:\n%s", out);
    char block[4096];
    snprintf(block, sizeof block, "%.*s", (int)(b - a), a);
    for (int i = 0; i < cl_reg_method_count(); i++) {
        const char *name = cl_reg_method_name(cl_reg_method_at(i));
        int found = 0;
        for (const char *s = block; !found && (s = strstr(s, name)); s++) {
            char after = s[strlen(name)];
            found = (s[-1] == ' ') && (after == ',' || after == '\n' || after == 0 || !strncmp(s + strlen(name), " (default)", 10));
        }
        if (!found) fail_msg("train --help does not list the method '%s':\n%s", name, block);
    }
    assert_non_null(strstr(block, " (default)"));
}

/* A regularized run with --save-state writes the .npy files after every task. */
static void test_save_state_cli(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), args[8192], path[4200];
    snprintf(args, sizeof args, "train --dataset synthetic --tasks 2 --hidden 16 --reg mas -p samples=100 --quiet "
                                "--save-state %s/state", dir);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    const char *files[] = {"task1/params/layer0.weight.npy", "task1/params/head0.bias.npy",
                           "task2/importance/layer0.weight.npy", "task2/importance/head0.weight.npy"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/state/%s", dir, files[i]);
        if (access(path, R_OK) != 0) fail_msg("%s was not written", path);
    }
    /* a place that cannot be a directory: one message, exit 1 */
    snprintf(path, sizeof path, "%s/file", dir);
    td_write_text(path, "x");
    snprintf(args, sizeof args, "train --dataset synthetic --tasks 1 --hidden 8 --quiet --save-state %s/file/sub", dir);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || !strstr(out, "not a directory")) fail_msg("exit %d, output:\n%s", rc, out);
    tu_rmdir(dir);
}

/* Each damaged IDX file, through the command line: one message naming the file, exit 1, no crash. */
static void test_bad_idx_files(void **state)
{
    (void)state;
    struct {
        const char *file;
        const char *what;
        const char *expect;
    } cases[] = {
        {"train-images-idx3-ubyte.gz", "truncate", "truncated"},
        {"train-images-idx3-ubyte.gz", "magic", "magic"},
        {"t10k-labels-idx1-ubyte.gz", "crc", "gzip"},
        {"train-labels-idx1-ubyte.gz", "count", "labels"},
        {"t10k-labels-idx1-ubyte.gz", "range", "label"},
        {"t10k-images-idx3-ubyte.gz", "missing", "t10k-images-idx3-ubyte"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *dir = tu_mkdtemp(), path[4096], args[8192];
        td_write_mnist(dir, "", 60, 20, 6, 6, 10, TD_GZIP);
        td_path(path, dir, cases[i].file);
        const char *what = cases[i].what;
        if (!strcmp(what, "truncate")) {
            /* rewrite raw payload short, then gzip it: a complete gzip stream of too little data */
            td_write_idx(path, TD_MAGIC_IMAGES, (uint32_t[]){60, 6, 6}, 3, (const uint8_t *)"abc", 3, TD_GZIP);
        } else if (!strcmp(what, "magic")) {
            td_write_labels(path, 60, 10, 0, TD_GZIP); /* a label file where images belong */
        } else if (!strcmp(what, "crc")) {
            td_flip_byte(path, -8);
        } else if (!strcmp(what, "count")) {
            td_write_labels(path, 59, 10, 0, TD_GZIP);
        } else if (!strcmp(what, "range")) {
            td_write_labels(path, 20, 12, 0, TD_GZIP); /* labels up to 11 for a 10-class dataset */
        } else if (!strcmp(what, "missing")) {
            unlink(path);
        }
        snprintf(args, sizeof args, "train --dataset mnist --data-path %s --tasks 1 --quiet", dir);
        int rc = tu_run_clreg(args, out, sizeof out);
        if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, cases[i].expect) ||
            (strcmp(what, "missing") && !strstr(out, cases[i].file)))
            fail_msg("case %s on %s: exit %d, output:\n%s", what, cases[i].file, rc, out);
        tu_rmdir(dir);
    }
}

static void test_bad_csv(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), tr[4096], te[4096], args[12288];
    td_path(tr, dir, "train.csv");
    td_path(te, dir, "test.csv");
    td_write_text(tr, "label,a,b\n0,1,2\n1,3\n");
    td_write_text(te, "label,a,b\n0,1,2\n");
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --quiet", tr, te);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "train.csv") || !strstr(out, "line 3"))
        fail_msg("ragged CSV: exit %d, output:\n%s", rc, out);
    tu_rmdir(dir);
}

/* A run on small IDX data (raw files this time): exit 0, the matrix is printed, and a second run with the
 * same seed prints the same numbers. */
static void test_run_and_reproduce(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), args[8192];
    td_write_mnist(dir, "", 300, 100, 8, 8, 10, TD_RAW);
    snprintf(args, sizeof args, "train --dataset mnist --data-path %s --tasks 3 --hidden 16 --batch 32 --quiet", dir);
    static char first[1 << 16];
    assert_int_equal(tu_run_clreg(args, first, sizeof first), 0);
    assert_non_null(strstr(first, "accuracy matrix"));
    assert_non_null(strstr(first, "after 3"));
    assert_non_null(strstr(first, "ACC "));
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 0);
    /* everything up to the timing line is identical */
    char *t1 = strstr(first, "time:"), *t2 = strstr(out, "time:");
    assert_true(t1 && t2 && t1 - first == t2 - out);
    assert_memory_equal(first, out, (size_t)(t1 - first));
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_and_help), cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_bad_idx_files),    cmocka_unit_test(test_bad_csv),
        cmocka_unit_test(test_run_and_reproduce), cmocka_unit_test(test_list), cmocka_unit_test(test_help_methods),
        cmocka_unit_test(test_save_state_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
