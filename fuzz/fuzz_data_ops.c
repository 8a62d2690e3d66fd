/*
 * fuzz_data_ops.c - libFuzzer target for the data-family shape and lowering hooks.
 *
 * The hooks are where attribute and parameter-input values of an untrusted model file meet the
 * compiler: a Slice with INT64_MIN starts, a Pad with huge negative pads, a Resize with a zero
 * scale must all end in a clean error, never in a crash or an out-of-bounds kernel. This target
 * builds one data-family node from the input bytes (op, opset, input shape and dtype, constant
 * int64/int32/float parameter inputs, attributes with adversarial values), runs it through
 * tev_eval (shape hook, lowering, kernel _check, kernel) under ASan/UBSan, and aborts if a
 * lowering produces parameters its own kernel's _check refuses.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/support/node_eval.h" /* the fuzz build has no tests/ include path */

typedef struct {
    const uint8_t *p;
    size_t n, pos;
} fz;

static uint8_t fz_u8(fz *f) { return f->pos < f->n ? f->p[f->pos++] : 0; }

/* Small values mostly, with the extremes reachable. */
static int64_t fz_i64(fz *f)
{
    uint8_t b = fz_u8(f);
    if (b == 0x7f)
        return INT64_MAX;
    if (b == 0x80)
        return INT64_MIN;
    if (b == 0x7e)
        return 0x7fffffff;
    return (int8_t)b;
}

static const tml_op ops[] = {
    TML_OP_RESHAPE, TML_OP_FLATTEN,  TML_OP_SQUEEZE, TML_OP_UNSQUEEZE, TML_OP_IDENTITY,
    TML_OP_DROPOUT, TML_OP_TRANSPOSE, TML_OP_CONCAT, TML_OP_PAD,       TML_OP_SLICE,
    TML_OP_GATHER,  TML_OP_CAST,     TML_OP_SHAPE,   TML_OP_CONSTANT,  TML_OP_RESIZE,
    TML_OP_UPSAMPLE, TML_OP_DEPTH_TO_SPACE, TML_OP_SPACE_TO_DEPTH};
static const tml_dtype dtypes[] = {TML_DT_F32, TML_DT_U8, TML_DT_S64, TML_DT_F16,
                                   TML_DT_BOOL, TML_DT_S32, TML_DT_F64};
static const char *const int_attrs[] = {"axis", "allowzero", "start", "end", "to",
                                        "blocksize", "antialias", "value_int"};
static const char *const ints_attrs[] = {"axes", "perm", "pads", "starts", "ends", "shape",
                                         "value_ints", "paddings"};
static const char *const str_attrs[] = {"mode", "coordinate_transformation_mode",
                                        "nearest_mode", "keep_aspect_ratio_policy", "to"};
static const char *const str_vals[] = {"constant", "edge", "reflect", "wrap", "nearest",
                                       "linear", "DCR", "CRD", "half_pixel", "align_corners",
                                       "asymmetric", "pytorch_half_pixel", "half_pixel_symmetric",
                                       "tf_crop_and_resize", "floor", "ceil", "round_prefer_ceil",
                                       "not_larger", "not_smaller", "FLOAT", "bogus"};
static const char *const float_attrs[] = {"value", "value_float", "scales", "ratio"};

#define N_OF(a) (int)(sizeof(a) / sizeof((a)[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size, 0};
    tml_graph *g = tml_graph_new();
    int in[5] = {-1, -1, -1, -1, -1}, out[2], n_in = 1, n_out = 1, node, i, k, rank;
    int64_t dims[TML_MAX_RANK];
    uint8_t buf[8192]; /* >= 5^4 elements of 8 bytes */
    tml_op op = ops[fz_u8(&f) % N_OF(ops)];
    tml_dtype dt = dtypes[fz_u8(&f) % N_OF(dtypes)];
    tml_status st;
    if (!g)
        return 0;
    g->opset = 1 + fz_u8(&f) % 24;
    rank = fz_u8(&f) % 5;
    for (i = 0; i < rank; i++)
        dims[i] = fz_u8(&f) % 6;
    for (i = 0; i < (int)sizeof buf; i++)
        buf[i] = (uint8_t)(i * 37 + 11);
    in[0] = tev_const(g, "x", dt, rank, dims, buf);
    if (op == TML_OP_CONSTANT)
        n_in = 0;
    /* parameter inputs 1..4: absent, or small constants */
    k = fz_u8(&f) % 5;
    for (i = 1; i <= k && op != TML_OP_CONSTANT; i++) {
        uint8_t kind = fz_u8(&f) % 5;
        int64_t cnt = fz_u8(&f) % 9, j;
        int64_t iv[8];
        int32_t i32[8];
        float fv[16] = {0}; /* big enough for 8 elements of any dtype */
        for (j = 0; j < cnt; j++) {
            iv[j] = fz_i64(&f);
            i32[j] = (int32_t)iv[j];
            fv[j] = (float)(int8_t)fz_u8(&f) / 4.0f;
        }
        if (kind == 0)
            in[i] = -1;
        else if (kind == 1 || kind == 4)
            in[i] = tev_const(g, NULL, TML_DT_S64, 1, &cnt, iv);
        else if (kind == 2)
            in[i] = tev_const(g, NULL, TML_DT_S32, 1, &cnt, i32);
        else
            in[i] = tev_const(g, NULL, op == TML_OP_PAD ? dt : TML_DT_F32, 1, &cnt, fv);
        n_in = i + 1;
    }
    if (op == TML_OP_CONCAT) { /* Concat: more data inputs, maybe of other shapes */
        for (i = 1; i < 4; i++)
            in[i] = (fz_u8(&f) & 1) && in[1] >= 0 ? in[1] : in[0];
        n_in = 1 + fz_u8(&f) % 4;
    }
    if (op == TML_OP_DROPOUT && (fz_u8(&f) & 1))
        n_out = 2;
    for (i = 0; i < n_out; i++)
        out[i] = tml_graph_add_tensor(g, NULL);
    node = tml_graph_add_node(g, op, "fuzz_node", n_in, in, n_out, out);
    if (node < 0)
        goto done;
    k = fz_u8(&f) % 5;
    for (i = 0; i < k; i++) {
        uint8_t kind = fz_u8(&f) % 4;
        tml_attr *a;
        if (kind == 0) {
            a = tml_node_add_attr(g, node, int_attrs[fz_u8(&f) % N_OF(int_attrs)], TML_ATTR_INT);
            if (a)
                a->i = fz_i64(&f);
        } else if (kind == 1) {
            int64_t v[8];
            int cnt = fz_u8(&f) % 9, j;
            for (j = 0; j < cnt; j++)
                v[j] = fz_i64(&f);
            a = tml_node_add_attr(g, node, ints_attrs[fz_u8(&f) % N_OF(ints_attrs)],
                                  TML_ATTR_INTS);
            if (a) {
                a->n = cnt;
                a->ints = tml_graph_memdup(g, v, sizeof v);
            }
        } else if (kind == 2) {
            a = tml_node_add_attr(g, node, str_attrs[fz_u8(&f) % N_OF(str_attrs)],
                                  TML_ATTR_STRING);
            if (a)
                a->s = str_vals[fz_u8(&f) % N_OF(str_vals)];
        } else {
            float v[8];
            int cnt = fz_u8(&f) % 9, j;
            const char *nm = float_attrs[fz_u8(&f) % N_OF(float_attrs)];
            for (j = 0; j < cnt; j++)
                v[j] = (float)(int8_t)fz_u8(&f) / 4.0f;
            if (strcmp(nm, "scales") == 0) {
                a = tml_node_add_attr(g, node, nm, TML_ATTR_FLOATS);
                if (a) {
                    a->n = cnt;
                    a->floats = tml_graph_memdup(g, v, sizeof v);
                }
            } else {
                a = tml_node_add_attr(g, node, nm, TML_ATTR_FLOAT);
                if (a)
                    a->f = v[0];
            }
        }
    }
    /* huge but valid outputs (pads of 2^31) are the target budget's business, not a bug */
    if (tml_op_shape(g, node) == TML_OK) {
        for (i = 0; i < n_out; i++)
            if (tml_tensor_nbytes(&g->tensors[out[i]]) > (1 << 20))
                goto done;
    }
    tml_graph_clear_error(g);
    st = tev_eval(g, node);
    /* hooks report errors with messages; a kernel check refusing its own lowering is a bug */
    if (st == TML_ERR_FORMAT && !g->err[0]) {
        fprintf(stderr, "lowering of %s produced parameters its kernel check refuses\n",
                tml_op_get_info(op)->onnx_name);
        abort();
    }
    if (st != TML_OK && !g->err[0] && st != TML_ERR_SHAPE) {
        fprintf(stderr, "status %d without a message\n", (int)st);
        abort();
    }
done:
    tml_graph_free(g);
    return 0;
}
