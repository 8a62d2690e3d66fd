/*
 * conv_f32_tiled.c - tml_conv_f32_tiled: float32 1-D/2-D convolution (grouped, strided,
 * dilated, padded, optional bias, fused activation) computed in register tiles.
 *
 * How: X is first copied into scratch with its zero padding made explicit (params_fast.h,
 * tml_conv_tiled_scratch_floats), so no window needs a bounds test. Then each output row is
 * cut into tiles of NR positions, and each tile is computed for MR output channels at once:
 * an MR x NR block of accumulators stays in vector registers while the loop walks c, kh, kw;
 * every tap is one broadcast weight per channel times NR input values that are contiguous
 * when stride_w is 1. The input window of a tile is reused by all MR channels from L1.
 * Other tiles (remainder channels, depthwise, stride_w > 1) go one channel at a time; on
 * soft-float targets the partial tile at the end of a row computes only the lanes it stores.
 * The last tile of a row computes NR lanes but stores only those inside the row; its extra
 * reads land in the padded copy or in the slack at its end, never outside scratch.
 *
 * Why not im2col + GEMM: at these sizes (28x28 maps, 1-16 channels) the column matrix costs
 * as many moves as the convolution has taps per output channel, and as much RAM; the padded
 * copy costs c_in * hp * wp floats once. Summation order per output is the reference's
 * (bias, then c, kh, kw ascending; padded taps add exact zeros), so results match
 * tml_conv_f32 up to the rounding of TML_FAST_FMA.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

#define MR TML_CONV_TILED_MR
#define NR TML_CONV_TILED_NR

/* Geometry shared by all tiles of one call. */
typedef struct {
    int32_t cin_g, kh, kw, dh, dw, wp, ow;
    size_t plane;   /* hp * wp: floats per channel of the padded copy */
    size_t w_row;   /* cin_g * kh * kw: floats per output channel of W */
    size_t y_plane; /* oh * ow: floats per output channel of Y */
} tile_geom;

/*
 * The hot tile: MR = 4 output channels x NR positions, stride_w 1. Four named accumulator
 * rows (not a 2-D array indexed by a variable) so that the compiler keeps all of them in
 * vector registers and vectorizes along j.
 * Y[r][j] = act(bias[r] + sum_{c,kh,kw} W[r][c][kh][kw] * Xp[c][kh*dh][j + kw*dw]), j < nw.
 */
static void conv_tile4(const tile_geom *t, const float *xt, const float *wt, const float *bias,
                       float *yt, int32_t nw, const tml_conv_params *p)
{
    float a0[NR], a1[NR], a2[NR], a3[NR];
    const float *w0 = wt, *w1 = wt + t->w_row, *w2 = wt + 2 * t->w_row, *w3 = wt + 3 * t->w_row;
    int32_t j, c, kh, kw;
    for (j = 0; j < NR; j++) {
        a0[j] = bias ? bias[0] : 0.0f;
        a1[j] = bias ? bias[1] : 0.0f;
        a2[j] = bias ? bias[2] : 0.0f;
        a3[j] = bias ? bias[3] : 0.0f;
    }
    for (c = 0; c < t->cin_g; c++) {
        for (kh = 0; kh < t->kh; kh++) {
            const float *xr = xt + (size_t)c * t->plane + (size_t)kh * t->dh * t->wp;
            const size_t wo = ((size_t)c * t->kh + kh) * t->kw;
            for (kw = 0; kw < t->kw; kw++) {
                const float *xs = xr + (size_t)kw * t->dw; /* (NR) contiguous */
                const float v0 = w0[wo + kw], v1 = w1[wo + kw], v2 = w2[wo + kw], v3 = w3[wo + kw];
                TML_FAST_UNROLL
                for (j = 0; j < NR; j++) {
                    const float xv = xs[j];
                    a0[j] = TML_FAST_FMA(v0, xv, a0[j]);
                    a1[j] = TML_FAST_FMA(v1, xv, a1[j]);
                    a2[j] = TML_FAST_FMA(v2, xv, a2[j]);
                    a3[j] = TML_FAST_FMA(v3, xv, a3[j]);
                }
            }
        }
    }
    if (p->act == TML_RT_ACT_RELU) { /* the common case, fused into the store */
        for (j = 0; j < nw; j++) {
            yt[j] = a0[j] > 0.0f ? a0[j] : 0.0f;
            yt[t->y_plane + j] = a1[j] > 0.0f ? a1[j] : 0.0f;
            yt[2 * t->y_plane + j] = a2[j] > 0.0f ? a2[j] : 0.0f;
            yt[3 * t->y_plane + j] = a3[j] > 0.0f ? a3[j] : 0.0f;
        }
    } else {
        for (j = 0; j < nw; j++) {
            yt[j] = a0[j];
            yt[t->y_plane + j] = a1[j];
            yt[2 * t->y_plane + j] = a2[j];
            yt[3 * t->y_plane + j] = a3[j];
        }
        for (j = 0; j < 4; j++)
            tml_fast_act_row(p->act, p->act_a, p->act_b, yt + (size_t)j * t->y_plane, nw);
    }
}

/* The same for 8 output channels, where the target has 32 vector registers (params_fast.h):
 * twice the work per loaded input vector. */
static void conv_tile8(const tile_geom *t, const float *xt, const float *wt, const float *bias,
                       float *yt, int32_t nw, const tml_conv_params *p)
{
    float a0[NR], a1[NR], a2[NR], a3[NR], a4[NR], a5[NR], a6[NR], a7[NR];
    const size_t wr = t->w_row;
    int32_t j, c, kh, kw;
    for (j = 0; j < NR; j++) {
        a0[j] = bias ? bias[0] : 0.0f;
        a1[j] = bias ? bias[1] : 0.0f;
        a2[j] = bias ? bias[2] : 0.0f;
        a3[j] = bias ? bias[3] : 0.0f;
        a4[j] = bias ? bias[4] : 0.0f;
        a5[j] = bias ? bias[5] : 0.0f;
        a6[j] = bias ? bias[6] : 0.0f;
        a7[j] = bias ? bias[7] : 0.0f;
    }
    for (c = 0; c < t->cin_g; c++) {
        for (kh = 0; kh < t->kh; kh++) {
            const float *xr = xt + (size_t)c * t->plane + (size_t)kh * t->dh * t->wp;
            const float *wk = wt + ((size_t)c * t->kh + kh) * t->kw;
            for (kw = 0; kw < t->kw; kw++) {
                const float *xs = xr + (size_t)kw * t->dw; /* (NR) contiguous */
                const float v0 = wk[kw], v1 = wk[wr + kw], v2 = wk[2 * wr + kw],
                            v3 = wk[3 * wr + kw], v4 = wk[4 * wr + kw], v5 = wk[5 * wr + kw],
                            v6 = wk[6 * wr + kw], v7 = wk[7 * wr + kw];
                TML_FAST_UNROLL
                for (j = 0; j < NR; j++) {
                    const float xv = xs[j];
                    a0[j] = TML_FAST_FMA(v0, xv, a0[j]);
                    a1[j] = TML_FAST_FMA(v1, xv, a1[j]);
                    a2[j] = TML_FAST_FMA(v2, xv, a2[j]);
                    a3[j] = TML_FAST_FMA(v3, xv, a3[j]);
                    a4[j] = TML_FAST_FMA(v4, xv, a4[j]);
                    a5[j] = TML_FAST_FMA(v5, xv, a5[j]);
                    a6[j] = TML_FAST_FMA(v6, xv, a6[j]);
                    a7[j] = TML_FAST_FMA(v7, xv, a7[j]);
                }
            }
        }
    }
    if (p->act == TML_RT_ACT_RELU) { /* the common case, fused into the store */
        for (j = 0; j < nw; j++) {
            yt[j] = a0[j] > 0.0f ? a0[j] : 0.0f;
            yt[t->y_plane + j] = a1[j] > 0.0f ? a1[j] : 0.0f;
            yt[2 * t->y_plane + j] = a2[j] > 0.0f ? a2[j] : 0.0f;
            yt[3 * t->y_plane + j] = a3[j] > 0.0f ? a3[j] : 0.0f;
            yt[4 * t->y_plane + j] = a4[j] > 0.0f ? a4[j] : 0.0f;
            yt[5 * t->y_plane + j] = a5[j] > 0.0f ? a5[j] : 0.0f;
            yt[6 * t->y_plane + j] = a6[j] > 0.0f ? a6[j] : 0.0f;
            yt[7 * t->y_plane + j] = a7[j] > 0.0f ? a7[j] : 0.0f;
        }
    } else {
        for (j = 0; j < nw; j++) {
            yt[j] = a0[j];
            yt[t->y_plane + j] = a1[j];
            yt[2 * t->y_plane + j] = a2[j];
            yt[3 * t->y_plane + j] = a3[j];
            yt[4 * t->y_plane + j] = a4[j];
            yt[5 * t->y_plane + j] = a5[j];
            yt[6 * t->y_plane + j] = a6[j];
            yt[7 * t->y_plane + j] = a7[j];
        }
        for (j = 0; j < 8; j++)
            tml_fast_act_row(p->act, p->act_a, p->act_b, yt + (size_t)j * t->y_plane, nw);
    }
}

/* Any other tile: one output channel x NR positions at stride sw (remainder channels,
 * depthwise, stride_w > 1). Same order of summation as conv_tile4. */
static void conv_tile1(const tile_geom *t, int32_t sw, const float *xt, const float *wt,
                       const float *bias, float *yt, int32_t nw, const tml_conv_params *p)
{
    float a[NR];
    int32_t j, c, kh, kw;
    for (j = 0; j < NR; j++)
        a[j] = bias ? bias[0] : 0.0f;
    for (c = 0; c < t->cin_g; c++) {
        for (kh = 0; kh < t->kh; kh++) {
            const float *xr = xt + (size_t)c * t->plane + (size_t)kh * t->dh * t->wp;
            const float *wk = wt + ((size_t)c * t->kh + kh) * t->kw;
            for (kw = 0; kw < t->kw; kw++) {
                const float *xs = xr + (size_t)kw * t->dw; /* (NR) at stride sw */
                const float v = wk[kw];
                TML_FAST_UNROLL
                for (j = 0; j < NR; j++)
                    a[j] = TML_FAST_FMA(v, xs[(size_t)j * sw], a[j]);
            }
        }
    }
    for (j = 0; j < nw; j++)
        yt[j] = a[j];
    tml_fast_act_row(p->act, p->act_a, p->act_b, yt, nw);
}

/*
 * A partial tile without an FPU: one channel, exactly nw < NR lanes. With soft float every
 * lane costs library calls of its own, so the lanes past the row are not computed at all.
 * (With an FPU the full 4-channel tile is cheaper: measured on Cortex-M4 under QEMU.)
 */
static void conv_tile_part(const tile_geom *t, int32_t sw, const float *xt, const float *wt,
                           const float *bias, float *yt, int32_t nw, const tml_conv_params *p)
{
    float a[NR];
    int32_t j, c, kh, kw;
    for (j = 0; j < nw; j++)
        a[j] = bias ? bias[0] : 0.0f;
    for (c = 0; c < t->cin_g; c++) {
        for (kh = 0; kh < t->kh; kh++) {
            const float *xr = xt + (size_t)c * t->plane + (size_t)kh * t->dh * t->wp;
            const float *wk = wt + ((size_t)c * t->kh + kh) * t->kw;
            for (kw = 0; kw < t->kw; kw++) {
                const float *xs = xr + (size_t)kw * t->dw; /* (nw) at stride sw */
                const float v = wk[kw];
                for (j = 0; j < nw; j++)
                    a[j] = TML_FAST_FMA(v, xs[(size_t)j * sw], a[j]);
            }
        }
    }
    for (j = 0; j < nw; j++)
        yt[j] = a[j];
    tml_fast_act_row(p->act, p->act_a, p->act_b, yt, nw);
}

/* Copies X[n] (c_in, ih, iw) into xp (c_in, hp, wp) at offset (pad_h, pad_w), zeros elsewhere. */
static void pad_input(const tml_conv_params *p, const float *x, float *xp, size_t xp_floats,
                      int32_t hp, int32_t wp)
{
    const int32_t IH = p->in[1], IW = p->in[2], ph = p->pad[1], pw = p->pad[2];
    const int32_t c_lo = pw, c_hi = pw + IW < wp ? pw + IW : wp; /* columns that hold X */
    size_t i;
    int32_t c, r, col;
    for (i = 0; i < xp_floats; i++)
        xp[i] = 0.0f;
    if (c_hi <= c_lo) /* the windows never reach X's columns */
        return;
    for (c = 0; c < p->c_in; c++) {
        for (r = ph; r < hp && r - ph < IH; r++) {
            const float *src = x + ((size_t)c * IH + (size_t)(r - ph)) * IW; /* (IW) */
            float *dst = xp + ((size_t)c * hp + (size_t)r) * wp + pw;        /* (wp - pw) */
            for (col = 0; col < c_hi - c_lo; col++)
                dst[col] = src[col];
        }
    }
}

void tml_conv_f32_tiled(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_conv_params *p = (const tml_conv_params *)params;
    const float *x = (const float *)in[0];                   /* (N, Cin, IH, IW) */
    const float *w = (const float *)in[1];                   /* (Cout, Cin/G, KH, KW) */
    const float *b = p->has_bias ? (const float *)in[2] : 0; /* (Cout) */
    float *y = (float *)out[0];                              /* (N, Cout, OH, OW) */
    float *xp = (float *)scratch;                            /* (Cin, hp, wp) + slack */
    const int32_t cout_g = p->c_out / p->group, OH = p->out[1], OW = p->out[2];
    const int32_t sh = p->stride[1], sw = p->stride[2];
    int32_t hp = 0, wp = 0, n, g, oh, ow0, co0;
    const size_t xp_floats = (size_t)tml_conv_tiled_scratch_floats(p, &hp, &wp);
    tile_geom t;

    t.cin_g = p->c_in / p->group;
    t.kh = p->kernel[1];
    t.kw = p->kernel[2];
    t.dh = p->dilation[1];
    t.dw = p->dilation[2];
    t.wp = wp;
    t.ow = OW;
    t.plane = (size_t)hp * wp;
    t.w_row = (size_t)t.cin_g * t.kh * t.kw;
    t.y_plane = (size_t)OH * OW;

    for (n = 0; n < p->n; n++) {
        pad_input(p, x + (size_t)n * p->c_in * p->in[1] * p->in[2], xp, xp_floats, hp, wp);
        for (g = 0; g < p->group; g++) {
            const float *xg = xp + (size_t)g * t.cin_g * t.plane;
            for (oh = 0; oh < OH; oh++) {
                const float *xrow = xg + (size_t)oh * sh * wp;
                for (ow0 = 0; ow0 < OW; ow0 += NR) {
                    const int32_t nw = OW - ow0 < NR ? OW - ow0 : NR;
                    const float *xt = xrow + (size_t)ow0 * sw;
                    if (TML_FAST_SOFT_FLOAT && nw < NR) {
                        for (co0 = 0; co0 < cout_g; co0++) {
                            const int32_t co = g * cout_g + co0;
                            conv_tile_part(&t, sw, xt, w + (size_t)co * t.w_row, b ? b + co : 0,
                                           y + (((size_t)n * p->c_out + co) * OH + oh) * OW + ow0,
                                           nw, p);
                        }
                        continue;
                    }
                    co0 = 0;
                    if (sw == 1 && MR == 8)
                        for (; co0 + 8 <= cout_g; co0 += 8) {
                            const int32_t co = g * cout_g + co0;
                            conv_tile8(&t, xt, w + (size_t)co * t.w_row, b ? b + co : 0,
                                       y + (((size_t)n * p->c_out + co) * OH + oh) * OW + ow0, nw,
                                       p);
                        }
                    if (sw == 1)
                        for (; co0 + 4 <= cout_g; co0 += 4) {
                            const int32_t co = g * cout_g + co0;
                            conv_tile4(&t, xt, w + (size_t)co * t.w_row, b ? b + co : 0,
                                       y + (((size_t)n * p->c_out + co) * OH + oh) * OW + ow0, nw,
                                       p);
                        }
                    for (; co0 < cout_g; co0++) {
                        const int32_t co = g * cout_g + co0;
                        conv_tile1(&t, sw, xt, w + (size_t)co * t.w_row, b ? b + co : 0,
                                   y + (((size_t)n * p->c_out + co) * OH + oh) * OW + ow0, nw, p);
                    }
                }
            }
        }
    }
}

tml_status tml_conv_f32_tiled_check(const void *params, uint32_t params_size,
                                    const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                    int n_out, uint32_t scratch_bytes)
{
    const tml_conv_params *p = (const tml_conv_params *)params;
    uint64_t in_plane = 1, out_plane = 1, k_size = 1, xp_floats;
    int i;
    if (params_size != sizeof(*p) || n_out != 1)
        return TML_ERR_FORMAT;
    if (p->has_bias != 0 && p->has_bias != 1)
        return TML_ERR_FORMAT;
    if (n_in != 2 + p->has_bias || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c_in, 1) ||
        !tml_nn_in_range(p->c_out, 1) || !tml_nn_in_range(p->group, 1) || p->c_in % p->group != 0 ||
        p->c_out % p->group != 0)
        return TML_ERR_FORMAT;
    for (i = 0; i < 3; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]))
            return TML_ERR_FORMAT;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
        k_size = tml_nn_mul(k_size, (uint64_t)p->kernel[i]);
    }
    /* 1-D and 2-D only: the depth axis is a unit axis */
    if (p->in[0] != 1 || p->out[0] != 1 || p->kernel[0] != 1 || p->pad[0] != 0)
        return TML_ERR_FORMAT;
    xp_floats = tml_conv_tiled_scratch_floats(p, 0, 0);
    if (xp_floats == 0 || xp_floats * 4 > scratch_bytes)
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_in), in_plane)) >
        in_bytes[0])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->c_out, (uint64_t)(p->c_in / p->group)),
                                    k_size)) > in_bytes[1])
        return TML_ERR_FORMAT;
    if (p->has_bias && tml_nn_f32_bytes((uint64_t)p->c_out) > in_bytes[2])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_out), out_plane)) >
        out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
