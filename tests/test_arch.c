/* Architectures as text (models/arch.c): parsing, presets, the canonical text, shapes and parameter counts
 * worked by hand, and one clear message for each kind of bad item. */
#include "tests/testutil.h"

#include "core/error.h"
#include "models/arch.h"

static void test_zenke_preset_by_hand(void **state)
{
    (void)state;
    cl_arch a;
    assert_int_equal(cl_arch_parse(&a, "zenke-cifar", "--arch"), 0);
    assert_int_equal(a.n, 7);
    char text[512];
    cl_arch_describe(&a, text, sizeof text);
    assert_string_equal(text, "conv32k3p1, conv32k3p1, maxpool2, conv64k3p1, conv64k3p1, maxpool2, dense512");
    cl_arch_shape sh[CL_ARCH_MAX];
    size_t np;
    assert_int_equal(cl_arch_shapes(&a, 3, 32, 32, sh, &np, "--arch"), 0);
    /* 3x32x32 -> 32x32x32 -> 32x32x32 -> 32x16x16 -> 64x16x16 -> 64x16x16 -> 64x8x8 -> 512 */
    const int want[7][3] = {{32, 32, 32}, {32, 32, 32}, {32, 16, 16}, {64, 16, 16}, {64, 16, 16}, {64, 8, 8}, {512, 1, 1}};
    for (int i = 0; i < 7; i++) {
        assert_int_equal(sh[i].c, want[i][0]);
        assert_int_equal(sh[i].h, want[i][1]);
        assert_int_equal(sh[i].w, want[i][2]);
    }
    /* weights and biases: 32*3*9+32, 32*32*9+32, 64*32*9+64, 64*64*9+64, 512*64*8*8+512 */
    assert_int_equal(np, 896 + 9248 + 18496 + 36928 + 2097664);
}

static void test_round_trips(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "conv16k5s2p2, avgpool3s2, dropout0.25, flatten, dense10",
        "dense400, dense400",
        "conv8k1, maxpool2s1, conv4k3s3",
        "dense7",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        cl_arch a, b;
        char t[512], u[512];
        assert_int_equal(cl_arch_parse(&a, texts[i], "arch"), 0);
        cl_arch_describe(&a, t, sizeof t);
        assert_string_equal(t, texts[i]);
        assert_int_equal(cl_arch_parse(&b, t, "arch"), 0);
        cl_arch_describe(&b, u, sizeof u);
        assert_string_equal(t, u);
    }
    /* spaces around items are ignored; defaults are written out only when they differ */
    cl_arch a;
    char t[256];
    assert_int_equal(cl_arch_parse(&a, "  conv8k3s1p0 ,maxpool2s2,  dense5 ", "arch"), 0);
    cl_arch_describe(&a, t, sizeof t);
    assert_string_equal(t, "conv8k3, maxpool2, dense5");
    /* a stride-2 conv with padding on a non-square input: (7 + 2 - 3) / 2 + 1 = 4, (5 + 2 - 3) / 2 + 1 = 3 */
    assert_int_equal(cl_arch_parse(&a, "conv6k3s2p1, flatten", "arch"), 0);
    cl_arch_shape sh[2];
    size_t np;
    assert_int_equal(cl_arch_shapes(&a, 2, 7, 5, sh, &np, "arch"), 0);
    assert_int_equal(sh[0].h, 4);
    assert_int_equal(sh[0].w, 3);
    assert_int_equal(sh[1].c, 6 * 4 * 3);
    assert_int_equal(np, 6 * 2 * 9 + 6);
}

static void test_mlp_is_hidden(void **state)
{
    (void)state;
    cl_arch a, b;
    const int hidden[2] = {400, 400};
    assert_int_equal(cl_arch_parse(&a, "mlp", "arch"), 0);
    cl_arch_from_hidden(&b, hidden, 2);
    assert_int_equal(a.n, b.n);
    assert_memory_equal(a.item, b.item, sizeof(cl_arch_item) * (size_t)a.n);
    size_t np;
    assert_int_equal(cl_arch_shapes(&a, 1, 28, 28, NULL, &np, "arch"), 0);
    assert_int_equal(np, 784 * 400 + 400 + 400 * 400 + 400);
    cl_arch_from_hidden(&b, NULL, 0); /* hidden = (none): a linear model, the heads only */
    assert_int_equal(b.n, 0);
}

static void test_bad_items(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"conv32k3q1", "arch: item 1 'conv32k3q1': expected conv<C>k<K>[s<S>][p<P>]"},
        {"dense512, convv32k3", "item 2 'convv32k3': expected conv<C>k<K>"}, /* parsed as conv: 'v' is no number */
        {"dense512, cnv32k3", "item 2 'cnv32k3': expected conv<C>k<K>[s<S>][p<P>], maxpool<K>[s<S>], avgpool<K>[s<S>], dense<N>, dropout<P> or flatten (did you mean conv?)"},
        {"dense0", "dense<N> with N from 1"},
        {"dropout1", "dropout<P> with P in (0, 1)"},
        {"dropout", "dropout<P> with P in (0, 1)"},
        {"conv8k3p3", "a padding below the kernel size (3)"},
        {"maxpool0", "maxpool<K>[s<S>]"},
        {"dense5,,dense5", "item 2 is empty"},
        {"dense5, ", "item 2 is empty"},
        {",dense5", "item 1 is empty"},
        {"zenke-cifr", "did you mean the preset zenke-cifar?"},
        {"", "arch: empty"},
        {"dense99999999", "dense<N> with N from 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cl_arch a;
        if (cl_arch_parse(&a, bad[i].text, "arch") != -1) fail_msg("'%s' was accepted", bad[i].text);
        if (!strstr(cl_errmsg(), bad[i].msg)) fail_msg("'%s': %s", bad[i].text, cl_errmsg());
    }
    char many[400] = "";
    for (int i = 0; i < CL_ARCH_MAX + 1; i++) strcat(many, i ? ",dense2" : "dense2");
    cl_arch a;
    assert_int_equal(cl_arch_parse(&a, many, "arch"), -1);
    assert_non_null(strstr(cl_errmsg(), "33 items: at most 32"));
}

static void test_bad_shapes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int c, h, w;
        const char *msg;
    } bad[] = {
        {"maxpool5", 1, 4, 4, "item 1 'maxpool5': a 5x5 window on a 4x4 input"},
        {"conv8k5p1", 3, 2, 9, "item 1 'conv8k5p1': a 5x5 window on a 4x11 input (padded)"},
        {"dense10, conv8k3", 1, 28, 28, "item 2 'conv8k3' after a dense layer or flatten"},
        {"flatten, maxpool2", 1, 28, 28, "item 2 'maxpool2' after a dense layer or flatten"},
        {"maxpool2, maxpool2, maxpool2", 1, 7, 7, "item 3 'maxpool2': a 2x2 window on a 1x1 input"},
        {"dropout0.2, dropout0.2, dense5", 1, 4, 4,
         "item 2 'dropout0.2': a second dropout on the output item 1 already drops"},
        {"conv4k3, dropout0.5, flatten, dropout0.25", 1, 4, 4,
         "item 4 'dropout0.25': a second dropout on the output item 2 already drops; use one dropout<P>"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cl_arch a;
        assert_int_equal(cl_arch_parse(&a, bad[i].text, "arch"), 0);
        if (cl_arch_shapes(&a, bad[i].c, bad[i].h, bad[i].w, NULL, NULL, "arch") != -1)
            fail_msg("'%s' fitted", bad[i].text);
        if (!strstr(cl_errmsg(), bad[i].msg)) fail_msg("'%s': %s", bad[i].text, cl_errmsg());
    }
}

/* Dropout may follow any item, or come first (on the input); it keeps the shape and has no parameters. */
static void test_dropout_places(void **state)
{
    (void)state;
    cl_arch a, b;
    assert_int_equal(cl_arch_parse(&a, "dropout0.2, conv4k3, dropout0.1, maxpool2, dropout0.3, flatten, dense10, "
                                       "dropout0.5", "arch"), 0);
    assert_int_equal(cl_arch_parse(&b, "conv4k3, maxpool2, flatten, dense10", "arch"), 0);
    cl_arch_shape sa[CL_ARCH_MAX], sb[CL_ARCH_MAX];
    size_t na, nb;
    assert_int_equal(cl_arch_shapes(&a, 1, 8, 8, sa, &na, "arch"), 0);
    assert_int_equal(cl_arch_shapes(&b, 1, 8, 8, sb, &nb, "arch"), 0);
    assert_int_equal(na, nb);
    /* 1x8x8 -> 1x8x8 -> 4x6x6 -> 4x6x6 -> 4x3x3 -> 4x3x3 -> 36 -> 10 -> 10 */
    const int want[8][3] = {{1, 8, 8}, {4, 6, 6}, {4, 6, 6}, {4, 3, 3}, {4, 3, 3}, {36, 1, 1}, {10, 1, 1}, {10, 1, 1}};
    for (int i = 0; i < 8; i++) {
        assert_int_equal(sa[i].c, want[i][0]);
        assert_int_equal(sa[i].h, want[i][1]);
        assert_int_equal(sa[i].w, want[i][2]);
    }
    assert_true(a.item[7].kind == CL_ARCH_DROPOUT && a.item[7].p == 0.5f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zenke_preset_by_hand), cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_mlp_is_hidden),        cmocka_unit_test(test_bad_items),
        cmocka_unit_test(test_bad_shapes),           cmocka_unit_test(test_dropout_places),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
