/*
 * avgpool_f32.c - tml_avgpool_f32: float32 average pooling over (D, H, W) windows, 1-D/2-D/
 * 3-D, strided, dilated, padded (ONNX AveragePool, GlobalAveragePool), with fused activation.
 *
 * Sums only positions inside the input (padding reads as zero). The divisor is the number of
 * window positions inside the input (count_include_pad = 0) or inside the explicitly padded
 * extent [-pad, in + pad_end) (count_include_pad = 1): positions a ceil_mode window reaches
 * beyond the end padding never count, as in the ONNX reference.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

/* Positions j in [0, k) with lo <= start + j*dil < hi. */
static inline int32_t avgpool_count(int32_t start, int32_t k, int32_t dil, int32_t lo, int32_t hi)
{
    int32_t j, c = 0;
    for (j = 0; j < k; j++) {
        int32_t v = start + j * dil;
        c += v >= lo && v < hi;
    }
    return c;
}

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
                    float sum = 0.0f;
                    int32_t count;
                    for (kd = 0; kd < p->kernel[0]; kd++) {
                        const int32_t id = d0 + kd * p->dilation[0];
                        if (id < 0 || id >= ID)
                            continue;
                        for (kh = 0; kh < p->kernel[1]; kh++) {
                            const int32_t ih = h0 + kh * p->dilation[1];
                            if (ih < 0 || ih >= IH)
                                continue;
                            for (kw = 0; kw < p->kernel[2]; kw++) {
                                const int32_t iw = w0 + kw * p->dilation[2];
                                if (iw < 0 || iw >= IW)
                                    continue;
                                sum += xc[((size_t)id * IH + ih) * IW + iw];
                            }
                        }
                    }
                    if (p->count_include_pad)
                        count = avgpool_count(d0, p->kernel[0], p->dilation[0], -p->pad[0],
                                              ID + p->pad_end[0]) *
                                avgpool_count(h0, p->kernel[1], p->dilation[1], -p->pad[1],
                                              IH + p->pad_end[1]) *
                                avgpool_count(w0, p->kernel[2], p->dilation[2], -p->pad[2],
                                              IW + p->pad_end[2]);
                    else
                        count = avgpool_count(d0, p->kernel[0], p->dilation[0], 0, ID) *
                                avgpool_count(h0, p->kernel[1], p->dilation[1], 0, IH) *
                                avgpool_count(w0, p->kernel[2], p->dilation[2], 0, IW);
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
            !tml_nn_in_range(p->pad_end[i], 0) || p->in[i] + p->pad_end[i] > TML_NN_LIM)
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
