/*
 * test_nn_corpus.c - runs every single-node ONNX conformance test of the nn family ops
 * (../shared/corpus/onnx-node and onnx-extra, listed in their INDEX.tsv) through the nn
 * shape hook, lowering, kernel _check and kernel, and compares with the expected outputs.
 *
 * The importer is another module; to test the op family alone this file carries a minimal
 * protobuf wire-format reader for exactly what a single-node test needs (opset, the node
 * with its attributes, graph inputs, initializers, TensorProto files). It is test code on
 * trusted data, but every read is still bounded. Tolerance as in ONNX's runner: |y - e| <=
 * atol + rtol * |e| with rtol 1e-3, atol 1e-5. UNSUPPORTED results are reported as SKIP;
 * the test fails if any case fails. Without the corpus it skips with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <math.h>

#include "support/node_eval.h"

/* ---- protobuf wire format ---- */

typedef struct {
    const uint8_t *p, *end;
} pb;

typedef struct {
    int field, wt;
    uint64_t v;           /* varint / fixed value */
    const uint8_t *data;  /* length-delimited payload */
    size_t len;
} pb_field;

static int pb_varint(pb *b, uint64_t *v)
{
    int s = 0;
    *v = 0;
    while (b->p < b->end && s < 64) {
        uint8_t c = *b->p++;
        *v |= (uint64_t)(c & 0x7f) << s;
        if (c < 0x80)
            return 1;
        s += 7;
    }
    return 0;
}

/* Next field of b; 0 at end or on malformed input. */
static int pb_next(pb *b, pb_field *f)
{
    uint64_t k;
    if (b->p >= b->end || !pb_varint(b, &k))
        return 0;
    f->field = (int)(k >> 3);
    f->wt = (int)(k & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->wt) {
    case 0: return pb_varint(b, &f->v);
    case 1:
        if (b->end - b->p < 8)
            return 0;
        memcpy(&f->v, b->p, 8);
        b->p += 8;
        return 1;
    case 5: {
        uint32_t x;
        if (b->end - b->p < 4)
            return 0;
        memcpy(&x, b->p, 4);
        f->v = x;
        b->p += 4;
        return 1;
    }
    case 2:
        if (!pb_varint(b, &k) || k > (uint64_t)(b->end - b->p))
            return 0;
        f->data = b->p;
        f->len = (size_t)k;
        b->p += k;
        return 1;
    default: return 0;
    }
}

static pb pb_sub(const pb_field *f)
{
    pb s;
    s.p = f->data;
    s.end = f->data + f->len;
    return s;
}

static char *pb_str(tml_graph *g, const pb_field *f)
{
    char *s = tml_graph_alloc(g, f->len + 1);
    memcpy(s, f->data, f->len);
    return s;
}

/* Appends the ints of a repeated int64 field (packed or not) to v[*n] (cap entries). */
static void pb_ints(const pb_field *f, int64_t *v, int *n, int cap)
{
    if (f->wt == 2) {
        pb s = pb_sub(f);
        uint64_t x;
        while (s.p < s.end && pb_varint(&s, &x))
            if (*n < cap)
                v[(*n)++] = (int64_t)x;
    } else if (*n < cap) {
        v[(*n)++] = (int64_t)f->v;
    }
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!fp)
        return NULL;
    fseek(fp, 0, SEEK_END);
    n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

/* ---- TensorProto ---- */

typedef struct {
    char *name;
    tml_dtype dt;
    int rank;
    int64_t dims[TML_MAX_RANK];
    void *data; /* graph-owned, numel * elem size */
} tensor_pb;

static int parse_tensor(tml_graph *g, const uint8_t *buf, size_t len, tensor_pb *t)
{
    pb b = {buf, buf + len};
    pb_field f;
    const uint8_t *raw = NULL;
    size_t raw_len = 0, es, numel = 1, i;
    float *fv = NULL;
    int64_t *iv = NULL;
    size_t nf = 0, ni = 0;
    int64_t dims[TML_MAX_RANK + 1];
    int nd = 0;
    memset(t, 0, sizeof *t);
    /* first pass: dims, type, name, raw_data */
    while (pb_next(&b, &f)) {
        if (f.field == 1)
            pb_ints(&f, dims, &nd, TML_MAX_RANK + 1);
        else if (f.field == 2)
            t->dt = (tml_dtype)f.v;
        else if (f.field == 8)
            t->name = pb_str(g, &f);
        else if (f.field == 9) {
            raw = f.data;
            raw_len = f.len;
        }
    }
    if (nd > TML_MAX_RANK)
        return 0;
    t->rank = nd;
    for (i = 0; i < (size_t)nd; i++) {
        t->dims[i] = dims[i];
        numel *= (size_t)dims[i];
    }
    es = tml_dtype_size(t->dt);
    if (!es)
        return 0;
    t->data = tml_graph_alloc(g, numel * es + 1);
    if (raw) {
        if (raw_len != numel * es)
            return 0;
        memcpy(t->data, raw, raw_len);
        return 1;
    }
    /* typed fields: float_data (4), int32_data (5), int64_data (7) */
    fv = t->dt == TML_DT_F32 ? (float *)t->data : NULL;
    iv = t->dt == TML_DT_S64 ? (int64_t *)t->data : NULL;
    b.p = buf;
    while (pb_next(&b, &f)) {
        if (f.field == 4 && fv) {
            if (f.wt == 2) {
                size_t k;
                for (k = 0; k + 4 <= f.len && nf < numel; k += 4)
                    memcpy(&fv[nf++], f.data + k, 4);
            } else if (nf < numel) {
                uint32_t x = (uint32_t)f.v;
                memcpy(&fv[nf++], &x, 4);
            }
        } else if (f.field == 7 && iv) {
            int64_t tmp[4096];
            int n = 0, k;
            pb_ints(&f, tmp, &n, 4096);
            for (k = 0; k < n && ni < numel; k++)
                iv[ni++] = tmp[k];
        }
    }
    return (fv && nf == numel) || (iv && ni == numel) || numel == 0;
}

static int load_tensor(tml_graph *g, const char *path, tensor_pb *t)
{
    size_t len;
    uint8_t *buf = read_file(path, &len);
    int ok;
    if (!buf)
        return 0;
    ok = parse_tensor(g, buf, len, t);
    free(buf);
    return ok;
}

/* ---- the model: one node, inputs, initializers ---- */

typedef struct {
    int64_t opset;
    pb_field node;
    int n_inputs;
    char *inputs[16];
    int n_init;
    tensor_pb init[16];
    int n_nodes;
} model_pb;

static int parse_model(tml_graph *g, const uint8_t *buf, size_t len, model_pb *m)
{
    pb b = {buf, buf + len}, s, s2;
    pb_field f, f2, f3;
    memset(m, 0, sizeof *m);
    while (pb_next(&b, &f)) {
        if (f.field == 8 && f.wt == 2) { /* opset_import */
            const char *domain = "";
            int64_t ver = 0;
            s = pb_sub(&f);
            while (pb_next(&s, &f2)) {
                if (f2.field == 1 && f2.len)
                    domain = "x";
                if (f2.field == 2)
                    ver = (int64_t)f2.v;
            }
            if (!strcmp(domain, ""))
                m->opset = ver;
        } else if (f.field == 7 && f.wt == 2) { /* graph */
            s = pb_sub(&f);
            while (pb_next(&s, &f2)) {
                if (f2.field == 1) {
                    m->node = f2;
                    m->n_nodes++;
                } else if (f2.field == 11 && m->n_inputs < 16) {
                    s2 = pb_sub(&f2);
                    while (pb_next(&s2, &f3))
                        if (f3.field == 1)
                            m->inputs[m->n_inputs++] = pb_str(g, &f3);
                } else if (f2.field == 5 && m->n_init < 16) {
                    if (!parse_tensor(g, f2.data, f2.len, &m->init[m->n_init++]))
                        return 0;
                }
            }
        }
    }
    return m->n_nodes == 1;
}

/* Adds the attributes of a NodeProto to node n. */
static int add_attrs(tml_graph *g, int n, const pb_field *node)
{
    pb b = pb_sub(node), s;
    pb_field f, a;
    while (pb_next(&b, &f)) {
        char *name = NULL, *str = NULL;
        int64_t ints[64], type = 0, iv = 0;
        float floats[64], fv = 0;
        int ni = 0, nfl = 0, has_i = 0, has_f = 0;
        tml_attr *at;
        if (f.field != 5)
            continue;
        s = pb_sub(&f);
        while (pb_next(&s, &a)) {
            if (a.field == 1)
                name = pb_str(g, &a);
            else if (a.field == 2) {
                uint32_t x = (uint32_t)a.v;
                memcpy(&fv, &x, 4);
                has_f = 1;
            } else if (a.field == 3) {
                iv = (int64_t)a.v;
                has_i = 1;
            } else if (a.field == 4)
                str = pb_str(g, &a);
            else if (a.field == 7) {
                if (a.wt == 2) {
                    size_t k;
                    for (k = 0; k + 4 <= a.len && nfl < 64; k += 4)
                        memcpy(&floats[nfl++], a.data + k, 4);
                } else if (nfl < 64) {
                    uint32_t x = (uint32_t)a.v;
                    memcpy(&floats[nfl++], &x, 4);
                }
            } else if (a.field == 8)
                pb_ints(&a, ints, &ni, 64);
            else if (a.field == 20)
                type = (int64_t)a.v;
        }
        if (!name)
            return 0;
        if (!type) /* old models may omit the type: infer it */
            type = str ? 3 : ni ? 7 : nfl ? 6 : has_f ? 1 : has_i ? 2 : 7;
        switch (type) {
        case 1:
            at = tml_node_add_attr(g, n, name, TML_ATTR_FLOAT);
            at->f = fv;
            break;
        case 2:
            at = tml_node_add_attr(g, n, name, TML_ATTR_INT);
            at->i = iv;
            break;
        case 3:
            at = tml_node_add_attr(g, n, name, TML_ATTR_STRING);
            at->s = str ? str : "";
            break;
        case 6:
            at = tml_node_add_attr(g, n, name, TML_ATTR_FLOATS);
            at->n = nfl;
            at->floats = tml_graph_memdup(g, floats, sizeof(float) * (size_t)(nfl ? nfl : 1));
            break;
        case 7:
            at = tml_node_add_attr(g, n, name, TML_ATTR_INTS);
            at->n = ni;
            at->ints = tml_graph_memdup(g, ints, sizeof(int64_t) * (size_t)(ni ? ni : 1));
            break;
        default: return 0; /* tensors, graphs: not used by nn tests */
        }
    }
    return 1;
}

/* ---- one test case ---- */

enum { CASE_PASS, CASE_FAIL, CASE_SKIP };

static int run_case(const char *dir, char *why, size_t why_len)
{
    char path[1024];
    size_t len;
    uint8_t *buf;
    tml_graph *g = tml_graph_new();
    model_pb m;
    pb b;
    pb_field f;
    const char *op_type = NULL;
    int in_t[16], out_t[16], n_in = 0, n_out = 0, next_pb = 0, i, node, result = CASE_PASS;
    tml_status st;

    snprintf(path, sizeof path, "%s/model.onnx", dir);
    buf = read_file(path, &len);
    if (!buf || !parse_model(g, buf, len, &m)) {
        snprintf(why, why_len, "cannot parse %s", path);
        free(buf);
        tml_graph_free(g);
        return CASE_FAIL;
    }
    g->opset = m.opset;
    /* graph inputs: initializer if one has the name, else the next input_K.pb */
    for (i = 0; i < m.n_inputs; i++) {
        tensor_pb t;
        int k, found = -1;
        for (k = 0; k < m.n_init; k++)
            if (m.init[k].name && !strcmp(m.init[k].name, m.inputs[i]))
                found = k;
        if (found >= 0)
            t = m.init[found];
        else {
            snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, next_pb++);
            if (!load_tensor(g, path, &t)) {
                snprintf(why, why_len, "cannot read %s", path);
                result = CASE_FAIL;
                goto done;
            }
        }
        tev_const(g, m.inputs[i], t.dt, t.rank, t.dims, t.data);
    }
    for (i = 0; i < m.n_init; i++)
        if (m.init[i].name && tml_graph_find_tensor(g, m.init[i].name) < 0)
            tev_const(g, m.init[i].name, m.init[i].dt, m.init[i].rank, m.init[i].dims,
                      m.init[i].data);
    /* the node */
    b = pb_sub(&m.node);
    while (pb_next(&b, &f)) {
        char *s = f.field <= 4 ? pb_str(g, &f) : NULL;
        if (f.field == 1 && n_in < 16)
            in_t[n_in++] = s[0] ? tml_graph_find_tensor(g, s) : -1;
        else if (f.field == 2 && n_out < 16)
            out_t[n_out++] = s[0] ? tml_graph_add_tensor(g, s) : -1;
        else if (f.field == 4)
            op_type = s;
    }
    node = tml_graph_add_node(g, tml_op_from_onnx(op_type ? op_type : ""), "node", n_in, in_t,
                              n_out, out_t);
    if (node < 0 || !add_attrs(g, node, &m.node)) {
        snprintf(why, why_len, "cannot build node: %s", tml_graph_error(g));
        result = CASE_FAIL;
        goto done;
    }
    st = tev_eval(g, node);
    if (st == TML_ERR_UNSUPPORTED) {
        snprintf(why, why_len, "%s", tml_graph_error(g));
        result = CASE_SKIP;
        goto done;
    }
    if (st) {
        snprintf(why, why_len, "%s: %s", tml_status_str(st), tml_graph_error(g));
        result = CASE_FAIL;
        goto done;
    }
    for (i = 0; i < n_out && result == CASE_PASS; i++) {
        tensor_pb e;
        const tml_tensor *y;
        int64_t k, numel;
        if (out_t[i] < 0)
            continue;
        y = &g->tensors[out_t[i]];
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        if (!load_tensor(g, path, &e)) {
            snprintf(why, why_len, "cannot read %s", path);
            result = CASE_FAIL;
            break;
        }
        if (e.dt != y->dtype || e.rank != y->rank ||
            memcmp(e.dims, y->dims, sizeof(int64_t) * (size_t)e.rank)) {
            char a[128], bb[128];
            tml_tensor et;
            memset(&et, 0, sizeof et);
            tml_tensor_set_shape(&et, e.dt, e.rank, e.dims);
            snprintf(why, why_len, "output %d: shape %s dtype %d, expected %s dtype %d", i,
                     tml_shape_str(y, a, sizeof a), (int)y->dtype, tml_shape_str(&et, bb, sizeof bb),
                     (int)e.dt);
            result = CASE_FAIL;
            break;
        }
        numel = tml_tensor_numel(y);
        for (k = 0; k < numel; k++) {
            if (y->dtype == TML_DT_F32) {
                float got = ((const float *)y->data)[k], want = ((const float *)e.data)[k];
                if (!(fabsf(got - want) <= 1e-5f + 1e-3f * fabsf(want))) {
                    snprintf(why, why_len, "output %d element %lld: got %.7g, expected %.7g", i,
                             (long long)k, got, want);
                    result = CASE_FAIL;
                    break;
                }
            } else if (y->dtype == TML_DT_S64) {
                int64_t got = ((const int64_t *)y->data)[k], want = ((const int64_t *)e.data)[k];
                if (got != want) {
                    snprintf(why, why_len, "output %d element %lld: got %lld, expected %lld", i,
                             (long long)k, (long long)got, (long long)want);
                    result = CASE_FAIL;
                    break;
                }
            }
        }
    }
done:
    free(buf);
    tml_graph_free(g);
    return result;
}

/* ---- the case list: INDEX.tsv rows whose only op is an nn op ---- */

static int is_nn_op(const char *op)
{
    tml_op o = tml_op_from_onnx(op);
    const tml_op_info *oi = o < TML_OP_COUNT ? tml_op_get_info(o) : NULL;
    return oi && !strcmp(oi->family, "nn");
}

static void run_index(const char *base, int *pass, int *fail, int *skip)
{
    char path[1024], line[2048];
    FILE *fp;
    snprintf(path, sizeof path, "%s/INDEX.tsv", base);
    fp = fopen(path, "r");
    if (!fp)
        return;
    while (fgets(line, sizeof line, fp)) {
        char *name = strtok(line, "\t"), *ops = strtok(NULL, "\t"), why[600] = "";
        char *opset = strtok(NULL, "\t"), *n_nodes = strtok(NULL, "\t");
        int r;
        if (!name || !ops || !opset || !n_nodes || !strcmp(name, "test") || strchr(ops, ',') ||
            strcmp(n_nodes, "1") || !is_nn_op(ops))
            continue;
        snprintf(path, sizeof path, "%s/%s", base, name);
        r = run_case(path, why, sizeof why);
        printf("%s %s%s%s\n", r == CASE_PASS ? "PASS" : r == CASE_SKIP ? "SKIP" : "FAIL", name,
               why[0] ? ": " : "", why);
        *(r == CASE_PASS ? pass : r == CASE_SKIP ? skip : fail) += 1;
    }
    fclose(fp);
}

static void test_corpus_nn(void **state)
{
    char base[1024];
    FILE *probe;
    int pass = 0, fail = 0, skip = 0;
    (void)state;
    snprintf(base, sizeof base, "%s/onnx-node/INDEX.tsv", TML_CORPUS_DIR);
    probe = fopen(base, "r");
    if (!probe) {
        printf("SKIP: corpus not found at %s\n", TML_CORPUS_DIR);
        skip();
        return;
    }
    fclose(probe);
    snprintf(base, sizeof base, "%s/onnx-node", TML_CORPUS_DIR);
    run_index(base, &pass, &fail, &skip);
    snprintf(base, sizeof base, "%s/onnx-extra", TML_CORPUS_DIR);
    run_index(base, &pass, &fail, &skip);
    printf("nn corpus: %d pass, %d fail, %d skip\n", pass, fail, skip);
    assert_true(pass > 0);
    assert_int_equal(fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus_nn)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
