/*
 * unary_s8.c - tml_unary_s8: out[i] = f(in[i]) over n int8_t elements for the integer
 * forms of Relu, Clip, Neg and Abs. Plain integer math: Neg and Abs of the most negative
 * value wrap to itself, as in numpy.
 *
 * Values are widened to 64 bits, where negation cannot overflow, and narrowed back.
 */
#include "tml/elementwise.h"

void tml_unary_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_unary_int_params *p = (const tml_unary_int_params *)params;
    const int8_t *x = (const int8_t *)in[0]; /* (n) */
    int8_t *y = (int8_t *)out[0];            /* (n) */
    uint32_t i;
    (void)scratch;
    for (i = 0; i < p->n; i++) {
        int64_t v = x[i];
        switch (p->op) {
        case TML_UNARY_RELU: v = v > 0 ? v : 0; break;
        case TML_UNARY_CLIP: v = v < p->lo ? p->lo : v; v = v > p->hi ? p->hi : v; break;
        case TML_UNARY_NEG: v = (int64_t)(0u - (uint64_t)v); break;
        case TML_UNARY_ABS: v = v < 0 ? (int64_t)(0u - (uint64_t)v) : v; break;
        default: break;
        }
        y[i] = (int8_t)v;
    }
}

tml_status tml_unary_s8_check(const void *params, uint32_t params_size,
                              const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                              int n_out, uint32_t scratch_bytes)
{
    const tml_unary_int_params *p = (const tml_unary_int_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p))
        return TML_ERR_FORMAT;
    if (p->op != TML_UNARY_RELU && p->op != TML_UNARY_CLIP && p->op != TML_UNARY_NEG &&
        p->op != TML_UNARY_ABS)
        return TML_ERR_FORMAT;
    return tml_unary_check_common(p->op, TML_UNARY_OP_COUNT, p->n, sizeof(int8_t), in_bytes, n_in,
                                  out_bytes, n_out);
}
