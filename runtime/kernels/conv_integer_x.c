/*
 * conv_integer_x.c - tml_conv_integer_x: ONNX ConvInteger, int32 y = conv(x - x_zp, w - w_zp)
 * on int8/uint8 operands (w_zp per tensor or per output channel). Padding contributes zero
 * after the shift, i.e. pads with x_zp, as the ONNX definition says.
 */
#include "tml/kernels.h"
#include "tml/quant_util.h"

void tml_conv_integer_x(const void *params, const void *const *in, void *const *out,
                        void *scratch)
{
    const tml_qconv_params *p = (const tml_qconv_params *)params;
    const void *x = in[0], *w = in[1];
    const void *xz = p->has_x_zp ? in[2] : 0;
    const void *wz = p->has_w_zp ? in[2 + p->has_x_zp] : 0;
    int32_t *y = (int32_t *)out[0];                     /* (n, c_out, OD, OH, OW) */
    const int32_t xzp = xz ? tml_q_load(xz, p->x_dtype, 0) : 0;
    int32_t nb, co, od, oh, ow;
    size_t o = 0;
    (void)scratch;
    for (nb = 0; nb < p->n; nb++)
        for (co = 0; co < p->c_out; co++) {
            const int32_t wzp = wz ? tml_q_load(wz, p->w_dtype, (size_t)(p->w_zn > 1 ? co : 0)) : 0;
            for (od = 0; od < p->out[0]; od++)
                for (oh = 0; oh < p->out[1]; oh++)
                    for (ow = 0; ow < p->out[2]; ow++)
                        y[o++] = tml_q_conv_acc(p, x, xzp, w, wzp, nb, co, od, oh, ow);
        }
}

tml_status tml_conv_integer_x_check(const void *params, uint32_t params_size,
                                    const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                    int n_out, uint32_t scratch_bytes)
{
    const tml_qconv_params *p = (const tml_qconv_params *)params;
    uint64_t xe, we, ye;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || (p->has_x_zp & ~1) || (p->has_w_zp & ~1) ||
        n_in != 2 + p->has_x_zp + p->has_w_zp || !tml_q_conv_geom_ok(p, &xe, &we, &ye) ||
        (p->w_zn != 1 && p->w_zn != p->c_out))
        return TML_ERR_FORMAT;
    if (tml_q_bytes(xe, p->x_dtype) > in_bytes[0] || tml_q_bytes(we, p->w_dtype) > in_bytes[1] ||
        (p->has_x_zp && tml_q_bytes(1, p->x_dtype) > in_bytes[2]) ||
        (p->has_w_zp && tml_q_bytes((uint64_t)p->w_zn, p->w_dtype) > in_bytes[2 + p->has_x_zp]) ||
        tml_nn_mul(ye, 4) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
