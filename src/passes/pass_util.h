/*
 * pass_util.h - small helpers the graph passes share (internal to src/passes/).
 *
 * Passes rewrite a graph in place and need the same three questions answered: who reads a
 * tensor, is a tensor a float32 constant, and give me a fresh constant tensor. They are
 * static inline so each pass file stays readable on its own. Scratch arrays come from the
 * graph arena (passes never free; the arena goes with the graph).
 */
#ifndef TML_PASS_UTIL_H
#define TML_PASS_UTIL_H

#include <stdio.h>
#include <string.h>

#include "tml/ir.h"

/* Number of times each tensor appears as an input of a live node, (n_tensors) ints, or NULL
 * if out of memory (error set). A node reading a tensor twice counts twice. */
static inline int *tml_pass_count_readers(tml_graph *g)
{
    int *cnt = tml_graph_alloc(g, sizeof(int) * (size_t)(g->n_tensors + 1));
    int i, j;
    if (!cnt) {
        tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
        return NULL;
    }
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *n = &g->nodes[i];
        if (n->dead)
            continue;
        for (j = 0; j < n->n_in; j++)
            if (n->in[j] >= 0 && n->in[j] < g->n_tensors)
                cnt[n->in[j]]++;
    }
    return cnt;
}

/* Tensor t (index, may be -1) is a float32 constant with `numel` elements (-1: any). */
static inline bool tml_pass_is_f32_const(const tml_graph *g, int t, int64_t numel)
{
    const tml_tensor *x;
    if (t < 0 || t >= g->n_tensors)
        return false;
    x = &g->tensors[t];
    if (!x->data || x->dtype != TML_DT_F32 || x->quant)
        return false;
    return numel < 0 || tml_tensor_numel(x) == numel;
}

/* Adds a constant tensor named "<base><suffix>" (or with a counter if taken) with the given
 * type and shape and zeroed, graph-owned data. Returns its index or -1 (error set).
 * Note: may move g->tensors; callers must not hold tensor pointers across it. */
static inline int tml_pass_new_const(tml_graph *g, const char *base, const char *suffix,
                                     tml_dtype dt, int rank, const int64_t *dims)
{
    char name[256];
    int t, k;
    int64_t nb;
    snprintf(name, sizeof name, "%s%s", base, suffix);
    for (k = 1; tml_graph_find_tensor(g, name) >= 0 && k < 1000; k++)
        snprintf(name, sizeof name, "%s%s_%d", base, suffix, k);
    t = tml_graph_add_tensor(g, name);
    if (t < 0)
        return -1;
    tml_tensor_set_shape(&g->tensors[t], dt, rank, dims);
    nb = tml_tensor_nbytes(&g->tensors[t]);
    g->tensors[t].data = tml_graph_alloc(g, (size_t)(nb > 0 ? nb : 1));
    if (!g->tensors[t].data) {
        tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory for tensor '%s'", name);
        return -1;
    }
    return t;
}

/* Saved first-error state, so that an optional step (folding one node) can fail without
 * leaving its message behind as "the" error of the graph. */
typedef struct {
    char err[sizeof(((tml_graph *)0)->err)];
    tml_status st;
} tml_pass_err_save;

static inline void tml_pass_err_push(const tml_graph *g, tml_pass_err_save *s)
{
    memcpy(s->err, g->err, sizeof s->err);
    s->st = g->err_status;
}

static inline void tml_pass_err_pop(tml_graph *g, const tml_pass_err_save *s)
{
    memcpy(g->err, s->err, sizeof s->err);
    g->err_status = s->st;
}

/* Folds node if it can; a failure other than out-of-memory leaves the node in place with a
 * note (once) and returns TML_OK. Defined in fold_constants.c. */
tml_status tml_pass_try_fold(tml_graph *g, int node);

#endif /* TML_PASS_UTIL_H */
