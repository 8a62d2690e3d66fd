/*
 * maxpool_u8.c - tml_maxpool_u8: uint8 max pooling over (D, H, W) windows, 1-D/2-D/3-D,
 * strided, dilated, padded (ONNX MaxPool on uint8, TFLite uint8 MAX_POOL_2D), with the
 * optional int64 Indices output.
 *
 * The maximum of quantized values is the quantized maximum when input and output share
 * scale and zero point (the compiler checks that), so this is maxpool_f32 on uint8_t with no
 * arithmetic at all. Padding never wins; a window entirely in padding (only with hostile
 * pads) yields 0. No fused activation: it would need the output's zero point.
 */
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_maxpool_u8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_pool_params *p = (const tml_pool_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];                /* (N, C, D, H, W) */
    uint8_t *y = (uint8_t *)out[0];                           /* (N, C, OD, OH, OW) */
    int64_t *idx = p->with_indices ? (int64_t *)out[1] : 0; /* (N, C, OD, OH, OW) */
    const int32_t ID = p->in[0], IH = p->in[1], IW = p->in[2];
    const size_t in_plane = (size_t)ID * IH * IW;
    size_t nc, o = 0;
    int32_t od, oh, ow, kd, kh, kw;
    (void)scratch;

    for (nc = 0; nc < (size_t)p->n * p->c; nc++) {
        const uint8_t *xc = x + nc * in_plane;
        for (od = 0; od < p->out[0]; od++)
            for (oh = 0; oh < p->out[1]; oh++)
                for (ow = 0; ow < p->out[2]; ow++, o++) {
                    const int32_t d0 = od * p->stride[0] - p->pad[0];
                    const int32_t h0 = oh * p->stride[1] - p->pad[1];
                    const int32_t w0 = ow * p->stride[2] - p->pad[2];
                    int32_t kd0, kd1, kh0, kh1, kw0, kw1;
                    uint8_t best = 0;
                    size_t best_at = 0; /* (d, h, w) offset of the max within the channel */
                    int found = 0;
                    tml_nn_window(d0, p->kernel[0], p->dilation[0], ID, &kd0, &kd1);
                    tml_nn_window(h0, p->kernel[1], p->dilation[1], IH, &kh0, &kh1);
                    tml_nn_window(w0, p->kernel[2], p->dilation[2], IW, &kw0, &kw1);
                    for (kd = kd0; kd < kd1; kd++) {
                        const int32_t id = d0 + kd * p->dilation[0];
                        for (kh = kh0; kh < kh1; kh++) {
                            const int32_t ih = h0 + kh * p->dilation[1];
                            for (kw = kw0; kw < kw1; kw++) {
                                const int32_t iw = w0 + kw * p->dilation[2];
                                const size_t at = ((size_t)id * IH + ih) * IW + iw;
                                if (!found || xc[at] > best) {
                                    best = xc[at];
                                    best_at = p->storage_order
                                                  ? (size_t)id + (size_t)ih * ID + (size_t)iw * ID * IH
                                                  : at;
                                    found = 1;
                                }
                            }
                        }
                    }
                    y[o] = best;
                    if (idx)
                        idx[o] = (int64_t)(nc * in_plane + best_at);
                }
    }
}

tml_status tml_maxpool_u8_check(const void *params, uint32_t params_size,
                                const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                int n_out, uint32_t scratch_bytes)
{
    const tml_pool_params *p = (const tml_pool_params *)params;
    uint64_t nc, in_plane = 1, out_plane = 1;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || p->act != 0)
        return TML_ERR_FORMAT;
    if ((p->with_indices != 0 && p->with_indices != 1) || n_out != 1 + p->with_indices ||
        (p->storage_order != 0 && p->storage_order != 1))
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c, 1))
        return TML_ERR_FORMAT;
    for (i = 0; i < 3; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]))
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
    }
    nc = tml_nn_mul((uint64_t)p->n, (uint64_t)p->c);
    if (tml_nn_mul(nc, in_plane) > in_bytes[0] || tml_nn_mul(nc, out_plane) > out_bytes[0])
        return TML_ERR_FORMAT;
    if (p->with_indices && tml_nn_mul(tml_nn_mul(nc, out_plane), 8) > out_bytes[1])
        return TML_ERR_FORMAT;
    return TML_OK;
}
