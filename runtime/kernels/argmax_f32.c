/*
 * argmax_f32.c - tml_argmax_f32: index of the largest value along one axis of a float32
 * tensor viewed as (outer, n, inner); int64 indices out, as ONNX ArgMax defines.
 *
 * Ties go to the first index, or to the last with select_last. A NaN counts as the largest
 * value (numpy.argmax returns the first NaN).
 */
#include "tml/elementwise.h"

void tml_argmax_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_argmax_params *p = (const tml_argmax_params *)params;
    const float *x = (const float *)in[0]; /* (outer, n, inner) */
    int64_t *y = (int64_t *)out[0];        /* (outer, inner) */
    uint32_t o, j, k;
    (void)scratch;
    if ((uint64_t)p->outer * p->inner == 0)
        return; /* nothing to write; also bounds the loops when one factor is 0 */
    for (o = 0; o < p->outer; o++) {
        for (k = 0; k < p->inner; k++) {
            const float *row = x + (uint64_t)o * p->n * p->inner + k; /* stride inner */
            uint32_t best = 0;
            float bv = row[0];
            for (j = 1; j < p->n && bv == bv; j++) {
                float v = row[(uint64_t)j * p->inner];
                if (v != v || v > bv || (p->select_last && v == bv)) {
                    best = j;
                    bv = v;
                }
            }
            y[(uint64_t)o * p->inner + k] = (int64_t)best;
        }
    }
}

tml_status tml_argmax_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                                int n_in, const uint32_t *out_bytes, int n_out,
                                uint32_t scratch_bytes)
{
    const tml_argmax_params *p = (const tml_argmax_params *)params;
    uint64_t outer_inner;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || p->n < 1)
        return TML_ERR_FORMAT;
    outer_inner = (uint64_t)p->outer * p->inner;
    if (outer_inner > out_bytes[0] / sizeof(int64_t))
        return TML_ERR_FORMAT;
    if (outer_inner != 0 && outer_inner * p->n > in_bytes[0] / sizeof(float))
        return TML_ERR_FORMAT;
    return TML_OK;
}
