/*
 * fixedpoint.h - the one header with TensorFlow Lite's integer arithmetic, used by every
 * quantized kernel and by the compiler when it computes requantization parameters.
 *
 * What: gemmlowp's fixed-point primitives as TFLite's reference kernels use them -
 * SaturatingRoundingDoublingHighMul, RoundingDivideByPOT, MultiplyByQuantizedMultiplier (the
 * "double rounding" form that is TFLite's default), saturating shifts, exp on negative values
 * and 1/(1+x) in Q0.31 for the int8 softmax - plus the compile-time side: turning a real
 * multiplier into (int32 multiplier, shift) exactly like tflite::QuantizeMultiplier, the
 * softmax input scaling and the activation clamp range.
 *
 * How: every function is static inline C99 on int32/int64 only (the compile-time helpers use
 * double and frexp, and are never called by kernels). Left shifts of possibly negative values
 * go through uint32 so they are defined behaviour. Fixed-point numbers are plain int32 raw
 * values; the comment on each function says which Q format (integer bits) it expects.
 *
 * Why one header, static inline: bit-exactness with TFLite depends on every kernel rounding the
 * same way, so the rounding lives in one place; and codegen copies single kernel files out of
 * the runtime, so shared code must be in a header (see STYLE.md). Written from the published
 * semantics of gemmlowp/TFLite (reference only; no code copied).
 */
#ifndef TML_FIXEDPOINT_H
#define TML_FIXEDPOINT_H

#include <math.h>
#include <stdint.h>

/* ---- run-time primitives (kernels) ---- */

/* round(a * b / 2^31), ties away from zero, saturating the single overflow case
 * INT32_MIN * INT32_MIN to INT32_MAX. */
static inline int32_t tml_fx_srdhm(int32_t a, int32_t b)
{
    int64_t ab, nudge;
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    ab = (int64_t)a * (int64_t)b;
    nudge = ab >= 0 ? ((int64_t)1 << 30) : (1 - ((int64_t)1 << 30));
    return (int32_t)((ab + nudge) / ((int64_t)1 << 31)); /* C99 division truncates to zero */
}

/* x / 2^exponent rounded to nearest, ties away from zero; 0 <= exponent <= 31. */
static inline int32_t tml_fx_rdivpot(int32_t x, int exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * 2^exponent with saturation to int32 (exponent >= 0). */
static inline int32_t tml_fx_sat_shl(int32_t x, int exponent)
{
    int32_t threshold;
    if (exponent <= 0)
        return x;
    if (exponent >= 31)
        return x > 0 ? INT32_MAX : (x < 0 ? INT32_MIN : 0);
    threshold = (int32_t)(((int64_t)1 << (31 - exponent)) - 1);
    if (x > threshold)
        return INT32_MAX;
    if (x < -threshold)
        return INT32_MIN;
    return (int32_t)((uint32_t)x << exponent);
}

/* gemmlowp SaturatingRoundingMultiplyByPOT: x * 2^exponent, rounding (exponent < 0) or
 * saturating (exponent > 0). */
static inline int32_t tml_fx_mul_pot(int32_t x, int exponent)
{
    return exponent >= 0 ? tml_fx_sat_shl(x, exponent) : tml_fx_rdivpot(x, -exponent);
}

/* tflite::MultiplyByQuantizedMultiplier: x * multiplier * 2^shift / 2^31 with TFLite's
 * double rounding. shift > 0 is a left shift applied before the multiply. */
static inline int32_t tml_fx_mul_by_qm(int32_t x, int32_t multiplier, int32_t shift)
{
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return tml_fx_rdivpot(tml_fx_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* MultiplyByQuantizedMultiplierGreaterThanOne (softmax input scaling): left shift, then
 * the rounding doubling high multiply. */
static inline int32_t tml_fx_mul_by_qm_gt1(int32_t x, int32_t multiplier, int left_shift)
{
    return tml_fx_srdhm((int32_t)((uint32_t)x << left_shift), multiplier);
}

static inline int32_t tml_fx_clamp(int32_t v, int32_t lo, int32_t hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* gemmlowp RoundingHalfSum: (a + b) / 2 rounded away from zero. */
static inline int32_t tml_fx_rhalf_sum(int32_t a, int32_t b)
{
    const int64_t sum = (int64_t)a + (int64_t)b;
    const int64_t sign = sum >= 0 ? 1 : -1;
    return (int32_t)((sum + sign) / 2);
}

/* exp(a) for a in [-1/4, 0), a and the result in Q0.31. */
static inline int32_t tml_fx_exp_quarter(int32_t a)
{
    const int32_t constant_term = 1895147668;  /* exp(-1/8) */
    const int32_t constant_1_over_3 = 715827883;
    const int32_t x = a + (1 << 28);             /* a + 1/8 */
    const int32_t x2 = tml_fx_srdhm(x, x);
    const int32_t x3 = tml_fx_srdhm(x2, x);
    const int32_t x4 = tml_fx_srdhm(x2, x2);
    const int32_t x4_over_4 = tml_fx_rdivpot(x4, 2);
    const int32_t poly =
        tml_fx_rdivpot(tml_fx_srdhm(x4_over_4 + x3, constant_1_over_3) + x2, 1);
    return constant_term + tml_fx_srdhm(constant_term, x + poly);
}

/* exp(a) for a <= 0; a in Q(int_bits).(31-int_bits), result in Q0.31 (gemmlowp
 * exp_on_negative_values). 1 <= int_bits <= 30. */
static inline int32_t tml_fx_exp_neg(int32_t a, int int_bits)
{
    static const int32_t mult[7] = {1672461947, 1302514674, 790015084, 290630308,
                                    39332535,   720401,     242};
    const int frac_bits = 31 - int_bits;
    const int32_t one_quarter = (int32_t)1 << (frac_bits - 2);
    const int32_t a_mod = (a & (one_quarter - 1)) - one_quarter;
    const int32_t remainder = a_mod - a;
    int32_t result = tml_fx_exp_quarter(tml_fx_sat_shl(a_mod, int_bits));
    int e;
    for (e = -2; e <= 4; e++) {
        if (int_bits > e) {
            const int shift = frac_bits + e;
            if (remainder & (int32_t)((uint32_t)1 << shift))
                result = tml_fx_srdhm(result, mult[e + 2]);
        }
    }
    if (int_bits > 5) {
        const int b = 36 - int_bits;
        if (a < -((int32_t)1 << b))
            result = 0;
    }
    if (a == 0)
        result = INT32_MAX;
    return result;
}

/* 1 / (1 + a) for a in [0, 1); a in Q0.31, result in Q0.31 (gemmlowp
 * one_over_one_plus_x_for_x_in_0_1: three Newton-Raphson steps in Q2.29). */
static inline int32_t tml_fx_one_over_one_plus_x(int32_t a)
{
    const int32_t half_den = tml_fx_rhalf_sum(a, INT32_MAX);
    const int32_t c48_17 = 1515870810;   /* 48/17 in Q2.29 */
    const int32_t cm32_17 = -1010580540; /* -32/17 in Q2.29 */
    int32_t x = c48_17 + tml_fx_srdhm(half_den, cm32_17);
    int i;
    for (i = 0; i < 3; i++) {
        const int32_t hdx = tml_fx_srdhm(half_den, x);
        const int32_t one_minus = (1 << 29) - hdx;
        x = x + tml_fx_sat_shl(tml_fx_srdhm(x, one_minus), 2);
    }
    return tml_fx_sat_shl(x, 1); /* x/2 in Q1.30 rescaled to Q0.31 */
}

/* logistic(a) = 1 / (1 + exp(-a)); a in Q(int_bits), result in Q0.31 (gemmlowp logistic). */
static inline int32_t tml_fx_logistic(int32_t a, int int_bits)
{
    int32_t pos;
    if (a == 0)
        return 1 << 30; /* one half */
    pos = tml_fx_one_over_one_plus_x(tml_fx_exp_neg(a > 0 ? -a : a, int_bits));
    return a > 0 ? pos : INT32_MAX - pos;
}

/* tanh(a); a in Q(int_bits), result in Q0.31 (gemmlowp tanh: (1 - e) / (1 + e) with
 * e = exp(-2|a|), the reciprocal as in tml_fx_one_over_one_plus_x). int_bits <= 29. */
static inline int32_t tml_fx_tanh(int32_t a, int int_bits)
{
    const int32_t n = a < 0 ? a : -a; /* -|a| */
    const int32_t e = tml_fx_exp_neg(n, int_bits + 1); /* 2 * n: same raw, one more int bit */
    const int32_t half_den = tml_fx_rhalf_sum(e, INT32_MAX);
    int32_t x = 1515870810 + tml_fx_srdhm(half_den, -1010580540);
    int32_t t;
    int i;
    if (a == 0)
        return 0;
    for (i = 0; i < 3; i++) {
        const int32_t hdx = tml_fx_srdhm(half_den, x);
        x = x + tml_fx_sat_shl(tml_fx_srdhm(x, (1 << 29) - hdx), 2);
    }
    t = tml_fx_sat_shl(x - (1 << 29), 2); /* (1 - e)/(1 + e) = 2/(1 + e) - 1, Q2.29 -> Q0.31 */
    return a < 0 ? -t : t;
}

/* Count of leading zero bits of a uint32 (32 for 0). */
static inline int tml_fx_clz(uint32_t x)
{
    int n = 0;
    if (x == 0)
        return 32;
    while (!(x & 0x80000000u)) {
        x <<= 1;
        n++;
    }
    return n;
}

/* Softmax constants, as TFLite's reference int8 softmax. */
#define TML_FX_SOFTMAX_DIFF_INT_BITS 5
#define TML_FX_SOFTMAX_ACC_INT_BITS 12

/* ---- compile-time helpers (the compiler; kernels never call these) ---- */

/* tflite::QuantizeMultiplier: m = multiplier * 2^shift / 2^31, multiplier in [2^30, 2^31). */
static inline void tml_fx_quantize_multiplier(double m, int32_t *multiplier, int32_t *shift)
{
    int e = 0;
    double q;
    int64_t q_fixed;
    if (m == 0.0) {
        *multiplier = 0;
        *shift = 0;
        return;
    }
    q = frexp(m, &e);
    q_fixed = (int64_t)round(q * (double)((int64_t)1 << 31));
    if (q_fixed == ((int64_t)1 << 31)) {
        q_fixed /= 2;
        e++;
    }
    if (e < -31) {
        e = 0;
        q_fixed = 0;
    }
    if (e > 30) {
        e = 30;
        q_fixed = ((int64_t)1 << 31) - 1;
    }
    *multiplier = (int32_t)q_fixed;
    *shift = e;
}

/* tflite::PreprocessSoftmaxScaling + CalculateInputRadius for the int8 softmax: the input
 * multiplier, its left shift and diff_min (differences below it give exp = 0). */
static inline void tml_fx_softmax_scaling(double beta, double input_scale, int32_t *multiplier,
                                          int32_t *left_shift, int32_t *diff_min)
{
    const int ib = TML_FX_SOFTMAX_DIFF_INT_BITS;
    double real = beta * input_scale * (double)(1 << (31 - ib));
    double radius;
    if (real > (double)(((int64_t)1 << 31) - 1))
        real = (double)(((int64_t)1 << 31) - 1);
    tml_fx_quantize_multiplier(real, multiplier, left_shift);
    if (*left_shift < 0) { /* multiplier below one: TFLite requires >= 1 */
        *multiplier = 0;
        *left_shift = 0;
    }
    radius = 1.0 * (double)((1 << ib) - 1) * (double)((int64_t)1 << (31 - ib)) /
             (double)((int64_t)1 << *left_shift);
    *diff_min = -(int32_t)floor(radius);
}

/* Input scaling of TFLite's int8 LOGISTIC and TANH (4 integer bits): multiplier and left
 * shift of input_scale * 2^27 by frexp (no renormalisation, as TFLite's Prepare does), and the
 * input radius beyond which the output saturates. */
static inline void tml_fx_act_input_scaling(double input_scale, int32_t *multiplier,
                                            int32_t *left_shift, int32_t *radius)
{
    int e = 0;
    const double q = frexp(input_scale * (double)(1 << 27), &e);
    double r = round(q * (double)((int64_t)1 << 31));
    if (r > (double)INT32_MAX)
        r = (double)INT32_MAX;
    *multiplier = (int32_t)r;
    *left_shift = e;
    r = 15.0 * (double)((int64_t)1 << 27) / ldexp(1.0, e);
    *radius = (int32_t)floor(r);
}

/* tflite::CalculateActivationRangeQuantized: the clamp range of a fused activation on a
 * quantized output (act codes as tml_act / act.h: 1 relu, 2 clip(a, b)). */
static inline void tml_fx_act_range(int act, float a, float b, float scale, int32_t zero_point,
                                    int32_t qmin, int32_t qmax, int32_t *lo, int32_t *hi)
{
    int32_t l = qmin, h = qmax;
    if (act == 1) {
        l = zero_point;
    } else if (act == 2) {
        l = zero_point + (int32_t)roundf(a / scale);
        h = zero_point + (int32_t)roundf(b / scale);
    }
    *lo = l > qmin ? l : qmin;
    *hi = h < qmax ? h : qmax;
}

#endif /* TML_FIXEDPOINT_H */
