/*
 * quant_util.h - static inline helpers the quant family's kernels and _check companions share:
 * element access for the integer dtypes of the _x kernels, ONNX's ties-to-even rounding, the
 * integer accumulation cores of (Q)MatMul and (Q)Conv, and byte-count arithmetic for checks.
 *
 * Why a header of static inline functions: codegen copies single kernel files out of the
 * runtime, so code two kernels share must travel in a header (STYLE.md). The accumulation cores
 * are shared so that QLinearConv and ConvInteger (and QLinearMatMul and MatMulInteger) cannot
 * disagree about what the integer part of the op is.
 */
#ifndef TML_QUANT_UTIL_H
#define TML_QUANT_UTIL_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/kernels.h"
#include "tml/nn_check.h"

/* 1 if dt is an integer dtype the quant kernels read or write. */
static inline int tml_q_dtype_ok(int32_t dt)
{
    return dt == TML_DT_S8 || dt == TML_DT_U8 || dt == TML_DT_S16 || dt == TML_DT_U16 ||
           dt == TML_DT_S32;
}

static inline uint32_t tml_q_size(int32_t dt)
{
    return dt == TML_DT_S8 || dt == TML_DT_U8 ? 1 : dt == TML_DT_S32 ? 4 : 2;
}

static inline int32_t tml_q_load(const void *p, int32_t dt, size_t i)
{
    switch (dt) {
    case TML_DT_S8: return ((const int8_t *)p)[i];
    case TML_DT_U8: return ((const uint8_t *)p)[i];
    case TML_DT_S16: return ((const int16_t *)p)[i];
    case TML_DT_U16: return ((const uint16_t *)p)[i];
    default: return ((const int32_t *)p)[i];
    }
}

static inline void tml_q_range(int32_t dt, int64_t *lo, int64_t *hi)
{
    switch (dt) {
    case TML_DT_S8: *lo = -128; *hi = 127; break;
    case TML_DT_U8: *lo = 0; *hi = 255; break;
    case TML_DT_S16: *lo = -32768; *hi = 32767; break;
    case TML_DT_U16: *lo = 0; *hi = 65535; break;
    default: *lo = INT32_MIN; *hi = INT32_MAX; break;
    }
}

/* Stores v saturated to dt's range. */
static inline void tml_q_store(void *p, int32_t dt, size_t i, int64_t v)
{
    int64_t lo, hi;
    tml_q_range(dt, &lo, &hi);
    v = v < lo ? lo : (v > hi ? hi : v);
    switch (dt) {
    case TML_DT_S8: ((int8_t *)p)[i] = (int8_t)v; break;
    case TML_DT_U8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case TML_DT_S16: ((int16_t *)p)[i] = (int16_t)v; break;
    case TML_DT_U16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    default: ((int32_t *)p)[i] = (int32_t)v; break;
    }
}

/* Round half to even (numpy.rint, ONNX), independent of the FPU rounding mode; the result
 * is clamped to +-2^62 so the conversion to int64 is defined. */
static inline int64_t tml_q_rint(double v)
{
    double r = floor(v + 0.5);
    if (r - v == 0.5 && fmod(r, 2.0) != 0.0)
        r -= 1.0;
    if (!(r > -4.6e18))
        return v != v ? 0 : -((int64_t)1 << 62);
    if (r > 4.6e18)
        return (int64_t)1 << 62;
    return (int64_t)r;
}

/* Round half away from zero (TfLiteRound). */
static inline int64_t tml_q_round_away(double v)
{
    double r = v >= 0 ? floor(v + 0.5) : -floor(-v + 0.5);
    if (!(r > -4.6e18))
        return v != v ? 0 : -((int64_t)1 << 62);
    if (r > 4.6e18)
        return (int64_t)1 << 62;
    return (int64_t)r;
}

/* Element offsets of A and B for batch `ob` of a broadcast batched matmul. */
static inline void tml_q_batch_offsets(const tml_qmatmul_params *p, int64_t ob, size_t *a_off,
                                       size_t *b_off)
{
    size_t ai = 0, bi = 0, as = 1, bs = 1;
    int d;
    for (d = p->batch_rank - 1; d >= 0; d--) {
        const int64_t c = ob % p->out_batch[d];
        ob /= p->out_batch[d];
        ai += (size_t)(p->a_batch[d] == 1 ? 0 : c) * as;
        bi += (size_t)(p->b_batch[d] == 1 ? 0 : c) * bs;
        as *= (size_t)p->a_batch[d];
        bs *= (size_t)p->b_batch[d];
    }
    *a_off = ai * (size_t)p->m * (size_t)p->k;
    *b_off = bi * (size_t)p->k * (size_t)p->n;
}

static inline int64_t tml_q_batch_count(const int32_t *dims, int32_t rank)
{
    int64_t c = 1;
    int d;
    for (d = 0; d < rank; d++)
        c *= dims[d];
    return c;
}

/* sum_k (a[i,k] - az) * (b[k,j] - bz) for one output of a matmul; a and b already offset to
 * their batch. Exact in int64, then truncated to int32 as ONNX's int32 accumulator. */
static inline int32_t tml_q_matmul_acc(const tml_qmatmul_params *p, const void *a, size_t a_off,
                                       int32_t az, const void *b, size_t b_off, int32_t bz,
                                       int32_t i, int32_t j)
{
    int64_t acc = 0;
    int32_t kk;
    for (kk = 0; kk < p->k; kk++)
        acc += (int64_t)(tml_q_load(a, p->a_dtype, a_off + (size_t)i * p->k + kk) - az) *
               (tml_q_load(b, p->b_dtype, b_off + (size_t)kk * p->n + j) - bz);
    return (int32_t)(uint32_t)(uint64_t)acc;
}

/* sum over the window of (x - xz) * (w - wz) for output (nb, co, od, oh, ow); padding taps
 * contribute nothing (they read x_zp, i.e. zero after the shift). */
static inline int32_t tml_q_conv_acc(const tml_qconv_params *p, const void *x, int32_t xz,
                                     const void *w, int32_t wz, int32_t nb, int32_t co,
                                     int32_t od, int32_t oh, int32_t ow)
{
    const int32_t cin_g = p->c_in / p->group, cout_g = p->c_out / p->group;
    const int32_t g = co / cout_g;
    const int32_t ID = p->in[0], IH = p->in[1], IW = p->in[2];
    const int32_t KD = p->kernel[0], KH = p->kernel[1], KW = p->kernel[2];
    const size_t in_plane = (size_t)ID * IH * IW, k_size = (size_t)KD * KH * KW;
    const int32_t d0 = od * p->stride[0] - p->pad[0];
    const int32_t h0 = oh * p->stride[1] - p->pad[1];
    const int32_t w0 = ow * p->stride[2] - p->pad[2];
    int32_t kd0, kd1, kh0, kh1, kw0, kw1, ci, kd, kh, kw;
    int64_t acc = 0;
    tml_nn_window(d0, KD, p->dilation[0], ID, &kd0, &kd1);
    tml_nn_window(h0, KH, p->dilation[1], IH, &kh0, &kh1);
    tml_nn_window(w0, KW, p->dilation[2], IW, &kw0, &kw1);
    for (ci = 0; ci < cin_g; ci++) {
        const size_t xc = ((size_t)nb * p->c_in + (size_t)g * cin_g + ci) * in_plane;
        const size_t wc = ((size_t)co * cin_g + ci) * k_size;
        for (kd = kd0; kd < kd1; kd++) {
            const int32_t id = d0 + kd * p->dilation[0];
            for (kh = kh0; kh < kh1; kh++) {
                const int32_t ih = h0 + kh * p->dilation[1];
                const size_t xr = xc + ((size_t)id * IH + ih) * IW;
                const size_t wr = wc + ((size_t)kd * KH + kh) * KW;
                for (kw = kw0; kw < kw1; kw++)
                    acc += (int64_t)(tml_q_load(x, p->x_dtype,
                                                xr + (size_t)(w0 + kw * p->dilation[2])) -
                                     xz) *
                           (tml_q_load(w, p->w_dtype, wr + (size_t)kw) - wz);
            }
        }
    }
    return (int32_t)(uint32_t)(uint64_t)acc;
}

/* ---- checks ---- */

static inline uint64_t tml_q_bytes(uint64_t count, int32_t dt)
{
    return tml_nn_mul(count, tml_q_size(dt));
}

/* 1 if a qmatmul params struct is self-consistent (dims, batch broadcast, dtypes). */
static inline int tml_q_matmul_geom_ok(const tml_qmatmul_params *p, uint64_t *a_elems,
                                       uint64_t *b_elems, uint64_t *y_elems)
{
    uint64_t ab = 1, bb = 1, ob = 1;
    int d;
    if (!tml_nn_in_range(p->m, 1) || !tml_nn_in_range(p->k, 1) || !tml_nn_in_range(p->n, 1) ||
        p->batch_rank < 0 || p->batch_rank > TML_MAX_RANK - 2)
        return 0;
    for (d = 0; d < p->batch_rank; d++) {
        if (!tml_nn_in_range(p->out_batch[d], 1) ||
            (p->a_batch[d] != 1 && p->a_batch[d] != p->out_batch[d]) ||
            (p->b_batch[d] != 1 && p->b_batch[d] != p->out_batch[d]))
            return 0;
        ab = tml_nn_mul(ab, (uint64_t)p->a_batch[d]);
        bb = tml_nn_mul(bb, (uint64_t)p->b_batch[d]);
        ob = tml_nn_mul(ob, (uint64_t)p->out_batch[d]);
    }
    if (!tml_q_dtype_ok(p->a_dtype) || !tml_q_dtype_ok(p->b_dtype) || !tml_q_dtype_ok(p->y_dtype))
        return 0;
    *a_elems = tml_nn_mul(ab, tml_nn_mul((uint64_t)p->m, (uint64_t)p->k));
    *b_elems = tml_nn_mul(bb, tml_nn_mul((uint64_t)p->k, (uint64_t)p->n));
    *y_elems = tml_nn_mul(ob, tml_nn_mul((uint64_t)p->m, (uint64_t)p->n));
    return ob < TML_NN_SAT;
}

/* 1 if a qconv params struct's geometry and dtypes are safe; sets element counts. */
static inline int tml_q_conv_geom_ok(const tml_qconv_params *p, uint64_t *x_elems,
                                     uint64_t *w_elems, uint64_t *y_elems)
{
    uint64_t in_plane = 1, out_plane = 1, k_size = 1;
    int i;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c_in, 1) ||
        !tml_nn_in_range(p->c_out, 1) || !tml_nn_in_range(p->group, 1) ||
        p->c_in % p->group != 0 || p->c_out % p->group != 0)
        return 0;
    if (!tml_q_dtype_ok(p->x_dtype) || !tml_q_dtype_ok(p->w_dtype) || !tml_q_dtype_ok(p->y_dtype))
        return 0;
    for (i = 0; i < 3; i++) {
        if (!tml_nn_axis_ok(p->in[i], p->out[i], p->kernel[i], p->stride[i], p->pad[i],
                            p->dilation[i]))
            return 0;
        in_plane = tml_nn_mul(in_plane, (uint64_t)p->in[i]);
        out_plane = tml_nn_mul(out_plane, (uint64_t)p->out[i]);
        k_size = tml_nn_mul(k_size, (uint64_t)p->kernel[i]);
    }
    *x_elems = tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_in), in_plane);
    *w_elems =
        tml_nn_mul(tml_nn_mul((uint64_t)p->c_out, (uint64_t)(p->c_in / p->group)), k_size);
    *y_elems = tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c_out), out_plane);
    return 1;
}

#endif /* TML_QUANT_UTIL_H */
