/* CSV loading: values read back exactly, header and label-column handling, formatting that must be
 * accepted (CRLF, BOM, quotes, blank lines), and one test per error, checking the file, line and column. */
#include "testutil.h"
#include "testdata.h"

#include "core/error.h"
#include "datasets/dataset.h"

static int setup(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    tu_rmdir(*state);
    return 0;
}

/* Write text to <dir>/<name> and load it; returns cl_dataset_load_csv's result. path receives the file. */
static int load(void **state, const char *name, const char *text, const cl_csv_opts *opts, cl_dataset *d, char *path)
{
    td_path(path, *state, name);
    td_write_text(path, text);
    return cl_dataset_load_csv(d, path, opts);
}

/* Load text that must fail; the message must name the file and contain every given string. */
static int fails_with(void **state, const char *text, const cl_csv_opts *opts, const char *w1, const char *w2)
{
    char p[4096];
    cl_dataset d;
    if (load(state, "bad.csv", text, opts, &d, p) != -1) {
        cl_dataset_free(&d);
        fprintf(stderr, "loading succeeded: [%s]\n", text);
        return 0;
    }
    if (d.feat || d.labels || d.n) return 0;
    return td_has_all(cl_errmsg(), p, w1, w2, NULL);
}

static void assert_row(const cl_dataset *d, int i, int label, const float *x)
{
    assert_int_equal(d->labels[i], label);
    for (int j = 0; j < d->dim; j++) assert_true(d->feat[(size_t)i * d->dim + j] == x[j]);
}

/* ---- accepted input ------------------------------------------------------------------------------- */

static void test_header_roundtrip(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "x.csv", "label,a,b,c\n3,1.5,2,-0.25\n0,4,5e2,6\n", NULL, &d, p), 0);
    assert_string_equal(d.name, "x.csv");
    assert_int_equal(d.n, 2);
    assert_int_equal(d.rows, 1);
    assert_int_equal(d.cols, 3);
    assert_int_equal(d.dim, 3);
    assert_int_equal(d.nclasses, 4);
    assert_null(d.pix);
    assert_row(&d, 0, 3, (float[]){1.5f, 2, -0.25f});
    assert_row(&d, 1, 0, (float[]){4, 500, 6});
    assert_true(cl_dataset_value(&d, 1, 1) == 500.0f);
    cl_dataset_free(&d);
}

static void test_no_header_detected(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "x.csv", "1,0.5,0.25\n2,1,2\n", NULL, &d, p), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.dim, 2);
    assert_int_equal(d.nclasses, 3);
    assert_row(&d, 0, 1, (float[]){0.5f, 0.25f});
    cl_dataset_free(&d);
}

/* Without an option, a column named "label" (any case) is the label wherever it is. */
static void test_label_column_found_by_default(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "x.csv", "x,y,Label,z\n1,2,7,3\n4,5,0,6\n", NULL, &d, p), 0);
    assert_int_equal(d.dim, 3);
    assert_int_equal(d.nclasses, 8);
    assert_row(&d, 0, 7, (float[]){1, 2, 3});
    assert_row(&d, 1, 0, (float[]){4, 5, 6});
    cl_dataset_free(&d);
}

static void test_label_column_by_name(void **state)
{
    char p[4096];
    cl_dataset d;
    cl_csv_opts o = {"target", -1};
    assert_int_equal(load(state, "x.csv", "a,target,b\n1,2,3\n", &o, &d, p), 0);
    assert_row(&d, 0, 2, (float[]){1, 3});
    cl_dataset_free(&d);
}

static void test_label_column_by_index(void **state)
{
    char p[4096];
    cl_dataset d;
    cl_csv_opts o = {"2", 0};
    assert_int_equal(load(state, "x.csv", "1,2,5\n3,4,6\n", &o, &d, p), 0);
    assert_int_equal(d.n, 2);
    assert_row(&d, 0, 5, (float[]){1, 2});
    assert_row(&d, 1, 6, (float[]){3, 4});
    cl_dataset_free(&d);
}

/* header = 1 takes a numeric first row as the header; header = 0 reads a text first row as data (and so
 * fails on it). */
static void test_header_forced(void **state)
{
    char p[4096];
    cl_dataset d;
    cl_csv_opts yes = {NULL, 1}, no = {NULL, 0};
    assert_int_equal(load(state, "x.csv", "0,1,2\n1,3,4\n", &yes, &d, p), 0);
    assert_int_equal(d.n, 1);
    assert_row(&d, 0, 1, (float[]){3, 4});
    cl_dataset_free(&d);
    assert_true(fails_with(state, "label,a\n1,2\n", &no, "line 1: label column 1", "got 'label'"));
}

/* CRLF line ends, a UTF-8 byte-order mark, quoted cells, spaces, blank lines, a last line without a line
 * end, and an integer label written as a float. */
static void test_formatting_accepted(void **state)
{
    char p[4096];
    cl_dataset d;
    const char *text = "\xEF\xBB\xBFlabel, a ,\"b\"\r\n"
                       "1, 2.5 ,\" 3 \"\r\n"
                       "\r\n"
                       "   \n"
                       "3.0,-1e-3,\"4\"";
    assert_int_equal(load(state, "x.csv", text, NULL, &d, p), 0);
    assert_int_equal(d.n, 2);
    assert_int_equal(d.dim, 2);
    assert_row(&d, 0, 1, (float[]){2.5f, 3});
    assert_row(&d, 1, 3, (float[]){-1e-3f, 4});
    cl_dataset_free(&d);
}

/* A file bigger than the read chunk: every value comes back, and line numbers stay right across chunks. */
static void test_large_file(void **state)
{
    const int rows = 3000, cols = 30;
    size_t cap = (size_t)rows * cols * 12 + 1000, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text + len, cap - len, "label");
    for (int j = 1; j < cols; j++) len += (size_t)snprintf(text + len, cap - len, ",f%d", j);
    len += (size_t)snprintf(text + len, cap - len, "\n");
    for (int i = 0; i < rows; i++) {
        len += (size_t)snprintf(text + len, cap - len, "%d", i % 13);
        for (int j = 1; j < cols; j++) len += (size_t)snprintf(text + len, cap - len, ",%d.25", i * cols + j);
        len += (size_t)snprintf(text + len, cap - len, "\n");
    }
    assert_true(len > 2 * 65536);
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "big.csv", text, NULL, &d, p), 0);
    assert_int_equal(d.n, rows);
    assert_int_equal(d.dim, cols - 1);
    assert_int_equal(d.nclasses, 13);
    for (int i = 0; i < rows; i++) {
        assert_int_equal(d.labels[i], i % 13);
        for (int j = 1; j < cols; j++) assert_true(d.feat[(size_t)i * (cols - 1) + j - 1] == i * cols + j + 0.25f);
    }
    cl_dataset_free(&d);
    /* a bad cell on line 2501 (the header is line 1) */
    char *bad = NULL;
    int line = 1;
    for (char *s = text; *s; s++)
        if (*s == '\n' && ++line == 2501) {
            bad = s + 1;
            break;
        }
    assert_non_null(bad);
    bad[0] = 'x';
    assert_true(fails_with(state, text, NULL, "line 2501: label column 'label'", "got 'x"));
    free(text);
}

/* A record whose quoted field spans lines is named by its first line, and later lines keep counting. */
static void test_multiline_quoted_field(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "x.csv", "label,a\n1,\"2\n\"\n2,3\n", NULL, &d, p), 0);
    assert_int_equal(d.n, 2);
    assert_row(&d, 0, 1, (float[]){2});
    cl_dataset_free(&d);
    assert_true(fails_with(state, "label,a\n1,\"2\n\"\n2,x\n", NULL, "line 4: column 'a'", "got 'x'"));
    assert_true(fails_with(state, "label,a\n1,2\n1,\"x\ny\"\n", NULL, "line 3: column 'a'", "got 'x\\ny'"));
}

/* ---- errors --------------------------------------------------------------------------------------- */

static void test_missing_file(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_int_equal(cl_dataset_load_csv(&d, td_path(p, *state, "none.csv"), NULL), -1);
    assert_true(td_has_all(cl_errmsg(), p, "cannot open", "No such file", NULL));
}

static void test_ragged_rows(void **state)
{
    assert_true(fails_with(state, "label,a,b\n1,2,3\n1,2\n", NULL, "line 3 has 2 fields, expected 3", "header"));
    assert_true(fails_with(state, "label,a,b\n1,2,3\n\n1,2,3,4\n", NULL, "line 4 has 4 fields, expected 3", "header"));
    assert_true(fails_with(state, "1,2,3\n1,2,3\n1,2,3,\n", NULL, "line 3 has 4 fields, expected 3", "line 1"));
    /* the field count is reported before the bad cell it misaligns */
    assert_true(fails_with(state, "label,a,b\n1,abc\n", NULL, "line 2 has 2 fields", "expected 3"));
}

static void test_non_numeric_cell(void **state)
{
    assert_true(fails_with(state, "label,a,b\n1,2,3\n0,1,2\n1,2,abc\n", NULL, "line 4: column 'b'",
                           "expected a number, got 'abc'"));
    assert_true(fails_with(state, "1,2,3\n0,1,2\n1,2x,3\n", NULL, "line 3: column 2", "expected a number, got '2x'"));
    assert_true(fails_with(state, "label,a\n1,1.2.3\n", NULL, "column 'a'", "got '1.2.3'"));
}

static void test_non_finite_cell(void **state)
{
    assert_true(fails_with(state, "label,a\n1,nan\n", NULL, "line 2: column 'a'", "finite number, got 'nan'"));
    assert_true(fails_with(state, "label,a\n1,-inf\n", NULL, "line 2: column 'a'", "got '-inf'"));
    assert_true(fails_with(state, "label,a\n1,1e999\n", NULL, "finite", "got '1e999'"));
}

static void test_empty_cell(void **state)
{
    assert_true(fails_with(state, "label,a,b\n1,,3\n", NULL, "line 2: column 'a'", "empty cell"));
    assert_true(fails_with(state, "label,a,b\n1,\"\",3\n", NULL, "line 2: column 'a'", "empty cell"));
}

static void test_binary_cell(void **state)
{
    char p[4096];
    cl_dataset d;
    td_path(p, *state, "bin.csv");
    td_write_bytes(p, "label,a\n1,2\0x\n", 14, TD_RAW);
    assert_int_equal(cl_dataset_load_csv(&d, p, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), p, "line 2: column 'a'", "NUL", NULL));
}

static void test_bad_labels(void **state)
{
    assert_true(fails_with(state, "label,a\n1,2\n,3\n", NULL, "line 3: label column 'label'", "empty label"));
    assert_true(fails_with(state, "label,a\n2.5,3\n", NULL, "line 2: label column 'label'",
                           "integer label >= 0, got '2.5'"));
    assert_true(fails_with(state, "label,a\ncat,3\n", NULL, "line 2: label", "got 'cat'"));
    assert_true(fails_with(state, "label,a\n1,3\n-1,3\n", NULL, "line 3: label column 'label'", "negative label '-1'"));
    assert_true(fails_with(state, "label,a\n100000,3\n", NULL, "line 2: label", "too large"));
    assert_true(fails_with(state, "1,2\n1e300,2\n", NULL, "line 2: label column 1", "too large"));
}

static void test_unknown_label_column(void **state)
{
    cl_csv_opts o = {"target", -1};
    assert_true(fails_with(state, "a,b,c\n1,2,3\n", &o, "unknown label column 'target'", "'a', 'b', 'c'"));
    cl_csv_opts idx = {"7", -1};
    assert_true(fails_with(state, "a,b,c\n1,2,3\n", &idx, "label column 7 is out of range", "3 columns"));
    cl_csv_opts noheader = {"target", 0};
    assert_true(fails_with(state, "1,2,3\n", &noheader, "label column 'target'", "no header"));
}

static void test_empty_files(void **state)
{
    assert_true(fails_with(state, "", NULL, "empty file", "no rows"));
    assert_true(fails_with(state, "\n  \r\n\n", NULL, "empty file", "no rows"));
    assert_true(fails_with(state, "label,a,b\n", NULL, "header", "no data rows"));
    assert_true(fails_with(state, "label,a,b\n\n\n", NULL, "header (line 1)", "no data rows"));
    assert_true(fails_with(state, "label\n1\n", NULL, "line 1 has 1 field", "at least one feature column"));
}

static void test_quoting_errors(void **state)
{
    assert_true(fails_with(state, "label,a,b\n1,\"2\"x,3\n", NULL, "line 2", "malformed quoting"));
    assert_true(fails_with(state, "label,a,b\n1,2,3\n1,2\"3,4\n", NULL, "line 3", "malformed quoting"));
    assert_true(fails_with(state, "label,a,b\n1,2,3\n1,\"2,3\n4,5,6\n", NULL, "line 3", "never closed"));
}

/* ---- train/test pairs ----------------------------------------------------------------------------- */

static void test_pair(void **state)
{
    char tr[4096], te[4096];
    td_write_text(td_path(tr, *state, "train.csv"), "label,a,b\n0,1,2\n2,3,4\n");
    td_write_text(td_path(te, *state, "test.csv"), "label,a,b\n4,5,6\n");
    cl_data d;
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), 0);
    assert_int_equal(d.train.n, 2);
    assert_int_equal(d.test.n, 1);
    assert_int_equal(d.train.nclasses, 5); /* the larger of both */
    assert_int_equal(d.test.nclasses, 5);
    assert_row(&d.test, 0, 4, (float[]){5, 6});
    cl_data_free(&d);

    char arg[8300];
    snprintf(arg, sizeof arg, "%s,%s", tr, te);
    assert_int_equal(cl_data_open(&d, "csv", arg, 1), 0);
    assert_int_equal(d.train.dim, 2);
    cl_data_free(&d);
}

static void test_pair_errors(void **state)
{
    char tr[4096], te[4096];
    td_write_text(td_path(tr, *state, "train.csv"), "label,a,b\n0,1,2\n");
    td_write_text(td_path(te, *state, "test.csv"), "label,a\n0,1\n");
    cl_data d;
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), -1);
    assert_null(d.train.feat);
    assert_true(td_has_all(cl_errmsg(), te, "1 features", tr, "2", NULL));
    td_write_text(te, "label,a,b\n0,1\n");
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), te, "line 2 has 2 fields", NULL));
    assert_int_equal(cl_data_open(&d, "csv", tr, 1), -1);
    assert_true(td_has_all(cl_errmsg(), "TRAIN.csv,TEST.csv", NULL));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_header_roundtrip),
        T(test_no_header_detected),
        T(test_label_column_found_by_default),
        T(test_label_column_by_name),
        T(test_label_column_by_index),
        T(test_header_forced),
        T(test_formatting_accepted),
        T(test_large_file),
        T(test_multiline_quoted_field),
        T(test_missing_file),
        T(test_ragged_rows),
        T(test_non_numeric_cell),
        T(test_non_finite_cell),
        T(test_empty_cell),
        T(test_binary_cell),
        T(test_bad_labels),
        T(test_unknown_label_column),
        T(test_empty_files),
        T(test_quoting_errors),
        T(test_pair),
        T(test_pair_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
