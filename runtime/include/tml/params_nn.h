/*
 * params_nn.h - parameter structs of the nn family kernels (see kernels.h).
 *
 * Every field is 4 bytes wide (int32_t, uint32_t, float), so a struct is its own little-endian
 * serialization in a model package. Spatial kernels (conv, conv_transpose, pools) see every
 * input as 3-D spatial: 1-D and 2-D ONNX ops get leading unit dimensions, so one kernel per op
 * covers Conv1d/2d/3d. Spatial arrays are ordered (D, H, W). Fused activations follow act.h:
 * `act` is a TML_RT_ACT_* value, `act_a`/`act_b` its parameters.
 */
#ifndef TML_PARAMS_NN_H
#define TML_PARAMS_NN_H

#include <stdint.h>

#include "tml/rt.h"

/*
 * CONV_F32: Y = act(conv(X, W) + B), direct convolution, grouped (depthwise = group == c_in).
 * in[0] X (n, c_in, in[0], in[1], in[2])
 * in[1] W (c_out, c_in / group, kernel[0], kernel[1], kernel[2])
 * in[2] B (c_out), only if has_bias
 * out[0] Y (n, c_out, out[0], out[1], out[2])
 */
typedef struct {
    int32_t n, c_in, c_out, group;
    int32_t in[3];       /* input spatial size (D, H, W), elements */
    int32_t out[3];      /* output spatial size (D, H, W) */
    int32_t kernel[3];   /* kernel size (D, H, W) */
    int32_t stride[3];   /* >= 1 */
    int32_t pad[3];      /* leading (begin) padding; trailing padding is implied by out */
    int32_t dilation[3]; /* >= 1 */
    int32_t has_bias;    /* 1: in[2] is B */
    int32_t act;         /* fused activation, TML_RT_ACT_* */
    float act_a, act_b;
} tml_conv_params;

/*
 * CONV_TRANSPOSE_F32: Y = act(conv_transpose(X, W) + B) (the gradient of conv; scatter form).
 * in[0] X (n, c_in, in[0], in[1], in[2])
 * in[1] W (c_in, c_out / group, kernel[0], kernel[1], kernel[2])
 * in[2] B (c_out), only if has_bias
 * out[0] Y (n, c_out, out[0], out[1], out[2]); output position o = i*stride - pad + k*dilation
 */
typedef struct {
    int32_t n, c_in, c_out, group;
    int32_t in[3];       /* input spatial size (D, H, W) */
    int32_t out[3];      /* output spatial size (D, H, W) */
    int32_t kernel[3];   /* kernel size (D, H, W) */
    int32_t stride[3];   /* >= 1 */
    int32_t pad[3];      /* leading (begin) padding cut from the full output; may be < 0
                            when ONNX output_shape asks for more than the full output */
    int32_t dilation[3]; /* >= 1 */
    int32_t has_bias;    /* 1: in[2] is B */
    int32_t act;
    float act_a, act_b;
} tml_conv_transpose_params;

/*
 * GEMM_F32: Y = act(alpha * A' B' + beta * C), A' = trans_a ? A^T : A, B' likewise.
 * in[0] A (m, k), or (k, m) if trans_a
 * in[1] B (k, n), or (n, k) if trans_b
 * in[2] C (c_rows, c_cols), only if c_rows > 0; c_rows is 1 or m, c_cols is 1 or n
 *       (unidirectional broadcast to (m, n))
 * out[0] Y (m, n)
 */
typedef struct {
    int32_t m, n, k;
    int32_t trans_a, trans_b; /* 0 or 1 */
    float alpha, beta;
    int32_t c_rows, c_cols;   /* shape of C after broadcasting to rank 2; 0, 0 if no C */
    int32_t act;
    float act_a, act_b;
} tml_gemm_params;

/*
 * MATMUL_F32: Y = act(A @ B), numpy matmul with broadcast batch dims.
 * in[0] A (a_batch..., m, k)   in[1] B (b_batch..., k, n)   out[0] Y (out_batch..., m, n)
 * Batch dims are right-aligned to batch_rank and padded with 1; a_batch[i] and b_batch[i]
 * are each 1 or out_batch[i]. 1-D operands are lowered as m = 1 or n = 1.
 */
typedef struct {
    int32_t m, k, n;
    int32_t batch_rank;                 /* 0..TML_MAX_RANK-2 */
    int32_t a_batch[TML_MAX_RANK];            /* (batch_rank) A's batch dims, 1 where broadcast */
    int32_t b_batch[TML_MAX_RANK];            /* (batch_rank) B's batch dims */
    int32_t out_batch[TML_MAX_RANK];          /* (batch_rank) Y's batch dims */
    int32_t act;
    float act_a, act_b;
} tml_matmul_params;

/*
 * MAXPOOL_F32, MAXPOOL_S8, MAXPOOL_U8 and AVGPOOL_F32: pooling over a (D, H, W) window per
 * channel (the 8-bit max pools take no fused activation: act must be 0).
 * in[0] X (n, c, in[0], in[1], in[2])   out[0] Y (n, c, out[0], out[1], out[2])
 * MAXPOOL only: out[1] Indices (same shape as Y, int64), if with_indices: flat index of the
 * maximum in X, row-major (storage_order 0) or with spatial dims column-major (1).
 * Window of output o along an axis: input positions o*stride - pad + j*dilation, j < kernel.
 * AVGPOOL divides by the number of positions inside [0, in) (count_include_pad 0) or inside
 * the padded extent [-pad, in + pad_end) (count_include_pad 1).
 */
typedef struct {
    int32_t n, c;
    int32_t in[3];       /* input spatial size (D, H, W) */
    int32_t out[3];      /* output spatial size (D, H, W) */
    int32_t kernel[3];   /* window size (D, H, W) */
    int32_t stride[3];   /* >= 1 */
    int32_t pad[3];      /* leading padding */
    int32_t pad_end[3];  /* trailing padding counted by AVGPOOL with count_include_pad */
    int32_t dilation[3]; /* >= 1 */
    int32_t count_include_pad; /* AVGPOOL: 1 = padded positions count in the divisor */
    int32_t with_indices;      /* MAXPOOL: 1 = out[1] receives int64 indices */
    int32_t storage_order;     /* MAXPOOL indices: 0 row-major, 1 column-major spatial */
    int32_t act;
    float act_a, act_b;
} tml_pool_params;

/*
 * BATCHNORM_F32: inference batch normalization,
 * Y = act((X - mean) / sqrt(var + epsilon) * scale + bias).
 * in[0] X (n, c, inner)  in[1] scale  in[2] bias  in[3] mean  in[4] var, each (c) or, if
 * per_element (opset < 9, spatial = 0), (c, inner).   out[0] Y (n, c, inner)
 */
typedef struct {
    int32_t n, c, inner;  /* inner = product of the spatial dims */
    int32_t per_element;  /* 0: statistics per channel; 1: per (channel, position) */
    float epsilon;
    int32_t act;
    float act_a, act_b;
} tml_batchnorm_params;

/*
 * SOFTMAX_F32 and LOG_SOFTMAX_F32: along one axis of X viewed as (outer, axis, inner).
 * in[0] X (outer, axis, inner)   out[0] Y (outer, axis, inner)
 */
typedef struct {
    int32_t outer, axis, inner;
} tml_softmax_params;

#endif
