/*
 * plan.c - turns a graph into an execution plan: steps, tensors, weights and one arena.
 *
 * How: (1) every live node is lowered (tml_op_lower) into a step descriptor, in graph order.
 * (2) Views - Reshape, Flatten, Identity, ... with kernel NONE and alias_of - make no step:
 * their output joins its input's storage group (union-find). A view of a constant is a
 * constant (same weights bytes). Where sharing would tie two fixed buffers together - the
 * view's output is a graph output and its group already holds a graph input or another graph
 * output - a COPY step is emitted instead. Graph outputs that passes folded into constants get a
 * COPY from the weights at the end. (3) In-place: a step whose lowering allows it writes its
 * output over input k when k's whole group is arena-only (no graph input or output), is read by
 * no later step, and has the same byte size. (4) Each storage group becomes one buffer, live
 * from the step that first writes it (graph inputs: 0) to the step that last reads it (graph
 * outputs: the last step), plus one buffer per step for its scratch; tml_mem_plan places them.
 * (5) Constants read by steps are laid out once each in the weights blob, 16-byte aligned.
 * (6) tml_plan_check proves the placement; a failure there is a planner bug (TML_ERR_VERIFY).
 *
 * Why groups and not per-tensor buffers: a view is free only if its bytes are its input's,
 * and in-place reuse is only safe if nothing reads the old bytes later - both are properties
 * of the storage, not of one tensor, so lifetimes are computed per group.
 *
 * The plan owns everything it points to (its own tml_arena) except the graph, which only
 * lends names: it must outlive the plan.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ops/select_fast.h"
#include "plan/plan_internal.h"
#include "tml/arena.h"

/* ---- the builder's working state ---- */

typedef struct {
    tml_plan_step s;
    int inplace_in; /* index into s.in[] the output may overwrite, or -1 */
} wstep;

typedef struct {
    tml_graph *g;
    const tml_plan_options *o;
    tml_plan *p;

    tml_plan_tensor *t; /* plan tensors */
    int n_t, cap_t;
    int *parent;        /* (cap_t) union-find over arena tensors */
    int *const_src;     /* (cap_t) for constants: the plan tensor whose graph data holds the bytes */
    const void **data;  /* (cap_t) constant bytes of a const_src tensor */
    char *defined;      /* (cap_t) the value exists at this point of the walk */

    wstep *st;
    int n_st, cap_st;

    int *g2p;           /* (n_g2p) graph tensor -> plan tensor, -1 */
    int n_g2p;          /* g->n_tensors when g2p was last sized: lowering may add constants */
} builder;

static int find(builder *b, int i)
{
    while (b->parent[i] != i) {
        b->parent[i] = b->parent[b->parent[i]];
        i = b->parent[i];
    }
    return i;
}

static int grow(void **arr, int *cap, int need, size_t esz)
{
    int nc;
    void *na;
    if (need <= *cap)
        return 0;
    nc = *cap ? *cap * 2 : 32;
    while (nc < need)
        nc *= 2;
    na = realloc(*arr, (size_t)nc * esz);
    if (!na)
        return -1;
    *arr = na;
    *cap = nc;
    return 0;
}

static int index_in(const int *arr, int n, int v)
{
    int i;
    for (i = 0; i < n; i++)
        if (arr[i] == v)
            return i;
    return -1;
}

/* Appends a plan tensor describing graph tensor gt (shape checked) with the given storage. */
static tml_status new_tensor(builder *b, int gt, tml_storage storage, int *out)
{
    tml_graph *g = b->g;
    tml_tensor *gtn = &g->tensors[gt];
    tml_plan_tensor *pt;
    uint64_t bytes;
    size_t esz;
    int i, cap = b->cap_t;

    if (gtn->rank < 0 || gtn->dtype == TML_DT_UNDEF)
        return tml_graph_errorf(g, TML_ERR_SHAPE, "tensor '%s': shape or dtype unknown at planning",
                                gtn->name);
    esz = tml_dtype_size(gtn->dtype);
    if (esz == 0)
        return tml_graph_errorf(g, TML_ERR_UNSUPPORTED, "tensor '%s': unsupported dtype '%s'",
                                gtn->name, tml_dtype_name(gtn->dtype));
    bytes = esz;
    for (i = 0; i < gtn->rank; i++) {
        if (gtn->dims[i] < 0 || gtn->dims[i] > INT32_MAX)
            return tml_graph_errorf(g, TML_ERR_FIT,
                                    "tensor '%s': dimension %d (%lld) does not fit int32",
                                    gtn->name, i, (long long)gtn->dims[i]);
        bytes *= (uint64_t)gtn->dims[i];
        if (bytes > UINT32_MAX)
            break;
    }
    if (bytes > UINT32_MAX)
        return tml_graph_errorf(g, TML_ERR_FIT,
                                "tensor '%s': more than 4294967295 bytes; a plan addresses at "
                                "most 4 GiB",
                                gtn->name);
    if (grow((void **)&b->t, &b->cap_t, b->n_t + 1, sizeof(*b->t)))
        return TML_ERR_NOMEM;
    if (b->cap_t != cap) {
        int *np = realloc(b->parent, (size_t)b->cap_t * sizeof(int));
        int *nc;
        const void **nd;
        char *ndef;
        if (!np)
            return TML_ERR_NOMEM;
        b->parent = np;
        nc = realloc(b->const_src, (size_t)b->cap_t * sizeof(int));
        if (!nc)
            return TML_ERR_NOMEM;
        b->const_src = nc;
        nd = realloc((void *)b->data, (size_t)b->cap_t * sizeof(void *));
        if (!nd)
            return TML_ERR_NOMEM;
        b->data = nd;
        ndef = realloc(b->defined, (size_t)b->cap_t);
        if (!ndef)
            return TML_ERR_NOMEM;
        b->defined = ndef;
    }
    pt = &b->t[b->n_t];
    memset(pt, 0, sizeof(*pt));
    pt->tensor = gt;
    pt->name = gtn->name;
    pt->dtype = gtn->dtype;
    pt->rank = gtn->rank;
    for (i = 0; i < gtn->rank; i++)
        pt->dims[i] = (int32_t)gtn->dims[i];
    pt->bytes = (uint32_t)bytes;
    pt->storage = storage;
    pt->first = pt->last = 0;
    pt->input_index = -1;
    pt->output_index = -1;
    b->parent[b->n_t] = b->n_t;
    b->const_src[b->n_t] = -1;
    b->data[b->n_t] = NULL;
    b->defined[b->n_t] = storage == TML_STORE_CONST;
    if (storage == TML_STORE_CONST) {
        b->const_src[b->n_t] = b->n_t;
        b->data[b->n_t] = gtn->data;
    }
    *out = b->n_t++;
    return TML_OK;
}

/* The plan tensor of graph tensor gt, created on first use: constant if it has data (and is
 * not a graph input: the caller provides those), arena otherwise. */
static tml_status get_tensor(builder *b, int gt, int *out)
{
    tml_graph *g = b->g;
    tml_status st;
    bool is_const;
    int k;
    if (gt < 0) {
        *out = -1;
        return TML_OK;
    }
    if (gt >= g->n_tensors)
        return tml_graph_errorf(g, TML_ERR_ARG, "tensor index %d out of range", gt);
    if (b->g2p[gt] >= 0) {
        *out = b->g2p[gt];
        return TML_OK;
    }
    k = index_in(g->inputs, g->n_inputs, gt);
    is_const = g->tensors[gt].data != NULL && k < 0;
    st = new_tensor(b, gt, is_const ? TML_STORE_CONST : TML_STORE_ARENA, out);
    if (st)
        return st;
    b->t[*out].input_index = k;
    if (k >= 0)
        b->defined[*out] = 1;
    if (!is_const)
        b->t[*out].output_index = index_in(g->outputs, g->n_outputs, gt);
    b->g2p[gt] = *out;
    return TML_OK;
}

/* Lowering may add tensors to the graph (select_fast.c: packed weights): extend g2p to them. */
static tml_status grow_g2p(builder *b)
{
    int *n;
    int i;
    if (b->g->n_tensors <= b->n_g2p)
        return TML_OK;
    n = realloc(b->g2p, ((size_t)b->g->n_tensors + 1) * sizeof(int));
    if (!n)
        return TML_ERR_NOMEM;
    for (i = b->n_g2p; i < b->g->n_tensors; i++)
        n[i] = -1;
    b->g2p = n;
    b->n_g2p = b->g->n_tensors;
    return TML_OK;
}

static wstep *new_step(builder *b, tml_kernel_id k, int node)
{
    wstep *w;
    if (grow((void **)&b->st, &b->cap_st, b->n_st + 1, sizeof(*b->st)))
        return NULL;
    w = &b->st[b->n_st++];
    memset(w, 0, sizeof(*w));
    w->s.kernel = k;
    w->s.node = node;
    w->inplace_in = -1;
    return w;
}

static tml_status add_copy(builder *b, int src, int dst, int node)
{
    tml_copy_params *cp;
    wstep *w;
    if (b->t[dst].bytes == 0)
        return TML_OK; /* an empty tensor: nothing to copy (and no buffer to copy from) */
    cp = tml_arena_alloc(b->p->arena, sizeof(*cp));
    w = new_step(b, TML_K_COPY, node);
    if (!cp || !w)
        return TML_ERR_NOMEM;
    cp->bytes = b->t[dst].bytes;
    w->s.params = cp;
    w->s.params_size = sizeof(*cp);
    w->s.n_in = 1;
    w->s.in[0] = src;
    w->s.n_out = 1;
    w->s.out[0] = dst;
    return TML_OK;
}

/* A root's group holds a graph input / a graph output. */
static bool group_has(builder *b, int root, bool input)
{
    int i;
    for (i = 0; i < b->n_t; i++)
        if (b->t[i].storage == TML_STORE_ARENA && find(b, i) == root &&
            (input ? b->t[i].input_index : b->t[i].output_index) >= 0)
            return true;
    return false;
}

static bool all_outputs_const(const tml_graph *g, const tml_node *n)
{
    int i, present = 0;
    for (i = 0; i < n->n_out; i++) {
        if (n->out[i] < 0)
            continue;
        present++;
        if (!g->tensors[n->out[i]].data)
            return false;
    }
    return present > 0;
}

/* Is graph tensor gt read by a live node after node `after`, or a graph output? */
static bool used_later(const tml_graph *g, int gt, int after)
{
    int i, j;
    if (index_in(g->outputs, g->n_outputs, gt) >= 0)
        return true;
    for (i = after + 1; i < g->n_nodes; i++) {
        if (g->nodes[i].dead)
            continue;
        for (j = 0; j < g->nodes[i].n_in; j++)
            if (g->nodes[i].in[j] == gt)
                return true;
    }
    return false;
}

static tml_status check_view_bytes(builder *b, int node, int src, int dst)
{
    if (b->t[dst].bytes == b->t[src].bytes)
        return TML_OK;
    return tml_node_errorf(b->g, node, TML_ERR_SHAPE,
                           "view output '%s' has %lu bytes but its input '%s' has %lu",
                           b->t[dst].name, (unsigned long)b->t[dst].bytes, b->t[src].name,
                           (unsigned long)b->t[src].bytes);
}

/* A view node: share, copy, or make a constant. */
static tml_status lower_view(builder *b, int node, const tml_step_desc *d)
{
    tml_graph *g = b->g;
    int src, dst, i, gdst;
    tml_status st;
    if (d->n_in > TML_STEP_MAX_IO || d->n_out > TML_STEP_MAX_IO || d->alias_of < 0 ||
        d->alias_of >= d->n_in || d->n_out < 1 || d->out[0] < 0 || d->in[d->alias_of] < 0)
        return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                               "lowering produced no kernel and no view (alias_of %d)",
                               d->alias_of);
    for (i = 0; i < d->n_out; i++)
        if (d->out[i] >= g->n_tensors || d->in[d->alias_of] >= g->n_tensors)
            return tml_node_errorf(g, node, TML_ERR_ARG, "lowering names tensor %d of %d",
                                   d->out[i], g->n_tensors);
    for (i = 1; i < d->n_out; i++)
        if (d->out[i] >= 0 && !g->tensors[d->out[i]].data && used_later(g, d->out[i], node))
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "output '%s' is used but a view writes only its first output",
                                   g->tensors[d->out[i]].name);
    if ((st = get_tensor(b, d->in[d->alias_of], &src)))
        return st;
    if (!b->defined[src])
        return tml_node_errorf(g, node, TML_ERR_ARG, "input '%s' is not computed before this node",
                               b->t[src].name);
    gdst = d->out[0];
    if (b->g2p[gdst] >= 0)
        return tml_node_errorf(g, node, TML_ERR_ARG, "output '%s' is written twice",
                               g->tensors[gdst].name);
    if (b->t[src].storage == TML_STORE_CONST) {
        if (index_in(g->outputs, g->n_outputs, gdst) >= 0) {
            if ((st = new_tensor(b, gdst, TML_STORE_ARENA, &dst)))
                return st;
            b->t[dst].output_index = index_in(g->outputs, g->n_outputs, gdst);
            b->g2p[gdst] = dst;
            b->defined[dst] = 1;
            if ((st = check_view_bytes(b, node, src, dst)))
                return st;
            return add_copy(b, src, dst, node);
        }
        if ((st = new_tensor(b, gdst, TML_STORE_CONST, &dst)))
            return st;
        b->const_src[dst] = b->const_src[src];
        b->data[dst] = NULL;
        b->g2p[gdst] = dst;
    } else {
        int root = find(b, src);
        bool out = index_in(g->outputs, g->n_outputs, gdst) >= 0;
        if ((st = get_tensor(b, gdst, &dst)))
            return st;
        b->defined[dst] = 1;
        if ((st = check_view_bytes(b, node, src, dst)))
            return st;
        if (out && (group_has(b, root, true) || group_has(b, root, false)))
            return add_copy(b, src, dst, node);
        b->parent[dst] = root;
    }
    return check_view_bytes(b, node, src, dst);
}

static tml_status lower_kernel(builder *b, int node, const tml_step_desc *d)
{
    tml_graph *g = b->g;
    wstep *w;
    tml_status st;
    int i;
    if ((int)d->kernel <= 0 || d->kernel >= TML_K_COUNT)
        return tml_node_errorf(g, node, TML_ERR_ARG, "lowering chose invalid kernel %d",
                               (int)d->kernel);
    if (d->n_in < 0 || d->n_in > TML_PLAN_MAX_IO || d->n_out < 0 || d->n_out > TML_PLAN_MAX_IO)
        return tml_node_errorf(g, node, TML_ERR_ARG, "lowering has %d inputs and %d outputs",
                               d->n_in, d->n_out);
    if (d->params_size > 0 && !d->params)
        return tml_node_errorf(g, node, TML_ERR_ARG, "lowering has no parameters");
    if (!(w = new_step(b, d->kernel, node)))
        return TML_ERR_NOMEM;
    w->s.n_in = d->n_in;
    w->s.n_out = d->n_out;
    for (i = 0; i < d->n_in; i++) {
        int pt;
        if ((st = get_tensor(b, d->in[i], &pt)))
            return st;
        if (pt >= 0 && !b->defined[pt])
            return tml_node_errorf(g, node, TML_ERR_ARG,
                                   "input '%s' is not computed before this node", b->t[pt].name);
        b->st[b->n_st - 1].s.in[i] = pt;
    }
    for (i = 0; i < d->n_out; i++) {
        int pt, gt = d->out[i];
        if (gt < 0) /* the executor refuses them: a kernel must have a buffer to write */
            return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED,
                                   "lowering left output %d of %d absent", i, d->n_out);
        if (gt >= 0 && gt < g->n_tensors && b->g2p[gt] >= 0)
            return tml_node_errorf(g, node, TML_ERR_ARG, "output '%s' is written twice",
                                   g->tensors[gt].name);
        if (gt >= 0 && gt < g->n_tensors && g->tensors[gt].data)
            return tml_node_errorf(g, node, TML_ERR_ARG,
                                   "output '%s' is a constant but the node is still live",
                                   g->tensors[gt].name);
        if ((st = get_tensor(b, gt, &pt)))
            return st;
        if (pt >= 0)
            b->defined[pt] = 1;
        b->st[b->n_st - 1].s.out[i] = pt;
    }
    w = &b->st[b->n_st - 1];
    for (i = d->n_in; i < TML_PLAN_MAX_IO; i++)
        w->s.in[i] = -1;
    for (i = d->n_out; i < TML_PLAN_MAX_IO; i++)
        w->s.out[i] = -1;
    if (d->params_size) {
        void *pc = tml_arena_alloc(b->p->arena, d->params_size);
        if (!pc)
            return TML_ERR_NOMEM;
        memcpy(pc, d->params, d->params_size);
        w->s.params = pc;
    }
    w->s.params_size = d->params_size;
    w->s.scratch_bytes = d->scratch_bytes;
    if (b->o->inplace && d->inplace_of >= 0 && d->inplace_of < d->n_in && d->n_out >= 1)
        w->inplace_in = d->inplace_of;
    return TML_OK;
}

/* ---- MACs ---- */

static uint64_t numel(const tml_tensor *t)
{
    uint64_t n = 1;
    int i;
    if (!t || t->rank < 0)
        return 0;
    for (i = 0; i < t->rank; i++)
        n *= t->dims[i] > 0 ? (uint64_t)t->dims[i] : 0;
    return n;
}

/* Product of dims[from..rank) */
static uint64_t numel_from(const tml_tensor *t, int from)
{
    uint64_t n = 1;
    int i;
    if (!t || t->rank < from)
        return 0;
    for (i = from; i < t->rank; i++)
        n *= t->dims[i] > 0 ? (uint64_t)t->dims[i] : 0;
    return n;
}

static const tml_tensor *in_t(const tml_graph *g, const tml_node *n, int i)
{
    return i < n->n_in && n->in[i] >= 0 && n->in[i] < g->n_tensors ? &g->tensors[n->in[i]] : NULL;
}

static const tml_tensor *out_t(const tml_graph *g, const tml_node *n, int i)
{
    return i < n->n_out && n->out[i] >= 0 && n->out[i] < g->n_tensors ? &g->tensors[n->out[i]]
                                                                        : NULL;
}

/* K of a matrix product whose left operand is a: its last dim (ONNX MatMul broadcasting). */
static uint64_t inner_dim(const tml_tensor *a, bool trans)
{
    if (!a || a->rank < 1)
        return 0;
    if (a->rank == 1)
        return a->dims[0] > 0 ? (uint64_t)a->dims[0] : 0;
    {
        int64_t k = trans ? a->dims[a->rank - 2] : a->dims[a->rank - 1];
        return k > 0 ? (uint64_t)k : 0;
    }
}

uint64_t tml_plan_node_macs(const tml_graph *g, int node)
{
    const tml_node *n = &g->nodes[node];
    switch (n->op) {
    case TML_OP_CONV:
    case TML_OP_CONV_INTEGER: /* W (M, C/group, k...): each output element sums C/group * k */
        return numel(out_t(g, n, 0)) * numel_from(in_t(g, n, 1), 1);
    case TML_OP_QLINEAR_CONV: /* x, x_scale, x_zp, w, ... */
        return numel(out_t(g, n, 0)) * numel_from(in_t(g, n, 3), 1);
    case TML_OP_CONV_TRANSPOSE: /* W (C, M/group, k...): each input element feeds M/group * k */
        return numel(in_t(g, n, 0)) * numel_from(in_t(g, n, 1), 1);
    case TML_OP_GEMM:
        return numel(out_t(g, n, 0)) * inner_dim(in_t(g, n, 0), tml_node_attr_int(n, "transA", 0) != 0);
    case TML_OP_MATMUL:
    case TML_OP_MATMUL_INTEGER:
    case TML_OP_QLINEAR_MATMUL:
        return numel(out_t(g, n, 0)) * inner_dim(in_t(g, n, 0), false);
    default:
        return 0;
    }
}

/* ---- lifetimes, in-place, placement ---- */

static tml_status place(builder *b)
{
    tml_graph *g = b->g;
    tml_plan *p = b->p;
    int S = b->n_st, last_step = S > 0 ? S - 1 : 0;
    int i, j, s, n_t = b->n_t;
    int *writer = NULL, *lastread = NULL, *gfirst = NULL, *glast = NULL, *buf_of = NULL;
    uint32_t *gbytes = NULL;
    tml_mem_buf *bufs = NULL;
    int n_bufs = 0;
    tml_status st = TML_OK;
    char err[256];

    writer = malloc(((size_t)n_t + 1) * sizeof(int));
    lastread = malloc(((size_t)n_t + 1) * sizeof(int));
    gfirst = malloc(((size_t)n_t + 1) * sizeof(int));
    glast = malloc(((size_t)n_t + 1) * sizeof(int));
    buf_of = malloc(((size_t)n_t + 1) * sizeof(int));
    gbytes = malloc(((size_t)n_t + 1) * sizeof(uint32_t));
    bufs = calloc((size_t)n_t + (size_t)S + 1, sizeof(tml_mem_buf));
    if (!writer || !lastread || !gfirst || !glast || !buf_of || !gbytes || !bufs) {
        st = TML_ERR_NOMEM;
        goto done;
    }
    for (i = 0; i < n_t; i++)
        writer[i] = lastread[i] = -1;
    for (s = 0; s < S; s++) {
        const tml_plan_step *ps = &b->st[s].s;
        for (j = 0; j < ps->n_in; j++)
            if (ps->in[j] >= 0)
                lastread[ps->in[j]] = s;
        for (j = 0; j < ps->n_out; j++)
            if (ps->out[j] >= 0)
                writer[ps->out[j]] = s;
    }
    /* group last read (outputs: the end), before in-place merges */
    for (i = 0; i < n_t; i++)
        glast[i] = -1;
    for (i = 0; i < n_t; i++) {
        int r;
        if (b->t[i].storage != TML_STORE_ARENA)
            continue;
        r = find(b, i);
        if (lastread[i] > glast[r])
            glast[r] = lastread[i];
        if (b->t[i].output_index >= 0)
            glast[r] = INT_MAX;
    }
    /* in-place, in step order */
    for (s = 0; s < S; s++) {
        wstep *w = &b->st[s];
        int x, y, rx, ry, k = w->inplace_in;
        bool ok = true;
        if (k < 0)
            continue;
        x = w->s.in[k];
        y = w->s.out[0];
        if (x < 0 || y < 0 || x == y || b->t[x].storage != TML_STORE_ARENA ||
            b->t[y].storage != TML_STORE_ARENA)
            continue;
        rx = find(b, x);
        ry = find(b, y);
        if (rx == ry || glast[rx] > s || group_has(b, rx, true) || group_has(b, rx, false) ||
            b->t[x].bytes != b->t[y].bytes)
            continue;
        for (i = 0; i < n_t && ok; i++) /* the whole group has the size of the output */
            if (b->t[i].storage == TML_STORE_ARENA && find(b, i) == rx && b->t[i].bytes != b->t[y].bytes)
                ok = false;
        for (j = 0; j < w->s.n_in && ok; j++) /* no other view of x read by the same step */
            if (j != k && w->s.in[j] >= 0 && w->s.in[j] != x &&
                b->t[w->s.in[j]].storage == TML_STORE_ARENA && find(b, w->s.in[j]) == rx)
                ok = false;
        if (!ok)
            continue;
        b->parent[ry] = rx;
        if (glast[ry] > glast[rx])
            glast[rx] = glast[ry];
    }
    /* per-tensor and per-group lifetimes */
    for (i = 0; i < n_t; i++) {
        gfirst[i] = INT_MAX;
        glast[i] = -1;
        gbytes[i] = 0;
        buf_of[i] = -1;
    }
    for (i = 0; i < n_t; i++) {
        int r, f;
        if (b->t[i].storage != TML_STORE_ARENA)
            continue;
        r = find(b, i);
        f = b->t[i].input_index >= 0 ? 0 : writer[i];
        if (f >= 0 && f < gfirst[r])
            gfirst[r] = f;
        if (lastread[i] > glast[r])
            glast[r] = lastread[i];
        if (b->t[i].output_index >= 0)
            glast[r] = last_step;
        if (b->t[i].bytes > gbytes[r])
            gbytes[r] = b->t[i].bytes;
    }
    for (i = 0; i < n_t; i++) {
        tml_plan_tensor *t = &b->t[i];
        int r;
        if (t->storage != TML_STORE_ARENA)
            continue;
        r = find(b, i);
        if (gfirst[r] == INT_MAX) /* never written (only views of an unused group) */
            gfirst[r] = glast[r] >= 0 ? glast[r] : 0;
        if (glast[r] < gfirst[r])
            glast[r] = gfirst[r];
        t->first = t->input_index >= 0 ? 0 : (writer[i] >= 0 ? writer[i] : gfirst[r]);
        t->last = lastread[i] > t->first ? lastread[i] : t->first;
        if (t->output_index >= 0)
            t->last = last_step;
    }
    for (i = 0; i < n_t; i++) {
        if (b->t[i].storage != TML_STORE_ARENA || find(b, i) != i)
            continue;
        buf_of[i] = n_bufs;
        bufs[n_bufs].size = gbytes[i];
        bufs[n_bufs].first = gfirst[i];
        bufs[n_bufs].last = glast[i];
        n_bufs++;
    }
    for (s = 0; s < S; s++) {
        if (!b->st[s].s.scratch_bytes)
            continue;
        bufs[n_bufs].size = b->st[s].s.scratch_bytes;
        bufs[n_bufs].first = bufs[n_bufs].last = s;
        n_bufs++;
    }
    st = tml_mem_plan_with(bufs, n_bufs, b->o->align, b->o->strategy, &p->mem);
    if (st == TML_ERR_NOT_FOUND) {
        st = tml_graph_errorf(g, st, "unknown memory strategy '%s'", b->o->strategy);
        goto done;
    }
    if (st == TML_ERR_FIT) {
        st = tml_graph_errorf(g, st, "the arena would exceed 4 GiB");
        goto done;
    }
    if (st) {
        st = tml_graph_errorf(g, st, "memory planning failed: %s", tml_status_str(st));
        goto done;
    }
    if (!tml_mem_check(bufs, n_bufs, p->mem.peak, err, sizeof(err))) {
        st = tml_graph_errorf(g, TML_ERR_VERIFY, "memory plan check failed: %s", err);
        goto done;
    }
    p->arena_size = p->mem.peak;
    for (i = 0; i < n_t; i++)
        if (b->t[i].storage == TML_STORE_ARENA)
            b->t[i].offset = bufs[buf_of[find(b, i)]].offset;
    j = n_bufs - 1;
    for (s = S - 1; s >= 0; s--)
        if (b->st[s].s.scratch_bytes)
            b->st[s].s.scratch_offset = bufs[j--].offset;
done:
    free(writer);
    free(lastread);
    free(gfirst);
    free(glast);
    free(buf_of);
    free(gbytes);
    free(bufs);
    return st;
}

/* Marks the plan tensors a step, a graph input or a graph output refers to. The others - a
 * constant only reached through a view of it, an unread view, the weights copy of an empty
 * folded output - are dropped from the plan, so that no carrier holds a tensor nobody uses. */
static void mark_used(builder *b, char *used)
{
    int i, j;
    memset(used, 0, (size_t)b->n_t + 1);
    for (i = 0; i < b->n_st; i++) {
        for (j = 0; j < b->st[i].s.n_in; j++)
            if (b->st[i].s.in[j] >= 0)
                used[b->st[i].s.in[j]] = 1;
        for (j = 0; j < b->st[i].s.n_out; j++)
            if (b->st[i].s.out[j] >= 0)
                used[b->st[i].s.out[j]] = 1;
    }
    for (i = 0; i < b->p->n_inputs; i++)
        used[b->p->inputs[i]] = 1;
    for (i = 0; i < b->p->n_outputs; i++)
        used[b->p->outputs[i]] = 1;
}

/* Lays out every used constant once (views of a constant share its bytes), 16-byte aligned. */
static tml_status layout_weights(builder *b, const char *used)
{
    tml_plan *p = b->p;
    uint64_t size = 0;
    int i;
    char *need = calloc((size_t)b->n_t + 1, 1);
    if (!need)
        return TML_ERR_NOMEM;
    for (i = 0; i < b->n_t; i++)
        if (b->t[i].storage == TML_STORE_CONST && used[i])
            need[b->const_src[i]] = 1;
    for (i = 0; i < b->n_t; i++) {
        if (!need[i])
            continue;
        size = (size + TML_PLAN_ALIGN - 1) & ~(uint64_t)(TML_PLAN_ALIGN - 1);
        b->t[i].offset = (uint32_t)size;
        size += b->t[i].bytes;
        if (size > UINT32_MAX) {
            free(need);
            return tml_graph_errorf(b->g, TML_ERR_FIT, "weights exceed 4 GiB");
        }
    }
    size = (size + TML_PLAN_ALIGN - 1) & ~(uint64_t)(TML_PLAN_ALIGN - 1);
    p->weights_size = (uint32_t)size;
    p->weights = size ? tml_arena_alloc(p->arena, (size_t)size) : NULL;
    if (size && !p->weights) {
        free(need);
        return TML_ERR_NOMEM;
    }
    for (i = 0; i < b->n_t; i++) {
        if (b->t[i].storage != TML_STORE_CONST)
            continue;
        if (need[i] && b->t[i].bytes && b->data[i])
            memcpy(p->weights + b->t[i].offset, b->data[i], b->t[i].bytes);
        b->t[i].offset = b->t[b->const_src[i]].offset;
        b->t[i].first = 0;
        b->t[i].last = b->n_st > 0 ? b->n_st - 1 : 0;
    }
    free(need);
    return TML_OK;
}

/* Copies the used tensors and the steps into the plan's arena, renumbering tensors; share[]
 * points at the first used tensor of each storage group or constant. */
static tml_status emit(builder *b, const char *used)
{
    tml_plan *p = b->p;
    int *nidx = malloc(((size_t)b->n_t + 1) * sizeof(int));
    int *rep = malloc(((size_t)b->n_t + 1) * sizeof(int));
    int i, j, n = 0;
    if (!nidx || !rep) {
        free(nidx);
        free(rep);
        return TML_ERR_NOMEM;
    }
    for (i = 0; i < b->n_t; i++) {
        nidx[i] = used[i] ? n++ : -1;
        rep[i] = -1;
    }
    p->n_tensors = n;
    p->n_steps = b->n_st;
    p->tensors = tml_arena_alloc(p->arena, (size_t)n * sizeof(tml_plan_tensor) + 1);
    p->steps = tml_arena_alloc(p->arena, (size_t)b->n_st * sizeof(tml_plan_step) + 1);
    p->share = tml_arena_alloc(p->arena, (size_t)n * sizeof(int) + 1);
    if (!p->tensors || !p->steps || !p->share) {
        free(nidx);
        free(rep);
        return TML_ERR_NOMEM;
    }
    for (i = 0; i < b->n_t; i++) {
        int r;
        if (!used[i])
            continue;
        r = b->t[i].storage == TML_STORE_ARENA ? find(b, i) : b->const_src[i];
        if (rep[r] < 0)
            rep[r] = nidx[i];
        p->tensors[nidx[i]] = b->t[i];
        p->share[nidx[i]] = rep[r];
    }
    for (i = 0; i < b->n_st; i++) {
        tml_plan_step *ps = &p->steps[i];
        *ps = b->st[i].s;
        for (j = 0; j < ps->n_in; j++)
            if (ps->in[j] >= 0)
                ps->in[j] = nidx[ps->in[j]];
        for (j = 0; j < ps->n_out; j++)
            if (ps->out[j] >= 0)
                ps->out[j] = nidx[ps->out[j]];
    }
    for (i = 0; i < p->n_inputs; i++)
        p->inputs[i] = nidx[p->inputs[i]];
    for (i = 0; i < p->n_outputs; i++)
        p->outputs[i] = nidx[p->outputs[i]];
    free(nidx);
    free(rep);
    return TML_OK;
}

void tml_plan_options_default(tml_plan_options *o)
{
    o->align = TML_PLAN_ALIGN;
    o->inplace = true;
    o->strategy = NULL;
    o->reference_kernels = false;
}

/* ctx: the tml_plan_options (or NULL: defaults). */
static tml_status op_lower(tml_graph *g, int node, tml_step_desc *step, void *ctx)
{
    const tml_plan_options *o = (const tml_plan_options *)ctx;
    tml_status st = tml_op_lower(g, node, step);
    if (st == TML_OK && !(o && o->reference_kernels))
        tml_select_fast_kernel(g, node, step);
    return st;
}

tml_status tml_plan_build(tml_graph *g, const tml_plan_options *o, tml_plan **out)
{
    return tml_plan_build_lowered(g, o, op_lower, (void *)o, out);
}

tml_status tml_plan_build_lowered(tml_graph *g, const tml_plan_options *o, tml_plan_lower_fn lower,
                                  void *ctx, tml_plan **out)
{
    builder b;
    tml_plan_options dflt;
    tml_plan *p;
    tml_status st = TML_OK;
    int i, k;
    char err[256], *used = NULL;

    if (!out)
        return TML_ERR_ARG;
    *out = NULL;
    if (!g || !lower)
        return TML_ERR_ARG;
    if (!o) {
        tml_plan_options_default(&dflt);
        o = &dflt;
    }
    if (o->align == 0 || (o->align & (o->align - 1)))
        return tml_graph_errorf(g, TML_ERR_ARG, "arena alignment %lu is not a power of two",
                                (unsigned long)o->align);
    if (g->n_inputs > TML_PLAN_MAX_IO || g->n_outputs > TML_PLAN_MAX_IO)
        return tml_graph_errorf(g, TML_ERR_FIT,
                                "graph has %d inputs and %d outputs; a plan holds at most %d each",
                                g->n_inputs, g->n_outputs, TML_PLAN_MAX_IO);
    memset(&b, 0, sizeof(b));
    b.g = g;
    b.o = o;
    p = calloc(1, sizeof(*p));
    if (!p || !(p->arena = tml_arena_new())) {
        free(p);
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    }
    b.p = p;
    p->graph = g;
    b.g2p = malloc(((size_t)g->n_tensors + 1) * sizeof(int));
    if (!b.g2p) {
        st = TML_ERR_NOMEM;
        goto fail;
    }
    for (i = 0; i < g->n_tensors; i++)
        b.g2p[i] = -1;
    b.n_g2p = g->n_tensors;

    /* graph inputs first: plan tensors 0..n_inputs-1 in graph order (duplicates share) */
    for (k = 0; k < g->n_inputs; k++) {
        int pt;
        if ((st = get_tensor(&b, g->inputs[k], &pt)))
            goto fail;
        p->inputs[k] = pt;
    }
    p->n_inputs = g->n_inputs;

    /* steps, views, copies */
    for (i = 0; i < g->n_nodes; i++) {
        tml_step_desc d;
        if (g->nodes[i].dead || all_outputs_const(g, &g->nodes[i]))
            continue;
        tml_step_desc_init(&d);
        if ((st = lower(g, i, &d, ctx)))
            goto fail;
        if ((st = grow_g2p(&b)))
            goto fail;
        if (d.kernel == TML_K_NONE)
            st = lower_view(&b, i, &d);
        else
            st = lower_kernel(&b, i, &d);
        if (st)
            goto fail;
        p->macs += tml_plan_node_macs(g, i);
    }

    /* graph outputs: computed ones are arena tensors already; folded ones get a copy */
    for (k = 0; k < g->n_outputs; k++) {
        int gt = g->outputs[k], pt = b.g2p[gt];
        if (pt < 0 && g->tensors[gt].data) {
            if ((st = get_tensor(&b, gt, &pt))) /* the constant */
                goto fail;
        }
        if (pt < 0) {
            st = tml_graph_errorf(g, TML_ERR_ARG, "graph output '%s' is not computed by any node",
                                  g->tensors[gt].name);
            goto fail;
        }
        if (b.t[pt].storage == TML_STORE_CONST) {
            int dst;
            size_t len = strlen(g->tensors[gt].name);
            char *cname = tml_arena_alloc(p->arena, len + 7);
            if (!cname) {
                st = TML_ERR_NOMEM;
                goto fail;
            }
            memcpy(cname, g->tensors[gt].name, len);
            memcpy(cname + len, ".const", 7);
            b.t[pt].name = cname;
            if ((st = new_tensor(&b, gt, TML_STORE_ARENA, &dst)))
                goto fail;
            b.t[dst].output_index = k;
            b.g2p[gt] = dst;
            if ((st = add_copy(&b, pt, dst, g->tensors[gt].producer)))
                goto fail;
            pt = dst;
        }
        p->outputs[k] = pt;
    }
    p->n_outputs = g->n_outputs;

    if ((st = place(&b)))
        goto fail;
    used = malloc((size_t)b.n_t + 1);
    if (!used) {
        st = TML_ERR_NOMEM;
        goto fail;
    }
    mark_used(&b, used);
    if ((st = layout_weights(&b, used)) || (st = emit(&b, used)))
        goto fail;

    if ((st = tml_plan_check(p, err, sizeof(err)))) {
        st = tml_graph_errorf(g, TML_ERR_VERIFY, "plan check failed: %s", err);
        goto fail;
    }
    free(b.t);
    free(b.parent);
    free(b.const_src);
    free(b.defined);
    free((void *)b.data);
    free(b.st);
    free(b.g2p);
    free(used);
    *out = p;
    return TML_OK;

fail:
    if (st == TML_ERR_NOMEM)
        tml_graph_errorf(g, st, "out of memory while planning");
    free(b.t);
    free(b.parent);
    free(b.const_src);
    free(b.defined);
    free((void *)b.data);
    free(b.st);
    free(b.g2p);
    free(used);
    tml_plan_free(p);
    return st;
}

void tml_plan_free(tml_plan *p)
{
    if (!p)
        return;
    tml_arena_free(p->arena);
    free(p);
}
