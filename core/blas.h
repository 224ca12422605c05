/* BLAS set-up: which OpenBLAS build and kernel is running, and the fix for a generic kernel fallback.
 *
 * Debian's OpenBLAS 0.3.21 is built with DYNAMIC_ARCH and picks its kernel from the CPU at load time. On
 * CPUs newer than the library it falls back to a generic core ("Prescott") and runs sgemm about 5x slower
 * (measured on an AVX-512 machine: about 20 against about 100 GFLOP/s on one core with
 * OPENBLAS_CORETYPE=SKYLAKEX). The kernel is chosen in the library's load-time constructor from the
 * OPENBLAS_CORETYPE environment variable, so the only way to change it from inside the program is to set
 * the variable and re-execute; cl_blas_startup does exactly that, once, and says so in one line. */
#ifndef CLREG_BLAS_H
#define CLREG_BLAS_H

#include <stddef.h>

/* CPU features that decide the best kernel. */
typedef struct cl_cpu {
    int avx2_fma;   /* AVX2 and FMA: Haswell-class kernels */
    int avx512;     /* AVX-512 F, BW, DQ, VL, CD: SkylakeX-class kernels */
} cl_cpu;

cl_cpu cl_cpu_detect(void);

/* 1 when `core` (an openblas_get_corename() name, any case) is one of OpenBLAS's kernels for CPUs without
 * AVX2 (Prescott, Core2, Nehalem, Sandybridge, Bulldozer, ..., or "Unknown"); 0 for every other name,
 * including names this release of clreg has never seen (new kernels are for new CPUs). */
int cl_blas_core_is_generic(const char *core);

/* The OPENBLAS_CORETYPE value to switch to, or NULL to keep the current kernel.
 *   core: openblas_get_corename() (e.g. "Prescott", "Haswell", "Zen", "SkylakeX", "Cooperlake")
 *   user_value: the OPENBLAS_CORETYPE already in the environment (NULL if unset): the user's choice wins
 *   opt_out: non-zero when the user disabled automatic selection (CLREG_BLAS_AUTOCORE=0)
 * The kernel is replaced when it is generic (cl_blas_core_is_generic) while the CPU has AVX2 or AVX-512;
 * the replacement is SKYLAKEX with AVX-512, else HASWELL. */
const char *cl_blas_choose_core(const char *core, cl_cpu cpu, const char *user_value, int opt_out);

/* Call first thing in main, before any other BLAS call: may re-execute the program with
 * OPENBLAS_CORETYPE set (argv must be main's). Warns if the linked OpenBLAS is not the OpenMP build. */
void cl_blas_startup(char **argv);

/* Single-threaded BLAS inside grid cells, n threads for one big job. */
void cl_blas_set_threads(int n);

/* "OpenBLAS 0.3.21, OpenMP build, kernel Zen, 2 threads" */
void cl_blas_describe(char *buf, size_t n);
const char *cl_blas_core(void);

#endif
