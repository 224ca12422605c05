/* BLAS kernel selection: the decision rule, and that sgemm results stay correct under every kernel the
 * rule can select (checked against a plain triple loop in double, in child processes, because OpenBLAS
 * reads OPENBLAS_CORETYPE only when it is loaded). */
#include "tests/testutil.h"

#include <ctype.h>
#include <math.h>

#include <cblas.h>

#include "core/blas.h"
#include "core/rng.h"
#include "models/mlp.h"

/* Every name OpenBLAS 0.3.21 (Debian 12) can report, from the core table of its dynamic.c, with whether
 * its kernels lack AVX2. The rule must get each of them right in any case; names from later releases, and
 * names never seen, count as modern. */
static const struct {
    const char *name;
    int generic;
} openblas_0_3_21_cores[] = {
    {"Unknown", 1},    {"Katmai", 1},     {"Coppermine", 1}, {"Northwood", 1},   {"Prescott", 1},
    {"Banias", 1},     {"Atom", 1},       {"Core2", 1},      {"Penryn", 1},      {"Dunnington", 1},
    {"Nehalem", 1},    {"Athlon", 1},     {"Opteron", 1},    {"Opteron_SSE3", 1}, {"Barcelona", 1},
    {"Nano", 1},       {"Sandybridge", 1}, {"Bobcat", 1},    {"Bulldozer", 1},   {"Piledriver", 1},
    {"Steamroller", 1}, {"Excavator", 1}, {"Haswell", 0},    {"Zen", 0},         {"SkylakeX", 0},
    {"Cooperlake", 0},
};

static void test_generic_rule_every_name(void **state)
{
    (void)state;
    cl_cpu avx512 = {1, 1}, avx2 = {1, 0}, old = {0, 0};
    for (size_t i = 0; i < sizeof openblas_0_3_21_cores / sizeof *openblas_0_3_21_cores; i++) {
        const char *name = openblas_0_3_21_cores[i].name;
        int generic = openblas_0_3_21_cores[i].generic;
        char upper[64], lower[64];
        size_t n = strlen(name);
        for (size_t k = 0; k <= n; k++) {
            upper[k] = (char)toupper((unsigned char)name[k]);
            lower[k] = (char)tolower((unsigned char)name[k]);
        }
        const char *forms[3] = {name, upper, lower};
        for (int f = 0; f < 3; f++) {
            if (cl_blas_core_is_generic(forms[f]) != generic)
                fail_msg("kernel '%s': classified %s, expected %s", forms[f], generic ? "modern" : "generic",
                         generic ? "generic" : "modern");
            const char *on512 = cl_blas_choose_core(forms[f], avx512, NULL, 0);
            const char *on2 = cl_blas_choose_core(forms[f], avx2, NULL, 0);
            if (generic) {
                assert_non_null(on512);
                assert_string_equal(on512, "SKYLAKEX");
                assert_non_null(on2);
                assert_string_equal(on2, "HASWELL");
            } else {
                if (on512 || on2) fail_msg("modern kernel '%s' would be replaced", forms[f]);
            }
            /* a CPU without AVX2 has nothing better to offer */
            assert_null(cl_blas_choose_core(forms[f], old, NULL, 0));
        }
    }
    /* the spellings of later releases and names never seen are modern: kept, never replaced */
    const char *later[] = {"CooperLake", "SapphireRapids", "Zen4", "Zen5", "GraniteRapids", "SomeFutureCore"};
    for (size_t i = 0; i < sizeof later / sizeof *later; i++) {
        if (cl_blas_core_is_generic(later[i])) fail_msg("'%s' classified generic", later[i]);
        assert_null(cl_blas_choose_core(later[i], avx512, NULL, 0));
    }
    /* no name at all is the library failing to say: treated as generic, but choose_core needs a name */
    assert_true(cl_blas_core_is_generic(""));
    assert_null(cl_blas_choose_core(NULL, avx512, NULL, 0));
}

static void test_choose_core(void **state)
{
    (void)state;
    cl_cpu avx512 = {1, 1};
    /* the user's setting wins, and the opt-out is honoured */
    assert_null(cl_blas_choose_core("Prescott", avx512, "PRESCOTT", 0));
    assert_null(cl_blas_choose_core("Prescott", avx512, NULL, 1));
    /* an empty OPENBLAS_CORETYPE is no setting */
    assert_string_equal(cl_blas_choose_core("Nehalem", avx512, "", 0), "SKYLAKEX");
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
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_generic_rule_every_name), cmocka_unit_test(test_choose_core),
                                       cmocka_unit_test(test_kernels_correct)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
