/*
 * test_pipeline.c - the whole compiler on the ONNX conformance corpus, through both carriers.
 *
 * For every test in ../shared/corpus/onnx-node and onnx-extra (a folder with model.onnx and
 * test_data_set_0/): import, run the passes, build the plan, then
 *   1. interpreter: serialize to a model package, load it in the device executor, run it on
 *      input_K.pb and compare with output_K.pb (|y - e| <= 1e-5 + 1e-3 |e| for floats, exact
 *      for integers);
 *   2. C carrier, for a fixed selection of tests (all of them with TML_CG_ALL=1): generate C,
 *      build it with -std=c99 -Wall -Wextra -Werror -pedantic, compile it for Cortex-M4, run
 *      its harness on the same inputs and require the interpreter's bytes exactly.
 * A stage before the plan that reports TML_ERR_UNSUPPORTED (op, dtype or attribute the project
 * does not handle) is a SKIP; other import/pass/plan errors are counted as upstream failures and
 * reported (their modules have their own corpus runners). Failures of what this module owns -
 * package, executor, interpreter, code generation - and wrong results fail the test.
 * Without the corpus the test skips with a message.
 */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/cg_util.h"
#include "tml/codegen.h"
#include "tml/import.h"
#include "tml/interp.h"
#include "tml/passes.h"
#include "tml/plan.h"
#include "tml/tensor_io.h"

/* Tests whose generated C is built and compared by default: a spread of kernels and graphs. */
static const char *const cg_selection[] = {
    "test_conv_with_strides_padding", "test_conv_with_autopad_same", "test_Conv2d_depthwise_padded",
    "test_Conv2d_groups", "test_Conv1d_dilated", "test_gemm_default_single_elem_vector_bias",
    "test_gemm_transposeA", "test_matmul_4d", "test_Linear", "test_maxpool_2d_pads",
    "test_averagepool_2d_pads", "test_globalaveragepool", "test_softmax_axis_1",
    "test_LogSoftmax", "test_add_bcast", "test_add_int8", "test_pow_bcast_array", "test_relu",
    "test_sigmoid", "test_leakyrelu", "test_clip_splitbounds", "test_clip_default_int8_min",
    "test_prelu_broadcast", "test_batchnorm_epsilon", "test_BatchNorm2d_eval",
    "test_reduce_mean_keepdims_random", "test_argmax_default_axis_example",
    "test_transpose_all_permutations_3", "test_concat_2d_axis_0", "test_slice",
    "test_constant_pad", "test_edge_pad", "test_gather_0", "test_flatten_axis1",
    "test_reshape_reordered_all_dims", "test_cast_FLOAT_to_DOUBLE", "test_PixelShuffle",
    "test_quantizelinear_axis", "test_dequantizelinear_axis", "test_qlinearconv",
    "test_qlinearmatmul_2D_int8_float32", "test_convinteger_without_padding",
    "test_matmulinteger", "test_operator_maxpool", "test_operator_basic", "test_operator_mm",
    "test_operator_addmm", "test_operator_permute2", "test_operator_view",
    "test_single_relu_model",
    NULL};

typedef struct {
    int pass, skip, upstream, fail, cg_pass, cg_fail;
    int cg_all;
} tally;

static bool cg_selected(const char *name, int all)
{
    int i;
    if (all)
        return true;
    for (i = 0; cg_selection[i]; i++)
        if (strcmp(cg_selection[i], name) == 0)
            return true;
    return false;
}

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool close_enough(tml_dtype dt, const void *got, const void *want, size_t n, char *why,
                         size_t whysz)
{
    size_t i;
    if (dt == TML_DT_F32) {
        const float *y = got, *e = want;
        for (i = 0; i < n / 4; i++) {
            if ((isnan(e[i]) && isnan(y[i])) || y[i] == e[i])
                continue;
            if (!(fabsf(y[i] - e[i]) <= 1e-5f + 1e-3f * fabsf(e[i]))) {
                snprintf(why, whysz, "element %zu: %g, expected %g", i, (double)y[i],
                         (double)e[i]);
                return false;
            }
        }
        return true;
    }
    if (dt == TML_DT_F64) {
        const double *y = got, *e = want;
        for (i = 0; i < n / 8; i++)
            if (!(fabs(y[i] - e[i]) <= 1e-7 + 1e-5 * fabs(e[i])) && !(isnan(y[i]) && isnan(e[i])) &&
                y[i] != e[i]) {
                snprintf(why, whysz, "element %zu: %g, expected %g", i, y[i], e[i]);
                return false;
            }
        return true;
    }
    if (memcmp(got, want, n) != 0) {
        for (i = 0; i < n && ((const uint8_t *)got)[i] == ((const uint8_t *)want)[i]; i++)
            ;
        snprintf(why, whysz, "byte %zu differs", i);
        return false;
    }
    return true;
}

/* Runs one conformance test folder. */
static void run_case(const char *dir, const char *name, tally *t)
{
    char path[1024], err[512] = "", why[256] = "";
    tml_graph *g = tml_graph_new();
    tml_plan *p = NULL;
    tml_interp *it = NULL;
    tml_value vals[TML_PLAN_MAX_IO];
    const void *inputs[TML_PLAN_MAX_IO];
    int n_vals = 0, i;
    tml_status st;
    const char *stage = "import";

    memset(vals, 0, sizeof(vals));
    snprintf(path, sizeof(path), "%s/model.onnx", dir);
    st = tml_import_file(g, path);
    if (st == TML_OK) {
        stage = "passes";
        st = tml_passes_run(g, NULL);
    }
    if (st == TML_OK) {
        stage = "plan";
        st = tml_plan_build(g, NULL, &p);
    }
    if (st != TML_OK) {
        if (st == TML_ERR_UNSUPPORTED) {
            t->skip++;
        } else {
            t->upstream++;
            printf("UPSTREAM %s: %s: %s\n", name, stage, tml_graph_error(g));
        }
        goto out;
    }
    if (tml_plan_check(p, err, sizeof(err)) != TML_OK) {
        t->upstream++;
        printf("UPSTREAM %s: plan check: %s\n", name, err);
        goto out;
    }
    if (tml_interp_new(p, &it, err, sizeof(err)) != TML_OK) {
        t->fail++;
        printf("FAIL %s: interp: %s\n", name, err);
        goto out;
    }
    for (i = 0; i < p->n_inputs; i++) {
        size_t nb;
        void *buf = tml_interp_input(it, i, &nb);
        snprintf(path, sizeof(path), "%s/test_data_set_0/input_%d.pb", dir, i);
        if (tml_pb_read(path, &vals[i], err, sizeof(err)) != TML_OK || vals[i].nbytes != nb) {
            t->upstream++;
            printf("UPSTREAM %s: input %d: %s (%zu bytes, plan wants %zu)\n", name, i,
                   err, vals[i].nbytes, nb);
            n_vals = i + 1;
            goto out;
        }
        memcpy(buf, vals[i].data, nb);
        inputs[i] = vals[i].data;
        n_vals = i + 1;
    }
    if (tml_interp_run(it) != TML_OK) {
        t->fail++;
        printf("FAIL %s: interp run\n", name);
        goto out;
    }
    for (i = 0; i < p->n_outputs; i++) {
        tml_value e;
        size_t nb;
        void *y = tml_interp_output(it, i, &nb);
        memset(&e, 0, sizeof(e));
        snprintf(path, sizeof(path), "%s/test_data_set_0/output_%d.pb", dir, i);
        if (tml_pb_read(path, &e, err, sizeof(err)) != TML_OK) {
            t->upstream++;
            printf("UPSTREAM %s: output %d: %s\n", name, i, err);
            goto out;
        }
        if (e.nbytes != nb || !close_enough(e.dtype, y, e.data, nb, why, sizeof(why))) {
            t->fail++;
            if (e.nbytes != nb)
                snprintf(why, sizeof(why), "%zu bytes, expected %zu", nb, e.nbytes);
            printf("FAIL %s: output %d: %s\n", name, i, why);
            tml_value_release(&e);
            goto out;
        }
        tml_value_release(&e);
    }
    t->pass++;
    if (cg_selected(name, t->cg_all)) {
        char cgdir[64], cmd[128];
        if (cg_compile_and_compare(p, inputs, cgdir) == 0) {
            t->cg_pass++;
            snprintf(cmd, sizeof(cmd), "rm -rf %s", cgdir);
            if (system(cmd) != 0)
                printf("note: could not remove %s\n", cgdir);
        } else {
            t->cg_fail++;
            printf("FAIL %s: generated C (kept in %s)\n", name, cgdir);
        }
    }
out:
    for (i = 0; i < n_vals; i++)
        tml_value_release(&vals[i]);
    tml_interp_free(it);
    tml_plan_free(p);
    tml_graph_free(g);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Runs every test_* folder under root (sorted). */
static void run_folder(const char *root, tally *t)
{
    DIR *d = opendir(root);
    struct dirent *e;
    char **names = NULL;
    int n = 0, cap = 0, i;
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "test_", 5) != 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, (size_t)cap * sizeof(*names));
            assert_non_null(names);
        }
        names[n++] = strdup(e->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, (size_t)n, sizeof(*names), cmp_str);
    for (i = 0; i < n; i++) {
        char path[1024], model[1100];
        snprintf(path, sizeof(path), "%s/%s", root, names[i]);
        snprintf(model, sizeof(model), "%s/model.onnx", path);
        if (is_dir(path) && access(model, R_OK) == 0)
            run_case(path, names[i], t);
        free(names[i]);
    }
    free(names);
}

static void test_corpus(void **state)
{
    static const char *const roots[] = {"onnx-node", "onnx-extra/simple",
                                        "onnx-extra/pytorch-converted",
                                        "onnx-extra/pytorch-operator", NULL};
    tally t;
    int i;
    (void)state;
    if (!is_dir(TML_CORPUS_DIR "/onnx-node")) {
        printf("SKIP: corpus not found at %s\n", TML_CORPUS_DIR);
        skip();
    }
    memset(&t, 0, sizeof(t));
    t.cg_all = getenv("TML_CG_ALL") != NULL;
    for (i = 0; roots[i]; i++) {
        char root[1024];
        snprintf(root, sizeof(root), "%s/%s", TML_CORPUS_DIR, roots[i]);
        run_folder(root, &t);
    }
    printf("pipeline: %d pass, %d skip (unsupported), %d upstream failures, %d fail; "
           "generated C: %d match, %d fail\n",
           t.pass, t.skip, t.upstream, t.fail, t.cg_pass, t.cg_fail);
    assert_true(t.pass > 0);
    assert_int_equal(t.fail, 0);
    assert_int_equal(t.cg_fail, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_corpus)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
