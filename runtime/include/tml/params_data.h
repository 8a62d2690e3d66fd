/*
 * params_data.h - parameter structs of the data family kernels (see kernels.h), plus the few
 * static inline helpers those kernels share.
 *
 * The data family moves bytes: transpose, concat, pad, slice, gather, nearest resize, cast.
 * Apart from cast, no kernel looks at element values, so each carries `elem_size` (1, 2, 4 or
 * 8 bytes) instead of a dtype and one kernel serves every dtype. Shapes are given in full
 * (TML_MAX_RANK entries, unused trailing entries 0) and every index computation is generic n-d
 * row-major with strides: simple to check, and the same code runs for 1-D and 8-D tensors.
 *
 * The helpers live here (static inline) rather than in a .c file because codegen copies single
 * kernel files out of the tree: whatever a kernel needs must come with the headers.
 */
#ifndef TML_PARAMS_DATA_H
#define TML_PARAMS_DATA_H

#include <stdint.h>

#include "tml/rt.h"

/* TRANSPOSE_X: out = permute(in, perm), any element size. */
typedef struct {
    uint32_t elem_size;              /* bytes per element: 1, 2, 4 or 8 */
    uint32_t rank;                   /* 1..TML_MAX_RANK */
    uint32_t in_dims[TML_MAX_RANK];  /* input shape, row-major, unused entries 0 */
    uint32_t perm[TML_MAX_RANK];     /* output axis i is input axis perm[i] */
} tml_transpose_params;

/* CONCAT_X: out = concat(in[0..n_in-1]) along one axis. Seen as (outer, axis, inner). */
#define TML_CONCAT_MAX_IN 16
typedef struct {
    uint32_t elem_size;              /* bytes per element */
    uint32_t n_in;                   /* number of inputs, 1..TML_CONCAT_MAX_IN */
    uint32_t outer;                  /* product of dims before the axis */
    uint32_t inner;                  /* product of dims after the axis */
    uint32_t axis_len[TML_CONCAT_MAX_IN]; /* length of the axis in input i */
} tml_concat_params;

/* PAD_X modes (ONNX Pad `mode`). */
enum { TML_PAD_CONSTANT = 0, TML_PAD_EDGE = 1, TML_PAD_REFLECT = 2, TML_PAD_WRAP = 3 };

/* PAD_X: out[o] = in[o - pad_begin] where inside; elsewhere by mode. Negative pads crop;
 * edge/reflect/wrap then refer to the cropped input (as numpy.pad after slicing). */
typedef struct {
    uint32_t elem_size;              /* bytes per element */
    uint32_t rank;                   /* 1..TML_MAX_RANK */
    uint32_t mode;                   /* TML_PAD_* */
    uint32_t value_lo;               /* constant value: its elem_size bytes, little-endian, */
    uint32_t value_hi;               /*   low 4 bytes in value_lo, bytes 4..7 in value_hi */
    uint32_t in_dims[TML_MAX_RANK];  /* input shape */
    int32_t pad_begin[TML_MAX_RANK]; /* elements added (negative: removed) before, per axis */
    int32_t pad_end[TML_MAX_RANK];   /* elements added (negative: removed) after, per axis */
} tml_pad_params;

/* SLICE_X: out[i0..] = in[start0 + i0*step0, ...]; starts already clamped into range. */
typedef struct {
    uint32_t elem_size;              /* bytes per element */
    uint32_t rank;                   /* 1..TML_MAX_RANK */
    uint32_t in_dims[TML_MAX_RANK];  /* input shape */
    uint32_t out_dims[TML_MAX_RANK]; /* output shape */
    int32_t start[TML_MAX_RANK];     /* first input index per axis */
    int32_t step[TML_MAX_RANK];      /* input index increment per output index, != 0 */
} tml_slice_params;

/* GATHER_X: data seen as (outer, axis_len, inner), indices (n_index) of int32 or int64;
 * out (outer, n_index, inner). Negative indices count from the end; an index still out of
 * range (runtime data can be anything) yields zero bytes rather than an out-of-bounds read. */
typedef struct {
    uint32_t elem_size;              /* bytes per data element */
    uint32_t index_size;             /* 4 (int32 indices) or 8 (int64 indices) */
    uint32_t outer;                  /* product of data dims before the axis */
    uint32_t axis_len;               /* data dim at the axis */
    uint32_t inner;                  /* product of data dims after the axis */
    uint32_t n_index;                /* number of indices (product of the indices' dims) */
} tml_gather_params;

/* CAST: out[i] = (to)in[i] for `count` elements; from/to are tml_dtype numbers. Float to int
 * truncates toward zero (values outside the target range saturate, NaN gives 0), ints wrap
 * like two's complement, anything to bool is != 0, float16 rounds to nearest even. */
typedef struct {
    uint32_t from;                   /* tml_dtype of in[0] */
    uint32_t to;                     /* tml_dtype of out[0] */
    uint32_t count;                  /* number of elements */
} tml_cast_params;

/* SHAPE_S64: out[0] = the int64 vector dims[0..n-1] (ONNX Shape, start/end applied). */
typedef struct {
    uint32_t n;                      /* number of values, 0..TML_MAX_RANK */
    int32_t dims[TML_MAX_RANK];      /* the values */
} tml_shape_params;

/* DROPOUT_X (inference): out[0] = in[0] (`bytes` bytes), out[1] = mask of `mask_count`
 * elements all equal to "one" in the mask's dtype (bool 1 from opset 10, T(1) before). */
typedef struct {
    uint32_t bytes;                  /* bytes of in[0] and out[0] */
    uint32_t mask_count;             /* elements of out[1] */
    uint32_t mask_elem_size;         /* bytes per mask element, 1..8 */
    uint32_t mask_one_lo;            /* bit pattern of one mask element, low 4 bytes */
    uint32_t mask_one_hi;            /* bytes 4..7 */
} tml_dropout_params;

/* RESIZE_NEAREST_X coordinate transformation modes and nearest modes (ONNX names). */
enum {
    TML_RESIZE_HALF_PIXEL = 0,
    TML_RESIZE_HALF_PIXEL_SYMMETRIC = 1,
    TML_RESIZE_PYTORCH_HALF_PIXEL = 2,
    TML_RESIZE_ALIGN_CORNERS = 3,
    TML_RESIZE_ASYMMETRIC = 4,
    TML_RESIZE_TF_HALF_PIXEL_FOR_NN = 5 /* opsets 11-12 only: (x + 0.5) / scale */
};
enum {
    TML_NEAREST_ROUND_PREFER_FLOOR = 0,
    TML_NEAREST_ROUND_PREFER_CEIL = 1,
    TML_NEAREST_FLOOR = 2,
    TML_NEAREST_CEIL = 3
};

/* RESIZE_NEAREST_X: out[o] = in[src(o)], src per axis from the coordinate transformation and
 * the nearest mode, clamped to the input. The scale of an axis is scale_num/scale_den when
 * scale_num != 0 (exact ratio of sizes, as ONNX computes it from a `sizes` input), else
 * scale[axis] (the float32 value of a `scales` input). Upsample is asymmetric + floor. */
typedef struct {
    uint32_t elem_size;              /* bytes per element */
    uint32_t rank;                   /* 1..TML_MAX_RANK */
    uint32_t coord_mode;             /* TML_RESIZE_* */
    uint32_t nearest_mode;           /* TML_NEAREST_* */
    uint32_t in_dims[TML_MAX_RANK];  /* input shape */
    uint32_t out_dims[TML_MAX_RANK]; /* output shape */
    float scale[TML_MAX_RANK];       /* output/input scale per axis (if scale_num == 0) */
    uint32_t scale_num[TML_MAX_RANK]; /* exact scale numerator, 0 = use scale[] */
    uint32_t scale_den[TML_MAX_RANK]; /* exact scale denominator */
} tml_resize_params;

/* ---- helpers shared by the data kernels and their checks ---- */

/* Element size a data kernel accepts. */
static inline int tml_data_elem_ok(uint32_t es)
{
    return es == 1 || es == 2 || es == 4 || es == 8;
}

/* Product of dims[0..rank-1] into *n; 0 if it exceeds 32 bits (then the check fails). */
static inline int tml_data_numel(uint32_t rank, const uint32_t *dims, uint64_t *n)
{
    uint64_t p = 1;
    uint32_t i;
    for (i = 0; i < rank; i++) /* empty is empty, however large the other dims */
        if (dims[i] == 0) {
            *n = 0;
            return 1;
        }
    for (i = 0; i < rank; i++) {
        p *= dims[i];
        if (p > 0xffffffffu)
            return 0;
    }
    *n = p;
    return 1;
}

/* Advances a row-major multi-index idx over dims (last axis fastest). */
static inline void tml_data_next(uint32_t rank, const uint32_t *dims, uint32_t *idx)
{
    uint32_t a = rank;
    while (a > 0) {
        a--;
        if (++idx[a] < dims[a])
            return;
        idx[a] = 0;
    }
}

/* Row-major strides (in elements) of dims. */
static inline void tml_data_strides(uint32_t rank, const uint32_t *dims, uint32_t *strides)
{
    uint32_t s = 1, a = rank;
    while (a > 0) {
        a--;
        strides[a] = s;
        s *= dims[a];
    }
}

#endif
