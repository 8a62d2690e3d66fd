/*
 * concat_x.c - tml_concat_x: ONNX Concat of n_in inputs along one axis, any element size.
 *
 * Every input is seen as (outer, axis_len[i], inner) and the output as (outer, sum, inner):
 * for each outer index, the inputs' contiguous rows of axis_len[i] * inner elements are copied
 * one after the other. Whole rows are memcpy'd, so this is also the fast way.
 *
 *   in[i]  (outer, axis_len[i], inner)
 *   out[0] (outer, sum_i axis_len[i], inner)
 */
#include <string.h>

#include "tml/kernels.h"

void tml_concat_x(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_concat_params *p = (const tml_concat_params *)params;
    uint8_t *y = (uint8_t *)out[0];
    uint32_t o, i, total = 0;
    (void)scratch;
    for (i = 0; i < p->n_in; i++)
        total |= p->axis_len[i];
    if (p->inner == 0 || total == 0) /* empty output: do not spin over `outer` empty rows */
        return;
    for (o = 0; o < p->outer; o++) {
        for (i = 0; i < p->n_in; i++) {
            size_t row = (size_t)p->axis_len[i] * p->inner * p->elem_size;
            memcpy(y, (const uint8_t *)in[i] + (size_t)o * row, row);
            y += row;
        }
    }
}

tml_status tml_concat_x_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                              int n_in, const uint32_t *out_bytes, int n_out,
                              uint32_t scratch_bytes)
{
    const tml_concat_params *p = (const tml_concat_params *)params;
    uint64_t total = 0;
    uint32_t i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || p->n_in < 1 ||
        p->n_in > TML_CONCAT_MAX_IN || n_in != (int)p->n_in)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->elem_size))
        return TML_ERR_FORMAT;
    for (i = 0; i < p->n_in; i++) {
        uint64_t b = (uint64_t)p->outer * p->axis_len[i];
        if (b > 0xffffffffu)
            return TML_ERR_FORMAT;
        b *= p->inner;
        if (b > 0xffffffffu)
            return TML_ERR_FORMAT;
        b *= p->elem_size;
        if (b > in_bytes[i])
            return TML_ERR_FORMAT;
        total += b;
    }
    if (total > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
