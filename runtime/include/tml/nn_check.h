/*
 * nn_check.h - static inline helpers the nn family's kernels and _check companions share.
 *
 * A _check proves from a params struct and buffer byte counts alone that its kernel stays in
 * bounds; the params come from an untrusted model package. Every size is therefore computed
 * in uint64 with saturation (never wraps), and every spatial quantity is bounded so that the
 * kernels' int32 index arithmetic (o*stride - pad + j*dilation) cannot overflow. These live in
 * a header, static inline, because codegen copies single kernel files out of the runtime.
 */
#ifndef TML_NN_CHECK_H
#define TML_NN_CHECK_H

#include <stdint.h>

/* Bound on any single dimension, stride, pad or dilation, and on the reach of a window. */
#define TML_NN_LIM ((int32_t)1 << 28)
/* Saturation value of tml_nn_mul: larger than any uint32 byte count. */
#define TML_NN_SAT ((uint64_t)1 << 40)

/* a*b saturating at TML_NN_SAT (inputs already <= TML_NN_SAT). */
static inline uint64_t tml_nn_mul(uint64_t a, uint64_t b)
{
    if (a == 0 || b == 0)
        return 0;
    if (a >= TML_NN_SAT || b >= TML_NN_SAT || a > TML_NN_SAT / b)
        return TML_NN_SAT;
    return a * b;
}

/* 1 if lo <= v <= TML_NN_LIM. */
static inline int tml_nn_in_range(int32_t v, int32_t lo) { return v >= lo && v <= TML_NN_LIM; }

/*
 * 1 if one spatial axis of a sliding window is safe: sizes >= 1, stride and dilation >= 1,
 * pad >= 0, and every index o*stride - pad + j*dilation fits comfortably in int32.
 */
static inline int tml_nn_axis_ok(int32_t in, int32_t out, int32_t kernel, int32_t stride,
                                 int32_t pad, int32_t dilation)
{
    int64_t reach;
    if (!tml_nn_in_range(in, 1) || !tml_nn_in_range(out, 1) || !tml_nn_in_range(kernel, 1) ||
        !tml_nn_in_range(stride, 1) || !tml_nn_in_range(pad, 0) || !tml_nn_in_range(dilation, 1))
        return 0;
    reach = (int64_t)(out - 1) * stride + (int64_t)(kernel - 1) * dilation;
    return reach <= TML_NN_LIM;
}

/* 1 if act is a known TML_RT_ACT_* value. */
static inline int tml_nn_act_ok(int32_t act) { return act >= 0 && act <= 6; }

/* Bytes of count float32 elements, saturating. */
static inline uint64_t tml_nn_f32_bytes(uint64_t count) { return tml_nn_mul(count, 4); }

/*
 * Taps of a sliding window that land inside [0, size): positions start + j*dil for j in
 * [*lo, *hi) (empty if *lo >= *hi). Kernels loop over exactly these instead of testing every
 * tap, which keeps the inner loops branch-free and the summation order unchanged.
 */
static inline void tml_nn_window(int32_t start, int32_t k, int32_t dil, int32_t size,
                                 int32_t *lo, int32_t *hi)
{
    int32_t l, h;
    if (dil == 1) { /* the common case, without two integer divisions per call */
        l = start < 0 ? -start : 0;
        h = start < size ? size - start : 0;
    } else {
        l = start < 0 ? (-start + dil - 1) / dil : 0;
        h = start < size ? (size - start + dil - 1) / dil : 0;
    }
    *lo = l < k ? l : k;
    *hi = h < k ? h : k;
    if (*hi < *lo)
        *hi = *lo;
}

#endif /* TML_NN_CHECK_H */
