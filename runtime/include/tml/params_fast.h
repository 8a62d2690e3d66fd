/*
 * params_fast.h - parameter structs and shared inline helpers of the fast float32 kernels
 * (kernels_fast.def): variants of the nn reference kernels that the compiler selects when
 * they apply (src/ops/select_fast.c) and that must agree with the reference within float
 * tolerance (tests/perf/).
 *
 * How they are fast without intrinsics: every inner loop runs over independent outputs
 * (columns of Y, positions of an output row) held in a small local array the compiler keeps
 * in vector registers, and accumulates with TML_FAST_FMA. Summation order per output is the
 * reference's (k ascending; c, kh, kw for conv), so the only difference from the reference is
 * the rounding of the fused multiply-add, where the target has one.
 *
 * Why fmaf and not a*b + c: ISO C modes (-std=c99) forbid the compiler to contract a*b + c,
 * which halves float throughput on every core with an FMA unit. fmaf() is exact C99 and maps
 * to one instruction where the target advertises FMA (x86 __FMA__, Arm __ARM_FEATURE_FMA:
 * Cortex-M4F/M7/M33 VFMA); elsewhere (Cortex-M0/M3, soft float) it would be a slow library
 * call, so the plain expression is used there.
 */
#ifndef TML_PARAMS_FAST_H
#define TML_PARAMS_FAST_H

#include <math.h>
#include <stdint.h>

#include "tml/act.h"
#include "tml/params_nn.h"

#if defined(__FMA__) || defined(__ARM_FEATURE_FMA) || defined(__aarch64__)
#define TML_FAST_FMA(a, b, c) fmaf((a), (b), (c))
#else
#define TML_FAST_FMA(a, b, c) ((a) * (b) + (c))
#endif

/*
 * TML_FAST_SIMD: 1 where the compiler has float vector registers to auto-vectorize into
 * (x86 SSE/AVX, Arm NEON, AArch64). Register tiles are wide there (16-32 lanes); on scalar
 * FPUs (Cortex-M4F/M7) they are narrow, so that the accumulators still fit the 32 single
 * registers instead of spilling to the stack.
 */
#if defined(__SSE2__) || defined(__ARM_NEON) || defined(__aarch64__)
#define TML_FAST_SIMD 1
#else
#define TML_FAST_SIMD 0
#endif

/*
 * TML_FAST_SOFT_FLOAT: 1 without a hardware FPU (Cortex-M0/M3, RV32 without F), where every
 * float operation is a library call: there a tile computes only the lanes it stores, even
 * if that costs shared loads.
 */
#if defined(__SOFTFP__) || (defined(__riscv) && !defined(__riscv_flen))
#define TML_FAST_SOFT_FLOAT 1
#else
#define TML_FAST_SOFT_FLOAT 0
#endif

/*
 * TML_FAST_UNROLL: fully unroll the next loop (a register tile's fixed-width row). GCC keeps
 * a small accumulator array in vector registers only if its loop is unrolled before scalar
 * replacement; otherwise every step stores the accumulators to the stack and reloads them
 * (measured: 1.5-2.5x slower). Clang unrolls such loops by itself.
 */
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 8
#define TML_FAST_UNROLL _Pragma("GCC unroll 32")
#else
#define TML_FAST_UNROLL
#endif

/*
 * Applies a fused activation to v[0..n) in place, with the switch outside the loop so that
 * the common cases (none, ReLU, Clip) vectorize; same expressions as tml_act_f32 (act.h).
 */
static inline void tml_fast_act_row(int32_t act, float a, float b, float *v, int32_t n)
{
    int32_t i;
    switch (act) {
    case TML_RT_ACT_NONE:
        break;
    case TML_RT_ACT_RELU:
        for (i = 0; i < n; i++)
            v[i] = v[i] > 0.0f ? v[i] : 0.0f;
        break;
    case TML_RT_ACT_CLIP:
        for (i = 0; i < n; i++)
            v[i] = v[i] < a ? a : (v[i] > b ? b : v[i]);
        break;
    default:
        for (i = 0; i < n; i++)
            v[i] = tml_act_f32(act, a, b, v[i]);
        break;
    }
}

/*
 * Panel width of GEMM_F32_PACKED: columns of Y computed together (register block). A packed
 * B is laid out for exactly this width, so the value is also recorded in every params struct
 * and checked: a package packed for another width is refused, never misread.
 */
#define TML_GEMM_PACKED_NR 32
/* Columns of a panel the kernel accumulates at once (divides TML_GEMM_PACKED_NR); speed only. */
#if TML_FAST_SIMD
#define TML_GEMM_PACKED_RB 32
#else
#define TML_GEMM_PACKED_RB 8
#endif

/*
 * GEMM_F32_PACKED: Y = act(alpha * A B' + beta * C) with B' = op(B) pre-packed at compile time.
 * in[0] A (m, k) (row-major, not transposed)
 * in[1] Bp (k * n floats): B' cut into column panels of nr columns, the last one narrower
 *       (n - p*nr) when nr does not divide n; panel p starts at p*nr*k and holds its rows
 *       contiguously: element (kk, p*nr + j) is at p*nr*k + kk*width_p + j. One panel is one
 *       forward stream the kernel reads once per row of A; same size as B (no padding).
 * in[2] C (c_rows, c_cols), only if c_rows > 0 (broadcast to (m, n) like GEMM_F32)
 * out[0] Y (m, n)
 * MatMul with a constant 2-D B and no batch broadcast on B lowers here too (alpha 1, no C).
 */
typedef struct {
    int32_t m, n, k;
    int32_t nr; /* panel width, == TML_GEMM_PACKED_NR */
    float alpha, beta;
    int32_t c_rows, c_cols; /* shape of C after broadcasting to rank 2; 0, 0 if no C */
    int32_t act;
    float act_a, act_b;
} tml_gemm_packed_params;

/* Floats of a packed B for (k, n): k * n; 0 if that does not fit in uint32 bytes. */
static inline uint64_t tml_gemm_packed_floats(int32_t k, int32_t n)
{
    uint64_t f;
    if (k < 1 || n < 1)
        return 0;
    f = (uint64_t)k * (uint64_t)n;
    return f * 4 > UINT32_MAX ? 0 : f;
}

/*
 * CONV_F32_TILED uses tml_conv_params (params_nn.h) unchanged; it handles 1-D and 2-D
 * convolutions (in[0] == out[0] == kernel[0] == 1). Register block: TML_CONV_TILED_MR output
 * channels (then blocks of 4, then single channels) x TML_CONV_TILED_NR positions of one
 * output row. MR only changes speed, never the layout of anything in a model package.
 */
#if defined(__AVX512F__) || defined(__aarch64__)
#define TML_CONV_TILED_MR 8 /* 32 vector registers: 8 x NR accumulators fit */
#else
#define TML_CONV_TILED_MR 4
#endif
#if TML_FAST_SIMD
#define TML_CONV_TILED_NR 16
#else
#define TML_CONV_TILED_NR 4 /* scalar FPU: 4 x 4 accumulators in s0-s31 */
#endif
/* Largest NR of any build: scratch sizes use it, so a plan made on the host fits every target. */
#define TML_CONV_TILED_NR_MAX 16

/*
 * Geometry of the zero-padded copy of X that CONV_F32_TILED keeps in scratch: every window
 * of every output lies inside it, so the kernel's loops carry no bounds tests.
 * hp, wp: rows and columns the windows reach, (out-1)*stride + (kernel-1)*dilation + 1.
 * Scratch floats = c_in * hp * wp + (NR_MAX - 1) * stride_w + 1 (the last row's tail tile
 * reads past the plane into lanes that are never stored; NR <= NR_MAX). Returns 0 if the sizes
 * overflow uint32.
 */
static inline uint64_t tml_conv_tiled_scratch_floats(const tml_conv_params *p, int32_t *hp,
                                                     int32_t *wp)
{
    uint64_t h, w, f;
    if (p->out[1] < 1 || p->out[2] < 1 || p->kernel[1] < 1 || p->kernel[2] < 1 ||
        p->stride[1] < 1 || p->stride[2] < 1 || p->dilation[1] < 1 || p->dilation[2] < 1 ||
        p->c_in < 1)
        return 0;
    h = (uint64_t)(p->out[1] - 1) * (uint64_t)p->stride[1] +
        (uint64_t)(p->kernel[1] - 1) * (uint64_t)p->dilation[1] + 1;
    w = (uint64_t)(p->out[2] - 1) * (uint64_t)p->stride[2] +
        (uint64_t)(p->kernel[2] - 1) * (uint64_t)p->dilation[2] + 1;
    if (h > ((uint64_t)1 << 28) || w > ((uint64_t)1 << 28))
        return 0;
    f = (uint64_t)p->c_in * h;
    if (f > ((uint64_t)1 << 32))
        return 0;
    f *= w;
    if (f > ((uint64_t)1 << 32))
        return 0;
    f += (uint64_t)(TML_CONV_TILED_NR_MAX - 1) * (uint64_t)p->stride[2] + 1;
    if (f * 4 > UINT32_MAX)
        return 0;
    if (hp)
        *hp = (int32_t)h;
    if (wp)
        *wp = (int32_t)w;
    return f;
}

#endif /* TML_PARAMS_FAST_H */
