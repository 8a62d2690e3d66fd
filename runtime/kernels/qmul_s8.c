/*
 * qmul_s8.c - tml_qmul_s8: TFLite's int8 MUL with requantization (bit-exact with TFLite's
 * reference_integer_ops), a scalar operand broadcast. Named qmul because binary_s8 is the
 * elementwise family's plain integer arithmetic (ONNX Mul on int8 without quantization).
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_qmul_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_qmul_params *p = (const tml_qmul_params *)params;
    const int8_t *a = (const int8_t *)in[0]; /* (a_count) */
    const int8_t *b = (const int8_t *)in[1]; /* (b_count) */
    int8_t *y = (int8_t *)out[0];            /* (count) */
    int32_t i;
    (void)scratch;
    for (i = 0; i < p->count; i++) {
        const int32_t av = a[p->a_count > 1 ? i : 0] + p->a_offset;
        const int32_t bv = b[p->b_count > 1 ? i : 0] + p->b_offset;
        const int32_t r =
            tml_fx_mul_by_qm(av * bv, p->output_multiplier, p->output_shift) + p->output_offset;
        y[i] = (int8_t)tml_fx_clamp(r, p->act_min, p->act_max);
    }
}

tml_status tml_qmul_s8_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                             int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    const tml_qmul_params *p = (const tml_qmul_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 2 || n_out != 1 || !tml_nn_in_range(p->count, 1) ||
        (p->a_count != 1 && p->a_count != p->count) ||
        (p->b_count != 1 && p->b_count != p->count) || p->a_offset < -255 ||
        p->a_offset > 255 || p->b_offset < -255 || p->b_offset > 255 || p->act_min > p->act_max)
        return TML_ERR_FORMAT;
    if ((uint32_t)p->a_count > in_bytes[0] || (uint32_t)p->b_count > in_bytes[1] ||
        (uint32_t)p->count > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
