/*
 * node_eval.h - test helper: evaluate one IR node on constant inputs through its shape hook,
 * its lowering hook and the runtime kernel it picks - the same path constant folding and the
 * plan take. Header-only so each test executable stays one file.
 *
 *   tml_graph *g = tml_graph_new();
 *   int x = tev_const(g, "x", TML_DT_F32, 2, (int64_t[]){2, 3}, xdata);
 *   int y = tml_graph_add_tensor(g, "y");
 *   int n = tml_graph_add_node(g, TML_OP_RELU, "relu", 1, &x, 1, &y);
 *   assert_int_equal(tev_eval(g, n), TML_OK);   // g->tensors[y] now has shape and data
 */
#ifndef TML_TEST_NODE_EVAL_H
#define TML_TEST_NODE_EVAL_H

#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "tml/ir.h"
#include "tml/kernels.h"

/* Adds a constant tensor with a copy of data. */
static inline int tev_const(tml_graph *g, const char *name, tml_dtype dt, int rank,
                            const int64_t *dims, const void *data)
{
    int t = tml_graph_add_tensor(g, name);
    int64_t nb;
    if (t < 0)
        return -1;
    tml_tensor_set_shape(&g->tensors[t], dt, rank, dims);
    nb = tml_tensor_nbytes(&g->tensors[t]);
    g->tensors[t].data = tml_graph_memdup(g, data, (size_t)(nb > 0 ? nb : 1));
    return t;
}

/* Runs shape + lower + kernel for node n; outputs become constants. */
static inline tml_status tev_eval(tml_graph *g, int n)
{
    tml_step_desc s;
    const void *in[TML_STEP_MAX_IO];
    void *out[TML_STEP_MAX_IO];
    void *scratch = NULL;
    const tml_kernel_info *ki;
    tml_status st;
    int i;
    st = tml_op_shape(g, n);
    if (st)
        return st;
    for (i = 0; i < g->nodes[n].n_out; i++) {
        tml_tensor *t = tml_node_output(g, &g->nodes[n], i);
        int64_t nb;
        if (!t)
            continue;
        nb = tml_tensor_nbytes(t);
        if (nb < 0)
            return TML_ERR_SHAPE;
        t->data = tml_graph_alloc(g, (size_t)(nb > 0 ? nb : 1));
    }
    st = tml_op_lower(g, n, &s);
    if (st)
        return st;
    if (s.kernel == TML_K_NONE) { /* a view: copy bytes of input alias_of */
        tml_tensor *src = &g->tensors[s.in[s.alias_of >= 0 ? s.alias_of : 0]];
        tml_tensor *dst = &g->tensors[s.out[0]];
        memcpy(dst->data, src->data, (size_t)tml_tensor_nbytes(dst));
        return TML_OK;
    }
    ki = tml_kernel_get_info(s.kernel);
    if (!ki || !ki->fn)
        return TML_ERR_UNSUPPORTED;
    for (i = 0; i < s.n_in; i++)
        in[i] = s.in[i] >= 0 ? g->tensors[s.in[i]].data : NULL;
    for (i = 0; i < s.n_out; i++)
        out[i] = s.out[i] >= 0 ? g->tensors[s.out[i]].data : NULL;
    {
        uint32_t ib[TML_STEP_MAX_IO], ob[TML_STEP_MAX_IO];
        for (i = 0; i < s.n_in; i++)
            ib[i] = s.in[i] >= 0 ? (uint32_t)tml_tensor_nbytes(&g->tensors[s.in[i]]) : 0;
        for (i = 0; i < s.n_out; i++)
            ob[i] = s.out[i] >= 0 ? (uint32_t)tml_tensor_nbytes(&g->tensors[s.out[i]]) : 0;
        st = ki->check(s.params, s.params_size, ib, s.n_in, ob, s.n_out, s.scratch_bytes);
        if (st)
            return st; /* the kernel's own check must accept what its lowering produced */
    }
    if (s.scratch_bytes)
        scratch = calloc(1, s.scratch_bytes);
    ki->fn(s.params, in, out, scratch);
    free(scratch);
    return TML_OK;
}

#endif
