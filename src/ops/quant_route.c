/*
 * quant_route.c - shape and lowering of int8 nodes of the nn and elementwise families (Conv
 * incl. depthwise, Gemm as TFLite's FULLY_CONNECTED, AveragePool, Softmax, Mul, Sigmoid, Tanh)
 * onto the TFLite-exact _s8 kernels. See quant_route.h for how nodes get here.
 *
 * How: quantization parameters are read from the tensors (tml_tensor.quant). The TFLite
 * importer wraps NHWC ops in Transposes and Reshapes whose new tensors carry no parameters;
 * q_find() recovers them by walking through such views (a view keeps scale and zero point)
 * and records them. Requantization multipliers and shifts are computed here with the same
 * double-precision formulas as TFLite's Prepare functions (fixedpoint.h); per-tensor ones go
 * into the params, per-channel ones into a constant int32 tensor that the shape hook creates
 * once (attribute "tml_qm" names it), so they end up in the weights (flash), not in RAM.
 *
 * Why shape time for the constant: a lowering must not add tensors (the planner sizes its
 * tables before lowering), and shapes are final when the shape hook has run.
 */
#include <math.h>
#include <string.h>

#include "ops/quant_route.h"
#include "tml/fixedpoint.h"
#include "tml/nn_check.h"

static tml_node *node_of(tml_graph *g, int node) { return &g->nodes[node]; }

static bool is_view(tml_op op)
{
    return op == TML_OP_TRANSPOSE || op == TML_OP_RESHAPE || op == TML_OP_SQUEEZE ||
           op == TML_OP_UNSQUEEZE || op == TML_OP_FLATTEN || op == TML_OP_IDENTITY;
}

/* Parameters of t found through view producers (dir < 0) or view consumers (dir > 0). */
static tml_quant *q_walk(tml_graph *g, int t, int dir, int depth)
{
    int i, j;
    if (t < 0 || t >= g->n_tensors || depth > 16)
        return NULL;
    if (g->tensors[t].quant)
        return g->tensors[t].quant;
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *n = &g->nodes[i];
        if (n->dead || !is_view(n->op) || n->n_in < 1 || n->n_out < 1)
            continue;
        if (dir < 0) {
            for (j = 0; j < n->n_out; j++)
                if (n->out[j] == t)
                    return q_walk(g, n->in[0], dir, depth + 1);
        } else if (n->in[0] == t) {
            tml_quant *q = q_walk(g, n->out[0], dir, depth + 1);
            if (q)
                return q;
        }
    }
    return NULL;
}

/* The quantization parameters of tensor t (recorded on t if found through views). */
static tml_quant *q_find(tml_graph *g, int t)
{
    tml_quant *q;
    if (t < 0 || t >= g->n_tensors)
        return NULL;
    if (g->tensors[t].quant)
        return g->tensors[t].quant;
    q = q_walk(g, t, -1, 0);
    if (!q)
        q = q_walk(g, t, +1, 0);
    if (q)
        g->tensors[t].quant = q;
    return q;
}

bool tml_quant_routes(tml_graph *g, int node)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x;
    switch (n->op) {
    case TML_OP_CONV: case TML_OP_GEMM: case TML_OP_AVGPOOL: case TML_OP_SOFTMAX:
    case TML_OP_MUL: case TML_OP_SIGMOID: case TML_OP_TANH:
        break; /* int8 Add/Sub, MaxPool, LeakyRelu: their families' own hooks */
    default:
        return false;
    }
    x = tml_node_input(g, n, 0);
    return x && x->dtype == TML_DT_S8 && q_find(g, n->in[0]) != NULL;
}

/* Per-tensor parameters of input/output tensor t, or an error naming what. */
static tml_status q_tensor(tml_graph *g, int node, int t, const char *what, float *scale,
                           int32_t *zp)
{
    const tml_quant *q = q_find(g, t);
    if (!q || q->n < 1)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "tensor '%s' is int8 without quantization parameters", what);
    if (q->n != 1)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "tensor '%s' is quantized per channel (per tensor expected)",
                               what);
    if (!(q->scale[0] > 0.0f))
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "tensor '%s' has scale %g", what,
                               (double)q->scale[0]);
    *scale = q->scale[0];
    *zp = q->zero_point[0];
    return TML_OK;
}

static void act_range(const tml_node *n, float scale, int32_t zp, int32_t *lo, int32_t *hi)
{
    tml_fx_act_range(n->act == TML_ACT_RELU ? 1 : n->act == TML_ACT_CLIP ? 2 : 0, n->act_a,
                     n->act_b, scale, zp, -128, 127, lo, hi);
}

static tml_status need_act(tml_graph *g, int node)
{
    const tml_node *n = node_of(g, node);
    if (n->act != TML_ACT_NONE && n->act != TML_ACT_RELU && n->act != TML_ACT_CLIP)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "fused activation %d on an int8 output", (int)n->act);
    return TML_OK;
}

static void set_out(tml_graph *g, int node, int rank, const int64_t *dims)
{
    tml_tensor *t = tml_node_output(g, node_of(g, node), 0);
    if (t)
        tml_tensor_set_shape(t, TML_DT_S8, rank, dims);
}

/* ---- Conv (per-channel) ---- */

static tml_status conv_q(tml_graph *g, int node, tml_conv_s8_params *p, int64_t *dims,
                         const tml_quant **wq)
{
    const tml_node *n = node_of(g, node);
    tml_qconv_params gp;
    const tml_tensor *w = tml_node_input(g, n, 1), *b = tml_node_input(g, n, 2);
    float xs, ys;
    int32_t xz, yz, i;
    tml_status st;
    if ((st = tml_quant_conv_geom(g, node, 0, 1, &gp, dims)) || (st = need_act(g, node)))
        return st;
    if (gp.x_dtype != TML_DT_S8 || gp.w_dtype != TML_DT_S8 || gp.in[0] != 1 ||
        gp.kernel[0] != 1)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 conv needs int8 2-D input and weights");
    if (!w->data || !w->quant || (w->quant->n != 1 && w->quant->n != gp.c_out))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 conv needs constant weights quantized per tensor or per "
                               "output channel");
    for (i = 0; i < w->quant->n; i++)
        if (w->quant->zero_point[i] != 0)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "int8 conv weights with zero point %d (TFLite requires 0)",
                                   (int)w->quant->zero_point[i]);
    if (b && (b->dtype != TML_DT_S32 || tml_tensor_numel(b) != gp.c_out))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 conv bias must be int32 [%d]",
                               (int)gp.c_out);
    if ((st = q_tensor(g, node, n->in[0], "x", &xs, &xz)) ||
        (st = q_tensor(g, node, n->out[0], "y", &ys, &yz)))
        return st;
    memset(p, 0, sizeof *p);
    p->n = gp.n;
    p->c_in = gp.c_in;
    p->c_out = gp.c_out;
    p->group = gp.group;
    for (i = 0; i < 2; i++) {
        p->in[i] = gp.in[1 + i];
        p->out[i] = gp.out[1 + i];
        p->kernel[i] = gp.kernel[1 + i];
        p->stride[i] = gp.stride[1 + i];
        p->pad[i] = gp.pad[1 + i];
        p->dilation[i] = gp.dilation[1 + i];
    }
    p->input_offset = -xz;
    p->output_offset = yz;
    act_range(n, ys, yz, &p->act_min, &p->act_max);
    p->has_bias = b != NULL;
    *wq = w->quant;
    return TML_OK;
}

/* The "tml_qm" constant of node: (c_out, 2) int32 multiplier/shift pairs. Created on first
 * call; later calls return the existing one. */
static int qm_tensor(tml_graph *g, int node, const tml_conv_s8_params *p, const tml_quant *wq)
{
    const tml_node *n = node_of(g, node);
    const tml_attr *a = tml_node_attr(n, "tml_qm");
    float xs, ys;
    int32_t xz, yz, *vals;
    int64_t dims[2];
    int t, c;
    tml_attr *na;
    if (a && a->type == TML_ATTR_TENSOR && a->tensor >= 0 && a->tensor < g->n_tensors &&
        tml_tensor_numel(&g->tensors[a->tensor]) == 2 * (int64_t)p->c_out)
        return a->tensor;
    if (q_tensor(g, node, n->in[0], "x", &xs, &xz) || q_tensor(g, node, n->out[0], "y", &ys, &yz))
        return -1;
    vals = (int32_t *)tml_graph_alloc(g, sizeof(int32_t) * 2 * (size_t)p->c_out);
    if (!vals)
        return -1;
    for (c = 0; c < p->c_out; c++) {
        const double ws = (double)wq->scale[wq->n > 1 ? c : 0];
        tml_fx_quantize_multiplier((double)xs * ws / (double)ys, &vals[2 * c], &vals[2 * c + 1]);
    }
    t = tml_graph_add_tensor(g, NULL);
    if (t < 0)
        return -1;
    dims[0] = p->c_out;
    dims[1] = 2;
    tml_tensor_set_shape(&g->tensors[t], TML_DT_S32, 2, dims);
    g->tensors[t].data = vals;
    g->tensors[t].producer = -1;
    na = tml_node_add_attr(g, node, "tml_qm", TML_ATTR_TENSOR);
    if (!na)
        return -1;
    na->tensor = t;
    return t;
}

static tml_status conv_shape(tml_graph *g, int node)
{
    tml_conv_s8_params p;
    const tml_quant *wq;
    int64_t dims[5];
    tml_status st = conv_q(g, node, &p, dims, &wq);
    if (st)
        return st;
    if (qm_tensor(g, node, &p, wq) < 0)
        return g->err_status ? g->err_status
                             : tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    set_out(g, node, 4, dims);
    return TML_OK;
}

static tml_status conv_lower(tml_graph *g, int node, tml_step_desc *step)
{
    tml_conv_s8_params p, *pp;
    const tml_quant *wq;
    int64_t dims[5];
    const tml_attr *a;
    const tml_node *n;
    tml_status st = conv_q(g, node, &p, dims, &wq);
    if (st)
        return st;
    n = node_of(g, node);
    a = tml_node_attr(n, "tml_qm");
    if (!a || a->type != TML_ATTR_TENSOR || a->tensor < 0 || a->tensor >= g->n_tensors)
        return tml_node_errorf(g, node, TML_ERR_STATE, "int8 conv lowered before its shape");
    pp = (tml_conv_s8_params *)tml_graph_memdup(g, &p, sizeof p);
    if (!pp)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    step->kernel = TML_K_CONV_S8;
    step->params = pp;
    step->params_size = sizeof p;
    step->n_in = 3;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    step->in[2] = a->tensor;
    if (p.has_bias)
        step->in[step->n_in++] = n->in[2];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Gemm (FULLY_CONNECTED) ---- */

static tml_status fc_q(tml_graph *g, int node, tml_fc_s8_params *p)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0), *w = tml_node_input(g, n, 1);
    const tml_tensor *b = tml_node_input(g, n, 2);
    float xs, ws, ys;
    int32_t xz, wz, yz;
    tml_status st;
    if ((st = need_act(g, node)))
        return st;
    if (tml_node_attr_int(n, "transA", 0) != 0 || tml_node_attr_int(n, "transB", 0) != 1 ||
        tml_node_attr_float(n, "alpha", 1.0f) != 1.0f ||
        tml_node_attr_float(n, "beta", 1.0f) != 1.0f)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 Gemm needs transA=0, transB=1, alpha=beta=1");
    if (!w || w->dtype != TML_DT_S8 || x->rank != 2 || w->rank != 2 || x->dims[1] != w->dims[1])
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 Gemm needs int8 (m, k) input and (n, k) weights");
    if (b && (b->dtype != TML_DT_S32 || tml_tensor_numel(b) != w->dims[0]))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 Gemm bias must be int32 [n]");
    if ((st = q_tensor(g, node, n->in[0], "x", &xs, &xz)) ||
        (st = q_tensor(g, node, n->in[1], "w", &ws, &wz)) ||
        (st = q_tensor(g, node, n->out[0], "y", &ys, &yz)))
        return st;
    if (x->dims[0] < 1 || x->dims[0] > TML_NN_LIM || w->dims[0] < 1 || w->dims[0] > TML_NN_LIM ||
        x->dims[1] < 1 || x->dims[1] > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 Gemm dimensions");
    memset(p, 0, sizeof *p);
    p->m = (int32_t)x->dims[0];
    p->k = (int32_t)x->dims[1];
    p->n = (int32_t)w->dims[0];
    p->input_offset = -xz;
    p->filter_offset = -wz;
    p->output_offset = yz;
    /* tflite::GetQuantizedConvolutionMultipler */
    tml_fx_quantize_multiplier((double)xs * (double)ws / (double)ys, &p->multiplier, &p->shift);
    act_range(n, ys, yz, &p->act_min, &p->act_max);
    p->has_bias = b != NULL;
    return TML_OK;
}

/* ---- pools ---- */

static tml_status pool_q(tml_graph *g, int node, tml_pool_s8_params *p, int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    const char *auto_pad = tml_node_attr_str(n, "auto_pad", "NOTSET");
    const int64_t *ks = NULL, *sv = NULL, *pv = NULL;
    float xs, ys;
    int32_t xz, yz;
    int i;
    tml_status st;
    if ((st = need_act(g, node)))
        return st;
    if (x->rank != 4 || tml_node_attr_ints(n, "kernel_shape", &ks) != 2)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 pooling needs 2-D input");
    if (tml_node_attr_ints(n, "strides", &sv) != 2)
        sv = NULL;
    if (tml_node_attr_ints(n, "pads", &pv) != 4)
        pv = NULL;
    if (tml_node_attr_int(n, "ceil_mode", 0) != 0 || tml_node_attr_int(n, "count_include_pad", 0))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 pooling with ceil_mode or count_include_pad");
    if ((st = q_tensor(g, node, n->in[0], "x", &xs, &xz)) ||
        (st = q_tensor(g, node, n->out[0], "y", &ys, &yz)))
        return st;
    if (xs != ys || xz != yz)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 pooling with different input and output parameters");
    memset(p, 0, sizeof *p);
    p->n = (int32_t)x->dims[0];
    p->c = (int32_t)x->dims[1];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (i = 0; i < 2; i++) {
        int64_t in = x->dims[2 + i], k = ks[i], s = sv ? sv[i] : 1, pb = 0, pe = 0, out;
        if (k < 1 || s < 1 || in < 1 || in > TML_NN_LIM || k > TML_NN_LIM || s > TML_NN_LIM)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 pooling geometry");
        if (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER")) {
            int64_t total;
            out = (in + s - 1) / s;
            total = (out - 1) * s + k - in;
            if (total < 0)
                total = 0;
            pb = !strcmp(auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        } else {
            if (!strcmp(auto_pad, "NOTSET") && pv) {
                pb = pv[i];
                pe = pv[2 + i];
            }
            if (in + pb + pe < k || pb < 0 || pe < 0 || pb > TML_NN_LIM || pe > TML_NN_LIM)
                return tml_node_errorf(g, node, TML_ERR_SHAPE, "window larger than the input");
            out = (in + pb + pe - k) / s + 1;
        }
        p->in[i] = (int32_t)in;
        p->out[i] = (int32_t)out;
        p->kernel[i] = (int32_t)k;
        p->stride[i] = (int32_t)s;
        p->pad[i] = (int32_t)pb;
        dims[2 + i] = out;
    }
    act_range(n, ys, yz, &p->act_min, &p->act_max);
    return TML_OK;
}

/* ---- Softmax ---- */

static tml_status softmax_q(tml_graph *g, int node, tml_softmax_s8_params *p)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    int64_t axis = tml_node_attr_int(n, "axis", -1), outer = 1, inner = 1;
    float xs, ys;
    int32_t xz, yz;
    int i;
    tml_status st;
    if ((st = q_tensor(g, node, n->in[0], "x", &xs, &xz)) ||
        (st = q_tensor(g, node, n->out[0], "y", &ys, &yz)))
        return st;
    if (ys != 1.0f / 256.0f || yz != -128)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 softmax output must have scale 1/256 and zero point -128 "
                               "(has %g, %d)", (double)ys, (int)yz);
    if (axis < 0)
        axis += x->rank;
    if (x->rank < 1 || axis < 0 || axis >= x->rank)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "softmax axis");
    for (i = 0; i < axis; i++)
        outer *= x->dims[i];
    for (i = (int)axis + 1; i < x->rank; i++)
        inner *= x->dims[i];
    if (tml_tensor_numel(x) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "softmax input too large");
    memset(p, 0, sizeof *p);
    p->outer = (int32_t)outer;
    p->axis = (int32_t)x->dims[axis];
    p->inner = (int32_t)inner;
    tml_fx_softmax_scaling(1.0, (double)xs, &p->input_multiplier, &p->input_left_shift,
                           &p->diff_min);
    return TML_OK;
}

/* ---- Mul ---- */

static tml_status binary_q(tml_graph *g, int node, tml_qmul_params *p, int *rank,
                           int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *a = tml_node_input(g, n, 0), *b = tml_node_input(g, n, 1);
    float as, bs, ys;
    int32_t az, bz, yz;
    int64_t na, nb;
    tml_status st;
    if ((st = need_act(g, node)))
        return st;
    if (!b || b->dtype != TML_DT_S8 || a->rank < 0 || b->rank < 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 Mul needs two int8 inputs");
    na = tml_tensor_numel(a);
    nb = tml_tensor_numel(b);
    if (na < 1 || nb < 1 || na > TML_NN_LIM || nb > TML_NN_LIM || (na != nb && na != 1 && nb != 1))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 Mul broadcasting other than a scalar (%lld and %lld elements)",
                               (long long)na, (long long)nb);
    if ((st = q_tensor(g, node, n->in[0], "a", &as, &az)) ||
        (st = q_tensor(g, node, n->in[1], "b", &bs, &bz)) ||
        (st = q_tensor(g, node, n->out[0], "y", &ys, &yz)))
        return st;
    memset(p, 0, sizeof *p);
    p->count = (int32_t)(na > nb ? na : nb);
    p->a_count = (int32_t)na;
    p->b_count = (int32_t)nb;
    p->a_offset = -az;
    p->b_offset = -bz;
    p->output_offset = yz;
    tml_fx_quantize_multiplier((double)as * (double)bs / (double)ys, &p->output_multiplier,
                               &p->output_shift);
    act_range(n, ys, yz, &p->act_min, &p->act_max);
    {
        const tml_tensor *big = na >= nb ? a : b;
        int i;
        *rank = big->rank;
        for (i = 0; i < big->rank; i++)
            dims[i] = big->dims[i];
    }
    return TML_OK;
}

/* ---- Sigmoid (LOGISTIC), Tanh ---- */

static tml_status act_q(tml_graph *g, int node, tml_act_s8_params *p)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    const bool sig = n->op == TML_OP_SIGMOID;
    float xs, ys;
    int32_t xz, yz;
    tml_status st;
    if ((st = q_tensor(g, node, n->in[0], "x", &xs, &xz)) ||
        (st = q_tensor(g, node, n->out[0], "y", &ys, &yz)))
        return st;
    if (ys != (sig ? 1.0f / 256.0f : 1.0f / 128.0f) || yz != (sig ? -128 : 0))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "int8 %s output must have scale 1/%d and zero point %d",
                               sig ? "Sigmoid" : "Tanh", sig ? 256 : 128, sig ? -128 : 0);
    if (tml_tensor_numel(x) < 1 || tml_tensor_numel(x) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input size");
    memset(p, 0, sizeof *p);
    p->count = (int32_t)tml_tensor_numel(x);
    p->input_zero_point = xz;
    tml_fx_act_input_scaling((double)xs, &p->input_multiplier, &p->input_left_shift,
                             &p->input_range_radius);
    return TML_OK;
}

/* ---- dispatch ---- */

tml_status tml_quant_shape(tml_graph *g, int node)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    tml_status st;
    switch (n->op) {
    case TML_OP_CONV:
        return conv_shape(g, node);
    case TML_OP_GEMM: {
        tml_fc_s8_params p;
        int64_t dims[2];
        if ((st = fc_q(g, node, &p)))
            return st;
        dims[0] = p.m;
        dims[1] = p.n;
        set_out(g, node, 2, dims);
        return TML_OK;
    }
    case TML_OP_AVGPOOL: {
        tml_pool_s8_params p;
        int64_t dims[4];
        if ((st = pool_q(g, node, &p, dims)))
            return st;
        set_out(g, node, 4, dims);
        return TML_OK;
    }
    case TML_OP_SOFTMAX: {
        tml_softmax_s8_params p;
        if ((st = softmax_q(g, node, &p)))
            return st;
        set_out(g, node, x->rank, x->dims);
        return TML_OK;
    }
    case TML_OP_MUL: {
        tml_qmul_params p;
        int64_t dims[TML_MAX_RANK];
        int rank;
        if ((st = binary_q(g, node, &p, &rank, dims)))
            return st;
        set_out(g, node, rank, dims);
        return TML_OK;
    }
    case TML_OP_SIGMOID: case TML_OP_TANH: {
        tml_act_s8_params p;
        if ((st = act_q(g, node, &p)))
            return st;
        set_out(g, node, x->rank, x->dims);
        return TML_OK;
    }
    default:
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 version not supported");
    }
}

static tml_status emit(tml_graph *g, int node, tml_step_desc *step, tml_kernel_id k,
                       const void *params, uint32_t size, int n_in)
{
    const tml_node *n = node_of(g, node);
    void *p = tml_graph_memdup(g, params, size);
    int i;
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    step->kernel = k;
    step->params = p;
    step->params_size = size;
    step->n_in = n_in;
    for (i = 0; i < n_in; i++)
        step->in[i] = n->in[i];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

tml_status tml_quant_lower(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    tml_status st;
    switch (n->op) {
    case TML_OP_CONV:
        return conv_lower(g, node, step);
    case TML_OP_GEMM: {
        tml_fc_s8_params p;
        if ((st = fc_q(g, node, &p)))
            return st;
        return emit(g, node, step, TML_K_FC_S8, &p, sizeof p, 2 + p.has_bias);
    }
    case TML_OP_AVGPOOL: {
        tml_pool_s8_params p;
        int64_t dims[4];
        if ((st = pool_q(g, node, &p, dims)))
            return st;
        return emit(g, node, step, TML_K_AVGPOOL_S8, &p, sizeof p, 1);
    }
    case TML_OP_SOFTMAX: {
        tml_softmax_s8_params p;
        if ((st = softmax_q(g, node, &p)))
            return st;
        return emit(g, node, step, TML_K_SOFTMAX_S8, &p, sizeof p, 1);
    }
    case TML_OP_MUL: {
        tml_qmul_params p;
        int64_t dims[TML_MAX_RANK];
        int rank;
        if ((st = binary_q(g, node, &p, &rank, dims)))
            return st;
        return emit(g, node, step, TML_K_QMUL_S8, &p, sizeof p, 2);
    }
    case TML_OP_SIGMOID: case TML_OP_TANH: {
        tml_act_s8_params p;
        if ((st = act_q(g, node, &p)))
            return st;
        return emit(g, node, step, n->op == TML_OP_SIGMOID ? TML_K_LOGISTIC_S8 : TML_K_TANH_S8,
                    &p, sizeof p, 1);
    }
    default:
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "int8 version not supported");
    }
}
