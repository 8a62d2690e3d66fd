/*
 * service.h - the tinymlaas service: `tmlaas serve` and its command-line client, and the
 * content-addressed artifact files the service keeps beside its store.
 *
 * The service is one process: a CoAP endpoint (libcoap, LwM2M registration interface) for
 * devices in the main thread's io loop, and an HTTP + JSON API (libmicrohttpd, its own
 * internal thread) for people and scripts, both over one store (include/tml/store.h). See
 * docs/service.md for the HTTP routes and the CoAP resources.
 */
#ifndef TML_SERVICE_H
#define TML_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/rt.h"
#include "tml/store.h"

#ifdef __cplusplus
extern "C" {
#endif

/* `tmlaas serve [--data-dir DIR] [--coap-port N] [--http-port N] [--http-bind ADDR] ...`.
 * argv[0] is the subcommand name. Returns the process exit code (0 after a clean SIGINT or
 * SIGTERM shutdown, 1 on a startup error, 2 on a usage error). */
int tml_serve_main(int argc, char **argv);

/* `tmlaas devices|models|deploy ...`: argv[0] is the subcommand ("devices", "models",
 * "deploy"). Talks to the HTTP API at --url / TMLAAS_URL (default http://127.0.0.1:8080)
 * with the token from --token / TMLAAS_TOKEN / DATA_DIR/admin.token. Returns the exit code. */
int tml_client_main(int argc, char **argv);

/* ---- content-addressed artifacts: DIR/<sha256 hex> ---- */

/* SHA-256 of data as 64 lowercase hex digits. */
void tml_sha256_hex(const void *data, size_t len, char out[TML_SHA_HEX]);
/* Whether s is exactly 64 lowercase hex digits (so it is safe to use as a file name). */
bool tml_sha_hex_valid(const char *s);
/* Writes data to DIR/<sha> durably (temp file, fsync, rename, fsync DIR); creates DIR; does
 * nothing if the file is already there. Fills sha_out. */
tml_status tml_artifact_put(const char *dir, const void *data, size_t len,
                            char sha_out[TML_SHA_HEX], char *err, size_t errsz);
/* The path of an artifact (it need not exist). TML_ERR_ARG for an invalid sha. */
tml_status tml_artifact_path(const char *dir, const char *sha, char *path, size_t n);
/* Reads DIR/<sha> (at most max bytes) into a malloc'd buffer and checks its hash:
 * TML_ERR_NOT_FOUND, TML_ERR_FIT (too big) or TML_ERR_VERIFY (content does not match). */
tml_status tml_artifact_read(const char *dir, const char *sha, size_t max, uint8_t **data,
                             size_t *len, char *err, size_t errsz);
/* Re-hashes DIR/<sha> without keeping it: TML_OK or TML_ERR_VERIFY / NOT_FOUND. */
tml_status tml_artifact_verify(const char *dir, const char *sha, char *err, size_t errsz);
/* Removes DIR/<sha>; TML_OK if it was not there. */
tml_status tml_artifact_remove(const char *dir, const char *sha, char *err, size_t errsz);

/* ---- artifact signatures (Ed25519, libsodium) ----
 *
 * The service signs every artifact it delivers with its own Ed25519 key (DATA_DIR/signing.key,
 * created at first start, mode 0600). What is signed is the 40-byte message
 *     "TMLAASv1" (8 ASCII bytes) || SHA-256(artifact) (32 bytes)
 * so a device can hash the artifact while it streams in (no need to hold it whole) and then
 * verify one short message with the service's public key (GET /api/signing-key). */
#define TML_SIGN_CONTEXT "TMLAASv1"
#define TML_SIGN_PK_BYTES 32
#define TML_SIGN_SK_BYTES 64
#define TML_SIG_BYTES 64

/* Reads DIR/signing.key or creates it (O_EXCL, 0600). */
tml_status tml_signing_key_load_or_create(const char *data_dir, uint8_t sk[TML_SIGN_SK_BYTES],
                                          uint8_t pk[TML_SIGN_PK_BYTES], bool *created,
                                          char *err, size_t errsz);
/* Signs the artifact with digest sha (64 hex digits). TML_ERR_ARG for an invalid sha. */
tml_status tml_artifact_sign(const uint8_t sk[TML_SIGN_SK_BYTES], const char *sha,
                             uint8_t sig[TML_SIG_BYTES]);
/* Verifies a signature made by tml_artifact_sign (TML_OK or TML_ERR_VERIFY). */
tml_status tml_artifact_verify_signature(const uint8_t pk[TML_SIGN_PK_BYTES], const char *sha,
                                         const uint8_t sig[TML_SIG_BYTES]);

#ifdef __cplusplus
}
#endif

#endif /* TML_SERVICE_H */
