/*
 * pow_s64.c - tml_pow_s64: out = in[0] ^ in[1] with numpy broadcasting; the base and the
 * output are int64_t, the exponent any numeric dtype (ONNX Pow allows mixed types).
 *
 * An integer exponent gives the exact wrapping integer power (square and multiply, as numpy
 * computes int ^ int). A float exponent is computed in double - precision demands it: a
 * float's 24-bit mantissa cannot hold 3^20 - then truncated toward zero and saturated to
 * int64_t, as ONNX's reference casts the float result back to the base type.
 */
#include "tml/elementwise.h"

void tml_pow_s64(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_pow_params *p = (const tml_pow_params *)params;
    const int64_t *a = (const int64_t *)in[0]; /* base, broadcast by a_strides */
    int64_t *y = (int64_t *)out[0];            /* (dims) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off[2] = {0, 0};
    uint32_t strides[2 * TML_MAX_RANK];
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    int fexp = tml_ew_dtype_is_float(p->exp_dtype);
    int d;
    (void)scratch;
    for (d = 0; d < TML_MAX_RANK; d++) {
        strides[d] = p->a_strides[d];
        strides[TML_MAX_RANK + d] = p->b_strides[d];
    }
    for (i = 0; i < n; i++) {
        int64_t r;
        if (fexp) {
            double e = tml_ew_load_f64(p->exp_dtype, in[1], off[1]);
            r = tml_ew_sat_i64(pow((double)a[off[0]], e));
        } else {
            r = tml_ew_ipow(a[off[0]], tml_ew_load_i64(p->exp_dtype, in[1], off[1]));
        }
        y[i] = (int64_t)r;
        tml_ew_step(p->rank, p->dims, 2, strides, idx, off);
    }
}

tml_status tml_pow_s64_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                             int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    (void)scratch_bytes;
    return tml_pow_check_common(params, params_size, sizeof(int64_t), in_bytes, n_in, out_bytes,
                                n_out);
}
