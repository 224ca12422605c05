/* The factors between clreg's MAS importance and the forms other libraries compute (regularizers/mas_forms.h),
 * measured on one saved state, so a published lambda can be carried over (README, "lambda between papers").
 *
 *   build/opt/bench/bench_mas_forms [STATE_DIR [TASK]]
 *
 * Without arguments it first trains the state it measures, deterministically, with
 *     ./clreg train --tasks 1 --reg mas --seed 1 --threads 1 --quiet --save-state build/bench/mas-state
 * (Fashion-MNIST, the permuted stream's first task: the plain images; MLP 784-400-400-10, Adam, 1 epoch,
 * batch 128). Given a STATE_DIR (any --save-state directory of an MLP trained on that stream), it measures
 * the parameters saved after TASK (default 1) on task 1's training set. The hidden widths are read from the
 * saved shapes.
 *
 * It recomputes clreg's Omega from the loaded parameters and, when the state is a MAS run's, checks it
 * against the saved importance: that proves the parameters were put back where the model reads them. Then
 * each library form, with mas.c's own options, against it: the ratio of sums over the parameters the
 * library penalizes and the median of the per-parameter ratios, and the lambda factor
 *     clreg lambda = penalty_scale * (sum Omega_lib / sum Omega_clreg) * their lambda,
 * which gives the two penalties the same total weight. The batch factor depends on the state and the
 * batch, so it is printed for the batches the libraries use by default. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/npy.h"
#include "experiments/state.h"
#include "experiments/train.h"
#include "regularizers/mas_forms.h"

#define DEFAULT_STATE "build/bench/mas-state"

/* The hidden widths of the saved MLP: the first dimension of layer<l>.weight.npy, for l = 0, 1, ... */
static int saved_widths(const char *dir, int task, int *hidden, int max)
{
    int n = 0;
    for (; n < max; n++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/task%d/params/layer%d.weight.npy", dir, task, n);
        if (access(path, R_OK)) break;
        float *d;
        size_t count, shape[4];
        int nd;
        if (cl_npy_read(path, &d, &count, &nd, shape)) return -1;
        free(d);
        hidden[n] = (int)shape[0];
    }
    return n;
}

static void print_ratio_row(const char *what, int batch, const float *lib, const float *ref, size_t to, double scale)
{
    double sum, med;
    size_t n;
    cl_mas_form_ratio(lib, ref, 0, to, &sum, &med, &n);
    printf("  %-30s %5d   %9.5g %9.5g   %6.3g   %9.5g %9.5g\n", what, batch, sum, med, scale, scale * sum, scale * med);
}

int main(int argc, char **argv)
{
    cl_blas_startup(argv);
    cl_blas_set_threads(1);
    const char *dir = argc > 1 ? argv[1] : DEFAULT_STATE;
    int task = argc > 2 ? atoi(argv[2]) : 1;
    if (argc <= 1) {
        char *args[] = {"clreg", "train", "--tasks", "1", "--reg", "mas", "--seed", "1", "--threads", "1", "--quiet",
                        "--save-state", DEFAULT_STATE, NULL};
        printf("state: ./clreg train --tasks 1 --reg mas --seed 1 --threads 1 --quiet --save-state %s\n", DEFAULT_STATE);
        if (bench_reap(bench_spawn(args), "clreg train --save-state") < 0) return 1;
    } else {
        printf("state: %s, after task %d\n", dir, task);
    }

    cl_data d;
    cl_stream s;
    if (bench_fashion_task(&d, &s)) return 1;
    int hidden[16];
    int nh = saved_widths(dir, task, hidden, 16);
    if (nh < 0) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    cl_train_cfg tc = cl_train_defaults();
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, nh, &tc);
    float *exact = cl_aligned_calloc(m->nparams, sizeof(float)), *saved = cl_aligned_calloc(m->nparams, sizeof(float));
    float *lib = cl_aligned_calloc(m->nparams, sizeof(float)), *ref = cl_aligned_calloc(m->nparams, sizeof(float));
    if (cl_load_state(dir, task, "params", m, m->params)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    cl_rng rng;
    cl_rng_seed(&rng, 1, 1);
    cl_task_view v = {.stream = &s, .task = 0, .rng = &rng};
    int N = cl_view_count(&v), C = s.task[0].active;
    printf("MAS importance forms on Fashion-MNIST task 1, %d training samples, MLP %d", N, m->ninput);
    for (int l = 0; l < nh; l++) printf("-%d", hidden[l]);
    printf("-%d (C = %d outputs), 1 thread (%s)\n", m->head_out[0], C, cl_blas_core());
    if (cl_mas_exact_importance(m, &v, exact)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    int failed = 0;
    if (cl_load_state(dir, task, "importance", m, saved) == 0) {
        double dmax = 0, smax = 0;
        for (size_t i = 0; i < m->nparams; i++) {
            dmax = fmax(dmax, fabs((double)exact[i] - saved[i]));
            smax = fmax(smax, fabs((double)saved[i]));
        }
        /* the same estimator on the same parameters: rounding only, unless the state is another method's */
        printf("clreg's Omega recomputed from the loaded parameters against the saved importance: max |diff| / max "
               "|Omega| = %.2g\n", smax > 0 ? dmax / smax : NAN);
        if (!(dmax <= 1e-4 * smax)) {
            printf("  (not a MAS run's state with mas's defaults, or the parameters did not load where they belong)\n");
            failed |= argc <= 1;
        }
    }

    printf("\nthe batch approximation: the MAS authors' code and Avalanche, the abs of the batch-mean gradient of "
           "||f||^2 averaged over batches,\nagainst clreg's exact per-sample mean (their Omega / clreg's; the "
           "lambda factor multiplies their lambda into clreg's)\n");
    printf("  %-30s %5s   %9s %9s   %6s   %9s %9s\n", "form", "batch", "Omega sum", "median", "pen.", "lambda x",
           "(median)");
    const cl_mas_form *mean_form = &cl_mas_forms[1];
    static const int batches[] = {32, 64, 100, 128, 200, 256};
    for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
        if (cl_mas_form_importance(m, &v, mean_form, batches[b], lib)) {
            fprintf(stderr, "bench: %s\n", cl_errmsg());
            return 1;
        }
        print_ratio_row("batch mean of ||f||^2", batches[b], lib, exact, m->nparams, 1.0);
        if (batches[b] == 128) { /* where the factor sits: per layer */
            for (int l = 0; l <= nh; l++) {
                const cl_linear *L = l < nh ? &m->layer[l] : cl_mlp_head(m, 0);
                double sum, med;
                size_t n;
                cl_mas_form_ratio(lib, exact, L->w, L->b + L->out, &sum, &med, &n);
                printf("    %s %-4d %d x %d: Omega sum ratio %.4g, median %.4g\n", l < nh ? "layer" : "head ", l < nh ? l : 0,
                       L->out, L->in, sum, med);
            }
        }
    }

    printf("\nevery library form at its default batch and at 128 (pen.: the penalty's prefactor after one task)\n");
    printf("  %-30s %5s   %9s %9s   %6s   %9s %9s\n", "library", "batch", "Omega sum", "median", "pen.", "lambda x",
           "(median)");
    for (const cl_mas_form *f = cl_mas_forms; f->name; f++) {
        int bs[2] = {f->batch, 128};
        for (int j = 0; j < (f->batch == 128 ? 1 : 2); j++) {
            if (cl_mas_form_importance(m, &v, f, bs[j], lib)) {
                fprintf(stderr, "bench: %s\n", cl_errmsg());
                return 1;
            }
            print_ratio_row(f->name, bs[j], lib, exact, f->trunk_only ? m->ntrunk : m->nparams, f->penalty_scale);
        }
    }

    /* clreg's own estimate=batch weighs a final partial batch by its size where the libraries count it as
     * a full one: how much that moves Omega here, so the README can say when -p estimate=batch is their form. */
    cl_mas_form weighted = cl_mas_forms[1];
    weighted.last = CL_MAS_LAST_WEIGHTED;
    if (cl_mas_form_importance(m, &v, &weighted, 128, ref) || cl_mas_form_importance(m, &v, &cl_mas_forms[1], 128, lib)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    double wsum, wmed;
    size_t wn;
    cl_mas_form_ratio(ref, lib, 0, m->nparams, &wsum, &wmed, &wn);
    printf("\nclreg's -p estimate=batch -p batch=128 (the partial batch weighed by its size) against the libraries' "
           "count: Omega sum ratio %.5f\n", wsum);

    /* The mean over outputs is 1/C by algebra; the measurement must agree, parameter by parameter. */
    cl_mas_form sum_form = cl_mas_forms[2];
    sum_form.mean_outputs = 0;
    if (cl_mas_form_importance(m, &v, &cl_mas_forms[2], 100, lib) || cl_mas_form_importance(m, &v, &sum_form, 100, ref)) {
        fprintf(stderr, "bench: %s\n", cl_errmsg());
        return 1;
    }
    double worst = 0;
    for (size_t i = 0; i < m->nparams; i++)
        if (ref[i] > 0) worst = fmax(worst, fabs((double)lib[i] * C / ref[i] - 1));
    printf("\nthe mean over outputs (Continual-Learning-Benchmark) against the sum, batch 100: C x ratio - 1 at most "
           "%.2g (exactly 1/C = 1/%d)\n", worst, C);
    failed |= !(worst < 1e-6);

    free(exact);
    free(saved);
    free(lib);
    free(ref);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&d);
    return failed;
}
