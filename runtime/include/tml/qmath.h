/*
 * qmath.h - TFLite's integer requantization arithmetic, implemented once (static inline):
 * the fixed-point multiply (SaturatingRoundingDoublingHighMul + RoundingDivideByPOT, i.e.
 * gemmlowp's), and the host-side choice of a (multiplier, shift) pair for a real factor
 * (QuantizeMultiplier). Kernels that must match TFLite(-Micro) bit for bit use these.
 *
 * Why a header: codegen copies single kernel files, so shared kernel code has to be inline in
 * a runtime header. Right shifts of negative values are arithmetic on every compiler the
 * project targets (gcc, clang, arm-none-eabi-gcc), as TFLite itself assumes.
 */
#ifndef TML_QMATH_H
#define TML_QMATH_H

#include <math.h>
#include <stdint.h>

/* (a * b * 2) >> 32 with rounding to nearest and saturation of INT32_MIN * INT32_MIN. */
static inline int32_t tml_q_doubling_high_mul(int32_t a, int32_t b)
{
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    if (a == INT32_MIN && b == INT32_MIN)
        return INT32_MAX;
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C99: truncates toward zero */
}

/* x / 2^exponent rounded to nearest, ties away from zero (0 <= exponent <= 31). */
static inline int32_t tml_q_rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^(shift - 31) for shift <= 0 (TFLite's
 * MultiplyByQuantizedMultiplierSmallerThanOneExp). */
static inline int32_t tml_q_mul_small(int32_t x, int32_t multiplier, int32_t shift)
{
    return tml_q_rounding_divide_by_pot(tml_q_doubling_high_mul(x, multiplier), (int)-shift);
}

/* x * multiplier * 2^(shift - 31) for any shift in -31..30 (TFLite's
 * MultiplyByQuantizedMultiplier, double rounding): a positive shift scales x up first. */
static inline int32_t tml_q_mul(int32_t x, int32_t multiplier, int32_t shift)
{
    int left = shift > 0 ? (int)shift : 0, right = shift > 0 ? 0 : (int)-shift;
    return tml_q_rounding_divide_by_pot(
        tml_q_doubling_high_mul((int32_t)((uint32_t)x << left), multiplier), right);
}

/* Host side: real = multiplier * 2^(shift - 31), multiplier in [2^30, 2^31) (TFLite's
 * QuantizeMultiplier, rounding half away from zero). */
static inline void tml_q_quantize_multiplier(double real, int32_t *multiplier, int32_t *shift)
{
    int e = 0;
    double q;
    int64_t fixed;
    if (real == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return;
    }
    q = frexp(real, &e);
    fixed = (int64_t)round(q * (double)((int64_t)1 << 31));
    if (fixed == ((int64_t)1 << 31)) {
        fixed /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        fixed = 0;
    }
    *multiplier = (int32_t)fixed;
    *shift = e;
}

#endif /* TML_QMATH_H */
