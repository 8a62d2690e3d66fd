/*
 * sha256.h - SHA-256 (FIPS 180-4) for the device side: hashing model packages before use.
 *
 * Written here rather than taken from a library because it must run where the runtime runs:
 * no malloc, no stdio, plain C99 on a Cortex-M with a few hundred bytes of stack. The host
 * side uses libsodium for everything else; tests/exec/test_sha256.c checks this implementation
 * against the FIPS vectors and against libsodium's crypto_hash_sha256 on random data.
 * Streaming (init/update/final) so a device can hash a package block by block as it arrives.
 */
#ifndef TML_SHA256_H
#define TML_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define TML_SHA256_BYTES 32

typedef struct {
    uint32_t h[8];    /* chaining state */
    uint64_t total;   /* bytes hashed so far */
    uint8_t buf[64];  /* partial block */
    uint32_t n;       /* bytes in buf (0..63) */
} tml_sha256_ctx;

void tml_sha256_init(tml_sha256_ctx *c);
void tml_sha256_update(tml_sha256_ctx *c, const void *data, size_t len);
void tml_sha256_final(tml_sha256_ctx *c, uint8_t out[TML_SHA256_BYTES]);
/* One-shot: out = SHA-256(data[0..len)). */
void tml_sha256(const void *data, size_t len, uint8_t out[TML_SHA256_BYTES]);

#endif /* TML_SHA256_H */
