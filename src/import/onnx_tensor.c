/*
 * onnx_tensor.c - validate and decode an ONNX TensorProto (see onnx_tensor.h).
 *
 * A TensorProto carries its elements either as raw_data (fixed-width little-endian bytes) or in
 * one "typed" repeated field chosen by the data type: float_data for float32; int32_data for
 * int8/uint8/int16/uint16/int32/bool and for float16 bit patterns; int64_data for int64;
 * double_data for float64; uint64_data for uint32/uint64. Whatever the file says, the element
 * count of the field actually used must equal the product of the dims: this is the one check
 * that ties the header to the payload, so every later stage can trust nbytes.
 *
 * The host is assumed little-endian (x86-64, AArch64): raw_data is copied as is, typed values
 * are stored with memcpy of the narrowed value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_tensor.h"

static const char *tname(const Onnx__TensorProto *tp)
{
    return tp->name && tp->name[0] ? tp->name : "(unnamed)";
}

tml_dtype tml_onnx_dtype(int64_t onnx_type, tml_status *st, const char **what)
{
    static const char *const unsupported[] = {
        [8] = "string",      [14] = "complex64",      [15] = "complex128",
        [16] = "bfloat16",   [17] = "float8e4m3fn",   [18] = "float8e4m3fnuz",
        [19] = "float8e5m2", [20] = "float8e5m2fnuz", [21] = "uint4",
        [22] = "int4",       [23] = "float4e2m1",
    };
    *st = TML_OK;
    *what = NULL;
    if (onnx_type >= 1 && onnx_type <= 13 && onnx_type != 8)
        return (tml_dtype)onnx_type;
    if (onnx_type >= 0 && onnx_type < (int64_t)(sizeof unsupported / sizeof *unsupported) &&
        unsupported[onnx_type]) {
        *st = TML_ERR_UNSUPPORTED;
        *what = unsupported[onnx_type];
    } else {
        *st = TML_ERR_FORMAT;
        *what = onnx_type == 0 ? "undefined" : "invalid";
    }
    return TML_DT_UNDEF;
}

/* Which typed field holds elements of dt, and how many it has. */
static size_t typed_count(const Onnx__TensorProto *tp, tml_dtype dt, const char **field)
{
    switch (dt) {
    case TML_DT_F32:
        *field = "float_data";
        return tp->n_float_data;
    case TML_DT_U8:
    case TML_DT_S8:
    case TML_DT_U16:
    case TML_DT_S16:
    case TML_DT_S32:
    case TML_DT_BOOL:
    case TML_DT_F16:
        *field = "int32_data";
        return tp->n_int32_data;
    case TML_DT_S64:
        *field = "int64_data";
        return tp->n_int64_data;
    case TML_DT_F64:
        *field = "double_data";
        return tp->n_double_data;
    case TML_DT_U32:
    case TML_DT_U64:
        *field = "uint64_data";
        return tp->n_uint64_data;
    default:
        *field = "?";
        return 0;
    }
}

tml_status tml_onnx_tensor_check(const Onnx__TensorProto *tp, tml_onnx_tensor_info *info,
                                 char *err, size_t errsz)
{
    tml_status st;
    const char *what, *field;
    size_t i, esz, have;
    int64_t numel = 1;

    memset(info, 0, sizeof(*info));
    if ((tp->has_data_location && tp->data_location == 1) || tp->n_external_data > 0) {
        snprintf(err, errsz, "tensor '%s': external data is not supported", tname(tp));
        return TML_ERR_UNSUPPORTED;
    }
    info->dtype = tml_onnx_dtype(tp->has_data_type ? tp->data_type : 0, &st, &what);
    if (st) {
        snprintf(err, errsz, "tensor '%s': %s data type %d is not supported", tname(tp), what,
                 tp->has_data_type ? (int)tp->data_type : 0);
        return st;
    }
    if (tp->n_dims > TML_MAX_RANK) {
        snprintf(err, errsz, "tensor '%s': rank %zu is above the maximum of %d", tname(tp),
                 tp->n_dims, TML_MAX_RANK);
        return TML_ERR_UNSUPPORTED;
    }
    info->rank = (int)tp->n_dims;
    for (i = 0; i < tp->n_dims; i++) {
        int64_t d = tp->dims[i];
        if (d < 0 || d > TML_ONNX_MAX_DIM) {
            snprintf(err, errsz, "tensor '%s': invalid dimension %lld", tname(tp), (long long)d);
            return TML_ERR_FORMAT;
        }
        info->dims[i] = d;
        if (d != 0 && numel > TML_ONNX_MAX_NUMEL / d) {
            snprintf(err, errsz, "tensor '%s': too many elements", tname(tp));
            return TML_ERR_FORMAT;
        }
        numel *= d;
    }
    esz = tml_dtype_size(info->dtype);
    info->numel = numel;
    info->nbytes = (size_t)numel * esz;

    if (tp->has_raw_data) {
        if (tp->raw_data.len != info->nbytes) {
            snprintf(err, errsz,
                     "tensor '%s': raw_data has %zu bytes, expected %zu (%lld x %s)", tname(tp),
                     tp->raw_data.len, info->nbytes, (long long)numel,
                     tml_dtype_name(info->dtype));
            return TML_ERR_FORMAT;
        }
        return TML_OK;
    }
    have = typed_count(tp, info->dtype, &field);
    if ((int64_t)have != numel) {
        snprintf(err, errsz, "tensor '%s': %s has %zu values, expected %lld", tname(tp), field,
                 have, (long long)numel);
        return TML_ERR_FORMAT;
    }
    return TML_OK;
}

void tml_onnx_tensor_copy(const Onnx__TensorProto *tp, const tml_onnx_tensor_info *info,
                          void *dst)
{
    unsigned char *d = dst;
    size_t i, n = (size_t)info->numel;
    if (n == 0)
        return; /* empty: the typed arrays may be NULL */
    if (tp->has_raw_data) {
        if (info->nbytes)
            memcpy(d, tp->raw_data.data, info->nbytes);
        return;
    }
    switch (info->dtype) {
    case TML_DT_F32:
        memcpy(d, tp->float_data, n * sizeof(float));
        break;
    case TML_DT_S32:
        memcpy(d, tp->int32_data, n * sizeof(int32_t));
        break;
    case TML_DT_S64:
        memcpy(d, tp->int64_data, n * sizeof(int64_t));
        break;
    case TML_DT_F64:
        memcpy(d, tp->double_data, n * sizeof(double));
        break;
    case TML_DT_U64:
        memcpy(d, tp->uint64_data, n * sizeof(uint64_t));
        break;
    case TML_DT_U8:
    case TML_DT_S8:
        for (i = 0; i < n; i++)
            d[i] = (unsigned char)((uint32_t)tp->int32_data[i] & 0xffu);
        break;
    case TML_DT_BOOL:
        for (i = 0; i < n; i++)
            d[i] = tp->int32_data[i] != 0;
        break;
    case TML_DT_U16:
    case TML_DT_S16:
    case TML_DT_F16:
        for (i = 0; i < n; i++) {
            uint16_t v = (uint16_t)((uint32_t)tp->int32_data[i] & 0xffffu);
            memcpy(d + 2 * i, &v, 2);
        }
        break;
    case TML_DT_U32:
        for (i = 0; i < n; i++) {
            uint32_t v = (uint32_t)tp->uint64_data[i];
            memcpy(d + 4 * i, &v, 4);
        }
        break;
    default:
        break;
    }
}

/* ---- a protobuf-c allocator with a budget ---- */

#define HDR 16 /* keeps the block 16-byte aligned; holds its size */

static void *budget_alloc(void *data, size_t size)
{
    tml_pb_budget *b = data;
    unsigned char *p;
    if (size > b->budget - b->used || b->budget - b->used - size < HDR)
        return NULL;
    p = malloc(size + HDR);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    b->used += size + HDR;
    return p + HDR;
}

static void budget_free(void *data, void *ptr)
{
    tml_pb_budget *b = data;
    unsigned char *p = ptr;
    size_t size;
    if (!p)
        return;
    p -= HDR;
    memcpy(&size, p, sizeof size);
    b->used -= size + HDR;
    free(p);
}

void tml_pb_budget_init(tml_pb_budget *b, size_t input_size)
{
    size_t extra = (size_t)64 << 20;
    b->base.alloc = budget_alloc;
    b->base.free = budget_free;
    b->base.allocator_data = b;
    b->used = 0;
    b->budget = input_size > (SIZE_MAX - extra) / 16 ? SIZE_MAX : input_size * 16 + extra;
}
