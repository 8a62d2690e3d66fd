/*
 * maxpool_f32_valid.c - tml_maxpool_f32_valid: float32 1-D/2-D max pooling whose windows all
 * lie inside the input (no padding, no window cut by ceil_mode), without Indices, with a
 * fused activation.
 *
 * How: one output row at a time, the row is first set to the window's first tap and then
 * every further tap (kh, kw) is folded in with a loop over the row's independent outputs,
 * y[ow] = x[ow*stride + kw*dil] > y[ow] ? x : y[ow], which vectorizes (contiguous loads for
 * stride 1, strided for 2). The row stays in L1 between taps. The common 2x2 window is one
 * pass over the row instead, its four taps folded in the same order.
 *
 * Why: the reference computes the valid tap range of every window (six integer divisions)
 * and branches per tap; for the 2x2 stride-2 pools of small CNNs that was as slow as the
 * convolutions around it. Taps are folded in the reference's order with the reference's
 * comparison, so the result is bit-identical, NaNs included.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_maxpool_f32_valid(const void *params, const void *const *in, void *const *out,
                           void *scratch)
{
    const tml_pool_params *p = (const tml_pool_params *)params;
    const float *x = (const float *)in[0]; /* (N, C, IH, IW) */
    float *y = (float *)out[0];            /* (N, C, OH, OW) */
    const int32_t IH = p->in[1], IW = p->in[2], OH = p->out[1], OW = p->out[2];
    const int32_t KH = p->kernel[1], KW = p->kernel[2], sh = p->stride[1], sw = p->stride[2];
    const int32_t dh = p->dilation[1], dw = p->dilation[2];
    size_t nc;
    int32_t oh, kh, kw, ow;
    (void)scratch;

    for (nc = 0; nc < (size_t)p->n * p->c; nc++) {
        const float *xc = x + nc * IH * IW; /* (IH, IW) */
        for (oh = 0; oh < OH; oh++) {
            float *yr = y + (nc * OH + (size_t)oh) * OW; /* (OW) */
            if (KH == 2 && KW == 2) { /* the common 2x2 window: one pass, taps in order */
                const float *x0 = xc + (size_t)oh * sh * IW, *x1 = x0 + (size_t)dh * IW;
                for (ow = 0; ow < OW; ow++) {
                    const size_t i = (size_t)ow * sw;
                    float m = x0[i], v = x0[i + dw];
                    m = v > m ? v : m;
                    v = x1[i];
                    m = v > m ? v : m;
                    v = x1[i + dw];
                    yr[ow] = v > m ? v : m;
                }
                tml_fast_act_row(p->act, p->act_a, p->act_b, yr, OW);
                continue;
            }
            for (kh = 0; kh < KH; kh++) {
                const float *xr = xc + ((size_t)oh * sh + (size_t)kh * dh) * IW;
                for (kw = 0; kw < KW; kw++) {
                    const float *xs = xr + (size_t)kw * dw; /* (OW) at stride sw */
                    if (kh == 0 && kw == 0) {
                        for (ow = 0; ow < OW; ow++)
                            yr[ow] = xs[(size_t)ow * sw];
                    } else {
                        for (ow = 0; ow < OW; ow++) {
                            const float v = xs[(size_t)ow * sw];
                            yr[ow] = v > yr[ow] ? v : yr[ow];
                        }
                    }
                }
            }
            tml_fast_act_row(p->act, p->act_a, p->act_b, yr, OW);
        }
    }
}

tml_status tml_maxpool_f32_valid_check(const void *params, uint32_t params_size,
                                       const uint32_t *in_bytes, int n_in,
                                       const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    const tml_pool_params *p = (const tml_pool_params *)params;
    uint64_t nc, in_plane = 1, out_plane = 1;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (p->with_indices != 0 || !tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c, 1))
        return TML_ERR_FORMAT;
    for (i = 0; i < 3; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]))
            return TML_ERR_FORMAT;
        /* every window inside X: no padding, last window ends within the input */
        if (p->pad[i] != 0 || (int64_t)(p->out[i] - 1) * p->stride[i] +
                                      (int64_t)(p->kernel[i] - 1) * p->dilation[i] + 1 >
                                  p->in[i])
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
    }
    if (p->in[0] != 1 || p->out[0] != 1 || p->kernel[0] != 1)
        return TML_ERR_FORMAT;
    nc = tml_nn_mul((uint64_t)p->n, (uint64_t)p->c);
    if (tml_nn_f32_bytes(tml_nn_mul(nc, in_plane)) > in_bytes[0] ||
        tml_nn_f32_bytes(tml_nn_mul(nc, out_plane)) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
