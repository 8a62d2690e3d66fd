/*
 * binary_f64.c - tml_binary_f64: out = in[0] op in[1] op ... op in[n-1], float64, with numpy
 * broadcasting. For models that carry float64 arithmetic (PyTorch exports of double tensors);
 * no fused activation (the lowering refuses one).
 *
 * The output is walked in row-major order with one element offset per input (stride 0 on
 * broadcast dimensions, see elementwise.h); each element is computed before it is written, so
 * in-place use is safe.
 */
#include "tml/elementwise.h"

void tml_binary_f64(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_binary_params *p = (const tml_binary_params *)params;
    double *y = (double *)out[0]; /* (dims) */
    uint32_t idx[TML_MAX_RANK] = {0};
    uint32_t off[TML_BINARY_MAX_IN] = {0};
    uint32_t n = (uint32_t)tml_ew_numel(p->rank, p->dims), i;
    int k;
    (void)scratch;
    for (i = 0; i < n; i++) {
        double acc = ((const double *)in[0])[off[0]];
        for (k = 1; k < p->n_in; k++) {
            double v = ((const double *)in[k])[off[k]];
            acc = tml_binop_f64(tml_binary_fold_op(p->op, k), acc, v);
        }
        y[i] = acc;
        tml_ew_step(p->rank, p->dims, p->n_in, &p->strides[0][0], idx, off);
    }
}

tml_status tml_binary_f64_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                                int n_in, const uint32_t *out_bytes, int n_out,
                                uint32_t scratch_bytes)
{
    (void)scratch_bytes;
    return tml_binary_check_common(params, params_size, sizeof(double), in_bytes, n_in, out_bytes,
                                   n_out);
}
