#include "core/blas.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>

cl_cpu cl_cpu_detect(void)
{
    cl_cpu c = {0, 0};
    __builtin_cpu_init();
    c.avx2_fma = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    c.avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512cd");
    return c;
}

/* The kernels OpenBLAS builds for x86 CPUs without AVX2 (0.3.21's names, as openblas_get_corename prints
 * them; "Unknown" is what it reports when it recognises nothing). A kernel is generic when it is one of
 * these: on a CPU with AVX2 it leaves most of the machine's speed unused (Prescott: about 5x slower than
 * SkylakeX on an AVX-512 Xeon).
 *
 * Why a list of the old kernels and not of the modern ones: this set is closed. OpenBLAS adds kernels only
 * for new CPUs, which all have AVX2 or better, so no future name can belong here, while a list of modern
 * names goes stale with every release and every spelling (0.3.21 reports "Cooperlake", later releases add
 * "SapphireRapids", "Zen4", ...). A name the list does not know is therefore modern, and kept. */
static const char *const pre_avx2_cores[] = {
    "Unknown",  "Katmai",     "Coppermine", "Northwood", "Prescott", "Banias",       "Atom",
    "Core2",    "Penryn",     "Dunnington", "Nehalem",   "Athlon",   "Opteron",      "Opteron_SSE3",
    "Barcelona", "Nano",      "Sandybridge", "Bobcat",   "Bulldozer", "Piledriver",  "Steamroller",
    "Excavator"};

int cl_blas_core_is_generic(const char *core)
{
    if (!core || !*core) return 1;
    for (size_t i = 0; i < sizeof pre_avx2_cores / sizeof *pre_avx2_cores; i++)
        if (strcasecmp(core, pre_avx2_cores[i]) == 0) return 1;
    return 0;
}

const char *cl_blas_choose_core(const char *core, cl_cpu cpu, const char *user_value, int opt_out)
{
    if (opt_out || (user_value && *user_value) || !core) return NULL;
    if (!cl_blas_core_is_generic(core)) return NULL;
    if (cpu.avx512) return "SKYLAKEX";
    if (cpu.avx2_fma) return "HASWELL";
    return NULL;
}

void cl_blas_startup(char **argv)
{
    if (openblas_get_parallel() != 2)
        fprintf(stderr, "clreg: warning: linked OpenBLAS is not the OpenMP build (parallel mode %d); grid cells "
                        "and BLAS threads may oversubscribe the cores\n", openblas_get_parallel());

    /* CLREG_BLAS_REEXEC guards against a loop should the library ignore the variable; it holds the kernel
     * the library picked on its own, so that cl_blas_describe can say what was replaced. */
    if (getenv("CLREG_BLAS_REEXEC")) return;
    const char *opt = getenv("CLREG_BLAS_AUTOCORE");
    int opt_out = opt && strcmp(opt, "0") == 0;
    const char *core = openblas_get_corename();
    const char *choice = cl_blas_choose_core(core, cl_cpu_detect(), getenv("OPENBLAS_CORETYPE"), opt_out);
    if (!choice) return;
    /* Said only on a terminal: a note on every run would be a second line in front of every error message
     * and in every piped log, while the manifest and `clreg version` already name the kernel and the
     * replaced one (cl_blas_describe). */
    if (isatty(2)) {
        fprintf(stderr, "clreg: OpenBLAS chose the generic '%s' kernel on a CPU with %s; restarting with "
                        "OPENBLAS_CORETYPE=%s (CLREG_BLAS_AUTOCORE=0 keeps the default)\n",
                core, strcmp(choice, "SKYLAKEX") == 0 ? "AVX-512" : "AVX2", choice);
        fflush(stderr);
    }
    setenv("OPENBLAS_CORETYPE", choice, 1);
    setenv("CLREG_BLAS_REEXEC", core, 1);
    execv("/proc/self/exe", argv);
    /* If re-execution is impossible (no /proc), run on with the slow kernel: correct, only slower. */
    unsetenv("CLREG_BLAS_REEXEC");
    fprintf(stderr, "clreg: warning: could not restart with the faster '%s' kernel; continuing with '%s'\n",
            choice, core);
}

void cl_blas_set_threads(int n) { openblas_set_num_threads(n > 0 ? n : 1); }

const char *cl_blas_core(void) { return openblas_get_corename(); }

void cl_blas_describe(char *buf, size_t n)
{
    /* openblas_get_config() reads "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH ... USE_OPENMP Zen MAX_THREADS=64";
     * its first two words are the name and version. */
    char name[32] = "OpenBLAS", ver[32] = "?";
    sscanf(openblas_get_config(), "%31s %31s", name, ver);
    int par = openblas_get_parallel();
    const char *replaced = getenv("CLREG_BLAS_REEXEC");
    char note[80] = "";
    if (replaced && *replaced && strcasecmp(replaced, openblas_get_corename()) != 0)
        snprintf(note, sizeof note, " (chosen by clreg over the generic %.32s)", replaced);
    snprintf(buf, n, "%s %s, %s build, kernel %s%s, %d threads", name, ver,
             par == 2 ? "OpenMP" : par == 1 ? "pthreads" : "single-threaded", openblas_get_corename(), note,
             openblas_get_num_threads());
}
