/*
 * test_data_views.c - unit tests of the data-family ops that only change shapes or produce
 * shape-derived values: Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout, Shape,
 * Constant. Small hand-computed cases through tev_eval (shape hook, lowering, kernel), the
 * opset variants (attributes that became inputs), and the error paths with their messages.
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

static void test_reshape(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[3] = {2, 3, 4}, sd[1] = {3}, shape[3] = {4, 0, -1};
    int in[2], n;
    tml_step_desc s;
    (void)state;
    g->opset = 17;
    in[0] = tev_const(g, "x", TML_DT_F32, 3, xd, X24);
    in[1] = tev_const(g, "shape", TML_DT_S64, 1, sd, shape);
    n = mk_node(g, TML_OP_RESHAPE, "reshape_1", 2, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 3, (int64_t[]){4, 3, 2});
    assert_f32(out0(g, n), 24, X24);
    /* a view: no kernel, output aliases the data input, the shape input is dropped */
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_NONE);
    assert_int_equal(s.alias_of, 0);
    assert_int_equal(s.n_in, 1);
    assert_int_equal(s.in[0], in[0]);
    tml_graph_free(g);
}

static void test_reshape_allowzero_and_errors(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {0, 3}, sd[1] = {2}, s1[2] = {3, 0}, s2[2] = {-1, -1}, s3[2] = {5, 5};
    int64_t xd2[2] = {2, 3};
    int in[2], n;
    (void)state;
    g->opset = 14;
    in[0] = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    in[1] = tev_const(g, "s1", TML_DT_S64, 1, sd, s1);
    n = mk_node(g, TML_OP_RESHAPE, "rz", 2, in, 1);
    attr_i(g, n, "allowzero", 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 0});

    in[0] = tev_const(g, "x2", TML_DT_F32, 2, xd2, X24);
    in[1] = tev_const(g, "s2", TML_DT_S64, 1, sd, s2);
    n = mk_node(g, TML_OP_RESHAPE, "two_infer", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "-1");
    tml_graph_clear_error(g);

    in[1] = tev_const(g, "s3", TML_DT_S64, 1, sd, s3);
    n = mk_node(g, TML_OP_RESHAPE, "bad_count", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "25");
    tml_graph_clear_error(g);

    in[1] = tev_const(g, "s4", TML_DT_S64, 1, sd, (int64_t[]){INT64_MAX, 0});
    n = mk_node(g, TML_OP_RESHAPE, "huge_dim", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "invalid dim");
    tml_graph_clear_error(g);

    in[1] = tml_graph_add_tensor(g, "runtime_shape"); /* not a constant */
    tml_tensor_set_shape(&g->tensors[in[1]], TML_DT_S64, 1, sd);
    n = mk_node(g, TML_OP_RESHAPE, "dyn_shape", 2, in, 1);
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "'shape'");
    tml_graph_free(g);
}

static void test_reshape_opset1_attr(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {2, 3}, shape[2] = {3, 2};
    int x, n;
    (void)state;
    g->opset = 1;
    x = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    n = mk_node(g, TML_OP_RESHAPE, "r1", 1, &x, 1);
    attr_is(g, n, "shape", 2, shape);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 2});
    tml_graph_free(g);
}

static void test_flatten(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[3] = {2, 3, 4};
    int x, n;
    (void)state;
    g->opset = 13;
    x = tev_const(g, "x", TML_DT_F32, 3, xd, X24);
    n = mk_node(g, TML_OP_FLATTEN, "f_default", 1, &x, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){2, 12});
    n = mk_node(g, TML_OP_FLATTEN, "f0", 1, &x, 1);
    attr_i(g, n, "axis", 0);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){1, 24});
    n = mk_node(g, TML_OP_FLATTEN, "fneg", 1, &x, 1);
    attr_i(g, n, "axis", -1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){6, 4});
    assert_f32(out0(g, n), 24, X24);
    n = mk_node(g, TML_OP_FLATTEN, "fbad", 1, &x, 1);
    attr_i(g, n, "axis", 4);
    assert_fails(g, n, TML_ERR_SHAPE, "'axis'");
    tml_graph_free(g);
}

static void test_squeeze_unsqueeze(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[4] = {1, 3, 1, 2}, ad[1] = {1}, a_neg[1] = {-2}, two[2] = {0, -1};
    int in[2], n;
    (void)state;
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_F32, 4, xd, X24);
    n = mk_node(g, TML_OP_SQUEEZE, "sq_all", 1, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 2});

    in[1] = tev_const(g, "axes", TML_DT_S64, 1, ad, a_neg);
    n = mk_node(g, TML_OP_SQUEEZE, "sq_neg", 2, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 3, (int64_t[]){1, 3, 2});

    in[1] = tev_const(g, "axes_bad", TML_DT_S64, 1, ad, (int64_t[]){1});
    n = mk_node(g, TML_OP_SQUEEZE, "sq_bad", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "size 3");
    tml_graph_clear_error(g);

    in[1] = tev_const(g, "uaxes", TML_DT_S64, 1, (int64_t[]){2}, two);
    n = mk_node(g, TML_OP_UNSQUEEZE, "unsq", 2, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 6, (int64_t[]){1, 1, 3, 1, 2, 1});
    assert_f32(out0(g, n), 6, X24);

    in[1] = tev_const(g, "dup", TML_DT_S64, 1, (int64_t[]){2}, (int64_t[]){1, -5});
    n = mk_node(g, TML_OP_UNSQUEEZE, "unsq_dup", 2, in, 1);
    assert_fails(g, n, TML_ERR_SHAPE, "twice");
    tml_graph_clear_error(g);

    /* opset 11: axes are an attribute */
    g->opset = 11;
    n = mk_node(g, TML_OP_SQUEEZE, "sq_attr", 1, in, 1);
    attr_is(g, n, "axes", 2, (int64_t[]){0, 2});
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, (int64_t[]){3, 2});
    n = mk_node(g, TML_OP_UNSQUEEZE, "unsq_attr", 1, in, 1);
    attr_is(g, n, "axes", 1, (int64_t[]){4});
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 5, (int64_t[]){1, 3, 1, 2, 1});
    tml_graph_free(g);
}

static void test_identity_dropout(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {2, 3};
    int in[3], n, i;
    tml_step_desc s;
    tml_tensor *m;
    (void)state;
    g->opset = 13;
    in[0] = tev_const(g, "x", TML_DT_F32, 2, xd, X24);
    n = mk_node(g, TML_OP_IDENTITY, "id", 1, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 6, X24);

    n = mk_node(g, TML_OP_DROPOUT, "drop", 1, in, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 6, X24);
    assert_int_equal(tml_op_lower(g, n, &s), TML_OK);
    assert_int_equal(s.kernel, TML_K_NONE);

    in[1] = tev_const(g, "ratio", TML_DT_F32, 0, NULL, (float[]){0.5f});
    n = mk_node(g, TML_OP_DROPOUT, "drop_mask", 2, in, 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_f32(out0(g, n), 6, X24);
    m = tml_node_output(g, &g->nodes[n], 1);
    assert_int_equal(m->dtype, TML_DT_BOOL);
    for (i = 0; i < 6; i++)
        assert_int_equal(((uint8_t *)m->data)[i], 1);

    in[2] = tev_const(g, "train", TML_DT_BOOL, 0, NULL, (uint8_t[]){1});
    n = mk_node(g, TML_OP_DROPOUT, "drop_train", 3, in, 1);
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "training_mode");
    tml_graph_clear_error(g);
    in[1] = tev_const(g, "ratio0", TML_DT_F32, 0, NULL, (float[]){0.0f});
    n = mk_node(g, TML_OP_DROPOUT, "drop_train_r0", 3, in, 2);
    assert_int_equal(tev_eval(g, n), TML_OK); /* ratio 0 drops nothing, even in training */
    assert_f32(out0(g, n), 6, X24);

    /* opset 7: the mask has the input's type */
    g->opset = 7;
    n = mk_node(g, TML_OP_DROPOUT, "drop7", 1, in, 2);
    assert_int_equal(tev_eval(g, n), TML_OK);
    m = tml_node_output(g, &g->nodes[n], 1);
    assert_int_equal(m->dtype, TML_DT_F32);
    assert_f32(m, 6, (float[]){1, 1, 1, 1, 1, 1});
    tml_graph_free(g);
}

static void test_shape(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[4] = {2, 3, 4, 5};
    int x, n;
    const int64_t *y;
    static const float zeros[120];
    (void)state;
    g->opset = 15;
    x = tev_const(g, "x", TML_DT_F32, 4, xd, zeros);
    n = mk_node(g, TML_OP_SHAPE, "shape", 1, &x, 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 1, (int64_t[]){4});
    y = out0(g, n)->data;
    assert_int_equal(y[0], 2);
    assert_int_equal(y[3], 5);

    n = mk_node(g, TML_OP_SHAPE, "shape_range", 1, &x, 1);
    attr_i(g, n, "start", 1);
    attr_i(g, n, "end", -1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 1, (int64_t[]){2});
    y = out0(g, n)->data;
    assert_int_equal(y[0], 3);
    assert_int_equal(y[1], 4);

    n = mk_node(g, TML_OP_SHAPE, "shape_empty", 1, &x, 1);
    attr_i(g, n, "start", 3);
    attr_i(g, n, "end", 1);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 1, (int64_t[]){0});
    tml_graph_free(g);
}

static void test_constant(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t cd[2] = {2, 2};
    int c, n;
    const int64_t *iv;
    (void)state;
    g->opset = 13;
    c = tev_const(g, "cval", TML_DT_F32, 2, cd, X24);
    n = mk_node(g, TML_OP_CONSTANT, "const_t", 0, NULL, 1);
    tml_node_add_attr(g, n, "value", TML_ATTR_TENSOR)->tensor = c;
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_shape(g, n, 2, cd);
    assert_f32(out0(g, n), 4, X24);

    n = mk_node(g, TML_OP_CONSTANT, "const_f", 0, NULL, 1);
    attr_f(g, n, "value_float", 2.5f);
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->rank, 0);
    assert_f32(out0(g, n), 1, (float[]){2.5f});

    n = mk_node(g, TML_OP_CONSTANT, "const_is", 0, NULL, 1);
    attr_is(g, n, "value_ints", 3, (int64_t[]){7, -8, 9});
    assert_int_equal(tev_eval(g, n), TML_OK);
    assert_int_equal(out0(g, n)->dtype, TML_DT_S64);
    assert_shape(g, n, 1, (int64_t[]){3});
    iv = out0(g, n)->data;
    assert_int_equal(iv[1], -8);

    n = mk_node(g, TML_OP_CONSTANT, "const_s", 0, NULL, 1);
    attr_s(g, n, "value_string", "hello");
    assert_fails(g, n, TML_ERR_UNSUPPORTED, "value_string");
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reshape),
        cmocka_unit_test(test_reshape_allowzero_and_errors),
        cmocka_unit_test(test_reshape_opset1_attr),
        cmocka_unit_test(test_flatten),
        cmocka_unit_test(test_squeeze_unsqueeze),
        cmocka_unit_test(test_identity_dropout),
        cmocka_unit_test(test_shape),
        cmocka_unit_test(test_constant),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
