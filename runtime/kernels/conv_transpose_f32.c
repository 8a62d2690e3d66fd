/*
 * conv_transpose_f32.c - tml_conv_transpose_f32: float32 transposed convolution (ONNX
 * ConvTranspose), 1-D/2-D/3-D, grouped, dilated, with optional bias and fused activation.
 *
 * Scatter form, the way the operator is defined: Y starts as the bias, then every input
 * element adds x * w into the output positions o = i*stride - pad + k*dilation that fall
 * inside Y. Positions cut off by padding are simply dropped. The activation is applied in a
 * last pass, since every output is complete only at the end.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_conv_transpose_f32(const void *params, const void *const *in, void *const *out,
                            void *scratch)
{
    const tml_conv_transpose_params *p = (const tml_conv_transpose_params *)params;
    const float *x = (const float *)in[0];                   /* (N, Cin, D, H, W) */
    const float *w = (const float *)in[1];                   /* (Cin, Cout/G, KD, KH, KW) */
    const float *b = p->has_bias ? (const float *)in[2] : 0; /* (Cout) */
    float *y = (float *)out[0];                              /* (N, Cout, OD, OH, OW) */
    const int32_t cin_g = p->c_in / p->group, cout_g = p->c_out / p->group;
    const int32_t OD = p->out[0], OH = p->out[1], OW = p->out[2];
    const int32_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
    const size_t in_plane = (size_t)p->in[0] * p->in[1] * p->in[2];
    const size_t out_plane = (size_t)OD * OH * OW;
    const size_t k_size = (size_t)KD * KH * KW;
    int32_t n, ci, co, id, ih, iw, kd, kh, kw;
    size_t i, total = (size_t)p->n * p->c_out * out_plane;
    (void)scratch;

    for (n = 0; n < p->n; n++)
        for (co = 0; co < p->c_out; co++)
            for (i = 0; i < out_plane; i++)
                y[((size_t)n * p->c_out + co) * out_plane + i] = b ? b[co] : 0.0f;

    for (n = 0; n < p->n; n++) {
        for (ci = 0; ci < p->c_in; ci++) {
            const int32_t g = ci / cin_g;
            const float *xc = x + ((size_t)n * p->c_in + ci) * in_plane;
            for (co = 0; co < cout_g; co++) {
                const float *wk = w + ((size_t)ci * cout_g + co) * k_size; /* (KD, KH, KW) */
                float *yc = y + ((size_t)n * p->c_out + (size_t)g * cout_g + co) * out_plane;
                for (id = 0; id < p->in[0]; id++)
                    for (ih = 0; ih < p->in[1]; ih++)
                        for (iw = 0; iw < p->in[2]; iw++) {
                            const float xv = xc[((size_t)id * p->in[1] + ih) * p->in[2] + iw];
                            for (kd = 0; kd < KD; kd++) {
                                const int32_t od = id * p->stride[0] - p->pad[0] + kd * p->dilation[0];
                                if (od < 0 || od >= OD)
                                    continue;
                                for (kh = 0; kh < KH; kh++) {
                                    const int32_t oh =
                                        ih * p->stride[1] - p->pad[1] + kh * p->dilation[1];
                                    if (oh < 0 || oh >= OH)
                                        continue;
                                    for (kw = 0; kw < KW; kw++) {
                                        const int32_t ow =
                                            iw * p->stride[2] - p->pad[2] + kw * p->dilation[2];
                                        if (ow < 0 || ow >= OW)
                                            continue;
                                        yc[((size_t)od * OH + oh) * OW + ow] +=
                                            xv * wk[((size_t)kd * KH + kh) * KW + kw];
                                    }
                                }
                            }
                        }
            }
        }
    }
    if (p->act)
        for (i = 0; i < total; i++)
            y[i] = tml_act_f32(p->act, p->act_a, p->act_b, y[i]);
}

tml_status tml_conv_transpose_f32_check(const void *params, uint32_t params_size,
                                        const uint32_t *in_bytes, int n_in,
                                        const uint32_t *out_bytes, int n_out,
                                        uint32_t scratch_bytes)
{
    const tml_conv_transpose_params *p = (const tml_conv_transpose_params *)params;
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
        /* the scatter reaches (in-1)*stride + (k-1)*dilation: the conv bound with in/out
         * swapped. pad may be negative (ONNX output_shape larger than the full output). */
        if (p->pad[i] < -TML_NN_LIM ||
            !tml_nn_axis_ok(p->out[i], p->in[i], p->kernel[i], p->stride[i],
                            p->pad[i] < 0 ? 0 : p->pad[i], p->dilation[i]))
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
        k_size = tml_nn_mul(k_size, (uint64_t)p->kernel[i]);
    }
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_in), in_plane)) >
        in_bytes[0])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(
            tml_nn_mul((uint64_t)p->c_in, (uint64_t)(p->c_out / p->group)), k_size)) >
        in_bytes[1])
        return TML_ERR_FORMAT;
    if (p->has_bias && tml_nn_f32_bytes((uint64_t)p->c_out) > in_bytes[2])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_out), out_plane)) >
        out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
