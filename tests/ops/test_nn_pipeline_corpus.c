/*
 * test_nn_pipeline_corpus.c - the nn conformance tests through the whole compiler: import ->
 * passes (shape inference, folding, activation fusion) -> plan (memory planning, in-place
 * reuse) -> interpreter (serializes the plan to a model package and runs it with the device
 * executor, which calls every kernel's _check first) -> compare with output_K.pb.
 *
 * Models whose ops are all nn-family ops must pass; models that mix in other families' ops
 * are run and reported but do not fail this test (they are those families' to keep green).
 * TML_ERR_UNSUPPORTED anywhere counts as SKIP with the reason printed.
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

static int classify(tml_status st) { return st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL; }

static int run_case(const char *dir, char *why, size_t why_len)
{
    char path[1024], err[512];
    tml_graph *g = tml_graph_new();
    tml_pass_options po;
    tml_plan_options plo;
    tml_plan *plan = NULL;
    tml_interp *it = NULL;
    int i, result = CASE_PASS;
    tml_status st;

    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if ((st = tml_import_file(g, path))) {
        snprintf(why, why_len, "import: %s", tml_graph_error(g));
        result = classify(st);
        goto done;
    }
    tml_pass_options_default(&po);
    if ((st = tml_passes_run(g, &po))) {
        snprintf(why, why_len, "passes: %s", tml_graph_error(g));
        result = classify(st);
        goto done;
    }
    tml_plan_options_default(&plo);
    if ((st = tml_plan_build(g, &plo, &plan))) {
        snprintf(why, why_len, "plan: %s", tml_graph_error(g));
        result = classify(st);
        goto done;
    }
    if ((st = tml_interp_new(plan, &it, err, sizeof err))) {
        snprintf(why, why_len, "interp: %s", err);
        result = classify(st);
        goto done;
    }
    for (i = 0; i < plan->n_inputs; i++) {
        tml_value v;
        size_t bytes;
        void *buf = tml_interp_input(it, i, &bytes);
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        if (tml_pb_read(path, &v, err, sizeof err)) {
            snprintf(why, why_len, "%s: %s", path, err);
            result = CASE_FAIL;
            goto done;
        }
        if (!buf || bytes != v.nbytes) {
            snprintf(why, why_len, "input %d: %zu bytes in the arena, %zu in the file", i, bytes,
                     v.nbytes);
            tml_value_release(&v);
            result = CASE_FAIL;
            goto done;
        }
        memcpy(buf, v.data, bytes);
        tml_value_release(&v);
    }
    if ((st = tml_interp_run(it))) {
        snprintf(why, why_len, "run: %s", tml_status_str(st));
        result = CASE_FAIL;
        goto done;
    }
    for (i = 0; i < plan->n_outputs && result == CASE_PASS; i++) {
        tml_value e;
        size_t bytes, k, n;
        const void *y = tml_interp_output(it, i, &bytes);
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        if (tml_pb_read(path, &e, err, sizeof err)) {
            snprintf(why, why_len, "%s: %s", path, err);
            result = CASE_FAIL;
            break;
        }
        if (!y || bytes != e.nbytes) {
            snprintf(why, why_len, "output %d: %zu bytes, expected %zu", i, bytes, e.nbytes);
            result = CASE_FAIL;
        } else if (e.dtype == TML_DT_F32) {
            n = bytes / 4;
            for (k = 0; k < n; k++) {
                float got = ((const float *)y)[k], want = ((const float *)e.data)[k];
                if (!(fabsf(got - want) <= 1e-5f + 1e-3f * fabsf(want))) {
                    snprintf(why, why_len, "output %d element %zu: got %.7g, expected %.7g", i,
                             k, got, want);
                    result = CASE_FAIL;
                    break;
                }
            }
        } else if (memcmp(y, e.data, bytes)) {
            snprintf(why, why_len, "output %d differs", i);
            result = CASE_FAIL;
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

/* 2: every op is nn; 1: some op is nn; 0: none. */
static int nn_share(const char *ops)
{
    char buf[512], *tok, *save = NULL;
    int any = 0, all = 1;
    snprintf(buf, sizeof buf, "%s", ops);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tml_op o = tml_op_from_onnx(tok);
        const tml_op_info *oi = o < TML_OP_COUNT ? tml_op_get_info(o) : NULL;
        if (oi && !strcmp(oi->family, "nn"))
            any = 1;
        else
            all = 0;
    }
    return any ? (all ? 2 : 1) : 0;
}

static void run_index(const char *base, int *pass, int *fail, int *skip, int *mixed_fail)
{
    char path[1024], line[2048];
    FILE *fp;
    snprintf(path, sizeof path, "%s/INDEX.tsv", base);
    fp = fopen(path, "r");
    if (!fp)
        return;
    while (fgets(line, sizeof line, fp)) {
        char *name = strtok(line, "\t"), *ops = strtok(NULL, "\t"), why[700] = "";
        int r, share;
        if (!name || !ops || !strcmp(name, "test") || !(share = nn_share(ops)))
            continue;
        snprintf(path, sizeof path, "%s/%s", base, name);
        r = run_case(path, why, sizeof why);
        printf("%s%s %s%s%s\n", r == CASE_PASS ? "PASS" : r == CASE_SKIP ? "SKIP" : "FAIL",
               share == 1 ? " (mixed)" : "", name, why[0] ? ": " : "", why);
        if (r == CASE_FAIL && share == 1)
            *mixed_fail += 1;
        else
            *(r == CASE_PASS ? pass : r == CASE_SKIP ? skip : fail) += 1;
    }
    fclose(fp);
}

static void test_pipeline_corpus_nn(void **state)
{
    char base[1024];
    FILE *probe;
    int pass = 0, fail = 0, skip = 0, mixed_fail = 0;
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
    run_index(base, &pass, &fail, &skip, &mixed_fail);
    snprintf(base, sizeof base, "%s/onnx-extra", TML_CORPUS_DIR);
    run_index(base, &pass, &fail, &skip, &mixed_fail);
    printf("nn corpus through the pipeline: %d pass, %d fail, %d skip, %d mixed-op fail\n", pass,
           fail, skip, mixed_fail);
    assert_true(pass > 0);
    assert_int_equal(fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_pipeline_corpus_nn)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
