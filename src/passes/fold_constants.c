/*
 * fold_constants.c - evaluates nodes whose inputs are all known at compile time and turns
 * their outputs into constant tensors.
 *
 * How: tml_fold_node() runs one node exactly the way the device would - the op's lowering
 * picks the runtime kernel and its parameters, the kernel's own _check validates them against
 * the buffer sizes, and the kernel computes the result into graph-owned memory. View steps
 * (Reshape, Flatten, ... lowered to "no kernel, alias of input k") are folded by copying the
 * input's bytes. Two ops are evaluated directly because their value is metadata, not data:
 * Shape (the input's dims, opset-15 start/end) and Constant (its attribute).
 *
 * Why the runtime kernels and not a separate host evaluator: one implementation of each op
 * means a folded constant is bit for bit what the device would have computed.
 *
 * What is not folded: outputs larger than TML_FOLD_MAX_BYTES (a constant costs flash; a big
 * broadcast is cheaper computed), and DequantizeLinear (folding int8 weights into float32
 * ones would undo quantization and quadruple their size). A node that cannot be folded (no
 * kernel for its dtype, say) stays in the graph with a note; that is not an error here.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "pass_util.h"
#include "tml/kernels.h"
#include "tml/passes.h"

bool tml_node_is_foldable(const tml_graph *g, int node)
{
    const tml_node *n;
    int i;
    if (node < 0 || node >= g->n_nodes)
        return false;
    n = &g->nodes[node];
    if (n->dead || n->op == TML_OP_DEQUANTIZE_LINEAR)
        return false;
    if (n->op == TML_OP_SHAPE) {
        const tml_tensor *x;
        if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
            return false;
        x = &g->tensors[n->in[0]];
        return tml_tensor_numel(x) >= 0; /* rank and every dim known */
    }
    for (i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && !g->tensors[n->in[i]].data)
            return false;
    for (i = 0; i < n->n_out; i++) {
        int64_t nb;
        if (n->out[i] < 0)
            continue;
        nb = tml_tensor_nbytes(&g->tensors[n->out[i]]);
        if (nb < 0 || nb > (int64_t)TML_FOLD_MAX_BYTES)
            return false;
    }
    return true;
}

/* Marks the node dead and its outputs constants (data already set). */
static void finish(tml_graph *g, int node)
{
    tml_node *n = &g->nodes[node];
    int i;
    for (i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0)
            g->tensors[n->out[i]].producer = -1;
    n->dead = true;
}

/* Shape: int64 [end - start] holding dims[start:end] of the input (opset 15 clamping). */
static tml_status fold_shape(tml_graph *g, int node)
{
    tml_node *n = &g->nodes[node];
    const tml_tensor *x = tml_node_input(g, n, 0);
    tml_tensor *y = tml_node_output(g, n, 0);
    int64_t start, end, len, i, *v;
    if (!x || !y || tml_tensor_numel(x) < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input shape is not known");
    start = tml_node_attr_int(n, "start", 0);
    end = tml_node_attr_int(n, "end", x->rank);
    if (start < 0)
        start += x->rank;
    if (end < 0)
        end += x->rank;
    start = start < 0 ? 0 : (start > x->rank ? x->rank : start);
    end = end < 0 ? 0 : (end > x->rank ? x->rank : end);
    len = end > start ? end - start : 0;
    v = tml_graph_alloc(g, sizeof(int64_t) * (size_t)(len > 0 ? len : 1));
    if (!v)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    for (i = 0; i < len; i++)
        v[i] = x->dims[start + i];
    tml_tensor_set_shape(y, TML_DT_S64, 1, &len);
    y->data = v;
    finish(g, node);
    return TML_OK;
}

/* Constant: the value of its attribute. Returns TML_ERR_NOT_FOUND if it has none we know, so
 * the caller can try the op's own lowering. */
static tml_status fold_constant(tml_graph *g, int node)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *y = tml_node_output(g, n, 0);
    const tml_attr *a;
    int64_t cnt;
    if (!y)
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "has no output");
    if ((a = tml_node_attr(n, "value")) && a->type == TML_ATTR_TENSOR) {
        const tml_tensor *src;
        int64_t nb;
        if (a->tensor < 0 || a->tensor >= g->n_tensors || !g->tensors[a->tensor].data)
            return tml_node_errorf(g, node, TML_ERR_FORMAT, "attribute 'value' is no constant");
        src = &g->tensors[a->tensor];
        nb = tml_tensor_nbytes(src);
        if (nb < 0)
            return tml_node_errorf(g, node, TML_ERR_FORMAT, "attribute 'value' has no shape");
        tml_tensor_set_shape(y, src->dtype, src->rank, src->dims);
        y->quant = src->quant;
        y->data = tml_graph_memdup(g, src->data, (size_t)(nb > 0 ? nb : 1));
    } else if ((a = tml_node_attr(n, "value_float")) && a->type == TML_ATTR_FLOAT) {
        tml_tensor_set_shape(y, TML_DT_F32, 0, NULL);
        y->data = tml_graph_memdup(g, &a->f, sizeof(float));
    } else if ((a = tml_node_attr(n, "value_int")) && a->type == TML_ATTR_INT) {
        tml_tensor_set_shape(y, TML_DT_S64, 0, NULL);
        y->data = tml_graph_memdup(g, &a->i, sizeof(int64_t));
    } else if ((a = tml_node_attr(n, "value_floats")) && a->type == TML_ATTR_FLOATS) {
        cnt = a->n;
        tml_tensor_set_shape(y, TML_DT_F32, 1, &cnt);
        y->data = tml_graph_alloc(g, sizeof(float) * (size_t)(cnt > 0 ? cnt : 1));
        if (y->data && cnt)
            memcpy(y->data, a->floats, sizeof(float) * (size_t)cnt);
    } else if ((a = tml_node_attr(n, "value_ints")) && a->type == TML_ATTR_INTS) {
        cnt = a->n;
        tml_tensor_set_shape(y, TML_DT_S64, 1, &cnt);
        y->data = tml_graph_alloc(g, sizeof(int64_t) * (size_t)(cnt > 0 ? cnt : 1));
        if (y->data && cnt)
            memcpy(y->data, a->ints, sizeof(int64_t) * (size_t)cnt);
    } else {
        return TML_ERR_NOT_FOUND;
    }
    if (!y->data)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    finish(g, node);
    return TML_OK;
}

/* Byte size of tensor t as the kernel check wants it; 0 for an absent tensor. */
static tml_status byte_size(tml_graph *g, int node, int t, uint32_t *out)
{
    int64_t nb;
    *out = 0;
    if (t < 0)
        return TML_OK;
    if (t >= g->n_tensors)
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "lowering refers to no tensor");
    nb = tml_tensor_nbytes(&g->tensors[t]);
    if (nb < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "tensor '%s' has no known shape",
                               g->tensors[t].name);
    if (nb > (int64_t)UINT32_MAX)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "tensor '%s' is too large to fold",
                               g->tensors[t].name);
    *out = (uint32_t)nb;
    return TML_OK;
}

tml_status tml_fold_node(tml_graph *g, int node)
{
    tml_node *n;
    tml_step_desc s;
    const tml_kernel_info *ki;
    const void *in[TML_STEP_MAX_IO];
    void *out[TML_STEP_MAX_IO];
    void *buf[TML_STEP_MAX_IO]; /* (n_out) new data of the node's outputs */
    uint32_t ib[TML_STEP_MAX_IO], ob[TML_STEP_MAX_IO];
    void *scratch = NULL;
    tml_status st;
    int i, j;

    if (node < 0 || node >= g->n_nodes)
        return tml_graph_errorf(g, TML_ERR_ARG, "fold: node %d out of range", node);
    n = &g->nodes[node];
    if (n->dead)
        return TML_OK;
    if (n->op == TML_OP_SHAPE)
        return fold_shape(g, node);
    if (n->op == TML_OP_CONSTANT) {
        st = fold_constant(g, node);
        if (st != TML_ERR_NOT_FOUND)
            return st;
    }
    if (n->n_out > TML_STEP_MAX_IO)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "too many outputs to fold");
    for (i = 0; i < n->n_in; i++)
        if (n->in[i] >= 0 && !g->tensors[n->in[i]].data)
            return tml_node_errorf(g, node, TML_ERR_STATE, "input '%s' is not constant",
                                   g->tensors[n->in[i]].name);

    /* New buffers for the outputs; attached to the tensors only once the kernel has run, so
     * a failed fold leaves no half-constant tensor behind. */
    for (i = 0; i < n->n_out; i++) {
        uint32_t nb;
        buf[i] = NULL;
        if (n->out[i] < 0)
            continue;
        st = byte_size(g, node, n->out[i], &nb);
        if (st)
            return st;
        if (nb > TML_FOLD_MAX_BYTES)
            return tml_node_errorf(g, node, TML_ERR_FIT,
                                   "output '%s' (%u bytes) is too large to fold",
                                   g->tensors[n->out[i]].name, (unsigned)nb);
        buf[i] = tml_graph_alloc(g, nb ? nb : 1);
        if (!buf[i])
            return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    }

    st = tml_op_lower(g, node, &s);
    if (st)
        return st;
    if (s.n_in < 0 || s.n_in > TML_STEP_MAX_IO || s.n_out < 0 || s.n_out > TML_STEP_MAX_IO)
        return tml_node_errorf(g, node, TML_ERR_FORMAT, "lowering has bad arity");

    /* Map the step's tensors to buffers: inputs are constants, outputs the new buffers. */
    for (i = 0; i < s.n_in; i++) {
        st = byte_size(g, node, s.in[i], &ib[i]);
        if (st)
            return st;
        in[i] = NULL;
        if (s.in[i] >= 0) {
            in[i] = g->tensors[s.in[i]].data;
            if (!in[i])
                return tml_node_errorf(g, node, TML_ERR_STATE, "kernel input '%s' is not constant",
                                       g->tensors[s.in[i]].name);
        }
    }
    for (i = 0; i < s.n_out; i++) {
        st = byte_size(g, node, s.out[i], &ob[i]);
        if (st)
            return st;
        out[i] = NULL;
        for (j = 0; j < n->n_out && s.out[i] >= 0; j++)
            if (n->out[j] == s.out[i])
                out[i] = buf[j];
        if (s.out[i] >= 0 && !out[i])
            return tml_node_errorf(g, node, TML_ERR_FORMAT,
                                   "lowering writes tensor '%s' that is not a node output",
                                   g->tensors[s.out[i]].name);
    }

    /* Every output of the node must be written by the step, or it would fold to zeros. */
    for (j = 0; j < n->n_out; j++) {
        bool written = n->out[j] < 0;
        for (i = 0; i < s.n_out && !written; i++)
            written = s.out[i] == n->out[j] && (s.kernel != TML_K_NONE || i == 0);
        if (!written)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "output '%s' is not computed by the lowering",
                                   g->tensors[n->out[j]].name);
    }

    if (s.kernel == TML_K_NONE) {
        /* A view: output 0 has the bytes of input alias_of under a new shape. */
        if (s.alias_of < 0 || s.alias_of >= s.n_in || s.n_out < 1 || !in[s.alias_of] || !out[0])
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "lowering has no kernel to fold");
        if (ib[s.alias_of] != ob[0])
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "view output has %u bytes, its input %u", (unsigned)ob[0],
                                   (unsigned)ib[s.alias_of]);
        memcpy(out[0], in[s.alias_of], ob[0]);
    } else {
        ki = tml_kernel_get_info(s.kernel);
        if (!ki || !ki->fn || !ki->check)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "kernel '%s' is not in this build", ki ? ki->name : "?");
        st = ki->check(s.params, s.params_size, ib, s.n_in, ob, s.n_out, s.scratch_bytes);
        if (st)
            return tml_node_errorf(g, node, st, "kernel '%s' rejects its parameters (%s)",
                                   ki->name, tml_status_str(st));
        if (s.scratch_bytes) {
            scratch = calloc(1, s.scratch_bytes);
            if (!scratch)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory for scratch");
        }
        ki->fn(s.params, in, out, scratch);
        free(scratch);
    }

    for (i = 0; i < n->n_out; i++)
        if (n->out[i] >= 0)
            g->tensors[n->out[i]].data = buf[i];
    finish(g, node);
    return TML_OK;
}

tml_status tml_pass_try_fold(tml_graph *g, int node)
{
    tml_pass_err_save saved;
    tml_status st;
    char msg[sizeof g->err];
    int i;
    tml_pass_err_push(g, &saved);
    g->err[0] = 0; /* so that this fold's message is recorded, whatever came before */
    st = tml_fold_node(g, node);
    if (st == TML_OK) {
        tml_pass_err_pop(g, &saved);
        return TML_OK;
    }
    memcpy(msg, g->err, sizeof msg);
    tml_pass_err_pop(g, &saved);
    if (st == TML_ERR_NOMEM)
        return tml_graph_errorf(g, st, "%s", msg[0] ? msg : "out of memory");
    {
        /* once per node, however many passes try it */
        char note[sizeof g->err + 40];
        snprintf(note, sizeof note, "constant node left unfolded: %s",
                 msg[0] ? msg : tml_status_str(st));
        for (i = 0; i < g->n_notes; i++)
            if (strcmp(g->notes[i], note) == 0)
                return TML_OK;
        tml_graph_note(g, "%s", note);
    }
    return TML_OK;
}

tml_status tml_pass_fold_constants(tml_graph *g)
{
    int i;
    tml_status st;
    for (i = 0; i < g->n_nodes; i++) {
        if (!tml_node_is_foldable(g, i))
            continue;
        st = tml_pass_try_fold(g, i);
        if (st)
            return st;
    }
    return TML_OK;
}
