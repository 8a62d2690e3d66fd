/*
 * pow_f32.c - tml_pow_f32: out = in[0] ^ in[1] with numpy broadcasting; the base and the
 * output are float32, the exponent any numeric dtype (ONNX Pow allows mixed types).
 *
 * powf in float, as ONNX's reference computes float32 ^ T in float32; integer exponents are
 * converted to float first (exact up to 2^24, plenty for exponents).
 */
#include "tml/elementwise.h"

void tml_pow_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_pow_params *p = (const tml_pow_params *)params;
    const float *a = (const float *)in[0]; /* base, broadcast by a_strides */
    float *y = (float *)out[0];            /* (dims) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off[2] = {0, 0};
    uint32_t strides[2 * TML_MAX_RANK];
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    int d;
    (void)scratch;
    for (d = 0; d < TML_MAX_RANK; d++) {
        strides[d] = p->a_strides[d];
        strides[TML_MAX_RANK + d] = p->b_strides[d];
    }
    for (i = 0; i < n; i++) {
        float e = p->exp_dtype == TML_DT_F32 ? ((const float *)in[1])[off[1]]
                                             : (float)tml_ew_load_f64(p->exp_dtype, in[1], off[1]);
        y[i] = powf(a[off[0]], e);
        tml_ew_step(p->rank, p->dims, 2, strides, idx, off);
    }
}

tml_status tml_pow_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                             int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    (void)scratch_bytes;
    return tml_pow_check_common(params, params_size, sizeof(float), in_bytes, n_in, out_bytes,
                                n_out);
}
