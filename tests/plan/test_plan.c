/*
 * test_plan.c - the plan builder on hand-built graphs: views, in-place, copies, folded
 * constant outputs, scratch, MACs, errors, the checker and the memory map.
 *
 * The graphs are lowered by a small lowering function of this test (through the seam
 * tml_plan_build_lowered), so what is tested is the planner alone: unary ops become the COPY
 * kernel (which exists from the start) with in-place allowed, Reshape/Identity/Flatten become
 * views. Every plan is then checked with tml_plan_check and run step by step with the runtime
 * kernels on an arena filled with garbage, and the outputs compared with what the graph means.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "plan/plan_internal.h"
#include "plan_run.h"
#include "tml/arena.h"

/* ---- graph helpers ---- */

static int add_t(tml_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = tml_graph_add_tensor(g, name);
    assert_true(t >= 0);
    tml_tensor_set_shape(&g->tensors[t], TML_DT_F32, rank, dims);
    return t;
}

static int add_vec(tml_graph *g, const char *name, int64_t n)
{
    return add_t(g, name, 1, &n);
}

static int add_const_vec(tml_graph *g, const char *name, int64_t n, float base)
{
    int t = add_vec(g, name, n), i;
    float *d = tml_graph_alloc(g, (size_t)n * sizeof(float));
    for (i = 0; i < n; i++)
        d[i] = base + (float)i;
    g->tensors[t].data = d;
    return t;
}

static int node1(tml_graph *g, tml_op op, const char *name, int in, int out)
{
    int n = tml_graph_add_node(g, op, name, 1, &in, 1, &out);
    assert_true(n >= 0);
    g->tensors[out].producer = n;
    return n;
}

/* ---- the test lowering ---- */

static tml_status test_lower(tml_graph *g, int node, tml_step_desc *s, void *ctx)
{
    const tml_node *n = &g->nodes[node];
    (void)ctx;
    switch (n->op) {
    case TML_OP_RESHAPE:
    case TML_OP_IDENTITY:
    case TML_OP_FLATTEN:
        s->kernel = TML_K_NONE;
        s->n_in = 1;
        s->in[0] = n->in[0];
        s->n_out = 1;
        s->out[0] = n->out[0];
        s->alias_of = 0;
        return TML_OK;
    default: {
        tml_copy_params *cp = tml_graph_alloc(g, sizeof(*cp));
        int64_t ib = tml_tensor_nbytes(&g->tensors[n->in[0]]);
        int64_t ob = tml_tensor_nbytes(&g->tensors[n->out[0]]);
        cp->bytes = (uint32_t)(ib < ob ? ib : ob);
        s->kernel = TML_K_COPY;
        s->params = cp;
        s->params_size = sizeof(*cp);
        s->n_in = 1;
        s->in[0] = n->in[0];
        s->n_out = 1;
        s->out[0] = n->out[0];
        s->scratch_bytes = (uint32_t)tml_node_attr_int(n, "scratch", 0);
        if (n->op == TML_OP_RELU && ib == ob)
            s->inplace_of = 0;
        return TML_OK;
    }
    }
}

static tml_plan *build(tml_graph *g, const tml_plan_options *o)
{
    tml_plan *p = NULL;
    char err[256];
    tml_status st = tml_plan_build_lowered(g, o, test_lower, NULL, &p);
    if (st)
        fail_msg("plan build failed: %s (%s)", tml_status_str(st), tml_graph_error(g));
    if (tml_plan_check(p, err, sizeof(err)))
        fail_msg("plan check failed: %s", err);
    return p;
}

static void run(const tml_plan *p, const float *const *in, float **out)
{
    assert_int_equal(tpr_run(p, (const void *const *)in, (void *const *)out), 0);
}

static int count_kernel(const tml_plan *p, tml_kernel_id k)
{
    int s, c = 0;
    for (s = 0; s < p->n_steps; s++)
        c += p->steps[s].kernel == k;
    return c;
}

static int ptensor(const tml_plan *p, const char *name)
{
    int i;
    for (i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].name && strcmp(p->tensors[i].name, name) == 0)
            return i;
    fail_msg("no plan tensor '%s'", name);
    return -1;
}

static const float X8[8] = {1, 2, 3, 4, 5, 6, 7, 8};

/* ---- tests ---- */

/* x -> relu a -> relu b -> relu c -> relu y: in-place chains a..y into one buffer; x (a graph
 * input) is never overwritten. */
static void test_inplace_chain(void **state)
{
    tml_graph *g = tml_graph_new();
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), b = add_vec(g, "b", 8);
    int c = add_vec(g, "c", 8), y = add_vec(g, "y", 8);
    tml_plan *p;
    tml_plan_options o;
    float out[8], *outs[1] = {out};
    const float *ins[1] = {X8};
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_RELU, "r1", x, a);
    node1(g, TML_OP_RELU, "r2", a, b);
    node1(g, TML_OP_RELU, "r3", b, c);
    node1(g, TML_OP_RELU, "r4", c, y);
    tml_graph_add_output(g, y);
    p = build(g, NULL);
    assert_int_equal(p->n_steps, 4);
    assert_int_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "y")]);
    assert_int_equal(p->share[ptensor(p, "b")], p->share[ptensor(p, "c")]);
    assert_int_not_equal(p->share[ptensor(p, "x")], p->share[ptensor(p, "a")]);
    assert_int_equal(p->tensors[ptensor(p, "a")].offset, p->tensors[ptensor(p, "y")].offset);
    assert_int_equal(p->arena_size, 64);
    assert_int_equal(p->tensors[p->inputs[0]].first, 0);
    assert_int_equal(p->tensors[p->outputs[0]].last, 3);
    run(p, ins, outs);
    assert_memory_equal(out, X8, sizeof(X8));
    tml_plan_free(p);

    tml_plan_options_default(&o);
    o.inplace = false;
    p = build(g, &o);
    assert_int_not_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "b")]);
    run(p, ins, outs);
    assert_memory_equal(out, X8, sizeof(X8));
    tml_plan_free(p);
    tml_graph_free(g);
}

/* a is read again after b = relu(a): b must not overwrite it. */
static void test_no_inplace_when_read_later(void **state)
{
    tml_graph *g = tml_graph_new();
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), b = add_vec(g, "b", 8);
    int c = add_vec(g, "c", 8);
    tml_plan *p;
    float o1[8], o2[8], *outs[2] = {o1, o2};
    const float *ins[1] = {X8};
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n1", x, a);
    node1(g, TML_OP_RELU, "r2", a, b);
    node1(g, TML_OP_NEG, "n3", a, c);
    tml_graph_add_output(g, b);
    tml_graph_add_output(g, c);
    p = build(g, NULL);
    assert_int_not_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "b")]);
    run(p, ins, outs);
    assert_memory_equal(o1, X8, sizeof(X8));
    assert_memory_equal(o2, X8, sizeof(X8));
    tml_plan_free(p);
    tml_graph_free(g);
}

/* x -> neg a -> reshape r -> neg y: the view makes no step and shares a's bytes. */
static void test_view_shares(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t d24[2] = {2, 4};
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), r = add_t(g, "r", 2, d24);
    int y = add_t(g, "y", 2, d24);
    tml_plan *p;
    float out[8], *outs[1] = {out};
    const float *ins[1] = {X8};
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n1", x, a);
    node1(g, TML_OP_RESHAPE, "rs", a, r);
    node1(g, TML_OP_NEG, "n2", r, y);
    tml_graph_add_output(g, y);
    p = build(g, NULL);
    assert_int_equal(p->n_steps, 2);
    assert_int_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "r")]);
    assert_int_equal(p->tensors[ptensor(p, "r")].rank, 2);
    assert_int_equal(p->tensors[ptensor(p, "r")].dims[1], 4);
    assert_int_equal(p->steps[1].in[0], ptensor(p, "r"));
    run(p, ins, outs);
    assert_memory_equal(out, X8, sizeof(X8));
    tml_plan_free(p);
    tml_graph_free(g);
}

/* A view of an intermediate that is a graph output shares; input -> Identity -> output copies;
 * two outputs that would share bytes get a copy. */
static void test_view_copies(void **state)
{
    tml_graph *g = tml_graph_new();
    int x = add_vec(g, "x", 8), y = add_vec(g, "y", 8);
    tml_plan *p;
    float out[8], *outs[1] = {out};
    const float *ins[1] = {X8};
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_IDENTITY, "id", x, y);
    tml_graph_add_output(g, y);
    p = build(g, NULL);
    assert_int_equal(p->n_steps, 1);
    assert_int_equal(p->steps[0].kernel, TML_K_COPY);
    assert_int_not_equal(p->share[ptensor(p, "x")], p->share[ptensor(p, "y")]);
    run(p, ins, outs);
    assert_memory_equal(out, X8, sizeof(X8));
    tml_plan_free(p);
    tml_graph_free(g);

    g = tml_graph_new();
    {
        int x2 = add_vec(g, "x", 8), a = add_vec(g, "a", 8), v = add_vec(g, "v", 8);
        int w = add_vec(g, "w", 8);
        float o1[8], o2[8], o3[8], *outs3[3] = {o1, o2, o3};
        tml_graph_add_input(g, x2);
        node1(g, TML_OP_NEG, "n", x2, a);
        node1(g, TML_OP_FLATTEN, "f", a, v);  /* a is not an output: share */
        node1(g, TML_OP_IDENTITY, "i", a, w); /* the group has output v: copy */
        tml_graph_add_output(g, v);
        tml_graph_add_output(g, w);
        p = build(g, NULL);
        assert_int_equal(p->n_steps, 2);
        assert_int_equal(count_kernel(p, TML_K_COPY), 2);
        assert_int_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "v")]);
        assert_int_not_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "w")]);
        run(p, ins, outs3);
        assert_memory_equal(o1, X8, sizeof(X8));
        assert_memory_equal(o2, X8, sizeof(X8));
        tml_plan_free(p);
        /* a itself an output too: v and w are both copies */
        tml_graph_add_output(g, a);
        p = build(g, NULL);
        assert_int_equal(p->n_steps, 3);
        assert_int_not_equal(p->share[ptensor(p, "a")], p->share[ptensor(p, "v")]);
        run(p, ins, outs3);
        assert_memory_equal(o1, X8, sizeof(X8));
        assert_memory_equal(o2, X8, sizeof(X8));
        assert_memory_equal(o3, X8, sizeof(X8));
        tml_plan_free(p);
    }
    tml_graph_free(g);
}

/* Constants: read by a step (weights), viewed (same weights bytes), folded into an output
 * (copied from the weights at the end). */
static void test_constants(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t d24[2] = {2, 4};
    int x = add_vec(g, "x", 8);
    int c = add_const_vec(g, "c", 8, 10.0f);
    int cr = add_t(g, "cr", 2, d24);
    int y = add_t(g, "y", 2, d24);
    int k = add_const_vec(g, "k", 3, 100.0f); /* folded graph output */
    int v = add_const_vec(g, "v", 8, 50.0f);
    int vr = add_t(g, "vr", 2, d24);          /* view of a constant that is a graph output */
    tml_plan *p;
    float o1[8], o2[3], o3[8], x1[8], *outs[3] = {o1, o2, o3};
    const float *ins[1] = {X8};
    int i;
    (void)state;
    (void)x;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_RESHAPE, "rs", c, cr);
    node1(g, TML_OP_NEG, "n", cr, y);
    node1(g, TML_OP_RESHAPE, "rv", v, vr);
    tml_graph_add_output(g, y);
    tml_graph_add_output(g, k);
    tml_graph_add_output(g, vr);
    p = build(g, NULL);
    /* c is only read through its view cr: cr holds its bytes, c is not in the plan */
    assert_int_equal(p->tensors[ptensor(p, "cr")].storage, TML_STORE_CONST);
    for (i = 0; i < p->n_tensors; i++)
        assert_string_not_equal(p->tensors[i].name, "c");
    assert_int_equal(p->tensors[ptensor(p, "k.const")].storage, TML_STORE_CONST);
    assert_int_equal(p->tensors[p->outputs[1]].storage, TML_STORE_ARENA);
    assert_string_equal(p->tensors[p->outputs[1]].name, "k");
    assert_int_equal(p->tensors[p->outputs[2]].storage, TML_STORE_ARENA);
    /* c, k, v once each, 16-byte aligned */
    assert_int_equal(p->weights_size, 32 + 16 + 32);
    for (i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].storage == TML_STORE_CONST)
            assert_int_equal(p->tensors[i].offset % TML_PLAN_ALIGN, 0);
    assert_int_equal(count_kernel(p, TML_K_COPY), 3);
    run(p, ins, outs);
    for (i = 0; i < 8; i++)
        x1[i] = 10.0f + (float)i;
    assert_memory_equal(o1, x1, sizeof(x1));
    assert_true(o2[0] == 100.0f && o2[2] == 102.0f);
    for (i = 0; i < 8; i++)
        x1[i] = 50.0f + (float)i;
    assert_memory_equal(o3, x1, sizeof(x1));
    tml_plan_free(p);
    tml_graph_free(g);
}

/* An empty folded output needs no copy (there are no bytes to copy from or to). */
static void test_empty_constant_output(void **state)
{
    tml_graph *g = tml_graph_new();
    int x = add_vec(g, "x", 8), y = add_vec(g, "y", 8), e = add_vec(g, "e", 0);
    tml_plan *p;
    (void)state;
    g->tensors[e].data = tml_graph_alloc(g, 1);
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n", x, y);
    tml_graph_add_output(g, y);
    tml_graph_add_output(g, e);
    p = build(g, NULL);
    assert_int_equal(p->n_steps, 1);
    assert_int_equal(p->tensors[p->outputs[1]].bytes, 0);
    assert_int_equal(p->tensors[p->outputs[1]].storage, TML_STORE_ARENA);
    assert_int_equal(p->n_tensors, 3); /* x, y, e: no weights copy of an empty tensor */
    assert_int_equal(p->weights_size, 0);
    tml_plan_free(p);
    tml_graph_free(g);
}

/* Scratch: its own buffer, live at its step only, never on top of a live tensor. */
static void test_scratch(void **state)
{
    tml_graph *g = tml_graph_new();
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), b = add_vec(g, "b", 8);
    int y = add_vec(g, "y", 8), n;
    tml_plan *p;
    float out[8], *outs[1] = {out};
    const float *ins[1] = {X8};
    tml_attr *at;
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n1", x, a);
    n = node1(g, TML_OP_NEG, "n2", a, b);
    at = tml_node_add_attr(g, n, "scratch", TML_ATTR_INT);
    at->i = 100;
    node1(g, TML_OP_NEG, "n3", b, y);
    tml_graph_add_output(g, y);
    p = build(g, NULL);
    assert_int_equal(p->steps[1].scratch_bytes, 100);
    assert_int_equal(p->steps[1].scratch_offset % 16, 0);
    /* step 1: a, b and 112 bytes of scratch live; x is dead (not an output) */
    assert_int_equal(p->mem.lower_bound, 32 + 32 + 112);
    assert_int_equal(p->arena_size, p->mem.lower_bound);
    run(p, ins, outs);
    assert_memory_equal(out, X8, sizeof(X8));
    tml_plan_free(p);
    tml_graph_free(g);
}

static void test_macs(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t dx[4] = {1, 3, 8, 8}, dw[4] = {4, 3, 3, 3}, dy[4] = {1, 4, 6, 6};
    int64_t da[2] = {2, 5}, db[2] = {5, 3}, dg[2] = {2, 3};
    int64_t dm1[3] = {2, 4, 6}, dm2[2] = {6, 2}, dmy[3] = {2, 4, 2};
    int x = add_t(g, "x", 4, dx), w = add_t(g, "w", 4, dw), y = add_t(g, "y", 4, dy);
    int a = add_t(g, "a", 2, da), bb = add_t(g, "b", 2, db), gy = add_t(g, "gy", 2, dg);
    int m1 = add_t(g, "m1", 3, dm1), m2 = add_t(g, "m2", 2, dm2), my = add_t(g, "my", 3, dmy);
    int in2[2], n;
    tml_plan *p;
    (void)state;
    g->tensors[w].data = tml_graph_alloc(g, 4 * 27 * 4);
    g->tensors[bb].data = tml_graph_alloc(g, 15 * 4);
    g->tensors[m2].data = tml_graph_alloc(g, 12 * 4);
    tml_graph_add_input(g, x);
    tml_graph_add_input(g, a);
    tml_graph_add_input(g, m1);
    in2[0] = x;
    in2[1] = w;
    n = tml_graph_add_node(g, TML_OP_CONV, "conv", 2, in2, 1, &y);
    g->tensors[y].producer = n;
    in2[0] = a;
    in2[1] = bb;
    n = tml_graph_add_node(g, TML_OP_GEMM, "gemm", 2, in2, 1, &gy);
    g->tensors[gy].producer = n;
    in2[0] = m1;
    in2[1] = m2;
    n = tml_graph_add_node(g, TML_OP_MATMUL, "mm", 2, in2, 1, &my);
    g->tensors[my].producer = n;
    {
        int64_t tx[4] = {1, 2, 4, 4}, tw[4] = {2, 3, 3, 3}, ty[4] = {1, 3, 6, 6};
        int cx = add_t(g, "tx", 4, tx), cw = add_t(g, "tw", 4, tw), cy = add_t(g, "ty", 4, ty);
        g->tensors[cw].data = tml_graph_alloc(g, 54 * 4);
        tml_graph_add_input(g, cx);
        in2[0] = cx;
        in2[1] = cw;
        n = tml_graph_add_node(g, TML_OP_CONV_TRANSPOSE, "convt", 2, in2, 1, &cy);
        g->tensors[cy].producer = n;
        tml_graph_add_output(g, cy);
    }
    tml_graph_add_output(g, y);
    tml_graph_add_output(g, gy);
    tml_graph_add_output(g, my);
    p = build(g, NULL);
    assert_int_equal(tml_plan_node_macs(g, 3), 32 * 27); /* each input element feeds 3x3x3 */
    assert_int_equal(tml_plan_node_macs(g, 0), 144 * 27);
    assert_int_equal(tml_plan_node_macs(g, 1), 2 * 3 * 5);
    assert_int_equal(tml_plan_node_macs(g, 2), 16 * 6);
    assert_int_equal(p->macs, 144 * 27 + 30 + 96 + 32 * 27);
    tml_plan_free(p);
    tml_graph_free(g);
}

static void test_errors(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t big[2] = {65536, 65536}, huge[1] = {(int64_t)1 << 33};
    int x = add_vec(g, "x", 8), y = add_t(g, "ybig", 2, big), z = add_vec(g, "z", 8);
    tml_plan *p = (tml_plan *)1;
    tml_plan_options o;
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n", x, y);
    tml_graph_add_output(g, y);
    assert_int_equal(tml_plan_build_lowered(g, NULL, test_lower, NULL, &p), TML_ERR_FIT);
    assert_null(p);
    assert_non_null(strstr(tml_graph_error(g), "'ybig'"));
    tml_graph_clear_error(g);
    tml_tensor_set_shape(&g->tensors[y], TML_DT_F32, 1, huge);
    assert_int_equal(tml_plan_build_lowered(g, NULL, test_lower, NULL, &p), TML_ERR_FIT);
    assert_non_null(strstr(tml_graph_error(g), "int32"));
    tml_graph_clear_error(g);
    g->tensors[y].rank = -1;
    assert_int_equal(tml_plan_build_lowered(g, NULL, test_lower, NULL, &p), TML_ERR_SHAPE);
    tml_graph_clear_error(g);
    tml_tensor_set_shape(&g->tensors[y], TML_DT_F32, 1, (int64_t[]){8});
    tml_plan_options_default(&o);
    o.strategy = "nope";
    assert_int_equal(tml_plan_build_lowered(g, &o, test_lower, NULL, &p), TML_ERR_NOT_FOUND);
    assert_non_null(strstr(tml_graph_error(g), "'nope'"));
    tml_graph_clear_error(g);
    tml_graph_add_output(g, z); /* never computed */
    assert_int_equal(tml_plan_build_lowered(g, NULL, test_lower, NULL, &p), TML_ERR_ARG);
    assert_non_null(strstr(tml_graph_error(g), "'z'"));
    tml_graph_free(g);

    /* a node reading a tensor computed only later (graph not in topological order) */
    g = tml_graph_new();
    x = add_vec(g, "x", 8);
    y = add_vec(g, "y", 8);
    z = add_vec(g, "z", 8);
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "late", z, y);
    node1(g, TML_OP_NEG, "early", x, z);
    tml_graph_add_output(g, y);
    assert_int_equal(tml_plan_build_lowered(g, NULL, test_lower, NULL, &p), TML_ERR_ARG);
    assert_non_null(strstr(tml_graph_error(g), "node 'late'"));
    assert_non_null(strstr(tml_graph_error(g), "'z' is not computed"));
    tml_graph_free(g);

    /* a view whose output does not have its input's byte size */
    g = tml_graph_new();
    x = add_vec(g, "x", 8);
    y = add_vec(g, "y", 6);
    z = add_vec(g, "z", 6);
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n", x, z);
    node1(g, TML_OP_RESHAPE, "bad_view", x, y);
    tml_graph_add_output(g, y);
    tml_graph_add_output(g, z);
    assert_int_equal(tml_plan_build_lowered(g, NULL, test_lower, NULL, &p), TML_ERR_SHAPE);
    assert_non_null(strstr(tml_graph_error(g), "node 'bad_view'"));
    assert_non_null(strstr(tml_graph_error(g), "24 bytes"));
    tml_graph_free(g);
}

static void test_checker_detects_broken_plan(void **state)
{
    tml_graph *g = tml_graph_new();
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), b = add_vec(g, "b", 8);
    int y = add_vec(g, "y", 8);
    tml_plan *p;
    char err[256];
    int ia, ib;
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n1", x, a);
    node1(g, TML_OP_NEG, "n2", a, b);
    node1(g, TML_OP_NEG, "n3", b, y);
    tml_graph_add_output(g, y);
    p = build(g, NULL);
    ia = ptensor(p, "a");
    ib = ptensor(p, "b");
    assert_int_not_equal(p->tensors[ia].offset, p->tensors[ib].offset);
    p->tensors[ib].offset = p->tensors[ia].offset; /* b written at step 1 while a is read */
    assert_int_equal(tml_plan_check(p, err, sizeof(err)), TML_ERR_VERIFY);
    assert_non_null(strstr(err, "overlap"));
    /* the same with share: claiming b shares a's bytes is still wrong (a read at b's step is
     * fine for in-place, but a read after it is not): make y read a */
    p->share[ib] = p->share[ia];
    p->steps[2].in[0] = ia;
    assert_int_equal(tml_plan_check(p, err, sizeof(err)), TML_ERR_VERIFY);
    tml_plan_free(p);

    p = build(g, NULL);
    p->tensors[p->outputs[0]].offset = p->arena_size; /* out of the arena */
    assert_int_equal(tml_plan_check(p, err, sizeof(err)), TML_ERR_VERIFY);
    assert_non_null(strstr(err, "exceeds"));
    tml_plan_free(p);

    p = build(g, NULL);
    p->share = NULL; /* strict mode on a plan without sharing: still valid */
    assert_int_equal(tml_plan_check(p, err, sizeof(err)), TML_OK);
    p->steps[1].scratch_bytes = 16;
    p->steps[1].scratch_offset = p->tensors[ptensor(p, "a")].offset; /* on a live input */
    assert_int_equal(tml_plan_check(p, err, sizeof(err)), TML_ERR_VERIFY);
    assert_non_null(strstr(err, "scratch of step 1"));
    tml_plan_free(p);
    tml_graph_free(g);
}

/* tml_plan_check on corrupted plans: never crashes, and whatever it accepts runs within the
 * arena and weights (run under ASan in the sanitizer build). */
static void test_check_survives_mutations(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t d24[2] = {2, 4};
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), r = add_t(g, "r", 2, d24);
    int c = add_const_vec(g, "c", 8, 1.0f), b = add_vec(g, "b", 8), y = add_t(g, "y", 2, d24);
    int it, accepted = 0;
    uint32_t h = 99;
    tml_plan *orig;
    char err[256];
    (void)state;
    (void)c;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_RELU, "n1", x, a);
    node1(g, TML_OP_RESHAPE, "rs", a, r);
    node1(g, TML_OP_RELU, "n2", r, y);
    node1(g, TML_OP_NEG, "n3", c, b);
    tml_graph_add_output(g, y);
    tml_graph_add_output(g, b);
    orig = build(g, NULL);
    for (it = 0; it < 3000; it++) {
        tml_plan p = *orig;
        tml_plan_tensor t[16];
        tml_plan_step st[16];
        int share[16], k, i;
        memcpy(t, orig->tensors, sizeof(t[0]) * (size_t)orig->n_tensors);
        memcpy(st, orig->steps, sizeof(st[0]) * (size_t)orig->n_steps);
        memcpy(share, orig->share, sizeof(int) * (size_t)orig->n_tensors);
        p.tensors = t;
        p.steps = st;
        p.share = share;
        for (k = 0; k < 1 + it % 3; k++) {
            h ^= h << 13;
            h ^= h >> 17;
            h ^= h << 5;
            i = (int)((h >> 8) % 16u);
            switch (h % 12) {
            case 0: t[i % p.n_tensors].offset += (h >> 4) % 64; break;
            case 1: t[i % p.n_tensors].bytes = (h >> 4) % 80; break;
            case 2: share[i % p.n_tensors] = (int)((h >> 4) % 20) - 2; break;
            case 3: st[i % p.n_steps].in[0] = (int)((h >> 4) % 20) - 2; break;
            case 4: st[i % p.n_steps].out[0] = (int)((h >> 4) % 20) - 2; break;
            case 5: st[i % p.n_steps].kernel = (tml_kernel_id)((h >> 4) % 200); break;
            case 6: st[i % p.n_steps].n_in = (int)((h >> 4) % 20) - 2; break;
            case 7: st[i % p.n_steps].scratch_bytes = (h >> 4) % 64; break;
            case 8: t[i % p.n_tensors].storage = (tml_storage)((h >> 4) % 3); break;
            case 9: p.arena_size = (h >> 4) % 128; break;
            case 10: p.inputs[0] = (int)((h >> 4) % 20) - 2; break;
            default: t[i % p.n_tensors].rank = (int)((h >> 4) % 12) - 2; break;
            }
        }
        if (tml_plan_check(&p, err, sizeof err) == TML_OK) {
            float in0[8], o1[8], o2[8], *outs[2] = {o1, o2};
            const float *ins[1] = {in0};
            memset(in0, 0, sizeof in0);
            accepted++;
            run(&p, ins, outs);
        } else {
            assert_true(err[0] != 0);
        }
    }
    assert_true(accepted > 0 && accepted < 3000);
    tml_plan_free(orig);
    tml_graph_free(g);
}

static void test_print_map(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t d24[2] = {2, 4};
    int x = add_vec(g, "x", 8), a = add_vec(g, "a", 8), r = add_t(g, "r", 2, d24);
    int y = add_t(g, "y", 2, d24), n;
    tml_plan *p;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    (void)state;
    tml_graph_add_input(g, x);
    node1(g, TML_OP_NEG, "n1", x, a);
    node1(g, TML_OP_RESHAPE, "rs", a, r);
    n = node1(g, TML_OP_NEG, "n2", r, y);
    tml_node_add_attr(g, n, "scratch", TML_ATTR_INT)->i = 40;
    tml_graph_add_output(g, y);
    p = build(g, NULL);
    f = open_memstream(&buf, &len);
    tml_plan_print_map(p, f);
    fclose(f);
    assert_non_null(strstr(buf, "a = r"));
    assert_non_null(strstr(buf, "x (input 0)"));
    assert_non_null(strstr(buf, "y (output 0)"));
    assert_non_null(strstr(buf, "scratch of step 1"));
    assert_non_null(strstr(buf, "strategies"));
    assert_non_null(strstr(buf, "greedy-size"));
    assert_non_null(strstr(buf, "|##|"));
    free(buf);
    tml_plan_free(p);
    tml_graph_free(g);
}

/* Random graphs: unary ops and views in a random DAG, random graph outputs, every memory
 * strategy; the checker must pass and the outputs must be right. */
static uint32_t rng = 4242;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static void test_random_graphs(void **state)
{
    int it, s;
    (void)state;
    for (it = 0; it < 60; it++) {
        tml_graph *g = tml_graph_new();
        int n_nodes = 3 + (int)(rnd() % 20), i, k, t[40];
        int64_t len = 4 * (1 + (int64_t)(rnd() % 4));
        char name[16];
        float in0[16], out[TML_PLAN_MAX_IO][16], *outs[TML_PLAN_MAX_IO];
        const float *ins[1] = {in0};
        for (i = 0; i < 16; i++)
            in0[i] = (float)(i * 3 + it);
        t[0] = add_vec(g, "x", len);
        tml_graph_add_input(g, t[0]);
        for (i = 1; i <= n_nodes; i++) {
            int src = t[rnd() % (uint32_t)i];
            static const tml_op ops[4] = {TML_OP_RELU, TML_OP_NEG, TML_OP_RESHAPE, TML_OP_IDENTITY};
            tml_op op = ops[rnd() % 4];
            snprintf(name, sizeof(name), "t%d", i);
            t[i] = add_vec(g, name, len);
            snprintf(name, sizeof(name), "n%d", i);
            k = node1(g, op, name, src, t[i]);
            if (rnd() % 5 == 0)
                tml_node_add_attr(g, k, "scratch", TML_ATTR_INT)->i = (int64_t)(rnd() % 64);
        }
        for (i = 1, k = 0; i <= n_nodes && k < TML_PLAN_MAX_IO; i++)
            if (i == n_nodes || rnd() % 4 == 0) {
                tml_graph_add_output(g, t[i]);
                k++;
            }
        for (s = -1; s < tml_mem_strategy_count(); s++) {
            tml_plan_options o;
            tml_plan *p;
            tml_plan_options_default(&o);
            o.strategy = s < 0 ? NULL : tml_mem_strategy_name(s);
            o.inplace = (it + s) % 3 != 0;
            p = build(g, &o);
            assert_true(p->arena_size >= p->mem.lower_bound);
            for (i = 0; i < p->n_outputs; i++)
                outs[i] = out[i];
            run(p, ins, outs);
            for (i = 0; i < p->n_outputs; i++)
                assert_memory_equal(out[i], in0, (size_t)len * 4);
            tml_plan_free(p);
        }
        tml_graph_free(g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inplace_chain),
        cmocka_unit_test(test_no_inplace_when_read_later),
        cmocka_unit_test(test_view_shares),
        cmocka_unit_test(test_view_copies),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_empty_constant_output),
        cmocka_unit_test(test_scratch),
        cmocka_unit_test(test_macs),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_checker_detects_broken_plan),
        cmocka_unit_test(test_check_survives_mutations),
        cmocka_unit_test(test_print_map),
        cmocka_unit_test(test_random_graphs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
