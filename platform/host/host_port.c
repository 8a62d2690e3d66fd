/*
 * host_port.c - the POSIX port of the device agent (see host_port.h).
 *
 * Requests: one at a time, confirmable, with a fresh token; the wait loop runs both libcoap
 * contexts until the matching response, a NACK (libcoap gave up retransmitting) or the
 * timeout. Downloads use a session of their own to the package's host (kept while the host
 * stays the same) with few retransmissions, so a lost block comes back to the core quickly
 * and the core asks for that block again. Late responses to a request the core has given up
 * on carry an old token and are dropped.
 *
 * Storage: DIR/slot0.bin, DIR/slot1.bin (written at offsets, fsync'ed on commit) and
 * DIR/agent.state (written to a temp file, fsync'ed, renamed over the old one, and the
 * directory fsync'ed), so a crash at any moment leaves either the old or the new record.
 */
#include "host_port.h"

#include <coap3/coap.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct tml_host_port {
    coap_context_t *ctx, *dl_ctx;
    coap_session_t *server, *dl;
    char dl_host[TML_DEV_HOST_MAX];
    uint16_t dl_port;
    int dl_secure;
    /* DTLS pre-shared key (identity = endpoint), for coaps:// server and package URIs */
    int has_psk;
    char psk_id[128];
    uint8_t psk[64];
    size_t psk_len;
    char dir[512];
    uint8_t pk[32];
    int has_pk;
    uint32_t timeout_ms;
    tml_device *dev;
    /* the request in flight */
    uint8_t tok[8];
    size_t tok_len;
    int waiting, done, failed, fit;
    tml_device_response *rsp;
    uint8_t out[TML_DEVICE_OUT_MIN * 2]; /* answers to incoming requests */
};

/* ---- clock, log ---- */

static uint64_t hp_now_us(void *ctx)
{
    struct timespec ts;
    (void)ctx;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void hp_log(void *ctx, int level, const char *msg)
{
    char ts[32];
    time_t t = time(NULL);
    struct tm tm;
    (void)ctx;
    gmtime_r(&t, &tm);
    strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(stderr, "%s tmlaas device: %s%s\n", ts,
            level == 0 ? "error: " : level == 1 ? "warning: " : "", msg);
}

/* ---- storage ---- */

static void slot_path(tml_host_port *p, int slot, char *out, size_t n)
{
    snprintf(out, n, "%s/slot%d.bin", p->dir, slot);
}

static tml_status hp_slot_begin(void *ctx, int slot)
{
    char path[600];
    int fd;
    slot_path(ctx, slot, path, sizeof path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return TML_ERR_IO;
    close(fd);
    return TML_OK;
}

static tml_status hp_slot_write(void *ctx, int slot, uint32_t off, const uint8_t *data,
                                uint32_t len)
{
    char path[600];
    int fd;
    size_t done = 0;
    slot_path(ctx, slot, path, sizeof path);
    fd = open(path, O_WRONLY);
    if (fd < 0)
        return TML_ERR_IO;
    while (done < len) {
        ssize_t w = pwrite(fd, data + done, len - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            return TML_ERR_IO;
        }
        done += (size_t)w;
    }
    close(fd);
    return TML_OK;
}

static tml_status hp_slot_read(void *ctx, int slot, uint32_t off, uint8_t *buf, uint32_t len)
{
    char path[600];
    int fd;
    size_t done = 0;
    slot_path(ctx, slot, path, sizeof path);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return TML_ERR_IO;
    while (done < len) {
        ssize_t r = pread(fd, buf + done, len - done, (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            close(fd);
            return TML_ERR_IO;
        }
        done += (size_t)r;
    }
    close(fd);
    return TML_OK;
}

static tml_status hp_slot_commit(void *ctx, int slot, uint32_t size)
{
    char path[600];
    int fd, ok;
    slot_path(ctx, slot, path, sizeof path);
    fd = open(path, O_WRONLY);
    if (fd < 0)
        return TML_ERR_IO;
    ok = ftruncate(fd, (off_t)size) == 0 && fsync(fd) == 0;
    close(fd);
    return ok ? TML_OK : TML_ERR_IO;
}

static tml_status hp_state_save(void *ctx, const uint8_t *buf, uint32_t len)
{
    tml_host_port *p = ctx;
    char tmp[600], path[600];
    int fd, ok;
    snprintf(tmp, sizeof tmp, "%s/agent.state.tmp", p->dir);
    snprintf(path, sizeof path, "%s/agent.state", p->dir);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return TML_ERR_IO;
    ok = write(fd, buf, len) == (ssize_t)len && fsync(fd) == 0;
    close(fd);
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return TML_ERR_IO;
    }
    fd = open(p->dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    return TML_OK;
}

static tml_status hp_state_load(void *ctx, uint8_t *buf, uint32_t cap, uint32_t *len)
{
    tml_host_port *p = ctx;
    char path[600];
    int fd;
    ssize_t r;
    snprintf(path, sizeof path, "%s/agent.state", p->dir);
    fd = open(path, O_RDONLY);
    if (fd < 0)
        return errno == ENOENT ? TML_ERR_NOT_FOUND : TML_ERR_IO;
    r = read(fd, buf, cap);
    close(fd);
    if (r < 0)
        return TML_ERR_IO;
    *len = (uint32_t)r;
    return TML_OK;
}

static tml_status hp_verify(void *ctx, const uint8_t *msg, size_t len,
                            const uint8_t sig[TML_DEV_SIG_BYTES])
{
    tml_host_port *p = ctx;
    return crypto_sign_verify_detached(sig, msg, len, p->pk) == 0 ? TML_OK : TML_ERR_VERIFY;
}

/* ---- CoAP ---- */

static int resolve(const char *host, uint16_t port, coap_address_t *out)
{
    struct addrinfo hints, *res = NULL;
    char ps[8];
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    if (getaddrinfo(host, ps, &hints, &res) != 0 || !res)
        return -1;
    coap_address_init(out);
    out->size = (socklen_t)res->ai_addrlen;
    memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

static coap_response_t on_response(coap_session_t *s, const coap_pdu_t *sent,
                                   const coap_pdu_t *recv, const coap_mid_t mid)
{
    tml_host_port *p = coap_session_get_app_data(s);
    coap_bin_const_t tok = coap_pdu_get_token(recv);
    coap_opt_iterator_t oi;
    coap_opt_t *o;
    size_t len = 0;
    const uint8_t *data = NULL;
    tml_device_response *r;
    (void)sent;
    (void)mid;
    if (!p || !p->waiting || tok.length != p->tok_len || memcmp(tok.s, p->tok, p->tok_len) != 0)
        return COAP_RESPONSE_OK; /* a late answer to a request given up on */
    r = p->rsp;
    r->code = coap_pdu_get_code(recv);
    if (coap_get_data(recv, &len, &data) && len) {
        if (len > r->payload_cap) {
            p->fit = 1;
            len = 0;
        } else {
            memcpy(r->payload, data, len);
        }
    }
    r->payload_len = len;
    o = coap_check_option(recv, COAP_OPTION_BLOCK2, &oi);
    if (o) {
        r->has_block2 = 1;
        r->block2_num = coap_opt_block_num(o);
        r->block2_more = COAP_OPT_BLOCK_MORE(o) ? 1 : 0;
        r->block2_szx = (uint8_t)COAP_OPT_BLOCK_SZX(o);
    }
    r->location[0] = '\0';
    coap_option_iterator_init(recv, &oi, COAP_OPT_ALL);
    while ((o = coap_option_next(&oi)) != NULL) {
        if (oi.number == COAP_OPTION_LOCATION_PATH) {
            size_t l = strlen(r->location), n = coap_opt_length(o);
            if (l + n + 2 <= sizeof r->location) {
                if (l)
                    r->location[l++] = '/';
                memcpy(r->location + l, coap_opt_value(o), n);
                r->location[l + n] = '\0';
            }
        }
    }
    p->done = 1;
    return COAP_RESPONSE_OK;
}

static void on_nack(coap_session_t *s, const coap_pdu_t *sent, const coap_nack_reason_t reason,
                    const coap_mid_t mid)
{
    tml_host_port *p = coap_session_get_app_data(s);
    (void)mid;
    (void)reason;
    if (!p || !p->waiting)
        return;
    if (sent) {
        coap_bin_const_t tok = coap_pdu_get_token(sent);
        if (tok.length != p->tok_len || memcmp(tok.s, p->tok, p->tok_len) != 0)
            return;
    }
    p->failed = 1;
}

/* A client session to a, over DTLS with the PSK when secure. */
static coap_session_t *open_session(tml_host_port *p, coap_context_t *ctx, const coap_address_t *a,
                                    const char *host, int secure)
{
    coap_dtls_cpsk_t c;
    if (!secure)
        return coap_new_client_session(ctx, NULL, a, COAP_PROTO_UDP);
    if (!p->has_psk)
        return NULL;
    memset(&c, 0, sizeof c);
    c.version = COAP_DTLS_CPSK_SETUP_VERSION;
    c.client_sni = (char *)host;
    c.psk_info.identity.s = (const uint8_t *)p->psk_id;
    c.psk_info.identity.length = strlen(p->psk_id);
    c.psk_info.key.s = p->psk;
    c.psk_info.key.length = p->psk_len;
    return coap_new_client_session_psk2(ctx, NULL, a, COAP_PROTO_DTLS, &c);
}

static coap_session_t *dl_session(tml_host_port *p, const char *host, uint16_t port, int secure)
{
    coap_address_t a;
    coap_fixed_point_t ack = {1, 0};
    if (p->dl && strcmp(p->dl_host, host) == 0 && p->dl_port == port && p->dl_secure == secure)
        return p->dl;
    if (p->dl) {
        coap_session_release(p->dl);
        p->dl = NULL;
    }
    if (resolve(host, port, &a) != 0)
        return NULL;
    p->dl = open_session(p, p->dl_ctx, &a, host, secure);
    if (!p->dl)
        return NULL;
    p->dl_secure = secure;
    coap_session_set_app_data(p->dl, p);
    coap_session_set_ack_timeout(p->dl, ack);
    coap_session_set_max_retransmit(p->dl, 1);
    snprintf(p->dl_host, sizeof p->dl_host, "%s", host);
    p->dl_port = port;
    return p->dl;
}

static tml_status hp_request(void *ctx, const tml_device_request *rq, tml_device_response *rs)
{
    tml_host_port *p = ctx;
    coap_session_t *s = rq->host ? dl_session(p, rq->host, rq->port, rq->secure) : p->server;
    coap_pdu_t *pdu;
    coap_optlist_t *opts = NULL;
    uint8_t buf[8];
    uint64_t deadline;
    if (!s)
        return TML_ERR_IO;
    pdu = coap_pdu_init(COAP_MESSAGE_CON, (coap_pdu_code_t)rq->method, coap_new_message_id(s),
                        coap_session_max_pdu_size(s));
    if (!pdu)
        return TML_ERR_NOMEM;
    coap_session_new_token(s, &p->tok_len, p->tok);
    coap_add_token(pdu, p->tok_len, p->tok);
    if (rq->path) {
        const char *a = rq->path;
        while (*a) {
            const char *e = strchr(a, '/');
            size_t n = e ? (size_t)(e - a) : strlen(a);
            coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_URI_PATH, n, (const uint8_t *)a));
            a += n;
            if (*a == '/')
                a++;
        }
    }
    if (rq->query) {
        const char *a = rq->query;
        while (*a) {
            const char *e = strchr(a, '&');
            size_t n = e ? (size_t)(e - a) : strlen(a);
            coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_URI_QUERY, n, (const uint8_t *)a));
            a += n;
            if (*a == '&')
                a++;
        }
    }
    if (rq->content_format >= 0)
        coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT,
                                                    coap_encode_var_safe(buf, sizeof buf,
                                                                         (unsigned)rq->content_format),
                                                    buf));
    if (rq->block2_num >= 0) {
        uint8_t bb[4];
        unsigned v = ((unsigned)rq->block2_num << 4) | (rq->block2_szx & 7u);
        coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_BLOCK2,
                                                    coap_encode_var_safe(bb, sizeof bb, v), bb));
    }
    coap_add_optlist_pdu(pdu, &opts);
    coap_delete_optlist(opts);
    if (rq->payload_len)
        coap_add_data(pdu, rq->payload_len, rq->payload);
    rs->code = 0;
    rs->payload_len = 0;
    rs->has_block2 = 0;
    rs->location[0] = '\0';
    p->rsp = rs;
    p->waiting = 1;
    p->done = p->failed = p->fit = 0;
    if (coap_send(s, pdu) == COAP_INVALID_MID) {
        p->waiting = 0;
        return TML_ERR_IO;
    }
    deadline = hp_now_us(p) + (uint64_t)p->timeout_ms * 1000u;
    while (!p->done && !p->failed && hp_now_us(p) < deadline) {
        if (rq->host) {
            coap_io_process(p->dl_ctx, 20);
            coap_io_process(p->ctx, COAP_IO_NO_WAIT);
        } else {
            coap_io_process(p->ctx, 50);
        }
    }
    p->waiting = 0;
    if (p->fit)
        return TML_ERR_FIT;
    return p->done ? TML_OK : TML_ERR_IO;
}

static void release_copy(coap_session_t *s, void *app_ptr)
{
    (void)s;
    free(app_ptr);
}

/* Every request to the device, whichever session it came on. */
static void on_request(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
                       const coap_string_t *query, coap_pdu_t *resp)
{
    tml_host_port *p = coap_resource_get_userdata(res);
    coap_string_t *path = coap_get_uri_path(req);
    coap_opt_iterator_t oi;
    coap_opt_t *o;
    tml_device_in in;
    tml_device_out out;
    size_t len = 0, off = 0, total = 0;
    const uint8_t *data = NULL;
    if (!p || !p->dev) {
        coap_delete_string(path);
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_SERVICE_UNAVAILABLE);
        return;
    }
    memset(&in, 0, sizeof in);
    in.method = coap_pdu_get_code(req);
    in.path = path ? (const char *)path->s : "";
    in.path_len = path ? path->length : 0;
    while (in.path_len && in.path[0] == '/') {
        in.path++;
        in.path_len--;
    }
    o = coap_check_option(req, COAP_OPTION_CONTENT_FORMAT, &oi);
    in.content_format = o ? (int)coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o))
                          : TML_DEV_CF_NONE;
    o = coap_check_option(req, COAP_OPTION_ACCEPT, &oi);
    in.accept = o ? (int)coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o))
                  : TML_DEV_CF_NONE;
    if (coap_get_data_large(req, &len, &data, &off, &total) && off == 0 && total == len) {
        in.payload = data;
        in.payload_len = len;
    }
    out.buf = p->out;
    out.cap = sizeof p->out;
    tml_device_handle(p->dev, &in, &out);
    coap_delete_string(path);
    coap_pdu_set_code(resp, (coap_pdu_code_t)out.code);
    if (out.len) {
        uint8_t *copy = malloc(out.len);
        if (!copy) {
            coap_pdu_set_code(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR);
            return;
        }
        memcpy(copy, out.buf, out.len);
        coap_add_data_large_response(res, s, req, resp, query,
                                     (uint16_t)(out.content_format >= 0 ? out.content_format : 0),
                                     -1, 0, out.len, copy, release_copy, copy);
    }
}

tml_status tml_host_port_open(const tml_host_port_config *cfg, tml_host_port **out, char *err,
                              size_t errsz)
{
    tml_host_port *p;
    coap_uri_t u;
    char host[256];
    coap_address_t a;
    coap_resource_t *r;
    *out = NULL;
    if (sodium_init() < 0) {
        snprintf(err, errsz, "libsodium failed to start");
        return TML_ERR;
    }
    p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errsz, "out of memory");
        return TML_ERR_NOMEM;
    }
    p->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 3000;
    snprintf(p->dir, sizeof p->dir, "%s", cfg->data_dir);
    if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "data directory '%s': %s", p->dir, strerror(errno));
        free(p);
        return TML_ERR_IO;
    }
    if (cfg->server_key) {
        size_t n = 0;
        if (strlen(cfg->server_key) != 64 ||
            sodium_hex2bin(p->pk, sizeof p->pk, cfg->server_key, 64, NULL, &n, NULL) != 0 ||
            n != 32) {
            snprintf(err, errsz, "server key '%s': not 64 hex digits", cfg->server_key);
            free(p);
            return TML_ERR_ARG;
        }
        p->has_pk = 1;
    }
    if (cfg->psk_hex) {
        size_t n = strlen(cfg->psk_hex);
        if (n == 0 || n > 128 || n % 2 ||
            sodium_hex2bin(p->psk, sizeof p->psk, cfg->psk_hex, n, NULL, &p->psk_len, NULL) != 0 ||
            !cfg->psk_identity || strlen(cfg->psk_identity) >= sizeof p->psk_id) {
            snprintf(err, errsz, "psk: expected 2 to 128 hex digits");
            free(p);
            return TML_ERR_ARG;
        }
        snprintf(p->psk_id, sizeof p->psk_id, "%s", cfg->psk_identity);
        p->has_psk = 1;
    }
    if (coap_split_uri((const uint8_t *)cfg->server_uri, strlen(cfg->server_uri), &u) < 0 ||
        (u.scheme != COAP_URI_SCHEME_COAP && u.scheme != COAP_URI_SCHEME_COAPS) ||
        u.host.length == 0 || u.host.length >= sizeof host) {
        snprintf(err, errsz, "server '%s': expected coap://HOST[:PORT] or coaps://HOST[:PORT]",
                 cfg->server_uri);
        free(p);
        return TML_ERR_ARG;
    }
    if (u.scheme == COAP_URI_SCHEME_COAPS && (!p->has_psk || !coap_dtls_is_supported())) {
        snprintf(err, errsz, "server '%s': coaps needs --psk (and libcoap with DTLS)",
                 cfg->server_uri);
        free(p);
        return TML_ERR_ARG;
    }
    memcpy(host, u.host.s, u.host.length);
    host[u.host.length] = '\0';
    if (resolve(host, u.port, &a) != 0) {
        snprintf(err, errsz, "server '%s': cannot resolve '%s'", cfg->server_uri, host);
        free(p);
        return TML_ERR_ARG;
    }
    coap_startup();
    coap_set_log_level(LOG_ERR); /* the agent logs what failed; libcoap would add a line per ICMP */
    p->ctx = coap_new_context(NULL);
    p->dl_ctx = coap_new_context(NULL);
    if (!p->ctx || !p->dl_ctx) {
        snprintf(err, errsz, "libcoap: cannot create a context");
        tml_host_port_free(p);
        return TML_ERR;
    }
    coap_context_set_block_mode(p->ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_register_response_handler(p->ctx, on_response);
    coap_register_response_handler(p->dl_ctx, on_response);
    coap_register_nack_handler(p->ctx, on_nack);
    coap_register_nack_handler(p->dl_ctx, on_nack);
    r = coap_resource_unknown_init2(on_request, 0);
    coap_register_request_handler(r, COAP_REQUEST_GET, on_request);
    coap_register_request_handler(r, COAP_REQUEST_POST, on_request);
    coap_register_request_handler(r, COAP_REQUEST_DELETE, on_request);
    coap_resource_set_userdata(r, p);
    coap_add_resource(p->ctx, r);
    if (cfg->listen_port) {
        coap_address_t l;
        coap_address_init(&l);
        l.addr.sin.sin_family = AF_INET;
        l.addr.sin.sin_addr.s_addr = htonl(INADDR_ANY);
        l.addr.sin.sin_port = htons(cfg->listen_port);
        l.size = sizeof l.addr.sin;
        if (!coap_new_endpoint(p->ctx, &l, COAP_PROTO_UDP)) {
            snprintf(err, errsz, "cannot listen on udp port %u", (unsigned)cfg->listen_port);
            tml_host_port_free(p);
            return TML_ERR_IO;
        }
    }
    p->server = open_session(p, p->ctx, &a, host, u.scheme == COAP_URI_SCHEME_COAPS);
    if (!p->server) {
        snprintf(err, errsz, "server '%s': cannot open a session", cfg->server_uri);
        tml_host_port_free(p);
        return TML_ERR_IO;
    }
    coap_session_set_app_data(p->server, p);
    *out = p;
    return TML_OK;
}

void tml_host_port_functions(tml_host_port *p, tml_device_port *port)
{
    memset(port, 0, sizeof *port);
    port->ctx = p;
    port->request = hp_request;
    port->slot_begin = hp_slot_begin;
    port->slot_write = hp_slot_write;
    port->slot_read = hp_slot_read;
    port->slot_commit = hp_slot_commit;
    port->state_save = hp_state_save;
    port->state_load = hp_state_load;
    port->now_us = hp_now_us;
    port->log = hp_log;
    port->verify_signature = p->has_pk ? hp_verify : NULL;
    port->dtls = p->has_psk && coap_dtls_is_supported();
}

tml_status tml_host_port_run(tml_host_port *p, tml_device *d, volatile sig_atomic_t *stop)
{
    p->dev = d;
    while (!*stop) {
        uint32_t ms = tml_device_step(d);
        if (*stop)
            break;
        coap_io_process(p->ctx, ms ? ms : 1);
    }
    if (d->registered) {
        tml_status st = tml_device_deregister(d);
        hp_log(p, st == TML_OK ? 2 : 1,
               st == TML_OK ? "de-registered" : "de-registration got no confirmation");
    }
    return TML_OK;
}

void tml_host_port_free(tml_host_port *p)
{
    if (!p)
        return;
    if (p->ctx)
        coap_free_context(p->ctx);
    if (p->dl_ctx)
        coap_free_context(p->dl_ctx);
    free(p);
}
