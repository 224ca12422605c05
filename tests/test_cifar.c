/* CIFAR-10/100: round trips (raw and gzip, fine and coarse labels), one test per validation, opening by name,
 * the streams on 3-channel images checked value by value, per-channel normalization against statistics
 * computed here, and the command line (clreg train end to end, a grid through clreg run --dry-run). */
#include "testutil.h"
#include "testdata.h"

#include "core/error.h"
#include "datasets/dataint.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/budget.h"
#include "experiments/fingerprint.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    cl_cifar_max_bytes = (size_t)CL_CIFAR_MAX_BYTES; /* test_size_limit lowers it; a failure must not leak it */
    tu_rmdir(*state);
    return 0;
}

/* Every pixel and label of a split written by the td_write_cifar* helpers; `label_byte` is the byte that
 * holds the classes. */
static void check_split(const cl_dataset *d, int n, int label_bytes, int label_byte, int nclasses, int salt)
{
    assert_int_equal(d->n, n);
    assert_int_equal(d->channels, 3);
    assert_int_equal(d->rows, 32);
    assert_int_equal(d->cols, 32);
    assert_int_equal(d->dim, 3072);
    assert_int_equal(d->nclasses, nclasses);
    assert_non_null(d->pix);
    assert_null(d->feat);
    assert_true(d->byte_valued);
    for (int i = 0; i < n; i++) {
        assert_int_equal(d->labels[i], td_cifar_label(i, label_bytes, label_byte, salt));
        /* channel-planar: the red plane, then green, then blue, each row-major */
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < 32; r++)
                for (int c = 0; c < 32; c++)
                    if (d->pix[(size_t)i * 3072 + ch * 1024 + r * 32 + c] != td_cifar_pixel(i, ch, r, c, salt))
                        fail_msg("record %d channel %d pixel (%d, %d) differs", i, ch, r, c);
    }
}

/* ---- round trips ---------------------------------------------------------------------------------- */

static void cifar10_roundtrip(const char *dir, int gz)
{
    td_write_cifar10(dir, 3, 4, gz);
    cl_data d;
    assert_int_equal(cl_data_load_cifar(&d, "cifar10", dir, CL_CIFAR10), 0);
    check_split(&d.train, 15, TD_CIFAR10, 0, 10, 0); /* the five batches in order */
    check_split(&d.test, 4, TD_CIFAR10, 0, 10, 1);
    assert_int_equal(d.nfiles, 6);
    assert_non_null(strstr(d.files[0], gz ? "data_batch_1.bin.gz" : "data_batch_1.bin"));
    assert_non_null(strstr(d.files[5], "test_batch.bin"));
    assert_true(d.channel_norm);
    assert_string_equal(d.train.name, "cifar10/train");
    cl_data_free(&d);
    /* by name, as the command line opens it */
    assert_int_equal(cl_data_open(&d, "CIFAR10", dir, 1), 0);
    check_split(&d.train, 15, TD_CIFAR10, 0, 10, 0);
    cl_data_free(&d);
}

static void test_cifar10_raw(void **state) { cifar10_roundtrip(*state, TD_RAW); }
static void test_cifar10_gz(void **state) { cifar10_roundtrip(*state, TD_GZIP); }

/* CIFAR-100: the fine labels are the classes; cifar100-coarse reads the same files for the superclasses. */
static void test_cifar100_fine_and_coarse(void **state)
{
    for (int gz = 0; gz <= 1; gz++) {
        char *dir = tu_mkdtemp();
        td_write_cifar100(dir, 7, 5, gz);
        cl_data d;
        assert_int_equal(cl_data_open(&d, "cifar100", dir, 1), 0);
        check_split(&d.train, 7, TD_CIFAR100, 1, 100, 0);
        check_split(&d.test, 5, TD_CIFAR100, 1, 100, 1);
        assert_int_equal(d.nfiles, 2);
        cl_data_free(&d);
        assert_int_equal(cl_data_open(&d, "cifar100-coarse", dir, 1), 0);
        check_split(&d.train, 7, TD_CIFAR100, 0, 20, 0);
        check_split(&d.test, 5, TD_CIFAR100, 0, 20, 1);
        assert_string_equal(d.test.name, "cifar100-coarse/test");
        cl_data_free(&d);
        tu_rmdir(dir);
    }
}

/* Some files raw and some gzip-compressed; where both exist the raw .bin is read (the archive unpacks to
 * it). gzip is recognised from the content, not the name. */
static void test_mixed_and_preferred(void **state)
{
    char p[4096];
    td_write_cifar10(*state, 2, 3, TD_RAW);
    unlink(td_path(p, *state, "data_batch_2.bin"));
    td_write_cifar_file(td_path(p, *state, "data_batch_2.bin.gz"), 2, 2, TD_CIFAR10, 0, TD_GZIP);
    td_write_text(td_path(p, *state, "test_batch.bin.gz"), "not read");
    cl_data d;
    assert_int_equal(cl_data_load_cifar(&d, NULL, *state, CL_CIFAR10), 0);
    check_split(&d.train, 10, TD_CIFAR10, 0, 10, 0);
    check_split(&d.test, 3, TD_CIFAR10, 0, 10, 1);
    assert_non_null(strstr(d.files[1], "data_batch_2.bin.gz"));
    assert_null(strstr(d.files[5], ".gz"));
    cl_data_free(&d);
    /* a raw file named .gz */
    unlink(td_path(p, *state, "test_batch.bin"));
    td_write_cifar_file(td_path(p, *state, "test_batch.bin.gz"), 0, 3, TD_CIFAR10, 1, TD_RAW);
    assert_int_equal(cl_data_load_cifar(&d, NULL, *state, CL_CIFAR10), 0);
    check_split(&d.test, 3, TD_CIFAR10, 0, 10, 1);
    cl_data_free(&d);
}

/* The data files' fingerprint (resuming a results directory checks it) covers all six CIFAR-10 files. */
static void test_fingerprint_six_files(void **state)
{
    td_write_cifar10(*state, 1, 1, TD_RAW);
    cl_data d;
    assert_int_equal(cl_data_load_cifar(&d, NULL, *state, CL_CIFAR10), 0);
    cl_fingerprint fp;
    assert_int_equal(cl_fingerprint_data(&fp, &d), 0);
    assert_int_equal(fp.n, 6);
    for (int i = 0; i < 6; i++) assert_int_equal(fp.item[i].bytes, 3073); /* one record each */
    cl_fingerprint_free(&fp);
    cl_data_free(&d);
}

/* The memory estimate counts three channels: the data held once as uint8 (3072 bytes an image), a
 * permutation map over every input of the three planes, the first layer over 3072 inputs. */
static void test_memory_estimate(void **state)
{
    td_write_cifar10(*state, 4, 6, TD_RAW);
    cl_data d;
    assert_int_equal(cl_data_open(&d, "cifar10", *state, 1), 0);
    cl_stream_cfg c = cl_stream_defaults();
    c.ntasks = 2; /* task 2 permuted */
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    int hidden[1] = {16};
    cl_arch arch;
    cl_arch_from_hidden(&arch, hidden, 1);
    cl_budget_run r = {.stream = &s, .arch = &arch, .batch = 8, .eval_batch = 8,
                       .opt = CL_OPT_ADAM, .epochs = 1, .blas_threads = 1};
    cl_budget_cell cell;
    cl_budget_cell_estimate(&r, &cell);
    assert_true(cell.stream >= 4.0 * 3072 && cell.stream < 4.0 * 3072 + 4096);
    assert_true(cl_budget_nparams(s.input_dim, hidden, 1, s.head_out, s.nheads) >= 3072 * 16);
    cl_budget b;
    cl_budget_single(&b, &d, &r);
    assert_float_equal(b.data, 20 * 3072 + 4 * 20 + 6 * 3072 + 4 * 6, 0);
    cl_stream_free(&s);
    cl_data_free(&d);
}

/* ---- validation ----------------------------------------------------------------------------------- */

static int load10_fails(const char *dir)
{
    cl_data d;
    int rc = cl_data_load_cifar(&d, "cifar10", dir, CL_CIFAR10);
    if (rc == 0) cl_data_free(&d);
    return rc == -1 && d.train.pix == NULL && d.nfiles == 0;
}

static int load100_fails(const char *dir)
{
    cl_data d;
    int rc = cl_data_load_cifar(&d, "cifar100", dir, CL_CIFAR100);
    if (rc == 0) cl_data_free(&d);
    return rc == -1 && d.train.pix == NULL && d.nfiles == 0;
}

/* A missing file is named, with every file the format needs and where the data comes from; the usual
 * mistakes get a hint: the directory above the unpacked one, the other CIFAR's files. */
static void test_missing_file(void **state)
{
    char p[4096], sub[4096];
    td_write_cifar10(*state, 1, 1, TD_RAW);
    unlink(td_path(p, *state, "data_batch_3.bin"));
    assert_true(load10_fails(*state));
    assert_true(td_has_all(cl_errmsg(), *state, "no data_batch_3.bin or data_batch_3.bin.gz",
                           "data_batch_1.bin .. data_batch_5.bin and test_batch.bin", "binary version", NULL));
    assert_true(load100_fails(*state));
    assert_true(td_has_all(cl_errmsg(), "no train.bin or train.bin.gz", "train.bin and test.bin",
                           "holds data_batch_1.bin, a CIFAR-10 file: use --dataset cifar10", NULL));
    /* the directory holding the unpacked one */
    assert_int_equal(mkdir(td_path(sub, *state, "cifar-10-batches-bin"), 0700), 0);
    assert_true(load10_fails(*state));
    assert_true(td_has_all(cl_errmsg(), "holds cifar-10-batches-bin/: pass --data-path", sub, NULL));
    /* no such directory, or a file where the directory belongs */
    assert_true(load10_fails(td_path(p, *state, "nope")));
    assert_true(td_has_all(cl_errmsg(), p, "no such directory", "data_batch_1.bin", NULL));
    assert_true(load10_fails(td_path(p, *state, "data_batch_1.bin")));
    assert_true(td_has_all(cl_errmsg(), p, "not a directory", NULL));
}

/* Anything but a regular file is refused by name before it is read: a FIFO (which would block), a
 * directory by a data file's name. */
static void test_not_regular_file(void **state)
{
    char p[4096];
    td_write_cifar10(*state, 1, 1, TD_RAW);
    unlink(td_path(p, *state, "test_batch.bin"));
    assert_int_equal(mkfifo(p, 0600), 0);
    alarm(20);
    assert_true(load10_fails(*state));
    alarm(0);
    assert_true(td_has_all(cl_errmsg(), p, "is a FIFO or pipe, not a regular file", "CIFAR-10 binary file", NULL));
    unlink(p);
    td_write_cifar_file(p, 0, 1, TD_CIFAR10, 1, TD_RAW);
    unlink(td_path(p, *state, "data_batch_4.bin"));
    assert_int_equal(mkdir(p, 0700), 0);
    assert_true(load10_fails(*state));
    assert_true(td_has_all(cl_errmsg(), p, "is a directory", NULL));
}

static void test_empty_file(void **state)
{
    char p[4096];
    for (int gz = 0; gz <= 1; gz++) {
        char *dir = tu_mkdtemp();
        td_write_cifar100(dir, 2, 2, gz);
        td_write_bytes(td_path(p, dir, gz ? "test.bin.gz" : "test.bin"), "", 0, gz);
        assert_true(load100_fails(dir));
        assert_true(td_has_all(cl_errmsg(), p, "empty file (0 bytes of data)", "CIFAR-100 records of 3074 bytes",
                               NULL));
        tu_rmdir(dir);
    }
}

/* A size that is not a whole number of records says the record size and where the last record is cut; a
 * cut gzip stream is a truncated gzip stream. */
static void test_cut_record(void **state)
{
    char p[4096];
    td_write_cifar10(*state, 3, 2, TD_RAW);
    td_truncate(td_path(p, *state, "data_batch_5.bin"), 2 * 3073 + 1000);
    assert_true(load10_fails(*state));
    assert_true(td_has_all(cl_errmsg(), p, "7146 bytes is not a whole number of 3073-byte CIFAR-10 records",
                           "a label byte and 3072 pixel bytes", "record 2 (0-based) is cut after 1000 of its bytes",
                           NULL));
    /* CIFAR-100 records where CIFAR-10 ones belong: the sizes say which */
    td_write_cifar_file(p, 0, 5, TD_CIFAR100, 0, TD_RAW); /* 5 x 3074 bytes: 5 records of 3073 and 5 bytes */
    assert_true(load10_fails(*state));
    assert_true(td_has_all(cl_errmsg(), p, "whole number of 3074-byte records: is this a CIFAR-100 file?",
                           "--dataset cifar100", NULL));
    char *dir = tu_mkdtemp();
    td_write_cifar100(dir, 3, 2, TD_GZIP);
    td_write_cifar_file(td_path(p, dir, "train.bin.gz"), 0, 5, TD_CIFAR100, 0, TD_GZIP);
    td_truncate(p, td_file_size(p) - 20); /* the gzip trailer and a little data gone */
    assert_true(load100_fails(dir));
    assert_true(td_has_all(cl_errmsg(), p, "truncated gzip stream", NULL));
    td_write_cifar_file(p, 0, 5, TD_CIFAR100, 0, TD_GZIP);
    td_flip_byte(p, -8); /* the CRC */
    assert_true(load100_fails(dir));
    assert_true(td_has_all(cl_errmsg(), p, "corrupt gzip stream", NULL));
    tu_rmdir(dir);
}

/* A label byte out of range names the record, its byte in the file, which label and the range. */
static void test_label_out_of_range(void **state)
{
    char p[4096];
    td_write_cifar10(*state, 2, 3, TD_RAW);
    uint8_t ten = 10;
    td_overwrite(td_path(p, *state, "test_batch.bin"), 2 * 3073, &ten, 1);
    assert_true(load10_fails(*state));
    assert_true(td_has_all(cl_errmsg(), p, "record 2 (0-based; byte 6146 of the file): label 10 is out of range",
                           "expected 0..9", NULL));
    char *dir = tu_mkdtemp();
    td_write_cifar100(dir, 4, 2, TD_RAW);
    uint8_t coarse = 20, fine = 100;
    td_overwrite(td_path(p, dir, "train.bin"), 3 * 3074, &coarse, 1);
    assert_true(load100_fails(dir));
    assert_true(td_has_all(cl_errmsg(), p, "record 3", "byte 9222", "coarse label 20 is out of range",
                           "expected 0..19", NULL));
    td_write_cifar100(dir, 4, 2, TD_RAW);
    td_overwrite(p, 1 * 3074 + 1, &fine, 1);
    /* the fine byte is checked for cifar100-coarse too: a file is checked whole, whichever labels are used */
    cl_data d;
    assert_int_equal(cl_data_load_cifar(&d, NULL, dir, CL_CIFAR100_COARSE), -1);
    assert_true(td_has_all(cl_errmsg(), p, "record 1", "byte 3075", "fine label 100 is out of range",
                           "expected 0..99", NULL));
    tu_rmdir(dir);
}

/* As for the named IDX datasets (mnist: fixed classes 0..9), a class without samples is not a loader error;
 * a split task left without samples is refused when the stream is built, naming the task. */
static void test_missing_class(void **state)
{
    char p[4096];
    td_write_cifar10(*state, 2, 10, TD_RAW);
    for (int b = 1; b <= 5; b++) { /* every training label 0 or 1 */
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", (char *)*state, b);
        for (int k = 0; k < 2; k++) {
            uint8_t l = (uint8_t)k;
            td_overwrite(p, k * 3073, &l, 1);
        }
    }
    cl_data d;
    assert_int_equal(cl_data_load_cifar(&d, NULL, *state, CL_CIFAR10), 0);
    assert_int_equal(d.train.nclasses, 10);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "task 2 (classes 2,3) has no training samples", "cifar10/train", NULL));
    cl_data_free(&d);
}

/* A file larger than the limit (after gunzip: a gzip bomb stops there) is refused, raw or compressed. */
static void test_size_limit(void **state)
{
    char p[4096];
    cl_cifar_max_bytes = 3 * 3073;
    for (int gz = 0; gz <= 1; gz++) {
        char *dir = tu_mkdtemp();
        td_write_cifar10(dir, 3, 2, gz);
        cl_data d;
        assert_int_equal(cl_data_load_cifar(&d, NULL, dir, CL_CIFAR10), 0); /* at the limit: read */
        cl_data_free(&d);
        td_write_cifar_file(td_path(p, dir, gz ? "data_batch_2.bin.gz" : "data_batch_2.bin"), 0, 4, TD_CIFAR10, 0,
                            gz);
        assert_true(load10_fails(dir));
        assert_true(td_has_all(cl_errmsg(), p, "more than the limit of 9219 bytes for one CIFAR-10 file", NULL));
        tu_rmdir(dir);
    }
}

/* ---- by name -------------------------------------------------------------------------------------- */

static void test_names(void **state)
{
    cl_data d;
    /* no Debian package ships CIFAR: without --data-path, where it comes from and what the directory holds */
    assert_int_equal(cl_data_open(&d, "cifar10", NULL, 1), -1);
    assert_true(td_has_all(cl_errmsg(), "needs --data-path", "CIFAR-10 binary version",
                           "https://www.cs.toronto.edu/~kriz/cifar.html", "data_batch_1.bin .. data_batch_5.bin",
                           "test_batch.bin", NULL));
    assert_int_equal(cl_data_open(&d, "cifar100-coarse", NULL, 1), -1);
    assert_true(td_has_all(cl_errmsg(), "'cifar100-coarse' needs --data-path", "CIFAR-100 binary version",
                           "train.bin and test.bin", NULL));
    assert_int_equal(cl_data_check_name("cifar100-coarse"), 0);
    assert_int_equal(cl_data_check_name("cifar-10"), -1);
    assert_true(td_has_all(cl_errmsg(), "did you mean 'cifar10'", "cifar100-coarse", NULL));
    /* fixed classes: --labels remap means nothing to them */
    cl_data_opts o = {CL_LABELS_REMAP, NULL};
    assert_int_equal(cl_data_check_opts("cifar100", &o), -1);
    assert_true(td_has_all(cl_errmsg(), "fixed classes 0..99", NULL));
}

/* ---- streams on colour images --------------------------------------------------------------------- */

enum { TN = 4, TR = 4, TC = 4, TPLANE = TR * TC, TDIM = 3 * TPLANE };

/* 4 images of 3x4x4 by hand; pixel p of channel ch of image i is 64 * ch + 3 * i + p: below 256 and unique
 * within an image, so a value tells which channel and pixel it came from. Labels 0,1,0,1. */
static uint8_t tiny_pixel(int i, int ch, int p) { return (uint8_t)(64 * ch + 3 * i + p); }

static void tiny_data(cl_data *d)
{
    memset(d, 0, sizeof *d);
    cl_dataset *sets[2] = {&d->train, &d->test};
    for (int s = 0; s < 2; s++) {
        cl_dataset *x = sets[s];
        snprintf(x->name, sizeof x->name, s ? "rgb/test" : "rgb/train");
        x->n = TN;
        x->channels = 3;
        x->rows = TR;
        x->cols = TC;
        x->dim = TDIM;
        x->nclasses = 2;
        x->byte_valued = 1;
        x->pix = cl_malloc(TN * TDIM);
        x->labels = cl_malloc(TN * sizeof(int32_t));
        for (int i = 0; i < TN; i++) {
            for (int ch = 0; ch < 3; ch++)
                for (int p = 0; p < TPLANE; p++) x->pix[i * TDIM + ch * TPLANE + p] = tiny_pixel(i, ch, p);
            x->labels[i] = i % 2;
        }
    }
}

static void batch_all(const cl_stream *s, int t, float *X, int *y)
{
    int pos[TN];
    for (int k = 0; k < TN; k++) pos[k] = k;
    cl_stream_batch(s, t, 0, pos, TN, X, y);
}

/* Permuted: one permutation of the 16 pixel positions, the same in all three channels, so each pixel's
 * red, green and blue move together. */
static void test_permuted_per_channel(void **state)
{
    cl_data d;
    tiny_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.scale01 = CL_SCALE_NONE;
    c.ntasks = 2;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.channels, 3);
    assert_int_equal(s.input_dim, TDIM);
    assert_null(s.norm_mean); /* not CIFAR: no normalization by default */
    float X[TN * TDIM];
    int y[TN];
    batch_all(&s, 1, X, y);
    int seen[TPLANE] = {0}, moved = 0;
    for (int i = 0; i < TN; i++)
        for (int q = 0; q < TPLANE; q++) {
            int src = (int)X[i * TDIM + q] - 3 * i; /* channel 0 names the source pixel */
            assert_true(src >= 0 && src < TPLANE);
            if (i == 0) seen[src]++, moved += src != q;
            for (int ch = 0; ch < 3; ch++)
                assert_float_equal(X[i * TDIM + ch * TPLANE + q], tiny_pixel(i, ch, src), 0);
        }
    for (int q = 0; q < TPLANE; q++) assert_int_equal(seen[q], 1); /* a permutation */
    assert_true(moved > 0);
    batch_all(&s, 0, X, y); /* task 1: the plain images */
    for (int q = 0; q < TDIM; q++) assert_float_equal(X[q], d.train.pix[q], 0);
    cl_stream_free(&s);
    cl_data_free(&d);
}

/* Rotated by 90 degrees: output pixel (r, c) of every channel is that channel's input pixel (c, 3 - r). */
static void test_rotated_per_channel(void **state)
{
    cl_data d;
    tiny_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_ROTATED;
    c.scale01 = CL_SCALE_NONE;
    c.angles = "0,90";
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.input_dim, TDIM);
    float X[TN * TDIM];
    int y[TN];
    batch_all(&s, 1, X, y);
    for (int i = 0; i < TN; i++)
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < TR; r++)
                for (int col = 0; col < TC; col++)
                    assert_float_equal(X[i * TDIM + ch * TPLANE + r * TC + col],
                                       tiny_pixel(i, ch, col * TC + (TC - 1 - r)), 1e-3);
    cl_stream_free(&s);
    cl_data_free(&d);
}

/* Padding: a zero border around each channel's plane; the geometry is 3 x 6 x 6. */
static void test_padding_per_channel(void **state)
{
    cl_data d;
    tiny_data(&d);
    cl_stream_cfg c = cl_stream_defaults();
    c.scale01 = CL_SCALE_NONE;
    c.ntasks = 1;
    c.pad = 1;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.in_rows, 6);
    assert_int_equal(s.in_cols, 6);
    assert_int_equal(s.input_dim, 3 * 36);
    float X[TN * 3 * 36];
    int y[TN];
    batch_all(&s, 0, X, y);
    for (int i = 0; i < TN; i++)
        for (int ch = 0; ch < 3; ch++)
            for (int r = 0; r < 6; r++)
                for (int col = 0; col < 6; col++) {
                    int inside = r >= 1 && r <= 4 && col >= 1 && col <= 4;
                    float want = inside ? tiny_pixel(i, ch, (r - 1) * TC + (col - 1)) : 0.0f;
                    assert_float_equal(X[i * 108 + ch * 36 + r * 6 + col], want, 0);
                }
    cl_stream_free(&s);
    cl_data_free(&d);
}

/* Split CIFAR: CIFAR-10 in 5 tasks of 2 classes by default, CIFAR-100 in 10 tasks of 10 with --tasks 10, the
 * 20 superclasses in pairs as any 20-class data. */
static void test_split_groups(void **state)
{
    char *dir10 = tu_mkdtemp();
    td_write_cifar10(dir10, 20, 40, TD_RAW);
    td_write_cifar100(*state, 200, 100, TD_RAW); /* fine labels (7i + 3) mod 100: every class in both splits */
    cl_data d;
    cl_stream s;
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = CL_SCEN_TASK;
    assert_int_equal(cl_data_open(&d, "cifar10", dir10, 1), 0);
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.ntasks, 5);
    for (int t = 0; t < 5; t++) {
        char want[32];
        snprintf(want, sizeof want, "classes %d,%d", 2 * t, 2 * t + 1);
        assert_string_equal(s.task[t].desc, want);
    }
    cl_stream_free(&s);
    cl_data_free(&d);

    assert_int_equal(cl_data_open(&d, "cifar100", *state, 1), 0);
    c.ntasks = 10;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.ntasks, 10);
    assert_int_equal(s.nheads, 10);
    for (int t = 0; t < 10; t++) {
        const cl_task *k = &s.task[t];
        assert_int_equal(k->nclasses, 10);
        assert_int_equal(s.head_out[t], 10);
        for (int j = 0; j < 10; j++) assert_int_equal(k->classes[j], 10 * t + j);
        int ntrain = 0, ntest = 0;
        for (int i = 0; i < d.train.n; i++) ntrain += d.train.labels[i] / 10 == t;
        for (int i = 0; i < d.test.n; i++) ntest += d.test.labels[i] / 10 == t;
        assert_int_equal(k->ntrain, ntrain);
        assert_int_equal(k->ntest, ntest);
        for (int p = 0; p < k->ntrain; p++) {
            int lab = d.train.labels[k->train_idx[p]];
            assert_int_equal(k->label_map[lab], lab - 10 * t); /* the task's head: position in its group */
        }
    }
    assert_string_equal(s.task[3].desc, "classes 30,31,32,33,34,35,36,37,38,39");
    cl_stream_free(&s);
    /* class-incremental over all 100: 10 units more per task */
    c.scenario = CL_SCEN_CLASS;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.head_out[0], 100);
    assert_int_equal(s.task[4].active, 50);
    cl_stream_free(&s);
    cl_data_free(&d);

    assert_int_equal(cl_data_open(&d, "cifar100-coarse", *state, 1), 0);
    c.ntasks = 0;
    c.scenario = CL_SCEN_TASK;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_int_equal(s.ntasks, 10);
    assert_string_equal(s.task[9].desc, "classes 18,19");
    cl_stream_free(&s);
    c.ntasks = 4; /* 4 tasks of 5 superclasses */
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_string_equal(s.task[1].desc, "classes 5,6,7,8,9");
    cl_stream_free(&s);
    c.ntasks = 11; /* more tasks than pairs */
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "11 tasks asked for, but there are only 10 class groups", NULL));
    cl_data_free(&d);
    tu_rmdir(dir10);
}

/* ---- normalization -------------------------------------------------------------------------------- */

/* Each channel's mean and population standard deviation of x/255 over every training pixel, by hand. */
static void stats_by_hand(const cl_dataset *tr, double mean[3], double sd[3])
{
    for (int ch = 0; ch < 3; ch++) {
        double sum = 0, cnt = 0;
        for (int i = 0; i < tr->n; i++)
            for (int p = 0; p < 1024; p++) sum += tr->pix[(size_t)i * 3072 + ch * 1024 + p] / 255.0, cnt++;
        mean[ch] = sum / cnt;
        double v = 0;
        for (int i = 0; i < tr->n; i++)
            for (int p = 0; p < 1024; p++) {
                double e = tr->pix[(size_t)i * 3072 + ch * 1024 + p] / 255.0 - mean[ch];
                v += e * e;
            }
        sd[ch] = sqrt(v / cnt);
    }
}

/* CIFAR's default is channel normalization, computed on the training split and applied to test batches
 * too, after the input map; none turns it off; other data is not normalized unless asked. */
static void test_normalization(void **state)
{
    td_write_cifar10(*state, 4, 6, TD_GZIP);
    cl_data d;
    assert_int_equal(cl_data_open(&d, "cifar10", *state, 1), 0);
    double mean[3], sd[3];
    stats_by_hand(&d.train, mean, sd);
    cl_stream_cfg c = cl_stream_defaults();
    c.ntasks = 2;
    c.pad = 2;
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_non_null(s.norm_mean);
    for (int ch = 0; ch < 3; ch++) {
        assert_float_equal(s.norm_mean[ch], mean[ch], 1e-6);
        assert_float_equal(s.norm_std[ch], sd[ch], 1e-6);
    }
    char desc[256];
    cl_stream_norm_desc(&s, desc, sizeof desc);
    assert_true(td_has_all(desc, "per channel (x/255 - mean_c) / std_c over the training split", "normalize auto: CIFAR",
                           NULL));
    int n = s.input_dim, pos[6] = {0, 1, 2, 3, 4, 5}, y[6];
    assert_int_equal(n, 3 * 36 * 36);
    float *X = cl_malloc(sizeof(float) * 6 * n);
    for (int test = 0; test <= 1; test++) {
        const cl_dataset *ds = test ? &d.test : &d.train;
        cl_stream_batch(&s, 0, test, pos, 6, X, y); /* task 1: the plain images, padded by 2 */
        for (int i = 0; i < 6; i++)
            for (int ch = 0; ch < 3; ch++)
                for (int r = 0; r < 36; r++)
                    for (int col = 0; col < 36; col++) {
                        int inside = r >= 2 && r < 34 && col >= 2 && col < 34;
                        double x = inside ? ds->pix[(size_t)i * 3072 + ch * 1024 + (r - 2) * 32 + col - 2] : 0;
                        double want = (x / 255.0 - mean[ch]) / sd[ch]; /* the border is a black pixel */
                        float got = X[(size_t)i * n + ch * 1296 + r * 36 + col];
                        if (fabs(got - want) > 1e-5)
                            fail_msg("split %d image %d channel %d (%d, %d): %g, expected %g", test, i, ch, r, col,
                                     got, want);
                    }
    }
    cl_stream_free(&s);
    /* the same numbers at any scale: the normalization is of the scaled inputs */
    c.scale01 = CL_SCALE_NONE;
    c.pad = 0;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    cl_stream_batch(&s, 0, 0, pos, 1, X, y);
    assert_float_equal(X[1500], (d.train.pix[1500] / 255.0 - mean[1]) / sd[1], 1e-5);
    cl_stream_free(&s);
    /* none: the pixels / 255 */
    c = cl_stream_defaults();
    c.normalize = CL_NORM_NONE;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_null(s.norm_mean);
    cl_stream_norm_desc(&s, desc, sizeof desc);
    assert_string_equal(desc, "no normalization (normalize none)");
    cl_stream_batch(&s, 0, 0, pos, 1, X, y);
    assert_float_equal(X[77], d.train.pix[77] / 255.0f, 1e-7);
    cl_stream_free(&s);
    free(X);
    cl_data_free(&d);

    /* other data: none by default, channel when asked (one channel) */
    cl_data_synthetic(&d, 50, 20, 6, 6, 3, 7);
    c = cl_stream_defaults();
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_null(s.norm_mean);
    cl_stream_free(&s);
    c.normalize = CL_NORM_CHANNEL;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    assert_non_null(s.norm_mean);
    double sum = 0, sq = 0;
    for (int q = 0; q < 50 * 36; q++) sum += d.train.pix[q] / 255.0, sq += (d.train.pix[q] / 255.0) * (d.train.pix[q] / 255.0);
    double m = sum / 1800, v = sq / 1800 - m * m;
    assert_float_equal(s.norm_mean[0], m, 1e-6);
    assert_float_equal(s.norm_std[0], sqrt(v), 1e-5);
    cl_stream_norm_desc(&s, desc, sizeof desc);
    assert_non_null(strstr(desc, "(normalize channel)"));
    cl_stream_free(&s);
    cl_data_free(&d);

    cl_norm_mode mode;
    assert_int_equal(cl_norm_parse("channel", &mode), 0);
    assert_int_equal(mode, CL_NORM_CHANNEL);
    assert_int_equal(cl_norm_parse("per-channel", &mode), -1);
    assert_true(td_has_all(cl_errmsg(), "expected none", "channel", "'per-channel'", NULL));
}

/* normalize = train pools the channels; given values, one pair or one per channel, are used as given;
 * every malformed value and a count that fits no channel count refused. */
static void test_normalization_train_and_given(void **state)
{
    td_write_cifar10(*state, 4, 6, TD_RAW);
    cl_data d;
    assert_int_equal(cl_data_open(&d, "cifar10", *state, 1), 0);
    double mean[3], sd[3];
    stats_by_hand(&d.train, mean, sd);
    /* pooled by hand: the mean of the channel means; the mean of (var_c + mean_c^2) less its square */
    double pm = (mean[0] + mean[1] + mean[2]) / 3, pv = 0;
    for (int c = 0; c < 3; c++) pv += (sd[c] * sd[c] + mean[c] * mean[c]) / 3;
    pv -= pm * pm;
    cl_stream_cfg c = cl_stream_defaults();
    assert_int_equal(cl_stream_normalize_parse("train", &c), 0);
    assert_int_equal(c.normalize, CL_NORM_TRAIN);
    cl_stream s;
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    for (int ch = 0; ch < 3; ch++) {
        assert_float_equal(s.norm_mean[ch], pm, 1e-6);
        assert_float_equal(s.norm_std[ch], sqrt(pv), 1e-5);
    }
    char desc[512];
    cl_stream_norm_desc(&s, desc, sizeof desc);
    assert_non_null(strstr(desc, "(normalize train: all channels pooled)"));
    float *X = malloc(sizeof(float) * 3072);
    int y[1], pos[1] = {0};
    cl_stream_batch(&s, 0, 0, pos, 1, X, y);
    assert_float_equal(X[2000], (d.train.pix[2000] / 255.0 - pm) / sqrt(pv), 1e-4);
    cl_stream_free(&s);

    /* one pair for every channel, then one per channel: x/255 - m_c over s_c */
    assert_int_equal(cl_stream_normalize_parse("0.25, 0.5", &c), 0);
    assert_int_equal(c.normalize, CL_NORM_GIVEN);
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    cl_stream_batch(&s, 0, 0, pos, 1, X, y);
    for (int q = 0; q < 3072; q += 517) assert_float_equal(X[q], (d.train.pix[q] / 255.0 - 0.25) / 0.5, 1e-6);
    cl_stream_norm_desc(&s, desc, sizeof desc);
    assert_non_null(strstr(desc, "as given (normalize given)"));
    cl_stream_free(&s);
    assert_int_equal(cl_stream_normalize_parse("0.1,0.2,0.3/0.5,0.25,2", &c), 0);
    assert_int_equal(c.norm_n, 3);
    assert_int_equal(cl_stream_create(&s, &d, &c), 0);
    cl_stream_batch(&s, 0, 0, pos, 1, X, y);
    const double m3[3] = {0.1, 0.2, 0.3}, s3[3] = {0.5, 0.25, 2};
    for (int ch = 0; ch < 3; ch++)
        for (int q = 0; q < 1024; q += 131)
            assert_float_equal(X[ch * 1024 + q], (d.train.pix[ch * 1024 + q] / 255.0 - m3[ch]) / s3[ch], 1e-6);
    cl_stream_free(&s);
    /* two pairs fit no dataset with 3 channels */
    assert_int_equal(cl_stream_normalize_parse("0.1,0.2/0.5,0.5", &c), 0);
    assert_int_equal(cl_stream_create(&s, &d, &c), -1);
    assert_true(td_has_all(cl_errmsg(), "2 means and standard deviations", "3 channels", NULL));
    free(X);
    cl_data_free(&d);

    static const char *const bad[] = {"0.5", "0.5,0", "0.5,-1", "a,b", "1,2,3", "1,2/3", "1/", "/1", "1,2/3,0",
                                      "nan,1", "1,inf", "0.1,0.2/0.3,0.4,", "perchannel"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cl_stream_cfg b = cl_stream_defaults();
        if (cl_stream_normalize_parse(bad[i], &b) == 0) fail_msg("'%s' was taken", bad[i]);
        assert_true(td_has_all(cl_errmsg(), "expected", NULL));
        assert_int_equal(b.normalize, CL_NORM_AUTO); /* a refused value changes nothing */
    }
}

/* ---- command line --------------------------------------------------------------------------------- */

/* clreg train on tiny CIFAR-10 files: exit 0, an accuracy matrix, a header that says the images and the
 * normalization; without --data-path one line saying where the data comes from; --normalize checked. */
static void test_train_cli(void **state)
{
    td_write_cifar10(*state, 20, 30, TD_RAW);
    char args[4400], out[16384];
    snprintf(args, sizeof args, "train --dataset cifar10 --data-path %s --tasks 2 --epochs 1 --hidden 16 --threads 1",
             (char *)*state);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || !strstr(out, "accuracy matrix R[i][j]") || !strstr(out, "cifar10 (3x32x32 images, 100 train, 30 test") ||
        !strstr(out, "per channel (x/255 - mean_c) / std_c over the training split (normalize auto: CIFAR)") ||
        !strstr(out, "MLP 3072-16-10"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    snprintf(args, sizeof args, "train --dataset cifar10 --data-path %s --tasks 2 --hidden 4 --normalize none "
             "--stream split --scenario task --threads 1", (char *)*state);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || strstr(out, "per channel") || !strstr(out, "classes 0,1,2,3,4") || !strstr(out, "MLP 3072-4-5"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    rc = tu_run_clreg("train --dataset cifar100", out, sizeof out);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "CIFAR-100 binary version"))
        fail_msg("clreg train --dataset cifar100: exit %d:\n%s", rc, out);
    rc = tu_run_clreg("train --dataset cifar10 --normalize mean", out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "--normalize: expected none"))
        fail_msg("clreg train --normalize mean: exit %d:\n%s", rc, out);
    rc = tu_run_clreg("train --help", out, sizeof out);
    if (rc != 0 || !strstr(out, "cifar100-coarse") || !strstr(out, "--normalize N"))
        fail_msg("clreg train --help: exit %d:\n%s", rc, out);
}

/* A grid on CIFAR-10 through clreg run --dry-run; a misspelt dataset and a bad normalize value are errors
 * naming the line. */
static void test_grid_dry_run(void **state)
{
    char data[4200], grid[4200], text[8400], args[8600], out[16384];
    snprintf(data, sizeof data, "%s/cifar", (char *)*state);
    assert_int_equal(mkdir(data, 0700), 0);
    td_write_cifar10(data, 10, 10, TD_RAW);
    snprintf(grid, sizeof grid, "%s/g.ini", (char *)*state);
    snprintf(text, sizeof text, "[experiment]\ndataset = cifar10\ndata_path = %s\nstream = split\nscenario = task\n"
             "hidden = 8\nseeds = 2\n[none]\n[ewc]\nlambda = 1, 10\n", data);
    td_write_text(grid, text);
    snprintf(args, sizeof args, "run %s --dry-run", grid);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || !strstr(out, "6 cells") || !strstr(out, "5 tasks; inputs per channel (x/255 - mean_c) / std_c") ||
        !strstr(out, "estimated CPU time"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    snprintf(text, sizeof text, "[experiment]\ndataset = cifar10\ndata_path = %s\nnormalize = none\n[none]\n", data);
    td_write_text(grid, text);
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || strstr(out, "per channel")) fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    td_write_text(grid, "[experiment]\ndataset = cifar-100\n[none]\n");
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "g.ini:2") || !strstr(out, "did you mean 'cifar100'"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
    td_write_text(grid, "[experiment]\ndataset = cifar10\nnormalize = yes\n[none]\n");
    rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "g.ini:3") || !strstr(out, "normalize: expected none"))
        fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_cifar10_raw),
        T(test_cifar10_gz),
        T(test_cifar100_fine_and_coarse),
        T(test_mixed_and_preferred),
        T(test_fingerprint_six_files),
        T(test_memory_estimate),
        T(test_missing_file),
        T(test_not_regular_file),
        T(test_empty_file),
        T(test_cut_record),
        T(test_label_out_of_range),
        T(test_missing_class),
        T(test_size_limit),
        T(test_names),
        T(test_permuted_per_channel),
        T(test_rotated_per_channel),
        T(test_padding_per_channel),
        T(test_split_groups),
        T(test_normalization),
        T(test_normalization_train_and_given),
        T(test_train_cli),
        T(test_grid_dry_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
