/*
 * remove_dead.c - marks dead every node whose outputs cannot reach a graph output.
 *
 * How: one backward sweep. Graph outputs are needed; walking the (topologically ordered)
 * nodes from last to first, a live node with a needed output stays and makes its inputs
 * needed; a node with none dies. One sweep suffices because every reader of a tensor comes
 * after its producer. Nodes are only flagged, never removed, so indices held elsewhere stay
 * valid; tensors produced only by dead nodes are simply no longer referenced.
 *
 * Why: exporters leave side branches (an unused second output, a Shape chain whose result was
 * folded, a training-only path) that would otherwise cost code size, RAM and time on a device.
 */
#include "pass_util.h"
#include "tml/passes.h"

tml_status tml_pass_remove_dead(tml_graph *g)
{
    char *needed = tml_graph_alloc(g, (size_t)g->n_tensors + 1);
    int i, j;
    if (!needed)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    for (i = 0; i < g->n_outputs; i++)
        if (g->outputs[i] >= 0 && g->outputs[i] < g->n_tensors)
            needed[g->outputs[i]] = 1;
    for (i = g->n_nodes - 1; i >= 0; i--) {
        tml_node *n = &g->nodes[i];
        bool keep = false;
        if (n->dead)
            continue;
        for (j = 0; j < n->n_out && !keep; j++)
            keep = n->out[j] >= 0 && n->out[j] < g->n_tensors && needed[n->out[j]];
        if (!keep) {
            n->dead = true;
            continue;
        }
        for (j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && n->in[j] < g->n_tensors)
                needed[n->in[j]] = 1;
    }
    return TML_OK;
}
