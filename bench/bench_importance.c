/* Cost of the exact per-sample importances, as a ratio to one training epoch on the same model.
 *
 * MLP 784-400-400-10 on Fashion-MNIST, one thread: one training epoch (60,000 samples, batch 128, Adam),
 * then each estimator over the same 60,000 samples. Targets: MAS and EWC-empirical at most 1.5x an epoch,
 * the exact Fisher at most about C x (C = 10 classes). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench/bench_common.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/timer.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/train.h"
#include "regularizers/regint.h"

int main(int argc, char **argv)
{
    cl_blas_startup(argv);
    cl_blas_set_threads(1);
    cl_data d;
    cl_stream s;
    if (bench_fashion_task(&d, &s)) return 1;
    cl_train_cfg tc = cl_train_defaults();
    int hidden[2] = {400, 400};
    cl_mlp *m = cl_mlp_for_stream(&s, hidden, 2, &tc);
    cl_run run;
    cl_train_stream(m, &s, &tc, &run);
    double epoch = run.train_sec;
    cl_run_free(&run);
    printf("importance over %d samples vs one training epoch (%.2f s), 784-400-400-10, 1 thread (%s)\n", d.train.n,
           epoch, cl_blas_core());

    struct { const char *method; const char *params[2]; int np; const char *label; double target; } cases[] = {
        {"mas", {NULL}, 0, "MAS, per-sample (exact)", 1.5},
        {"ewc", {"fisher=empirical"}, 1, "EWC, empirical Fisher", 1.5},
        {"ewc", {"fisher=sampled"}, 1, "EWC, sampled Fisher", 1.5},
        {"ewc", {"fisher=exact"}, 1, "EWC, exact Fisher (C = 10 passes)", 10},
        {"mas-local", {NULL}, 0, "MAS-local, Hebbian", 1.5},
        {"mas", {"estimate=batch"}, 1, "MAS, batch-mean compatibility estimate", 1.5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cl_reg *r = cl_reg_create(cases[i].method, cases[i].params, cases[i].np, m);
        cl_rng rng;
        cl_rng_seed(&rng, 1, 1);
        cl_task_view v = {.stream = &s, .task = 0, .rng = &rng};
        double t0 = cl_now();
        if (cl_reg_end_task(r, m, &v)) {
            fprintf(stderr, "bench: %s\n", cl_errmsg());
            return 1;
        }
        double t = cl_now() - t0;
        printf("  %-40s %6.2f s  %5.2fx an epoch  (target <= %gx)\n", cases[i].label, t, t / epoch, cases[i].target);
        cl_reg_free(r);
    }

    /* The penalty gradient is added at every step: its cost per step against a whole step. */
    cl_reg *r = cl_reg_create("mas", NULL, 0, m);
    cl_rng rng;
    cl_rng_seed(&rng, 1, 1);
    cl_task_view v = {.stream = &s, .task = 0, .nsamples = 1000, .rng = &rng};
    cl_reg_end_task(r, m, &v);
    int reps = 2000;
    double t0 = cl_now();
    for (int k = 0; k < reps; k++) cl_reg_add_penalty_grad(r, m, m->grads);
    double per = (cl_now() - t0) / reps, steps = (d.train.n + tc.batch - 1) / tc.batch;
    printf("  penalty gradient over %zu parameters: %.3f ms per step, %.1f%% of a training step\n", m->nparams,
           per * 1e3, 100.0 * per / (epoch / steps));
    cl_reg_free(r);
    cl_mlp_free(m);
    cl_stream_free(&s);
    cl_data_free(&d);
    return 0;
}
