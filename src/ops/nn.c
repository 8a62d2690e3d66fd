/*
 * nn.c - shape and lowering hooks of the 'nn' op family: Conv, ConvTranspose, Gemm, MatMul,
 * MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization, Softmax,
 * LogSoftmax (float32; MaxPool and GlobalMaxPool also int8/uint8).
 *
 * How it works: every spatial op (convolutions and pools) goes through one geometry helper,
 * `geom_build`, which reads kernel_shape/strides/dilations/pads/auto_pad/ceil_mode under their
 * ONNX names and defaults, validates them, and computes begin/end pads and output sizes. The
 * shape hook uses its output sizes; the lowering recomputes it (shapes are final then) and
 * copies it into the kernel's params with leading unit dims, so 1-D and 2-D ops run on the
 * 3-D kernels (see runtime/include/tml/params_nn.h). Global pools are pools whose window is
 * the whole (flattened) spatial extent.
 *
 * Why this shape: ONNX's padding rules (SAME_UPPER vs SAME_LOWER, ceil_mode dropping a
 * window that would start in the end padding, count_include_pad) are easy to get subtly
 * wrong, so they live in exactly one place and every op shares them. All numbers are checked
 * here, at the compiler's boundary, against the int32 limits the kernels' _check companions
 * enforce (TML_NN_LIM), so a model the compiler accepts is one the device accepts.
 */
#include <string.h>

#include "ops/ops.h"
#include "tml/nn_check.h"

/* ---- small helpers ---- */

static tml_node *node_of(tml_graph *g, int node) { return &g->nodes[node]; }

/* TML_ERR_UNSUPPORTED unless tensor t (input `what`) is float32 with a known shape. */
static tml_status need_f32(tml_graph *g, int node, const tml_tensor *t, const char *what)
{
    if (!t)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input '%s'", what);
    if (t->rank < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input '%s' has unknown shape", what);
    if (t->dtype != TML_DT_F32)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(t->dtype));
    return TML_OK;
}

/*
 * Max pooling also takes 8-bit integers (ONNX opset 12+, TFLite int8): the maximum of
 * quantized values is the quantized maximum, so no requantization is needed as long as input
 * and output share their quantization (TFLite guarantees it; checked here). A fused activation
 * on 8-bit data would need the output's zero point and is refused.
 */
static tml_status need_max_dtype(tml_graph *g, int node, const tml_tensor *x)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *y = tml_node_output(g, n, 0);
    if (!x || x->rank < 0 || (x->dtype != TML_DT_S8 && x->dtype != TML_DT_U8))
        return need_f32(g, node, x, "X");
    if (n->act != TML_ACT_NONE)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "fused activation on a '%s' output is not supported",
                               tml_dtype_name(x->dtype));
    if (y && y->quant && x->quant &&
        (y->quant->n != 1 || x->quant->n != 1 || y->quant->scale[0] != x->quant->scale[0] ||
         y->quant->zero_point[0] != x->quant->zero_point[0]))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "output quantization differs from the input's");
    return TML_OK;
}

/* The max-pool kernel for X's dtype. */
static tml_kernel_id maxpool_kernel(const tml_tensor *x)
{
    return x->dtype == TML_DT_S8 ? TML_K_MAXPOOL_S8
           : x->dtype == TML_DT_U8 ? TML_K_MAXPOOL_U8
                                   : TML_K_MAXPOOL_F32;
}

/* Spatial ops are written for ONNX's channels-first layout; a TFLite NHWC activation must be
 * transposed by a pass before it reaches them, never silently misread. */
static tml_status need_nchw(tml_graph *g, int node, const tml_tensor *t, const char *what)
{
    if (t->layout == TML_LAYOUT_NHWC)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input '%s' has layout NHWC, expected NCHW", what);
    return TML_OK;
}

/* TML_ERR_UNSUPPORTED unless every dim of t is in [1, TML_NN_LIM] (what the kernels take). */
static tml_status need_dims(tml_graph *g, int node, const tml_tensor *t, const char *what)
{
    int i;
    for (i = 0; i < t->rank; i++)
        if (t->dims[i] < 1 || t->dims[i] > TML_NN_LIM)
            return tml_node_errorf(g, node, t->dims[i] < 1 ? TML_ERR_SHAPE : TML_ERR_UNSUPPORTED,
                                   "input '%s' dim %d is %lld (must be 1..%ld)", what, i,
                                   (long long)t->dims[i], (long)TML_NN_LIM);
    return TML_OK;
}

/* Product of n dims, saturating at 2^40 (more than any limit here) so hostile shapes cannot
 * overflow int64. */
static int64_t prod(const int64_t *d, int n)
{
    const int64_t sat = (int64_t)1 << 40;
    int64_t p = 1;
    int i;
    for (i = 0; i < n; i++) {
        if (d[i] <= 0)
            return d[i] == 0 ? 0 : -1;
        p = d[i] > sat / p ? sat : p * d[i];
    }
    return p;
}

/* Sets output `i` of node to (F32, rank, dims) if it is present. */
static void set_out(tml_graph *g, int node, int i, tml_dtype dt, int rank, const int64_t *dims)
{
    tml_tensor *t = tml_node_output(g, node_of(g, node), i);
    if (t)
        tml_tensor_set_shape(t, dt, rank, dims);
}

/* Copies the node's fused activation into a kernel's act fields. */
static void copy_act(const tml_node *n, int32_t *act, float *a, float *b)
{
    *act = (int32_t)n->act;
    *a = n->act_a;
    *b = n->act_b;
}

/* Reads INTS attribute `name` of exactly `len` values in [lo, TML_NN_LIM] into out, or fills
 * out with dflt if absent. */
static tml_status ints_attr(tml_graph *g, int node, const char *name, int len, int64_t lo,
                            int64_t dflt, int64_t *out)
{
    const int64_t *v;
    int n = tml_node_attr_ints(node_of(g, node), name, &v), i;
    if (n < 0) {
        if (tml_node_attr(node_of(g, node), name))
            return tml_node_errorf(g, node, TML_ERR_FORMAT, "attribute '%s' is not a list of ints",
                                   name);
        for (i = 0; i < len; i++)
            out[i] = dflt;
        return TML_OK;
    }
    if (n != len)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "attribute '%s' has %d values, expected %d",
                               name, n, len);
    for (i = 0; i < len; i++) {
        if (v[i] < lo || v[i] > TML_NN_LIM)
            return tml_node_errorf(g, node, v[i] < lo ? TML_ERR_SHAPE : TML_ERR_UNSUPPORTED,
                                   "attribute '%s' value %d is %lld (must be %lld..%ld)", name, i,
                                   (long long)v[i], (long long)lo, (long)TML_NN_LIM);
        out[i] = v[i];
    }
    return TML_OK;
}

/* ---- geometry of sliding windows (Conv, ConvTranspose, MaxPool, AveragePool) ---- */

typedef enum { GEOM_CONV, GEOM_POOL, GEOM_CONV_TRANSPOSE } geom_kind;

typedef struct {
    int ns;                 /* spatial rank 1..3 */
    int64_t in[3];          /* input spatial size */
    int64_t k[3];           /* kernel size */
    int64_t stride[3], dil[3];
    int64_t pad_b[3], pad_e[3]; /* begin / end padding */
    int64_t out[3];         /* output spatial size */
} geom;

/*
 * Reads the window attributes of node and computes pads and output sizes for input x.
 * wk: kernel sizes from the weight (conv) or NULL (pools: kernel_shape is required).
 */
static tml_status geom_build(tml_graph *g, int node, geom_kind kind, const tml_tensor *x,
                             const int64_t *wk, geom *gm)
{
    const tml_node *n = node_of(g, node);
    const char *auto_pad = tml_node_attr_str(n, "auto_pad", "NOTSET");
    int64_t ceil_mode = kind == GEOM_POOL ? tml_node_attr_int(n, "ceil_mode", 0) : 0;
    int64_t pads[6], out_pad[3], out_shape[5];
    int ns = x->rank - 2, i, has_out_shape = 0;
    tml_status st;

    memset(gm, 0, sizeof *gm);
    if (ns < 1 || ns > 3)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input 'X' has rank %d, expected 3..5 (1-D to 3-D spatial)",
                               x->rank);
    gm->ns = ns;
    if (prod(x->dims, x->rank) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input 'X' has too many elements");
    for (i = 0; i < ns; i++)
        gm->in[i] = x->dims[2 + i];

    if (wk) {
        st = ints_attr(g, node, "kernel_shape", ns, 1, 0, gm->k);
        if (st)
            return st;
        for (i = 0; i < ns; i++) {
            if (gm->k[i] == 0)
                gm->k[i] = wk[i];
            else if (gm->k[i] != wk[i])
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "attribute 'kernel_shape' value %d is %lld but input 'W' "
                                       "has %lld",
                                       i, (long long)gm->k[i], (long long)wk[i]);
        }
    } else {
        if (!tml_node_attr(n, "kernel_shape"))
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing attribute 'kernel_shape'");
        st = ints_attr(g, node, "kernel_shape", ns, 1, 1, gm->k);
        if (st)
            return st;
    }
    if ((st = ints_attr(g, node, "strides", ns, 1, 1, gm->stride)) ||
        (st = ints_attr(g, node, "dilations", ns, 1, 1, gm->dil)) ||
        (st = ints_attr(g, node, "pads", 2 * ns, 0, 0, pads)))
        return st;
    if (ceil_mode != 0 && ceil_mode != 1)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "unsupported attribute 'ceil_mode=%lld'", (long long)ceil_mode);
    if (strcmp(auto_pad, "NOTSET") && strcmp(auto_pad, "SAME_UPPER") &&
        strcmp(auto_pad, "SAME_LOWER") && strcmp(auto_pad, "VALID"))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported attribute 'auto_pad=%s'",
                               auto_pad);

    if (kind == GEOM_CONV_TRANSPOSE) {
        const int64_t *os;
        int nos = tml_node_attr_ints(n, "output_shape", &os);
        if ((st = ints_attr(g, node, "output_padding", ns, 0, 0, out_pad)))
            return st;
        if (nos >= 0) {
            if (nos != ns && nos != ns + 2)
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "attribute 'output_shape' has %d values, expected %d",
                                       nos, ns);
            for (i = 0; i < ns; i++) {
                out_shape[i] = os[nos - ns + i];
                if (out_shape[i] < 1 || out_shape[i] > TML_NN_LIM)
                    return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                           "attribute 'output_shape' value %d is %lld", i,
                                           (long long)out_shape[i]);
            }
            has_out_shape = 1;
        }
        for (i = 0; i < ns; i++) {
            int64_t full, total, half;
            if (out_pad[i] >= gm->stride[i] && out_pad[i] >= gm->dil[i])
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "attribute 'output_padding' value %d is %lld (must be "
                                       "smaller than stride %lld or dilation %lld)",
                                       i, (long long)out_pad[i], (long long)gm->stride[i],
                                       (long long)gm->dil[i]);
            full = gm->stride[i] * (gm->in[i] - 1) + out_pad[i] + (gm->k[i] - 1) * gm->dil[i] + 1;
            if (has_out_shape || !strcmp(auto_pad, "SAME_UPPER") ||
                !strcmp(auto_pad, "SAME_LOWER")) {
                int64_t want = has_out_shape ? out_shape[i] : gm->in[i] * gm->stride[i];
                /* ONNX: total may be negative (output larger than the full transposed
                 * size, extra positions get only the bias); halves round toward -inf */
                total = full - want;
                half = total >= 0 ? total / 2 : -((1 - total) / 2);
                if (!strcmp(auto_pad, "SAME_UPPER")) {
                    gm->pad_b[i] = half;
                    gm->pad_e[i] = total - half;
                } else {
                    gm->pad_b[i] = total - half;
                    gm->pad_e[i] = half;
                }
                gm->out[i] = want;
            } else {
                if (strcmp(auto_pad, "VALID")) {
                    gm->pad_b[i] = pads[i];
                    gm->pad_e[i] = pads[ns + i];
                }
                gm->out[i] = full - gm->pad_b[i] - gm->pad_e[i];
            }
        }
    } else {
        for (i = 0; i < ns; i++) {
            int64_t ek = (gm->k[i] - 1) * gm->dil[i] + 1; /* effective window extent */
            int64_t s = gm->stride[i], in = gm->in[i];
            if (!strcmp(auto_pad, "SAME_UPPER") || !strcmp(auto_pad, "SAME_LOWER")) {
                int64_t total;
                gm->out[i] = (in + s - 1) / s;
                total = (gm->out[i] - 1) * s + ek - in;
                if (total < 0)
                    total = 0;
                gm->pad_b[i] = !strcmp(auto_pad, "SAME_UPPER") ? total / 2 : total - total / 2;
                gm->pad_e[i] = total - gm->pad_b[i];
            } else {
                int64_t span;
                if (!strcmp(auto_pad, "NOTSET")) {
                    gm->pad_b[i] = pads[i];
                    gm->pad_e[i] = pads[ns + i];
                }
                span = in + gm->pad_b[i] + gm->pad_e[i] - ek;
                if (span < 0)
                    return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                           "window extent %lld on axis %d exceeds the padded "
                                           "input %lld",
                                           (long long)ek, i,
                                           (long long)(in + gm->pad_b[i] + gm->pad_e[i]));
                if (ceil_mode) {
                    gm->out[i] = (span + s - 1) / s + 1;
                    /* a last window that would start in the end padding is dropped */
                    if ((gm->out[i] - 1) * s >= in + gm->pad_b[i])
                        gm->out[i]--;
                } else {
                    gm->out[i] = span / s + 1;
                }
            }
        }
    }
    for (i = 0; i < ns; i++) {
        if (gm->out[i] < 1)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "output size on axis %d is %lld", i,
                                   (long long)gm->out[i]);
        if (gm->out[i] > TML_NN_LIM || gm->pad_b[i] > TML_NN_LIM || gm->pad_e[i] > TML_NN_LIM ||
            gm->pad_b[i] < -TML_NN_LIM || gm->pad_e[i] < -TML_NN_LIM ||
            (gm->out[i] - 1) * gm->stride[i] + (gm->k[i] - 1) * gm->dil[i] > TML_NN_LIM ||
            (gm->in[i] - 1) * gm->stride[i] + (gm->k[i] - 1) * gm->dil[i] > TML_NN_LIM)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "window geometry on axis %d exceeds %ld", i, (long)TML_NN_LIM);
    }
    return TML_OK;
}

/* Copies geometry into 3-D (D, H, W) params arrays with leading unit dims. */
static void geom_to3(const geom *gm, int32_t *in, int32_t *out, int32_t *k, int32_t *stride,
                     int32_t *pad, int32_t *pad_end, int32_t *dil)
{
    int i, off = 3 - gm->ns;
    for (i = 0; i < 3; i++) {
        int s = i - off;
        in[i] = s >= 0 ? (int32_t)gm->in[s] : 1;
        out[i] = s >= 0 ? (int32_t)gm->out[s] : 1;
        k[i] = s >= 0 ? (int32_t)gm->k[s] : 1;
        stride[i] = s >= 0 ? (int32_t)gm->stride[s] : 1;
        pad[i] = s >= 0 ? (int32_t)gm->pad_b[s] : 0;
        if (pad_end)
            pad_end[i] = s >= 0 ? (int32_t)gm->pad_e[s] : 0;
        dil[i] = s >= 0 ? (int32_t)gm->dil[s] : 1;
    }
}

/* ---- Conv ---- */

/* Validates X, W, B of Conv (transpose = 0) or ConvTranspose (1); computes geometry and the
 * output channel count. */
static tml_status conv_common(tml_graph *g, int node, int transpose, geom *gm, int64_t *c_out,
                              int64_t *group_out)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *x = tml_node_input(g, n, 0), *w = tml_node_input(g, n, 1);
    tml_tensor *b = tml_node_input(g, n, 2);
    int64_t group = tml_node_attr_int(n, "group", 1), c_in;
    tml_status st;

    if ((st = need_f32(g, node, x, "X")) || (st = need_f32(g, node, w, "W")) ||
        (b && (st = need_f32(g, node, b, "B"))) || (st = need_nchw(g, node, x, "X")))
        return st;
    if (x->rank < 3 || x->rank > 5)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input 'X' has rank %d, expected 3..5 (1-D to 3-D spatial)",
                               x->rank);
    if (w->rank != x->rank)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'W' has rank %d, 'X' has rank %d",
                               w->rank, x->rank);
    if ((st = need_dims(g, node, x, "X")) || (st = need_dims(g, node, w, "W")))
        return st;
    if (prod(w->dims, w->rank) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input 'W' has too many elements");
    c_in = x->dims[1];
    if (group < 1 || group > c_in)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "attribute 'group' is %lld (input has %lld channels)",
                               (long long)group, (long long)c_in);
    if (c_in % group)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "input channels %lld not divisible by group %lld", (long long)c_in,
                               (long long)group);
    if (!transpose) {
        if (w->dims[1] * group != c_in)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input 'W' dim 1 is %lld, expected %lld (channels %lld / "
                                   "group %lld)",
                                   (long long)w->dims[1], (long long)(c_in / group),
                                   (long long)c_in, (long long)group);
        if (w->dims[0] % group)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "output channels %lld not divisible by group %lld",
                                   (long long)w->dims[0], (long long)group);
        *c_out = w->dims[0];
    } else {
        if (w->dims[0] != c_in)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input 'W' dim 0 is %lld, expected %lld (input channels)",
                                   (long long)w->dims[0], (long long)c_in);
        *c_out = w->dims[1] * group;
        if (*c_out > TML_NN_LIM)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output channels %lld too many",
                                   (long long)*c_out);
    }
    if (b && (b->rank != 1 || b->dims[0] != *c_out))
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "input 'B' must have shape [%lld], has rank %d dim0 %lld",
                               (long long)*c_out, b->rank, b->rank > 0 ? (long long)b->dims[0] : 0LL);
    *group_out = group;
    return geom_build(g, node, transpose ? GEOM_CONV_TRANSPOSE : GEOM_CONV, x, w->dims + 2, gm);
}

static tml_status conv_shape(tml_graph *g, int node, int transpose)
{
    geom gm;
    int64_t c_out, group, dims[5];
    const tml_tensor *x = tml_node_input(g, node_of(g, node), 0);
    tml_status st = conv_common(g, node, transpose, &gm, &c_out, &group);
    int i;
    if (st)
        return st;
    dims[0] = x->dims[0];
    dims[1] = c_out;
    for (i = 0; i < gm.ns; i++)
        dims[2 + i] = gm.out[i];
    if (prod(dims, x->rank) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output has too many elements");
    set_out(g, node, 0, TML_DT_F32, x->rank, dims);
    return TML_OK;
}

tml_status tml_shape_conv(tml_graph *g, int node) { return conv_shape(g, node, 0); }

tml_status tml_lower_conv(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    tml_conv_params *p;
    geom gm;
    int64_t c_out, group;
    tml_status st = conv_common(g, node, 0, &gm, &c_out, &group);
    const tml_tensor *x = tml_node_input(g, n, 0);
    if (st)
        return st;
    p = (tml_conv_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->n = (int32_t)x->dims[0];
    p->c_in = (int32_t)x->dims[1];
    p->c_out = (int32_t)c_out;
    p->group = (int32_t)group;
    geom_to3(&gm, p->in, p->out, p->kernel, p->stride, p->pad, NULL, p->dilation);
    p->has_bias = tml_node_input(g, n, 2) != NULL;
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->kernel = TML_K_CONV_F32;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 2 + p->has_bias;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    if (p->has_bias)
        step->in[2] = n->in[2];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- ConvTranspose ---- */

tml_status tml_shape_conv_transpose(tml_graph *g, int node) { return conv_shape(g, node, 1); }

tml_status tml_lower_conv_transpose(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    tml_conv_transpose_params *p;
    geom gm;
    int64_t c_out, group;
    tml_status st = conv_common(g, node, 1, &gm, &c_out, &group);
    const tml_tensor *x = tml_node_input(g, n, 0);
    if (st)
        return st;
    p = (tml_conv_transpose_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->n = (int32_t)x->dims[0];
    p->c_in = (int32_t)x->dims[1];
    p->c_out = (int32_t)c_out;
    p->group = (int32_t)group;
    geom_to3(&gm, p->in, p->out, p->kernel, p->stride, p->pad, NULL, p->dilation);
    p->has_bias = tml_node_input(g, n, 2) != NULL;
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->kernel = TML_K_CONV_TRANSPOSE_F32;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 2 + p->has_bias;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    if (p->has_bias)
        step->in[2] = n->in[2];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Gemm ---- */

typedef struct {
    int64_t m, n, k, c_rows, c_cols;
    int trans_a, trans_b;
} gemm_dims;

static tml_status gemm_common(tml_graph *g, int node, gemm_dims *d)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *a = tml_node_input(g, n, 0), *b = tml_node_input(g, n, 1);
    tml_tensor *c = tml_node_input(g, n, 2);
    int64_t ta = tml_node_attr_int(n, "transA", 0), tb = tml_node_attr_int(n, "transB", 0), kb;
    tml_status st;

    if ((st = need_f32(g, node, a, "A")) || (st = need_f32(g, node, b, "B")) ||
        (c && (st = need_f32(g, node, c, "C"))))
        return st;
    if (a->rank != 2 || b->rank != 2)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "inputs 'A' and 'B' must be 2-D, have rank %d and %d", a->rank,
                               b->rank);
    if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "unsupported attribute 'transA=%lld' or 'transB=%lld'",
                               (long long)ta, (long long)tb);
    if ((st = need_dims(g, node, a, "A")) || (st = need_dims(g, node, b, "B")))
        return st;
    d->trans_a = (int)ta;
    d->trans_b = (int)tb;
    d->m = ta ? a->dims[1] : a->dims[0];
    d->k = ta ? a->dims[0] : a->dims[1];
    kb = tb ? b->dims[1] : b->dims[0];
    d->n = tb ? b->dims[0] : b->dims[1];
    if (kb != d->k)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "inner dimensions differ: 'A' gives K=%lld, 'B' gives K=%lld",
                               (long long)d->k, (long long)kb);
    d->c_rows = d->c_cols = 0;
    if (c) {
        if (c->rank > 2)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'C' has rank %d, expected <= 2",
                                   c->rank);
        d->c_rows = c->rank == 2 ? c->dims[0] : 1;
        d->c_cols = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if ((d->c_rows != 1 && d->c_rows != d->m) || (d->c_cols != 1 && d->c_cols != d->n))
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input 'C' of shape [%lld,%lld] does not broadcast to "
                                   "[%lld,%lld]",
                                   (long long)d->c_rows, (long long)d->c_cols, (long long)d->m,
                                   (long long)d->n);
    }
    return TML_OK;
}

tml_status tml_shape_gemm(tml_graph *g, int node)
{
    gemm_dims d;
    int64_t dims[2];
    tml_status st = gemm_common(g, node, &d);
    if (st)
        return st;
    dims[0] = d.m;
    dims[1] = d.n;
    set_out(g, node, 0, TML_DT_F32, 2, dims);
    return TML_OK;
}

tml_status tml_lower_gemm(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    tml_gemm_params *p;
    gemm_dims d;
    tml_status st = gemm_common(g, node, &d);
    if (st)
        return st;
    p = (tml_gemm_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->m = (int32_t)d.m;
    p->n = (int32_t)d.n;
    p->k = (int32_t)d.k;
    p->trans_a = d.trans_a;
    p->trans_b = d.trans_b;
    p->alpha = tml_node_attr_float(n, "alpha", 1.0f);
    p->beta = tml_node_attr_float(n, "beta", 1.0f);
    p->c_rows = (int32_t)d.c_rows;
    p->c_cols = (int32_t)d.c_cols;
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->kernel = TML_K_GEMM_F32;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = d.c_rows ? 3 : 2;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    if (d.c_rows)
        step->in[2] = n->in[2];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- MatMul ---- */

typedef struct {
    int64_t m, k, n;
    int batch_rank;
    int64_t a_batch[TML_MAX_RANK], b_batch[TML_MAX_RANK], out_batch[TML_MAX_RANK];
    int out_rank;
    int64_t out_dims[TML_MAX_RANK];
} matmul_dims;

static tml_status matmul_common(tml_graph *g, int node, matmul_dims *d)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *a = tml_node_input(g, n, 0), *b = tml_node_input(g, n, 1);
    int ar, br, i, r = 0;
    int64_t kb;
    tml_status st;

    if ((st = need_f32(g, node, a, "A")) || (st = need_f32(g, node, b, "B")))
        return st;
    if (a->rank < 1 || b->rank < 1)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "inputs must have rank >= 1 (have %d, %d)",
                               a->rank, b->rank);
    if ((st = need_dims(g, node, a, "A")) || (st = need_dims(g, node, b, "B")))
        return st;
    ar = a->rank;
    br = b->rank;
    d->m = ar == 1 ? 1 : a->dims[ar - 2];
    d->k = a->dims[ar - 1];
    kb = br == 1 ? b->dims[0] : b->dims[br - 2];
    d->n = br == 1 ? 1 : b->dims[br - 1];
    if (kb != d->k)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "inner dimensions differ: 'A' has %lld, 'B' has %lld",
                               (long long)d->k, (long long)kb);
    d->batch_rank = (ar > 2 ? ar - 2 : 0) > (br > 2 ? br - 2 : 0) ? ar - 2 : (br > 2 ? br - 2 : 0);
    for (i = 0; i < d->batch_rank; i++) {
        int ai = i - (d->batch_rank - (ar > 2 ? ar - 2 : 0));
        int bi = i - (d->batch_rank - (br > 2 ? br - 2 : 0));
        int64_t da = ai >= 0 ? a->dims[ai] : 1, db = bi >= 0 ? b->dims[bi] : 1;
        if (da != db && da != 1 && db != 1)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "batch dimensions do not broadcast: %lld vs %lld",
                                   (long long)da, (long long)db);
        d->a_batch[i] = da;
        d->b_batch[i] = db;
        d->out_batch[i] = da > db ? da : db;
        d->out_dims[r++] = d->out_batch[i];
    }
    if (ar > 1)
        d->out_dims[r++] = d->m;
    if (br > 1)
        d->out_dims[r++] = d->n;
    d->out_rank = r;
    if (prod(d->out_dims, r) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output has too many elements");
    return TML_OK;
}

tml_status tml_shape_matmul(tml_graph *g, int node)
{
    matmul_dims d;
    tml_status st = matmul_common(g, node, &d);
    if (st)
        return st;
    set_out(g, node, 0, TML_DT_F32, d.out_rank, d.out_dims);
    return TML_OK;
}

tml_status tml_lower_matmul(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    tml_matmul_params *p;
    matmul_dims d;
    int i;
    tml_status st = matmul_common(g, node, &d);
    if (st)
        return st;
    p = (tml_matmul_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->m = (int32_t)d.m;
    p->k = (int32_t)d.k;
    p->n = (int32_t)d.n;
    p->batch_rank = d.batch_rank;
    for (i = 0; i < d.batch_rank; i++) {
        p->a_batch[i] = (int32_t)d.a_batch[i];
        p->b_batch[i] = (int32_t)d.b_batch[i];
        p->out_batch[i] = (int32_t)d.out_batch[i];
    }
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->kernel = TML_K_MATMUL_F32;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 2;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- MaxPool, AveragePool ---- */

static tml_status pool_common(tml_graph *g, int node, geom *gm)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *x = tml_node_input(g, n, 0);
    tml_status st;
    st = n->op == TML_OP_MAXPOOL ? need_max_dtype(g, node, x) : need_f32(g, node, x, "X");
    if (st || (st = need_nchw(g, node, x, "X")))
        return st;
    if (x->rank < 3 || x->rank > 5)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input 'X' has rank %d, expected 3..5 (1-D to 3-D spatial)",
                               x->rank);
    if ((st = need_dims(g, node, x, "X")))
        return st;
    if (n->op == TML_OP_MAXPOOL) {
        int64_t so = tml_node_attr_int(n, "storage_order", 0);
        if (so != 0 && so != 1)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'storage_order=%lld'", (long long)so);
    } else {
        int64_t cip = tml_node_attr_int(n, "count_include_pad", 0);
        if (cip != 0 && cip != 1)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'count_include_pad=%lld'",
                                   (long long)cip);
    }
    return geom_build(g, node, GEOM_POOL, x, NULL, gm);
}

static tml_status pool_shape(tml_graph *g, int node)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    geom gm;
    int64_t dims[5];
    int i;
    tml_status st = pool_common(g, node, &gm);
    if (st)
        return st;
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    for (i = 0; i < gm.ns; i++)
        dims[2 + i] = gm.out[i];
    if (prod(dims, x->rank) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output has too many elements");
    set_out(g, node, 0, x->dtype, x->rank, dims);
    set_out(g, node, 1, TML_DT_S64, x->rank, dims); /* MaxPool Indices */
    return TML_OK;
}

static tml_status pool_lower(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    tml_pool_params *p;
    geom gm;
    tml_status st = pool_common(g, node, &gm);
    if (st)
        return st;
    p = (tml_pool_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->n = (int32_t)x->dims[0];
    p->c = (int32_t)x->dims[1];
    geom_to3(&gm, p->in, p->out, p->kernel, p->stride, p->pad, p->pad_end, p->dilation);
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    if (n->op == TML_OP_MAXPOOL) {
        step->kernel = maxpool_kernel(x);
        p->storage_order = (int32_t)tml_node_attr_int(n, "storage_order", 0);
        if (n->n_out > 1 && n->out[1] >= 0) {
            p->with_indices = 1;
            step->n_out = 2;
            step->out[1] = n->out[1];
        }
    } else {
        int i;
        step->kernel = TML_K_AVGPOOL_F32;
        p->count_include_pad = (int32_t)tml_node_attr_int(n, "count_include_pad", 0);
        /* ONNX (reference and conformance data): a ceil_mode window reaching past the end
         * padding is padded further with zeros that count in the divisor; only the end half
         * of that extra padding matters here (PyTorch and ORT count neither). */
        for (i = 0; p->count_include_pad && i < 3; i++) {
            int64_t reach = (int64_t)(p->out[i] - 1) * p->stride[i] +
                            (int64_t)(p->kernel[i] - 1) * p->dilation[i] + 1;
            int64_t extra = reach - p->in[i] - p->pad[i] - p->pad_end[i];
            if (extra > 0)
                p->pad_end[i] += (int32_t)(extra - extra / 2);
        }
    }
    return TML_OK;
}

tml_status tml_shape_maxpool(tml_graph *g, int node) { return pool_shape(g, node); }
tml_status tml_lower_maxpool(tml_graph *g, int node, tml_step_desc *step)
{
    return pool_lower(g, node, step);
}
tml_status tml_shape_avgpool(tml_graph *g, int node) { return pool_shape(g, node); }
tml_status tml_lower_avgpool(tml_graph *g, int node, tml_step_desc *step)
{
    return pool_lower(g, node, step);
}

/* ---- GlobalAveragePool, GlobalMaxPool: one window over the flattened spatial extent ---- */

static tml_status global_pool_common(tml_graph *g, int node, tml_tensor **xo)
{
    tml_tensor *x = tml_node_input(g, node_of(g, node), 0);
    tml_status st;
    st = node_of(g, node)->op == TML_OP_GLOBAL_MAXPOOL ? need_max_dtype(g, node, x)
                                                        : need_f32(g, node, x, "X");
    if (st || (st = need_nchw(g, node, x, "X")))
        return st;
    if (x->rank < 2)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'X' has rank %d, expected >= 2",
                               x->rank);
    if ((st = need_dims(g, node, x, "X")))
        return st;
    if (prod(x->dims + 2, x->rank - 2) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "spatial extent too large");
    *xo = x;
    return TML_OK;
}

static tml_status global_pool_shape(tml_graph *g, int node)
{
    tml_tensor *x;
    int64_t dims[TML_MAX_RANK];
    int i;
    tml_status st = global_pool_common(g, node, &x);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        dims[i] = i < 2 ? x->dims[i] : 1;
    set_out(g, node, 0, x->dtype, x->rank, dims);
    return TML_OK;
}

static tml_status global_pool_lower(tml_graph *g, int node, tml_step_desc *step, int is_max)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *x;
    tml_pool_params *p;
    int i;
    tml_status st = global_pool_common(g, node, &x);
    if (st)
        return st;
    p = (tml_pool_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->n = (int32_t)x->dims[0];
    p->c = (int32_t)x->dims[1];
    for (i = 0; i < 3; i++) {
        p->in[i] = p->kernel[i] = 1;
        p->out[i] = p->stride[i] = p->dilation[i] = 1;
    }
    p->in[2] = p->kernel[2] = (int32_t)prod(x->dims + 2, x->rank - 2);
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->kernel = is_max ? maxpool_kernel(x) : TML_K_AVGPOOL_F32;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

tml_status tml_shape_global_avgpool(tml_graph *g, int node) { return global_pool_shape(g, node); }
tml_status tml_lower_global_avgpool(tml_graph *g, int node, tml_step_desc *step)
{
    return global_pool_lower(g, node, step, 0);
}
tml_status tml_shape_global_maxpool(tml_graph *g, int node) { return global_pool_shape(g, node); }
tml_status tml_lower_global_maxpool(tml_graph *g, int node, tml_step_desc *step)
{
    return global_pool_lower(g, node, step, 1);
}

/* ---- BatchNormalization (inference) ---- */

/* 1 if tensor t exists and is a graph output or an input of a live node. */
static bool tensor_used(const tml_graph *g, int t)
{
    int i, j;
    if (t < 0)
        return false;
    if (g->tensors[t].is_output)
        return true;
    for (i = 0; i < g->n_nodes; i++)
        for (j = 0; j < g->nodes[i].n_in && !g->nodes[i].dead; j++)
            if (g->nodes[i].in[j] == t)
                return true;
    return false;
}

/* Old exporters list BatchNormalization's training outputs (running mean/var, saved
 * mean/var) even in inference models; when nothing reads them they are given their shape
 * (C) and never computed. */
static tml_status batchnorm_common(tml_graph *g, int node, int *per_element)
{
    static const char *const names[5] = {"X", "scale", "B", "input_mean", "input_var"};
    const tml_node *n = node_of(g, node);
    tml_tensor *x = tml_node_input(g, n, 0);
    int64_t spatial = tml_node_attr_int(n, "spatial", 1);
    int64_t training = tml_node_attr_int(n, "training_mode", 0);
    int i, j;
    tml_status st;

    for (i = 0; i < 5; i++)
        if ((st = need_f32(g, node, tml_node_input(g, n, i), names[i])))
            return st;
    if ((st = need_nchw(g, node, x, "X")))
        return st;
    if (x->rank < 2)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'X' has rank %d, expected >= 2",
                               x->rank);
    if ((st = need_dims(g, node, x, "X")))
        return st;
    if (training != 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "unsupported attribute 'training_mode=%lld'", (long long)training);
    for (i = 1; i < n->n_out; i++)
        if (tensor_used(g, n->out[i]))
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "training output %d is not supported (inference only)", i);
    if (prod(x->dims, x->rank) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input 'X' has too many elements");
    /* spatial = 0 (opsets < 9): statistics per (channel, position), shape X.shape[1:] */
    *per_element = g->opset > 0 && g->opset < 9 && spatial == 0 && x->rank > 2;
    for (i = 1; i < 5; i++) {
        const tml_tensor *s = tml_node_input(g, n, i);
        int ok = s->rank == 1 && s->dims[0] == x->dims[1];
        if (*per_element) {
            ok = s->rank == x->rank - 1;
            for (j = 0; ok && j < s->rank; j++)
                ok = s->dims[j] == x->dims[1 + j];
        }
        if (!ok)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input '%s' must have %s %lld (channels of 'X'), has rank %d",
                                   names[i], *per_element ? "X.shape[1:], dim0" : "shape",
                                   (long long)x->dims[1], s->rank);
    }
    return TML_OK;
}

tml_status tml_shape_batchnorm(tml_graph *g, int node)
{
    const tml_tensor *x = tml_node_input(g, node_of(g, node), 0);
    int per_element, i;
    tml_status st = batchnorm_common(g, node, &per_element);
    if (st)
        return st;
    set_out(g, node, 0, TML_DT_F32, x->rank, x->dims);
    for (i = 1; i < node_of(g, node)->n_out; i++) /* unused training outputs */
        set_out(g, node, i, TML_DT_F32, 1, x->dims + 1);
    return TML_OK;
}

tml_status tml_lower_batchnorm(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = node_of(g, node);
    const tml_tensor *x = tml_node_input(g, n, 0);
    tml_batchnorm_params *p;
    int per_element, i;
    tml_status st = batchnorm_common(g, node, &per_element);
    if (st)
        return st;
    p = (tml_batchnorm_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->n = (int32_t)x->dims[0];
    p->c = (int32_t)x->dims[1];
    p->inner = (int32_t)prod(x->dims + 2, x->rank - 2);
    p->per_element = per_element;
    p->epsilon = tml_node_attr_float(n, "epsilon", 1e-5f);
    copy_act(n, &p->act, &p->act_a, &p->act_b);
    step->kernel = TML_K_BATCHNORM_F32;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 5;
    for (i = 0; i < 5; i++)
        step->in[i] = n->in[i];
    step->n_out = 1;
    step->out[0] = n->out[0];
    step->inplace_of = 0;
    return TML_OK;
}

/* ---- Softmax, LogSoftmax ---- */

/* Computes the (outer, axis, inner) view of X; opsets < 13 coerce X to 2-D at axis. */
static tml_status softmax_common(tml_graph *g, int node, int64_t *outer, int64_t *len,
                                 int64_t *inner)
{
    const tml_node *n = node_of(g, node);
    tml_tensor *x = tml_node_input(g, n, 0);
    int legacy = g->opset > 0 && g->opset < 13;
    int64_t axis = tml_node_attr_int(n, "axis", legacy ? 1 : -1);
    tml_status st;
    if ((st = need_f32(g, node, x, "input")))
        return st;
    if (x->rank < 1)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input has rank 0, expected >= 1");
    if ((st = need_dims(g, node, x, "input")))
        return st;
    if (axis < -x->rank || axis >= x->rank)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "attribute 'axis' is %lld, out of range for rank %d",
                               (long long)axis, x->rank);
    if (axis < 0)
        axis += x->rank;
    *outer = prod(x->dims, (int)axis);
    if (legacy) {
        *len = prod(x->dims + axis, x->rank - (int)axis);
        *inner = 1;
    } else {
        *len = x->dims[axis];
        *inner = prod(x->dims + axis + 1, x->rank - (int)axis - 1);
    }
    if (prod(x->dims, x->rank) > TML_NN_LIM)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input has too many elements");
    return TML_OK;
}

static tml_status softmax_shape(tml_graph *g, int node)
{
    const tml_tensor *x = tml_node_input(g, node_of(g, node), 0);
    int64_t outer, len, inner;
    tml_status st = softmax_common(g, node, &outer, &len, &inner);
    if (st)
        return st;
    set_out(g, node, 0, TML_DT_F32, x->rank, x->dims);
    return TML_OK;
}

static tml_status softmax_lower(tml_graph *g, int node, tml_step_desc *step, tml_kernel_id k)
{
    const tml_node *n = node_of(g, node);
    tml_softmax_params *p;
    int64_t outer, len, inner;
    tml_status st = softmax_common(g, node, &outer, &len, &inner);
    if (st)
        return st;
    p = (tml_softmax_params *)tml_graph_alloc(g, sizeof *p);
    if (!p)
        return tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory");
    p->outer = (int32_t)outer;
    p->axis = (int32_t)len;
    p->inner = (int32_t)inner;
    step->kernel = k;
    step->params = p;
    step->params_size = sizeof *p;
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    step->inplace_of = 0;
    return TML_OK;
}

tml_status tml_shape_softmax(tml_graph *g, int node) { return softmax_shape(g, node); }
tml_status tml_lower_softmax(tml_graph *g, int node, tml_step_desc *step)
{
    return softmax_lower(g, node, step, TML_K_SOFTMAX_F32);
}
tml_status tml_shape_log_softmax(tml_graph *g, int node) { return softmax_shape(g, node); }
tml_status tml_lower_log_softmax(tml_graph *g, int node, tml_step_desc *step)
{
    return softmax_lower(g, node, step, TML_K_LOG_SOFTMAX_F32);
}
