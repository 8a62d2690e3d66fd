/*
 * fuse_bias.c - turns MatMul followed by Add of a constant bias into one Gemm.
 *
 * Exporters of dense layers (tf2onnx for Keras, some PyTorch paths) write Y = MatMul(A, B)
 * followed by Add(Y, bias). Gemm computes A * B + C in one kernel call: one step and one
 * intermediate buffer fewer, and the result is a Gemm that later passes understand (a
 * following BatchNormalization folds into it, a following Relu fuses into it).
 *
 * Conditions, otherwise the pair is left alone: A is rank 2 (Gemm is 2-D), B is a rank-2
 * float32 tensor, the bias is a float32 constant of shape [N] or [1, N] (N = columns of B),
 * the MatMul output is float32, read only by the Add and not a graph output, and the Add has
 * no fused activation yet. The MatMul node becomes the Gemm (same name, default attributes
 * alpha = beta = 1, no transposes), writes the Add's output, and the Add dies.
 */
#include "pass_util.h"
#include "tml/passes.h"

tml_status tml_pass_fuse_bias(tml_graph *g)
{
    int *readers = tml_pass_count_readers(g);
    int i;
    if (!readers)
        return TML_ERR_NOMEM;
    for (i = 0; i < g->n_nodes; i++) {
        tml_node *add = &g->nodes[i], *mm;
        const tml_tensor *a, *b, *c;
        int k, yi, bi, mi, *in;
        int64_t N;
        if (add->dead || add->op != TML_OP_ADD || add->n_in != 2 || add->n_out != 1 ||
            add->out[0] < 0 || add->act != TML_ACT_NONE)
            continue;
        for (k = 0; k < 2; k++) { /* bias on either side */
            yi = add->in[k];
            bi = add->in[1 - k];
            if (yi < 0 || bi < 0 || g->tensors[yi].data || !g->tensors[bi].data)
                continue;
            mi = g->tensors[yi].producer;
            if (mi < 0 || mi >= g->n_nodes)
                continue;
            mm = &g->nodes[mi];
            if (mm->dead || mm->op != TML_OP_MATMUL || mm->n_in != 2 || mm->n_out != 1 ||
                mm->out[0] != yi || mm->act != TML_ACT_NONE)
                continue;
            a = tml_node_input(g, mm, 0);
            b = tml_node_input(g, mm, 1);
            c = &g->tensors[bi];
            if (!a || !b || a->rank != 2 || b->rank != 2 || a->dtype != TML_DT_F32 ||
                b->dtype != TML_DT_F32 || a->quant || b->quant)
                continue;
            N = b->dims[1];
            if (!tml_pass_is_f32_const(g, bi, N) ||
                !(c->rank == 1 || (c->rank == 2 && c->dims[0] == 1)))
                continue;
            if (g->tensors[yi].dtype != TML_DT_F32 || g->tensors[yi].is_output ||
                readers[yi] != 1)
                continue;
            in = tml_graph_alloc(g, sizeof(int) * 3);
            if (!in)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            in[0] = mm->in[0];
            in[1] = mm->in[1];
            in[2] = bi;
            mm->op = TML_OP_GEMM;
            mm->in = in;
            mm->n_in = 3;
            mm->out[0] = add->out[0];
            g->tensors[add->out[0]].producer = mi;
            g->tensors[yi].producer = -1;
            add->dead = true;
            readers[yi]--;
            break;
        }
    }
    return TML_OK;
}
