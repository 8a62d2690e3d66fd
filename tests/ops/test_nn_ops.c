/*
 * test_nn_ops.c - hand-computed cases for every op of the nn family (float32), run through
 * the shape hook, the lowering, the kernel's _check and the kernel (tests/support/
 * node_eval.h), plus the error paths: bad attributes, mismatched shapes and unsupported
 * dtypes must fail with the right status and a message naming the node.
 *
 * Every successful evaluation is also fed to `check_rejects_undersized`: the kernel's _check
 * must accept the exact buffer sizes and reject each input and output 1 byte short, and
 * reject a params blob of the wrong size. That is the property the device relies on when it
 * loads an untrusted model package.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "support/node_eval.h"

static tml_graph *G;

static int setup(void **state)
{
    (void)state;
    G = tml_graph_new();
    G->opset = 17;
    return G ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    tml_graph_free(G);
    return 0;
}

/* ---- building blocks ---- */

static int cf(const char *name, int rank, const int64_t *dims, const float *data)
{
    return tev_const(G, name, TML_DT_F32, rank, dims, data);
}

/* Adds node `name` of op with inputs in[] and n_out fresh outputs named name.0, name.1. */
static int mk(tml_op op, const char *name, int n_in, const int *in, int n_out)
{
    int out[8], i;
    char tn[64];
    for (i = 0; i < n_out; i++) {
        snprintf(tn, sizeof tn, "%s.%d", name, i);
        out[i] = tml_graph_add_tensor(G, tn);
    }
    return tml_graph_add_node(G, op, name, n_in, in, n_out, out);
}

static void a_ints(int n, const char *name, int count, const int64_t *v)
{
    tml_attr *a = tml_node_add_attr(G, n, name, TML_ATTR_INTS);
    a->n = count;
    a->ints = tml_graph_memdup(G, v, sizeof(int64_t) * (size_t)count);
}
static void a_int(int n, const char *name, int64_t v) { tml_node_add_attr(G, n, name, TML_ATTR_INT)->i = v; }
static void a_float(int n, const char *name, float v) { tml_node_add_attr(G, n, name, TML_ATTR_FLOAT)->f = v; }
static void a_str(int n, const char *name, const char *s)
{
    tml_node_add_attr(G, n, name, TML_ATTR_STRING)->s = tml_graph_strdup(G, s);
}

#define I64(...) ((const int64_t[]){__VA_ARGS__})
#define F32(...) ((const float[]){__VA_ARGS__})

static const tml_tensor *out_of(int n, int i) { return &G->tensors[G->nodes[n].out[i]]; }

static void expect_shape(int n, int i, int rank, const int64_t *dims)
{
    const tml_tensor *t = out_of(n, i);
    int k;
    assert_int_equal(t->rank, rank);
    for (k = 0; k < rank; k++)
        assert_int_equal(t->dims[k], dims[k]);
}

static void expect_f32(int n, int i, int count, const float *want)
{
    const tml_tensor *t = out_of(n, i);
    const float *y = (const float *)t->data;
    int k;
    assert_int_equal(t->dtype, TML_DT_F32);
    assert_int_equal(tml_tensor_numel(t), count);
    for (k = 0; k < count; k++) {
        if (!(fabsf(y[k] - want[k]) <= 1e-5f + 1e-5f * fabsf(want[k])))
            fail_msg("element %d: got %.7g, expected %.7g", k, y[k], want[k]);
    }
}

/* The kernel's _check accepts exact sizes and rejects any buffer 1 byte short. */
static void check_rejects_undersized(int n)
{
    tml_step_desc s;
    const tml_kernel_info *ki;
    uint32_t ib[TML_STEP_MAX_IO], ob[TML_STEP_MAX_IO];
    int i;
    assert_int_equal(tml_op_lower(G, n, &s), TML_OK);
    ki = tml_kernel_get_info(s.kernel);
    assert_non_null(ki);
    for (i = 0; i < s.n_in; i++)
        ib[i] = (uint32_t)tml_tensor_nbytes(&G->tensors[s.in[i]]);
    for (i = 0; i < s.n_out; i++)
        ob[i] = (uint32_t)tml_tensor_nbytes(&G->tensors[s.out[i]]);
    assert_int_equal(ki->check(s.params, s.params_size, ib, s.n_in, ob, s.n_out, s.scratch_bytes),
                     TML_OK);
    assert_int_not_equal(ki->check(s.params, s.params_size - 4, ib, s.n_in, ob, s.n_out,
                                   s.scratch_bytes),
                         TML_OK);
    assert_int_not_equal(ki->check(s.params, s.params_size, ib, s.n_in + 1, ob, s.n_out,
                                   s.scratch_bytes),
                         TML_OK);
    for (i = 0; i < s.n_in; i++) {
        ib[i] -= 1;
        if (ki->check(s.params, s.params_size, ib, s.n_in, ob, s.n_out, s.scratch_bytes) == TML_OK)
            fail_msg("kernel '%s' accepts input %d 1 byte short", ki->name, i);
        ib[i] += 1;
    }
    for (i = 0; i < s.n_out; i++) {
        ob[i] -= 1;
        if (ki->check(s.params, s.params_size, ib, s.n_in, ob, s.n_out, s.scratch_bytes) == TML_OK)
            fail_msg("kernel '%s' accepts output %d 1 byte short", ki->name, i);
        ob[i] += 1;
    }
}

static void eval_ok(int n)
{
    tml_status st = tev_eval(G, n);
    if (st)
        fail_msg("eval failed: %s", tml_graph_error(G));
    check_rejects_undersized(n);
}

/* Evaluation fails with st, and the message names the node and contains `needle`. */
static void eval_fails(int n, tml_status st, const char *needle)
{
    char name[80];
    tml_graph_clear_error(G);
    assert_int_equal(tev_eval(G, n), st);
    snprintf(name, sizeof name, "node '%s'", G->nodes[n].name);
    if (!strstr(tml_graph_error(G), name) || !strstr(tml_graph_error(G), needle))
        fail_msg("message '%s' lacks '%s' or '%s'", tml_graph_error(G), name, needle);
}

/* x = 0..24 as (1, 1, 5, 5), w = ones (1, 1, 3, 3): the ONNX Conv examples. */
static void conv_example_inputs(int *in)
{
    float x[25], w[9];
    int i;
    for (i = 0; i < 25; i++)
        x[i] = (float)i;
    for (i = 0; i < 9; i++)
        w[i] = 1.0f;
    in[0] = cf("x", 4, I64(1, 1, 5, 5), x);
    in[1] = cf("w", 4, I64(1, 1, 3, 3), w);
}

/* ---- Conv ---- */

static void test_conv_2d_pads(void **state)
{
    int in[2], n;
    (void)state;
    conv_example_inputs(in);
    n = mk(TML_OP_CONV, "conv", 2, in, 1);
    a_ints(n, "kernel_shape", 2, I64(3, 3));
    a_ints(n, "pads", 4, I64(1, 1, 1, 1));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 1, 5, 5));
    expect_f32(n, 0, 25,
               F32(12, 21, 27, 33, 24, 33, 54, 63, 72, 51, 63, 99, 108, 117, 81, 93, 144, 153,
                   162, 111, 72, 111, 117, 123, 84));
}

static void test_conv_2d_no_pads_strides(void **state)
{
    int in[2], n;
    (void)state;
    conv_example_inputs(in);
    n = mk(TML_OP_CONV, "conv", 2, in, 1);
    a_ints(n, "strides", 2, I64(2, 2));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 1, 2, 2));
    expect_f32(n, 0, 4, F32(54, 72, 144, 162));
}

static void test_conv_auto_pad_same(void **state)
{
    int in[2], n, m;
    (void)state;
    conv_example_inputs(in);
    /* SAME_LOWER, stride 2, 5 -> 3: total pad 2 -> 1 at the start */
    n = mk(TML_OP_CONV, "conv_lower", 2, in, 1);
    a_str(n, "auto_pad", "SAME_LOWER");
    a_ints(n, "strides", 2, I64(2, 2));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 1, 3, 3));
    expect_f32(n, 0, 9, F32(12, 27, 24, 63, 108, 81, 72, 117, 84));
    /* 4x4 window 2, stride 2 would not pad; use kernel 2 on 5: total 1 -> UPPER pads the end */
    {
        int w2 = cf("w2", 4, I64(1, 1, 2, 2), F32(1, 1, 1, 1)), in2[2];
        in2[0] = in[0];
        in2[1] = w2;
        m = mk(TML_OP_CONV, "conv_upper", 2, in2, 1);
        a_str(m, "auto_pad", "SAME_UPPER");
        a_ints(m, "strides", 2, I64(2, 2));
        eval_ok(m);
        expect_shape(m, 0, 4, I64(1, 1, 3, 3));
        /* windows start at 0, 2, 4; the last one reads padding on its right/bottom */
        expect_f32(m, 0, 9, F32(12, 20, 13, 52, 60, 33, 41, 45, 24));
    }
}

static void test_conv_1d_dilated_bias_act(void **state)
{
    int in[3], n;
    (void)state;
    in[0] = cf("x", 3, I64(1, 1, 5), F32(1, 2, 4, 8, 16));
    in[1] = cf("w", 3, I64(1, 1, 2), F32(1, -1));
    in[2] = cf("b", 1, I64(1), F32(4));
    n = mk(TML_OP_CONV, "conv1d", 3, in, 1);
    a_ints(n, "dilations", 1, I64(2));
    G->nodes[n].act = TML_ACT_RELU;
    eval_ok(n);
    expect_shape(n, 0, 3, I64(1, 1, 3));
    /* x[i] - x[i+2] + 4 = 1, -2, -8 -> relu */
    expect_f32(n, 0, 3, F32(1, 0, 0));
}

static void test_conv_depthwise(void **state)
{
    int in[3], n;
    (void)state;
    in[0] = cf("x", 4, I64(1, 2, 3, 3), F32(1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2));
    in[1] = cf("w", 4, I64(2, 1, 2, 2), F32(1, 1, 1, 1, 1, 1, 1, 1));
    in[2] = cf("b", 1, I64(2), F32(1, -1));
    n = mk(TML_OP_CONV, "dw", 3, in, 1);
    a_int(n, "group", 2);
    G->nodes[n].act = TML_ACT_CLIP;
    G->nodes[n].act_a = 0.0f;
    G->nodes[n].act_b = 6.0f;
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 2, 2));
    expect_f32(n, 0, 8, F32(5, 5, 5, 5, 6, 6, 6, 6));
}

static void test_conv_3d_group(void **state)
{
    /* (1, 2, 2, 2, 2) input, 4 outputs in 2 groups, kernel 1: per-group channel sums */
    float x[16], w[4] = {1, 1, 2, -1};
    int in[2], n, i;
    (void)state;
    for (i = 0; i < 16; i++)
        x[i] = i < 8 ? 1.0f : 3.0f;
    in[0] = cf("x", 5, I64(1, 2, 2, 2, 2), x);
    in[1] = cf("w", 5, I64(4, 1, 1, 1, 1), w);
    n = mk(TML_OP_CONV, "conv3d", 2, in, 1);
    a_int(n, "group", 2);
    eval_ok(n);
    expect_shape(n, 0, 5, I64(1, 4, 2, 2, 2));
    expect_f32(n, 0, 32,
               F32(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6, 6, 6, 6, 6, 6, 6, 6, -3, -3,
                   -3, -3, -3, -3, -3, -3));
}

static void test_conv_errors(void **state)
{
    int in[2], n;
    (void)state;
    conv_example_inputs(in);
    n = mk(TML_OP_CONV, "bad_pad", 2, in, 1);
    a_str(n, "auto_pad", "FOO");
    eval_fails(n, TML_ERR_UNSUPPORTED, "unsupported attribute 'auto_pad=FOO'");

    n = mk(TML_OP_CONV, "bad_pads_len", 2, in, 1);
    a_ints(n, "pads", 2, I64(1, 1));
    eval_fails(n, TML_ERR_SHAPE, "'pads'");

    n = mk(TML_OP_CONV, "bad_kernel", 2, in, 1);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    eval_fails(n, TML_ERR_SHAPE, "kernel_shape");

    n = mk(TML_OP_CONV, "bad_stride", 2, in, 1);
    a_ints(n, "strides", 2, I64(0, 1));
    eval_fails(n, TML_ERR_SHAPE, "strides");

    n = mk(TML_OP_CONV, "bad_group", 2, in, 1);
    a_int(n, "group", 2);
    eval_fails(n, TML_ERR_SHAPE, "group");

    {
        int w = cf("w2ch", 4, I64(1, 2, 3, 3), F32(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                                     1, 1, 1));
        int in2[2] = {in[0], w};
        n = mk(TML_OP_CONV, "bad_channels", 2, in2, 1);
        eval_fails(n, TML_ERR_SHAPE, "'W'");
    }
    {
        uint16_t h[25] = {0};
        int xh = tev_const(G, "xh", TML_DT_F16, 4, I64(1, 1, 5, 5), h);
        int in2[2] = {xh, in[1]};
        n = mk(TML_OP_CONV, "half", 2, in2, 1);
        eval_fails(n, TML_ERR_UNSUPPORTED, "unsupported dtype 'float16'");
    }
    {
        int in2[2] = {cf("xnhwc", 4, I64(1, 5, 5, 1), G->tensors[in[0]].data), in[1]};
        G->tensors[in2[0]].layout = TML_LAYOUT_NHWC;
        n = mk(TML_OP_CONV, "nhwc", 2, in2, 1);
        eval_fails(n, TML_ERR_UNSUPPORTED, "layout NHWC");
    }
    {
        static const float zeros[49];
        int w = cf("wbig", 4, I64(1, 1, 7, 7), zeros);
        int in2[2] = {in[0], w};
        n = mk(TML_OP_CONV, "too_big", 2, in2, 1);
        eval_fails(n, TML_ERR_SHAPE, "window");
    }
}

/* ---- ConvTranspose: the ONNX operator examples ---- */

static void convt_inputs(int *in)
{
    in[0] = cf("x", 4, I64(1, 1, 3, 3), F32(0, 1, 2, 3, 4, 5, 6, 7, 8));
    in[1] = cf("w", 4, I64(1, 2, 3, 3),
               F32(1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
}

static const float convt_attr_row[8 * 10] = {
    0, 0, 1, 1, 3, 2, 2, 0,  0, 0, 1,  1, 3,  2, 2, 0, 0, 0, 1,  1, 3,  2, 2, 0,
    3, 3, 7, 4, 9, 5, 5, 0,  3, 3, 7,  4, 9,  5, 5, 0, 3, 3, 7,  4, 9,  5, 5, 0,
    6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0, 6, 6, 13, 7, 15, 8, 8, 0,
    0, 0, 0, 0, 0, 0, 0, 0};

static void expect_two_same_channels(int n, int plane, const float *ch)
{
    float want[2 * 80];
    memcpy(want, ch, sizeof(float) * (size_t)plane);
    memcpy(want + plane, ch, sizeof(float) * (size_t)plane);
    expect_f32(n, 0, 2 * plane, want);
}

static void test_convt_basic(void **state)
{
    int in[2], n;
    (void)state;
    convt_inputs(in);
    n = mk(TML_OP_CONV_TRANSPOSE, "convt", 2, in, 1);
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 5, 5));
    expect_two_same_channels(n, 25,
                             F32(0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24,
                                 13, 6, 13, 21, 15, 8));
}

static void test_convt_group_2(void **state)
{
    /* ONNX test_convtranspose_group_2: x = 0..17 (1, 2, 3, 3), w = ones (2, 1, 3, 3) */
    static const float basic[25] = {0, 1,  3,  3,  2,  3,  8,  15, 12, 7,  9, 21, 36,
                                    27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8};
    static const float taps[25] = {1, 2, 3, 2, 1, 2, 4, 6, 4, 2, 3, 6, 9,
                                   6, 3, 2, 4, 6, 4, 2, 1, 2, 3, 2, 1};
    float x[18], w[18], want[50];
    int in[2], n, i;
    (void)state;
    for (i = 0; i < 18; i++) {
        x[i] = (float)i;
        w[i] = 1.0f;
    }
    for (i = 0; i < 25; i++) {
        want[i] = basic[i];
        want[25 + i] = basic[i] + 9.0f * taps[i]; /* channel 1 sees x + 9 */
    }
    in[0] = cf("x", 4, I64(1, 2, 3, 3), x);
    in[1] = cf("w", 4, I64(2, 1, 3, 3), w);
    n = mk(TML_OP_CONV_TRANSPOSE, "convt_g2", 2, in, 1);
    a_int(n, "group", 2);
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 5, 5));
    expect_f32(n, 0, 50, want);
}

static void test_convt_1d(void **state)
{
    int in[2], n;
    (void)state;
    in[0] = cf("x", 3, I64(1, 1, 3), F32(0, 1, 2));
    in[1] = cf("w", 3, I64(1, 2, 3), F32(1, 1, 1, 1, 1, 1));
    n = mk(TML_OP_CONV_TRANSPOSE, "convt1d", 2, in, 1);
    eval_ok(n);
    expect_shape(n, 0, 3, I64(1, 2, 5));
    expect_f32(n, 0, 10, F32(0, 1, 3, 3, 2, 0, 1, 3, 3, 2));
}

static void test_convt_output_shape_padding(void **state)
{
    int in[2], n;
    (void)state;
    convt_inputs(in);
    n = mk(TML_OP_CONV_TRANSPOSE, "convt_output_shape", 2, in, 1);
    a_ints(n, "strides", 2, I64(3, 2));
    a_ints(n, "output_shape", 2, I64(10, 8));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 10, 8));
    expect_two_same_channels(n, 80, convt_attr_row);

    n = mk(TML_OP_CONV_TRANSPOSE, "convt_pad", 2, in, 1);
    a_ints(n, "strides", 2, I64(3, 2));
    a_ints(n, "output_padding", 2, I64(1, 1));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 10, 8));
    expect_two_same_channels(n, 80, convt_attr_row);

    n = mk(TML_OP_CONV_TRANSPOSE, "convt_kernel_shape", 2, in, 1);
    a_ints(n, "strides", 2, I64(3, 2));
    a_ints(n, "output_shape", 2, I64(10, 8));
    a_ints(n, "kernel_shape", 2, I64(3, 3));
    a_ints(n, "output_padding", 2, I64(1, 1));
    eval_ok(n);
    expect_two_same_channels(n, 80, convt_attr_row);
}

static void test_convt_pads(void **state)
{
    int in[2], n;
    (void)state;
    convt_inputs(in);
    n = mk(TML_OP_CONV_TRANSPOSE, "convt_pads", 2, in, 1);
    a_ints(n, "strides", 2, I64(3, 2));
    a_ints(n, "pads", 4, I64(1, 2, 1, 2));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 7, 3));
    expect_two_same_channels(n, 21,
                             F32(1, 1, 3, 1, 1, 3, 7, 4, 9, 7, 4, 9, 7, 4, 9, 13, 7, 15, 13, 7, 15));
}

static void test_convt_autopad_same(void **state)
{
    int in[2], n;
    (void)state;
    convt_inputs(in);
    n = mk(TML_OP_CONV_TRANSPOSE, "convt_same", 2, in, 1);
    a_str(n, "auto_pad", "SAME_UPPER");
    a_ints(n, "strides", 2, I64(2, 2));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 6, 6));
    expect_two_same_channels(n, 36,
                             F32(0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7, 3, 3, 7, 4,
                                 9, 5, 9, 9, 20, 11, 24, 13, 6, 6, 13, 7, 15, 8));
}

static void test_convt_dilations(void **state)
{
    int in[2], n;
    (void)state;
    in[0] = cf("x", 4, I64(1, 1, 3, 3), F32(3, 8, 1, 9, 5, 7, 3, 2, 6));
    in[1] = cf("w", 4, I64(1, 1, 2, 2), F32(7, 2, 1, 9));
    n = mk(TML_OP_CONV_TRANSPOSE, "convt_dil", 2, in, 1);
    a_ints(n, "dilations", 2, I64(2, 2));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 1, 5, 5));
    expect_f32(n, 0, 25,
               F32(21, 56, 13, 16, 2, 63, 35, 67, 10, 14, 24, 22, 76, 76, 21, 9, 5, 88, 45, 63, 3,
                   2, 33, 18, 54));
}

static void test_convt_group_bias(void **state)
{
    /* 2 groups, 1 in / 1 out channel each, kernel 1, stride 2: spread with zeros, plus bias */
    int in[3], n;
    (void)state;
    in[0] = cf("x", 3, I64(1, 2, 2), F32(1, 2, 3, 4));
    in[1] = cf("w", 3, I64(2, 1, 1), F32(10, -1));
    in[2] = cf("b", 1, I64(2), F32(0.5f, 0));
    n = mk(TML_OP_CONV_TRANSPOSE, "convt_group", 3, in, 1);
    a_int(n, "group", 2);
    a_ints(n, "strides", 1, I64(2));
    eval_ok(n);
    expect_shape(n, 0, 3, I64(1, 2, 3));
    expect_f32(n, 0, 6, F32(10.5f, 0.5f, 20.5f, -3, 0, -4));
}

/* ---- Gemm ---- */

static void test_gemm(void **state)
{
    int in[3], n;
    (void)state;
    in[0] = cf("a", 2, I64(2, 3), F32(1, 2, 3, 4, 5, 6));
    in[1] = cf("b", 2, I64(3, 2), F32(1, 2, 3, 4, 5, 6));
    in[2] = cf("c", 1, I64(2), F32(1, -1));
    n = mk(TML_OP_GEMM, "gemm", 3, in, 1);
    a_float(n, "alpha", 0.5f);
    a_float(n, "beta", 2.0f);
    eval_ok(n);
    expect_shape(n, 0, 2, I64(2, 2));
    expect_f32(n, 0, 4, F32(13, 12, 26.5f, 30));
}

static void test_gemm_trans_scalar_c(void **state)
{
    int in[3], n;
    (void)state;
    in[0] = cf("at", 2, I64(3, 2), F32(1, 4, 2, 5, 3, 6)); /* A^T */
    in[1] = cf("bt", 2, I64(2, 3), F32(1, 3, 5, 2, 4, 6)); /* B^T */
    in[2] = cf("c", 0, I64(0), F32(-22));
    n = mk(TML_OP_GEMM, "gemm_t", 3, in, 1);
    a_int(n, "transA", 1);
    a_int(n, "transB", 1);
    G->nodes[n].act = TML_ACT_RELU;
    eval_ok(n);
    expect_f32(n, 0, 4, F32(0, 6, 27, 42));
}

static void test_gemm_no_c_column_c(void **state)
{
    int in[3], n;
    (void)state;
    in[0] = cf("a", 2, I64(2, 2), F32(1, 0, 0, 1));
    in[1] = cf("b", 2, I64(2, 3), F32(1, 2, 3, 4, 5, 6));
    n = mk(TML_OP_GEMM, "gemm_noc", 2, in, 1);
    eval_ok(n);
    expect_f32(n, 0, 6, F32(1, 2, 3, 4, 5, 6));
    in[2] = cf("ccol", 2, I64(2, 1), F32(10, 20));
    n = mk(TML_OP_GEMM, "gemm_ccol", 3, in, 1);
    eval_ok(n);
    expect_f32(n, 0, 6, F32(11, 12, 13, 24, 25, 26));
}

static void test_gemm_errors(void **state)
{
    int in[3], n;
    (void)state;
    in[0] = cf("a", 2, I64(2, 3), F32(1, 2, 3, 4, 5, 6));
    in[1] = cf("b", 2, I64(2, 3), F32(1, 2, 3, 4, 5, 6));
    n = mk(TML_OP_GEMM, "gemm_k", 2, in, 1);
    eval_fails(n, TML_ERR_SHAPE, "K=3");
    in[1] = cf("b2", 2, I64(3, 2), F32(1, 2, 3, 4, 5, 6));
    in[2] = cf("c3", 1, I64(3), F32(1, 2, 3));
    n = mk(TML_OP_GEMM, "gemm_c", 3, in, 1);
    eval_fails(n, TML_ERR_SHAPE, "'C'");
}

/* ---- MatMul ---- */

static void test_matmul_batched(void **state)
{
    int in[2], n;
    (void)state;
    in[0] = cf("a", 3, I64(2, 2, 3), F32(1, 2, 3, 4, 5, 6, 2, 4, 6, 8, 10, 12));
    in[1] = cf("b", 2, I64(3, 1), F32(1, 1, 1));
    n = mk(TML_OP_MATMUL, "mm", 2, in, 1);
    eval_ok(n);
    expect_shape(n, 0, 3, I64(2, 2, 1));
    expect_f32(n, 0, 4, F32(6, 15, 12, 30));
}

static void test_matmul_broadcast_both(void **state)
{
    /* A (2, 1, 1, 2) x B (3, 2, 1) -> (2, 3, 1, 1) */
    int in[2], n;
    (void)state;
    in[0] = cf("a", 4, I64(2, 1, 1, 2), F32(1, 2, 10, 20));
    in[1] = cf("b", 3, I64(3, 2, 1), F32(1, 0, 0, 1, 1, 1));
    n = mk(TML_OP_MATMUL, "mm_bc", 2, in, 1);
    G->nodes[n].act = TML_ACT_LEAKY;
    G->nodes[n].act_a = 0.1f;
    eval_ok(n);
    expect_shape(n, 0, 4, I64(2, 3, 1, 1));
    expect_f32(n, 0, 6, F32(1, 2, 3, 10, 20, 30));
}

static void test_matmul_1d(void **state)
{
    float b[12];
    int in[2], n, i;
    (void)state;
    for (i = 0; i < 12; i++)
        b[i] = (float)i;
    in[0] = cf("v", 1, I64(3), F32(1, 2, 3));
    in[1] = cf("w", 1, I64(3), F32(4, 5, 6));
    n = mk(TML_OP_MATMUL, "dot", 2, in, 1);
    eval_ok(n);
    assert_int_equal(out_of(n, 0)->rank, 0);
    expect_f32(n, 0, 1, F32(32));

    in[1] = cf("b3", 3, I64(2, 3, 2), b);
    in[0] = cf("ones", 1, I64(3), F32(1, 1, 1));
    n = mk(TML_OP_MATMUL, "vec_mat", 2, in, 1);
    eval_ok(n);
    expect_shape(n, 0, 2, I64(2, 2));
    expect_f32(n, 0, 4, F32(6, 9, 24, 27));

    in[0] = cf("m23", 2, I64(2, 3), F32(1, 0, 0, 0, 0, 1));
    in[1] = cf("v3", 1, I64(3), F32(7, 8, 9));
    n = mk(TML_OP_MATMUL, "mat_vec", 2, in, 1);
    eval_ok(n);
    expect_shape(n, 0, 1, I64(2));
    expect_f32(n, 0, 2, F32(7, 9));
}

static void test_matmul_errors(void **state)
{
    int in[2], n;
    (void)state;
    in[0] = cf("a", 3, I64(2, 2, 3), F32(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    in[1] = cf("b", 3, I64(3, 3, 1), F32(1, 1, 1, 1, 1, 1, 1, 1, 1));
    n = mk(TML_OP_MATMUL, "mm_batch", 2, in, 1);
    eval_fails(n, TML_ERR_SHAPE, "batch");
    in[1] = cf("b2", 2, I64(2, 1), F32(1, 1));
    n = mk(TML_OP_MATMUL, "mm_inner", 2, in, 1);
    eval_fails(n, TML_ERR_SHAPE, "inner");
    {
        int32_t xi[4] = {1, 2, 3, 4};
        int ti = tev_const(G, "ints", TML_DT_S32, 2, I64(2, 2), xi);
        int in2[2] = {ti, ti};
        n = mk(TML_OP_MATMUL, "mm_int", 2, in2, 1);
        eval_fails(n, TML_ERR_UNSUPPORTED, "unsupported dtype 'int32'");
    }
}

/* ---- pools ---- */

static int x4x4(void)
{
    float x[16];
    int i;
    for (i = 0; i < 16; i++)
        x[i] = (float)(i + 1);
    return cf("x44", 4, I64(1, 1, 4, 4), x);
}

static void test_maxpool_indices(void **state)
{
    int x = x4x4(), n;
    const int64_t *idx;
    (void)state;
    n = mk(TML_OP_MAXPOOL, "mp", 1, &x, 2);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    a_ints(n, "strides", 2, I64(2, 2));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 1, 2, 2));
    expect_f32(n, 0, 4, F32(6, 8, 14, 16));
    assert_int_equal(out_of(n, 1)->dtype, TML_DT_S64);
    idx = (const int64_t *)out_of(n, 1)->data;
    assert_int_equal(idx[0], 5);
    assert_int_equal(idx[1], 7);
    assert_int_equal(idx[2], 13);
    assert_int_equal(idx[3], 15);

    n = mk(TML_OP_MAXPOOL, "mp_col", 1, &x, 2);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    a_ints(n, "strides", 2, I64(2, 2));
    a_int(n, "storage_order", 1);
    eval_ok(n);
    idx = (const int64_t *)out_of(n, 1)->data;
    assert_int_equal(idx[0], 5);
    assert_int_equal(idx[1], 13);
    assert_int_equal(idx[2], 7);
    assert_int_equal(idx[3], 15);
}

static void test_maxpool_pads_dilation_act(void **state)
{
    int x = x4x4(), n;
    (void)state;
    /* 1-D view is enough to see dilation: use 2-D with kernel (1, 2), dilation (1, 2) */
    n = mk(TML_OP_MAXPOOL, "mp_dil", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(1, 2));
    a_ints(n, "dilations", 2, I64(1, 2));
    a_ints(n, "pads", 4, I64(0, 1, 0, 0));
    G->nodes[n].act = TML_ACT_CLIP;
    G->nodes[n].act_a = 0;
    G->nodes[n].act_b = 10;
    eval_ok(n);
    /* width 4 + 1 pad, window extent 3 -> 3 outputs: max(pad, x1), max(x0, x2), max(x1, x3) */
    expect_shape(n, 0, 4, I64(1, 1, 4, 3));
    expect_f32(n, 0, 12, F32(2, 3, 4, 6, 7, 8, 10, 10, 10, 10, 10, 10));
}

static void test_avgpool_count_include_pad(void **state)
{
    int x = cf("x33", 4, I64(1, 1, 3, 3), F32(1, 2, 3, 4, 5, 6, 7, 8, 9)), n;
    (void)state;
    n = mk(TML_OP_AVGPOOL, "ap", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(3, 3));
    a_ints(n, "pads", 4, I64(1, 1, 1, 1));
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 1, 3, 3));
    expect_f32(n, 0, 9, F32(3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7));

    n = mk(TML_OP_AVGPOOL, "ap_incl", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(3, 3));
    a_ints(n, "pads", 4, I64(1, 1, 1, 1));
    a_int(n, "count_include_pad", 1);
    eval_ok(n);
    expect_f32(n, 0, 9,
               F32(12.0f / 9, 21.0f / 9, 16.0f / 9, 27.0f / 9, 5, 33.0f / 9, 24.0f / 9, 39.0f / 9,
                   28.0f / 9));
}

static void test_avgpool_ceil_1d(void **state)
{
    int x = cf("x5", 3, I64(1, 1, 5), F32(1, 2, 3, 4, 5)), n;
    (void)state;
    n = mk(TML_OP_AVGPOOL, "ap_ceil", 1, &x, 1);
    a_ints(n, "kernel_shape", 1, I64(2));
    a_ints(n, "strides", 1, I64(2));
    a_int(n, "ceil_mode", 1);
    eval_ok(n);
    expect_shape(n, 0, 3, I64(1, 1, 3));
    expect_f32(n, 0, 3, F32(1.5f, 3.5f, 5));

    /* count_include_pad: ONNX pads a ceil window's overhang with zeros that count */
    n = mk(TML_OP_AVGPOOL, "ap_ceil_incl", 1, &x, 1);
    a_ints(n, "kernel_shape", 1, I64(2));
    a_ints(n, "strides", 1, I64(2));
    a_int(n, "ceil_mode", 1);
    a_int(n, "count_include_pad", 1);
    eval_ok(n);
    expect_f32(n, 0, 3, F32(1.5f, 3.5f, 2.5f));

    n = mk(TML_OP_AVGPOOL, "ap_floor", 1, &x, 1);
    a_ints(n, "kernel_shape", 1, I64(2));
    a_ints(n, "strides", 1, I64(2));
    eval_ok(n);
    expect_shape(n, 0, 3, I64(1, 1, 2));
    expect_f32(n, 0, 2, F32(1.5f, 3.5f));
}

static void test_global_pools(void **state)
{
    int x = cf("x2222", 4, I64(1, 2, 2, 2), F32(1, 2, 3, 4, 5, 6, 7, 8)), n;
    (void)state;
    n = mk(TML_OP_GLOBAL_AVGPOOL, "gap", 1, &x, 1);
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 1, 1));
    expect_f32(n, 0, 2, F32(2.5f, 6.5f));
    n = mk(TML_OP_GLOBAL_MAXPOOL, "gmp", 1, &x, 1);
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 1, 1));
    expect_f32(n, 0, 2, F32(4, 8));
    {
        /* rank 6 (4-D spatial) works too: the window is the flattened extent */
        float v[16];
        int i, y;
        for (i = 0; i < 16; i++)
            v[i] = (float)i;
        y = cf("x6", 6, I64(1, 1, 2, 2, 2, 2), v);
        n = mk(TML_OP_GLOBAL_AVGPOOL, "gap6", 1, &y, 1);
        eval_ok(n);
        expect_shape(n, 0, 6, I64(1, 1, 1, 1, 1, 1));
        expect_f32(n, 0, 1, F32(7.5f));
    }
}

static void test_maxpool_8bit(void **state)
{
    uint8_t xu[16];
    int8_t xs[16];
    const uint8_t *yu;
    const int8_t *ys;
    const int64_t *idx;
    int x, n, i;
    (void)state;
    for (i = 0; i < 16; i++) {
        xu[i] = (uint8_t)(i * 16 + 15);  /* 15 .. 255 */
        xs[i] = (int8_t)(i * 16 - 128); /* -128 .. 112 */
    }
    x = tev_const(G, "xu", TML_DT_U8, 4, I64(1, 1, 4, 4), xu);
    n = mk(TML_OP_MAXPOOL, "mp_u8", 1, &x, 2);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    a_ints(n, "strides", 2, I64(2, 2));
    eval_ok(n);
    assert_int_equal(out_of(n, 0)->dtype, TML_DT_U8);
    yu = (const uint8_t *)out_of(n, 0)->data;
    idx = (const int64_t *)out_of(n, 1)->data;
    assert_int_equal(yu[0], 95);
    assert_int_equal(yu[3], 255);
    assert_int_equal(idx[3], 15);

    x = tev_const(G, "xs", TML_DT_S8, 4, I64(1, 1, 4, 4), xs);
    n = mk(TML_OP_MAXPOOL, "mp_s8", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(3, 3));
    a_ints(n, "pads", 4, I64(1, 1, 1, 1));
    eval_ok(n);
    ys = (const int8_t *)out_of(n, 0)->data;
    assert_int_equal(ys[0], 5 * 16 - 128); /* max of x[0..1][0..1]: padding never wins */
    assert_int_equal(ys[15], 112);

    n = mk(TML_OP_GLOBAL_MAXPOOL, "gmp_s8", 1, &x, 1);
    eval_ok(n);
    assert_int_equal(out_of(n, 0)->dtype, TML_DT_S8);
    assert_int_equal(((const int8_t *)out_of(n, 0)->data)[0], 112);

    n = mk(TML_OP_MAXPOOL, "mp_s8_act", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    G->nodes[n].act = TML_ACT_RELU;
    eval_fails(n, TML_ERR_UNSUPPORTED, "fused activation");

    n = mk(TML_OP_AVGPOOL, "ap_s8", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    eval_fails(n, TML_ERR_UNSUPPORTED, "unsupported dtype 'int8'");
}

static void test_pool_errors(void **state)
{
    int x = x4x4(), n;
    (void)state;
    n = mk(TML_OP_MAXPOOL, "mp_nok", 1, &x, 1);
    eval_fails(n, TML_ERR_SHAPE, "missing attribute 'kernel_shape'");
    n = mk(TML_OP_AVGPOOL, "ap_cip", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    a_int(n, "count_include_pad", 7);
    eval_fails(n, TML_ERR_UNSUPPORTED, "count_include_pad=7");
    n = mk(TML_OP_MAXPOOL, "mp_dil0", 1, &x, 1);
    a_ints(n, "kernel_shape", 2, I64(2, 2));
    a_ints(n, "dilations", 3, I64(1, 1, 1));
    eval_fails(n, TML_ERR_SHAPE, "'dilations' has 3 values, expected 2");
    {
        static const float zeros[16];
        int y = cf("x2d", 2, I64(4, 4), zeros);
        n = mk(TML_OP_MAXPOOL, "mp_rank", 1, &y, 1);
        a_ints(n, "kernel_shape", 0, I64(0));
        eval_fails(n, TML_ERR_UNSUPPORTED, "rank 2");
    }
}

/* ---- BatchNormalization ---- */

static void bn_inputs(int *in)
{
    in[0] = cf("x", 4, I64(1, 2, 1, 2), F32(1, 2, 3, 4));
    in[1] = cf("scale", 1, I64(2), F32(1, 2));
    in[2] = cf("bias", 1, I64(2), F32(0, 1));
    in[3] = cf("mean", 1, I64(2), F32(1, 3));
    in[4] = cf("var", 1, I64(2), F32(4, 0.25f));
}

static void test_batchnorm(void **state)
{
    int in[5], n;
    (void)state;
    bn_inputs(in);
    n = mk(TML_OP_BATCHNORM, "bn", 5, in, 1);
    a_float(n, "epsilon", 0.0f);
    eval_ok(n);
    expect_shape(n, 0, 4, I64(1, 2, 1, 2));
    expect_f32(n, 0, 4, F32(0, 0.5f, 1, 5));
    n = mk(TML_OP_BATCHNORM, "bn_act", 5, in, 1);
    a_float(n, "epsilon", 0.0f);
    G->nodes[n].act = TML_ACT_CLIP;
    G->nodes[n].act_a = 0.25f;
    G->nodes[n].act_b = 4;
    eval_ok(n);
    expect_f32(n, 0, 4, F32(0.25f, 0.5f, 1, 4));
}

static void test_batchnorm_spatial0(void **state)
{
    /* opset 7, spatial = 0: statistics per (channel, position) */
    int in[5], n;
    (void)state;
    G->opset = 7;
    in[0] = cf("x", 3, I64(2, 1, 2), F32(1, 2, 3, 4));
    in[1] = cf("s", 2, I64(1, 2), F32(1, 2));
    in[2] = cf("b", 2, I64(1, 2), F32(0, 0));
    in[3] = cf("m", 2, I64(1, 2), F32(1, 2));
    in[4] = cf("v", 2, I64(1, 2), F32(1, 1));
    n = mk(TML_OP_BATCHNORM, "bn_sp0", 5, in, 1);
    a_int(n, "spatial", 0);
    a_float(n, "epsilon", 0.0f);
    eval_ok(n);
    expect_f32(n, 0, 4, F32(0, 0, 2, 4));
}

static void test_batchnorm_errors(void **state)
{
    int in[5], n;
    (void)state;
    bn_inputs(in);
    n = mk(TML_OP_BATCHNORM, "bn_train", 5, in, 1);
    a_int(n, "training_mode", 1);
    eval_fails(n, TML_ERR_UNSUPPORTED, "training_mode=1");
    n = mk(TML_OP_BATCHNORM, "bn_outs", 5, in, 3);
    tml_graph_add_output(G, G->nodes[n].out[2]);
    eval_fails(n, TML_ERR_UNSUPPORTED, "training output 2");
    /* unused training outputs (old exporters) are shaped and ignored */
    n = mk(TML_OP_BATCHNORM, "bn_unused_outs", 5, in, 5);
    a_float(n, "epsilon", 0.0f);
    eval_ok(n);
    expect_f32(n, 0, 4, F32(0, 0.5f, 1, 5));
    expect_shape(n, 3, 1, I64(2));
    in[4] = cf("var3", 1, I64(3), F32(1, 1, 1));
    n = mk(TML_OP_BATCHNORM, "bn_var", 5, in, 1);
    eval_fails(n, TML_ERR_SHAPE, "'input_var'");
}

/* ---- Softmax, LogSoftmax ---- */

static void test_softmax_axis_opsets(void **state)
{
    int x, n;
    (void)state;
    x = cf("x", 3, I64(1, 2, 2), F32(1, 2, 3, 4));
    G->opset = 13; /* along axis 1 only */
    n = mk(TML_OP_SOFTMAX, "sm13", 1, &x, 1);
    a_int(n, "axis", 1);
    eval_ok(n);
    expect_f32(n, 0, 4, F32(0.11920292f, 0.11920292f, 0.88079708f, 0.88079708f));

    G->opset = 11; /* coerced to (1, 4) at axis 1 */
    n = mk(TML_OP_SOFTMAX, "sm11", 1, &x, 1);
    a_int(n, "axis", 1);
    eval_ok(n);
    expect_f32(n, 0, 4, F32(0.0320586f, 0.08714432f, 0.23688282f, 0.64391426f));

    n = mk(TML_OP_LOG_SOFTMAX, "lsm11", 1, &x, 1); /* default axis 1 */
    eval_ok(n);
    expect_f32(n, 0, 4, F32(-3.4401897f, -2.4401897f, -1.4401897f, -0.44018970f));

    G->opset = 13; /* default axis -1 */
    n = mk(TML_OP_LOG_SOFTMAX, "lsm13", 1, &x, 1);
    eval_ok(n);
    expect_f32(n, 0, 4, F32(-1.3132616f, -0.31326169f, -1.3132616f, -0.31326169f));
}

static void test_softmax_large(void **state)
{
    int x, n;
    (void)state;
    x = cf("big", 2, I64(1, 3), F32(10000, 10001, 10002));
    n = mk(TML_OP_SOFTMAX, "sm_big", 1, &x, 1);
    eval_ok(n);
    expect_f32(n, 0, 3, F32(0.09003057f, 0.24472847f, 0.66524096f));
}

static void test_softmax_errors(void **state)
{
    int x, n;
    (void)state;
    x = cf("x", 2, I64(2, 2), F32(1, 2, 3, 4));
    n = mk(TML_OP_SOFTMAX, "sm_axis", 1, &x, 1);
    a_int(n, "axis", 2);
    eval_fails(n, TML_ERR_SHAPE, "'axis'");
    n = mk(TML_OP_LOG_SOFTMAX, "lsm_axis", 1, &x, 1);
    a_int(n, "axis", -3);
    eval_fails(n, TML_ERR_SHAPE, "'axis'");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_conv_2d_pads),
        T(test_conv_2d_no_pads_strides),
        T(test_conv_auto_pad_same),
        T(test_conv_1d_dilated_bias_act),
        T(test_conv_depthwise),
        T(test_conv_3d_group),
        T(test_conv_errors),
        T(test_convt_basic),
        T(test_convt_1d),
        T(test_convt_group_2),
        T(test_convt_output_shape_padding),
        T(test_convt_pads),
        T(test_convt_autopad_same),
        T(test_convt_dilations),
        T(test_convt_group_bias),
        T(test_gemm),
        T(test_gemm_trans_scalar_c),
        T(test_gemm_no_c_column_c),
        T(test_gemm_errors),
        T(test_matmul_batched),
        T(test_matmul_broadcast_both),
        T(test_matmul_1d),
        T(test_matmul_errors),
        T(test_maxpool_indices),
        T(test_maxpool_pads_dilation_act),
        T(test_avgpool_count_include_pad),
        T(test_avgpool_ceil_1d),
        T(test_global_pools),
        T(test_maxpool_8bit),
        T(test_pool_errors),
        T(test_batchnorm),
        T(test_batchnorm_spatial0),
        T(test_batchnorm_errors),
        T(test_softmax_axis_opsets),
        T(test_softmax_large),
        T(test_softmax_errors),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
