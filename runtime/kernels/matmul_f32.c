/*
 * matmul_f32.c - tml_matmul_f32: Y = act(A @ B) in float32 with numpy broadcasting of the
 * batch dimensions (ONNX MatMul).
 *
 * For each output batch index the kernel finds the matching A and B matrices (a batch dim
 * of 1 repeats), then runs a plain (m, k) x (k, n) product with the k loop outermost over a
 * zeroed row, so B is read row by row. 1-D operands reach here as m = 1 or n = 1.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_matmul_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_matmul_params *p = (const tml_matmul_params *)params;
    const float *a = (const float *)in[0]; /* (a_batch..., M, K) */
    const float *b = (const float *)in[1]; /* (b_batch..., K, N) */
    float *y = (float *)out[0];            /* (out_batch..., M, N) */
    const size_t M = (size_t)p->m, K = (size_t)p->k, N = (size_t)p->n;
    size_t batches = 1, bi, i, j, kk;
    int r;
    (void)scratch;

    for (r = 0; r < p->batch_rank; r++)
        batches *= (size_t)p->out_batch[r];
    for (bi = 0; bi < batches; bi++) {
        /* decompose bi into out coordinates; build A's and B's batch offsets (row-major) */
        size_t rem = bi, a_off = 0, b_off = 0, a_stride = 1, b_stride = 1;
        const float *am, *bm;
        float *ym = y + bi * M * N;
        for (r = p->batch_rank - 1; r >= 0; r--) {
            size_t coord = rem % (size_t)p->out_batch[r];
            rem /= (size_t)p->out_batch[r];
            if (p->a_batch[r] != 1)
                a_off += coord * a_stride;
            if (p->b_batch[r] != 1)
                b_off += coord * b_stride;
            a_stride *= (size_t)p->a_batch[r];
            b_stride *= (size_t)p->b_batch[r];
        }
        am = a + a_off * M * K;
        bm = b + b_off * K * N;
        for (i = 0; i < M; i++) {
            float *yr = ym + i * N;
            for (j = 0; j < N; j++)
                yr[j] = 0.0f;
            for (kk = 0; kk < K; kk++) {
                const float av = am[i * K + kk];
                const float *br = bm + kk * N;
                for (j = 0; j < N; j++)
                    yr[j] += av * br[j];
            }
            if (p->act)
                for (j = 0; j < N; j++)
                    yr[j] = tml_act_f32(p->act, p->act_a, p->act_b, yr[j]);
        }
    }
}

tml_status tml_matmul_f32_check(const void *params, uint32_t params_size,
                                const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                int n_out, uint32_t scratch_bytes)
{
    const tml_matmul_params *p = (const tml_matmul_params *)params;
    uint64_t na = 1, nb = 1, ny = 1;
    int r;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 2 || n_out != 1 || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->m, 1) || !tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->k, 1))
        return TML_ERR_FORMAT;
    if (p->batch_rank < 0 || p->batch_rank > TML_MAX_RANK)
        return TML_ERR_FORMAT;
    for (r = 0; r < p->batch_rank; r++) {
        int32_t o = p->out_batch[r];
        if (!tml_nn_in_range(o, 1) || (p->a_batch[r] != 1 && p->a_batch[r] != o) ||
            (p->b_batch[r] != 1 && p->b_batch[r] != o))
            return TML_ERR_FORMAT;
        na = tml_nn_mul(na, (uint64_t)p->a_batch[r]);
        nb = tml_nn_mul(nb, (uint64_t)p->b_batch[r]);
        ny = tml_nn_mul(ny, (uint64_t)o);
    }
    if (tml_nn_f32_bytes(tml_nn_mul(na, tml_nn_mul((uint64_t)p->m, (uint64_t)p->k))) > in_bytes[0] ||
        tml_nn_f32_bytes(tml_nn_mul(nb, tml_nn_mul((uint64_t)p->k, (uint64_t)p->n))) > in_bytes[1] ||
        tml_nn_f32_bytes(tml_nn_mul(ny, tml_nn_mul((uint64_t)p->m, (uint64_t)p->n))) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
