/*
 * elementwise.c - shape and lowering hooks of the 'elementwise' op family: the broadcast
 * arithmetic ops (Add, Sub, Mul, Div, Pow, Min, Max, Sum, PRelu), the unary activations and
 * math functions (Relu ... Abs, Clip), and the reductions ReduceMean, ReduceMax and ArgMax.
 *
 * How: every broadcast op lowers to one kernel call whose params carry the output dims and,
 * per input, one element stride per output dimension (0 where that input is broadcast). The
 * shape hook and the lowering share one function that computes each input's broadcast shape,
 * so ONNX's two broadcasting regimes live in one place: numpy-style multidirectional
 * broadcasting (opset >= 7) and the legacy `broadcast`/`axis` attributes of opset 1-6, where
 * the second input is aligned at `axis` instead of at the right. Unary ops lower to a flat
 * loop over n elements; reductions to a walk of the input whose output offset stands still
 * on reduced axes.
 *
 * Why: one kernel per dtype with the operation as a params field keeps the number of kernel
 * files small while the kernels stay readable; all shape logic stays on the host, so the
 * device-side checks only compare (dims, strides) against buffer sizes.
 *
 * Semantics follow the ONNX operator specs; integer arithmetic is plain wrapping math (not
 * quantized: an integer tensor with quantization parameters is refused here and left to the
 * quant family).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ops/ops.h"
#include "tml/qmath.h"

/* ---- dtype sets ---- */

#define DT(x) (1u << (x))
#define DTS_INT                                                                                \
    (DT(TML_DT_S8) | DT(TML_DT_U8) | DT(TML_DT_S16) | DT(TML_DT_U16) | DT(TML_DT_S32) |      \
     DT(TML_DT_U32) | DT(TML_DT_S64) | DT(TML_DT_U64))
#define DTS_F32 DT(TML_DT_F32)
#define DTS_ARITH (DTS_F32 | DTS_INT)
#define DTS_BINARY (DTS_ARITH | DT(TML_DT_F64))
#define DTS_UNARY_INT (DTS_F32 | DT(TML_DT_S8) | DT(TML_DT_S32) | DT(TML_DT_S64))
#define DTS_CLIP (DTS_F32 | DT(TML_DT_S8) | DT(TML_DT_S32))
#define DTS_POW_BASE (DTS_F32 | DT(TML_DT_S32) | DT(TML_DT_S64))
#define DTS_POW_EXP (DTS_ARITH | DT(TML_DT_F64))

static const char *tensor_name(const tml_graph *g, int t)
{
    return t >= 0 && g->tensors[t].name ? g->tensors[t].name : "?";
}

/* Input i of the node, present and with a known shape; errors name the input. */
static tml_status get_input(tml_graph *g, int node, int i, tml_tensor **out)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *t = tml_node_input(g, n, i);
    *out = NULL; /* callers test the status; this keeps -O2's maybe-uninitialized quiet */
    if (!t)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input %d", i);
    if (t->rank < 0 || t->rank > TML_MAX_RANK || t->dtype == TML_DT_UNDEF)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input '%s' has an unknown shape",
                               t->name ? t->name : "?");
    *out = t;
    return TML_OK;
}

static tml_status get_output(tml_graph *g, int node, tml_tensor **out)
{
    tml_tensor *t = tml_node_output(g, &g->nodes[node], 0);
    *out = NULL;
    if (!t)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing output 0");
    *out = t;
    return TML_OK;
}

static tml_status check_dtype(tml_graph *g, int node, const tml_tensor *t, uint32_t allowed)
{
    if ((int)t->dtype >= 0 && (int)t->dtype < 32 && (allowed & DT(t->dtype)))
        return TML_OK;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                           tml_dtype_name(t->dtype));
}

static int64_t numel_of(int rank, const int64_t *dims)
{
    int64_t n = 1;
    int d;
    for (d = 0; d < rank; d++)
        n *= dims[d];
    return n;
}

/* Kernels index with uint32_t: refuse tensors beyond that. */
static tml_status check_numel(tml_graph *g, int node, const tml_tensor *t)
{
    int64_t n = tml_tensor_numel(t);
    if (n < 0 || n > (int64_t)UINT32_MAX)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "tensor '%s' has %lld elements, more than 2^32-1",
                               t->name ? t->name : "?", (long long)n);
    return TML_OK;
}

/* Integer math here is plain, not quantized: refuse quantized integer tensors. */
static tml_status check_not_quantized(tml_graph *g, int node, const tml_tensor *t)
{
    if (t->quant && t->dtype != TML_DT_F32)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "quantized tensor '%s' needs a quantized kernel",
                               t->name ? t->name : "?");
    return TML_OK;
}

/* ---- broadcasting ---- */

/*
 * The shape input i takes part in broadcasting with. Usually its own shape; with the legacy
 * broadcasting of opset 1-6 (attribute broadcast=1), input 1 of a two-input op is aligned at
 * `axis` of input 0 (default: at the right) and padded with 1s to input 0's rank. Legacy PRelu
 * (opset < 7) applies a slope of shape (C) or (C, ...) at axis 1 (per channel).
 */
static tml_status bcast_shape(tml_graph *g, int node, int i, int *rank, int64_t *dims)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *t, *a;
    int64_t axis;
    int d, legacy_prelu;
    tml_status st = get_input(g, node, i, &t);
    if (st)
        return st;
    *rank = t->rank;
    memcpy(dims, t->dims, sizeof(int64_t) * (size_t)t->rank);
    if (i != 1 || n->n_in != 2 || g->opset < 1 || g->opset >= 7)
        return TML_OK;
    legacy_prelu = n->op == TML_OP_PRELU;
    if (!legacy_prelu && tml_node_attr_int(n, "broadcast", 0) == 0)
        return TML_OK;
    st = get_input(g, node, 0, &a);
    if (st)
        return st;
    if (legacy_prelu) {
        /* slope of one element: shared; of shape X.dims[1..]: per channel; else numpy */
        if (tml_tensor_numel(t) == 1) {
            *rank = a->rank;
            for (d = 0; d < a->rank; d++)
                dims[d] = 1;
            return TML_OK;
        }
        if (a->rank < 2 || t->rank > a->rank - 1)
            return TML_OK;
        for (d = 0; d < t->rank; d++)
            if (t->dims[d] != a->dims[1 + d])
                return TML_OK;
        axis = 1;
    } else {
        axis = tml_node_attr_int(n, "axis", a->rank - t->rank);
        if (tml_node_attr(n, "axis") && axis < 0)
            axis += a->rank;
        if (axis < 0 || axis + t->rank > a->rank)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "attribute 'axis=%lld' does not fit input '%s' of rank %d "
                                   "into rank %d",
                                   (long long)tml_node_attr_int(n, "axis", 0),
                                   t->name ? t->name : "?", t->rank, a->rank);
    }
    *rank = a->rank;
    for (d = 0; d < a->rank; d++)
        dims[d] = d >= axis && d < axis + t->rank ? t->dims[d - axis] : 1;
    return TML_OK;
}

/* Multidirectional (numpy) broadcast of inputs [first, last) into (orank, odims). */
static tml_status bcast_out_shape(tml_graph *g, int node, int first, int last, int *orank,
                                  int64_t *odims)
{
    char b1[96], b2[96];
    int i, d;
    *orank = 0;
    for (i = first; i < last; i++) {
        int r;
        int64_t dims[TML_MAX_RANK];
        tml_status st = bcast_shape(g, node, i, &r, dims);
        if (st)
            return st;
        if (r > *orank) { /* pad the result so far with leading 1s */
            int shift = r - *orank;
            for (d = *orank - 1; d >= 0; d--)
                odims[d + shift] = odims[d];
            for (d = 0; d < shift; d++)
                odims[d] = 1;
            *orank = r;
        }
        for (d = 0; d < r; d++) {
            int64_t *o = &odims[*orank - r + d];
            if (*o == dims[d] || dims[d] == 1)
                continue;
            if (*o == 1) {
                *o = dims[d];
                continue;
            }
            {
                tml_tensor tmp;
                memset(&tmp, 0, sizeof tmp);
                tmp.rank = r;
                memcpy(tmp.dims, dims, sizeof(int64_t) * (size_t)r);
                tml_shape_str(&tmp, b1, sizeof b1);
                tmp.rank = *orank;
                memcpy(tmp.dims, odims, sizeof(int64_t) * (size_t)*orank);
                tml_shape_str(&tmp, b2, sizeof b2);
            }
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input '%s' shape %s does not broadcast with %s",
                                   tensor_name(g, g->nodes[node].in[i]), b1, b2);
        }
    }
    return TML_OK;
}

/* Element strides of input i for walking an output of rank orank (the broadcast of all
 * inputs); 0 on dims where input i is broadcast or absent. */
static tml_status bcast_strides(tml_graph *g, int node, int i, int orank, uint32_t *strides)
{
    int r, d;
    int64_t dims[TML_MAX_RANK];
    uint64_t s = 1;
    tml_status st = bcast_shape(g, node, i, &r, dims);
    if (st)
        return st;
    for (d = 0; d < TML_MAX_RANK; d++)
        strides[d] = 0;
    for (d = r - 1; d >= 0; d--) {
        int od = orank - r + d;
        strides[od] = dims[d] == 1 ? 0 : (uint32_t)s;
        s *= (uint64_t)dims[d];
    }
    return TML_OK;
}

static void dims_to_u32(int rank, const int64_t *dims, uint32_t *out)
{
    int d;
    for (d = 0; d < TML_MAX_RANK; d++)
        out[d] = d < rank ? (uint32_t)dims[d] : 1;
}

/* ---- Add, Sub, Mul, Div, Min, Max, Sum, PRelu: the binary kernels ---- */

static int binary_op_of(tml_op op)
{
    switch (op) {
    case TML_OP_ADD: case TML_OP_SUM: return TML_BINARY_ADD;
    case TML_OP_SUB: return TML_BINARY_SUB;
    case TML_OP_MUL: return TML_BINARY_MUL;
    case TML_OP_DIV: return TML_BINARY_DIV;
    case TML_OP_MIN: return TML_BINARY_MIN;
    case TML_OP_MAX: return TML_BINARY_MAX;
    case TML_OP_PRELU: return TML_BINARY_PRELU;
    default: return -1;
    }
}

static tml_kernel_id binary_kernel_of(tml_dtype dt)
{
    switch (dt) {
    case TML_DT_F32: return TML_K_BINARY_F32;
    case TML_DT_F64: return TML_K_BINARY_F64;
    case TML_DT_S8: return TML_K_BINARY_S8;
    case TML_DT_U8: return TML_K_BINARY_U8;
    case TML_DT_S16: return TML_K_BINARY_S16;
    case TML_DT_U16: return TML_K_BINARY_U16;
    case TML_DT_S32: return TML_K_BINARY_S32;
    case TML_DT_U32: return TML_K_BINARY_U32;
    case TML_DT_S64: return TML_K_BINARY_S64;
    case TML_DT_U64: return TML_K_BINARY_U64;
    default: return TML_K_NONE;
    }
}

/* All inputs present, of one dtype in `allowed`; output = their broadcast shape. */
static tml_status shape_broadcast(tml_graph *g, int node, uint32_t allowed)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x0, *t, *y;
    int64_t odims[TML_MAX_RANK];
    int orank, i;
    tml_status st;
    if (n->n_in < 1)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "needs at least one input");
    if (n->n_in > TML_BINARY_MAX_IN)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "%d inputs, at most %d supported",
                               n->n_in, TML_BINARY_MAX_IN);
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x0)) ||
        (st = check_dtype(g, node, x0, allowed)))
        return st;
    for (i = 1; i < n->n_in; i++) {
        if ((st = get_input(g, node, i, &t)))
            return st;
        if (t->dtype != x0->dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input '%s' has dtype '%s', input '%s' has '%s'",
                                   t->name ? t->name : "?", tml_dtype_name(t->dtype),
                                   x0->name ? x0->name : "?", tml_dtype_name(x0->dtype));
    }
    if ((st = bcast_out_shape(g, node, 0, n->n_in, &orank, odims)))
        return st;
    tml_tensor_set_shape(y, x0->dtype, orank, odims);
    return TML_OK;
}

/* Real value v in the integer domain of a per-tensor quantization, saturated to [lo, hi]. */
static int32_t quantize_to(const tml_quant *q, double v, int32_t lo, int32_t hi)
{
    double r = (double)q->zero_point[0] + round(v / (double)q->scale[0]);
    return r < (double)lo ? lo : r > (double)hi ? hi : (int32_t)r;
}

/*
 * Quantized Add/Sub of int8 or int16 tensors (TFLite models): TFLite-Micro's parameters
 * (CalculateOpDataAdd/Sub): left shift 20 (int8) or 15 (int16), inputs rescaled to twice the
 * larger input scale, the sum or difference to the output scale. The fused activation becomes
 * the quantized clamp range.
 */
static tml_status lower_qadd(tml_graph *g, int node, tml_step_desc *step)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *a, *b, *y;
    tml_qadd_params *p;
    const tml_quant *qa, *qb, *qy;
    int32_t qmin, qmax;
    double twice_max;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &a)) ||
        (st = get_input(g, node, 1, &b)))
        return st;
    if (a->dtype != y->dtype || b->dtype != y->dtype)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "mixed dtypes in quantized Add/Sub");
    qa = a->quant;
    qb = b->quant;
    qy = y->quant;
    if (!qa || !qb || !qy || qa->n != 1 || qb->n != 1 || qy->n != 1 ||
        !(qa->scale[0] > 0.0f) || !(qb->scale[0] > 0.0f) || !(qy->scale[0] > 0.0f))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "quantized Add/Sub needs per-tensor quantization of '%s', '%s' "
                               "and '%s'", a->name ? a->name : "?", b->name ? b->name : "?",
                               y->name ? y->name : "?");
    qmin = y->dtype == TML_DT_S8 ? INT8_MIN : INT16_MIN;
    qmax = y->dtype == TML_DT_S8 ? INT8_MAX : INT16_MAX;
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->rank = y->rank;
    dims_to_u32(y->rank, y->dims, p->dims);
    if ((st = bcast_strides(g, node, 0, y->rank, p->a_strides)) ||
        (st = bcast_strides(g, node, 1, y->rank, p->b_strides)))
        return st;
    p->a_offset = -qa->zero_point[0];
    p->b_offset = -qb->zero_point[0];
    p->out_offset = qy->zero_point[0];
    p->left_shift = y->dtype == TML_DT_S8 ? 20 : 15;
    /* the factors in double, as TFLite-Micro's CalculateOpDataAdd/Sub */
    twice_max = 2.0 * (double)(qa->scale[0] > qb->scale[0] ? qa->scale[0] : qb->scale[0]);
    tml_q_quantize_multiplier((double)qa->scale[0] / twice_max, &p->a_multiplier, &p->a_shift);
    tml_q_quantize_multiplier((double)qb->scale[0] / twice_max, &p->b_multiplier, &p->b_shift);
    tml_q_quantize_multiplier(twice_max / ((double)(1 << p->left_shift) * (double)qy->scale[0]),
                              &p->out_multiplier, &p->out_shift);
    p->subtract = n->op == TML_OP_SUB;
    if (p->out_shift > 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "output scale %g too small for the input scales",
                               (double)qy->scale[0]);
    switch (n->act) {
    case TML_ACT_NONE: p->act_min = qmin; p->act_max = qmax; break;
    case TML_ACT_RELU:
        p->act_min = quantize_to(qy, 0.0, qmin, qmax);
        p->act_max = qmax;
        break;
    case TML_ACT_CLIP:
        p->act_min = quantize_to(qy, n->act_a, qmin, qmax);
        p->act_max = quantize_to(qy, n->act_b, qmin, qmax);
        break;
    default:
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "fused activation %d on a quantized Add/Sub", (int)n->act);
    }
    step->kernel = y->dtype == TML_DT_S8 ? TML_K_QADD_S8 : TML_K_QADD_S16;
    step->params = p;
    step->params_size = sizeof(*p);
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    step->n_in = 2;
    step->out[0] = n->out[0];
    step->n_out = 1;
    if (tml_tensor_numel(a) == tml_tensor_numel(y))
        step->inplace_of = 0;
    else if (tml_tensor_numel(b) == tml_tensor_numel(y))
        step->inplace_of = 1;
    return TML_OK;
}

static tml_status lower_broadcast(tml_graph *g, int node, tml_step_desc *step)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *y, *t;
    tml_binary_params *p;
    int i;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = check_numel(g, node, y)))
        return st;
    if ((n->op == TML_OP_ADD || n->op == TML_OP_SUB) && n->n_in == 2 && y->quant &&
        (y->dtype == TML_DT_S8 || y->dtype == TML_DT_S16))
        return lower_qadd(g, node, step);
    if ((st = check_not_quantized(g, node, y)))
        return st;
    step->kernel = binary_kernel_of(y->dtype);
    if (step->kernel == TML_K_NONE)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(y->dtype));
    if (n->n_in < 1 || n->n_in > TML_BINARY_MAX_IN)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "%d inputs, at most %d supported",
                               n->n_in, TML_BINARY_MAX_IN);
    if (n->act != TML_ACT_NONE && y->dtype != TML_DT_F32)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "fused activation on dtype '%s'", tml_dtype_name(y->dtype));
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->op = binary_op_of(n->op);
    p->n_in = n->n_in;
    p->rank = y->rank;
    dims_to_u32(y->rank, y->dims, p->dims);
    p->act = (int32_t)n->act;
    p->act_a = n->act_a;
    p->act_b = n->act_b;
    for (i = 0; i < n->n_in; i++) {
        if ((st = get_input(g, node, i, &t)) || (st = check_numel(g, node, t)) ||
            (st = check_not_quantized(g, node, t)))
            return st;
        if ((st = bcast_strides(g, node, i, y->rank, p->strides[i])))
            return st;
        step->in[i] = n->in[i];
        if (step->inplace_of < 0 && t->dtype == y->dtype &&
            tml_tensor_numel(t) == tml_tensor_numel(y))
            step->inplace_of = i;
    }
    step->n_in = n->n_in;
    step->out[0] = n->out[0];
    step->n_out = 1;
    step->params = p;
    step->params_size = sizeof(*p);
    return TML_OK;
}

tml_status tml_shape_add(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }
tml_status tml_shape_sub(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }
tml_status tml_shape_mul(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }
tml_status tml_shape_div(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }
tml_status tml_shape_min(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }
tml_status tml_shape_max(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }
tml_status tml_shape_sum(tml_graph *g, int node) { return shape_broadcast(g, node, DTS_BINARY); }

tml_status tml_lower_add(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

tml_status tml_lower_sub(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

tml_status tml_lower_mul(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

tml_status tml_lower_div(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

tml_status tml_lower_min(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

tml_status tml_lower_max(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

tml_status tml_lower_sum(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}


/* PRelu: the slope broadcasts to X (unidirectionally): the output has X's shape. */
tml_status tml_shape_prelu(tml_graph *g, int node)
{
    tml_tensor *x, *y;
    char b1[96], b2[96];
    tml_status st = shape_broadcast(g, node, DTS_ARITH);
    if (st)
        return st;
    if ((st = get_input(g, node, 0, &x)) || (st = get_output(g, node, &y)))
        return st;
    if (y->rank != x->rank || numel_of(y->rank, y->dims) != tml_tensor_numel(x))
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "input 'slope' shape %s does not broadcast to X shape %s",
                               tml_shape_str(tml_node_input(g, &g->nodes[node], 1), b1, sizeof b1),
                               tml_shape_str(x, b2, sizeof b2));
    return TML_OK;
}

tml_status tml_lower_prelu(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_broadcast(g, node, step);
}

/* ---- Pow: base and exponent may have different dtypes ---- */

tml_status tml_shape_pow(tml_graph *g, int node)
{
    tml_tensor *a, *b, *y;
    int64_t odims[TML_MAX_RANK];
    int orank;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &a)) ||
        (st = get_input(g, node, 1, &b)) || (st = check_dtype(g, node, a, DTS_POW_BASE)) ||
        (st = check_dtype(g, node, b, DTS_POW_EXP)))
        return st;
    if ((st = bcast_out_shape(g, node, 0, 2, &orank, odims)))
        return st;
    tml_tensor_set_shape(y, a->dtype, orank, odims);
    return TML_OK;
}

tml_status tml_lower_pow(tml_graph *g, int node, tml_step_desc *step)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *a, *b, *y;
    tml_pow_params *p;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &a)) ||
        (st = get_input(g, node, 1, &b)) || (st = check_numel(g, node, y)) ||
        (st = check_numel(g, node, a)) || (st = check_numel(g, node, b)) ||
        (st = check_not_quantized(g, node, a)) || (st = check_not_quantized(g, node, b)))
        return st;
    switch (y->dtype) {
    case TML_DT_F32: step->kernel = TML_K_POW_F32; break;
    case TML_DT_S32: step->kernel = TML_K_POW_S32; break;
    case TML_DT_S64: step->kernel = TML_K_POW_S64; break;
    default:
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(y->dtype));
    }
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->exp_dtype = (int32_t)b->dtype;
    p->rank = y->rank;
    dims_to_u32(y->rank, y->dims, p->dims);
    if ((st = bcast_strides(g, node, 0, y->rank, p->a_strides)) ||
        (st = bcast_strides(g, node, 1, y->rank, p->b_strides)))
        return st;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    step->n_in = 2;
    step->out[0] = n->out[0];
    step->n_out = 1;
    if (tml_tensor_numel(a) == tml_tensor_numel(y))
        step->inplace_of = 0;
    step->params = p;
    step->params_size = sizeof(*p);
    return TML_OK;
}

/* ---- unary ops ---- */

/* Output = input 0's shape and dtype, which must be in `allowed`. */
static tml_status shape_unary(tml_graph *g, int node, uint32_t allowed)
{
    tml_tensor *x, *y;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_dtype(g, node, x, allowed)))
        return st;
    tml_tensor_set_shape(y, x->dtype, x->rank, x->dims);
    return TML_OK;
}

/* Real value v in the int8 domain of quantization q (per tensor): zp + round(v / scale),
 * saturated to [-128, 127]. */
static int32_t quantize_s8(const tml_quant *q, double v)
{
    double r = (double)q->zero_point[0] + floor(v / (double)q->scale[0] + 0.5);
    return r < -128.0 ? -128 : r > 127.0 ? 127 : (int32_t)r;
}

/*
 * A quantized int8 Relu or Clip (TFLite RELU, RELU6, RELU_N1_TO_1) is a clamp in the integer
 * domain when the output has the input's quantization: real bounds [a, b] become
 * [q(a), q(b)]. Any other quantized unary op, or a requantizing one, is refused.
 */
static tml_status quant_clamp(tml_graph *g, int node, const tml_tensor *x, const tml_tensor *y,
                              int *op, float a, float b, int32_t *lo, int32_t *hi)
{
    const tml_quant *qx = x->quant, *qy = y->quant;
    if (x->dtype != TML_DT_S8 || (*op != TML_UNARY_RELU && *op != TML_UNARY_CLIP) || !qx ||
        !qy || qx->n != 1 || qy->n != 1 || qx->scale[0] != qy->scale[0] ||
        qx->zero_point[0] != qy->zero_point[0] || !(qx->scale[0] > 0.0f))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "quantized tensor '%s' needs a quantized kernel",
                               x->name ? x->name : "?");
    if (*op == TML_UNARY_RELU) {
        a = 0.0f;
        b = FLT_MAX;
    }
    *lo = quantize_s8(qx, a);
    *hi = quantize_s8(qx, b);
    *op = TML_UNARY_CLIP;
    return TML_OK;
}

/* Lowers a unary op: float32 -> UNARY_F32 with (a, b); integers -> UNARY_<DT> with lo/hi;
 * quantized int8 Relu/Clip -> UNARY_S8 clamping at the quantized bounds (a, b). */
static tml_status lower_unary(tml_graph *g, int node, tml_step_desc *step, int op, float a,
                              float b, int32_t lo, int32_t hi)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x, *y;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_numel(g, node, x)))
        return st;
    if (x->dtype != TML_DT_F32 && (x->quant || y->quant) &&
        (st = quant_clamp(g, node, x, y, &op, a, b, &lo, &hi)))
        return st;
    if (n->act != TML_ACT_NONE)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "fused activation not supported");
    if (x->dtype == TML_DT_F32) {
        tml_unary_params *p = tml_graph_alloc(g, sizeof(*p));
        if (!p)
            return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
        p->op = op;
        p->n = (uint32_t)tml_tensor_numel(x);
        p->a = a;
        p->b = b;
        step->kernel = TML_K_UNARY_F32;
        step->params = p;
        step->params_size = sizeof(*p);
    } else {
        tml_unary_int_params *p;
        switch (x->dtype) {
        case TML_DT_S8: step->kernel = TML_K_UNARY_S8; break;
        case TML_DT_S32: step->kernel = TML_K_UNARY_S32; break;
        case TML_DT_S64: step->kernel = op == TML_UNARY_CLIP ? TML_K_NONE : TML_K_UNARY_S64; break;
        default: step->kernel = TML_K_NONE; break;
        }
        if (step->kernel == TML_K_NONE || (op != TML_UNARY_RELU && op != TML_UNARY_CLIP &&
                                           op != TML_UNARY_NEG && op != TML_UNARY_ABS))
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                                   tml_dtype_name(x->dtype));
        p = tml_graph_alloc(g, sizeof(*p));
        if (!p)
            return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
        p->op = op;
        p->n = (uint32_t)tml_tensor_numel(x);
        p->lo = lo;
        p->hi = hi;
        step->params = p;
        step->params_size = sizeof(*p);
    }
    step->in[0] = n->in[0];
    step->n_in = 1;
    step->out[0] = n->out[0];
    step->n_out = 1;
    step->inplace_of = 0;
    return TML_OK;
}

#define UNARY_HOOKS(fn, OP, allowed, A, B)                                                    \
    tml_status tml_shape_##fn(tml_graph *g, int node) { return shape_unary(g, node, allowed); } \
    tml_status tml_lower_##fn(tml_graph *g, int node, tml_step_desc *step)                    \
    {                                                                                          \
        const tml_node *n = &g->nodes[node];                                                   \
        (void)n;                                                                               \
        return lower_unary(g, node, step, OP, A, B, 0, 0);                                     \
    }

/* ONNX defaults: LeakyRelu alpha 0.01; HardSigmoid alpha 0.2, beta 0.5; Elu alpha 1;
 * Selu alpha 1.67326..., gamma 1.05070... (float32 values of the spec's constants). */
UNARY_HOOKS(relu, TML_UNARY_RELU, DTS_UNARY_INT, 0.0f, 0.0f)
UNARY_HOOKS(sigmoid, TML_UNARY_SIGMOID, DTS_F32, 0.0f, 0.0f)
UNARY_HOOKS(tanh, TML_UNARY_TANH, DTS_F32, 0.0f, 0.0f)
UNARY_HOOKS(hard_sigmoid, TML_UNARY_HARD_SIGMOID, DTS_F32, tml_node_attr_float(n, "alpha", 0.2f),
            tml_node_attr_float(n, "beta", 0.5f))
UNARY_HOOKS(hard_swish, TML_UNARY_HARD_SWISH, DTS_F32, 0.0f, 0.0f)
UNARY_HOOKS(elu, TML_UNARY_ELU, DTS_F32, tml_node_attr_float(n, "alpha", 1.0f), 0.0f)
UNARY_HOOKS(selu, TML_UNARY_SELU, DTS_F32,
            tml_node_attr_float(n, "alpha", 1.67326319217681884765625f),
            tml_node_attr_float(n, "gamma", 1.05070102214813232421875f))
UNARY_HOOKS(softplus, TML_UNARY_SOFTPLUS, DTS_F32, 0.0f, 0.0f)
UNARY_HOOKS(exp, TML_UNARY_EXP, DTS_F32, 0.0f, 0.0f)
UNARY_HOOKS(sqrt, TML_UNARY_SQRT, DTS_F32, 0.0f, 0.0f)
UNARY_HOOKS(neg, TML_UNARY_NEG, DTS_UNARY_INT, 0.0f, 0.0f)
UNARY_HOOKS(abs, TML_UNARY_ABS, DTS_UNARY_INT, 0.0f, 0.0f)

/* LeakyRelu: float32, or quantized int8/int16 (TFLite) through the qleaky kernels. */
tml_status tml_shape_leaky_relu(tml_graph *g, int node)
{
    tml_tensor *x;
    tml_status st = get_input(g, node, 0, &x);
    if (st)
        return st;
    return shape_unary(g, node, x->quant ? DTS_F32 | DT(TML_DT_S8) | DT(TML_DT_S16) : DTS_F32);
}

tml_status tml_lower_leaky_relu(tml_graph *g, int node, tml_step_desc *step)
{
    tml_node *n = &g->nodes[node];
    float alpha = tml_node_attr_float(n, "alpha", 0.01f);
    tml_tensor *x, *y;
    const tml_quant *qx, *qy;
    tml_qleaky_params *p;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_numel(g, node, x)))
        return st;
    if (x->dtype == TML_DT_F32)
        return lower_unary(g, node, step, TML_UNARY_LEAKY_RELU, alpha, 0.0f, 0, 0);
    qx = x->quant;
    qy = y->quant;
    if (!qx || !qy || qx->n != 1 || qy->n != 1 || !(qx->scale[0] > 0.0f) ||
        !(qy->scale[0] > 0.0f) || y->dtype != x->dtype ||
        (x->dtype != TML_DT_S8 && x->dtype != TML_DT_S16))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "quantized tensor '%s' needs per-tensor quantization",
                               x->name ? x->name : "?");
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->n = (uint32_t)tml_tensor_numel(x);
    p->in_zero_point = qx->zero_point[0];
    p->out_zero_point = qy->zero_point[0];
    /* TFLite-Micro computes both factors in float, then widens */
    tml_q_quantize_multiplier((double)(qx->scale[0] * alpha / qy->scale[0]),
                              &p->alpha_multiplier, &p->alpha_shift);
    tml_q_quantize_multiplier((double)(qx->scale[0] / qy->scale[0]), &p->id_multiplier,
                              &p->id_shift);
    if (p->alpha_shift > 30 || p->id_shift > 30)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "output scale %g too small for input scale %g",
                               (double)qy->scale[0], (double)qx->scale[0]);
    step->kernel = x->dtype == TML_DT_S8 ? TML_K_QLEAKY_RELU_S8 : TML_K_QLEAKY_RELU_S16;
    step->params = p;
    step->params_size = sizeof(*p);
    step->in[0] = n->in[0];
    step->n_in = 1;
    step->out[0] = n->out[0];
    step->n_out = 1;
    step->inplace_of = 0;
    return TML_OK;
}

/* ---- Clip: bounds as attributes (opset < 11) or optional inputs ---- */

/*
 * Checks the bound at input i (1 = min, 2 = max) of a Clip node, opset >= 11: absent
 * (*has = 0), a constant scalar (*has = 1; its value in *fv for float, *iv for integers), or a
 * runtime scalar (*has = 2), which the lowering hands to the binary kernel as an input.
 */
static tml_status clip_bound(tml_graph *g, int node, int i, int *has, double *fv, int64_t *iv)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0), *t = tml_node_input(g, n, i);
    const char *what = i == 1 ? "min" : "max";
    *has = 0;
    if (!t)
        return TML_OK;
    if (t->rank < 0 || (t->dtype != x->dtype && !(x->quant && t->dtype == TML_DT_F32)))
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "input '%s' (%s) has dtype '%s', input has '%s'",
                               t->name ? t->name : "?", what, tml_dtype_name(t->dtype),
                               tml_dtype_name(x->dtype));
    if (tml_tensor_numel(t) != 1)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "input '%s' (%s) has %lld elements, must be a scalar",
                               t->name ? t->name : "?", what, (long long)tml_tensor_numel(t));
    if (!t->data) {
        *has = 2;
        return TML_OK;
    }
    switch (t->dtype) {
    case TML_DT_F32: *fv = *(const float *)t->data; break;
    case TML_DT_S8: *iv = *(const int8_t *)t->data; break;
    case TML_DT_S32: *iv = *(const int32_t *)t->data; break;
    default:
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(t->dtype));
    }
    *has = 1;
    return TML_OK;
}

tml_status tml_shape_clip(tml_graph *g, int node)
{
    int has;
    double fv;
    int64_t iv;
    tml_status st = shape_unary(g, node, DTS_CLIP);
    if (st)
        return st;
    if (g->opset >= 11 || g->opset == 0) {
        if ((st = clip_bound(g, node, 1, &has, &fv, &iv)) ||
            (st = clip_bound(g, node, 2, &has, &fv, &iv)))
            return st;
    } else if (tml_node_input(g, &g->nodes[node], 1) || tml_node_input(g, &g->nodes[node], 2)) {
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "min/max are attributes before opset 11, not inputs");
    }
    return TML_OK;
}

/* Clip with a bound computed at run time: the binary kernel with x, then the present bounds
 * as scalar inputs (stride 0): Max(x, min), Min(x, max), or CLIP folding both. */
static tml_status lower_clip_runtime(tml_graph *g, int node, tml_step_desc *step, int has_lo,
                                     int has_hi)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x, *y;
    tml_binary_params *p;
    uint64_t s = 1;
    int d;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_numel(g, node, x)) || (st = check_not_quantized(g, node, x)))
        return st;
    if (n->act != TML_ACT_NONE)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "fused activation not supported");
    step->kernel = binary_kernel_of(x->dtype);
    if (step->kernel == TML_K_NONE)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(x->dtype));
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->op = has_lo && has_hi ? TML_BINARY_CLIP : has_lo ? TML_BINARY_MAX : TML_BINARY_MIN;
    p->rank = x->rank;
    dims_to_u32(x->rank, x->dims, p->dims);
    for (d = x->rank - 1; d >= 0; d--) { /* x: contiguous; the scalar bounds: all 0 */
        p->strides[0][d] = (uint32_t)s;
        s *= (uint64_t)x->dims[d];
    }
    step->in[step->n_in++] = n->in[0];
    if (has_lo)
        step->in[step->n_in++] = n->in[1];
    if (has_hi)
        step->in[step->n_in++] = n->in[2];
    p->n_in = step->n_in;
    step->out[0] = n->out[0];
    step->n_out = 1;
    step->inplace_of = 0;
    step->params = p;
    step->params_size = sizeof(*p);
    return TML_OK;
}

tml_status tml_lower_clip(tml_graph *g, int node, tml_step_desc *step)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x;
    int has_lo = 0, has_hi = 0;
    double flo = -FLT_MAX, fhi = FLT_MAX;
    int64_t ilo = INT32_MIN, ihi = INT32_MAX;
    tml_status st = get_input(g, node, 0, &x);
    if (st)
        return st;
    if (x->dtype == TML_DT_S8) {
        ilo = INT8_MIN;
        ihi = INT8_MAX;
    }
    if (g->opset >= 11 || g->opset == 0) {
        if ((st = clip_bound(g, node, 1, &has_lo, &flo, &ilo)) ||
            (st = clip_bound(g, node, 2, &has_hi, &fhi, &ihi)))
            return st;
        if (has_lo == 2 || has_hi == 2)
            return lower_clip_runtime(g, node, step, has_lo != 0, has_hi != 0);
        if (x->quant && x->quant->n == 1) {
            /* quantized x: integer bounds are quantized values; lower_unary wants reals */
            const tml_quant *q = x->quant;
            if (has_lo && tml_node_input(g, n, 1)->dtype != TML_DT_F32)
                flo = (double)q->scale[0] * (double)(ilo - q->zero_point[0]);
            if (has_hi && tml_node_input(g, n, 2)->dtype != TML_DT_F32)
                fhi = (double)q->scale[0] * (double)(ihi - q->zero_point[0]);
        }
    }
    /* attributes (opset < 11, or an importer of another format) where no input gave a bound */
    if (!has_lo && tml_node_attr(n, "min"))
        flo = tml_node_attr_float(n, "min", -FLT_MAX);
    if (!has_hi && tml_node_attr(n, "max"))
        fhi = tml_node_attr_float(n, "max", FLT_MAX);
    return lower_unary(g, node, step, TML_UNARY_CLIP, (float)flo, (float)fhi, (int32_t)ilo,
                       (int32_t)ihi);
}

/* ---- ReduceMean, ReduceMax ---- */

/*
 * The reduced axes of a Reduce* node as a mask over the input's dims. The axes come from
 * input 1 (opset >= 18; must be a constant) or the `axes` attribute (before 18). No axes:
 * reduce all, or nothing with noop_with_empty_axes=1.
 */
static tml_status reduce_axes(tml_graph *g, int node, const tml_tensor *x, int *mask)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *at = tml_node_input(g, n, 1);
    int64_t axes[TML_MAX_RANK];
    int n_axes = 0, i, d;
    for (d = 0; d < TML_MAX_RANK; d++)
        mask[d] = 0;
    if (at) {
        int64_t cnt = tml_tensor_numel(at);
        if (!at->data)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "input '%s' (axes) is not a constant",
                                   at->name ? at->name : "?");
        if (at->dtype != TML_DT_S64 && at->dtype != TML_DT_S32)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "input '%s' (axes) has dtype '%s'",
                                   at->name ? at->name : "?", tml_dtype_name(at->dtype));
        if (at->rank > 1 || cnt < 0 || cnt > x->rank)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input '%s' (axes) has %lld values for rank %d",
                                   at->name ? at->name : "?", (long long)cnt, x->rank);
        n_axes = (int)cnt;
        for (i = 0; i < n_axes; i++)
            axes[i] = at->dtype == TML_DT_S64 ? ((const int64_t *)at->data)[i]
                                              : ((const int32_t *)at->data)[i];
    } else {
        const int64_t *v;
        int cnt = tml_node_attr_ints(n, "axes", &v);
        if (cnt > x->rank)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "attribute 'axes' has %d values for rank %d", cnt, x->rank);
        for (i = 0; i < cnt; i++)
            axes[n_axes++] = v[i];
    }
    if (n_axes == 0) {
        if (tml_node_attr_int(n, "noop_with_empty_axes", 0) == 0)
            for (d = 0; d < x->rank; d++)
                mask[d] = 1;
        return TML_OK;
    }
    for (i = 0; i < n_axes; i++) {
        int64_t a = axes[i] < 0 ? axes[i] + x->rank : axes[i];
        if (a < 0 || a >= x->rank)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %lld out of range for rank %d",
                                   (long long)axes[i], x->rank);
        if (mask[a])
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %lld repeated",
                                   (long long)axes[i]);
        mask[a] = 1;
    }
    return TML_OK;
}

static tml_status shape_reduce(tml_graph *g, int node, uint32_t allowed)
{
    tml_tensor *x, *y;
    int mask[TML_MAX_RANK], d, r = 0;
    int64_t dims[TML_MAX_RANK];
    int keep = tml_node_attr_int(&g->nodes[node], "keepdims", 1) != 0;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_dtype(g, node, x, allowed)) || (st = reduce_axes(g, node, x, mask)))
        return st;
    for (d = 0; d < x->rank; d++) {
        if (!mask[d])
            dims[r++] = x->dims[d];
        else if (keep)
            dims[r++] = 1;
    }
    tml_tensor_set_shape(y, x->dtype, r, dims);
    return TML_OK;
}

static tml_status lower_reduce(tml_graph *g, int node, tml_step_desc *step, int op)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x, *y;
    tml_reduce_params *p;
    int mask[TML_MAX_RANK], d;
    uint64_t s = 1, count = 1;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_numel(g, node, x)) || (st = check_numel(g, node, y)) ||
        (st = reduce_axes(g, node, x, mask)))
        return st;
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->op = op;
    p->rank = x->rank;
    dims_to_u32(x->rank, x->dims, p->dims);
    for (d = x->rank - 1; d >= 0; d--) {
        if (mask[d]) {
            p->out_strides[d] = 0;
            count *= (uint64_t)x->dims[d];
        } else {
            p->out_strides[d] = (uint32_t)s;
            s *= (uint64_t)x->dims[d];
        }
    }
    p->out_numel = (uint32_t)tml_tensor_numel(y);
    p->count = (uint32_t)count;
    step->kernel = x->dtype == TML_DT_F32 ? TML_K_REDUCE_F32 : TML_K_REDUCE_U8;
    if (step->kernel == TML_K_REDUCE_U8 && op != TML_REDUCE_MAX)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(x->dtype));
    step->params = p;
    step->params_size = sizeof(*p);
    step->in[0] = n->in[0];
    step->n_in = 1; /* axes folded into params */
    step->out[0] = n->out[0];
    step->n_out = 1;
    return TML_OK;
}

tml_status tml_shape_reduce_mean(tml_graph *g, int node) { return shape_reduce(g, node, DTS_F32); }

tml_status tml_shape_reduce_max(tml_graph *g, int node)
{
    return shape_reduce(g, node, DTS_F32 | DT(TML_DT_U8) | DT(TML_DT_BOOL));
}

tml_status tml_lower_reduce_mean(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_reduce(g, node, step, TML_REDUCE_MEAN);
}

tml_status tml_lower_reduce_max(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_reduce(g, node, step, TML_REDUCE_MAX);
}

/* ---- ArgMax ---- */

/* Normalised axis of an ArgMax node, validated against x. */
static tml_status argmax_axis(tml_graph *g, int node, const tml_tensor *x, int *axis)
{
    int64_t a = tml_node_attr_int(&g->nodes[node], "axis", 0);
    int64_t r = x->rank < 1 ? 1 : x->rank;
    if (a < -r || a >= r)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "attribute 'axis=%lld' out of range for rank %d", (long long)a,
                               x->rank);
    if (x->rank == 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input '%s' is a scalar",
                               x->name ? x->name : "?");
    *axis = (int)(a < 0 ? a + r : a);
    if (x->dims[*axis] == 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %d of input '%s' is empty", *axis,
                               x->name ? x->name : "?");
    return TML_OK;
}

tml_status tml_shape_argmax(tml_graph *g, int node)
{
    tml_tensor *x, *y;
    int axis, d, r = 0;
    int64_t dims[TML_MAX_RANK];
    int keep = tml_node_attr_int(&g->nodes[node], "keepdims", 1) != 0;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_dtype(g, node, x, DTS_F32)) || (st = argmax_axis(g, node, x, &axis)))
        return st;
    for (d = 0; d < x->rank; d++) {
        if (d != axis)
            dims[r++] = x->dims[d];
        else if (keep)
            dims[r++] = 1;
    }
    tml_tensor_set_shape(y, TML_DT_S64, r, dims);
    return TML_OK;
}

tml_status tml_lower_argmax(tml_graph *g, int node, tml_step_desc *step)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x, *y;
    tml_argmax_params *p;
    int axis, d;
    uint64_t outer = 1, inner = 1;
    tml_status st;
    if ((st = get_output(g, node, &y)) || (st = get_input(g, node, 0, &x)) ||
        (st = check_numel(g, node, x)) || (st = argmax_axis(g, node, x, &axis)))
        return st;
    for (d = 0; d < axis; d++)
        outer *= (uint64_t)x->dims[d];
    for (d = axis + 1; d < x->rank; d++)
        inner *= (uint64_t)x->dims[d];
    p = tml_graph_alloc(g, sizeof(*p));
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->outer = (uint32_t)outer;
    p->n = (uint32_t)x->dims[axis];
    p->inner = (uint32_t)inner;
    p->select_last = tml_node_attr_int(n, "select_last_index", 0) != 0;
    step->kernel = TML_K_ARGMAX_F32;
    step->params = p;
    step->params_size = sizeof(*p);
    step->in[0] = n->in[0];
    step->n_in = 1;
    step->out[0] = n->out[0];
    step->n_out = 1;
    return TML_OK;
}
