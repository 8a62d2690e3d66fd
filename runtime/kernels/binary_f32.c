/*
 * binary_f32.c - tml_binary_f32: out = in[0] op in[1] op ... op in[n-1], float32, with numpy
 * broadcasting, then the fused activation. Serves Add, Sub, Mul, Div, Min, Max, Sum and PRelu.
 *
 * The output is walked in row-major order; each input keeps its own element offset, moved by
 * its per-dimension stride (0 where it is broadcast), see elementwise.h. The common case of
 * two inputs runs row by row: the op is chosen once per row of the innermost dimension and the
 * row is a tight loop, so Add of two tensors costs about what a hand-written loop costs. More
 * inputs (variadic Sum/Min/Max) fold element by element. Either way each output element is
 * computed from its inputs before it is written, so the output may share its buffer with any
 * input of the output's shape (the planner's in-place reuse).
 */
#include "tml/act.h"
#include "tml/elementwise.h"

/* y[j] = a[j*sa] op b[j*sb] for j < n. */
static void row2(int32_t op, const float *a, uint32_t sa, const float *b, uint32_t sb, float *y,
                 uint32_t n)
{
    uint32_t j;
    switch (op) {
    case TML_BINARY_ADD:
        for (j = 0; j < n; j++) y[j] = a[j * sa] + b[j * sb];
        break;
    case TML_BINARY_SUB:
        for (j = 0; j < n; j++) y[j] = a[j * sa] - b[j * sb];
        break;
    case TML_BINARY_MUL:
        for (j = 0; j < n; j++) y[j] = a[j * sa] * b[j * sb];
        break;
    case TML_BINARY_DIV:
        for (j = 0; j < n; j++) y[j] = a[j * sa] / b[j * sb];
        break;
    default:
        for (j = 0; j < n; j++) y[j] = tml_binop_f32(op, a[j * sa], b[j * sb]);
        break;
    }
}

void tml_binary_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_binary_params *p = (const tml_binary_params *)params;
    float *y = (float *)out[0]; /* (dims) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off[TML_BINARY_MAX_IN] = {0};
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    int k;
    (void)scratch;
    if (p->n_in == 2 && p->rank > 0) {
        /* row by row: the walk runs over dims[0..rank-1), the row over the last dim */
        const float *a = (const float *)in[0], *b = (const float *)in[1];
        uint32_t w = p->dims[p->rank - 1];
        uint32_t sa = p->strides[0][p->rank - 1], sb = p->strides[1][p->rank - 1];
        if (w == 0)
            return;
        for (i = 0; i < n; i += w) {
            row2(p->op, a + off[0], sa, b + off[1], sb, y + i, w);
            tml_ew_step(p->rank - 1, p->dims, 2, &p->strides[0][0], idx, off);
        }
    } else {
        for (i = 0; i < n; i++) {
            float acc = ((const float *)in[0])[off[0]];
            for (k = 1; k < p->n_in; k++) {
                float v = ((const float *)in[k])[off[k]];
                acc = tml_binop_f32(tml_binary_fold_op(p->op, k), acc, v);
            }
            y[i] = acc;
            tml_ew_step(p->rank, p->dims, p->n_in, &p->strides[0][0], idx, off);
        }
    }
    if (p->act)
        for (i = 0; i < n; i++)
            y[i] = tml_act_f32(p->act, p->act_a, p->act_b, y[i]);
}

tml_status tml_binary_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                                int n_in, const uint32_t *out_bytes, int n_out,
                                uint32_t scratch_bytes)
{
    (void)scratch_bytes;
    return tml_binary_check_common(params, params_size, sizeof(float), in_bytes, n_in, out_bytes,
                                   n_out);
}
