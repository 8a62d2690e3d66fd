/*
 * params_elementwise.h - parameter structs of the elementwise family kernels (see kernels.h).
 *
 * Four kernel shapes cover the family:
 *   binary   y = x0 op x1 op ... op xN-1 with numpy broadcasting (Add, Sub, Mul, Div, Min, Max,
 *            Sum, PRelu), one kernel per dtype (tml_binary_f32, tml_binary_s8, ...);
 *   pow      y = a ^ b where a and b may have different dtypes (ONNX Pow), one kernel per base
 *            dtype, the exponent's dtype a params field;
 *   unary    y = f(x) over a flat buffer (activations, Exp, Sqrt, Neg, Abs, Clip);
 *   reduce / argmax over axes of one input.
 * Broadcasting is expressed as per-input element strides over the output's n-d index, with
 * stride 0 on broadcast dimensions, so kernels need no shape logic and the _check companions
 * can bound every read from (dims, strides) alone.
 *
 * All fields are 4 bytes wide (int32_t, uint32_t, float): a struct is its own serialization.
 */
#ifndef TML_PARAMS_ELEMENTWISE_H
#define TML_PARAMS_ELEMENTWISE_H

#include <stdint.h>

#include "tml/rt.h"

/* Most inputs one binary-kernel call folds (Sum/Min/Max are variadic in ONNX). */
#define TML_BINARY_MAX_IN 8

/* tml_binary_params.op: the operation folded left to right over the inputs. */
enum {
    TML_BINARY_ADD = 0,   /* a + b (integers wrap) */
    TML_BINARY_SUB = 1,   /* a - b (integers wrap) */
    TML_BINARY_MUL = 2,   /* a * b (integers wrap) */
    TML_BINARY_DIV = 3,   /* a / b; integers truncate toward zero, x / 0 = 0 */
    TML_BINARY_MIN = 4,   /* min(a, b); float NaN propagates */
    TML_BINARY_MAX = 5,   /* max(a, b); float NaN propagates */
    TML_BINARY_PRELU = 6, /* a < 0 ? a * b : a (b is the slope) */
    TML_BINARY_CLIP = 7,  /* exactly 3 inputs: min(max(x, lo), hi) - Clip with runtime bounds */
    TML_BINARY_OP_COUNT = 8
};

/*
 * BINARY_<DT>: out[0] (dims) = in[0] op in[1] op ... op in[n_in-1], all of dtype <DT>.
 * Input k's element for output index (i0..i_{rank-1}) is at offset sum_d i_d * strides[k][d]
 * (elements, not bytes). With n_in == 1 the kernel copies (broadcasting) its one input.
 * The fused activation applies to float kernels only.
 */
typedef struct {
    int32_t op;                                    /* TML_BINARY_* */
    int32_t n_in;                                  /* inputs, 1..TML_BINARY_MAX_IN */
    int32_t rank;                                  /* output rank, 0..TML_MAX_RANK */
    uint32_t dims[TML_MAX_RANK];                   /* output dims (rank used), row-major */
    /* [input][dim] element strides over the output index, 0 = broadcast */
    uint32_t strides[TML_BINARY_MAX_IN][TML_MAX_RANK];
    int32_t act;                                   /* fused activation TML_RT_ACT_* (float only) */
    float act_a, act_b;                            /* its parameters (see act.h) */
} tml_binary_params;

/*
 * POW_<DT>: out[0] (dims, dtype <DT>) = in[0] ^ in[1]; in[0] has dtype <DT> (the base), in[1]
 * dtype exp_dtype (any numeric dtype except float16). Integer bases with integer exponents
 * use exact wrapping integer powers; with float exponents the double result is truncated
 * and saturated to the base type.
 */
typedef struct {
    int32_t exp_dtype;                  /* tml_dtype of in[1] */
    int32_t rank;                       /* output rank, 0..TML_MAX_RANK */
    uint32_t dims[TML_MAX_RANK];        /* output dims (rank used) */
    uint32_t a_strides[TML_MAX_RANK];   /* element strides of the base, 0 = broadcast */
    uint32_t b_strides[TML_MAX_RANK];   /* element strides of the exponent, 0 = broadcast */
} tml_pow_params;

/*
 * QADD_S8 / QADD_S16: quantized Add or Sub with TFLite(-Micro)'s arithmetic, bit-exact:
 * out[0] (dims) = clamp(requant(a' + b') + out_offset, act_min, act_max), where
 * x' = mul_small((x + x_offset) << left_shift, x_multiplier, x_shift) (see qmath.h), and
 * a' - b' instead of a' + b' for Sub. Inputs broadcast by strides as in tml_binary_params.
 */
typedef struct {
    int32_t rank;                     /* output rank, 0..TML_MAX_RANK */
    uint32_t dims[TML_MAX_RANK];      /* output dims (rank used) */
    uint32_t a_strides[TML_MAX_RANK]; /* element strides of in[0], 0 = broadcast */
    uint32_t b_strides[TML_MAX_RANK]; /* element strides of in[1], 0 = broadcast */
    int32_t a_offset, b_offset;       /* minus the inputs' zero points */
    int32_t out_offset;               /* the output's zero point */
    int32_t left_shift;               /* 20 for int8, 15 for int16 */
    int32_t a_multiplier, a_shift;    /* a's rescale, shift <= 0 */
    int32_t b_multiplier, b_shift;    /* b's rescale, shift <= 0 */
    int32_t subtract;                 /* 0: Add, 1: Sub */
    int32_t out_multiplier, out_shift; /* the sum's rescale to the output scale, shift <= 0 */
    int32_t act_min, act_max;         /* quantized activation range, inside the dtype */
} tml_qadd_params;

/*
 * QLEAKY_RELU_S8 / _S16: quantized LeakyRelu, TFLite(-Micro)'s QuantizeLeakyRelu bit for bit:
 * v = in[i] - in_zero_point; out[i] = clamp(out_zero_point + mul(v, v >= 0 ? identity :
 * alpha)), where mul is MultiplyByQuantizedMultiplier (qmath.h; shifts may be positive).
 */
typedef struct {
    uint32_t n;                             /* elements */
    int32_t in_zero_point, out_zero_point;  /* quantization zero points */
    int32_t id_multiplier, id_shift;        /* in_scale / out_scale, shift in -31..30 */
    int32_t alpha_multiplier, alpha_shift;  /* in_scale * alpha / out_scale, likewise */
} tml_qleaky_params;

/* tml_unary_params.op / tml_unary_int_params.op. */
enum {
    TML_UNARY_RELU = 0,         /* max(x, 0) */
    TML_UNARY_LEAKY_RELU = 1,   /* x < 0 ? a*x : x */
    TML_UNARY_SIGMOID = 2,      /* 1 / (1 + e^-x) */
    TML_UNARY_TANH = 3,
    TML_UNARY_HARD_SIGMOID = 4, /* max(0, min(1, a*x + b)) */
    TML_UNARY_HARD_SWISH = 5,   /* x * max(0, min(1, x/6 + 1/2)) */
    TML_UNARY_CLIP = 6,         /* min(max(x, a), b): b wins when a > b */
    TML_UNARY_ELU = 7,          /* x < 0 ? a*(e^x - 1) : x */
    TML_UNARY_SELU = 8,         /* b * (x <= 0 ? a*(e^x - 1) : x) */
    TML_UNARY_SOFTPLUS = 9,     /* log(1 + e^x), computed without overflow */
    TML_UNARY_EXP = 10,
    TML_UNARY_SQRT = 11,
    TML_UNARY_NEG = 12,
    TML_UNARY_ABS = 13,
    TML_UNARY_OP_COUNT = 14
};

/* UNARY_F32: out[0] (n) = f(in[0] (n)), float32. */
typedef struct {
    int32_t op;  /* TML_UNARY_* */
    uint32_t n;  /* elements */
    float a, b;  /* op parameters (alpha, beta/gamma, clip min/max), see the enum */
} tml_unary_params;

/* UNARY_S8 / _S32 / _S64: out[0] (n) = f(in[0] (n)) for RELU, CLIP, NEG, ABS; wrapping. */
typedef struct {
    int32_t op;  /* TML_UNARY_RELU, _CLIP, _NEG or _ABS */
    uint32_t n;  /* elements */
    int32_t lo;  /* CLIP minimum (saturated to the dtype) */
    int32_t hi;  /* CLIP maximum (saturated to the dtype); hi wins when lo > hi */
} tml_unary_int_params;

/* tml_reduce_params.op */
enum {
    TML_REDUCE_MEAN = 0, /* sum / count; 0 / 0 = NaN for an empty reduction */
    TML_REDUCE_MAX = 1,  /* max, -inf for an empty reduction; NaN propagates */
    TML_REDUCE_OP_COUNT = 2
};

/*
 * REDUCE_F32: in[0] (dims) float32 -> out[0] (out_numel) float32 (REDUCE_U8: uint8/bool, MAX
 * only). Input element at index
 * (i0..i_{rank-1}) folds into output element sum_d i_d * out_strides[d]; out_strides[d] is 0
 * on reduced dimensions, so kept dimensions keep their row-major order (keepdims only
 * changes the output's shape, not its layout).
 */
typedef struct {
    int32_t op;                       /* TML_REDUCE_* */
    int32_t rank;                     /* input rank, 0..TML_MAX_RANK */
    uint32_t dims[TML_MAX_RANK];      /* input dims (rank used) */
    uint32_t out_strides[TML_MAX_RANK]; /* output element stride per input dim, 0 = reduced */
    uint32_t out_numel;               /* output elements */
    uint32_t count;                   /* input elements per output element (mean divisor) */
} tml_reduce_params;

/* ARGMAX_F32: in[0] (outer, n, inner) float32 -> out[0] (outer, inner) int64. */
typedef struct {
    uint32_t outer;       /* product of dims before the axis */
    uint32_t n;           /* length of the axis, >= 1 */
    uint32_t inner;       /* product of dims after the axis */
    int32_t select_last;  /* 1: index of the last maximum, 0: of the first */
} tml_argmax_params;

#endif /* TML_PARAMS_ELEMENTWISE_H */
