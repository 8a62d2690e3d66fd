/*
 * elementwise.h - static inline helpers shared by the elementwise family's kernels: the
 * broadcast walk over an n-d output index, integer operation semantics, and the bounds
 * proofs their _check companions share.
 *
 * They live in a header, not a .c file, because codegen copies single kernel files into a
 * generated project: a kernel may depend on runtime headers only. Everything here is C99
 * without allocation, I/O or state.
 *
 * Why strides: a broadcast input is described by one element stride per output dimension,
 * 0 where the input is broadcast. Walking the output in row-major order then needs one add
 * per input per element (plus a carry when a dimension wraps), and the largest offset any
 * input is read at is sum_d (dims[d]-1) * stride[d], which the checks compare against the
 * input's buffer size.
 */
#ifndef TML_ELEMENTWISE_H
#define TML_ELEMENTWISE_H

#include <math.h>
#include <stdint.h>

#include "tml/kernels.h"

/*
 * Advances the row-major index idx (rank dims) by one and updates the n_off offsets
 * off[k] += strides[k][d] accordingly. strides is an array of n_off rows of TML_MAX_RANK
 * strides each (row stride TML_MAX_RANK). Wrapping past the last index resets idx and off.
 */
static inline void tml_ew_step(int rank, const uint32_t *dims, int n_off, const uint32_t *strides,
                               uint32_t *idx, uint32_t *off)
{
    int d, k;
    for (d = rank - 1; d >= 0; d--) {
        if (++idx[d] < dims[d]) {
            for (k = 0; k < n_off; k++)
                off[k] += strides[k * TML_MAX_RANK + d];
            return;
        }
        idx[d] = 0;
        for (k = 0; k < n_off; k++)
            off[k] -= strides[k * TML_MAX_RANK + d] * (dims[d] - 1);
    }
}

/* Product of dims[0..rank); 0 if rank is out of range or the product exceeds UINT32_MAX
 * (callers treat 0 as "nothing to do" only after a check accepted the params). */
static inline uint64_t tml_ew_numel(int32_t rank, const uint32_t *dims)
{
    uint64_t n = 1;
    int32_t d;
    if (rank < 0 || rank > TML_MAX_RANK)
        return 0;
    for (d = 0; d < rank; d++) {
        n *= dims[d];
        if (n > 0xFFFFFFFFu)
            return UINT64_MAX;
    }
    return n;
}

/*
 * TML_OK if walking dims (rank) with these strides never reads at or past element `elems`.
 * An empty walk (some dim 0) reads nothing and is always in bounds.
 */
static inline tml_status tml_ew_check_strides(int32_t rank, const uint32_t *dims,
                                              const uint32_t *strides, uint64_t elems)
{
    uint64_t max_off = 0;
    int32_t d;
    for (d = 0; d < rank; d++)
        if (dims[d] == 0)
            return TML_OK;
    for (d = 0; d < rank; d++) {
        uint64_t term = (uint64_t)(dims[d] - 1) * strides[d];
        if (term >= elems)
            return TML_ERR_FORMAT;
        max_off += term;
    }
    return max_off < elems ? TML_OK : TML_ERR_FORMAT;
}

/* The op that folds input k (k >= 1) into the running result. CLIP folds input 1 (the lower
 * bound) with max and input 2 (the upper bound) with min, so the upper bound wins when the
 * bounds cross, as ONNX Clip specifies; every other op folds all inputs alike. */
static inline int32_t tml_binary_fold_op(int32_t op, int k)
{
    if (op != TML_BINARY_CLIP)
        return op;
    return k == 1 ? TML_BINARY_MAX : TML_BINARY_MIN;
}

/* Shared check of tml_binary_params for a kernel whose elements are `esize` bytes. */
static inline tml_status tml_binary_check_common(const void *params, uint32_t params_size,
                                                 uint32_t esize, const uint32_t *in_bytes,
                                                 int n_in, const uint32_t *out_bytes, int n_out)
{
    const tml_binary_params *p = (const tml_binary_params *)params;
    uint64_t numel;
    int k;
    if (params_size != sizeof(*p) || n_out != 1 || p->n_in < 1 ||
        p->n_in > TML_BINARY_MAX_IN || n_in != p->n_in || p->op < 0 ||
        p->op >= TML_BINARY_OP_COUNT || p->rank < 0 || p->rank > TML_MAX_RANK ||
        (p->op == TML_BINARY_CLIP && p->n_in != 3))
        return TML_ERR_FORMAT;
    numel = tml_ew_numel(p->rank, p->dims);
    if (numel > out_bytes[0] / esize)
        return TML_ERR_FORMAT;
    for (k = 0; k < n_in; k++)
        if (tml_ew_check_strides(p->rank, p->dims, p->strides[k], in_bytes[k] / esize))
            return TML_ERR_FORMAT;
    return TML_OK;
}

/* Integer semantics of the binary ops, computed in 64 bits with wrap-around (unsigned
 * arithmetic, so no undefined behaviour); callers narrow the result to their dtype. */
static inline int64_t tml_binop_i64(int32_t op, int64_t a, int64_t b)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case TML_BINARY_ADD: return (int64_t)(ua + ub);
    case TML_BINARY_SUB: return (int64_t)(ua - ub);
    case TML_BINARY_MUL: return (int64_t)(ua * ub);
    case TML_BINARY_DIV:
        if (b == 0)
            return 0;
        if (b == -1)
            return (int64_t)(0u - ua); /* INT64_MIN / -1 wraps instead of trapping */
        return a / b;                  /* C99: truncates toward zero */
    case TML_BINARY_MIN: return a < b ? a : b;
    case TML_BINARY_MAX: return a > b ? a : b;
    case TML_BINARY_PRELU: return a < 0 ? (int64_t)(ua * ub) : a;
    default: return 0;
    }
}

static inline uint64_t tml_binop_u64(int32_t op, uint64_t a, uint64_t b)
{
    switch (op) {
    case TML_BINARY_ADD: return a + b;
    case TML_BINARY_SUB: return a - b;
    case TML_BINARY_MUL: return a * b;
    case TML_BINARY_DIV: return b ? a / b : 0;
    case TML_BINARY_MIN: return a < b ? a : b;
    case TML_BINARY_MAX: return a > b ? a : b;
    case TML_BINARY_PRELU: return a; /* never negative */
    default: return 0;
    }
}

/* The same in 32 bits, for the 8-, 16- and 32-bit integer kernels (a 64-bit divide is a
 * library call on 32-bit MCUs). */
static inline int32_t tml_binop_i32(int32_t op, int32_t a, int32_t b)
{
    uint32_t ua = (uint32_t)a, ub = (uint32_t)b;
    switch (op) {
    case TML_BINARY_ADD: return (int32_t)(ua + ub);
    case TML_BINARY_SUB: return (int32_t)(ua - ub);
    case TML_BINARY_MUL: return (int32_t)(ua * ub);
    case TML_BINARY_DIV:
        if (b == 0)
            return 0;
        if (b == -1)
            return (int32_t)(0u - ua); /* INT32_MIN / -1 wraps instead of trapping */
        return a / b;
    case TML_BINARY_MIN: return a < b ? a : b;
    case TML_BINARY_MAX: return a > b ? a : b;
    case TML_BINARY_PRELU: return a < 0 ? (int32_t)(ua * ub) : a;
    default: return 0;
    }
}

static inline uint32_t tml_binop_u32(int32_t op, uint32_t a, uint32_t b)
{
    switch (op) {
    case TML_BINARY_ADD: return a + b;
    case TML_BINARY_SUB: return a - b;
    case TML_BINARY_MUL: return a * b;
    case TML_BINARY_DIV: return b ? a / b : 0;
    case TML_BINARY_MIN: return a < b ? a : b;
    case TML_BINARY_MAX: return a > b ? a : b;
    case TML_BINARY_PRELU: return a; /* never negative */
    default: return 0;
    }
}

/* Float semantics of the binary ops (float math; Min/Max propagate NaN like numpy). */
static inline float tml_binop_f32(int32_t op, float a, float b)
{
    switch (op) {
    case TML_BINARY_ADD: return a + b;
    case TML_BINARY_SUB: return a - b;
    case TML_BINARY_MUL: return a * b;
    case TML_BINARY_DIV: return a / b;
    case TML_BINARY_MIN: return (a != a || a < b) ? a : b;
    case TML_BINARY_MAX: return (a != a || a > b) ? a : b;
    case TML_BINARY_PRELU: return a < 0.0f ? a * b : a;
    default: return 0.0f;
    }
}

static inline double tml_binop_f64(int32_t op, double a, double b)
{
    switch (op) {
    case TML_BINARY_ADD: return a + b;
    case TML_BINARY_SUB: return a - b;
    case TML_BINARY_MUL: return a * b;
    case TML_BINARY_DIV: return a / b;
    case TML_BINARY_MIN: return (a != a || a < b) ? a : b;
    case TML_BINARY_MAX: return (a != a || a > b) ? a : b;
    case TML_BINARY_PRELU: return a < 0.0 ? a * b : a;
    default: return 0.0;
    }
}

/* Shared check of tml_unary_params / tml_unary_int_params (op count given by the caller). */
static inline tml_status tml_unary_check_common(int32_t op, int32_t op_count, uint32_t n,
                                                uint32_t esize, const uint32_t *in_bytes,
                                                int n_in, const uint32_t *out_bytes, int n_out)
{
    if (n_in != 1 || n_out != 1 || op < 0 || op >= op_count)
        return TML_ERR_FORMAT;
    if ((uint64_t)n * esize > in_bytes[0] || (uint64_t)n * esize > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}

/* Element k of a buffer of numeric dtype dt, as int64 (floats truncated and saturated,
 * NaN as 0) or as double. float16 and non-numeric dtypes read as 0. */
static inline int64_t tml_ew_sat_i64(double v)
{
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static inline int64_t tml_ew_load_i64(int32_t dt, const void *p, uint32_t k)
{
    switch (dt) {
    case TML_DT_F32: return tml_ew_sat_i64(((const float *)p)[k]);
    case TML_DT_F64: return tml_ew_sat_i64(((const double *)p)[k]);
    case TML_DT_U8: case TML_DT_BOOL: return ((const uint8_t *)p)[k];
    case TML_DT_S8: return ((const int8_t *)p)[k];
    case TML_DT_U16: return ((const uint16_t *)p)[k];
    case TML_DT_S16: return ((const int16_t *)p)[k];
    case TML_DT_S32: return ((const int32_t *)p)[k];
    case TML_DT_U32: return ((const uint32_t *)p)[k];
    case TML_DT_S64: return ((const int64_t *)p)[k];
    case TML_DT_U64: return (int64_t)((const uint64_t *)p)[k];
    default: return 0;
    }
}

static inline double tml_ew_load_f64(int32_t dt, const void *p, uint32_t k)
{
    switch (dt) {
    case TML_DT_F32: return ((const float *)p)[k];
    case TML_DT_F64: return ((const double *)p)[k];
    case TML_DT_U64: return (double)((const uint64_t *)p)[k];
    default: return (double)tml_ew_load_i64(dt, p, k);
    }
}

static inline int tml_ew_dtype_is_float(int32_t dt)
{
    return dt == TML_DT_F32 || dt == TML_DT_F64 || dt == TML_DT_F16;
}

/* Bytes per element of the numeric dtypes the kernels read; 0 for anything else. */
static inline uint32_t tml_ew_dtype_size(int32_t dt)
{
    switch (dt) {
    case TML_DT_U8: case TML_DT_S8: case TML_DT_BOOL: return 1;
    case TML_DT_U16: case TML_DT_S16: return 2;
    case TML_DT_F32: case TML_DT_S32: case TML_DT_U32: return 4;
    case TML_DT_S64: case TML_DT_F64: case TML_DT_U64: return 8;
    default: return 0;
    }
}

/* Shared check of tml_pow_params for a base of `esize` bytes. */
static inline tml_status tml_pow_check_common(const void *params, uint32_t params_size,
                                              uint32_t esize, const uint32_t *in_bytes,
                                              int n_in, const uint32_t *out_bytes, int n_out)
{
    const tml_pow_params *p = (const tml_pow_params *)params;
    uint32_t bsize;
    if (params_size != sizeof(*p) || n_in != 2 || n_out != 1 || p->rank < 0 ||
        p->rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    bsize = tml_ew_dtype_size(p->exp_dtype);
    if (bsize == 0)
        return TML_ERR_FORMAT;
    if (tml_ew_numel(p->rank, p->dims) > out_bytes[0] / esize)
        return TML_ERR_FORMAT;
    if (tml_ew_check_strides(p->rank, p->dims, p->a_strides, in_bytes[0] / esize) ||
        tml_ew_check_strides(p->rank, p->dims, p->b_strides, in_bytes[1] / bsize))
        return TML_ERR_FORMAT;
    return TML_OK;
}

/* a^e for integers, exact with wrap-around (square and multiply). Negative exponents give
 * 1/a^|e| truncated toward zero: 1 for a == 1, +-1 for a == -1, else 0. */
static inline int64_t tml_ew_ipow(int64_t a, int64_t e)
{
    uint64_t r = 1, base = (uint64_t)a;
    if (e < 0) {
        if (a == 1)
            return 1;
        if (a == -1)
            return (e & 1) ? -1 : 1;
        return 0;
    }
    while (e > 0) {
        if (e & 1)
            r *= base;
        base *= base;
        e >>= 1;
    }
    return (int64_t)r;
}

#endif /* TML_ELEMENTWISE_H */
