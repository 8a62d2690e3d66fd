/*
 * fuzz_elementwise_checks.c - libFuzzer target for the elementwise kernels' _check companions,
 * which validate untrusted model-package params before a kernel runs on a device.
 *
 * The input picks a kernel of the family, its params bytes, and the byte sizes of its input
 * and output buffers. If the check accepts, the kernel runs on separately allocated buffers of
 * exactly those sizes, so ASan reports any read or write the check failed to rule out. Buffer
 * sizes are capped at 4 KiB to keep runs fast.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/kernels.h"

static const tml_kernel_id kernels[] = {
    TML_K_BINARY_F32, TML_K_BINARY_F64, TML_K_BINARY_S8,  TML_K_BINARY_U8,  TML_K_BINARY_S16,
    TML_K_BINARY_U16, TML_K_BINARY_S32, TML_K_BINARY_U32, TML_K_BINARY_S64, TML_K_BINARY_U64,
    TML_K_POW_F32,    TML_K_POW_S32,    TML_K_POW_S64,    TML_K_UNARY_F32,  TML_K_UNARY_S8,
    TML_K_UNARY_S32,  TML_K_UNARY_S64,  TML_K_REDUCE_F32, TML_K_REDUCE_U8,  TML_K_ARGMAX_F32,
    TML_K_QADD_S8,    TML_K_QADD_S16,   TML_K_QLEAKY_RELU_S8, TML_K_QLEAKY_RELU_S16,
};

#define MAX_IO 9

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tml_kernel_info *ki;
    uint8_t params[1024];
    uint32_t in_bytes[MAX_IO], out_bytes[1];
    void *in[MAX_IO], *out[1];
    int n_in, i;
    if (size < 2)
        return 0;
    ki = tml_kernel_get_info(kernels[data[0] % (sizeof kernels / sizeof kernels[0])]);
    n_in = 1 + data[1] % MAX_IO;
    data += 2;
    size -= 2;
    if (size < ki->params_size + 2u * (uint32_t)(n_in + 1) || ki->params_size > sizeof params)
        return 0;
    memcpy(params, data, ki->params_size);
    data += ki->params_size;
    for (i = 0; i < n_in; i++, data += 2)
        in_bytes[i] = (uint32_t)(data[0] | (data[1] << 8)) % 4097u;
    out_bytes[0] = (uint32_t)(data[0] | (data[1] << 8)) % 4097u;
    if (ki->check(params, ki->params_size, in_bytes, n_in, out_bytes, 1, 0) != TML_OK)
        return 0;
    for (i = 0; i < n_in; i++) {
        in[i] = malloc(in_bytes[i] ? in_bytes[i] : 1);
        memset(in[i], 0x3c, in_bytes[i]);
    }
    out[0] = malloc(out_bytes[0] ? out_bytes[0] : 1);
    ki->fn(params, (const void *const *)in, out, NULL);
    for (i = 0; i < n_in; i++)
        free(in[i]);
    free(out[0]);
    return 0;
}
