/*
 * test_real_models.c - real models end to end: compile, run in the interpreter, build the
 * generated C with the host compiler, run it, and compare; and compare the Fashion-MNIST CNN
 * and MLP (PyTorch-trained fixtures) with PyTorch's own logits on 16 test images.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tml/codegen.h"
#include "tml/compiler.h"
#include "tml/interp.h"
#include "tml/tensor_io.h"

static float frand(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static int write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    size_t w;
    if (!f)
        return -1;
    w = fwrite(p, 1, n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* Interpreter vs generated C on one pseudo-random input; returns the largest difference. */
static double interp_vs_c(const char *model)
{
    tml_model *m = NULL;
    tml_interp *it = NULL;
    tml_codegen_options go;
    char err[1024], dir[256], cmd[4096], p[512];
    uint32_t seed = 42;
    double worst = 0;
    int i;

    if (access(model, R_OK) != 0) {
        printf("skip: %s not found\n", model);
        return 0;
    }
    assert_int_equal(tml_model_compile(model, NULL, &m, err, sizeof err), TML_OK);
    assert_int_equal(tml_interp_new(m->plan, &it, err, sizeof err), TML_OK);
    snprintf(dir, sizeof dir, "/tmp/tml-e2e-XXXXXX");
    assert_non_null(mkdtemp(dir));
    tml_codegen_options_default(&go);
    go.harness = true;
    assert_int_equal(tml_codegen_c(m->plan, dir, &go, err, sizeof err), TML_OK);
    snprintf(cmd, sizeof cmd,
             "cc -std=c99 -O2 -Wall -Wextra -Werror -I%s -o %s/prog %s/*.c %s/tml/*.c -lm", dir,
             dir, dir, dir);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/prog", dir);
    for (i = 0; i < m->plan->n_inputs; i++) {
        size_t bytes, k;
        float *x = tml_interp_input(it, i, &bytes);
        assert_int_equal(m->plan->tensors[m->plan->inputs[i]].dtype, TML_DT_F32);
        for (k = 0; k < bytes / 4; k++)
            x[k] = frand(&seed);
        snprintf(p, sizeof p, "%s/in%d.bin", dir, i);
        assert_int_equal(write_bytes(p, x, bytes), 0);
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", p);
    }
    for (i = 0; i < m->plan->n_outputs; i++)
        snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s/out%d.bin", dir, i);
    assert_int_equal(tml_interp_run(it), TML_OK);
    assert_int_equal(system(cmd), 0);
    for (i = 0; i < m->plan->n_outputs; i++) {
        size_t bytes, got_n, k;
        const float *want = tml_interp_output(it, i, &bytes);
        uint8_t *got;
        snprintf(p, sizeof p, "%s/out%d.bin", dir, i);
        assert_int_equal(tml_file_read(p, 1 << 26, &got, &got_n, err, sizeof err), TML_OK);
        assert_int_equal(got_n, bytes);
        for (k = 0; k < bytes / 4; k++) {
            double d = fabs((double)((const float *)got)[k] - (double)want[k]);
            if (d > worst)
                worst = d;
        }
        free(got);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    tml_interp_free(it);
    tml_model_free(m);
    printf("%s: interpreter vs generated C, max |diff| %.3g\n", model, worst);
    return worst;
}

static void test_interp_vs_generated_c(void **state)
{
    static const char *models[] = {
        TML_SOURCE_DIR "/tests/fixtures/fmnist_cnn.onnx",
        TML_SOURCE_DIR "/tests/fixtures/fmnist_mlp.onnx",
        TML_CORPUS_DIR "/tflite/magic_wand/magic_wand.tflite",
        TML_CORPUS_DIR "/tflite/hello_world/hello_world_float.tflite",
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof models / sizeof models[0]; i++)
        assert_true(interp_vs_c(models[i]) <= 1e-5);
}

/* The PyTorch fixtures against PyTorch's logits for the first 16 Fashion-MNIST test images. */
static void check_against_pytorch(const char *name)
{
    char path[512], err[512];
    tml_value x, ref, labels;
    tml_compile_options co;
    tml_model *m = NULL;
    tml_interp *it = NULL;
    size_t bytes;
    const float *y;
    int64_t i, n, c, correct = 0;
    double worst = 0;
    int d;

    snprintf(path, sizeof path, "%s/tests/fixtures/fmnist_samples.npy", TML_SOURCE_DIR);
    assert_int_equal(tml_npy_read(path, &x, err, sizeof err), TML_OK);
    snprintf(path, sizeof path, "%s/tests/fixtures/%s_ref_logits.npy", TML_SOURCE_DIR, name);
    assert_int_equal(tml_npy_read(path, &ref, err, sizeof err), TML_OK);
    snprintf(path, sizeof path, "%s/tests/fixtures/fmnist_labels.npy", TML_SOURCE_DIR);
    assert_int_equal(tml_npy_read(path, &labels, err, sizeof err), TML_OK);
    tml_compile_options_default(&co);
    co.n_input_shapes = 1;
    co.input_rank[0] = x.rank;
    for (d = 0; d < x.rank; d++)
        co.input_dims[0][d] = x.dims[d];
    snprintf(path, sizeof path, "%s/tests/fixtures/%s.onnx", TML_SOURCE_DIR, name);
    assert_int_equal(tml_model_compile(path, &co, &m, err, sizeof err), TML_OK);
    assert_int_equal(tml_interp_new(m->plan, &it, err, sizeof err), TML_OK);
    memcpy(tml_interp_input(it, 0, &bytes), x.data, x.nbytes);
    assert_int_equal(bytes, x.nbytes);
    assert_int_equal(tml_interp_run(it), TML_OK);
    y = tml_interp_output(it, 0, &bytes);
    assert_int_equal(bytes, ref.nbytes);
    n = ref.dims[0];
    c = ref.dims[1];
    for (i = 0; i < n; i++) {
        int64_t k, best = 0;
        for (k = 0; k < c; k++) {
            double e = fabs((double)y[i * c + k] - (double)((const float *)ref.data)[i * c + k]);
            if (e > worst)
                worst = e;
            if (y[i * c + k] > y[i * c + best])
                best = k;
        }
        correct += best == ((const int64_t *)labels.data)[i];
    }
    printf("%s: max |logit - pytorch| %.3g, %lld/%lld correct\n", name, worst, (long long)correct,
           (long long)n);
    assert_true(worst < 1e-3);
    assert_true(correct >= 14);
    tml_interp_free(it);
    tml_model_free(m);
    tml_value_release(&x);
    tml_value_release(&ref);
    tml_value_release(&labels);
}

static void test_cnn_matches_pytorch(void **state)
{
    (void)state;
    check_against_pytorch("fmnist_cnn");
}

static void test_mlp_matches_pytorch(void **state)
{
    (void)state;
    check_against_pytorch("fmnist_mlp");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interp_vs_generated_c),
        cmocka_unit_test(test_cnn_matches_pytorch),
        cmocka_unit_test(test_mlp_matches_pytorch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
