/*
 * softmax_s8.c - tml_softmax_s8: TFLite's int8 softmax, bit-exact with its reference kernel.
 *
 * For each row: the differences x - max (<= 0) are scaled by the compile-time input multiplier
 * into Q5.26, exponentiated with gemmlowp's fixed-point exp (tml_fx_exp_neg), summed in Q12.19,
 * the sum's reciprocal taken with tml_fx_one_over_one_plus_x after normalising it into [1, 2),
 * and each exp times the reciprocal shifted down to the output's 1/256 steps, minus 128.
 * Differences below diff_min (whose exp underflows) give -128 directly.
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_softmax_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_softmax_s8_params *p = (const tml_softmax_s8_params *)params;
    const int8_t *x = (const int8_t *)in[0]; /* (outer, axis, inner) */
    int8_t *y = (int8_t *)out[0];            /* (outer, axis, inner) */
    const int ib = TML_FX_SOFTMAX_DIFF_INT_BITS, acc_bits = TML_FX_SOFTMAX_ACC_INT_BITS;
    int32_t o, i, a;
    (void)scratch;
    for (o = 0; o < p->outer; o++) {
        for (i = 0; i < p->inner; i++) {
            const size_t base = (size_t)o * p->axis * p->inner + (size_t)i;
            const size_t st = (size_t)p->inner;
            int32_t maxv = -128, sum = 0, headroom, bits_over_unit, scale;
            for (a = 0; a < p->axis; a++)
                maxv = x[base + a * st] > maxv ? x[base + a * st] : maxv;
            for (a = 0; a < p->axis; a++) {
                const int32_t diff = x[base + a * st] - maxv;
                if (diff >= p->diff_min) {
                    const int32_t r =
                        tml_fx_mul_by_qm_gt1(diff, p->input_multiplier, p->input_left_shift);
                    sum += tml_fx_rdivpot(tml_fx_exp_neg(r, ib), acc_bits);
                }
            }
            headroom = tml_fx_clz((uint32_t)sum);
            bits_over_unit = acc_bits - headroom;
            scale = tml_fx_one_over_one_plus_x(
                (int32_t)(((uint32_t)sum << headroom) - ((uint32_t)1 << 31)));
            for (a = 0; a < p->axis; a++) {
                const int32_t diff = x[base + a * st] - maxv;
                int32_t v = -128;
                if (diff >= p->diff_min) {
                    const int32_t r =
                        tml_fx_mul_by_qm_gt1(diff, p->input_multiplier, p->input_left_shift);
                    const int32_t e = tml_fx_exp_neg(r, ib);
                    v = tml_fx_rdivpot(tml_fx_srdhm(scale, e), bits_over_unit + 31 - 8) - 128;
                    v = tml_fx_clamp(v, -128, 127);
                }
                y[base + a * st] = (int8_t)v;
            }
        }
    }
}

tml_status tml_softmax_s8_check(const void *params, uint32_t params_size,
                                const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                int n_out, uint32_t scratch_bytes)
{
    const tml_softmax_s8_params *p = (const tml_softmax_s8_params *)params;
    uint64_t count;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || !tml_nn_in_range(p->outer, 1) ||
        !tml_nn_in_range(p->axis, 1) || !tml_nn_in_range(p->inner, 1) ||
        p->input_left_shift < 0 || p->input_left_shift > 31 || p->diff_min > 0)
        return TML_ERR_FORMAT;
    count = tml_nn_mul(tml_nn_mul((uint64_t)p->outer, (uint64_t)p->axis), (uint64_t)p->inner);
    if (count > in_bytes[0] || count > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
