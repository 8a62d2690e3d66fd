/*
 * infer_shapes.c - gives every tensor a static dtype and shape, folding constants on the way.
 *
 * How: first the graph inputs are made concrete - a graph input that carries data is an
 * initializer listed as input (ONNX IR < 4) and stops being an input; a dynamic (negative:
 * symbolic or missing, as importers write it) leading (batch) dimension becomes 1 with a note; any other dynamic dimension is an error that names
 * the input and the dimension, because a microcontroller plan needs every size at compile
 * time. Then live nodes are visited in (topological) order: each op's shape hook sets its
 * outputs, the result is checked to be complete, and a node that is foldable right now (all
 * inputs constant, or a Shape of a known shape) is evaluated at once.
 *
 * Why fold during inference: exporters compute shapes at run time (PyTorch's Shape -> Gather
 * -> Unsqueeze -> Concat -> Reshape). Reshape's shape hook needs that value as a constant, so
 * the chain must be evaluated before the next node's shape can be known.
 */
#include "ops/ops.h"
#include "pass_util.h"
#include "tml/passes.h"

/* Makes graph inputs concrete (see the header comment). */
static tml_status fix_inputs(tml_graph *g)
{
    int i, k, d, n = 0;
    for (i = 0; i < g->n_inputs; i++) {
        int ti = g->inputs[i];
        tml_tensor *t;
        if (ti < 0 || ti >= g->n_tensors)
            return tml_graph_errorf(g, TML_ERR_FORMAT, "graph input %d refers to no tensor", i);
        t = &g->tensors[ti];
        if (t->data) { /* an initializer with a default value: a constant, not an input */
            t->is_input = false;
            continue;
        }
        if (t->dtype == TML_DT_UNDEF || tml_dtype_size(t->dtype) == 0)
            return tml_graph_errorf(g, TML_ERR_UNSUPPORTED,
                                    "input '%s': element type '%s' is not supported", t->name,
                                    tml_dtype_name(t->dtype));
        if (t->rank < 0)
            return tml_graph_errorf(g, TML_ERR_SHAPE,
                                    "input '%s': shape is unknown; give it a fixed shape",
                                    t->name);
        for (d = 0; d < t->rank; d++) {
            if (t->dims[d] >= 0) /* 0 is a real (empty) dimension; importers write -1 */
                continue;
            if (d == 0) {
                t->dims[0] = 1;
                tml_graph_note(g, "input '%s': dynamic batch dimension fixed to 1", t->name);
                continue;
            }
            return tml_graph_errorf(g, TML_ERR_SHAPE,
                                    "input '%s': dimension %d is dynamic; give it a fixed size",
                                    t->name, d);
        }
        g->inputs[n++] = ti;
    }
    for (k = n; k < g->n_inputs; k++)
        g->inputs[k] = -1;
    g->n_inputs = n;
    return TML_OK;
}

/* A tensor's type and shape are fully known. */
static bool known(const tml_tensor *t)
{
    return t->dtype != TML_DT_UNDEF && tml_tensor_numel(t) >= 0;
}

tml_status tml_pass_infer_shapes(tml_graph *g)
{
    tml_status st;
    int i, j;
    st = fix_inputs(g);
    if (st)
        return st;
    for (i = 0; i < g->n_nodes; i++) {
        tml_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (j = 0; j < n->n_in; j++) {
            const tml_tensor *t = tml_node_input(g, n, j);
            if (t && !known(t))
                return tml_node_errorf(g, i, TML_ERR_SHAPE, "input '%s' has no known shape",
                                       t->name);
        }
        st = tml_op_shape(g, i);
        if (st) {
            if (!g->err[0])
                tml_node_errorf(g, i, st, "shape inference failed (%s)", tml_status_str(st));
            return st;
        }
        n = &g->nodes[i]; /* a hook may have added tensors or nodes */
        for (j = 0; j < n->n_out; j++) {
            const tml_tensor *t = tml_node_output(g, n, j);
            if (t && !known(t))
                return tml_node_errorf(g, i, TML_ERR_SHAPE,
                                       "output '%s' has no shape after inference", t->name);
        }
        if (tml_node_is_foldable(g, i)) {
            st = tml_pass_try_fold(g, i);
            if (st)
                return st;
        }
    }
    return TML_OK;
}
