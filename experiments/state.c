#include "experiments/state.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One tensor of cl_save_state's layout back into dst, refusing a file whose shape is not the model's. */
static int read_tensor(const char *path, int ndim, const size_t *shape, float *dst)
{
    float *data;
    size_t count, got[4];
    int nd;
    if (cl_npy_read(path, &data, &count, &nd, got)) return -1;
    int same = nd == ndim;
    for (int i = 0; same && i < ndim; i++) same = got[i] == shape[i];
    if (!same) {
        free(data);
        return cl_fail("%s: shape does not match the model's (%d dimensions, first %zu; expected %d, first %zu)", path,
                       nd, nd > 0 ? got[0] : 0, ndim, shape[0]);
    }
    memcpy(dst, data, count * sizeof(float));
    free(data);
    return 0;
}

static int read_tensors(const char *dir, const cl_mlp *m, float *flat)
{
    char path[4200];
    for (int i = 0, nconv = 0; i < m->nstem; i++) {
        const cl_stem *st = &m->stem[i];
        if (st->kind != CL_STEM_CONV) continue;
        const cl_conv_shape *c = &st->conv;
        size_t wshape[4] = {(size_t)c->cout, (size_t)c->cin, (size_t)c->k, (size_t)c->k}, bshape[1] = {(size_t)c->cout};
        snprintf(path, sizeof path, "%s/conv%d.weight.npy", dir, nconv);
        if (read_tensor(path, 4, wshape, flat + st->w)) return -1;
        snprintf(path, sizeof path, "%s/conv%d.bias.npy", dir, nconv++);
        if (read_tensor(path, 1, bshape, flat + st->b)) return -1;
    }
    for (int l = 0; l < m->nhidden + m->nheads; l++) {
        const cl_linear *L = &m->layer[l];
        char name[32];
        cl_layer_name(m, l, name, sizeof name);
        size_t wshape[2] = {(size_t)L->out, (size_t)L->in}, bshape[1] = {(size_t)L->out};
        snprintf(path, sizeof path, "%s/%s.weight.npy", dir, name);
        if (read_tensor(path, 2, wshape, flat + L->w)) return -1;
        snprintf(path, sizeof path, "%s/%s.bias.npy", dir, name);
        if (read_tensor(path, 1, bshape, flat + L->b)) return -1;
    }
    return 0;
}

int cl_load_state(const char *dir, int task, const char *what, const cl_mlp *m, float *flat)
{
    char sub[4096];
    snprintf(sub, sizeof sub, "%s/task%d/%s", dir, task, what);
    /* the flat buffer's padding between tensors (models/mlp.c aligns each) is in no file: leave it zero */
    memset(flat, 0, m->nparams * sizeof(float));
    return read_tensors(sub, m, flat);
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
