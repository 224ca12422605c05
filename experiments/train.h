/* Training a model through a task stream, and the accuracy matrix it produces.
 *
 * R[i][j] is the test accuracy on task j after training tasks 0..i-1 in order (row 0: before any
 * training, for forward transfer); V[i][j] the same on the task's held-out validation data, when the
 * stream holds some out (cfg.validation). Every task, seen or not, is evaluated after every task. Randomness
 * (initialization, shuffling, sampled labels, dropout masks) derives from (seed, purpose, task, epoch, and
 * for dropout the step) only, so a run is reproducible to the bit for a given seed and BLAS kernel.
 *
 * A training step: forward, backward of the task loss (the model in training mode for these two only, so
 * dropout acts there; evaluations, observers and importance passes see it in evaluation mode), then (with a
 * regularizer) the penalty gradient 2 lambda Omega (theta - theta*) is added, the optimizer steps over the
 * trainable ranges, and the regularizer's after_step sees the unregularized gradient. At the end of each
 * task the regularizer's end_task computes its importances on the task's data. */
#ifndef CLREG_TRAIN_H
#define CLREG_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "core/optim.h"
#include "datasets/stream.h"
#include "models/arch.h"
#include "models/mlp.h"
#include "regularizers/regularizer.h"

typedef struct cl_train_cfg {
    int epochs;          /* per task */
    int batch;           /* training minibatch */
    int eval_batch;      /* evaluation chunk (only speed; results do not depend on it) */
    cl_optim_cfg opt;
    int reset_optim;     /* zero the optimizer state at every task boundary */
    uint64_t seed;
    int progress;        /* one line per epoch on stderr */
    cl_reg *reg;         /* the regularizer, or NULL for plain fine-tuning */
    const char *save_dir; /* if set: after every task, parameters and importances as .npy (see state.h) */
    int save_tasks;       /* with save_dir: only after the first n tasks (0: every task) */
    /* Optional observers, called after every epoch, every `steps_every` optimizer steps of a task (if > 0)
     * and after every task (after its evaluation row). They may run the model (e.g. cl_evaluate) but must
     * not change its parameters. `ctx` is passed through. */
    void (*on_epoch)(void *ctx, cl_mlp *m, int task, int epoch, long step, double loss);
    void (*on_steps)(void *ctx, cl_mlp *m, int task, int epoch, long step);
    int steps_every;
    void (*on_task)(void *ctx, cl_mlp *m, int task, const float *R_row);
    void *ctx;
    /* Optional: polled between training steps (and before each importance and evaluation pass); when it
     * becomes non-zero (a signal handler sets it) training ends there and run->stopped says so. */
    volatile sig_atomic_t *stop;
} cl_train_cfg;

/* Divergence. A run diverged when a loss or a parameter stops being finite, or when a batch's mean task loss
 * (softmax cross-entropy, in nats) exceeds CL_DIVERGED_LOSS. Cross-entropy is ln C at chance (2.3 for 10
 * classes) and falls from there as a run learns; measured on Fashion-MNIST with the default MLP, even raw
 * 0-255 pixels (--no-scale) peak at 36 in the first steps and then learn, while a learning rate that
 * wrecks the run (Adam at 1000) reaches 3e12. A loss of 1e4 nats means the true class gets a probability
 * below e^-10000: the model's outputs are meaningless, and going on would only print numbers that look like
 * results. */
#define CL_DIVERGED_LOSS 1e4

cl_train_cfg cl_train_defaults(void);

typedef struct cl_run {
    int ntasks;
    float *R;            /* (ntasks + 1) x ntasks, row-major: cl_run_R(run, i, j) */
    float *V;            /* the same on the held-out validation data (cl_run_V); NULL without validation */
    float *loss;         /* mean training loss of each task's last epoch */
    int diverged;        /* see CL_DIVERGED_LOSS: training stopped there, later rows are NaN */
    int stopped;         /* cfg->stop was set: training ended early, the rows after it are NaN */
    double train_sec, eval_sec, importance_sec;
} cl_run;

static inline float *cl_run_R(const cl_run *r, int i, int j) { return &r->R[(size_t)i * r->ntasks + j]; }
static inline float *cl_run_V(const cl_run *r, int i, int j) { return &r->V[(size_t)i * r->ntasks + j]; }

/* A model shaped for the stream: the architecture over the stream's inputs (channels x rows x cols), one
 * head per stream head; initialized from (seed, "init"). bmax covers both batch sizes of cfg. NULL with a
 * message when the architecture does not fit the inputs. */
cl_mlp *cl_model_for_stream(const cl_stream *s, const cl_arch *arch, const cl_train_cfg *cfg);

/* The same for an MLP of these hidden widths. */
cl_mlp *cl_mlp_for_stream(const cl_stream *s, const int *hidden, int nhidden, const cl_train_cfg *cfg);

/* 0 when the architecture fits the stream's inputs; else -1 with a message starting with `what`. */
int cl_model_check(const cl_arch *arch, const cl_stream *s, const char *what);

/* The evaluation batch for a network trained at `batch`. An MLP evaluates 1000 samples at a time (fewer,
 * larger gemms); a network with conv or pooling layers at the training batch, because every one of them
 * keeps its output and backward signal per sample of the largest batch: at 1000 samples the Zenke CIFAR
 * network's stem would hold about 0.9 GB per model, for an evaluation that is no faster (each sample's
 * convolution is its own gemm either way). Results do not depend on it. */
int cl_eval_batch(const cl_arch *arch, int batch);

/* Train m through every task of s and fill run (allocated here; cl_run_free releases it). Returns 0, also
 * when the run diverged or was stopped (run->diverged, run->stopped say so); -1 with a message when a
 * regularizer's end_task or
 * writing the saved state failed (run holds the rows up to there). */
int cl_train_stream(cl_mlp *m, const cl_stream *s, const cl_train_cfg *cfg, cl_run *run);
void cl_run_free(cl_run *run);

/* Optimizer steps in one epoch of task t (the joint method's epochs are longer: see train.c). */
long cl_steps_per_epoch(const cl_stream *s, int t, int batch, int joint);

/* Test accuracy on task j with `active` output units in the softmax. */
float cl_evaluate(cl_mlp *m, const cl_stream *s, int j, int active);
/* The same on a part of the task's data (CL_PART_TEST, CL_PART_VAL; NaN for an empty part). */
float cl_evaluate_part(cl_mlp *m, const cl_stream *s, int j, int active, int part);

#endif
