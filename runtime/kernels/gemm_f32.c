/*
 * gemm_f32.c - tml_gemm_f32: Y = act(alpha * A' B' + beta * C) in float32 (ONNX Gemm).
 *
 * The reference kernel: one dot product per output element, transposition handled by
 * strides rather than by copying, C broadcast from (1|m, 1|n). A fully connected layer is a
 * Gemm with trans_b = 1, which makes B's rows contiguous for the inner loop.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_gemm_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_gemm_params *p = (const tml_gemm_params *)params;
    const float *a = (const float *)in[0];                    /* (M, K) or (K, M) */
    const float *b = (const float *)in[1];                    /* (K, N) or (N, K) */
    const float *c = p->c_rows > 0 ? (const float *)in[2] : 0; /* (1|M, 1|N) */
    float *y = (float *)out[0];                               /* (M, N) */
    /* element (i, kk) of A' is a[i*a_si + kk*a_sk]; (kk, j) of B' is b[kk*b_sk + j*b_sj] */
    const size_t a_si = p->trans_a ? 1 : (size_t)p->k, a_sk = p->trans_a ? (size_t)p->m : 1;
    const size_t b_sk = p->trans_b ? 1 : (size_t)p->n, b_sj = p->trans_b ? (size_t)p->k : 1;
    int32_t i, j, kk;
    (void)scratch;

    for (i = 0; i < p->m; i++) {
        for (j = 0; j < p->n; j++) {
            float acc = 0.0f, v;
            for (kk = 0; kk < p->k; kk++)
                acc += a[i * a_si + kk * a_sk] * b[kk * b_sk + j * b_sj];
            v = p->alpha * acc;
            if (c) {
                size_t ci = (p->c_rows == 1 ? 0 : (size_t)i) * (size_t)p->c_cols +
                            (p->c_cols == 1 ? 0 : (size_t)j);
                v += p->beta * c[ci];
            }
            y[(size_t)i * p->n + j] = tml_act_f32(p->act, p->act_a, p->act_b, v);
        }
    }
}

tml_status tml_gemm_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                              int n_in, const uint32_t *out_bytes, int n_out,
                              uint32_t scratch_bytes)
{
    const tml_gemm_params *p = (const tml_gemm_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->m, 1) || !tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->k, 1))
        return TML_ERR_FORMAT;
    if ((p->trans_a != 0 && p->trans_a != 1) || (p->trans_b != 0 && p->trans_b != 1))
        return TML_ERR_FORMAT;
    if (p->c_rows == 0 && p->c_cols == 0) {
        if (n_in != 2)
            return TML_ERR_FORMAT;
    } else {
        if (n_in != 3 || (p->c_rows != 1 && p->c_rows != p->m) ||
            (p->c_cols != 1 && p->c_cols != p->n))
            return TML_ERR_FORMAT;
        if (tml_nn_f32_bytes(tml_nn_mul((uint64_t)p->c_rows, (uint64_t)p->c_cols)) > in_bytes[2])
            return TML_ERR_FORMAT;
    }
    if (tml_nn_f32_bytes(tml_nn_mul((uint64_t)p->m, (uint64_t)p->k)) > in_bytes[0] ||
        tml_nn_f32_bytes(tml_nn_mul((uint64_t)p->k, (uint64_t)p->n)) > in_bytes[1] ||
        tml_nn_f32_bytes(tml_nn_mul((uint64_t)p->m, (uint64_t)p->n)) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
