/*
 * fold_batchnorm.c - folds an inference BatchNormalization, or a Mul / Add / Sub by a
 * per-channel constant, into the Conv, ConvTranspose or Gemm that feeds it.
 *
 * BN computes y = (x - mean) * s + beta per channel with s = gamma / sqrt(var + eps); a Mul,
 * Add or Sub by a constant that varies only along the channel is the same kind of per-channel
 * affine map y = x * s + t (converters write BN as Mul + Add, e.g. Keras BN after a Dense
 * layer through tf2onnx). When x is an affine function of constant weights (x = W * in + b)
 * the result is the same affine function with W' = W * s (per output channel) and
 * b' = b * s + t, so the BN (or Mul/Add) disappears and the conv writes its output tensor
 * directly. New weight and bias tensors are created (the originals may be shared with other
 * nodes; a pure shift keeps the weights); the old ones die with the graph's arena. Chains
 * (Conv -> BN -> Mul -> Add) fold one after another in node order.
 *
 * Preconditions, all checked, otherwise the pair is left alone: float32 everywhere; weights,
 * bias and the BN parameters / the Mul-Add constant constant; the conv output is read only by
 * the folded node and is not a graph output; the conv has no fused activation yet; BN in
 * inference form (training_mode 0, no extra outputs, spatial 1); a Gemm's C broadcasts per
 * output column ([M], [1,M] or a scalar); the constant broadcasts only along dim 1 and does not
 * enlarge the output; Sub only as x - c. Why so strict: folding is an optimization - when in
 * doubt, the node just runs.
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

/* Per-channel scale and shift of a Mul / Add / Sub node n whose input xi (rank R, channels
 * along dim 1) is the conv output and whose other input is a float32 constant that broadcasts
 * along the channel only ([M,1,1], [1,M,1,1], [M] for rank 2, or a scalar). */
static bool const_affine(tml_graph *g, const tml_node *n, int xi, int64_t M, float **s_out,
                         float **t_out)
{
    const tml_tensor *x = &g->tensors[xi], *c, *y;
    const float *v;
    float *s, *t;
    int k, j, R = x->rank;
    int64_t m;
    if (n->n_in != 2 || n->n_out != 1 || n->out[0] < 0 || R < 2)
        return false;
    k = n->in[0] == xi ? 0 : 1;
    if (n->in[k] != xi || n->in[1 - k] < 0 || n->in[1 - k] == xi)
        return false;
    if (n->op == TML_OP_SUB && k != 0)
        return false; /* c - x negates x: not worth it */
    c = &g->tensors[n->in[1 - k]];
    if (!tml_pass_is_f32_const(g, n->in[1 - k], -1) || c->rank > R)
        return false;
    for (j = 0; j < c->rank; j++) {
        int od = R - c->rank + j; /* output dim this constant dim lines up with */
        if (!(c->dims[j] == 1 || (od == 1 && c->dims[j] == M)))
            return false;
    }
    y = &g->tensors[n->out[0]];
    if (tml_tensor_numel(y) != tml_tensor_numel(x) || y->dtype != TML_DT_F32)
        return false; /* the constant would broadcast the output larger */
    v = c->data;
    s = tml_graph_alloc(g, sizeof(float) * (size_t)M);
    t = tml_graph_alloc(g, sizeof(float) * (size_t)M);
    if (!s || !t)
        return false;
    for (m = 0; m < M; m++) {
        float cv = v[tml_tensor_numel(c) == 1 ? 0 : m];
        s[m] = n->op == TML_OP_MUL ? cv : 1.0f;
        t[m] = n->op == TML_OP_ADD ? cv : n->op == TML_OP_SUB ? -cv : 0.0f;
    }
    *s_out = s;
    *t_out = t;
    return true;
}

/* Scale and shift of node b (BatchNormalization, or Mul/Add/Sub by a per-channel constant)
 * applied to tensor xi with M channels. */
static bool affine_of(tml_graph *g, int b, int xi, int64_t M, float **s, float **t)
{
    const tml_node *n = &g->nodes[b];
    if (n->op == TML_OP_BATCHNORM)
        return n->in[0] == xi && bn_affine(g, n, M, s, t);
    return const_affine(g, n, xi, M, s, t);
}

/* All of s (M) equal 1: the weights need no copy. */
static bool unit_scale(const float *s, int64_t M)
{
    int64_t m;
    for (m = 0; m < M; m++)
        if (s[m] != 1.0f)
            return false;
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
    if (!affine_of(g, b, cn->out[0], M, &s, &t))
        return 0;
    cin = w->dims[0];
    mg = transpose ? w->dims[1] : 0;
    per = tml_tensor_numel(w) / (transpose ? cin * mg : M); /* kernel elements per (m) or (c,j) */
    snprintf(base, sizeof base, "%s", g->nodes[c].name);

    wt = unit_scale(s, M) ? w_i
                          : tml_pass_new_const(g, base, "_folded_w", TML_DT_F32,
                                               g->tensors[w_i].rank, g->tensors[w_i].dims);
    if (wt < 0)
        return -1;
    bt = tml_pass_new_const(g, base, "_folded_b", TML_DT_F32, 1, &M);
    if (bt < 0)
        return -1;
    ow = g->tensors[w_i].data;
    ob = b_i >= 0 ? g->tensors[b_i].data : NULL;
    nw = g->tensors[wt].data;
    nb = g->tensors[bt].data;
    if (wt == w_i) {
        /* shift only: weights unchanged */
    } else if (!transpose) {
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
    if (!affine_of(g, b, cn->out[0], M, &s, &t))
        return 0;
    snprintf(base, sizeof base, "%s", g->nodes[c].name);
    wt = unit_scale(s, M) ? b_i
                          : tml_pass_new_const(g, base, "_folded_w", TML_DT_F32, 2,
                                               g->tensors[b_i].dims);
    if (wt < 0)
        return -1;
    bt = tml_pass_new_const(g, base, "_folded_b", TML_DT_F32, 1, &M);
    if (bt < 0)
        return -1;
    ow = g->tensors[b_i].data;
    nw = g->tensors[wt].data;
    nb = g->tensors[bt].data;
    for (k = 0; k < K && wt != b_i; k++)
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
        if (b->dead || b->n_in < 1 || b->n_out < 1 || b->out[0] < 0)
            continue;
        if (b->op == TML_OP_BATCHNORM) {
            xi = b->in[0];
        } else if (b->op == TML_OP_MUL || b->op == TML_OP_ADD || b->op == TML_OP_SUB) {
            if (b->n_in != 2 || b->in[0] < 0 || b->in[1] < 0)
                continue;
            xi = g->tensors[b->in[0]].data ? b->in[1] : b->in[0]; /* the non-constant side */
        } else {
            continue;
        }
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
