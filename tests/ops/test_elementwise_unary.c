/*
 * test_elementwise_unary.c - the unary ops of the elementwise family (Relu, LeakyRelu,
 * Sigmoid, Tanh, HardSigmoid, HardSwish, Clip, Elu, Selu, Softplus, Exp, Sqrt, Neg, Abs) on
 * hand-computed values, Clip's bounds as attributes (opset < 11) and as constant inputs
 * (opset >= 11, also int8) or run-time inputs (binary kernel), dtype errors, and
 * the unary kernels' _check on undersized buffers.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"

static const float X[5] = {-3.0f, -0.5f, 0.0f, 0.5f, 3.0f};

/* Evaluates op on X (opset 22) with up to two float attributes; returns the output data. */
static const float *eval_f32(tml_graph *g, tml_op op, const char *an1, float av1,
                             const char *an2, float av2)
{
    int x = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){5}, X);
    int y = tml_graph_add_tensor(g, "y");
    int n = tml_graph_add_node(g, op, "node", 1, &x, 1, &y);
    tml_attr *a;
    assert_true(n >= 0);
    if (an1) {
        a = tml_node_add_attr(g, n, an1, TML_ATTR_FLOAT);
        a->f = av1;
    }
    if (an2) {
        a = tml_node_add_attr(g, n, an2, TML_ATTR_FLOAT);
        a->f = av2;
    }
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(g->tensors[y].rank, 1);
    assert_int_equal(g->tensors[y].dims[0], 5);
    return g->tensors[y].data;
}

static void check(tml_op op, const char *an1, float av1, const char *an2, float av2,
                  const float *want)
{
    tml_graph *g = tml_graph_new();
    const float *y;
    int i;
    g->opset = 22;
    y = eval_f32(g, op, an1, av1, an2, av2);
    for (i = 0; i < 5; i++)
        assert_float_equal(y[i], want[i], 1e-5f);
    tml_graph_free(g);
}

static void test_activations(void **state)
{
    (void)state;
    check(TML_OP_RELU, NULL, 0, NULL, 0, (float[]){0, 0, 0, 0.5f, 3});
    check(TML_OP_LEAKY_RELU, NULL, 0, NULL, 0, (float[]){-0.03f, -0.005f, 0, 0.5f, 3});
    check(TML_OP_LEAKY_RELU, "alpha", 0.1f, NULL, 0, (float[]){-0.3f, -0.05f, 0, 0.5f, 3});
    check(TML_OP_SIGMOID, NULL, 0, NULL, 0,
          (float[]){0.047425873f, 0.37754067f, 0.5f, 0.62245933f, 0.95257413f});
    check(TML_OP_TANH, NULL, 0, NULL, 0,
          (float[]){-0.99505475f, -0.46211716f, 0, 0.46211716f, 0.99505475f});
    check(TML_OP_HARD_SIGMOID, NULL, 0, NULL, 0, (float[]){0, 0.4f, 0.5f, 0.6f, 1});
    check(TML_OP_HARD_SIGMOID, "alpha", 0.5f, "beta", 0.6f, (float[]){0, 0.35f, 0.6f, 0.85f, 1});
    check(TML_OP_HARD_SWISH, NULL, 0, NULL, 0,
          (float[]){0, -0.5f * 2.5f / 6, 0, 0.5f * 3.5f / 6, 3});
    check(TML_OP_ELU, NULL, 0, NULL, 0,
          (float[]){-0.95021293f, -0.39346934f, 0, 0.5f, 3});
    check(TML_OP_ELU, "alpha", 2.0f, NULL, 0,
          (float[]){-1.90042586f, -0.78693868f, 0, 0.5f, 3});
    check(TML_OP_SELU, NULL, 0, NULL, 0,
          (float[]){-1.6705687f, -0.69175816f, 0, 0.52535051f, 3.1521031f});
    check(TML_OP_SELU, "alpha", 2.0f, "gamma", 3.0f,
          (float[]){-5.7012776f, -2.3608160f, 0, 1.5f, 9});
    check(TML_OP_SOFTPLUS, NULL, 0, NULL, 0,
          (float[]){0.048587352f, 0.47407698f, 0.69314718f, 0.97407698f, 3.0485874f});
    check(TML_OP_EXP, NULL, 0, NULL, 0,
          (float[]){0.049787068f, 0.60653066f, 1, 1.6487213f, 20.085537f});
    check(TML_OP_NEG, NULL, 0, NULL, 0, (float[]){3, 0.5f, 0, -0.5f, -3});
    check(TML_OP_ABS, NULL, 0, NULL, 0, (float[]){3, 0.5f, 0, 0.5f, 3});
}

static void test_sqrt_and_extremes(void **state)
{
    tml_graph *g = tml_graph_new();
    float x[4] = {4, 0, -1, 100};
    float big[3] = {-200, 200, 0};
    int xi, y, n;
    const float *o;
    (void)state;
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){4}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_SQRT, "sqrt", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_float_equal(o[0], 2, 0);
    assert_float_equal(o[1], 0, 0);
    assert_true(isnan(o[2]));
    assert_float_equal(o[3], 10, 0);
    tml_graph_free(g);
    /* softplus and sigmoid must not overflow for large |x| */
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){3}, big);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_SOFTPLUS, "softplus", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_float_equal(o[0], 0, 1e-30);
    assert_float_equal(o[1], 200, 1e-4);
    tml_graph_free(g);
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){3}, big);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_SIGMOID, "sigmoid", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_false(isnan(o[0]));
    assert_float_equal(o[0], 0, 1e-30);
    assert_float_equal(o[1], 1, 0);
    tml_graph_free(g);
}

/* Attribute bounds: ONNX before opset 11, and graphs from other importers (opset 0). */
static void test_clip_attributes(void **state)
{
    int opset;
    (void)state;
    for (opset = 0; opset <= 6; opset += 6) {
        tml_graph *g = tml_graph_new();
        int x, y, n;
        tml_attr *a;
        const float *o;
        g->opset = opset;
        x = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){5}, X);
        y = tml_graph_add_tensor(g, "y");
        n = tml_graph_add_node(g, TML_OP_CLIP, "clip6", 1, &x, 1, &y);
        a = tml_node_add_attr(g, n, "min", TML_ATTR_FLOAT);
        a->f = -1;
        a = tml_node_add_attr(g, n, "max", TML_ATTR_FLOAT);
        a->f = 0.25f;
        assert_int_equal(tev_eval(g, n), TML_OK);
        o = g->tensors[y].data;
        assert_float_equal(o[0], -1, 0);
        assert_float_equal(o[1], -0.5f, 0);
        assert_float_equal(o[2], 0, 0);
        assert_float_equal(o[3], 0.25f, 0);
        assert_float_equal(o[4], 0.25f, 0);
        tml_graph_free(g);
    }
}

static void test_clip_inputs_opset13(void **state)
{
    tml_graph *g = tml_graph_new();
    float lo = 1, hi = -1;
    int in[3], y, n;
    const float *o;
    tml_step_desc s;
    (void)state;
    g->opset = 13;
    /* only max given (min absent): */
    in[0] = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){5}, X);
    in[1] = -1;
    in[2] = tev_const(g, "max", TML_DT_F32, 0, NULL, &lo);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_CLIP, "clip_max", 3, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_float_equal(o[0], -3, 0);
    assert_float_equal(o[4], 1, 0);
    /* the lowering drops the folded bounds and allows in-place */
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_UNARY_F32);
    assert_int_equal(s.n_in, 1);
    assert_int_equal(s.inplace_of, 0);
    tml_graph_free(g);
    /* min > max: everything becomes max */
    g = tml_graph_new();
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){5}, X);
    in[1] = tev_const(g, "min", TML_DT_F32, 0, NULL, &lo);
    in[2] = tev_const(g, "max", TML_DT_F32, 0, NULL, &hi);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_CLIP, "clip_swap", 3, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_float_equal(o[0], -1, 0);
    assert_float_equal(o[2], -1, 0);
    assert_float_equal(o[4], -1, 0);
    tml_graph_free(g);
}

static void test_clip_int8_and_errors(void **state)
{
    tml_graph *g = tml_graph_new();
    int8_t x[4] = {-128, -5, 5, 127}, lo = -3;
    int in[3], y, n;
    const int8_t *o;
    tml_step_desc s;
    (void)state;
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_S8, 1, (int64_t[]){4}, x);
    in[1] = tev_const(g, "min", TML_DT_S8, 0, NULL, &lo);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_CLIP, "clip8", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_int_equal(o[0], -3);
    assert_int_equal(o[1], -3);
    assert_int_equal(o[2], 5);
    assert_int_equal(o[3], 127);
    tml_graph_free(g);
    /* bounds that are not constants: the binary kernel takes them as inputs */
    g = tml_graph_new();
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){5}, X);
    in[1] = tml_graph_add_tensor(g, "dyn_min");
    tml_tensor_set_shape(&g->tensors[in[1]], TML_DT_F32, 0, NULL);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_CLIP, "clip_dyn", 2, in, 1, &y);
    assert_int_equal(tml_op_shape(g, n), TML_OK);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_BINARY_F32);
    assert_int_equal(s.n_in, 2);
    assert_int_equal(s.in[1], in[1]);
    assert_int_equal(((const tml_binary_params *)s.params)->op, TML_BINARY_MAX);
    {
        float lo = -1, out[5];
        const void *ins[2] = {X, &lo};
        void *outs[1] = {out};
        uint32_t ib[2] = {20, 4}, ob[1] = {20};
        assert_int_equal(tml_binary_f32_check(s.params, s.params_size, ib, 2, ob, 1, 0), TML_OK);
        tml_binary_f32(s.params, ins, outs, NULL);
        assert_float_equal(out[0], -1, 0);
        assert_float_equal(out[1], -0.5f, 0);
        assert_float_equal(out[4], 3, 0);
    }
    tml_graph_free(g);
    /* both bounds at run time, int8, crossing bounds: the upper bound wins */
    g = tml_graph_new();
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_S8, 1, (int64_t[]){4}, x);
    in[1] = tml_graph_add_tensor(g, "lo");
    tml_tensor_set_shape(&g->tensors[in[1]], TML_DT_S8, 0, NULL);
    in[2] = tml_graph_add_tensor(g, "hi");
    tml_tensor_set_shape(&g->tensors[in[2]], TML_DT_S8, 1, (int64_t[]){1});
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_CLIP, "clip_dyn8", 3, in, 1, &y);
    assert_int_equal(tml_op_shape(g, n), TML_OK);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_BINARY_S8);
    assert_int_equal(s.n_in, 3);
    assert_int_equal(s.inplace_of, 0);
    {
        int8_t b[2][2] = {{-3, 4}, {4, -3}}, out[4];
        uint32_t ib[3] = {4, 1, 1}, ob[1] = {4};
        int k;
        for (k = 0; k < 2; k++) {
            const void *ins[3] = {x, &b[k][0], &b[k][1]};
            void *outs[1] = {out};
            assert_int_equal(tml_binary_s8_check(s.params, s.params_size, ib, 3, ob, 1, 0),
                             TML_OK);
            tml_binary_s8(s.params, ins, outs, NULL);
            if (k == 0) {
                assert_int_equal(out[0], -3);
                assert_int_equal(out[1], -3);
                assert_int_equal(out[2], 4);
                assert_int_equal(out[3], 4);
            } else {
                assert_int_equal(out[0], -3);
                assert_int_equal(out[3], -3);
            }
        }
    }
    tml_graph_free(g);
    /* a bound of another dtype */
    g = tml_graph_new();
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){5}, X);
    in[1] = tev_const(g, "min8", TML_DT_S8, 0, NULL, &lo);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_CLIP, "clip_type", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "clip_type"));
    tml_graph_free(g);
}

static void test_int_unary(void **state)
{
    tml_graph *g = tml_graph_new();
    int32_t x[4] = {INT32_MIN, -7, 0, 9};
    int xi, y, n;
    const int32_t *o;
    (void)state;
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_S32, 1, (int64_t[]){4}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_ABS, "abs32", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_int_equal(o[0], INT32_MIN); /* wraps, as numpy */
    assert_int_equal(o[1], 7);
    assert_int_equal(o[3], 9);
    tml_graph_free(g);
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_S32, 1, (int64_t[]){4}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_RELU, "relu32", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_int_equal(o[0], 0);
    assert_int_equal(o[1], 0);
    assert_int_equal(o[3], 9);
    tml_graph_free(g);
    /* Sigmoid on int32 is not supported */
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_S32, 1, (int64_t[]){4}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_SIGMOID, "sig32", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(
        strstr(tml_graph_error(g), "node 'sig32' (Sigmoid): unsupported dtype 'int32'"));
    tml_graph_free(g);
}

static tml_quant *new_quant(tml_graph *g, float scale, int32_t zp)
{
    tml_quant *q = tml_graph_alloc(g, sizeof *q);
    q->n = 1;
    q->scale = tml_graph_memdup(g, &scale, sizeof scale);
    q->zero_point = tml_graph_memdup(g, &zp, sizeof zp);
    return q;
}

/* Quantized int8 Relu / Relu6 (TFLite) clamp in the integer domain. */
static void test_quantized_relu_clip(void **state)
{
    int8_t x[5] = {-128, -11, -10, 45, 127};
    float lo = 0, hi = 6;
    int in[3], y, n;
    const int8_t *o;
    tml_graph *g;
    (void)state;
    /* Relu: zero point -10 is real 0 */
    g = tml_graph_new();
    in[0] = tev_const(g, "x", TML_DT_S8, 1, (int64_t[]){5}, x);
    g->tensors[in[0]].quant = new_quant(g, 0.1f, -10);
    y = tml_graph_add_tensor(g, "y");
    g->tensors[y].quant = new_quant(g, 0.1f, -10);
    n = tml_graph_add_node(g, TML_OP_RELU, "qrelu", 1, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_int_equal(o[0], -10);
    assert_int_equal(o[1], -10);
    assert_int_equal(o[2], -10);
    assert_int_equal(o[3], 45);
    assert_int_equal(o[4], 127);
    tml_graph_free(g);
    /* Relu6 as the TFLite importer writes it: Clip with float32 bounds 0 and 6 */
    g = tml_graph_new();
    g->opset = 0;
    in[0] = tev_const(g, "x", TML_DT_S8, 1, (int64_t[]){5}, x);
    g->tensors[in[0]].quant = new_quant(g, 0.1f, -10);
    in[1] = tev_const(g, "lo", TML_DT_F32, 0, NULL, &lo);
    in[2] = tev_const(g, "hi", TML_DT_F32, 0, NULL, &hi);
    y = tml_graph_add_tensor(g, "y");
    g->tensors[y].quant = new_quant(g, 0.1f, -10);
    n = tml_graph_add_node(g, TML_OP_CLIP, "qrelu6", 3, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    o = g->tensors[y].data;
    assert_int_equal(o[0], -10);
    assert_int_equal(o[3], 45);
    assert_int_equal(o[4], 50); /* 6 / 0.1 - 10 */
    tml_graph_free(g);
    /* a requantizing Relu and a quantized Sigmoid are refused */
    g = tml_graph_new();
    in[0] = tev_const(g, "x", TML_DT_S8, 1, (int64_t[]){5}, x);
    g->tensors[in[0]].quant = new_quant(g, 0.1f, -10);
    y = tml_graph_add_tensor(g, "y");
    g->tensors[y].quant = new_quant(g, 0.2f, -10);
    n = tml_graph_add_node(g, TML_OP_RELU, "qrelu_rescale", 1, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "qrelu_rescale"));
    assert_non_null(strstr(tml_graph_error(g), "quantized"));
    tml_graph_free(g);
    g = tml_graph_new();
    in[0] = tev_const(g, "x", TML_DT_S8, 1, (int64_t[]){5}, x);
    g->tensors[in[0]].quant = new_quant(g, 0.1f, -10);
    y = tml_graph_add_tensor(g, "y");
    g->tensors[y].quant = new_quant(g, 0.1f, -10);
    n = tml_graph_add_node(g, TML_OP_NEG, "qneg", 1, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "qneg"));
    tml_graph_free(g);
}

static void test_checks_reject_undersized(void **state)
{
    tml_unary_params p = {TML_UNARY_EXP, 4, 0, 0};
    tml_unary_int_params ip = {TML_UNARY_CLIP, 4, -1, 1};
    uint32_t ib[1] = {16}, ob[1] = {16};
    (void)state;
    assert_int_equal(tml_unary_f32_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_OK);
    ob[0] = 15;
    assert_int_equal(tml_unary_f32_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ob[0] = 16;
    ib[0] = 12;
    assert_int_equal(tml_unary_f32_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ib[0] = 16;
    p.op = TML_UNARY_OP_COUNT;
    assert_int_equal(tml_unary_f32_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    p.op = TML_UNARY_EXP;
    p.n = 0xFFFFFFFFu; /* n * 4 must not wrap */
    assert_int_equal(tml_unary_f32_check(&p, sizeof p, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ib[0] = ob[0] = 4;
    assert_int_equal(tml_unary_s8_check(&ip, sizeof ip, ib, 1, ob, 1, 0), TML_OK);
    ib[0] = 3;
    assert_int_equal(tml_unary_s8_check(&ip, sizeof ip, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ib[0] = 16;
    ob[0] = 8;
    assert_int_equal(tml_unary_s32_check(&ip, sizeof ip, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ip.op = TML_UNARY_SIGMOID;
    ob[0] = 32;
    ib[0] = 32;
    assert_int_equal(tml_unary_s64_check(&ip, sizeof ip, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_activations),
        cmocka_unit_test(test_sqrt_and_extremes),
        cmocka_unit_test(test_clip_attributes),
        cmocka_unit_test(test_clip_inputs_opset13),
        cmocka_unit_test(test_clip_int8_and_errors),
        cmocka_unit_test(test_int_unary),
        cmocka_unit_test(test_quantized_relu_clip),
        cmocka_unit_test(test_checks_reject_undersized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
