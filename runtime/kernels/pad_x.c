/*
 * pad_x.c - tml_pad_x: ONNX Pad (constant, edge, reflect, wrap), any element size.
 *
 * For every output element the input coordinate along each axis is c = o - pad_begin. Negative
 * pads crop: the input region that survives is [lo, hi) with lo = max(0, -pad_begin) and
 * hi = in_dim - max(0, -pad_end). A coordinate outside [lo, hi) is resolved by the mode against
 * that region (as numpy.pad on the cropped array, which is what ONNX's reference does):
 * constant -> the value, edge -> clamp, reflect -> mirror without repeating the border
 * (period 2(n-1)), wrap -> modulo n.
 *
 *   in[0]  (in_dims)
 *   out[0] (in_dims[a] + pad_begin[a] + pad_end[a] for each axis a)
 */
#include <string.h>

#include "tml/kernels.h"

/* Maps coordinate c (relative to the uncropped input) into [lo, lo+n); -1 = use the value. */
static int64_t pad_map(uint32_t mode, int64_t c, int64_t lo, int64_t n)
{
    int64_t r = c - lo, period;
    if (r >= 0 && r < n)
        return c;
    switch (mode) {
    case TML_PAD_EDGE: return r < 0 ? lo : lo + n - 1;
    case TML_PAD_WRAP: r %= n; return lo + (r < 0 ? r + n : r);
    case TML_PAD_REFLECT:
        if (n == 1)
            return lo;
        period = 2 * (n - 1);
        r %= period;
        if (r < 0)
            r += period;
        return lo + (r >= n ? period - r : r);
    default: return -1;
    }
}

void tml_pad_x(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_pad_params *p = (const tml_pad_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];
    uint8_t *y = (uint8_t *)out[0];
    uint32_t out_dims[TML_MAX_RANK], in_strides[TML_MAX_RANK], idx[TML_MAX_RANK] = {0};
    int64_t lo[TML_MAX_RANK], n[TML_MAX_RANK];
    uint8_t value[8];
    uint32_t a, es = p->elem_size;
    uint64_t total = 0, o;
    (void)scratch;
    memcpy(value, &p->value_lo, 4);
    memcpy(value + 4, &p->value_hi, 4);
    for (a = 0; a < p->rank; a++) {
        int64_t cut_b = p->pad_begin[a] < 0 ? -(int64_t)p->pad_begin[a] : 0;
        int64_t cut_e = p->pad_end[a] < 0 ? -(int64_t)p->pad_end[a] : 0;
        out_dims[a] = (uint32_t)((int64_t)p->in_dims[a] + p->pad_begin[a] + p->pad_end[a]);
        lo[a] = cut_b;
        n[a] = (int64_t)p->in_dims[a] - cut_b - cut_e;
    }
    tml_data_strides(p->rank, p->in_dims, in_strides);
    tml_data_numel(p->rank, out_dims, &total);
    for (o = 0; o < total; o++) {
        int64_t src = 0;
        for (a = 0; a < p->rank && src >= 0; a++) {
            int64_t c = pad_map(p->mode, (int64_t)idx[a] - p->pad_begin[a], lo[a], n[a]);
            src = c < 0 ? -1 : src + c * in_strides[a];
        }
        memcpy(y + o * es, src < 0 ? value : x + (uint64_t)src * es, es);
        tml_data_next(p->rank, out_dims, idx);
    }
}

tml_status tml_pad_x_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                           int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    const tml_pad_params *p = (const tml_pad_params *)params;
    uint32_t out_dims[TML_MAX_RANK], a;
    uint64_t nin, nout;
    int empty_in = 0;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->elem_size) || p->rank < 1 || p->rank > TML_MAX_RANK ||
        p->mode > TML_PAD_WRAP)
        return TML_ERR_FORMAT;
    for (a = 0; a < p->rank; a++) {
        int64_t d = (int64_t)p->in_dims[a] + p->pad_begin[a] + p->pad_end[a];
        int64_t cut_b = p->pad_begin[a] < 0 ? -(int64_t)p->pad_begin[a] : 0;
        int64_t cut_e = p->pad_end[a] < 0 ? -(int64_t)p->pad_end[a] : 0;
        int64_t kept = (int64_t)p->in_dims[a] - cut_b - cut_e;
        if (d < 0 || d > 0x7fffffff || p->in_dims[a] > 0x7fffffff)
            return TML_ERR_FORMAT;
        if (kept < 0 && d > 0)
            return TML_ERR_FORMAT;
        if (kept <= 0)
            empty_in = 1;
        out_dims[a] = (uint32_t)d;
    }
    if (!tml_data_numel(p->rank, p->in_dims, &nin) || !tml_data_numel(p->rank, out_dims, &nout))
        return TML_ERR_FORMAT;
    /* with nothing left of the input, only a constant pad has values to write */
    if (empty_in && nout > 0 && p->mode != TML_PAD_CONSTANT)
        return TML_ERR_FORMAT;
    if (nin * p->elem_size > in_bytes[0] || nout * p->elem_size > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
