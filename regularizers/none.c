/* Fine-tuning: no regularizer at all. The lower bound every method is compared against. */
#include "regularizers/regint.h"

const cl_reg_method cl_reg_none = {
    .name = "none",
    .summary = "fine-tuning baseline: no penalty, the network is free to forget",
    .style = {"#7f7f7f", 1, 6},
    .params = (const cl_reg_param[]){{NULL, NULL, NULL}},
};
