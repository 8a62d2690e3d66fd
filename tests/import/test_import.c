/*
 * test_import.c - the ONNX importer and the .npy/.pb readers, on real files and hostile ones.
 *
 * Real files: every model.onnx and every test_data_set_N .pb file of the shared corpus
 * (onnx-node, onnx-extra) must load (skipped with a message when the corpus is absent).
 * Hostile files: every truncation of a model, random byte flips, and hand-made models built
 * here with the same protobuf-c schema (undefined inputs, unknown ops, bad tensors, ...). The
 * hand-made models make the error paths testable without depending on the corpus.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "onnx.pb-c.h"
#include "tml/import.h"
#include "tml/tensor_io.h"

/* ---- a tiny allocation pool so hand-made protobuf structs are freed in one go ---- */

static void *pool[4096];
static int n_pool;

static void *ta(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    assert_non_null(p);
    assert_true(n_pool < (int)(sizeof pool / sizeof *pool));
    pool[n_pool++] = p;
    return p;
}

static void pool_free(void)
{
    while (n_pool)
        free(pool[--n_pool]);
}

static char **strv(int n, const char **s)
{
    char **v = ta(sizeof(char *) * (size_t)(n ? n : 1));
    int i;
    for (i = 0; i < n; i++)
        v[i] = (char *)s[i];
    return v;
}

static Onnx__NodeProto *mk_node(const char *name, const char *op, int nin, const char **in,
                                int nout, const char **out)
{
    Onnx__NodeProto *n = ta(sizeof *n);
    onnx__node_proto__init(n);
    n->name = (char *)name;
    n->op_type = (char *)op;
    n->n_input = (size_t)nin;
    n->input = strv(nin, in);
    n->n_output = (size_t)nout;
    n->output = strv(nout, out);
    return n;
}

static Onnx__AttributeProto *node_attr(Onnx__NodeProto *n, const char *name, int type)
{
    Onnx__AttributeProto **na = ta(sizeof(*na) * (n->n_attribute + 1));
    Onnx__AttributeProto *a = ta(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = (char *)name;
    a->has_type = 1;
    a->type = type;
    if (n->n_attribute)
        memcpy(na, n->attribute, sizeof(*na) * n->n_attribute);
    na[n->n_attribute++] = a;
    n->attribute = na;
    return a;
}

static Onnx__TensorProto *mk_tensor(const char *name, int dtype, int rank, const int64_t *dims)
{
    Onnx__TensorProto *t = ta(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = (char *)name;
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = ta(sizeof(int64_t) * (size_t)(rank ? rank : 1));
    if (rank)
        memcpy(t->dims, dims, sizeof(int64_t) * (size_t)rank);
    return t;
}

static Onnx__TensorProto *mk_tensor_f32(const char *name, int rank, const int64_t *dims, int n,
                                        const float *vals)
{
    Onnx__TensorProto *t = mk_tensor(name, 1, rank, dims);
    t->has_raw_data = 1;
    t->raw_data.len = sizeof(float) * (size_t)n;
    t->raw_data.data = ta(t->raw_data.len);
    memcpy(t->raw_data.data, vals, t->raw_data.len);
    return t;
}

/* A ValueInfo of a float tensor; dims of -1 become dim_param "N". rank -1: no shape. */
static Onnx__ValueInfoProto *mk_vi(const char *name, int elem, int rank, const int64_t *dims)
{
    Onnx__ValueInfoProto *v = ta(sizeof *v);
    Onnx__TypeProto *tp = ta(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = ta(sizeof *tt);
    int i;
    onnx__value_info_proto__init(v);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    v->name = (char *)name;
    v->type = tp;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = elem;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sp = ta(sizeof *sp);
        onnx__tensor_shape_proto__init(sp);
        sp->n_dim = (size_t)rank;
        sp->dim = ta(sizeof(*sp->dim) * (size_t)(rank ? rank : 1));
        for (i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = ta(sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] >= 0) {
                d->has_dim_value = 1;
                d->dim_value = dims[i];
            } else {
                d->dim_param = "N";
            }
            sp->dim[i] = d;
        }
        tt->shape = sp;
    }
    return v;
}

typedef struct {
    Onnx__NodeProto *nodes[16];
    int n_nodes;
    Onnx__TensorProto *inits[16];
    int n_inits;
    Onnx__ValueInfoProto *inputs[16];
    int n_inputs;
    Onnx__ValueInfoProto *outputs[16];
    int n_outputs;
    int64_t opset;
} model_spec;

/* Serializes the spec as a ModelProto; the bytes are pool-owned. */
static uint8_t *pack_model(const model_spec *s, size_t *len)
{
    Onnx__ModelProto m;
    Onnx__GraphProto g;
    Onnx__OperatorSetIdProto os;
    Onnx__OperatorSetIdProto *osp[1] = {&os};
    uint8_t *buf;
    onnx__model_proto__init(&m);
    onnx__graph_proto__init(&g);
    onnx__operator_set_id_proto__init(&os);
    os.domain = "";
    os.has_version = 1;
    os.version = s->opset ? s->opset : 13;
    m.has_ir_version = 1;
    m.ir_version = 7;
    m.n_opset_import = 1;
    m.opset_import = osp;
    m.graph = &g;
    g.name = "handmade";
    g.n_node = (size_t)s->n_nodes;
    g.node = (Onnx__NodeProto **)s->nodes;
    g.n_initializer = (size_t)s->n_inits;
    g.initializer = (Onnx__TensorProto **)s->inits;
    g.n_input = (size_t)s->n_inputs;
    g.input = (Onnx__ValueInfoProto **)s->inputs;
    g.n_output = (size_t)s->n_outputs;
    g.output = (Onnx__ValueInfoProto **)s->outputs;
    *len = onnx__model_proto__get_packed_size(&m);
    buf = ta(*len);
    assert_int_equal(onnx__model_proto__pack(&m, buf), *len);
    return buf;
}

/* Imports a spec; returns the status, and the graph in *out (caller frees). */
static tml_status import_spec(const model_spec *s, const char *src, tml_graph **out)
{
    size_t len;
    uint8_t *buf = pack_model(s, &len);
    tml_graph *g = tml_graph_new();
    tml_status st;
    assert_non_null(g);
    st = tml_import_onnx(g, buf, len, src);
    *out = g;
    return st;
}

static bool starts_with(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* x -> Relu -> y, with a constant w added: the smallest useful valid model. */
static void small_spec(model_spec *s)
{
    static const int64_t d[2] = {-1, 4};
    static const int64_t wd[1] = {4};
    static const float w[4] = {1, 2, 3, 4};
    static const char *r_in[] = {"x"}, *r_out[] = {"r"}, *a_in[] = {"r", "w"}, *a_out[] = {"y"};
    memset(s, 0, sizeof *s);
    s->inputs[s->n_inputs++] = mk_vi("x", 1, 2, d);
    s->inputs[s->n_inputs++] = mk_vi("w", 1, 1, wd); /* also an initializer: a constant */
    s->inits[s->n_inits++] = mk_tensor_f32("w", 1, wd, 4, w);
    s->nodes[s->n_nodes++] = mk_node("relu", "Relu", 1, r_in, 1, r_out);
    s->nodes[s->n_nodes++] = mk_node("add", "Add", 2, a_in, 1, a_out);
    s->outputs[s->n_outputs++] = mk_vi("y", 1, 2, d);
}

/* ---- corpus walking ---- */

typedef void (*file_fn)(const char *path, void *ctx);

static void walk(const char *dir, file_fn fn, void *ctx)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            walk(path, fn, ctx);
        else
            fn(path, ctx);
    }
    closedir(d);
}

static bool corpus_present(void)
{
    struct stat st;
    if (stat(TML_CORPUS_DIR "/onnx-node", &st) == 0 && S_ISDIR(st.st_mode))
        return true;
    print_message("corpus not found at %s: skipping\n", TML_CORPUS_DIR);
    return false;
}

typedef struct {
    int ok, failed, refused;
} tally;

/* The corpus has a few int4/uint4 tests; the importer refuses those types by design. */
static bool expected_refusal(tml_status st, const char *msg)
{
    return st == TML_ERR_UNSUPPORTED && strstr(msg, "int4 data type") != NULL;
}

static bool ends_with(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void import_one(const char *path, void *ctx)
{
    tally *t = ctx;
    tml_graph *g;
    tml_status st;
    if (!ends_with(path, "/model.onnx"))
        return;
    g = tml_graph_new();
    assert_non_null(g);
    st = tml_import_file(g, path);
    if (st && expected_refusal(st, tml_graph_error(g))) {
        print_message("refused as designed: %s\n", tml_graph_error(g));
        t->refused++;
    } else if (st) {
        print_message("FAIL %s: %s\n", tml_status_str(st), tml_graph_error(g));
        t->failed++;
    } else {
        assert_string_equal(g->source, path);
        assert_true(g->opset >= 6);
        assert_true(g->n_outputs > 0);
        t->ok++;
    }
    tml_graph_free(g);
}

static void test_corpus_models(void **state)
{
    tally t = {0, 0, 0};
    (void)state;
    if (!corpus_present())
        skip();
    walk(TML_CORPUS_DIR "/onnx-node", import_one, &t);
    walk(TML_CORPUS_DIR "/onnx-extra", import_one, &t);
    print_message("imported %d models, %d failed, %d int4 models refused\n", t.ok, t.failed,
                  t.refused);
    assert_int_equal(t.failed, 0);
    assert_true(t.refused <= 10);
    assert_true(t.ok >= 300);
}

static void read_pb_one(const char *path, void *ctx)
{
    tally *t = ctx;
    tml_value v;
    char err[512];
    tml_status st;
    if (!ends_with(path, ".pb") || !strstr(path, "/test_data_set_"))
        return;
    st = tml_pb_read(path, &v, err, sizeof err);
    if (st && expected_refusal(st, err)) {
        t->refused++;
        return;
    }
    if (st) {
        print_message("FAIL %s\n", err);
        t->failed++;
        return;
    }
    assert_int_equal(v.nbytes, (size_t)tml_value_numel(&v) * tml_dtype_size(v.dtype));
    assert_true(v.data != NULL);
    tml_value_release(&v);
    t->ok++;
}

static void test_corpus_pb(void **state)
{
    tally t = {0, 0, 0};
    (void)state;
    if (!corpus_present())
        skip();
    walk(TML_CORPUS_DIR "/onnx-node", read_pb_one, &t);
    walk(TML_CORPUS_DIR "/onnx-extra", read_pb_one, &t);
    print_message("read %d .pb files, %d failed, %d int4 files refused\n", t.ok, t.failed,
                  t.refused);
    assert_int_equal(t.failed, 0);
    assert_true(t.refused <= 20);
    assert_true(t.ok >= 500);
}

/* For each corpus test: graph input i of the model must have the dtype of
 * test_data_set_0/input_i.pb and agree with it on every known dimension. */
static void check_inputs_one(const char *path, void *ctx)
{
    tally *t = ctx;
    char dir[4096], pb[4200], err[512];
    tml_graph *g;
    int i;
    if (!ends_with(path, "/model.onnx"))
        return;
    snprintf(dir, sizeof dir, "%.*s", (int)(strlen(path) - strlen("/model.onnx")), path);
    g = tml_graph_new();
    assert_non_null(g);
    if (tml_import_file(g, path) != TML_OK) {
        tml_graph_free(g); /* reported by test_corpus_models */
        return;
    }
    for (i = 0; i < g->n_inputs; i++) {
        const tml_tensor *x = &g->tensors[g->inputs[i]];
        tml_value v;
        int k;
        snprintf(pb, sizeof pb, "%s/test_data_set_0/input_%d.pb", dir, i);
        if (tml_pb_read(pb, &v, err, sizeof err) != TML_OK)
            continue; /* absent or int4 */
        if (x->dtype != v.dtype || (x->rank >= 0 && x->rank != v.rank)) {
            print_message("MISMATCH %s: input '%s' %s rank %d, .pb %s rank %d\n", path, x->name,
                          tml_dtype_name(x->dtype), x->rank, tml_dtype_name(v.dtype), v.rank);
            t->failed++;
        } else {
            for (k = 0; k < x->rank; k++)
                if (x->dims[k] >= 0 && x->dims[k] != v.dims[k]) {
                    print_message("MISMATCH %s: input '%s' dim %d is %lld, .pb has %lld\n", path,
                                  x->name, k, (long long)x->dims[k], (long long)v.dims[k]);
                    t->failed++;
                    break;
                }
            t->ok++;
        }
        tml_value_release(&v);
    }
    tml_graph_free(g);
}

static void test_corpus_inputs_match_pb(void **state)
{
    tally t = {0, 0, 0};
    (void)state;
    if (!corpus_present())
        skip();
    walk(TML_CORPUS_DIR "/onnx-node", check_inputs_one, &t);
    walk(TML_CORPUS_DIR "/onnx-extra", check_inputs_one, &t);
    print_message("%d graph inputs checked against .pb data, %d mismatches\n", t.ok, t.failed);
    assert_int_equal(t.failed, 0);
    assert_true(t.ok >= 400);
}

/* ---- hand-made models ---- */

static void test_small_model(void **state)
{
    model_spec s;
    tml_graph *g;
    int x, w, y;
    (void)state;
    small_spec(&s);
    assert_int_equal(import_spec(&s, "small.onnx", &g), TML_OK);
    assert_string_equal(g->name, "handmade");
    assert_string_equal(g->source, "small.onnx");
    assert_int_equal(g->opset, 13);
    assert_int_equal(g->n_inputs, 1); /* w is an initializer, so not an input */
    x = tml_graph_find_tensor(g, "x");
    w = tml_graph_find_tensor(g, "w");
    y = tml_graph_find_tensor(g, "y");
    assert_true(x >= 0 && w >= 0 && y >= 0);
    assert_int_equal(g->inputs[0], x);
    assert_int_equal(g->tensors[x].dtype, TML_DT_F32);
    assert_int_equal(g->tensors[x].rank, 2);
    assert_int_equal(g->tensors[x].dims[0], -1);
    assert_int_equal(g->tensors[x].dims[1], 4);
    assert_true(tml_tensor_is_const(&g->tensors[w]));
    assert_false(g->tensors[w].is_input);
    assert_true(((float *)g->tensors[w].data)[3] == 4.0f);
    assert_int_equal(g->n_nodes, 2);
    assert_int_equal(g->nodes[1].op, TML_OP_ADD);
    assert_int_equal(g->nodes[1].in[1], w);
    assert_int_equal(g->n_outputs, 1);
    assert_int_equal(g->outputs[0], y);
    tml_graph_free(g);
    pool_free();
}

static void test_undefined_input(void **state)
{
    static const char *in[] = {"missing"}, *out[] = {"y"};
    static const int64_t d[1] = {4};
    model_spec s;
    tml_graph *g;
    (void)state;
    memset(&s, 0, sizeof s);
    s.inputs[s.n_inputs++] = mk_vi("x", 1, 1, d);
    s.nodes[s.n_nodes++] = mk_node("bad", "Relu", 1, in, 1, out);
    s.outputs[s.n_outputs++] = mk_vi("y", 1, 1, d);
    assert_int_equal(import_spec(&s, "bad.onnx", &g), TML_ERR_FORMAT);
    print_message("message: %s\n", tml_graph_error(g));
    assert_true(starts_with(tml_graph_error(g), "bad.onnx: node 'bad' (Relu): input 'missing'"));
    tml_graph_free(g);
    pool_free();
}

static void test_unsupported_ops(void **state)
{
    static const char *x[] = {"x"}, *a[] = {"a"}, *b[] = {"b"}, *c[] = {"c"}, *d[] = {"d"};
    static const int64_t dims[1] = {4};
    model_spec s;
    tml_graph *g;
    (void)state;
    memset(&s, 0, sizeof s);
    s.inputs[s.n_inputs++] = mk_vi("x", 1, 1, dims);
    s.nodes[s.n_nodes++] = mk_node("a", "Foo", 1, x, 1, a);
    s.nodes[s.n_nodes++] = mk_node("r", "Relu", 1, a, 1, d);
    s.nodes[s.n_nodes++] = mk_node("b", "Bar", 1, d, 1, b);
    s.nodes[s.n_nodes++] = mk_node("c", "Bar", 1, b, 1, c);
    s.outputs[s.n_outputs++] = mk_vi("c", 1, 1, dims);
    assert_int_equal(import_spec(&s, "model.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_string_equal(tml_graph_error(g),
                        "model.onnx: unsupported ops: Foo (node 'a'), Bar (nodes 'b', 'c')");
    tml_graph_free(g);

    /* a node of another domain counts as unknown, named with its domain */
    s.nodes[1]->domain = "com.example";
    assert_int_equal(import_spec(&s, "model.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_string_equal(tml_graph_error(g), "model.onnx: unsupported ops: Foo (node 'a'), "
                                            "com.example.Relu (node 'r'), Bar (nodes 'b', 'c')");
    tml_graph_free(g);
    pool_free();
}

static void test_many_unsupported_ops(void **state)
{
    static const char *x[] = {"x"}, *y[] = {"y"};
    static const int64_t dims[1] = {4};
    static char names[16][40];
    model_spec s;
    tml_graph *g;
    int i;
    (void)state;
    memset(&s, 0, sizeof s);
    s.inputs[s.n_inputs++] = mk_vi("x", 1, 1, dims);
    for (i = 0; i < 16; i++) {
        static char outs[16][16];
        const char *o[1];
        const char *in[1];
        snprintf(names[i], sizeof names[i], "AVeryVeryLongOperatorName%02d", i);
        snprintf(outs[i], sizeof outs[i], "t%d", i);
        o[0] = i == 15 ? "y" : outs[i];
        in[0] = i ? outs[i - 1] : "x";
        s.nodes[s.n_nodes++] = mk_node(NULL, names[i], 1, in, 1, o);
    }
    (void)x;
    (void)y;
    s.outputs[s.n_outputs++] = mk_vi("y", 1, 1, dims);
    assert_int_equal(import_spec(&s, "m.onnx", &g), TML_ERR_UNSUPPORTED);
    print_message("message: %s\n", tml_graph_error(g));
    assert_true(starts_with(tml_graph_error(g),
                            "m.onnx: unsupported ops: AVeryVeryLongOperatorName00 (node '#0'), "
                            "AVeryVeryLongOperatorName01 (node '#1')"));
    /* too long for one message: cut, and says how many nodes were left out */
    assert_non_null(strstr(tml_graph_error(g), "..., and "));
    assert_non_null(strstr(tml_graph_error(g), " more nodes"));
    assert_true(strlen(tml_graph_error(g)) < sizeof g->err);
    tml_graph_free(g);
    pool_free();
}

static void test_tensor_checks(void **state)
{
    static const int64_t d4[1] = {4}, d22[2] = {2, 2};
    static const char *in[] = {"x", "w"}, *out[] = {"y"};
    model_spec s;
    tml_graph *g;
    int w;
    (void)state;

    /* int8 through int32_data */
    memset(&s, 0, sizeof s);
    s.inputs[s.n_inputs++] = mk_vi("x", 3, 1, d4);
    s.inits[s.n_inits] = mk_tensor("w", 3, 1, d4);
    s.inits[s.n_inits]->n_int32_data = 4;
    s.inits[s.n_inits]->int32_data = ta(16);
    s.inits[s.n_inits]->int32_data[0] = -3;
    s.inits[s.n_inits]->int32_data[3] = 127;
    s.n_inits++;
    s.nodes[s.n_nodes++] = mk_node("add", "Add", 2, in, 1, out);
    s.outputs[s.n_outputs++] = mk_vi("y", 3, 1, d4);
    assert_int_equal(import_spec(&s, "i8.onnx", &g), TML_OK);
    w = tml_graph_find_tensor(g, "w");
    assert_int_equal(g->tensors[w].dtype, TML_DT_S8);
    assert_int_equal(((int8_t *)g->tensors[w].data)[0], -3);
    assert_int_equal(((int8_t *)g->tensors[w].data)[3], 127);
    tml_graph_free(g);

    /* float16 bits through int32_data */
    s.inits[0]->data_type = 10;
    s.inits[0]->int32_data[0] = 0x3c00; /* 1.0 */
    assert_int_equal(import_spec(&s, "f16.onnx", &g), TML_OK);
    w = tml_graph_find_tensor(g, "w");
    assert_int_equal(g->tensors[w].dtype, TML_DT_F16);
    assert_int_equal(((uint16_t *)g->tensors[w].data)[0], 0x3c00);
    tml_graph_free(g);

    /* uint32 through uint64_data */
    s.inits[0]->data_type = 12;
    s.inits[0]->n_int32_data = 0;
    s.inits[0]->n_uint64_data = 4;
    s.inits[0]->uint64_data = ta(32);
    s.inits[0]->uint64_data[2] = 4000000000u;
    assert_int_equal(import_spec(&s, "u32.onnx", &g), TML_OK);
    w = tml_graph_find_tensor(g, "w");
    assert_int_equal(((uint32_t *)g->tensors[w].data)[2], 4000000000u);
    tml_graph_free(g);

    /* empty tensors: no typed values at all (found by fuzz_pb/fuzz_onnx: memcpy from NULL) */
    {
        static const int64_t d0[1] = {0};
        Onnx__TensorProto *e = mk_tensor("w", 1, 1, d0);
        Onnx__TensorProto *keep = s.inits[0];
        tml_value v;
        char err[128];
        uint8_t *buf = ta(onnx__tensor_proto__get_packed_size(e));
        size_t len = onnx__tensor_proto__pack(e, buf);
        assert_int_equal(tml_pb_parse(buf, len, &v, err, sizeof err), TML_OK);
        assert_int_equal(v.nbytes, 0);
        assert_int_equal(v.dims[0], 0);
        tml_value_release(&v);
        s.inits[0] = e;
        assert_int_equal(import_spec(&s, "empty.onnx", &g), TML_OK);
        w = tml_graph_find_tensor(g, "w");
        assert_true(tml_tensor_is_const(&g->tensors[w]));
        assert_int_equal(tml_tensor_numel(&g->tensors[w]), 0);
        tml_graph_free(g);
        s.inits[0] = keep;
    }

    /* count mismatch: 4 values for dims [2, 2, ...] */
    s.inits[0]->n_dims = 2;
    s.inits[0]->dims = (int64_t *)d22;
    s.inits[0]->n_uint64_data = 3;
    assert_int_equal(import_spec(&s, "cnt.onnx", &g), TML_ERR_FORMAT);
    print_message("message: %s\n", tml_graph_error(g));
    assert_true(starts_with(tml_graph_error(g), "cnt.onnx: tensor 'w': uint64_data has 3 values, expected 4"));
    tml_graph_free(g);

    /* raw_data of the wrong size */
    s.inits[0]->n_uint64_data = 0;
    s.inits[0]->has_raw_data = 1;
    s.inits[0]->raw_data.len = 15;
    s.inits[0]->raw_data.data = ta(16);
    assert_int_equal(import_spec(&s, "raw.onnx", &g), TML_ERR_FORMAT);
    assert_non_null(strstr(tml_graph_error(g), "tensor 'w': raw_data has 15 bytes, expected 16"));
    tml_graph_free(g);

    /* negative and huge dims */
    s.inits[0]->raw_data.len = 16;
    s.inits[0]->dims = ta(16);
    s.inits[0]->dims[0] = -2;
    s.inits[0]->dims[1] = -2;
    assert_int_equal(import_spec(&s, "neg.onnx", &g), TML_ERR_FORMAT);
    assert_non_null(strstr(tml_graph_error(g), "invalid dimension -2"));
    tml_graph_free(g);
    s.inits[0]->dims[0] = (int64_t)1 << 31;
    s.inits[0]->dims[1] = (int64_t)1 << 31;
    assert_int_equal(import_spec(&s, "big.onnx", &g), TML_ERR_FORMAT);
    tml_graph_free(g);
    s.inits[0]->dims[0] = 2;
    s.inits[0]->dims[1] = 2;

    /* external data, string, int4, unknown data types */
    s.inits[0]->has_data_location = 1;
    s.inits[0]->data_location = 1;
    assert_int_equal(import_spec(&s, "ext.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "tensor 'w': external data is not supported"));
    tml_graph_free(g);
    s.inits[0]->has_data_location = 0;
    s.inits[0]->data_type = 8;
    assert_int_equal(import_spec(&s, "str.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "tensor 'w': string data type"));
    tml_graph_free(g);
    s.inits[0]->data_type = 22;
    assert_int_equal(import_spec(&s, "i4.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "tensor 'w': int4 data type"));
    tml_graph_free(g);
    s.inits[0]->data_type = 99;
    assert_int_equal(import_spec(&s, "dt.onnx", &g), TML_ERR_FORMAT);
    tml_graph_free(g);
    pool_free();
}

static void test_constant_and_attrs(void **state)
{
    static const int64_t d4[1] = {4}, d2[1] = {2};
    static const float two[2] = {2, 3};
    static const char *c_out[] = {"c"}, *k_out[] = {"k"}, *in[] = {"x", "c"}, *out[] = {"y"};
    static const char *rs_in[] = {"y", "k"}, *rs_out[] = {"z"};
    model_spec s;
    tml_graph *g;
    Onnx__AttributeProto *a;
    const tml_node *n;
    const int64_t *ints;
    int c, k;
    (void)state;
    memset(&s, 0, sizeof s);
    s.inputs[s.n_inputs++] = mk_vi("x", 1, 1, d4);
    s.nodes[s.n_nodes] = mk_node("cst", "Constant", 0, NULL, 1, c_out);
    a = node_attr(s.nodes[s.n_nodes++], "value", 4);
    a->t = mk_tensor_f32("cval", 1, d2, 2, two);
    s.nodes[s.n_nodes] = mk_node("cst2", "Constant", 0, NULL, 1, k_out);
    a = node_attr(s.nodes[s.n_nodes++], "value_ints", 7);
    a->n_ints = 2;
    a->ints = ta(16);
    a->ints[0] = 2;
    a->ints[1] = 2;
    s.nodes[s.n_nodes] = mk_node("mul", "Mul", 2, in, 1, out);
    a = node_attr(s.nodes[s.n_nodes], "alpha", 1);
    a->has_f = 1;
    a->f = 0.5f;
    a = node_attr(s.nodes[s.n_nodes], "mode", 3);
    a->has_s = 1;
    a->s.data = (uint8_t *)"abc";
    a->s.len = 3;
    a = node_attr(s.nodes[s.n_nodes], "perm", 7);
    a->n_ints = 3;
    a->ints = ta(24);
    a->ints[2] = 7;
    a = node_attr(s.nodes[s.n_nodes], "scale", 4);
    a->t = mk_tensor_f32("", 1, d2, 2, two);
    a = node_attr(s.nodes[s.n_nodes], "names", 8);
    a->n_strings = 2;
    a->strings = ta(2 * sizeof(ProtobufCBinaryData));
    a->strings[0].data = (uint8_t *)"p";
    a->strings[0].len = 1;
    s.n_nodes++;
    s.nodes[s.n_nodes++] = mk_node("rs", "Reshape", 2, rs_in, 1, rs_out);
    s.outputs[s.n_outputs++] = mk_vi("z", 1, -1, NULL);
    assert_int_equal(import_spec(&s, "c.onnx", &g), TML_OK);
    assert_int_equal(g->n_nodes, 2); /* Constants became tensors */
    c = tml_graph_find_tensor(g, "c");
    k = tml_graph_find_tensor(g, "k");
    assert_true(tml_tensor_is_const(&g->tensors[c]));
    assert_int_equal(g->tensors[c].dims[0], 2);
    assert_true(((float *)g->tensors[c].data)[1] == 3.0f);
    assert_int_equal(g->tensors[k].dtype, TML_DT_S64);
    assert_int_equal(((int64_t *)g->tensors[k].data)[1], 2);
    n = &g->nodes[0];
    assert_true(tml_node_attr_float(n, "alpha", 0) == 0.5f);
    assert_string_equal(tml_node_attr_str(n, "mode", ""), "abc");
    assert_int_equal(tml_node_attr_ints(n, "perm", &ints), 3);
    assert_int_equal(ints[2], 7);
    assert_int_equal(tml_node_attr(n, "scale")->type, TML_ATTR_TENSOR);
    assert_true(tml_tensor_is_const(&g->tensors[tml_node_attr(n, "scale")->tensor]));
    assert_int_equal(tml_node_attr(n, "names")->n, 2);
    assert_string_equal(tml_node_attr(n, "names")->strings[0], "p");
    assert_string_equal(tml_node_attr(n, "names")->strings[1], "");
    tml_graph_free(g);

    /* an empty value_ints (NULL array in protobuf-c) */
    s.nodes[1]->attribute[0]->n_ints = 0;
    assert_int_equal(import_spec(&s, "c.onnx", &g), TML_OK);
    k = tml_graph_find_tensor(g, "k");
    assert_int_equal(tml_tensor_numel(&g->tensors[k]), 0);
    assert_true(tml_tensor_is_const(&g->tensors[k]));
    tml_graph_free(g);
    s.nodes[1]->attribute[0]->n_ints = 2;

    /* sparse_value is refused by name */
    s.nodes[1]->attribute[0]->name = "sparse_value";
    assert_int_equal(import_spec(&s, "c.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "node 'cst2' (Constant): attribute 'sparse_value'"));
    tml_graph_free(g);
    s.nodes[1]->attribute[0]->name = "value_ints";

    /* graph attributes (If/Loop bodies) are refused */
    s.nodes[2]->attribute[0]->type = 5;
    assert_int_equal(import_spec(&s, "c.onnx", &g), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(tml_graph_error(g), "node 'mul' (Mul): attribute 'alpha' of type GRAPH"));
    tml_graph_free(g);
    pool_free();
}

static void test_structure_errors(void **state)
{
    model_spec s;
    tml_graph *g;
    size_t len;
    uint8_t *buf;
    (void)state;

    /* duplicate output */
    small_spec(&s);
    s.nodes[1]->output[0] = "r";
    assert_int_equal(import_spec(&s, "dup.onnx", &g), TML_ERR_FORMAT);
    assert_non_null(strstr(tml_graph_error(g), "node 'add' (Add): output 'r' is already defined"));
    tml_graph_free(g);

    /* graph output never produced */
    small_spec(&s);
    s.outputs[0]->name = "nowhere";
    assert_int_equal(import_spec(&s, "out.onnx", &g), TML_ERR_FORMAT);
    assert_non_null(strstr(tml_graph_error(g), "graph output 'nowhere'"));
    tml_graph_free(g);

    /* wrong arity is caught by tml_graph_verify, message still prefixed */
    small_spec(&s);
    s.nodes[1]->n_input = 1;
    assert_int_equal(import_spec(&s, "arity.onnx", &g), TML_ERR_FORMAT);
    print_message("message: %s\n", tml_graph_error(g));
    assert_true(starts_with(tml_graph_error(g), "arity.onnx: node 'add' (Add): has 1 inputs"));
    tml_graph_free(g);

    /* no opset, empty input, garbage, non-empty graph */
    g = tml_graph_new();
    assert_int_equal(tml_import_onnx(g, (const uint8_t *)"", 0, "empty.onnx"), TML_ERR_FORMAT);
    assert_true(starts_with(tml_graph_error(g), "empty.onnx: "));
    tml_graph_free(g);
    g = tml_graph_new();
    assert_int_equal(tml_import_onnx(g, (const uint8_t *)"\xff\xff\xff", 3, "junk.onnx"),
                     TML_ERR_FORMAT);
    tml_graph_free(g);
    small_spec(&s);
    buf = pack_model(&s, &len);
    g = tml_graph_new();
    assert_int_equal(tml_import_onnx(g, buf, len, "a.onnx"), TML_OK);
    assert_int_equal(tml_import_onnx(g, buf, len, "a.onnx"), TML_ERR_ARG);
    tml_graph_free(g);
    pool_free();
}

/* ---- hostile bytes: truncation and flips ---- */

static uint8_t *load_or_make(const char *path, size_t *len, char *src, size_t srcsz)
{
    uint8_t *data;
    char err[256];
    model_spec s;
    if (tml_file_read(path, 1 << 20, &data, len, err, sizeof err) == TML_OK) {
        snprintf(src, srcsz, "%s", path);
        return data;
    }
    print_message("%s: using a hand-made model instead\n", err);
    small_spec(&s);
    {
        uint8_t *b = pack_model(&s, len);
        data = malloc(*len);
        assert_non_null(data);
        memcpy(data, b, *len);
    }
    pool_free();
    snprintf(src, srcsz, "handmade.onnx");
    return data;
}

static void test_truncation(void **state)
{
    static const char *models[] = {
        TML_CORPUS_DIR "/onnx-extra/pytorch-converted/test_Conv2d/model.onnx",
        TML_CORPUS_DIR "/onnx-node/test_conv_with_strides_padding/model.onnx",
        "/nonexistent/force-handmade.onnx",
    };
    size_t m;
    (void)state;
    for (m = 0; m < sizeof models / sizeof *models; m++) {
        char src[512];
        size_t len, cut;
        uint8_t *data = load_or_make(models[m], &len, src, sizeof src);
        tml_graph *g = tml_graph_new();
        assert_int_equal(tml_import_onnx(g, data, len, src), TML_OK);
        tml_graph_free(g);
        for (cut = 0; cut < len; cut++) {
            /* a copy of exactly cut bytes, so ASan sees any read past the end */
            uint8_t *p = malloc(cut ? cut : 1);
            tml_status st;
            assert_non_null(p);
            memcpy(p, data, cut);
            g = tml_graph_new();
            st = tml_import_onnx(g, p, cut, src);
            if (st == TML_OK)
                print_message("%s: truncated to %zu of %zu bytes still imports\n", src, cut, len);
            assert_true(st < 0);
            assert_true(starts_with(tml_graph_error(g), src));
            tml_graph_free(g);
            free(p);
        }
        free(data);
    }
}

static uint32_t rng_state = 12345u;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

static void test_byte_flips(void **state)
{
    char src[512];
    size_t len;
    uint8_t *data = load_or_make(TML_CORPUS_DIR "/onnx-node/test_conv_with_strides_padding/model.onnx",
                                 &len, src, sizeof src);
    uint8_t *p = malloc(len);
    int i, errors = 0, oks = 0;
    (void)state;
    assert_non_null(p);
    for (i = 0; i < 3000; i++) {
        int k, nflip = 1 + (int)(rnd() % 4);
        tml_graph *g = tml_graph_new();
        tml_status st;
        memcpy(p, data, len);
        for (k = 0; k < nflip; k++)
            p[rnd() % len] ^= (uint8_t)(1u + rnd() % 255u);
        st = tml_import_onnx(g, p, len, src);
        if (st) {
            errors++;
            assert_true(starts_with(tml_graph_error(g), src));
        } else {
            oks++; /* a flipped weight byte is still a valid model */
        }
        tml_graph_free(g);
    }
    print_message("byte flips: %d errors, %d still valid\n", errors, oks);
    assert_true(errors > 1000);
    free(p);
    free(data);
}

/* ---- .npy ---- */

static void tmp_path(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/tml_test_import_%ld_%s", P_tmpdir, (long)getpid(), name);
}

static void test_npy_roundtrip(void **state)
{
    static const tml_dtype dts[] = {TML_DT_F32, TML_DT_S8,  TML_DT_U8,  TML_DT_S16,
                                    TML_DT_U16, TML_DT_S32, TML_DT_U32, TML_DT_S64,
                                    TML_DT_U64, TML_DT_F64, TML_DT_BOOL, TML_DT_F16};
    static const int64_t shapes[4][3] = {{0}, {3}, {2, 3}, {2, 0, 5}};
    static const int ranks[4] = {0, 1, 2, 3};
    char path[512], err[256];
    size_t i, s, b;
    (void)state;
    tmp_path(path, sizeof path, "rt.npy");
    for (i = 0; i < sizeof dts / sizeof *dts; i++) {
        for (s = 0; s < 4; s++) {
            tml_value v, r;
            assert_int_equal(tml_value_alloc(&v, dts[i], ranks[s], shapes[s]), TML_OK);
            for (b = 0; b < v.nbytes; b++)
                ((uint8_t *)v.data)[b] = dts[i] == TML_DT_BOOL ? (uint8_t)(b & 1) : (uint8_t)(b * 37 + 1);
            assert_int_equal(tml_npy_write(path, &v, err, sizeof err), TML_OK);
            assert_int_equal(tml_npy_read(path, &r, err, sizeof err), TML_OK);
            assert_int_equal(r.dtype, v.dtype);
            assert_int_equal(r.rank, v.rank);
            assert_memory_equal(r.dims, v.dims, sizeof(int64_t) * (size_t)v.rank);
            assert_int_equal(r.nbytes, v.nbytes);
            if (v.nbytes)
                assert_memory_equal(r.data, v.data, v.nbytes);
            tml_value_release(&v);
            tml_value_release(&r);
        }
    }
    unlink(path);
}

/* Builds a .npy in buf from a header string and n payload bytes. */
static size_t mk_npy(uint8_t *buf, int major, const char *hdr, size_t n)
{
    size_t h = strlen(hdr), off;
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (uint8_t)major;
    buf[7] = 0;
    if (major == 1) {
        buf[8] = (uint8_t)h;
        buf[9] = (uint8_t)(h >> 8);
        off = 10;
    } else {
        buf[8] = (uint8_t)h;
        buf[9] = (uint8_t)(h >> 8);
        buf[10] = buf[11] = 0;
        off = 12;
    }
    memcpy(buf + off, hdr, h);
    memset(buf + off + h, 0x11, n);
    return off + h + n;
}

static void test_npy_parse(void **state)
{
    static const struct {
        int major;
        const char *hdr;
        size_t n;
        tml_status want;
        int rank;
    } cases[] = {
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 12, TML_OK, 1},
        {2, "{\"descr\": \"<i8\", \"fortran_order\": False, \"shape\": ()}  \n", 8, TML_OK, 0},
        {3, "{'shape': (2, 3L), 'descr': '|u1', 'fortran_order': False}", 6, TML_OK, 2},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", 11, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'fortran_order': True, 'shape': (3,), }", 12, TML_ERR_UNSUPPORTED, 0},
        {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", 12, TML_ERR_UNSUPPORTED, 0},
        {1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", 24, TML_ERR_UNSUPPORTED, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }", 0, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}", 12, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (3,)}", 12, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'fortran_order': False}", 4, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1)}", 4, TML_ERR_UNSUPPORTED, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999,)}", 4, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776)}", 4, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4, 'fortran_order': False, 'shape': (3,)}", 12, TML_ERR_FORMAT, 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,)} junk", 12, TML_ERR_FORMAT, 0},
    };
    uint8_t buf[512];
    char err[256];
    size_t i, n;
    tml_value v;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        tml_status st;
        n = mk_npy(buf, cases[i].major, cases[i].hdr, cases[i].n);
        err[0] = 0;
        st = tml_npy_parse(buf, n, &v, err, sizeof err);
        if (st != cases[i].want)
            print_message("case %zu: got %d (%s), want %d\n", i, st, err, cases[i].want);
        assert_int_equal(st, cases[i].want);
        if (st == TML_OK) {
            assert_int_equal(v.rank, cases[i].rank);
            assert_int_equal(v.nbytes, cases[i].n);
        } else {
            assert_true(starts_with(err, "npy: "));
            assert_null(v.data);
        }
        tml_value_release(&v);
    }
    /* every truncation of a valid file fails cleanly */
    n = mk_npy(buf, 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }\n", 16);
    for (i = 0; i < n; i++) {
        uint8_t *p = malloc(i ? i : 1);
        assert_non_null(p);
        memcpy(p, buf, i);
        assert_true(tml_npy_parse(p, i, &v, err, sizeof err) < 0);
        free(p);
    }
}

/* ---- .pb ---- */

static void test_pb_parse(void **state)
{
    static const int64_t d[2] = {2, 2};
    static const float f[4] = {1, 2, 3, 4};
    Onnx__TensorProto *t;
    uint8_t *buf;
    size_t len, i;
    tml_value v;
    char err[256];
    (void)state;
    t = mk_tensor("in0", 1, 2, d);
    t->n_float_data = 4;
    t->float_data = (float *)f;
    len = onnx__tensor_proto__get_packed_size(t);
    buf = ta(len);
    onnx__tensor_proto__pack(t, buf);
    assert_int_equal(tml_pb_parse(buf, len, &v, err, sizeof err), TML_OK);
    assert_string_equal(v.name, "in0");
    assert_int_equal(v.dtype, TML_DT_F32);
    assert_int_equal(v.rank, 2);
    assert_memory_equal(v.data, f, sizeof f);
    tml_value_release(&v);
    for (i = 0; i < len; i++) {
        /* cutting only the trailing name field (tag, length, "in0") leaves a valid tensor */
        tml_status st = tml_pb_parse(buf, i, &v, err, sizeof err);
        if (i < len - 5)
            assert_true(st < 0);
        else if (st == TML_OK)
            assert_memory_equal(v.data, f, sizeof f);
        tml_value_release(&v);
    }
    t->data_type = 21; /* uint4 */
    len = onnx__tensor_proto__get_packed_size(t);
    buf = ta(len);
    onnx__tensor_proto__pack(t, buf);
    assert_int_equal(tml_pb_parse(buf, len, &v, err, sizeof err), TML_ERR_UNSUPPORTED);
    assert_non_null(strstr(err, "uint4"));
    pool_free();
}

static void test_import_file(void **state)
{
    char path[512], err[256];
    tml_graph *g;
    FILE *f;
    uint8_t *data;
    size_t size;
    (void)state;
    tmp_path(path, sizeof path, "m.tflite");
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite("\x1c\0\0\0TFL3\0\0\0\0", 1, 12, f);
    fclose(f);
    g = tml_graph_new();
    /* routed to the TFLite importer, which refuses a 12-byte file as malformed */
    assert_int_equal(tml_import_file(g, path), TML_ERR_FORMAT);
    assert_non_null(strstr(tml_graph_error(g), "m.tflite"));
    tml_graph_free(g);
    /* tml_file_read limit and missing files */
    assert_int_equal(tml_file_read(path, 11, &data, &size, err, sizeof err), TML_ERR_FIT);
    assert_int_equal(tml_file_read(path, 12, &data, &size, err, sizeof err), TML_OK);
    assert_int_equal(size, 12);
    assert_int_equal(data[12], 0);
    free(data);
    unlink(path);
    g = tml_graph_new();
    assert_int_equal(tml_import_file(g, "/nonexistent/x.onnx"), TML_ERR_IO);
    assert_true(starts_with(tml_graph_error(g), "/nonexistent/x.onnx: "));
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_model),
        cmocka_unit_test(test_undefined_input),
        cmocka_unit_test(test_unsupported_ops),
        cmocka_unit_test(test_many_unsupported_ops),
        cmocka_unit_test(test_tensor_checks),
        cmocka_unit_test(test_constant_and_attrs),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_npy_roundtrip),
        cmocka_unit_test(test_npy_parse),
        cmocka_unit_test(test_pb_parse),
        cmocka_unit_test(test_import_file),
        cmocka_unit_test(test_corpus_models),
        cmocka_unit_test(test_corpus_pb),
        cmocka_unit_test(test_corpus_inputs_match_pb),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
