/*
 * dequantize_x.c - tml_dequantize_x: int8/uint8/int16/uint16/int32 -> float32,
 * y = (x - zero_point) * scale, per tensor or per axis.
 *
 * Computed in float32 as ONNX's reference does ((float)x - (float)zp) * scale; the difference
 * of two small integers is exact in float, so one rounding (the product) remains.
 */
#include "tml/kernels.h"
#include "tml/quant_util.h"

void tml_dequantize_x(const void *params, const void *const *in, void *const *out,
                      void *scratch)
{
    const tml_quantize_params *p = (const tml_quantize_params *)params;
    const void *x = in[0];                                      /* (outer, axis, inner) dtype */
    const float *sc = p->from_tensors ? (const float *)in[1] : 0; /* (axis) or (1) */
    const void *zp = p->from_tensors && p->has_zp ? in[2] : 0;
    float *y = (float *)out[0];                                 /* (outer, axis, inner) */
    int32_t o, a, i;
    (void)scratch;
    for (o = 0; o < p->outer; o++) {
        for (a = 0; a < p->axis; a++) {
            const int32_t q = p->per_axis ? a : 0;
            const float s = sc ? sc[q] : p->scale;
            const int32_t z = p->from_tensors ? (zp ? tml_q_load(zp, p->dtype, (size_t)q) : 0)
                                              : p->zero_point;
            const size_t base = ((size_t)o * p->axis + a) * p->inner;
            for (i = 0; i < p->inner; i++)
                y[base + i] =
                    ((float)tml_q_load(x, p->dtype, base + i) - (float)z) * s;
        }
    }
}

tml_status tml_dequantize_x_check(const void *params, uint32_t params_size,
                                  const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                  int n_out, uint32_t scratch_bytes)
{
    const tml_quantize_params *p = (const tml_quantize_params *)params;
    uint64_t count, nq;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->outer, 1) || !tml_nn_in_range(p->axis, 1) ||
        !tml_nn_in_range(p->inner, 1) || !tml_q_dtype_ok(p->dtype) || (p->per_axis & ~1) ||
        (p->from_tensors & ~1) || (p->has_zp & ~1))
        return TML_ERR_FORMAT;
    nq = p->per_axis ? (uint64_t)p->axis : 1;
    if (n_in != (p->from_tensors ? 2 + p->has_zp : 1))
        return TML_ERR_FORMAT;
    if (p->from_tensors && (in_bytes[1] < 4 * nq ||
                            (p->has_zp && in_bytes[2] < tml_q_bytes(nq, p->dtype))))
        return TML_ERR_FORMAT;
    count = tml_nn_mul(tml_nn_mul((uint64_t)p->outer, (uint64_t)p->axis), (uint64_t)p->inner);
    if (tml_q_bytes(count, p->dtype) > in_bytes[0] || tml_nn_f32_bytes(count) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
