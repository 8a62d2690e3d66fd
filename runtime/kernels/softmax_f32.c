/*
 * softmax_f32.c - tml_softmax_f32: float32 softmax along the middle axis of X viewed as
 * (outer, axis, inner) (ONNX Softmax; older opsets arrive with inner = 1).
 *
 * Numerically stable form: subtract the maximum along the axis before exp, so large logits
 * do not overflow. Works in place (Y may alias X): each element is read before it is written.
 */
#include <math.h>

#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_softmax_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_softmax_params *p = (const tml_softmax_params *)params;
    const float *x = (const float *)in[0]; /* (outer, axis, inner) */
    float *y = (float *)out[0];            /* (outer, axis, inner) */
    const size_t L = (size_t)p->axis, S = (size_t)p->inner;
    size_t o, i, j;
    (void)scratch;

    for (o = 0; o < (size_t)p->outer; o++)
        for (i = 0; i < S; i++) {
            const float *xr = x + o * L * S + i; /* (axis), stride S */
            float *yr = y + o * L * S + i;
            float mx = xr[0], sum = 0.0f;
            for (j = 1; j < L; j++)
                mx = xr[j * S] > mx ? xr[j * S] : mx;
            for (j = 0; j < L; j++) {
                yr[j * S] = expf(xr[j * S] - mx);
                sum += yr[j * S];
            }
            for (j = 0; j < L; j++)
                yr[j * S] /= sum;
        }
}

tml_status tml_softmax_f32_check(const void *params, uint32_t params_size,
                                 const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                 int n_out, uint32_t scratch_bytes)
{
    const tml_softmax_params *p = (const tml_softmax_params *)params;
    uint64_t bytes;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->outer, 1) || !tml_nn_in_range(p->axis, 1) ||
        !tml_nn_in_range(p->inner, 1))
        return TML_ERR_FORMAT;
    bytes = tml_nn_f32_bytes(
        tml_nn_mul(tml_nn_mul((uint64_t)p->outer, (uint64_t)p->axis), (uint64_t)p->inner));
    if (bytes > in_bytes[0] || bytes > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
