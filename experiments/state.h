/* --save-state: after each task, every parameter tensor and every importance tensor as .npy files:
 *
 *     DIR/task<k>/params/layer0.weight.npy      [out, in]   trunk layer 0 (k = 1 after the first task)
 *     DIR/task<k>/params/layer0.bias.npy        [out]
 *     DIR/task<k>/params/head<h>.weight.npy     [out, in]   output head h
 *     DIR/task<k>/params/conv<i>.weight.npy     [out, in, k, k]  convolution i of a stem (and .bias)
 *     DIR/task<k>/importance/<same names>       the Omega the penalty applies after task k (the sum over
 *                                                its terms for EWC in separate mode); absent for none/joint
 */
#ifndef CLREG_STATE_H
#define CLREG_STATE_H

#include "models/mlp.h"
#include "regularizers/regularizer.h"

int cl_save_state(const char *dir, int task, const cl_mlp *m, const cl_reg *reg);

/* Read back what cl_save_state wrote after task `task`: the tensors under DIR/task<k>/<what> (what: "params"
 * or "importance") into flat (m->nparams floats, the model's layout; the padding between tensors set to 0),
 * every file's shape checked against m's. 0, or -1 with a message naming the file. Lets a saved state be
 * measured again (bench/bench_mas_forms.c) without retraining. */
int cl_load_state(const char *dir, int task, const char *what, const cl_mlp *m, float *flat);

/* Tensor names: "layer<l>" for trunk layers, "head<h>" for heads; layer index l < nhidden + nheads as in
 * m->layer. */
void cl_layer_name(const cl_mlp *m, int l, char *buf, size_t n);

#endif
