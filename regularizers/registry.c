/* The one table of regularizers. Adding a method: write regularizers/<name>.c defining a cl_reg_method
 * (regint.h), declare it here and add it to the list. Everything that lists methods reads this table:
 * `clreg list` and --help, grid sections, the command line, the contract tests (tests/test_contract.c),
 * the figures' styles (each entry's own), the importance figures (every method with an Omega), memory
 * budgets and shard costs. */
#include "regularizers/regint.h"

extern const cl_reg_method cl_reg_none, cl_reg_joint, cl_reg_l2, cl_reg_ewc, cl_reg_mas, cl_reg_mas_local, cl_reg_si,
    cl_reg_ewcpp, cl_reg_rwalk, cl_reg_mas_silent, cl_reg_lwf;

const cl_reg_method *const cl_reg_methods[] = {
    &cl_reg_none,      /* fine-tuning: no penalty (the lower bound) */
    &cl_reg_joint,     /* joint training on every task seen so far (the upper bound) */
    &cl_reg_l2,        /* Omega = 1 */
    &cl_reg_ewc,       /* diagonal Fisher (Kirkpatrick et al. 2017; online: Schwarz et al. 2018) */
    &cl_reg_mas,       /* Memory Aware Synapses, global (Aljundi et al. 2018) */
    &cl_reg_mas_local, /* MAS, local Hebbian variant */
    &cl_reg_si,        /* Synaptic Intelligence (Zenke et al. 2017) */
    &cl_reg_ewcpp,     /* EWC++: running Fisher (Chaudhry et al. 2018) */
    &cl_reg_rwalk,     /* Riemannian walk: EWC++ plus a path score (Chaudhry et al. 2018) */
    &cl_reg_mas_silent,/* MAS plus an importance for units silent on a whole task (clreg) */
    &cl_reg_lwf,       /* Learning without Forgetting (Li and Hoiem 2016): distillation, no penalty */
    NULL,
};
