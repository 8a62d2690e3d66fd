/*
 * requantize_x.c - tml_requantize_x: TFLite's QUANTIZE from one integer type to another
 * (int8/uint8/int16/uint16/int32 in any pair), bit-exact with TFLite's Requantize: shift by the
 * input zero point, MultiplyByQuantizedMultiplier with the compile-time multiplier and shift of
 * in_scale / out_scale, add the output zero point, saturate to the output type.
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/quant_util.h"

void tml_requantize_x(const void *params, const void *const *in, void *const *out,
                      void *scratch)
{
    const tml_requantize_params *p = (const tml_requantize_params *)params;
    int32_t i;
    (void)scratch;
    for (i = 0; i < p->count; i++) {
        const int32_t v = (int32_t)((uint32_t)tml_q_load(in[0], p->in_dtype, (size_t)i) -
                                    (uint32_t)p->input_zero_point);
        const int64_t r = (int64_t)tml_fx_mul_by_qm(v, p->multiplier, p->shift) +
                          p->output_zero_point;
        tml_q_store(out[0], p->out_dtype, (size_t)i, r);
    }
}

tml_status tml_requantize_x_check(const void *params, uint32_t params_size,
                                  const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                  int n_out, uint32_t scratch_bytes)
{
    const tml_requantize_params *p = (const tml_requantize_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || !tml_nn_in_range(p->count, 1) ||
        !tml_q_dtype_ok(p->in_dtype) || !tml_q_dtype_ok(p->out_dtype) || p->shift < -31 ||
        p->shift > 30)
        return TML_ERR_FORMAT;
    if (tml_q_bytes((uint64_t)p->count, p->in_dtype) > in_bytes[0] ||
        tml_q_bytes((uint64_t)p->count, p->out_dtype) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
