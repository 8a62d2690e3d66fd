/*
 * reduce_f32.c - tml_reduce_f32: ReduceMean / ReduceMax of a float32 tensor over any set of
 * axes.
 *
 * Instead of looping over output elements and then over the reduced axes (which needs a
 * different loop nest per axis set), the kernel walks the input once in row-major order and
 * folds each element into the output element it belongs to: the output offset moves by a
 * per-input-dimension stride that is 0 on reduced axes (the same walk as broadcasting, run
 * backwards). The output is initialised first (0 or -inf), so an empty reduction yields the
 * ONNX identity (-inf for max, 0/0 = NaN for mean). Accumulation is in float.
 */
#include "tml/elementwise.h"

void tml_reduce_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_reduce_params *p = (const tml_reduce_params *)params;
    const float *x = (const float *)in[0]; /* (dims) */
    float *y = (float *)out[0];            /* (out_numel) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off = 0;
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    (void)scratch;
    for (i = 0; i < p->out_numel; i++)
        y[i] = p->op == TML_REDUCE_MAX ? -INFINITY : 0.0f;
    for (i = 0; i < n; i++) {
        float v = x[i];
        if (p->op == TML_REDUCE_MAX)
            y[off] = (v != v || v > y[off]) ? v : y[off];
        else
            y[off] += v;
        tml_ew_step(p->rank, p->dims, 1, p->out_strides, idx, &off);
    }
    if (p->op == TML_REDUCE_MEAN)
        for (i = 0; i < p->out_numel; i++)
            y[i] = y[i] / (float)p->count;
}

tml_status tml_reduce_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                                int n_in, const uint32_t *out_bytes, int n_out,
                                uint32_t scratch_bytes)
{
    const tml_reduce_params *p = (const tml_reduce_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1 || p->op < 0 ||
        p->op >= TML_REDUCE_OP_COUNT || p->rank < 0 || p->rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    if (tml_ew_numel(p->rank, p->dims) > in_bytes[0] / sizeof(float))
        return TML_ERR_FORMAT;
    if ((uint64_t)p->out_numel > out_bytes[0] / sizeof(float))
        return TML_ERR_FORMAT;
    return tml_ew_check_strides(p->rank, p->dims, p->out_strides, p->out_numel);
}
