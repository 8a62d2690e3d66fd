/*
 * slice_x.c - tml_slice_x: ONNX Slice (any steps, including negative), any element size.
 *
 * The compiler resolves starts/ends/axes/steps (negative values, clamping) into one start and
 * one step per axis plus the output shape, so the kernel is a strided gather:
 * out[i0, i1, ...] = in[start0 + i0*step0, start1 + i1*step1, ...].
 *
 *   in[0]  (in_dims)
 *   out[0] (out_dims)
 */
#include <string.h>

#include "tml/kernels.h"

void tml_slice_x(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_slice_params *p = (const tml_slice_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];
    uint8_t *y = (uint8_t *)out[0];
    uint32_t in_strides[TML_MAX_RANK], idx[TML_MAX_RANK] = {0};
    uint32_t a, es = p->elem_size;
    uint64_t n = 0, o;
    (void)scratch;
    tml_data_strides(p->rank, p->in_dims, in_strides);
    tml_data_numel(p->rank, p->out_dims, &n);
    for (o = 0; o < n; o++) {
        int64_t src = 0;
        for (a = 0; a < p->rank; a++)
            src += ((int64_t)p->start[a] + (int64_t)idx[a] * p->step[a]) * in_strides[a];
        memcpy(y + o * es, x + (uint64_t)src * es, es);
        tml_data_next(p->rank, p->out_dims, idx);
    }
}

tml_status tml_slice_x_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                             int n_in, const uint32_t *out_bytes, int n_out,
                             uint32_t scratch_bytes)
{
    const tml_slice_params *p = (const tml_slice_params *)params;
    uint64_t nin, nout;
    uint32_t a;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->elem_size) || p->rank < 1 || p->rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    if (!tml_data_numel(p->rank, p->in_dims, &nin) || !tml_data_numel(p->rank, p->out_dims, &nout))
        return TML_ERR_FORMAT;
    if (nout > 0) {
        for (a = 0; a < p->rank; a++) {
            int64_t first = p->start[a];
            int64_t last = first + ((int64_t)p->out_dims[a] - 1) * p->step[a];
            if (p->step[a] == 0 || first < 0 || first >= (int64_t)p->in_dims[a] || last < 0 ||
                last >= (int64_t)p->in_dims[a])
                return TML_ERR_FORMAT;
        }
    }
    if (nin * p->elem_size > in_bytes[0] || nout * p->elem_size > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
