/*
 * binary_f32.c - tml_binary_f32: out = in[0] op in[1] op ... op in[n-1], float32, with numpy
 * broadcasting, then the fused activation. Serves Add, Sub, Mul, Div, Min, Max, Sum and PRelu.
 *
 * The output is walked in row-major order; each input keeps its own element offset, moved by
 * its per-dimension stride (0 where it is broadcast), see elementwise.h. Each output element
 * is computed from its inputs before it is written, so the output may share its buffer with
 * any input of the output's shape (the planner's in-place reuse).
 */
#include "tml/act.h"
#include "tml/elementwise.h"

void tml_binary_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_binary_params *p = (const tml_binary_params *)params;
    float *y = (float *)out[0]; /* (dims) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off[TML_BINARY_MAX_IN] = {0};
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    int k;
    (void)scratch;
    for (i = 0; i < n; i++) {
        float acc = ((const float *)in[0])[off[0]];
        for (k = 1; k < p->n_in; k++)
            acc = tml_binop_f32(p->op, acc, ((const float *)in[k])[off[k]]);
        y[i] = p->act ? tml_act_f32(p->act, p->act_a, p->act_b, acc) : acc;
        tml_ew_step(p->rank, p->dims, p->n_in, &p->strides[0][0], idx, off);
    }
}

tml_status tml_binary_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                                int n_in, const uint32_t *out_bytes, int n_out,
                                uint32_t scratch_bytes)
{
    (void)scratch_bytes;
    return tml_binary_check_common(params, params_size, sizeof(float), in_bytes, n_in, out_bytes,
                                   n_out);
}
