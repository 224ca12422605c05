/* Synthetic data: deterministic in the seed, labels in range and balanced, and learnable to high but not
 * perfect accuracy (checked with a nearest-class-mean classifier fitted on train, scored on test). */
#include "testutil.h"

#include "core/error.h"
#include "datasets/dataset.h"

#include <math.h>

static int same_dataset(const cl_dataset *a, const cl_dataset *b)
{
    return a->n == b->n && a->rows == b->rows && a->cols == b->cols && a->dim == b->dim &&
           a->nclasses == b->nclasses && memcmp(a->pix, b->pix, (size_t)a->n * a->dim) == 0 &&
           memcmp(a->labels, b->labels, (size_t)a->n * sizeof *a->labels) == 0;
}

/* Fraction of bytes that differ between two equally sized pixel buffers. */
static double differing(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += a[i] != b[i];
    return (double)k / (double)n;
}

/* Test accuracy of the nearest class mean of the training split. */
static double nearest_mean_accuracy(const cl_data *d)
{
    int C = d->train.nclasses, D = d->train.dim;
    double *mean = calloc((size_t)C * D, sizeof *mean);
    int *count = calloc((size_t)C, sizeof *count);
    for (int i = 0; i < d->train.n; i++) {
        int c = d->train.labels[i];
        count[c]++;
        for (int j = 0; j < D; j++) mean[(size_t)c * D + j] += cl_dataset_value(&d->train, i, j);
    }
    for (int c = 0; c < C; c++)
        for (int j = 0; j < D; j++) mean[(size_t)c * D + j] /= count[c];
    int right = 0;
    for (int i = 0; i < d->test.n; i++) {
        double best = INFINITY;
        int arg = -1;
        for (int c = 0; c < C; c++) {
            double s = 0;
            for (int j = 0; j < D; j++) {
                double t = cl_dataset_value(&d->test, i, j) - mean[(size_t)c * D + j];
                s += t * t;
            }
            if (s < best) {
                best = s;
                arg = c;
            }
        }
        right += arg == d->test.labels[i];
    }
    free(mean);
    free(count);
    return (double)right / d->test.n;
}

static void test_deterministic(void **state)
{
    cl_data a, b;
    cl_data_synthetic(&a, 300, 100, 12, 10, 5, 42);
    cl_data_synthetic(&b, 300, 100, 12, 10, 5, 42);
    assert_true(same_dataset(&a.train, &b.train));
    assert_true(same_dataset(&a.test, &b.test));
    cl_data_free(&a);
    cl_data_free(&b);
}

static void test_seed_changes_data(void **state)
{
    cl_data a, b;
    cl_data_synthetic(&a, 300, 100, 12, 10, 5, 42);
    cl_data_synthetic(&b, 300, 100, 12, 10, 5, 43);
    assert_true(differing(a.train.pix, b.train.pix, 300 * 120) > 0.5);
    assert_true(differing(a.test.pix, b.test.pix, 100 * 120) > 0.5);
    assert_memory_not_equal(a.train.labels, b.train.labels, 300 * sizeof(int32_t));
    cl_data_free(&a);
    cl_data_free(&b);
}

/* Train and test come from different streams: different samples, the same classes. */
static void test_train_test_differ(void **state)
{
    cl_data d;
    cl_data_synthetic(&d, 200, 200, 8, 8, 4, 1);
    assert_true(differing(d.train.pix, d.test.pix, 200 * 64) > 0.5);
    cl_data_free(&d);
}

static void test_fields(void **state)
{
    cl_data d;
    cl_data_synthetic(&d, 50, 20, 6, 9, 3, 7);
    const cl_dataset *s[2] = {&d.train, &d.test};
    for (int k = 0; k < 2; k++) {
        assert_int_equal(s[k]->n, k ? 20 : 50);
        assert_int_equal(s[k]->rows, 6);
        assert_int_equal(s[k]->cols, 9);
        assert_int_equal(s[k]->dim, 54);
        assert_int_equal(s[k]->nclasses, 3);
        assert_non_null(s[k]->pix);
        assert_null(s[k]->feat);
        assert_non_null(s[k]->labels);
    }
    assert_string_equal(d.train.name, "synthetic/train");
    assert_string_equal(d.test.name, "synthetic/test");
    cl_data_free(&d);
    assert_null(d.train.pix);
}

static void check_balance(const cl_dataset *d)
{
    int count[16] = {0};
    for (int i = 0; i < d->n; i++) {
        assert_in_range(d->labels[i], 0, d->nclasses - 1);
        count[d->labels[i]]++;
    }
    int lo = d->n / d->nclasses, hi = (d->n + d->nclasses - 1) / d->nclasses;
    for (int c = 0; c < d->nclasses; c++) assert_in_range(count[c], lo, hi);
}

static void test_labels_in_range_and_balanced(void **state)
{
    cl_data d;
    cl_data_synthetic(&d, 1003, 250, 5, 5, 7, 3);
    check_balance(&d.train);
    check_balance(&d.test);
    /* shuffled, not in blocks or cycles */
    int cyclic = 1;
    for (int i = 0; i < 50; i++) cyclic &= d.train.labels[i] == i % 7;
    assert_false(cyclic);
    cl_data_free(&d);
}

static void test_pixels_use_the_range(void **state)
{
    cl_data d;
    cl_data_synthetic(&d, 500, 10, 28, 28, 10, 9);
    size_t n = (size_t)500 * 784, zeros = 0, full = 0;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        zeros += d.train.pix[i] == 0;
        full += d.train.pix[i] == 255;
        sum += d.train.pix[i];
    }
    assert_true(zeros > n / 20);
    assert_true(full > n / 100);
    assert_in_range((long)(sum / n), 40, 200);
    cl_data_free(&d);
}

/* High accuracy from the simplest classifier, but not perfect: the data leaves room to forget. */
static void test_learnable_not_trivial(void **state)
{
    for (uint64_t seed = 1; seed <= 3; seed++) {
        cl_data d;
        cl_data_synthetic(&d, 2000, 500, 28, 28, 10, seed);
        double acc = nearest_mean_accuracy(&d);
        if (acc < 0.88 || acc > 0.99) fprintf(stderr, "seed %d: accuracy %.3f\n", (int)seed, acc);
        assert_true(acc >= 0.88 && acc <= 0.99);
        cl_data_free(&d);
    }
}

/* cl_dataset_synthetic is the train split of cl_data_synthetic. */
static void test_single_split_is_train(void **state)
{
    cl_data d;
    cl_dataset s;
    cl_data_synthetic(&d, 120, 30, 7, 7, 4, 11);
    cl_dataset_synthetic(&s, 120, 7, 7, 4, 11);
    assert_true(same_dataset(&s, &d.train));
    assert_string_equal(s.name, "synthetic/train");
    cl_dataset_free(&s);
    cl_data_free(&d);
}

static void test_tiny_and_empty(void **state)
{
    cl_data d;
    cl_data_synthetic(&d, 5, 3, 1, 1, 1, 0);
    for (int i = 0; i < 5; i++) assert_int_equal(d.train.labels[i], 0);
    cl_data_free(&d);
    cl_data_synthetic(&d, 0, 4, 2, 3, 2, 0);
    assert_int_equal(d.train.n, 0);
    assert_int_equal(d.test.n, 4);
    cl_data_free(&d);
}

static void test_open_by_name(void **state)
{
    cl_data a, b;
    assert_int_equal(cl_data_open(&a, "synthetic", NULL, 3), 0);
    assert_int_equal(a.train.n, 2000);
    assert_int_equal(a.test.n, 500);
    assert_int_equal(a.train.rows, 28);
    assert_int_equal(a.train.cols, 28);
    assert_int_equal(a.train.nclasses, 10);
    cl_data_synthetic(&b, 2000, 500, 28, 28, 10, 3);
    assert_true(same_dataset(&a.train, &b.train));
    assert_true(same_dataset(&a.test, &b.test));
    cl_data_free(&a);
    assert_int_equal(cl_data_open(&a, "synthetic", "/ignored", 3), 0); /* the path means nothing here */
    assert_true(same_dataset(&a.test, &b.test));
    cl_data_free(&a);
    cl_data_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_seed_changes_data),
        cmocka_unit_test(test_train_test_differ),
        cmocka_unit_test(test_fields),
        cmocka_unit_test(test_labels_in_range_and_balanced),
        cmocka_unit_test(test_pixels_use_the_range),
        cmocka_unit_test(test_learnable_not_trivial),
        cmocka_unit_test(test_single_split_is_train),
        cmocka_unit_test(test_tiny_and_empty),
        cmocka_unit_test(test_open_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
