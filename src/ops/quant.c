/*
 * quant.c - shape and lowering hooks of the 'quant' op family: QuantizeLinear,
 * DequantizeLinear, QLinearMatMul, QLinearConv, MatMulInteger, ConvInteger.
 *
 * How: the ONNX ops keep their scales and zero points as tensors and the _x kernels read them
 * (they may be graph inputs in ONNX's backend tests); the hooks check dtypes, broadcasting of
 * per-axis / per-row / per-column parameters and the conv geometry, then pass the inputs
 * through in ONNX order. TFLite's QUANTIZE/DEQUANTIZE arrive with one input and the parameters
 * on the tensors' tml_quant: the lowering copies them into the params (per tensor).
 *
 * Why float requantization for the ONNX ops: the ONNX reference and ONNX Runtime requantize
 * with a float multiplier and ties-to-even rounding; TFLite's fixed-point arithmetic
 * (fixedpoint.h) would differ by one step on some values. TFLite graphs use the _s8 kernels
 * and the fixed-point path (see quant_route.h).
 */
#include <string.h>

#include "ops/ops.h"
#include "ops/quant_route.h"
#include "tml/fixedpoint.h"
#include "tml/nn_check.h"

static tml_node *node_of(tml_graph *g, int node) { return &g->nodes[node]; }

static bool is_qtype(tml_dtype dt)
{
    return dt == TML_DT_S8 || dt == TML_DT_U8 || dt == TML_DT_S16 || dt == TML_DT_U16;
}

static bool known(const tml_tensor *t) { return t && t->rank >= 0 && t->dtype != TML_DT_UNDEF; }

static int64_t numel(const tml_tensor *t) { return tml_tensor_numel(t); }

static void set_out(tml_graph *g, int node, tml_dtype dt, int rank, const int64_t *dims)
{
    tml_tensor *t = tml_node_output(g, node_of(g, node), 0);
    if (t)
        tml_tensor_set_shape(t, dt, rank, dims);
}

static tml_status need_known(tml_graph *g, int node, const tml_tensor *t, const char *what)
{
    int i;
    if (!known(t))
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input '%s' has no known shape", what);
    for (i = 0; i < t->rank; i++)
        if (t->dims[i] < 1 || t->dims[i] > TML_NN_LIM)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "input '%s' dim %d is %lld", what, i, (long long)t->dims[i]);
    if (numel(t) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input '%s' has too many elements",
                               what);
    return TML_OK;
}

/* A scale input: float32 (float16 and others are reported unsupported by name). */
static tml_status need_scale(tml_graph *g, int node, const tml_tensor *t, const char *what)
{
    tml_status st = need_known(g, node, t, what);
    if (st)
        return st;
    if (t->dtype != TML_DT_F32)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input '%s' has dtype %s (only "
                               "float32 scales are supported)", what, tml_dtype_name(t->dtype));
    return TML_OK;
}

static tml_status need_qtype(tml_graph *g, int node, const tml_tensor *t, const char *what,
                             bool allow_s32)
{
    if (!is_qtype(t->dtype) && !(allow_s32 && t->dtype == TML_DT_S32))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input '%s' has dtype %s (supported: int8, uint8, int16, uint16%s)",
                               what, tml_dtype_name(t->dtype), allow_s32 ? ", int32" : "");
    return TML_OK;
}

static tml_status finish(tml_graph *g, int node, tml_step_desc *step, tml_kernel_id k,
                         const void *params, uint32_t size);

/* ---- QuantizeLinear / DequantizeLinear ---- */

typedef struct {
    int64_t outer, axis, inner;
    bool per_axis;
    tml_dtype qdt; /* quantized side */
} qdq_info;

/* Common validation; quantize = 1 for QuantizeLinear. */
static tml_status qdq_common(tml_graph *g, int node, int quantize, qdq_info *qi)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *x = tml_node_input(g, n, 0), *s = tml_node_input(g, n, 1);
    tml_tensor *z = tml_node_input(g, n, 2);
    int64_t axis = tml_node_attr_int(n, "axis", 1), bs = tml_node_attr_int(n, "block_size", 0);
    tml_status st;
    int i;

    memset(qi, 0, sizeof *qi);
    if ((st = need_known(g, node, x, "x")))
        return st;
    if (bs != 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "unsupported attribute 'block_size=%lld' (blocked quantization)",
                               (long long)bs);
    if (quantize && x->dtype != TML_DT_F32)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input 'x' has dtype %s (only float32 is supported)",
                               tml_dtype_name(x->dtype));
    if (!quantize && (st = need_qtype(g, node, x, "x", true)))
        return st;
    if (!s) { /* TFLite form: the parameters are on the tensors */
        const tml_tensor *q = quantize ? tml_node_output(g, n, 0) : x;
        if (!q || !q->quant || q->quant->n != 1)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "needs per-tensor quantization parameters on '%s'",
                                   quantize ? "y" : "x");
        if (quantize && !is_qtype(q->dtype))
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output dtype %s",
                                   tml_dtype_name(q->dtype));
        qi->qdt = q->dtype;
        qi->outer = 1;
        qi->axis = numel(x);
        qi->inner = 1;
        return TML_OK;
    }
    if ((st = need_scale(g, node, s, "scale")))
        return st;
    if (z && (st = need_known(g, node, z, "zero_point")))
        return st;
    if (quantize) {
        if (z) {
            if ((st = need_qtype(g, node, z, "zero_point", false)))
                return st;
            qi->qdt = z->dtype;
        } else {
            int64_t odt = tml_node_attr_int(n, "output_dtype", TML_DT_U8);
            if (odt == 0)
                odt = TML_DT_U8;
            if (!is_qtype((tml_dtype)odt))
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                       "unsupported attribute 'output_dtype=%lld'",
                                       (long long)odt);
            qi->qdt = (tml_dtype)odt;
        }
    } else {
        qi->qdt = x->dtype;
        if (z && z->dtype != x->dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input 'x_zero_point' has dtype %s, 'x' has %s",
                                   tml_dtype_name(z->dtype), tml_dtype_name(x->dtype));
    }
    qi->per_axis = numel(s) > 1 || s->rank == 1;
    if (z && (numel(z) != numel(s) || z->rank != s->rank))
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "zero point has %lld elements, scale has %lld",
                               (long long)numel(z), (long long)numel(s));
    if (qi->per_axis) {
        if (s->rank != 1)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "scale of rank %d (blocked quantization)", s->rank);
        if (axis < 0)
            axis += x->rank;
        if (axis < 0 || axis >= x->rank || x->dims[axis] != s->dims[0])
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "attribute 'axis' is %lld but scale has %lld entries",
                                   (long long)tml_node_attr_int(n, "axis", 1),
                                   (long long)s->dims[0]);
        qi->outer = 1;
        for (i = 0; i < axis; i++)
            qi->outer *= x->dims[i];
        qi->axis = x->dims[axis];
        qi->inner = 1;
        for (i = (int)axis + 1; i < x->rank; i++)
            qi->inner *= x->dims[i];
    } else {
        qi->outer = 1;
        qi->axis = numel(x);
        qi->inner = 1;
    }
    return TML_OK;
}

static tml_status qdq_shape(tml_graph *g, int node, int quantize)
{
    qdq_info qi;
    const tml_tensor *x;
    tml_status st = qdq_common(g, node, quantize, &qi);
    if (st)
        return st;
    x = tml_node_input(g, node_of(g, node), 0);
    set_out(g, node, quantize ? qi.qdt : TML_DT_F32, x->rank, x->dims);
    return TML_OK;
}

static tml_status qdq_lower(tml_graph *g, int node, tml_step_desc *step, int quantize)
{
    const tml_node *n = node_of(g, node);
    tml_quantize_params *p;
    qdq_info qi;
    tml_status st = qdq_common(g, node, quantize, &qi);
    if (st)
        return st;
    p = (tml_quantize_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->outer = (int32_t)qi.outer;
    p->axis = (int32_t)qi.axis;
    p->inner = (int32_t)qi.inner;
    p->dtype = qi.qdt;
    p->per_axis = qi.per_axis;
    step->in[0] = n->in[0];
    step->n_in = 1;
    if (tml_node_input(g, n, 1)) {
        p->from_tensors = 1;
        step->in[step->n_in++] = n->in[1];
        if (tml_node_input(g, n, 2)) {
            p->has_zp = 1;
            step->in[step->n_in++] = n->in[2];
        }
    } else {
        const tml_tensor *q = quantize ? tml_node_output(g, n, 0) : tml_node_input(g, n, 0);
        p->scale = q->quant->scale[0];
        p->zero_point = q->quant->zero_point[0];
        p->round_away = 1; /* TfLiteRound */
    }
    step->kernel = quantize ? TML_K_QUANTIZE_X : TML_K_DEQUANTIZE_X;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* TFLite QUANTIZE from an integer type: parameters of x and y, multiplier in_scale/out_scale. */
static bool is_requantize(tml_graph *g, int node)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    return n->n_in == 1 && x && x->dtype != TML_DT_F32 && x->dtype != TML_DT_UNDEF;
}

static tml_status requant_common(tml_graph *g, int node, tml_requantize_params *p)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0), *y = tml_node_output(g, n, 0);
    tml_status st;
    if ((st = need_known(g, node, x, "x")) || (st = need_qtype(g, node, x, "x", true)))
        return st;
    if (!y || (!is_qtype(y->dtype) && y->dtype != TML_DT_S32))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "requantize to dtype %s",
                               y ? tml_dtype_name(y->dtype) : "?");
    if (!x->quant || x->quant->n != 1 || !y->quant || y->quant->n != 1 ||
        !(x->quant->scale[0] > 0.0f) || !(y->quant->scale[0] > 0.0f))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "requantize needs per-tensor parameters on 'x' and 'y'");
    memset(p, 0, sizeof *p);
    p->count = (int32_t)numel(x);
    p->in_dtype = x->dtype;
    p->out_dtype = y->dtype;
    p->input_zero_point = x->quant->zero_point[0];
    p->output_zero_point = y->quant->zero_point[0];
    /* TFLite PrepareQuantizeReference */
    tml_fx_quantize_multiplier((double)x->quant->scale[0] / (double)y->quant->scale[0],
                               &p->multiplier, &p->shift);
    return TML_OK;
}

tml_status tml_shape_quantize_linear(tml_graph *g, int node)
{
    if (is_requantize(g, node)) {
        tml_requantize_params p;
        const tml_node *n = node_of(g, node);
        const tml_tensor *x = tml_node_input(g, n, 0);
        tml_status st = requant_common(g, node, &p);
        if (st)
            return st;
        set_out(g, node, tml_node_output(g, n, 0)->dtype, x->rank, x->dims);
        return TML_OK;
    }
    return qdq_shape(g, node, 1);
}

tml_status tml_lower_quantize_linear(tml_graph *g, int node, tml_step_desc *step)
{
    if (is_requantize(g, node)) {
        tml_requantize_params p;
        tml_status st = requant_common(g, node, &p);
        if (st)
            return st;
        return finish(g, node, step, TML_K_REQUANTIZE_X, &p, sizeof p);
    }
    return qdq_lower(g, node, step, 1);
}

tml_status tml_shape_dequantize_linear(tml_graph *g, int node) { return qdq_shape(g, node, 0); }

tml_status tml_lower_dequantize_linear(tml_graph *g, int node, tml_step_desc *step)
{
    return qdq_lower(g, node, step, 0);
}

/* ---- QLinearMatMul / MatMulInteger ---- */

/* Validates a, b (indices ia, ib) and fills the batch geometry and output dims of p. */
static tml_status qmm_geom(tml_graph *g, int node, int ia, int ib, tml_qmatmul_params *p,
                           int *rank_out, int64_t *dims_out)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *a = tml_node_input(g, n, ia), *b = tml_node_input(g, n, ib);
    int ra, rb, r, i;
    tml_status st;
    if ((st = need_known(g, node, a, "A")) || (st = need_known(g, node, b, "B")))
        return st;
    if ((a->dtype != TML_DT_S8 && a->dtype != TML_DT_U8) ||
        (b->dtype != TML_DT_S8 && b->dtype != TML_DT_U8))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "operands of dtype %s and %s (supported: int8, uint8)",
                               tml_dtype_name(a->dtype), tml_dtype_name(b->dtype));
    if (a->rank < 2 || b->rank < 2)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "1-D operands (ranks %d and %d) are not supported", a->rank,
                               b->rank);
    if (a->dims[a->rank - 1] != b->dims[b->rank - 2])
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "inner dimensions %lld and %lld differ",
                               (long long)a->dims[a->rank - 1], (long long)b->dims[b->rank - 2]);
    memset(p, 0, sizeof *p);
    p->m = (int32_t)a->dims[a->rank - 2];
    p->k = (int32_t)a->dims[a->rank - 1];
    p->n = (int32_t)b->dims[b->rank - 1];
    ra = a->rank - 2;
    rb = b->rank - 2;
    r = ra > rb ? ra : rb;
    p->batch_rank = r;
    for (i = 0; i < r; i++) {
        int64_t da = i - (r - ra) >= 0 ? a->dims[i - (r - ra)] : 1;
        int64_t db = i - (r - rb) >= 0 ? b->dims[i - (r - rb)] : 1;
        if (da != db && da != 1 && db != 1)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "batch dims %lld and %lld do not broadcast", (long long)da,
                                   (long long)db);
        p->a_batch[i] = (int32_t)da;
        p->b_batch[i] = (int32_t)db;
        p->out_batch[i] = (int32_t)(da > db ? da : db);
        dims_out[i] = p->out_batch[i];
    }
    dims_out[r] = p->m;
    dims_out[r + 1] = p->n;
    *rank_out = r + 2;
    p->a_dtype = a->dtype;
    p->b_dtype = b->dtype;
    return TML_OK;
}

/* Entries of a per-row (rows = m) or per-column (n) parameter: 1 or that count. */
static tml_status qparam_count(tml_graph *g, int node, const tml_tensor *t, const char *what,
                               int64_t allowed, int32_t *count)
{
    int64_t c;
    tml_status st = need_known(g, node, t, what);
    if (st)
        return st;
    c = numel(t);
    if (c != 1 && c != allowed)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input '%s' has %lld elements (expected 1 or %lld)", what,
                               (long long)c, (long long)allowed);
    *count = (int32_t)c;
    return TML_OK;
}

static tml_status qlmm_common(tml_graph *g, int node, tml_qmatmul_params *p, int *rank,
                              int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    tml_status st = qmm_geom(g, node, 0, 3, p, rank, dims);
    const tml_tensor *yz = tml_node_input(g, n, 7);
    int32_t one;
    if (st)
        return st;
    if ((st = need_scale(g, node, tml_node_input(g, n, 1), "a_scale")) ||
        (st = need_scale(g, node, tml_node_input(g, n, 4), "b_scale")) ||
        (st = need_scale(g, node, tml_node_input(g, n, 6), "y_scale")) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 1), "a_scale", p->m, &p->a_sn)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 2), "a_zero_point", p->m, &p->a_zn)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 4), "b_scale", p->n, &p->b_sn)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 5), "b_zero_point", p->n, &p->b_zn)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 6), "y_scale", 1, &one)) ||
        (st = qparam_count(g, node, yz, "y_zero_point", 1, &one)))
        return st;
    if (tml_node_input(g, n, 2)->dtype != (tml_dtype)p->a_dtype ||
        tml_node_input(g, n, 5)->dtype != (tml_dtype)p->b_dtype)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "zero point dtypes differ from operands");
    if (yz->dtype != TML_DT_S8 && yz->dtype != TML_DT_U8)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output dtype %s",
                               tml_dtype_name(yz->dtype));
    p->y_dtype = yz->dtype;
    return TML_OK;
}

tml_status tml_shape_qlinear_matmul(tml_graph *g, int node)
{
    tml_qmatmul_params p;
    int64_t dims[TML_MAX_RANK];
    int rank;
    tml_status st = qlmm_common(g, node, &p, &rank, dims);
    if (st)
        return st;
    set_out(g, node, (tml_dtype)p.y_dtype, rank, dims);
    return TML_OK;
}

/* Passes every input of node n through to the step in order. */
static void pass_inputs(const tml_node *n, tml_step_desc *step)
{
    int i;
    step->n_in = 0;
    for (i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0)
            step->in[step->n_in++] = n->in[i];
    step->n_out = 1;
    step->out[0] = n->out[0];
}

static tml_status finish(tml_graph *g, int node, tml_step_desc *step, tml_kernel_id k,
                         const void *params, uint32_t size)
{
    void *p = tml_graph_memdup(g, params, size);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    step->kernel = k;
    step->params = p;
    step->params_size = size;
    pass_inputs(node_of(g, node), step);
    return TML_OK;
}

tml_status tml_lower_qlinear_matmul(tml_graph *g, int node, tml_step_desc *step)
{
    tml_qmatmul_params p;
    int64_t dims[TML_MAX_RANK];
    int rank;
    tml_status st = qlmm_common(g, node, &p, &rank, dims);
    if (st)
        return st;
    return finish(g, node, step, TML_K_QLINEAR_MATMUL_X, &p, sizeof p);
}

static tml_status mmi_common(tml_graph *g, int node, tml_qmatmul_params *p, int *rank,
                             int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *az = tml_node_input(g, n, 2), *bz = tml_node_input(g, n, 3);
    tml_status st = qmm_geom(g, node, 0, 1, p, rank, dims);
    if (st)
        return st;
    p->y_dtype = TML_DT_S32;
    p->a_zn = p->b_zn = 1;
    if (az) {
        if ((st = qparam_count(g, node, az, "a_zero_point", p->m, &p->a_zn)))
            return st;
        if (az->dtype != (tml_dtype)p->a_dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "a_zero_point dtype differs from A");
        p->has_a_zp = 1;
    }
    if (bz) {
        if ((st = qparam_count(g, node, bz, "b_zero_point", p->n, &p->b_zn)))
            return st;
        if (bz->dtype != (tml_dtype)p->b_dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "b_zero_point dtype differs from B");
        p->has_b_zp = 1;
    }
    return TML_OK;
}

tml_status tml_shape_matmul_integer(tml_graph *g, int node)
{
    tml_qmatmul_params p;
    int64_t dims[TML_MAX_RANK];
    int rank;
    tml_status st = mmi_common(g, node, &p, &rank, dims);
    if (st)
        return st;
    set_out(g, node, TML_DT_S32, rank, dims);
    return TML_OK;
}

tml_status tml_lower_matmul_integer(tml_graph *g, int node, tml_step_desc *step)
{
    tml_qmatmul_params p;
    int64_t dims[TML_MAX_RANK];
    int rank;
    tml_status st = mmi_common(g, node, &p, &rank, dims);
    if (st)
        return st;
    return finish(g, node, step, TML_K_MATMUL_INTEGER_X, &p, sizeof p);
}

/* ---- QLinearConv / ConvInteger ---- */

/* Reads INTS attribute name (len values >= lo) into out, default dflt. */
static tml_status ints_attr(tml_graph *g, int node, const char *name, int len, int64_t lo,
                            int64_t dflt, int64_t *out)
{
    const int64_t *v;
    int c = tml_node_attr_ints(node_of(g, node), name, &v), i;
    if (c < 0) {
        for (i = 0; i < len; i++)
            out[i] = dflt;
        return TML_OK;
    }
    if (c != len)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "attribute '%s' has %d values, expected %d",
                               name, c, len);
    for (i = 0; i < len; i++) {
        if (v[i] < lo || v[i] > TML_NN_LIM)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "attribute '%s' value %d is %lld",
                                   name, i, (long long)v[i]);
        out[i] = v[i];
    }
    return TML_OK;
}

/* Conv geometry of x (input ix) and w (input iw) into p's geometry fields; output dims. */
tml_status tml_quant_conv_geom(tml_graph *g, int node, int ix, int iw, tml_qconv_params *p,
                             int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, ix), *w = tml_node_input(g, n, iw);
    const char *auto_pad = tml_node_attr_str(n, "auto_pad", "NOTSET");
    int64_t group = tml_node_attr_int(n, "group", 1);
    int64_t ks[3], st_[3], dil[3], pads[6];
    int ns, i, off;
    tml_status st;
    if ((st = need_known(g, node, x, "x")) || (st = need_known(g, node, w, "w")))
        return st;
    if ((x->dtype != TML_DT_S8 && x->dtype != TML_DT_U8) ||
        (w->dtype != TML_DT_S8 && w->dtype != TML_DT_U8))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "operands of dtype %s and %s (supported: int8, uint8)",
                               tml_dtype_name(x->dtype), tml_dtype_name(w->dtype));
    ns = x->rank - 2;
    if (ns < 1 || ns > 3 || w->rank != x->rank)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input ranks %d and %d", x->rank,
                               w->rank);
    if (group < 1 || x->dims[1] % group || w->dims[0] % group || w->dims[1] * group != x->dims[1])
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "channels %lld, weight [%lld, %lld, ...] and group %lld disagree",
                               (long long)x->dims[1], (long long)w->dims[0],
                               (long long)w->dims[1], (long long)group);
    if ((st = ints_attr(g, node, "kernel_shape", ns, 1, 0, ks)) ||
        (st = ints_attr(g, node, "strides", ns, 1, 1, st_)) ||
        (st = ints_attr(g, node, "dilations", ns, 1, 1, dil)) ||
        (st = ints_attr(g, node, "pads", 2 * ns, 0, 0, pads)))
        return st;
    memset(p, 0, sizeof *p);
    p->n = (int32_t)x->dims[0];
    p->c_in = (int32_t)x->dims[1];
    p->c_out = (int32_t)w->dims[0];
    p->group = (int32_t)group;
    dims[0] = x->dims[0];
    dims[1] = w->dims[0];
    off = 3 - ns;
    for (i = 0; i < 3; i++) {
        p->in[i] = p->out[i] = p->kernel[i] = p->stride[i] = p->dilation[i] = 1;
        p->pad[i] = 0;
    }
    for (i = 0; i < ns; i++) {
        int64_t in = x->dims[2 + i], k = w->dims[2 + i], s = st_[i], d = dil[i];
        int64_t ek = (k - 1) * d + 1, pb = 0, pe = 0, out;
        if (ks[i] != 0 && ks[i] != k)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "attribute 'kernel_shape' disagrees "
                                   "with the weight");
        if (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER")) {
            int64_t total;
            out = (in + s - 1) / s;
            total = (out - 1) * s + ek - in;
            if (total < 0)
                total = 0;
            pb = !strcmp(auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
        } else if (!strcmp(auto_pad, "VALID") || !strcmp(auto_pad, "NOTSET")) {
            if (!strcmp(auto_pad, "NOTSET")) {
                pb = pads[i];
                pe = pads[ns + i];
            }
            if (in + pb + pe < ek)
                return tml_node_errorf(g, node, TML_ERR_SHAPE, "window larger than the input");
            out = (in + pb + pe - ek) / s + 1;
        } else {
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'auto_pad=%s'", auto_pad);
        }
        if (out < 1 || (out - 1) * s + ek > TML_NN_LIM)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "window geometry on axis %d", i);
        p->in[off + i] = (int32_t)in;
        p->out[off + i] = (int32_t)out;
        p->kernel[off + i] = (int32_t)k;
        p->stride[off + i] = (int32_t)s;
        p->dilation[off + i] = (int32_t)d;
        p->pad[off + i] = (int32_t)pb;
        dims[2 + i] = out;
    }
    p->x_dtype = x->dtype;
    p->w_dtype = w->dtype;
    return TML_OK;
}

static tml_status qlconv_common(tml_graph *g, int node, tml_qconv_params *p, int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *yz = tml_node_input(g, n, 7), *b = tml_node_input(g, n, 8);
    int32_t one;
    tml_status st = tml_quant_conv_geom(g, node, 0, 3, p, dims);
    if (st)
        return st;
    if ((st = need_scale(g, node, tml_node_input(g, n, 1), "x_scale")) ||
        (st = need_scale(g, node, tml_node_input(g, n, 4), "w_scale")) ||
        (st = need_scale(g, node, tml_node_input(g, n, 6), "y_scale")) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 1), "x_scale", 1, &one)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 2), "x_zero_point", 1, &one)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 4), "w_scale", p->c_out, &p->w_sn)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 5), "w_zero_point", p->c_out,
                           &p->w_zn)) ||
        (st = qparam_count(g, node, tml_node_input(g, n, 6), "y_scale", 1, &one)) ||
        (st = qparam_count(g, node, yz, "y_zero_point", 1, &one)))
        return st;
    if (tml_node_input(g, n, 2)->dtype != (tml_dtype)p->x_dtype ||
        tml_node_input(g, n, 5)->dtype != (tml_dtype)p->w_dtype)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "zero point dtypes differ from operands");
    if (yz->dtype != TML_DT_S8 && yz->dtype != TML_DT_U8)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output dtype %s",
                               tml_dtype_name(yz->dtype));
    p->y_dtype = yz->dtype;
    if (b) {
        if ((st = need_known(g, node, b, "B")))
            return st;
        if (b->dtype != TML_DT_S32 || numel(b) != p->c_out)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input 'B' must be int32 with %d elements", (int)p->c_out);
        p->has_bias = 1;
    }
    return TML_OK;
}

tml_status tml_shape_qlinear_conv(tml_graph *g, int node)
{
    tml_qconv_params p;
    int64_t dims[5];
    tml_status st = qlconv_common(g, node, &p, dims);
    if (st)
        return st;
    set_out(g, node, (tml_dtype)p.y_dtype, tml_node_input(g, node_of(g, node), 0)->rank, dims);
    return TML_OK;
}

tml_status tml_lower_qlinear_conv(tml_graph *g, int node, tml_step_desc *step)
{
    tml_qconv_params p;
    int64_t dims[5];
    tml_status st = qlconv_common(g, node, &p, dims);
    if (st)
        return st;
    return finish(g, node, step, TML_K_QLINEAR_CONV_X, &p, sizeof p);
}

static tml_status convi_common(tml_graph *g, int node, tml_qconv_params *p, int64_t *dims)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *xz = tml_node_input(g, n, 2), *wz = tml_node_input(g, n, 3);
    int32_t one;
    tml_status st = tml_quant_conv_geom(g, node, 0, 1, p, dims);
    if (st)
        return st;
    p->y_dtype = TML_DT_S32;
    p->w_sn = p->w_zn = 1;
    if (xz) {
        if ((st = qparam_count(g, node, xz, "x_zero_point", 1, &one)))
            return st;
        if (xz->dtype != (tml_dtype)p->x_dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "x_zero_point dtype differs from x");
        p->has_x_zp = 1;
    }
    if (wz) {
        if ((st = qparam_count(g, node, wz, "w_zero_point", p->c_out, &p->w_zn)))
            return st;
        if (wz->dtype != (tml_dtype)p->w_dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "w_zero_point dtype differs from w");
        p->has_w_zp = 1;
    }
    return TML_OK;
}

tml_status tml_shape_conv_integer(tml_graph *g, int node)
{
    tml_qconv_params p;
    int64_t dims[5];
    tml_status st = convi_common(g, node, &p, dims);
    if (st)
        return st;
    set_out(g, node, TML_DT_S32, tml_node_input(g, node_of(g, node), 0)->rank, dims);
    return TML_OK;
}

tml_status tml_lower_conv_integer(tml_graph *g, int node, tml_step_desc *step)
{
    tml_qconv_params p;
    int64_t dims[5];
    tml_status st = convi_common(g, node, &p, dims);
    if (st)
        return st;
    return finish(g, node, step, TML_K_CONV_INTEGER_X, &p, sizeof p);
}
