/*
 * fuzz_onnx.c - libFuzzer target for the ONNX importer: arbitrary bytes into tml_import_onnx.
 *
 * The importer must answer every input with a status (never a crash, a hang or unbounded
 * memory), and free everything with the graph. Seed it with corpus models
 * (scripts/run-fuzzers.sh does): mutations of real models reach far deeper than random bytes.
 */
#include <stddef.h>
#include <stdint.h>

#include "tml/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_graph *g = tml_graph_new();
    if (!g)
        return 0;
    tml_import_onnx(g, data, size, "fuzz.onnx");
    tml_graph_free(g);
    return 0;
}
