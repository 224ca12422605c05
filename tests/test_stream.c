/* Task streams as views: permutation, padding, rotation, class groups, scenarios and task orders, checked
 * on tiny hand-made images where the right answer is known pixel by pixel. */
#include "tests/testutil.h"

#include <math.h>

#include "core/error.h"
#include "datasets/stream.h"

enum { N = 8, ROWS = 4, COLS = 4, DIM = ROWS * COLS, NC = 4 };

/* 8 images of 4x4; pixel j of image i is 10*i + j; labels 0,1,2,3,0,1,2,3. */
static void make_data(cl_data *d)
{
    memset(d, 0, sizeof *d);
    cl_dataset *sets[2] = {&d->train, &d->test};
    for (int s = 0; s < 2; s++) {
        cl_dataset *x = sets[s];
        snprintf(x->name, sizeof x->name, s ? "tiny/test" : "tiny/train");
        x->n = N;
        x->rows = ROWS;
        x->cols = COLS;
        x->dim = DIM;
        x->nclasses = NC;
        x->pix = malloc(N * DIM);
        x->labels = malloc(N * sizeof(int32_t));
        for (int i = 0; i < N; i++) {
            for (int j = 0; j < DIM; j++) x->pix[i * DIM + j] = (uint8_t)(10 * i + j);
            x->labels[i] = i % NC;
        }
    }
}

static void free_data(cl_data *d)
{
    for (int s = 0; s < 2; s++) {
        cl_dataset *x = s ? &d->test : &d->train;
        free(x->pix);
        free(x->labels);
    }
}

static void batch_all(const cl_stream *s, int t, float *X, int *y)
{
    int pos[N];
    for (int i = 0; i < N; i++) pos[i] = i;
    cl_stream_batch(s, t, 0, pos, s->task[t].ntrain, X, y);
}

static void test_permuted(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.ntasks = 3;
    c.scale01 = 0;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.nheads, 1);
    assert_int_equal(s.head_out[0], NC);
    float X[N * DIM], X2[N * DIM];
    int y[N];
    batch_all(&s, 0, X, y); /* task 1 is the plain data */
    for (int i = 0; i < N * DIM; i++) assert_float_equal(X[i], d.train.pix[i], 0);
    for (int i = 0; i < N; i++) assert_int_equal(y[i], i % NC);
    batch_all(&s, 1, X, y);
    batch_all(&s, 2, X2, y);
    /* each later task is one fixed permutation, the same for every image, and a different one per task */
    int moved = 0, differ = 0;
    for (int q = 0; q < DIM; q++) {
        int src = (int)X[q]; /* image 0 holds pixel index = value */
        moved += src != q;
        differ += X[q] != X2[q];
        for (int i = 0; i < N; i++) assert_float_equal(X[i * DIM + q], 10 * i + src, 0);
    }
    assert_true(moved > DIM / 2);
    assert_true(differ > 0);
    /* scaling to [0, 1] */
    cl_stream_free(&s);
    c.scale01 = 1;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    batch_all(&s, 0, X, y);
    assert_float_equal(X[DIM + 3], (10 + 3) / 255.0f, 1e-7);
    cl_stream_free(&s);
    free_data(&d);
}

/* A task keeps its permutation whatever the order it is trained in. */
static void test_order(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.ntasks = 3;
    c.scale01 = 0;
    cl_stream a, b;
    assert_int_equal(cl_stream_create(&a, &d, &c), 0);
    int order[3] = {2, 0, 1};
    c.order = order;
    assert_int_equal(cl_stream_create(&b, &d, &c), 0);
    float Xa[N * DIM], Xb[N * DIM];
    int y[N];
    batch_all(&a, 2, Xa, y);
    batch_all(&b, 0, Xb, y);
    assert_memory_equal(Xa, Xb, sizeof Xa);
    assert_int_equal(b.task[0].id, 2);
    int bad[3] = {0, 0, 1};
    c.order = bad;
    cl_stream rejected;
    assert_int_equal(cl_stream_create(&rejected, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "permutation"));
    cl_stream_free(&a);
    cl_stream_free(&b);
    free_data(&d);
}

static void test_padding(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.ntasks = 1;
    c.pad = 2;
    c.scale01 = 0;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.input_dim, 8 * 8);
    float X[N * 64];
    int y[N];
    batch_all(&s, 0, X, y);
    for (int i = 0; i < N; i++)
        for (int r = 0; r < 8; r++)
            for (int cc = 0; cc < 8; cc++) {
                float v = X[i * 64 + r * 8 + cc];
                int inside = r >= 2 && r < 6 && cc >= 2 && cc < 6;
                assert_float_equal(v, inside ? 10 * i + (r - 2) * 4 + (cc - 2) : 0, 0);
            }
    cl_stream_free(&s);
    free_data(&d);
}

/* Rotating by 90 degrees moves pixels exactly (bilinear weights are 0/1 at integer positions): output
 * (r, c) is input (c, N-1-r); 0 degrees is the identity, 180 reverses the image. */
static void test_rotated(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_ROTATED;
    c.angles = "0,90,180,45";
    c.scale01 = 0;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.ntasks, 4);
    float X[N * DIM];
    int y[N];
    batch_all(&s, 0, X, y);
    for (int q = 0; q < N * DIM; q++) assert_float_equal(X[q], d.train.pix[q], 1e-4);
    batch_all(&s, 1, X, y);
    for (int r = 0; r < ROWS; r++)
        for (int cc = 0; cc < COLS; cc++) assert_float_equal(X[DIM + r * COLS + cc], 10 + cc * COLS + (COLS - 1 - r), 1e-4);
    batch_all(&s, 2, X, y);
    for (int q = 0; q < DIM; q++) assert_float_equal(X[q], DIM - 1 - q, 1e-4);
    /* 45 degrees, worked by hand for output pixel (0, 0) of image 1: it samples the input at
     * x = 1.5, y = 1.5 - 1.5 sqrt(2) = -0.6213, so only row 0 contributes, with weight 1 - 0.6213 split
     * evenly between pixels (0, 1) and (0, 2), whose values are 11 and 12. */
    batch_all(&s, 3, X, y);
    double fy = 1.0 - (1.5 * sqrt(2.0) - 1.5);
    assert_float_equal(X[DIM + 0], fy * (0.5 * 11 + 0.5 * 12), 1e-4);
    float centre = 0;
    for (int k = 0; k < 4; k++) centre += X[DIM + (1 + k / 2) * COLS + 1 + k % 2];
    assert_true(centre > 4 * 10.0f);
    cl_stream_free(&s);
    free_data(&d);
}

static void test_split_scenarios(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scale01 = 0;
    float X[N * DIM];
    int y[N];
    cl_stream s;

    /* default: consecutive pairs -> 2 tasks; task-incremental: one 2-way head per task */
    c.scenario = CL_SCEN_TASK;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.ntasks, 2);
    assert_int_equal(s.nheads, 2);
    assert_int_equal(s.task[1].head, 1);
    assert_int_equal(s.task[1].ntrain, 4); /* images 2, 3, 6, 7 */
    batch_all(&s, 1, X, y);
    assert_float_equal(X[0], 20.0f, 0);
    assert_int_equal(y[0], 0);
    assert_int_equal(y[1], 1);
    assert_float_equal(X[2 * DIM], 60.0f, 0);
    cl_stream_free(&s);

    /* class-incremental with groups in a custom order: units follow first appearance, active grows */
    c.scenario = CL_SCEN_CLASS;
    c.groups = "3,1/0/2";
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.ntasks, 3);
    assert_int_equal(s.nheads, 1);
    assert_int_equal(s.head_out[0], 4);
    assert_int_equal(s.task[0].active, 2);
    assert_int_equal(s.task[1].active, 3);
    assert_int_equal(s.task[2].active, 4);
    batch_all(&s, 0, X, y);
    assert_int_equal(y[0], 1); /* image 1 has class 1: second unit */
    assert_int_equal(y[1], 0); /* image 3 has class 3: first unit */
    batch_all(&s, 2, X, y);
    assert_int_equal(y[0], 3);
    assert_int_equal(cl_stream_eval_active(&s, 0, 2), 4); /* evaluating a later task uses its classes */
    assert_int_equal(cl_stream_eval_active(&s, 1, 0), 3);
    cl_stream_free(&s);
    free_data(&d);
}

static void test_rejects(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream s;
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    struct { const char *groups; int ntasks; cl_scenario sc; const char *expect; } cases[] = {
        {"0,1/2,9", 0, CL_SCEN_TASK, "class 9 is not in the data"},
        {"0,1/1,2", 0, CL_SCEN_TASK, "appears twice"},
        {"0,1/x", 0, CL_SCEN_TASK, "expected a class number"},
        {NULL, 3, CL_SCEN_TASK, "only 2 class groups"},
        {"0,1/2", 0, CL_SCEN_DOMAIN, "equal sizes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        c.groups = cases[i].groups;
        c.ntasks = cases[i].ntasks;
        c.scenario = cases[i].sc;
        assert_int_equal(cl_stream_create(&s, &d, &c), -1);
        if (!strstr(cl_errmsg(), cases[i].expect)) fail_msg("case %zu: message '%s' lacks '%s'", i, cl_errmsg(), cases[i].expect);
    }
    c = cl_stream_defaults();
    c.kind = CL_STREAM_ROTATED;
    c.angles = "0,abc";
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "degrees"));
    /* tabular data cannot be rotated or padded */
    d.train.rows = d.test.rows = 1;
    d.train.cols = d.test.cols = DIM;
    c.angles = NULL;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "image data"));
    free_data(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permuted), cmocka_unit_test(test_order),        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_rotated),  cmocka_unit_test(test_split_scenarios), cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
