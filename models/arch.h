/* A network's architecture as text, the same in a grid file (`arch = ...`) and on the command line
 * (`--arch ...`), and the shapes it gives on an input.
 *
 *     arch = conv32k3p1, conv32k3p1, maxpool2, conv64k3p1, conv64k3p1, maxpool2, dense512
 *
 * Items, left to right (the output layer, one head per task, follows the last item):
 *     conv<C>k<K>[s<S>][p<P>]   convolution to C channels, K x K kernel, stride S (1), zero padding P (0)
 *     maxpool<K>[s<S>]          max pooling over K x K windows, stride S (K)
 *     avgpool<K>[s<S>]          average pooling, the same
 *     dense<N>                  a fully connected layer of N units
 *     dropout<P>                dropout with probability P in (0, 1) on the output of the item before it
 *                               (the input when it comes first), seeded (runs stay deterministic)
 *     flatten                   optional: a dense layer after image-shaped outputs flattens them anyway
 * Every conv and dense layer is followed by a ReLU, and a dropout after one acts after the ReLU. Inputs are
 * images of C x H x W (NCHW); a conv or pool after a dense layer is refused (its output is no longer an
 * image), and so is a second dropout on one output ("dropout0.5, flatten, dropout0.5").
 *
 * Dropout is inverted dropout: while training, each unit is zeroed with probability P and the survivors are
 * scaled by 1/(1-P); evaluation and the importance passes use the whole network unscaled (models/mlp.h).
 * The masks come from (seed, "dropout", task, epoch, step) (experiments/train.c), so a run is reproducible
 * to the bit whatever the thread count. The usual values (Srivastava et al. 2014): dropout0.2 on the input,
 * dropout0.5 after hidden layers.
 *
 * Presets name the networks the shipped grids use:
 *     mlp           dense400, dense400 (the MLP of the grids today; `hidden = 400, 400` means the same)
 *     zenke-cifar   the split CIFAR-10/100 network of Zenke et al. 2017: conv32k3p1, conv32k3p1, maxpool2,
 *                   conv64k3p1, conv64k3p1, maxpool2, dense512 */
#ifndef CLREG_ARCH_H
#define CLREG_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define CL_ARCH_MAX 32 /* items in one architecture */

typedef enum { CL_ARCH_CONV, CL_ARCH_MAXPOOL, CL_ARCH_AVGPOOL, CL_ARCH_DENSE, CL_ARCH_DROPOUT, CL_ARCH_FLATTEN } cl_arch_kind;

typedef struct cl_arch_item {
    cl_arch_kind kind;
    int units;            /* conv: output channels; dense: units */
    int k, stride, pad;   /* conv and pooling */
    float p;              /* dropout */
} cl_arch_item;

typedef struct cl_arch {
    int n;
    cl_arch_item item[CL_ARCH_MAX];
} cl_arch;

/* Parse an architecture or a preset name. what names the text in messages ("--arch", "g.ini:7: arch").
 * -1 with one message naming the item (its position and text) and the expected form, or the closest
 * preset, otherwise. An empty text is refused (a network has at least its output layer; say "dense..." to
 * get hidden layers). */
int cl_arch_parse(cl_arch *a, const char *text, const char *what);

/* The architecture of `hidden = ...`: dense layers of those widths (none: a linear model). */
void cl_arch_from_hidden(cl_arch *a, const int *hidden, int nhidden);

/* The canonical text ("conv32k3p1, maxpool2, dense512"), which cl_arch_parse reads back to the same
 * architecture. */
void cl_arch_describe(const cl_arch *a, char *out, size_t n);

/* The shape after each item, for an input of c x h x w, and the parameter count (weights and biases of
 * the trunk, before the heads). shape[i] is the output of item i: c x h x w (h = w = 1 once flat, c then
 * the features). -1 with a message naming the item when it does not fit (a kernel or window larger than
 * its input, a conv or pool after a dense layer, a second dropout on one output, more than
 * CL_ARCH_MAX_FEATURES features). */
#define CL_ARCH_MAX_FEATURES (1 << 24)
typedef struct cl_arch_shape {
    int c, h, w;
} cl_arch_shape;
int cl_arch_shapes(const cl_arch *a, int c, int h, int w, cl_arch_shape *shape, size_t *nparams, const char *what);

/* Per sample, for an architecture cl_arch_shapes accepts: the forward pass's multiply-adds (a pooling
 * window element counts as one), the weights (biases aside: what a per-parameter pass such as a penalty
 * visits, in the same unit) and the features the heads see. For an MLP, macs and weights are equal. */
void cl_arch_costs(const cl_arch *a, int c, int h, int w, uint64_t *macs, uint64_t *weights, int *features);

#endif
