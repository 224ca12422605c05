/* CSV loading: values read back exactly, header and label-column handling, formatting that must be
 * accepted (CRLF, BOM, quotes, blank lines), and one test per error, checking the file, line and column. */
#include "testutil.h"
#include "testdata.h"

#include "core/error.h"
#include "core/timer.h"
#include "datasets/dataset.h"

#include <sys/stat.h>
#include <unistd.h>

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
    cl_csv_opts o = {"target", -1, CL_LABELS_INDEX};
    assert_int_equal(load(state, "x.csv", "a,target,b\n1,2,3\n", &o, &d, p), 0);
    assert_row(&d, 0, 2, (float[]){1, 3});
    cl_dataset_free(&d);
}

static void test_label_column_by_index(void **state)
{
    char p[4096];
    cl_dataset d;
    cl_csv_opts o = {"2", 0, CL_LABELS_INDEX};
    assert_int_equal(load(state, "x.csv", "1,2,5\n3,4,6\n", &o, &d, p), 0);
    assert_int_equal(d.n, 2);
    assert_row(&d, 0, 5, (float[]){1, 2});
    assert_row(&d, 1, 6, (float[]){3, 4});
    cl_dataset_free(&d);
}

/* header = 1 takes a numeric first row as the header (whose label column must then be named); header = 0
 * reads a text first row as data (and so fails on it). */
static void test_header_forced(void **state)
{
    char p[4096];
    cl_dataset d;
    cl_csv_opts yes = {"0", 1, CL_LABELS_INDEX}, no = {NULL, 0, CL_LABELS_INDEX};
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
    assert_true(fails_with(state, "label,a\n3000000000,3\n", NULL, "line 2: label", "too large"));
    assert_true(fails_with(state, "1,2\n1e300,2\n", NULL, "line 2: label column 1", "too large"));
    assert_true(fails_with(state, "label,a\n0x10,3\n", NULL, "line 2: label", "got '0x10'"));
}

static void test_unknown_label_column(void **state)
{
    cl_csv_opts o = {"target", -1, CL_LABELS_INDEX};
    assert_true(fails_with(state, "a,b,c\n1,2,3\n", &o, "unknown label column 'target'", "'a', 'b', 'c'"));
    cl_csv_opts idx = {"7", -1, CL_LABELS_INDEX};
    assert_true(fails_with(state, "a,b,c\n1,2,3\n", &idx, "label column 7 is out of range", "3 columns"));
    cl_csv_opts noheader = {"target", 0, CL_LABELS_INDEX};
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
    td_write_text(td_path(tr, *state, "train.csv"), "label,a,b\n0,1,2\n2,3,4\n1,0,0\n");
    td_write_text(td_path(te, *state, "test.csv"), "label,a,b\n2,5,6\n");
    cl_data d;
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), 0);
    assert_int_equal(d.train.n, 3);
    assert_int_equal(d.test.n, 1);
    assert_int_equal(d.train.nclasses, 3);
    assert_int_equal(d.test.nclasses, 3);
    assert_row(&d.test, 0, 2, (float[]){5, 6});
    assert_int_equal(d.nfiles, 2);
    assert_string_equal(d.files[0], tr);
    assert_string_equal(d.files[1], te);
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


/* ---- limits and file kinds ------------------------------------------------------------------------ */

/* Anything but a regular file is refused before it is read: /dev/zero was read for ever (a file without
 * line breaks is held whole), a FIFO blocked. The alarm turns a regression (a hang) into a failure. */
static void test_not_regular_file(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_int_equal(cl_dataset_load_csv(&d, "/dev/zero", NULL), -1);
    assert_true(td_has_all(cl_errmsg(), "/dev/zero: is a character device, not a regular file", "CSV", NULL));
    assert_int_equal(mkfifo(td_path(p, *state, "fifo.csv"), 0600), 0);
    alarm(20);
    assert_int_equal(cl_dataset_load_csv(&d, p, NULL), -1);
    alarm(0);
    assert_true(td_has_all(cl_errmsg(), p, "is a FIFO or pipe", NULL));
    assert_int_equal(cl_dataset_load_csv(&d, *state, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), (char *)*state, "is a directory", NULL));
}

/* A row (record) longer than CL_CSV_MAX_ROW_BYTES is refused, naming the line it starts on, after reading
 * no more than the limit: a file without line breaks, and a quoted field that never closes. */
static void test_row_limit(void **state)
{
    size_t n = (size_t)CL_CSV_MAX_ROW_BYTES + 100;
    char *text = malloc(n + 64);
    size_t len = (size_t)sprintf(text, "label,a\n0,1\n1,\"");
    memset(text + len, '7', n);
    text[len + n] = 0;
    assert_true(fails_with(state, text, NULL, "line 3: a row longer than 16 MiB", "limit for one CSV row"));
    for (size_t i = 0; i < n; i += 1000) text[len + i] = '\n'; /* now many lines inside the open quote */
    assert_true(fails_with(state, text, NULL, "line 3: a row longer than 16 MiB", NULL));
    memset(text, '5', n); /* one line, no separators at all */
    assert_true(fails_with(state, text, NULL, "line 1: a row longer than 16 MiB", NULL));
    free(text);
}

/* A long cell is read in linear time: libcsv grew its field buffer 128 bytes at a time, copying it each
 * time, and a 4 MB cell took 85 s under ASan (11 min on a loaded machine). Now well under a second; the
 * bound is loose so that only the quadratic behaviour fails it. */
static void test_long_cell_is_fast(void **state)
{
    size_t n = 4u << 20;
    char *text = malloc(n + 64);
    size_t len = (size_t)sprintf(text, "label,a\n1,\"0.");
    memset(text + len, '0', n);
    len += n;
    len += (size_t)sprintf(text + len, "5\"\n0,2\n");
    char p[4096];
    cl_dataset d;
    double t0 = cl_now();
    assert_int_equal(load(state, "long.csv", text, NULL, &d, p), 0);
    double sec = cl_now() - t0;
    assert_int_equal(d.n, 2);
    assert_true(d.feat[0] == 0.0f); /* 0.000...05 underflows to 0 */
    assert_true(d.feat[1] == 2.0f);
    cl_dataset_free(&d);
    if (sec > 20) fail_msg("a 4 MB cell took %.1f s to read", sec);
    /* the same digits without the point overflow: one line of message, the cell cut short */
    memset(text + 11, '9', 2);
    text[12] = '9';
    assert_true(fails_with(state, text, NULL, "line 2: column 'a': expected a finite number, got '9",
                           "...'"));
    free(text);
}

/* The file size limit is checked at open (a sparse file makes a 4 GiB file without writing it). */
static void test_file_size_limit(void **state)
{
    char p[4096];
    td_write_text(td_path(p, *state, "huge.csv"), "label,a\n0,1\n");
    td_truncate(p, CL_CSV_MAX_FILE_BYTES + 1);
    cl_dataset d;
    assert_int_equal(cl_dataset_load_csv(&d, p, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), p, "4294967297 bytes", "more than 4 GiB", NULL));
}

/* Lines end in LF, CRLF or a lone CR (old Mac exports; libcsv ends rows at CR): line numbers count each
 * once, also when a CRLF pair is split between two 64 KiB read chunks. Before, a CR-only file was "line 1"
 * everywhere and a single row as far as the row limit went. */
static void test_line_endings(void **state)
{
    char p[4096];
    cl_dataset d;
    assert_true(fails_with(state, "label,a\r1,2\r\r0,3\r1,x\r", NULL, "line 5: column 'a'", "got 'x'"));
    assert_true(fails_with(state, "label,a\r\n1,2\r\n0,3\r\n1,x\r\n", NULL, "line 4: column 'a'", "got 'x'"));
    assert_true(fails_with(state, "label,a\n1,2\r0,3\r\n\n1,x\n", NULL, "line 5: column 'a'", "got 'x'"));
    assert_int_equal(load(state, "cr.csv", "label,a\r1,2\r0,3", NULL, &d, p), 0);
    assert_int_equal(d.n, 2);
    assert_row(&d, 1, 0, (float[]){3});
    cl_dataset_free(&d);
    /* CRLF rows of 15 bytes (CR at byte 13 of a row), after a header of 9 and a first row of 15 + pad bytes
     * chosen so that a CR falls on byte 65535, the last of the first read chunk */
    size_t rows = 10000, cap = rows * 16 + 64, len = 0;
    char *text = malloc(cap);
    len += (size_t)sprintf(text, "label,a\r\n");
    int pad = 0;
    while ((65535 - 13 - 9 - 15 - pad) % 15 != 0) pad++;
    len += (size_t)sprintf(text + len, "0,%0*d\r\n", 11 + pad, 1);
    for (size_t i = 1; i < rows; i++) len += (size_t)sprintf(text + len, "%d,%011zu\r\n", (int)(i % 2), i);
    assert_int_equal(text[65535], '\r');
    assert_int_equal(load(state, "crlf.csv", text, NULL, &d, p), 0);
    assert_int_equal((size_t)d.n, rows);
    assert_row(&d, 9999, 1, (float[]){9999});
    cl_dataset_free(&d);
    text[len - 3] = 'x'; /* the last row, on line rows + 1 */
    char want[64];
    snprintf(want, sizeof want, "line %zu: column 'a'", rows + 1);
    assert_true(fails_with(state, text, NULL, want, "got '0000000999x'"));
    free(text);
}

/* More columns than CL_MAX_INPUT_DIM features (plus the label) are refused while the first row is read. */
static void test_too_many_columns(void **state)
{
    size_t cols = (size_t)CL_MAX_INPUT_DIM + 2;
    char *text = malloc(2 * cols + 16);
    for (size_t i = 0; i < cols; i++) memcpy(text + 2 * i, "0,", 2);
    memcpy(text + 2 * cols - 1, "\n", 2);
    char want[80];
    snprintf(want, sizeof want, "more than %d columns", CL_MAX_INPUT_DIM + 1);
    assert_true(fails_with(state, text, NULL, "line 1 has", want));
    /* exactly the limit is fine */
    text[2 * (cols - 1) - 1] = '\n';
    text[2 * (cols - 1)] = 0;
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "wide.csv", text, NULL, &d, p), 0);
    assert_int_equal(d.dim, CL_MAX_INPUT_DIM);
    cl_dataset_free(&d);
    free(text);
}

/* Paths are user text too: a control byte in a file name is escaped, and a very long path is cut in the
 * middle (keeping the file name), so that the message stays one line and keeps its reason. */
static void test_paths_in_messages(void **state)
{
    char p[4096];
    cl_dataset d;
    td_write_text(td_path(p, *state, "a\nb\x1b.csv"), "label,a\n1,x\n");
    assert_int_equal(cl_dataset_load_csv(&d, p, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), "a\\nb\\x1B.csv: line 2: column 'a'", "got 'x'", NULL));
    assert_null(strchr(d.name, '\n'));
    /* a path of about 1300 characters: nested directories of 250-character names */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", (char *)*state);
    for (int k = 0; k < 5; k++) {
        size_t len = strlen(dir);
        dir[len] = '/';
        memset(dir + len + 1, 'd', 250);
        dir[len + 251] = 0;
        assert_int_equal(mkdir(dir, 0700), 0);
    }
    char *path = malloc(strlen(dir) + 32);
    sprintf(path, "%s/data.csv", dir);
    td_write_text(path, "label,a\n1,2\n1,2,3\n");
    assert_int_equal(cl_dataset_load_csv(&d, path, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), "/tmp/clreg-test-", "dddd...dddd",
                           "ddd/data.csv: line 3 has 3 fields, expected 2", NULL));
    assert_true(strlen(cl_errmsg()) < 300);
    free(path);
}

/* ---- label column and labels ---------------------------------------------------------------------- */

/* A header without a 'label' column used to take column 0 (often a pixel, 0..255) as the label. Now it is
 * an error listing the columns (a dozen at most) and the option; without a header, column 0 is the label. */
static void test_header_without_label_column(void **state)
{
    assert_true(fails_with(state, "a,b,c\n1,2,3\n", NULL, "header (line 1) has no column named 'label'",
                           "its 3 columns are 'a', 'b', 'c'; name the label column with --label-column"));
    size_t cap = 20000, len = 0;
    char *text = malloc(cap);
    for (int j = 0; j < 1000; j++) len += (size_t)snprintf(text + len, cap - len, j ? ",pixel%d" : "pixel%d", j);
    len += (size_t)snprintf(text + len, cap - len, "\n");
    for (int j = 0; j < 1000; j++) len += (size_t)snprintf(text + len, cap - len, j ? ",0" : "7");
    snprintf(text + len, cap - len, "\n");
    assert_true(fails_with(state, text, NULL, "'pixel0', 'pixel1'", "'pixel11' and 988 more; name the label column"));
    cl_csv_opts o = {"pixel0", -1, CL_LABELS_INDEX};
    char p[4096];
    cl_dataset d;
    assert_int_equal(load(state, "px.csv", text, &o, &d, p), 0);
    assert_int_equal(d.labels[0], 7);
    assert_int_equal(d.dim, 999);
    cl_dataset_free(&d);
    free(text);
    /* a long or binary label column name is cut and escaped in the message */
    char name[300];
    memset(name, 'q', sizeof name - 1);
    name[sizeof name - 1] = 0;
    name[3] = '\033';
    cl_csv_opts bad = {name, -1, CL_LABELS_INDEX};
    assert_true(fails_with(state, "a,b\n1,2\n", &bad, "unknown label column 'qqq\\x1Bqqq", "...'"));
    assert_true(strlen(cl_errmsg()) < 400);
}

/* Write train and test CSV files of one feature per row, with the given labels. */
static void write_pair(void **state, char *tr, char *te, const int *ltr, int ntr, const int *lte, int nte)
{
    size_t cap = 64 + 24 * (size_t)(ntr > nte ? ntr : nte), len;
    char *text = malloc(cap);
    for (int s = 0; s < 2; s++) {
        const int *l = s ? lte : ltr;
        len = (size_t)snprintf(text, cap, "label,x\n");
        for (int i = 0; i < (s ? nte : ntr); i++) len += (size_t)snprintf(text + len, cap - len, "%d,%d\n", l[i], i);
        td_write_text(td_path(s ? te : tr, *state, s ? "test.csv" : "train.csv"), text);
    }
    free(text);
}

/* Labels that are not the classes 0..K-1 (0/1000/2000/3000 made a 3001-way head, 65535 a 65536-way one):
 * one message with the file, the distinct labels and their range, a few absent classes and the remap
 * choice; remap numbers the distinct labels in increasing order. */
static void test_labels_index_and_remap(void **state)
{
    char tr[4096], te[4096];
    int ltr[8] = {3000, 0, 1000, 2000, 0, 3000, 2000, 1000}, lte[3] = {2000, 0, 3000};
    write_pair(state, tr, te, ltr, 8, lte, 3);
    cl_data d;
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), -1);
    assert_null(d.train.labels);
    assert_true(td_has_all(cl_errmsg(), tr, "4 distinct labels in 0..3000", "2997 of the classes 0..3000",
                           "(1, 2, 3, 4, 5 and 2992 more)", "--labels remap", "0..3 in increasing order", NULL));
    cl_csv_opts remap = {NULL, -1, CL_LABELS_REMAP};
    assert_int_equal(cl_data_load_csv(&d, tr, te, &remap), 0);
    assert_int_equal(d.train.nclasses, 4);
    assert_int_equal(d.test.nclasses, 4);
    int32_t want_tr[8] = {3, 0, 1, 2, 0, 3, 2, 1}, want_te[3] = {2, 0, 3};
    assert_memory_equal(d.train.labels, want_tr, sizeof want_tr);
    assert_memory_equal(d.test.labels, want_te, sizeof want_te);
    assert_int_equal(d.class_label[1], 1000);
    cl_data_free(&d);

    int big[2] = {0, 65535};
    write_pair(state, tr, te, big, 2, big, 2);
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), "2 distinct labels in 0..65535", "65534 of the classes", NULL));
    assert_int_equal(cl_data_load_csv(&d, tr, te, &remap), 0);
    assert_int_equal(d.train.nclasses, 2);
    cl_data_free(&d);

    /* a test label without training samples */
    int three[3] = {0, 1, 2}, other[2] = {1, 5};
    write_pair(state, tr, te, three, 3, other, 2);
    assert_int_equal(cl_data_load_csv(&d, tr, te, &remap), -1);
    assert_true(td_has_all(cl_errmsg(), te, "test label 5 (sample 1", tr, "3 distinct labels in 0..2", NULL));
    /* one class */
    int zeros[3] = {0, 0, 0};
    write_pair(state, tr, te, zeros, 3, zeros, 1);
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), tr, "one class", NULL));

    /* the class limit: 4096 distinct labels are fine, 4097 are not, in either mode */
    int n = CL_MAX_CLASSES + 1, *many = malloc(sizeof(int) * (size_t)n);
    for (int i = 0; i < n; i++) many[i] = 7 * i;
    write_pair(state, tr, te, many, n - 1, many, 1);
    assert_int_equal(cl_data_load_csv(&d, tr, te, &remap), 0);
    assert_int_equal(d.train.nclasses, CL_MAX_CLASSES);
    cl_data_free(&d);
    write_pair(state, tr, te, many, n, many, 1);
    assert_int_equal(cl_data_load_csv(&d, tr, te, &remap), -1);
    assert_true(td_has_all(cl_errmsg(), tr, "4097 distinct labels in 0..28672", "more than 4096 classes", NULL));
    for (int i = 0; i < n; i++) many[i] = i;
    write_pair(state, tr, te, many, n, many, 1);
    assert_int_equal(cl_data_load_csv(&d, tr, te, NULL), -1);
    assert_true(td_has_all(cl_errmsg(), tr, "4097 distinct labels in 0..4096", "more than 4096 classes", NULL));
    free(many);
}

/* byte_valued: every feature a whole number in 0..255 (pixel data, scaled by default) or not. */
static void test_byte_valued(void **state)
{
    static const struct { const char *text; int want; } cases[] = {
        {"label,a,b\n0,0,255\n1,17,3\n", 1},   {"label,a,b\n0,0,256\n", 0}, {"label,a,b\n0,0,-1\n", 0},
        {"label,a,b\n0,0.5,1\n", 0},           {"label,a\n0,1e2\n", 1},     {"label,a\n0,255.0\n", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char p[4096];
        cl_dataset d;
        assert_int_equal(load(state, "b.csv", cases[i].text, NULL, &d, p), 0);
        if (d.byte_valued != cases[i].want) fail_msg("[%s]: byte_valued %d", cases[i].text, d.byte_valued);
        cl_dataset_free(&d);
    }
    assert_true(fails_with(state, "label,a\n0,0x1A\n", NULL, "line 2: column 'a'", "expected a number, got '0x1A'"));
}

/* ---- through the command line --------------------------------------------------------------------- */

static char out[16384];

static void run_expect(const char *args, int status, const char *w1, const char *w2)
{
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != status) fail_msg("clreg %s: exit %d, expected %d:\n%s", args, rc, status, out);
    if (status && tu_count_lines(out) != 1) fail_msg("clreg %s: expected one line:\n%s", args, out);
    if (w1 && !strstr(out, w1)) fail_msg("clreg %s: output lacks '%s':\n%s", args, w1, out);
    if (w2 && !strstr(out, w2)) fail_msg("clreg %s: output lacks '%s':\n%s", args, w2, out);
}

/* 40 rows of 2 classes and 3 features: pixels (whole numbers 0..255) or not. */
static void write_cli_pair(void **state, char *tr, char *te, int pixels, const char *header)
{
    char text[4096];
    for (int s = 0; s < 2; s++) {
        size_t len = (size_t)snprintf(text, sizeof text, "%s\n", header);
        for (int i = 0; i < 40; i++)
            len += (size_t)snprintf(text + len, sizeof text - len, pixels ? "%d,%d,%d,%d\n" : "%d,%d.5,%d,%d\n",
                                    i % 2 ? 1000 : 0, (i * 37) % 200, (i % 2) * 100 + 20, 255 - i);
        td_write_text(td_path(s ? te : tr, *state, s ? "test.csv" : "train.csv"), text);
    }
}

static void test_cli(void **state)
{
    char tr[4096], te[4096], args[9000];
    const char *run = "--tasks 1 --hidden 4 --epochs 1";
    write_cli_pair(state, tr, te, 0, "y,a,b,c");
    snprintf(args, sizeof args, "train --dataset csv --data-path /dev/zero,%s --quiet", te);
    run_expect(args, 1, "/dev/zero: is a character device", NULL);
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --quiet", tr, te);
    run_expect(args, 1, tr, "no column named 'label': its 4 columns are 'y', 'a', 'b', 'c'");
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --label-column y --quiet", tr, te);
    run_expect(args, 1, tr, "2 distinct labels in 0..1000");
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --label-column y --labels remap %s", tr, te,
             run);
    run_expect(args, 0, "2 classes (labels 0..1000 numbered 0..1)",
               "inputs as given (scale auto: features are not all whole numbers in 0..255)");
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --label-column 0 --labels remap --scale 255 %s",
             tr, te, run);
    run_expect(args, 0, "inputs / 255 (scale 255)", NULL);
    write_cli_pair(state, tr, te, 1, "label,a,b,c");
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --labels remap %s", tr, te, run);
    run_expect(args, 0, "inputs / 255 (scale auto: every feature is a whole number in 0..255)", NULL);
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --labels remap --no-scale %s", tr, te, run);
    run_expect(args, 0, "inputs as given (scale none)", NULL);
    snprintf(args, sizeof args, "train --dataset csv --data-path %s,%s --scale 100", tr, te);
    run_expect(args, 2, "--scale: expected 255", "got '100'");
    run_expect("train --dataset synthetic --label-column 3", 2, "label column", "'synthetic' is not csv");
    run_expect("train --dataset csv --label-column ''", 2, "label column: expected a header name", NULL);
}

/* The same choices in a grid's [experiment] section (checked with --dry-run: the data is read, the stream
 * built, nothing run). */
static void test_grid_keys(void **state)
{
    char tr[4096], te[4096], grid[4096], args[9000];
    write_cli_pair(state, tr, te, 0, "y,a,b,c");
    char text[9000];
    snprintf(text, sizeof text, "[experiment]\ndataset = csv\ndata_path = %s,%s\nlabel_column = y\nlabels = remap\n"
             "scale = auto\ntasks = 1\n[none]\n", tr, te);
    td_write_text(td_path(grid, *state, "g.ini"), text);
    snprintf(args, sizeof args, "run %s --dry-run", grid);
    run_expect(args, 0, "1 cells", NULL);
    snprintf(text, sizeof text, "[experiment]\ndataset = csv\ndata_path = %s,%s\nlabel_column = y\ntasks = 1\n"
             "[none]\n", tr, te);
    td_write_text(grid, text);
    run_expect(args, 1, tr, "--labels remap (grid: labels = remap)");
    td_write_text(grid, "[experiment]\ndataset = csv\nlabels = sorted\n[none]\n");
    run_expect(args, 2, "g.ini:3", "labels: expected index");
    td_write_text(grid, "[experiment]\ndataset = csv\nscale = 256\n[none]\n");
    run_expect(args, 2, "g.ini:3", "scale: expected 255");
    td_write_text(grid, "[experiment]\ndataset = mnist\nlabels = remap\n[none]\n");
    run_expect(args, 2, "g.ini:1: [experiment]", "'mnist' has the fixed classes 0..9");
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
        T(test_not_regular_file),
        T(test_row_limit),
        T(test_long_cell_is_fast),
        T(test_file_size_limit),
        T(test_line_endings),
        T(test_too_many_columns),
        T(test_paths_in_messages),
        T(test_header_without_label_column),
        T(test_labels_index_and_remap),
        T(test_byte_valued),
        T(test_cli),
        T(test_grid_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
