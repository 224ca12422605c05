#include "experiments/state.h"

#include <stdio.h>
#include <stdlib.h>

#include "core/error.h"
#include "core/npy.h"

void cl_layer_name(const cl_mlp *m, int l, char *buf, size_t n)
{
    if (l < m->nhidden) snprintf(buf, n, "layer%d", l);
    else snprintf(buf, n, "head%d", l - m->nhidden);
}

static int write_tensors(const char *dir, const cl_mlp *m, const float *flat)
{
    if (cl_mkdirs(dir)) return -1;
    /* the stem's convolutions as conv<i>, in PyTorch's Conv2d layout [out, in, k, k] */
    for (int i = 0, nconv = 0; i < m->nstem; i++) {
        const cl_stem *st = &m->stem[i];
        if (st->kind != CL_STEM_CONV) continue;
        const cl_conv_shape *c = &st->conv;
        char path[4200];
        size_t wshape[4] = {(size_t)c->cout, (size_t)c->cin, (size_t)c->k, (size_t)c->k}, bshape[1] = {(size_t)c->cout};
        snprintf(path, sizeof path, "%s/conv%d.weight.npy", dir, nconv);
        if (cl_npy_write(path, flat + st->w, 4, wshape)) return -1;
        snprintf(path, sizeof path, "%s/conv%d.bias.npy", dir, nconv++);
        if (cl_npy_write(path, flat + st->b, 1, bshape)) return -1;
    }
    for (int l = 0; l < m->nhidden + m->nheads; l++) {
        const cl_linear *L = &m->layer[l];
        char name[32], path[4200];
        cl_layer_name(m, l, name, sizeof name);
        size_t wshape[2] = {(size_t)L->out, (size_t)L->in}, bshape[1] = {(size_t)L->out};
        snprintf(path, sizeof path, "%s/%s.weight.npy", dir, name);
        if (cl_npy_write(path, flat + L->w, 2, wshape)) return -1;
        snprintf(path, sizeof path, "%s/%s.bias.npy", dir, name);
        if (cl_npy_write(path, flat + L->b, 1, bshape)) return -1;
    }
    return 0;
}

int cl_save_state(const char *dir, int task, const cl_mlp *m, const cl_reg *reg)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/task%d/params", dir, task);
    if (write_tensors(sub, m, m->params)) return -1;
    float *omega = cl_aligned_calloc(m->nparams, sizeof(float));
    int rc = 0;
    if (cl_reg_importance(reg, omega) == 0) {
        snprintf(sub, sizeof sub, "%s/task%d/importance", dir, task);
        rc = write_tensors(sub, m, omega);
    }
    free(omega);
    return rc;
}
