/*
 * data.c - shape and lowering hooks of the 'data' op family: ops that move, reshape or convert
 * elements without arithmetic (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout,
 * Transpose, Concat, Pad, Slice, Gather, Cast, Shape, Constant, Resize, Upsample,
 * DepthToSpace, SpaceToDepth).
 *
 * How: every shape hook reads the node's inputs, its attributes (ONNX names and defaults) and,
 * where ONNX passes parameters as inputs (Reshape's shape, Slice's starts, Pad's pads, ...),
 * the constant values of those inputs; it honours the opset in which an attribute became an
 * input. Everything is validated here with a one-line message naming the attribute or input
 * and the numbers, because this is where an imported model meets the compiler's assumptions.
 * The lowering then resolves everything into the explicit, small parameter structs of
 * runtime/include/tml/params_data.h, so kernels do plain index arithmetic.
 *
 * Why this shape: the kernels of this family are dtype-agnostic byte movers (elem_size 1, 2, 4
 * or 8), so one kernel per op covers every dtype and a device links few kernels. Ops that do
 * not move bytes at all (Reshape, Flatten, Squeeze, Unsqueeze, Identity, Dropout without mask,
 * Cast to the same type, Transpose that keeps memory order) are views: kernel TML_K_NONE with
 * alias_of = 0, and the planner shares the buffer or emits a copy. DepthToSpace/SpaceToDepth
 * are a 6-D transpose of a reshaped view, so they reuse the transpose kernel.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ops/ops.h"

/* ---- helpers ---- */

/* Fails unless input i exists and has a fully known shape and a sized dtype. */
static tml_status need_input(tml_graph *g, int node, int i, const char *what, tml_tensor **out)
{
    tml_tensor *t = tml_node_input(g, &g->nodes[node], i);
    int a;
    *out = NULL;
    if (!t)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input '%s'", what);
    if (t->rank < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input '%s' has unknown shape", what);
    if (t->rank > TML_MAX_RANK)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "input '%s' has rank %d > %d",
                               what, t->rank, TML_MAX_RANK);
    for (a = 0; a < t->rank; a++)
        if (t->dims[a] < 0 || t->dims[a] > 0x7fffffff)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "input '%s' has unknown or huge dim %d (%lld)", what, a,
                                   (long long)t->dims[a]);
    if (tml_dtype_size(t->dtype) == 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               tml_dtype_name(t->dtype));
    *out = t;
    return TML_OK;
}

/* Reads the int32/int64 constant input i into vals (at most max). *n = element count. */
static tml_status const_ints(tml_graph *g, int node, int i, const char *what, int64_t *vals,
                             int max, int *n)
{
    tml_tensor *t = tml_node_input(g, &g->nodes[node], i);
    int64_t cnt, k;
    if (!t)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input '%s'", what);
    if (!t->data)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input '%s' ('%s') must be a constant", what, t->name);
    if (t->dtype != TML_DT_S64 && t->dtype != TML_DT_S32)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input '%s' has dtype '%s', expected int64 or int32", what,
                               tml_dtype_name(t->dtype));
    cnt = tml_tensor_numel(t);
    if (cnt < 0 || cnt > max)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input '%s' has %lld values, at most %d supported", what,
                               (long long)cnt, max);
    for (k = 0; k < cnt; k++) {
        if (t->dtype == TML_DT_S64) {
            memcpy(&vals[k], (const char *)t->data + k * 8, 8);
        } else {
            int32_t v;
            memcpy(&v, (const char *)t->data + k * 4, 4);
            vals[k] = v;
        }
    }
    *n = (int)cnt;
    return TML_OK;
}

/* Reads an INTS attribute into vals (at most max); *n = -1 if absent. */
static tml_status attr_ints(tml_graph *g, int node, const char *name, int64_t *vals, int max,
                            int *n)
{
    const int64_t *v;
    int cnt = tml_node_attr_ints(&g->nodes[node], name, &v), k;
    *n = -1;
    if (cnt < 0)
        return TML_OK;
    if (cnt > max)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "attribute '%s' has %d values, at most %d supported", name, cnt,
                               max);
    for (k = 0; k < cnt; k++)
        vals[k] = v[k];
    *n = cnt;
    return TML_OK;
}

/* Normalises axis into [0, rank) (negative counts from the end). */
static tml_status norm_axis(tml_graph *g, int node, const char *what, int64_t axis, int rank,
                            int *out)
{
    *out = 0;
    if (axis < -(int64_t)rank || axis >= rank)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "%s %lld out of range [%d, %d)", what,
                               (long long)axis, -rank, rank);
    *out = (int)(axis < 0 ? axis + rank : axis);
    return TML_OK;
}

static int out_tensor(tml_graph *g, int node, int i)
{
    const tml_node *n = &g->nodes[node];
    return i < n->n_out ? n->out[i] : -1;
}

/* Sets output i's shape (if the output is present; -1 = unknown dim). Refuses shapes of
 * more than 2^31 - 1 elements: kernels count elements and bytes in 32 bits, and no MCU
 * holds more. */
static tml_status set_out(tml_graph *g, int node, int i, tml_dtype dt, int rank,
                          const int64_t *dims)
{
    int t = out_tensor(g, node, i), a;
    int64_t n = 1;
    for (a = 0; a < rank; a++) {
        if (dims[a] < -1 || dims[a] > 0x7fffffff)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "output %d dim %d = %lld is invalid",
                                   i, a, (long long)dims[a]);
        if (dims[a] == -1) /* unknown (views pass dynamic dims through) */
            continue;
        if (n != 0 && dims[a] > 0x7fffffff / n) {
            n = -1;
            break;
        }
        n *= dims[a];
    }
    if (n < 0) {
        for (a = 0; a < rank; a++) /* a zero dim anywhere still makes it empty */
            if (dims[a] == 0)
                n = 0;
        if (n < 0)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "output %d has more than 2^31 elements", i);
    }
    if (t >= 0) {
        const tml_node *nd = &g->nodes[node];
        const tml_tensor *x = tml_node_input(g, nd, 0);
        tml_op op = nd->op;
        tml_tensor_set_shape(&g->tensors[t], dt, rank, dims);
        /* ops that keep the meaning of every axis keep an NHWC layout mark */
        if (x && x->rank == rank &&
            (op == TML_OP_IDENTITY || op == TML_OP_DROPOUT || op == TML_OP_PAD ||
             op == TML_OP_SLICE || op == TML_OP_CAST || op == TML_OP_RESIZE ||
             op == TML_OP_UPSAMPLE || op == TML_OP_CONCAT || op == TML_OP_DEPTH_TO_SPACE ||
             op == TML_OP_SPACE_TO_DEPTH))
            g->tensors[t].layout = x->layout;
    }
    return TML_OK;
}

/* A view: output 0 is input 0's bytes under a new shape. */
static tml_status lower_view(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    step->kernel = TML_K_NONE;
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    step->alias_of = 0;
    return TML_OK;
}

static void *alloc_params(tml_graph *g, int node, size_t size)
{
    void *p = tml_graph_alloc(g, size);
    if (!p)
        tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory for kernel parameters");
    return p;
}

static void set_step(tml_step_desc *step, tml_kernel_id k, const void *params, uint32_t size)
{
    step->kernel = k;
    step->params = params;
    step->params_size = size;
}

/* Fills a transpose params struct; returns 1 if the permutation keeps memory order (only
 * size-1 axes move), so the transpose can be a view. */
static int fill_transpose(tml_transpose_params *p, uint32_t es, int rank, const int64_t *dims,
                          const int *perm)
{
    int i, last = -1, view = 1;
    memset(p, 0, sizeof *p);
    p->elem_size = es;
    p->rank = (uint32_t)rank;
    for (i = 0; i < rank; i++) {
        p->in_dims[i] = (uint32_t)dims[i];
        p->perm[i] = (uint32_t)perm[i];
        if (dims[perm[i]] != 1) {
            if (perm[i] < last)
                view = 0;
            last = perm[i];
        }
    }
    return view;
}

/* ---- Reshape ---- */

tml_status tml_shape_reshape(tml_graph *g, int node)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x;
    int64_t shape[TML_MAX_RANK], dims[TML_MAX_RANK], known = 1, total;
    int cnt, i, infer = -1;
    int allowzero = (int)tml_node_attr_int(n, "allowzero", 0);
    tml_status st = need_input(g, node, 0, "data", &x);
    if (st)
        return st;
    if (g->opset > 0 && g->opset < 5) {
        st = attr_ints(g, node, "shape", shape, TML_MAX_RANK, &cnt);
        if (!st && cnt < 0)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing attribute 'shape'");
    } else {
        st = const_ints(g, node, 1, "shape", shape, TML_MAX_RANK, &cnt);
    }
    if (st)
        return st;
    total = tml_tensor_numel(x);
    for (i = 0; i < cnt; i++) {
        int64_t d = shape[i];
        if (d == -1) {
            if (infer >= 0)
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "input 'shape' has more than one -1");
            infer = i;
            continue;
        }
        if (d < -1 || d > 0x7fffffff)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'shape' has invalid dim %lld",
                                   (long long)d);
        if (d == 0 && !allowzero) {
            if (i >= x->rank)
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "input 'shape'[%d] = 0 copies a dim the input (rank %d) "
                                       "does not have", i, x->rank);
            d = x->dims[i];
        }
        dims[i] = d;
        known *= d;
        if (known > 0x7fffffff)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'shape' is too large");
    }
    if (infer >= 0) {
        if (known == 0 || total % known != 0)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "cannot infer dim %d: %lld elements do not divide by %lld",
                                   infer, (long long)total, (long long)known);
        dims[infer] = total / known;
        known = total;
    }
    if (known != total)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "input 'shape' gives %lld elements, input 'data' has %lld",
                               (long long)known, (long long)total);
    return set_out(g, node, 0, x->dtype, cnt, dims);
}

tml_status tml_lower_reshape(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_view(g, node, step);
}

/* ---- Flatten ---- */

tml_status tml_shape_flatten(tml_graph *g, int node)
{
    tml_tensor *x;
    int64_t dims[2] = {1, 1};
    int64_t axis = tml_node_attr_int(&g->nodes[node], "axis", 1);
    int a, i;
    tml_status st = need_input(g, node, 0, "input", &x);
    if (st)
        return st;
    if (axis < -(int64_t)x->rank || axis > x->rank)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "attribute 'axis' %lld out of range "
                               "[%d, %d]", (long long)axis, -x->rank, x->rank);
    a = (int)(axis < 0 ? axis + x->rank : axis);
    for (i = 0; i < x->rank; i++)
        dims[i < a ? 0 : 1] *= x->dims[i];
    return set_out(g, node, 0, x->dtype, 2, dims);
}

tml_status tml_lower_flatten(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_view(g, node, step);
}

/* ---- Squeeze / Unsqueeze ---- */

/* Axes of Squeeze/Unsqueeze: attribute before opset 13, optional input 1 from 13. */
static tml_status squeeze_axes(tml_graph *g, int node, int64_t *axes, int *n)
{
    if (g->opset > 0 && g->opset < 13)
        return attr_ints(g, node, "axes", axes, TML_MAX_RANK, n);
    if (!tml_node_input(g, &g->nodes[node], 1)) {
        *n = -1;
        return TML_OK;
    }
    return const_ints(g, node, 1, "axes", axes, TML_MAX_RANK, n);
}

tml_status tml_shape_squeeze(tml_graph *g, int node)
{
    tml_tensor *x;
    int64_t axes[TML_MAX_RANK], dims[TML_MAX_RANK];
    int drop[TML_MAX_RANK] = {0};
    int n, i, r = 0;
    tml_status st = need_input(g, node, 0, "data", &x);
    if (!st)
        st = squeeze_axes(g, node, axes, &n);
    if (st)
        return st;
    if (n <= 0) { /* no axes (or an empty list): every size-1 axis */
        for (i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        for (i = 0; i < n; i++) {
            int a;
            st = norm_axis(g, node, "axis", axes[i], x->rank, &a);
            if (st)
                return st;
            if (drop[a])
                return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %d given twice", a);
            if (x->dims[a] != 1)
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "cannot squeeze axis %d of size %lld", a,
                                       (long long)x->dims[a]);
            drop[a] = 1;
        }
    }
    for (i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[r++] = x->dims[i];
    return set_out(g, node, 0, x->dtype, r, dims);
}

tml_status tml_lower_squeeze(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_view(g, node, step);
}

tml_status tml_shape_unsqueeze(tml_graph *g, int node)
{
    tml_tensor *x;
    int64_t axes[TML_MAX_RANK], dims[TML_MAX_RANK];
    int ins[TML_MAX_RANK] = {0};
    int n, i, r, k = 0;
    tml_status st = need_input(g, node, 0, "data", &x);
    if (!st)
        st = squeeze_axes(g, node, axes, &n);
    if (st)
        return st;
    if (n < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing 'axes'");
    r = x->rank + n;
    if (r > TML_MAX_RANK)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output rank %d > %d", r,
                               TML_MAX_RANK);
    for (i = 0; i < n; i++) {
        int a;
        st = norm_axis(g, node, "axis", axes[i], r, &a);
        if (st)
            return st;
        if (ins[a])
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %d given twice", a);
        ins[a] = 1;
    }
    for (i = 0; i < r; i++)
        dims[i] = ins[i] ? 1 : x->dims[k++];
    return set_out(g, node, 0, x->dtype, r, dims);
}

tml_status tml_lower_unsqueeze(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_view(g, node, step);
}

/* ---- Identity / Dropout ---- */

tml_status tml_shape_identity(tml_graph *g, int node)
{
    tml_tensor *x = tml_node_input(g, &g->nodes[node], 0);
    if (!x)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input 'input'");
    return set_out(g, node, 0, x->dtype, x->rank, x->dims);
}

tml_status tml_lower_identity(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_view(g, node, step);
}

tml_status tml_shape_dropout(tml_graph *g, int node)
{
    tml_node *n = &g->nodes[node];
    tml_tensor *x, *tm = tml_node_input(g, n, 2);
    tml_status st = need_input(g, node, 0, "data", &x);
    if (st)
        return st;
    if (tm) { /* training_mode (opset 12+): only a constant false is inference */
        if (!tm->data || tml_tensor_numel(tm) != 1 || tml_dtype_size(tm->dtype) != 1)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "input 'training_mode' must be a constant bool");
        if (*(const uint8_t *)tm->data) {
            /* training with ratio 0 keeps everything: still the identity */
            tml_tensor *r = tml_node_input(g, n, 1);
            float ratio = 0.5f;
            if (r && r->data && r->dtype == TML_DT_F32 && tml_tensor_numel(r) == 1)
                memcpy(&ratio, r->data, 4);
            else if (r && r->data && r->dtype == TML_DT_F64 && tml_tensor_numel(r) == 1) {
                double d;
                memcpy(&d, r->data, 8);
                ratio = (float)d;
            }
            if (ratio != 0.0f)
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                       "training_mode=true with ratio %g is not supported "
                                       "(inference only)", (double)ratio);
        }
    }
    st = set_out(g, node, 0, x->dtype, x->rank, x->dims);
    if (st)
        return st;
    /* mask: bool from opset 10, the input's type before */
    return set_out(g, node, 1, g->opset > 0 && g->opset < 10 ? x->dtype : TML_DT_BOOL,
                   x->rank, x->dims);
}

tml_status tml_lower_dropout(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0), *m = tml_node_output(g, n, 1);
    tml_dropout_params *p;
    uint8_t one[8] = {0};
    if (!m)
        return lower_view(g, node, step);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->bytes = (uint32_t)tml_tensor_nbytes(x);
    p->mask_count = (uint32_t)tml_tensor_numel(m);
    p->mask_elem_size = (uint32_t)tml_dtype_size(m->dtype);
    { /* "one" in the mask's dtype, through the cast kernel's conversion rules */
        tml_cast_params cp = {TML_DT_F32, (uint32_t)m->dtype, 1};
        float f = 1.0f;
        const void *ci[1] = {&f};
        void *co[1] = {one};
        tml_cast(&cp, ci, co, NULL);
    }
    memcpy(&p->mask_one_lo, one, 4);
    memcpy(&p->mask_one_hi, one + 4, 4);
    set_step(step, TML_K_DROPOUT_X, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 2;
    step->out[0] = n->out[0];
    step->out[1] = n->out[1];
    return TML_OK;
}

/* ---- Transpose ---- */

static tml_status transpose_perm(tml_graph *g, int node, const tml_tensor *x, int *perm)
{
    int64_t v[TML_MAX_RANK];
    int n, i, seen[TML_MAX_RANK] = {0};
    tml_status st = attr_ints(g, node, "perm", v, TML_MAX_RANK, &n);
    if (st)
        return st;
    if (n < 0) {
        for (i = 0; i < x->rank; i++)
            perm[i] = x->rank - 1 - i;
        return TML_OK;
    }
    if (n != x->rank)
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "attribute 'perm' has %d entries, input rank is %d", n, x->rank);
    for (i = 0; i < n; i++) {
        if (v[i] < 0 || v[i] >= n || seen[v[i]])
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "attribute 'perm' is not a permutation (entry %d = %lld)", i,
                                   (long long)v[i]);
        seen[v[i]] = 1;
        perm[i] = (int)v[i];
    }
    return TML_OK;
}

tml_status tml_shape_transpose(tml_graph *g, int node)
{
    tml_tensor *x;
    int perm[TML_MAX_RANK], i;
    int64_t dims[TML_MAX_RANK];
    tml_status st = need_input(g, node, 0, "data", &x);
    if (!st)
        st = transpose_perm(g, node, x, perm);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        dims[i] = x->dims[perm[i]];
    return set_out(g, node, 0, x->dtype, x->rank, dims);
}

tml_status tml_lower_transpose(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    int perm[TML_MAX_RANK];
    tml_transpose_params *p;
    tml_status st = transpose_perm(g, node, x, perm);
    if (st)
        return st;
    if (x->rank == 0)
        return lower_view(g, node, step);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    if (fill_transpose(p, (uint32_t)tml_dtype_size(x->dtype), x->rank, x->dims, perm))
        return lower_view(g, node, step);
    set_step(step, TML_K_TRANSPOSE_X, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Concat ---- */

static tml_status concat_axis(tml_graph *g, int node, const tml_tensor *x, int *axis)
{
    const tml_node *n = &g->nodes[node];
    if (!tml_node_attr(n, "axis") && !(g->opset > 0 && g->opset < 4))
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing attribute 'axis'");
    return norm_axis(g, node, "attribute 'axis'", tml_node_attr_int(n, "axis", 1), x->rank,
                     axis);
}

tml_status tml_shape_concat(tml_graph *g, int node)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x0, *x;
    int64_t dims[TML_MAX_RANK];
    int axis, i, a;
    tml_status st = need_input(g, node, 0, "inputs[0]", &x0);
    if (!st)
        st = concat_axis(g, node, x0, &axis);
    if (st)
        return st;
    memcpy(dims, x0->dims, sizeof dims);
    for (i = 1; i < n->n_in; i++) {
        char what[32];
        snprintf(what, sizeof what, "inputs[%d]", i);
        st = need_input(g, node, i, what, &x);
        if (st)
            return st;
        if (x->dtype != x0->dtype)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "input %d has dtype '%s', input 0 "
                                   "'%s'", i, tml_dtype_name(x->dtype),
                                   tml_dtype_name(x0->dtype));
        if (x->rank != x0->rank)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "input %d has rank %d, input 0 %d",
                                   i, x->rank, x0->rank);
        for (a = 0; a < x->rank; a++) {
            if (a == axis)
                continue;
            if (x->dims[a] != x0->dims[a])
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "input %d has dim %d = %lld, input 0 has %lld", i, a,
                                       (long long)x->dims[a], (long long)x0->dims[a]);
        }
        dims[axis] += x->dims[axis];
        if (dims[axis] > 0x7fffffff)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "concatenated axis %d is too large",
                                   axis);
    }
    return set_out(g, node, 0, x0->dtype, x0->rank, dims);
}

tml_status tml_lower_concat(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x0 = tml_node_input(g, n, 0);
    tml_concat_params *p;
    int axis, i, a;
    tml_status st = concat_axis(g, node, x0, &axis);
    if (st)
        return st;
    if (n->n_in == 1)
        return lower_view(g, node, step);
    if (n->n_in > TML_CONCAT_MAX_IN)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "%d inputs, at most %d supported",
                               n->n_in, TML_CONCAT_MAX_IN);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->elem_size = (uint32_t)tml_dtype_size(x0->dtype);
    p->n_in = (uint32_t)n->n_in;
    p->outer = p->inner = 1;
    for (a = 0; a < x0->rank; a++) {
        if (a < axis)
            p->outer *= (uint32_t)x0->dims[a];
        else if (a > axis)
            p->inner *= (uint32_t)x0->dims[a];
    }
    for (i = 0; i < n->n_in; i++) {
        p->axis_len[i] = (uint32_t)g->tensors[n->in[i]].dims[axis];
        step->in[i] = n->in[i];
    }
    set_step(step, TML_K_CONCAT_X, p, sizeof *p);
    step->n_in = n->n_in;
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Pad ---- */

typedef struct {
    int mode;
    int64_t begin[TML_MAX_RANK], end[TML_MAX_RANK];
    uint8_t value[8]; /* constant value in the input's dtype */
} pad_spec;

static tml_status pad_resolve(tml_graph *g, int node, const tml_tensor *x, pad_spec *ps)
{
    const tml_node *n = &g->nodes[node];
    const char *mode = tml_node_attr_str(n, "mode", "constant");
    int64_t pads[2 * TML_MAX_RANK], axes_v[TML_MAX_RANK];
    int axes[TML_MAX_RANK], np_, na, i, r = x->rank;
    tml_status st;
    memset(ps, 0, sizeof *ps);
    if (strcmp(mode, "constant") == 0)
        ps->mode = TML_PAD_CONSTANT;
    else if (strcmp(mode, "edge") == 0)
        ps->mode = TML_PAD_EDGE;
    else if (strcmp(mode, "reflect") == 0)
        ps->mode = TML_PAD_REFLECT;
    else if (strcmp(mode, "wrap") == 0)
        ps->mode = TML_PAD_WRAP;
    else
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported attribute 'mode=%s'",
                               mode);
    if (g->opset > 0 && g->opset < 11) {
        float v = tml_node_attr_float(n, "value", 0.0f);
        st = attr_ints(g, node, g->opset < 2 ? "paddings" : "pads", pads, 2 * TML_MAX_RANK, &np_);
        if (!st && np_ < 0)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing attribute 'pads'");
        if (!st) { /* the float attribute, converted to the data's dtype */
            tml_cast_params cp = {TML_DT_F32, (uint32_t)x->dtype, 1};
            const void *ci[1] = {&v};
            void *co[1] = {ps->value};
            if (tml_dtype_size(x->dtype) == 0 || x->dtype == TML_DT_UNDEF)
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                                       tml_dtype_name(x->dtype));
            tml_cast(&cp, ci, co, NULL);
        }
    } else {
        tml_tensor *cv = tml_node_input(g, n, 2);
        st = const_ints(g, node, 1, "pads", pads, 2 * TML_MAX_RANK, &np_);
        if (!st && cv) {
            if (!cv->data)
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                       "input 'constant_value' ('%s') must be a constant",
                                       cv->name);
            if (cv->dtype != x->dtype || tml_tensor_numel(cv) < 1)
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "input 'constant_value' must be one '%s' value",
                                       tml_dtype_name(x->dtype));
            memcpy(ps->value, cv->data, tml_dtype_size(x->dtype));
        }
    }
    if (st)
        return st;
    na = r;
    for (i = 0; i < r; i++)
        axes[i] = i;
    if (tml_node_input(g, n, 3)) { /* axes (opset 18) */
        int seen[TML_MAX_RANK] = {0};
        st = const_ints(g, node, 3, "axes", axes_v, TML_MAX_RANK, &na);
        if (st)
            return st;
        for (i = 0; i < na; i++) {
            st = norm_axis(g, node, "axis", axes_v[i], r, &axes[i]);
            if (st)
                return st;
            if (seen[axes[i]])
                return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %d given twice", axes[i]);
            seen[axes[i]] = 1;
        }
    }
    if (np_ != 2 * na)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "'pads' has %d values, expected %d",
                               np_, 2 * na);
    for (i = 0; i < na; i++) {
        ps->begin[axes[i]] = pads[i];
        ps->end[axes[i]] = pads[na + i];
    }
    for (i = 0; i < r; i++) {
        int64_t d = 0, kept = 0;
        int bad = ps->begin[i] > 0x7fffffff || ps->end[i] > 0x7fffffff ||
                  ps->begin[i] < -0x7fffffff || ps->end[i] < -0x7fffffff;
        if (!bad) { /* all terms within 32 bits: no overflow below */
            d = x->dims[i] + ps->begin[i] + ps->end[i];
            kept = x->dims[i] - (ps->begin[i] < 0 ? -ps->begin[i] : 0) -
                   (ps->end[i] < 0 ? -ps->end[i] : 0);
        }
        if (bad || d < 0 || d > 0x7fffffff || (kept < 0 && d > 0))
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "pads %lld, %lld on axis %d of size %lld are invalid",
                                   (long long)ps->begin[i], (long long)ps->end[i], i,
                                   (long long)x->dims[i]);
        if (ps->mode != TML_PAD_CONSTANT && kept <= 0 && d > 0)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "mode '%s' needs a non-empty axis %d to pad from", mode, i);
    }
    return TML_OK;
}

tml_status tml_shape_pad(tml_graph *g, int node)
{
    tml_tensor *x;
    pad_spec ps;
    int64_t dims[TML_MAX_RANK];
    int i;
    tml_status st = need_input(g, node, 0, "data", &x);
    if (!st)
        st = pad_resolve(g, node, x, &ps);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        dims[i] = x->dims[i] + ps.begin[i] + ps.end[i];
    return set_out(g, node, 0, x->dtype, x->rank, dims);
}

tml_status tml_lower_pad(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    tml_pad_params *p;
    pad_spec ps;
    int i, zero = 1;
    tml_status st = pad_resolve(g, node, x, &ps);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        zero &= ps.begin[i] == 0 && ps.end[i] == 0;
    if (zero || x->rank == 0)
        return lower_view(g, node, step);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->elem_size = (uint32_t)tml_dtype_size(x->dtype);
    p->rank = (uint32_t)x->rank;
    p->mode = (uint32_t)ps.mode;
    memcpy(&p->value_lo, ps.value, 4);
    memcpy(&p->value_hi, ps.value + 4, 4);
    for (i = 0; i < x->rank; i++) {
        p->in_dims[i] = (uint32_t)x->dims[i];
        p->pad_begin[i] = (int32_t)ps.begin[i];
        p->pad_end[i] = (int32_t)ps.end[i];
    }
    set_step(step, TML_K_PAD_X, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Slice ---- */

typedef struct {
    int64_t start[TML_MAX_RANK], step[TML_MAX_RANK], len[TML_MAX_RANK];
} slice_spec;

static tml_status slice_resolve(tml_graph *g, int node, const tml_tensor *x, slice_spec *ss)
{
    const tml_node *n = &g->nodes[node];
    int64_t starts[TML_MAX_RANK], ends[TML_MAX_RANK], axes_v[TML_MAX_RANK], steps[TML_MAX_RANK];
    int ns, ne, na = -1, nst = -1, i, r = x->rank, seen[TML_MAX_RANK] = {0};
    tml_status st;
    if (g->opset > 0 && g->opset < 10) {
        st = attr_ints(g, node, "starts", starts, TML_MAX_RANK, &ns);
        if (!st)
            st = attr_ints(g, node, "ends", ends, TML_MAX_RANK, &ne);
        if (!st)
            st = attr_ints(g, node, "axes", axes_v, TML_MAX_RANK, &na);
        if (!st && (ns < 0 || ne < 0))
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing attribute 'starts' or 'ends'");
    } else {
        st = const_ints(g, node, 1, "starts", starts, TML_MAX_RANK, &ns);
        if (!st)
            st = const_ints(g, node, 2, "ends", ends, TML_MAX_RANK, &ne);
        if (!st && tml_node_input(g, n, 3))
            st = const_ints(g, node, 3, "axes", axes_v, TML_MAX_RANK, &na);
        if (!st && tml_node_input(g, n, 4))
            st = const_ints(g, node, 4, "steps", steps, TML_MAX_RANK, &nst);
    }
    if (st)
        return st;
    if (ne != ns || (na >= 0 && na != ns) || (nst >= 0 && nst != ns))
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "'starts' (%d), 'ends' (%d), 'axes' (%d), 'steps' (%d) differ in "
                               "length", ns, ne, na, nst);
    if (ns > r)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "%d slice axes for rank %d", ns, r);
    for (i = 0; i < r; i++) {
        ss->start[i] = 0;
        ss->step[i] = 1;
        ss->len[i] = x->dims[i];
    }
    for (i = 0; i < ns; i++) {
        int a;
        int64_t d, s, e, k = nst >= 0 ? steps[i] : 1, len;
        if (na >= 0) {
            st = norm_axis(g, node, "axis", axes_v[i], r, &a);
            if (st)
                return st;
        } else {
            a = i;
        }
        if (seen[a])
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %d given twice", a);
        seen[a] = 1;
        if (k == 0)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "step 0 on axis %d", a);
        d = x->dims[a];
        s = starts[i];
        e = ends[i];
        if (s < 0)
            s = s < -d ? -1 - d : s; /* keep + d from overflowing */
        if (e < 0)
            e = e < -d ? -1 - d : e;
        if (s < 0)
            s += d;
        if (e < 0)
            e += d;
        if (k > d) /* a step of the axis length or more takes one element at most */
            k = d > 0 ? d : 1;
        if (k < -d)
            k = d > 0 ? -d : -1;
        if (d == 0) {
            len = 0; /* nothing to slice (the negative-step clamps below assume d >= 1) */
        } else if (k > 0) {
            s = s < 0 ? 0 : (s > d ? d : s);
            e = e < 0 ? 0 : (e > d ? d : e);
            len = e > s ? (e - s - 1) / k + 1 : 0;
        } else {
            s = s < 0 ? 0 : (s > d - 1 ? d - 1 : s);
            e = e < -1 ? -1 : (e > d - 1 ? d - 1 : e);
            len = s > e ? (s - e - 1) / -k + 1 : 0;
        }
        if (len <= 1) /* one element or none: the step never applies */
            k = k > 0 ? 1 : -1;
        if (len == 0)
            s = 0;
        ss->start[a] = s;
        ss->step[a] = k;
        ss->len[a] = len;
    }
    return TML_OK;
}

tml_status tml_shape_slice(tml_graph *g, int node)
{
    tml_tensor *x;
    slice_spec ss;
    tml_status st = need_input(g, node, 0, "data", &x);
    if (!st)
        st = slice_resolve(g, node, x, &ss);
    if (st)
        return st;
    return set_out(g, node, 0, x->dtype, x->rank, ss.len);
}

tml_status tml_lower_slice(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    tml_slice_params *p;
    slice_spec ss;
    int i, same = 1;
    tml_status st = slice_resolve(g, node, x, &ss);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        same &= ss.len[i] == x->dims[i] && (ss.step[i] == 1 || x->dims[i] <= 1);
    if (same || x->rank == 0)
        return lower_view(g, node, step);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->elem_size = (uint32_t)tml_dtype_size(x->dtype);
    p->rank = (uint32_t)x->rank;
    for (i = 0; i < x->rank; i++) {
        p->in_dims[i] = (uint32_t)x->dims[i];
        p->out_dims[i] = (uint32_t)ss.len[i];
        p->start[i] = (int32_t)ss.start[i];
        /* |step| beyond the dim only happens with len <= 1, where it was reset to +-1 */
        p->step[i] = (int32_t)ss.step[i];
    }
    set_step(step, TML_K_SLICE_X, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Gather ---- */

tml_status tml_shape_gather(tml_graph *g, int node)
{
    tml_tensor *x, *ix;
    int64_t dims[TML_MAX_RANK];
    int axis, i, r = 0;
    tml_status st = need_input(g, node, 0, "data", &x);
    if (!st)
        st = need_input(g, node, 1, "indices", &ix);
    if (!st)
        st = norm_axis(g, node, "attribute 'axis'",
                       tml_node_attr_int(&g->nodes[node], "axis", 0), x->rank, &axis);
    if (st)
        return st;
    if (ix->dtype != TML_DT_S32 && ix->dtype != TML_DT_S64)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "input 'indices' has dtype '%s', expected int32 or int64",
                               tml_dtype_name(ix->dtype));
    if (x->rank - 1 + ix->rank > TML_MAX_RANK)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "output rank %d > %d",
                               x->rank - 1 + ix->rank, TML_MAX_RANK);
    if (ix->data) { /* constant indices: refuse out-of-range ones now */
        int64_t k, cnt = tml_tensor_numel(ix), d = x->dims[axis];
        for (k = 0; k < cnt; k++) {
            int64_t v;
            if (ix->dtype == TML_DT_S64) {
                memcpy(&v, (const char *)ix->data + k * 8, 8);
            } else {
                int32_t v32;
                memcpy(&v32, (const char *)ix->data + k * 4, 4);
                v = v32;
            }
            if (v < -d || v >= d)
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "index %lld out of range [%lld, %lld) on axis %d",
                                       (long long)v, (long long)-d, (long long)d, axis);
        }
    }
    for (i = 0; i < axis; i++)
        dims[r++] = x->dims[i];
    for (i = 0; i < ix->rank; i++)
        dims[r++] = ix->dims[i];
    for (i = axis + 1; i < x->rank; i++)
        dims[r++] = x->dims[i];
    return set_out(g, node, 0, x->dtype, r, dims);
}

tml_status tml_lower_gather(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0), *ix = tml_node_input(g, n, 1);
    tml_gather_params *p;
    int axis, i;
    tml_status st = norm_axis(g, node, "attribute 'axis'", tml_node_attr_int(n, "axis", 0),
                              x->rank, &axis);
    if (st)
        return st;
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->elem_size = (uint32_t)tml_dtype_size(x->dtype);
    p->index_size = (uint32_t)tml_dtype_size(ix->dtype);
    p->outer = p->inner = 1;
    for (i = 0; i < x->rank; i++) {
        if (i < axis)
            p->outer *= (uint32_t)x->dims[i];
        else if (i > axis)
            p->inner *= (uint32_t)x->dims[i];
    }
    p->axis_len = (uint32_t)x->dims[axis];
    p->n_index = (uint32_t)tml_tensor_numel(ix);
    set_step(step, TML_K_GATHER_X, p, sizeof *p);
    step->n_in = 2;
    step->in[0] = n->in[0];
    step->in[1] = n->in[1];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Cast ---- */

/* Name of an ONNX TensorProto.DataType number, including those tml_dtype lacks. */
static const char *onnx_dtype_name(int64_t dt)
{
    switch (dt) {
    case 14: return "complex64";
    case 15: return "complex128";
    case 16: return "bfloat16";
    case 17: return "float8e4m3fn";
    case 18: return "float8e4m3fnuz";
    case 19: return "float8e5m2";
    case 20: return "float8e5m2fnuz";
    case 21: return "uint4";
    case 22: return "int4";
    case 23: return "float4e2m1";
    default: return dt >= 0 && dt <= 13 ? tml_dtype_name((tml_dtype)dt) : "?";
    }
}

static int cast_supported(int64_t dt)
{
    return dt >= 1 && dt <= 13 && dt != TML_DT_STRING;
}

/* Cast-1 spells `to` as a string ("FLOAT"); later opsets use the number. */
static int64_t cast_to(const tml_node *n)
{
    static const char *const names[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16",
                                        "INT16", "INT32", "INT64", "STRING", "BOOL",
                                        "FLOAT16", "DOUBLE", "UINT32", "UINT64"};
    const char *s = tml_node_attr_str(n, "to", NULL);
    int i;
    if (!s)
        return tml_node_attr_int(n, "to", -1);
    for (i = 0; i < (int)(sizeof names / sizeof names[0]); i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

tml_status tml_shape_cast(tml_graph *g, int node)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    int64_t to = cast_to(n);
    if (!x)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input 'input'");
    if (to < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing or invalid attribute 'to'");
    if (!cast_supported(x->dtype))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               onnx_dtype_name(x->dtype));
    if (!cast_supported(to))
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported dtype '%s'",
                               onnx_dtype_name(to));
    return set_out(g, node, 0, (tml_dtype)to, x->rank, x->dims);
}

tml_status tml_lower_cast(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0), *y = tml_node_output(g, n, 0);
    tml_cast_params *p;
    int64_t cnt = tml_tensor_numel(x);
    if (cnt < 0 || cnt > 0xffffffffLL)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'input' has unknown shape");
    if (x->dtype == y->dtype)
        return lower_view(g, node, step);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->from = (uint32_t)x->dtype;
    p->to = (uint32_t)y->dtype;
    p->count = (uint32_t)cnt;
    set_step(step, TML_K_CAST, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Shape ---- */

/* [start, end) of the dims Shape returns (opset 15 attributes, clamped as ONNX says). */
static void shape_range(const tml_node *n, int rank, int *start, int *end)
{
    int64_t s = tml_node_attr_int(n, "start", 0), e = tml_node_attr_int(n, "end", rank);
    if (s < 0)
        s += rank;
    if (e < 0)
        e += rank;
    s = s < 0 ? 0 : (s > rank ? rank : s);
    e = e < 0 ? 0 : (e > rank ? rank : e);
    *start = (int)s;
    *end = (int)(e > s ? e : s);
}

tml_status tml_shape_shape(tml_graph *g, int node)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    int64_t len;
    int s, e;
    if (!x || x->rank < 0)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'data' has unknown rank");
    shape_range(n, x->rank, &s, &e);
    len = e - s;
    return set_out(g, node, 0, TML_DT_S64, 1, &len);
}

tml_status tml_lower_shape(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    tml_shape_params *p;
    int s, e, i;
    shape_range(n, x->rank, &s, &e);
    for (i = s; i < e; i++)
        if (x->dims[i] < 0 || x->dims[i] > 0x7fffffff)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "dim %d of input 'data' is unknown",
                                   i);
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    p->n = (uint32_t)(e - s);
    for (i = s; i < e; i++)
        p->dims[i - s] = (int32_t)x->dims[i];
    set_step(step, TML_K_SHAPE_S64, p, sizeof *p);
    step->n_in = 0;
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

/* ---- Constant ---- */

/* Turns value_float(s)/value_int(s) into a constant tensor referenced by a 'value' attribute,
 * so that shape and lowering see one form. Returns the tensor index or -1 (error set). */
static int constant_tensor(tml_graph *g, int node)
{
    const tml_node *n = &g->nodes[node];
    const tml_attr *a = tml_node_attr(n, "value");
    tml_attr *na;
    const int64_t *iv;
    const float *fv;
    int cnt, t, scalar = 0;
    int64_t dim;
    tml_dtype dt;
    const void *src;
    float f;
    int64_t i;
    if (a) {
        if (a->type != TML_ATTR_TENSOR || a->tensor < 0 || a->tensor >= g->n_tensors ||
            !g->tensors[a->tensor].data) {
            tml_node_errorf(g, node, TML_ERR_FORMAT, "attribute 'value' is not a constant tensor");
            return -1;
        }
        return a->tensor;
    }
    if ((a = tml_node_attr(n, "value_float")) != NULL) {
        f = tml_node_attr_float(n, "value_float", 0.0f);
        dt = TML_DT_F32, src = &f, cnt = 1, scalar = 1;
    } else if ((a = tml_node_attr(n, "value_int")) != NULL) {
        i = tml_node_attr_int(n, "value_int", 0);
        dt = TML_DT_S64, src = &i, cnt = 1, scalar = 1;
    } else if ((cnt = tml_node_attr_floats(n, "value_floats", &fv)) >= 0) {
        dt = TML_DT_F32, src = fv;
    } else if ((cnt = tml_node_attr_ints(n, "value_ints", &iv)) >= 0) {
        dt = TML_DT_S64, src = iv;
    } else {
        const char *what = n->n_attrs > 0 ? n->attrs[0].name : "none";
        tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "unsupported attribute '%s'", what);
        return -1;
    }
    t = tml_graph_add_tensor(g, NULL);
    if (t < 0)
        return -1;
    dim = cnt;
    tml_tensor_set_shape(&g->tensors[t], dt, scalar ? 0 : 1, &dim);
    g->tensors[t].producer = -1;
    g->tensors[t].data = tml_graph_memdup(g, src, (size_t)(cnt > 0 ? cnt : 1) * 
                                          tml_dtype_size(dt));
    na = tml_node_add_attr(g, node, "value", TML_ATTR_TENSOR);
    if (!g->tensors[t].data || !na) {
        tml_node_errorf(g, node, TML_ERR_NOMEM, "out of memory for the constant");
        return -1;
    }
    na->tensor = t;
    return t;
}

tml_status tml_shape_constant(tml_graph *g, int node)
{
    int t = constant_tensor(g, node);
    tml_tensor *c;
    if (t < 0)
        return g->err_status ? g->err_status : TML_ERR;
    c = &g->tensors[t];
    return set_out(g, node, 0, c->dtype, c->rank, c->dims);
}

tml_status tml_lower_constant(tml_graph *g, int node, tml_step_desc *step)
{
    int t = constant_tensor(g, node);
    if (t < 0)
        return g->err_status ? g->err_status : TML_ERR;
    step->kernel = TML_K_NONE;
    step->n_in = 1;
    step->in[0] = t;
    step->n_out = 1;
    step->out[0] = g->nodes[node].out[0];
    step->alias_of = 0;
    return TML_OK;
}

/* ---- Resize / Upsample ---- */

static tml_status resize_resolve(tml_graph *g, int node, const tml_tensor *x,
                                 tml_resize_params *p)
{
    const tml_node *n = &g->nodes[node];
    int r = x->rank, i, na, axes[TML_MAX_RANK], seen[TML_MAX_RANK] = {0};
    int is_upsample = n->op == TML_OP_UPSAMPLE, old = g->opset > 0 && g->opset < 11;
    const char *mode = tml_node_attr_str(n, "mode", "nearest");
    const char *ctm = tml_node_attr_str(n, "coordinate_transformation_mode", "half_pixel");
    const char *nm = tml_node_attr_str(n, "nearest_mode", "round_prefer_floor");
    const char *policy = tml_node_attr_str(n, "keep_aspect_ratio_policy", "stretch");
    float scales[TML_MAX_RANK];
    int64_t sizes[TML_MAX_RANK], axes_v[TML_MAX_RANK];
    int n_scales = -1, n_sizes = -1;
    tml_tensor *ts = NULL, *tz = NULL;
    tml_status st;

    memset(p, 0, sizeof *p);
    p->elem_size = (uint32_t)tml_dtype_size(x->dtype);
    p->rank = (uint32_t)r;
    if (r < 1)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input 'X' must have rank >= 1");
    if (strcmp(mode, "nearest") != 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "mode '%s'", mode);
    if (is_upsample || old) { /* Upsample and Resize-10: nearest is floor(x / scale) */
        p->coord_mode = TML_RESIZE_ASYMMETRIC;
        p->nearest_mode = TML_NEAREST_FLOOR;
    } else {
        if (strcmp(ctm, "half_pixel") == 0)
            p->coord_mode = TML_RESIZE_HALF_PIXEL;
        else if (strcmp(ctm, "half_pixel_symmetric") == 0)
            p->coord_mode = TML_RESIZE_HALF_PIXEL_SYMMETRIC;
        else if (strcmp(ctm, "pytorch_half_pixel") == 0)
            p->coord_mode = TML_RESIZE_PYTORCH_HALF_PIXEL;
        else if (strcmp(ctm, "align_corners") == 0)
            p->coord_mode = TML_RESIZE_ALIGN_CORNERS;
        else if (strcmp(ctm, "asymmetric") == 0)
            p->coord_mode = TML_RESIZE_ASYMMETRIC;
        else if (strcmp(ctm, "tf_half_pixel_for_nn") == 0)
            p->coord_mode = TML_RESIZE_TF_HALF_PIXEL_FOR_NN;
        else
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'coordinate_transformation_mode=%s'",
                                   ctm);
        if (strcmp(nm, "round_prefer_floor") == 0)
            p->nearest_mode = TML_NEAREST_ROUND_PREFER_FLOOR;
        else if (strcmp(nm, "round_prefer_ceil") == 0)
            p->nearest_mode = TML_NEAREST_ROUND_PREFER_CEIL;
        else if (strcmp(nm, "floor") == 0)
            p->nearest_mode = TML_NEAREST_FLOOR;
        else if (strcmp(nm, "ceil") == 0)
            p->nearest_mode = TML_NEAREST_CEIL;
        else
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'nearest_mode=%s'", nm);
        if (tml_node_attr_int(n, "antialias", 0) != 0)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "attribute 'antialias=1' with mode 'nearest'");
    }

    /* scales: attribute of Upsample-7, input 1 of Upsample-9 / Resize-10, input 2 later;
     * sizes: input 3 (Resize-11+). An empty tensor counts as absent. */
    if (is_upsample && g->opset > 0 && g->opset < 9) {
        const float *fv;
        n_scales = tml_node_attr_floats(n, "scales", &fv);
        if (n_scales < 0)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing attribute 'scales'");
        if (n_scales > TML_MAX_RANK)
            n_scales = TML_MAX_RANK + 1;
        else
            memcpy(scales, fv, (size_t)n_scales * sizeof(float));
    } else {
        ts = tml_node_input(g, n, is_upsample || old ? 1 : 2);
        tz = is_upsample || old ? NULL : tml_node_input(g, n, 3);
        if (ts && tml_tensor_numel(ts) == 0)
            ts = NULL;
        if (tz && tml_tensor_numel(tz) == 0)
            tz = NULL;
        if (ts && tz)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "only one of inputs 'scales' and 'sizes' may be given");
        if (!ts && !tz)
            return tml_node_errorf(g, node, TML_ERR_SHAPE, "missing input 'scales' or 'sizes'");
        if (ts) {
            int64_t cnt = tml_tensor_numel(ts);
            if (!ts->data)
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                       "input 'scales' ('%s') must be a constant", ts->name);
            if (ts->dtype != TML_DT_F32)
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                       "input 'scales' has dtype '%s', expected float32",
                                       tml_dtype_name(ts->dtype));
            n_scales = cnt > TML_MAX_RANK ? TML_MAX_RANK + 1 : (int)cnt;
            if (n_scales <= TML_MAX_RANK)
                memcpy(scales, ts->data, (size_t)n_scales * sizeof(float));
        } else {
            st = const_ints(g, node, 3, "sizes", sizes, TML_MAX_RANK, &n_sizes);
            if (st)
                return st;
        }
    }

    /* axes (Resize-18): scales/sizes then list only those axes */
    na = r;
    for (i = 0; i < r; i++)
        axes[i] = i;
    if (!is_upsample && tml_node_attr(n, "axes")) {
        st = attr_ints(g, node, "axes", axes_v, TML_MAX_RANK, &na);
        if (st)
            return st;
        for (i = 0; i < na; i++) {
            st = norm_axis(g, node, "axis", axes_v[i], r, &axes[i]);
            if (st)
                return st;
            if (seen[axes[i]])
                return tml_node_errorf(g, node, TML_ERR_SHAPE, "axis %d given twice", axes[i]);
            seen[axes[i]] = 1;
        }
    }
    if ((n_scales >= 0 && n_scales != na) || (n_sizes >= 0 && n_sizes != na))
        return tml_node_errorf(g, node, TML_ERR_SHAPE,
                               "'%s' has %d values, expected %d (rank or number of axes)",
                               n_scales >= 0 ? "scales" : "sizes",
                               n_scales >= 0 ? n_scales : n_sizes, na);
    for (i = 0; i < r; i++) {
        p->in_dims[i] = p->out_dims[i] = (uint32_t)x->dims[i];
        p->scale[i] = 1.0f;
        p->scale_num[i] = p->scale_den[i] = 1;
    }
    if (n_scales >= 0) {
        for (i = 0; i < na; i++) {
            int a = axes[i];
            double o = (double)scales[i] * (double)x->dims[a];
            if (!(scales[i] > 0.0f) || !(o < 2147483648.0))
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "scale %g on axis %d is invalid", (double)scales[i], a);
            p->scale[a] = scales[i];
            p->scale_num[a] = 0;
            p->out_dims[a] = (uint32_t)floor(o);
        }
    } else {
        int pick = -1, j;
        for (i = 0; i < na; i++) {
            int a = axes[i];
            if (sizes[i] < 0 || sizes[i] > 0x7fffffff || (sizes[i] > 0 && x->dims[a] == 0))
                return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                       "size %lld on axis %d (input %lld) is invalid",
                                       (long long)sizes[i], a, (long long)x->dims[a]);
            if (x->dims[a] == 0)
                continue;
            if (pick < 0) {
                pick = i;
            } else {
                double ri = (double)sizes[i] / (double)x->dims[a];
                double rp = (double)sizes[pick] / (double)x->dims[axes[pick]];
                if (strcmp(policy, "not_larger") == 0 ? ri < rp : ri > rp)
                    pick = i;
            }
        }
        if (strcmp(policy, "stretch") == 0) {
            for (i = 0; i < na; i++) {
                p->out_dims[axes[i]] = (uint32_t)sizes[i];
                p->scale_num[axes[i]] = (uint32_t)sizes[i];
                p->scale_den[axes[i]] = (uint32_t)x->dims[axes[i]];
            }
        } else if (strcmp(policy, "not_larger") == 0 || strcmp(policy, "not_smaller") == 0) {
            if (pick >= 0) {
                uint32_t num = (uint32_t)sizes[pick], den = (uint32_t)x->dims[axes[pick]];
                double s = (double)num / (double)den;
                for (i = 0; i < na; i++) {
                    j = axes[i];
                    p->out_dims[j] = (uint32_t)(int64_t)(s * (double)x->dims[j] + 0.5);
                    p->scale_num[j] = num;
                    p->scale_den[j] = den;
                }
            }
        } else {
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'keep_aspect_ratio_policy=%s'", policy);
        }
        for (i = 0; i < r; i++)
            if (p->scale_num[i] == 0) { /* size 0 on an axis: nothing is read there */
                p->scale_num[i] = 1;
                p->scale_den[i] = 1;
            }
    }
    return TML_OK;
}

static tml_status shape_resize_like(tml_graph *g, int node)
{
    tml_tensor *x;
    tml_resize_params p;
    int64_t dims[TML_MAX_RANK];
    int i;
    tml_status st = need_input(g, node, 0, "X", &x);
    if (!st)
        st = resize_resolve(g, node, x, &p);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        dims[i] = p.out_dims[i];
    return set_out(g, node, 0, x->dtype, x->rank, dims);
}

static tml_status lower_resize_like(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x = tml_node_input(g, n, 0);
    tml_resize_params *p = alloc_params(g, node, sizeof *p);
    int i, same = 1;
    tml_status st;
    if (!p)
        return TML_ERR_NOMEM;
    st = resize_resolve(g, node, x, p);
    if (st)
        return st;
    for (i = 0; i < x->rank; i++)
        same &= p->out_dims[i] == p->in_dims[i];
    /* same size does not mean identity (align_corners, odd scales): only with scale 1 */
    for (i = 0; i < x->rank && same; i++)
        same = p->scale_num[i] ? p->scale_num[i] == p->scale_den[i] : p->scale[i] == 1.0f;
    if (same)
        return lower_view(g, node, step);
    set_step(step, TML_K_RESIZE_NEAREST_X, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

tml_status tml_shape_resize(tml_graph *g, int node)
{
    return shape_resize_like(g, node);
}

tml_status tml_lower_resize(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_resize_like(g, node, step);
}

tml_status tml_shape_upsample(tml_graph *g, int node)
{
    return shape_resize_like(g, node);
}

tml_status tml_lower_upsample(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_resize_like(g, node, step);
}

/* ---- DepthToSpace / SpaceToDepth ---- */

/* Checks the NCHW input and blocksize; fills the 6-D view and permutation. */
static tml_status d2s_resolve(tml_graph *g, int node, tml_tensor **px, int64_t *out_dims,
                              int64_t *view, int *perm)
{
    const tml_node *n = &g->nodes[node];
    int64_t b = tml_node_attr_int(n, "blocksize", 0), N, C, H, W;
    int d2s = n->op == TML_OP_DEPTH_TO_SPACE, nhwc;
    tml_tensor *x;
    tml_status st = need_input(g, node, 0, "input", &x);
    if (st)
        return st;
    *px = x;
    if (x->rank != 4)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "input must be 4-D, has rank %d",
                               x->rank);
    if (b < 1 || b > 0xffff)
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "attribute 'blocksize' %lld is invalid",
                               (long long)b);
    nhwc = x->layout == TML_LAYOUT_NHWC;
    N = x->dims[0];
    C = x->dims[nhwc ? 3 : 1];
    H = x->dims[nhwc ? 1 : 2];
    W = x->dims[nhwc ? 2 : 3];
    if (d2s && (H * b > 0x7fffffff || W * b > 0x7fffffff))
        return tml_node_errorf(g, node, TML_ERR_SHAPE, "output of %lld x %lld by blocksize "
                               "%lld is too large", (long long)H, (long long)W, (long long)b);
    if (d2s) {
        const char *mode = tml_node_attr_str(n, "mode", "DCR");
        int crd = strcmp(mode, "CRD") == 0;
        int64_t c = C / (b * b);
        if (!crd && strcmp(mode, "DCR") != 0)
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "unsupported attribute 'mode=%s'", mode);
        if (C % (b * b))
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "channels %lld not divisible by blocksize^2 = %lld",
                                   (long long)C, (long long)(b * b));
        if (nhwc) { /* TFLite: (N, H, W, b, b, c) -> (N, H, b, W, b, c), DCR order */
            int64_t v[6] = {N, H, W, b, b, c};
            int q[6] = {0, 1, 3, 2, 4, 5};
            if (crd)
                return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                       "mode 'CRD' with NHWC layout");
            out_dims[0] = N, out_dims[1] = H * b, out_dims[2] = W * b, out_dims[3] = c;
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
            return TML_OK;
        }
        out_dims[0] = N, out_dims[1] = c, out_dims[2] = H * b, out_dims[3] = W * b;
        if (crd) { /* (N, c, b, b, H, W) -> (N, c, H, b, W, b) */
            int64_t v[6] = {N, c, b, b, H, W};
            int q[6] = {0, 1, 4, 2, 5, 3};
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
        } else { /* (N, b, b, c, H, W) -> (N, c, H, b, W, b) */
            int64_t v[6] = {N, b, b, c, H, W};
            int q[6] = {0, 3, 4, 1, 5, 2};
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
        }
    } else {
        if (H % b || W % b)
            return tml_node_errorf(g, node, TML_ERR_SHAPE,
                                   "height %lld or width %lld not divisible by blocksize %lld",
                                   (long long)H, (long long)W, (long long)b);
        if (nhwc) { /* TFLite: (N, H/b, b, W/b, b, C) -> (N, H/b, W/b, b, b, C) */
            int64_t v[6] = {N, H / b, b, W / b, b, C};
            int q[6] = {0, 1, 3, 2, 4, 5};
            out_dims[0] = N, out_dims[1] = H / b, out_dims[2] = W / b, out_dims[3] = C * b * b;
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
            return TML_OK;
        }
        out_dims[0] = N, out_dims[1] = C * b * b, out_dims[2] = H / b, out_dims[3] = W / b;
        { /* (N, C, H/b, b, W/b, b) -> (N, b, b, C, H/b, W/b) */
            int64_t v[6] = {N, C, H / b, b, W / b, b};
            int q[6] = {0, 3, 5, 1, 2, 4};
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
        }
    }
    return TML_OK;
}

static tml_status shape_d2s_like(tml_graph *g, int node)
{
    tml_tensor *x;
    int64_t out[4], view[6];
    int perm[6];
    tml_status st = d2s_resolve(g, node, &x, out, view, perm);
    if (st)
        return st;
    return set_out(g, node, 0, x->dtype, 4, out);
}

static tml_status lower_d2s_like(tml_graph *g, int node, tml_step_desc *step)
{
    const tml_node *n = &g->nodes[node];
    tml_tensor *x;
    int64_t out[4], view[6];
    int perm[6];
    tml_transpose_params *p;
    tml_status st = d2s_resolve(g, node, &x, out, view, perm);
    if (st)
        return st;
    p = alloc_params(g, node, sizeof *p);
    if (!p)
        return TML_ERR_NOMEM;
    if (fill_transpose(p, (uint32_t)tml_dtype_size(x->dtype), 6, view, perm))
        return lower_view(g, node, step);
    set_step(step, TML_K_TRANSPOSE_X, p, sizeof *p);
    step->n_in = 1;
    step->in[0] = n->in[0];
    step->n_out = 1;
    step->out[0] = n->out[0];
    return TML_OK;
}

tml_status tml_shape_depth_to_space(tml_graph *g, int node)
{
    return shape_d2s_like(g, node);
}

tml_status tml_lower_depth_to_space(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_d2s_like(g, node, step);
}

tml_status tml_shape_space_to_depth(tml_graph *g, int node)
{
    return shape_d2s_like(g, node);
}

tml_status tml_lower_space_to_depth(tml_graph *g, int node, tml_step_desc *step)
{
    return lower_d2s_like(g, node, step);
}
