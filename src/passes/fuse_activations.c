/*
 * fuse_activations.c - moves an element-wise activation into the op that produces its input.
 *
 * A Relu after a Conv costs a full extra pass over the activation buffer and, in the plan, a
 * second live tensor. Kernels that accept a fused activation (see runtime/include/tml/act.h)
 * apply it to each output element as they write it, so Conv -> Relu becomes one Conv with
 * act = RELU writing the Relu's output tensor, and the Relu node dies.
 *
 * Fused: Relu, Clip (constant min/max from attributes before opset 11 or constant inputs
 * after; an absent bound is -FLT_MAX / FLT_MAX), LeakyRelu (alpha, default 0.01), Sigmoid,
 * Tanh, HardSwish. Conditions: the producer accepts an activation (tml_op_accepts_act), has
 * none yet, has a single output, that output is float32, read only by the activation and not
 * a graph output. The activation's output keeps its name, so graph outputs are unaffected.
 */
#include <float.h>

#include "pass_util.h"
#include "tml/passes.h"

bool tml_op_accepts_act(tml_op op)
{
    switch (op) {
    case TML_OP_CONV:
    case TML_OP_CONV_TRANSPOSE:
    case TML_OP_GEMM:
    case TML_OP_MATMUL:
    case TML_OP_BATCHNORM:
    case TML_OP_MAXPOOL:
    case TML_OP_AVGPOOL:
    case TML_OP_GLOBAL_AVGPOOL:
    case TML_OP_ADD:
    case TML_OP_SUB:
    case TML_OP_MUL:
    case TML_OP_DIV:
        return true;
    default:
        return false;
    }
}

/* Bound of Clip from input slot `slot` or attribute `name`; false if it is not a constant. */
static bool clip_bound(tml_graph *g, const tml_node *n, int slot, const char *name, float dflt,
                       float *v)
{
    const tml_attr *a = tml_node_attr(n, name);
    *v = dflt;
    if (a && (a->type == TML_ATTR_FLOAT || a->type == TML_ATTR_INT))
        *v = tml_node_attr_float(n, name, dflt);
    if (slot < n->n_in && n->in[slot] >= 0) {
        if (!tml_pass_is_f32_const(g, n->in[slot], 1))
            return false;
        *v = *(const float *)g->tensors[n->in[slot]].data;
    }
    return true;
}

/* The fused form of activation node n: act and its parameters; false if n is not fusable. */
static bool act_of(tml_graph *g, const tml_node *n, tml_act *act, float *a, float *b)
{
    *a = *b = 0.0f;
    switch (n->op) {
    case TML_OP_RELU: *act = TML_ACT_RELU; return true;
    case TML_OP_SIGMOID: *act = TML_ACT_SIGMOID; return true;
    case TML_OP_TANH: *act = TML_ACT_TANH; return true;
    case TML_OP_HARD_SWISH: *act = TML_ACT_HARD_SWISH; return true;
    case TML_OP_LEAKY_RELU:
        *act = TML_ACT_LEAKY;
        *a = tml_node_attr_float(n, "alpha", 0.01f);
        return true;
    case TML_OP_CLIP:
        *act = TML_ACT_CLIP;
        return clip_bound(g, n, 1, "min", -FLT_MAX, a) && clip_bound(g, n, 2, "max", FLT_MAX, b);
    default: return false;
    }
}

tml_status tml_pass_fuse_activations(tml_graph *g)
{
    int *readers = tml_pass_count_readers(g);
    int i;
    if (!readers)
        return TML_ERR_NOMEM;
    for (i = 0; i < g->n_nodes; i++) {
        tml_node *n = &g->nodes[i], *p;
        tml_tensor *x, *y;
        tml_act act;
        float a, b;
        int xi, yi, pi;
        if (n->dead || n->n_in < 1 || n->n_out != 1 || n->in[0] < 0 || n->out[0] < 0)
            continue;
        if (!act_of(g, n, &act, &a, &b))
            continue;
        xi = n->in[0];
        yi = n->out[0];
        x = &g->tensors[xi];
        y = &g->tensors[yi];
        pi = x->producer;
        if (pi < 0 || pi >= g->n_nodes || pi == i)
            continue;
        p = &g->nodes[pi];
        if (p->dead || !tml_op_accepts_act(p->op) || p->act != TML_ACT_NONE)
            continue;
        if (p->out[0] != xi || (p->n_out > 1 && p->out[1] >= 0))
            continue;
        if (x->dtype != TML_DT_F32 || x->quant || x->is_output || x->is_input || readers[xi] != 1)
            continue;
        if (y->dtype != TML_DT_F32 && y->dtype != TML_DT_UNDEF)
            continue;
        p->act = act;
        p->act_a = a;
        p->act_b = b;
        p->out[0] = yi;
        y->producer = pi;
        x->producer = -1;
        n->dead = true;
        readers[xi]--;
    }
    return TML_OK;
}
