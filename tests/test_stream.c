/* Task streams as views: permutation, padding, rotation, class groups, scenarios and task orders, checked
 * on tiny hand-made images where the right answer is known pixel by pixel. */
#include "tests/testutil.h"
#include "tests/testdata.h"

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
        free(x->feat);
        free(x->labels);
        x->pix = NULL;
        x->feat = NULL;
        x->labels = NULL;
    }
}

/* The same samples as CSV-style features (one row of DIM values), each pixel + 0.5. */
static void to_features(cl_data *d)
{
    for (int s = 0; s < 2; s++) {
        cl_dataset *x = s ? &d->test : &d->train;
        x->feat = malloc(sizeof(float) * N * DIM);
        for (int q = 0; q < N * DIM; q++) x->feat[q] = x->pix[q] + 0.5f;
        free(x->pix);
        x->pix = NULL;
        x->rows = 1;
        x->cols = DIM;
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
        {"0,1/2", 0, CL_SCEN_TASK, "group 2 has one class (2)"},
        {"0,1/2,3", 0, 7, "scenario"},
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
    /* tabular data (CSV features, even one row of 16 pixels) cannot be rotated or padded */
    to_features(&d);
    c.angles = NULL;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "image data"));
    c = cl_stream_defaults();
    c.pad = 1;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "padding needs image data"));
    free_data(&d);
}

/* A task without training or without test samples is refused when the stream is built, naming the task
 * (by its place in the training order) and its classes: before, it trained and scored ACC nan, or failed
 * at its end under EWC. */
static void test_empty_tasks(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = CL_SCEN_TASK;
    cl_stream s;
    for (int i = 0; i < N; i++) d.train.labels[i] = i % 2; /* classes 2 and 3 have no training samples */
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "task 2 (classes 2,3)", "no training samples", "tiny/train", NULL));
    assert_null(s.task);
    int order[2] = {1, 0};
    c.order = order; /* trained first, so it is task 1 */
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "task 1 (classes 2,3)", "no training samples", NULL));
    c.order = NULL;
    for (int i = 0; i < N; i++) d.train.labels[i] = i % NC;
    for (int i = 0; i < N; i++) d.test.labels[i] = 2 + i % 2; /* classes 0 and 1 have no test samples */
    c.scenario = CL_SCEN_CLASS;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "task 1 (classes 0,1)", "no test samples", "tiny/test", NULL));
    /* a permuted stream over an empty test split */
    d.test.n = 0;
    c = cl_stream_defaults();
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "task 1 (all classes)", "no test samples", NULL));
    free_data(&d);
}

/* --scale: 255 and none do what they say on any data; auto divides images and CSV data that is pixels
 * (every feature a whole number in 0..255, as the loader records in byte_valued), and leaves other CSV
 * data as given. Before, CSV features were divided by 255 unless --no-scale. */
static void test_scale_modes(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    assert_int_equal(c.scale01, CL_SCALE_AUTO);
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_float_equal(s.scale, 1.0f / 255.0f, 0);
    assert_non_null(strstr(cl_stream_scale_desc(&s), "/ 255 (scale auto: images)"));
    cl_stream_free(&s);
    to_features(&d);
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_float_equal(s.scale, 1.0f, 0);
    assert_non_null(strstr(cl_stream_scale_desc(&s), "as given (scale auto: features are not all whole numbers"));
    float X[N * DIM];
    int y[N];
    batch_all(&s, 0, X, y);
    assert_float_equal(X[DIM + 3], 10 + 3 + 0.5f, 0);
    cl_stream_free(&s);
    d.train.byte_valued = 1; /* both splits must be pixels */
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_float_equal(s.scale, 1.0f, 0);
    cl_stream_free(&s);
    d.test.byte_valued = 1;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_float_equal(s.scale, 1.0f / 255.0f, 0);
    assert_non_null(strstr(cl_stream_scale_desc(&s), "/ 255 (scale auto: every feature is a whole number in 0..255)"));
    cl_stream_free(&s);
    c.scale01 = CL_SCALE_NONE;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_float_equal(s.scale, 1.0f, 0);
    assert_string_equal(cl_stream_scale_desc(&s), "inputs as given (scale none)");
    cl_stream_free(&s);
    d.train.byte_valued = d.test.byte_valued = 0;
    c.scale01 = CL_SCALE_255;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_float_equal(s.scale, 1.0f / 255.0f, 0);
    assert_string_equal(cl_stream_scale_desc(&s), "inputs / 255 (scale 255)");
    cl_stream_free(&s);
    c.scale01 = 5;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    free_data(&d);

    static const struct { const char *text; cl_scale_mode m; } ok[] = {
        {"255", CL_SCALE_255}, {"yes", CL_SCALE_255}, {"1", CL_SCALE_255},  {"none", CL_SCALE_NONE},
        {"no", CL_SCALE_NONE}, {"off", CL_SCALE_NONE}, {"0", CL_SCALE_NONE}, {"auto", CL_SCALE_AUTO},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        cl_scale_mode m = (cl_scale_mode)99;
        assert_int_equal(cl_scale_parse(ok[i].text, &m), 0);
        assert_int_equal(m, ok[i].m);
    }
    cl_scale_mode m;
    assert_int_equal(cl_scale_parse("256\n", &m), -1);
    assert_true(td_has_all(cl_errmsg(), "255", "none", "auto", "got '256\\n'", NULL));
}

/* Hostile geometry: a padded input past CL_MAX_INPUT_DIM is refused before anything the size of it is
 * allocated; 1x1 images rotate (to themselves) and pad; a one-row image is an image, not tabular data. */
static void test_geometry_edges(void **state)
{
    (void)state;
    cl_data d;
    memset(&d, 0, sizeof d);
    cl_dataset *sets[2] = {&d.train, &d.test};
    for (int k = 0; k < 2; k++) {
        cl_dataset *x = sets[k];
        snprintf(x->name, sizeof x->name, "big");
        x->n = 2;
        x->rows = 1;
        x->cols = CL_MAX_INPUT_DIM; /* the largest image there may be */
        x->dim = x->cols;
        x->nclasses = 2;
        x->pix = calloc((size_t)x->n * x->dim, 1);
        x->labels = malloc(2 * sizeof(int32_t));
        x->labels[0] = 0;
        x->labels[1] = 1;
    }
    cl_stream_cfg c = cl_stream_defaults();
    c.ntasks = 1;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.input_dim, CL_MAX_INPUT_DIM);
    cl_stream_free(&s);
    c.pad = 64;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "padding 64", "1x1048576", "129x1048704", "more than the limit of 1048576",
                           NULL));
    free_data(&d);

    /* 1x1 images, and 1x3 images: rotation and padding work on both */
    for (int cols = 1; cols <= 3; cols += 2) {
        for (int k = 0; k < 2; k++) {
            cl_dataset *x = sets[k];
            x->rows = 1;
            x->cols = x->dim = cols;
            x->pix = malloc((size_t)2 * cols);
            for (int q = 0; q < 2 * cols; q++) x->pix[q] = (uint8_t)(50 + q);
            x->labels = malloc(2 * sizeof(int32_t));
            x->labels[0] = 0;
            x->labels[1] = 1;
        }
        c = cl_stream_defaults();
        c.kind = CL_STREAM_ROTATED;
        c.angles = "0,180";
        c.scale01 = CL_SCALE_NONE;
        assert_int_equal(cl_stream_create(&s, &d, &c), 0);
        float X[2 * 3];
        int y[2], pos[2] = {0, 1};
        cl_stream_batch(&s, 1, 0, pos, 2, X, y);
        for (int q = 0; q < cols; q++) assert_float_equal(X[cols + q], 50 + cols + (cols - 1 - q), 1e-4);
        cl_stream_free(&s);
        c.kind = CL_STREAM_PERMUTED;
        c.angles = NULL;
        c.pad = 1;
        c.ntasks = 2;
        assert_int_equal(cl_stream_create(&s, &d, &c), 0);
        assert_int_equal(s.in_rows, 3);
        assert_int_equal(s.in_cols, cols + 2);
        float P[2 * 15];
        cl_stream_batch(&s, 0, 0, pos, 2, P, y);
        assert_float_equal(P[(cols + 2) + 1], 50, 0); /* image 0, pixel 0 at (1, 1) of the padded grid */
        assert_float_equal(P[0], 0, 0);
        cl_stream_free(&s);
        free_data(&d);
    }
}

/* Class groups and angles in messages: user text is cut short and control bytes escaped, so that the
 * message stays one line and keeps its reason. */
static void test_group_text_in_messages(void **state)
{
    (void)state;
    cl_data d;
    make_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    char groups[6000];
    memset(groups, '7', sizeof groups - 1);
    groups[sizeof groups - 1] = 0;
    c.groups = groups;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(strlen(cl_errmsg()) < 300);
    assert_true(td_has_all(cl_errmsg(), "class groups '7777", "...'", NULL));
    c.groups = "0,1\n/2,3";
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "'0,1\\n/2,3'", "unexpected '\\n/2,3'", NULL));
    c.groups = "0,1/";
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "expected a class number at ''", NULL));
    c.groups = "0,99999999999999999999999";
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "expected a class number", NULL));
    c = cl_stream_defaults();
    c.kind = CL_STREAM_ROTATED;
    c.angles = "0,\x1b[2J";
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "degrees at '\\x1B[2J'", NULL));
    free_data(&d);
}

/* ---- the validation split ------------------------------------------------------------------------------- */

/* 140 training images of 4 classes in unequal numbers (class c has 20 + 10c), 8 test images; pixel 0 of
 * training image i is i, so a batch shows which samples it read. */
static void make_uneven(cl_data *d)
{
    memset(d, 0, sizeof *d);
    cl_dataset *sets[2] = {&d->train, &d->test};
    for (int s = 0; s < 2; s++) {
        cl_dataset *x = sets[s];
        snprintf(x->name, sizeof x->name, s ? "uneven/test" : "uneven/train");
        x->n = s ? 8 : 140;
        x->rows = ROWS;
        x->cols = COLS;
        x->dim = DIM;
        x->nclasses = NC;
        x->pix = calloc((size_t)x->n, DIM);
        x->labels = malloc(sizeof(int32_t) * (size_t)x->n);
        for (int i = 0, c = 0, k = 0; i < x->n; i++) {
            x->pix[i * DIM] = (uint8_t)i;
            if (s) x->labels[i] = i % NC;
            else {
                x->labels[i] = c;
                if (++k == 20 + 10 * c) c++, k = 0;
            }
        }
    }
}

/* Sample ids of a task's part, through cl_stream_batch (pixel 0 is the id). */
static void part_ids(const cl_stream *s, int t, int part, int *ids, int *n)
{
    *n = cl_stream_part_n(s, t, part);
    int *pos = malloc(sizeof(int) * (size_t)*n), *y = malloc(sizeof(int) * (size_t)*n);
    float *X = malloc(sizeof(float) * (size_t)*n * DIM);
    for (int i = 0; i < *n; i++) pos[i] = i;
    cl_stream_batch(s, t, part, pos, *n, X, y);
    for (int i = 0; i < *n; i++) ids[i] = (int)lroundf(X[(size_t)i * DIM] * 255.0f);
    free(pos), free(y), free(X);
}

/* Stratified (round(F n_c) of every class), disjoint from what the task trains on, covering the task's
 * samples together with it, the same in every order and every task of a seed, and another set for another
 * seed. */
static void test_validation_split(void **state)
{
    (void)state;
    cl_data d;
    make_uneven(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = CL_SCEN_TASK;
    c.groups = "0,1/2,3";
    c.validation = 0.2f;
    c.seed = 7;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    int tr[140], va[140], ntr, nva, held[140] = {0};
    const int want[NC] = {4, 6, 8, 10}; /* round(0.2 * 20), 0.2 * 30, 0.2 * 40, 0.2 * 50 */
    for (int t = 0; t < 2; t++) {
        part_ids(&s, t, CL_PART_TRAIN, tr, &ntr);
        part_ids(&s, t, CL_PART_VAL, va, &nva);
        int seen[140] = {0}, per_class[NC] = {0};
        for (int i = 0; i < ntr; i++) seen[tr[i]]++;
        for (int i = 0; i < nva; i++) {
            seen[va[i]]++;
            per_class[d.train.labels[va[i]]]++;
            held[va[i]] = 1;
            if (i) assert_true(va[i] > va[i - 1]); /* the dataset's order */
        }
        for (int i = 0; i < 140; i++) { /* each of the task's samples in exactly one part */
            int mine = d.train.labels[i] / 2 == t;
            assert_int_equal(seen[i], mine);
        }
        for (int k = 0; k < NC; k++) assert_int_equal(per_class[k], k / 2 == t ? want[k] : 0);
        assert_int_equal(nva, want[2 * t] + want[2 * t + 1]);
    }
    cl_stream_free(&s);

    /* reversed order: every task holds out the same samples */
    int order[2] = {1, 0};
    c.order = order;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    for (int t = 0; t < 2; t++) {
        part_ids(&s, t, CL_PART_VAL, va, &nva);
        for (int i = 0; i < nva; i++) assert_true(held[va[i]]);
        assert_int_equal(nva, t == 0 ? 18 : 10);
    }
    cl_stream_free(&s);
    c.order = NULL;

    /* a permuted stream: every task reads the whole split and holds out the same 28 images */
    cl_stream_cfg pc = c;
    pc.kind = CL_STREAM_PERMUTED;
    pc.scenario = CL_SCEN_DOMAIN;
    pc.groups = NULL;
    pc.ntasks = 3;
    assert_int_equal(cl_stream_create(&s, &d, &pc), 0);
    for (int t = 0; t < 3; t++) {
        assert_int_equal(s.task[t].nval, 28);
        assert_int_equal(s.task[t].ntrain, 112);
        for (int i = 0; i < 28; i++) assert_true(held[s.task[t].val_idx[i]]);
    }
    cl_stream_free(&s);

    /* another seed, another set; the same seed, the same set */
    c.seed = 8;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    part_ids(&s, 1, CL_PART_VAL, va, &nva);
    int same = 1;
    for (int i = 0; i < nva; i++) same &= held[va[i]];
    assert_false(same);
    cl_stream_free(&s);

    /* no validation: the whole split trains, nothing is held out */
    c.validation = 0;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.task[0].ntrain, 50);
    assert_int_equal(s.task[0].nval, 0);
    assert_null(s.task[0].val_idx);
    cl_stream_free(&s);

    /* a fraction that holds out nothing of a task, and fractions out of range: refused, naming the task */
    c.validation = 0.01f;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "task 1 (classes 0,1): validation 0.01 holds out no sample"));
    c.validation = 1.0f;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_non_null(strstr(cl_errmsg(), "0 <= v < 1"));
    free_data(&d);

    float v = -1;
    assert_int_equal(cl_validation_parse("10%", &v), 0);
    assert_float_equal(v, 0.1, 1e-7);
    assert_int_equal(cl_validation_parse("0.25", &v), 0);
    assert_float_equal(v, 0.25, 1e-7);
    assert_int_equal(cl_validation_parse("0", &v), 0);
    assert_float_equal(v, 0.0, 0);
    static const char *const bad[] = {"1", "-0.1", "100%", "abc", "", "0.1x", "nan", "1e9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        v = 0.5f;
        assert_int_equal(cl_validation_parse(bad[i], &v), -1);
        assert_non_null(strstr(cl_errmsg(), "0 <= F < 1"));
        assert_float_equal(v, 0.5, 0); /* unchanged */
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_permuted), cmocka_unit_test(test_order),        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_rotated),  cmocka_unit_test(test_split_scenarios), cmocka_unit_test(test_rejects),
        cmocka_unit_test(test_empty_tasks), cmocka_unit_test(test_scale_modes), cmocka_unit_test(test_geometry_edges),
        cmocka_unit_test(test_group_text_in_messages), cmocka_unit_test(test_validation_split),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
