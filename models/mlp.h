/* A multilayer perceptron with ReLU hidden layers and one or many linear output heads, optionally after a
 * convolutional stem (conv and pooling layers over images, see cl_stem).
 *
 * All parameters live in one flat float buffer and the gradients in a mirror of it, so optimizers and
 * regularizers work on plain arrays: trunk layers first, then each head, every layer as its weight
 * W[out][in] (row-major, like PyTorch's nn.Linear) followed by its bias b[out]. Trunk parameters occupy
 * [0, ntrunk); head k occupies [head_off[k], head_off[k] + head_len[k]).
 *
 * Forward and backward keep what the regularizers need for exact per-sample importances: the input of
 * every layer (act[l]) and, after a backward pass, the per-sample backward signal of every layer
 * (dz[l][k][o] = d loss_k / d z_o, z = W x + b the layer's pre-activation output, for sample k).
 *
 * Dropout (arch item dropout<P>) may act on the input, on the output of any stem item and on the output of
 * any dense layer. The model has two modes. Evaluation mode, the default, is deterministic: dropout is the
 * identity there. Training mode (cl_mlp_set_training; the training loop turns it on for the forward and
 * backward passes of a step only) draws a fresh mask per forward pass from a seeded stream and keeps it for
 * the backward pass that follows. Evaluation, the probe and every per-sample importance pass
 * (regularizers/importance.c, mas_local.c) must run in evaluation mode: an importance is a property of the
 * network the penalty anchors, the one that is tested, and the per-sample identities above hold for that
 * network; a mask would put a random factor into each sample's gradient, and the estimate would describe
 * one thinned network instead. (SI's path integral, by contrast, takes the training step's gradient, masks
 * and all, as the optimizer does.) */
#ifndef CLREG_MLP_H
#define CLREG_MLP_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "models/arch.h"
#include "models/conv.h"

typedef struct cl_linear {
    int in, out;
    size_t w, b; /* offsets of W[out][in] and b[out] in the flat parameter buffer */
} cl_linear;

/* Inverted dropout on one activation: in training mode each unit is zeroed with probability p and the
 * survivors are scaled by 1/(1-p), so every unit keeps its expected value and evaluation mode, where dropout
 * is the identity, needs no rescaling. The mask is stored (a byte per unit, not recomputed) because the
 * backward pass must zero exactly the units the forward pass zeroed. */
typedef struct cl_dropout {
    float p;          /* drop probability in (0, 1); 0: no dropout at this place */
    uint8_t *mask;    /* [bmax][units]: 1 where the unit survived the last training-mode forward pass */
} cl_dropout;

/* A convolutional stem before the dense layers: conv (each followed by a ReLU) and pooling items over NCHW
 * images, whose flattened output feeds the first dense layer. Conv parameters sit in the flat buffer before
 * the dense trunk's, PyTorch's layout W[cout][cin][k][k] then b[cout], and count as trunk. */
typedef enum { CL_STEM_CONV, CL_STEM_MAXPOOL, CL_STEM_AVGPOOL } cl_stem_kind;

typedef struct cl_stem {
    cl_stem_kind kind;
    cl_conv_shape conv;   /* conv */
    cl_pool_shape pool;   /* pooling */
    size_t w, b;          /* conv: offsets of W and b in the flat buffer */
    size_t in_n, out_n;   /* floats per sample at its input and output */
    const float *in;      /* its input during the last forward: the caller's x, or the previous item's out */
    float *out;           /* [bmax][out_n]: conv: ReLU(conv(in)); pooling: the pooled input; then its dropout,
                           * in place, in training mode */
    float *dout;          /* [bmax][out_n]: after a backward pass, the signal at the output: conv: at its
                           * pre-activation (masked by the ReLU and the dropout, what per-sample conv
                           * gradients need); pooling: before its dropout */
    int *argmax;          /* max pooling: the winner of each window */
    cl_dropout drop;      /* on out (p = 0: none) */
} cl_stem;

typedef struct cl_mlp {
    int ninput;       /* inputs per sample (c x h x w for an image stem) */
    int nstem;        /* conv and pooling items before the dense layers (0: an MLP) */
    cl_stem *stem;
    int nfeat;        /* inputs of the first dense layer: ninput, or the stem's flattened output */
    float *col;       /* the stem's im2col workspace: the largest conv's cl_conv_col_size */
    int nhidden;      /* hidden (trunk) layers */
    int *hidden;      /* their widths */
    int nheads;
    int *head_out;    /* output units of each head */
    int maxout;       /* largest head */
    cl_linear *layer; /* nhidden trunk layers, then nheads head layers */
    size_t nparams, ntrunk;
    size_t *head_off, *head_len;
    float *params, *grads;

    /* Workspace for batches of up to bmax samples. act[l] is the input of trunk layer l (act[0] points at
     * the caller's input, the stem's last output or xdrop; act[l+1] is owned: ReLU output of trunk layer l,
     * [bmax][hidden[l]], after its dropout in training mode). The head's input is act[nhidden]. dz[l] is the
     * backward signal at trunk layer l's pre-activation (through its ReLU and its dropout); dz[nhidden]
     * points at the head's (the dlogits passed to backward). */
    int bmax;
    const float **act;
    float **dz;
    float *logits; /* [bmax][maxout]: logits of the last forward, row stride = that head's width */
    /* An input batch [bmax][ninput] with its labels and positions, for callers that evaluate the model
     * batch by batch (cl_evaluate), allocated on first use and kept: allocated per call, its megabytes came
     * fresh from mmap each time (glibc's threshold is fixed at 256 KiB, see clreg.c), and the page faults
     * of zeroing them cost as much system time as the evaluation itself. */
    float *xbuf;
    int *ybuf, *posbuf;

    /* Dropout (see the top of this file). Masks take a byte per unit and sample up to bmax; the input's
     * dropout needs no mask (no backward pass goes into the data) but a copy of the dropped input. */
    cl_dropout in_drop;   /* on the input (mask NULL) */
    float *xdrop;         /* [bmax][ninput]: the input after in_drop (allocated when in_drop.p > 0) */
    cl_dropout *drop;     /* [nhidden]: on act[l+1], the ReLU output of trunk layer l */
    int ndrop;            /* dropout places in the model (0: the modes do not differ) */
    int training;         /* 1: training mode (cl_mlp_set_training), 0: evaluation mode */
    cl_rng drop_rng;      /* training mode: the stream masks are drawn from, advanced by every draw */
    int masked;           /* the last forward pass drew masks, so the backward pass applies them */
} cl_mlp;

/* Create a model; hidden may be empty (nhidden = 0: a linear model per head). Parameters are zero until
 * cl_mlp_init. Returns NULL with a message on invalid sizes. */
cl_mlp *cl_mlp_create(int ninput, const int *hidden, int nhidden, const int *head_out, int nheads, int bmax);

/* A model from an architecture (arch.h) over c x h x w inputs: its conv and pooling items form the stem,
 * its dense items the hidden layers, then the heads; a dropout item acts on the output of the item before
 * it (the input when it comes first; flatten changes nothing). what names the architecture in messages. */
cl_mlp *cl_mlp_create_arch(const cl_arch *a, int c, int h, int w, const int *head_out, int nheads, int bmax,
                           const char *what);
void cl_mlp_free(cl_mlp *m);
/* A model of the same architecture (layers, heads, dropout places) with a copy of m's parameters and its own
 * workspace for batches of up to bmax samples, in evaluation mode. */
cl_mlp *cl_mlp_clone(const cl_mlp *m, int bmax);

/* The largest weight tensor of the stem's convolutions (0 without any), and their most output channels in
 * *max_cout (if given): the workspace of per-sample conv gradients (cl_conv2d_sample_grads). */
size_t cl_mlp_conv_max(const cl_mlp *m, int *max_cout);

/* PyTorch's nn.Linear default: W and b uniform in [-1/sqrt(in), 1/sqrt(in)]. */
void cl_mlp_init(cl_mlp *m, cl_rng *rng);

/* The layer of head k and of trunk layer l. */
static inline const cl_linear *cl_mlp_head(const cl_mlp *m, int k) { return &m->layer[m->nhidden + k]; }

/* Training mode: with rng, every following forward pass draws its dropout masks from a copy of *rng (the
 * model's copy advances, so two forward passes get different masks, and re-seeding repeats them), and the
 * backward pass after it applies them. With NULL: evaluation mode, dropout is the identity (the default).
 * A model without dropout computes the same in both modes. */
void cl_mlp_set_training(cl_mlp *m, const cl_rng *rng);

/* Forward x[B][ninput] through the trunk and head `head`; logits land in m->logits ([B][head_out[head]]).
 * x must stay valid until backward (act[0] or the first stem item's input points at it). Masks are drawn
 * in a fixed order (the input, the stem items, the dense layers; sample by sample, unit by unit), so they
 * depend on the stream and B only. */
void cl_mlp_forward(cl_mlp *m, const float *x, int B, int head);

/* What a backward pass does with the parameter gradients. */
typedef enum {
    CL_GRAD_NONE, /* backward signals only (dz[]): what per-sample importances need */
    CL_GRAD_SET,  /* write the gradient of the trunk and of this head into m->grads */
    CL_GRAD_ADD   /* add it to m->grads (a batch that mixes heads, trained one head group at a time) */
} cl_grad_mode;

/* Backward from dlogits[B][head_out[head]] (the gradient of the loss w.r.t. the logits; for a mean loss it
 * already carries the 1/B). Fills dz[] for every layer, and handles the parameter gradients of the trunk
 * and of this head as `mode` says; other heads' gradients are never touched. */
void cl_mlp_backward(cl_mlp *m, const float *dlogits, int B, int head, cl_grad_mode mode);

/* ---- layers, as free functions over row-major arrays ------------------------------------------------ */

/* out[B][nout] = in[B][nin] W[nout][nin]^T + b[nout] */
void cl_linear_forward(float *out, const float *in, const float *W, const float *b, int B, int nin, int nout);
/* Given dout[B][nout] = dL/dout: din[B][nin] = dout W (if din), dW[nout][nin] = dout^T in (if dW),
 * db[nout] = sum_k dout[k] (if db). dW and db are overwritten, or added to with `accumulate`. */
void cl_linear_backward(float *din, float *dW, float *db, const float *dout, const float *in, const float *W,
                        int B, int nin, int nout, int accumulate);
/* Inverted dropout in training mode: out[n] = in * mask / (1 - p), with mask[i] = 0 with probability p
 * (one 64-bit draw of rng per two units, in order). out may be in (in place); mask may be NULL when no
 * backward pass follows (the network's input). */
void cl_dropout_forward(float *out, const float *in, uint8_t *mask, size_t n, float p, cl_rng *rng);
/* In place d <- d * mask / (1 - p): the signal at the dropout's output carried to its input. */
void cl_dropout_backward(float *d, const uint8_t *mask, size_t n, float p);
/* In place y = max(x, 0). */
void cl_relu_forward(float *x, size_t n);
/* In place d <- d * (y > 0), with y the ReLU output. */
void cl_relu_backward(float *d, const float *y, size_t n);

/* Softmax cross-entropy over the first `nactive` of C logits per row (class-incremental learning trains
 * and tests over the classes seen so far; the remaining outputs are outside the softmax). Returns the mean
 * loss over the B rows; if dlogits is non-NULL writes d(mean loss)/d logits = (softmax - onehot) / B,
 * zero at inactive outputs. Computed stably (max subtracted). */
float cl_softmax_xent(const float *logits, const int *y, int B, int C, int nactive, float *dlogits);

/* Index of the largest of the first nactive logits of a row. */
int cl_argmax(const float *row, int nactive);

#endif
