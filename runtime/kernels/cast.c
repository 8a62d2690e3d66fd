/*
 * cast.c - tml_cast: ONNX Cast between float32, float64, float16, bool and every int/uint width.
 *
 * One kernel with a switch rather than one per type pair (13 x 13 files would be noise): each
 * element is loaded into one of three carriers - double for floats, int64 for signed ints,
 * uint64 for unsigned ints and bool - and stored from there into the target type:
 *   - float -> int truncates toward zero through int64 (NaN gives 0, values past the int64
 *     range saturate), then wraps to the target width the way numpy's astype does on the
 *     usual targets; ints wrap modulo 2^bits; anything -> bool is "!= 0" (NaN is true);
 *   - int -> float32 converts directly (one rounding, not two through double);
 *   - float16 is IEEE binary16; conversion to it rounds to nearest, ties to even, directly from
 *     the double carrier (no double rounding through float32); overflow gives infinity.
 * Bits are read and written with memcpy so unaligned buffers and strict aliasing are fine.
 *
 *   in[0]  (count) elements of `from`
 *   out[0] (count) elements of `to`
 */
#include <string.h>

#include "tml/kernels.h"

enum { CAST_FLOAT, CAST_SINT, CAST_UINT };

typedef struct {
    int kind;
    double f;
    int64_t i;
    uint64_t u;
} cast_val;

static double half_to_double(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    float f;
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float */
        f = (float)m * 5.9604644775390625e-8f;
        return sign ? -(double)f : (double)f;
    }
    if (e == 31)
        bits = sign | 0x7f800000u | (m << 13);
    else
        bits = sign | ((e + 112) << 23) | (m << 13);
    memcpy(&f, &bits, 4);
    return (double)f;
}

/* Rounds the 64-bit value m right by `shift` bits, to nearest, ties to even. */
static uint64_t round_shift(uint64_t m, int shift)
{
    uint64_t q, rem, half;
    if (shift <= 0)
        return m;
    if (shift >= 64)
        return 0;
    q = m >> shift;
    rem = m & ((1ull << shift) - 1);
    half = 1ull << (shift - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    return q;
}

static uint16_t double_to_half(double d)
{
    uint64_t b, mant;
    uint16_t sign;
    int e;
    memcpy(&b, &d, 8);
    sign = (uint16_t)((b >> 48) & 0x8000);
    e = (int)((b >> 52) & 0x7ff);
    mant = b & 0xfffffffffffffull;
    if (e == 0x7ff)
        return (uint16_t)(sign | (mant ? 0x7e00 : 0x7c00));
    if (e == 0) /* double subnormals are far below half's smallest subnormal */
        return sign;
    e -= 1023;
    if (e > 15)
        return (uint16_t)(sign | 0x7c00);
    if (e < -14) { /* half subnormal: units of 2^-24 */
        uint64_t q = round_shift(mant | (1ull << 52), 28 - e);
        return (uint16_t)(sign | q); /* q == 0x400 is the smallest normal: still right */
    }
    {
        uint64_t h = ((uint64_t)(e + 15) << 10) + round_shift(mant, 42); /* carry bumps e */
        if (h >= 0x7c00)
            return (uint16_t)(sign | 0x7c00);
        return (uint16_t)(sign | h);
    }
}

static cast_val cast_load(uint32_t dt, const uint8_t *p)
{
    cast_val v = {CAST_UINT, 0.0, 0, 0};
    switch (dt) {
    case TML_DT_F32: { float x; memcpy(&x, p, 4); v.kind = CAST_FLOAT; v.f = x; break; }
    case TML_DT_F64: memcpy(&v.f, p, 8); v.kind = CAST_FLOAT; break;
    case TML_DT_F16: {
        uint16_t h;
        memcpy(&h, p, 2);
        v.kind = CAST_FLOAT;
        v.f = half_to_double(h);
        break;
    }
    case TML_DT_S8: { int8_t x; memcpy(&x, p, 1); v.kind = CAST_SINT; v.i = x; break; }
    case TML_DT_S16: { int16_t x; memcpy(&x, p, 2); v.kind = CAST_SINT; v.i = x; break; }
    case TML_DT_S32: { int32_t x; memcpy(&x, p, 4); v.kind = CAST_SINT; v.i = x; break; }
    case TML_DT_S64: memcpy(&v.i, p, 8); v.kind = CAST_SINT; break;
    case TML_DT_U8: v.u = p[0]; break;
    case TML_DT_BOOL: v.u = p[0] != 0; break;
    case TML_DT_U16: { uint16_t x; memcpy(&x, p, 2); v.u = x; break; }
    case TML_DT_U32: { uint32_t x; memcpy(&x, p, 4); v.u = x; break; }
    case TML_DT_U64: memcpy(&v.u, p, 8); break;
    default: break;
    }
    return v;
}

/* The value as raw two's complement bits, for integer targets. */
static uint64_t cast_int_bits(const cast_val *v)
{
    double d = v->f;
    if (v->kind == CAST_SINT)
        return (uint64_t)v->i;
    if (v->kind == CAST_UINT)
        return v->u;
    if (d != d)
        return 0;
    if (d >= 18446744073709551616.0)
        return ~0ull;
    if (d >= 9223372036854775808.0)
        return (uint64_t)d;
    if (d < -9223372036854775808.0)
        return (uint64_t)1 << 63;
    return (uint64_t)(int64_t)d;
}

static double cast_double(const cast_val *v)
{
    if (v->kind == CAST_FLOAT)
        return v->f;
    return v->kind == CAST_SINT ? (double)v->i : (double)v->u;
}

static void cast_store(uint32_t dt, uint8_t *p, const cast_val *v)
{
    uint64_t u;
    switch (dt) {
    case TML_DT_F32: {
        float x = v->kind == CAST_FLOAT ? (float)v->f
                  : v->kind == CAST_SINT ? (float)v->i : (float)v->u;
        memcpy(p, &x, 4);
        return;
    }
    case TML_DT_F64: { double x = cast_double(v); memcpy(p, &x, 8); return; }
    case TML_DT_F16: { uint16_t h = double_to_half(cast_double(v)); memcpy(p, &h, 2); return; }
    case TML_DT_BOOL:
        p[0] = v->kind == CAST_FLOAT ? (v->f != 0.0) : v->kind == CAST_SINT ? v->i != 0 : v->u != 0;
        return;
    default: break;
    }
    u = cast_int_bits(v); /* little-endian: the low bytes are the narrower type */
    switch (dt) {
    case TML_DT_S8: case TML_DT_U8: p[0] = (uint8_t)u; return;
    case TML_DT_S16: case TML_DT_U16: { uint16_t x = (uint16_t)u; memcpy(p, &x, 2); return; }
    case TML_DT_S32: case TML_DT_U32: { uint32_t x = (uint32_t)u; memcpy(p, &x, 4); return; }
    case TML_DT_S64: case TML_DT_U64: memcpy(p, &u, 8); return;
    default: return;
    }
}

/* Element size of a dtype the kernel handles, 0 otherwise. */
static uint32_t cast_size(uint32_t dt)
{
    switch (dt) {
    case TML_DT_F32: case TML_DT_F64: case TML_DT_F16: case TML_DT_BOOL:
    case TML_DT_S8: case TML_DT_S16: case TML_DT_S32: case TML_DT_S64:
    case TML_DT_U8: case TML_DT_U16: case TML_DT_U32: case TML_DT_U64:
        return (uint32_t)tml_dtype_size((tml_dtype)dt);
    default: return 0;
    }
}

void tml_cast(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_cast_params *p = (const tml_cast_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];
    uint8_t *y = (uint8_t *)out[0];
    uint32_t si = cast_size(p->from), so = cast_size(p->to), i;
    (void)scratch;
    for (i = 0; i < p->count; i++) {
        cast_val v = cast_load(p->from, x + (size_t)i * si);
        cast_store(p->to, y + (size_t)i * so, &v);
    }
}

tml_status tml_cast_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                          int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    const tml_cast_params *p = (const tml_cast_params *)params;
    uint32_t si, so;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    si = cast_size(p->from);
    so = cast_size(p->to);
    if (!si || !so)
        return TML_ERR_FORMAT;
    if ((uint64_t)p->count * si > in_bytes[0] || (uint64_t)p->count * so > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
