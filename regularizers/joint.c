/* Joint training: each task trains on the union of every task seen so far, mixed in every batch. No
 * penalty. The upper bound of what a regularizer could hope for, and the reference for intransigence.
 * The union sampling lives in the training loop (experiments/train.c), which checks `joint`. */
#include "regularizers/regint.h"

const cl_reg_method cl_reg_joint = {
    .name = "joint",
    .summary = "joint training on the union of the tasks seen so far (upper bound, no penalty)",
    .style = {"#000000", 2, 4},
    .params = (const cl_reg_param[]){{NULL, NULL, NULL}},
    .joint = 1,
};
