/*
 * test_data_movement.c - unit tests of the data-family ops that move elements: Transpose,
 * Concat, Pad (all modes, negative pads, opset variants), Slice (negative steps, clamping,
 * opset 9 attributes), Gather, DepthToSpace and SpaceToDepth. Each case is small enough to
 * compute by hand; each op also has an error case checked for status and message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "support/node_eval.h"
#include "ops/test_data_util.h"

static const float X24[24] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11,
                              12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23};

static void test_transpose(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {2, 3}, x3[3] = {2, 3, 4};
    int x, y, n;
    tml_step_desc s;
    (void)state;
    g->opset = 13;
    x = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    n = mk_node(g, TML_OP_TRANSPOSE, "t_default", 1, &x, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 2});
    assert_f32(out0(g, n), 6, (float[]){0, 3, 1, 4, 2, 5});

    y = tev_const(g, "x3", TML_DT_F32, 3, x3, X24);
    n = mk_node(g, TML_OP_TRANSPOSE, "t_120", 1, &y, 1);
    attr_is(g, n, "perm", 3, (int64_t[]){1, 2, 0});
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 3, (int64_t[]){3, 4, 2});
    /* out[i][j][k] = in[k][i][j] */
    assert_float_equal(((float *)out0(g, n)->data)[0 * 8 + 1 * 2 + 1], X24[12 + 1], 0);
    assert_float_equal(((float *)out0(g, n)->data)[2 * 8 + 3 * 2 + 0], X24[11], 0);

    /* moving only a size-1 axis keeps memory order: a view */
    x = tev_const(g, "x1", TML_DT_F32, 3, (int64_t[]){1, 2, 3}, X24);
    n = mk_node(g, TML_OP_TRANSPOSE, "t_view", 1, &x, 1);
    attr_is(g, n, "perm", 3, (int64_t[]){1, 0, 2});
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_NONE);
    assert_int_equal(s.alias_of, 0);

    n = mk_node(g, TML_OP_TRANSPOSE, "t_bad", 1, &y, 1);
    attr_is(g, n, "perm", 3, (int64_t[]){0, 0, 1});
    assert_fails(g, n, TML_ERR_SHAPE, "'perm'");
    tml_graph_free(g);
}

static void test_concat(void **state)
{
    tml_graph *g = tml_graph_new();
    int in[3], n;
    (void)state;
    g->opset = 13;
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 1}, (float[]){1, 2});
    in[1] = tev_const(g, "b", TML_DT_F32, 2, (int64_t[]){2, 2}, (float[]){3, 4, 5, 6});
    in[2] = tev_const(g, "c", TML_DT_F32, 2, (int64_t[]){2, 0}, X24);
    n = mk_node(g, TML_OP_CONCAT, "cat", 3, in, 1);
    attr_i(g, n, "axis", -1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){2, 3});
    assert_f32(out0(g, n), 6, (float[]){1, 3, 4, 2, 5, 6});

    n = mk_node(g, TML_OP_CONCAT, "cat_bad", 2, in, 1);
    attr_i(g, n, "axis", 0);
    assert_fails(g, n, TML_ERR_SHAPE, "dim 1");
    tml_graph_clear_error(g);

    n = mk_node(g, TML_OP_CONCAT, "cat_noaxis", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "'axis'");
    tml_graph_free(g);
}

static void test_pad_modes(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {2, 3}, pd[1] = {4};
    int in[4], n;
    (void)state;
    g->opset = 19;
    /* x = [[0 1 2] [3 4 5]] */
    in[0] = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    in[1] = tev_const(g, "pads", TML_DT_S64, 1, pd, (int64_t[]){0, 2, 1, -1});
    in[2] = tev_const(g, "cv", TML_DT_F32, 0, NULL, (float[]){9});
    n = mk_node(g, TML_OP_PAD, "pad_c", 3, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 4});
    assert_f32(out0(g, n), 12, (float[]){9, 9, 0, 1, 9, 9, 3, 4, 9, 9, 9, 9});

    n = mk_node(g, TML_OP_PAD, "pad_edge", 2, in, 1);
    attr_s(g, n, "mode", "edge");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 12, (float[]){0, 0, 0, 1, 3, 3, 3, 4, 3, 3, 3, 4});

    in[1] = tev_const(g, "pads2", TML_DT_S64, 1, pd, (int64_t[]){0, 3, 0, 1});
    n = mk_node(g, TML_OP_PAD, "pad_reflect", 2, in, 1);
    attr_s(g, n, "mode", "reflect");
    assert_int_equal(tev_eval(g, n), TML_OK);
    /* row 0 1 2 reflected: ... 1 2 1 | 0 1 2 | 1 */
    assert_f32(out0(g, n), 14, (float[]){1, 2, 1, 0, 1, 2, 1, 4, 5, 4, 3, 4, 5, 4});

    n = mk_node(g, TML_OP_PAD, "pad_wrap", 2, in, 1);
    attr_s(g, n, "mode", "wrap");
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 14, (float[]){0, 1, 2, 0, 1, 2, 0, 3, 4, 5, 3, 4, 5, 3});

    /* opset 18 axes input: pad only axis -1 */
    in[1] = tev_const(g, "pads3", TML_DT_S64, 1, (int64_t[]){2}, (int64_t[]){1, 0});
    in[2] = -1;
    in[3] = tev_const(g, "axes", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){-1});
    n = mk_node(g, TML_OP_PAD, "pad_axes", 4, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 8, (float[]){0, 0, 1, 2, 0, 3, 4, 5});

    n = mk_node(g, TML_OP_PAD, "pad_mode_bad", 2, in, 1);
    attr_s(g, n, "mode", "mirror");
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "mode=mirror");
    tml_graph_clear_error(g);

    in[1] = tev_const(g, "pads_short", TML_DT_S64, 1, (int64_t[]){2}, (int64_t[]){1, 0});
    n = mk_node(g, TML_OP_PAD, "pad_len_bad", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "'pads' has 2 values, expected 4");
    tml_graph_free(g);
}

static void test_pad_opset2_attr(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, n;
    const int32_t *y;
    (void)state;
    g->opset = 2;
    x = tev_const(g, "x", TML_DT_S32, 1, (int64_t[]){2}, (int32_t[]){7, 8});
    n = mk_node(g, TML_OP_PAD, "pad2", 1, &x, 1);
    attr_is(g, n, "pads", 2, (int64_t[]){1, 2});
    attr_f(g, n, "value", -3.0f);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 1, (int64_t[]){5});
    y = out0(g, n)->data;
    assert_int_equal(y[0], -3);
    assert_int_equal(y[1], 7);
    assert_int_equal(y[2], 8);
    assert_int_equal(y[4], -3);
    tml_graph_free(g);
}

static void test_slice(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {4, 6}, one[1] = {1}, two[1] = {2};
    int in[5], n;
    (void)state;
    g->opset = 13;
    /* x (4, 6) = 0..23 */
    in[0] = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    in[1] = tev_const(g, "starts", TML_DT_S64, 1, two, (int64_t[]){1, -1});
    in[2] = tev_const(g, "ends", TML_DT_S64, 1, two, (int64_t[]){1000, -100});
    in[3] = tev_const(g, "axes", TML_DT_S64, 1, two, (int64_t[]){0, 1});
    in[4] = tev_const(g, "steps", TML_DT_S64, 1, two, (int64_t[]){2, -2});
    n = mk_node(g, TML_OP_SLICE, "slice_neg", 5, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    /* rows 1, 3; columns 5, 3, 1 */
    assert_shape(g, n, 2, (int64_t[]){2, 3});
    assert_f32(out0(g, n), 6, (float[]){11, 9, 7, 23, 21, 19});

    in[1] = tev_const(g, "s1", TML_DT_S32, 1, one, (int32_t[]){2});
    in[2] = tev_const(g, "e1", TML_DT_S32, 1, one, (int32_t[]){100});
    in[3] = tev_const(g, "a1", TML_DT_S32, 1, one, (int32_t[]){-1});
    n = mk_node(g, TML_OP_SLICE, "slice_i32", 4, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){4, 4});
    assert_float_equal(((float *)out0(g, n)->data)[5], 9.0f, 0);

    /* empty result: start past the end */
    in[1] = tev_const(g, "s2", TML_DT_S64, 1, one, (int64_t[]){10});
    in[2] = tev_const(g, "e2", TML_DT_S64, 1, one, (int64_t[]){20});
    n = mk_node(g, TML_OP_SLICE, "slice_empty", 3, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){0, 6});

    in[4] = tev_const(g, "st0", TML_DT_S64, 1, one, (int64_t[]){0});
    in[3] = tev_const(g, "a0", TML_DT_S64, 1, one, (int64_t[]){0});
    n = mk_node(g, TML_OP_SLICE, "slice_step0", 5, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "step 0");
    tml_graph_clear_error(g);

    /* opset 9: attributes */
    g->opset = 9;
    n = mk_node(g, TML_OP_SLICE, "slice_attr", 1, in, 1);
    attr_is(g, n, "starts", 1, (int64_t[]){1});
    attr_is(g, n, "ends", 1, (int64_t[]){-1});
    attr_is(g, n, "axes", 1, (int64_t[]){1});
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){4, 4});
    assert_float_equal(((float *)out0(g, n)->data)[4], 7.0f, 0);
    tml_graph_free(g);
}

static void test_gather(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {3, 2};
    int in[2], n;
    (void)state;
    g->opset = 13;
    /* x = [[0 1] [2 3] [4 5]] */
    in[0] = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    in[1] = tev_const(g, "idx", TML_DT_S64, 1, (int64_t[]){3}, (int64_t[]){2, -3, 1});
    n = mk_node(g, TML_OP_GATHER, "g0", 2, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 2});
    assert_f32(out0(g, n), 6, (float[]){4, 5, 0, 1, 2, 3});

    in[1] = tev_const(g, "idx32", TML_DT_S32, 2, (int64_t[]){2, 2}, (int32_t[]){1, 0, 0, 1});
    n = mk_node(g, TML_OP_GATHER, "g1", 2, in, 1);
    attr_i(g, n, "axis", 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 3, (int64_t[]){3, 2, 2});
    assert_f32(out0(g, n), 12, (float[]){1, 0, 0, 1, 3, 2, 2, 3, 5, 4, 4, 5});

    in[1] = tev_const(g, "idx_bad", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){3});
    n = mk_node(g, TML_OP_GATHER, "g_bad", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "index 3 out of range");
    tml_graph_free(g);
}

static void test_gather_kernel_bad_runtime_index(void **state)
{
    /* indices arriving at run time may be anything: out of range yields zeros, no OOB read */
    tml_gather_params p = {4, 8, 1, 3, 2, 2};
    float x[6] = {1, 2, 3, 4, 5, 6}, y[4] = {-1, -1, -1, -1};
    int64_t idx[2] = {7, -1};
    const void *in[2] = {x, idx};
    void *out[1] = {y};
    uint32_t ib[2] = {sizeof x, sizeof idx}, ob[1] = {sizeof y};
    (void)state;
    assert_int_equal(tml_gather_x_check(&p, sizeof p, ib, 2, ob, 1, 0), TML_OK);
    tml_gather_x(&p, in, out, NULL);
    assert_float_equal(y[0], 0, 0);
    assert_float_equal(y[1], 0, 0);
    assert_float_equal(y[2], 5, 0);
    assert_float_equal(y[3], 6, 0);
}

static void test_depth_space(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, n;
    float v[16];
    int i;
    (void)state;
    for (i = 0; i < 16; i++)
        v[i] = (float)i;
    g->opset = 13;
    /* x (1, 4, 2, 2): channel c holds 4c..4c+3 */
    x = tev_const(g, "x", TML_DT_F32, 4, (int64_t[]){1, 4, 2, 2}, v);
    n = mk_node(g, TML_OP_DEPTH_TO_SPACE, "d2s_dcr", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 1, 4, 4});
    /* DCR: out[h*2+bh][w*2+bw] = in[c = bh*2+bw][h][w] */
    assert_f32(out0(g, n), 16, (float[]){0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15});

    n = mk_node(g, TML_OP_DEPTH_TO_SPACE, "d2s_crd", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    attr_s(g, n, "mode", "CRD");
    assert_int_equal(tev_eval(g, n), TML_OK);
    /* with one output channel, CRD and DCR agree (c' = 0) */
    assert_f32(out0(g, n), 16, (float[]){0, 4, 1, 5, 8, 12, 9, 13, 2, 6, 3, 7, 10, 14, 11, 15});

    /* SpaceToDepth inverts DepthToSpace (DCR) */
    x = out0(g, n) - g->tensors;
    n = mk_node(g, TML_OP_SPACE_TO_DEPTH, "s2d", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 4, 2, 2});
    assert_f32(out0(g, n), 16, v);

    x = tev_const(g, "x3", TML_DT_F32, 4, (int64_t[]){1, 3, 2, 2}, v);
    n = mk_node(g, TML_OP_DEPTH_TO_SPACE, "d2s_bad", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    assert_fails(g, n, TML_ERR_SHAPE, "divisible");
    tml_graph_free(g);
}

static void test_d2s_crd_two_channels(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, n, i;
    float v[8];
    (void)state;
    for (i = 0; i < 8; i++)
        v[i] = (float)i;
    g->opset = 13;
    /* x (1, 8, 1, 1), blocksize 2 -> (1, 2, 2, 2) */
    x = tev_const(g, "x", TML_DT_F32, 4, (int64_t[]){1, 8, 1, 1}, v);
    n = mk_node(g, TML_OP_DEPTH_TO_SPACE, "crd", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    attr_s(g, n, "mode", "CRD");
    assert_int_equal(tev_eval(g, n), TML_OK);
    /* CRD: channel index c*4 + bh*2 + bw */
    assert_f32(out0(g, n), 8, (float[]){0, 1, 2, 3, 4, 5, 6, 7});
    n = mk_node(g, TML_OP_DEPTH_TO_SPACE, "dcr", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    /* DCR: channel index (bh*2 + bw)*2 + c */
    assert_f32(out0(g, n), 8, (float[]){0, 2, 4, 6, 1, 3, 5, 7});
    tml_graph_free(g);
}

static void test_depth_space_nhwc(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, n;
    (void)state;
    g->opset = 13;
    /* NHWC x (1, 1, 2, 4) as a TFLite importer marks it: DCR order on the last axis */
    x = tev_const(g, "x", TML_DT_F32, 4, (int64_t[]){1, 1, 2, 4},
                  (float[]){0, 1, 2, 3, 4, 5, 6, 7});
    g->tensors[x].layout = TML_LAYOUT_NHWC;
    n = mk_node(g, TML_OP_DEPTH_TO_SPACE, "d2s_nhwc", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 2, 4, 1});
    assert_int_equal(out0(g, n)->layout, TML_LAYOUT_NHWC);
    assert_f32(out0(g, n), 8, (float[]){0, 1, 4, 5, 2, 3, 6, 7});
    x = out0(g, n) - g->tensors;
    n = mk_node(g, TML_OP_SPACE_TO_DEPTH, "s2d_nhwc", 1, &x, 1);
    attr_i(g, n, "blocksize", 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 4, (int64_t[]){1, 1, 2, 4});
    assert_f32(out0(g, n), 8, (float[]){0, 1, 2, 3, 4, 5, 6, 7});
    tml_graph_free(g);
}

/* Cases the fuzzer found: extreme values end in errors or correct empty results. */
static void test_fuzz_regressions(void **state)
{
    tml_graph *g = tml_graph_new();
    int in[5], n;
    (void)state;
    g->opset = 13;
    /* negative step over an empty axis: empty, not one element */
    in[0] = tev_const(g, "x0", TML_DT_F32, 2, (int64_t[]){2, 0}, (float[]){0});
    in[1] = tev_const(g, "s", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){-1});
    in[2] = tev_const(g, "e", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){INT64_MIN});
    in[3] = tev_const(g, "a", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){1});
    in[4] = tev_const(g, "k", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){INT64_MIN});
    n = mk_node(g, TML_OP_SLICE, "slice_empty_neg", 5, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){2, 0});
    /* INT64_MIN step on a real axis: one element */
    in[0] = tev_const(g, "x1", TML_DT_F32, 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    in[3] = tev_const(g, "a0", TML_DT_S64, 1, (int64_t[]){1}, (int64_t[]){0});
    n = mk_node(g, TML_OP_SLICE, "slice_min_step", 5, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 1, (float[]){4});
    /* pads beyond 32 bits */
    in[1] = tev_const(g, "p", TML_DT_S64, 1, (int64_t[]){2}, (int64_t[]){3, INT64_MAX});
    n = mk_node(g, TML_OP_PAD, "pad_huge", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "invalid");
    tml_graph_clear_error(g);
    /* outputs of more than 2^31 elements */
    in[1] = tev_const(g, "p2", TML_DT_S64, 1, (int64_t[]){2}, (int64_t[]){0, 0x7ffffff0});
    n = mk_node(g, TML_OP_PAD, "pad_big", 2, in, 1);
    assert_int_equal(tml_op_shape(g, n), TML_OK); /* 2^31 - 12 elements: legal, if absurd */
    in[0] = tev_const(g, "x2", TML_DT_F32, 2, (int64_t[]){2, 4}, (float[]){1, 2, 3, 4, 5, 6, 7, 8});
    in[1] = tev_const(g, "p3", TML_DT_S64, 1, (int64_t[]){4}, (int64_t[]){0, 0, 0, 0x7ffffff0});
    n = mk_node(g, TML_OP_PAD, "pad_too_big", 2, in, 1);
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "2^31");
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transpose),
        cmocka_unit_test(test_concat),
        cmocka_unit_test(test_pad_modes),
        cmocka_unit_test(test_pad_opset2_attr),
        cmocka_unit_test(test_slice),
        cmocka_unit_test(test_gather),
        cmocka_unit_test(test_gather_kernel_bad_runtime_index),
        cmocka_unit_test(test_depth_space),
        cmocka_unit_test(test_d2s_crd_two_channels),
        cmocka_unit_test(test_depth_space_nhwc),
        cmocka_unit_test(test_fuzz_regressions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
