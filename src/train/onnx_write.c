/*
 * onnx_write.c - tml_graph -> ONNX ModelProto bytes (ir_version 8, opset 13 or the source's
 * opset if newer), so a trained graph goes back to `tmlaas compile` and to other tools.
 *
 * How: the protobuf-c types generated from src/import/onnx.proto are filled from the graph
 * (live nodes, constants with data as initializers in raw_data, inputs and outputs with their
 * shapes) and packed with protobuf_c_message_pack. Every allocation goes into one list freed at
 * the end. Attributes that older opsets had and opset 13 dropped (consumed_inputs, is_test,
 * spatial, broadcast) are left out, and a Softmax imported from opset < 13 gets its old
 * default axis=1 spelled out so it keeps its meaning.
 *
 * Why protobuf-c: it is already the project's ONNX dependency; hand-encoding would be a second
 * protobuf implementation to keep right.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "tml/train.h"

typedef struct {
    void **p;
    size_t n, cap;
    int oom;
} pool;

static void *palloc(pool *pl, size_t size)
{
    void *m;
    if (pl->n == pl->cap) {
        size_t nc = pl->cap ? pl->cap * 2 : 256;
        void **np = realloc(pl->p, nc * sizeof *np);
        if (!np) {
            pl->oom = 1;
            return NULL;
        }
        pl->p = np;
        pl->cap = nc;
    }
    m = calloc(1, size ? size : 1);
    if (!m) {
        pl->oom = 1;
        return NULL;
    }
    pl->p[pl->n++] = m;
    return m;
}

static Onnx__TensorProto *tensor_proto(pool *pl, const tml_tensor *t)
{
    Onnx__TensorProto *tp = palloc(pl, sizeof *tp);
    int64_t nb = tml_tensor_nbytes(t);
    int i;
    if (!tp)
        return NULL;
    onnx__tensor_proto__init(tp);
    tp->name = (char *)t->name;
    tp->has_data_type = 1;
    tp->data_type = (int32_t)t->dtype; /* tml_dtype numbers are ONNX's */
    tp->n_dims = (size_t)t->rank;
    tp->dims = palloc(pl, sizeof(int64_t) * (size_t)(t->rank > 0 ? t->rank : 1));
    if (!tp->dims)
        return NULL;
    for (i = 0; i < t->rank; i++)
        tp->dims[i] = t->dims[i];
    tp->has_raw_data = 1;
    tp->raw_data.len = nb > 0 ? (size_t)nb : 0;
    tp->raw_data.data = t->data;
    return tp;
}

static Onnx__ValueInfoProto *value_info(pool *pl, const tml_tensor *t)
{
    Onnx__ValueInfoProto *vi = palloc(pl, sizeof *vi);
    Onnx__TypeProto *ty = palloc(pl, sizeof *ty);
    Onnx__TypeProto__Tensor *tt = palloc(pl, sizeof *tt);
    int i;
    if (!vi || !ty || !tt)
        return NULL;
    onnx__value_info_proto__init(vi);
    onnx__type_proto__init(ty);
    onnx__type_proto__tensor__init(tt);
    vi->name = (char *)t->name;
    vi->type = ty;
    ty->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = t->dtype == TML_DT_UNDEF ? TML_DT_F32 : (int32_t)t->dtype;
    if (t->rank >= 0) {
        Onnx__TensorShapeProto *sp = palloc(pl, sizeof *sp);
        if (!sp)
            return NULL;
        onnx__tensor_shape_proto__init(sp);
        tt->shape = sp;
        sp->n_dim = (size_t)t->rank;
        sp->dim = palloc(pl, sizeof(*sp->dim) * (size_t)(t->rank > 0 ? t->rank : 1));
        if (!sp->dim)
            return NULL;
        for (i = 0; i < t->rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = palloc(pl, sizeof *d);
            if (!d)
                return NULL;
            onnx__tensor_shape_proto__dimension__init(d);
            if (t->dims[i] >= 0) {
                d->has_dim_value = 1;
                d->dim_value = t->dims[i];
            } else
                d->dim_param = i == 0 ? "N" : "?";
            sp->dim[i] = d;
        }
    }
    return vi;
}

static int dropped_attr(const tml_node *n, const char *name)
{
    if (strcmp(name, "consumed_inputs") == 0 || strcmp(name, "is_test") == 0 ||
        strcmp(name, "spatial") == 0 || strcmp(name, "broadcast") == 0)
        return 1;
    return n->op == TML_OP_ADD && strcmp(name, "axis") == 0;
}

static Onnx__AttributeProto *attr_proto(pool *pl, tml_graph *g, const tml_attr *a)
{
    Onnx__AttributeProto *ap = palloc(pl, sizeof *ap);
    int i;
    if (!ap)
        return NULL;
    onnx__attribute_proto__init(ap);
    ap->name = (char *)a->name;
    ap->has_type = 1;
    switch (a->type) {
    case TML_ATTR_INT:
        ap->type = 2;
        ap->has_i = 1;
        ap->i = a->i;
        break;
    case TML_ATTR_FLOAT:
        ap->type = 1;
        ap->has_f = 1;
        ap->f = a->f;
        break;
    case TML_ATTR_STRING:
        ap->type = 3;
        ap->has_s = 1;
        ap->s.data = (uint8_t *)a->s;
        ap->s.len = a->s ? strlen(a->s) : 0;
        break;
    case TML_ATTR_INTS:
        ap->type = 7;
        ap->n_ints = (size_t)a->n;
        ap->ints = a->ints;
        break;
    case TML_ATTR_FLOATS:
        ap->type = 6;
        ap->n_floats = (size_t)a->n;
        ap->floats = a->floats;
        break;
    case TML_ATTR_STRINGS:
        ap->type = 8;
        ap->n_strings = (size_t)a->n;
        ap->strings = palloc(pl, sizeof(ProtobufCBinaryData) * (size_t)(a->n > 0 ? a->n : 1));
        if (!ap->strings)
            return NULL;
        for (i = 0; i < a->n; i++) {
            ap->strings[i].data = (uint8_t *)a->strings[i];
            ap->strings[i].len = strlen(a->strings[i]);
        }
        break;
    case TML_ATTR_TENSOR:
        if (a->tensor < 0 || a->tensor >= g->n_tensors)
            return NULL;
        ap->type = 4;
        ap->t = tensor_proto(pl, &g->tensors[a->tensor]);
        break;
    default:
        return NULL;
    }
    return ap;
}

tml_status tml_onnx_write_mem(tml_graph *g, uint8_t **out, size_t *size)
{
    pool pl = {0};
    Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
    Onnx__GraphProto gp = ONNX__GRAPH_PROTO__INIT;
    Onnx__OperatorSetIdProto op = ONNX__OPERATOR_SET_ID_PROTO__INIT;
    Onnx__OperatorSetIdProto *ops[1] = {&op};
    char *used = NULL;
    int i, j, k;
    size_t len;
    tml_status st = TML_OK;
    *out = NULL;
    *size = 0;

    m.has_ir_version = 1;
    m.ir_version = 8;
    m.producer_name = "tmlaas";
    m.producer_version = TML_VERSION;
    m.graph = &gp;
    m.n_opset_import = 1;
    m.opset_import = ops;
    op.domain = "";
    op.has_version = 1;
    op.version = g->opset > 13 ? g->opset : 13;
    gp.name = g->name ? g->name : "tmlaas";

    used = calloc((size_t)g->n_tensors + 1, 1);
    gp.node = palloc(&pl, sizeof(*gp.node) * (size_t)(g->n_nodes + 1));
    gp.initializer = palloc(&pl, sizeof(*gp.initializer) * (size_t)(g->n_tensors + 1));
    gp.input = palloc(&pl, sizeof(*gp.input) * (size_t)(g->n_inputs + 1));
    gp.output = palloc(&pl, sizeof(*gp.output) * (size_t)(g->n_outputs + 1));
    if (!used || pl.oom) {
        st = TML_ERR_NOMEM;
        goto done;
    }
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *n = &g->nodes[i];
        const tml_op_info *oi = tml_op_get_info(n->op);
        Onnx__NodeProto *np;
        int softmax_axis = n->op == TML_OP_SOFTMAX && g->opset > 0 && g->opset < 13 &&
                           !tml_node_attr(n, "axis");
        if (n->dead || n->op == TML_OP_CONSTANT)
            continue;
        if (!oi || !oi->onnx_name) {
            st = tml_node_errorf(g, i, TML_ERR_UNSUPPORTED, "op has no ONNX spelling");
            goto done;
        }
        if (n->act != TML_ACT_NONE) {
            st = tml_node_errorf(g, i, TML_ERR_UNSUPPORTED,
                                 "fused activation cannot be written to ONNX");
            goto done;
        }
        np = palloc(&pl, sizeof *np);
        if (!np)
            break;
        onnx__node_proto__init(np);
        np->name = (char *)n->name;
        np->op_type = (char *)oi->onnx_name;
        np->n_input = (size_t)n->n_in;
        np->input = palloc(&pl, sizeof(char *) * (size_t)(n->n_in + 1));
        np->n_output = (size_t)n->n_out;
        np->output = palloc(&pl, sizeof(char *) * (size_t)(n->n_out + 1));
        np->attribute = palloc(&pl, sizeof(*np->attribute) * (size_t)(n->n_attrs + 1));
        if (pl.oom)
            break;
        for (j = 0; j < n->n_in; j++) {
            np->input[j] = n->in[j] >= 0 ? (char *)g->tensors[n->in[j]].name : "";
            if (n->in[j] >= 0)
                used[n->in[j]] = 1;
        }
        for (j = 0; j < n->n_out; j++)
            np->output[j] = n->out[j] >= 0 ? (char *)g->tensors[n->out[j]].name : "";
        for (j = 0, k = 0; j < n->n_attrs; j++) {
            Onnx__AttributeProto *ap;
            if (dropped_attr(n, n->attrs[j].name))
                continue;
            ap = attr_proto(&pl, g, &n->attrs[j]);
            if (!ap) {
                st = pl.oom ? TML_ERR_NOMEM
                            : tml_node_errorf(g, i, TML_ERR_UNSUPPORTED,
                                              "attribute '%s' cannot be written", n->attrs[j].name);
                goto done;
            }
            np->attribute[k++] = ap;
        }
        if (softmax_axis) {
            static tml_attr one = {"axis", TML_ATTR_INT, 0, 1, 0.0f, NULL, 0, NULL, NULL, NULL};
            Onnx__AttributeProto *ap = attr_proto(&pl, g, &one);
            if (!ap)
                break;
            np->attribute[k++] = ap;
        }
        np->n_attribute = (size_t)k;
        gp.node[gp.n_node++] = np;
    }
    for (i = 0; i < g->n_outputs; i++)
        used[g->outputs[i]] = 1;
    for (i = 0; i < g->n_tensors && !pl.oom; i++) {
        const tml_tensor *t = &g->tensors[i];
        int from_node = t->producer >= 0 && !g->nodes[t->producer].dead &&
                        g->nodes[t->producer].op != TML_OP_CONSTANT;
        if (!used[i] || !t->data || from_node)
            continue;
        if (!(gp.initializer[gp.n_initializer++] = tensor_proto(&pl, t)))
            break;
    }
    for (i = 0; i < g->n_inputs && !pl.oom; i++)
        if (!g->tensors[g->inputs[i]].data)
            gp.input[gp.n_input++] = value_info(&pl, &g->tensors[g->inputs[i]]);
    for (i = 0; i < g->n_outputs && !pl.oom; i++)
        gp.output[gp.n_output++] = value_info(&pl, &g->tensors[g->outputs[i]]);
    if (pl.oom) {
        st = TML_ERR_NOMEM;
        goto done;
    }
    len = protobuf_c_message_get_packed_size(&m.base);
    *out = malloc(len ? len : 1);
    if (!*out) {
        st = TML_ERR_NOMEM;
        goto done;
    }
    *size = protobuf_c_message_pack(&m.base, *out);
done:
    for (i = 0; i < (int)pl.n; i++)
        free(pl.p[i]);
    free(pl.p);
    free(used);
    if (st == TML_ERR_NOMEM)
        tml_graph_errorf(g, st, "onnx writer: out of memory");
    return st;
}

tml_status tml_onnx_write_file(tml_graph *g, const char *path)
{
    uint8_t *buf;
    size_t size;
    FILE *f;
    tml_status st = tml_onnx_write_mem(g, &buf, &size);
    if (st)
        return st;
    f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, size, f) != size) {
        if (f)
            fclose(f);
        free(buf);
        return tml_graph_errorf(g, TML_ERR_IO, "cannot write '%s'", path);
    }
    free(buf);
    if (fclose(f) != 0)
        return tml_graph_errorf(g, TML_ERR_IO, "cannot write '%s'", path);
    return TML_OK;
}
