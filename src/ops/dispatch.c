/*
 * dispatch.c - calls an op's shape and lowering hooks through tables built from ops.def.
 */
#include "ops/ops.h"
#include "ops/quant_route.h"

typedef tml_status (*shape_fn)(tml_graph *g, int node);
typedef tml_status (*lower_fn)(tml_graph *g, int node, tml_step_desc *step);

static const shape_fn shape_table[TML_OP_COUNT] = {
#define TML_OP(e, fn, onnx, mini, maxi, mino, maxo, fam) tml_shape_##fn,
#include "tml/ops.def"
#undef TML_OP
};

static const lower_fn lower_table[TML_OP_COUNT] = {
#define TML_OP(e, fn, onnx, mini, maxi, mino, maxo, fam) tml_lower_##fn,
#include "tml/ops.def"
#undef TML_OP
};

void tml_step_desc_init(tml_step_desc *s)
{
    int i;
    s->kernel = TML_K_NONE;
    s->params = 0;
    s->params_size = 0;
    s->scratch_bytes = 0;
    s->n_in = 0;
    s->n_out = 0;
    for (i = 0; i < TML_STEP_MAX_IO; i++)
        s->in[i] = s->out[i] = -1;
    s->alias_of = -1;
    s->inplace_of = -1;
}

tml_status tml_op_shape(tml_graph *g, int node)
{
    tml_op op = g->nodes[node].op;
    if ((int)op < 0 || op >= TML_OP_COUNT)
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "invalid op %d", (int)op);
    if (tml_quant_routes(g, node)) /* int8 nodes of float families: src/ops/quant_route.c */
        return tml_quant_shape(g, node);
    return shape_table[op](g, node);
}

tml_status tml_op_lower(tml_graph *g, int node, tml_step_desc *step)
{
    tml_op op = g->nodes[node].op;
    tml_step_desc_init(step);
    if ((int)op < 0 || op >= TML_OP_COUNT)
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "invalid op %d", (int)op);
    if (tml_quant_routes(g, node))
        return tml_quant_lower(g, node, step);
    return lower_table[op](g, node, step);
}
