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

#include <zlib.h>

#include "core/error.h"
#include "core/rng.h"
#include "core/timer.h"
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
        /* a list holds each value once: numbers by value */
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 1, 1\n", ":4:", "lambda: '1' is listed twice"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 10, 1, 1.0\n", ":4:", "'1' and '1.0' are the same"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 100, 1e2\n", ":4:", "same value"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 0, -0\n", ":4:", "same value"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 1, 1.0000001\n", ":4:", "same value"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nfisher = exact, empirical, exact\n", ":4:", "fisher"},
        {"[experiment]\ndataset = synthetic\n[mas]\nsamples = 100, 0100\n", ":4:", "samples"},
        {"[experiment]\ndataset = synthetic\nseeds = 3, 3\n[none]\n", ":3:", "seeds: 3 is listed twice"},
        /* orders: no more than T! of them, none repeated */
        {"[experiment]\ndataset = synthetic\ntasks = 3\norders = 7\n[none]\n", ":4:", "only 6 distinct orders"},
        {"[experiment]\ndataset = synthetic\ntasks = 1\norders = 2\n[none]\n", ":4:", "1 task has only 1"},
        {"[experiment]\ndataset = synthetic\ntasks = 3\norders = 1 2 3 | 3 2 1 | 1 2 3\n[none]\n", ":4:",
         "order 3 repeats order 1"},
        {"[experiment]\ndataset = synthetic\ntasks = 3\norders = 1 2 3 |\n[none]\n", ":4:", "order 2 is empty"},
        /* the cell count, before any cell exists */
        {"[experiment]\ndataset = synthetic\nseeds = 100000\norders = 100\ntasks = 10\n[none]\n[l2]\n",
         "20000000 cells", "at most 100000"},
        /* names that become files */
        {"[experiment]\nname = ../../x\ndataset = synthetic\n[none]\n", ":2:", "plain file name"},
        {"[experiment]\nname = .hidden\ndataset = synthetic\n[none]\n", ":2:", "plain file name"},
        {"[experiment]\ndataset = synthetic\n[ewc a/b]\n", ":3:", "label"},
        {"[experiment]\ndataset = synthetic\n[ewc run]\n[ewc RUN]\n", ":4:", "but for case"},
        {"[experiment]\ndataset = synthetic\n[EWC]\n", ":3:", "did you mean [ewc]"},
        {"[experiment]\ndataset = synthetic\n[none] lambda = 1\n", ":3:", "after the section header"},
        /* empty values that would mean something silently */
        {"[experiment]\ndataset = synthetic\nhidden =\n[none]\n", ":3:", "none for a linear model"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda =\n", ":4:", "expected a value"},
        {"[experiment]\ndataset = synthetic\nstream = split\ngroups =\n[none]\n", ":4:", "groups"},
        {"[experiment]\ndataset = synthetic\ndata_path =\n[none]\n", ":3:", "data_path: expected a path"},
        /* the dataset is checked on its line, with the closest name */
        {"[experiment]\ndataset = fashion-mnst\n[none]\n", ":2:", "did you mean 'fashion-mnist'"},
        /* counts and numbers out of range */
        {"[experiment]\ndataset = synthetic\nseeds = 0\n[none]\n", ":3:", "seeds"},
        {"[experiment]\ndataset = synthetic\nseeds = 1, -1\n[none]\n", ":3:", "non-negative"},
        {"[experiment]\ndataset = synthetic\nseeds = 1, 18446744073709551616\n[none]\n", ":3:", "from 0 to"},
        {"[experiment]\ndataset = synthetic\nepochs = 99999999999999999999999\n[none]\n", ":3:", "from 1 to 100000"},
        {"[experiment]\ndataset = synthetic\nlr = 1e999\n[none]\n", ":3:", "finite"},
        {"[experiment]\ndataset = synthetic\ntasks = 2\ntasks = 3\n[none]\n", ":4:", "first on line 3"},
        {"[experiment]\ndataset = synthetic\n[ewc]\nlambda = 1\nmode = online\ngamma = 1\nfisher = exact\n"
         "data = train\nsamples = 0\nxi = 1\na = 1\nb = 1\nc = 1\nd = 1\ne = 1\nf = 1\ng = 1\nh = 1\ni = 1\n",
         ":10:", "unknown parameter 'xi'"},
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

/* A message is one line of printable text: no raw byte of the input reaches the terminal. */
static void assert_clean_message(const char *msg, size_t maxlen)
{
    for (const unsigned char *c = (const unsigned char *)msg; *c; c++)
        if (*c < 0x20 || *c >= 0x7f) fail_msg("raw byte 0x%02x in the message: %s", *c, msg);
    if (strlen(msg) > maxlen) fail_msg("message of %zu bytes (at most %zu expected): %s", strlen(msg), maxlen, msg);
}

/* Load bytes as a grid file; returns cl_grid_load's result (g is freed unless keep). */
static int load_bytes(const char *dir, const void *bytes, size_t n, cl_grid *g, int keep)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/text.ini", dir);
    tu_write_file(path, bytes, n);
    int rc = cl_grid_load(g, path);
    if (!keep || rc) cl_grid_free(g);
    return rc;
}

/* What editors and other tools put in text files: a byte order mark, \r\n and lone \r line ends, tabs, UTF-8
 * in comments, no final newline: all read as the same grid, with the right line numbers. Binary bytes,
 * overlong lines and overlong names: one clean line with the line number and the reason. */
static void test_text_forms(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    cl_grid g;
    static const char *const same[] = {
        "\xef\xbb\xbf[experiment]\ndataset = synthetic\ntasks = 3\n[ewc]\nlambda = 1, 10\n",
        "[experiment]\r\ndataset = synthetic\r\ntasks = 3\r\n[ewc]\r\nlambda = 1, 10\r\n",
        "[experiment]\rdataset = synthetic\rtasks = 3\r[ewc]\rlambda = 1, 10",
        "; caf\xc3\xa9 \xe2\x80\x94 grid\n[experiment]\n\tdataset\t=\tsynthetic\ntasks = 3\n[ewc]\nlambda = 1,10",
    };
    for (size_t i = 0; i < sizeof same / sizeof *same; i++) {
        if (load_bytes(dir, same[i], strlen(same[i]), &g, 1)) fail_msg("form %zu: %s", i, cl_errmsg());
        assert_string_equal(g.set.dataset, "synthetic");
        assert_int_equal(g.set.stream.ntasks, 3);
        assert_int_equal(g.nsections, 1);
        assert_int_equal(g.sections[0].nvals[0], 2);
        assert_int_equal(g.sections[0].keyline[0], 5 + (i == 3));
        cl_grid_free(&g);
    }
    /* line numbers after \r\n line ends */
    const char *crlf = "[experiment]\r\ndataset = synthetic\r\nepoch = 2\r\n[none]\r\n";
    assert_int_equal(load_bytes(dir, crlf, strlen(crlf), &g, 0), -1);
    assert_non_null(strstr(cl_errmsg(), "text.ini:3:"));

    static const struct {
        const char *bytes;
        size_t n;
        const char *expect1, *expect2;
    } bad[] = {
        {"[experiment]\ndataset = synthetic\n\0\0\0\0\n[none]\n", 39, "text.ini:3: binary data", "0x00"},
        {"[experiment]\ndataset = synthetic\n[none]\n\0", 41, "text.ini:4: binary data", "0x00"},
        {"[experiment]\ndataset = \x1b[2Jsynthetic\n[none]\n", 45, "text.ini:2: binary data", "0x1b at column 11"},
        {"[experiment]\ndataset = synth\xe9tic\n[none]\n", 40, "text.ini:2: binary data", "0xe9"},
        {"[experiment]\ndataset = synthetic\n\xef\xbb\xbf[none]\n", 41, "text.ini:3:", "expected [section]"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (load_bytes(dir, bad[i].bytes, bad[i].n, &g, 0) != -1) fail_msg("bad %zu accepted", i);
        if (!strstr(cl_errmsg(), bad[i].expect1) || !strstr(cl_errmsg(), bad[i].expect2))
            fail_msg("bad %zu: %s", i, cl_errmsg());
        assert_clean_message(cl_errmsg(), 300);
    }

    /* a line over the limit: its own number, the limit, and no line-number drift */
    size_t n = 70000 + 64;
    char *big = malloc(n + 64);
    int len = sprintf(big, "[experiment]\ndataset = synthetic\nname = ");
    memset(big + len, 'x', 70000);
    len += 70000;
    len += sprintf(big + len, "\n[none]\n");
    assert_int_equal(load_bytes(dir, big, (size_t)len, &g, 0), -1);
    if (!strstr(cl_errmsg(), "text.ini:3: line too long (70007 bytes") || !strstr(cl_errmsg(), "65536"))
        fail_msg("%s", cl_errmsg());
    /* a line of exactly the limit, ending in a two-byte character, is whole: the line after it keeps its
     * number; one more byte (a three-byte character) is too long */
    for (int extra = 0; extra < 2; extra++) {
        len = sprintf(big, "[experiment]\ndataset = synthetic\n;");
        memset(big + len, 'x', 65533);
        len += 65533;
        len += sprintf(big + len, "%s\nepoch = 2\n[none]\n", extra ? "\xe2\x82\xac" : "\xc3\xa9");
        assert_int_equal(load_bytes(dir, big, (size_t)len, &g, 0), -1);
        const char *want =
            extra ? "text.ini:3: line too long (65537 bytes" : "text.ini:4: [experiment]: unknown key 'epoch'";
        if (!strstr(cl_errmsg(), want)) fail_msg("extra %d: %s", extra, cl_errmsg());
    }
    /* 5000-character names and values: cut in the message, which keeps its reason */
    static const char *const fmt[] = {"[experiment]\ndataset = synthetic\n[%s]\n",
                                      "[experiment]\ndataset = synthetic\n[ewc %s]\n",
                                      "[experiment]\nname = %s\ndataset = synthetic\n[none]\n",
                                      "[experiment]\ndataset = %s\n[none]\n",
                                      "[experiment]\ndataset = synthetic\n%s = 1\n[none]\n",
                                      "[experiment]\ndataset = synthetic\n[ewc]\nfisher = %s\n",
                                      "[experiment]\ndataset = synthetic\n[ewc]\n%s = 1\n"};
    static const char *const reason[] = {"unknown section", "a label", "plain file name", "unknown dataset",
                                         "unknown key", "longer than 256", "unknown parameter"};
    char *name = malloc(5001);
    memset(name, 'y', 5000);
    name[5000] = 0;
    for (size_t i = 0; i < sizeof fmt / sizeof *fmt; i++) {
        len = snprintf(big, n, fmt[i], name);
        assert_int_equal(load_bytes(dir, big, (size_t)len, &g, 0), -1);
        if (!strstr(cl_errmsg(), reason[i]) || !strstr(cl_errmsg(), "... (500")) fail_msg("%zu: %s", i, cl_errmsg());
        assert_clean_message(cl_errmsg(), 400);
    }
    free(name);
    free(big);
    tu_rmdir(dir);
}

/* Sixty thousand sections load in linear time: checking each new label against every earlier one took 44 s
 * for 70,000 (a generated grid of one section per configuration is a plausible file). */
static void test_many_sections(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    size_t cap = 60000 * 16 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "[experiment]\ndataset = synthetic\n");
    for (int i = 0; i < 60000; i++) len += (size_t)sprintf(text + len, "[l2 v%d]\n", i);
    double t0 = cl_now();
    cl_grid g;
    if (load_bytes(dir, text, len, &g, 1)) fail_msg("%s", cl_errmsg());
    double sec = cl_now() - t0;
    print_message("60000 sections loaded in %.2f s\n", sec);
    assert_int_equal(g.nsections, 60000);
    assert_string_equal(g.sections[59999].label, "l2_v59999");
    assert_true(sec < 15);
    cl_grid_free(&g);
    /* and a repeat among them is still found, by case too */
    len += (size_t)sprintf(text + len, "[l2 V123]\n");
    assert_int_equal(load_bytes(dir, text, len, &g, 0), -1);
    if (!strstr(cl_errmsg(), "text.ini:60003:") || !strstr(cl_errmsg(), "section on line 126"))
        fail_msg("%s", cl_errmsg());
    free(text);
    tu_rmdir(dir);
}

/* The name of the results directory: `name =` when plain, else the file name made plain. */
static void test_grid_names(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4200];
    cl_grid g;
    snprintf(path, sizeof path, "%s/my grid (v2).ini", dir);
    td_write_text(path, "[experiment]\ndataset = synthetic\n[none]\n");
    if (cl_grid_load(&g, path)) fail_msg("%s", cl_errmsg());
    assert_string_equal(g.name, "my_grid__v2_");
    cl_grid_free(&g);
    const char *named = "[experiment]\nname = sweep-2.lr_0.1\ndataset = synthetic\n[none]\n";
    if (load_bytes(dir, named, strlen(named), &g, 1)) fail_msg("%s", cl_errmsg());
    assert_string_equal(g.name, "sweep-2.lr_0.1");
    cl_grid_free(&g);
    /* hidden = none is the explicit linear model */
    const char *linear = "[experiment]\ndataset = synthetic\nhidden = none\n[none]\n";
    if (load_bytes(dir, linear, strlen(linear), &g, 1)) fail_msg("%s", cl_errmsg());
    assert_int_equal(g.set.arch.n, 0);
    cl_grid_free(&g);
    tu_rmdir(dir);
}

/* The random order k as the grid drew it before orders had to be distinct: its first draw. */
static void first_draw(int k, int T, int *o)
{
    for (int t = 0; t < T; t++) o[t] = t;
    cl_rng r;
    cl_rng_seed(&r, 0, cl_hash_mix(cl_hash_str("order"), (uint64_t)k));
    if (k > 0) cl_rng_shuffle(&r, o, T);
}

/* Random orders are distinct (a repeat is drawn again from the same stream), up to T! of them; a grid
 * whose orders were distinct at the first draw keeps exactly those orders. */
static void test_orders_distinct(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    cl_data d;
    cl_data_synthetic(&d, 200, 50, 6, 6, 10, 1);
    cl_grid g;
    /* 3 tasks: all 6 orders, though the first draws repeat */
    const char *all = "[experiment]\ndataset = synthetic\ntasks = 3\norders = 6\n[none]\n";
    if (load_bytes(dir, all, strlen(all), &g, 1) || cl_grid_prepare(&g, &d)) fail_msg("%s", cl_errmsg());
    int repeats = 0, o[8], p[8];
    for (int k = 0; k < 6; k++) {
        for (int j = 0; j < k; j++) assert_memory_not_equal(g.orders[k], g.orders[j], 3 * sizeof(int));
        first_draw(k, 3, o);
        for (int j = 0; j < k; j++) {
            first_draw(j, 3, p);
            repeats += !memcmp(o, p, sizeof(int) * 3);
        }
    }
    assert_true(repeats > 0); /* so the redraw was exercised */
    assert_int_equal(g.ncells, 6);
    cl_grid_free(&g);
    /* 6 tasks, 12 orders: the first draws are distinct, and kept */
    const char *keep = "[experiment]\ndataset = synthetic\ntasks = 6\norders = 12\n[none]\n";
    if (load_bytes(dir, keep, strlen(keep), &g, 1) || cl_grid_prepare(&g, &d)) fail_msg("%s", cl_errmsg());
    for (int k = 0; k < 12; k++) {
        first_draw(k, 6, o);
        assert_memory_equal(g.orders[k], o, 6 * sizeof(int));
    }
    cl_grid_free(&g);
    /* 5 tasks, 4 orders: order 3's first draw is the natural order (order 0), which the grid used to run
     * twice; it is drawn again, and orders 1 and 2 stay */
    const char *four = "[experiment]\ndataset = synthetic\ntasks = 5\norders = 4\n[none]\n";
    if (load_bytes(dir, four, strlen(four), &g, 1) || cl_grid_prepare(&g, &d)) fail_msg("%s", cl_errmsg());
    first_draw(3, 5, o);
    assert_memory_equal(o, g.orders[0], 5 * sizeof(int));
    assert_memory_not_equal(g.orders[3], g.orders[0], 5 * sizeof(int));
    for (int k = 1; k < 3; k++) {
        first_draw(k, 5, o);
        assert_memory_equal(g.orders[k], o, 5 * sizeof(int));
    }
    for (int k = 1; k < 4; k++)
        for (int j = 0; j < k; j++) assert_memory_not_equal(g.orders[k], g.orders[j], 5 * sizeof(int));
    cl_grid_free(&g);
    /* 5 tasks, all 120 orders */
    const char *most = "[experiment]\ndataset = synthetic\ntasks = 5\norders = 120\n[none]\n";
    if (load_bytes(dir, most, strlen(most), &g, 1) || cl_grid_prepare(&g, &d)) fail_msg("%s", cl_errmsg());
    for (int k = 0; k < 120; k++)
        for (int j = 0; j < k; j++)
            if (!memcmp(g.orders[k], g.orders[j], 5 * sizeof(int))) fail_msg("orders %d and %d repeat", j, k);
    cl_grid_free(&g);
    cl_data_free(&d);
    tu_rmdir(dir);
}

/* A grid read from a pipe (clreg run <(...), /dev/stdin) runs, into results/grid-<crc32 of its bytes> with a
 * note saying so; a directory, a device without end and a huge file are refused as not grids. */
static void test_pipes_and_directories(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096], cmd[9000], abs_bin[4096];
    const char *text = "[experiment]\ndataset = synthetic\ntasks = 2\nhidden = 8\n[none]\n";
    write_grid(dir, "p.ini", text, path);
    const char *bin = getenv("CLREG_BIN") ? getenv("CLREG_BIN") : "./clreg";
    if (!realpath(bin, abs_bin)) fail_msg("%s: not found", bin);
    snprintf(cmd, sizeof cmd, "cd '%s' && cat p.ini | '%s' run /dev/stdin -j 1 2>&1", dir, abs_bin);
    FILE *p = popen(cmd, "r");
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    int st = pclose(p);
    char expect[64], res[4200];
    snprintf(expect, sizeof expect, "grid-%08lx", crc32(0L, (const Bytef *)text, (uInt)strlen(text)));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, expect) || !strstr(out, "not a regular file"))
        fail_msg("expected results in %s:\n%s", expect, out);
    snprintf(res, sizeof res, "%s/results/%s/runs.csv", dir, expect);
    if (access(res, R_OK) != 0) fail_msg("%s missing", res);
    /* process substitution, as the issue tried it: the same grid, so it resumes there with nothing to do */
    snprintf(cmd, sizeof cmd, "cd '%s' && bash -c \"'%s' run <(cat p.ini) -j 1\" 2>&1", dir, abs_bin);
    p = popen(cmd, "r");
    len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    st = pclose(p);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || !strstr(out, expect) || !strstr(out, "1 cells done"))
        fail_msg("process substitution:\n%s", out);

    char args[4200];
    snprintf(args, sizeof args, "run %s/ --dry-run", dir);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "is a directory, expected a grid file"))
        fail_msg("exit %d:\n%s", rc, out);
    rc = tu_run_clreg("run /dev/zero --dry-run", out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "more than 1048576 bytes"))
        fail_msg("exit %d:\n%s", rc, out);
    tu_rmdir(dir);
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
    /* where: 0 experiments/ on tiny MNIST-format data, 1 experiments/ and experiments/mnist/, 2 CIFAR-10 and
     * 3 CIFAR-100 (experiments/cifar/, on tiny CIFAR-format files) */
    static const struct {
        const char *file;
        int cells, where;
    } shipped[] = {
        {"quick.ini", 11, 0},          {"permuted.ini", 96, 1},        {"split_task.ini", 108, 1},
        {"split_domain.ini", 66, 1},  {"split_class.ini", 66, 1},     {"rotated.ini", 48, 1},
        {"split_task_cnn.ini", 51, 0}, {"cifar/cifar10_task.ini", 51, 2}, {"cifar/cifar10_domain.ini", 51, 2},
        {"cifar/cifar10_class.ini", 51, 2}, {"cifar/cifar100_task.ini", 51, 3}, {"cifar/cifar100_domain.ini", 51, 3},
        {"cifar/cifar100_class.ini", 51, 3},
    };
    char *dir = tu_mkdtemp(), prefix[4200], c10[4200], c100[4200];
    /* enough training samples that the grids' validation = 0.1 holds out at least one of every class */
    td_write_mnist(dir, "", 200, 20, 28, 28, 10, 1);
    snprintf(prefix, sizeof prefix, "%s/", dir);
    snprintf(c10, sizeof c10, "%s/c10", dir);
    snprintf(c100, sizeof c100, "%s/c100", dir);
    mkdir(c10, 0755);
    mkdir(c100, 0755);
    td_write_cifar10(c10, 100, 20, TD_RAW);
    td_write_cifar100(c100, 1000, 100, TD_RAW);
    int checked = 0;
    for (int mnist = 0; mnist < 2; mnist++) {
        for (size_t i = 0; i < sizeof shipped / sizeof *shipped; i++) {
            char path[256], args[8400], expect[300];
            int where = shipped[i].where;
            if (mnist && where != 1) continue;
            snprintf(path, sizeof path, "experiments/%s%s", mnist ? "mnist/" : "", shipped[i].file);
            if (access(path, R_OK) != 0) fail_msg("%s: missing", path);
            snprintf(args, sizeof args, "run %s --dry-run --data-path %s", path, where == 2 ? c10 : where == 3 ? c100 : prefix);
            int rc = tu_run_clreg(args, out, sizeof out);
            if (rc != 0) fail_msg("%s: exit %d:\n%.2000s", path, rc, out);
            snprintf(expect, sizeof expect, "%s: %d cells", path, shipped[i].cells);
            if (!strstr(out, expect)) fail_msg("%s: expected '%s', got:\n%.500s", path, expect, out);
            checked++;
        }
    }
    assert_int_equal(checked, 18);
    /* A grid added to experiments/ must be added to the table above (and to the README's). */
    glob_t g;
    assert_int_equal(glob("experiments/*.ini", 0, NULL, &g), 0);
    assert_int_equal(glob("experiments/mnist/*.ini", GLOB_APPEND, NULL, &g), 0);
    assert_int_equal(glob("experiments/cifar/*.ini", GLOB_APPEND, NULL, &g), 0);
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
    /* the 95% interval's half-width: t(0.975, 1 degree of freedom) = 12.7062 (a t table), times
     * sqrt(0.005) / sqrt(2) = 0.05: 0.63531 */
    cl_table_num(&t, 1, cl_table_col(&t, "acc_ci95"), &v);
    assert_float_equal(v, 0.63531, 1e-5);
    /* no validation split: selected on test ACC, and said so */
    assert_string_equal(t.cells[1][cl_table_col(&t, "selected_on")], "acc");
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

/* Selection on validation data: two lambdas of one method, where the test data prefer lambda 1 and the
 * validation data prefer lambda 100. The summaries draw lambda 100, best.csv says it was chosen on val_acc,
 * and reports lambda 100's test ACC; without the validation columns (an older directory) lambda 1 wins on
 * test ACC, marked so. */
static void test_selection_on_validation(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), p[4200], runs[4096], m[8192];
    /* runs 1-2: lambda 1 (test 0.90, 0.92; validation 0.70, 0.72); runs 3-4: lambda 100 (test 0.80, 0.82;
     * validation 0.85, 0.87) */
    const double test_acc[4] = {0.90, 0.92, 0.80, 0.82}, val_acc[4] = {0.70, 0.72, 0.85, 0.87};
    size_t len = (size_t)snprintf(runs, sizeof runs, "run,label,regularizer,params,lambda,dataset,stream,scenario,"
                                  "tasks,hidden,optimizer,lr,epochs,batch,order,order_tasks,seed,validation,acc,bwt,"
                                  "fwt,forgetting,learning,intransigence,val_acc,val_bwt,val_fwt,val_forgetting,"
                                  "val_learning,diverged,curve_rows,train_sec,importance_sec,eval_sec\n");
    for (int r = 0; r < 4; r++)
        len += (size_t)snprintf(runs + len, sizeof runs - len,
                                "%d,ewc,ewc,,%s,synthetic,permuted,domain,1,8,adam,0.001,1,32,0,1,%d,0.1,%g,nan,nan,nan,"
                                "%g,nan,%g,nan,nan,nan,%g,0,0,1,1,1\n",
                                r + 1, r < 2 ? "1" : "100", r % 2 + 1, test_acc[r], test_acc[r], val_acc[r], val_acc[r]);
    snprintf(p, sizeof p, "%s/runs.csv", dir);
    td_write_text(p, runs);
    len = (size_t)snprintf(m, sizeof m, "run,trained_task,eval_task,accuracy,val_accuracy\n");
    for (int r = 0; r < 4; r++)
        len += (size_t)snprintf(m + len, sizeof m - len, "%d,0,1,0.5,0.5\n%d,1,1,%g,%g\n", r + 1, r + 1, test_acc[r],
                                val_acc[r]);
    snprintf(p, sizeof p, "%s/matrix.csv", dir);
    td_write_text(p, m);
    snprintf(p, sizeof p, "%s/curves.csv", dir);
    td_write_text(p, "run,trained_task,epoch,step,x,eval_task,accuracy\n");
    if (cl_results_finalize(dir, NULL, 0)) fail_msg("%s", cl_errmsg());
    cl_table t;
    double v;
    snprintf(p, sizeof p, "%s/summary.csv", dir);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_int_equal(t.nrows, 2);
    assert_string_equal(t.cells[0][cl_table_col(&t, "selected")], "0"); /* lambda 1: best on test */
    assert_string_equal(t.cells[1][cl_table_col(&t, "selected")], "1"); /* lambda 100: best on validation */
    assert_string_equal(t.cells[1][cl_table_col(&t, "selected_on")], "val_acc");
    cl_table_num(&t, 1, cl_table_col(&t, "val_acc_mean"), &v);
    assert_float_equal(v, 0.86, 1e-6);
    cl_table_free(&t);
    snprintf(p, sizeof p, "%s/best.csv", dir);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_int_equal(t.nrows, 1);
    assert_string_equal(t.cells[0][cl_table_col(&t, "lambda")], "100");
    assert_string_equal(t.cells[0][cl_table_col(&t, "selected_on")], "val_acc");
    cl_table_num(&t, 0, cl_table_col(&t, "acc_mean"), &v); /* the test ACC of the lambda chosen on validation */
    assert_float_equal(v, 0.81, 1e-6);
    cl_table_free(&t);

    /* the same runs without validation columns: chosen on test ACC */
    snprintf(p, sizeof p, "cd '%s' && cut -d, -f1-17,19-24,30- runs.csv > x && mv x runs.csv && "
                          "cut -d, -f1-4 matrix.csv > x && mv x matrix.csv", dir);
    assert_int_equal(system(p), 0);
    if (cl_results_finalize(dir, NULL, 0)) fail_msg("%s", cl_errmsg());
    snprintf(p, sizeof p, "%s/best.csv", dir);
    assert_int_equal(cl_table_read(&t, p, NULL), 0);
    assert_string_equal(t.cells[0][cl_table_col(&t, "lambda")], "1");
    assert_string_equal(t.cells[0][cl_table_col(&t, "selected_on")], "acc");
    cl_table_free(&t);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expansion),
        cmocka_unit_test(test_bad_grids),
        cmocka_unit_test(test_text_forms),
        cmocka_unit_test(test_grid_names),
        cmocka_unit_test(test_many_sections),
        cmocka_unit_test(test_orders_distinct),
        cmocka_unit_test(test_pipes_and_directories),
        cmocka_unit_test(test_threads_do_not_change_results),
        cmocka_unit_test(test_single_cell_gets_blas_threads),
        cmocka_unit_test(test_resume_after_kill),
        cmocka_unit_test(test_directory_belongs_to_one_grid),
        cmocka_unit_test(test_finalize_hand_worked),
        cmocka_unit_test(test_selection_on_validation),
        cmocka_unit_test(test_shipped_grids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
