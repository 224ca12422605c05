/* Gradient checks: every layer's backward against central finite differences, and the whole MLP with
 * several layers and heads, with and without dropout. Shapes are deliberately non-square so a wrong
 * transpose cannot pass. Dropout: evaluation mode is the identity, training mode drops the right share of
 * units and scales the rest. */
#include "tests/testutil.h"

#include <math.h>

#include "core/rng.h"
#include "core/error.h"
#include "models/mlp.h"

static void fill(float *a, size_t n, cl_rng *r, float scale)
{
    for (size_t i = 0; i < n; i++) a[i] = (2.0f * cl_rng_uniform(r) - 1.0f) * scale;
}

/* |a - b| <= atol + rtol * max(|a|, |b|) */
static void assert_close(double a, double b, double atol, double rtol, const char *what, size_t i)
{
    double tol = atol + rtol * fmax(fabs(a), fabs(b));
    if (!(fabs(a - b) <= tol)) fail_msg("%s[%zu]: analytic %.8g vs numeric %.8g (tol %.3g)", what, i, a, b, tol);
}

/* f = sum(out * R) for the linear layer; gradients are exact in theory, FD error is rounding only. */
static double linear_objective(const float *in, const float *W, const float *b, const float *R, int B, int I, int O)
{
    float *out = calloc((size_t)B * O, sizeof(float));
    cl_linear_forward(out, in, W, b, B, I, O);
    double f = 0;
    for (int i = 0; i < B * O; i++) f += (double)out[i] * R[i];
    free(out);
    return f;
}

static void test_linear_backward(void **state)
{
    (void)state;
    enum { B = 3, I = 5, O = 4 };
    cl_rng r;
    cl_rng_seed(&r, 7, 1);
    float in[B * I], W[O * I], b[O], R[B * O], din[B * I], dW[O * I], db[O];
    fill(in, B * I, &r, 1);
    fill(W, O * I, &r, 1);
    fill(b, O, &r, 1);
    fill(R, B * O, &r, 1);
    cl_linear_backward(din, dW, db, R, in, W, B, I, O, 0);
    const float h = 1e-2f;
    struct { float *p, *g; int n; const char *name; } groups[] = {{in, din, B * I, "din"}, {W, dW, O * I, "dW"}, {b, db, O, "db"}};
    for (int gi = 0; gi < 3; gi++)
        for (int i = 0; i < groups[gi].n; i++) {
            float keep = groups[gi].p[i];
            groups[gi].p[i] = keep + h;
            double fp = linear_objective(in, W, b, R, B, I, O);
            groups[gi].p[i] = keep - h;
            double fm = linear_objective(in, W, b, R, B, I, O);
            groups[gi].p[i] = keep;
            assert_close(groups[gi].g[i], (fp - fm) / (2 * h), 1e-4, 1e-3, groups[gi].name, (size_t)i);
        }
}

static void test_relu_backward(void **state)
{
    (void)state;
    float x[6] = {-2.0f, -0.5f, 0.3f, 1.5f, -1.0f, 2.0f}, y[6], d[6] = {1, 2, 3, 4, 5, 6};
    memcpy(y, x, sizeof x);
    cl_relu_forward(y, 6);
    cl_relu_backward(d, y, 6);
    const float h = 1e-3f;
    for (int i = 0; i < 6; i++) {
        /* f = sum_i c_i relu(x_i), c = 1..6 */
        float xp = x[i] + h, xm = x[i] - h;
        double num = (i + 1) * ((xp > 0 ? xp : 0) - (xm > 0 ? xm : 0)) / (2 * h);
        assert_close(d[i], num, 1e-4, 1e-3, "relu", (size_t)i);
    }
}

static void test_softmax_xent_backward(void **state)
{
    (void)state;
    enum { B = 4, C = 6 };
    cl_rng r;
    cl_rng_seed(&r, 3, 2);
    float z[B * C], dz[B * C];
    int y[B] = {0, 3, 2, 3};
    fill(z, B * C, &r, 3);
    int nactive = 4; /* the last two units are outside the softmax, as for unseen classes */
    float loss = cl_softmax_xent(z, y, B, C, nactive, dz);
    /* hand check of the value for the first row */
    double mx = z[0], s = 0, total = 0;
    for (int k = 0; k < B; k++) {
        mx = z[k * C];
        for (int c = 1; c < nactive; c++) mx = fmax(mx, z[k * C + c]);
        s = 0;
        for (int c = 0; c < nactive; c++) s += exp(z[k * C + c] - mx);
        total += log(s) + mx - z[k * C + y[k]];
    }
    assert_close(loss, total / B, 1e-6, 1e-5, "loss", 0);
    const float h = 1e-3f;
    for (int i = 0; i < B * C; i++) {
        float keep = z[i];
        z[i] = keep + h;
        double fp = cl_softmax_xent(z, y, B, C, nactive, NULL);
        z[i] = keep - h;
        double fm = cl_softmax_xent(z, y, B, C, nactive, NULL);
        z[i] = keep;
        assert_close(dz[i], (fp - fm) / (2 * h), 2e-4, 2e-3, "dlogits", (size_t)i);
        if (i % C >= nactive) assert_true(dz[i] == 0.0f);
    }
}

/* The mean cross-entropy of head `head` on x, y; in training mode from the stream state *drop (the same
 * masks every call), or in evaluation mode (drop NULL). */
static double loss_at(cl_mlp *m, const float *x, const int *y, int B, int head, const cl_rng *drop)
{
    int C = m->head_out[head];
    cl_mlp_set_training(m, drop);
    cl_mlp_forward(m, x, B, head);
    return cl_softmax_xent(m->logits, y, B, C, C, NULL);
}

/* Every parameter's gradient in m->grads (after a backward pass of the mean cross-entropy of head `head` on
 * x, y) against central differences; head 0's entries must still hold `sentinel` (another head's gradient is
 * left alone). drop: the dropout stream the analytic pass was run in training mode from, so that every
 * evaluation here draws the same masks (NULL: evaluation mode).
 *
 * A max-pooling window whose two largest inputs lie within the step h of each other changes its winner
 * inside [theta - h, theta + h]: a kink, where central differences average two pieces of the function.
 * The one-sided differences then disagree by more than their rounding, and the analytic gradient, the
 * derivative of the piece theta sits in, must match one of them. One near tie puts every weight of the
 * layers below it at a kink at once; dropout before a pooling makes ties likelier (a CNN of the tests below
 * has 0 to 21 of 320 parameters at kinks, by the masks' seed). At most 1 in 10 parameters may sit at one.
 * Returns the parameters checked, and in *nbelow (if given) how many of them lie below offset `below`. */
static size_t check_param_grads(cl_mlp *m, const float *x, const int *y, int B, int head, float sentinel,
                                size_t below, size_t *nbelow, const cl_rng *drop, const char *what)
{
    const float h = 1e-3f;
    size_t checked = 0, under = 0, kinks = 0;
    double f0 = loss_at(m, x, y, B, head, drop);
    for (size_t i = 0; i < m->nparams; i++) {
        if (i >= m->head_off[0] && i < m->head_off[0] + m->head_len[0]) {
            assert_true(m->grads[i] == sentinel);
            continue;
        }
        float keep = m->params[i];
        m->params[i] = keep + h;
        double fp = loss_at(m, x, y, B, head, drop);
        m->params[i] = keep - h;
        double fm = loss_at(m, x, y, B, head, drop);
        m->params[i] = keep;
        double g = m->grads[i], central = (fp - fm) / (2 * h), left = (f0 - fm) / h, right = (fp - f0) / h;
        /* the loss is a float near 1: one-sided differences round to about 1.2e-4 */
        double tol = 3e-4 + 3e-3 * fmax(fabs(g), fabs(central));
        if (!(fabs(g - central) <= tol) && fabs(left - right) > 5e-4 &&
            (fabs(g - left) <= tol || fabs(g - right) <= tol))
            kinks++;
        else
            assert_close(g, central, 3e-4, 3e-3, what, i);
        checked++;
        under += i < below;
    }
    cl_mlp_set_training(m, NULL);
    if (kinks * 10 > checked) fail_msg("%s: %zu of %zu parameters at a kink", what, kinks, checked);
    if (nbelow) *nbelow = under;
    return checked;
}

/* The whole network: gradients of the mean cross-entropy through 2 hidden layers into head 1 of 2. */
static void test_mlp_backward(void **state)
{
    (void)state;
    enum { B = 5, IN = 7, NH = 2 };
    int hidden[2] = {6, 5}, heads[NH] = {3, 4};
    cl_mlp *m = cl_mlp_create(IN, hidden, 2, heads, NH, B);
    assert_non_null(m);
    cl_rng r;
    cl_rng_seed(&r, 11, 3);
    cl_mlp_init(m, &r);
    /* Biases away from zero keep the ReLUs off their kink, where finite differences are meaningless. */
    for (int l = 0; l < 2; l++)
        for (int o = 0; o < hidden[l]; o++) m->params[m->layer[l].b + o] = 0.3f;
    float x[B * IN];
    fill(x, B * IN, &r, 1);
    int y[B] = {0, 1, 2, 3, 1};
    int head = 1, C = heads[head];
    float dlogits[B * 4];
    memset(m->grads, 0, m->nparams * sizeof(float));
    float sentinel = 123.0f;
    for (size_t i = m->head_off[0]; i < m->head_off[0] + m->head_len[0]; i++) m->grads[i] = sentinel;
    cl_mlp_forward(m, x, B, head);
    cl_softmax_xent(m->logits, y, B, C, C, dlogits);
    cl_mlp_backward(m, dlogits, B, head, CL_GRAD_SET);

    size_t checked = check_param_grads(m, x, y, B, head, sentinel, 0, NULL, NULL, "param grad");
    assert_true(checked > 100);
    cl_mlp_free(m);
}

/* A whole CNN with two heads: conv (stride, padding), max-pooling, a strided conv, overlapping
 * average-pooling, a dense layer, through head 1 of 2, on non-square 2-channel images. Every parameter's
 * gradient of the mean cross-entropy against central finite differences; head 0's left alone. */
static void test_cnn_backward(void **state)
{
    (void)state;
    enum { B = 4, NH = 2 };
    cl_arch a;
    assert_int_equal(cl_arch_parse(&a, "conv4k3p1, maxpool2, conv3k3s2p1, avgpool2s1, dense6", "arch"), 0);
    int heads[NH] = {3, 4};
    cl_mlp *m = cl_mlp_create_arch(&a, 2, 9, 7, heads, NH, B, "arch");
    if (!m) fail_msg("%s", cl_errmsg());
    assert_int_equal(m->nstem, 4);
    assert_int_equal(m->ninput, 2 * 9 * 7);
    /* 2x9x7 -> conv 4x9x7 -> pool 4x4x3 -> conv s2 3x2x2 -> avgpool s1 3x1x1: 3 features */
    assert_int_equal(m->nfeat, 3);
    assert_int_equal(m->layer[0].in, 3);
    cl_rng r;
    cl_rng_seed(&r, 17, 5);
    cl_mlp_init(m, &r);
    /* conv biases away from zero keep most ReLUs off their kink */
    for (int i = 0; i < m->nstem; i++)
        if (m->stem[i].kind == CL_STEM_CONV)
            for (int o = 0; o < m->stem[i].conv.cout; o++) m->params[m->stem[i].b + o] = 0.2f;
    for (int o = 0; o < 6; o++) m->params[m->layer[0].b + o] = 0.3f;
    float x[B * 2 * 9 * 7];
    fill(x, sizeof x / sizeof x[0], &r, 1);
    int y[B] = {0, 3, 2, 1};
    int head = 1, C = heads[head];
    float dlogits[B * 4];
    memset(m->grads, 0, m->nparams * sizeof(float));
    float sentinel = 123.0f;
    for (size_t i = m->head_off[0]; i < m->head_off[0] + m->head_len[0]; i++) m->grads[i] = sentinel;
    cl_mlp_forward(m, x, B, head);
    cl_softmax_xent(m->logits, y, B, C, C, dlogits);
    cl_mlp_backward(m, dlogits, B, head, CL_GRAD_SET);
    size_t stem_checked;
    size_t checked = check_param_grads(m, x, y, B, head, sentinel, m->layer[0].w, &stem_checked, NULL,
                                       "cnn param grad");
    /* the convolutions' 4*2*9+4 and 3*4*9+3 parameters (with the layout's padding) were all checked */
    assert_true(stem_checked >= 76 + 111);
    assert_true(checked > 250);
    cl_mlp_free(m);
}

/* The per-sample backward signals: row k of dz[l] after a batch equals (1/B) x the signal of sample k run
 * alone, for every layer. The regularizers' exact per-sample importances rest on this. */
static void test_per_sample_signals(void **state)
{
    (void)state;
    enum { B = 4, IN = 6 };
    int hidden[2] = {5, 3}, heads[1] = {4};
    cl_mlp *m = cl_mlp_create(IN, hidden, 2, heads, 1, B);
    cl_rng r;
    cl_rng_seed(&r, 5, 4);
    cl_mlp_init(m, &r);
    float x[B * IN], dl[B * 4], dl1[4];
    fill(x, B * IN, &r, 1);
    int y[B] = {3, 0, 1, 2};
    cl_mlp_forward(m, x, B, 0);
    cl_softmax_xent(m->logits, y, B, 4, 4, dl);
    cl_mlp_backward(m, dl, B, 0, CL_GRAD_NONE);
    float saved[2][B * 5];
    for (int l = 0; l < 2; l++) memcpy(saved[l], m->dz[l], sizeof(float) * B * hidden[l]);
    for (int k = 0; k < B; k++) {
        cl_mlp_forward(m, x + k * IN, 1, 0);
        cl_softmax_xent(m->logits, y + k, 1, 4, 4, dl1);
        cl_mlp_backward(m, dl1, 1, 0, CL_GRAD_NONE);
        for (int l = 0; l < 2; l++)
            for (int o = 0; o < hidden[l]; o++)
                assert_close(saved[l][k * hidden[l] + o] * B, m->dz[l][o], 1e-6, 1e-5, "dz", (size_t)o);
    }
    cl_mlp_free(m);
}

/* CL_GRAD_ADD: a batch trained in two groups (each group's logit gradient weighted by its share) gives the
 * same parameter gradient as the whole batch at once. Joint training over several heads relies on it. */
static void test_grad_accumulate(void **state)
{
    (void)state;
    enum { B = 6, IN = 5 };
    int hidden[1] = {4}, heads[1] = {3};
    cl_mlp *m = cl_mlp_create(IN, hidden, 1, heads, 1, B);
    cl_rng r;
    cl_rng_seed(&r, 2, 9);
    cl_mlp_init(m, &r);
    float x[B * IN], dl[B * 3];
    fill(x, B * IN, &r, 1);
    int y[B] = {0, 1, 2, 2, 1, 0};
    cl_mlp_forward(m, x, B, 0);
    cl_softmax_xent(m->logits, y, B, 3, 3, dl);
    cl_mlp_backward(m, dl, B, 0, CL_GRAD_SET);
    float *whole = malloc(m->nparams * sizeof(float));
    memcpy(whole, m->grads, m->nparams * sizeof(float));
    memset(m->grads, 0, m->nparams * sizeof(float));
    int split = 2;
    for (int part = 0; part < 2; part++) {
        int a = part ? split : 0, nb = part ? B - split : split;
        cl_mlp_forward(m, x + a * IN, nb, 0);
        cl_softmax_xent(m->logits, y + a, nb, 3, 3, dl);
        for (int i = 0; i < nb * 3; i++) dl[i] *= (float)nb / B;
        cl_mlp_backward(m, dl, nb, 0, CL_GRAD_ADD);
    }
    for (size_t i = 0; i < m->nparams; i++) assert_close(m->grads[i], whole[i], 1e-6, 1e-5, "accumulated", i);
    free(whole);
    cl_mlp_free(m);
}

/* ---- dropout ----------------------------------------------------------------------------------------- */

/* A model from an architecture text over c x h x w inputs, heads {3, 4}, initialized from `seed`. */
static cl_mlp *arch_model(const char *text, int c, int h, int w, int B, uint64_t seed)
{
    cl_arch a;
    int heads[2] = {3, 4};
    if (cl_arch_parse(&a, text, "arch")) fail_msg("%s", cl_errmsg());
    cl_mlp *m = cl_mlp_create_arch(&a, c, h, w, heads, 2, B, "arch");
    if (!m) fail_msg("%s", cl_errmsg());
    cl_rng r;
    cl_rng_seed(&r, seed, 1);
    cl_mlp_init(m, &r);
    return m;
}

/* The layer alone: the share of dropped units is p (200,000 units: 5 standard deviations are below 0.005),
 * survivors are scaled by exactly 1/(1-p), the mean is kept, the same stream state gives the same mask in
 * place or not, and the backward pass applies the mask with the same factor. */
static void test_dropout_layer(void **state)
{
    (void)state;
    enum { N = 200000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float)), *z = malloc(N * sizeof(float));
    uint8_t *mask = malloc(N), *mask2 = malloc(N);
    cl_rng r;
    cl_rng_seed(&r, 21, 1);
    for (int i = 0; i < N; i++) x[i] = 0.5f + cl_rng_uniform(&r);
    const float ps[3] = {0.1f, 0.5f, 0.9f};
    for (int pi = 0; pi < 3; pi++) {
        float p = ps[pi], scale = 1.0f / (1.0f - p);
        cl_rng_seed(&r, 22, (uint64_t)pi);
        cl_rng r0 = r;
        cl_dropout_forward(y, x, mask, N, p, &r);
        long dropped = 0;
        double sx = 0, sy = 0;
        for (int i = 0; i < N; i++) {
            assert_true(mask[i] == 0 || mask[i] == 1);
            if (!mask[i]) {
                assert_true(y[i] == 0.0f);
                dropped++;
            } else if (y[i] != x[i] * scale) {
                fail_msg("p %g: unit %d: %.9g, expected %.9g x %.9g", (double)p, i, (double)y[i], (double)x[i],
                         (double)scale);
            }
            sx += x[i];
            sy += y[i];
        }
        double share = (double)dropped / N;
        if (fabs(share - p) > 0.005) fail_msg("p %g: %.4f of the units dropped", (double)p, share);
        if (fabs(sy / sx - 1) > 0.02) fail_msg("p %g: mean %.4f of the input's", (double)p, sy / sx);
        /* the same stream state: the same mask, in place and without a mask buffer alike */
        memcpy(z, x, N * sizeof(float));
        r = r0;
        cl_dropout_forward(z, z, mask2, N, p, &r);
        assert_memory_equal(z, y, N * sizeof(float));
        assert_memory_equal(mask2, mask, N);
        r = r0;
        cl_dropout_forward(z, x, NULL, N, p, &r);
        assert_memory_equal(z, y, N * sizeof(float));
        /* backward of f = sum(g o y): df/dx = g o mask / (1 - p), the forward's factor exactly */
        for (int i = 0; i < N; i++) z[i] = x[i];
        cl_dropout_backward(z, mask, N, p);
        assert_memory_equal(z, y, N * sizeof(float));
    }
    free(x);
    free(y);
    free(z);
    free(mask);
    free(mask2);
}

/* Where dropout items land, and evaluation mode as the identity: a network with dropout at every kind of
 * place computes, in evaluation mode, exactly what the same network without the dropout items computes
 * (same parameters: dropout has none and does not move the layout), forward and backward, also after a
 * training-mode pass. Training mode draws masks: the same stream state repeats them, the next pass draws
 * new ones. */
static void test_dropout_eval_identity(void **state)
{
    (void)state;
    enum { B = 4, C = 2, H = 9, W = 7, IN = C * H * W };
    cl_mlp *m = arch_model("dropout0.2, conv4k3p1, dropout0.3, maxpool2, dropout0.1, conv3k3s2p1, avgpool2s1, "
                           "flatten, dropout0.25, dense6, dropout0.5, dense5, dropout0.4", C, H, W, B, 3);
    cl_mlp *plain = arch_model("conv4k3p1, maxpool2, conv3k3s2p1, avgpool2s1, flatten, dense6, dense5", C, H, W, B, 3);
    assert_int_equal(m->ndrop, 6);
    assert_int_equal(plain->ndrop, 0);
    assert_true(m->in_drop.p == 0.2f && m->xdrop);
    const float stem_p[4] = {0.3f, 0.1f, 0.0f, 0.25f};
    for (int i = 0; i < 4; i++) {
        assert_true(m->stem[i].drop.p == stem_p[i]);
        assert_true((m->stem[i].drop.mask != NULL) == (stem_p[i] > 0));
    }
    assert_true(m->drop[0].p == 0.5f && m->drop[1].p == 0.4f);
    assert_false(m->training);
    assert_int_equal(m->nparams, plain->nparams);
    assert_memory_equal(m->params, plain->params, m->nparams * sizeof(float));

    cl_rng r;
    cl_rng_seed(&r, 9, 9);
    float x[B * IN], dl[B * 4], ref[B * 4], out[B * 4];
    fill(x, B * IN, &r, 1);
    fill(dl, B * 4, &r, 1);
    float *grads = malloc(m->nparams * sizeof(float));
    cl_mlp_forward(plain, x, B, 1);
    memcpy(ref, plain->logits, sizeof ref);
    cl_mlp_backward(plain, dl, B, 1, CL_GRAD_SET);
    memcpy(grads, plain->grads, m->nparams * sizeof(float));

    cl_mlp_forward(m, x, B, 1);
    assert_memory_equal(m->logits, ref, sizeof ref);
    cl_mlp_backward(m, dl, B, 1, CL_GRAD_SET);
    assert_memory_equal(m->grads, grads, m->nparams * sizeof(float));

    /* training mode: masks from the stream; the same state repeats them, the stream's next draws differ */
    cl_rng d;
    cl_rng_seed(&d, 5, cl_hash_str("dropout"));
    cl_mlp_set_training(m, &d);
    assert_true(m->training);
    cl_mlp_forward(m, x, B, 1);
    memcpy(out, m->logits, sizeof out);
    assert_true(memcmp(out, ref, sizeof ref) != 0);
    cl_mlp_backward(m, dl, B, 1, CL_GRAD_SET);
    assert_true(memcmp(m->grads, grads, m->nparams * sizeof(float)) != 0);
    cl_mlp_forward(m, x, B, 1);
    assert_true(memcmp(m->logits, out, sizeof out) != 0);
    cl_mlp_set_training(m, &d);
    cl_mlp_forward(m, x, B, 1);
    assert_memory_equal(m->logits, out, sizeof out);

    /* back in evaluation mode: the identity again; a model without dropout is the same in both modes */
    cl_mlp_set_training(m, NULL);
    cl_mlp_forward(m, x, B, 1);
    assert_memory_equal(m->logits, ref, sizeof ref);
    cl_mlp_backward(m, dl, B, 1, CL_GRAD_SET);
    assert_memory_equal(m->grads, grads, m->nparams * sizeof(float));
    cl_mlp_set_training(plain, &d);
    cl_mlp_forward(plain, x, B, 1);
    assert_memory_equal(plain->logits, ref, sizeof ref);
    free(grads);
    cl_mlp_free(m);
    cl_mlp_free(plain);
}

/* Units dropped in the network: at the input, after a conv and after a dense layer, each unit of a
 * training-mode pass is 0 or exactly 1/(1-p) times what the layer computes from the (dropped) input it
 * received, and the dropped share is p at each place (thousands of units: within 5 standard deviations). */
static void check_dropped(const float *got, const float *undropped, const uint8_t *mask, size_t n, float p,
                          const char *what)
{
    float scale = 1.0f / (1.0f - p);
    size_t dropped = 0;
    for (size_t i = 0; i < n; i++) {
        int keep = mask ? mask[i] : got[i] != 0.0f;
        dropped += !keep;
        float want = keep ? undropped[i] * scale : 0.0f;
        if (got[i] != want) fail_msg("%s[%zu]: %.9g, expected %.9g", what, i, (double)got[i], (double)want);
    }
    double share = (double)dropped / (double)n, sd = sqrt(p * (1 - p) / (double)n);
    if (fabs(share - p) > 5 * sd) fail_msg("%s: %.4f of %zu units dropped, p %g", what, share, n, (double)p);
}

static void test_dropout_in_model(void **state)
{
    (void)state;
    enum { B = 32, H = 10, W = 10, IN = H * W, COUT = 6, NCONV = COUT * IN, NH = 200 };
    cl_mlp *m = arch_model("dropout0.2, conv6k3p1, dropout0.3, dense200, dropout0.4", 1, H, W, B, 4);
    cl_rng r;
    cl_rng_seed(&r, 8, 8);
    float *x = malloc(sizeof(float) * B * IN), *xd = malloc(sizeof(float) * B * IN);
    float *conv = malloc(sizeof(float) * B * NCONV), *ref = malloc(sizeof(float) * B * NCONV);
    float *hid = malloc(sizeof(float) * B * NH), *href = malloc(sizeof(float) * B * NH);
    for (int i = 0; i < B * IN; i++) x[i] = 0.1f + cl_rng_uniform(&r); /* no zeros: a 0 reads as dropped */
    cl_mlp_set_training(m, &r);
    cl_mlp_forward(m, x, B, 0);
    cl_mlp_set_training(m, NULL);
    memcpy(xd, m->xdrop, sizeof(float) * B * IN);
    memcpy(conv, m->stem[0].out, sizeof(float) * B * NCONV);
    memcpy(hid, m->act[1], sizeof(float) * B * NH);
    /* the input: its dropout keeps no mask, zeros tell the dropped units */
    check_dropped(xd, x, NULL, (size_t)B * IN, 0.2f, "input");
    /* the conv's ReLU output on the dropped input, in evaluation mode: what the conv computed */
    cl_mlp_forward(m, xd, B, 0);
    memcpy(ref, m->stem[0].out, sizeof(float) * B * NCONV);
    check_dropped(conv, ref, m->stem[0].drop.mask, (size_t)B * NCONV, 0.3f, "conv");
    /* the dense layer's ReLU output on the dropped conv output */
    const cl_linear *L = &m->layer[0];
    cl_linear_forward(href, conv, m->params + L->w, m->params + L->b, B, L->in, L->out);
    cl_relu_forward(href, (size_t)B * NH);
    check_dropped(hid, href, m->drop[0].mask, (size_t)B * NH, 0.4f, "dense");
    free(x);
    free(xd);
    free(conv);
    free(ref);
    free(hid);
    free(href);
    cl_mlp_free(m);
}

/* The gradient of a network with dropout, with its masks held fixed: every finite-difference evaluation
 * re-seeds the stream the analytic pass drew from, so all see the same masks. Into head 1 of 2, head 0
 * left alone; the masks dropped units, and the gradient differs from evaluation mode's. */
static void check_dropout_grads(const char *text, int c, int h, int w, size_t min_checked)
{
    enum { B = 4 };
    cl_mlp *m = arch_model(text, c, h, w, B, 17);
    /* biases away from zero keep the ReLUs off their kink, where finite differences are meaningless */
    for (int i = 0; i < m->nstem; i++)
        if (m->stem[i].kind == CL_STEM_CONV)
            for (int o = 0; o < m->stem[i].conv.cout; o++) m->params[m->stem[i].b + o] = 0.2f;
    for (int l = 0; l < m->nhidden; l++)
        for (int o = 0; o < m->hidden[l]; o++) m->params[m->layer[l].b + o] = 0.3f;
    cl_rng r;
    cl_rng_seed(&r, 6, 6);
    float *x = malloc(sizeof(float) * B * m->ninput);
    fill(x, (size_t)B * m->ninput, &r, 1);
    int y[B] = {0, 3, 2, 1}, head = 1, C = m->head_out[head];
    float dlogits[B * 4];
    float sentinel = 123.0f;
    memset(m->grads, 0, m->nparams * sizeof(float));
    for (size_t i = m->head_off[0]; i < m->head_off[0] + m->head_len[0]; i++) m->grads[i] = sentinel;
    cl_rng drop;
    cl_rng_seed(&drop, 1, cl_hash_str("dropout"));
    cl_mlp_set_training(m, &drop);
    cl_mlp_forward(m, x, B, head);
    cl_softmax_xent(m->logits, y, B, C, C, dlogits);
    cl_mlp_backward(m, dlogits, B, head, CL_GRAD_SET);
    size_t zeros = 0;
    for (int i = 0; i < m->nstem; i++) {
        const uint8_t *mask = m->stem[i].drop.mask;
        for (size_t j = 0; mask && j < (size_t)B * m->stem[i].out_n; j++) zeros += !mask[j];
    }
    for (int l = 0; l < m->nhidden; l++) {
        const uint8_t *mask = m->drop[l].mask;
        for (size_t j = 0; mask && j < (size_t)B * m->hidden[l]; j++) zeros += !mask[j];
    }
    assert_true(zeros > 0);
    float *train = malloc(m->nparams * sizeof(float));
    memcpy(train, m->grads, m->nparams * sizeof(float));

    size_t checked = check_param_grads(m, x, y, B, head, sentinel, 0, NULL, &drop, text);
    if (checked < min_checked) fail_msg("%s: %zu parameters checked", text, checked);
    assert_false(m->training);
    cl_mlp_forward(m, x, B, head);
    cl_softmax_xent(m->logits, y, B, C, C, dlogits);
    cl_mlp_backward(m, dlogits, B, head, CL_GRAD_SET);
    assert_true(memcmp(train, m->grads, m->nparams * sizeof(float)) != 0);
    free(train);
    free(x);
    cl_mlp_free(m);
}

static void test_dropout_mlp_backward(void **state)
{
    (void)state;
    check_dropout_grads("dropout0.2, dense6, dropout0.5, dense5, dropout0.3", 1, 1, 7, 100);
}

/* A CNN with dropout at the input, after a conv, after max-pooling, after the stem (average pooling) and
 * after the dense layer. */
static void test_dropout_cnn_backward(void **state)
{
    (void)state;
    check_dropout_grads("dropout0.1, conv4k3p1, dropout0.3, maxpool2, dropout0.2, conv3k3s2p1, avgpool2s1, "
                        "dropout0.25, dense6, dropout0.5", 2, 9, 7, 250);
}

static void test_layout(void **state)
{
    (void)state;
    int hidden[1] = {3}, heads[3] = {2, 2, 5};
    cl_mlp *m = cl_mlp_create(4, hidden, 1, heads, 3, 8);
    /* trunk first, heads after, disjoint, each weight block 64-byte aligned */
    assert_true(m->ntrunk >= 4 * 3 + 3);
    for (int k = 0; k < 3; k++) {
        assert_true(m->head_off[k] >= m->ntrunk);
        assert_true(m->head_len[k] >= (size_t)(3 * heads[k] + heads[k]));
        if (k) assert_true(m->head_off[k] >= m->head_off[k - 1] + m->head_len[k - 1]);
        assert_int_equal(m->layer[1 + k].w % 16, 0);
    }
    assert_true(m->head_off[2] + m->head_len[2] == m->nparams);
    assert_null(cl_mlp_create(0, hidden, 1, heads, 3, 8));
    int bad[1] = {0};
    assert_null(cl_mlp_create(4, bad, 1, heads, 3, 8));
    cl_mlp_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_linear_backward),   cmocka_unit_test(test_relu_backward),
        cmocka_unit_test(test_softmax_xent_backward), cmocka_unit_test(test_mlp_backward),
        cmocka_unit_test(test_per_sample_signals), cmocka_unit_test(test_layout),
        cmocka_unit_test(test_grad_accumulate),   cmocka_unit_test(test_cnn_backward),
        cmocka_unit_test(test_dropout_layer),     cmocka_unit_test(test_dropout_eval_identity),
        cmocka_unit_test(test_dropout_in_model),  cmocka_unit_test(test_dropout_mlp_backward),
        cmocka_unit_test(test_dropout_cnn_backward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
