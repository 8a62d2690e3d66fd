/*
 * fuzz_passes.c - libFuzzer target for everything a model meets after import: bytes go through
 * tml_import_onnx and, if they import, through tml_passes_run.
 *
 * Shape inference is where a model's attributes and shapes are validated (the op families'
 * shape hooks), and constant folding runs lowerings and kernels on constant data taken from
 * the model, guarded by each kernel's _check. A hostile model that imports must therefore get
 * a status from the passes, never a crash, an out-of-bounds access or a hang. Seed it with the
 * corpus models (mutations of real models reach the passes; random bytes rarely import).
 */
#include <stddef.h>
#include <stdint.h>

#include "tml/import.h"
#include "tml/passes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_graph *g = tml_graph_new();
    if (!g)
        return 0;
    if (tml_import_onnx(g, data, size, "fuzz.onnx") == TML_OK)
        tml_passes_run(g, NULL);
    tml_graph_free(g);
    return 0;
}
