/*
 * tflite.c - TensorFlow Lite flatbuffer (.tflite, identifier "TFL3") -> tml_graph.
 *
 * Reads subgraph 0 through the bounds-checked reader in flatbuf.c: tensors (shape, type,
 * constant buffer, per-tensor or per-channel quantization), inputs, outputs and operators.
 * First every operator code is checked, and a model with ops we cannot import fails once with
 * all of them listed ("unsupported ops: CUSTOM:ethos-u (1 node), SVDF (2 nodes)").
 *
 * The IR has ONNX semantics, so TFLite's NHWC ops are expressed in it the way ONNX would:
 * convolutions and pools get a Transpose to NCHW in front and back to NHWC behind, with their
 * weights permuted at import (OHWI -> OIHW, depthwise 1HW(C*M) -> (C*M)1HW). A Transpose to
 * NCHW of a tensor that is itself the NHWC transpose of an NCHW tensor reuses that NCHW tensor
 * directly, so a chain conv -> pool -> conv stays NCHW inside and the unused transposes die in
 * dead-node removal. Fused activations become the node's `act`.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import/flatbuf.h"
#include "import/tflite_names.h"
#include "tml/import.h"

/* BuiltinOperator codes used here (schema.fbs). */
enum {
    OP_ADD = 0, OP_AVERAGE_POOL_2D = 1, OP_CONCATENATION = 2, OP_CONV_2D = 3,
    OP_DEPTHWISE_CONV_2D = 4, OP_DEQUANTIZE = 6, OP_FULLY_CONNECTED = 9, OP_LOGISTIC = 14,
    OP_MAX_POOL_2D = 17, OP_MUL = 18, OP_RELU = 19, OP_RELU_N1_TO_1 = 20, OP_RELU6 = 21,
    OP_RESHAPE = 22, OP_SOFTMAX = 25, OP_TANH = 28, OP_CUSTOM = 32, OP_PAD = 34,
    OP_TRANSPOSE = 39, OP_MEAN = 40, OP_SUB = 41, OP_SQUEEZE = 43, OP_QUANTIZE = 114,
    OP_LEAKY_RELU = 98, OP_HARD_SWISH = 117
};

/* Field indices of the tables read (schema.fbs declaration order). */
enum { MODEL_VERSION = 0, MODEL_OPCODES = 1, MODEL_SUBGRAPHS = 2, MODEL_BUFFERS = 4 };
enum { OPCODE_DEPRECATED = 0, OPCODE_CUSTOM = 1, OPCODE_VERSION = 2, OPCODE_BUILTIN = 3 };
enum { SG_TENSORS = 0, SG_INPUTS = 1, SG_OUTPUTS = 2, SG_OPERATORS = 3, SG_NAME = 4 };
enum { T_SHAPE = 0, T_TYPE = 1, T_BUFFER = 2, T_NAME = 3, T_QUANT = 4, T_SPARSITY = 6 };
enum { Q_SCALE = 2, Q_ZERO_POINT = 3, Q_DETAILS_TYPE = 4, Q_DIM = 6 };
enum { OPR_OPCODE = 0, OPR_INPUTS = 1, OPR_OUTPUTS = 2, OPR_OPTIONS = 4 };
enum { BUF_DATA = 0, BUF_OFFSET = 1, BUF_SIZE = 2 };

#define MAX_OP_IO 16

typedef struct {
    tml_graph *g;
    tml_fb fb;
    const char *src;
    tml_fb_vec tensors, buffers, opcodes, operators;
    int32_t *codes;      /* (n opcodes) effective builtin code, or -1 for custom */
    int *tmap;           /* (n tensors) TFLite tensor -> IR tensor */
    int *nchw;           /* (IR tensors, grown) IR tensor -> its NCHW twin or -1 */
    int nchw_cap;
} tfl;

static tml_status err(tfl *c, tml_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static tml_status err(tfl *c, tml_status st, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return tml_graph_errorf(c->g, st, "%s: %s", c->src, msg);
}

static tml_dtype map_type(int t)
{
    switch (t) {
    case 0: return TML_DT_F32;
    case 1: return TML_DT_F16;
    case 2: return TML_DT_S32;
    case 3: return TML_DT_U8;
    case 4: return TML_DT_S64;
    case 6: return TML_DT_BOOL;
    case 7: return TML_DT_S16;
    case 9: return TML_DT_S8;
    case 10: return TML_DT_F64;
    case 12: return TML_DT_U64;
    case 15: return TML_DT_U32;
    case 16: return TML_DT_U16;
    default: return TML_DT_UNDEF;
    }
}

static const char *op_name(tfl *c, uint32_t opcode_index, char *buf, size_t n)
{
    tml_fb_table oc;
    int32_t code = c->codes[opcode_index];
    if (code >= 0) {
        snprintf(buf, n, "%s", code < TFLITE_N_BUILTIN_NAMES ? tflite_builtin_names[code] : "?");
        if (code >= TFLITE_N_BUILTIN_NAMES)
            snprintf(buf, n, "BUILTIN_%d", code);
    } else {
        const char *s = NULL;
        uint32_t len = 0;
        if (tml_fb_vec_table(&c->opcodes, opcode_index, &oc) && tml_fb_string(&oc, OPCODE_CUSTOM, &s, &len))
            snprintf(buf, n, "CUSTOM:%.*s", (int)(len > 60 ? 60 : len), s);
        else
            snprintf(buf, n, "CUSTOM");
    }
    return buf;
}

static bool op_supported(int32_t code)
{
    switch (code) {
    case OP_ADD: case OP_AVERAGE_POOL_2D: case OP_CONCATENATION: case OP_CONV_2D:
    case OP_DEPTHWISE_CONV_2D: case OP_DEQUANTIZE: case OP_FULLY_CONNECTED: case OP_LOGISTIC:
    case OP_MAX_POOL_2D: case OP_MUL: case OP_RELU: case OP_RELU_N1_TO_1: case OP_RELU6:
    case OP_RESHAPE: case OP_SOFTMAX: case OP_TANH: case OP_PAD: case OP_TRANSPOSE:
    case OP_MEAN: case OP_SUB: case OP_SQUEEZE: case OP_QUANTIZE: case OP_LEAKY_RELU:
    case OP_HARD_SWISH:
        return true;
    default:
        return false;
    }
}

/* ---- graph building helpers ---- */

static int nchw_get(tfl *c, int t) { return t >= 0 && t < c->nchw_cap ? c->nchw[t] : -1; }

static void nchw_set(tfl *c, int t, int twin)
{
    if (t >= c->nchw_cap) {
        int ncap = c->nchw_cap ? c->nchw_cap : 64, i;
        int *n;
        while (ncap <= t)
            ncap *= 2;
        n = realloc(c->nchw, sizeof(int) * (size_t)ncap);
        if (!n)
            return; /* a missed reuse costs a transpose, not correctness */
        for (i = c->nchw_cap; i < ncap; i++)
            n[i] = -1;
        c->nchw = n;
        c->nchw_cap = ncap;
    }
    c->nchw[t] = twin;
}

static int new_tensor(tfl *c, const char *base, const char *suffix)
{
    char name[300];
    int i = 0, t;
    snprintf(name, sizeof name, "%s%s", base, suffix);
    while (tml_graph_find_tensor(c->g, name) >= 0)
        snprintf(name, sizeof name, "%s%s_%d", base, suffix, ++i);
    t = tml_graph_add_tensor(c->g, name);
    return t;
}

static int const_i64(tfl *c, const char *base, const int64_t *vals, int n)
{
    int t = new_tensor(c, base, "_const");
    int64_t dims[1];
    if (t < 0)
        return -1;
    dims[0] = n;
    tml_tensor_set_shape(&c->g->tensors[t], TML_DT_S64, 1, dims);
    c->g->tensors[t].data = tml_graph_memdup(c->g, vals, sizeof(int64_t) * (size_t)(n ? n : 1));
    return c->g->tensors[t].data ? t : -1;
}

static int const_f32_scalar(tfl *c, const char *base, float v)
{
    int t = new_tensor(c, base, "_const");
    if (t < 0)
        return -1;
    tml_tensor_set_shape(&c->g->tensors[t], TML_DT_F32, 0, NULL);
    c->g->tensors[t].data = tml_graph_memdup(c->g, &v, sizeof v);
    return c->g->tensors[t].data ? t : -1;
}

static int add_node(tfl *c, tml_op op, const char *name, int n_in, const int *in, int n_out,
                    const int *out)
{
    return tml_graph_add_node(c->g, op, name, n_in, in, n_out, out);
}

static tml_status set_ints(tfl *c, int node, const char *name, const int64_t *v, int n)
{
    tml_attr *a = tml_node_add_attr(c->g, node, name, TML_ATTR_INTS);
    if (!a || !(a->ints = tml_graph_memdup(c->g, v, sizeof(int64_t) * (size_t)(n ? n : 1))))
        return err(c, TML_ERR_NOMEM, "out of memory");
    a->n = n;
    return TML_OK;
}

static tml_status set_int(tfl *c, int node, const char *name, int64_t v)
{
    tml_attr *a = tml_node_add_attr(c->g, node, name, TML_ATTR_INT);
    if (!a)
        return err(c, TML_ERR_NOMEM, "out of memory");
    a->i = v;
    return TML_OK;
}

static tml_status set_float(tfl *c, int node, const char *name, float v)
{
    tml_attr *a = tml_node_add_attr(c->g, node, name, TML_ATTR_FLOAT);
    if (!a)
        return err(c, TML_ERR_NOMEM, "out of memory");
    a->f = v;
    return TML_OK;
}

static tml_status set_str(tfl *c, int node, const char *name, const char *v)
{
    tml_attr *a = tml_node_add_attr(c->g, node, name, TML_ATTR_STRING);
    if (!a || !(a->s = tml_graph_strdup(c->g, v)))
        return err(c, TML_ERR_NOMEM, "out of memory");
    return TML_OK;
}

/* NHWC tensor t -> its NCHW form (reusing a twin if there is one). */
static int to_nchw(tfl *c, int t, const char *name)
{
    static const int64_t perm[4] = {0, 3, 1, 2};
    int twin = nchw_get(c, t), out, node;
    char nn[300];
    if (twin >= 0)
        return twin;
    out = new_tensor(c, c->g->tensors[t].name, "_nchw");
    if (out < 0)
        return -1;
    snprintf(nn, sizeof nn, "%s_to_nchw", name);
    node = add_node(c, TML_OP_TRANSPOSE, nn, 1, &t, 1, &out);
    if (node < 0 || set_ints(c, node, "perm", perm, 4) != TML_OK)
        return -1;
    c->g->tensors[out].layout = TML_LAYOUT_NCHW;
    return out;
}

/* Writes NCHW tensor src into the NHWC tensor dst (the TFLite op's output). */
static tml_status from_nchw(tfl *c, int src, int dst, const char *name)
{
    static const int64_t perm[4] = {0, 2, 3, 1};
    char nn[300];
    int node;
    snprintf(nn, sizeof nn, "%s_to_nhwc", name);
    node = add_node(c, TML_OP_TRANSPOSE, nn, 1, &src, 1, &dst);
    if (node < 0)
        return c->g->err_status ? c->g->err_status : TML_ERR_NOMEM;
    nchw_set(c, dst, src);
    return set_ints(c, node, "perm", perm, 4);
}

/* A new constant tensor holding t's data permuted by perm (rank 4). */
static int permute_const(tfl *c, int t, const int *perm, const char *suffix)
{
    const tml_tensor *s = &c->g->tensors[t];
    int64_t dims[4], sstride[4], i, n = tml_tensor_numel(s);
    size_t es = tml_dtype_size(s->dtype);
    int nt, d;
    uint8_t *dst;
    if (s->rank != 4 || !s->data || n < 0 || es == 0)
        return -1;
    for (d = 0; d < 4; d++)
        dims[d] = s->dims[perm[d]];
    sstride[3] = 1;
    for (d = 2; d >= 0; d--)
        sstride[d] = sstride[d + 1] * s->dims[d + 1];
    nt = new_tensor(c, s->name, suffix);
    if (nt < 0)
        return -1;
    s = &c->g->tensors[t]; /* the array may have moved */
    dst = tml_graph_alloc(c->g, (size_t)n * es + 1);
    if (!dst)
        return -1;
    for (i = 0; i < n; i++) {
        int64_t r = i, idx[4], off = 0;
        for (d = 3; d >= 0; d--) {
            idx[d] = r % dims[d];
            r /= dims[d];
        }
        for (d = 0; d < 4; d++)
            off += idx[d] * sstride[perm[d]];
        memcpy(dst + (size_t)i * es, (const uint8_t *)s->data + (size_t)off * es, es);
    }
    tml_tensor_set_shape(&c->g->tensors[nt], s->dtype, 4, dims);
    c->g->tensors[nt].data = dst;
    c->g->tensors[nt].quant = s->quant;
    return nt;
}

static tml_status set_act(tfl *c, int node, int fused, const char *opname)
{
    tml_node *n = &c->g->nodes[node];
    switch (fused) {
    case 0: return TML_OK;
    case 1: n->act = TML_ACT_RELU; return TML_OK;
    case 2: n->act = TML_ACT_CLIP; n->act_a = -1; n->act_b = 1; return TML_OK;
    case 3: n->act = TML_ACT_CLIP; n->act_a = 0; n->act_b = 6; return TML_OK;
    case 4: n->act = TML_ACT_TANH; return TML_OK;
    default:
        return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): unsupported fused activation %d",
                   n->name, opname, fused);
    }
}

/* ---- tensors ---- */

static tml_status read_tensor(tfl *c, uint32_t i)
{
    tml_fb_table t, q, b;
    tml_fb_vec shape, data;
    const char *name = NULL;
    uint32_t nlen = 0, bi;
    char nbuf[256];
    int64_t dims[TML_MAX_RANK];
    int type, rank, d, it;
    tml_dtype dt;
    tml_tensor *tt;

    if (!tml_fb_vec_table(&c->tensors, i, &t))
        return err(c, TML_ERR_FORMAT, "tensor %u: malformed (%s)", i, c->fb.why ? c->fb.why : "?");
    if (tml_fb_string(&t, T_NAME, &name, &nlen))
        snprintf(nbuf, sizeof nbuf, "%.*s", (int)(nlen > 200 ? 200 : nlen), name);
    else
        snprintf(nbuf, sizeof nbuf, "tensor_%u", i);
    for (d = 0; nbuf[d]; d++)
        if ((unsigned char)nbuf[d] < 32)
            nbuf[d] = '_';
    if (tml_graph_find_tensor(c->g, nbuf) >= 0)
        snprintf(nbuf + strlen(nbuf), sizeof nbuf - strlen(nbuf), "_%u", i);
    type = tml_fb_u8(&t, T_TYPE, 0);
    dt = map_type(type);
    if (dt == TML_DT_UNDEF)
        return err(c, TML_ERR_UNSUPPORTED, "tensor '%s': unsupported type %d", nbuf, type);
    rank = 0;
    if (tml_fb_vector(&t, T_SHAPE, 4, &shape)) {
        if (shape.n > TML_MAX_RANK)
            return err(c, TML_ERR_UNSUPPORTED, "tensor '%s': rank %u exceeds %d", nbuf, shape.n,
                       TML_MAX_RANK);
        rank = (int)shape.n;
        for (d = 0; d < rank; d++) {
            dims[d] = tml_fb_vec_i32(&shape, (uint32_t)d);
            if (dims[d] < 0)
                return err(c, TML_ERR_FORMAT, "tensor '%s': negative dimension %lld", nbuf,
                           (long long)dims[d]);
        }
    }
    if (tml_fb_present(&t, T_SPARSITY))
        return err(c, TML_ERR_UNSUPPORTED, "tensor '%s': sparse tensors are not supported", nbuf);
    it = tml_graph_add_tensor(c->g, nbuf);
    if (it < 0)
        return c->g->err_status;
    c->tmap[i] = it;
    tt = &c->g->tensors[it];
    tml_tensor_set_shape(tt, dt, rank, dims);
    if (rank == 4)
        tt->layout = TML_LAYOUT_NHWC;

    bi = tml_fb_u32(&t, T_BUFFER, 0);
    if (bi >= c->buffers.n)
        return err(c, TML_ERR_FORMAT, "tensor '%s': buffer %u of %u", nbuf, bi, c->buffers.n);
    if (bi != 0 && tml_fb_vec_table(&c->buffers, bi, &b)) {
        if (tml_fb_u64(&b, BUF_OFFSET, 0) > 1)
            return err(c, TML_ERR_UNSUPPORTED,
                       "tensor '%s': buffers outside the flatbuffer are not supported", nbuf);
        if (tml_fb_vector(&b, BUF_DATA, 1, &data) && data.n > 0) {
            int64_t need = tml_tensor_nbytes(tt);
            if (need != (int64_t)data.n)
                return err(c, TML_ERR_FORMAT, "tensor '%s': buffer has %u bytes, shape needs %lld",
                           nbuf, data.n, (long long)need);
            tt->data = tml_graph_memdup(c->g, tml_fb_vec_bytes(&data), data.n);
            if (!tt->data)
                return err(c, TML_ERR_NOMEM, "out of memory");
        }
    }
    if (tml_fb_table_field(&t, T_QUANT, &q)) {
        tml_fb_vec sc, zp;
        if (tml_fb_vector(&q, Q_SCALE, 4, &sc) && sc.n > 0) {
            tml_quant *qu = tml_graph_alloc(c->g, sizeof(tml_quant));
            uint32_t k;
            if (!qu)
                return err(c, TML_ERR_NOMEM, "out of memory");
            if (!tml_fb_vector(&q, Q_ZERO_POINT, 8, &zp))
                zp.n = 0;
            if (zp.n != 0 && zp.n != sc.n)
                return err(c, TML_ERR_FORMAT, "tensor '%s': %u scales but %u zero points", nbuf,
                           sc.n, zp.n);
            qu->n = (int)sc.n;
            qu->axis = tml_fb_i32(&q, Q_DIM, 0);
            /* converters leave the weights' channel axis on rank-1 biases; it can only be 0 */
            if (sc.n > 1 && rank == 1 && dims[0] == (int64_t)sc.n)
                qu->axis = 0;
            if (sc.n > 1 && (qu->axis < 0 || qu->axis >= rank || dims[qu->axis] != (int64_t)sc.n))
                return err(c, TML_ERR_FORMAT, "tensor '%s': %u scales do not match dimension %d",
                           nbuf, sc.n, qu->axis);
            qu->scale = tml_graph_alloc(c->g, sizeof(float) * sc.n);
            qu->zero_point = tml_graph_alloc(c->g, sizeof(int32_t) * sc.n);
            if (!qu->scale || !qu->zero_point)
                return err(c, TML_ERR_NOMEM, "out of memory");
            for (k = 0; k < sc.n; k++) {
                int64_t z = zp.n ? tml_fb_vec_i64(&zp, k) : 0;
                qu->scale[k] = tml_fb_vec_f32(&sc, k);
                if (z < INT32_MIN || z > INT32_MAX || !(qu->scale[k] >= 0) || isinf(qu->scale[k]))
                    return err(c, TML_ERR_FORMAT, "tensor '%s': bad quantization parameters", nbuf);
                qu->zero_point[k] = (int32_t)z;
            }
            c->g->tensors[it].quant = qu;
        }
    }
    return TML_OK;
}

/* ---- operators ---- */

static int io_tensor(tfl *c, const tml_fb_vec *v, uint32_t k)
{
    int32_t ti;
    if (k >= v->n)
        return -1;
    ti = tml_fb_vec_i32(v, k);
    if (ti < 0 || (uint32_t)ti >= c->tensors.n)
        return -1;
    return c->tmap[ti];
}

static const int32_t *const_i32(tfl *c, int t, int64_t *n)
{
    const tml_tensor *tt = t >= 0 ? &c->g->tensors[t] : NULL;
    if (!tt || !tt->data || tt->dtype != TML_DT_S32)
        return NULL;
    *n = tml_tensor_numel(tt);
    return tt->data;
}

static tml_status import_op(tfl *c, uint32_t oi)
{
    tml_fb_table op, opt;
    tml_fb_vec ins, outs;
    uint32_t code_i;
    int32_t code;
    int in[MAX_OP_IO], out[MAX_OP_IO], n_in, n_out, k, node = -1;
    bool has_opt;
    char opname[80];
    const char *name;
    tml_graph *g = c->g;

    if (!tml_fb_vec_table(&c->operators, oi, &op))
        return err(c, TML_ERR_FORMAT, "operator %u: malformed", oi);
    code_i = tml_fb_u32(&op, OPR_OPCODE, 0);
    if (code_i >= c->opcodes.n)
        return err(c, TML_ERR_FORMAT, "operator %u: opcode index %u of %u", oi, code_i, c->opcodes.n);
    code = c->codes[code_i];
    op_name(c, code_i, opname, sizeof opname);
    if (!tml_fb_vector(&op, OPR_INPUTS, 4, &ins))
        ins.n = 0;
    if (!tml_fb_vector(&op, OPR_OUTPUTS, 4, &outs))
        outs.n = 0;
    if (ins.n > MAX_OP_IO || outs.n > MAX_OP_IO || outs.n == 0)
        return err(c, TML_ERR_FORMAT, "operator %u (%s): %u inputs, %u outputs", oi, opname,
                   ins.n, outs.n);
    n_in = (int)ins.n;
    n_out = (int)outs.n;
    for (k = 0; k < n_in; k++) {
        int32_t ti = tml_fb_vec_i32(&ins, (uint32_t)k);
        in[k] = ti == -1 ? -1 : io_tensor(c, &ins, (uint32_t)k);
        if (ti != -1 && in[k] < 0)
            return err(c, TML_ERR_FORMAT, "operator %u (%s): input %d refers to tensor %d", oi,
                       opname, k, ti);
    }
    for (k = 0; k < n_out; k++) {
        out[k] = io_tensor(c, &outs, (uint32_t)k);
        if (out[k] < 0)
            return err(c, TML_ERR_FORMAT, "operator %u (%s): bad output %d", oi, opname, k);
    }
    name = g->tensors[out[0]].name; /* TFLite ops have no names; their output's is telling */
    has_opt = tml_fb_table_field(&op, OPR_OPTIONS, &opt);
    if (!has_opt)
        memset(&opt, 0, sizeof opt);

#define NEED_IN(n)                                                                             \
    do {                                                                                       \
        if (n_in < (n) || in[0] < 0)                                                           \
            return err(c, TML_ERR_FORMAT, "op '%s' (%s): needs %d inputs, has %d", name,       \
                       opname, (n), n_in);                                                     \
    } while (0)

    switch (code) {
    case OP_CONV_2D:
    case OP_DEPTHWISE_CONV_2D: {
        bool dw = code == OP_DEPTHWISE_CONV_2D;
        static const int ohwi_to_oihw[4] = {0, 3, 1, 2};
        static const int dw_to_oihw[4] = {3, 0, 1, 2};
        int x, w, yc, cin[3], nci = 2;
        int64_t strides[2], dil[2], ks[2];
        const tml_tensor *wt, *xt;
        NEED_IN(2);
        xt = &g->tensors[in[0]];
        wt = in[1] >= 0 ? &g->tensors[in[1]] : NULL;
        if (!wt || !wt->data || wt->rank != 4 || xt->rank != 4)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): needs a rank-4 input and constant rank-4 weights",
                       name, opname);
        ks[0] = wt->dims[1];
        ks[1] = wt->dims[2];
        strides[0] = tml_fb_i32(&opt, 2, 1);
        strides[1] = tml_fb_i32(&opt, 1, 1);
        dil[0] = tml_fb_i32(&opt, dw ? 6 : 5, 1);
        dil[1] = tml_fb_i32(&opt, dw ? 5 : 4, 1);
        x = to_nchw(c, in[0], name);
        w = permute_const(c, in[1], dw ? dw_to_oihw : ohwi_to_oihw, "_oihw");
        if (x < 0 || w < 0)
            return g->err_status ? g->err_status : err(c, TML_ERR_NOMEM, "out of memory");
        cin[0] = x;
        cin[1] = w;
        if (n_in > 2 && in[2] >= 0)
            cin[nci++] = in[2];
        yc = new_tensor(c, name, "_nchw");
        node = add_node(c, TML_OP_CONV, name, nci, cin, 1, &yc);
        if (node < 0 || set_ints(c, node, "strides", strides, 2) || set_ints(c, node, "dilations", dil, 2) ||
            set_ints(c, node, "kernel_shape", ks, 2) ||
            set_str(c, node, "auto_pad", tml_fb_u8(&opt, 0, 0) == 0 ? "SAME_UPPER" : "VALID") ||
            set_int(c, node, "group", dw ? g->tensors[in[0]].dims[3] : 1))
            return g->err_status ? g->err_status : TML_ERR_NOMEM;
        if (set_act(c, node, tml_fb_u8(&opt, dw ? 4 : 3, 0), opname))
            return g->err_status;
        return from_nchw(c, yc, out[0], name);
    }
    case OP_MAX_POOL_2D:
    case OP_AVERAGE_POOL_2D: {
        int x, yc;
        int64_t strides[2], ks[2];
        NEED_IN(1);
        if (g->tensors[in[0]].rank != 4)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): input must be rank 4", name, opname);
        strides[0] = tml_fb_i32(&opt, 2, 1);
        strides[1] = tml_fb_i32(&opt, 1, 1);
        ks[0] = tml_fb_i32(&opt, 4, 1);
        ks[1] = tml_fb_i32(&opt, 3, 1);
        x = to_nchw(c, in[0], name);
        yc = new_tensor(c, name, "_nchw");
        if (x < 0 || yc < 0)
            return g->err_status;
        node = add_node(c, code == OP_MAX_POOL_2D ? TML_OP_MAXPOOL : TML_OP_AVGPOOL, name, 1, &x, 1, &yc);
        if (node < 0 || set_ints(c, node, "strides", strides, 2) || set_ints(c, node, "kernel_shape", ks, 2) ||
            set_str(c, node, "auto_pad", tml_fb_u8(&opt, 0, 0) == 0 ? "SAME_UPPER" : "VALID"))
            return g->err_status ? g->err_status : TML_ERR_NOMEM;
        if (set_act(c, node, tml_fb_u8(&opt, 5, 0), opname))
            return g->err_status;
        return from_nchw(c, yc, out[0], name);
    }
    case OP_FULLY_CONNECTED: {
        const tml_tensor *xt, *wt;
        int x = in[0], gi[3], ng = 2, y = out[0];
        int64_t K, rows;
        NEED_IN(2);
        xt = &g->tensors[in[0]];
        wt = in[1] >= 0 ? &g->tensors[in[1]] : NULL;
        if (!wt || wt->rank != 2 || xt->rank < 1)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): needs rank-2 weights", name, opname);
        if (tml_fb_u8(&opt, 1, 0) != 0)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): shuffled weights format", name, opname);
        K = wt->dims[1];
        rows = K > 0 ? tml_tensor_numel(xt) / K : 0;
        if (K <= 0 || rows * K != tml_tensor_numel(xt))
            return err(c, TML_ERR_SHAPE, "op '%s' (%s): input of %lld elements is not a multiple of %lld",
                       name, opname, (long long)tml_tensor_numel(xt), (long long)K);
        if (xt->rank != 2) {
            int64_t shp[2] = {rows, K};
            int s = const_i64(c, name, shp, 2), r[2], rn;
            x = new_tensor(c, name, "_in2d");
            r[0] = in[0];
            r[1] = s;
            rn = add_node(c, TML_OP_RESHAPE, NULL, 2, r, 1, &x);
            if (s < 0 || x < 0 || rn < 0)
                return g->err_status ? g->err_status : TML_ERR_NOMEM;
        }
        if (g->tensors[out[0]].rank != 2)
            y = new_tensor(c, name, "_2d");
        gi[0] = x;
        gi[1] = in[1];
        if (n_in > 2 && in[2] >= 0)
            gi[ng++] = in[2];
        node = add_node(c, TML_OP_GEMM, name, ng, gi, 1, &y);
        if (node < 0 || set_int(c, node, "transB", 1))
            return g->err_status ? g->err_status : TML_ERR_NOMEM;
        if (set_act(c, node, tml_fb_u8(&opt, 0, 0), opname))
            return g->err_status;
        if (y != out[0]) {
            const tml_tensor *ot = &g->tensors[out[0]];
            int64_t shp[TML_MAX_RANK];
            int r[2], s, d;
            for (d = 0; d < ot->rank; d++)
                shp[d] = ot->dims[d];
            s = const_i64(c, name, shp, ot->rank);
            r[0] = y;
            r[1] = s;
            if (s < 0 || add_node(c, TML_OP_RESHAPE, NULL, 2, r, 1, &out[0]) < 0)
                return g->err_status ? g->err_status : TML_ERR_NOMEM;
        }
        return TML_OK;
    }
    case OP_RESHAPE: {
        int64_t shp[TML_MAX_RANK];
        const tml_tensor *ot = &g->tensors[out[0]];
        int r[2], s, d;
        NEED_IN(1);
        /* the output tensor's static shape is authoritative in TFLite files */
        for (d = 0; d < ot->rank; d++)
            shp[d] = ot->dims[d];
        s = const_i64(c, name, shp, ot->rank);
        r[0] = in[0];
        r[1] = s;
        node = s < 0 ? -1 : add_node(c, TML_OP_RESHAPE, name, 2, r, 1, &out[0]);
        return node < 0 ? (g->err_status ? g->err_status : TML_ERR_NOMEM) : TML_OK;
    }
    case OP_SOFTMAX: {
        float beta = tml_fb_f32(&opt, 0, 1.0f);
        int x = in[0];
        NEED_IN(1);
        if (beta != 1.0f) {
            int b = const_f32_scalar(c, name, beta), mi[2];
            x = new_tensor(c, name, "_scaled");
            mi[0] = in[0];
            mi[1] = b;
            if (b < 0 || x < 0 || add_node(c, TML_OP_MUL, NULL, 2, mi, 1, &x) < 0)
                return g->err_status ? g->err_status : TML_ERR_NOMEM;
        }
        node = add_node(c, TML_OP_SOFTMAX, name, 1, &x, 1, &out[0]);
        if (node < 0 || set_int(c, node, "axis", -1))
            return g->err_status ? g->err_status : TML_ERR_NOMEM;
        return TML_OK;
    }
    case OP_LOGISTIC: case OP_TANH: case OP_RELU: case OP_HARD_SWISH: case OP_LEAKY_RELU: {
        tml_op iop = code == OP_LOGISTIC ? TML_OP_SIGMOID : code == OP_TANH ? TML_OP_TANH
                   : code == OP_RELU ? TML_OP_RELU : code == OP_HARD_SWISH ? TML_OP_HARD_SWISH
                   : TML_OP_LEAKY_RELU;
        NEED_IN(1);
        node = add_node(c, iop, name, 1, in, 1, &out[0]);
        if (node >= 0 && code == OP_LEAKY_RELU && set_float(c, node, "alpha", tml_fb_f32(&opt, 0, 0.2f)))
            return g->err_status;
        return node < 0 ? g->err_status : TML_OK;
    }
    case OP_RELU6: case OP_RELU_N1_TO_1: {
        int ci[3];
        NEED_IN(1);
        ci[0] = in[0];
        ci[1] = const_f32_scalar(c, name, code == OP_RELU6 ? 0.0f : -1.0f);
        ci[2] = const_f32_scalar(c, name, code == OP_RELU6 ? 6.0f : 1.0f);
        if (ci[1] < 0 || ci[2] < 0)
            return g->err_status;
        node = add_node(c, TML_OP_CLIP, name, 3, ci, 1, &out[0]);
        return node < 0 ? g->err_status : TML_OK;
    }
    case OP_ADD: case OP_SUB: case OP_MUL: {
        NEED_IN(2);
        node = add_node(c, code == OP_ADD ? TML_OP_ADD : code == OP_SUB ? TML_OP_SUB : TML_OP_MUL,
                        name, 2, in, 1, &out[0]);
        if (node < 0)
            return g->err_status;
        return set_act(c, node, tml_fb_u8(&opt, 0, 0), opname);
    }
    case OP_CONCATENATION: {
        NEED_IN(1);
        node = add_node(c, TML_OP_CONCAT, name, n_in, in, 1, &out[0]);
        if (node < 0 || set_int(c, node, "axis", tml_fb_i32(&opt, 0, 0)))
            return g->err_status;
        return set_act(c, node, tml_fb_u8(&opt, 1, 0), opname);
    }
    case OP_TRANSPOSE: {
        int64_t n = 0, perm[TML_MAX_RANK], d;
        const int32_t *p;
        NEED_IN(2);
        p = const_i32(c, in[1], &n);
        if (!p || n > TML_MAX_RANK)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): perm must be a constant int32 vector", name, opname);
        for (d = 0; d < n; d++)
            perm[d] = p[d];
        node = add_node(c, TML_OP_TRANSPOSE, name, 1, in, 1, &out[0]);
        if (node < 0 || set_ints(c, node, "perm", perm, (int)n))
            return g->err_status;
        return TML_OK;
    }
    case OP_MEAN: {
        int64_t n = 0, axes[TML_MAX_RANK], d;
        const int32_t *p;
        NEED_IN(2);
        p = const_i32(c, in[1], &n);
        if (!p || n > TML_MAX_RANK)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): axes must be a constant int32 vector", name, opname);
        for (d = 0; d < n; d++)
            axes[d] = p[d];
        node = add_node(c, TML_OP_REDUCE_MEAN, name, 1, in, 1, &out[0]);
        if (node < 0 || set_ints(c, node, "axes", axes, (int)n) ||
            set_int(c, node, "keepdims", tml_fb_u8(&opt, 0, 0) ? 1 : 0))
            return g->err_status;
        return TML_OK;
    }
    case OP_SQUEEZE: {
        tml_fb_vec sd;
        int64_t axes[TML_MAX_RANK];
        int na = 0, si[2];
        NEED_IN(1);
        if (has_opt && tml_fb_vector(&opt, 0, 4, &sd)) {
            uint32_t k2;
            if (sd.n > TML_MAX_RANK)
                return err(c, TML_ERR_FORMAT, "op '%s' (%s): too many squeeze dims", name, opname);
            for (k2 = 0; k2 < sd.n; k2++)
                axes[na++] = tml_fb_vec_i32(&sd, k2);
        }
        si[0] = in[0];
        if (na) {
            si[1] = const_i64(c, name, axes, na);
            if (si[1] < 0)
                return g->err_status;
        }
        node = add_node(c, TML_OP_SQUEEZE, name, na ? 2 : 1, si, 1, &out[0]);
        return node < 0 ? g->err_status : TML_OK;
    }
    case OP_PAD: {
        int64_t n = 0, pads[2 * TML_MAX_RANK], r, d;
        const int32_t *p;
        int pi[2];
        NEED_IN(2);
        p = const_i32(c, in[1], &n);
        r = g->tensors[in[0]].rank;
        if (!p || n != 2 * r || r > TML_MAX_RANK)
            return err(c, TML_ERR_UNSUPPORTED, "op '%s' (%s): paddings must be a constant int32 [rank,2]", name, opname);
        for (d = 0; d < r; d++) {
            pads[d] = p[2 * d];
            pads[r + d] = p[2 * d + 1];
        }
        pi[0] = in[0];
        pi[1] = const_i64(c, name, pads, (int)(2 * r));
        if (pi[1] < 0)
            return g->err_status;
        node = add_node(c, TML_OP_PAD, name, 2, pi, 1, &out[0]);
        if (node < 0 || set_str(c, node, "mode", "constant"))
            return g->err_status;
        return TML_OK;
    }
    case OP_QUANTIZE: case OP_DEQUANTIZE: {
        /* scale and zero point travel in the tensors' quantization; issue 3's kernels read them */
        NEED_IN(1);
        node = add_node(c, code == OP_QUANTIZE ? TML_OP_QUANTIZE_LINEAR : TML_OP_DEQUANTIZE_LINEAR,
                        name, 1, in, 1, &out[0]);
        return node < 0 ? g->err_status : TML_OK;
    }
    default:
        return err(c, TML_ERR_UNSUPPORTED, "op %s is not supported", opname);
    }
#undef NEED_IN
}

tml_status tml_import_tflite(tml_graph *g, const uint8_t *data, size_t size, const char *source)
{
    tfl c;
    tml_fb_table model, sg, oc;
    tml_fb_vec subgraphs, sins, souts;
    tml_status st = TML_OK;
    uint32_t i, version;
    char unsupported[600] = "";
    size_t ulen = 0;
    int n_unsupported = 0;

    memset(&c, 0, sizeof c);
    c.g = g;
    c.src = source ? source : "model.tflite";
    g->source = tml_graph_strdup(g, c.src);
    g->opset = 13; /* ONNX semantics the IR ops follow for imported TFLite graphs */
    tml_fb_init(&c.fb, data, size);
    if (size > ((size_t)1 << 31))
        return err(&c, TML_ERR_UNSUPPORTED, "file of %zu bytes exceeds 2 GiB", size);
    if (!tml_fb_has_identifier(&c.fb, "TFL3"))
        return err(&c, TML_ERR_FORMAT, "not a TFLite flatbuffer (no 'TFL3' identifier)");
    if (!tml_fb_root(&c.fb, &model))
        return err(&c, TML_ERR_FORMAT, "malformed flatbuffer: %s", c.fb.why);
    version = tml_fb_u32(&model, MODEL_VERSION, 0);
    if (version != 3)
        return err(&c, TML_ERR_UNSUPPORTED, "schema version %u (expected 3)", version);
    if (!tml_fb_vector(&model, MODEL_OPCODES, 4, &c.opcodes))
        c.opcodes.n = 0;
    if (!tml_fb_vector(&model, MODEL_BUFFERS, 4, &c.buffers))
        c.buffers.n = 0;
    if (!tml_fb_vector(&model, MODEL_SUBGRAPHS, 4, &subgraphs) || subgraphs.n == 0)
        return err(&c, TML_ERR_FORMAT, "no subgraph%s%s", c.fb.bad ? ": " : "",
                   c.fb.bad ? c.fb.why : "");
    if (!tml_fb_vec_table(&subgraphs, 0, &sg))
        return err(&c, TML_ERR_FORMAT, "malformed subgraph 0: %s", c.fb.why ? c.fb.why : "?");
    if (!tml_fb_vector(&sg, SG_TENSORS, 4, &c.tensors))
        c.tensors.n = 0;
    if (!tml_fb_vector(&sg, SG_OPERATORS, 4, &c.operators))
        c.operators.n = 0;
    if (c.fb.bad)
        return err(&c, TML_ERR_FORMAT, "malformed flatbuffer: %s", c.fb.why);

    c.codes = calloc((size_t)c.opcodes.n + 1, sizeof(int32_t));
    c.tmap = malloc(sizeof(int) * ((size_t)c.tensors.n + 1));
    if (!c.codes || !c.tmap) {
        st = err(&c, TML_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (i = 0; i < c.opcodes.n; i++) {
        int32_t dep, bc;
        if (!tml_fb_vec_table(&c.opcodes, i, &oc)) {
            st = err(&c, TML_ERR_FORMAT, "operator code %u: malformed", i);
            goto done;
        }
        dep = (int8_t)tml_fb_u8(&oc, OPCODE_DEPRECATED, 0);
        bc = tml_fb_i32(&oc, OPCODE_BUILTIN, 0);
        c.codes[i] = bc > dep ? bc : dep;
        if (c.codes[i] == OP_CUSTOM)
            c.codes[i] = -1;
    }
    /* every unsupported op of the model, listed once with its node count (several opcode
     * entries can share a name: one per op version) */
    {
        char names[32][80];
        uint32_t uses[32];
        int n_names = 0, j;
        for (i = 0; i < c.opcodes.n; i++) {
            uint32_t k, u = 0;
            char nm[80];
            if (c.codes[i] >= 0 && op_supported(c.codes[i]))
                continue;
            for (k = 0; k < c.operators.n; k++) {
                tml_fb_table op;
                if (tml_fb_vec_table(&c.operators, k, &op) && tml_fb_u32(&op, OPR_OPCODE, 0) == i)
                    u++;
            }
            if (!u)
                continue;
            op_name(&c, i, nm, sizeof nm);
            for (j = 0; j < n_names && strcmp(names[j], nm) != 0; j++)
                ;
            if (j == n_names) {
                if (n_names == 32)
                    continue;
                memcpy(names[n_names], nm, sizeof nm);
                uses[n_names++] = 0;
            }
            uses[j] += u;
        }
        for (j = 0; j < n_names && ulen < sizeof unsupported; j++)
            ulen += (size_t)snprintf(unsupported + ulen, sizeof unsupported - ulen, "%s%s (%u node%s)",
                                     j ? ", " : "", names[j], uses[j], uses[j] == 1 ? "" : "s");
        n_unsupported = n_names;
    }
    if (n_unsupported) {
        st = err(&c, TML_ERR_UNSUPPORTED, "unsupported ops: %s", unsupported);
        goto done;
    }
    for (i = 0; i < c.tensors.n && st == TML_OK; i++)
        st = read_tensor(&c, i);
    if (st)
        goto done;
    if (tml_fb_vector(&sg, SG_INPUTS, 4, &sins)) {
        for (i = 0; i < sins.n && st == TML_OK; i++) {
            int t = io_tensor(&c, &sins, i);
            if (t < 0)
                st = err(&c, TML_ERR_FORMAT, "subgraph input %u refers to no tensor", i);
            else if (!g->tensors[t].data)
                st = tml_graph_add_input(g, t);
        }
    }
    for (i = 0; i < c.operators.n && st == TML_OK; i++)
        st = import_op(&c, i);
    if (st == TML_OK && tml_fb_vector(&sg, SG_OUTPUTS, 4, &souts)) {
        for (i = 0; i < souts.n && st == TML_OK; i++) {
            int t = io_tensor(&c, &souts, i);
            st = t < 0 ? err(&c, TML_ERR_FORMAT, "subgraph output %u refers to no tensor", i)
                       : tml_graph_add_output(g, t);
        }
    }
    if (st == TML_OK && c.fb.bad)
        st = err(&c, TML_ERR_FORMAT, "malformed flatbuffer: %s", c.fb.why);
    if (st == TML_OK && g->n_outputs == 0)
        st = err(&c, TML_ERR_FORMAT, "subgraph 0 has no outputs");
    if (st == TML_OK) {
        const char *gname = NULL;
        uint32_t nl = 0;
        char nb[128];
        if (tml_fb_string(&sg, SG_NAME, &gname, &nl) && nl) {
            snprintf(nb, sizeof nb, "%.*s", (int)(nl > 100 ? 100 : nl), gname);
            g->name = tml_graph_strdup(g, nb);
        }
        st = tml_graph_verify(g);
        if (st)
            tml_graph_errorf(g, st, "%s: invalid graph", c.src);
    }
done:
    free(c.codes);
    free(c.tmap);
    free(c.nchw);
    return st;
}
