/* MAS, local Hebbian variant (Aljundi et al. 2018, section 4): each layer's importance measured on that
 * layer's own output y = act(W x + b) with loss ||y||_2^2. For a ReLU layer the per-sample gradient is
 * 2 y_i x_j (zero where the unit is off, where y_i = 0 as well), so
 *
 *     Omega_W = (2/N) |Y|^T |X|        Omega_b = (2/N) sum_k |y_k|
 *
 * the product of pre- and post-synaptic activity: no backward pass at all. We keep the factor 2 (the
 * exact gradient of the squared norm); the paper's Hebbian form drops it, which only rescales lambda.
 * The output layer has no activation: its "own output" is the logits of the finished task's head
 * (class-incremental: the units of the classes seen so far), and the same formula applies with y = f(x).
 * Biases use the same identity with x = 1. Summed across tasks like MAS. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "core/error.h"
#include "regularizers/regint.h"

static void abs_copy(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) out[i] = fabsf(in[i]);
}

static int local_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    const cl_stream *s = v->stream;
    const cl_task *tk = &s->task[v->task];
    int N = cl_view_count(v), B = m->bmax, head = tk->head, L = m->nhidden + 1;
    if (N <= 0) return cl_fail("mas-local: task %d has no samples", v->task + 1);
    cl_quad_term *t = cl_quad_single(&r->quad);
    float *omega = t->omega;
    int widest = s->input_dim > m->nfeat ? s->input_dim : m->nfeat;
    for (int l = 0; l < m->nhidden; l++) widest = m->hidden[l] > widest ? m->hidden[l] : widest;
    size_t big = cl_mlp_conv_max(m, NULL);
    float *G = big ? cl_aligned_calloc(big, sizeof(float)) : NULL;
    float *X = cl_aligned_calloc((size_t)B * s->input_dim, sizeof(float));
    float *AX = cl_aligned_calloc((size_t)B * widest, sizeof(float));
    float *AY = cl_aligned_calloc((size_t)B * (widest > m->maxout ? widest : m->maxout), sizeof(float));
    int *y = cl_malloc(sizeof(int) * B), *pos = cl_malloc(sizeof(int) * B);
    float alpha = 2.0f / (float)N;
    for (int start = 0; start < N; start += B) {
        int nb = N - start < B ? N - start : B;
        for (int k = 0; k < nb; k++) pos[k] = start + k;
        cl_stream_batch(s, v->task, v->test, pos, nb, X, y);
        cl_mlp_forward(m, X, nb, head);
        /* A conv layer's own output y = ReLU(conv(x)): the per-sample gradient of ||y||^2 is G_n = (2 y_n)
         * col_n^T, which does not factor over positions (models/conv.h), so it is formed per sample. dout is
         * free here (no backward pass) and holds 2 y. */
        for (int i = 0; i < m->nstem; i++) {
            cl_stem *st = &m->stem[i];
            if (st->kind != CL_STEM_CONV) continue;
            for (size_t j = 0; j < (size_t)nb * st->out_n; j++) st->dout[j] = 2.0f * st->out[j];
            cl_conv2d_sample_grads(omega + st->w, omega + st->b, st->dout, st->in, nb, &st->conv, 0, 1.0f / (float)N,
                                   NULL, m->col, G);
        }
        for (int l = 0; l < L; l++) {
            const cl_linear *ly = l < m->nhidden ? &m->layer[l] : cl_mlp_head(m, head);
            const float *out = l < m->nhidden ? m->act[l + 1] : m->logits;
            abs_copy(AX, m->act[l], (size_t)nb * ly->in);
            abs_copy(AY, out, (size_t)nb * ly->out);
            if (l == m->nhidden) /* units of classes not yet seen are not part of the output */
                for (int k = 0; k < nb; k++)
                    for (int o = tk->active; o < ly->out; o++) AY[(size_t)k * ly->out + o] = 0.0f;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, ly->out, ly->in, nb, alpha, AY, ly->out, AX, ly->in,
                        1.0f, omega + ly->w, ly->in);
            for (int k = 0; k < nb; k++)
                for (int o = 0; o < ly->out; o++) omega[ly->b + o] += alpha * AY[(size_t)k * ly->out + o];
        }
    }
    memcpy(t->anchor, m->params, m->nparams * sizeof(float));
    free(X);
    free(AX);
    free(AY);
    free(G);
    free(y);
    free(pos);
    return 0;
}

/* Forward passes only, and one gemm per layer: make bench measures 0.78 of a training epoch. */
static int local_cost(const cl_reg *r, int nclasses)
{
    (void)r, (void)nclasses;
    return 780;
}

const cl_reg_method cl_reg_mas_local = {
    .name = "mas-local",
    .summary = "MAS, local Hebbian: Omega_W = (2/N) |Y|^T |X| per layer, no backward pass",
    .style = {"#2ca02c", 1, 9},
    .memory = {.imp = 2},
    .params = (const cl_reg_param[]){{"lambda", "0.01", "penalty strength"}, CL_REG_DATA_PARAMS, {NULL, NULL, NULL}},
    .end_task = local_end_task,
    .importance_cost = local_cost,
    .penalty = cl_reg_quad_penalty,
    .add_penalty_grad = cl_reg_quad_add_grad,
};
