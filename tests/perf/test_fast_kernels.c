/*
 * test_fast_kernels.c - the fast float32 kernels (kernels_fast.def) against the nn reference
 * kernels they replace, through the real selection path.
 *
 * Each case builds a one-node graph (Conv, Gemm, MatMul or MaxPool) with random shapes and
 * attributes: 1-D and 2-D, strides, asymmetric pads, dilations, groups including depthwise, bias or
 * not, every fused activation, transposed or broadcast operands. The node is lowered (tml_op_lower:
 * reference step), a copy goes through tml_select_fast_kernel (fast step, packing constants where
 * the variant needs it), and both steps run on the same random inputs in exactly sized heap buffers
 * (ASan sees any stray access; a canary catches writes past Y otherwise). Outputs must agree within
 * |a-b| <= 1e-4 + 1e-4*|b|, and each fast step's _check must accept its exact buffer sizes and
 * refuse a scratch one float short. Seeded LCG: a failure prints its case number and reproduces.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ops/ops.h"
#include "ops/select_fast.h"
#include "tml/ir.h"
#include "tml/kernels.h"
#include "tml/plan.h"

#define CASES  400
#define CANARY 16

static uint32_t rng = 20261125u;
static uint32_t rnd(uint32_t n)
{
    rng = rng * 1664525u + 1013904223u;
    return (rng >> 8) % n;
}
static float frand(void)
{
    return (float)rnd(1u << 20) / (float)(1u << 19) - 1.0f;
}

static int add_const(tml_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = tml_graph_add_tensor(g, name);
    int64_t n, i;
    float *d;
    tml_tensor_set_shape(&g->tensors[t], TML_DT_F32, rank, dims);
    n = tml_tensor_numel(&g->tensors[t]);
    d = tml_graph_alloc(g, (size_t)n * sizeof(float));
    for (i = 0; i < n; i++)
        d[i] = frand();
    g->tensors[t].data = d;
    return t;
}

static int add_input(tml_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = tml_graph_add_tensor(g, name);
    tml_tensor_set_shape(&g->tensors[t], TML_DT_F32, rank, dims);
    tml_graph_add_input(g, t);
    return t;
}

static void set_ints(tml_graph *g, int node, const char *name, int n, const int64_t *v)
{
    tml_attr *a = tml_node_add_attr(g, node, name, TML_ATTR_INTS);
    a->n = n;
    a->ints = tml_graph_memdup(g, v, (size_t)n * sizeof(int64_t));
}

static void set_int(tml_graph *g, int node, const char *name, int64_t v)
{
    tml_node_add_attr(g, node, name, TML_ATTR_INT)->i = v;
}

static void random_act(tml_graph *g, int node)
{
    static const float ca[] = {0.0f, 0.0f, -0.25f, 0.1f, 0.0f, 0.0f, 0.0f};
    static const float cb[] = {0.0f, 0.0f, 0.5f, 0.0f, 0.0f, 0.0f, 0.0f};
    int a = (int)rnd(7);
    g->nodes[node].act = (tml_act)a;
    g->nodes[node].act_a = ca[a];
    g->nodes[node].act_b = cb[a];
}

/* Runs step s of graph g; inputs without data come from xin (the one graph input). */
static void run_step(tml_graph *g, const tml_step_desc *s, const float *xin, float *y,
                     uint32_t y_bytes, int expect_fast, int case_no)
{
    const tml_kernel_info *ki = tml_kernel_get_info(s->kernel);
    const void *in[TML_STEP_MAX_IO];
    void *out[1];
    uint32_t ib[TML_STEP_MAX_IO];
    void *scratch = NULL;
    int i;
    assert_non_null(ki);
    assert_non_null(ki->fn);
    for (i = 0; i < s->n_in; i++) {
        tml_tensor *t = &g->tensors[s->in[i]];
        in[i] = t->data ? t->data : xin;
        ib[i] = (uint32_t)tml_tensor_nbytes(t);
    }
    out[0] = y;
    if (s->scratch_bytes)
        scratch = malloc(s->scratch_bytes);
    if (ki->check(s->params, s->params_size, ib, s->n_in, &y_bytes, 1, s->scratch_bytes)) {
        print_error("case %d: %s_check refuses its own step\n", case_no, ki->name);
        fail();
    }
    if (expect_fast && s->scratch_bytes &&
        ki->check(s->params, s->params_size, ib, s->n_in, &y_bytes, 1, s->scratch_bytes - 4) ==
            TML_OK) {
        print_error("case %d: %s_check accepts a short scratch\n", case_no, ki->name);
        fail();
    }
    ki->fn(s->params, in, out, scratch);
    free(scratch);
}

/* Lowers node, selects, runs both; returns 1 if the fast variant was chosen. */
static int compare(tml_graph *g, int node, int x, int case_no, tml_kernel_id want)
{
    tml_step_desc ref, fast;
    tml_tensor *yt, *xt = &g->tensors[x];
    int64_t ny, nx, i;
    float *xin, *y0, *y1;
    int chosen;

    assert_int_equal(tml_op_shape(g, node), TML_OK);
    assert_int_equal(tml_op_lower(g, node, &ref), TML_OK);
    fast = ref;
    tml_select_fast_kernel(g, node, &fast);
    chosen = fast.kernel != ref.kernel;
    if (want != TML_K_NONE && fast.kernel != want) {
        print_error("case %d: node '%s' kept kernel %s\n", case_no, g->nodes[node].name,
                    tml_kernel_get_info(fast.kernel)->name);
        fail();
    }
    yt = &g->tensors[g->nodes[node].out[0]];
    ny = tml_tensor_numel(yt);
    nx = tml_tensor_numel(xt);
    xin = malloc((size_t)nx * sizeof(float));
    for (i = 0; i < nx; i++)
        xin[i] = frand();
    y0 = malloc((size_t)ny * sizeof(float));
    y1 = malloc((size_t)(ny + CANARY) * sizeof(float));
    for (i = 0; i < ny + CANARY; i++)
        y1[i] = 12345.0f;
    run_step(g, &ref, xin, y0, (uint32_t)(ny * 4), 0, case_no);
    run_step(g, &fast, xin, y1, (uint32_t)(ny * 4), chosen, case_no);
    for (i = 0; i < ny; i++) {
        double a = y1[i], b = y0[i];
        if (!(fabs(a - b) <= 1e-4 + 1e-4 * fabs(b))) {
            print_error("case %d (%s vs %s): y[%lld] = %.9g, reference %.9g\n", case_no,
                        tml_kernel_get_info(fast.kernel)->name,
                        tml_kernel_get_info(ref.kernel)->name, (long long)i, a, b);
            fail();
        }
    }
    for (i = ny; i < ny + CANARY; i++)
        if (y1[i] != 12345.0f) {
            print_error("case %d: write past Y at %lld\n", case_no, (long long)i);
            fail();
        }
    free(xin);
    free(y0);
    free(y1);
    return chosen;
}

static void test_conv_random(void **state)
{
    int c, chosen = 0, depthwise = 0, grouped = 0;
    (void)state;
    for (c = 0; c < CASES; c++) {
        tml_graph *g = tml_graph_new();
        int rank = 1 + (int)rnd(2), i, node, x, w, in[3], y, n_in = 2;
        int64_t n = 1 + rnd(2), group, cin_g, cout_g, xd[4], wd[4];
        int64_t ks[2], st[2], dl[2], pads[4];
        int kind = (int)rnd(4);
        cin_g = 1 + rnd(4);
        cout_g = 1 + rnd(10);
        group = kind == 0 ? 1 + rnd(3) : 1;
        if (kind == 1) { /* depthwise (with a channel multiplier sometimes) */
            group = 1 + rnd(6);
            cin_g = 1;
            cout_g = 1 + rnd(2);
            depthwise++;
        }
        if (group > 1)
            grouped++;
        xd[0] = n;
        xd[1] = group * cin_g;
        for (i = 0; i < rank; i++) {
            int64_t ext;
            ks[i] = 1 + rnd(5);
            st[i] = 1 + rnd(3);
            dl[i] = 1 + rnd(2);
            pads[i] = rnd(3);
            pads[i + rank] = rnd(3);
            ext = (ks[i] - 1) * dl[i] + 1;
            xd[2 + i] = ext + rnd(20); /* at least one output */
            if (pads[i] >= ext)
                pads[i] = ext - 1; /* ONNX allows more; keep windows touching X */
            if (pads[i + rank] >= ext)
                pads[i + rank] = ext - 1;
        }
        wd[0] = group * cout_g;
        wd[1] = cin_g;
        for (i = 0; i < rank; i++)
            wd[2 + i] = ks[i];
        x = add_input(g, "x", 2 + rank, xd);
        w = add_const(g, "w", 2 + rank, wd);
        in[0] = x;
        in[1] = w;
        if (rnd(2)) {
            int64_t bd = wd[0];
            in[2] = add_const(g, "b", 1, &bd);
            n_in = 3;
        }
        y = tml_graph_add_tensor(g, "y");
        node = tml_graph_add_node(g, TML_OP_CONV, "conv", n_in, in, 1, &y);
        set_ints(g, node, "kernel_shape", rank, ks);
        set_ints(g, node, "strides", rank, st);
        set_ints(g, node, "dilations", rank, dl);
        set_ints(g, node, "pads", 2 * rank, pads);
        set_int(g, node, "group", group);
        random_act(g, node);
        chosen += compare(g, node, x, c, TML_K_CONV_F32_TILED);
        tml_graph_free(g);
    }
    assert_int_equal(chosen, CASES);
    assert_true(depthwise > 0 && grouped > 0);
}

static void test_gemm_random(void **state)
{
    int c;
    (void)state;
    for (c = 0; c < CASES; c++) {
        tml_graph *g = tml_graph_new();
        int64_t m = 1 + rnd(9), k = 1 + rnd(70), nn = 1 + rnd(80), ad[2], bd[2], cd[2];
        int trans_b = (int)rnd(2), cshape = (int)rnd(5), a, b, in[3], y, node, n_in = 2;
        ad[0] = m;
        ad[1] = k;
        bd[0] = trans_b ? nn : k;
        bd[1] = trans_b ? k : nn;
        a = add_input(g, "a", 2, ad);
        b = add_const(g, "b", 2, bd);
        in[0] = a;
        in[1] = b;
        if (cshape) { /* (1,1) (1,n) (m,1) (m,n) */
            cd[0] = cshape >= 3 ? m : 1;
            cd[1] = cshape % 2 == 0 ? nn : 1;
            in[2] = add_const(g, "c", 2, cd);
            n_in = 3;
        }
        y = tml_graph_add_tensor(g, "y");
        node = tml_graph_add_node(g, TML_OP_GEMM, "gemm", n_in, in, 1, &y);
        set_int(g, node, "transB", trans_b);
        if (rnd(2)) {
            tml_node_add_attr(g, node, "alpha", TML_ATTR_FLOAT)->f = 0.5f + frand();
            tml_node_add_attr(g, node, "beta", TML_ATTR_FLOAT)->f = frand();
        }
        random_act(g, node);
        compare(g, node, a, c, TML_K_GEMM_F32_PACKED);
        tml_graph_free(g);
    }
}

/* trans_a and a non-constant B keep the reference kernel (and still agree, trivially). */
static void test_gemm_not_selected(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t ad[2] = {5, 3}, bd[2] = {5, 4};
    int a, b, in[2], y, node;
    (void)state;
    a = add_input(g, "a", 2, ad);
    b = add_const(g, "b", 2, bd);
    in[0] = a;
    in[1] = b;
    y = tml_graph_add_tensor(g, "y");
    node = tml_graph_add_node(g, TML_OP_GEMM, "gemm_ta", 2, in, 1, &y);
    set_int(g, node, "transA", 1);
    assert_int_equal(compare(g, node, a, -1, TML_K_GEMM_F32), 0);
    tml_graph_free(g);

    g = tml_graph_new();
    ad[0] = 2;
    ad[1] = 5;
    a = add_input(g, "a", 2, ad);
    b = add_input(g, "b", 2, bd); /* B is a graph input: nothing to pack */
    in[0] = a;
    in[1] = b;
    y = tml_graph_add_tensor(g, "y");
    node = tml_graph_add_node(g, TML_OP_GEMM, "gemm_var", 2, in, 1, &y);
    {
        tml_step_desc s;
        assert_int_equal(tml_op_shape(g, node), TML_OK);
        assert_int_equal(tml_op_lower(g, node, &s), TML_OK);
        tml_select_fast_kernel(g, node, &s);
        assert_int_equal(s.kernel, TML_K_GEMM_F32);
    }
    tml_graph_free(g);
}

static void test_matmul_random(void **state)
{
    int c, chosen = 0;
    (void)state;
    for (c = 0; c < CASES / 2; c++) {
        tml_graph *g = tml_graph_new();
        int64_t ad[4], bd[3], m = 1 + rnd(6), k = 1 + rnd(40), nn = 1 + rnd(50);
        int ar = 1 + (int)rnd(4), br = 1 + (int)rnd(2), i, a, b, in[2], y, node;
        for (i = 0; i < ar - 2; i++)
            ad[i] = 1 + rnd(3);
        if (ar >= 2)
            ad[ar - 2] = m;
        ad[ar - 1] = k;
        if (br == 1) {
            bd[0] = k;
        } else {
            bd[0] = k;
            bd[1] = nn;
        }
        a = add_input(g, "a", ar, ad);
        b = add_const(g, "b", br, bd);
        in[0] = a;
        in[1] = b;
        y = tml_graph_add_tensor(g, "y");
        node = tml_graph_add_node(g, TML_OP_MATMUL, "matmul", 2, in, 1, &y);
        random_act(g, node);
        chosen += compare(g, node, a, c, TML_K_GEMM_F32_PACKED);
        tml_graph_free(g);
    }
    assert_int_equal(chosen, CASES / 2);
}

static void test_maxpool_random(void **state)
{
    int c, chosen = 0, two = 0;
    (void)state;
    for (c = 0; c < CASES; c++) {
        tml_graph *g = tml_graph_new();
        int rank = 1 + (int)rnd(2), i, node, x, y, padded = rnd(4) == 0, ceil_mode = rnd(4) == 0;
        int64_t xd[4], ks[2], st[2], dl[2], pads[4];
        xd[0] = 1 + rnd(2);
        xd[1] = 1 + rnd(5);
        for (i = 0; i < rank; i++) {
            ks[i] = rnd(3) ? 2 : 1 + rnd(4);
            st[i] = 1 + rnd(3);
            dl[i] = rnd(4) ? 1 : 2;
            pads[i] = padded ? rnd(ks[i]) : 0;
            pads[i + rank] = padded ? rnd(ks[i]) : 0;
            xd[2 + i] = (ks[i] - 1) * dl[i] + 1 + rnd(17);
        }
        two += rank == 2 && ks[0] == 2 && ks[1] == 2;
        for (padded = 0, i = 0; i < rank; i++) /* leading pads: some window reads padding */
            padded |= pads[i] > 0;
        x = add_input(g, "x", 2 + rank, xd);
        y = tml_graph_add_tensor(g, "y");
        node = tml_graph_add_node(g, TML_OP_MAXPOOL, "pool", 1, &x, 1, &y);
        set_ints(g, node, "kernel_shape", rank, ks);
        set_ints(g, node, "strides", rank, st);
        set_ints(g, node, "dilations", rank, dl);
        set_ints(g, node, "pads", 2 * rank, pads);
        set_int(g, node, "ceil_mode", ceil_mode);
        random_act(g, node);
        chosen += compare(g, node, x, c, padded ? TML_K_MAXPOOL_F32 : TML_K_NONE);
        tml_graph_free(g);
    }
    /* unpadded pools without ceil_mode always qualify: about 9 in 16 cases */
    assert_true(chosen > CASES / 3);
    assert_true(two > 0);
}

/* The planner applies the selection unless reference_kernels is set; packed weights become
 * plan constants and the plan still checks. */
static void test_plan_selects(void **state)
{
    int ref;
    (void)state;
    for (ref = 0; ref < 2; ref++) {
        tml_graph *g = tml_graph_new();
        int64_t xd[4] = {1, 1, 12, 12}, wd[4] = {6, 1, 3, 3}, gd[2] = {10, 6 * 10 * 10};
        int64_t shp[2] = {1, 6 * 10 * 10};
        int x, w, gw, sh, t1, t2, t3, in[2], n0, n1, n2;
        tml_plan_options o;
        tml_plan *p = NULL;
        char err[256];
        x = add_input(g, "x", 4, xd);
        w = add_const(g, "w", 4, wd);
        gw = add_const(g, "gw", 2, gd);
        t1 = tml_graph_add_tensor(g, "t1");
        t2 = tml_graph_add_tensor(g, "t2");
        t3 = tml_graph_add_tensor(g, "t3");
        {
            int sht = tml_graph_add_tensor(g, "shape");
            int64_t d1 = 2;
            tml_tensor_set_shape(&g->tensors[sht], TML_DT_S64, 1, &d1);
            g->tensors[sht].data = tml_graph_memdup(g, shp, sizeof shp);
            sh = sht;
        }
        in[0] = x;
        in[1] = w;
        n0 = tml_graph_add_node(g, TML_OP_CONV, "conv", 2, in, 1, &t1);
        set_ints(g, n0, "kernel_shape", 2, (int64_t[]){3, 3});
        in[0] = t1;
        in[1] = sh;
        n1 = tml_graph_add_node(g, TML_OP_RESHAPE, "flat", 2, in, 1, &t2);
        in[0] = t2;
        in[1] = gw;
        n2 = tml_graph_add_node(g, TML_OP_GEMM, "fc", 2, in, 1, &t3);
        set_int(g, n2, "transB", 1);
        tml_graph_add_output(g, t3);
        assert_int_equal(tml_op_shape(g, n0), TML_OK);
        assert_int_equal(tml_op_shape(g, n1), TML_OK);
        assert_int_equal(tml_op_shape(g, n2), TML_OK);
        tml_plan_options_default(&o);
        assert_false(o.reference_kernels);
        o.reference_kernels = ref == 1;
        if (tml_plan_build(g, &o, &p)) {
            print_error("plan: %s\n", tml_graph_error(g));
            fail();
        }
        assert_int_equal(p->n_steps, 2);
        assert_int_equal(p->steps[0].kernel, ref ? TML_K_CONV_F32 : TML_K_CONV_F32_TILED);
        assert_int_equal(p->steps[1].kernel, ref ? TML_K_GEMM_F32 : TML_K_GEMM_F32_PACKED);
        assert_true(ref ? p->steps[0].scratch_bytes == 0 : p->steps[0].scratch_bytes > 0);
        assert_int_equal(tml_plan_check(p, err, sizeof err), TML_OK);
        tml_plan_free(p);
        tml_graph_free(g);
    }
}

/* Two Gemms sharing one weight share one packed tensor, and planning the same graph again adds
 * nothing: the packing is found by name and bytes. */
static void test_shared_weight_packed_once(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[2] = {1, 8}, wd[2] = {8, 8};
    int x, w, t1, t2, in[2], n0, n1, round, n_tensors = 0;
    (void)state;
    x = add_input(g, "x", 2, xd);
    w = add_const(g, "w", 2, wd);
    t1 = tml_graph_add_tensor(g, "t1");
    t2 = tml_graph_add_tensor(g, "t2");
    in[0] = x;
    in[1] = w;
    n0 = tml_graph_add_node(g, TML_OP_GEMM, "fc0", 2, in, 1, &t1);
    set_int(g, n0, "transB", 1);
    in[0] = t1;
    n1 = tml_graph_add_node(g, TML_OP_GEMM, "fc1", 2, in, 1, &t2);
    set_int(g, n1, "transB", 1);
    tml_graph_add_output(g, t2);
    assert_int_equal(tml_op_shape(g, n0), TML_OK);
    assert_int_equal(tml_op_shape(g, n1), TML_OK);
    for (round = 0; round < 2; round++) {
        tml_plan *p = NULL;
        assert_int_equal(tml_plan_build(g, NULL, &p), TML_OK);
        assert_int_equal(p->n_steps, 2);
        assert_int_equal(p->steps[0].kernel, TML_K_GEMM_F32_PACKED);
        assert_int_equal(p->steps[1].kernel, TML_K_GEMM_F32_PACKED);
        assert_int_equal(p->steps[0].in[1], p->steps[1].in[1]);
        if (round == 0)
            n_tensors = g->n_tensors;
        else
            assert_int_equal(g->n_tensors, n_tensors);
        tml_plan_free(p);
    }
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conv_random),
        cmocka_unit_test(test_gemm_random),
        cmocka_unit_test(test_gemm_not_selected),
        cmocka_unit_test(test_matmul_random),
        cmocka_unit_test(test_maxpool_random),
        cmocka_unit_test(test_plan_selects),
        cmocka_unit_test(test_shared_weight_packed_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
