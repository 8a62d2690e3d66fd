/*
 * test_tflite.c - the TFLite importer on the corpus models and on damaged files.
 *
 * Every model of ../shared/corpus/tflite either imports (and verifies) or fails with
 * TML_ERR_UNSUPPORTED and a message listing its unsupported ops; truncations and byte flips of
 * a real model give an error status, never a crash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tml/import.h"
#include "tml/ir.h"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *b;
    long sz;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    b = malloc((size_t)sz + 1);
    *n = fread(b, 1, (size_t)sz, f);
    fclose(f);
    return b;
}

static tml_status import_bytes(const uint8_t *b, size_t n, char *msg, size_t msgsz, int *nodes)
{
    tml_graph *g = tml_graph_new();
    tml_status st = tml_import_tflite(g, b, n, "m.tflite");
    snprintf(msg, msgsz, "%s", tml_graph_error(g));
    if (nodes)
        *nodes = g->n_nodes;
    tml_graph_free(g);
    return st;
}

typedef struct {
    const char *path;
    bool imports; /* true: must import; false: must list unsupported ops */
    const char *expect; /* substring of the error message when !imports */
} model_case;

static const model_case cases[] = {
    {"hello_world/hello_world_float.tflite", true, NULL},
    {"hello_world/hello_world_int8.tflite", true, NULL},
    {"magic_wand/magic_wand.tflite", true, NULL},
    {"person_detection/person_detect.tflite", true, NULL},
    {"micro_speech/micro_speech_quantized.tflite", true, NULL},
    {"memory_footprint/simple_add_model.tflite", true, NULL},
    {"person_detection/person_detect_vela.tflite", false, "CUSTOM:ethos-u (1 node)"},
    {"keyword_benchmark/keyword_scrambled.tflite", false, "SVDF"},
    {"mnist_lstm/trained_lstm.tflite", false, "UNIDIRECTIONAL_SEQUENCE_LSTM"},
    {"micro_speech/audio_preprocessor_int8.tflite", false, "CUSTOM:Signal"},
};

static void test_corpus_models(void **state)
{
    char path[1024], msg[600];
    size_t i, n;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t *b;
        tml_status st;
        snprintf(path, sizeof path, "%s/tflite/%s", TML_CORPUS_DIR, cases[i].path);
        b = slurp(path, &n);
        if (!b) {
            printf("skip: %s not found (corpus absent?)\n", path);
            continue;
        }
        st = import_bytes(b, n, msg, sizeof msg, NULL);
        printf("%s: %s\n", cases[i].path, st == TML_OK ? "ok" : msg);
        if (cases[i].imports) {
            assert_int_equal(st, TML_OK);
        } else {
            assert_int_equal(st, TML_ERR_UNSUPPORTED);
            assert_non_null(strstr(msg, cases[i].expect));
        }
        free(b);
    }
}

static void test_damaged_files(void **state)
{
    char path[1024], msg[600];
    size_t n, cut;
    uint8_t *b, *copy;
    unsigned seed = 12345;
    int k;
    (void)state;
    snprintf(path, sizeof path, "%s/tflite/magic_wand/magic_wand.tflite", TML_CORPUS_DIR);
    b = slurp(path, &n);
    if (!b) {
        printf("skip: corpus absent\n");
        return;
    }
    copy = malloc(n);
    for (cut = 0; cut < n; cut += 1 + cut / 7) {
        tml_status st = import_bytes(b, cut, msg, sizeof msg, NULL);
        assert_int_not_equal(st, TML_OK);
    }
    for (k = 0; k < 2000; k++) {
        memcpy(copy, b, n);
        seed = seed * 1103515245u + 12345u;
        copy[(seed >> 8) % n] ^= (uint8_t)(1u << ((seed >> 4) % 8));
        (void)import_bytes(copy, n, msg, sizeof msg, NULL); /* any status; must not crash */
    }
    free(copy);
    free(b);
}

static void test_not_tflite(void **state)
{
    char msg[600];
    static const uint8_t junk[16] = {1, 2, 3, 4, 'N', 'O', 'P', 'E'};
    (void)state;
    assert_int_equal(import_bytes(junk, sizeof junk, msg, sizeof msg, NULL), TML_ERR_FORMAT);
    assert_non_null(strstr(msg, "TFL3"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpus_models),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_not_tflite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
