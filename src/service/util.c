/*
 * util.c - small pieces every part of the service uses: the one-line log, the admin token
 * file, and name validation.
 *
 * The log is plain stderr, one line per significant event with a UTC timestamp, because the
 * service runs under systemd, a container runtime or a test script, all of which capture
 * stderr; a logging framework would add nothing. The admin token is 32 bytes from libsodium's
 * CSPRNG written as hex into DATA_DIR/admin.token, created with O_EXCL and mode 0600 so two
 * services starting at once cannot both write one, and nobody but the owner can read it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "service/service_int.h"

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

void tml_log(const char *fmt, ...)
{
    char ts[32], msg[1024];
    time_t t = time(NULL);
    struct tm tm;
    va_list ap;
    size_t i;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* one event, one line: nothing from the network may break a line */
    for (i = 0; msg[i]; i++)
        if ((unsigned char)msg[i] < 0x20)
            msg[i] = ' ';
    pthread_mutex_lock(&log_mu);
    fprintf(stderr, "%s tmlaas: %s\n", ts, msg);
    fflush(stderr);
    pthread_mutex_unlock(&log_mu);
}

static bool token_valid(const char *t)
{
    size_t i;
    for (i = 0; i < TML_TOKEN_LEN; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
            return false;
    return true;
}

tml_status tml_token_load_or_create(const char *data_dir, char token[TML_TOKEN_LEN + 1],
                                    bool *created, char *err, size_t errsz)
{
    char path[1200], buf[TML_TOKEN_LEN + 2];
    unsigned char raw[TML_TOKEN_LEN / 2];
    struct stat st;
    ssize_t n;
    int fd;
    *created = false;
    if (snprintf(path, sizeof path, "%s/admin.token", data_dir) >= (int)sizeof path) {
        snprintf(err, errsz, "token: data directory path too long");
        return TML_ERR_ARG;
    }
    if (sodium_init() < 0) {
        snprintf(err, errsz, "token: libsodium failed to initialise");
        return TML_ERR;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd >= 0) {
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(token, TML_TOKEN_LEN + 1, raw, sizeof raw);
        sodium_memzero(raw, sizeof raw);
        memcpy(buf, token, TML_TOKEN_LEN);
        buf[TML_TOKEN_LEN] = '\n';
        if (write(fd, buf, TML_TOKEN_LEN + 1) != TML_TOKEN_LEN + 1 || fsync(fd) != 0) {
            snprintf(err, errsz, "token '%s': cannot write: %s", path, strerror(errno));
            close(fd);
            unlink(path);
            return TML_ERR_IO;
        }
        close(fd);
        *created = true;
        return TML_OK;
    }
    if (errno != EEXIST) {
        snprintf(err, errsz, "token '%s': cannot create: %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    fd = open(path, O_RDONLY);
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errsz, "token '%s': cannot read: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return TML_ERR_IO;
    }
    if (st.st_mode & 077) {
        tml_log("token '%s': readable by group or others (mode %03o); tightening to 0600", path,
                (unsigned)(st.st_mode & 0777));
        if (fchmod(fd, 0600) != 0)
            tml_log("token '%s': chmod failed: %s", path, strerror(errno));
    }
    n = read(fd, buf, sizeof buf);
    close(fd);
    if (n < TML_TOKEN_LEN || !token_valid(buf)) {
        snprintf(err, errsz, "token '%s': not %d hex digits; delete it to get a new one", path,
                 TML_TOKEN_LEN);
        return TML_ERR_FORMAT;
    }
    memcpy(token, buf, TML_TOKEN_LEN);
    token[TML_TOKEN_LEN] = 0;
    return TML_OK;
}

bool tml_model_name_valid(const char *name)
{
    size_t i, n = strlen(name);
    if (n == 0 || n > 64)
        return false;
    for (i = 0; i < n; i++) {
        char c = name[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && !(i > 0 && (c == '.' || c == '_' || c == '-')))
            return false;
    }
    return true;
}
