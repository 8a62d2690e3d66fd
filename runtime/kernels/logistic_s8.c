/*
 * logistic_s8.c - tml_logistic_s8: TFLite's int8 LOGISTIC: output scale 1/256, zero point -128. Inputs beyond the
 * radius saturate; the rest go through Q4.27 and gemmlowp's fixed-point function
 * (fixedpoint.h), then are rounded down to 8 bits, as TFLite's reference_integer_ops do.
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_logistic_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_act_s8_params *p = (const tml_act_s8_params *)params;
    const int8_t *x = (const int8_t *)in[0]; /* (count) */
    int8_t *y = (int8_t *)out[0];            /* (count) */
    int32_t i;
    (void)scratch;
    for (i = 0; i < p->count; i++) {
        const int32_t v = x[i] - p->input_zero_point;
        if (v <= -p->input_range_radius) {
            y[i] = -128;
        } else if (v >= p->input_range_radius) {
            y[i] = 127;
        } else {
            const int32_t q4 = tml_fx_mul_by_qm(v, p->input_multiplier, p->input_left_shift);
            y[i] = (int8_t)tml_fx_clamp(tml_fx_rdivpot(tml_fx_logistic(q4, 4), 31 - 8) - 128, -128, 127);
        }
    }
}

tml_status tml_logistic_s8_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                             int n_in, const uint32_t *out_bytes, int n_out,
                             uint32_t scratch_bytes)
{
    const tml_act_s8_params *p = (const tml_act_s8_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || !tml_nn_in_range(p->count, 1) ||
        p->input_zero_point < -128 || p->input_zero_point > 127 || p->input_left_shift > 30 ||
        p->input_left_shift < -31 || p->input_range_radius < 0)
        return TML_ERR_FORMAT;
    if ((uint32_t)p->count > in_bytes[0] || (uint32_t)p->count > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
