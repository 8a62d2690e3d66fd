/*
 * client.c - `tmlaas devices | models | deploy`: the command-line client of the HTTP API.
 *
 *   tmlaas devices [ENDPOINT] [--json]
 *   tmlaas models [--json]
 *   tmlaas models push FILE [--name NAME]
 *   tmlaas models rm NAME [VERSION]
 *   tmlaas deploy MODEL [--version V] --to DEVICE | --all
 *   tmlaas deploy --status [--json]
 *   common: --url URL (TMLAAS_URL, http://127.0.0.1:8080), --token T (TMLAAS_TOKEN, else
 *           DATA_DIR/admin.token with --data-dir / TMLAAS_DATA_DIR / ./tmlaas-data)
 *
 * The HTTP client is a small HTTP/1.1 one over a POSIX socket (one request per connection,
 * "Connection: close", body read to EOF, Content-Length or chunked responses). libcurl would
 * do more, but it is not among the project's dependencies and the API is plain JSON over
 * loopback; TLS belongs to a reverse proxy in front of the service. Only http:// URLs.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "service/service_int.h"

#define RESPONSE_MAX (64u << 20)

typedef struct {
    const char *url;
    const char *token;
    const char *data_dir;
    bool json;
    char token_buf[TML_TOKEN_LEN + 1];
} client_opts;

typedef struct {
    int status;
    char *body; /* NUL-terminated */
    size_t len;
} http_resp;

/* Splits "http://host[:port][/prefix]". */
static bool parse_url(const char *url, char *host, size_t hn, char *port, size_t pn, char *prefix,
                      size_t xn)
{
    const char *h, *e, *p;
    if (strncmp(url, "http://", 7) != 0)
        return false;
    h = url + 7;
    e = h + strcspn(h, "/");
    if (*h == '[') { /* [v6]:port */
        const char *rb = memchr(h, ']', (size_t)(e - h));
        if (!rb || (size_t)(rb - h - 1) >= hn)
            return false;
        memcpy(host, h + 1, (size_t)(rb - h - 1));
        host[rb - h - 1] = 0;
        p = rb + 1;
    } else {
        const char *colon = memchr(h, ':', (size_t)(e - h));
        p = colon ? colon : e;
        if ((size_t)(p - h) >= hn || p == h)
            return false;
        memcpy(host, h, (size_t)(p - h));
        host[p - h] = 0;
    }
    if (p < e && *p == ':') {
        if ((size_t)(e - p - 1) >= pn || e - p - 1 == 0)
            return false;
        memcpy(port, p + 1, (size_t)(e - p - 1));
        port[e - p - 1] = 0;
    } else {
        snprintf(port, pn, "80");
    }
    snprintf(prefix, xn, "%s", e);
    /* drop a trailing '/' of the prefix */
    if (*prefix && prefix[strlen(prefix) - 1] == '/')
        prefix[strlen(prefix) - 1] = 0;
    return true;
}

static int dial(const char *host, const char *port, char *err, size_t errsz)
{
    struct addrinfo hints, *res, *ai;
    int fd = -1, rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errsz, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        snprintf(err, errsz, "cannot connect to %s port %s: %s (is 'tmlaas serve' running?)", host,
                 port, strerror(errno));
    return fd;
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        n -= (size_t)w;
    }
    return true;
}

/* Decodes a chunked body in place; false if malformed. */
static bool dechunk(char *b, size_t *len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        unsigned long n;
        if (in >= *len)
            return false;
        n = strtoul(b + in, &end, 16);
        if (end == b + in)
            return false;
        end = strstr(end, "\r\n");
        if (!end)
            return false;
        in = (size_t)(end - b) + 2;
        if (n == 0)
            break;
        if (n > *len - in)
            return false;
        memmove(b + out, b + in, n);
        out += n;
        in += n + 2;
    }
    *len = out;
    b[out] = 0;
    return true;
}

/* Case-insensitive search of a header line in the header block. */
static bool has_header(const char *hdrs, const char *line)
{
    size_t n = strlen(line);
    const char *p;
    for (p = hdrs; *p; p++)
        if (p[0] == '\n' && strncasecmp(p + 1, line, n) == 0)
            return true;
    return false;
}

static tml_status http_do(const client_opts *o, const char *method, const char *path,
                          const char *ctype, const void *body, size_t blen, bool auth,
                          http_resp *r, char *err, size_t errsz)
{
    char host[256], port[16], prefix[512], head[2048];
    char *buf = NULL, *hdr_end;
    size_t len = 0, cap = 0;
    int fd, n;
    memset(r, 0, sizeof *r);
    if (!parse_url(o->url, host, sizeof host, port, sizeof port, prefix, sizeof prefix)) {
        snprintf(err, errsz, "url '%s': expected http://HOST[:PORT]", o->url);
        return TML_ERR_ARG;
    }
    fd = dial(host, port, err, errsz);
    if (fd < 0)
        return TML_ERR_IO;
    n = snprintf(head, sizeof head,
                 "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\nUser-Agent: tmlaas/%s\r\n"
                 "Accept: application/json\r\nConnection: close\r\nContent-Length: %zu\r\n",
                 method, prefix, path, host, port, TML_VERSION, blen);
    if (ctype)
        n += snprintf(head + n, sizeof head - (size_t)n, "Content-Type: %s\r\n", ctype);
    if (auth && o->token)
        n += snprintf(head + n, sizeof head - (size_t)n, "Authorization: Bearer %s\r\n", o->token);
    n += snprintf(head + n, sizeof head - (size_t)n, "\r\n");
    if (n >= (int)sizeof head || !send_all(fd, head, (size_t)n) ||
        (blen && !send_all(fd, body, blen))) {
        snprintf(err, errsz, "sending the request failed: %s", strerror(errno));
        close(fd);
        return TML_ERR_IO;
    }
    for (;;) {
        ssize_t rd;
        if (len + 4096 + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            char *nb;
            if (ncap > RESPONSE_MAX) {
                snprintf(err, errsz, "response larger than %u bytes", RESPONSE_MAX);
                free(buf);
                close(fd);
                return TML_ERR_FIT;
            }
            nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                close(fd);
                return TML_ERR_NOMEM;
            }
            buf = nb;
            cap = ncap;
        }
        rd = recv(fd, buf + len, cap - len - 1, 0);
        if (rd < 0 && errno == EINTR)
            continue;
        if (rd <= 0)
            break;
        len += (size_t)rd;
    }
    close(fd);
    if (!buf || len < 12 || strncmp(buf, "HTTP/1.", 7) != 0) {
        free(buf);
        snprintf(err, errsz, "no valid HTTP response from %s", o->url);
        return TML_ERR_FORMAT;
    }
    buf[len] = 0;
    r->status = atoi(buf + 9);
    hdr_end = strstr(buf, "\r\n\r\n");
    if (!hdr_end) {
        free(buf);
        snprintf(err, errsz, "truncated HTTP response from %s", o->url);
        return TML_ERR_FORMAT;
    }
    *hdr_end = 0;
    {
        bool chunked = has_header(buf, "transfer-encoding: chunked");
        size_t off = (size_t)(hdr_end + 4 - buf);
        r->len = len - off;
        memmove(buf, buf + off, r->len);
        buf[r->len] = 0;
        if (chunked && !dechunk(buf, &r->len)) {
            free(buf);
            snprintf(err, errsz, "malformed chunked response from %s", o->url);
            return TML_ERR_FORMAT;
        }
    }
    r->body = buf;
    return TML_OK;
}

/* Prints the API's error for a non-2xx answer; returns the exit code. */
static int report_failure(const char *cmd, const http_resp *r)
{
    cJSON *j = cJSON_ParseWithLength(r->body, r->len);
    cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
    fprintf(stderr, "tmlaas %s: %s (HTTP %d)\n", cmd,
            cJSON_IsString(e) ? e->valuestring : "request failed", r->status);
    if (r->status == 401)
        fprintf(stderr, "tmlaas %s: pass the service's token with --token, TMLAAS_TOKEN or "
                        "--data-dir (DATA_DIR/admin.token)\n", cmd);
    cJSON_Delete(j);
    return 1;
}

static bool load_token(client_opts *o)
{
    char path[1200];
    FILE *f;
    size_t n;
    if (o->token)
        return true;
    o->token = getenv("TMLAAS_TOKEN");
    if (o->token && *o->token)
        return true;
    o->token = NULL;
    snprintf(path, sizeof path, "%s/admin.token", o->data_dir);
    f = fopen(path, "r");
    if (!f)
        return false;
    n = fread(o->token_buf, 1, TML_TOKEN_LEN, f);
    fclose(f);
    if (n != TML_TOKEN_LEN)
        return false;
    o->token_buf[TML_TOKEN_LEN] = 0;
    o->token = o->token_buf;
    return true;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : "-";
}

static double jnum(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* GET a path; prints raw JSON (--json) or hands the parsed body to fn. */
static int get_and_show(const char *cmd, const client_opts *o, const char *path,
                        void (*fn)(const cJSON *))
{
    http_resp r;
    char err[512];
    cJSON *j;
    if (http_do(o, "GET", path, NULL, NULL, 0, false, &r, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas %s: %s\n", cmd, err);
        return 1;
    }
    if (r.status != 200) {
        int rc = report_failure(cmd, &r);
        free(r.body);
        return rc;
    }
    if (o->json || !fn) {
        j = cJSON_ParseWithLength(r.body, r.len);
        if (j) {
            char *t = cJSON_Print(j);
            printf("%s\n", t ? t : r.body);
            free(t);
            cJSON_Delete(j);
        } else {
            printf("%s\n", r.body);
        }
    } else {
        j = cJSON_ParseWithLength(r.body, r.len);
        if (!j) {
            fprintf(stderr, "tmlaas %s: the service sent invalid JSON\n", cmd);
            free(r.body);
            return 1;
        }
        fn(j);
        cJSON_Delete(j);
    }
    free(r.body);
    return 0;
}

static void show_devices(const cJSON *j)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "devices"), *d;
    printf("%-24s %-8s %-12s %8s %-20s %-20s %s\n", "ENDPOINT", "STATE", "TARGET", "LIFETIME",
           "LAST SEEN", "MODEL", "ADDRESS");
    cJSON_ArrayForEach(d, arr)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(d, "model");
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(d, "node");
        printf("%-24s %-8s %-12s %7.0fs %-20s %-20s %s\n", jstr(d, "endpoint"), jstr(d, "state"),
               jstr(node, "target"), jnum(d, "lifetime"), jstr(d, "last_seen"),
               cJSON_IsObject(m) ? jstr(m, "name") : "-", jstr(d, "address"));
    }
}

static void show_models(const cJSON *j)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "models"), *m;
    printf("%-24s %7s %10s %-20s %s\n", "NAME", "VERSION", "SIZE", "CREATED", "SHA256");
    cJSON_ArrayForEach(m, arr)
    printf("%-24s %7.0f %10.0f %-20s %.16s\n", jstr(m, "name"), jnum(m, "version"), jnum(m, "size"),
           jstr(m, "created"), jstr(m, "sha256"));
}

/* A state-changing request; prints a one-line summary via fn. */
static int mutate(const char *cmd, client_opts *o, const char *method, const char *path,
                  const char *ctype, const void *body, size_t blen, void (*fn)(const cJSON *))
{
    http_resp r;
    char err[512];
    cJSON *j;
    int rc = 0;
    if (!load_token(o)) {
        fprintf(stderr, "tmlaas %s: no token: use --token, TMLAAS_TOKEN or --data-dir with "
                        "DATA_DIR/admin.token ('%s/admin.token' not readable)\n",
                cmd, o->data_dir);
        return 1;
    }
    if (http_do(o, method, path, ctype, body, blen, true, &r, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas %s: %s\n", cmd, err);
        return 1;
    }
    if (r.status < 200 || r.status > 299) {
        rc = report_failure(cmd, &r);
    } else if (o->json || !fn) {
        printf("%s\n", r.body);
    } else {
        j = cJSON_ParseWithLength(r.body, r.len);
        if (j)
            fn(j);
        cJSON_Delete(j);
    }
    free(r.body);
    return rc;
}

static void show_deployment_table(const cJSON *j)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "deployments"), *d;
    printf("%6s %-20s %7s %-24s %-10s %6s %s\n", "ID", "MODEL", "VERSION", "DEVICE", "STATE",
           "RESULT", "ERROR");
    cJSON_ArrayForEach(d, arr)
    printf("%6.0f %-20s %7.0f %-24s %-10s %6.0f %s\n", jnum(d, "id"), jstr(d, "model"),
           jnum(d, "version"), jstr(d, "device"), jstr(d, "state"), jnum(d, "result"),
           jstr(d, "error"));
}

static void show_pushed(const cJSON *j)
{
    const cJSON *isnew = cJSON_GetObjectItemCaseSensitive(j, "new");
    printf("%s %s version %.0f (%.0f bytes, sha256 %.16s)\n",
           cJSON_IsTrue(isnew) ? "uploaded" : "unchanged:", jstr(j, "name"), jnum(j, "version"),
           jnum(j, "size"), jstr(j, "sha256"));
}

static void show_deleted(const cJSON *j) { printf("deleted %.0f version(s)\n", jnum(j, "deleted")); }

static void show_deployments(const cJSON *j)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(j, "deployments"), *d;
    cJSON_ArrayForEach(d, arr)
    printf("deployment %.0f: %s version %.0f -> %s: %s\n", jnum(d, "id"), jstr(d, "model"),
           jnum(d, "version"), jstr(d, "device"), jstr(d, "state"));
}

static char *read_file(const char *path, size_t *len, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f) {
        snprintf(err, errsz, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    for (;;) {
        size_t r;
        if (n == cap) {
            char *nb;
            cap = cap ? cap * 2 : 65536;
            if (cap > (1u << 31)) {
                snprintf(err, errsz, "'%s' is too large", path);
                break;
            }
            nb = realloc(buf, cap);
            if (!nb)
                break;
            buf = nb;
        }
        r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) {
            fclose(f);
            *len = n;
            return buf;
        }
    }
    fclose(f);
    free(buf);
    return NULL;
}

/* The model name from a file name: base name without the extension. */
static void base_name(const char *path, char *out, size_t n)
{
    const char *b = strrchr(path, '/');
    char *dot;
    snprintf(out, n, "%s", b ? b + 1 : path);
    dot = strrchr(out, '.');
    if (dot && dot != out)
        *dot = 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: tmlaas devices [ENDPOINT] [--json]\n"
               "       tmlaas models [--json]\n"
               "       tmlaas models push FILE [--name NAME]\n"
               "       tmlaas models rm NAME [VERSION]\n"
               "       tmlaas deploy MODEL [--version V] (--to DEVICE | --all)\n"
               "       tmlaas deploy --status [--json]   (every deployment and its state)\n\n"
               "common options:\n"
               "  --url URL        the service's HTTP API (TMLAAS_URL, http://127.0.0.1:8080)\n"
               "  --token TOKEN    admin token (TMLAAS_TOKEN, else DATA_DIR/admin.token)\n"
               "  --data-dir DIR   where admin.token is (TMLAAS_DATA_DIR, ./tmlaas-data)\n"
               "  --json           print the API's JSON instead of a table\n");
}

int tml_client_main(int argc, char **argv)
{
    client_opts o;
    const char *cmd = argc > 0 ? argv[0] : "?";
    const char *pos[4] = {0}, *name = NULL, *to = NULL, *version = NULL;
    bool all = false, status = false;
    int npos = 0, i;
    char path[512], err[512];

    memset(&o, 0, sizeof o);
    o.url = getenv("TMLAAS_URL");
    if (!o.url || !*o.url)
        o.url = "http://127.0.0.1:8080";
    o.data_dir = getenv("TMLAAS_DATA_DIR");
    if (!o.data_dir || !*o.data_dir)
        o.data_dir = "tmlaas-data";

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool more = i + 1 < argc;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            o.json = true;
        } else if (strcmp(a, "--all") == 0) {
            all = true;
        } else if (strcmp(a, "--status") == 0) {
            status = true;
        } else if (strcmp(a, "--url") == 0 && more) {
            o.url = argv[++i];
        } else if (strcmp(a, "--token") == 0 && more) {
            o.token = argv[++i];
        } else if (strcmp(a, "--data-dir") == 0 && more) {
            o.data_dir = argv[++i];
        } else if (strcmp(a, "--name") == 0 && more) {
            name = argv[++i];
        } else if (strcmp(a, "--to") == 0 && more) {
            to = argv[++i];
        } else if (strcmp(a, "--version") == 0 && more) {
            version = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "tmlaas %s: unknown or incomplete option '%s' (see 'tmlaas %s "
                            "--help')\n", cmd, a, cmd);
            return 2;
        } else if (npos < 4) {
            pos[npos++] = a;
        } else {
            fprintf(stderr, "tmlaas %s: too many arguments\n", cmd);
            return 2;
        }
    }

    if (strcmp(cmd, "devices") == 0) {
        if (npos > 1)
            goto usage_err;
        if (npos == 1) {
            if (strchr(pos[0], '/') || strchr(pos[0], '?') || strchr(pos[0], '%') ||
                strchr(pos[0], ' ')) {
                fprintf(stderr, "tmlaas devices: invalid endpoint '%s'\n", pos[0]);
                return 2;
            }
            snprintf(path, sizeof path, "/api/devices/%s", pos[0]);
            return get_and_show(cmd, &o, path, NULL);
        }
        return get_and_show(cmd, &o, "/api/devices", show_devices);
    }
    if (strcmp(cmd, "models") == 0) {
        if (npos == 0)
            return get_and_show(cmd, &o, "/api/models", show_models);
        if (strcmp(pos[0], "push") == 0 && npos == 2) {
            char nm[TML_NAME_MAX];
            size_t len = 0;
            char *data = read_file(pos[1], &len, err, sizeof err);
            int rc;
            if (!data) {
                fprintf(stderr, "tmlaas models push: %s\n", err);
                return 1;
            }
            if (name)
                snprintf(nm, sizeof nm, "%s", name);
            else
                base_name(pos[1], nm, sizeof nm);
            if (!tml_model_name_valid(nm)) {
                fprintf(stderr, "tmlaas models push: invalid model name '%s' (1-64 of "
                                "[A-Za-z0-9._-]; use --name)\n", nm);
                free(data);
                return 2;
            }
            snprintf(path, sizeof path, "/api/models?name=%s", nm);
            rc = mutate("models push", &o, "POST", path, "application/octet-stream", data, len,
                        show_pushed);
            free(data);
            return rc;
        }
        if (strcmp(pos[0], "rm") == 0 && (npos == 2 || npos == 3)) {
            if (!tml_model_name_valid(pos[1]) ||
                (npos == 3 && strspn(pos[2], "0123456789") != strlen(pos[2]))) {
                fprintf(stderr, "tmlaas models rm: invalid name or version\n");
                return 2;
            }
            snprintf(path, sizeof path, "/api/models/%s%s%s", pos[1], npos == 3 ? "/" : "",
                     npos == 3 ? pos[2] : "");
            return mutate("models rm", &o, "DELETE", path, NULL, NULL, 0, show_deleted);
        }
        goto usage_err;
    }
    if (strcmp(cmd, "deploy") == 0) {
        cJSON *req;
        char *body;
        int rc;
        if (status && npos == 0 && !to && !all)
            return get_and_show(cmd, &o, "/api/deployments", show_deployment_table);
        if (status || npos != 1 || (to != NULL) == all)
            goto usage_err;
        req = cJSON_CreateObject();
        cJSON_AddStringToObject(req, "model", pos[0]);
        if (version) {
            char *end;
            long v = strtol(version, &end, 10);
            if (*end || v < 1) {
                cJSON_Delete(req);
                goto usage_err;
            }
            cJSON_AddNumberToObject(req, "version", (double)v);
        }
        if (all)
            cJSON_AddTrueToObject(req, "all");
        else
            cJSON_AddStringToObject(req, "device", to);
        body = cJSON_PrintUnformatted(req);
        cJSON_Delete(req);
        if (!body)
            return 1;
        rc = mutate(cmd, &o, "POST", "/api/deployments", "application/json", body, strlen(body),
                    show_deployments);
        free(body);
        return rc;
    }
    fprintf(stderr, "tmlaas: unknown client command '%s'\n", cmd);
    return 2;
usage_err:
    usage(stderr);
    return 2;
}
