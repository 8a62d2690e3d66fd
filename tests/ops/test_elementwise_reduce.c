/*
 * test_elementwise_reduce.c - ReduceMean, ReduceMax and ArgMax on hand-computed cases: axes
 * as attribute (opset < 18) and as constant input (opset >= 18), negative and non-adjacent
 * axes, keepdims, noop_with_empty_axes, the empty-set reduction (-inf), select_last_index,
 * error messages, and the kernels' _check on undersized buffers.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"

/* x (2, 3, 2) = 0..11 */
static const float X[12] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};

static int add_x(tml_graph *g)
{
    return tev_const(g, "x", TML_DT_F32, 3, (int64_t[]){2, 3, 2}, X);
}

static void set_int(tml_graph *g, int n, const char *name, int64_t v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_INT);
    a->i = v;
}

static void assert_shape(const tml_tensor *t, int rank, const int64_t *dims)
{
    int d;
    assert_int_equal(t->rank, rank);
    for (d = 0; d < rank; d++)
        assert_int_equal(t->dims[d], dims[d]);
}

static void test_reduce_mean_axes_attr(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, y, n;
    tml_attr *a;
    const float *o;
    (void)state;
    g->opset = 13;
    x = add_x(g);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MEAN, "mean", 1, &x, 1, &y);
    a = tml_node_add_attr(g, n, "axes", TML_ATTR_INTS);
    a->n = 2;
    a->ints = tml_graph_memdup(g, (int64_t[]){0, -1}, 2 * sizeof(int64_t));
    set_int(g, n, "keepdims", 0);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 1, (int64_t[]){3});
    o = g->tensors[y].data;
    /* mean over dims 0 and 2: {0,1,6,7} {2,3,8,9} {4,5,10,11} */
    assert_float_equal(o[0], 3.5f, 1e-6);
    assert_float_equal(o[1], 5.5f, 1e-6);
    assert_float_equal(o[2], 7.5f, 1e-6);
    tml_graph_free(g);
}

static void test_reduce_max_axes_input(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t axes[1] = {1};
    int in[2], y, n;
    const float *o;
    tml_step_desc s;
    (void)state;
    g->opset = 18;
    in[0] = add_x(g);
    in[1] = tev_const(g, "axes", TML_DT_S64, 1, (int64_t[]){1}, axes);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MAX, "max", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 3, (int64_t[]){2, 1, 2}); /* keepdims defaults to 1 */
    o = g->tensors[y].data;
    assert_float_equal(o[0], 4, 0);
    assert_float_equal(o[1], 5, 0);
    assert_float_equal(o[2], 10, 0);
    assert_float_equal(o[3], 11, 0);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_REDUCE_F32);
    assert_int_equal(s.n_in, 1); /* axes folded into params */
    tml_graph_free(g);
}

static void test_reduce_all_and_noop(void **state)
{
    tml_graph *g = tml_graph_new();
    int x, y, n, in[2];
    const float *o;
    (void)state;
    g->opset = 18;
    x = add_x(g);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MEAN, "mean_all", 1, &x, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 3, (int64_t[]){1, 1, 1});
    assert_float_equal(*(const float *)g->tensors[y].data, 5.5f, 1e-6);
    tml_graph_free(g);
    /* empty axes input + noop_with_empty_axes: identity */
    g = tml_graph_new();
    g->opset = 18;
    in[0] = add_x(g);
    in[1] = tev_const(g, "axes", TML_DT_S64, 1, (int64_t[]){0}, X);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MAX, "max_noop", 2, in, 1, &y);
    set_int(g, n, "noop_with_empty_axes", 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 3, (int64_t[]){2, 3, 2});
    o = g->tensors[y].data;
    assert_float_equal(o[0], 0, 0);
    assert_float_equal(o[7], 7, 0);
    assert_float_equal(o[11], 11, 0);
    tml_graph_free(g);
}

static void test_reduce_max_empty_set(void **state)
{
    tml_graph *g = tml_graph_new();
    float dummy = 0;
    int64_t axes[1] = {1};
    int in[2], y, n;
    const float *o;
    (void)state;
    g->opset = 20;
    in[0] = tev_const(g, "x", TML_DT_F32, 3, (int64_t[]){2, 0, 2}, &dummy);
    in[1] = tev_const(g, "axes", TML_DT_S64, 1, (int64_t[]){1}, axes);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MAX, "max_empty", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 3, (int64_t[]){2, 1, 2});
    o = g->tensors[y].data;
    assert_true(isinf(o[0]) && o[0] < 0);
    assert_true(isinf(o[3]) && o[3] < 0);
    tml_graph_free(g);
}

static void test_reduce_errors(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t axes[2] = {1, -2};
    int in[2], y, n;
    tml_attr *a;
    (void)state;
    g->opset = 18;
    in[0] = add_x(g);
    in[1] = tev_const(g, "axes", TML_DT_S64, 1, (int64_t[]){2}, axes);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MEAN, "mean_dup", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "mean_dup"));
    assert_non_null(strstr(tml_graph_error(g), "repeated"));
    tml_graph_free(g);
    /* axes input that is not a constant */
    g = tml_graph_new();
    g->opset = 18;
    in[0] = add_x(g);
    in[1] = tml_graph_add_tensor(g, "dyn_axes");
    tml_tensor_set_shape(&g->tensors[in[1]], TML_DT_S64, 1, (int64_t[]){1});
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MAX, "max_dyn", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "max_dyn"));
    assert_non_null(strstr(tml_graph_error(g), "'dyn_axes'"));
    tml_graph_free(g);
    /* axis out of range (attribute form) */
    g = tml_graph_new();
    g->opset = 13;
    in[0] = add_x(g);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MEAN, "mean_range", 1, in, 1, &y);
    a = tml_node_add_attr(g, n, "axes", TML_ATTR_INTS);
    a->n = 1;
    a->ints = tml_graph_memdup(g, (int64_t[]){3}, sizeof(int64_t));
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "mean_range"));
    assert_non_null(strstr(tml_graph_error(g), "axis 3"));
    tml_graph_free(g);
}

static void test_argmax(void **state)
{
    tml_graph *g = tml_graph_new();
    float x[6] = {1, 5, 5, 2, 2, 0}; /* (2, 3) */
    int xi, y, n;
    const int64_t *o;
    (void)state;
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 2, (int64_t[]){2, 3}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_ARGMAX, "argmax", 1, &xi, 1, &y);
    set_int(g, n, "axis", -1);
    set_int(g, n, "keepdims", 0);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(g->tensors[y].dtype, TML_DT_S64);
    assert_shape(&g->tensors[y], 1, (int64_t[]){2});
    o = g->tensors[y].data;
    assert_int_equal(o[0], 1);
    assert_int_equal(o[1], 0);
    tml_graph_free(g);
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 2, (int64_t[]){2, 3}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_ARGMAX, "argmax_last", 1, &xi, 1, &y);
    set_int(g, n, "axis", 1);
    set_int(g, n, "select_last_index", 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 2, (int64_t[]){2, 1});
    o = g->tensors[y].data;
    assert_int_equal(o[0], 2);
    assert_int_equal(o[1], 1);
    tml_graph_free(g);
    /* default axis 0, keepdims 1 */
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 2, (int64_t[]){2, 3}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_ARGMAX, "argmax0", 1, &xi, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(&g->tensors[y], 2, (int64_t[]){1, 3});
    o = g->tensors[y].data;
    assert_int_equal(o[0], 1);
    assert_int_equal(o[1], 0);
    assert_int_equal(o[2], 0);
    tml_graph_free(g);
    /* bad axis */
    g = tml_graph_new();
    g->opset = 13;
    xi = tev_const(g, "x", TML_DT_F32, 2, (int64_t[]){2, 3}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_ARGMAX, "argmax_bad", 1, &xi, 1, &y);
    set_int(g, n, "axis", 2);
    assert_int_equal(tev_eval(g, n), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "node 'argmax_bad' (ArgMax)"));
    assert_non_null(strstr(tml_graph_error(g), "'axis=2'"));
    tml_graph_free(g);
}

static void test_checks_reject_undersized(void **state)
{
    tml_reduce_params rp;
    tml_argmax_params ap = {2, 3, 4, 0};
    uint32_t ib[1], ob[1];
    (void)state;
    memset(&rp, 0, sizeof rp);
    rp.op = TML_REDUCE_MEAN;
    rp.rank = 2;
    rp.dims[0] = 2;
    rp.dims[1] = 3;
    rp.out_strides[0] = 1;
    rp.out_strides[1] = 0;
    rp.out_numel = 2;
    rp.count = 3;
    ib[0] = 24;
    ob[0] = 8;
    assert_int_equal(tml_reduce_f32_check(&rp, sizeof rp, ib, 1, ob, 1, 0), TML_OK);
    ib[0] = 20;
    assert_int_equal(tml_reduce_f32_check(&rp, sizeof rp, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ib[0] = 24;
    ob[0] = 4;
    assert_int_equal(tml_reduce_f32_check(&rp, sizeof rp, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ob[0] = 8;
    rp.out_strides[0] = 2; /* walks past out_numel */
    assert_int_equal(tml_reduce_f32_check(&rp, sizeof rp, ib, 1, ob, 1, 0), TML_ERR_FORMAT);

    ib[0] = 2 * 3 * 4 * 4;
    ob[0] = 2 * 4 * 8;
    assert_int_equal(tml_argmax_f32_check(&ap, sizeof ap, ib, 1, ob, 1, 0), TML_OK);
    ob[0] -= 1;
    assert_int_equal(tml_argmax_f32_check(&ap, sizeof ap, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ob[0] += 1;
    ib[0] -= 4;
    assert_int_equal(tml_argmax_f32_check(&ap, sizeof ap, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
    ib[0] += 4;
    ap.n = 0;
    assert_int_equal(tml_argmax_f32_check(&ap, sizeof ap, ib, 1, ob, 1, 0), TML_ERR_FORMAT);
}

static void test_reduce_max_bool(void **state)
{
    tml_graph *g = tml_graph_new();
    uint8_t x[6] = {0, 1, 0, 0, 0, 1}; /* (3, 2) bool */
    int64_t axes[1] = {1};
    int in[2], y, n;
    const uint8_t *o;
    (void)state;
    g->opset = 20;
    in[0] = tev_const(g, "x", TML_DT_BOOL, 2, (int64_t[]){3, 2}, x);
    in[1] = tev_const(g, "axes", TML_DT_S64, 1, (int64_t[]){1}, axes);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MAX, "any", 2, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(g->tensors[y].dtype, TML_DT_BOOL);
    assert_shape(&g->tensors[y], 2, (int64_t[]){3, 1});
    o = g->tensors[y].data;
    assert_int_equal(o[0], 1);
    assert_int_equal(o[1], 0);
    assert_int_equal(o[2], 1);
    tml_graph_free(g);
    /* ReduceMean of bool is not supported */
    g = tml_graph_new();
    g->opset = 20;
    in[0] = tev_const(g, "x", TML_DT_BOOL, 2, (int64_t[]){3, 2}, x);
    y = tml_graph_add_tensor(g, "y");
    n = tml_graph_add_node(g, TML_OP_REDUCE_MEAN, "mean_bool", 1, in, 1, &y);
    assert_int_equal(tev_eval(g, n), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "unsupported dtype 'bool'"));
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reduce_mean_axes_attr),
        cmocka_unit_test(test_reduce_max_axes_input),
        cmocka_unit_test(test_reduce_all_and_noop),
        cmocka_unit_test(test_reduce_max_empty_set),
        cmocka_unit_test(test_reduce_errors),
        cmocka_unit_test(test_argmax),
        cmocka_unit_test(test_reduce_max_bool),
        cmocka_unit_test(test_checks_reject_undersized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
