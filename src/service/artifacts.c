/*
 * artifacts.c - content-addressed files: DATA_DIR/artifacts/<sha256 hex>.
 *
 * A file's name is the SHA-256 of its content, so a name never points at the wrong bytes,
 * equal artifacts (the same model uploaded twice, one build reused by many devices) are stored
 * once, and a reader can always check what it got. Writes are crash-safe the classic POSIX
 * way: write a temp file in the same directory, fsync it, rename it over the final name (atomic),
 * then fsync the directory so the rename itself is durable. After kill -9 at any point there is
 * either the complete file or none (plus, at worst, a stray ".tmp-*" that the next write of the
 * same artifact replaces). Reading re-hashes the content; a flipped byte gives TML_ERR_VERIFY.
 *
 * Hashing uses libsodium's crypto_hash_sha256 (the same library signs artifacts later).
 */
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tml/service.h"

static void to_hex(const unsigned char *h, char out[TML_SHA_HEX])
{
    static const char digits[] = "0123456789abcdef";
    int i;
    for (i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = 0;
}

void tml_sha256_hex(const void *data, size_t len, char out[TML_SHA_HEX])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    if (sodium_init() < 0) { /* idempotent; hashing works even without it */ }
    crypto_hash_sha256(h, (const unsigned char *)data, len);
    to_hex(h, out);
}

bool tml_sha_hex_valid(const char *s)
{
    int i;
    if (!s)
        return false;
    for (i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[64] == 0;
}

tml_status tml_artifact_path(const char *dir, const char *sha, char *path, size_t n)
{
    if (!tml_sha_hex_valid(sha))
        return TML_ERR_ARG;
    if (snprintf(path, n, "%s/%s", dir, sha) >= (int)n)
        return TML_ERR_ARG;
    return TML_OK;
}

static tml_status write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return TML_ERR_IO;
        }
        p += w;
        len -= (size_t)w;
    }
    return TML_OK;
}

static tml_status fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    int rc;
    if (fd < 0)
        return TML_ERR_IO;
    rc = fsync(fd);
    close(fd);
    return rc == 0 ? TML_OK : TML_ERR_IO;
}

tml_status tml_artifact_put(const char *dir, const void *data, size_t len,
                            char sha_out[TML_SHA_HEX], char *err, size_t errsz)
{
    char path[4096], tmp[4096];
    struct stat st;
    int fd;
    tml_sha256_hex(data, len, sha_out);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "artifacts '%s': cannot create: %s", dir, strerror(errno));
        return TML_ERR_IO;
    }
    if (tml_artifact_path(dir, sha_out, path, sizeof path) != TML_OK ||
        snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%ld", dir, sha_out, (long)getpid()) >=
            (int)sizeof tmp) {
        snprintf(err, errsz, "artifacts '%s': path too long", dir);
        return TML_ERR_ARG;
    }
    /* already there and intact: content addressing makes the write a no-op */
    if (stat(path, &st) == 0 && (size_t)st.st_size == len &&
        tml_artifact_verify(dir, sha_out, NULL, 0) == TML_OK)
        return TML_OK;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        snprintf(err, errsz, "artifact '%s': cannot create: %s", tmp, strerror(errno));
        return TML_ERR_IO;
    }
    if (write_all(fd, (const unsigned char *)data, len) != TML_OK || fsync(fd) != 0) {
        snprintf(err, errsz, "artifact '%s': write failed: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return TML_ERR_IO;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        snprintf(err, errsz, "artifact '%s': cannot rename: %s", path, strerror(errno));
        unlink(tmp);
        return TML_ERR_IO;
    }
    if (fsync_dir(dir) != TML_OK) {
        snprintf(err, errsz, "artifacts '%s': fsync failed: %s", dir, strerror(errno));
        return TML_ERR_IO;
    }
    return TML_OK;
}

tml_status tml_artifact_read(const char *dir, const char *sha, size_t max, uint8_t **data,
                             size_t *len, char *err, size_t errsz)
{
    char path[4096], got[TML_SHA_HEX];
    struct stat st;
    uint8_t *buf;
    size_t off = 0;
    int fd;
    *data = NULL;
    *len = 0;
    if (tml_artifact_path(dir, sha, path, sizeof path) != TML_OK) {
        if (err)
            snprintf(err, errsz, "artifact '%.80s': not a sha256 hex digest", sha ? sha : "");
        return TML_ERR_ARG;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0) {
        if (err)
            snprintf(err, errsz, "artifact '%s': not found", sha);
        return errno == ENOENT ? TML_ERR_NOT_FOUND : TML_ERR_IO;
    }
    if (fstat(fd, &st) != 0 || st.st_size < 0) {
        close(fd);
        if (err)
            snprintf(err, errsz, "artifact '%s': cannot stat", sha);
        return TML_ERR_IO;
    }
    if ((uint64_t)st.st_size > (uint64_t)max) {
        close(fd);
        if (err)
            snprintf(err, errsz, "artifact '%s': %lld bytes, limit %zu", sha,
                     (long long)st.st_size, max);
        return TML_ERR_FIT;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        close(fd);
        return TML_ERR_NOMEM;
    }
    while (off < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + off, (size_t)st.st_size - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    buf[off] = 0;
    tml_sha256_hex(buf, off, got);
    if (off != (size_t)st.st_size || strcmp(got, sha) != 0) {
        free(buf);
        if (err)
            snprintf(err, errsz, "artifact '%s': content does not match its hash", sha);
        return TML_ERR_VERIFY;
    }
    *data = buf;
    *len = off;
    return TML_OK;
}

tml_status tml_artifact_verify(const char *dir, const char *sha, char *err, size_t errsz)
{
    uint8_t *d;
    size_t n;
    tml_status st = tml_artifact_read(dir, sha, (size_t)1 << 31, &d, &n, err, errsz);
    free(d);
    return st;
}

tml_status tml_artifact_remove(const char *dir, const char *sha, char *err, size_t errsz)
{
    char path[4096];
    if (tml_artifact_path(dir, sha, path, sizeof path) != TML_OK) {
        snprintf(err, errsz, "artifact '%.80s': not a sha256 hex digest", sha ? sha : "");
        return TML_ERR_ARG;
    }
    if (unlink(path) != 0 && errno != ENOENT) {
        snprintf(err, errsz, "artifact '%s': cannot remove: %s", sha, strerror(errno));
        return TML_ERR_IO;
    }
    fsync_dir(dir);
    return TML_OK;
}
