/* The settings table (experiments/settings.h): one entry per setting that `clreg train` takes as an option
 * and a grid as an [experiment] key. Each key and its option take the same values with the same message,
 * --help lists each, arch and hidden exclude each other, and a CNN given by `arch` runs through a grid. */
#include "tests/testresults.h"

#include "core/error.h"
#include "experiments/grid.h"
#include "experiments/settings.h"

static char out[1 << 16];

/* A value each entry refuses, and one it takes (NULL: it takes anything, or a flag has no bad value). */
typedef struct sample {
    const char *key, *bad, *good;
} sample;

static const sample samples[] = {
    {"dataset", "nosuch", "idx"},          {"data_path", "", "somewhere"},   {"labels", "bogus", "remap"},
    {"label_column", NULL, "label"},       {"stream", "spiral", "split"},    {"scenario", "tasks", "class"},
    {"tasks", "x3", "4"},                  {"groups", "", "0,1/2,3"},        {"angles", "", "0,45"},
    {"angle_step", "1e9", "15"},           {"permute_first", "maybe", "yes"}, {"pad", "65", "2"},
    {"scale", "1000", "none"},             {"normalize", "global", "channel"}, {"arch", "conv", "conv8k3, dense16"},
    {"hidden", "10,0", "32,16"},           {"optimizer", "lbfgs", "sgd"},    {"lr", "-1", "0.01"},
    {"momentum", "1", "0.5"},              {"epochs", "0", "3"},             {"batch", "1.5", "64"},
    {"reset_optim", "sometimes", "yes"},   {"validation", "1", "0.1"},
};

static const sample *sample_of(const char *key)
{
    for (size_t i = 0; i < sizeof samples / sizeof *samples; i++)
        if (!strcmp(samples[i].key, key)) return &samples[i];
    return NULL;
}

/* Every entry is well formed, and the samples above cover every entry (a new setting must be added here). */
static void test_table(void **state)
{
    (void)state;
    for (int i = 0; i < cl_settings_count; i++) {
        const cl_setting *e = &cl_settings_table[i];
        if (!sample_of(e->key)) fail_msg("setting '%s' has no sample values in this test", e->key);
        for (const char *c = e->key; *c; c++)
            if (!(*c >= 'a' && *c <= 'z') && *c != '_') fail_msg("key '%s': lower case and '_' only", e->key);
        assert_true(e->help && *e->help);
        assert_true(!strcmp(e->section, "data") || !strcmp(e->section, "task stream") ||
                    !strcmp(e->section, "model and training"));
        assert_true(e->type != CL_SETTING_TEXT || e->set);
        assert_true((e->type == CL_SETTING_BOOL) == (e->arg == NULL));
        assert_true(cl_setting_find(e->key, 0) == e);
        for (int j = 0; j < i; j++) assert_string_not_equal(e->key, cl_settings_table[j].key);
    }
    assert_non_null(cl_setting_find("data-path", 1));
    assert_null(cl_setting_find("data-path", 0)); /* a grid spells it data_path */
    assert_null(cl_setting_find("seed", 0));       /* train's own */
}

/* A grid of one key over the defaults, loaded: 0, or -1 with the message. */
static int load_key(const char *dir, const char *key, const char *value, cl_grid *g)
{
    char path[4200], text[512];
    snprintf(path, sizeof path, "%s/k.ini", dir);
    snprintf(text, sizeof text, "[experiment]\n%s = %s\n[none]\n", key, value);
    td_write_text(path, text);
    return cl_grid_load(g, path);
}

/* The option and the key refuse the same bad value with the same words after their own name, and take the
 * good one to the same settings. */
static void test_option_and_key_agree(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    for (int i = 0; i < cl_settings_count; i++) {
        const cl_setting *e = &cl_settings_table[i];
        const sample *s = sample_of(e->key);
        char opt[64];
        snprintf(opt, sizeof opt, "--%s", e->key);
        for (char *c = opt; *c; c++)
            if (*c == '_') *c = '-';
        if (s->bad) {
            cl_grid g;
            if (load_key(dir, e->key, s->bad, &g) == 0) fail_msg("grid: %s = '%s' was taken", e->key, s->bad);
            char grid_msg[2048];
            snprintf(grid_msg, sizeof grid_msg, "%s", cl_errmsg());
            cl_grid_free(&g);
            /* "dir/k.ini:2: [experiment]: KEY: <words>" */
            char head[128];
            snprintf(head, sizeof head, "[experiment]: %s", e->key);
            const char *gw = strstr(grid_msg, head);
            if (!gw) fail_msg("grid message without '%s': %s", head, grid_msg);
            gw += strlen(head);
            if (e->type != CL_SETTING_BOOL) {
                char args[256];
                snprintf(args, sizeof args, "train %s '%s'", opt, s->bad);
                int rc = tu_run_clreg(args, out, sizeof out);
                if (rc != 2) fail_msg("%s: exit %d:\n%s", args, rc, out);
                char *nl = strchr(out, '\n');
                if (nl) *nl = 0;
                const char *tw = strstr(out, opt);
                if (!tw) fail_msg("%s: message without '%s': %s", args, opt, out);
                tw += strlen(opt);
                /* the dataset's message names the datasets, the same either way */
                if (strcmp(tw, gw)) fail_msg("%s and %s = %s say different things:\n  '%s'\n  '%s'", opt, e->key,
                                             s->bad, tw, gw);
            }
        }
        /* the good value: through the grid and through the table as train calls it, the same settings */
        cl_grid g;
        if (load_key(dir, e->key, s->good, &g)) fail_msg("grid: %s = %s: %s", e->key, s->good, cl_errmsg());
        cl_settings t;
        cl_settings_init(&t);
        if (cl_settings_set(&t, e, e->type == CL_SETTING_BOOL ? NULL : s->good, opt)) fail_msg("%s", cl_errmsg());
        cl_settings_finish(&t);
        char a[1024], b[1024];
        cl_settings_model_text(&g.set.arch, a, sizeof a);
        cl_settings_model_text(&t.arch, b, sizeof b);
        assert_string_equal(a, b);
        assert_string_equal(g.set.dataset, t.dataset);
        assert_true((g.set.data_path == NULL) == (t.data_path == NULL));
        assert_int_equal(g.set.data_opts.labels, t.data_opts.labels);
        assert_int_equal(g.set.stream.kind, t.stream.kind);
        assert_int_equal(g.set.stream.scenario, t.stream.scenario);
        assert_int_equal(g.set.stream.ntasks, t.stream.ntasks);
        assert_int_equal(g.set.stream.pad, t.stream.pad);
        assert_int_equal(g.set.stream.scale01, t.stream.scale01);
        assert_int_equal(g.set.stream.normalize, t.stream.normalize);
        assert_int_equal(g.set.stream.permute_first, t.stream.permute_first);
        assert_true(g.set.stream.angle_step == t.stream.angle_step);
        assert_int_equal(g.set.opt.kind, t.opt.kind);
        assert_true(g.set.opt.lr == t.opt.lr && g.set.opt.momentum == t.opt.momentum);
        assert_int_equal(g.set.epochs, t.epochs);
        assert_int_equal(g.set.batch, t.batch);
        assert_int_equal(g.set.reset_optim, t.reset_optim);
        assert_true(g.set.stream.validation == t.stream.validation);
        /* and the value did something: the settings differ from the defaults */
        cl_settings d;
        cl_settings_init(&d);
        char c[1024];
        cl_settings_model_text(&d.arch, c, sizeof c);
        int changed = strcmp(a, c) || strcmp(d.dataset, t.dataset) || (t.data_path != NULL) ||
                      d.data_opts.labels != t.data_opts.labels || t.label_column || t.groups || t.angles ||
                      d.stream.kind != t.stream.kind || d.stream.scenario != t.stream.scenario ||
                      d.stream.ntasks != t.stream.ntasks || d.stream.pad != t.stream.pad ||
                      d.stream.scale01 != t.stream.scale01 || d.stream.normalize != t.stream.normalize ||
                      d.stream.permute_first != t.stream.permute_first || d.stream.angle_step != t.stream.angle_step || d.opt.kind != t.opt.kind ||
                      d.opt.lr != t.opt.lr || d.opt.momentum != t.opt.momentum || d.epochs != t.epochs ||
                      d.batch != t.batch || d.reset_optim != t.reset_optim ||
                      d.stream.validation != t.stream.validation;
        if (!changed) fail_msg("%s = %s changed nothing", e->key, s->good);
        cl_settings_free(&d);
        cl_settings_free(&t);
        cl_grid_free(&g);
    }
    tu_rmdir(dir);
}

/* --help is printed from the table: every setting is there with its help's first line. */
static void test_help_lists_every_setting(void **state)
{
    (void)state;
    assert_int_equal(tu_run_clreg("train --help", out, sizeof out), 0);
    for (int i = 0; i < cl_settings_count; i++) {
        const cl_setting *e = &cl_settings_table[i];
        char opt[64], first[128];
        snprintf(opt, sizeof opt, "  --%s", e->key);
        for (char *c = opt; *c; c++)
            if (*c == '_') *c = '-';
        size_t n = strcspn(e->help, "\n");
        snprintf(first, sizeof first, "%.*s", (int)n, e->help);
        const char *at = strstr(out, opt);
        if (!at) fail_msg("--help lacks %s", opt);
        const char *h = strstr(at, first);
        if (!h || memchr(at, '\n', (size_t)(h - at)))
            fail_msg("--help: %s without its help '%s'", opt, first);
    }
}

/* The network is given once: arch and hidden together are refused in a grid (with the line) and on the
 * command line. */
static void test_arch_or_hidden(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4200];
    snprintf(path, sizeof path, "%s/both.ini", dir);
    td_write_text(path, "[experiment]\ndataset = synthetic\nhidden = 32\narch = zenke-cifar\n[none]\n");
    cl_grid g;
    assert_int_equal(cl_grid_load(&g, path), -1);
    if (!strstr(cl_errmsg(), "both.ini:4:") || !strstr(cl_errmsg(), "either arch or hidden"))
        fail_msg("%s", cl_errmsg());
    cl_grid_free(&g);
    int rc = tu_run_clreg("train --dataset synthetic --arch dense8 --hidden 8", out, sizeof out);
    if (rc != 2 || !strstr(out, "--hidden: the network is already given by arch") || tu_count_lines(out) != 1)
        fail_msg("exit %d:\n%s", rc, out);
    /* a preset in a grid is the network it names */
    snprintf(path, sizeof path, "%s/preset.ini", dir);
    td_write_text(path, "[experiment]\narch = zenke-cifar\n[none]\n");
    assert_int_equal(cl_grid_load(&g, path), 0);
    char t[256];
    cl_settings_model_text(&g.set.arch, t, sizeof t);
    assert_string_equal(t, "conv32k3p1, conv32k3p1, maxpool2, conv64k3p1, conv64k3p1, maxpool2, dense512");
    cl_grid_free(&g);
    tu_rmdir(dir);
}

/* What results say of the network: an MLP's widths as before, any other network its arch text. */
static void test_model_text(void **state)
{
    (void)state;
    cl_arch a;
    char t[256];
    int h[2] = {400, 400};
    cl_arch_from_hidden(&a, h, 2);
    cl_settings_model_text(&a, t, sizeof t);
    assert_string_equal(t, "400 400");
    cl_arch_from_hidden(&a, h, 0);
    cl_settings_model_text(&a, t, sizeof t);
    assert_string_equal(t, "");
    assert_int_equal(cl_arch_parse(&a, "conv8k3p1,maxpool2 , dense16", "t"), 0);
    cl_settings_model_text(&a, t, sizeof t);
    assert_string_equal(t, "conv8k3p1, maxpool2, dense16");
}

/* A CNN grid end to end on tiny 8x8 images: every method with importances, two seeds, the same results at
 * -j 1 and -j 2, runs.csv naming the network, and an arch that does not fit the data refused with the
 * grid's line before anything runs. */
static void test_cnn_grid(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), data[1024], grid[1024], a[1024], b[1024], args[8192];
    snprintf(data, sizeof data, "%s/data", dir);
    tr_make_data(data, 0);
    snprintf(grid, sizeof grid, "%s/cnn.ini", dir);
    td_write_text(grid, "[experiment]\ndataset = idx\nstream = split\nscenario = task\n"
                        "arch = conv4k3p1, maxpool2, conv6k3, dense8\nepochs = 2\nbatch = 16\nseeds = 2\n"
                        "[none]\n[ewc]\nlambda = 10\nfisher = exact, empirical\n[mas]\nlambda = 1\n"
                        "[mas-local]\nlambda = 1\n[si]\nlambda = 1\n[l2]\nlambda = 0.1\n");
    snprintf(a, sizeof a, "%s/a", dir);
    snprintf(b, sizeof b, "%s/b", dir);
    snprintf(args, sizeof args, "run %s --data-path %s -o %s -j 1 --quiet", grid, data, a);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc) fail_msg("exit %d:\n%s", rc, out);
    snprintf(args, sizeof args, "run %s --data-path %s -o %s -j 2 --quiet", grid, data, b);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc) fail_msg("exit %d:\n%s", rc, out);
    tr_assert_same_results(a, b);
    char p[1100];
    snprintf(p, sizeof p, "%s/runs.csv", a);
    char *runs = tr_slurp(p);
    assert_non_null(runs);
    assert_int_equal(tu_count_lines(runs), 1 + 7 * 2);
    if (!strstr(runs, "\"conv4k3p1, maxpool2, conv6k3, dense8\"")) fail_msg("runs.csv:\n%s", runs);
    free(runs);

    /* a 5x5 kernel after pooling 8x8 to 4x4 does not fit */
    snprintf(grid, sizeof grid, "%s/big.ini", dir);
    td_write_text(grid, "[experiment]\ndataset = idx\nstream = split\narch = maxpool2, conv4k5\n[none]\n");
    snprintf(args, sizeof args, "run %s --data-path %s -o %s/c --dry-run", grid, data, dir);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "big.ini:1: [experiment]: arch: item 2 'conv4k5'") ||
        !strstr(out, "a 5x5 window on a 4x4 input"))
        fail_msg("exit %d:\n%s", rc, out);
    /* and on the command line, before the model exists */
    snprintf(args, sizeof args, "train --dataset idx --data-path %s --arch 'maxpool2, conv4k5'", data);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || !strstr(out, "--arch: item 2 'conv4k5': a 5x5 window on a 4x4 input")) fail_msg("exit %d:\n%s", rc, out);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_option_and_key_agree),
        cmocka_unit_test(test_help_lists_every_setting),
        cmocka_unit_test(test_arch_or_hidden),
        cmocka_unit_test(test_model_text),
        cmocka_unit_test(test_cnn_grid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
