/*
 * test_elementwise_pipeline.c - the elementwise family through the whole compiler: ONNX
 * importer, standard passes (shape inference, constant folding, activation fusion), plan
 * (lowering, in-place reuse, arena placement) and the interpreter, which runs the plan as a
 * model package through the device executor - so each kernel's _check runs on the package's
 * real buffer sizes.
 *
 * Two parts: every conformance model in ../shared/corpus whose ops are all elementwise
 * (Constant allowed), compared with its expected outputs (importer refusals and unsupported
 * dtypes count as SKIP with the reason; a Reduce* `axes` fed as a graph input is frozen into a
 * constant first, as its value decides the output shape); and a hand-built chain Add -> Relu -> Sigmoid -> Mul
 * -> ReduceMean -> ArgMax whose Relu the fuser folds into Add and whose unary steps may run
 * in place, compared with a direct computation.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/cg_util.h"
#include "tml/import.h"
#include "tml/interp.h"
#include "tml/passes.h"
#include "tml/plan.h"
#include "tml/tensor_io.h"

enum { CASE_PASS, CASE_FAIL, CASE_SKIP };

static int compare(const void *got, size_t got_bytes, const tml_value *e, int i, char *why,
                   size_t why_len)
{
    int64_t k, numel = tml_value_numel(e);
    if (got_bytes != e->nbytes) {
        snprintf(why, why_len, "output %d: %zu bytes, expected %zu", i, got_bytes,
                 (size_t)e->nbytes);
        return CASE_FAIL;
    }
    if (e->dtype != TML_DT_F32 && e->dtype != TML_DT_F64) {
        if (memcmp(got, e->data, e->nbytes)) {
            snprintf(why, why_len, "output %d: integer data differs", i);
            return CASE_FAIL;
        }
        return CASE_PASS;
    }
    for (k = 0; k < numel; k++) {
        double g = e->dtype == TML_DT_F32 ? ((const float *)got)[k] : ((const double *)got)[k];
        double w = e->dtype == TML_DT_F32 ? ((const float *)e->data)[k]
                                          : ((const double *)e->data)[k];
        if (isnan(g) && isnan(w))
            continue;
        if (isinf(w) && g == w)
            continue;
        if (!(fabs(g - w) <= 1e-5 + 1e-4 * fabs(w))) {
            snprintf(why, why_len, "output %d element %lld: got %.9g, expected %.9g", i,
                     (long long)k, g, w);
            return CASE_FAIL;
        }
    }
    return CASE_PASS;
}

/* Passes, plan (checked), interpreter; on success *itp holds a ready interpreter. */
static int compile(tml_graph *g, tml_plan **pp, tml_interp **itp, char *why, size_t why_len)
{
    tml_pass_options po;
    tml_plan_options plo;
    tml_status st;
    char err[256];
    tml_pass_options_default(&po);
    tml_plan_options_default(&plo);
    *pp = NULL;
    *itp = NULL;
    st = tml_passes_run(g, &po);
    if (!st)
        st = tml_plan_build(g, &plo, pp);
    if (st) {
        snprintf(why, why_len, "%s", tml_graph_error(g));
        return st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
    }
    if (tml_plan_check(*pp, err, sizeof err) ||
        tml_interp_new(*pp, itp, err, sizeof err)) {
        snprintf(why, why_len, "plan/interp: %s", err);
        return CASE_FAIL;
    }
    return CASE_PASS;
}

/* 1 if tensor t is input 1 (axes) of a ReduceMean or ReduceMax node. */
static int is_axes_input(const tml_graph *g, int t)
{
    int i;
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *n = &g->nodes[i];
        if ((n->op == TML_OP_REDUCE_MEAN || n->op == TML_OP_REDUCE_MAX) && n->n_in > 1 &&
            n->in[1] == t)
            return 1;
    }
    return 0;
}

static int run_case(const char *dir, char *why, size_t why_len)
{
    char path[1024], err[256];
    tml_graph *g = tml_graph_new();
    tml_plan *plan = NULL;
    tml_interp *it = NULL;
    int i, k, result;
    int frozen[TML_PLAN_MAX_IO] = {0};
    tml_value vals[TML_PLAN_MAX_IO];
    int n_vals = 0;
    tml_status st;

    snprintf(path, sizeof path, "%s/model.onnx", dir);
    st = tml_import_file(g, path);
    if (st) {
        snprintf(why, why_len, "import: %s", tml_graph_error(g));
        result = st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
        goto done;
    }
    /* input shapes first (for shape inference), values after the plan exists */
    for (i = 0; i < g->n_inputs && i < TML_PLAN_MAX_IO; i++) {
        tml_tensor *t = &g->tensors[g->inputs[i]];
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        if (tml_pb_read(path, &vals[i], err, sizeof err)) {
            snprintf(why, why_len, "%s: %s", path, err);
            result = CASE_FAIL;
            goto done;
        }
        n_vals++;
        tml_tensor_set_shape(t, vals[i].dtype, vals[i].rank, vals[i].dims);
        /* Reduce* axes decide the output shape, so they must be constants: the test feeds
         * them as a graph input; freeze it (infer_shapes drops inputs that carry data) */
        if (is_axes_input(g, g->inputs[i])) {
            t->data = tml_graph_memdup(g, vals[i].data, vals[i].nbytes ? vals[i].nbytes : 1);
            frozen[i] = 1;
        }
    }
    result = compile(g, &plan, &it, why, why_len);
    if (result != CASE_PASS)
        goto done;
    for (i = 0, k = 0; i < n_vals; i++) {
        size_t bytes;
        void *buf;
        if (frozen[i])
            continue;
        buf = tml_interp_input(it, k++, &bytes);
        if (!buf || bytes != vals[i].nbytes) {
            snprintf(why, why_len, "input %d: buffer of %zu bytes for %zu", i, bytes,
                     (size_t)vals[i].nbytes);
            result = CASE_FAIL;
            goto done;
        }
        memcpy(buf, vals[i].data, bytes);
    }
    if (tml_interp_run(it)) {
        snprintf(why, why_len, "run failed");
        result = CASE_FAIL;
        goto done;
    }
    for (i = 0; i < g->n_outputs && result == CASE_PASS; i++) {
        tml_value e;
        size_t bytes;
        void *buf = tml_interp_output(it, i, &bytes);
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        if (tml_pb_read(path, &e, err, sizeof err)) {
            snprintf(why, why_len, "%s: %s", path, err);
            result = CASE_FAIL;
            break;
        }
        result = buf ? compare(buf, bytes, &e, i, why, why_len) : CASE_FAIL;
        tml_value_release(&e);
    }
done:
    for (i = 0; i < n_vals; i++)
        tml_value_release(&vals[i]);
    tml_interp_free(it);
    tml_plan_free(plan);
    tml_graph_free(g);
    return result;
}

/* 1 if every op in the comma-separated list is an elementwise op or Constant. */
static int all_elementwise(const char *ops)
{
    char buf[512], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", ops);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tml_op o = tml_op_from_onnx(tok);
        const tml_op_info *oi = o < TML_OP_COUNT ? tml_op_get_info(o) : NULL;
        if (!strcmp(tok, "Constant"))
            continue;
        if (!oi || strcmp(oi->family, "elementwise"))
            return 0;
    }
    return 1;
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
        int r;
        if (!name || !ops || !strcmp(name, "test") || !all_elementwise(ops))
            continue;
        snprintf(path, sizeof path, "%s/%s", base, name);
        r = run_case(path, why, sizeof why);
        printf("%s %s%s%s\n", r == CASE_PASS ? "PASS" : r == CASE_SKIP ? "SKIP" : "FAIL", name,
               why[0] ? ": " : "", why);
        *(r == CASE_PASS ? pass : r == CASE_SKIP ? skip : fail) += 1;
    }
    fclose(fp);
}

static void test_pipeline_corpus(void **state)
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
    printf("elementwise corpus through the pipeline: %d pass, %d fail, %d skip\n", pass, fail,
           skip);
    assert_true(pass > 0);
    assert_int_equal(fail, 0);
}

/* x (2, 3), w (3) constant: y = ArgMax(ReduceMean(Sigmoid(Relu(x + w)) * x, axes=[1]))... kept
 * small enough to compute by hand below. */
static void test_pipeline_chain(void **state)
{
    static const float w[3] = {0.5f, -1.0f, 2.0f};
    static const float xv[6] = {-1, 2, 0.25f, 3, -4, 1};
    tml_graph *g = tml_graph_new();
    int x, wc, a, r, s, m, mean, am, n, i;
    int in2[2];
    tml_attr *at;
    tml_plan *plan;
    tml_interp *it;
    char why[600] = "";
    size_t bytes;
    float want_mean[2];
    const float *got_mean;
    const int64_t *got_am;
    (void)state;
    g->opset = 13;
    x = tml_graph_add_tensor(g, "x");
    tml_tensor_set_shape(&g->tensors[x], TML_DT_F32, 2, (int64_t[]){2, 3});
    g->tensors[x].is_input = true;
    tml_graph_add_input(g, x);
    wc = tml_graph_add_tensor(g, "w");
    tml_tensor_set_shape(&g->tensors[wc], TML_DT_F32, 1, (int64_t[]){3});
    g->tensors[wc].data = tml_graph_memdup(g, w, sizeof w);
    a = tml_graph_add_tensor(g, "a");
    r = tml_graph_add_tensor(g, "r");
    s = tml_graph_add_tensor(g, "s");
    m = tml_graph_add_tensor(g, "m");
    mean = tml_graph_add_tensor(g, "mean");
    am = tml_graph_add_tensor(g, "am");
    in2[0] = x;
    in2[1] = wc;
    assert_true(tml_graph_add_node(g, TML_OP_ADD, "add", 2, in2, 1, &a) >= 0);
    assert_true(tml_graph_add_node(g, TML_OP_RELU, "relu", 1, &a, 1, &r) >= 0);
    assert_true(tml_graph_add_node(g, TML_OP_SIGMOID, "sigmoid", 1, &r, 1, &s) >= 0);
    in2[0] = s;
    in2[1] = x;
    assert_true(tml_graph_add_node(g, TML_OP_MUL, "mul", 2, in2, 1, &m) >= 0);
    n = tml_graph_add_node(g, TML_OP_REDUCE_MEAN, "mean", 1, &m, 1, &mean);
    at = tml_node_add_attr(g, n, "axes", TML_ATTR_INTS);
    at->n = 1;
    at->ints = tml_graph_memdup(g, (int64_t[]){1}, sizeof(int64_t));
    at = tml_node_add_attr(g, n, "keepdims", TML_ATTR_INT);
    at->i = 0;
    n = tml_graph_add_node(g, TML_OP_ARGMAX, "argmax", 1, &mean, 1, &am);
    assert_true(n >= 0);
    g->tensors[mean].is_output = true;
    g->tensors[am].is_output = true;
    tml_graph_add_output(g, mean);
    tml_graph_add_output(g, am);

    assert_int_equal(compile(g, &plan, &it, why, sizeof why), CASE_PASS);
    assert_true(g->nodes[1].dead);            /* Relu fused into Add */
    assert_int_equal(g->nodes[0].act, TML_ACT_RELU);
    memcpy(tml_interp_input(it, 0, &bytes), xv, sizeof xv);
    assert_int_equal(bytes, sizeof xv);
    assert_int_equal(tml_interp_run(it), TML_OK);

    for (i = 0; i < 2; i++) {
        int j;
        float acc = 0;
        for (j = 0; j < 3; j++) {
            float v = xv[i * 3 + j] + w[j];
            v = v > 0 ? v : 0;
            acc += 1.0f / (1.0f + expf(-v)) * xv[i * 3 + j];
        }
        want_mean[i] = acc / 3;
    }
    got_mean = tml_interp_output(it, 0, &bytes);
    assert_int_equal(bytes, 2 * sizeof(float));
    assert_float_equal(got_mean[0], want_mean[0], 1e-5);
    assert_float_equal(got_mean[1], want_mean[1], 1e-5);
    got_am = tml_interp_output(it, 1, &bytes);
    assert_int_equal(bytes, sizeof(int64_t));
    assert_int_equal(got_am[0], want_mean[1] > want_mean[0] ? 1 : 0);
    {
        /* the generated C (host and Cortex-M4) computes the same bytes */
        const void *ins[1] = {xv};
        char dir[64];
        assert_int_equal(cg_compile_and_compare(plan, ins, dir), 0);
    }
    tml_interp_free(it);
    tml_plan_free(plan);
    tml_graph_free(g);
}

/* Integer and mixed-type kernels through plan, interpreter and generated C: int8 Add with a
 * constant, Abs, Clip (constant bounds), Pow int64 ^ int64, bool ReduceMax. */
static void test_pipeline_int_kernels(void **state)
{
    static const int8_t c8[3] = {100, -7, 1};
    static const int8_t lo = -20, hi = 50;
    static const int64_t e2[1] = {3};
    static const int8_t x8[6] = {100, 3, -128, -1, 0, 127};
    static const int64_t x64[2] = {-3, 1000};
    static const uint8_t xb[6] = {0, 0, 1, 0, 0, 0};
    tml_graph *g = tml_graph_new();
    int x, c, a, ab, cl, t_lo, t_hi, l, le, p, b, r, in3[3];
    tml_attr *at;
    tml_plan *plan;
    tml_interp *it;
    char why[600] = "";
    size_t bytes;
    const int8_t *y8;
    const int64_t *y64;
    const uint8_t *yb;
    (void)state;
    g->opset = 13;
    x = tml_graph_add_tensor(g, "x8");
    tml_tensor_set_shape(&g->tensors[x], TML_DT_S8, 2, (int64_t[]){2, 3});
    tml_graph_add_input(g, x);
    l = tml_graph_add_tensor(g, "x64");
    tml_tensor_set_shape(&g->tensors[l], TML_DT_S64, 1, (int64_t[]){2});
    tml_graph_add_input(g, l);
    b = tml_graph_add_tensor(g, "xb");
    tml_tensor_set_shape(&g->tensors[b], TML_DT_BOOL, 2, (int64_t[]){2, 3});
    tml_graph_add_input(g, b);
    c = tml_graph_add_tensor(g, "c8");
    tml_tensor_set_shape(&g->tensors[c], TML_DT_S8, 1, (int64_t[]){3});
    g->tensors[c].data = tml_graph_memdup(g, c8, sizeof c8);
    t_lo = tml_graph_add_tensor(g, "lo");
    tml_tensor_set_shape(&g->tensors[t_lo], TML_DT_S8, 0, NULL);
    g->tensors[t_lo].data = tml_graph_memdup(g, &lo, 1);
    t_hi = tml_graph_add_tensor(g, "hi");
    tml_tensor_set_shape(&g->tensors[t_hi], TML_DT_S8, 0, NULL);
    g->tensors[t_hi].data = tml_graph_memdup(g, &hi, 1);
    le = tml_graph_add_tensor(g, "e");
    tml_tensor_set_shape(&g->tensors[le], TML_DT_S64, 1, (int64_t[]){1});
    g->tensors[le].data = tml_graph_memdup(g, e2, sizeof e2);
    a = tml_graph_add_tensor(g, "a");
    ab = tml_graph_add_tensor(g, "ab");
    cl = tml_graph_add_tensor(g, "cl");
    p = tml_graph_add_tensor(g, "p");
    r = tml_graph_add_tensor(g, "r");
    in3[0] = x;
    in3[1] = c;
    assert_true(tml_graph_add_node(g, TML_OP_ADD, "add8", 2, in3, 1, &a) >= 0);
    assert_true(tml_graph_add_node(g, TML_OP_ABS, "abs8", 1, &a, 1, &ab) >= 0);
    in3[0] = ab;
    in3[1] = t_lo;
    in3[2] = t_hi;
    assert_true(tml_graph_add_node(g, TML_OP_CLIP, "clip8", 3, in3, 1, &cl) >= 0);
    in3[0] = l;
    in3[1] = le;
    assert_true(tml_graph_add_node(g, TML_OP_POW, "pow64", 2, in3, 1, &p) >= 0);
    in3[0] = b;
    {
        int n = tml_graph_add_node(g, TML_OP_REDUCE_MAX, "any", 1, in3, 1, &r);
        assert_true(n >= 0);
        at = tml_node_add_attr(g, n, "axes", TML_ATTR_INTS);
        at->n = 1;
        at->ints = tml_graph_memdup(g, (int64_t[]){1}, sizeof(int64_t));
    }
    tml_graph_add_output(g, cl);
    tml_graph_add_output(g, p);
    tml_graph_add_output(g, r);

    assert_int_equal(compile(g, &plan, &it, why, sizeof why), CASE_PASS);
    memcpy(tml_interp_input(it, 0, &bytes), x8, sizeof x8);
    memcpy(tml_interp_input(it, 1, &bytes), x64, sizeof x64);
    memcpy(tml_interp_input(it, 2, &bytes), xb, sizeof xb);
    assert_int_equal(tml_interp_run(it), TML_OK);
    y8 = tml_interp_output(it, 0, &bytes);
    assert_int_equal(bytes, 6);
    /* x + c wraps: 100+100=-56 -> abs 56 -> clip 50; 3-7=-4 -> 4; -128+1=-127 -> 127 -> 50;
     * -1+100=99 -> 50; 0-7 -> 7 */
    assert_int_equal(y8[0], 50);
    assert_int_equal(y8[1], 4);
    assert_int_equal(y8[2], 50);
    assert_int_equal(y8[3], 50); /* -1+100 = 99 */
    assert_int_equal(y8[4], 7);
    assert_int_equal(y8[5], -20); /* 127+1 wraps to -128, whose abs wraps to -128 */
    y64 = tml_interp_output(it, 1, &bytes);
    assert_int_equal(bytes, 16);
    assert_true(y64[0] == -27 && y64[1] == 1000000000);
    yb = tml_interp_output(it, 2, &bytes);
    assert_int_equal(bytes, 2);
    assert_int_equal(yb[0], 1);
    assert_int_equal(yb[1], 0);
    {
        const void *ins[3] = {x8, x64, xb};
        char dir[64];
        assert_int_equal(cg_compile_and_compare(plan, ins, dir), 0);
    }
    tml_interp_free(it);
    tml_plan_free(plan);
    tml_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_corpus),
        cmocka_unit_test(test_pipeline_chain),
        cmocka_unit_test(test_pipeline_int_kernels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
