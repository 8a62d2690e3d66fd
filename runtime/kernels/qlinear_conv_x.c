/*
 * qlinear_conv_x.c - tml_qlinear_conv_x: ONNX QLinearConv on int8/uint8,
 * y = saturate(rint((conv(x - x_zp, w - w_zp) + B) * x_scale * w_scale[co] / y_scale) + y_zp).
 *
 * The integer part is tml_q_conv_acc (shared with ConvInteger); the requantization uses a
 * float32 multiplier applied in double and ties-to-even rounding, the ONNX reference's
 * arithmetic. w_scale and w_zp may be per output channel.
 */
#include "tml/kernels.h"
#include "tml/quant_util.h"

void tml_qlinear_conv_x(const void *params, const void *const *in, void *const *out,
                        void *scratch)
{
    const tml_qconv_params *p = (const tml_qconv_params *)params;
    const void *x = in[0], *xz = in[2], *w = in[3], *wz = in[5], *yz = in[7];
    const float xs = ((const float *)in[1])[0], ys = ((const float *)in[6])[0];
    const float *ws = (const float *)in[4];
    const int32_t *bias = p->has_bias ? (const int32_t *)in[8] : 0; /* (c_out) */
    void *y = out[0];                                   /* (n, c_out, OD, OH, OW) */
    const int32_t xzp = tml_q_load(xz, p->x_dtype, 0), yzp = tml_q_load(yz, p->y_dtype, 0);
    int32_t nb, co, od, oh, ow;
    size_t o = 0;
    (void)scratch;
    for (nb = 0; nb < p->n; nb++) {
        for (co = 0; co < p->c_out; co++) {
            const float mult = xs * ws[p->w_sn > 1 ? co : 0] / ys;
            const int32_t wzp = tml_q_load(wz, p->w_dtype, (size_t)(p->w_zn > 1 ? co : 0));
            for (od = 0; od < p->out[0]; od++)
                for (oh = 0; oh < p->out[1]; oh++)
                    for (ow = 0; ow < p->out[2]; ow++, o++) {
                        int32_t acc = tml_q_conv_acc(p, x, xzp, w, wzp, nb, co, od, oh, ow);
                        if (bias)
                            acc = (int32_t)((uint32_t)acc + (uint32_t)bias[co]);
                        tml_q_store(y, p->y_dtype, o, tml_q_rint((double)acc * (double)mult) + yzp);
                    }
        }
    }
}

tml_status tml_qlinear_conv_x_check(const void *params, uint32_t params_size,
                                    const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                    int n_out, uint32_t scratch_bytes)
{
    const tml_qconv_params *p = (const tml_qconv_params *)params;
    uint64_t xe, we, ye;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || (p->has_bias & ~1) ||
        n_in != 8 + p->has_bias || !tml_q_conv_geom_ok(p, &xe, &we, &ye))
        return TML_ERR_FORMAT;
    if ((p->w_sn != 1 && p->w_sn != p->c_out) || (p->w_zn != 1 && p->w_zn != p->c_out))
        return TML_ERR_FORMAT;
    if (tml_q_bytes(xe, p->x_dtype) > in_bytes[0] || in_bytes[1] < 4 ||
        tml_q_bytes(1, p->x_dtype) > in_bytes[2] || tml_q_bytes(we, p->w_dtype) > in_bytes[3] ||
        4u * (uint32_t)p->w_sn > in_bytes[4] ||
        tml_q_bytes((uint64_t)p->w_zn, p->w_dtype) > in_bytes[5] || in_bytes[6] < 4 ||
        tml_q_bytes(1, p->y_dtype) > in_bytes[7] ||
        (p->has_bias && 4u * (uint32_t)p->c_out > in_bytes[8]) ||
        tml_q_bytes(ye, p->y_dtype) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
