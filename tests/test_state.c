/* --save-state: .npy files a NumPy user can load, holding exactly the model's parameters and the
 * regularizer's importances after each task. */
#include "tests/testutil.h"

#include <math.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/npy.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/state.h"
#include "experiments/train.h"

/* Read a .npy written by clreg: check the format-1.0 header and return the data (caller frees). */
static float *read_npy(const char *path, char *dict, size_t dictcap, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s missing", path);
    unsigned char h[10];
    assert_int_equal(fread(h, 1, 10, f), 10);
    assert_memory_equal(h, "\x93NUMPY\x01\x00", 8);
    size_t hl = h[8] | (h[9] << 8);
    assert_int_equal((10 + hl) % 64, 0); /* data starts aligned */
    assert_true(hl < dictcap);
    assert_int_equal(fread(dict, 1, hl, f), hl);
    dict[hl] = 0;
    assert_int_equal(dict[hl - 1], '\n');
    long start = ftell(f);
    fseek(f, 0, SEEK_END);
    *count = (size_t)(ftell(f) - start) / sizeof(float);
    fseek(f, start, SEEK_SET);
    float *d = malloc(*count * sizeof(float) + 1);
    assert_int_equal(fread(d, sizeof(float), *count, f), *count);
    fclose(f);
    return d;
}

static void test_npy_header(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), path[4096], dict[256];
    float v[6] = {1, 2, 3, 4, 5, 6};
    snprintf(path, sizeof path, "%s/a/b/m.npy", dir);
    snprintf(dict, sizeof dict, "%s/a/b", dir);
    assert_int_equal(cl_mkdirs(dict), 0);
    size_t shape2[2] = {2, 3}, shape1[1] = {6}, n;
    assert_int_equal(cl_npy_write(path, v, 2, shape2), 0);
    float *d = read_npy(path, dict, sizeof dict, &n);
    assert_non_null(strstr(dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"));
    assert_int_equal(n, 6);
    assert_memory_equal(d, v, sizeof v);
    free(d);
    assert_int_equal(cl_npy_write(path, v, 1, shape1), 0);
    d = read_npy(path, dict, sizeof dict, &n);
    assert_non_null(strstr(dict, "'shape': (6,), }"));
    free(d);
    /* an unwritable place is a message, not a crash */
    snprintf(path, sizeof path, "%s/a/b/m.npy/x", dir);
    assert_int_equal(cl_mkdirs(path), -1);
    tu_rmdir(dir);
}

typedef struct snap {
    float *params[3], *omega[3];
    cl_reg *reg;
} snap;

static void keep(void *ctx, cl_mlp *m, int task, const float *row)
{
    (void)row;
    snap *s = ctx;
    s->params[task] = malloc(m->nparams * sizeof(float));
    memcpy(s->params[task], m->params, m->nparams * sizeof(float));
    s->omega[task] = malloc(m->nparams * sizeof(float));
    cl_reg_importance(s->reg, s->omega[task]);
}

static void test_save_state(void **state)
{
    (void)state;
    cl_data data;
    cl_data_synthetic(&data, 300, 60, 6, 6, 6, 3);
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &data, &sc), 0);
    cl_train_cfg tc = cl_train_defaults();
    tc.batch = 32;
    tc.eval_batch = 64;
    int hidden[2] = {8, 5};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    snap sn = {{0}, {0}, cl_reg_create("ewc", NULL, 0, m)};
    char *dir = tu_mkdtemp();
    tc.reg = sn.reg;
    tc.save_dir = dir;
    tc.on_task = keep;
    tc.ctx = &sn;
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    for (int task = 0; task < 3; task++)
        for (int l = 0; l < m->nhidden + m->nheads; l++) {
            const cl_linear *L = &m->layer[l];
            char name[32], path[4200], dict[256], want[64];
            cl_layer_name(m, l, name, sizeof name);
            for (int kind = 0; kind < 2; kind++) {
                const float *src = kind ? sn.omega[task] : sn.params[task];
                size_t n;
                snprintf(path, sizeof path, "%s/task%d/%s/%s.weight.npy", dir, task + 1, kind ? "importance" : "params", name);
                float *d = read_npy(path, dict, sizeof dict, &n);
                snprintf(want, sizeof want, "'shape': (%d, %d)", L->out, L->in);
                assert_non_null(strstr(dict, want));
                assert_memory_equal(d, src + L->w, n * sizeof(float));
                free(d);
                snprintf(path, sizeof path, "%s/task%d/%s/%s.bias.npy", dir, task + 1, kind ? "importance" : "params", name);
                d = read_npy(path, dict, sizeof dict, &n);
                assert_int_equal(n, L->out);
                assert_memory_equal(d, src + L->b, n * sizeof(float));
                free(d);
            }
        }
    /* the importance of head 3 is zero until its task is over (task-incremental: one head per task) */
    const cl_linear *H = cl_mlp_head(m, 2);
    for (int o = 0; o < H->out; o++) assert_true(sn.omega[1][H->b + o] == 0.0f && sn.omega[2][H->b + o] > 0.0f);
    for (int t = 0; t < 3; t++) free(sn.params[t]), free(sn.omega[t]);
    cl_run_free(&run);
    cl_reg_free(sn.reg);
    tu_rmdir(dir);

    /* fine-tuning has no importance: parameters only */
    dir = tu_mkdtemp();
    tc.reg = cl_reg_create("none", NULL, 0, m);
    tc.save_dir = dir;
    tc.on_task = NULL;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    struct stat st;
    char path[4200];
    snprintf(path, sizeof path, "%s/task3/params/head2.weight.npy", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/task1/importance", dir);
    assert_int_equal(stat(path, &st), -1);
    cl_run_free(&run);
    cl_reg_free(tc.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&data);
    tu_rmdir(dir);
}

/* cl_load_state reads back exactly what cl_save_state wrote, importances too, into a model of the same shape
 * (padding left zero), and refuses a model of another shape or a state without the tensors asked for. */
static void test_load_state(void **state)
{
    (void)state;
    cl_data data;
    cl_data_synthetic(&data, 300, 60, 6, 6, 6, 3);
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &data, &sc), 0);
    cl_train_cfg tc = cl_train_defaults();
    tc.batch = 32;
    tc.eval_batch = 64;
    int hidden[2] = {8, 5};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    cl_reg *reg = cl_reg_create("mas", NULL, 0, m);
    char *dir = tu_mkdtemp();
    tc.reg = reg;
    tc.save_dir = dir;
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    float *omega = calloc(m->nparams, sizeof(float)), *got = malloc(m->nparams * sizeof(float));
    assert_int_equal(cl_reg_importance(reg, omega), 0);

    /* a fresh model of the same shape, other values everywhere, padding included */
    cl_mlp *m2 = cl_mlp_for_stream(&s, hidden, 2, &tc);
    for (size_t i = 0; i < m2->nparams; i++) m2->params[i] = 7.0f;
    assert_int_equal(cl_load_state(dir, 3, "params", m2, m2->params), 0);
    assert_memory_equal(m2->params, m->params, m->nparams * sizeof(float));
    assert_int_equal(cl_load_state(dir, 3, "importance", m2, got), 0);
    assert_memory_equal(got, omega, m->nparams * sizeof(float));
    size_t nonzero = 0;
    for (size_t i = 0; i < m->nparams; i++) nonzero += got[i] > 0;
    assert_true(nonzero > m->nparams / 3);

    /* another network's state is refused, naming the file */
    int other[2] = {8, 6};
    cl_mlp *m3 = cl_mlp_for_stream(&s, other, 2, &tc);
    assert_int_equal(cl_load_state(dir, 3, "params", m3, m3->params), -1);
    assert_non_null(strstr(cl_errmsg(), "layer1.weight.npy"));
    assert_non_null(strstr(cl_errmsg(), "shape"));
    /* and a task that was not saved */
    assert_int_equal(cl_load_state(dir, 4, "params", m2, m2->params), -1);
    assert_non_null(strstr(cl_errmsg(), "task4"));

    free(omega);
    free(got);
    cl_mlp_free(m3);
    cl_mlp_free(m2);
    cl_run_free(&run);
    cl_reg_free(reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&data);
    tu_rmdir(dir);
}

/* A CNN trained through a stream with EWC: the stem's convolutions saved in PyTorch's Conv2d layout, their
 * importances beside them, and the accuracies finite. */
static void test_save_state_cnn(void **state)
{
    (void)state;
    cl_data data;
    cl_data_synthetic(&data, 300, 60, 6, 6, 6, 3);
    cl_stream_cfg sc = cl_stream_defaults();
    sc.kind = CL_STREAM_SPLIT;
    sc.scenario = CL_SCEN_TASK;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &data, &sc), 0);
    cl_train_cfg tc = cl_train_defaults();
    tc.batch = 32;
    tc.eval_batch = 64;
    cl_arch a;
    assert_int_equal(cl_arch_parse(&a, "conv3k3p1, maxpool2, conv4k2, dense5", "arch"), 0);
    cl_mlp *m = cl_mlp_create_arch(&a, 1, 6, 6, s.head_out, s.nheads, 64, "arch");
    assert_non_null(m);
    cl_rng r;
    cl_rng_seed(&r, 1, 2);
    cl_mlp_init(m, &r);
    snap sn = {{0}, {0}, cl_reg_create("ewc", NULL, 0, m)};
    char *dir = tu_mkdtemp();
    tc.reg = sn.reg;
    tc.save_dir = dir;
    tc.on_task = keep;
    tc.ctx = &sn;
    cl_run run;
    assert_int_equal(cl_train_stream(m, &s, &tc, &run), 0);
    assert_false(run.diverged);
    for (int i = 0; i < 4 * 3; i++) assert_true(run.R[i] >= 0.0f && run.R[i] <= 1.0f);
    const int shapes[2][4] = {{3, 1, 3, 3}, {4, 3, 2, 2}};
    for (int task = 0; task < 3; task++)
        for (int c = 0, q = 0; q < m->nstem; q++) {
            const cl_stem *st = &m->stem[q];
            if (st->kind != CL_STEM_CONV) continue;
            for (int kind = 0; kind < 2; kind++) {
                const float *src = kind ? sn.omega[task] : sn.params[task];
                char path[4200], dict[256], want[64];
                size_t n;
                snprintf(path, sizeof path, "%s/task%d/%s/conv%d.weight.npy", dir, task + 1, kind ? "importance" : "params", c);
                float *d = read_npy(path, dict, sizeof dict, &n);
                snprintf(want, sizeof want, "'shape': (%d, %d, %d, %d)", shapes[c][0], shapes[c][1], shapes[c][2], shapes[c][3]);
                if (!strstr(dict, want)) fail_msg("%s: %s, expected %s", path, dict, want);
                assert_memory_equal(d, src + st->w, n * sizeof(float));
                if (kind && task == 0) { /* an importance that was computed, not a zero tensor */
                    double sum = 0;
                    for (size_t j = 0; j < n; j++) sum += d[j];
                    assert_true(sum > 0);
                }
                free(d);
                snprintf(path, sizeof path, "%s/task%d/%s/conv%d.bias.npy", dir, task + 1, kind ? "importance" : "params", c);
                d = read_npy(path, dict, sizeof dict, &n);
                assert_int_equal(n, shapes[c][0]);
                assert_memory_equal(d, src + st->b, n * sizeof(float));
                free(d);
            }
            c++;
        }
    for (int t = 0; t < 3; t++) free(sn.params[t]), free(sn.omega[t]);
    cl_run_free(&run);
    cl_reg_free(sn.reg);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&data);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_npy_header), cmocka_unit_test(test_save_state),
                                       cmocka_unit_test(test_save_state_cnn),
                                       cmocka_unit_test(test_load_state)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
