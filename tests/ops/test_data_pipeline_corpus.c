/*
 * test_data_pipeline_corpus.c - the data-family conformance tests through the whole compiler:
 * real ONNX importer, passes, plan (views, copies, arena placement), and the interpreter,
 * which serializes the plan into a model package and runs it with the device executor (so the
 * kernels' _check companions run on every step too).
 *
 * Conformance tests pass shapes, axes, pads and bounds as graph inputs; as a deployed model
 * has them, every input but the first becomes a constant before the passes run (the first
 * too when it is the only way to feed an int64 parameter). test_data_conformance.c checks the
 * hooks alone; this one checks that what the other stages do with their results (folding
 * Shape/Constant, sharing view buffers, copying graph-input-to-output views) is still right.
 * Unsupported ops or dtypes (TML_ERR_UNSUPPORTED anywhere) are SKIP with the reason; any
 * other failure fails the test. Skips cleanly without the corpus.
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

#include "ops/ops.h"
#include "tml/import.h"
#include "tml/interp.h"
#include "tml/passes.h"
#include "tml/plan.h"
#include "tml/tensor_io.h"

enum { CASE_PASS, CASE_FAIL, CASE_SKIP };

static int feed_const(tml_graph *g, const char *dir, int i, int t, char *why, size_t why_len)
{
    char path[1024], err[256];
    tml_value v;
    tml_tensor *x = &g->tensors[t];
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
    memset(&v, 0, sizeof v);
    if (tml_pb_read(path, &v, err, sizeof err)) {
        snprintf(why, why_len, "%s: %s", path, err);
        return 1;
    }
    tml_tensor_set_shape(x, v.dtype, v.rank, v.dims);
    x->data = tml_graph_memdup(g, v.data, v.nbytes ? v.nbytes : 1);
    tml_value_release(&v);
    return 0;
}

static double elem(tml_dtype dt, const void *p, int64_t k)
{
    tml_cast_params cp = {(uint32_t)dt, TML_DT_F64, 1};
    double v = 0;
    const void *in[1] = {(const uint8_t *)p + k * (int64_t)tml_dtype_size(dt)};
    void *out[1] = {&v};
    tml_cast(&cp, in, out, NULL);
    return v;
}

static int compare(const void *got, size_t got_bytes, const tml_value *e, int i, char *why,
                   size_t why_len)
{
    int64_t k, n = tml_value_numel(e);
    size_t es = tml_dtype_size(e->dtype);
    if (got_bytes != e->nbytes) {
        snprintf(why, why_len, "output %d: %zu bytes, expected %zu", i, got_bytes, e->nbytes);
        return CASE_FAIL;
    }
    for (k = 0; k < n; k++) {
        double a, b;
        if (!memcmp((const uint8_t *)got + k * es, (const uint8_t *)e->data + k * es, es))
            continue;
        a = elem(e->dtype, got, k);
        b = elem(e->dtype, e->data, k);
        if ((e->dtype == TML_DT_F32 || e->dtype == TML_DT_F64 || e->dtype == TML_DT_F16) &&
            (fabs(a - b) <= 1e-6 + 1e-5 * fabs(b) || (a != a && b != b)))
            continue;
        snprintf(why, why_len, "output %d element %lld: got %.9g, expected %.9g", i,
                 (long long)k, a, b);
        return CASE_FAIL;
    }
    return CASE_PASS;
}

static int run_case(const char *dir, char *why, size_t why_len)
{
    char path[1024], err[256];
    tml_graph *g = tml_graph_new();
    tml_pass_options po;
    tml_plan_options plo;
    tml_plan *plan = NULL;
    tml_interp *it = NULL;
    int i, result = CASE_PASS, n_in, in_idx[16], first_runtime = -1;
    tml_status st;

    snprintf(path, sizeof path, "%s/model.onnx", dir);
    st = tml_import_file(g, path);
    if (st) {
        snprintf(why, why_len, "import: %s", tml_graph_error(g));
        result = st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
        goto done;
    }
    n_in = g->n_inputs < 16 ? g->n_inputs : 16;
    for (i = 0; i < n_in; i++)
        in_idx[i] = g->inputs[i];
    /* input 0 stays a runtime input unless it is an integer parameter tensor */
    for (i = 0; i < n_in; i++) {
        if (i == 0 && g->tensors[in_idx[0]].dtype != TML_DT_S64) {
            first_runtime = 0;
            continue;
        }
        if (feed_const(g, dir, i, in_idx[i], why, why_len)) {
            result = CASE_FAIL;
            goto done;
        }
    }
    if (first_runtime == 0) { /* its shape from the test data (dynamic dims) */
        tml_value v;
        snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
        if (tml_pb_read(path, &v, err, sizeof err) == TML_OK) {
            tml_tensor_set_shape(&g->tensors[in_idx[0]], v.dtype, v.rank, v.dims);
            tml_value_release(&v);
        }
    }
    tml_pass_options_default(&po);
    st = tml_passes_run(g, &po);
    if (!st) {
        tml_plan_options_default(&plo);
        st = tml_plan_build(g, &plo, &plan);
    }
    if (st) {
        snprintf(why, why_len, "compile: %s", tml_graph_error(g));
        result = st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
        goto done;
    }
    if (tml_plan_check(plan, err, sizeof err)) {
        snprintf(why, why_len, "plan check: %s", err);
        result = CASE_FAIL;
        goto done;
    }
    if (tml_interp_new(plan, &it, err, sizeof err)) {
        snprintf(why, why_len, "interp: %s", err);
        result = CASE_FAIL;
        goto done;
    }
    if (first_runtime == 0 && plan->n_inputs > 0) {
        tml_value v;
        size_t nb = 0;
        void *buf = tml_interp_input(it, 0, &nb);
        snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
        if (tml_pb_read(path, &v, err, sizeof err) || !buf || nb != v.nbytes) {
            snprintf(why, why_len, "input 0: cannot feed (%zu bytes in the plan)", nb);
            result = CASE_FAIL;
            goto done;
        }
        memcpy(buf, v.data, v.nbytes);
        tml_value_release(&v);
    }
    if (tml_interp_run(it)) {
        snprintf(why, why_len, "run failed");
        result = CASE_FAIL;
        goto done;
    }
    for (i = 0; result == CASE_PASS; i++) {
        tml_value e;
        size_t nb = 0;
        void *got;
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        if (tml_pb_read(path, &e, err, sizeof err))
            break; /* no more outputs */
        got = tml_interp_output(it, i, &nb);
        if (!got && e.nbytes > 0) {
            snprintf(why, why_len, "output %d missing from the plan", i);
            result = CASE_FAIL;
        } else {
            result = compare(got, nb, &e, i, why, why_len);
        }
        tml_value_release(&e);
    }
done:
    if (it)
        tml_interp_free(it);
    if (plan)
        tml_plan_free(plan);
    tml_graph_free(g);
    return result;
}

/* 1 if every op in the comma-separated list is a data-family op. */
static int all_data(const char *ops)
{
    char buf[512], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", ops);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tml_op o = tml_op_from_onnx(tok);
        const tml_op_info *oi = o < TML_OP_COUNT ? tml_op_get_info(o) : NULL;
        if (!oi || strcmp(oi->family, "data"))
            return 0;
    }
    return 1;
}

static int run_index(const char *base, int *pass, int *fail, int *skip)
{
    char path[1024], line[2048];
    FILE *fp;
    snprintf(path, sizeof path, "%s/INDEX.tsv", base);
    fp = fopen(path, "r");
    if (!fp)
        return 0;
    while (fgets(line, sizeof line, fp)) {
        char *name = strtok(line, "\t"), *ops = strtok(NULL, "\t"), why[600] = "";
        int r;
        if (!name || !ops || !strcmp(name, "test") || !all_data(ops))
            continue;
        snprintf(path, sizeof path, "%s/%s", base, name);
        r = run_case(path, why, sizeof why);
        if (r != CASE_PASS)
            printf("%s %s: %s\n", r == CASE_SKIP ? "SKIP" : "FAIL", name, why);
        *(r == CASE_PASS ? pass : r == CASE_SKIP ? skip : fail) += 1;
    }
    fclose(fp);
    return 1;
}

static void test_pipeline_corpus_data(void **state)
{
    char base[1024];
    int pass = 0, fail = 0, skip = 0, found;
    (void)state;
    snprintf(base, sizeof base, "%s/onnx-node", TML_CORPUS_DIR);
    found = run_index(base, &pass, &fail, &skip);
    snprintf(base, sizeof base, "%s/onnx-extra", TML_CORPUS_DIR);
    found |= run_index(base, &pass, &fail, &skip);
    if (!found) {
        printf("SKIP: corpus not found at %s\n", TML_CORPUS_DIR);
        skip();
        return;
    }
    printf("data corpus through import+passes+plan+interp: %d pass, %d fail, %d skip\n", pass,
           fail, skip);
    assert_true(pass > 0);
    assert_int_equal(fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pipeline_corpus_data)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
