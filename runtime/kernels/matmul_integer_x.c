/*
 * matmul_integer_x.c - tml_matmul_integer_x: ONNX MatMulInteger, int32 y = (a - a_zp) @
 * (b - b_zp) on int8/uint8 operands with numpy batch broadcasting; a_zp per tensor or per row,
 * b_zp per tensor or per column. Pure integer arithmetic, so exact.
 */
#include "tml/kernels.h"
#include "tml/quant_util.h"

void tml_matmul_integer_x(const void *params, const void *const *in, void *const *out,
                          void *scratch)
{
    const tml_qmatmul_params *p = (const tml_qmatmul_params *)params;
    const void *a = in[0], *b = in[1];
    const void *az = p->has_a_zp ? in[2] : 0;
    const void *bz = p->has_b_zp ? in[2 + p->has_a_zp] : 0;
    int32_t *y = (int32_t *)out[0];                         /* (batch..., m, n) */
    const int64_t nb = tml_q_batch_count(p->out_batch, p->batch_rank);
    int64_t ob;
    int32_t i, j;
    (void)scratch;
    for (ob = 0; ob < nb; ob++) {
        size_t ao, bo;
        tml_q_batch_offsets(p, ob, &ao, &bo);
        for (i = 0; i < p->m; i++) {
            const int32_t azp = az ? tml_q_load(az, p->a_dtype, (size_t)(p->a_zn > 1 ? i : 0)) : 0;
            for (j = 0; j < p->n; j++) {
                const int32_t bzp =
                    bz ? tml_q_load(bz, p->b_dtype, (size_t)(p->b_zn > 1 ? j : 0)) : 0;
                y[((size_t)ob * p->m + i) * p->n + j] =
                    tml_q_matmul_acc(p, a, ao, azp, b, bo, bzp, i, j);
            }
        }
    }
}

tml_status tml_matmul_integer_x_check(const void *params, uint32_t params_size,
                                      const uint32_t *in_bytes, int n_in,
                                      const uint32_t *out_bytes, int n_out,
                                      uint32_t scratch_bytes)
{
    const tml_qmatmul_params *p = (const tml_qmatmul_params *)params;
    uint64_t ae, be, ye;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || !tml_q_matmul_geom_ok(p, &ae, &be, &ye) ||
        (p->has_a_zp & ~1) || (p->has_b_zp & ~1) || n_in != 2 + p->has_a_zp + p->has_b_zp)
        return TML_ERR_FORMAT;
    if ((p->a_zn != 1 && p->a_zn != p->m) || (p->b_zn != 1 && p->b_zn != p->n))
        return TML_ERR_FORMAT;
    if (tml_q_bytes(ae, p->a_dtype) > in_bytes[0] || tml_q_bytes(be, p->b_dtype) > in_bytes[1] ||
        (p->has_a_zp && tml_q_bytes((uint64_t)p->a_zn, p->a_dtype) > in_bytes[2]) ||
        (p->has_b_zp &&
         tml_q_bytes((uint64_t)p->b_zn, p->b_dtype) > in_bytes[2 + p->has_a_zp]) ||
        tml_nn_mul(ye, 4) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
