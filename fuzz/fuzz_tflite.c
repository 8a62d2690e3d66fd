/*
 * fuzz_tflite.c - libFuzzer target for the TFLite importer: any bytes must give a graph or a
 * clean error, never an out-of-bounds read (the flatbuffer reader checks every offset).
 */
#include <stddef.h>
#include <stdint.h>

#include "tml/import.h"
#include "tml/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_graph *g = tml_graph_new();
    if (!g)
        return 0;
    (void)tml_import_tflite(g, data, size, "fuzz.tflite");
    tml_graph_free(g);
    return 0;
}
