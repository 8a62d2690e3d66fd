/*
 * fuzz_fast_kernels.c - libFuzzer target for the fast float32 kernels' _check companions
 * (kernels_fast.def): like fuzz_nn_kernels.c, but the scratch size comes from the input too,
 * since CONV_F32_TILED reads and writes scratch and its check must bound that as well.
 *
 * Input: [kernel selector][params bytes][n_in][n_out][scratch floats, u16]
 *        [buffer sizes, u16 each, in floats].
 * Whenever a check accepts, the kernel runs on buffers malloc'd to exactly the claimed sizes
 * (AddressSanitizer reports anything the check failed to rule out). Params with large values
 * are checked but not run: memory-safe by the same check, only slow.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/kernels.h"

static const tml_kernel_id fast_kernels[] = {
    TML_K_CONV_F32_TILED,
    TML_K_GEMM_F32_PACKED,
    TML_K_MAXPOOL_F32_VALID,
};

static uint32_t u16_at(const uint8_t *data, size_t size, size_t *pos)
{
    uint32_t v = 0;
    if (*pos + 2 <= size) {
        v = (uint32_t)data[*pos] | (uint32_t)data[*pos + 1] << 8;
        *pos += 2;
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const tml_kernel_info *ki;
    uint8_t params[512];
    uint32_t ib[8], ob[8], sb;
    void *in[8] = {0}, *out[8] = {0}, *scratch;
    size_t ps, i, pos = 0;
    int n_in, n_out, small = 1;

    if (size < 1)
        return 0;
    ki = tml_kernel_get_info(
        fast_kernels[data[pos++] % (sizeof fast_kernels / sizeof fast_kernels[0])]);
    ps = ki->params_size;
    if (size - pos < ps + 2 || ps > sizeof params)
        return 0;
    memcpy(params, data + pos, ps);
    pos += ps;
    n_in = data[pos++] % (8 + 1);
    n_out = data[pos++] % (8 + 1);
    sb = u16_at(data, size, &pos) * 4;
    for (i = 0; i < (size_t)(n_in + n_out); i++) {
        uint32_t v = u16_at(data, size, &pos) * 4;
        if (i < (size_t)n_in)
            ib[i] = v;
        else
            ob[i - (size_t)n_in] = v;
    }
    if (ki->check(params, (uint32_t)ps, ib, n_in, ob, n_out, sb) != TML_OK)
        return 0;
    for (i = 0; i + 4 <= ps; i += 4) { /* small as an integer or as a float */
        int32_t w;
        float f;
        memcpy(&w, params + i, 4);
        memcpy(&f, params + i, 4);
        if ((w > 16 || w < -16) && !(f >= -16.0f && f <= 16.0f))
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
    scratch = sb ? malloc(sb) : NULL;
    ki->fn(params, (const void *const *)in, out, scratch);
    free(scratch);
    for (i = 0; i < (size_t)n_in; i++)
        free(in[i]);
    for (i = 0; i < (size_t)n_out; i++)
        free(out[i]);
    return 0;
}
