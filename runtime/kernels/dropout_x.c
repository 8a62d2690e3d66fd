/*
 * dropout_x.c - tml_dropout_x: ONNX Dropout at inference when its mask output is wanted.
 *
 * Inference dropout is the identity; without a mask the compiler lowers it to a view and no
 * kernel runs. With a mask, this kernel copies the data (unless the planner made the buffers
 * one) and fills the mask with "keep" (bool true, or T(1) in opsets before 10).
 *
 *   in[0]  x (bytes)
 *   out[0] y (bytes)
 *   out[1] mask (mask_count elements of mask_elem_size bytes)
 */
#include <string.h>

#include "tml/kernels.h"

void tml_dropout_x(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_dropout_params *p = (const tml_dropout_params *)params;
    uint8_t *m = (uint8_t *)out[1];
    uint8_t one[8];
    uint32_t i;
    (void)scratch;
    if (out[0] != in[0])
        memmove(out[0], in[0], p->bytes);
    memcpy(one, &p->mask_one_lo, 4);
    memcpy(one + 4, &p->mask_one_hi, 4);
    for (i = 0; i < p->mask_count; i++)
        memcpy(m + (size_t)i * p->mask_elem_size, one, p->mask_elem_size);
}

tml_status tml_dropout_x_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                               int n_in, const uint32_t *out_bytes, int n_out,
                               uint32_t scratch_bytes)
{
    const tml_dropout_params *p = (const tml_dropout_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 2)
        return TML_ERR_FORMAT;
    if (!tml_data_elem_ok(p->mask_elem_size))
        return TML_ERR_FORMAT;
    if (p->bytes > in_bytes[0] || p->bytes > out_bytes[0] ||
        (uint64_t)p->mask_count * p->mask_elem_size > out_bytes[1])
        return TML_ERR_FORMAT;
    return TML_OK;
}
