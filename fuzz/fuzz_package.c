/*
 * fuzz_package.c - libFuzzer target for the model package loader (runtime/exec/executor.c),
 * the boundary where untrusted over-the-air bytes enter a device.
 *
 * The first input byte selects a mode, the rest is the package:
 *   even: the bytes as they are. Almost nothing random passes the SHA-256, so this mode mostly
 *         exercises the header checks and the hash itself.
 *   odd:  the kernel_abi field is set to this build's and the hash is recomputed first (when
 *         there is a header), so the fuzzer reaches the tensor/step table validation and the
 *         kernels' _check functions, and seeds survive changes to kernels.def.
 * The package is copied into a 16-byte aligned buffer of exactly its size (ASan sees any
 * over-read) and given an arena of the size it asks for, capped at 1 MiB. When it loads, it
 * also runs: every kernel's _check promised that the run cannot go out of bounds.
 * Seeds: fuzz/seeds/package/ (mode byte + a package written from a corpus model).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/executor.h"

#define FUZZ_MAX_ARENA (1u << 20)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *pkg, *arena = NULL;
    uint32_t len, arena_bytes;
    int reseal;
    tml_exec ex;

    if (size < 1 || size - 1 > 0x7fffffffu)
        return 0;
    reseal = data[0] & 1;
    len = (uint32_t)(size - 1);
    if (posix_memalign((void **)&pkg, 16, len ? len : 16) != 0)
        return 0;
    memcpy(pkg, data + 1, len);
    if (reseal && len >= TML_PKG_HEADER_BYTES) {
        uint32_t total = rd32(pkg + TML_PKG_H_TOTAL_BYTES);
        uint32_t abi = tml_pkg_kernel_abi();
        int i;
        if (total < TML_PKG_HEADER_BYTES || total > len)
            total = len;
        for (i = 0; i < 4; i++)
            pkg[TML_PKG_H_KERNEL_ABI + i] = (uint8_t)(abi >> (8 * i));
        tml_pkg_hash(pkg, total, pkg + TML_PKG_H_SHA256);
    }
    arena_bytes = tml_pkg_arena_bytes(pkg, len);
    if (arena_bytes > FUZZ_MAX_ARENA)
        arena_bytes = FUZZ_MAX_ARENA;
    if (arena_bytes && posix_memalign((void **)&arena, 16, arena_bytes) != 0) {
        free(pkg);
        return 0;
    }
    if (arena)
        memset(arena, 0, arena_bytes);
    if (tml_exec_load(&ex, pkg, len, arena, arena_bytes) == TML_OK) {
        uint32_t i, n;
        for (i = 0; i < ex.n_inputs; i++) {
            void *in = tml_exec_input(&ex, i, &n);
            if (in && n)
                memset(in, 0x3c, n);
        }
        tml_exec_run(&ex);
    }
    free(arena);
    free(pkg);
    return 0;
}
