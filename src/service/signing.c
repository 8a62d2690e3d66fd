/*
 * signing.c - the service's Ed25519 key and artifact signatures (libsodium).
 *
 * Devices install only what the service signed, so the secret key never leaves
 * DATA_DIR/signing.key (64 bytes as libsodium stores them: seed || public key; mode 0600,
 * created with O_EXCL so two starting services cannot race). The signed message is the
 * context "TMLAASv1" followed by the artifact's SHA-256 digest (see service.h for why a
 * digest and not the bytes): the context keeps these signatures from ever being valid for
 * anything else the key might sign later.
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tml/service.h"

/* The 40-byte signed message for an artifact digest. */
static tml_status message(const char *sha, unsigned char msg[8 + 32])
{
    size_t n = 0;
    if (!tml_sha_hex_valid(sha))
        return TML_ERR_ARG;
    memcpy(msg, TML_SIGN_CONTEXT, 8);
    if (sodium_hex2bin(msg + 8, 32, sha, 64, NULL, &n, NULL) != 0 || n != 32)
        return TML_ERR_ARG;
    return TML_OK;
}

tml_status tml_artifact_sign(const uint8_t sk[TML_SIGN_SK_BYTES], const char *sha,
                             uint8_t sig[TML_SIG_BYTES])
{
    unsigned char msg[40];
    if (message(sha, msg) != TML_OK)
        return TML_ERR_ARG;
    crypto_sign_ed25519_detached(sig, NULL, msg, sizeof msg, sk);
    return TML_OK;
}

tml_status tml_artifact_verify_signature(const uint8_t pk[TML_SIGN_PK_BYTES], const char *sha,
                                         const uint8_t sig[TML_SIG_BYTES])
{
    unsigned char msg[40];
    if (message(sha, msg) != TML_OK)
        return TML_ERR_ARG;
    return crypto_sign_ed25519_verify_detached(sig, msg, sizeof msg, pk) == 0 ? TML_OK
                                                                              : TML_ERR_VERIFY;
}

tml_status tml_signing_key_load_or_create(const char *data_dir, uint8_t sk[TML_SIGN_SK_BYTES],
                                          uint8_t pk[TML_SIGN_PK_BYTES], bool *created,
                                          char *err, size_t errsz)
{
    char path[1200];
    ssize_t n;
    int fd;
    *created = false;
    if (sodium_init() < 0) {
        snprintf(err, errsz, "signing key: libsodium failed to initialise");
        return TML_ERR;
    }
    if (snprintf(path, sizeof path, "%s/signing.key", data_dir) >= (int)sizeof path) {
        snprintf(err, errsz, "signing key: data directory path too long");
        return TML_ERR_ARG;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        crypto_sign_ed25519_keypair(pk, sk);
        if (write(fd, sk, TML_SIGN_SK_BYTES) != TML_SIGN_SK_BYTES || fsync(fd) != 0) {
            snprintf(err, errsz, "signing key '%s': cannot write: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            sodium_memzero(sk, TML_SIGN_SK_BYTES);
            return TML_ERR_IO;
        }
        close(fd);
        *created = true;
        return TML_OK;
    }
    if (errno != EEXIST) {
        snprintf(err, errsz, "signing key '%s': cannot create: %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        snprintf(err, errsz, "signing key '%s': cannot read: %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    n = read(fd, sk, TML_SIGN_SK_BYTES);
    close(fd);
    if (n != TML_SIGN_SK_BYTES) {
        snprintf(err, errsz, "signing key '%s': not %d bytes", path, TML_SIGN_SK_BYTES);
        return TML_ERR_FORMAT;
    }
    crypto_sign_ed25519_sk_to_pk(pk, sk);
    return TML_OK;
}
