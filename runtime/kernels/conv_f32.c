/*
 * conv_f32.c - tml_conv_f32: direct float32 convolution, 1-D/2-D/3-D, grouped, dilated,
 * padded, with optional bias and a fused activation.
 *
 * The reference kernel, direct and readable, with no scratch. 1-D and 2-D convolutions
 * arrive with leading unit spatial dims (see params_nn.h), so one kernel serves all ranks.
 * Padding is implicit: only taps that fall inside the input are summed (tml_nn_window
 * computes their ranges), which equals reading zeros for the rest and keeps the inner loop
 * free of bounds tests. The loops run over whole output rows, so the innermost loop streams
 * along W; every output still accumulates bias, then its taps in (c, kd, kh, kw) order, in
 * float, so an optimized variant can be compared against it.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_conv_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_conv_params *p = (const tml_conv_params *)params;
    const float *x = (const float *)in[0];                      /* (N, Cin, D, H, W) */
    const float *w = (const float *)in[1];                      /* (Cout, Cin/G, KD, KH, KW) */
    const float *b = p->has_bias ? (const float *)in[2] : 0;    /* (Cout) */
    float *y = (float *)out[0];                                 /* (N, Cout, OD, OH, OW) */
    const int32_t cin_g = p->c_in / p->group, cout_g = p->c_out / p->group;
    const int32_t ID = p->in[0], IH = p->in[1], IW = p->in[2];
    const int32_t OW = p->out[2];
    const int32_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
    const int32_t SW = p->stride[2], DW = p->dilation[2];
    const size_t in_plane = (size_t)ID * IH * IW;
    const size_t k_size = (size_t)KD * KH * KW;
    int32_t n, co, od, oh, ow, ci, kd, kh, kw;
    (void)scratch;

    for (n = 0; n < p->n; n++) {
        for (co = 0; co < p->c_out; co++) {
            const int32_t g = co / cout_g;
            const float *wc = w + (size_t)co * cin_g * k_size;  /* (Cin/G, KD, KH, KW) */
            const float *xg = x + ((size_t)n * p->c_in + (size_t)g * cin_g) * in_plane;
            for (od = 0; od < p->out[0]; od++) {
                const int32_t d0 = od * p->stride[0] - p->pad[0];
                int32_t kd0, kd1;
                tml_nn_window(d0, KD, p->dilation[0], ID, &kd0, &kd1);
                for (oh = 0; oh < p->out[1]; oh++) {
                    const int32_t h0 = oh * p->stride[1] - p->pad[1];
                    float *yr = y + ((((size_t)n * p->c_out + co) * p->out[0] + od) * p->out[1] +
                                     oh) * OW; /* (OW) */
                    int32_t kh0, kh1;
                    tml_nn_window(h0, KH, p->dilation[1], IH, &kh0, &kh1);
                    for (ow = 0; ow < OW; ow++)
                        yr[ow] = b ? b[co] : 0.0f;
                    /* A whole output row at a time: for each tap (ci, kd, kh, kw) add x * w to
                     * the outputs whose window holds that tap inside X (padding adds nothing).
                     * Each output still sums bias, then taps in (ci, kd, kh, kw) order. */
                    for (ci = 0; ci < cin_g; ci++) {
                        const float *xc = xg + (size_t)ci * in_plane;
                        const float *wk = wc + (size_t)ci * k_size;
                        for (kd = kd0; kd < kd1; kd++) {
                            const int32_t id = d0 + kd * p->dilation[0];
                            for (kh = kh0; kh < kh1; kh++) {
                                const int32_t ih = h0 + kh * p->dilation[1];
                                const float *xr = xc + ((size_t)id * IH + ih) * IW; /* (IW) */
                                const float *wr = wk + ((size_t)kd * KH + kh) * KW; /* (KW) */
                                for (kw = 0; kw < KW; kw++) {
                                    /* outputs ow whose tap kw reads xr[ow*SW + c] in bounds */
                                    const int32_t c = kw * DW - p->pad[2];
                                    const float wv = wr[kw];
                                    int32_t o0, o1;
                                    tml_nn_window(c, OW, SW, IW, &o0, &o1);
                                    for (ow = o0; ow < o1; ow++)
                                        yr[ow] += xr[ow * SW + c] * wv;
                                }
                            }
                        }
                    }
                    if (p->act)
                        for (ow = 0; ow < OW; ow++)
                            yr[ow] = tml_act_f32(p->act, p->act_a, p->act_b, yr[ow]);
                }
            }
        }
    }
}

tml_status tml_conv_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                              int n_in, const uint32_t *out_bytes, int n_out,
                              uint32_t scratch_bytes)
{
    const tml_conv_params *p = (const tml_conv_params *)params;
    uint64_t in_plane = 1, out_plane = 1, k_size = 1;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1)
        return TML_ERR_FORMAT;
    if (p->has_bias != 0 && p->has_bias != 1)
        return TML_ERR_FORMAT;
    if (n_in != 2 + p->has_bias || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c_in, 1) ||
        !tml_nn_in_range(p->c_out, 1) || !tml_nn_in_range(p->group, 1) ||
        p->c_in % p->group != 0 || p->c_out % p->group != 0)
        return TML_ERR_FORMAT;
    for (i = 0; i < 3; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]))
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
        k_size = tml_nn_mul(k_size, (uint64_t)p->kernel[i]);
    }
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_in), in_plane)) >
        in_bytes[0])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(
            tml_nn_mul((uint64_t)p->c_out, (uint64_t)(p->c_in / p->group)), k_size)) >
        in_bytes[1])
        return TML_ERR_FORMAT;
    if (p->has_bias && tml_nn_f32_bytes((uint64_t)p->c_out) > in_bytes[2])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_out), out_plane)) >
        out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
