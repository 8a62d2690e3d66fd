/*
 * test_passes_plan.c - what the passes leave behind must plan and run.
 *
 * The passes rewire graphs (a conv writes its BN's output, a MatMul becomes a Gemm, a Pad's
 * amounts move into a Conv, folded constants can be graph outputs, orphaned tensors stay in
 * the tensor array). This test takes a small network that exercises all of that, runs
 * tml_passes_run, builds the plan (tml_plan_build, tml_plan_check), runs it with the
 * interpreter and compares the output with the unoptimized graph evaluated node by node.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"
#include "tml/interp.h"
#include "tml/passes.h"
#include "tml/plan.h"

static void fill(float *v, int n, unsigned seed, float lo, float hi)
{
    int i;
    for (i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        v[i] = lo + (hi - lo) * (float)((seed >> 8) & 0xffff) / 65536.0f;
    }
}

static int tnew(tml_graph *g, const char *name)
{
    int t = tml_graph_add_tensor(g, name);
    assert_true(t >= 0);
    return t;
}

static int cf32(tml_graph *g, const char *name, int rank, const int64_t *dims, const float *v)
{
    int t = tev_const(g, name, TML_DT_F32, rank, dims, v);
    assert_true(t >= 0);
    return t;
}

static int cs64(tml_graph *g, const char *name, int rank, const int64_t *dims, const int64_t *v)
{
    int t = tev_const(g, name, TML_DT_S64, rank, dims, v);
    assert_true(t >= 0);
    return t;
}

static int add(tml_graph *g, tml_op op, const char *name, int n_in, const int *in, int out)
{
    int n = tml_graph_add_node(g, op, name, n_in, in, 1, &out);
    assert_true(n >= 0);
    return n;
}

/* x (?,2,6,6) -> Pad(0,0,1,1 / 0,0,1,1) -> Conv(4,2,3,3) -> BN -> Relu -> GlobalAveragePool
 * -> Flatten -> MatMul(4,3) -> Add(bias) -> Clip(0,6) -> y (graph output 0)
 * and a constant-only branch c1 + c2 -> k (graph output 1, folded). */
static void make_net(tml_graph *g, const float *xv, int *x, int *y, int *k)
{
    int64_t xd[4] = {xv ? 1 : -1, 2, 6, 6}, wd[4] = {4, 2, 3, 3}, cd[1] = {4}, md[2] = {4, 3},
            bd[1] = {3}, eight[1] = {8}, pads[8] = {0, 0, 1, 1, 0, 0, 1, 1}, two[1] = {2};
    float w[72], gam[4], bet[4], mean[4], var[4], mw[12], mb[3], lo = 0, hi = 6, c1[2] = {1, 2},
                                                                   c2[2] = {3, 4};
    int in[5], p, c, b, r, gp, f, m, a, n;
    fill(w, 72, 1, -1, 1);
    fill(gam, 4, 2, 0.5f, 1.5f);
    fill(bet, 4, 3, -0.5f, 0.5f);
    fill(mean, 4, 4, -0.5f, 0.5f);
    fill(var, 4, 5, 0.2f, 2);
    fill(mw, 12, 6, -1, 1);
    fill(mb, 3, 7, 0, 3);
    g->opset = 13;
    *x = xv ? cf32(g, "x", 4, xd, xv) : tnew(g, "x");
    if (!xv) {
        tml_tensor_set_shape(&g->tensors[*x], TML_DT_F32, 4, xd);
        assert_int_equal(tml_graph_add_input(g, *x), TML_OK);
    }
    p = tnew(g, "p"), c = tnew(g, "c"), b = tnew(g, "b"), r = tnew(g, "r"), gp = tnew(g, "gp");
    f = tnew(g, "f"), m = tnew(g, "m"), a = tnew(g, "a"), *y = tnew(g, "y"), *k = tnew(g, "k");
    in[0] = *x, in[1] = cs64(g, "pads", 1, eight, pads);
    add(g, TML_OP_PAD, "pad", 2, in, p);
    in[0] = p, in[1] = cf32(g, "w", 4, wd, w);
    add(g, TML_OP_CONV, "conv", 2, in, c);
    in[0] = c, in[1] = cf32(g, "gamma", 1, cd, gam), in[2] = cf32(g, "beta", 1, cd, bet);
    in[3] = cf32(g, "mean", 1, cd, mean), in[4] = cf32(g, "var", 1, cd, var);
    add(g, TML_OP_BATCHNORM, "bn", 5, in, b);
    add(g, TML_OP_RELU, "relu", 1, &b, r);
    add(g, TML_OP_GLOBAL_AVGPOOL, "gap", 1, &r, gp);
    add(g, TML_OP_FLATTEN, "flatten", 1, &gp, f);
    in[0] = f, in[1] = cf32(g, "mw", 2, md, mw);
    add(g, TML_OP_MATMUL, "dense", 2, in, m);
    in[0] = m, in[1] = cf32(g, "mb", 1, bd, mb);
    add(g, TML_OP_ADD, "dense_bias", 2, in, a);
    in[0] = a, in[1] = cf32(g, "lo", 0, NULL, &lo), in[2] = cf32(g, "hi", 0, NULL, &hi);
    add(g, TML_OP_CLIP, "clip", 3, in, *y);
    in[0] = cf32(g, "c1", 1, two, c1), in[1] = cf32(g, "c2", 1, two, c2);
    n = add(g, TML_OP_ADD, "const_add", 2, in, *k);
    (void)n;
    assert_int_equal(tml_graph_add_output(g, *y), TML_OK);
    assert_int_equal(tml_graph_add_output(g, *k), TML_OK);
}

static void test_passes_then_plan_and_run(void **state)
{
    float xv[72];
    tml_graph *gr = tml_graph_new(), *g = tml_graph_new();
    tml_plan_options po;
    tml_plan *plan = NULL;
    tml_interp *it = NULL;
    char err[256];
    int x, y, k, i;
    size_t nb;
    float *in, *out;
    tml_status st;
    (void)state;
    fill(xv, 72, 9, -2, 2);
    make_net(gr, xv, &x, &y, &k);
    for (i = 0; i < gr->n_nodes; i++)
        assert_int_equal(tev_eval(gr, i), TML_OK);

    make_net(g, NULL, &x, &y, &k);
    st = tml_passes_run(g, NULL);
    if (st)
        print_error("passes: %s\n", tml_graph_error(g));
    assert_int_equal(st, TML_OK);
    /* Pad, BN, Relu, Add(bias), Clip and the constant Add are gone */
    assert_int_equal(tml_graph_live_nodes(g), 4);

    tml_plan_options_default(&po);
    st = tml_plan_build(g, &po, &plan);
    if (st)
        print_error("plan: %s\n", tml_graph_error(g));
    assert_int_equal(st, TML_OK);
    assert_int_equal(tml_plan_check(plan, err, sizeof err), TML_OK);
    st = tml_interp_new(plan, &it, err, sizeof err);
    if (st)
        print_error("interp: %s\n", err);
    assert_int_equal(st, TML_OK);
    in = tml_interp_input(it, 0, &nb);
    assert_non_null(in);
    assert_int_equal(nb, sizeof xv);
    memcpy(in, xv, sizeof xv);
    assert_int_equal(tml_interp_run(it), TML_OK);

    out = tml_interp_output(it, 0, &nb);
    assert_non_null(out);
    assert_int_equal(nb, 3 * sizeof(float));
    for (i = 0; i < 3; i++)
        assert_float_equal(out[i], ((const float *)gr->tensors[y].data)[i], 1e-4);
    out = tml_interp_output(it, 1, &nb);
    assert_non_null(out);
    assert_int_equal(nb, 2 * sizeof(float));
    assert_float_equal(out[0], 4.0f, 0.0f);
    assert_float_equal(out[1], 6.0f, 0.0f);

    tml_interp_free(it);
    tml_plan_free(plan);
    tml_graph_free(gr);
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_passes_then_plan_and_run),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
