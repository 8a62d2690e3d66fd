/*
 * fuzz_data_kernels.c - libFuzzer target for the data-family kernels' _check companions.
 *
 * A model package carries kernel parameters and buffer sizes from an untrusted source; the
 * executor runs a kernel only if its _check accepts them. This target feeds arbitrary
 * parameter bytes and buffer sizes to each check and, whenever one accepts, runs the kernel
 * on heap buffers of exactly the accepted sizes, so ASan turns any gap in a check into a
 * crash. Input layout: [kernel selector][in/out sizes, 2 bytes each][params bytes][fill].
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/kernels.h"

typedef struct {
    tml_kernel_id id;
    int n_in, n_out;
} fuzz_kernel;

static const fuzz_kernel kernels[] = {
    {TML_K_TRANSPOSE_X, 1, 1}, {TML_K_CONCAT_X, 3, 1}, {TML_K_PAD_X, 1, 1},
    {TML_K_SLICE_X, 1, 1},     {TML_K_GATHER_X, 2, 1}, {TML_K_CAST, 1, 1},
    {TML_K_SHAPE_S64, 0, 1},   {TML_K_DROPOUT_X, 1, 2}, {TML_K_RESIZE_NEAREST_X, 1, 1},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const fuzz_kernel *fk;
    const tml_kernel_info *ki;
    uint8_t params[512];
    uint32_t in_bytes[4], out_bytes[4];
    const void *in[4];
    void *out[4];
    size_t pos = 1;
    int i;
    if (size < 1)
        return 0;
    fk = &kernels[data[0] % (sizeof kernels / sizeof kernels[0])];
    ki = tml_kernel_get_info(fk->id);
    for (i = 0; i < fk->n_in + fk->n_out; i++) {
        uint32_t v = 0;
        if (pos + 2 <= size)
            v = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8;
        pos += 2;
        if (i < fk->n_in)
            in_bytes[i] = v;
        else
            out_bytes[i - fk->n_in] = v;
    }
    memset(params, 0, sizeof params);
    if (pos < size)
        memcpy(params, data + pos, size - pos < ki->params_size ? size - pos : ki->params_size);
    if (ki->check(params, ki->params_size, in_bytes, fk->n_in, out_bytes, fk->n_out, 0) != TML_OK)
        return 0;
    for (i = 0; i < fk->n_in; i++) {
        uint8_t *b = malloc(in_bytes[i] ? in_bytes[i] : 1);
        size_t k;
        for (k = 0; k < in_bytes[i]; k++)
            b[k] = data[(pos + k) % size];
        in[i] = b;
    }
    for (i = 0; i < fk->n_out; i++)
        out[i] = malloc(out_bytes[i] ? out_bytes[i] : 1);
    ki->fn(params, in, out, NULL);
    for (i = 0; i < fk->n_in; i++)
        free((void *)in[i]);
    for (i = 0; i < fk->n_out; i++)
        free(out[i]);
    return 0;
}
