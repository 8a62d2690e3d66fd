/*
 * conv_s8.c - tml_conv_s8: TFLite's int8 convolution with per-channel requantization, in NCHW
 * (the TFLite importer puts Transposes around it), grouped so that depthwise convolution is
 * the case group == c_in.
 *
 * Bit-exact with TFLite's reference ConvPerChannel / DepthwiseConvPerChannel: the int32
 * accumulator sums (x + input_offset) * w over the taps inside the input (padding taps would
 * add zero), adds the bias, then MultiplyByQuantizedMultiplier with the channel's multiplier
 * and shift (computed once by the compiler, read from a constant tensor), adds the output
 * zero point and clamps to the fused activation's range. Integer sums do not depend on order,
 * so the NCHW loop order gives TFLite's numbers.
 */
#include "tml/fixedpoint.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_conv_s8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_conv_s8_params *p = (const tml_conv_s8_params *)params;
    const int8_t *x = (const int8_t *)in[0];     /* (n, c_in, IH, IW) */
    const int8_t *w = (const int8_t *)in[1];     /* (c_out, c_in / group, KH, KW) */
    const int32_t *qm = (const int32_t *)in[2];  /* (c_out, 2) multiplier, shift */
    const int32_t *b = p->has_bias ? (const int32_t *)in[3] : 0; /* (c_out) */
    int8_t *y = (int8_t *)out[0];                /* (n, c_out, OH, OW) */
    const int32_t cin_g = p->c_in / p->group, cout_g = p->c_out / p->group;
    const int32_t IH = p->in[0], IW = p->in[1], KH = p->kernel[0], KW = p->kernel[1];
    int32_t nb, co, oh, ow, ci, kh, kw;
    size_t o = 0;
    (void)scratch;
    for (nb = 0; nb < p->n; nb++) {
        for (co = 0; co < p->c_out; co++) {
            const int32_t g = co / cout_g;
            const int8_t *xg = x + ((size_t)nb * p->c_in + (size_t)g * cin_g) * IH * IW;
            const int8_t *wc = w + (size_t)co * cin_g * KH * KW;
            for (oh = 0; oh < p->out[0]; oh++) {
                const int32_t h0 = oh * p->stride[0] - p->pad[0];
                int32_t kh0, kh1;
                tml_nn_window(h0, KH, p->dilation[0], IH, &kh0, &kh1);
                for (ow = 0; ow < p->out[1]; ow++, o++) {
                    const int32_t w0 = ow * p->stride[1] - p->pad[1];
                    int32_t kw0, kw1, acc = 0;
                    tml_nn_window(w0, KW, p->dilation[1], IW, &kw0, &kw1);
                    for (ci = 0; ci < cin_g; ci++) {
                        const int8_t *xc = xg + (size_t)ci * IH * IW;
                        const int8_t *wk = wc + (size_t)ci * KH * KW;
                        for (kh = kh0; kh < kh1; kh++) {
                            const int8_t *xr = xc + (size_t)(h0 + kh * p->dilation[0]) * IW;
                            const int8_t *wr = wk + (size_t)kh * KW;
                            for (kw = kw0; kw < kw1; kw++)
                                acc += (xr[w0 + kw * p->dilation[1]] + p->input_offset) * wr[kw];
                        }
                    }
                    if (b)
                        acc += b[co];
                    acc = tml_fx_mul_by_qm(acc, qm[2 * co], qm[2 * co + 1]) + p->output_offset;
                    y[o] = (int8_t)tml_fx_clamp(acc, p->act_min, p->act_max);
                }
            }
        }
    }
}

tml_status tml_conv_s8_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                             int n_in, const uint32_t *out_bytes, int n_out,
                             uint32_t scratch_bytes)
{
    const tml_conv_s8_params *p = (const tml_conv_s8_params *)params;
    uint64_t in_plane = 1, out_plane = 1, k_size = 1;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || (p->has_bias & ~1) || n_in != 3 + p->has_bias)
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c_in, 1) ||
        !tml_nn_in_range(p->c_out, 1) || !tml_nn_in_range(p->group, 1) ||
        p->c_in % p->group != 0 || p->c_out % p->group != 0 ||
        p->input_offset < -255 || p->input_offset > 255 || p->act_min > p->act_max)
        return TML_ERR_FORMAT;
    for (i = 0; i < 2; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]))
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
        k_size = tml_nn_mul(k_size, (uint64_t)p->kernel[i]);
    }
    if (tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_in), in_plane) > in_bytes[0] ||
        tml_nn_mul(tml_nn_mul((uint64_t)p->c_out, (uint64_t)(p->c_in / p->group)), k_size) >
            in_bytes[1] ||
        tml_nn_mul((uint64_t)p->c_out, 8) > in_bytes[2] ||
        (p->has_bias && tml_nn_mul((uint64_t)p->c_out, 4) > in_bytes[3]) ||
        tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_out), out_plane) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
