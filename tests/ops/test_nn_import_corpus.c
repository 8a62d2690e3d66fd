/*
 * test_nn_import_corpus.c - the nn conformance tests again, this time through the real ONNX
 * importer (tml_import_file) and the .pb reader (tml_pb_read): every model in ../shared/corpus
 * whose nodes are all nn-family ops is imported, its graph inputs get the values of
 * test_data_set_0/input_K.pb, and each node runs through shape hook, lowering, _check and
 * kernel (tests/support/node_eval.h); the outputs are compared with output_K.pb.
 *
 * test_nn_corpus.c checks the op family alone with its own small protobuf reader; this one
 * checks that what the importer hands over (attribute types, initializers, opsets) is what
 * the nn hooks expect. Models the importer refuses with TML_ERR_UNSUPPORTED, and unsupported
 * dtypes, count as SKIP with the reason printed; any other failure fails the test.
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

#include "support/node_eval.h"
#include "tml/import.h"
#include "tml/tensor_io.h"

enum { CASE_PASS, CASE_FAIL, CASE_SKIP };

static int compare(const tml_tensor *y, const tml_value *e, int i, char *why, size_t why_len)
{
    int64_t k, numel = tml_value_numel(e);
    if (e->dtype != y->dtype || e->rank != y->rank ||
        memcmp(e->dims, y->dims, sizeof(int64_t) * (size_t)e->rank)) {
        char a[128];
        snprintf(why, why_len, "output %d: shape %s dtype %d, expected rank %d dtype %d", i,
                 tml_shape_str(y, a, sizeof a), (int)y->dtype, e->rank, (int)e->dtype);
        return CASE_FAIL;
    }
    for (k = 0; k < numel; k++) {
        if (y->dtype == TML_DT_F32) {
            float got = ((const float *)y->data)[k], want = ((const float *)e->data)[k];
            if (!(fabsf(got - want) <= 1e-5f + 1e-3f * fabsf(want))) {
                snprintf(why, why_len, "output %d element %lld: got %.7g, expected %.7g", i,
                         (long long)k, got, want);
                return CASE_FAIL;
            }
        } else if (y->dtype == TML_DT_S64) {
            if (((const int64_t *)y->data)[k] != ((const int64_t *)e->data)[k]) {
                snprintf(why, why_len, "output %d element %lld differs", i, (long long)k);
                return CASE_FAIL;
            }
        }
    }
    return CASE_PASS;
}

static int run_case(const char *dir, char *why, size_t why_len)
{
    char path[1024], err[256];
    tml_graph *g = tml_graph_new();
    int i, result = CASE_PASS;
    tml_status st;

    snprintf(path, sizeof path, "%s/model.onnx", dir);
    st = tml_import_file(g, path);
    if (st) {
        snprintf(why, why_len, "import: %s", tml_graph_error(g));
        result = st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
        goto done;
    }
    for (i = 0; i < g->n_inputs; i++) {
        tml_value v;
        tml_tensor *t = &g->tensors[g->inputs[i]];
        snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
        if (tml_pb_read(path, &v, err, sizeof err)) {
            snprintf(why, why_len, "%s: %s", path, err);
            result = CASE_FAIL;
            goto done;
        }
        tml_tensor_set_shape(t, v.dtype, v.rank, v.dims);
        t->data = tml_graph_memdup(g, v.data, v.nbytes ? v.nbytes : 1);
        tml_value_release(&v);
    }
    for (i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead)
            continue;
        st = tev_eval(g, i);
        if (st) {
            snprintf(why, why_len, "%s", tml_graph_error(g));
            result = st == TML_ERR_UNSUPPORTED ? CASE_SKIP : CASE_FAIL;
            goto done;
        }
    }
    for (i = 0; i < g->n_outputs && result == CASE_PASS; i++) {
        tml_value e;
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        if (tml_pb_read(path, &e, err, sizeof err)) {
            snprintf(why, why_len, "%s: %s", path, err);
            result = CASE_FAIL;
            break;
        }
        result = compare(&g->tensors[g->outputs[i]], &e, i, why, why_len);
        tml_value_release(&e);
    }
done:
    tml_graph_free(g);
    return result;
}

/* 1 if every op in the comma-separated list is an nn-family op. */
static int all_nn(const char *ops)
{
    char buf[512], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", ops);
    for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        tml_op o = tml_op_from_onnx(tok);
        const tml_op_info *oi = o < TML_OP_COUNT ? tml_op_get_info(o) : NULL;
        if (!oi || strcmp(oi->family, "nn"))
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
        if (!name || !ops || !strcmp(name, "test") || !all_nn(ops))
            continue;
        snprintf(path, sizeof path, "%s/%s", base, name);
        r = run_case(path, why, sizeof why);
        printf("%s %s%s%s\n", r == CASE_PASS ? "PASS" : r == CASE_SKIP ? "SKIP" : "FAIL", name,
               why[0] ? ": " : "", why);
        *(r == CASE_PASS ? pass : r == CASE_SKIP ? skip : fail) += 1;
    }
    fclose(fp);
}

static void test_import_corpus_nn(void **state)
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
    printf("nn corpus via importer: %d pass, %d fail, %d skip\n", pass, fail, skip);
    assert_true(pass > 0);
    assert_int_equal(fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_import_corpus_nn)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
