/*
 * select_fast.c - picks the fast float32 kernels (kernels_fast.def) in place of the nn
 * reference kernels, one lowered step at a time.
 *
 * How: the planner lowers a node with tml_op_lower (reference kernel, nn params) and then
 * calls tml_select_fast_kernel, which checks the variant's conditions and rewrites the step:
 *   CONV_F32   -> CONV_F32_TILED   1-D/2-D convolutions (any group, stride, pad, dilation,
 *                                  bias, act); scratch = the padded copy of X.
 *   GEMM_F32   -> GEMM_F32_PACKED  A not transposed and B constant: B' is packed here into
 *                                  column panels, a new constant tensor '<B>.packed...' of
 *                                  B's size (k, n).
 *   MATMUL_F32 -> GEMM_F32_PACKED  B constant without broadcast batch dims, A's batch dims
 *                                  equal Y's (they fold into the rows of A).
 *   MAXPOOL_F32 -> MAXPOOL_F32_VALID  1-D/2-D, no Indices, every window inside X (no pads).
 * Anything else keeps its reference kernel; so does every step when memory runs out, since
 * the reference is always correct. `tmlaas compile --reference-kernels` (plan option
 * reference_kernels) skips this file entirely.
 *
 * Why at lowering time: packing needs the constant's values, which only the compiler has; the
 * device then reads weights in the order the kernel consumes them at zero run-time cost.
 */
#include <stdio.h>
#include <string.h>

#include "ops/select_fast.h"
#include "tml/nn_check.h"

/* Constant float32 tensor index t with data, not a graph input; else false. */
static bool const_f32(const tml_graph *g, int t)
{
    int i;
    if (t < 0 || t >= g->n_tensors || !g->tensors[t].data || g->tensors[t].dtype != TML_DT_F32)
        return false;
    for (i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] == t)
            return false;
    return true;
}

/*
 * Returns a constant tensor holding B' = op(B) (k, n) in panels of NR columns (the last one
 * narrower; params_fast.h), where element (kk, j) of B' is b[kk * sk + j * sj]. Reuses an
 * earlier packing of the same B. -1 if out of memory or no free name.
 */
static int pack_b(tml_graph *g, int bt, int32_t k, int32_t n, size_t sk, size_t sj)
{
    const uint64_t floats = tml_gemm_packed_floats(k, n);
    char name[256];
    const float *b;
    float *d;
    int t = -1, attempt;
    int64_t dims[2];
    int32_t j0, kk, j;

    if (floats == 0)
        return -1;
    dims[0] = k;
    dims[1] = n;
    d = (float *)tml_graph_alloc(g, (size_t)floats * sizeof(float));
    if (!d)
        return -1;
    b = (const float *)g->tensors[bt].data;
    for (j0 = 0; j0 < n; j0 += TML_GEMM_PACKED_NR) {
        const int32_t pw = n - j0 < TML_GEMM_PACKED_NR ? n - j0 : TML_GEMM_PACKED_NR;
        for (kk = 0; kk < k; kk++)
            for (j = 0; j < pw; j++)
                d[(size_t)j0 * k + (size_t)kk * pw + j] =
                    b[(size_t)kk * sk + (size_t)(j0 + j) * sj];
    }
    for (attempt = 0; attempt < 8; attempt++) {
        const tml_tensor *ft;
        int f;
        /* the name says which packing: B or B^T, (k, n) */
        snprintf(name, sizeof name, "%s.packed%s%d_%d%s%.0d", g->tensors[bt].name,
                 sj == 1 ? "" : "_t", (int)k, (int)n, attempt ? "_" : "", attempt);
        f = tml_graph_find_tensor(g, name);
        if (f < 0)
            break;
        /* the same bytes under this name (another node shares the weight, or the graph is
           planned again): reuse them; anything else under the name: try another name */
        ft = &g->tensors[f];
        if (ft->data && ft->dtype == TML_DT_F32 && ft->rank == 2 && ft->dims[0] == dims[0] &&
            ft->dims[1] == dims[1] && memcmp(ft->data, d, (size_t)floats * sizeof(float)) == 0)
            return f;
    }
    if (attempt == 8)
        return -1;
    t = tml_graph_add_tensor(g, name);
    if (t < 0)
        return -1;
    tml_tensor_set_shape(&g->tensors[t], TML_DT_F32, 2, dims);
    g->tensors[t].data = d;
    return t;
}

static void select_gemm(tml_graph *g, tml_step_desc *step)
{
    const tml_gemm_params *p = (const tml_gemm_params *)step->params;
    tml_gemm_packed_params *q;
    int bt = step->in[1], pt;
    if (step->params_size != sizeof(*p) || p->trans_a || !const_f32(g, bt))
        return;
    /* B' (k, n): B is (n, k) if trans_b, else (k, n) */
    pt = p->trans_b ? pack_b(g, bt, p->k, p->n, 1, (size_t)p->k)
                    : pack_b(g, bt, p->k, p->n, (size_t)p->n, 1);
    q = pt >= 0 ? (tml_gemm_packed_params *)tml_graph_alloc(g, sizeof *q) : NULL;
    if (!q)
        return;
    q->m = p->m;
    q->n = p->n;
    q->k = p->k;
    q->nr = TML_GEMM_PACKED_NR;
    q->alpha = p->alpha;
    q->beta = p->beta;
    q->c_rows = p->c_rows;
    q->c_cols = p->c_cols;
    q->act = p->act;
    q->act_a = p->act_a;
    q->act_b = p->act_b;
    step->kernel = TML_K_GEMM_F32_PACKED;
    step->params = q;
    step->params_size = sizeof *q;
    step->in[1] = pt;
}

static void select_matmul(tml_graph *g, tml_step_desc *step)
{
    const tml_matmul_params *p = (const tml_matmul_params *)step->params;
    tml_gemm_packed_params *q;
    int64_t rows = 1;
    int i, pt;
    if (step->params_size != sizeof(*p) || !const_f32(g, step->in[1]))
        return;
    for (i = 0; i < p->batch_rank; i++) {
        if (p->b_batch[i] != 1 || p->a_batch[i] != p->out_batch[i])
            return;
        rows *= p->a_batch[i];
    }
    rows *= p->m;
    if (rows < 1 || rows > TML_NN_LIM)
        return;
    pt = pack_b(g, step->in[1], p->k, p->n, (size_t)p->n, 1);
    q = pt >= 0 ? (tml_gemm_packed_params *)tml_graph_alloc(g, sizeof *q) : NULL;
    if (!q)
        return;
    q->m = (int32_t)rows;
    q->n = p->n;
    q->k = p->k;
    q->nr = TML_GEMM_PACKED_NR;
    q->alpha = 1.0f;
    q->beta = 0.0f;
    q->c_rows = q->c_cols = 0;
    q->act = p->act;
    q->act_a = p->act_a;
    q->act_b = p->act_b;
    step->kernel = TML_K_GEMM_F32_PACKED;
    step->params = q;
    step->params_size = sizeof *q;
    step->in[1] = pt;
}

static void select_conv(tml_step_desc *step)
{
    const tml_conv_params *p = (const tml_conv_params *)step->params;
    uint64_t floats;
    if (step->params_size != sizeof(*p) || p->in[0] != 1 || p->out[0] != 1 || p->kernel[0] != 1 ||
        p->pad[0] != 0)
        return;
    floats = tml_conv_tiled_scratch_floats(p, NULL, NULL);
    if (floats == 0 || step->scratch_bytes != 0)
        return;
    step->kernel = TML_K_CONV_F32_TILED;
    step->scratch_bytes = (uint32_t)(floats * 4);
}

static void select_maxpool(tml_step_desc *step)
{
    const tml_pool_params *p = (const tml_pool_params *)step->params;
    int i;
    if (step->params_size != sizeof(*p) || p->with_indices || step->n_out != 1 || p->in[0] != 1 ||
        p->out[0] != 1 || p->kernel[0] != 1)
        return;
    for (i = 0; i < 3; i++)
        if (p->pad[i] != 0 || (int64_t)(p->out[i] - 1) * p->stride[i] +
                                      (int64_t)(p->kernel[i] - 1) * p->dilation[i] + 1 >
                                  p->in[i])
            return;
    step->kernel = TML_K_MAXPOOL_F32_VALID;
}

void tml_select_fast_kernel(tml_graph *g, int node, tml_step_desc *step)
{
    (void)node;
    if (!g || !step || !step->params)
        return;
    switch (step->kernel) {
    case TML_K_CONV_F32:
        select_conv(step);
        break;
    case TML_K_GEMM_F32:
        select_gemm(g, step);
        break;
    case TML_K_MATMUL_F32:
        select_matmul(g, step);
        break;
    case TML_K_MAXPOOL_F32:
        select_maxpool(step);
        break;
    default:
        break;
    }
}
