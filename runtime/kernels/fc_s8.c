/*
 * fc_s8.c - tml_fc_s8: TFLite's int8 FULLY_CONNECTED (per-tensor requantization).
 *
 * Bit-exact with TFLite's reference: int32 acc = bias + sum (x + input_offset) *
 * (w + filter_offset), then MultiplyByQuantizedMultiplier with the compile-time multiplier
 * and shift, plus the output zero point, clamped to the fused activation's range.
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_fc_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_fc_s8_params *p = (const tml_fc_s8_params *)params;
    const int8_t *x = (const int8_t *)in[0];                     /* (m, k) */
    const int8_t *w = (const int8_t *)in[1];                     /* (n, k) */
    const int32_t *b = p->has_bias ? (const int32_t *)in[2] : 0; /* (n) */
    int8_t *y = (int8_t *)out[0];                                /* (m, n) */
    int32_t i, j, kk;
    (void)scratch;
    for (i = 0; i < p->m; i++) {
        const int8_t *xr = x + (size_t)i * p->k;
        for (j = 0; j < p->n; j++) {
            const int8_t *wr = w + (size_t)j * p->k;
            int32_t acc = 0;
            for (kk = 0; kk < p->k; kk++)
                acc += (xr[kk] + p->input_offset) * (wr[kk] + p->filter_offset);
            if (b)
                acc += b[j];
            acc = tml_fx_mul_by_qm(acc, p->multiplier, p->shift) + p->output_offset;
            y[(size_t)i * p->n + j] = (int8_t)tml_fx_clamp(acc, p->act_min, p->act_max);
        }
    }
}

tml_status tml_fc_s8_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                           int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    const tml_fc_s8_params *p = (const tml_fc_s8_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || (p->has_bias & ~1) || n_in != 2 + p->has_bias)
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->m, 1) || !tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->k, 1) ||
        p->input_offset < -255 || p->input_offset > 255 || p->filter_offset < -255 ||
        p->filter_offset > 255 || p->act_min > p->act_max)
        return TML_ERR_FORMAT;
    if (tml_nn_mul((uint64_t)p->m, (uint64_t)p->k) > in_bytes[0] ||
        tml_nn_mul((uint64_t)p->n, (uint64_t)p->k) > in_bytes[1] ||
        (p->has_bias && tml_nn_mul((uint64_t)p->n, 4) > in_bytes[2]) ||
        tml_nn_mul((uint64_t)p->m, (uint64_t)p->n) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
