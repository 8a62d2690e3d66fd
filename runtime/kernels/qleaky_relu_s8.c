/*
 * qleaky_relu_s8.c - tml_qleaky_relu_s8: quantized int8_t LeakyRelu, bit-exact with
 * TFLite(-Micro)'s QuantizeLeakyRelu.
 *
 * Two linear pieces in fixed point: the input, moved to its zero point, is rescaled by the
 * identity multiplier (in_scale / out_scale) where it is >= 0 and by the alpha multiplier
 * (in_scale * alpha / out_scale) where it is negative, then offset by the output zero point and
 * saturated (qmath.h has the arithmetic). Element i is read before it is written: in-place safe.
 */
#include "tml/elementwise.h"
#include "tml/qmath.h"

void tml_qleaky_relu_s8(const void *params, const void *const *in, void *const *out,
                         void *scratch)
{
    const tml_qleaky_params *p = (const tml_qleaky_params *)params;
    const int8_t *x = (const int8_t *)in[0]; /* (n) */
    int8_t *y = (int8_t *)out[0];            /* (n) */
    uint32_t i;
    (void)scratch;
    for (i = 0; i < p->n; i++) {
        int32_t v = (int32_t)x[i] - p->in_zero_point;
        int64_t r = v >= 0 ? tml_q_mul(v, p->id_multiplier, p->id_shift)
                           : tml_q_mul(v, p->alpha_multiplier, p->alpha_shift);
        r += p->out_zero_point;
        y[i] = (int8_t)(r < -128 ? -128 : (r > 127 ? 127 : r));
    }
}

tml_status tml_qleaky_relu_s8_check(const void *params, uint32_t params_size,
                                     const uint32_t *in_bytes, int n_in,
                                     const uint32_t *out_bytes, int n_out,
                                     uint32_t scratch_bytes)
{
    const tml_qleaky_params *p = (const tml_qleaky_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (p->id_shift < -31 || p->id_shift > 30 || p->alpha_shift < -31 || p->alpha_shift > 30 ||
        p->in_zero_point < -65536 || p->in_zero_point > 65536 || p->out_zero_point < -65536 ||
        p->out_zero_point > 65536)
        return TML_ERR_FORMAT;
    if ((uint64_t)p->n * sizeof(int8_t) > in_bytes[0] ||
        (uint64_t)p->n * sizeof(int8_t) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
