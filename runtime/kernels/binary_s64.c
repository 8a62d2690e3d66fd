/*
 * binary_s64.c - tml_binary_s64: out = in[0] op in[1] op ... op in[n-1], int64_t, with numpy
 * broadcasting. Plain integer math (not quantized): Add/Sub/Mul wrap around, Div truncates
 * toward zero and gives 0 for a zero divisor, Min/Max/Sum as in ONNX.
 *
 * The output is walked in row-major order with one element offset per input (stride 0 on
 * broadcast dimensions, see elementwise.h); each element is computed in 64 bits by
 * tml_binop_i64 and narrowed (wrap-around) after each op to int64_t.
 */
#include "tml/elementwise.h"

void tml_binary_s64(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_binary_params *p = (const tml_binary_params *)params;
    int64_t *y = (int64_t *)out[0]; /* (dims) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off[TML_BINARY_MAX_IN] = {0};
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    int k;
    (void)scratch;
    for (i = 0; i < n; i++) {
        int64_t acc = ((const int64_t *)in[0])[off[0]];
        for (k = 1; k < p->n_in; k++) {
            int64_t v = ((const int64_t *)in[k])[off[k]];
            acc = (int64_t)tml_binop_i64(tml_binary_fold_op(p->op, k), acc, v);
        }
        y[i] = acc;
        tml_ew_step(p->rank, p->dims, p->n_in, &p->strides[0][0], idx, off);
    }
}

tml_status tml_binary_s64_check(const void *params, uint32_t params_size,
                               const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                               int n_out, uint32_t scratch_bytes)
{
    (void)scratch_bytes;
    return tml_binary_check_common(params, params_size, sizeof(int64_t), in_bytes, n_in, out_bytes,
                                   n_out);
}
