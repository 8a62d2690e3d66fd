/*
 * fuzz_nn_kernels.c - libFuzzer target for the nn family's kernel _check companions, the
 * boundary a model package arriving over the air crosses before any nn kernel runs.
 *
 * Input: [kernel selector][params bytes][n_in][n_out][buffer sizes, u16 each, in floats].
 * The target asks the kernel's _check; whenever it accepts, it runs the kernel on buffers
 * malloc'd to exactly the sizes claimed, so AddressSanitizer reports any read or write the
 * check failed to rule out. Runs whose params hold large integers are checked but not
 * executed: they are memory-safe by the same check, only slow to fuzz (work grows with the
 * product of input and output sizes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/kernels.h"

static const tml_kernel_id nn_kernels[] = {
    TML_K_CONV_F32,    TML_K_CONV_TRANSPOSE_F32, TML_K_GEMM_F32,
    TML_K_MATMUL_F32,  TML_K_MAXPOOL_F32,        TML_K_AVGPOOL_F32,
    TML_K_MAXPOOL_S8,  TML_K_MAXPOOL_U8,
    TML_K_BATCHNORM_F32, TML_K_SOFTMAX_F32,      TML_K_LOG_SOFTMAX_F32,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tml_kernel_info *ki;
    uint8_t params[512];
    uint32_t ib[8], ob[8];
    void *in[8] = {0}, *out[8] = {0};
    size_t ps, i, pos = 0;
    int n_in, n_out, small = 1;

    if (size < 1)
        return 0;
    ki = tml_kernel_get_info(nn_kernels[data[pos++] % (sizeof nn_kernels / sizeof nn_kernels[0])]);
    ps = ki->params_size;
    if (size - pos < ps + 2 || ps > sizeof params)
        return 0;
    memcpy(params, data + pos, ps);
    pos += ps;
    n_in = data[pos++] % (8 + 1);
    n_out = data[pos++] % (8 + 1);
    for (i = 0; i < (size_t)(n_in + n_out); i++) {
        uint32_t v = 0;
        if (pos + 2 <= size) {
            v = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8;
            pos += 2;
        }
        if (i < (size_t)n_in)
            ib[i] = v * 4;
        else
            ob[i - (size_t)n_in] = v * 4;
    }
    if (ki->check(params, (uint32_t)ps, ib, n_in, ob, n_out, 0) != TML_OK)
        return 0;
    for (i = 0; i + 4 <= ps; i += 4) {
        int32_t w;
        memcpy(&w, params + i, 4);
        if (w > 16 || w < -16)
            small = 0;
    }
    if (!small)
        return 0;
    for (i = 0; i < (size_t)n_in; i++) {
        in[i] = malloc(ib[i] ? ib[i] : 1);
        memset(in[i], 0x3f, ib[i]);
    }
    for (i = 0; i < (size_t)n_out; i++)
        out[i] = malloc(ob[i] ? ob[i] : 1);
    ki->fn(params, (const void *const *)in, out, NULL);
    for (i = 0; i < (size_t)n_in; i++)
        free(in[i]);
    for (i = 0; i < (size_t)n_out; i++)
        free(out[i]);
    return 0;
}
