/*
 * test_data_conformance.c - runs the ONNX backend conformance tests of the data-family ops
 * (../shared/corpus/onnx-node and onnx-extra) through the data hooks and kernels, without
 * the importer: a minimal protobuf reader here builds the graph, every node is evaluated
 * with tev_eval (shape hook, lowering, kernel check, kernel) and the outputs are compared
 * with output_K.pb.
 *
 * Why a private reader: the op family must be checkable on its own, before (and independently
 * of) the importer. It reads only what these tests use (no external data, no subgraphs) and is
 * test code, not a boundary parser. A test whose op or dtype the family refuses with
 * TML_ERR_UNSUPPORTED counts as skipped (e.g. Cast to int4); any other failure fails the test.
 * Skips cleanly when the corpus is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"

/* ---- minimal protobuf ---- */

typedef struct {
    const uint8_t *p;
    size_t n;
} pb_buf;

typedef struct {
    int field, wire;
    uint64_t v;  /* varint / fixed value */
    pb_buf b;    /* length-delimited payload */
} pb_field;

static int pb_varint(const uint8_t *p, size_t n, size_t *pos, uint64_t *v)
{
    int s = 0;
    *v = 0;
    while (*pos < n && s < 64) {
        uint8_t c = p[(*pos)++];
        *v |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80))
            return 1;
        s += 7;
    }
    return 0;
}

/* Next field of buf at *pos; 0 at end or on malformed input. */
static int pb_next(pb_buf buf, size_t *pos, pb_field *f)
{
    uint64_t k, l;
    if (*pos >= buf.n || !pb_varint(buf.p, buf.n, pos, &k))
        return 0;
    f->field = (int)(k >> 3);
    f->wire = (int)(k & 7);
    switch (f->wire) {
    case 0: return pb_varint(buf.p, buf.n, pos, &f->v);
    case 1:
        if (*pos + 8 > buf.n)
            return 0;
        memcpy(&f->v, buf.p + *pos, 8);
        *pos += 8;
        return 1;
    case 5: {
        uint32_t v;
        if (*pos + 4 > buf.n)
            return 0;
        memcpy(&v, buf.p + *pos, 4);
        f->v = v;
        *pos += 4;
        return 1;
    }
    case 2:
        if (!pb_varint(buf.p, buf.n, pos, &l) || l > buf.n - *pos)
            return 0;
        f->b.p = buf.p + *pos;
        f->b.n = (size_t)l;
        *pos += (size_t)l;
        return 1;
    default: return 0;
    }
}

static char *pb_str(pb_buf b)
{
    char *s = malloc(b.n + 1);
    memcpy(s, b.p, b.n);
    s[b.n] = 0;
    return s;
}

/* Reads repeated integers (packed or not) of field f into out; returns the count. */
static int pb_ints(const pb_field *f, int64_t *out, int max, int k)
{
    if (f->wire == 2) {
        size_t pos = 0;
        uint64_t v;
        while (pos < f->b.n && k < max && pb_varint(f->b.p, f->b.n, &pos, &v))
            out[k++] = (int64_t)v;
        return k;
    }
    if (k < max)
        out[k++] = (int64_t)f->v;
    return k;
}

static uint8_t *file_read(const char *path, size_t *n)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *b;
    long sz;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    sz = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    b = malloc((size_t)sz + 1);
    if (fread(b, 1, (size_t)sz, fp) != (size_t)sz) {
        free(b);
        fclose(fp);
        return NULL;
    }
    fclose(fp);
    *n = (size_t)sz;
    return b;
}

/* ---- TensorProto -> graph constant ---- */

typedef struct {
    char *name;
    int dtype, rank;
    int64_t dims[TML_MAX_RANK];
    uint8_t *data; /* malloc'd, raw little-endian */
    size_t nbytes;
} pb_tensor;

static void tensor_free(pb_tensor *t)
{
    free(t->name);
    free(t->data);
}

static int tensor_parse(pb_buf b, pb_tensor *t)
{
    size_t pos = 0, es, cnt = 1, k = 0;
    pb_field f;
    int64_t *ivals = NULL;
    int n_ivals = 0, i;
    memset(t, 0, sizeof *t);
    /* first pass: dims, dtype, name, raw */
    while (pb_next(b, &pos, &f)) {
        if (f.field == 1)
            t->rank = pb_ints(&f, t->dims, TML_MAX_RANK, t->rank);
        else if (f.field == 2)
            t->dtype = (int)f.v;
        else if (f.field == 8)
            t->name = pb_str(f.b);
        else if (f.field == 9) {
            t->data = malloc(f.b.n + 1);
            memcpy(t->data, f.b.p, f.b.n);
            t->nbytes = f.b.n;
        }
    }
    es = tml_dtype_size((tml_dtype)t->dtype);
    if (t->dtype > 13 || es == 0)
        return 0;
    for (i = 0; i < t->rank; i++)
        cnt *= (size_t)t->dims[i];
    if (t->data)
        return t->nbytes == cnt * es;
    t->nbytes = cnt * es;
    t->data = calloc(1, t->nbytes + 8);
    /* typed fields */
    ivals = calloc(cnt + 1, sizeof *ivals);
    pos = 0;
    while (pb_next(b, &pos, &f)) {
        if (f.field == 4 || f.field == 10) { /* float_data, double_data */
            size_t w = f.field == 4 ? 4 : 8;
            if (f.wire == 2) {
                size_t m = f.b.n / w;
                if (k + m > cnt)
                    m = cnt - k;
                memcpy(t->data + k * w, f.b.p, m * w);
                k += m;
            } else if (k < cnt) {
                memcpy(t->data + k * w, &f.v, w);
                k++;
            }
        } else if (f.field == 5 || f.field == 7 || f.field == 11) {
            n_ivals = pb_ints(&f, ivals, (int)cnt, n_ivals);
        }
    }
    for (i = 0; i < n_ivals; i++) /* little-endian: the low es bytes */
        memcpy(t->data + (size_t)i * es, &ivals[i], es);
    free(ivals);
    return 1;
}

static int add_const(tml_graph *g, const pb_tensor *t, const char *name)
{
    return tev_const(g, name, (tml_dtype)t->dtype, t->rank, t->dims, t->data);
}

/* ---- model -> graph ---- */

typedef struct {
    char *inputs[16];
    int n_inputs;
    char *outputs[16];
    int n_outputs;
    int nodes[64];
    int n_nodes;
    char skip[256];
} model_info;

static int find_or_add(tml_graph *g, const char *name)
{
    int t = tml_graph_find_tensor(g, name);
    return t >= 0 ? t : tml_graph_add_tensor(g, name);
}

static int build_node(tml_graph *g, pb_buf b, model_info *mi)
{
    size_t pos = 0;
    pb_field f;
    char *op = NULL, *name = NULL;
    int in[16], out[16], n_in = 0, n_out = 0, node;
    tml_op top;
    pb_buf attrs[32];
    int n_attrs = 0, i;
    while (pb_next(b, &pos, &f)) {
        if (f.field == 1 && n_in < 16) {
            char *s = pb_str(f.b);
            in[n_in++] = s[0] ? find_or_add(g, s) : -1;
            free(s);
        } else if (f.field == 2 && n_out < 16) {
            char *s = pb_str(f.b);
            out[n_out++] = s[0] ? find_or_add(g, s) : -1;
            free(s);
        } else if (f.field == 3) {
            name = pb_str(f.b);
        } else if (f.field == 4) {
            op = pb_str(f.b);
        } else if (f.field == 5 && n_attrs < 32) {
            attrs[n_attrs++] = f.b;
        }
    }
    top = op ? tml_op_from_onnx(op) : TML_OP_COUNT;
    if (top == TML_OP_COUNT) {
        snprintf(mi->skip, sizeof mi->skip, "op '%s' unknown", op ? op : "?");
        free(op);
        free(name);
        return -1;
    }
    node = tml_graph_add_node(g, top, name && name[0] ? name : op, n_in, in, n_out, out);
    free(op);
    free(name);
    for (i = 0; i < n_attrs; i++) {
        size_t ap = 0;
        pb_field af;
        char *an = NULL;
        int64_t ints[64];
        float floats[64];
        int ni = 0, nf = 0, has_f = 0, has_i = 0, has_s = 0, has_t = 0;
        float fv = 0;
        int64_t iv = 0;
        pb_buf sv = {0, 0}, tv = {0, 0};
        tml_attr *a;
        memset(&af, 0, sizeof af);
        while (pb_next(attrs[i], &ap, &af)) {
            switch (af.field) {
            case 1: an = pb_str(af.b); break;
            case 2: { uint32_t u = (uint32_t)af.v; memcpy(&fv, &u, 4); has_f = 1; break; }
            case 3: iv = (int64_t)af.v; has_i = 1; break;
            case 4: sv = af.b; has_s = 1; break;
            case 5: tv = af.b; has_t = 1; break;
            case 7:
                if (af.wire == 2) {
                    size_t m = af.b.n / 4;
                    memcpy(floats + nf, af.b.p, (m > 64 ? 64 : m) * 4);
                    nf += (int)m;
                } else {
                    uint32_t u = (uint32_t)af.v;
                    memcpy(&floats[nf++], &u, 4);
                }
                break;
            case 8: ni = pb_ints(&af, ints, 64, ni); break;
            default: break;
            }
        }
        if (!an)
            continue;
        if (has_t) {
            pb_tensor t;
            int ti;
            tensor_parse(tv, &t);
            ti = add_const(g, &t, NULL);
            tensor_free(&t);
            a = tml_node_add_attr(g, node, an, TML_ATTR_TENSOR);
            a->tensor = ti;
        } else if (has_s) {
            char *s = pb_str(sv);
            a = tml_node_add_attr(g, node, an, TML_ATTR_STRING);
            a->s = tml_graph_strdup(g, s);
            free(s);
        } else if (nf > 0) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_FLOATS);
            a->n = nf;
            a->floats = tml_graph_memdup(g, floats, (size_t)nf * sizeof(float));
        } else if (ni > 0) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_INTS);
            a->n = ni;
            a->ints = tml_graph_memdup(g, ints, (size_t)ni * sizeof(int64_t));
        } else if (has_f) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_FLOAT);
            a->f = fv;
        } else {
            (void)has_i;
            a = tml_node_add_attr(g, node, an, TML_ATTR_INT);
            a->i = iv;
        }
        free(an);
    }
    return node;
}

static char *value_info_name(pb_buf b)
{
    size_t pos = 0;
    pb_field f;
    while (pb_next(b, &pos, &f))
        if (f.field == 1)
            return pb_str(f.b);
    return NULL;
}

/* Loads model.onnx and the inputs of test_data_set_0 into g. */
static int load_model(tml_graph *g, const char *dir, model_info *mi)
{
    char path[1024];
    size_t n, pos = 0;
    uint8_t *m;
    pb_buf mb, gb = {0, 0};
    pb_field f;
    int k;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    m = file_read(path, &n);
    if (!m)
        return 0;
    mb.p = m;
    mb.n = n;
    while (pb_next(mb, &pos, &f)) {
        if (f.field == 7) {
            gb = f.b;
        } else if (f.field == 8) {
            size_t op = 0;
            pb_field of;
            int is_default = 1;
            int64_t ver = 0;
            while (pb_next(f.b, &op, &of)) {
                if (of.field == 1 && of.b.n > 0 && !(of.b.n == 7 && !memcmp(of.b.p, "ai.onnx", 7)))
                    is_default = 0;
                if (of.field == 2)
                    ver = (int64_t)of.v;
            }
            if (is_default)
                g->opset = ver;
        }
    }
    /* initializers first (so node inputs find them), then inputs, then nodes */
    pos = 0;
    while (pb_next(gb, &pos, &f)) {
        if (f.field == 5) {
            pb_tensor t;
            if (tensor_parse(f.b, &t))
                add_const(g, &t, t.name);
            tensor_free(&t);
        }
    }
    pos = 0;
    while (pb_next(gb, &pos, &f)) {
        if (f.field == 11 && mi->n_inputs < 16) {
            char *nm = value_info_name(f.b);
            if (nm && tml_graph_find_tensor(g, nm) < 0)
                mi->inputs[mi->n_inputs++] = nm;
            else
                free(nm);
        } else if (f.field == 12 && mi->n_outputs < 16) {
            mi->outputs[mi->n_outputs++] = value_info_name(f.b);
        }
    }
    for (k = 0; k < mi->n_inputs; k++) {
        uint8_t *d;
        size_t dn;
        pb_tensor t;
        pb_buf tb;
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, k);
        d = file_read(path, &dn);
        if (!d) {
            free(m);
            return 0;
        }
        tb.p = d;
        tb.n = dn;
        if (!tensor_parse(tb, &t)) {
            snprintf(mi->skip, sizeof mi->skip, "input %d has dtype %d", k, t.dtype);
            tensor_free(&t);
            free(d);
            free(m);
            return 1;
        }
        add_const(g, &t, mi->inputs[k]);
        tensor_free(&t);
        free(d);
    }
    pos = 0;
    while (pb_next(gb, &pos, &f)) {
        if (f.field == 1 && mi->n_nodes < 64) {
            int node = build_node(g, f.b, mi);
            if (node < 0)
                break;
            mi->nodes[mi->n_nodes++] = node;
        }
    }
    free(m);
    return 1;
}

static double elem_as_double(int dt, const uint8_t *p)
{
    switch (dt) {
    case TML_DT_F32: { float v; memcpy(&v, p, 4); return v; }
    case TML_DT_F64: { double v; memcpy(&v, p, 8); return v; }
    case TML_DT_F16: {
        tml_cast_params cp = {TML_DT_F16, TML_DT_F64, 1};
        double v;
        const void *ci[1] = {p};
        void *co[1] = {&v};
        tml_cast(&cp, ci, co, NULL);
        return v;
    }
    default: {
        tml_cast_params cp = {(uint32_t)dt, TML_DT_F64, 1};
        double v;
        const void *ci[1] = {p};
        void *co[1] = {&v};
        tml_cast(&cp, ci, co, NULL);
        return v;
    }
    }
}

/* 1 = pass, 0 = fail (message in msg). */
static int compare(const tml_tensor *got, const pb_tensor *want, char *msg, size_t msz)
{
    size_t es = tml_dtype_size((tml_dtype)want->dtype), cnt, i;
    int a;
    if ((int)got->dtype != want->dtype || got->rank != want->rank) {
        snprintf(msg, msz, "dtype/rank %d/%d, want %d/%d", got->dtype, got->rank, want->dtype,
                 want->rank);
        return 0;
    }
    for (a = 0; a < got->rank; a++)
        if (got->dims[a] != want->dims[a]) {
            snprintf(msg, msz, "dim %d is %lld, want %lld", a, (long long)got->dims[a],
                     (long long)want->dims[a]);
            return 0;
        }
    cnt = es ? want->nbytes / es : 0;
    for (i = 0; i < cnt; i++) {
        const uint8_t *gp = (const uint8_t *)got->data + i * es, *wp = want->data + i * es;
        if (memcmp(gp, wp, es) == 0)
            continue;
        if (want->dtype == TML_DT_F32 || want->dtype == TML_DT_F64 || want->dtype == TML_DT_F16) {
            double x = elem_as_double(want->dtype, gp), y = elem_as_double(want->dtype, wp);
            double tol = 1e-6 + 1e-5 * (y < 0 ? -y : y);
            if (x != x && y != y)
                continue;
            if ((x > y ? x - y : y - x) <= tol)
                continue;
            snprintf(msg, msz, "element %zu is %.9g, want %.9g", i, x, y);
            return 0;
        }
        snprintf(msg, msz, "element %zu differs (%g vs %g)", i, elem_as_double(want->dtype, gp),
                 elem_as_double(want->dtype, wp));
        return 0;
    }
    return 1;
}

static const char *const family_ops[] = {
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout", "Transpose",
    "Concat", "Pad", "Slice", "Gather", "Cast", "Shape", "Constant", "Resize", "Upsample",
    "DepthToSpace", "SpaceToDepth"};

static int is_family_op(const char *op, size_t len)
{
    size_t i;
    for (i = 0; i < sizeof family_ops / sizeof family_ops[0]; i++)
        if (strlen(family_ops[i]) == len && strncmp(family_ops[i], op, len) == 0)
            return 1;
    return 0;
}

/* All comma-separated ops of an INDEX.tsv cell belong to the family. */
static int all_family(const char *ops)
{
    while (*ops) {
        const char *e = ops;
        while (*e && *e != ',')
            e++;
        if (!is_family_op(ops, (size_t)(e - ops)))
            return 0;
        ops = *e ? e + 1 : e;
    }
    return 1;
}

static int run_one(const char *dir, const char *test, int *pass, int *fail, int *skip)
{
    tml_graph *g = tml_graph_new();
    model_info mi;
    char msg[512] = "";
    int k, ok = 1;
    memset(&mi, 0, sizeof mi);
    if (!load_model(g, dir, &mi)) {
        printf("FAIL %s: cannot load\n", test);
        (*fail)++;
        tml_graph_free(g);
        return 0;
    }
    if (mi.skip[0]) {
        printf("SKIP %s: %s\n", test, mi.skip);
        (*skip)++;
        goto out;
    }
    for (k = 0; k < mi.n_nodes; k++) {
        tml_status st = tev_eval(g, mi.nodes[k]);
        if (st == TML_ERR_UNSUPPORTED) {
            printf("SKIP %s: %s\n", test, tml_graph_error(g));
            (*skip)++;
            goto out;
        }
        if (st) {
            printf("FAIL %s: %s (%s)\n", test, tml_status_str(st), tml_graph_error(g));
            (*fail)++;
            goto out;
        }
    }
    for (k = 0; k < mi.n_outputs && ok; k++) {
        char path[1024];
        size_t dn;
        uint8_t *d;
        pb_tensor want;
        pb_buf tb;
        int t = tml_graph_find_tensor(g, mi.outputs[k]);
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, k);
        d = file_read(path, &dn);
        if (!d || t < 0 || !g->tensors[t].data) {
            snprintf(msg, sizeof msg, "output %d missing", k);
            ok = 0;
            free(d);
            break;
        }
        tb.p = d;
        tb.n = dn;
        if (!tensor_parse(tb, &want)) {
            snprintf(msg, sizeof msg, "output %d has dtype %d", k, want.dtype);
            ok = 0;
        } else {
            ok = compare(&g->tensors[t], &want, msg, sizeof msg);
        }
        tensor_free(&want);
        free(d);
    }
    if (ok) {
        (*pass)++;
    } else {
        printf("FAIL %s: %s\n", test, msg);
        (*fail)++;
    }
out:
    for (k = 0; k < mi.n_inputs; k++)
        free(mi.inputs[k]);
    for (k = 0; k < mi.n_outputs; k++)
        free(mi.outputs[k]);
    tml_graph_free(g);
    return ok;
}

/* Runs every test listed in <corpus>/<sub>/INDEX.tsv whose ops are all in the family. */
static int run_index(const char *sub, int *pass, int *fail, int *skip)
{
    char path[1024], line[2048];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s/INDEX.tsv", TML_CORPUS_DIR, sub);
    fp = fopen(path, "r");
    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp)) {
        char *test = strtok(line, "\t"), *ops = strtok(NULL, "\t");
        char dir[1024];
        if (!test || !ops || strcmp(test, "test") == 0 || !all_family(ops))
            continue;
        snprintf(dir, sizeof dir, "%s/%s/%s", TML_CORPUS_DIR, sub, test);
        run_one(dir, test, pass, fail, skip);
    }
    fclose(fp);
    return 1;
}

static void test_conformance(void **state)
{
    int pass = 0, fail = 0, skip = 0, found;
    (void)state;
    found = run_index("onnx-node", &pass, &fail, &skip);
    found |= run_index("onnx-extra", &pass, &fail, &skip);
    if (!found) {
        printf("corpus not found at %s: skipping\n", TML_CORPUS_DIR);
        skip();
    }
    printf("data conformance: %d passed, %d failed, %d skipped\n", pass, fail, skip);
    assert_int_equal(fail, 0);
    assert_true(pass > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_conformance)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
