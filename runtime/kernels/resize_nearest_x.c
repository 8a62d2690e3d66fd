/*
 * resize_nearest_x.c - tml_resize_nearest_x: ONNX Resize with mode "nearest" (and Upsample),
 * any element size, every coordinate transformation mode except tf_crop_and_resize.
 *
 * For each axis the source index of output coordinate x is computed as ONNX's reference does:
 * x_ori from the coordinate transformation (half_pixel, half_pixel_symmetric,
 * pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn), then rounded by the
 * nearest mode and clamped to [0, in_dim - 1]. The arithmetic is in double, deliberately: the
 * reference computes in float64 and the rounding modes make ties (x_ori = k + 0.5) matter, so
 * float32 math would pick the other neighbour on some outputs. Source indices are recomputed
 * per element; a reference kernel, not a fast one.
 *
 *   in[0]  (in_dims)
 *   out[0] (out_dims)
 */
#include <math.h>
#include <string.h>

#include "tml/kernels.h"

static uint32_t resize_src(const tml_resize_params *p, uint32_t a, uint32_t x)
{
    double in_len = p->in_dims[a], out_len = p->out_dims[a];
    double s = p->scale_num[a] ? (double)p->scale_num[a] / (double)p->scale_den[a]
                               : (double)p->scale[a];
    double out_w = s * in_len; /* ONNX's "output_width": a float, not out_len */
    double xo, fl;
    int64_t k;
    switch (p->coord_mode) {
    case TML_RESIZE_ALIGN_CORNERS:
        xo = out_w == 1.0 ? 0.0 : x * (in_len - 1.0) / (out_w - 1.0);
        break;
    case TML_RESIZE_ASYMMETRIC: xo = x / s; break;
    case TML_RESIZE_TF_HALF_PIXEL_FOR_NN: xo = (x + 0.5) / s; break;
    case TML_RESIZE_PYTORCH_HALF_PIXEL:
        xo = out_w == 1.0 ? -0.5 : (x + 0.5) / s - 0.5;
        break;
    case TML_RESIZE_HALF_PIXEL_SYMMETRIC: {
        double adj = out_len / out_w, center = in_len / 2.0;
        xo = center * (1.0 - adj) + (x + 0.5) / s - 0.5;
        break;
    }
    default: xo = (x + 0.5) / s - 0.5; break;
    }
    /* far outside the input it clamps to an edge anyway; keep the int conversion defined */
    if (!(xo > -1.0))
        xo = -1.0;
    if (xo > in_len)
        xo = in_len;
    fl = floor(xo);
    if (xo == fl) {
        k = (int64_t)fl;
    } else {
        double r = xo - fl;
        switch (p->nearest_mode) {
        case TML_NEAREST_ROUND_PREFER_CEIL: k = (int64_t)fl + (r >= 0.5); break;
        case TML_NEAREST_FLOOR: k = (int64_t)fl; break;
        case TML_NEAREST_CEIL: k = (int64_t)fl + 1; break;
        default: k = (int64_t)fl + (r > 0.5); break;
        }
    }
    if (k < 0)
        k = 0;
    if (k > (int64_t)p->in_dims[a] - 1)
        k = (int64_t)p->in_dims[a] - 1;
    return (uint32_t)k;
}

void tml_resize_nearest_x(const void *params, const void *const *in, void *const *out,
                          void *scratch)
{
    const tml_resize_params *p = (const tml_resize_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];
    uint8_t *y = (uint8_t *)out[0];
    uint32_t in_strides[TML_MAX_RANK], idx[TML_MAX_RANK] = {0};
    uint32_t a, es = p->elem_size;
    uint64_t n = 0, o;
    (void)scratch;
    tml_data_strides(p->rank, p->in_dims, in_strides);
    tml_data_numel(p->rank, p->out_dims, &n);
    for (o = 0; o < n; o++) {
        uint64_t src = 0;
        for (a = 0; a < p->rank; a++)
            src += (uint64_t)resize_src(p, a, idx[a]) * in_strides[a];
        memcpy(y + o * es, x + src * es, es);
        tml_data_next(p->rank, p->out_dims, idx);
    }
}

tml_status tml_resize_nearest_x_check(const void *params, uint32_t params_size,
                                      const uint32_t *in_bytes, int n_in,
                                      const uint32_t *out_bytes, int n_out,
                                      uint32_t scratch_bytes)
{
    const tml_resize_params *p = (const tml_resize_params *)params;
    uint64_t nin, nout;
    uint32_t a;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->elem_size) || p->rank < 1 || p->rank > TML_MAX_RANK ||
        p->coord_mode > TML_RESIZE_TF_HALF_PIXEL_FOR_NN || p->nearest_mode > TML_NEAREST_CEIL)
        return TML_ERR_FORMAT;
    if (!tml_data_numel(p->rank, p->in_dims, &nin) || !tml_data_numel(p->rank, p->out_dims, &nout))
        return TML_ERR_FORMAT;
    for (a = 0; a < p->rank; a++) {
        /* the clamp needs a non-empty input wherever there is output; scales must be > 0 */
        if (p->out_dims[a] > 0 && p->in_dims[a] == 0)
            return TML_ERR_FORMAT;
        if (p->scale_num[a] ? p->scale_den[a] == 0 : !(p->scale[a] > 0.0f))
            return TML_ERR_FORMAT;
    }
    if (nin * p->elem_size > in_bytes[0] || nout * p->elem_size > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
