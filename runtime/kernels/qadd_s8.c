/*
 * qadd_s8.c - tml_qadd_s8: quantized int8_t Add/Sub with numpy broadcasting, bit-exact with
 * TFLite(-Micro)'s reference kernels (AddElementwise, SubElementwise and their broadcasts).
 *
 * Each input is moved to its own zero point, scaled up by 2^left_shift for headroom, rescaled
 * to a common scale with a fixed-point multiplier; the sum is rescaled to the output scale,
 * offset and clamped to the activation range (qmath.h has the arithmetic). Inputs are walked
 * by strides as in the float kernels (elementwise.h); element i is read before it is written,
 * so in-place use is safe.
 */
#include "tml/elementwise.h"
#include "tml/qmath.h"

void tml_qadd_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_qadd_params *p = (const tml_qadd_params *)params;
    const int8_t *a = (const int8_t *)in[0], *b = (const int8_t *)in[1];
    int8_t *y = (int8_t *)out[0]; /* (dims) */
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
        int32_t va = (p->a_offset + a[off[0]]) * (1 << p->left_shift);
        int32_t vb = (p->b_offset + b[off[1]]) * (1 << p->left_shift);
        /* TFLite's multipliers are <= 1/2, so the sum fits int32; saturating keeps
         * hostile params from overflowing */
        int64_t sa = tml_q_mul_small(va, p->a_multiplier, p->a_shift);
        int64_t sb = tml_q_mul_small(vb, p->b_multiplier, p->b_shift);
        int64_t sum = p->subtract ? sa - sb : sa + sb;
        int64_t r;
        sum = sum > INT32_MAX ? INT32_MAX : (sum < INT32_MIN ? INT32_MIN : sum);
        r = (int64_t)tml_q_mul_small((int32_t)sum, p->out_multiplier, p->out_shift) +
            p->out_offset;
        r = r < p->act_min ? p->act_min : (r > p->act_max ? p->act_max : r);
        y[i] = (int8_t)r;
        tml_ew_step(p->rank, p->dims, 2, strides, idx, off);
    }
}

tml_status tml_qadd_s8_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                              int n_in, const uint32_t *out_bytes, int n_out,
                              uint32_t scratch_bytes)
{
    const tml_qadd_params *p = (const tml_qadd_params *)params;
    const uint64_t es = sizeof(int8_t);
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 2 || n_out != 1 || p->rank < 0 ||
        p->rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    /* (offset + x) << left_shift must fit int32; shifts stay inside 0..31 */
    if (p->left_shift < 0 || p->left_shift > 20 || p->a_shift > 0 || p->a_shift < -31 ||
        p->b_shift > 0 || p->b_shift < -31 || p->out_shift > 0 || p->out_shift < -31 ||
        (p->subtract != 0 && p->subtract != 1) ||
        p->a_offset < -255 || p->a_offset > 255 || p->b_offset < -255 ||
        p->b_offset > 255 || p->act_min > p->act_max || p->act_min < -128 ||
        p->act_max > 127 || p->out_offset < -65536 || p->out_offset > 65536 ||
        ((int64_t)255 - (-128)) << p->left_shift > INT32_MAX)
        return TML_ERR_FORMAT;
    if (tml_ew_numel(p->rank, p->dims) > out_bytes[0] / es)
        return TML_ERR_FORMAT;
    if (tml_ew_check_strides(p->rank, p->dims, p->a_strides, in_bytes[0] / es) ||
        tml_ew_check_strides(p->rank, p->dims, p->b_strides, in_bytes[1] / es))
        return TML_ERR_FORMAT;
    return TML_OK;
}
