/* Every importance estimator against a brute-force computation that runs the model on one sample at a
 * time and accumulates per-sample gradients the slow obvious way (in double), on a small random MLP with
 * two hidden layers and several heads. Agreement to 1e-5 relative. */
#include "tests/testutil.h"

#include <math.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "models/mlp.h"
#include "regularizers/regint.h"

enum { NSAMP = 37, BMAX = 16 }; /* 37 samples in chunks of 16: full and partial batches */

static cl_data data;

static int setup(void **state)
{
    (void)state;
    cl_data_synthetic(&data, 200, 150, 6, 6, 6, 9);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cl_data_free(&data);
    return 0;
}

typedef struct fixture {
    cl_stream s;
    cl_mlp *m;
} fixture;

/* The fixtures' network: 0 the MLP, 1 a CNN (set by the tests that run on it), of architecture cnn_arch. */
static int use_cnn;
static const char *cnn_arch = "conv3k3p1, maxpool2, conv2k2, dense5";

/* A split stream (3 tasks of 2 classes) in the given scenario and a random 36-7-5-heads MLP, or a CNN over
 * the 6x6 images: conv 3 channels 3x3 padded, max-pool 2, conv 2 channels 2x2, dense 5, the heads. */
static void make_fixture(fixture *f, cl_scenario sc)
{
    cl_stream_cfg c = cl_stream_defaults();
    c.kind = CL_STREAM_SPLIT;
    c.scenario = sc;
    assert_int_equal(cl_stream_create(&f->s, &data, &c), 0);
    int hidden[2] = {7, 5};
    if (use_cnn) {
        cl_arch a;
        assert_int_equal(cl_arch_parse(&a, cnn_arch, "arch"), 0);
        f->m = cl_mlp_create_arch(&a, 1, 6, 6, f->s.head_out, f->s.nheads, BMAX, "arch");
        assert_non_null(f->m);
    } else {
        f->m = cl_mlp_create(f->s.input_dim, hidden, 2, f->s.head_out, f->s.nheads, BMAX);
    }
    cl_rng r;
    cl_rng_seed(&r, 4, 5);
    cl_mlp_init(f->m, &r);
    /* larger weights than the default init, so logits and signals are not all tiny */
    for (size_t i = 0; i < f->m->nparams; i++) f->m->params[i] *= 2.0f;
}

static void free_fixture(fixture *f)
{
    cl_mlp_free(f->m);
    cl_stream_free(&f->s);
}

enum kind { MAS_L2SQ, MAS_L2, EWC_EMP, EWC_SAMPLED, EWC_EXACT };

/* Per-sample gradient of the loss whose logit gradient is d (B = 1), into m->grads (trunk + head). */
static void sample_grad(cl_mlp *m, const float *d, int head)
{
    memset(m->grads, 0, m->nparams * sizeof(float));
    cl_mlp_backward(m, d, 1, head, CL_GRAD_SET);
}

static void softmax(const float *z, int n, double *p)
{
    double mx = z[0], s = 0;
    for (int c = 1; c < n; c++) mx = fmax(mx, z[c]);
    for (int c = 0; c < n; c++) s += exp(z[c] - mx);
    for (int c = 0; c < n; c++) p[c] = exp(z[c] - mx) / s;
}

/* The brute force. batch > 0: the batch-mean compatibility estimate over batches of that size. */
static void brute(fixture *f, int task, int test, enum kind kind, int batch, cl_rng *rng, double *om)
{
    cl_mlp *m = f->m;
    const cl_task *tk = &f->s.task[task];
    int C = m->head_out[tk->head], A = tk->active;
    float x[64], d[16];
    int y;
    double p[16];
    double *bsum = calloc(m->nparams, sizeof(double));
    memset(om, 0, m->nparams * sizeof(double));
    assert_true((test ? tk->ntest : tk->ntrain) >= NSAMP);
    for (int k = 0; k < NSAMP; k++) {
        cl_stream_batch(&f->s, task, test, &k, 1, x, &y);
        cl_mlp_forward(m, x, 1, tk->head);
        const float *z = m->logits;
        int npass = kind == EWC_EXACT ? A : 1;
        for (int pass = 0; pass < npass; pass++) {
            double w = 1.0;
            memset(d, 0, sizeof d);
            if (kind == MAS_L2SQ) {
                for (int c = 0; c < A; c++) d[c] = 2 * z[c];
            } else if (kind == MAS_L2) {
                double n = 0;
                for (int c = 0; c < A; c++) n += (double)z[c] * z[c];
                for (int c = 0; c < A; c++) d[c] = (float)(z[c] / sqrt(n));
            } else {
                softmax(z, A, p);
                int label = y;
                if (kind == EWC_SAMPLED) {
                    float u = cl_rng_uniform(rng), acc = 0;
                    for (label = 0; label < A - 1; label++) {
                        acc += (float)p[label];
                        if (u < acc) break;
                    }
                } else if (kind == EWC_EXACT) {
                    label = pass;
                    w = p[pass];
                }
                for (int c = 0; c < A; c++) d[c] = (float)p[c];
                d[label] -= 1.0f;
            }
            sample_grad(m, d, tk->head);
            for (size_t i = 0; i < m->nparams; i++) {
                double g = m->grads[i];
                if (batch) bsum[i] += g;
                else om[i] += (kind <= MAS_L2 ? fabs(g) : w * g * g) / NSAMP;
            }
            (void)C;
        }
        if (batch && ((k + 1) % batch == 0 || k == NSAMP - 1)) {
            int nb = k % batch + 1;
            for (size_t i = 0; i < m->nparams; i++) {
                om[i] += (double)nb / NSAMP * fabs(bsum[i] / nb);
                bsum[i] = 0;
            }
        }
    }
    free(bsum);
}

static void compare(const float *got, const double *want, size_t n, const char *what)
{
    double mx = 0;
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(want[i]));
    assert_true(mx > 0);
    for (size_t i = 0; i < n; i++) {
        double tol = 1e-5 * fmax(fabs(got[i]), fabs(want[i])) + 1e-9 * mx;
        if (!(fabs(got[i] - want[i]) <= tol))
            fail_msg("%s: Omega[%zu] = %.9g, brute force %.9g", what, i, got[i], want[i]);
        nonzero += want[i] != 0;
    }
    /* the comparison covered real values, not just zeros (the CNN's tiny layers are half layout padding, each
     * weight and bias block rounded up to 16 floats) */
    if (!(nonzero > n / (use_cnn ? 5 : 3))) fail_msg("%s: only %zu of %zu entries non-zero", what, nonzero, n);
}

static void check(cl_scenario sc, const char *method, const char *const *params, int np, enum kind kind, int task,
                  int batch)
{
    fixture f;
    make_fixture(&f, sc);
    cl_reg *r = cl_reg_create(method, params, np, f.m);
    if (!r) fail_msg("%s", cl_errmsg());
    /* importance computed after task `task` (the tasks before it only matter for the active units) */
    cl_rng rng1, rng2;
    cl_rng_seed(&rng1, 3, 3);
    cl_rng_seed(&rng2, 3, 3);
    cl_task_view v = {.stream = &f.s, .task = task, .test = r->on_test, .nsamples = NSAMP, .rng = &rng1};
    assert_int_equal(cl_reg_end_task(r, f.m, &v), 0);
    float *got = malloc(f.m->nparams * sizeof(float));
    double *want = malloc(f.m->nparams * sizeof(double));
    assert_int_equal(cl_reg_importance(r, got), 0);
    brute(&f, task, r->on_test, kind, batch, &rng2, want);
    char what[128];
    snprintf(what, sizeof what, "%s %s (scenario %s, task %d)", method, np ? params[np - 1] : "", cl_scenario_name(sc), task + 1);
    compare(got, want, f.m->nparams, what);
    free(got);
    free(want);
    cl_reg_free(r);
    free_fixture(&f);
}

static void test_mas_l2sq(void **state)
{
    (void)state;
    const char *p[] = {"samples=37"};
    check(CL_SCEN_TASK, "mas", p, 1, MAS_L2SQ, 1, 0);
    check(CL_SCEN_CLASS, "mas", p, 1, MAS_L2SQ, 2, 0); /* 6 units, all active at task 3 */
    check(CL_SCEN_CLASS, "mas", p, 1, MAS_L2SQ, 1, 0); /* 4 of 6 units active */
}

static void test_mas_l2(void **state)
{
    (void)state;
    const char *p[] = {"samples=37", "norm=l2"};
    check(CL_SCEN_TASK, "mas", p, 2, MAS_L2, 0, 0);
    check(CL_SCEN_DOMAIN, "mas", p, 2, MAS_L2, 2, 0);
}

static void test_mas_on_test_data(void **state)
{
    (void)state;
    const char *p[] = {"samples=37", "data=test"};
    check(CL_SCEN_TASK, "mas", p, 2, MAS_L2SQ, 2, 0);
}

static void test_mas_batch_estimate(void **state)
{
    (void)state;
    const char *p[] = {"samples=37", "batch=8", "estimate=batch"};
    check(CL_SCEN_TASK, "mas", p, 3, MAS_L2SQ, 1, 8);
}

static void test_ewc_empirical(void **state)
{
    (void)state;
    const char *p[] = {"samples=37", "fisher=empirical"};
    check(CL_SCEN_TASK, "ewc", p, 2, EWC_EMP, 1, 0);
    check(CL_SCEN_CLASS, "ewc", p, 2, EWC_EMP, 1, 0);
}

static void test_ewc_sampled(void **state)
{
    (void)state;
    const char *p[] = {"samples=37", "fisher=sampled"};
    check(CL_SCEN_TASK, "ewc", p, 2, EWC_SAMPLED, 2, 0);
    check(CL_SCEN_CLASS, "ewc", p, 2, EWC_SAMPLED, 2, 0);
}

static void test_ewc_exact(void **state)
{
    (void)state;
    const char *p[] = {"samples=37", "fisher=exact"};
    check(CL_SCEN_TASK, "ewc", p, 2, EWC_EXACT, 0, 0);
    check(CL_SCEN_CLASS, "ewc", p, 2, EWC_EXACT, 2, 0);
}

/* MAS-local: per sample, per layer, the gradient of that layer's own ||y||^2 w.r.t. its weights, by the
 * chain rule in double loops: d||y||^2/dW_ij = 2 y_i relu'(z_i) x_j (identity activation at the head). */
static void test_mas_local(void **state)
{
    (void)state;
    cl_scenario scs[2] = {CL_SCEN_TASK, CL_SCEN_CLASS};
    for (int si = 0; si < 2; si++) {
        fixture f;
        make_fixture(&f, scs[si]);
        cl_mlp *m = f.m;
        int task = 1;
        const cl_task *tk = &f.s.task[task];
        const char *p[] = {"samples=37"};
        cl_reg *r = cl_reg_create("mas-local", p, 1, m);
        cl_task_view v = {.stream = &f.s, .task = task, .nsamples = NSAMP};
        assert_int_equal(cl_reg_end_task(r, m, &v), 0);
        float *got = malloc(m->nparams * sizeof(float));
        double *want = calloc(m->nparams, sizeof(double));
        cl_reg_importance(r, got);
        float x[64];
        int y;
        for (int k = 0; k < NSAMP; k++) {
            cl_stream_batch(&f.s, task, 0, &k, 1, x, &y);
            cl_mlp_forward(m, x, 1, tk->head);
            /* conv layers by their definition: y = ReLU(conv(x)), d||y||^2/dW[o][c][i][j] = sum over output
             * positions of 2 y[o][p] x[c][at p shifted by (i, j)] */
            for (int q = 0; q < m->nstem; q++) {
                const cl_stem *st = &m->stem[q];
                if (st->kind != CL_STEM_CONV) continue;
                const cl_conv_shape *cs = &st->conv;
                for (int o = 0; o < cs->cout; o++) {
                    double gb = 0;
                    for (int c = 0; c < cs->cin; c++)
                        for (int i = 0; i < cs->k; i++)
                            for (int j = 0; j < cs->k; j++) {
                                double g = 0;
                                for (int oh = 0; oh < cs->ho; oh++)
                                    for (int ow = 0; ow < cs->wo; ow++) {
                                        int ih = oh * cs->stride + i - cs->pad, iw = ow * cs->stride + j - cs->pad;
                                        if (ih < 0 || ih >= cs->h || iw < 0 || iw >= cs->w) continue;
                                        g += 2.0 * st->out[(o * cs->ho + oh) * cs->wo + ow] *
                                             st->in[(c * cs->h + ih) * cs->w + iw];
                                    }
                                want[st->w + ((size_t)(o * cs->cin + c) * cs->k + i) * cs->k + j] += fabs(g) / NSAMP;
                            }
                    for (int at = 0; at < cs->ho * cs->wo; at++) gb += 2.0 * st->out[o * cs->ho * cs->wo + at];
                    want[st->b + o] += fabs(gb) / NSAMP;
                }
            }
            for (int l = 0; l <= m->nhidden; l++) {
                const cl_linear *L = l < m->nhidden ? &m->layer[l] : cl_mlp_head(m, tk->head);
                const float *in = m->act[l];
                int nout = l < m->nhidden ? L->out : tk->active;
                for (int i = 0; i < nout; i++) {
                    double z = m->params[L->b + i];
                    for (int j = 0; j < L->in; j++) z += (double)m->params[L->w + (size_t)i * L->in + j] * in[j];
                    double yv = l < m->nhidden ? fmax(z, 0.0) : z;
                    double gate = l < m->nhidden ? (z > 0) : 1.0;
                    for (int j = 0; j < L->in; j++)
                        want[L->w + (size_t)i * L->in + j] += fabs(2 * yv * gate * in[j]) / NSAMP;
                    want[L->b + i] += fabs(2 * yv * gate) / NSAMP;
                }
            }
        }
        compare(got, want, m->nparams, "mas-local");
        free(got);
        free(want);
        cl_reg_free(r);
        free_fixture(&f);
    }
}

/* Every estimator on the CNN fixture against the same brute force: one sample at a time, a full backward
 * pass each, the parameter gradient's |.| or square (conv layers included, where the per-sample gradient
 * sums over output positions and so cannot be factored as the dense layers' are). */
static void test_cnn_estimators(void **state)
{
    use_cnn = 1;
    const char *exact[] = {"fisher=exact", "samples=37"}, *emp[] = {"fisher=empirical", "samples=37"},
               *smp[] = {"fisher=sampled", "samples=37"}, *l2sq[] = {"norm=l2sq", "samples=37"},
               *l2[] = {"norm=l2", "samples=37"}, *batch[] = {"estimate=batch", "batch=8", "samples=37"};
    check(CL_SCEN_TASK, "mas", l2sq, 2, MAS_L2SQ, 1, 0);
    check(CL_SCEN_CLASS, "mas", l2, 2, MAS_L2, 2, 0);
    check(CL_SCEN_DOMAIN, "mas", batch, 3, MAS_L2SQ, 1, 8);
    check(CL_SCEN_TASK, "ewc", emp, 2, EWC_EMP, 1, 0);
    check(CL_SCEN_DOMAIN, "ewc", smp, 2, EWC_SAMPLED, 0, 0);
    check(CL_SCEN_CLASS, "ewc", exact, 2, EWC_EXACT, 2, 0);
    test_mas_local(state);
    use_cnn = 0;
}

/* Importance passes run in evaluation mode, where dropout is the identity: the CNN fixture with dropout at
 * the input, after stem items and after its dense layer has, to the bit, the importances of the same
 * network without them, for every estimator that runs the model, also right after a training step's
 * pass (the training loop leaves the model in evaluation mode after each step). */
static void test_dropout_invisible(void **state)
{
    (void)state;
    static const struct {
        const char *method, *param;
    } est[] = {{"mas", "norm=l2sq"}, {"mas", "estimate=batch"}, {"ewc", "fisher=exact"}, {"ewc", "fisher=sampled"},
               {"mas-local", NULL}};
    use_cnn = 1;
    for (size_t e = 0; e < sizeof est / sizeof est[0]; e++) {
        float *imp[2];
        size_t n = 0;
        for (int drop = 0; drop < 2; drop++) {
            cnn_arch = drop ? "dropout0.2, conv3k3p1, dropout0.3, maxpool2, conv2k2, dropout0.1, dense5, dropout0.5"
                            : "conv3k3p1, maxpool2, conv2k2, dense5";
            fixture f;
            make_fixture(&f, CL_SCEN_TASK);
            assert_int_equal(f.m->ndrop, drop ? 4 : 0);
            if (drop) { /* a training-mode pass, as a step runs, then evaluation mode, as the loop leaves it */
                cl_rng d;
                cl_rng_seed(&d, 1, 2);
                float *x = calloc((size_t)BMAX * f.m->ninput, sizeof(float));
                cl_mlp_set_training(f.m, &d);
                cl_mlp_forward(f.m, x, BMAX, 0);
                cl_mlp_set_training(f.m, NULL);
                free(x);
            }
            const char *params[2] = {"samples=37", est[e].param};
            cl_reg *r = cl_reg_create(est[e].method, params, est[e].param ? 2 : 1, f.m);
            if (!r) fail_msg("%s", cl_errmsg());
            cl_rng rng;
            cl_rng_seed(&rng, 3, 3);
            cl_task_view v = {.stream = &f.s, .task = 1, .test = r->on_test, .nsamples = NSAMP, .rng = &rng};
            assert_int_equal(cl_reg_end_task(r, f.m, &v), 0);
            n = f.m->nparams;
            imp[drop] = malloc(n * sizeof(float));
            assert_int_equal(cl_reg_importance(r, imp[drop]), 0);
            cl_reg_free(r);
            free_fixture(&f);
        }
        if (memcmp(imp[0], imp[1], n * sizeof(float)))
            fail_msg("%s %s: importances differ with dropout items", est[e].method, est[e].param ? est[e].param : "");
        free(imp[0]);
        free(imp[1]);
    }
    cnn_arch = "conv3k3p1, maxpool2, conv2k2, dense5";
    use_cnn = 0;
}

/* The local per-sample gradient itself, against finite differences of ||y||^2 for layer 1 (one sample). */
static void test_mas_local_gradient_fd(void **state)
{
    (void)state;
    fixture f;
    make_fixture(&f, CL_SCEN_DOMAIN);
    cl_mlp *m = f.m;
    float x[64];
    int y, k = 3;
    cl_stream_batch(&f.s, 0, 0, &k, 1, x, &y);
    const cl_linear *L = &m->layer[1];
    for (size_t q = 0; q < (size_t)L->out * L->in; q += 3) {
        size_t i = L->w + q;
        int o = (int)(q / L->in), j = (int)(q % L->in);
        cl_mlp_forward(m, x, 1, 0);
        double yo = m->act[2][o], xj = m->act[1][j], analytic = 2 * yo * (yo > 0) * xj;
        float keep = m->params[i], h = 1e-2f;
        double fp, fm, s;
        m->params[i] = keep + h;
        cl_mlp_forward(m, x, 1, 0);
        s = 0;
        for (int u = 0; u < L->out; u++) s += (double)m->act[2][u] * m->act[2][u];
        fp = s;
        m->params[i] = keep - h;
        cl_mlp_forward(m, x, 1, 0);
        s = 0;
        for (int u = 0; u < L->out; u++) s += (double)m->act[2][u] * m->act[2][u];
        fm = s;
        m->params[i] = keep;
        double numeric = (fp - fm) / (2 * h);
        if (fabs(numeric - analytic) > 1e-3 + 1e-2 * fabs(analytic))
            fail_msg("W1[%d][%d]: analytic %.6g, numeric %.6g", o, j, analytic, numeric);
    }
    free_fixture(&f);
}

/* SI over a few SGD steps: the path integral of -g * delta theta with the unregularized gradient, then
 * Omega = omega / (delta^2 + xi) (the paper's form) or its clipped relu(...), all recomputed here in double. */
static void si_case(int clip)
{
    fixture f;
    make_fixture(&f, CL_SCEN_TASK);
    cl_mlp *m = f.m;
    const char *p[] = {"xi=0.1", "lambda=0.5", clip ? "clip=yes" : "clip=no"};
    cl_reg *r = cl_reg_create("si", p, 3, m);
    size_t n = m->nparams;
    double *path = calloc(n, sizeof(double));
    float *start = malloc(n * sizeof(float)), *before = malloc(n * sizeof(float)), *g = malloc(n * sizeof(float));
    float *dl = malloc(BMAX * 8 * sizeof(float)), X[BMAX * 64], *vel = calloc(n, sizeof(float));
    cl_rng noise;
    cl_rng_seed(&noise, 7, 8);
    int y[BMAX], pos[BMAX];
    /* task 1 first, so the task-2 steps carry a penalty whose gradient SI must not see */
    cl_task_view v0 = {.stream = &f.s, .task = 0};
    cl_reg_begin_task(r, m, 0);
    cl_reg_end_task(r, m, &v0);
    for (size_t i = 0; i < n; i++) m->params[i] += 0.01f * (float)((int)(i % 7) - 3); /* move off the anchor */
    memcpy(start, m->params, n * sizeof(float));
    cl_reg_begin_task(r, m, 1);
    const cl_task *tk = &f.s.task[1];
    for (int step = 0; step < 8; step++) {
        for (int k = 0; k < BMAX; k++) pos[k] = (step * BMAX + k) % tk->ntrain;
        cl_stream_batch(&f.s, 1, 0, pos, BMAX, X, y);
        cl_mlp_forward(m, X, BMAX, tk->head);
        cl_softmax_xent(m->logits, y, BMAX, m->head_out[tk->head], tk->active, dl);
        cl_mlp_backward(m, dl, BMAX, tk->head, CL_GRAD_SET);
        memcpy(g, m->grads, n * sizeof(float));
        memcpy(before, m->params, n * sizeof(float));
        cl_reg_add_penalty_grad(r, m, m->grads);
        /* SGD with momentum and noise (as minibatches bring): some steps go against the current gradient,
         * the case where the two forms differ */
        for (size_t i = 0; i < n; i++) {
            vel[i] = 0.9f * vel[i] + m->grads[i] + 0.01f * cl_rng_normal(&noise);
            m->params[i] -= 0.1f * vel[i];
        }
        /* this optimizer moves every parameter, so the step's range is the whole buffer */
        cl_range all = {0, n};
        cl_step st = {.task = 1, .head = tk->head, .batch = BMAX, .index = step, .ranges = &all, .nranges = 1,
                      .grad = g, .theta_before = before, .signals = 1};
        cl_reg_after_step(r, m, &st);
        for (size_t i = 0; i < n; i++) path[i] -= (double)g[i] * ((double)m->params[i] - before[i]);
    }
    /* Omega after task 1 is 0 (nothing moved during its training), so after task 2 it is task 2's alone */
    cl_task_view v1 = {.stream = &f.s, .task = 1};
    assert_int_equal(cl_reg_end_task(r, m, &v1), 0);
    float *got = malloc(n * sizeof(float));
    double *want = calloc(n, sizeof(double));
    size_t negative = 0;
    cl_reg_importance(r, got);
    for (size_t i = 0; i < n; i++) {
        double d = (double)m->params[i] - start[i];
        want[i] = clip ? fmax(path[i] / (d * d + 0.1), 0.0) : path[i] / (d * d + 0.1);
        negative += want[i] < 0;
    }
    compare(got, want, n, clip ? "si clip=yes" : "si clip=no");
    /* the unclipped form keeps the terms of parameters whose steps raised the loss: there are some here */
    if (!clip && negative == 0) {
        double mn = 0, mx = 0;
        for (size_t i = 0; i < n; i++) mn = fmin(mn, path[i]), mx = fmax(mx, path[i]);
        fail_msg("si clip=no: no negative term to tell the two forms apart (path %g..%g)", mn, mx);
    }
    assert_int_equal(r->signed_importance, !clip);
    free(path);
    free(start);
    free(before);
    free(g);
    free(dl);
    free(vel);
    free(got);
    free(want);
    cl_reg_free(r);
    free_fixture(&f);
}

static void test_si(void **state)
{
    (void)state;
    si_case(0);
    si_case(1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mas_l2sq),       cmocka_unit_test(test_mas_l2),
        cmocka_unit_test(test_mas_on_test_data), cmocka_unit_test(test_mas_batch_estimate),
        cmocka_unit_test(test_ewc_empirical),  cmocka_unit_test(test_ewc_sampled),
        cmocka_unit_test(test_ewc_exact),      cmocka_unit_test(test_mas_local),
        cmocka_unit_test(test_mas_local_gradient_fd), cmocka_unit_test(test_si),
        cmocka_unit_test(test_cnn_estimators), cmocka_unit_test(test_dropout_invisible),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
