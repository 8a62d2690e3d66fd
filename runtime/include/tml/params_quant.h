/*
 * params_quant.h - parameter structs of the quant family kernels (see kernels.h).
 *
 * Every field is 4 bytes wide, so a struct is its own little-endian serialization. Two kinds of
 * kernel live here:
 *   - ONNX's quantized operators (QuantizeLinear, DequantizeLinear, QLinearMatMul, QLinearConv,
 *     MatMulInteger, ConvInteger) whose scales and zero points are tensors; their kernels
 *     (suffix _x: one kernel for int8/uint8/int16/uint16 operands, the dtypes are fields) read
 *     them as inputs and requantize in floating point with ties-to-even rounding, which is what
 *     the ONNX reference and ONNX Runtime do;
 *   - TFLite's int8 kernels (suffix _s8), bit-exact with TFLite's reference kernels: all
 *     arithmetic in integers through fixedpoint.h, requantization multipliers and shifts
 *     computed at compile time (in the params, or for per-channel ones in a constant int32
 *     tensor, so they live in flash).
 * Dtype fields hold tml_dtype numbers (TML_DT_S8, TML_DT_U8, TML_DT_S16, TML_DT_U16, TML_DT_S32).
 */
#ifndef TML_PARAMS_QUANT_H
#define TML_PARAMS_QUANT_H

#include <stdint.h>

#include "tml/rt.h"

/*
 * QUANTIZE_X: y = saturate(round(x / scale) + zp).     DEQUANTIZE_X: y = (x - zp) * scale.
 * x viewed as (outer, axis, inner); with per_axis the scale and zero point have `axis`
 * entries, else one.
 * from_tensors 1: in[1] scale (float32), in[2] zero point (dtype) if has_zp (else 0).
 * from_tensors 0: scale and zero_point below (TFLite: parameters live on the tensors).
 * in[0] x (float32 for QUANTIZE, dtype for DEQUANTIZE)   out[0] y (dtype / float32)
 */
typedef struct {
    int32_t outer, axis, inner;
    int32_t dtype;        /* the quantized side's dtype */
    int32_t per_axis;     /* 0 or 1 */
    int32_t from_tensors; /* 0 or 1 */
    int32_t has_zp;       /* 0 or 1 (from_tensors only) */
    float scale;          /* from_tensors 0 */
    int32_t zero_point;   /* from_tensors 0 */
    int32_t round_away;   /* QUANTIZE: 0 ties to even (ONNX), 1 ties away from zero (TFLite) */
} tml_quantize_params;

/*
 * QLINEAR_MATMUL_X: y = saturate(rint(sum_k (a - a_zp)(b - b_zp) * a_scale b_scale / y_scale)
 * + y_zp), numpy matmul batch broadcasting as MATMUL_F32.
 * in[0] a  in[1] a_scale  in[2] a_zp  in[3] b  in[4] b_scale  in[5] b_zp  in[6] y_scale
 * in[7] y_zp   out[0] y (y_dtype)
 * MATMUL_INTEGER_X: y (int32) = sum_k (a - a_zp)(b - b_zp).
 * in[0] a  in[1] b  then a_zp if has_a_zp, then b_zp if has_b_zp   out[0] y (int32)
 * a's scale/zero point have a_sn/a_zn entries (1 or m, per row); b's b_sn/b_zn (1 or n, per
 * column).
 */
typedef struct {
    int32_t m, k, n;
    int32_t batch_rank;              /* 0..TML_MAX_RANK-2 */
    int32_t a_batch[TML_MAX_RANK];   /* (batch_rank) 1 where broadcast */
    int32_t b_batch[TML_MAX_RANK];
    int32_t out_batch[TML_MAX_RANK];
    int32_t a_dtype, b_dtype, y_dtype;
    int32_t a_sn, a_zn, b_sn, b_zn;  /* entries of the scales / zero points */
    int32_t has_a_zp, has_b_zp;      /* MATMUL_INTEGER only */
} tml_qmatmul_params;

/*
 * QLINEAR_CONV_X: y = saturate(rint((conv(x - x_zp, w - w_zp) + B) * x_scale w_scale[co] /
 * y_scale) + y_zp).  Geometry as tml_conv_params (3-D spatial, leading unit dims).
 * in[0] x (n, c_in, D, H, W)  in[1] x_scale  in[2] x_zp  in[3] w (c_out, c_in/group, KD, KH, KW)
 * in[4] w_scale (w_sn)  in[5] w_zp (w_zn)  in[6] y_scale  in[7] y_zp  in[8] B (c_out, int32)
 * if has_bias.   out[0] y (n, c_out, OD, OH, OW)
 * CONV_INTEGER_X: y (int32) = conv(x - x_zp, w - w_zp).
 * in[0] x  in[1] w  then x_zp if has_x_zp, then w_zp (w_zn entries) if has_w_zp.
 */
typedef struct {
    int32_t n, c_in, c_out, group;
    int32_t in[3], out[3], kernel[3], stride[3], pad[3], dilation[3];
    int32_t x_dtype, w_dtype, y_dtype;
    int32_t w_sn, w_zn;     /* entries of w_scale / w_zp: 1 or c_out */
    int32_t has_bias;       /* QLINEAR_CONV */
    int32_t has_x_zp, has_w_zp; /* CONV_INTEGER */
} tml_qconv_params;

/* ---- TFLite int8 kernels (bit-exact with TFLite's reference kernels, fixedpoint.h) ---- */

/*
 * CONV_S8: per-channel int8 convolution, NCHW, grouped (depthwise: group == c_in, output
 * channel co reads input channel co / (c_out / group)).
 * acc = bias[co] + sum over in-bounds taps of (x + input_offset) * w;
 * y = clamp(MultiplyByQuantizedMultiplier(acc, qm[co][0], qm[co][1]) + output_offset,
 *           act_min, act_max)
 * in[0] x (n, c_in, in[0], in[1]) s8   in[1] w (c_out, c_in / group, kernel[0], kernel[1]) s8
 * in[2] qm (c_out, 2) int32 (multiplier, shift), computed by the compiler
 * in[3] bias (c_out) int32, only if has_bias          out[0] y (n, c_out, out[0], out[1]) s8
 */
typedef struct {
    int32_t n, c_in, c_out, group;
    int32_t in[2], out[2], kernel[2], stride[2], pad[2], dilation[2]; /* (H, W) */
    int32_t input_offset;  /* -input zero point */
    int32_t output_offset; /* output zero point */
    int32_t act_min, act_max;
    int32_t has_bias;
} tml_conv_s8_params;

/*
 * FC_S8: TFLite FULLY_CONNECTED, per-tensor.
 * y[i][j] = clamp(MultiplyByQuantizedMultiplier(bias[j] + sum_k (x[i][k] + input_offset) *
 *                 (w[j][k] + filter_offset), multiplier, shift) + output_offset, act_min, act_max)
 * in[0] x (m, k) s8   in[1] w (n, k) s8   in[2] bias (n) int32 if has_bias   out[0] y (m, n) s8
 */
typedef struct {
    int32_t m, n, k;
    int32_t input_offset, filter_offset, output_offset;
    int32_t multiplier, shift;
    int32_t act_min, act_max;
    int32_t has_bias;
} tml_fc_s8_params;

/*
 * AVGPOOL_S8: TFLite int8 average pooling (input and output share scale and zero point),
 * NCHW: the mean over the in-bounds taps rounded half away from zero. (Int8 max pooling is
 * the nn family's maxpool_s8.)
 * in[0] x (n, c, in[0], in[1]) s8   out[0] y (n, c, out[0], out[1]) s8
 */
typedef struct {
    int32_t n, c;
    int32_t in[2], out[2], kernel[2], stride[2], pad[2];
    int32_t act_min, act_max;
} tml_pool_s8_params;

/*
 * SOFTMAX_S8: TFLite's int8 softmax (fixed-point exp, output scale 1/256, zero point -128)
 * along the middle axis of x viewed as (outer, axis, inner).
 * in[0] x s8   out[0] y s8
 */
typedef struct {
    int32_t outer, axis, inner;
    int32_t input_multiplier, input_left_shift, diff_min; /* tml_fx_softmax_scaling */
} tml_softmax_s8_params;

/*
 * QMUL_S8: TFLite's int8 MUL: y = clamp(MultiplyByQuantizedMultiplier((a + a_offset) *
 * (b + b_offset), output_multiplier, output_shift) + output_offset, act_min, act_max).
 * in[0] a (a_count)  in[1] b (b_count)  out[0] y (count); a_count and b_count are count or 1
 * (a scalar broadcast). (Quantized Add/Sub are the elementwise family's qadd kernels.)
 */
typedef struct {
    int32_t count, a_count, b_count;
    int32_t a_offset, b_offset, output_offset; /* -zero points of a and b; y's zero point */
    int32_t output_multiplier, output_shift;
    int32_t act_min, act_max;
} tml_qmul_params;

/*
 * REQUANTIZE_X: TFLite's QUANTIZE between integer types (Requantize):
 * y = saturate(MultiplyByQuantizedMultiplier(x - input_zero_point, multiplier, shift) +
 * output_zero_point), multiplier and shift from in_scale / out_scale at compile time.
 * in[0] x (count, in_dtype)   out[0] y (count, out_dtype); dtypes s8, u8, s16, u16, s32.
 */
typedef struct {
    int32_t count;
    int32_t in_dtype, out_dtype;
    int32_t input_zero_point, output_zero_point;
    int32_t multiplier, shift;
} tml_requantize_params;

/*
 * LOGISTIC_S8 and TANH_S8: TFLite's int8 LOGISTIC (output scale 1/256, zero point -128) and
 * TANH (output scale 1/128, zero point 0). x - input_zero_point beyond +-input_range_radius
 * saturates; otherwise it is scaled into Q4.27 (MultiplyByQuantizedMultiplier with
 * input_multiplier and input_left_shift) and fed to gemmlowp's fixed-point function.
 * in[0] x (count) s8   out[0] y (count) s8
 */
typedef struct {
    int32_t count;
    int32_t input_zero_point, input_range_radius;
    int32_t input_multiplier, input_left_shift; /* tml_fx_act_input_scaling */
} tml_act_s8_params;

#endif
