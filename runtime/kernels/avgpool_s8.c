/*
 * avgpool_s8.c - tml_avgpool_s8: TFLite's int8 AVERAGE_POOL_2D: the mean of the in-bounds
 * taps, rounded half away from zero (TFLite's integer division with a bias of count/2),
 * clamped to the fused activation's range, NCHW. Input and output share scale and zero point
 * (TFLite requires it), so no requantization.
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_avgpool_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_pool_s8_params *p = (const tml_pool_s8_params *)params;
    const int8_t *x = (const int8_t *)in[0]; /* (n, c, IH, IW) */
    int8_t *y = (int8_t *)out[0];            /* (n, c, OH, OW) */
    const int32_t IH = p->in[0], IW = p->in[1];
    int32_t pl, oh, ow, kh, kw;
    size_t o = 0;
    (void)scratch;
    for (pl = 0; pl < p->n * p->c; pl++) {
        const int8_t *xp = x + (size_t)pl * IH * IW;
        for (oh = 0; oh < p->out[0]; oh++) {
            const int32_t h0 = oh * p->stride[0] - p->pad[0];
            int32_t kh0, kh1;
            tml_nn_window(h0, p->kernel[0], 1, IH, &kh0, &kh1);
            for (ow = 0; ow < p->out[1]; ow++, o++) {
                const int32_t w0 = ow * p->stride[1] - p->pad[1];
                int32_t kw0, kw1;
                int32_t acc = 0, count = 0;
                tml_nn_window(w0, p->kernel[1], 1, IW, &kw0, &kw1);
                for (kh = kh0; kh < kh1; kh++)
                    for (kw = kw0; kw < kw1; kw++) {
                        acc += xp[(size_t)(h0 + kh) * IW + (w0 + kw)];
                        count++;
                    }
                if (count > 0)
                    acc = acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
                y[o] = (int8_t)tml_fx_clamp(acc, p->act_min, p->act_max);
            }
        }
    }
}

tml_status tml_avgpool_s8_check(const void *params, uint32_t params_size,
                                 const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                 int n_out, uint32_t scratch_bytes)
{
    const tml_pool_s8_params *p = (const tml_pool_s8_params *)params;
    uint64_t planes;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || !tml_nn_in_range(p->n, 1) ||
        !tml_nn_in_range(p->c, 1) || p->act_min > p->act_max)
        return TML_ERR_FORMAT;
    for (i = 0; i < 2; i++)
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i], 1))
            return TML_ERR_FORMAT;
    planes = tml_nn_mul((uint64_t)p->n, (uint64_t)p->c);
    if (tml_nn_mul(planes, tml_nn_mul((uint64_t)p->in[0], (uint64_t)p->in[1])) > in_bytes[0] ||
        tml_nn_mul(planes, tml_nn_mul((uint64_t)p->out[0], (uint64_t)p->out[1])) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
