/*
 * test_elementwise_binary.c - the broadcast ops of the elementwise family (Add, Sub, Mul,
 * Div, Min, Max, Sum, PRelu, Pow) on small hand-computed cases: numpy and legacy (opset < 7)
 * broadcasting, integer wrap-around and truncating division, mixed-type Pow, fused
 * activation, in-place permission, error messages, and the kernels' _check on undersized
 * buffers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"
#include "tml/act.h"

static tml_graph *new_graph(int64_t opset)
{
    tml_graph *g = tml_graph_new();
    assert_non_null(g);
    g->opset = opset;
    return g;
}

/* Adds node op(in...) -> "y" and returns its index. */
static int add_op(tml_graph *g, tml_op op, const char *name, int n_in, const int *in)
{
    int y = tml_graph_add_tensor(g, "y");
    int n = tml_graph_add_node(g, op, name, n_in, in, 1, &y);
    assert_true(n >= 0);
    return n;
}

static tml_tensor *out0(tml_graph *g, int n)
{
    return tml_node_output(g, &g->nodes[n], 0);
}

static void assert_floats(const float *got, const float *want, int n)
{
    int i;
    for (i = 0; i < n; i++)
        assert_float_equal(got[i], want[i], 1e-5f);
}

static void test_add_broadcast_f32(void **state)
{
    tml_graph *g = new_graph(14);
    float a[6] = {1, 2, 3, 4, 5, 6}; /* (2, 3) */
    float b[3] = {10, 20, 30};       /* (3) */
    float want[6] = {11, 22, 33, 14, 25, 36};
    int in[2], n;
    tml_tensor *y;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 3}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){3}, b);
    n = add_op(g, TML_OP_ADD, "add", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y = out0(g, n);
    assert_int_equal(y->rank, 2);
    assert_int_equal(y->dims[0], 2);
    assert_int_equal(y->dims[1], 3);
    assert_floats(y->data, want, 6);
    tml_graph_free(g);
}

static void test_mul_bidirectional(void **state)
{
    tml_graph *g = new_graph(14);
    float a[2] = {1, 2};    /* (2, 1) */
    float b[3] = {1, 10, 100}; /* (1, 3) */
    float want[6] = {1, 10, 100, 2, 20, 200};
    int in[2], n;
    tml_tensor *y;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 1}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 2, (int64_t[]){1, 3}, b);
    n = add_op(g, TML_OP_MUL, "mul", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y = out0(g, n);
    assert_int_equal(y->dims[0], 2);
    assert_int_equal(y->dims[1], 3);
    assert_floats(y->data, want, 6);
    tml_graph_free(g);
}

static void test_sub_div_f32_scalar(void **state)
{
    tml_graph *g = new_graph(14);
    float a[4] = {2, 4, 6, 8};
    float b[1] = {2};
    float want_sub[4] = {0, 2, 4, 6}, want_div[4] = {1, 2, 3, 4};
    int in[2], n1, n2, y2;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 1, (int64_t[]){4}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 0, NULL, b);
    n1 = add_op(g, TML_OP_SUB, "sub", 2, in);
    assert_int_equal(tev_eval(g, n1), TML_OK);
    assert_floats(out0(g, n1)->data, want_sub, 4);
    y2 = tml_graph_add_tensor(g, "y2");
    n2 = tml_graph_add_node(g, TML_OP_DIV, "div", 2, in, 1, &y2);
    assert_int_equal(tev_eval(g, n2), TML_OK);
    assert_floats(g->tensors[y2].data, want_div, 4);
    tml_graph_free(g);
}

static void test_int_wrap_and_trunc(void **state)
{
    tml_graph *g = new_graph(14);
    int8_t a8[4] = {100, -100, 7, -128}, b8[4] = {100, -100, 2, -1};
    uint8_t au[3] = {1, 200, 9}, bu[3] = {2, 100, 0};
    int32_t a32[4] = {7, -7, 7, -7}, b32[4] = {2, 2, -2, -2};
    int in[2], n;
    const int8_t *y8;
    const uint8_t *yu;
    const int32_t *y32;
    (void)state;
    /* int8 add wraps: 100+100 = -56, -100-100 = 56 */
    in[0] = tev_const(g, "a8", TML_DT_S8, 1, (int64_t[]){4}, a8);
    in[1] = tev_const(g, "b8", TML_DT_S8, 1, (int64_t[]){4}, b8);
    n = add_op(g, TML_OP_ADD, "add8", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y8 = out0(g, n)->data;
    assert_int_equal(y8[0], -56);
    assert_int_equal(y8[1], 56);
    assert_int_equal(y8[2], 9);
    assert_int_equal(y8[3], 127); /* -128 + -1 wraps */
    assert_int_equal(out0(g, n)->dtype, TML_DT_S8);
    tml_graph_free(g);

    /* uint8 sub wraps, div by zero gives 0 */
    g = new_graph(14);
    in[0] = tev_const(g, "au", TML_DT_U8, 1, (int64_t[]){3}, au);
    in[1] = tev_const(g, "bu", TML_DT_U8, 1, (int64_t[]){3}, bu);
    n = add_op(g, TML_OP_SUB, "subu", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    yu = out0(g, n)->data;
    assert_int_equal(yu[0], 255);
    assert_int_equal(yu[1], 100);
    assert_int_equal(yu[2], 9);
    tml_graph_free(g);
    g = new_graph(14);
    in[0] = tev_const(g, "au", TML_DT_U8, 1, (int64_t[]){3}, au);
    in[1] = tev_const(g, "bu", TML_DT_U8, 1, (int64_t[]){3}, bu);
    n = add_op(g, TML_OP_DIV, "divu", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    yu = out0(g, n)->data;
    assert_int_equal(yu[0], 0);
    assert_int_equal(yu[1], 2);
    assert_int_equal(yu[2], 0);
    tml_graph_free(g);

    /* int32 division truncates toward zero */
    g = new_graph(14);
    in[0] = tev_const(g, "a", TML_DT_S32, 1, (int64_t[]){4}, a32);
    in[1] = tev_const(g, "b", TML_DT_S32, 1, (int64_t[]){4}, b32);
    n = add_op(g, TML_OP_DIV, "div32", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y32 = out0(g, n)->data;
    assert_int_equal(y32[0], 3);
    assert_int_equal(y32[1], -3);
    assert_int_equal(y32[2], -3);
    assert_int_equal(y32[3], 3);
    tml_graph_free(g);
}

static void test_int64_uint64(void **state)
{
    tml_graph *g = new_graph(14);
    int64_t a[2] = {INT64_MAX, -5}, b[2] = {1, 3};
    uint64_t ua[2] = {UINT64_MAX, 10}, ub[2] = {2, 3};
    int in[2], n;
    const int64_t *y;
    const uint64_t *uy;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_S64, 1, (int64_t[]){2}, a);
    in[1] = tev_const(g, "b", TML_DT_S64, 1, (int64_t[]){2}, b);
    n = add_op(g, TML_OP_ADD, "add", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y = out0(g, n)->data;
    assert_true(y[0] == INT64_MIN);
    assert_true(y[1] == -2);
    tml_graph_free(g);
    g = new_graph(14);
    in[0] = tev_const(g, "a", TML_DT_U64, 1, (int64_t[]){2}, ua);
    in[1] = tev_const(g, "b", TML_DT_U64, 1, (int64_t[]){2}, ub);
    n = add_op(g, TML_OP_MUL, "mul", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    uy = out0(g, n)->data;
    assert_true(uy[0] == UINT64_MAX - 1);
    assert_true(uy[1] == 30);
    tml_graph_free(g);
}

static void test_min_max_sum_variadic(void **state)
{
    tml_graph *g = new_graph(13);
    float a[3] = {3, 2, 1}, b[3] = {1, 4, 4}, c[1] = {2};
    float want_min[3] = {1, 2, 1}, want_max[3] = {3, 4, 4}, want_sum[3] = {6, 8, 7};
    int in[3], y[3], n[3], i;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 1, (int64_t[]){3}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){3}, b);
    in[2] = tev_const(g, "c", TML_DT_F32, 1, (int64_t[]){1}, c);
    y[0] = tml_graph_add_tensor(g, "ymin");
    y[1] = tml_graph_add_tensor(g, "ymax");
    y[2] = tml_graph_add_tensor(g, "ysum");
    n[0] = tml_graph_add_node(g, TML_OP_MIN, "min", 3, in, 1, &y[0]);
    n[1] = tml_graph_add_node(g, TML_OP_MAX, "max", 3, in, 1, &y[1]);
    n[2] = tml_graph_add_node(g, TML_OP_SUM, "sum", 3, in, 1, &y[2]);
    for (i = 0; i < 3; i++)
        assert_int_equal(tev_eval(g, n[i]), TML_OK);
    assert_floats(g->tensors[y[0]].data, want_min, 3);
    assert_floats(g->tensors[y[1]].data, want_max, 3);
    assert_floats(g->tensors[y[2]].data, want_sum, 3);
    tml_graph_free(g);
}

static void test_max_one_input_and_nan(void **state)
{
    tml_graph *g = new_graph(13);
    float a[2] = {1, NAN}, b[2] = {NAN, 0};
    int in[2], n;
    const float *y;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 1, (int64_t[]){2}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){2}, b);
    n = add_op(g, TML_OP_MAX, "max1", 1, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y = out0(g, n)->data;
    assert_float_equal(y[0], 1.0f, 0);
    assert_true(isnan(y[1]));
    tml_graph_free(g);
    g = new_graph(13);
    in[0] = tev_const(g, "a", TML_DT_F32, 1, (int64_t[]){2}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){2}, b);
    n = add_op(g, TML_OP_MIN, "min2", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y = out0(g, n)->data;
    assert_true(isnan(y[0])); /* NaN propagates from either side */
    assert_true(isnan(y[1]));
    tml_graph_free(g);
}

static void test_prelu(void **state)
{
    tml_graph *g = new_graph(16);
    float x[6] = {-1, 2, -3, 4, -5, 6}; /* (2, 3) */
    float s[3] = {0.5f, 0.25f, 2};      /* (3) */
    float want[6] = {-0.5f, 2, -6, 4, -1.25f, 6};
    int in[2], n;
    (void)state;
    in[0] = tev_const(g, "x", TML_DT_F32, 2, (int64_t[]){2, 3}, x);
    in[1] = tev_const(g, "slope", TML_DT_F32, 1, (int64_t[]){3}, s);
    n = add_op(g, TML_OP_PRELU, "prelu", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_floats(out0(g, n)->data, want, 6);
    tml_graph_free(g);
}

static void test_prelu_legacy_channel_and_errors(void **state)
{
    tml_graph *g = new_graph(6);
    float x[4] = {-1, -1, -1, -1}; /* (1, 2, 2): channel slope of shape (2) */
    float s[2] = {0.5f, 2};
    float want[4] = {-0.5f, -0.5f, -2, -2};
    float big[2 * 3] = {0};
    int in[2], n;
    (void)state;
    in[0] = tev_const(g, "x", TML_DT_F32, 3, (int64_t[]){1, 2, 2}, x);
    in[1] = tev_const(g, "slope", TML_DT_F32, 1, (int64_t[]){2}, s);
    n = add_op(g, TML_OP_PRELU, "prelu6", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_floats(out0(g, n)->data, want, 4);
    tml_graph_free(g);
    /* opset 16: the slope may not grow the output */
    g = new_graph(16);
    in[0] = tev_const(g, "x", TML_DT_F32, 1, (int64_t[]){3}, x);
    in[1] = tev_const(g, "slope", TML_DT_F32, 2, (int64_t[]){2, 3}, big);
    n = add_op(g, TML_OP_PRELU, "prelu_bad", 2, in);
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "prelu_bad"));
    tml_graph_free(g);
}

static void test_legacy_broadcast_axis(void **state)
{
    tml_graph *g = new_graph(6);
    float a[6] = {1, 2, 3, 4, 5, 6}; /* (2, 3) */
    float b[2] = {10, 20};           /* (2) aligned at axis 0 */
    float want[6] = {11, 12, 13, 24, 25, 26};
    int in[2], n;
    tml_attr *at;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 3}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){2}, b);
    n = add_op(g, TML_OP_ADD, "add6", 2, in);
    at = tml_node_add_attr(g, n, "broadcast", TML_ATTR_INT);
    at->i = 1;
    at = tml_node_add_attr(g, n, "axis", TML_ATTR_INT);
    at->i = 0;
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->rank, 2);
    assert_floats(out0(g, n)->data, want, 6);
    tml_graph_free(g);
    /* axis that does not fit */
    g = new_graph(6);
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 3}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){2}, b);
    n = add_op(g, TML_OP_ADD, "add6bad", 2, in);
    at = tml_node_add_attr(g, n, "broadcast", TML_ATTR_INT);
    at->i = 1;
    at = tml_node_add_attr(g, n, "axis", TML_ATTR_INT);
    at->i = 2;
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "add6bad"));
    assert_non_null(strstr(tml_graph_error(g), "axis=2"));
    tml_graph_free(g);
}

static void test_pow_mixed(void **state)
{
    tml_graph *g = new_graph(15);
    float fa[3] = {2, 3, 4};
    int64_t ie[3] = {3, 2, -1};
    int32_t ia[3] = {3, -2, 5};
    float fe[3] = {20, 3, 0.5f};
    int64_t la[2] = {3, 2}, le[2] = {39, 62};
    int in[2], n;
    const float *yf;
    const int32_t *yi;
    const int64_t *yl;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 1, (int64_t[]){3}, fa);
    in[1] = tev_const(g, "e", TML_DT_S64, 1, (int64_t[]){3}, ie);
    n = add_op(g, TML_OP_POW, "pow_f_i", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->dtype, TML_DT_F32);
    yf = out0(g, n)->data;
    assert_float_equal(yf[0], 8, 1e-6);
    assert_float_equal(yf[1], 9, 1e-6);
    assert_float_equal(yf[2], 0.25, 1e-6);
    tml_graph_free(g);
    g = new_graph(15);
    in[0] = tev_const(g, "a", TML_DT_S32, 1, (int64_t[]){3}, ia);
    in[1] = tev_const(g, "e", TML_DT_F32, 1, (int64_t[]){3}, fe);
    n = add_op(g, TML_OP_POW, "pow_i_f", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->dtype, TML_DT_S32);
    yi = out0(g, n)->data;
    assert_int_equal(yi[0], 2147483647); /* 3^20 = 3486784401 saturates */
    assert_int_equal(yi[1], -8);
    assert_int_equal(yi[2], 2);          /* sqrt(5) truncated */
    tml_graph_free(g);
    g = new_graph(15);
    in[0] = tev_const(g, "a", TML_DT_S64, 1, (int64_t[]){2}, la);
    in[1] = tev_const(g, "e", TML_DT_S64, 1, (int64_t[]){2}, le);
    n = add_op(g, TML_OP_POW, "pow_l_l", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    yl = out0(g, n)->data;
    assert_true(yl[0] == 4052555153018976267LL); /* 3^39 exactly */
    assert_true(yl[1] == 4611686018427387904LL); /* 2^62 */
    tml_graph_free(g);
}

static void test_fused_activation(void **state)
{
    tml_graph *g = new_graph(14);
    float a[3] = {-2, 1, 10}, b[3] = {1, 1, 1};
    float want[3] = {0, 2, 6};
    int in[2], n;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 1, (int64_t[]){3}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){3}, b);
    n = add_op(g, TML_OP_ADD, "add_relu6", 2, in);
    g->nodes[n].act = TML_ACT_CLIP;
    g->nodes[n].act_a = 0;
    g->nodes[n].act_b = 6;
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_floats(out0(g, n)->data, want, 3);
    tml_graph_free(g);
}

static void test_lowering_inplace_and_inputs(void **state)
{
    tml_graph *g = new_graph(14);
    float a[1] = {1}, b[6] = {0};
    int in[2], n;
    tml_step_desc s;
    const tml_binary_params *p;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F32, 0, NULL, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 2, (int64_t[]){2, 3}, b);
    n = add_op(g, TML_OP_SUB, "sub", 2, in);
    assert_int_equal(tml_op_shape(g, n), TML_OK);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_BINARY_F32);
    assert_int_equal(s.n_in, 2);
    assert_int_equal(s.in[0], in[0]);
    assert_int_equal(s.in[1], in[1]);
    assert_int_equal(s.inplace_of, 1); /* input 0 is broadcast, input 1 has the output's size */
    assert_int_equal(s.params_size, sizeof(tml_binary_params));
    p = s.params;
    assert_int_equal(p->op, TML_BINARY_SUB);
    assert_int_equal(p->strides[0][0], 0);
    assert_int_equal(p->strides[0][1], 0);
    assert_int_equal(p->strides[1][0], 3);
    assert_int_equal(p->strides[1][1], 1);
    tml_graph_free(g);
}

static void test_errors(void **state)
{
    tml_graph *g = new_graph(14);
    float a[6] = {0}, b[4] = {0};
    int32_t c[6] = {0};
    uint16_t h[2] = {0};
    int in[2], n;
    (void)state;
    /* shapes that do not broadcast */
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 3}, a);
    in[1] = tev_const(g, "b", TML_DT_F32, 1, (int64_t[]){4}, b);
    n = add_op(g, TML_OP_MUL, "mul_bad", 2, in);
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "node 'mul_bad' (Mul)"));
    assert_non_null(strstr(tml_graph_error(g), "[4]"));
    tml_graph_free(g);
    /* mixed dtypes */
    g = new_graph(14);
    in[0] = tev_const(g, "a", TML_DT_F32, 2, (int64_t[]){2, 3}, a);
    in[1] = tev_const(g, "c", TML_DT_S32, 2, (int64_t[]){2, 3}, c);
    n = add_op(g, TML_OP_ADD, "add_mixed", 2, in);
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "add_mixed"));
    assert_non_null(strstr(tml_graph_error(g), "'int32'"));
    tml_graph_free(g);
    /* float16 is unsupported, with the dtype named */
    g = new_graph(14);
    in[0] = tev_const(g, "h0", TML_DT_F16, 1, (int64_t[]){2}, h);
    in[1] = tev_const(g, "h1", TML_DT_F16, 1, (int64_t[]){2}, h);
    n = add_op(g, TML_OP_MAX, "max_f16", 2, in);
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "max_f16"));
    assert_non_null(strstr(tml_graph_error(g), "unsupported dtype 'float16'"));
    tml_graph_free(g);
    /* fused activation on an integer kernel */
    g = new_graph(14);
    in[0] = tev_const(g, "c0", TML_DT_S32, 1, (int64_t[]){6}, c);
    in[1] = tev_const(g, "c1", TML_DT_S32, 1, (int64_t[]){6}, c);
    n = add_op(g, TML_OP_ADD, "add_act", 2, in);
    g->nodes[n].act = TML_ACT_RELU;
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "add_act"));
    tml_graph_free(g);
}

static void test_checks_reject_undersized(void **state)
{
    tml_binary_params bp;
    tml_pow_params pp;
    uint32_t ib[2], ob[1];
    int d;
    (void)state;
    memset(&bp, 0, sizeof bp);
    bp.op = TML_BINARY_ADD;
    bp.n_in = 2;
    bp.rank = 2;
    bp.dims[0] = 2;
    bp.dims[1] = 3;
    bp.strides[0][0] = 3;
    bp.strides[0][1] = 1;
    bp.strides[1][0] = 0;
    bp.strides[1][1] = 1;
    ib[0] = 6 * 4;
    ib[1] = 3 * 4;
    ob[0] = 6 * 4;
    assert_int_equal(tml_binary_f32_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_OK);
    ib[1] = 2 * 4; /* broadcast input too small */
    assert_int_equal(tml_binary_f32_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    ib[1] = 3 * 4;
    ob[0] = 5 * 4; /* output too small */
    assert_int_equal(tml_binary_f32_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    ob[0] = 6 * 4;
    assert_int_equal(tml_binary_s64_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    ib[0] = 6;
    ib[1] = 3;
    ob[0] = 6;
    assert_int_equal(tml_binary_s8_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_OK);
    assert_int_equal(tml_binary_u8_check(&bp, sizeof bp, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    bp.rank = 9;
    assert_int_equal(tml_binary_s8_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    bp.rank = 2;
    bp.op = 99;
    assert_int_equal(tml_binary_s8_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    bp.op = TML_BINARY_ADD;
    bp.strides[0][0] = 0xFFFFFFFFu; /* huge stride: must not wrap around */
    assert_int_equal(tml_binary_s8_check(&bp, sizeof bp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    assert_int_equal(tml_binary_s8_check(&bp, sizeof bp - 4, ib, 2, ob, 1, 0), TML_ERR_FORMAT);

    memset(&pp, 0, sizeof pp);
    pp.exp_dtype = TML_DT_S64;
    pp.rank = 1;
    pp.dims[0] = 3;
    pp.a_strides[0] = 1;
    pp.b_strides[0] = 1;
    for (d = 1; d < TML_MAX_RANK; d++)
        pp.dims[d] = 1;
    ib[0] = 12;
    ib[1] = 24;
    ob[0] = 12;
    assert_int_equal(tml_pow_f32_check(&pp, sizeof pp, ib, 2, ob, 1, 0), TML_OK);
    ib[1] = 23;
    assert_int_equal(tml_pow_f32_check(&pp, sizeof pp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    ib[1] = 24;
    assert_int_equal(tml_pow_s64_check(&pp, sizeof pp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
    pp.exp_dtype = TML_DT_STRING;
    assert_int_equal(tml_pow_f32_check(&pp, sizeof pp, ib, 2, ob, 1, 0), TML_ERR_FORMAT);
}

/* Random shapes up to rank 4 with random broadcasting, 2 and 3 inputs, against a naive
 * reference that computes each input's index from the output index. */
static uint32_t lcg(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s >> 8;
}

static void test_random_broadcast_vs_reference(void **state)
{
    uint32_t seed = 12345;
    int iter;
    (void)state;
    for (iter = 0; iter < 200; iter++) {
        tml_graph *g = new_graph(14);
        int orank = (int)(lcg(&seed) % 5), n_in = 2 + (int)(lcg(&seed) % 2), i, d, n;
        int64_t odims[4], idims[3][4];
        int irank[3], in[3];
        float *data[3];
        tml_op op = (lcg(&seed) & 1) ? TML_OP_SUM : TML_OP_MAX;
        tml_tensor *y;
        int64_t numel = 1, e;
        for (d = 0; d < orank; d++) {
            odims[d] = 1 + (int64_t)(lcg(&seed) % 3);
            numel *= odims[d];
        }
        (void)numel;
        for (i = 0; i < n_in; i++) {
            int64_t cnt = 1;
            char nm[8];
            irank[i] = orank ? (int)(lcg(&seed) % (uint32_t)(orank + 1)) : 0;
            for (d = 0; d < irank[i]; d++) {
                idims[i][d] = (lcg(&seed) & 1) ? odims[orank - irank[i] + d] : 1;
                cnt *= idims[i][d];
            }
            data[i] = malloc(sizeof(float) * (size_t)cnt);
            for (e = 0; e < cnt; e++)
                data[i][e] = (float)(lcg(&seed) % 100) - 50.0f;
            snprintf(nm, sizeof nm, "x%d", i);
            in[i] = tev_const(g, nm, TML_DT_F32, irank[i], idims[i], data[i]);
        }
        n = add_op(g, op, "rand", n_in, in);
        assert_int_equal(tev_eval(g, n), TML_OK);
        y = out0(g, n);
        /* the output has the full shape only if some input carries each dim; compare with
         * the shape the hook computed */
        for (e = 0; e < tml_tensor_numel(y); e++) {
            int64_t rem = e, oidx[4];
            float want = 0;
            for (d = y->rank - 1; d >= 0; d--) {
                oidx[d] = rem % y->dims[d];
                rem /= y->dims[d];
            }
            for (i = 0; i < n_in; i++) {
                int64_t off = 0;
                float v;
                for (d = 0; d < irank[i]; d++) {
                    int64_t id = idims[i][d] == 1 ? 0 : oidx[y->rank - irank[i] + d];
                    off = off * idims[i][d] + id;
                }
                v = data[i][off];
                want = i == 0 ? v : (op == TML_OP_SUM ? want + v : (v > want ? v : want));
            }
            assert_float_equal(((const float *)y->data)[e], want, 0);
        }
        for (i = 0; i < n_in; i++)
            free(data[i]);
        tml_graph_free(g);
    }
}

static void test_f64(void **state)
{
    tml_graph *g = new_graph(6);
    double a[2] = {1.5, -2}, b[1] = {0.25};
    int in[2], n;
    const double *y;
    (void)state;
    in[0] = tev_const(g, "a", TML_DT_F64, 1, (int64_t[]){2}, a);
    in[1] = tev_const(g, "b", TML_DT_F64, 1, (int64_t[]){1}, b);
    n = add_op(g, TML_OP_DIV, "div64", 2, in);
    assert_int_equal(tev_eval(g, n), TML_OK);
    y = out0(g, n)->data;
    assert_true(y[0] == 6.0 && y[1] == -8.0);
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_broadcast_f32),
        cmocka_unit_test(test_mul_bidirectional),
        cmocka_unit_test(test_sub_div_f32_scalar),
        cmocka_unit_test(test_int_wrap_and_trunc),
        cmocka_unit_test(test_int64_uint64),
        cmocka_unit_test(test_min_max_sum_variadic),
        cmocka_unit_test(test_max_one_input_and_nan),
        cmocka_unit_test(test_prelu),
        cmocka_unit_test(test_prelu_legacy_channel_and_errors),
        cmocka_unit_test(test_legacy_broadcast_axis),
        cmocka_unit_test(test_pow_mixed),
        cmocka_unit_test(test_fused_activation),
        cmocka_unit_test(test_lowering_inplace_and_inputs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_checks_reject_undersized),
        cmocka_unit_test(test_random_broadcast_vs_reference),
        cmocka_unit_test(test_f64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
