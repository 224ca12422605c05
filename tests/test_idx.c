/* IDX reading: round trips (raw and gzip, directory and prefix, transpose), one test per validation, the
 * real Fashion-MNIST files, and opening datasets by name. */
#include "testutil.h"
#include "testdata.h"

#include "core/error.h"
#include "datasets/dataint.h"
#include "datasets/dataset.h"

#include <sys/stat.h>
#include <unistd.h>

static const char *const STD[4] = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                                   "t10k-labels-idx1-ubyte"};

/* Each test gets a fresh temporary directory as its state. */
static int setup(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    cl_idx_max_bytes = (size_t)CL_IDX_MAX_BYTES; /* test_payload_limit lowers it; a failure must not leak it */
    tu_rmdir(*state);
    return 0;
}

/* Every pixel and label of a split written by td_write_mnist (rows/cols as written, before transposing). */
static void check_split(const cl_dataset *d, int n, int rows, int cols, int nclasses, int salt, int transposed)
{
    assert_int_equal(d->n, n);
    assert_int_equal(d->rows, transposed ? cols : rows);
    assert_int_equal(d->cols, transposed ? rows : cols);
    assert_int_equal(d->dim, rows * cols);
    assert_int_equal(d->nclasses, nclasses);
    assert_non_null(d->pix);
    assert_null(d->feat);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d->labels[i], td_label(i, nclasses, salt));
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++) {
                size_t at = (size_t)i * rows * cols + (transposed ? (size_t)c * rows + r : (size_t)r * cols + c);
                assert_int_equal(d->pix[at], td_pixel(i, r, c, salt));
            }
    }
}

static void assert_data_empty(const cl_data *d)
{
    assert_null(d->train.pix);
    assert_null(d->train.labels);
    assert_null(d->test.pix);
    assert_int_equal(d->train.n, 0);
    assert_int_equal(d->test.n, 0);
}

/* ---- round trips ---------------------------------------------------------------------------------- */

static void images_roundtrip(const char *dir, int gz)
{
    char p[4096];
    td_path(p, dir, gz ? "img.gz" : "img");
    td_write_images(p, 7, 5, 3, 2, gz);
    uint8_t *pix;
    int n, rows, cols;
    assert_int_equal(cl_idx_read_images(p, &pix, &n, &rows, &cols), 0);
    assert_int_equal(n, 7);
    assert_int_equal(rows, 5);
    assert_int_equal(cols, 3);
    for (int i = 0; i < 7; i++)
        for (int r = 0; r < 5; r++)
            for (int c = 0; c < 3; c++) assert_int_equal(pix[i * 15 + r * 3 + c], td_pixel(i, r, c, 2));
    free(pix);
}

static void test_images_raw_roundtrip(void **state) { images_roundtrip(*state, TD_RAW); }
static void test_images_gz_roundtrip(void **state) { images_roundtrip(*state, TD_GZIP); }

static void test_labels_roundtrip(void **state)
{
    char p[4096];
    for (int gz = 0; gz <= 1; gz++) {
        td_path(p, *state, gz ? "lab.gz" : "lab");
        td_write_labels(p, 300, 10, 4, gz);
        uint8_t *lab;
        int n;
        assert_int_equal(cl_idx_read_labels(p, &lab, &n), 0);
        assert_int_equal(n, 300);
        for (int i = 0; i < n; i++) assert_int_equal(lab[i], td_label(i, 10, 4));
        free(lab);
    }
}

/* gzip is recognised by content, not by the file name. */
static void test_gzip_detected_by_content(void **state)
{
    char p[4096];
    uint8_t *pix;
    int n, rows, cols;
    td_write_images(td_path(p, *state, "gzip-without-suffix"), 3, 2, 2, 0, TD_GZIP);
    assert_int_equal(cl_idx_read_images(p, &pix, &n, &rows, &cols), 0);
    assert_int_equal(pix[3], td_pixel(0, 1, 1, 0));
    free(pix);
    td_write_images(td_path(p, *state, "raw-named.gz"), 3, 2, 2, 0, TD_RAW);
    assert_int_equal(cl_idx_read_images(p, &pix, &n, &rows, &cols), 0);
    assert_int_equal(pix[11], td_pixel(2, 1, 1, 0));
    free(pix);
}

static void load_dir(const char *dir, int gz, const char *location)
{
    td_write_mnist(dir, "", 30, 12, 6, 4, 10, gz);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", location, 10, 0, CL_LABELS_INDEX), 0);
    assert_string_equal(d.train.name, "toy/train");
    assert_string_equal(d.test.name, "toy/test");
    check_split(&d.train, 30, 6, 4, 10, 0, 0);
    check_split(&d.test, 12, 6, 4, 10, 1, 0);
    cl_data_free(&d);
    assert_null(d.train.pix);
}

static void test_load_dir_gz(void **state) { load_dir(*state, TD_GZIP, *state); }
static void test_load_dir_raw(void **state) { load_dir(*state, TD_RAW, *state); }

static void test_load_dir_trailing_slash(void **state)
{
    char loc[4096];
    snprintf(loc, sizeof loc, "%s/", (char *)*state);
    load_dir(*state, TD_GZIP, loc);
}

/* With both x.gz and x present, the .gz is the one read. */
static void test_load_prefers_gz(void **state)
{
    char p[4096];
    td_write_mnist(*state, "", 20, 10, 4, 4, 10, TD_GZIP);
    td_write_images(td_path(p, *state, STD[0]), 20, 4, 4, 9, TD_RAW); /* different content, raw */
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 0, CL_LABELS_INDEX), 0);
    check_split(&d.train, 20, 4, 4, 10, 0, 0);
    cl_data_free(&d);
}

/* A location that is not a directory is a file-name prefix (EMNIST's naming). */
static void test_load_prefix(void **state)
{
    char loc[4096];
    td_write_mnist(*state, "emnist-toy-", 25, 10, 5, 5, 10, TD_GZIP);
    snprintf(loc, sizeof loc, "%s/emnist-toy-", (char *)*state);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "emnist", loc, 10, 0, CL_LABELS_INDEX), 0);
    check_split(&d.train, 25, 5, 5, 10, 0, 0);
    check_split(&d.test, 10, 5, 5, 10, 1, 0);
    cl_data_free(&d);
}

static void test_transpose(void **state)
{
    td_write_mnist(*state, "", 9, 4, 3, 5, 10, TD_RAW);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 1, CL_LABELS_INDEX), 0);
    check_split(&d.train, 9, 3, 5, 10, 0, 1);
    check_split(&d.test, 4, 3, 5, 10, 1, 1);
    cl_data_free(&d);
}

/* nclasses 0: the classes are the labels 0..K-1, the same for both splits; a test label that no training
 * sample has is an error naming the test file (it used to widen the head to a class never trained). */
static void test_nclasses_from_labels(void **state)
{
    char p[4096], q[4096];
    td_write_mnist(*state, "", 20, 5, 2, 2, 6, TD_RAW);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 0, 0, CL_LABELS_INDEX), 0);
    assert_int_equal(d.train.nclasses, 6);
    assert_int_equal(d.test.nclasses, 6);
    assert_null(d.class_label);
    check_split(&d.test, 5, 2, 2, 6, 1, 0);
    cl_data_free(&d);
    uint8_t lab[5] = {0, 1, 8, 2, 3};
    uint32_t n = 5;
    td_write_idx(td_path(p, *state, STD[3]), TD_MAGIC_LABELS, &n, 1, lab, 5, TD_RAW);
    for (int mode = 0; mode < 2; mode++) {
        assert_int_equal(cl_data_load_idx(&d, "toy", *state, 0, 0, (cl_labels_mode)mode), -1);
        assert_data_empty(&d);
        assert_true(td_has_all(cl_errmsg(), p, "test label 8 (sample 2, 0-based)", td_path(q, *state, STD[1]),
                               "6 distinct labels in 0..5", "cannot be learned", NULL));
    }
}

/* Write train and test label files of the given labels over images of 2x2 in dir. */
static void write_labelled(const char *dir, const uint8_t *train, int ntrain, const uint8_t *test, int ntest)
{
    char p[4096];
    uint32_t n;
    td_write_images(td_path(p, dir, STD[0]), ntrain, 2, 2, 0, TD_RAW);
    n = (uint32_t)ntrain;
    td_write_idx(td_path(p, dir, STD[1]), TD_MAGIC_LABELS, &n, 1, train, (size_t)ntrain, TD_RAW);
    td_write_images(td_path(p, dir, STD[2]), ntest, 2, 2, 1, TD_RAW);
    n = (uint32_t)ntest;
    td_write_idx(td_path(p, dir, STD[3]), TD_MAGIC_LABELS, &n, 1, test, (size_t)ntest, TD_RAW);
}

/* Classes from labels that are not 0..K-1: one label 200 used to make a 201-way head. Now one message
 * with the file, the distinct labels and their range, a few absent classes, and the remap choice; with
 * remap, the distinct labels become 0..K-1 in increasing order (the originals kept in class_label). */
static void test_labels_not_classes(void **state)
{
    char p[4096];
    td_path(p, *state, STD[1]);
    uint8_t tr[6] = {0, 1, 200, 1, 0, 200}, te[3] = {200, 0, 1};
    write_labelled(*state, tr, 6, te, 3);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "idx", *state, 0, 0, CL_LABELS_INDEX), -1);
    assert_data_empty(&d);
    assert_true(td_has_all(cl_errmsg(), p, "3 distinct labels in 0..200", "198 of the classes 0..200",
                           "(2, 3, 4, 5, 6 and 193 more)", "--labels remap", "labels = remap", "0..2", NULL));
    assert_int_equal(cl_data_load_idx(&d, "idx", *state, 0, 0, CL_LABELS_REMAP), 0);
    assert_int_equal(d.train.nclasses, 3);
    assert_int_equal(d.test.nclasses, 3);
    int32_t want_tr[6] = {0, 1, 2, 1, 0, 2}, want_te[3] = {2, 0, 1};
    assert_memory_equal(d.train.labels, want_tr, sizeof want_tr);
    assert_memory_equal(d.test.labels, want_te, sizeof want_te);
    assert_non_null(d.class_label);
    assert_int_equal(d.class_label[2], 200);
    assert_int_equal(d.nfiles, 4);
    cl_data_free(&d);
    assert_null(d.class_label);

    /* EMNIST letters: labels 1..26. The message must lead to remap; remap gives 26 classes, 'a' is 0. */
    uint8_t letters[52], lt[26];
    for (int i = 0; i < 52; i++) letters[i] = (uint8_t)(1 + i % 26);
    for (int i = 0; i < 26; i++) lt[i] = (uint8_t)(26 - i);
    write_labelled(*state, letters, 52, lt, 26);
    assert_int_equal(cl_data_open(&d, "emnist", *state, 1), -1);
    assert_true(td_has_all(cl_errmsg(), p, "26 distinct labels in 1..26", "1 of the classes 0..26", "(0)",
                           "--labels remap", "0..25 in increasing order", NULL));
    cl_data_opts o = {CL_LABELS_REMAP, NULL};
    assert_int_equal(cl_data_open_opts(&d, "emnist", *state, 1, &o), 0);
    assert_int_equal(d.train.nclasses, 26);
    assert_int_equal(d.train.labels[0], 0);
    assert_int_equal(d.test.labels[0], 25);
    assert_int_equal(d.class_label[0], 1);
    cl_data_free(&d);

    /* a test label no training sample has, under remap too */
    uint8_t te2[2] = {0, 7};
    write_labelled(*state, tr, 6, te2, 2);
    assert_int_equal(cl_data_open_opts(&d, "idx", *state, 1, &o), -1);
    assert_true(td_has_all(cl_errmsg(), td_path(p, *state, STD[3]), "test label 7 (sample 1", NULL));

    /* one class is nothing to classify */
    uint8_t one[3] = {4, 4, 4};
    write_labelled(*state, one, 3, one, 3);
    assert_int_equal(cl_data_open_opts(&d, "idx", *state, 1, &o), -1);
    assert_true(td_has_all(cl_errmsg(), "every training label is 4", "one class", NULL));

    /* named 10-class datasets keep their fixed check, and refuse remap */
    assert_int_equal(cl_data_open_opts(&d, "mnist", *state, 1, &o), -1);
    assert_true(td_has_all(cl_errmsg(), "remap", "'mnist' has the fixed classes 0..9", "--dataset idx", NULL));
    cl_data_opts col = {CL_LABELS_INDEX, "3"};
    assert_int_equal(cl_data_open_opts(&d, "idx", *state, 1, &col), -1);
    assert_true(td_has_all(cl_errmsg(), "label column", "not csv", NULL));
    cl_labels_mode m;
    assert_int_equal(cl_labels_mode_parse("remap", &m), 0);
    assert_int_equal(m, CL_LABELS_REMAP);
    assert_int_equal(cl_labels_mode_parse("index", &m), 0);
    assert_int_equal(m, CL_LABELS_INDEX);
    assert_int_equal(cl_labels_mode_parse("Remap", &m), -1);
    assert_true(td_has_all(cl_errmsg(), "index", "remap", "got 'Remap'", NULL));
}

/* The class limit, under remap (IDX labels are bytes, so the limit is reached through a CSV elsewhere);
 * here: idx with all 256 byte values is within it and numbered in order. */
static void test_labels_all_bytes(void **state)
{
    uint8_t tr[512], te[256];
    for (int i = 0; i < 512; i++) tr[i] = (uint8_t)(255 - i % 256);
    for (int i = 0; i < 256; i++) te[i] = (uint8_t)i;
    write_labelled(*state, tr, 512, te, 256);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "idx", *state, 0, 0, CL_LABELS_INDEX), 0);
    assert_int_equal(d.train.nclasses, 256);
    assert_int_equal(d.train.labels[0], 255);
    cl_data_free(&d);
}

/* Command line: the label message is one line with exit 1; --labels remap trains, and its header says
 * how the labels were numbered; remap on a fixed-class dataset is an option error (exit 2). */
static void test_labels_cli(void **state)
{
    uint8_t tr[40], te[20];
    for (int i = 0; i < 40; i++) tr[i] = (uint8_t)(1 + i % 4);
    for (int i = 0; i < 20; i++) te[i] = (uint8_t)(1 + i % 4);
    write_labelled(*state, tr, 40, te, 20);
    char args[4300], out[8192], p[4096];
    snprintf(args, sizeof args, "train --dataset emnist --data-path %s --tasks 1 --hidden 4 --quiet", (char *)*state);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, td_path(p, *state, STD[1])) ||
        !strstr(out, "4 distinct labels in 1..4") || !strstr(out, "--labels remap"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    snprintf(args, sizeof args,
             "train --dataset emnist --data-path %s --labels remap --tasks 1 --hidden 4 --stream split",
             (char *)*state);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || !strstr(out, "4 classes (labels 1..4 numbered 0..3)") || !strstr(out, "classes 0,1"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    snprintf(args, sizeof args, "train --dataset kmnist --data-path %s --labels remap", (char *)*state);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "fixed classes"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    rc = tu_run_clreg("train --dataset idx --labels sorted", out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "--labels: expected index"))
        fail_msg("clreg train --labels sorted: exit %d:\n%s", rc, out);
}

/* Split tasks without samples are refused before anything trains, through the command line and a grid:
 * MNIST-format data (fixed classes 0..9) whose training split lacks classes 8 and 9. Before, the last task
 * trained on nothing and printed ACC nan with exit 0, and under EWC failed only after training. */
static void test_empty_task_cli(void **state)
{
    uint8_t tr[40], te[20];
    for (int i = 0; i < 40; i++) tr[i] = (uint8_t)(i % 8);
    for (int i = 0; i < 20; i++) te[i] = (uint8_t)(i % 10);
    write_labelled(*state, tr, 40, te, 20);
    char args[4300], out[8192], p[4096];
    for (int ewc = 0; ewc < 2; ewc++) {
        snprintf(args, sizeof args, "train --dataset mnist --data-path %s --stream split --hidden 4 %s",
                 (char *)*state, ewc ? "--reg ewc" : "");
        int rc = tu_run_clreg(args, out, sizeof out);
        if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "task 5 (classes 8,9) has no training samples") ||
            !strstr(out, "mnist/train"))
            fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    }
    char grid[4200];
    snprintf(grid, sizeof grid, "%s/g.ini", (char *)*state);
    snprintf(out, sizeof out, "[experiment]\ndataset = mnist\ndata_path = %s\nstream = split\n[ewc]\n",
             (char *)*state);
    td_write_text(grid, out);
    snprintf(args, sizeof args, "run %s -o %s/res --quiet", grid, (char *)*state);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "g.ini:1") || !strstr(out, "task 5 (classes 8,9)"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    struct stat st;
    assert_int_not_equal(stat(td_path(p, *state, "res/runs.csv"), &st), 0);
}

/* ---- validation: files ---------------------------------------------------------------------------- */

static void test_missing_file(void **state)
{
    char p[4096];
    uint8_t *pix = (uint8_t *)1;
    int n, rows, cols;
    assert_int_equal(cl_idx_read_images(td_path(p, *state, "nope"), &pix, &n, &rows, &cols), -1);
    assert_null(pix);
    assert_true(td_has_all(cl_errmsg(), p, "cannot open", "No such file", NULL));
}

static void test_directory_given(void **state)
{
    uint8_t *lab;
    int n;
    assert_int_equal(cl_idx_read_labels(*state, &lab, &n), -1);
    assert_true(td_has_all(cl_errmsg(), (char *)*state, "is a directory", NULL));
}

/* Anything but a regular file is refused before it is read: /dev/zero used to be read for ever, a FIFO
 * to block until a writer came. The alarm turns a regression (a hang) into a failure. */
static void test_not_regular_file(void **state)
{
    char p[4096];
    uint8_t *pix = NULL;
    int n, rows, cols;
    assert_int_equal(cl_idx_read_images("/dev/zero", &pix, &n, &rows, &cols), -1);
    assert_null(pix);
    assert_true(td_has_all(cl_errmsg(), "/dev/zero", "is a character device, not a regular file", "IDX", NULL));
    assert_int_equal(mkfifo(td_path(p, *state, "fifo"), 0600), 0);
    alarm(20);
    assert_int_equal(cl_idx_read_images(p, &pix, &n, &rows, &cols), -1);
    alarm(0);
    assert_true(td_has_all(cl_errmsg(), p, "is a FIFO or pipe", NULL));
    /* found by the directory search, too: the four files' names as FIFOs */
    char *dir = tu_mkdtemp();
    td_write_mnist(dir, "", 5, 5, 2, 2, 10, TD_RAW);
    unlink(td_path(p, dir, STD[2]));
    assert_int_equal(mkfifo(p, 0600), 0);
    cl_data d;
    alarm(20);
    assert_int_equal(cl_data_load_idx(&d, "toy", dir, 10, 0, CL_LABELS_INDEX), -1);
    alarm(0);
    assert_true(td_has_all(cl_errmsg(), p, "FIFO", NULL));
    tu_rmdir(dir);
}

/* Through the command line: one line naming the file and what it is, exit 1. */
static void test_not_regular_cli(void **state)
{
    char args[4300], out[8192], p[4096];
    td_write_mnist(*state, "", 5, 5, 2, 2, 10, TD_RAW);
    unlink(td_path(p, *state, STD[0]));
    assert_int_equal(symlink("/dev/zero", p), 0);
    snprintf(args, sizeof args, "train --dataset mnist --data-path %s --quiet", (char *)*state);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, p) || !strstr(out, "character device"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
}

/* A data location with a control byte is escaped in the message, which stays one line. */
static void test_location_escaped(void **state)
{
    char loc[4096];
    snprintf(loc, sizeof loc, "%s/x\ny-", (char *)*state);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "idx", loc, 0, 0, CL_LABELS_INDEX), -1);
    assert_true(td_has_all(cl_errmsg(), "no train images file found", "x\\ny-train-images-idx3-ubyte.gz", NULL));
}

static void test_unreadable_file(void **state)
{
    if (geteuid() == 0) skip(); /* root reads files whatever their mode */
    char p[4096];
    td_write_labels(td_path(p, *state, "lab"), 5, 10, 0, TD_RAW);
    chmod(p, 0);
    uint8_t *lab;
    int n;
    assert_int_equal(cl_idx_read_labels(p, &lab, &n), -1);
    assert_true(td_has_all(cl_errmsg(), p, "Permission denied", NULL));
}

static void test_empty_file(void **state)
{
    char p[4096];
    td_write_text(td_path(p, *state, "empty"), "");
    uint8_t *pix;
    int n, rows, cols;
    assert_int_equal(cl_idx_read_images(p, &pix, &n, &rows, &cols), -1);
    assert_true(td_has_all(cl_errmsg(), p, "empty file", NULL));
}

/* ---- validation: magic numbers -------------------------------------------------------------------- */

static int read_images_fails(const char *p)
{
    uint8_t *pix = NULL;
    int n, rows, cols;
    int rc = cl_idx_read_images(p, &pix, &n, &rows, &cols);
    free(pix);
    return rc == -1 && pix == NULL;
}

static int read_labels_fails(const char *p)
{
    uint8_t *lab = NULL;
    int n;
    int rc = cl_idx_read_labels(p, &lab, &n);
    free(lab);
    return rc == -1 && lab == NULL;
}

static void test_bad_magic(void **state)
{
    char p[4096];
    uint32_t dims[3] = {2, 2, 2};
    uint8_t pix[8] = {0};
    td_write_idx(td_path(p, *state, "x"), 0x12345678u, dims, 3, pix, 8, TD_GZIP);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "bad magic number 0x12345678", "expected 0x00000803 (idx3-ubyte images)",
                           NULL));
}

static void test_labels_given_as_images(void **state)
{
    char p[4096];
    td_write_labels(td_path(p, *state, "lab"), 5, 10, 0, TD_RAW);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "magic", "0x00000801", "label file", "expected 0x00000803", NULL));
}

static void test_images_given_as_labels(void **state)
{
    char p[4096];
    td_write_images(td_path(p, *state, "img.gz"), 5, 2, 2, 0, TD_GZIP);
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "magic", "0x00000803", "image", "expected 0x00000801", NULL));
}

static void test_text_file_given(void **state)
{
    char p[4096];
    td_write_text(td_path(p, *state, "page.gz"), "<!DOCTYPE html><html><body>404 Not Found</body></html>\n");
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "magic", "text", "expected 0x00000803", NULL));
}

static void test_byteswapped_magic(void **state)
{
    char p[4096];
    uint32_t dims[1] = {3};
    uint8_t lab[3] = {1, 2, 3};
    td_write_idx(td_path(p, *state, "lab"), 0x01080000u, dims, 1, lab, 3, TD_RAW);
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "magic", "byte-swapped", NULL));
}

static void test_float_idx(void **state)
{
    char p[4096];
    uint32_t dims[3] = {1, 1, 1};
    uint8_t f[4] = {0};
    td_write_idx(td_path(p, *state, "img"), 0x00000D03u, dims, 3, f, 4, TD_RAW);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "magic", "float", "unsigned bytes", NULL));
}

/* ---- validation: header and payload --------------------------------------------------------------- */

static void test_truncated_header(void **state)
{
    char p[4096];
    td_write_images(td_path(p, *state, "img"), 5, 2, 2, 0, TD_RAW);
    td_truncate(p, 10);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "truncated header", "16 bytes", "has 10", NULL));
}

static void test_zero_dimensions(void **state)
{
    char p[4096];
    uint32_t dims[3] = {0, 28, 28};
    td_write_idx(td_path(p, *state, "img0"), TD_MAGIC_IMAGES, dims, 3, NULL, 0, TD_RAW);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "zero dimension", "0 images", NULL));

    uint32_t dims2[3] = {5, 0, 28};
    td_write_idx(td_path(p, *state, "img1"), TD_MAGIC_IMAGES, dims2, 3, NULL, 0, TD_GZIP);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "zero dimension", "0x28", NULL));

    uint32_t zero = 0;
    td_write_idx(td_path(p, *state, "lab0"), TD_MAGIC_LABELS, &zero, 1, NULL, 0, TD_RAW);
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "zero dimension", "0 labels", NULL));
}

/* A header may claim at most cl_idx_max_bytes of pixels once the data is really there (a gzip file unpacks
 * to whatever it holds: a few KB can become gigabytes); a claim over a short file is still "truncated".
 * The limit is lowered to 1000 bytes here instead of writing 8 GiB. */
static void test_payload_limit(void **state)
{
    char p[4096];
    size_t keep = cl_idx_max_bytes;
    cl_idx_max_bytes = 1000;
    for (int gz = 0; gz <= 1; gz++) {
        td_write_images(td_path(p, *state, gz ? "img.gz" : "img"), 20, 8, 8, 0, gz); /* 1280 bytes */
        assert_true(read_images_fails(p));
        assert_true(td_has_all(cl_errmsg(), p, "20 images of 8x8 = 1280 bytes", "more than the limit of 1000 bytes",
                               NULL));
        td_write_images(p, 15, 8, 8, 0, gz); /* 960 bytes: within */
        uint8_t *pix;
        int n, rows, cols;
        assert_int_equal(cl_idx_read_images(p, &pix, &n, &rows, &cols), 0);
        assert_int_equal(n, 15);
        free(pix);
        uint32_t dims[3] = {100, 8, 8};
        uint8_t some[100] = {0};
        td_write_idx(p, TD_MAGIC_IMAGES, dims, 3, some, sizeof some, gz);
        assert_true(read_images_fails(p));
        assert_true(td_has_all(cl_errmsg(), p, "truncated", "file has 100 bytes", NULL));
    }
    cl_idx_max_bytes = keep;
}

static void test_absurd_dimensions(void **state)
{
    char p[4096];
    uint32_t dims[3] = {10, 100000, 28};
    td_write_idx(td_path(p, *state, "img"), TD_MAGIC_IMAGES, dims, 3, NULL, 0, TD_RAW);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "absurd", "100000x28", NULL));

    uint32_t many = 0xFFFFFFFFu;
    td_write_idx(td_path(p, *state, "lab"), TD_MAGIC_LABELS, &many, 1, NULL, 0, TD_RAW);
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "absurd", "4294967295 labels", NULL));
}

/* A header claiming 1.6 TB over a small file must fail as truncated without trying to allocate it (under
 * ASan an attempt aborts the test). */
static void test_huge_claim_small_file(void **state)
{
    char p[4096];
    uint32_t dims[3] = {0x7FFFFFFFu, 28, 28};
    uint8_t pix[100];
    memset(pix, 7, sizeof pix);
    for (int gz = 0; gz <= 1; gz++) {
        td_write_idx(td_path(p, *state, gz ? "huge.gz" : "huge"), TD_MAGIC_IMAGES, dims, 3, pix, sizeof pix, gz);
        assert_true(read_images_fails(p));
        assert_true(td_has_all(cl_errmsg(), p, "truncated", "2147483647 images of 28x28 = 1683627179248 bytes",
                               "file has 100 bytes of pixel data", NULL));
    }
}

static void test_truncated_payload_raw(void **state)
{
    char p[4096];
    td_write_images(td_path(p, *state, "img"), 10, 4, 3, 0, TD_RAW);
    td_truncate(p, 16 + 50);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p,
                           "truncated: header says 10 images of 4x3 = 120 bytes, file has 50 bytes of pixel data",
                           NULL));
    td_write_labels(td_path(p, *state, "lab"), 60, 10, 0, TD_RAW);
    td_truncate(p, 8 + 59);
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "truncated: header says 60 labels", "file has 59 bytes of label data",
                           NULL));
}

/* A valid gzip stream whose content is short of what its header claims. */
static void test_truncated_payload_gz(void **state)
{
    char p[4096];
    uint32_t dims[3] = {10, 4, 3};
    uint8_t pix[50] = {0};
    td_write_idx(td_path(p, *state, "img.gz"), TD_MAGIC_IMAGES, dims, 3, pix, 50, TD_GZIP);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "truncated: header says 10 images of 4x3 = 120 bytes",
                           "file has 50 bytes of pixel data", NULL));
}

static void test_trailing_data(void **state)
{
    char p[4096];
    uint32_t dims[3] = {10, 4, 3};
    uint8_t pix[130] = {0};
    for (int gz = 0; gz <= 1; gz++) {
        td_write_idx(td_path(p, *state, gz ? "img.gz" : "img"), TD_MAGIC_IMAGES, dims, 3, pix, 130, gz);
        assert_true(read_images_fails(p));
        assert_true(td_has_all(cl_errmsg(), p, "trailing data", "10 images of 4x3 = 120 bytes", "10 more bytes", NULL));
    }
    uint32_t n = 4;
    td_write_idx(td_path(p, *state, "lab"), TD_MAGIC_LABELS, &n, 1, pix, 5, TD_RAW);
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "trailing data", "4 labels", "1 more byte follow", NULL));
}

/* ---- validation: gzip integrity ------------------------------------------------------------------- */

static void test_gzip_crc_error(void **state)
{
    char p[4096];
    td_write_images(td_path(p, *state, "img.gz"), 20, 8, 8, 0, TD_GZIP);
    td_flip_byte(p, -8); /* first byte of the CRC-32 in the gzip trailer */
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "corrupt gzip stream: incorrect data check", NULL));
}

static void test_gzip_length_error(void **state)
{
    char p[4096];
    td_write_labels(td_path(p, *state, "lab.gz"), 100, 10, 0, TD_GZIP);
    td_flip_byte(p, -4); /* the uncompressed length in the trailer */
    assert_true(read_labels_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "corrupt gzip stream: incorrect length check", NULL));
}

static void test_gzip_truncated(void **state)
{
    char p[4096];
    td_write_images(td_path(p, *state, "img.gz"), 200, 28, 28, 0, TD_GZIP);
    td_truncate(p, td_file_size(p) / 2);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "truncated gzip stream", "(unexpected end of file", NULL));
    /* cut off only the 8-byte trailer: all the data decompresses, the integrity check cannot be made */
    td_write_images(p, 20, 8, 8, 0, TD_GZIP);
    td_truncate(p, td_file_size(p) - 8);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "truncated gzip stream", NULL));
}

static void test_gzip_corrupt_data(void **state)
{
    char p[4096];
    td_write_images(td_path(p, *state, "img.gz"), 200, 28, 28, 0, TD_GZIP);
    td_flip_byte(p, td_file_size(p) / 2);
    assert_true(read_images_fails(p));
    assert_true(td_has_all(cl_errmsg(), p, "gzip stream", NULL));
}

/* ---- validation: pairs ---------------------------------------------------------------------------- */

static void test_count_mismatch(void **state)
{
    char p[4096], q[4096];
    td_write_mnist(*state, "", 30, 10, 4, 4, 10, TD_GZIP);
    td_write_labels(td_path(p, *state, "train-labels-idx1-ubyte.gz"), 29, 10, 0, TD_GZIP);
    td_path(q, *state, "train-images-idx3-ubyte.gz");
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 0, CL_LABELS_INDEX), -1);
    assert_data_empty(&d);
    assert_true(td_has_all(cl_errmsg(), q, "30 images", p, "29 labels", "must agree", NULL));
}

static void test_geometry_mismatch(void **state)
{
    char p[4096], q[4096];
    td_write_mnist(*state, "", 10, 10, 6, 4, 10, TD_RAW);
    td_write_images(td_path(p, *state, "t10k-images-idx3-ubyte"), 10, 5, 4, 1, TD_RAW);
    td_path(q, *state, "train-images-idx3-ubyte");
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 0, CL_LABELS_INDEX), -1);
    assert_data_empty(&d);
    assert_true(td_has_all(cl_errmsg(), "geometry mismatch", q, "6x4", p, "5x4", NULL));
}

static void test_label_out_of_range(void **state)
{
    char p[4096];
    td_write_mnist(*state, "", 10, 10, 2, 2, 12, TD_GZIP); /* labels 0..11, sample 1 has label 10 */
    assert_int_equal(td_label(1, 12, 0), 10);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 0, CL_LABELS_INDEX), -1);
    assert_data_empty(&d);
    td_path(p, *state, "train-labels-idx1-ubyte.gz");
    assert_true(td_has_all(cl_errmsg(), p, "label 10 at sample 1", "out of range", "0..9", NULL));
}

static void test_no_files_found(void **state)
{
    char p[4096], q[4096];
    td_path(p, *state, "train-images-idx3-ubyte.gz");
    td_path(q, *state, "train-images-idx3-ubyte");
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 0, CL_LABELS_INDEX), -1);
    assert_true(td_has_all(cl_errmsg(), "no train images file found", p, q, NULL));
    /* one file missing: that one is named */
    td_write_mnist(*state, "", 5, 5, 2, 2, 10, TD_RAW);
    unlink(td_path(p, *state, "t10k-labels-idx1-ubyte"));
    assert_int_equal(cl_data_load_idx(&d, "toy", *state, 10, 0, CL_LABELS_INDEX), -1);
    assert_true(td_has_all(cl_errmsg(), "no test labels file found", p, NULL));
}

static void test_prefix_missing(void **state)
{
    char loc[4096], p[4200];
    snprintf(loc, sizeof loc, "%s/emnist-letters-", (char *)*state);
    cl_data d;
    assert_int_equal(cl_data_load_idx(&d, "emnist", loc, 0, 1, CL_LABELS_INDEX), -1);
    snprintf(p, sizeof p, "%strain-images-idx3-ubyte.gz", loc);
    assert_true(td_has_all(cl_errmsg(), p, "prefix", NULL));
    /* a file given as the location: the message says to give its directory */
    td_write_mnist(*state, "", 5, 5, 2, 2, 10, TD_GZIP);
    td_path(p, *state, "train-images-idx3-ubyte.gz");
    assert_int_equal(cl_data_load_idx(&d, "emnist", p, 0, 1, CL_LABELS_INDEX), -1);
    assert_true(td_has_all(cl_errmsg(), "is a file", NULL));
}

/* ---- the real Fashion-MNIST ----------------------------------------------------------------------- */

static void check_histogram(const cl_dataset *d, int per_class)
{
    int hist[10] = {0};
    for (int i = 0; i < d->n; i++) {
        assert_in_range(d->labels[i], 0, 9);
        hist[d->labels[i]]++;
    }
    for (int c = 0; c < 10; c++) assert_int_equal(hist[c], per_class);
}

static void test_fashion_mnist(void **state)
{
    struct stat st;
    if (stat(CL_FASHION_MNIST_DIR, &st) != 0) {
        fprintf(stderr, "%s not installed (Debian package dataset-fashion-mnist)\n", CL_FASHION_MNIST_DIR);
        skip();
    }
    cl_data d;
    assert_int_equal(cl_data_open(&d, "fashion-mnist", NULL, 1), 0);
    assert_string_equal(d.train.name, "fashion-mnist/train");
    assert_int_equal(d.train.n, 60000);
    assert_int_equal(d.test.n, 10000);
    assert_int_equal(d.train.rows, 28);
    assert_int_equal(d.train.cols, 28);
    assert_int_equal(d.test.dim, 784);
    assert_int_equal(d.train.nclasses, 10);
    assert_int_equal(d.test.nclasses, 10);
    check_histogram(&d.train, 6000);
    check_histogram(&d.test, 1000);
    /* first labels of the published files: ankle boot, T-shirt, T-shirt, dress, ... */
    const int first[5] = {9, 0, 0, 3, 0};
    for (int i = 0; i < 5; i++) assert_int_equal(d.train.labels[i], first[i]);
    long sum = 0;
    for (int j = 0; j < 784; j++) sum += d.train.pix[j];
    assert_true(sum > 0);
    cl_data_free(&d);
}

/* ---- cl_data_open ----------------------------------------------------------------------------------- */

static void test_open_unknown_name(void **state)
{
    cl_data d;
    assert_int_equal(cl_data_open(&d, "svhn", NULL, 1), -1);
    assert_true(td_has_all(cl_errmsg(), "unknown dataset 'svhn'", "fashion-mnist", "mnist", "kmnist", "emnist",
                           "idx", "cifar10", "cifar100", "cifar100-coarse", "csv", "synthetic", NULL));
    assert_int_equal(cl_data_open(&d, NULL, NULL, 1), -1);
    assert_true(td_has_all(cl_errmsg(), "unknown dataset", NULL));
}

static void test_open_missing_path(void **state)
{
    const char *need[] = {"mnist", "kmnist", "emnist", "idx", "csv"};
    cl_data d;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(cl_data_open(&d, need[i], NULL, 1), -1);
        assert_true(td_has_all(cl_errmsg(), need[i], "needs --data-path", NULL));
        assert_int_equal(cl_data_open(&d, need[i], "", 1), -1);
        assert_true(td_has_all(cl_errmsg(), "--data-path", NULL));
    }
}

static void test_open_idx_names(void **state)
{
    td_write_mnist(*state, "", 12, 6, 3, 2, 10, TD_GZIP);
    cl_data d;
    assert_int_equal(cl_data_open(&d, "mnist", *state, 1), 0);
    check_split(&d.train, 12, 3, 2, 10, 0, 0);
    assert_string_equal(d.train.name, "mnist/train");
    cl_data_free(&d);
    assert_int_equal(cl_data_open(&d, "KMNIST", *state, 1), 0); /* names are case-insensitive */
    cl_data_free(&d);
    assert_int_equal(cl_data_open(&d, "emnist", *state, 1), 0); /* transposed, classes from the labels */
    check_split(&d.test, 6, 3, 2, 10, 1, 1);
    cl_data_free(&d);
    assert_int_equal(cl_data_open(&d, "idx", *state, 1), 0);
    check_split(&d.test, 6, 3, 2, 10, 1, 0);
    cl_data_free(&d);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_images_raw_roundtrip),
        T(test_images_gz_roundtrip),
        T(test_labels_roundtrip),
        T(test_gzip_detected_by_content),
        T(test_load_dir_gz),
        T(test_load_dir_raw),
        T(test_load_dir_trailing_slash),
        T(test_load_prefers_gz),
        T(test_load_prefix),
        T(test_transpose),
        T(test_nclasses_from_labels),
        T(test_labels_not_classes),
        T(test_labels_all_bytes),
        T(test_labels_cli),
        T(test_empty_task_cli),
        T(test_missing_file),
        T(test_directory_given),
        T(test_not_regular_file),
        T(test_location_escaped),
        T(test_payload_limit),
        T(test_not_regular_cli),
        T(test_unreadable_file),
        T(test_empty_file),
        T(test_bad_magic),
        T(test_labels_given_as_images),
        T(test_images_given_as_labels),
        T(test_text_file_given),
        T(test_byteswapped_magic),
        T(test_float_idx),
        T(test_truncated_header),
        T(test_zero_dimensions),
        T(test_absurd_dimensions),
        T(test_huge_claim_small_file),
        T(test_truncated_payload_raw),
        T(test_truncated_payload_gz),
        T(test_trailing_data),
        T(test_gzip_crc_error),
        T(test_gzip_length_error),
        T(test_gzip_truncated),
        T(test_gzip_corrupt_data),
        T(test_count_mismatch),
        T(test_geometry_mismatch),
        T(test_label_out_of_range),
        T(test_no_files_found),
        T(test_prefix_missing),
        T(test_fashion_mnist),
        T(test_open_unknown_name),
        T(test_open_missing_path),
        T(test_open_idx_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
