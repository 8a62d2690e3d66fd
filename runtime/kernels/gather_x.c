/*
 * gather_x.c - tml_gather_x: ONNX Gather along one axis, any element size, int32 or int64
 * indices.
 *
 * data is seen as (outer, axis_len, inner) and the output as (outer, n_index, inner): each
 * (outer, index) pair copies one contiguous row of inner elements. Indices are runtime data
 * (an embedding lookup's token ids), so a bad index must not read out of bounds: negative
 * indices count from the end as ONNX says, and one still out of range produces a zero row.
 *
 *   in[0]  data    (outer, axis_len, inner)
 *   in[1]  indices (n_index) int32 or int64
 *   out[0]         (outer, n_index, inner)
 */
#include <string.h>

#include "tml/kernels.h"

void tml_gather_x(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_gather_params *p = (const tml_gather_params *)params;
    const uint8_t *x = (const uint8_t *)in[0];
    const uint8_t *ix = (const uint8_t *)in[1];
    uint8_t *y = (uint8_t *)out[0];
    size_t row = (size_t)p->inner * p->elem_size;
    uint32_t o, j;
    (void)scratch;
    if (row == 0 || p->n_index == 0) /* empty output: do not spin over `outer` empty rows */
        return;
    for (o = 0; o < p->outer; o++) {
        for (j = 0; j < p->n_index; j++) {
            int64_t k;
            if (p->index_size == 8) {
                memcpy(&k, ix + (size_t)j * 8, 8);
            } else {
                int32_t k32;
                memcpy(&k32, ix + (size_t)j * 4, 4);
                k = k32;
            }
            if (k < 0)
                k += p->axis_len;
            if (k < 0 || k >= (int64_t)p->axis_len)
                memset(y, 0, row);
            else
                memcpy(y, x + ((size_t)o * p->axis_len + (size_t)k) * row, row);
            y += row;
        }
    }
}

tml_status tml_gather_x_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                              int n_in, const uint32_t *out_bytes, int n_out,
                              uint32_t scratch_bytes)
{
    const tml_gather_params *p = (const tml_gather_params *)params;
    uint32_t din[3], dout[3];
    uint64_t nin, nout;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 2 || n_out != 1)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->elem_size) || (p->index_size != 4 && p->index_size != 8))
        return TML_ERR_FORMAT;
    din[0] = dout[0] = p->outer;
    din[1] = p->axis_len;
    dout[1] = p->n_index;
    din[2] = dout[2] = p->inner;
    if (!tml_data_numel(3, din, &nin) || !tml_data_numel(3, dout, &nout))
        return TML_ERR_FORMAT;
    if (nin * p->elem_size > in_bytes[0] || (uint64_t)p->n_index * p->index_size > in_bytes[1] ||
        nout * p->elem_size > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
