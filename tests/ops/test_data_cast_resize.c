/*
 * test_data_cast_resize.c - unit tests of Cast (every conversion rule: truncation, wrapping,
 * bool, float16 rounding to nearest even including subnormals, overflow and the double
 * rounding trap of float64 -> float16) and of Resize/Upsample in nearest mode (coordinate
 * transformation modes, nearest modes and their ties, keep_aspect_ratio_policy, opset
 * variants, unsupported modes).
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support/node_eval.h"
#include "ops/test_data_util.h"

/* Runs the cast kernel on n elements directly. */
static void cast_run(tml_dtype from, tml_dtype to, const void *x, void *y, uint32_t n)
{
    tml_cast_params p = {(uint32_t)from, (uint32_t)to, n};
    const void *in[1] = {x};
    void *out[1] = {y};
    uint32_t ib[1] = {n * (uint32_t)tml_dtype_size(from)};
    uint32_t ob[1] = {n * (uint32_t)tml_dtype_size(to)};
    assert_int_equal(tml_cast_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_OK);
    tml_cast(&p, in, out, NULL);
}

static void test_cast_float_to_half(void **state)
{
    const float x[] = {1.0f, 65504.0f, 65519.0f, 65520.0f, 0.1f, 5.9604645e-8f,
                       2.9802322e-8f, 4.4703484e-8f, 2049.0f, 2051.0f, -0.0f, NAN,
                       -INFINITY, 6.1035156e-05f, 6.0975552e-05f, -2.0f};
    const uint16_t want[] = {0x3c00, 0x7bff, 0x7bff, 0x7c00, 0x2e66, 0x0001, 0x0000, 0x0001,
                             0x6800, 0x6802, 0x8000, 0x7e00, 0xfc00, 0x0400, 0x03ff, 0xc000};
    uint16_t y[16];
    int i;
    (void)state;
    cast_run(TML_DT_F32, TML_DT_F16, x, y, 16);
    for (i = 0; i < 16; i++) {
        if (i == 11) { /* any NaN */
            assert_int_equal(y[i] & 0x7c00, 0x7c00);
            assert_true((y[i] & 0x3ff) != 0);
            continue;
        }
        assert_int_equal(y[i], want[i]);
    }
}

static void test_cast_double_to_half_no_double_rounding(void **state)
{
    /* 1 + 2^-11 + 2^-40: through float32 it becomes the tie 1 + 2^-11 and rounds to even
     * (0x3c00); rounded directly it is above the tie (0x3c01), as numpy does */
    const double x[2] = {1.0 + ldexp(1.0, -11) + ldexp(1.0, -40), 1.0 + ldexp(1.0, -11)};
    uint16_t y[2];
    (void)state;
    cast_run(TML_DT_F64, TML_DT_F16, x, y, 2);
    assert_int_equal(y[0], 0x3c01);
    assert_int_equal(y[1], 0x3c00);
}

static void test_cast_half_to_float(void **state)
{
    const uint16_t x[] = {0x3555, 0x0001, 0x7c00, 0xc000, 0x8000, 0x03ff};
    float y[6];
    (void)state;
    cast_run(TML_DT_F16, TML_DT_F32, x, y, 6);
    assert_float_equal(y[0], 0.333251953125f, 0);
    assert_float_equal(y[1], 5.9604644775390625e-8f, 0);
    assert_true(isinf(y[2]) && y[2] > 0);
    assert_float_equal(y[3], -2.0f, 0);
    assert_true(y[4] == 0.0f && signbit(y[4]));
    assert_float_equal(y[5], 6.097555160522461e-05f, 0);
}

static void test_cast_ints_and_bool(void **state)
{
    const float xf[] = {-1.7f, 2.9f, -0.2f, NAN};
    const float xu[] = {300.5f, -1.0f};
    const float xb[] = {0.0f, -0.0f, 0.5f, NAN};
    const int64_t big[] = {16777217};
    const int32_t s32[] = {200, -129};
    const int8_t s8[] = {-1, 5};
    const uint8_t b[] = {1, 0};
    const uint64_t u64[] = {~0ull};
    int32_t yi[4];
    uint8_t yu[4];
    float yf[2];
    int8_t y8[2];
    uint16_t y16[2];
    double yd[1];
    (void)state;
    cast_run(TML_DT_F32, TML_DT_S32, xf, yi, 4);
    assert_int_equal(yi[0], -1);
    assert_int_equal(yi[1], 2);
    assert_int_equal(yi[2], 0);
    assert_int_equal(yi[3], 0);
    cast_run(TML_DT_F32, TML_DT_U8, xu, yu, 2);
    assert_int_equal(yu[0], 44);
    assert_int_equal(yu[1], 255);
    cast_run(TML_DT_F32, TML_DT_BOOL, xb, yu, 4);
    assert_int_equal(yu[0], 0);
    assert_int_equal(yu[1], 0);
    assert_int_equal(yu[2], 1);
    assert_int_equal(yu[3], 1);
    cast_run(TML_DT_S64, TML_DT_F32, big, yf, 1);
    assert_float_equal(yf[0], 16777216.0f, 0);
    cast_run(TML_DT_S32, TML_DT_S8, s32, y8, 2);
    assert_int_equal(y8[0], -56);
    assert_int_equal(y8[1], 127);
    cast_run(TML_DT_S8, TML_DT_U16, s8, y16, 2);
    assert_int_equal(y16[0], 65535);
    assert_int_equal(y16[1], 5);
    cast_run(TML_DT_BOOL, TML_DT_F32, b, yf, 2);
    assert_float_equal(yf[0], 1.0f, 0);
    assert_float_equal(yf[1], 0.0f, 0);
    cast_run(TML_DT_U64, TML_DT_F64, u64, yd, 1);
    assert_true(yd[0] == 18446744073709551616.0);
}

static void test_cast_node(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, n;
    tml_step_desc s;
    const int32_t *y;
    (void)state;
    g->opset = 13;
    x = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){3}, (float[]){1.5f, -2.5f, 7.0f});
    n = mk_node(g, TML_OP_CAST, "cast_i32", 1, &x, 1);
    attr_i(g, n, "to", TML_DT_S32);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->dtype, TML_DT_S32);
    y = out0(g, n)->data;
    assert_int_equal(y[0], 1);
    assert_int_equal(y[1], -2);
    assert_int_equal(y[2], 7);

    n = mk_node(g, TML_OP_CAST, "cast_same", 1, &x, 1);
    attr_i(g, n, "to", TML_DT_F32);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_NONE);

    n = mk_node(g, TML_OP_CAST, "cast_int4", 1, &x, 1);
    attr_i(g, n, "to", 22);
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "unsupported dtype 'int4'");
    tml_graph_clear_error(g);
    n = mk_node(g, TML_OP_CAST, "cast_str", 1, &x, 1);
    attr_i(g, n, "to", TML_DT_STRING);
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "'string'");
    tml_graph_clear_error(g);

    /* Cast-1 spells the type */
    g->opset = 1;
    n = mk_node(g, TML_OP_CAST, "cast_v1", 1, &x, 1);
    attr_s(g, n, "to", "INT64");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->dtype, TML_DT_S64);
    assert_int_equal(((int64_t *)out0(g, n)->data)[1], -2);
    tml_graph_free(g);
}

/* Resize of x (1, 1, h, w) by sizes, with the given attributes; returns the node. */
static int resize_sizes(tml_graph *g, const char *name, int x, int64_t h, int64_t w)
{
    int in[4];
    in[0] = x;
    in[1] = -1;
    in[2] = -1;
    in[3] = tev_const(g, NULL, TML_DT_S64, 1, (int64_t[]){4}, (int64_t[]){1, 1, h, w});
    return mk_node(g, TML_OP_RESIZE, name, 4, in, 1);
}

static void test_resize_modes(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, x1, in[3], n;
    (void)state;
    g->opset = 19;
    x = tev_const(g, "x", TML_DT_F32, 4, (int64_t[]){1, 1, 2, 2}, (float[]){1, 2, 3, 4});
    in[0] = x;
    in[1] = -1;
    in[2] = tev_const(g, "scales", TML_DT_F32, 1, (int64_t[]){4}, (float[]){1, 1, 2, 2});
    n = mk_node(g, TML_OP_RESIZE, "up2", 3, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 1, 4, 4});
    assert_f32(out0(g, n), 16, (float[]){1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4});

    /* asymmetric, scale 2: x_ori = 0, .5, 1, 1.5 - ties decided by the nearest mode */
    x1 = tev_const(g, "row", TML_DT_F32, 4, (int64_t[]){1, 1, 1, 2}, (float[]){1, 2});
    n = resize_sizes(g, "asym_ceil", x1, 1, 4);
    attr_s(g, n, "coordinate_transformation_mode", "asymmetric");
    attr_s(g, n, "nearest_mode", "round_prefer_ceil");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 4, (float[]){1, 2, 2, 2});
    n = resize_sizes(g, "asym_floor", x1, 1, 4);
    attr_s(g, n, "coordinate_transformation_mode", "asymmetric");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 4, (float[]){1, 1, 2, 2});

    /* align_corners 3 -> 5: x_ori = 0, .5, 1, 1.5, 2 */
    x1 = tev_const(g, "row3", TML_DT_F32, 4, (int64_t[]){1, 1, 1, 3}, (float[]){1, 2, 3});
    n = resize_sizes(g, "align", x1, 1, 5);
    attr_s(g, n, "coordinate_transformation_mode", "align_corners");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 5, (float[]){1, 1, 2, 2, 3});
    n = resize_sizes(g, "align_ceil", x1, 1, 5);
    attr_s(g, n, "coordinate_transformation_mode", "align_corners");
    attr_s(g, n, "nearest_mode", "ceil");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 5, (float[]){1, 2, 2, 3, 3});
    tml_graph_free(g);
}

static void test_resize_policy_and_errors(void **state)
{
    tml_graph *g = tml_graph_new();
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    int x, in[4], n;
    (void)state;
    g->opset = 19;
    x = tev_const(g, "x", TML_DT_F32, 4, (int64_t[]){1, 1, 2, 4}, v);
    in[0] = x;
    in[1] = -1;
    in[2] = -1;
    in[3] = tev_const(g, "sz", TML_DT_S64, 1, (int64_t[]){2}, (int64_t[]){1, 3});
    n = mk_node(g, TML_OP_RESIZE, "not_larger", 4, in, 1);
    attr_is(g, n, "axes", 2, (int64_t[]){2, 3});
    attr_s(g, n, "keep_aspect_ratio_policy", "not_larger");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 1, 1, 2});
    assert_f32(out0(g, n), 2, (float[]){1, 3});

    n = mk_node(g, TML_OP_RESIZE, "linear", 4, in, 1);
    attr_s(g, n, "mode", "linear");
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "mode 'linear'");
    tml_graph_clear_error(g);
    n = mk_node(g, TML_OP_RESIZE, "crop", 4, in, 1);
    attr_s(g, n, "coordinate_transformation_mode", "tf_crop_and_resize");
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "tf_crop_and_resize");
    tml_graph_clear_error(g);
    n = mk_node(g, TML_OP_RESIZE, "bad_len", 4, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "'sizes' has 2 values, expected 4");
    tml_graph_clear_error(g);
    in[2] = tev_const(g, "sc", TML_DT_F32, 1, (int64_t[]){4}, (float[]){1, 1, 1, 1});
    n = mk_node(g, TML_OP_RESIZE, "both", 4, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "only one");
    tml_graph_free(g);
}

static void test_upsample(void **state)
{
    tml_graph *g = tml_graph_new();
    int in[2], n;
    const float want[24] = {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2,
                            3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4};
    (void)state;
    g->opset = 7;
    in[0] = tev_const(g, "x", TML_DT_F32, 4, (int64_t[]){1, 1, 2, 2}, (float[]){1, 2, 3, 4});
    n = mk_node(g, TML_OP_UPSAMPLE, "up7", 1, in, 1);
    attr_fs(g, n, "scales", 4, (float[]){1, 1, 2, 3});
    attr_s(g, n, "mode", "nearest");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 1, 4, 6});
    assert_f32(out0(g, n), 24, want);

    g->opset = 9;
    in[1] = tev_const(g, "scales", TML_DT_F32, 1, (int64_t[]){4}, (float[]){1, 1, 2, 3});
    n = mk_node(g, TML_OP_UPSAMPLE, "up9", 2, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 24, want);

    n = mk_node(g, TML_OP_UPSAMPLE, "up_lin", 2, in, 1);
    attr_s(g, n, "mode", "linear");
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "mode 'linear'");
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cast_float_to_half),
        cmocka_unit_test(test_cast_double_to_half_no_double_rounding),
        cmocka_unit_test(test_cast_half_to_float),
        cmocka_unit_test(test_cast_ints_and_bool),
        cmocka_unit_test(test_cast_node),
        cmocka_unit_test(test_resize_modes),
        cmocka_unit_test(test_resize_policy_and_errors),
        cmocka_unit_test(test_upsample),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
