/*
 * test_passes_corpus.c - the passes must not change what a real model computes.
 *
 * For every ONNX model in the shared corpus (onnx-node, onnx-extra) that imports, the graph is
 * run twice on its first test data set: once with shape inference only (which folds what it
 * must), once through the whole pipeline (tml_passes_run). Both are evaluated node by node with
 * the runtime kernels (tests/support/node_eval.h), so any difference comes from the passes,
 * not from an op. The test fails if the pipeline errors where shape inference alone did not,
 * or if an output differs. Agreement with the files' expected outputs is reported, not
 * asserted: that is the op families' conformance tests' job. Skips without the corpus.
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

#include "support/node_eval.h"
#include "tml/import.h"
#include "tml/passes.h"
#include "tml/tensor_io.h"

typedef struct {
    int models, imported, shaped, baked, compared, changed, failed, folded_bn, fused, expected;
} stats;

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Gives tensor t the value of test_data_set_0/input_<i>.pb; nonzero if that does not fit. */
static int feed_pb(tml_graph *g, const char *dir, int i, int t)
{
    char path[1024], err[256];
    tml_value v;
    tml_tensor *x = &g->tensors[t];
    snprintf(path, sizeof path, "%s/test_data_set_0/input_%d.pb", dir, i);
    memset(&v, 0, sizeof v);
    if (tml_pb_read(path, &v, err, sizeof err))
        return 1;
    if (x->rank < 0 || tml_tensor_numel(x) < 0)
        tml_tensor_set_shape(x, v.dtype, v.rank, v.dims);
    if ((int64_t)v.nbytes != tml_tensor_nbytes(x) || v.dtype != x->dtype) {
        tml_value_release(&v);
        return 1;
    }
    x->data = tml_graph_memdup(g, v.data, v.nbytes ? v.nbytes : 1);
    tml_value_release(&v);
    return 0;
}

/* Imports path, runs passes (full or shapes only), feeds test data set 0 and evaluates. */
static tml_status run_model(const char *dir, bool full, bool bake, tml_graph **out, int *n_bn,
                            int *n_act)
{
    char path[1024];
    tml_graph *g = tml_graph_new();
    tml_pass_options o;
    tml_status st;
    int i, bn0 = 0, act0 = 0, n_in, in_idx[64];
    *out = g;
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    st = tml_import_file(g, path);
    if (st)
        return 1; /* not imported: not ours */
    for (i = 0; i < g->n_nodes; i++) {
        bn0 += g->nodes[i].op == TML_OP_BATCHNORM;
        act0 += g->nodes[i].op == TML_OP_RELU || g->nodes[i].op == TML_OP_CLIP ||
                g->nodes[i].op == TML_OP_LEAKY_RELU || g->nodes[i].op == TML_OP_SIGMOID ||
                g->nodes[i].op == TML_OP_TANH || g->nodes[i].op == TML_OP_HARD_SWISH;
    }
    (void)act0;
    /* inputs by their file index, before shape inference drops constants from the list */
    n_in = g->n_inputs < 64 ? g->n_inputs : 64;
    for (i = 0; i < n_in; i++)
        in_idx[i] = g->inputs[i];
    /* conformance tests pass shapes, axes, pads, bounds as inputs: make all but the first
     * constants, the way a deployed model has them */
    for (i = bake ? 1 : n_in; i < n_in; i++)
        if (feed_pb(g, dir, i, in_idx[i]))
            return 2;
    if (full) {
        tml_pass_options_default(&o);
    } else {
        memset(&o, 0, sizeof o);
    }
    st = tml_passes_run(g, &o);
    if (st)
        return st;
    if (n_bn) {
        int bn1 = 0, act1 = 0;
        for (i = 0; i < g->n_nodes; i++) {
            if (g->nodes[i].dead)
                continue;
            bn1 += g->nodes[i].op == TML_OP_BATCHNORM;
            act1 += g->nodes[i].act != TML_ACT_NONE;
        }
        *n_bn = bn0 - bn1;
        *n_act = act1;
    }
    for (i = 0; i < n_in; i++)
        if (!g->tensors[in_idx[i]].data && feed_pb(g, dir, i, in_idx[i]))
            return 2;
    for (i = 0; i < g->n_nodes; i++) {
        if (g->nodes[i].dead)
            continue;
        st = tev_eval(g, i);
        if (st)
            return 3; /* an op the build cannot run */
    }
    return TML_OK;
}

static bool same_outputs(const char *dir, tml_graph *a, tml_graph *b)
{
    int i;
    if (a->n_outputs != b->n_outputs)
        return false;
    for (i = 0; i < a->n_outputs; i++) {
        const tml_tensor *x = &a->tensors[a->outputs[i]], *y = &b->tensors[b->outputs[i]];
        int64_t nb = tml_tensor_nbytes(x), k;
        if (nb != tml_tensor_nbytes(y) || x->dtype != y->dtype || !x->data || !y->data)
            return false;
        if (x->dtype == TML_DT_F32) {
            const float *p = x->data, *q = y->data;
            for (k = 0; k < nb / 4; k++) {
                float d = fabsf(p[k] - q[k]), m = fabsf(p[k]) > 1.0f ? fabsf(p[k]) : 1.0f;
                if (p[k] != q[k] && !(d <= 1e-4f * m) && !(isnan(p[k]) && isnan(q[k]))) {
                    print_message("%s: output %d element %lld: %g vs %g\n", dir, i,
                                  (long long)k, p[k], q[k]);
                    return false;
                }
            }
        } else if (memcmp(x->data, y->data, (size_t)nb) != 0) {
            return false;
        }
    }
    return true;
}

/* Outputs of b agree with test_data_set_0/output_<i>.pb (float32 within 1e-3, others exact). */
static bool matches_expected(const char *dir, tml_graph *b)
{
    int i;
    for (i = 0; i < b->n_outputs; i++) {
        char path[1024], err[256];
        tml_value v;
        const tml_tensor *y = &b->tensors[b->outputs[i]];
        bool ok;
        snprintf(path, sizeof path, "%s/test_data_set_0/output_%d.pb", dir, i);
        memset(&v, 0, sizeof v);
        if (tml_pb_read(path, &v, err, sizeof err))
            return false;
        ok = y->data && v.dtype == y->dtype && (int64_t)v.nbytes == tml_tensor_nbytes(y);
        if (ok && y->dtype == TML_DT_F32) {
            const float *p = v.data, *q = y->data;
            size_t k;
            for (k = 0; ok && k < v.nbytes / 4; k++)
                ok = p[k] == q[k] || fabsf(p[k] - q[k]) <= 1e-3f * (1.0f + fabsf(p[k])) ||
                     (isnan(p[k]) && isnan(q[k]));
        } else if (ok) {
            ok = memcmp(v.data, y->data, v.nbytes) == 0;
        }
        tml_value_release(&v);
        if (!ok)
            return false;
    }
    return true;
}

static void walk(const char *root, stats *s)
{
    DIR *d = opendir(root);
    struct dirent *e;
    char sub[1024], model[1100];
    if (!d)
        return;
    while ((e = readdir(d))) {
        tml_graph *a = NULL, *b = NULL;
        tml_status sa, sb;
        int n_bn = 0, n_act = 0;
        bool bake;
        if (e->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof sub, "%s/%s", root, e->d_name);
        if (!is_dir(sub))
            continue;
        snprintf(model, sizeof model, "%s/model.onnx", sub);
        if (access(model, R_OK) != 0) {
            walk(sub, s);
            continue;
        }
        s->models++;
        sa = run_model(sub, false, false, &a, NULL, NULL);
        if (sa == 1) {
            tml_graph_free(a);
            continue;
        }
        s->imported++;
        bake = sa < 0;
        if (bake) {
            tml_graph_free(a);
            sa = run_model(sub, false, true, &a, NULL, NULL);
            s->baked += sa == TML_OK;
        }
        sb = run_model(sub, true, bake, &b, &n_bn, &n_act);
        if (sa < 0) {
            /* shape inference itself fails: an op's business, unless the pipeline differs */
            if (getenv("TML_VERBOSE"))
                print_message("%s: %s\n", sub, tml_graph_error(a));
            tml_graph_free(a);
            tml_graph_free(b);
            continue;
        }
        s->shaped++;
        if (sb < 0) {
            print_error("%s: pipeline fails where shape inference did not: %s\n", sub,
                        tml_graph_error(b));
            s->failed++;
        } else if (sa == TML_OK && sb == TML_OK) {
            s->compared++;
            s->folded_bn += n_bn;
            s->fused += n_act;
            s->expected += matches_expected(sub, b);
            if (!same_outputs(sub, a, b)) {
                print_error("%s: outputs change under the passes\n", sub);
                s->changed++;
            }
        }
        tml_graph_free(a);
        tml_graph_free(b);
    }
    closedir(d);
}

static void test_corpus_passes_preserve_outputs(void **state)
{
    stats s;
    (void)state;
    memset(&s, 0, sizeof s);
    if (!is_dir(TML_CORPUS_DIR)) {
        print_message("skipped: corpus '%s' not found\n", TML_CORPUS_DIR);
        skip();
    }
    walk(TML_CORPUS_DIR "/onnx-node", &s);
    walk(TML_CORPUS_DIR "/onnx-extra", &s);
    print_message("models %d, imported %d, shapes ok %d (%d with inputs as constants), "
                  "compared %d (bn folded %d, activations fused %d; %d match the expected "
                  "outputs), changed %d, pipeline failures %d\n",
                  s.models, s.imported, s.shaped, s.baked, s.compared, s.folded_bn, s.fused,
                  s.expected, s.changed, s.failed);
    assert_int_equal(s.changed, 0);
    assert_int_equal(s.failed, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_passes_preserve_outputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
