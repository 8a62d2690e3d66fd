/*
 * test_plan_ops.c - plans of real graphs (real op hooks, real kernels) compute exactly what the
 * graph computes.
 *
 * The reference is the graph evaluated node by node with every tensor in its own buffer
 * (tests/support/node_eval.h: the op's lowering and kernel, as constant folding does it). The
 * plan runs the same kernels on one shared arena full of garbage (plan_run.h). Same kernels,
 * same order: the outputs must agree bit for bit, so any difference is a planner bug (or a
 * kernel that does not survive the in-place reuse its lowering allowed). Two sources of graphs:
 *   - random DAGs of element-wise ops, views, Softmax and Transpose, through tml_passes_run,
 *     planned with every memory strategy, with and without in-place;
 *   - every model of the shared ONNX corpus (onnx-node, onnx-extra) that imports, passes and
 *     lowers (skipped with a message when the corpus is absent).
 * tml_plan_build must never fail its own check (TML_ERR_VERIFY) on any of them.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "plan_run.h"
#include "support/node_eval.h"
#include "tml/import.h"
#include "tml/interp.h"
#include "tml/passes.h"
#include "tml/plan.h"
#include "tml/tensor_io.h"

/* Plans g with o, runs it on inputs in[], evaluates g node by node (which makes g's node
 * outputs constants: call last) and compares. Returns 0 if equal, 1 if the plan could not be
 * built for a reason that is not the planner's (unsupported op), fails the test otherwise. */
static int plan_matches_reference(tml_graph *g, const tml_plan_options *opts, int n_opts,
                                  const void *const *in, const char *what)
{
    tml_plan *p[16];
    void *outs[16][TML_PLAN_MAX_IO];
    int v, i, k;
    char err[256];
    assert_true(n_opts <= 16);
    for (v = 0; v < n_opts; v++) {
        tml_status st = tml_plan_build(g, &opts[v], &p[v]);
        if (st == TML_ERR_VERIFY)
            fail_msg("%s: plan check failed: %s", what, tml_graph_error(g));
        if (st) {
            for (k = 0; k < v; k++)
                tml_plan_free(p[k]);
            return 1;
        }
        if (tml_plan_check(p[v], err, sizeof err))
            fail_msg("%s: %s", what, err);
        assert_true(p[v]->arena_size >= p[v]->mem.lower_bound);
        for (k = 0; k < p[v]->n_outputs; k++)
            outs[v][k] = malloc(p[v]->tensors[p[v]->outputs[k]].bytes + 1);
        if (tpr_run(p[v], in, outs[v]))
            fail_msg("%s: a kernel of the plan is not in this build", what);
        if (v == 0) { /* the executor (through a model package) accepts the plan and agrees */
            tml_interp *it = NULL;
            if (tml_interp_new(p[v], &it, err, sizeof err))
                fail_msg("%s: the interpreter refuses the plan: %s", what, err);
            for (k = 0; k < p[v]->n_inputs; k++) {
                size_t nb = 0;
                void *b = tml_interp_input(it, k, &nb);
                assert_non_null(b);
                assert_int_equal(nb, p[v]->tensors[p[v]->inputs[k]].bytes);
                memcpy(b, in[k], nb);
            }
            if (tml_interp_run(it))
                fail_msg("%s: the interpreter fails to run the plan", what);
            for (k = 0; k < p[v]->n_outputs; k++) {
                size_t nb = 0;
                void *b = tml_interp_output(it, k, &nb);
                assert_non_null(b);
                assert_int_equal(nb, p[v]->tensors[p[v]->outputs[k]].bytes);
                if (memcmp(b, outs[v][k], nb) != 0)
                    fail_msg("%s: interpreter output %d differs from the plan run", what, k);
            }
            tml_interp_free(it);
        }
    }
    /* the reference: every input a constant, every node evaluated on its own buffers */
    for (k = 0; k < g->n_inputs; k++) {
        tml_tensor *t = &g->tensors[g->inputs[k]];
        size_t nb = (size_t)tml_tensor_nbytes(t);
        t->data = nb ? tml_graph_memdup(g, in[k], nb) : tml_graph_alloc(g, 1);
    }
    for (i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead && g->nodes[i].out[0] >= 0 && !g->tensors[g->nodes[i].out[0]].data) {
            tml_status st = tev_eval(g, i);
            if (st)
                fail_msg("%s: reference evaluation of node '%s' failed: %s", what,
                         g->nodes[i].name, tml_graph_error(g));
        }
    for (v = 0; v < n_opts; v++) {
        for (k = 0; k < g->n_outputs; k++) {
            const tml_tensor *t = &g->tensors[g->outputs[k]];
            size_t nb = (size_t)tml_tensor_nbytes(t);
            assert_non_null(t->data);
            assert_int_equal(nb, p[v]->tensors[p[v]->outputs[k]].bytes);
            if (memcmp(outs[v][k], t->data, nb) != 0) {
                tml_plan_print_map(p[v], stderr);
                fail_msg("%s: output %d ('%s') differs from the reference (options %d: "
                         "strategy %s, in-place %d)",
                         what, k, t->name, v, opts[v].strategy ? opts[v].strategy : "best",
                         (int)opts[v].inplace);
            }
            free(outs[v][k]);
        }
        tml_plan_free(p[v]);
    }
    return 0;
}

/* ---- random graphs of real ops ---- */

static uint32_t rng = 2024;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

typedef struct {
    int t;
    int rank;
    int64_t dims[3];
} val;

static int add_tensor(tml_graph *g, const char *fmt, int i)
{
    char name[32];
    snprintf(name, sizeof name, fmt, i);
    return tml_graph_add_tensor(g, name);
}

static int node(tml_graph *g, tml_op op, int i, int n_in, const int *in, int out)
{
    char name[32];
    snprintf(name, sizeof name, "n%d_%s", i, tml_op_get_info(op)->name);
    return tml_graph_add_node(g, op, name, n_in, in, 1, &out);
}

/* Same shape as v (exactly), chosen among vals[0..n). -1 if none. */
static int pick_same(const val *vals, int n, const val *v)
{
    int c[64], nc = 0, i;
    for (i = 0; i < n; i++)
        if (vals[i].rank == v->rank && memcmp(vals[i].dims, v->dims, sizeof(int64_t) * (size_t)v->rank) == 0)
            c[nc++] = i;
    return nc ? c[rnd() % (uint32_t)nc] : -1;
}

static tml_graph *random_graph(int n_nodes, int n_inputs)
{
    tml_graph *g = tml_graph_new();
    val vals[64];
    int nv = 0, i, k;
    static const int64_t shapes[4][3] = {{2, 3, 4}, {6, 4, 0}, {24, 0, 0}, {2, 12, 0}};
    static const int ranks[4] = {3, 2, 1, 2};
    g->opset = 13;
    for (i = 0; i < n_inputs; i++) {
        int64_t d[3] = {2, 3, 4};
        vals[nv].t = add_tensor(g, "x%d", i);
        vals[nv].rank = 3;
        memcpy(vals[nv].dims, d, sizeof d);
        tml_tensor_set_shape(&g->tensors[vals[nv].t], TML_DT_F32, 3, d);
        tml_graph_add_input(g, vals[nv].t);
        nv++;
    }
    for (i = 0; i < n_nodes && nv < 64; i++) {
        const val *a = &vals[rnd() % (uint32_t)nv];
        int kind = (int)(rnd() % 10), out = add_tensor(g, "t%d", i), n, in2[2];
        val r = *a;
        r.t = out;
        switch (kind) {
        case 0: case 1: { /* unary */
            static const tml_op u[5] = {TML_OP_RELU, TML_OP_NEG, TML_OP_SIGMOID, TML_OP_TANH, TML_OP_ABS};
            node(g, u[rnd() % 5], i, 1, &a->t, out);
            break;
        }
        case 2: case 3: case 4: { /* binary with a same-shape value or a broadcast constant */
            static const tml_op b[3] = {TML_OP_ADD, TML_OP_MUL, TML_OP_SUB};
            int other = pick_same(vals, nv, a);
            in2[0] = a->t;
            if (rnd() % 3 == 0 || other < 0) {
                int64_t d1 = a->dims[a->rank - 1];
                float *c = tml_graph_alloc(g, (size_t)d1 * sizeof(float));
                int ct = add_tensor(g, "c%d", i);
                for (k = 0; k < d1; k++)
                    c[k] = 0.25f * (float)(k + 1);
                tml_tensor_set_shape(&g->tensors[ct], TML_DT_F32, 1, &d1);
                g->tensors[ct].data = c;
                in2[1] = ct;
            } else {
                in2[1] = vals[other].t;
            }
            if (rnd() % 2) { /* constant first: in-place must pick the other input */
                int t = in2[0];
                in2[0] = in2[1];
                in2[1] = t;
            }
            node(g, b[rnd() % 3], i, 2, in2, out);
            break;
        }
        case 5: case 6: { /* views */
            int s = (int)(rnd() % 4);
            if (rnd() % 3 == 0) {
                node(g, TML_OP_IDENTITY, i, 1, &a->t, out);
            } else {
                int64_t nd = ranks[s];
                int64_t *sh = tml_graph_alloc(g, sizeof(int64_t) * 3);
                int st = add_tensor(g, "s%d", i);
                memcpy(sh, shapes[s], sizeof(int64_t) * 3);
                tml_tensor_set_shape(&g->tensors[st], TML_DT_S64, 1, &nd);
                g->tensors[st].data = sh;
                in2[0] = a->t;
                in2[1] = st;
                node(g, TML_OP_RESHAPE, i, 2, in2, out);
                r.rank = ranks[s];
                memcpy(r.dims, shapes[s], sizeof r.dims);
            }
            break;
        }
        case 7:
            node(g, TML_OP_SOFTMAX, i, 1, &a->t, out);
            break;
        case 8: { /* swap the last two dims of a rank >= 2 value */
            if (a->rank < 2) {
                node(g, TML_OP_NEG, i, 1, &a->t, out);
                break;
            }
            n = node(g, TML_OP_TRANSPOSE, i, 1, &a->t, out);
            {
                tml_attr *at = tml_node_add_attr(g, n, "perm", TML_ATTR_INTS);
                at->n = a->rank;
                at->ints = tml_graph_alloc(g, sizeof(int64_t) * (size_t)a->rank);
                for (k = 0; k < a->rank; k++)
                    at->ints[k] = k;
                at->ints[a->rank - 1] = a->rank - 2;
                at->ints[a->rank - 2] = a->rank - 1;
                r.dims[a->rank - 1] = a->dims[a->rank - 2];
                r.dims[a->rank - 2] = a->dims[a->rank - 1];
            }
            break;
        }
        default: { /* Relu after an Add: fused by the passes into the Add's activation */
            int other = pick_same(vals, nv, a);
            int mid = add_tensor(g, "m%d", i);
            in2[0] = a->t;
            in2[1] = vals[other].t;
            node(g, TML_OP_ADD, i, 2, in2, mid);
            node(g, TML_OP_RELU, i + 1000, 1, &mid, out);
            break;
        }
        }
        vals[nv++] = r;
    }
    /* outputs: the last value and a few random others (no inputs: they need no plan) */
    tml_graph_add_output(g, vals[nv - 1].t);
    for (i = n_inputs; i < nv - 1 && g->n_outputs < 6; i++)
        if (rnd() % 5 == 0)
            tml_graph_add_output(g, vals[i].t);
    return g;
}

static void test_random_real_graphs(void **state)
{
    int it, planned = 0;
    (void)state;
    for (it = 0; it < 80; it++) {
        tml_graph *g = random_graph(2 + (int)(rnd() % 24), 1 + (int)(rnd() % 2));
        tml_plan_options o[16];
        float x[2][24];
        const void *in[2] = {x[0], x[1]};
        int s, i, n_o = 0;
        char what[64];
        if (tml_passes_run(g, NULL))
            fail_msg("graph %d: passes failed: %s", it, tml_graph_error(g));
        for (s = -1; s < tml_mem_strategy_count(); s++) {
            tml_plan_options_default(&o[n_o]);
            o[n_o].strategy = s < 0 ? NULL : tml_mem_strategy_name(s);
            o[n_o].inplace = s != 1;
            n_o++;
        }
        tml_plan_options_default(&o[n_o]);
        o[n_o].inplace = false;
        n_o++;
        for (i = 0; i < 24; i++) {
            x[0][i] = (float)((int)(rnd() % 200) - 100) / 37.0f;
            x[1][i] = (float)((int)(rnd() % 200) - 100) / 29.0f;
        }
        snprintf(what, sizeof what, "random graph %d", it);
        if (plan_matches_reference(g, o, n_o, in, what) == 0)
            planned++;
        tml_graph_free(g);
    }
    assert_int_equal(planned, 80);
}


/* ---- a small residual CNN ---- */

static int cnn_const(tml_graph *g, const char *name, int rank, const int64_t *dims)
{
    int t = tml_graph_add_tensor(g, name), i;
    int64_t n;
    float *d;
    tml_tensor_set_shape(&g->tensors[t], TML_DT_F32, rank, dims);
    n = tml_tensor_numel(&g->tensors[t]);
    d = tml_graph_alloc(g, (size_t)n * sizeof(float));
    for (i = 0; i < n; i++)
        d[i] = (float)((int)(rnd() % 201) - 100) / 400.0f;
    g->tensors[t].data = d;
    return t;
}

static void ints_attr(tml_graph *g, int n, const char *name, int count, int64_t v)
{
    tml_attr *a = tml_node_add_attr(g, n, name, TML_ATTR_INTS);
    int i;
    a->n = count;
    a->ints = tml_graph_alloc(g, sizeof(int64_t) * (size_t)count);
    for (i = 0; i < count; i++)
        a->ints[i] = v;
}

/* 3x3 conv, padding 1, c_in -> c_out; returns the output tensor */
static int cnn_conv(tml_graph *g, int x, int c_in, int c_out, int k)
{
    char name[32];
    int64_t wd[4] = {c_out, c_in, 3, 3}, bd[1] = {c_out};
    int in[3], y, n;
    snprintf(name, sizeof name, "w%d", k);
    in[0] = x;
    in[1] = cnn_const(g, name, 4, wd);
    snprintf(name, sizeof name, "b%d", k);
    in[2] = cnn_const(g, name, 1, bd);
    snprintf(name, sizeof name, "conv%d", k);
    y = tml_graph_add_tensor(g, name);
    n = tml_graph_add_node(g, TML_OP_CONV, name, 3, in, 1, &y);
    ints_attr(g, n, "pads", 4, 1);
    return y;
}

static int cnn_unary(tml_graph *g, tml_op op, int x, const char *fmt, int k)
{
    char name[32];
    int y;
    snprintf(name, sizeof name, fmt, k);
    y = tml_graph_add_tensor(g, name);
    tml_graph_add_node(g, op, name, 1, &x, 1, &y);
    return y;
}

static void test_small_resnet(void **state)
{
    tml_graph *g = tml_graph_new();
    int64_t xd[4] = {1, 3, 16, 16}, fd[2] = {10, 16}, fb[1] = {10};
    int x, h, k, blk, in2[3], y, n;
    tml_plan_options o[3];
    float xin[3 * 16 * 16];
    const void *in[1] = {xin};
    tml_plan *p;
    uint64_t macs;
    (void)state;
    g->opset = 13;
    x = tml_graph_add_tensor(g, "image");
    tml_tensor_set_shape(&g->tensors[x], TML_DT_F32, 4, xd);
    tml_graph_add_input(g, x);
    h = cnn_unary(g, TML_OP_RELU, cnn_conv(g, x, 3, 8, 0), "relu%d", 0);
    for (blk = 1, k = 1; blk <= 3; blk++) {
        int skip = h, a;
        a = cnn_unary(g, TML_OP_RELU, cnn_conv(g, h, 8, 8, k), "relu%d", k);
        k++;
        a = cnn_conv(g, a, 8, 8, k++);
        in2[0] = a;
        in2[1] = skip;
        h = tml_graph_add_tensor(g, NULL);
        tml_graph_add_node(g, TML_OP_ADD, NULL, 2, in2, 1, &h);
        h = cnn_unary(g, TML_OP_RELU, h, "block%d", blk);
    }
    h = cnn_unary(g, TML_OP_MAXPOOL, h, "pool%d", 0);
    ints_attr(g, g->n_nodes - 1, "kernel_shape", 2, 2);
    ints_attr(g, g->n_nodes - 1, "strides", 2, 2);
    h = cnn_unary(g, TML_OP_RELU, cnn_conv(g, h, 8, 16, k), "relu%d", k);
    h = cnn_unary(g, TML_OP_GLOBAL_AVGPOOL, h, "gap%d", 0);
    h = cnn_unary(g, TML_OP_FLATTEN, h, "flat%d", 0);
    in2[0] = h;
    in2[1] = cnn_const(g, "fc_w", 2, fd);
    in2[2] = cnn_const(g, "fc_b", 1, fb);
    y = tml_graph_add_tensor(g, "logits");
    n = tml_graph_add_node(g, TML_OP_GEMM, "fc", 3, in2, 1, &y);
    tml_node_add_attr(g, n, "transB", TML_ATTR_INT)->i = 1;
    y = cnn_unary(g, TML_OP_SOFTMAX, y, "prob%d", 0);
    tml_graph_add_output(g, y);
    if (tml_passes_run(g, NULL))
        fail_msg("passes: %s", tml_graph_error(g));
    for (k = 0; k < 3 * 16 * 16; k++)
        xin[k] = (float)((int)(rnd() % 201) - 100) / 50.0f;
    /* MACs: 7 convs at 16x16 (one 3->8, six 8->8), one 8->16 at 8x8, the 16x10 gemm */
    macs = 256ull * 8 * 27 + 6ull * 256 * 8 * 72 + 64ull * 16 * 72 + 160;
    assert_int_equal(tml_plan_build(g, NULL, &p), TML_OK);
    assert_int_equal(p->macs, macs);
    /* the peak is a block: its input (kept for the skip) and two 16x16x8 activations */
    assert_int_equal(p->arena_size, p->mem.lower_bound);
    if (getenv("TML_PLAN_VERBOSE"))
        tml_plan_print_map(p, stderr);
    tml_plan_free(p);
    tml_plan_options_default(&o[0]);
    tml_plan_options_default(&o[1]);
    o[1].inplace = false;
    tml_plan_options_default(&o[2]);
    o[2].strategy = "greedy-breadth";
    assert_int_equal(plan_matches_reference(g, o, 3, in, "small resnet"), 0);
    tml_graph_free(g);
}

/* ---- the ONNX corpus ---- */

typedef struct {
    int models, planned, skipped;
    uint64_t arena, bound;
} corpus_stats;

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int read_pb_into(const char *dir, int i, tml_tensor *x, tml_graph *g, void **buf)
{
    char path[1024], err[256];
    tml_value v;
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
    memset(&v, 0, sizeof v);
    if (tml_pb_read(path, &v, err, sizeof err))
        return 1;
    if (x->rank < 0 || tml_tensor_numel(x) < 0)
        tml_tensor_set_shape(x, v.dtype, v.rank, v.dims);
    if ((int64_t)v.nbytes != tml_tensor_nbytes(x) || v.dtype != x->dtype) {
        tml_value_release(&v);
        return 1;
    }
    if (buf) {
        *buf = malloc(v.nbytes + 1);
        memcpy(*buf, v.data, v.nbytes);
    } else {
        x->data = tml_graph_memdup(g, v.data, v.nbytes ? v.nbytes : 1);
    }
    tml_value_release(&v);
    return 0;
}

static void corpus_model(const char *dir, corpus_stats *cs)
{
    char path[1100];
    tml_graph *g = tml_graph_new();
    int i, n_in, in_idx[64];
    void *bufs[TML_PLAN_MAX_IO] = {0};
    tml_plan_options o[2];
    tml_plan *probe = NULL;
    cs->models++;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (tml_import_file(g, path))
        goto skip;
    n_in = g->n_inputs < 64 ? g->n_inputs : 64;
    for (i = 0; i < n_in; i++)
        in_idx[i] = g->inputs[i];
    /* shapes, axes, pads... as inputs: constants, the way a deployed model has them */
    for (i = 1; i < n_in; i++)
        if (read_pb_into(dir, i, &g->tensors[in_idx[i]], g, NULL))
            goto skip;
    if (tml_passes_run(g, NULL) || g->n_inputs > TML_PLAN_MAX_IO)
        goto skip;
    for (i = 0; i < g->n_inputs; i++) {
        int k;
        for (k = 0; k < n_in && in_idx[k] != g->inputs[i]; k++)
            ;
        if (k == n_in || read_pb_into(dir, k, &g->tensors[g->inputs[i]], g, &bufs[i]))
            goto skip;
    }
    tml_plan_options_default(&o[0]);
    tml_plan_options_default(&o[1]);
    o[1].inplace = false;
    o[1].strategy = "greedy-first-use";
    {
        tml_status st = tml_plan_build(g, &o[0], &probe);
        if (st == TML_ERR_VERIFY)
            fail_msg("%s: %s", dir, tml_graph_error(g));
        if (st) {
            if (getenv("TML_PLAN_VERBOSE"))
                print_message("%s: not planned: %s\n", dir, tml_graph_error(g));
            goto skip;
        }
        cs->arena += probe->arena_size;
        cs->bound += probe->mem.lower_bound;
        tml_plan_free(probe);
    }
    if (plan_matches_reference(g, o, 2, (const void *const *)bufs, dir))
        goto skip;
    cs->planned++;
    for (i = 0; i < TML_PLAN_MAX_IO; i++)
        free(bufs[i]);
    tml_graph_free(g);
    return;
skip:
    cs->skipped++;
    for (i = 0; i < TML_PLAN_MAX_IO; i++)
        free(bufs[i]);
    tml_graph_free(g);
}

static void walk(const char *root, corpus_stats *cs)
{
    DIR *d = opendir(root);
    struct dirent *e;
    char sub[1024], model[1100];
    if (!d)
        return;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
        if (!is_dir(sub))
            continue;
        snprintf(model, sizeof model, "%s/model.onnx", sub);
        if (access(model, R_OK) == 0)
            corpus_model(sub, cs);
        else
            walk(sub, cs);
    }
    closedir(d);
}

static void test_corpus(void **state)
{
    corpus_stats cs;
    (void)state;
    if (!is_dir(TML_CORPUS_DIR)) {
        print_message("skipped: no corpus at %s\n", TML_CORPUS_DIR);
        skip();
    }
    memset(&cs, 0, sizeof cs);
    walk(TML_CORPUS_DIR "/onnx-node", &cs);
    walk(TML_CORPUS_DIR "/onnx-extra", &cs);
    print_message("corpus: %d models, %d planned and equal to the reference, %d skipped "
                  "(import/passes/lowering); arena total %llu bytes, lower bounds %llu\n",
                  cs.models, cs.planned, cs.skipped, (unsigned long long)cs.arena,
                  (unsigned long long)cs.bound);
    assert_true(cs.models == 0 || cs.planned > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_real_graphs),
        cmocka_unit_test(test_small_resnet),
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
