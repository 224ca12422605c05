/* BLAS kernel selection: the decision rule, and that sgemm results stay correct under every kernel the
 * rule can select (checked against a plain triple loop in double, in child processes, because OpenBLAS
 * reads OPENBLAS_CORETYPE only when it is loaded). */
#include "tests/testutil.h"

#include <math.h>

#include <cblas.h>

#include "core/blas.h"
#include "core/rng.h"
#include "models/mlp.h"

static void test_choose_core(void **state)
{
    (void)state;
    cl_cpu avx512 = {1, 1}, avx2 = {1, 0}, old = {0, 0};
    /* generic fallbacks on capable CPUs are replaced */
    assert_string_equal(cl_blas_choose_core("Prescott", avx512, NULL, 0), "SKYLAKEX");
    assert_string_equal(cl_blas_choose_core("Prescott", avx2, NULL, 0), "HASWELL");
    assert_string_equal(cl_blas_choose_core("Sandybridge", avx2, NULL, 0), "HASWELL");
    assert_string_equal(cl_blas_choose_core("Nehalem", avx512, "", 0), "SKYLAKEX");
    /* modern kernels are kept */
    assert_null(cl_blas_choose_core("Haswell", avx2, NULL, 0));
    assert_null(cl_blas_choose_core("Zen", avx2, NULL, 0));
    assert_null(cl_blas_choose_core("SkylakeX", avx512, NULL, 0));
    /* an old CPU has nothing better */
    assert_null(cl_blas_choose_core("Prescott", old, NULL, 0));
    /* the user's setting wins, and the opt-out is honoured */
    assert_null(cl_blas_choose_core("Prescott", avx512, "PRESCOTT", 0));
    assert_null(cl_blas_choose_core("Prescott", avx512, NULL, 1));
}

/* Linear layer forward and backward through sgemm, against double-precision loops. Returns the worst
 * relative error. Shapes are odd so that kernel edge cases run. */
static double check_gemms(void)
{
    enum { NB = 37, NI = 83, NO = 29 };
    static float in[NB * NI], W[NO * NI], b[NO], out[NB * NO], dout[NB * NO], din[NB * NI], dW[NO * NI], db[NO];
    cl_rng r;
    cl_rng_seed(&r, 1, 2);
    for (int i = 0; i < NB * NI; i++) in[i] = cl_rng_normal(&r);
    for (int i = 0; i < NO * NI; i++) W[i] = cl_rng_normal(&r);
    for (int i = 0; i < NO; i++) b[i] = cl_rng_normal(&r);
    for (int i = 0; i < NB * NO; i++) dout[i] = cl_rng_normal(&r);
    cl_linear_forward(out, in, W, b, NB, NI, NO);
    cl_linear_backward(din, dW, db, dout, in, W, NB, NI, NO, 0);
    double worst = 0;
    for (int k = 0; k < NB; k++)
        for (int o = 0; o < NO; o++) {
            double s = b[o], mag = fabs(b[o]);
            for (int i = 0; i < NI; i++) s += (double)in[k * NI + i] * W[o * NI + i], mag += fabs(in[k * NI + i] * W[o * NI + i]);
            worst = fmax(worst, fabs(out[k * NO + o] - s) / mag);
        }
    for (int o = 0; o < NO; o++)
        for (int i = 0; i < NI; i++) {
            double s = 0, mag = 0;
            for (int k = 0; k < NB; k++) s += (double)dout[k * NO + o] * in[k * NI + i], mag += fabs(dout[k * NO + o] * in[k * NI + i]);
            worst = fmax(worst, fabs(dW[o * NI + i] - s) / mag);
        }
    for (int k = 0; k < NB; k++)
        for (int i = 0; i < NI; i++) {
            double s = 0, mag = 0;
            for (int o = 0; o < NO; o++) s += (double)dout[k * NO + o] * W[o * NI + i], mag += fabs(dout[k * NO + o] * W[o * NI + i]);
            worst = fmax(worst, fabs(din[k * NI + i] - s) / mag);
        }
    return worst;
}

/* Re-run this program as a child with a given kernel; the child prints its kernel and the error. */
static void run_with_core(const char *core)
{
    char cmd[600], line[256] = "";
    snprintf(cmd, sizeof cmd, "CLREG_TEST_CHILD=1 OPENBLAS_CORETYPE=%s /proc/%d/exe", core, (int)getpid());
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    assert_int_equal(pclose(p), 0);
    char name[64];
    double err;
    assert_int_equal(sscanf(line, "%63s %lf", name, &err), 2);
    print_message("kernel %-10s (asked %s): max relative error %.2e\n", name, core, err);
    assert_true(err < 1e-5);
}

static void test_kernels_correct(void **state)
{
    (void)state;
    cl_cpu cpu = cl_cpu_detect();
    run_with_core("PRESCOTT"); /* the generic fallback itself */
    if (cpu.avx2_fma) run_with_core("HASWELL");
    if (cpu.avx512) run_with_core("SKYLAKEX");
    /* and whatever the library picks by itself here */
    assert_true(check_gemms() < 1e-5);
}

int main(void)
{
    if (getenv("CLREG_TEST_CHILD")) {
        openblas_set_num_threads(1);
        printf("%s %.3e\n", cl_blas_core(), check_gemms());
        return 0;
    }
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_choose_core), cmocka_unit_test(test_kernels_correct)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
