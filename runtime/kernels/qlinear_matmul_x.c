/*
 * qlinear_matmul_x.c - tml_qlinear_matmul_x: ONNX QLinearMatMul on int8/uint8 operands,
 * y = saturate(rint(acc * (a_scale * b_scale / y_scale)) + y_zp), acc the int32 dot product of
 * the zero-point-shifted operands.
 *
 * The multiplier is formed in float32 and applied in double, then rounded ties-to-even: exactly
 * the ONNX reference (numpy) arithmetic, so results match it bit for bit. Scales and zero
 * points of a may be per row, of b per column.
 */
#include "tml/kernels.h"
#include "tml/quant_util.h"

void tml_qlinear_matmul_x(const void *params, const void *const *in, void *const *out,
                          void *scratch)
{
    const tml_qmatmul_params *p = (const tml_qmatmul_params *)params;
    const void *a = in[0], *az = in[2], *b = in[3], *bz = in[5], *yz = in[7];
    const float *as = (const float *)in[1], *bs = (const float *)in[4];
    const float ys = ((const float *)in[6])[0];
    void *y = out[0];                                       /* (batch..., m, n) */
    const int64_t nb = tml_q_batch_count(p->out_batch, p->batch_rank);
    const int32_t yzp = tml_q_load(yz, p->y_dtype, 0);
    int64_t ob;
    int32_t i, j;
    (void)scratch;
    for (ob = 0; ob < nb; ob++) {
        size_t ao, bo;
        tml_q_batch_offsets(p, ob, &ao, &bo);
        for (i = 0; i < p->m; i++) {
            const int32_t ai = p->a_sn > 1 ? i : 0, azi = p->a_zn > 1 ? i : 0;
            const int32_t azp = tml_q_load(az, p->a_dtype, (size_t)azi);
            for (j = 0; j < p->n; j++) {
                const int32_t bj = p->b_sn > 1 ? j : 0, bzj = p->b_zn > 1 ? j : 0;
                const float mult = as[ai] * bs[bj] / ys;
                const int32_t acc = tml_q_matmul_acc(p, a, ao, azp, b, bo,
                                                     tml_q_load(bz, p->b_dtype, (size_t)bzj), i, j);
                tml_q_store(y, p->y_dtype, ((size_t)ob * p->m + i) * p->n + j,
                            tml_q_rint((double)acc * (double)mult) + yzp);
            }
        }
    }
}

tml_status tml_qlinear_matmul_x_check(const void *params, uint32_t params_size,
                                      const uint32_t *in_bytes, int n_in,
                                      const uint32_t *out_bytes, int n_out,
                                      uint32_t scratch_bytes)
{
    const tml_qmatmul_params *p = (const tml_qmatmul_params *)params;
    uint64_t ae, be, ye;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 8 || n_out != 1 ||
        !tml_q_matmul_geom_ok(p, &ae, &be, &ye))
        return TML_ERR_FORMAT;
    if ((p->a_sn != 1 && p->a_sn != p->m) || (p->a_zn != 1 && p->a_zn != p->m) ||
        (p->b_sn != 1 && p->b_sn != p->n) || (p->b_zn != 1 && p->b_zn != p->n))
        return TML_ERR_FORMAT;
    if (tml_q_bytes(ae, p->a_dtype) > in_bytes[0] || 4u * (uint32_t)p->a_sn > in_bytes[1] ||
        tml_q_bytes((uint64_t)p->a_zn, p->a_dtype) > in_bytes[2] ||
        tml_q_bytes(be, p->b_dtype) > in_bytes[3] || 4u * (uint32_t)p->b_sn > in_bytes[4] ||
        tml_q_bytes((uint64_t)p->b_zn, p->b_dtype) > in_bytes[5] || in_bytes[6] < 4 ||
        tml_q_bytes(1, p->y_dtype) > in_bytes[7] || tml_q_bytes(ye, p->y_dtype) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
