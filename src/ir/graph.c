/*
 * graph.c - construction, lookup and error reporting for tml_graph (see include/tml/ir.h).
 *
 * Tensors and nodes live in arrays that grow by doubling (realloc), hence indices everywhere.
 * Tensor names are found through an open-addressing hash map so importing a model with
 * thousands of tensors stays linear.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/arena.h"
#include "tml/ir.h"

static const tml_op_info op_table[TML_OP_COUNT] = {
#define TML_OP(e, fn, onnx, mini, maxi, mino, maxo, fam) {#fn, onnx, mini, maxi, mino, maxo, #fam},
#include "tml/ops.def"
#undef TML_OP
};

const tml_op_info *tml_op_get_info(tml_op op)
{
    if ((int)op < 0 || op >= TML_OP_COUNT)
        return NULL;
    return &op_table[op];
}

tml_op tml_op_from_onnx(const char *op_type)
{
    int i;
    for (i = 0; i < TML_OP_COUNT; i++)
        if (op_table[i].onnx_name && strcmp(op_table[i].onnx_name, op_type) == 0)
            return (tml_op)i;
    return TML_OP_COUNT;
}

/* ---- name map: open addressing, power-of-two capacity, values are tensor indices ---- */

struct tml_name_map {
    int *slots; /* -1 = empty */
    size_t cap;
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

static int map_grow(tml_graph *g)
{
    struct tml_name_map *m = g->names;
    size_t ncap = m->cap ? m->cap * 2 : 64, i;
    int *ns = malloc(ncap * sizeof(int));
    if (!ns)
        return -1;
    for (i = 0; i < ncap; i++)
        ns[i] = -1;
    for (i = 0; i < (size_t)g->n_tensors; i++) {
        size_t j = hash_str(g->tensors[i].name) & (ncap - 1);
        while (ns[j] >= 0)
            j = (j + 1) & (ncap - 1);
        ns[j] = (int)i;
    }
    free(m->slots);
    m->slots = ns;
    m->cap = ncap;
    return 0;
}

int tml_graph_find_tensor(const tml_graph *g, const char *name)
{
    const struct tml_name_map *m = g->names;
    size_t j;
    if (!m->cap || !name)
        return -1;
    j = hash_str(name) & (m->cap - 1);
    while (m->slots[j] >= 0) {
        if (strcmp(g->tensors[m->slots[j]].name, name) == 0)
            return m->slots[j];
        j = (j + 1) & (m->cap - 1);
    }
    return -1;
}

/* ---- lifecycle and memory ---- */

tml_graph *tml_graph_new(void)
{
    tml_graph *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    g->arena = tml_arena_new();
    g->names = calloc(1, sizeof(*g->names));
    if (!g->arena || !g->names) {
        tml_graph_free(g);
        return NULL;
    }
    return g;
}

void tml_graph_free(tml_graph *g)
{
    if (!g)
        return;
    free(g->tensors);
    free(g->nodes);
    free(g->inputs);
    free(g->outputs);
    free(g->notes);
    if (g->names)
        free(g->names->slots);
    free(g->names);
    tml_arena_free(g->arena);
    free(g);
}

void *tml_graph_alloc(tml_graph *g, size_t size) { return tml_arena_alloc(g->arena, size); }

char *tml_graph_strdup(tml_graph *g, const char *s) { return tml_arena_strdup(g->arena, s); }

void *tml_graph_memdup(tml_graph *g, const void *p, size_t size)
{
    void *d = tml_arena_alloc(g->arena, size);
    if (d && size)
        memcpy(d, p, size);
    return d;
}

/* Grows *arr (element size esz) so it holds at least need elements. */
static int grow(void **arr, int *cap, int need, size_t esz)
{
    int ncap;
    void *n;
    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    n = realloc(*arr, (size_t)ncap * esz);
    if (!n)
        return -1;
    memset((char *)n + (size_t)*cap * esz, 0, (size_t)(ncap - *cap) * esz);
    *arr = n;
    *cap = ncap;
    return 0;
}

/* ---- tensors ---- */

int tml_graph_add_tensor(tml_graph *g, const char *name)
{
    char buf[32];
    tml_tensor *t;
    int idx = g->n_tensors;
    if (!name || !*name) {
        snprintf(buf, sizeof buf, "_t%d", idx);
        name = buf;
    }
    if (tml_graph_find_tensor(g, name) >= 0) {
        tml_graph_errorf(g, TML_ERR_FORMAT, "tensor '%s' defined twice", name);
        return -1;
    }
    if (grow((void **)&g->tensors, &g->cap_tensors, idx + 1, sizeof(tml_tensor)) < 0)
        goto nomem;
    if ((size_t)(idx + 1) * 2 > g->names->cap && map_grow(g) < 0)
        goto nomem;
    t = &g->tensors[idx];
    memset(t, 0, sizeof(*t));
    t->name = tml_graph_strdup(g, name);
    if (!t->name)
        goto nomem;
    t->rank = -1;
    t->producer = -1;
    g->n_tensors++;
    {
        struct tml_name_map *m = g->names;
        size_t j = hash_str(t->name) & (m->cap - 1);
        while (m->slots[j] >= 0)
            j = (j + 1) & (m->cap - 1);
        m->slots[j] = idx;
    }
    return idx;
nomem:
    tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory adding tensor '%s'", name);
    return -1;
}

void tml_tensor_set_shape(tml_tensor *t, tml_dtype dt, int rank, const int64_t *dims)
{
    int i;
    t->dtype = dt;
    t->rank = rank;
    for (i = 0; i < rank && i < TML_MAX_RANK; i++)
        t->dims[i] = dims[i];
}

int64_t tml_tensor_numel(const tml_tensor *t)
{
    int64_t n = 1;
    int i;
    if (t->rank < 0)
        return -1;
    for (i = 0; i < t->rank; i++) {
        if (t->dims[i] < 0)
            return -1;
        if (t->dims[i] != 0 && n > INT64_MAX / 16 / t->dims[i])
            return -1; /* absurd (hostile) shapes count as unknown, never overflow */
        n *= t->dims[i];
    }
    return n;
}

int64_t tml_tensor_nbytes(const tml_tensor *t)
{
    int64_t n = tml_tensor_numel(t);
    size_t es = tml_dtype_size(t->dtype);
    if (n < 0 || es == 0)
        return -1;
    return n * (int64_t)es;
}

bool tml_tensor_is_const(const tml_tensor *t) { return t->data != NULL; }

/* ---- nodes ---- */

int tml_graph_add_node(tml_graph *g, tml_op op, const char *name, int n_in, const int *in,
                       int n_out, const int *out)
{
    char buf[48];
    tml_node *n;
    int idx = g->n_nodes, i;
    if (grow((void **)&g->nodes, &g->cap_nodes, idx + 1, sizeof(tml_node)) < 0)
        goto nomem;
    n = &g->nodes[idx];
    memset(n, 0, sizeof(*n));
    if (!name || !*name) {
        const tml_op_info *oi = tml_op_get_info(op);
        snprintf(buf, sizeof buf, "%s_%d", oi ? oi->name : "node", idx);
        name = buf;
    }
    n->op = op;
    n->name = tml_graph_strdup(g, name);
    n->n_in = n_in;
    n->n_out = n_out;
    n->in = tml_graph_alloc(g, sizeof(int) * (size_t)(n_in > 0 ? n_in : 1));
    n->out = tml_graph_alloc(g, sizeof(int) * (size_t)(n_out > 0 ? n_out : 1));
    if (!n->name || !n->in || !n->out)
        goto nomem;
    for (i = 0; i < n_in; i++)
        n->in[i] = in[i];
    for (i = 0; i < n_out; i++) {
        n->out[i] = out[i];
        if (out[i] >= 0 && out[i] < g->n_tensors)
            g->tensors[out[i]].producer = idx;
    }
    g->n_nodes++;
    return idx;
nomem:
    tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory adding node '%s'", name ? name : "?");
    return -1;
}

tml_status tml_graph_add_input(tml_graph *g, int tensor)
{
    if (grow((void **)&g->inputs, &g->cap_inputs, g->n_inputs + 1, sizeof(int)) < 0)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    g->inputs[g->n_inputs++] = tensor;
    g->tensors[tensor].is_input = true;
    return TML_OK;
}

tml_status tml_graph_add_output(tml_graph *g, int tensor)
{
    if (grow((void **)&g->outputs, &g->cap_outputs, g->n_outputs + 1, sizeof(int)) < 0)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    g->outputs[g->n_outputs++] = tensor;
    g->tensors[tensor].is_output = true;
    return TML_OK;
}

/* ---- attributes ---- */

tml_attr *tml_node_add_attr(tml_graph *g, int node, const char *name, tml_attr_type type)
{
    tml_node *n = &g->nodes[node];
    tml_attr *na = tml_graph_alloc(g, sizeof(tml_attr) * (size_t)(n->n_attrs + 1));
    if (!na)
        return NULL;
    if (n->n_attrs)
        memcpy(na, n->attrs, sizeof(tml_attr) * (size_t)n->n_attrs);
    n->attrs = na;
    na = &n->attrs[n->n_attrs++];
    na->name = tml_graph_strdup(g, name);
    na->type = type;
    na->tensor = -1;
    return na->name ? na : NULL;
}

const tml_attr *tml_node_attr(const tml_node *n, const char *name)
{
    int i;
    for (i = 0; i < n->n_attrs; i++)
        if (strcmp(n->attrs[i].name, name) == 0)
            return &n->attrs[i];
    return NULL;
}

int64_t tml_node_attr_int(const tml_node *n, const char *name, int64_t dflt)
{
    const tml_attr *a = tml_node_attr(n, name);
    return a && a->type == TML_ATTR_INT ? a->i : dflt;
}

float tml_node_attr_float(const tml_node *n, const char *name, float dflt)
{
    const tml_attr *a = tml_node_attr(n, name);
    if (a && a->type == TML_ATTR_FLOAT)
        return a->f;
    if (a && a->type == TML_ATTR_INT)
        return (float)a->i;
    return dflt;
}

const char *tml_node_attr_str(const tml_node *n, const char *name, const char *dflt)
{
    const tml_attr *a = tml_node_attr(n, name);
    return a && a->type == TML_ATTR_STRING ? a->s : dflt;
}

int tml_node_attr_ints(const tml_node *n, const char *name, const int64_t **vals)
{
    const tml_attr *a = tml_node_attr(n, name);
    if (!a || a->type != TML_ATTR_INTS)
        return -1;
    *vals = a->ints;
    return a->n;
}

int tml_node_attr_floats(const tml_node *n, const char *name, const float **vals)
{
    const tml_attr *a = tml_node_attr(n, name);
    if (!a || a->type != TML_ATTR_FLOATS)
        return -1;
    *vals = a->floats;
    return a->n;
}

tml_tensor *tml_node_input(tml_graph *g, const tml_node *n, int i)
{
    if (i < 0 || i >= n->n_in || n->in[i] < 0)
        return NULL;
    return &g->tensors[n->in[i]];
}

tml_tensor *tml_node_output(tml_graph *g, const tml_node *n, int i)
{
    if (i < 0 || i >= n->n_out || n->out[i] < 0)
        return NULL;
    return &g->tensors[n->out[i]];
}

/* ---- errors and notes ---- */

static void verrorf(tml_graph *g, tml_status st, const char *prefix, const char *fmt, va_list ap)
{
    size_t n;
    if (g->err[0])
        return; /* the first error is the one that explains the rest */
    g->err_status = st;
    n = (size_t)snprintf(g->err, sizeof g->err, "%s", prefix);
    if (n < sizeof g->err)
        vsnprintf(g->err + n, sizeof g->err - n, fmt, ap);
}

tml_status tml_graph_errorf(tml_graph *g, tml_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verrorf(g, st, "", fmt, ap);
    va_end(ap);
    return st;
}

tml_status tml_node_errorf(tml_graph *g, int node, tml_status st, const char *fmt, ...)
{
    char prefix[256];
    const tml_node *n = &g->nodes[node];
    const tml_op_info *oi = tml_op_get_info(n->op);
    va_list ap;
    snprintf(prefix, sizeof prefix, "node '%s' (%s): ", n->name,
             oi && oi->onnx_name ? oi->onnx_name : oi ? oi->name : "?");
    va_start(ap, fmt);
    verrorf(g, st, prefix, fmt, ap);
    va_end(ap);
    return st;
}

const char *tml_graph_error(const tml_graph *g) { return g->err[0] ? g->err : "no error"; }

void tml_graph_clear_error(tml_graph *g)
{
    g->err[0] = 0;
    g->err_status = TML_OK;
}

void tml_graph_note(tml_graph *g, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (grow((void **)&g->notes, &g->cap_notes, g->n_notes + 1, sizeof(char *)) < 0)
        return;
    g->notes[g->n_notes] = tml_graph_strdup(g, buf);
    if (g->notes[g->n_notes])
        g->n_notes++;
}

/* ---- verification ---- */

tml_status tml_graph_verify(tml_graph *g)
{
    int i, j;
    char *ready = calloc((size_t)g->n_tensors + 1, 1);
    tml_status st = TML_OK;
    if (!ready)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    for (i = 0; i < g->n_tensors; i++)
        if (g->tensors[i].data || g->tensors[i].is_input)
            ready[i] = 1;
    for (i = 0; i < g->n_nodes && st == TML_OK; i++) {
        const tml_node *n = &g->nodes[i];
        const tml_op_info *oi = tml_op_get_info(n->op);
        if (n->dead)
            continue;
        if (!oi) {
            st = tml_node_errorf(g, i, TML_ERR_FORMAT, "invalid op %d", (int)n->op);
            break;
        }
        if (n->n_in < oi->min_in || (oi->max_in >= 0 && n->n_in > oi->max_in)) {
            st = tml_node_errorf(g, i, TML_ERR_FORMAT, "has %d inputs, expected %d..%d", n->n_in,
                                 oi->min_in, oi->max_in);
            break;
        }
        if (n->n_out < oi->min_out || n->n_out > oi->max_out) {
            st = tml_node_errorf(g, i, TML_ERR_FORMAT, "has %d outputs, expected %d..%d",
                                 n->n_out, oi->min_out, oi->max_out);
            break;
        }
        for (j = 0; j < n->n_in; j++) {
            int t = n->in[j];
            if (t < -1 || t >= g->n_tensors) {
                st = tml_node_errorf(g, i, TML_ERR_FORMAT, "input %d refers to no tensor", j);
                break;
            }
            if (t >= 0 && !ready[t]) {
                st = tml_node_errorf(g, i, TML_ERR_FORMAT,
                                     "input '%s' is not produced before it is used",
                                     g->tensors[t].name);
                break;
            }
        }
        for (j = 0; j < n->n_out && st == TML_OK; j++) {
            int t = n->out[j];
            if (t < -1 || t >= g->n_tensors) {
                st = tml_node_errorf(g, i, TML_ERR_FORMAT, "output %d refers to no tensor", j);
                break;
            }
            if (t >= 0) {
                if (ready[t]) {
                    st = tml_node_errorf(g, i, TML_ERR_FORMAT, "output '%s' has two producers",
                                         g->tensors[t].name);
                    break;
                }
                ready[t] = 1;
            }
        }
    }
    for (i = 0; i < g->n_outputs && st == TML_OK; i++)
        if (!ready[g->outputs[i]])
            st = tml_graph_errorf(g, TML_ERR_FORMAT, "graph output '%s' is never produced",
                                  g->tensors[g->outputs[i]].name);
    free(ready);
    return st;
}

int tml_graph_live_nodes(const tml_graph *g)
{
    int i, n = 0;
    for (i = 0; i < g->n_nodes; i++)
        n += !g->nodes[i].dead;
    return n;
}

const char *tml_shape_str(const tml_tensor *t, char *buf, size_t size)
{
    size_t n = 0;
    int i;
    if (size == 0)
        return buf;
    buf[0] = 0;
    if (t->rank < 0) {
        snprintf(buf, size, "[?]");
        return buf;
    }
    n += (size_t)snprintf(buf + n, size - n, "[");
    for (i = 0; i < t->rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)t->dims[i]);
    if (n < size)
        snprintf(buf + n, size - n, "]");
    return buf;
}
