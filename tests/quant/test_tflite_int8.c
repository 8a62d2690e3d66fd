/*
 * test_tflite_int8.c - int8 TFLite models of the corpus end to end through the compiler and
 * the interpreter (the device executor over the model package):
 *   - hello_world_int8 approximates sin(x) on [0, 2 pi] (dequantized output within 0.15, the
 *     example's own tolerance is looser);
 *   - person_detect classifies person.bmp as person and no_person.bmp as not a person (96x96
 *     8-bit palettised BMPs read by a small reader here). The BMPs hold the model's int8 input
 *     bytes as they are (identity palette; a pixel byte b is the int8 value (int8_t)b, which is
 *     why the pictures look solarised): read that way, person.bmp scores person 113 /
 *     not-person -113, the numbers TFLite Micro's own example reports; read as px - 128 the
 *     person image is a coin toss (4 / -4). The exact scores are checked as a regression;
 *   - micro_speech_quantized runs on a feature pattern and its softmax output sums to ~1;
 *   - the SEANet QUANTIZE integration tests (int32 -> int16, int16 -> int32 requantization)
 *     match their golden outputs exactly.
 * Skips cleanly if the corpus (TML_CORPUS_DIR) is absent.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tml/compiler.h"
#include "tml/interp.h"

static bool have(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

typedef struct {
    tml_model *m;
    tml_interp *it;
} runner;

/* Compiles corpus model rel; false (with a skip message) if the corpus is absent. */
static bool open_model(const char *rel, runner *r)
{
    char path[1024], err[512];
    tml_compile_options o;
    snprintf(path, sizeof path, "%s/tflite/%s", TML_CORPUS_DIR, rel);
    if (!have(path)) {
        printf("skip: %s not found (corpus absent)\n", path);
        return false;
    }
    tml_compile_options_default(&o);
    if (tml_model_compile(path, &o, &r->m, err, sizeof err) != TML_OK)
        fail_msg("compile %s: %s", rel, err);
    if (tml_interp_new(r->m->plan, &r->it, err, sizeof err) != TML_OK)
        fail_msg("interp %s: %s", rel, err);
    return true;
}

static void close_model(runner *r)
{
    tml_interp_free(r->it);
    tml_model_free(r->m);
}

static const tml_quant *io_quant(const runner *r, int input, int i)
{
    const tml_graph *g = r->m->graph;
    const tml_quant *q = g->tensors[input ? g->inputs[i] : g->outputs[i]].quant;
    assert_non_null(q);
    return q;
}

static void test_hello_world(void **state)
{
    runner r;
    const tml_quant *qi, *qo;
    double worst = 0;
    int i;
    (void)state;
    if (!open_model("hello_world/hello_world_int8.tflite", &r))
        return;
    qi = io_quant(&r, 1, 0);
    qo = io_quant(&r, 0, 0);
    for (i = 0; i <= 40; i++) {
        size_t nb;
        double x = 2.0 * M_PI * i / 40.0, y;
        int8_t *in = tml_interp_input(r.it, 0, &nb);
        int8_t *out;
        long q = lround(x / qi->scale[0]) + qi->zero_point[0];
        assert_int_equal(nb, 1);
        in[0] = (int8_t)(q < -128 ? -128 : q > 127 ? 127 : q);
        assert_int_equal(tml_interp_run(r.it), TML_OK);
        out = tml_interp_output(r.it, 0, &nb);
        y = (out[0] - qo->zero_point[0]) * (double)qo->scale[0];
        if (fabs(y - sin(x)) > worst)
            worst = fabs(y - sin(x));
    }
    printf("hello_world_int8: max |y - sin(x)| = %.4f\n", worst);
    assert_true(worst < 0.15);
    close_model(&r);
}

/* Reads the pixel bytes of a 96x96 8-bit palettised BMP (top row first). */
static bool read_bmp96(const char *path, uint8_t *px)
{
    FILE *f = fopen(path, "rb");
    uint8_t hdr[54], row[96];
    uint32_t off, ncol;
    int32_t w, h;
    int y, x;
    if (!f)
        return false;
    if (fread(hdr, 1, 54, f) != 54 || hdr[0] != 'B' || hdr[1] != 'M')
        goto bad;
    off = hdr[10] | hdr[11] << 8 | (uint32_t)hdr[12] << 16 | (uint32_t)hdr[13] << 24;
    w = (int32_t)(hdr[18] | hdr[19] << 8 | (uint32_t)hdr[20] << 16 | (uint32_t)hdr[21] << 24);
    h = (int32_t)(hdr[22] | hdr[23] << 8 | (uint32_t)hdr[24] << 16 | (uint32_t)hdr[25] << 24);
    ncol = hdr[46] | hdr[47] << 8;
    if (ncol == 0)
        ncol = 256;
    if (w != 96 || (h != 96 && h != -96) || (hdr[28] | hdr[29] << 8) != 8 || ncol > 256)
        goto bad;
    if (off < 54 + 4 * ncol || fseek(f, (long)off, SEEK_SET) != 0)
        goto bad;
    for (y = 0; y < 96; y++) {
        int dst = h > 0 ? 95 - y : y; /* positive height: bottom-up rows */
        if (fread(row, 1, 96, f) != 96)
            goto bad;
        for (x = 0; x < 96; x++)
            px[dst * 96 + x] = row[x];
    }
    fclose(f);
    return true;
bad:
    fclose(f);
    return false;
}

static void classify(runner *r, const char *bmp, int *person, int *no_person)
{
    char path[1024];
    uint8_t px[96 * 96];
    size_t nb;
    int8_t *in, *out;
    int i;
    snprintf(path, sizeof path, "%s/tflite/person_detection/testdata/%s", TML_CORPUS_DIR, bmp);
    assert_true(read_bmp96(path, px));
    in = tml_interp_input(r->it, 0, &nb);
    assert_int_equal(nb, 96 * 96);
    for (i = 0; i < 96 * 96; i++)
        in[i] = (int8_t)px[i];
    assert_int_equal(tml_interp_run(r->it), TML_OK);
    out = tml_interp_output(r->it, 0, &nb);
    assert_int_equal(nb, 2);
    *no_person = out[0];
    *person = out[1];
    printf("%s: person %d, no person %d\n", bmp, *person, *no_person);
}

static void test_person_detection(void **state)
{
    runner r;
    int p, np;
    (void)state;
    if (!open_model("person_detection/person_detect.tflite", &r))
        return;
    classify(&r, "person.bmp", &p, &np);
    assert_true(p > np);
    assert_int_equal(p, 113); /* TFLite Micro's example reports 113 for this image */
    assert_int_equal(np, -113);
    classify(&r, "no_person.bmp", &p, &np);
    assert_true(np > p);
    assert_int_equal(np, 57);
    assert_int_equal(p, -57);
    close_model(&r);
}

static void test_micro_speech(void **state)
{
    runner r;
    size_t nb;
    int8_t *in, *out;
    int i, sum = 0;
    (void)state;
    if (!open_model("micro_speech/micro_speech_quantized.tflite", &r))
        return;
    in = tml_interp_input(r.it, 0, &nb);
    assert_int_equal(nb, 1960);
    for (i = 0; i < 1960; i++)
        in[i] = (int8_t)((i * 37) % 256 - 128);
    assert_int_equal(tml_interp_run(r.it), TML_OK);
    out = tml_interp_output(r.it, 0, &nb);
    assert_int_equal(nb, 4);
    for (i = 0; i < 4; i++)
        sum += out[i] + 128; /* scale 1/256, zero point -128 */
    printf("micro_speech: outputs %d %d %d %d\n", out[0], out[1], out[2], out[3]);
    assert_true(sum >= 250 && sum <= 262);
    close_model(&r);
}

/* Reads up to max comma/newline separated integers; returns the count or -1. */
static int read_csv(const char *path, long *out, int max)
{
    FILE *f = fopen(path, "r");
    int n = 0;
    if (!f)
        return -1;
    while (n < max && fscanf(f, " %ld ,", &out[n]) == 1)
        n++;
    fclose(f);
    return n;
}

static void seanet_quantize(const char *k, const char *in_t, const char *out_t)
{
    char rel[256], path[1024];
    static long in_v[4096], want[4096];
    runner r;
    size_t nb, es_in, es_out, i;
    void *in, *out;
    int n, m, bad = 0;
    snprintf(rel, sizeof rel, "integration_tests/seanet/quantize/quantize%s.tflite", k);
    if (!open_model(rel, &r))
        return;
    snprintf(path, sizeof path, "%s/tflite/integration_tests/seanet/quantize/quantize%s_input0_%s.csv",
             TML_CORPUS_DIR, k, in_t);
    n = read_csv(path, in_v, 4096);
    snprintf(path, sizeof path, "%s/tflite/integration_tests/seanet/quantize/quantize%s_golden_%s.csv",
             TML_CORPUS_DIR, k, out_t);
    m = read_csv(path, want, 4096);
    assert_true(n > 0 && n == m);
    es_in = strcmp(in_t, "int32") == 0 ? 4 : 2;
    es_out = strcmp(out_t, "int32") == 0 ? 4 : 2;
    in = tml_interp_input(r.it, 0, &nb);
    assert_int_equal(nb, (size_t)n * es_in);
    for (i = 0; i < (size_t)n; i++) {
        if (es_in == 4)
            ((int32_t *)in)[i] = (int32_t)in_v[i];
        else
            ((int16_t *)in)[i] = (int16_t)in_v[i];
    }
    assert_int_equal(tml_interp_run(r.it), TML_OK);
    out = tml_interp_output(r.it, 0, &nb);
    assert_int_equal(nb, (size_t)n * es_out);
    for (i = 0; i < (size_t)n; i++) {
        long got = es_out == 4 ? ((int32_t *)out)[i] : ((int16_t *)out)[i];
        if (got != want[i] && bad++ < 3)
            printf("quantize%s: element %zu got %ld want %ld\n", k, i, got, want[i]);
    }
    printf("quantize%s (%s -> %s): %d of %d differ\n", k, in_t, out_t, bad, n);
    assert_int_equal(bad, 0);
    close_model(&r);
}

static void test_seanet_quantize(void **state)
{
    (void)state;
    seanet_quantize("0", "int32", "int16");
    seanet_quantize("1", "int16", "int32");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_world),
        cmocka_unit_test(test_person_detection),
        cmocka_unit_test(test_micro_speech),
        cmocka_unit_test(test_seanet_quantize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
