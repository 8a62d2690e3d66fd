/*
 * onnx.c - ONNX ModelProto -> tml_graph (tml_import_onnx, see include/tml/import.h).
 *
 * How: protobuf-c unpacks the bytes with the schema in onnx.proto (a subset of ONNX's, without
 * the self-nesting messages, so parsing cannot recurse without bound). Then, in order:
 *   1. the default-domain opset ("" or "ai.onnx") becomes g->opset;
 *   2. every node's op is looked up; all unknown ops (and ops of other domains) of the whole
 *      model are reported at once, grouped by op, so a user learns everything missing from one
 *      run instead of one op per attempt;
 *   3. initializers become constant tensors (onnx_tensor.c checks dims against the payload);
 *      graph inputs that are not initializers become graph inputs with dtype and dims from their
 *      ValueInfo (symbolic or missing dims are -1);
 *   4. nodes are added in file order (ONNX requires topological order; an input that is not yet
 *      defined is an error naming the node). Constant nodes become constant tensors directly;
 *      TENSOR attributes become constant tensors referenced by index;
 *   5. graph outputs are marked, and tml_graph_verify checks arity and order.
 *
 * Why so careful: a model file comes from a user or over the network. Counts, dims, data types
 * and names are all checked before use; nothing is allocated from a count the payload does not
 * back. Every message starts with the source name ("model.onnx: node 'a' (Relu): ...").
 */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "onnx_tensor.h"
#include "tml/import.h"

#define MAX_MODEL_BYTES ((size_t)1 << 30) /* 1 GiB */
#define MAX_NODE_IO 4096                  /* inputs or outputs of one node */
#define MAX_NODE_ATTRS 256                /* attributes of one node */
#define MAX_OPSET 10000

/* ONNX AttributeProto.AttributeType (its numbering differs from tml_attr_type). */
enum {
    OA_FLOAT = 1, OA_INT = 2, OA_STRING = 3, OA_TENSOR = 4, OA_GRAPH = 5, OA_FLOATS = 6,
    OA_INTS = 7, OA_STRINGS = 8, OA_TENSORS = 9, OA_GRAPHS = 10, OA_SPARSE_TENSOR = 11,
    OA_SPARSE_TENSORS = 12, OA_TYPE_PROTO = 13, OA_TYPE_PROTOS = 14
};

static const char *str_or(const char *s, const char *dflt) { return s && *s ? s : dflt; }

static bool is_default_domain(const char *d)
{
    return !d || !*d || strcmp(d, "ai.onnx") == 0;
}

/* A node's name for messages before it is in the graph: its own or "#index". */
static const char *node_label(const Onnx__NodeProto *np, size_t idx, char *buf, size_t size)
{
    if (np->name && *np->name)
        return np->name;
    snprintf(buf, size, "#%zu", idx);
    return buf;
}

/* ---- step 2: every unknown op of the model in one message ---- */

/* Writes "Foo" or "com.example.Foo" for an unknown node into buf; returns false if known. */
static bool unknown_key(const Onnx__NodeProto *np, char *buf, size_t size)
{
    const char *op = np->op_type ? np->op_type : "";
    if (!is_default_domain(np->domain)) {
        snprintf(buf, size, "%s.%s", np->domain, str_or(op, "(no op_type)"));
        return true;
    }
    if (strcmp(op, "Constant") == 0 || tml_op_from_onnx(op) != TML_OP_COUNT)
        return false;
    snprintf(buf, size, "%s", str_or(op, "(no op_type)"));
    return true;
}

/* Appends to buf (size bytes, *len used) without ever running past the end. */
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    va_list ap;
    int r;
    if (*len + 1 >= size)
        return;
    va_start(ap, fmt);
    r = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (r > 0)
        *len = *len + (size_t)r < size - 1 ? *len + (size_t)r : size - 1;
}

static bool same_unknown(const Onnx__NodeProto *np, const char *key)
{
    char other[96];
    return unknown_key(np, other, sizeof other) && strcmp(other, key) == 0;
}

static tml_status check_ops(tml_graph *g, const Onnx__GraphProto *gp)
{
    enum { MAX_KEYS = 64, MAX_NAMES = 8 };
    char msg[440], key[96], lbl[32];
    char *done[MAX_KEYS];
    size_t n_done = 0, i, j, len = 0, n_unknown = 0, n_listed = 0;
    tml_status st = TML_OK;

    msg[0] = 0;
    for (i = 0; i < gp->n_node; i++) {
        size_t k, cnt = 0;
        bool seen = false;
        if (!unknown_key(gp->node[i], key, sizeof key))
            continue;
        n_unknown++;
        for (k = 0; k < n_done && !seen; k++)
            seen = strcmp(done[k], key) == 0;
        if (seen || n_done == MAX_KEYS || len + 1 >= sizeof msg)
            continue;
        done[n_done] = malloc(strlen(key) + 1);
        if (!done[n_done]) {
            st = TML_ERR_NOMEM;
            break;
        }
        strcpy(done[n_done++], key);
        for (j = i; j < gp->n_node; j++)
            cnt += same_unknown(gp->node[j], key);
        append(msg, sizeof msg, &len, "%s%s (node%s ", n_listed ? ", " : "", key,
               cnt > 1 ? "s" : "");
        for (j = i, k = 0; j < gp->n_node; j++) {
            if (!same_unknown(gp->node[j], key))
                continue;
            if (k == MAX_NAMES && cnt > MAX_NAMES + 1) {
                append(msg, sizeof msg, &len, ", and %zu more", cnt - k);
                break;
            }
            append(msg, sizeof msg, &len, "%s'%s'", k ? ", " : "",
                   node_label(gp->node[j], j, lbl, sizeof lbl));
            k++;
        }
        append(msg, sizeof msg, &len, ")");
        n_listed += cnt;
    }
    for (i = 0; i < n_done; i++)
        free(done[i]);
    if (st)
        return tml_graph_errorf(g, st, "out of memory");
    if (!n_unknown)
        return TML_OK;
    if (len + 1 >= sizeof msg)
        strcpy(msg + sizeof msg - 4, "...");
    if (n_listed < n_unknown)
        return tml_graph_errorf(g, TML_ERR_UNSUPPORTED, "unsupported ops: %s, and %zu more nodes",
                                msg, n_unknown - n_listed);
    return tml_graph_errorf(g, TML_ERR_UNSUPPORTED, "unsupported ops: %s", msg);
}

/* ---- tensors ---- */

/* Adds a constant tensor named `name` (NULL: invented) holding tp's value. Returns its index or
 * -1 with the error set; `ctx` prefixes the message ("node 'a' (Conv): ") or is "". */
static int add_const(tml_graph *g, const Onnx__TensorProto *tp, const char *name, const char *ctx)
{
    tml_onnx_tensor_info info;
    char err[320];
    tml_status st = tml_onnx_tensor_check(tp, &info, err, sizeof err);
    int t;
    tml_tensor *tt;
    if (st) {
        tml_graph_errorf(g, st, "%s%s", ctx, err);
        return -1;
    }
    t = tml_graph_add_tensor(g, name);
    if (t < 0)
        return -1;
    tt = &g->tensors[t];
    tml_tensor_set_shape(tt, info.dtype, info.rank, info.dims);
    /* one byte at least: a constant is recognised by data != NULL, even when empty */
    tt->data = tml_graph_alloc(g, info.nbytes ? info.nbytes : 1);
    if (!tt->data) {
        tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory for tensor '%s' (%zu bytes)", tt->name,
                         info.nbytes);
        return -1;
    }
    tml_onnx_tensor_copy(tp, &info, tt->data);
    return t;
}

/* Adds a constant from plain values (Constant's value_float(s), value_int(s)). */
static int add_const_values(tml_graph *g, const char *name, tml_dtype dt, int rank, int64_t n,
                            const void *vals)
{
    size_t nbytes = (size_t)n * tml_dtype_size(dt);
    int t = tml_graph_add_tensor(g, name);
    tml_tensor *tt;
    if (t < 0)
        return -1;
    tt = &g->tensors[t];
    tml_tensor_set_shape(tt, dt, rank, &n);
    tt->data = tml_graph_alloc(g, nbytes ? nbytes : 1); /* vals may be NULL when empty */
    if (!tt->data) {
        tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory for tensor '%s'", name);
        return -1;
    }
    if (nbytes)
        memcpy(tt->data, vals, nbytes);
    return t;
}

/* Graph input: dtype and dims from its ValueInfo. */
static tml_status set_value_info(tml_graph *g, int t, const Onnx__ValueInfoProto *vi)
{
    const Onnx__TypeProto__Tensor *tt = vi->type ? vi->type->tensor_type : NULL;
    tml_tensor *x = &g->tensors[t];
    int64_t dims[TML_MAX_RANK];
    size_t i;
    tml_status st;
    const char *what;
    tml_dtype dt = TML_DT_UNDEF;

    if (!tt)
        return TML_OK; /* untyped (or a non-tensor type): left for later stages to refuse */
    if (tt->has_elem_type) {
        dt = tml_onnx_dtype(tt->elem_type, &st, &what);
        if (st)
            return tml_graph_errorf(g, st, "graph input '%s': %s data type %d is not supported",
                                    x->name, what, (int)tt->elem_type);
    }
    x->dtype = dt;
    if (!tt->shape)
        return TML_OK;
    if (tt->shape->n_dim > TML_MAX_RANK)
        return tml_graph_errorf(g, TML_ERR_UNSUPPORTED,
                                "graph input '%s': rank %zu is above the maximum of %d", x->name,
                                tt->shape->n_dim, TML_MAX_RANK);
    for (i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        if (d->has_dim_value) {
            if (d->dim_value < 0 || d->dim_value > TML_ONNX_MAX_DIM)
                return tml_graph_errorf(g, TML_ERR_FORMAT,
                                        "graph input '%s': invalid dimension %lld", x->name,
                                        (long long)d->dim_value);
            dims[i] = d->dim_value;
        } else {
            dims[i] = -1; /* dim_param ("N") or nothing: unknown */
        }
    }
    tml_tensor_set_shape(x, dt, (int)tt->shape->n_dim, dims);
    return TML_OK;
}

/* ---- nodes ---- */

static tml_status import_constant(tml_graph *g, const Onnx__NodeProto *np, const char *lbl)
{
    const char *out;
    size_t i;
    if (np->n_output != 1 || !np->output[0] || !*np->output[0])
        return tml_graph_errorf(g, TML_ERR_FORMAT, "node '%s' (Constant): has %zu outputs, expected 1",
                                lbl, np->n_output);
    out = np->output[0];
    if (tml_graph_find_tensor(g, out) >= 0)
        return tml_graph_errorf(g, TML_ERR_FORMAT,
                                "node '%s' (Constant): output '%s' is already defined", lbl, out);
    for (i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        const char *an = ap->name ? ap->name : "";
        char ctx[160];
        snprintf(ctx, sizeof ctx, "node '%s' (Constant): ", lbl);
        if (strcmp(an, "value") == 0) {
            if (!ap->t)
                return tml_graph_errorf(g, TML_ERR_FORMAT, "%sattribute 'value' has no tensor", ctx);
            return add_const(g, ap->t, out, ctx) < 0 ? g->err_status : TML_OK;
        }
        if (strcmp(an, "value_float") == 0)
            return add_const_values(g, out, TML_DT_F32, 0, 1, &ap->f) < 0 ? g->err_status : TML_OK;
        if (strcmp(an, "value_int") == 0)
            return add_const_values(g, out, TML_DT_S64, 0, 1, &ap->i) < 0 ? g->err_status : TML_OK;
        if (strcmp(an, "value_floats") == 0)
            return add_const_values(g, out, TML_DT_F32, 1, (int64_t)ap->n_floats, ap->floats) < 0
                       ? g->err_status
                       : TML_OK;
        if (strcmp(an, "value_ints") == 0)
            return add_const_values(g, out, TML_DT_S64, 1, (int64_t)ap->n_ints, ap->ints) < 0
                       ? g->err_status
                       : TML_OK;
        if (strcmp(an, "sparse_value") == 0 || strcmp(an, "value_string") == 0 ||
            strcmp(an, "value_strings") == 0)
            return tml_graph_errorf(g, TML_ERR_UNSUPPORTED, "%sattribute '%s' is not supported",
                                    ctx, an);
    }
    return tml_graph_errorf(g, TML_ERR_FORMAT, "node '%s' (Constant): has no value attribute", lbl);
}

/* The attribute's ONNX type: the type field, or (IR version 1 files) the field that is set. */
static int attr_type(const Onnx__AttributeProto *ap)
{
    if (ap->has_type)
        return ap->type;
    if (ap->has_f)
        return OA_FLOAT;
    if (ap->has_i)
        return OA_INT;
    if (ap->has_s)
        return OA_STRING;
    if (ap->t)
        return OA_TENSOR;
    if (ap->n_floats)
        return OA_FLOATS;
    if (ap->n_ints)
        return OA_INTS;
    if (ap->n_strings)
        return OA_STRINGS;
    if (ap->n_tensors)
        return OA_TENSORS;
    return 0;
}

static char *dup_bytes(tml_graph *g, const ProtobufCBinaryData *b)
{
    char *s = tml_graph_alloc(g, b->len + 1);
    if (s && b->len)
        memcpy(s, b->data, b->len);
    return s;
}

static tml_status import_attrs(tml_graph *g, int node, const Onnx__NodeProto *np)
{
    tml_node *n = &g->nodes[node];
    const tml_op_info *oi = tml_op_get_info(n->op);
    char ctx[200];
    size_t i, j;

    snprintf(ctx, sizeof ctx, "node '%s' (%s): ", n->name, oi && oi->onnx_name ? oi->onnx_name : "?");
    if (np->n_attribute == 0)
        return TML_OK;
    if (np->n_attribute > MAX_NODE_ATTRS)
        return tml_graph_errorf(g, TML_ERR_UNSUPPORTED, "%shas %zu attributes, at most %d supported",
                                ctx, np->n_attribute, MAX_NODE_ATTRS);
    /* one array for all attributes (tml_node_add_attr would copy the array once per attribute) */
    n->attrs = tml_graph_alloc(g, sizeof(tml_attr) * np->n_attribute);
    if (!n->attrs)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    n->n_attrs = 0;
    for (i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        tml_attr *a = &n->attrs[i];
        int type = attr_type(ap);
        const char *an = ap->name;
        if (!an || !*an)
            return tml_graph_errorf(g, TML_ERR_FORMAT, "%sattribute %zu has no name", ctx, i);
        for (j = 0; j < i; j++)
            if (strcmp(n->attrs[j].name, an) == 0)
                return tml_graph_errorf(g, TML_ERR_FORMAT, "%sattribute '%s' is given twice", ctx, an);
        a->name = tml_graph_strdup(g, an);
        a->tensor = -1;
        if (!a->name)
            return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
        switch (type) {
        case OA_FLOAT:
            a->type = TML_ATTR_FLOAT;
            a->f = ap->f;
            break;
        case OA_INT:
            a->type = TML_ATTR_INT;
            a->i = ap->i;
            break;
        case OA_STRING:
            a->type = TML_ATTR_STRING;
            a->s = dup_bytes(g, &ap->s);
            if (!a->s)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            break;
        case OA_FLOATS:
            a->type = TML_ATTR_FLOATS;
            a->n = (int)ap->n_floats;
            a->floats = tml_graph_memdup(g, ap->floats, sizeof(float) * ap->n_floats);
            if (!a->floats)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            break;
        case OA_INTS:
            a->type = TML_ATTR_INTS;
            a->n = (int)ap->n_ints;
            a->ints = tml_graph_memdup(g, ap->ints, sizeof(int64_t) * ap->n_ints);
            if (!a->ints)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            break;
        case OA_STRINGS:
            a->type = TML_ATTR_STRINGS;
            a->n = (int)ap->n_strings;
            a->strings = tml_graph_alloc(g, sizeof(char *) * (ap->n_strings ? ap->n_strings : 1));
            if (!a->strings)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            for (j = 0; j < ap->n_strings; j++)
                if (!(a->strings[j] = dup_bytes(g, &ap->strings[j])))
                    return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            break;
        case OA_TENSOR: {
            char tn[256];
            const char *name = tn;
            int t;
            if (!ap->t)
                return tml_graph_errorf(g, TML_ERR_FORMAT, "%sattribute '%s' has no tensor", ctx, an);
            snprintf(tn, sizeof tn, "%s:%s", n->name, an);
            if (tml_graph_find_tensor(g, tn) >= 0)
                name = NULL; /* invent one */
            t = add_const(g, ap->t, name, ctx);
            if (t < 0)
                return g->err_status;
            n = &g->nodes[node]; /* the tensor array moved; the node array did not, but be plain */
            a = &n->attrs[i];
            a->type = TML_ATTR_TENSOR;
            a->tensor = t;
            break;
        }
        case OA_GRAPH:
        case OA_GRAPHS:
        case OA_TENSORS:
        case OA_SPARSE_TENSOR:
        case OA_SPARSE_TENSORS:
        case OA_TYPE_PROTO:
        case OA_TYPE_PROTOS: {
            static const char *const names[] = {
                [OA_GRAPH] = "GRAPH", [OA_GRAPHS] = "GRAPHS", [OA_TENSORS] = "TENSORS",
                [OA_SPARSE_TENSOR] = "SPARSE_TENSOR", [OA_SPARSE_TENSORS] = "SPARSE_TENSORS",
                [OA_TYPE_PROTO] = "TYPE_PROTO", [OA_TYPE_PROTOS] = "TYPE_PROTOS"};
            return tml_graph_errorf(g, TML_ERR_UNSUPPORTED,
                                    "%sattribute '%s' of type %s is not supported", ctx, an,
                                    names[type]);
        }
        default:
            return tml_graph_errorf(g, TML_ERR_FORMAT, "%sattribute '%s' has invalid type %d", ctx,
                                    an, type);
        }
        n->n_attrs = (int)i + 1;
    }
    return TML_OK;
}

static tml_status import_node(tml_graph *g, const Onnx__NodeProto *np, size_t idx)
{
    char lblbuf[32];
    const char *lbl = node_label(np, idx, lblbuf, sizeof lblbuf);
    const char *opn = np->op_type ? np->op_type : "";
    tml_op op;
    int *io, node;
    size_t i;
    tml_status st = TML_OK;

    if (strcmp(opn, "Constant") == 0)
        return import_constant(g, np, lbl);
    op = tml_op_from_onnx(opn); /* known: check_ops ran first */
    if (np->n_input > MAX_NODE_IO || np->n_output > MAX_NODE_IO)
        return tml_graph_errorf(g, TML_ERR_FORMAT, "node '%s' (%s): has %zu inputs and %zu outputs",
                                lbl, opn, np->n_input, np->n_output);
    io = malloc(sizeof(int) * (np->n_input + np->n_output + 1));
    if (!io)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
    for (i = 0; i < np->n_input && !st; i++) {
        const char *nm = np->input[i];
        io[i] = -1; /* "" = absent optional input */
        if (nm && *nm && (io[i] = tml_graph_find_tensor(g, nm)) < 0)
            st = tml_graph_errorf(g, TML_ERR_FORMAT,
                                  "node '%s' (%s): input '%s' is not defined before this node "
                                  "(no initializer, graph input or earlier node output has "
                                  "that name)",
                                  lbl, opn, nm);
    }
    for (i = 0; i < np->n_output && !st; i++) {
        const char *nm = np->output[i];
        int *o = &io[np->n_input + i];
        *o = -1;
        if (!nm || !*nm)
            continue;
        if (tml_graph_find_tensor(g, nm) >= 0) {
            st = tml_graph_errorf(g, TML_ERR_FORMAT, "node '%s' (%s): output '%s' is already defined",
                                  lbl, opn, nm);
            break;
        }
        if ((*o = tml_graph_add_tensor(g, nm)) < 0)
            st = g->err_status;
    }
    if (!st) {
        node = tml_graph_add_node(g, op, np->name, (int)np->n_input, io, (int)np->n_output,
                                  io + np->n_input);
        st = node < 0 ? g->err_status : import_attrs(g, node, np);
    }
    free(io);
    return st;
}

/* ---- the whole model ---- */

static tml_status import_graph(tml_graph *g, const Onnx__ModelProto *m)
{
    const Onnx__GraphProto *gp = m->graph;
    int64_t opset = -1;
    size_t i;
    tml_status st;

    for (i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        if (!is_default_domain(o->domain))
            continue;
        if (!o->has_version || o->version < 1 || o->version > MAX_OPSET)
            return tml_graph_errorf(g, TML_ERR_FORMAT, "invalid ai.onnx opset version %lld",
                                    (long long)o->version);
        if (o->version > opset)
            opset = o->version;
    }
    if (opset < 0)
        return tml_graph_errorf(g, TML_ERR_FORMAT, "no opset_import for the default domain");
    g->opset = opset;
    if (!gp)
        return tml_graph_errorf(g, TML_ERR_FORMAT, "model has no graph");
    g->name = tml_graph_strdup(g, str_or(gp->name, "model"));
    if (!g->name)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");

    if ((st = check_ops(g, gp)) != TML_OK)
        return st;

    for (i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return tml_graph_errorf(g, TML_ERR_FORMAT, "initializer %zu has no name", i);
        if (add_const(g, tp, tp->name, "") < 0)
            return g->err_status;
    }
    for (i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        int t;
        if (!vi->name || !*vi->name)
            return tml_graph_errorf(g, TML_ERR_FORMAT, "graph input %zu has no name", i);
        t = tml_graph_find_tensor(g, vi->name);
        if (t >= 0 && g->tensors[t].data)
            continue; /* an initializer listed as input (IR < 4 style): a constant */
        if (t >= 0)
            return tml_graph_errorf(g, TML_ERR_FORMAT, "graph input '%s' is listed twice",
                                    vi->name);
        if ((t = tml_graph_add_tensor(g, vi->name)) < 0)
            return g->err_status;
        if ((st = set_value_info(g, t, vi)) != TML_OK || (st = tml_graph_add_input(g, t)) != TML_OK)
            return st;
    }
    for (i = 0; i < gp->n_node; i++)
        if ((st = import_node(g, gp->node[i], i)) != TML_OK)
            return st;
    for (i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        int t = vi->name && *vi->name ? tml_graph_find_tensor(g, vi->name) : -1;
        if (t < 0)
            return tml_graph_errorf(g, TML_ERR_FORMAT,
                                    "graph output '%s' is not produced by any node, input or "
                                    "initializer",
                                    str_or(vi->name, ""));
        if ((st = tml_graph_add_output(g, t)) != TML_OK)
            return st;
    }
    return tml_graph_verify(g);
}

tml_status tml_import_onnx(tml_graph *g, const uint8_t *data, size_t size, const char *source)
{
    Onnx__ModelProto *m;
    tml_pb_budget budget;
    tml_status st;
    const char *src = str_or(source, "model.onnx");

    if (!g)
        return TML_ERR_ARG;
    tml_graph_clear_error(g);
    if (g->n_tensors || g->n_nodes)
        return tml_graph_errorf(g, TML_ERR_ARG, "%s: import needs an empty graph", src);
    g->source = tml_graph_strdup(g, src);
    if (!g->source)
        return tml_graph_errorf(g, TML_ERR_NOMEM, "%s: out of memory", src);
    if (!data && size)
        return tml_graph_errorf(g, TML_ERR_ARG, "%s: no data", src);
    if (size > MAX_MODEL_BYTES)
        return tml_graph_errorf(g, TML_ERR_FIT, "%s: model is %zu bytes, the limit is 1 GiB", src,
                                size);
    tml_pb_budget_init(&budget, size);
    m = onnx__model_proto__unpack(&budget.base, size, data);
    if (!m)
        return tml_graph_errorf(g, TML_ERR_FORMAT,
                                "%s: not an ONNX model (protobuf parse failed: truncated, corrupt "
                                "or inflating beyond %zu MiB)",
                                src, budget.budget >> 20);
    st = import_graph(g, m);
    onnx__model_proto__free_unpacked(m, &budget.base);
    if (st) {
        /* every message starts with the source name; internal messages are written without it */
        char msg[sizeof g->err];
        tml_status est = g->err_status ? g->err_status : st;
        snprintf(msg, sizeof msg, "%s", g->err[0] ? g->err : tml_status_str(st));
        tml_graph_clear_error(g);
        tml_graph_errorf(g, est, "%s: %s", src, msg);
    }
    return st;
}
