/*
 * test_elementwise_corpus.c - runs every ONNX conformance test of the elementwise family found
 * in ../shared/corpus (onnx-node/test_*, onnx-extra/ * /test_*) through the family's shape hooks,
 * lowerings, kernel checks and kernels, and compares with the expected outputs.
 *
 * How: a minimal reader of the protobuf wire format decodes model.onnx (nodes, attributes,
 * initializers, opset) and the TensorProto .pb files; each node is evaluated in order with
 * tev_eval (tests/support/node_eval.h). Only models whose nodes are all elementwise ops (plus
 * Constant, which becomes a constant tensor) are run. An unsupported dtype counts as a skip.
 *
 * Why here and not in the importer: it lets this family be checked against the ONNX ground
 * truth before the importer lands, without depending on it. The reader is test code: it
 * trusts its input beyond bounds checks.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "support/node_eval.h"

/* ---- protobuf wire format ---- */

typedef struct {
    const uint8_t *p, *end;
} pb_buf;

typedef struct {
    int field, wire;
    uint64_t v;           /* varint / fixed value */
    const uint8_t *data;  /* length-delimited payload */
    size_t len;
} pb_field;

static int pb_varint(pb_buf *b, uint64_t *out)
{
    uint64_t r = 0;
    int s = 0;
    while (b->p < b->end && s < 64) {
        uint8_t c = *b->p++;
        r |= (uint64_t)(c & 0x7f) << s;
        s += 7;
        if (c < 0x80) {
            *out = r;
            return 1;
        }
    }
    return 0;
}

static int pb_next(pb_buf *b, pb_field *f)
{
    uint64_t key, len;
    if (b->p >= b->end || !pb_varint(b, &key))
        return 0;
    f->field = (int)(key >> 3);
    f->wire = (int)(key & 7);
    f->data = NULL;
    f->len = 0;
    switch (f->wire) {
    case 0: return pb_varint(b, &f->v);
    case 1:
        if (b->end - b->p < 8) return 0;
        memcpy(&f->v, b->p, 8);
        b->p += 8;
        return 1;
    case 5: {
        uint32_t v;
        if (b->end - b->p < 4) return 0;
        memcpy(&v, b->p, 4);
        f->v = v;
        b->p += 4;
        return 1;
    }
    case 2:
        if (!pb_varint(b, &len) || len > (uint64_t)(b->end - b->p)) return 0;
        f->data = b->p;
        f->len = (size_t)len;
        b->p += len;
        return 1;
    default: return 0;
    }
}

static pb_buf pb_sub(const pb_field *f)
{
    pb_buf b = {f->data, f->data + f->len};
    return b;
}

static char *pb_str(const pb_field *f)
{
    char *s = malloc(f->len + 1);
    memcpy(s, f->data, f->len);
    s[f->len] = 0;
    return s;
}

/* Appends the values of a repeated int64/int32 field (packed or not) to *vals. */
static void pb_ints(const pb_field *f, int64_t **vals, int *n)
{
    if (f->wire == 2) {
        pb_buf b = pb_sub(f);
        uint64_t v;
        while (pb_varint(&b, &v)) {
            *vals = realloc(*vals, sizeof(int64_t) * (size_t)(*n + 1));
            (*vals)[(*n)++] = (int64_t)v;
        }
    } else {
        *vals = realloc(*vals, sizeof(int64_t) * (size_t)(*n + 1));
        (*vals)[(*n)++] = (int64_t)f->v;
    }
}

static void pb_floats(const pb_field *f, float **vals, int *n)
{
    if (f->wire == 2) {
        size_t k;
        for (k = 0; k + 4 <= f->len; k += 4) {
            *vals = realloc(*vals, sizeof(float) * (size_t)(*n + 1));
            memcpy(&(*vals)[(*n)++], f->data + k, 4);
        }
    } else {
        uint32_t u = (uint32_t)f->v;
        *vals = realloc(*vals, sizeof(float) * (size_t)(*n + 1));
        memcpy(&(*vals)[(*n)++], &u, 4);
    }
}

/* ---- TensorProto ---- */

typedef struct {
    char *name;
    int dtype;
    int rank;
    int64_t dims[TML_MAX_RANK];
    void *data; /* numel * element size bytes */
    size_t nbytes;
} pb_tensor;

static int64_t tensor_numel(const pb_tensor *t)
{
    int64_t n = 1;
    int i;
    for (i = 0; i < t->rank; i++)
        n *= t->dims[i];
    return n;
}

static int parse_tensor(const uint8_t *p, size_t len, pb_tensor *t)
{
    pb_buf b = {p, p + len};
    pb_field f;
    int64_t *ints = NULL, *dims = NULL;
    float *floats = NULL;
    int n_ints = 0, n_dims = 0, n_floats = 0, i;
    const uint8_t *raw = NULL;
    size_t raw_len = 0;
    const uint8_t *dbl = NULL;
    size_t dbl_len = 0;
    int64_t numel;
    size_t es;
    memset(t, 0, sizeof *t);
    while (pb_next(&b, &f)) {
        switch (f.field) {
        case 1: pb_ints(&f, &dims, &n_dims); break;
        case 2: t->dtype = (int)f.v; break;
        case 4: pb_floats(&f, &floats, &n_floats); break;
        case 5: case 7: case 11: pb_ints(&f, &ints, &n_ints); break;
        case 8: t->name = pb_str(&f); break;
        case 9: raw = f.data; raw_len = f.len; break;
        case 10: dbl = f.data; dbl_len = f.len; break;
        default: break;
        }
    }
    if (n_dims > TML_MAX_RANK)
        return 0;
    t->rank = n_dims;
    for (i = 0; i < n_dims; i++)
        t->dims[i] = dims[i];
    numel = tensor_numel(t);
    es = tml_dtype_size((tml_dtype)t->dtype);
    t->nbytes = (size_t)numel * es;
    t->data = calloc(1, t->nbytes + 8);
    if (raw) {
        if (raw_len != t->nbytes)
            return 0;
        memcpy(t->data, raw, raw_len);
    } else if (t->dtype == TML_DT_F32) {
        memcpy(t->data, floats, sizeof(float) * (size_t)(n_floats < numel ? n_floats : numel));
    } else if (t->dtype == TML_DT_F64) {
        memcpy(t->data, dbl, dbl_len < t->nbytes ? dbl_len : t->nbytes);
    } else {
        for (i = 0; i < n_ints && i < numel; i++) {
            int64_t v = ints[i];
            switch (es) {
            case 1: ((uint8_t *)t->data)[i] = (uint8_t)v; break;
            case 2: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
            case 4: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
            case 8: ((uint64_t *)t->data)[i] = (uint64_t)v; break;
            }
        }
    }
    free(ints);
    free(dims);
    free(floats);
    return 1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* ---- model -> graph ---- */

static int name_tensor(tml_graph *g, const char *name)
{
    int t;
    if (!name[0])
        return -1;
    t = tml_graph_find_tensor(g, name);
    return t >= 0 ? t : tml_graph_add_tensor(g, name);
}

static int const_tensor(tml_graph *g, const pb_tensor *pt, const char *name)
{
    int t = tml_graph_find_tensor(g, name);
    if (t < 0)
        t = tml_graph_add_tensor(g, name);
    tml_tensor_set_shape(&g->tensors[t], (tml_dtype)pt->dtype, pt->rank, pt->dims);
    g->tensors[t].data = tml_graph_memdup(g, pt->data, pt->nbytes ? pt->nbytes : 1);
    return t;
}

enum { R_PASS, R_FAIL, R_SKIP };

/* Adds a node from a NodeProto; Constant becomes a constant tensor. Returns the node index,
 * -2 for a Constant, -1 if the op is not in this family (skip the model). */
static int add_node(tml_graph *g, const uint8_t *p, size_t len, char *why, size_t why_sz)
{
    pb_buf b = {p, p + len}, ab;
    pb_field f, af;
    char *ins[16], *outs[4], *op = NULL, *name = NULL;
    int n_in = 0, n_out = 0, in[16], out[4], i, node;
    tml_op top;
    const tml_op_info *oi;
    while (pb_next(&b, &f)) {
        if (f.field == 1 && n_in < 16) ins[n_in++] = pb_str(&f);
        else if (f.field == 2 && n_out < 4) outs[n_out++] = pb_str(&f);
        else if (f.field == 3) name = pb_str(&f);
        else if (f.field == 4) op = pb_str(&f);
    }
    if (op && strcmp(op, "Constant") == 0) {
        b.p = p;
        while (pb_next(&b, &f)) {
            if (f.field != 5)
                continue;
            ab = pb_sub(&f);
            while (pb_next(&ab, &af))
                if (af.field == 5) {
                    pb_tensor pt;
                    if (parse_tensor(af.data, af.len, &pt))
                        const_tensor(g, &pt, outs[0]);
                    free(pt.data);
                    free(pt.name);
                }
        }
        node = -2;
        goto done;
    }
    top = op ? tml_op_from_onnx(op) : TML_OP_COUNT;
    oi = tml_op_get_info(top);
    if (!oi || strcmp(oi->family, "elementwise") != 0) {
        snprintf(why, why_sz, "op '%s' is not elementwise", op ? op : "?");
        node = -1;
        goto done;
    }
    for (i = 0; i < n_in; i++)
        in[i] = name_tensor(g, ins[i]);
    for (i = 0; i < n_out; i++)
        out[i] = name_tensor(g, outs[i]);
    node = tml_graph_add_node(g, top, name && name[0] ? name : NULL, n_in, in, n_out, out);
    b.p = p;
    while (pb_next(&b, &f)) {
        char *an = NULL;
        int has_f = 0, has_i = 0, n_ints = 0, n_floats = 0;
        float fv = 0;
        int64_t iv = 0, *ints = NULL;
        float *floats = NULL;
        char *sv = NULL;
        tml_attr *a;
        if (f.field != 5)
            continue;
        ab = pb_sub(&f);
        while (pb_next(&ab, &af)) {
            if (af.field == 1) an = pb_str(&af);
            else if (af.field == 2) { uint32_t u = (uint32_t)af.v; memcpy(&fv, &u, 4); has_f = 1; }
            else if (af.field == 3) { iv = (int64_t)af.v; has_i = 1; }
            else if (af.field == 4) sv = pb_str(&af);
            else if (af.field == 7) pb_floats(&af, &floats, &n_floats);
            else if (af.field == 8) pb_ints(&af, &ints, &n_ints);
        }
        if (has_f) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_FLOAT);
            a->f = fv;
        } else if (has_i) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_INT);
            a->i = iv;
        } else if (sv) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_STRING);
            a->s = tml_graph_strdup(g, sv);
        } else if (n_ints) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_INTS);
            a->n = n_ints;
            a->ints = tml_graph_memdup(g, ints, sizeof(int64_t) * (size_t)n_ints);
        } else if (n_floats) {
            a = tml_node_add_attr(g, node, an, TML_ATTR_FLOATS);
            a->n = n_floats;
            a->floats = tml_graph_memdup(g, floats, sizeof(float) * (size_t)n_floats);
        }
        free(an);
        free(sv);
        free(ints);
        free(floats);
    }
done:
    for (i = 0; i < n_in; i++)
        free(ins[i]);
    for (i = 0; i < n_out; i++)
        free(outs[i]);
    free(op);
    free(name);
    return node;
}

static int compare(const tml_tensor *t, const pb_tensor *want, char *why, size_t why_sz)
{
    int64_t n = tensor_numel(want), i;
    int d;
    if (t->dtype != (tml_dtype)want->dtype || t->rank != want->rank) {
        snprintf(why, why_sz, "dtype/rank %d/%d, want %d/%d", t->dtype, t->rank, want->dtype,
                 want->rank);
        return 0;
    }
    for (d = 0; d < t->rank; d++)
        if (t->dims[d] != want->dims[d]) {
            snprintf(why, why_sz, "dim %d is %lld, want %lld", d, (long long)t->dims[d],
                     (long long)want->dims[d]);
            return 0;
        }
    if (t->dtype == TML_DT_F32) {
        const float *a = t->data, *b = want->data;
        for (i = 0; i < n; i++) {
            double diff = fabs((double)a[i] - (double)b[i]);
            if (isnan(a[i]) && isnan(b[i]))
                continue;
            if (isinf(b[i]) && a[i] == b[i])
                continue;
            if (!(diff <= 1e-5 + 1e-4 * fabs((double)b[i]))) {
                snprintf(why, why_sz, "element %lld is %.9g, want %.9g", (long long)i, a[i], b[i]);
                return 0;
            }
        }
    } else if (memcmp(t->data, want->data, want->nbytes) != 0) {
        snprintf(why, why_sz, "integer data differs");
        return 0;
    }
    return 1;
}

static int run_model(const char *dir, char *why, size_t why_sz)
{
    char path[1024];
    size_t len;
    uint8_t *model;
    pb_buf b;
    pb_field f;
    tml_graph *g;
    int graph_in[16], n_graph_in = 0, graph_out[16], n_graph_out = 0;
    int nodes[64], n_nodes = 0, i, res = R_PASS;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    model = read_file(path, &len);
    if (!model) {
        snprintf(why, why_sz, "cannot read model");
        return R_FAIL;
    }
    g = tml_graph_new();
    b.p = model;
    b.end = model + len;
    /* opset first, graph second: the hooks read g->opset only when evaluating */
    while (pb_next(&b, &f)) {
        if (f.field == 8) {
            pb_buf ob = pb_sub(&f);
            pb_field of;
            int64_t ver = 0;
            int onnx_domain = 1;
            while (pb_next(&ob, &of)) {
                if (of.field == 1 && of.len > 0 && !(of.len == 7 && !memcmp(of.data, "ai.onnx", 7)))
                    onnx_domain = 0;
                if (of.field == 2)
                    ver = (int64_t)of.v;
            }
            if (onnx_domain)
                g->opset = ver;
        }
    }
    b.p = model;
    while (pb_next(&b, &f) && res == R_PASS) {
        pb_buf gb;
        pb_field gf;
        if (f.field != 7)
            continue;
        gb = pb_sub(&f);
        while (pb_next(&gb, &gf) && res == R_PASS) {
            if (gf.field == 1) {
                int nd = add_node(g, gf.data, gf.len, why, why_sz);
                if (nd == -1)
                    res = R_SKIP;
                else if (nd >= 0 && n_nodes < 64)
                    nodes[n_nodes++] = nd;
            } else if (gf.field == 5) {
                pb_tensor pt;
                if (parse_tensor(gf.data, gf.len, &pt))
                    const_tensor(g, &pt, pt.name);
                free(pt.data);
                free(pt.name);
            } else if (gf.field == 11 || gf.field == 12) {
                pb_buf vb = pb_sub(&gf);
                pb_field vf;
                while (pb_next(&vb, &vf))
                    if (vf.field == 1) {
                        char *nm = pb_str(&vf);
                        int t = name_tensor(g, nm);
                        free(nm);
                        if (gf.field == 11 && !g->tensors[t].data && n_graph_in < 16)
                            graph_in[n_graph_in++] = t;
                        if (gf.field == 12 && n_graph_out < 16)
                            graph_out[n_graph_out++] = t;
                    }
            }
        }
    }
    free(model);
    for (i = 0; i < n_graph_in && res == R_PASS; i++) {
        pb_tensor pt;
        uint8_t *buf;
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        buf = read_file(path, &len);
        if (!buf || !parse_tensor(buf, len, &pt)) {
            snprintf(why, why_sz, "cannot read %s", path);
            res = R_FAIL;
        } else {
            tml_tensor *t = &g->tensors[graph_in[i]];
            tml_tensor_set_shape(t, (tml_dtype)pt.dtype, pt.rank, pt.dims);
            t->data = tml_graph_memdup(g, pt.data, pt.nbytes ? pt.nbytes : 1);
            free(pt.data);
            free(pt.name);
        }
        free(buf);
    }
    for (i = 0; i < n_nodes && res == R_PASS; i++) {
        tml_status st = tev_eval(g, nodes[i]);
        if (st == TML_ERR_UNSUPPORTED && strstr(tml_graph_error(g), "unsupported dtype")) {
            snprintf(why, why_sz, "%s", tml_graph_error(g));
            res = R_SKIP;
        } else if (st) {
            snprintf(why, why_sz, "%s: %s", tml_status_str(st), tml_graph_error(g));
            res = R_FAIL;
        }
    }
    for (i = 0; i < n_graph_out && res == R_PASS; i++) {
        pb_tensor pt;
        uint8_t *buf;
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        buf = read_file(path, &len);
        if (!buf || !parse_tensor(buf, len, &pt)) {
            snprintf(why, why_sz, "cannot read %s", path);
            res = R_FAIL;
        } else {
            char w[200];
            if (!g->tensors[graph_out[i]].data) {
                snprintf(why, why_sz, "output %d not computed", i);
                res = R_FAIL;
            } else if (!compare(&g->tensors[graph_out[i]], &pt, w, sizeof w)) {
                snprintf(why, why_sz, "output %d: %s", i, w);
                res = R_FAIL;
            }
            free(pt.data);
            free(pt.name);
        }
        free(buf);
    }
    tml_graph_free(g);
    return res;
}

static int n_pass, n_fail, n_skip;

static void run_dir(const char *root)
{
    DIR *d = opendir(root);
    struct dirent *e;
    char **names = NULL;
    int n = 0, i;
    if (!d)
        return;
    while ((e = readdir(d)))
        if (strncmp(e->d_name, "test_", 5) == 0) {
            names = realloc(names, sizeof(char *) * (size_t)(n + 1));
            names[n++] = strdup(e->d_name);
        }
    closedir(d);
    for (i = 0; i < n; i++) {
        char dir[1024], why[600] = "";
        int r;
        snprintf(dir, sizeof dir, "%s/%s", root, names[i]);
        r = run_model(dir, why, sizeof why);
        if (r == R_SKIP && strstr(why, "is not elementwise")) {
            free(names[i]);
            continue; /* not this family's test */
        }
        printf("%-4s %s%s%s\n", r == R_PASS ? "PASS" : r == R_FAIL ? "FAIL" : "SKIP", dir,
               why[0] ? "  " : "", why);
        n_pass += r == R_PASS;
        n_fail += r == R_FAIL;
        n_skip += r == R_SKIP;
        free(names[i]);
    }
    free(names);
}

static void test_corpus(void **state)
{
    char root[1024];
    (void)state;
    snprintf(root, sizeof root, "%s/onnx-node", TML_CORPUS_DIR);
    {
        DIR *d = opendir(root);
        if (!d) {
            printf("SKIP: corpus not found at %s\n", TML_CORPUS_DIR);
            skip();
            return;
        }
        closedir(d);
    }
    run_dir(root);
    snprintf(root, sizeof root, "%s/onnx-extra/pytorch-converted", TML_CORPUS_DIR);
    run_dir(root);
    snprintf(root, sizeof root, "%s/onnx-extra/pytorch-operator", TML_CORPUS_DIR);
    run_dir(root);
    snprintf(root, sizeof root, "%s/onnx-extra/simple", TML_CORPUS_DIR);
    run_dir(root);
    printf("elementwise corpus: %d pass, %d fail, %d skip\n", n_pass, n_fail, n_skip);
    assert_true(n_pass > 0);
    assert_int_equal(n_fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
