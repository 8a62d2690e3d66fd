/*
 * fold_batchnorm.c - folds an inference BatchNormalization into the Conv, ConvTranspose or
 * Gemm that feeds it.
 *
 * BN computes y = (x - mean) * s + beta per channel with s = gamma / sqrt(var + eps). When x is
 * an affine function of constant weights (x = W * in + b) this is the same affine function
 * with W' = W * s (per output channel) and b' = (b - mean) * s + beta, so the BN disappears and
 * the conv writes the BN's output tensor directly. New weight and bias tensors are created
 * (the originals may be shared with other nodes); the old ones die with the graph's arena.
 *
 * Preconditions, all checked, otherwise the pair is left alone: float32 everywhere; weights,
 * bias and all four BN parameters constant; the conv output is read only by the BN and is not
 * a graph output; the conv has no fused activation yet; BN in inference form (training_mode
 * 0, no extra outputs, spatial 1); a Gemm's C broadcasts per output column ([M], [1,M] or a
 * scalar). Why so strict: folding is an optimization - when in doubt, the BN just runs.
 */
#include <math.h>
#include <string.h>

#include "pass_util.h"
#include "tml/passes.h"

/* Per-channel scale s and shift t (y = x * s + t) of BN node b with M channels, or false if
 * the BN is not a foldable float32 inference BN. s and t are (M) floats from the arena. */
static bool bn_affine(tml_graph *g, const tml_node *b, int64_t M, float **s_out, float **t_out)
{
    const float *gamma, *beta, *mean, *var;
    float eps, *s, *t;
    int64_t m;
    int j;
    if (b->n_in != 5 || M <= 0)
        return false;
    for (j = 1; j < b->n_out; j++)
        if (b->out[j] >= 0)
            return false; /* training outputs requested */
    if (tml_node_attr_int(b, "training_mode", 0) != 0 || tml_node_attr_int(b, "spatial", 1) != 1)
        return false;
    for (j = 1; j < 5; j++)
        if (!tml_pass_is_f32_const(g, b->in[j], M))
            return false;
    gamma = g->tensors[b->in[1]].data;
    beta = g->tensors[b->in[2]].data;
    mean = g->tensors[b->in[3]].data;
    var = g->tensors[b->in[4]].data;
    eps = tml_node_attr_float(b, "epsilon", 1e-5f);
    s = tml_graph_alloc(g, sizeof(float) * (size_t)M);
    t = tml_graph_alloc(g, sizeof(float) * (size_t)M);
    if (!s || !t)
        return false;
    for (m = 0; m < M; m++) {
        s[m] = gamma[m] / sqrtf(var[m] + eps);
        t[m] = beta[m] - mean[m] * s[m];
    }
    *s_out = s;
    *t_out = t;
    return true;
}

/* Gives node n an input slot 2 (bias) if it has only two; false if out of memory. */
static bool ensure_bias_slot(tml_graph *g, tml_node *n)
{
    int *in;
    if (n->n_in >= 3)
        return true;
    in = tml_graph_alloc(g, sizeof(int) * 3);
    if (!in)
        return false;
    in[0] = n->in[0];
    in[1] = n->in[1];
    in[2] = -1;
    n->in = in;
    n->n_in = 3;
    return true;
}

/* Rewires conv c to write BN b's output and kills b. An activation already fused into the BN
 * (a second run of the pipeline) moves to the conv, which has none. */
static void rewire(tml_graph *g, int c, int b)
{
    int x = g->nodes[c].out[0], y = g->nodes[b].out[0];
    g->nodes[c].act = g->nodes[b].act;
    g->nodes[c].act_a = g->nodes[b].act_a;
    g->nodes[c].act_b = g->nodes[b].act_b;
    g->nodes[c].out[0] = y;
    g->tensors[y].producer = c;
    g->tensors[x].producer = -1;
    g->nodes[b].dead = true;
}

/* Conv / ConvTranspose c followed by BN b. Returns 1 if folded, 0 if not, <0 on error. */
static int fold_conv(tml_graph *g, int c, int b)
{
    tml_node *cn = &g->nodes[c];
    const tml_tensor *w;
    float *s, *t, *nw, *nb;
    const float *ow, *ob;
    int64_t M, per, cin, i, k, group, mg;
    int wt, bt, w_i = cn->in[1], b_i = cn->n_in > 2 ? cn->in[2] : -1;
    bool transpose = cn->op == TML_OP_CONV_TRANSPOSE;
    char base[200];

    if (!tml_pass_is_f32_const(g, w_i, -1) || g->tensors[w_i].rank < 3)
        return 0;
    w = &g->tensors[w_i];
    group = tml_node_attr_int(cn, "group", 1);
    if (group < 1 || w->dims[0] % (transpose ? group : 1))
        return 0;
    /* Conv W: (M, C/group, k...); ConvTranspose W: (C, M/group, k...). */
    M = transpose ? w->dims[1] * group : w->dims[0];
    if (b_i >= 0 && !tml_pass_is_f32_const(g, b_i, M))
        return 0;
    if (!bn_affine(g, &g->nodes[b], M, &s, &t))
        return 0;
    cin = w->dims[0];
    mg = transpose ? w->dims[1] : 0;
    per = tml_tensor_numel(w) / (transpose ? cin * mg : M); /* kernel elements per (m) or (c,j) */
    snprintf(base, sizeof base, "%s", g->nodes[c].name);

    wt = tml_pass_new_const(g, base, "_bnfold_w", TML_DT_F32, g->tensors[w_i].rank,
                            g->tensors[w_i].dims);
    if (wt < 0)
        return -1;
    bt = tml_pass_new_const(g, base, "_bnfold_b", TML_DT_F32, 1, &M);
    if (bt < 0)
        return -1;
    ow = g->tensors[w_i].data;
    ob = b_i >= 0 ? g->tensors[b_i].data : NULL;
    nw = g->tensors[wt].data;
    nb = g->tensors[bt].data;
    if (!transpose) {
        for (i = 0; i < M; i++) /* W (M, C/group, k...) */
            for (k = 0; k < per; k++)
                nw[i * per + k] = ow[i * per + k] * s[i];
    } else {
        for (i = 0; i < cin; i++) { /* W (C, M/group, k...); input channel i is in group i/(C/g) */
            int64_t gi = i / (cin / group), j;
            for (j = 0; j < mg; j++)
                for (k = 0; k < per; k++)
                    nw[(i * mg + j) * per + k] = ow[(i * mg + j) * per + k] * s[gi * mg + j];
        }
    }
    for (i = 0; i < M; i++)
        nb[i] = (ob ? ob[i] : 0.0f) * s[i] + t[i];

    cn = &g->nodes[c];
    if (!ensure_bias_slot(g, cn)) {
        tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
        return -1;
    }
    cn->in[1] = wt;
    cn->in[2] = bt;
    rewire(g, c, b);
    return 1;
}

/* Gemm c (Y = alpha * A' B' + beta * C) followed by BN b on its columns. */
static int fold_gemm(tml_graph *g, int c, int b)
{
    tml_node *cn = &g->nodes[c];
    int b_i = cn->in[1], c_i = cn->n_in > 2 ? cn->in[2] : -1, wt, bt;
    int64_t M, K, i, k, cnum = 0;
    bool transB = tml_node_attr_int(cn, "transB", 0) != 0;
    float beta = tml_node_attr_float(cn, "beta", 1.0f), cval, *s, *t, *nw, *nb;
    const float *ow, *oc = NULL;
    tml_attr *ba;
    char base[200];

    if (!tml_pass_is_f32_const(g, b_i, -1) || g->tensors[b_i].rank != 2)
        return 0;
    M = g->tensors[b_i].dims[transB ? 0 : 1];
    K = g->tensors[b_i].dims[transB ? 1 : 0];
    if (c_i >= 0) {
        const tml_tensor *ct = &g->tensors[c_i];
        if (!tml_pass_is_f32_const(g, c_i, -1))
            return 0;
        cnum = tml_tensor_numel(ct);
        if (!(cnum == 1 || (cnum == M && ((ct->rank == 1) || (ct->rank == 2 && ct->dims[0] == 1)))))
            return 0; /* C varies along rows: not a per-column bias */
        oc = ct->data;
    }
    if (!bn_affine(g, &g->nodes[b], M, &s, &t))
        return 0;
    snprintf(base, sizeof base, "%s", g->nodes[c].name);
    wt = tml_pass_new_const(g, base, "_bnfold_w", TML_DT_F32, 2, g->tensors[b_i].dims);
    if (wt < 0)
        return -1;
    bt = tml_pass_new_const(g, base, "_bnfold_b", TML_DT_F32, 1, &M);
    if (bt < 0)
        return -1;
    ow = g->tensors[b_i].data;
    nw = g->tensors[wt].data;
    nb = g->tensors[bt].data;
    for (k = 0; k < K; k++)
        for (i = 0; i < M; i++) {
            int64_t at = transB ? i * K + k : k * M + i; /* B' (K, M): element (k, i) */
            nw[at] = ow[at] * s[i];
        }
    for (i = 0; i < M; i++) {
        cval = oc ? beta * oc[cnum == 1 ? 0 : i] : 0.0f;
        nb[i] = cval * s[i] + t[i];
    }
    cn = &g->nodes[c];
    if (!ensure_bias_slot(g, cn)) {
        tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
        return -1;
    }
    cn->in[1] = wt;
    cn->in[2] = bt;
    /* the new C already includes beta */
    for (k = 0; k < cn->n_attrs; k++) {
        ba = &cn->attrs[k];
        if (strcmp(ba->name, "beta") == 0) {
            ba->type = TML_ATTR_FLOAT;
            ba->f = 1.0f;
        }
    }
    rewire(g, c, b);
    return 1;
}

tml_status tml_pass_fold_batchnorm(tml_graph *g)
{
    int *readers = tml_pass_count_readers(g);
    int i;
    if (!readers)
        return TML_ERR_NOMEM;
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *b = &g->nodes[i];
        const tml_node *c;
        const tml_tensor *x;
        int xi, ci, r;
        if (b->dead || b->op != TML_OP_BATCHNORM || b->n_in < 1 || b->n_out < 1 || b->out[0] < 0)
            continue;
        xi = b->in[0];
        if (xi < 0 || xi >= g->n_tensors)
            continue;
        x = &g->tensors[xi];
        ci = x->producer;
        if (ci < 0 || ci >= g->n_nodes || x->is_output || x->is_input || readers[xi] != 1)
            continue;
        if (x->dtype != TML_DT_F32 || x->layout == TML_LAYOUT_NHWC)
            continue;
        if (g->tensors[b->out[0]].dtype != TML_DT_F32 && g->tensors[b->out[0]].dtype != TML_DT_UNDEF)
            continue;
        c = &g->nodes[ci];
        if (c->dead || c->act != TML_ACT_NONE || c->n_out != 1 || c->out[0] != xi || c->n_in < 2)
            continue;
        if (c->op == TML_OP_CONV || c->op == TML_OP_CONV_TRANSPOSE)
            r = fold_conv(g, ci, i);
        else if (c->op == TML_OP_GEMM && x->rank == 2)
            r = fold_gemm(g, ci, i);
        else
            continue;
        if (r < 0)
            return g->err_status ? g->err_status : TML_ERR_NOMEM;
    }
    return TML_OK;
}
