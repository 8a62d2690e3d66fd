/*
 * transpose_x.c - tml_transpose_x: ONNX Transpose for any element size; also DepthToSpace and
 * SpaceToDepth, which the compiler lowers to a 6-D transpose of a reshaped view.
 *
 * Walks the output in row-major order with a multi-index; input offset = sum over output axes
 * of idx[i] * in_stride[perm[i]]. One memcpy of elem_size bytes per element: a reference
 * kernel, correct for every rank up to TML_MAX_RANK and every dtype.
 *
 *   in[0]  (in_dims[0], ..., in_dims[rank-1])
 *   out[0] (in_dims[perm[0]], ..., in_dims[perm[rank-1]])
 */
#include <string.h>

#include "tml/kernels.h"

void tml_transpose_x(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_transpose_params *p = (const tml_transpose_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];
    uint8_t *y = (uint8_t *)out[0];
    uint32_t in_strides[TML_MAX_RANK], out_dims[TML_MAX_RANK], src_strides[TML_MAX_RANK];
    uint32_t idx[TML_MAX_RANK] = {0};
    uint64_t n = 0, o;
    uint32_t i, es = p->elem_size;
    (void)scratch;
    tml_data_strides(p->rank, p->in_dims, in_strides);
    for (i = 0; i < p->rank; i++) {
        out_dims[i] = p->in_dims[p->perm[i]];
        src_strides[i] = in_strides[p->perm[i]];
    }
    tml_data_numel(p->rank, p->in_dims, &n);
    for (o = 0; o < n; o++) {
        uint64_t src = 0;
        for (i = 0; i < p->rank; i++)
            src += (uint64_t)idx[i] * src_strides[i];
        memcpy(y + o * es, x + src * es, es);
        tml_data_next(p->rank, out_dims, idx);
    }
}

tml_status tml_transpose_x_check(const void *params, uint32_t params_size,
                                 const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                 int n_out, uint32_t scratch_bytes)
{
    const tml_transpose_params *p = (const tml_transpose_params *)params;
    uint32_t seen = 0, i;
    uint64_t n;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->elem_size) || p->rank < 1 || p->rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    for (i = 0; i < p->rank; i++) {
        if (p->perm[i] >= p->rank || (seen & (1u << p->perm[i])))
            return TML_ERR_FORMAT;
        seen |= 1u << p->perm[i];
    }
    if (!tml_data_numel(p->rank, p->in_dims, &n))
        return TML_ERR_FORMAT;
    n *= p->elem_size;
    if (n > in_bytes[0] || n > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
