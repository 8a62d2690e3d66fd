/*
 * shape_s64.c - tml_shape_s64: writes a short int64 vector known at compile time (ONNX Shape
 * with start/end applied). Shapes are static in a compiled model, so the values travel in the
 * params; constant folding normally removes the step, this kernel covers the case it does not.
 *
 *   out[0] (n) int64
 */
#include <string.h>

#include "tml/kernels.h"

void tml_shape_s64(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_shape_params *p = (const tml_shape_params *)params;
    uint8_t *y = (uint8_t *)out[0];
    uint32_t i;
    (void)in;
    (void)scratch;
    for (i = 0; i < p->n; i++) {
        int64_t v = p->dims[i];
        memcpy(y + (size_t)i * 8, &v, 8);
    }
}

tml_status tml_shape_s64_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                               int n_in, const uint32_t *out_bytes, int n_out,
                               uint32_t scratch_bytes)
{
    const tml_shape_params *p = (const tml_shape_params *)params;
    (void)in_bytes;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 0 || n_out != 1 || p->n > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    if ((uint64_t)p->n * 8 > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
