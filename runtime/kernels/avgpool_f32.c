/*
 * avgpool_f32.c - tml_avgpool_f32: float32 average pooling over (D, H, W) windows, 1-D/2-D/
 * 3-D, strided, dilated, padded (ONNX AveragePool, GlobalAveragePool), with fused activation.
 *
 * Sums only positions inside the input (padding reads as zero). The divisor is the number of
 * window positions inside the input (count_include_pad = 0) or inside the padded extent
 * [-pad, in + pad_end) (count_include_pad = 1; the lowering decides pad_end, see nn.c).
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_avgpool_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_pool_params *p = (const tml_pool_params *)params;
    const float *x = (const float *)in[0]; /* (N, C, D, H, W) */
    float *y = (float *)out[0];            /* (N, C, OD, OH, OW) */
    const int32_t ID = p->in[0], IH = p->in[1], IW = p->in[2];
    const size_t in_plane = (size_t)ID * IH * IW;
    size_t nc, o = 0;
    int32_t od, oh, ow, kd, kh, kw;
    (void)scratch;

    for (nc = 0; nc < (size_t)p->n * p->c; nc++) {
        const float *xc = x + nc * in_plane;
        for (od = 0; od < p->out[0]; od++)
            for (oh = 0; oh < p->out[1]; oh++)
                for (ow = 0; ow < p->out[2]; ow++, o++) {
                    const int32_t d0 = od * p->stride[0] - p->pad[0];
                    const int32_t h0 = oh * p->stride[1] - p->pad[1];
                    const int32_t w0 = ow * p->stride[2] - p->pad[2];
                    int32_t kd0, kd1, kh0, kh1, kw0, kw1, count;
                    float sum = 0.0f;
                    tml_nn_window(d0, p->kernel[0], p->dilation[0], ID, &kd0, &kd1);
                    tml_nn_window(h0, p->kernel[1], p->dilation[1], IH, &kh0, &kh1);
                    tml_nn_window(w0, p->kernel[2], p->dilation[2], IW, &kw0, &kw1);
                    for (kd = kd0; kd < kd1; kd++)
                        for (kh = kh0; kh < kh1; kh++) {
                            const float *xr = xc + ((size_t)(d0 + kd * p->dilation[0]) * IH +
                                                    (size_t)(h0 + kh * p->dilation[1])) *
                                                       IW;
                            for (kw = kw0; kw < kw1; kw++)
                                sum += xr[w0 + kw * p->dilation[2]];
                        }
                    count = (kd1 - kd0) * (kh1 - kh0) * (kw1 - kw0);
                    if (p->count_include_pad) { /* taps inside [-pad, in + pad_end) */
                        int32_t a0, a1, b0, b1, c0, c1;
                        tml_nn_window(d0 + p->pad[0], p->kernel[0], p->dilation[0],
                                      ID + p->pad[0] + p->pad_end[0], &a0, &a1);
                        tml_nn_window(h0 + p->pad[1], p->kernel[1], p->dilation[1],
                                      IH + p->pad[1] + p->pad_end[1], &b0, &b1);
                        tml_nn_window(w0 + p->pad[2], p->kernel[2], p->dilation[2],
                                      IW + p->pad[2] + p->pad_end[2], &c0, &c1);
                        count = (a1 - a0) * (b1 - b0) * (c1 - c0);
                    }
                    y[o] = tml_act_f32(p->act, p->act_a, p->act_b,
                                       count > 0 ? sum / (float)count : 0.0f);
                }
    }
}

tml_status tml_avgpool_f32_check(const void *params, uint32_t params_size,
                                 const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                 int n_out, uint32_t scratch_bytes)
{
    const tml_pool_params *p = (const tml_pool_params *)params;
    uint64_t nc, in_plane = 1, out_plane = 1, window = 1;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if ((p->count_include_pad != 0 && p->count_include_pad != 1) || p->with_indices != 0)
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c, 1))
        return TML_ERR_FORMAT;
    for (i = 0; i < 3; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]) ||
            !tml_nn_in_range(p->pad_end[i], 0) ||
            p->in[i] + p->pad[i] + p->pad_end[i] > TML_NN_LIM ||
            /* a window wider than the padded input has no valid output: refusing it also
             * bounds the work per output to the input's size */
            (int64_t)(p->kernel[i] - 1) * p->dilation[i] + 1 >
                (int64_t)p->in[i] + p->pad[i] + p->pad_end[i])
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
        window = tml_nn_mul(window, (uint64_t)p->kernel[i]);
    }
    if (window > 0x7fffffff) /* the divisor is an int32 product of per-axis counts */
        return TML_ERR_FORMAT;
    nc = tml_nn_mul((uint64_t)p->n, (uint64_t)p->c);
    if (tml_nn_f32_bytes(tml_nn_mul(nc, in_plane)) > in_bytes[0] ||
        tml_nn_f32_bytes(tml_nn_mul(nc, out_plane)) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
