/*
 * fuzz_idx.c - libFuzzer target for the IDX parser (src/train/idx.c), the boundary where
 * user-given dataset files enter. Any input must either parse with a payload that fits the
 * bytes given, or fail with a status; never crash, never read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tml/train.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rank;
    int64_t dims[3];
    uint8_t *out = NULL;
    char err[256];
    if (tml_idx_parse(data, size, &rank, dims, &out, err, sizeof err) == TML_OK) {
        int64_t n = 1;
        int i;
        for (i = 0; i < rank; i++)
            n *= dims[i];
        if ((size_t)n > size)
            abort();
        free(out);
    }
    return 0;
}
