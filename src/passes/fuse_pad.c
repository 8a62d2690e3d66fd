/*
 * fuse_pad.c - folds an explicit zero Pad of the spatial dimensions into the Conv it feeds.
 *
 * Keras' ZeroPadding2D and "same" padding written out by converters give Pad -> Conv. On a
 * microcontroller the padded copy is the costly part: a whole activation, larger than its
 * input, alive next to it in RAM. Conv pads with zeros itself, so adding the Pad's amounts to
 * the Conv's `pads` attribute gives the same result without the copy.
 *
 * Conditions, otherwise the pair is left alone: Pad mode "constant" with value 0 (attribute
 * before opset 11, optional constant input after), no `axes` input, constant non-negative
 * pads that leave N and C alone, NCHW (not NHWC) float32 data; the padded tensor is read only
 * by the Conv, as its data input, and is not a graph output; the Conv has auto_pad NOTSET.
 */
#include <string.h>

#include "pass_util.h"
#include "tml/passes.h"

/* The Pad's begin/end amounts, (2 * rank) int64 in ONNX order, or NULL if not a zero pad. */
static const int64_t *zero_pads(tml_graph *g, const tml_node *p, int rank)
{
    const int64_t *pads = NULL;
    const char *mode = tml_node_attr_str(p, "mode", "constant");
    int n;
    if (strcmp(mode, "constant") != 0 || tml_node_attr_float(p, "value", 0.0f) != 0.0f)
        return NULL;
    if (p->n_in >= 4 && p->in[3] >= 0)
        return NULL; /* axes: rare, not handled */
    if (p->n_in >= 3 && p->in[2] >= 0) {
        const tml_tensor *v = &g->tensors[p->in[2]];
        size_t es = tml_dtype_size(v->dtype), k;
        if (!v->data || tml_tensor_numel(v) != 1 || v->dtype != TML_DT_F32)
            return NULL;
        for (k = 0; k < es; k++)
            if (((const unsigned char *)v->data)[k] != 0)
                return NULL; /* not +0.0f */
    }
    if (p->n_in >= 2 && p->in[1] >= 0) {
        const tml_tensor *t = &g->tensors[p->in[1]];
        if (!t->data || t->dtype != TML_DT_S64 || tml_tensor_numel(t) != 2 * rank)
            return NULL;
        pads = t->data;
    } else {
        n = tml_node_attr_ints(p, "pads", &pads);
        if (n != 2 * rank)
            return NULL;
    }
    return pads;
}

tml_status tml_pass_fuse_pad(tml_graph *g)
{
    int *readers = tml_pass_count_readers(g);
    int i;
    if (!readers)
        return TML_ERR_NOMEM;
    for (i = 0; i < g->n_nodes; i++) {
        tml_node *c = &g->nodes[i], *p;
        const tml_tensor *x, *pt;
        const int64_t *pads, *old = NULL;
        int64_t *np;
        int pi, pti, rank, s, k, n_old;
        tml_attr *a = NULL;
        if (c->dead || c->op != TML_OP_CONV || c->n_in < 2 || c->in[0] < 0)
            continue;
        if (strcmp(tml_node_attr_str(c, "auto_pad", "NOTSET"), "NOTSET") != 0)
            continue;
        pti = c->in[0];
        pt = &g->tensors[pti];
        pi = pt->producer;
        if (pi < 0 || pi >= g->n_nodes || pt->is_output || readers[pti] != 1 ||
            pt->dtype != TML_DT_F32 || pt->layout == TML_LAYOUT_NHWC || pt->quant)
            continue;
        p = &g->nodes[pi];
        if (p->dead || p->op != TML_OP_PAD || p->n_in < 1 || p->in[0] < 0 || p->act != TML_ACT_NONE)
            continue;
        x = &g->tensors[p->in[0]];
        rank = x->rank;
        if (rank < 3 || rank != pt->rank)
            continue;
        pads = zero_pads(g, p, rank);
        if (!pads || pads[0] || pads[1] || pads[rank] || pads[rank + 1])
            continue;
        for (k = 0; k < 2 * rank && pads[k] >= 0; k++)
            ;
        if (k < 2 * rank)
            continue; /* negative pads crop */
        s = rank - 2;
        for (k = 0; k < c->n_attrs; k++)
            if (strcmp(c->attrs[k].name, "pads") == 0)
                a = &c->attrs[k];
        n_old = a ? tml_node_attr_ints(c, "pads", &old) : 0;
        if (a && n_old != 2 * s)
            continue;
        np = tml_graph_alloc(g, sizeof(int64_t) * (size_t)(2 * s));
        if (!np)
            return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
        for (k = 0; k < s; k++) {
            np[k] = (old ? old[k] : 0) + pads[2 + k];
            np[s + k] = (old ? old[s + k] : 0) + pads[rank + 2 + k];
        }
        if (!a) {
            a = tml_node_add_attr(g, i, "pads", TML_ATTR_INTS);
            if (!a)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            c = &g->nodes[i];
        }
        a->type = TML_ATTR_INTS;
        a->n = 2 * s;
        a->ints = np;
        c->in[0] = p->in[0];
        readers[pti]--;
        p->dead = true;
        g->tensors[pti].producer = -1;
    }
    return TML_OK;
}
