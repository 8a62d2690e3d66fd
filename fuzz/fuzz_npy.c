/*
 * fuzz_npy.c - libFuzzer target for the .npy reader (tml_npy_parse).
 *
 * The header is a hand-parsed Python dict literal, the riskiest text parsing in the importer;
 * a successful parse must also describe its payload exactly, which is checked here.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tml/tensor_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_value v;
    char err[256];
    if (tml_npy_parse(data, size, &v, err, sizeof err) == TML_OK) {
        if (v.nbytes != (size_t)tml_value_numel(&v) * tml_dtype_size(v.dtype) || !v.data)
            abort();
        tml_value_release(&v);
    }
    return 0;
}
