/*
 * gemm_f32_packed.c - tml_gemm_f32_packed: Y = act(alpha * A B' + beta * C) in float32 with B'
 * packed at compile time into column panels (params_fast.h).
 *
 * How: for each row of A and each panel of NR columns, NR accumulators live in a local array
 * that the compiler keeps in vector registers; every step of k broadcasts one element of A
 * and adds it times one contiguous row of the panel. The inner loop therefore runs over
 * independent outputs and vectorizes without reassociation, and the panel (k x NR floats) is
 * read as one forward stream. Summation order per output is the reference's (k ascending).
 * The last panel is as wide as the columns left, so the packed B has exactly B's size.
 *
 * Why: the reference kernel is a dot product per output, a reduction a compiler may not
 * vectorize without -ffast-math; for a fully connected layer (m = 1) that is one dependent
 * add per multiply. Packing costs nothing at run time (weights are constants) nor flash.
 */
#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

#define NR TML_GEMM_PACKED_NR
#define RB TML_GEMM_PACKED_RB

void tml_gemm_f32_packed(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_gemm_packed_params *p = (const tml_gemm_packed_params *)params;
    const float *a = (const float *)in[0];                     /* (M, K) */
    const float *bp = (const float *)in[1];                    /* (panels, K, NR) */
    const float *c = p->c_rows > 0 ? (const float *)in[2] : 0; /* (1|M, 1|N) */
    float *y = (float *)out[0];                                /* (M, N) */
    const int32_t K = p->k, N = p->n;
    int32_t i, j0, kk, j;
    (void)scratch;

    for (i = 0; i < p->m; i++) {
        const float *ai = a + (size_t)i * K; /* (K) */
        float *yi = y + (size_t)i * N;       /* (N) */
        for (j0 = 0; j0 < N; j0 += NR) {
            const int32_t pw = N - j0 < NR ? N - j0 : NR; /* panel width */
            const float *panel = bp + (size_t)j0 * K;     /* (K, pw) */
            int32_t jb;
            /* RB columns at a time: all NR on SIMD hosts, fewer on scalar FPUs */
            for (jb = 0; jb < pw; jb += RB) {
                const int32_t nj = pw - jb < RB ? pw - jb : RB;
                float acc[RB];
                for (j = 0; j < RB; j++)
                    acc[j] = 0.0f;
                if (pw == NR) {
                    for (kk = 0; kk < K; kk++) {
                        const float av = ai[kk];
                        const float *row = panel + (size_t)kk * NR + jb; /* (RB) */
                        TML_FAST_UNROLL
                        for (j = 0; j < RB; j++)
                            acc[j] = TML_FAST_FMA(av, row[j], acc[j]);
                    }
                } else { /* the narrow last panel */
                    for (kk = 0; kk < K; kk++) {
                        const float av = ai[kk];
                        const float *row = panel + (size_t)kk * pw + jb; /* (nj) */
                        for (j = 0; j < nj; j++)
                            acc[j] = TML_FAST_FMA(av, row[j], acc[j]);
                    }
                }
                for (j = 0; j < nj; j++) {
                    const int32_t col = j0 + jb + j;
                    float v = p->alpha * acc[j];
                    if (c) {
                        size_t ci = (p->c_rows == 1 ? 0 : (size_t)i) * (size_t)p->c_cols +
                                    (p->c_cols == 1 ? 0 : (size_t)col);
                        v += p->beta * c[ci];
                    }
                    yi[col] = tml_act_f32(p->act, p->act_a, p->act_b, v);
                }
            }
        }
    }
}

tml_status tml_gemm_f32_packed_check(const void *params, uint32_t params_size,
                                     const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                     int n_out, uint32_t scratch_bytes)
{
    const tml_gemm_packed_params *p = (const tml_gemm_packed_params *)params;
    uint64_t packed;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_out != 1 || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (p->nr != NR)
        return TML_ERR_UNSUPPORTED;
    if (!tml_nn_in_range(p->m, 1) || !tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->k, 1))
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
    packed = tml_gemm_packed_floats(p->k, p->n);
    if (packed == 0 || packed * 4 > in_bytes[1])
        return TML_ERR_FORMAT;
    if (tml_nn_f32_bytes(tml_nn_mul((uint64_t)p->m, (uint64_t)p->k)) > in_bytes[0] ||
        tml_nn_f32_bytes(tml_nn_mul((uint64_t)p->m, (uint64_t)p->n)) > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
