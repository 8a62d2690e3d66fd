/*
 * reduce_u8.c - tml_reduce_u8: ReduceMax of a uint8 or bool tensor over any set of axes (for
 * bool, max is logical or). Only TML_REDUCE_MAX: a mean of bytes is not an ONNX case we need.
 *
 * Same walk as reduce_f32.c: the input is read once in row-major order and each element is
 * folded into the output element whose offset moves by out_strides (0 on reduced axes). The
 * output starts at 0, the smallest uint8 and false, which is also ONNX's value for an empty
 * reduction.
 */
#include "tml/elementwise.h"

void tml_reduce_u8(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_reduce_params *p = (const tml_reduce_params *)params;
    const uint8_t *x = (const uint8_t *)in[0]; /* (dims) */
    uint8_t *y = (uint8_t *)out[0];            /* (out_numel) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off = 0;
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    (void)scratch;
    for (i = 0; i < p->out_numel; i++)
        y[i] = 0;
    for (i = 0; i < n; i++) {
        if (x[i] > y[off])
            y[off] = x[i];
        tml_ew_step(p->rank, p->dims, 1, p->out_strides, idx, &off);
    }
}

tml_status tml_reduce_u8_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                               int n_in, const uint32_t *out_bytes, int n_out,
                               uint32_t scratch_bytes)
{
    const tml_reduce_params *p = (const tml_reduce_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || p->op != TML_REDUCE_MAX ||
        p->rank < 0 || p->rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    if (tml_ew_numel(p->rank, p->dims) > in_bytes[0])
        return TML_ERR_FORMAT;
    if ((uint64_t)p->out_numel > out_bytes[0])
        return TML_ERR_FORMAT;
    return tml_ew_check_strides(p->rank, p->dims, p->out_strides, p->out_numel);
}
