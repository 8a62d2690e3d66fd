/*
 * bench_coap.c - the service under load: one process simulating N LwM2M devices (default
 * 1000) against a real `tmlaas serve` on loopback.
 *
 * What it measures, in three phases, each bounded in count and in time:
 *   1. registration: every device, from its own UDP socket, sends the LwM2M registration
 *      (POST /rd?ep=..&lt=..&lwm2m=1.1&b=U, link format); registrations per second from the
 *      first request to the last 2.01;
 *   2. download: then all N devices download one 100 KB artifact concurrently, block-wise
 *      (RFC 7959 Block2, 1024-byte blocks, one outstanding block per device, as a device
 *      does); every block is compared with the bytes uploaded; downloads completed, lost,
 *      datagrams sent again, wall time, goodput;
 *   3. throughput: CoAP GET of a small resource with many requests outstanding (64 sockets,
 *      --outstanding in flight), for --seconds. The service's CoAP loop is one thread, so it
 *      uses one core at most; --pin also pins the service to CPU 0 and the bench to CPU 1.
 * Every phase also reports the service's CPU time (utime + stime from /proc/<pid>/stat), so
 * "requests per CPU-second" is the service's rate on one fully used core even when the
 * machine is shared and the wall-clock rate is not.
 * The service's peak RSS (VmHWM of /proc/<pid>/status) is read after every phase.
 *
 * How: the service is the real binary (`tmlaas serve`, exec'ed, so its memory is its own) on
 * free ports in a temp data dir; the artifact is uploaded through the HTTP API with the admin
 * token, as `tmlaas models push` does. Devices are plain UDP sockets in one epoll loop with
 * CoAP messages encoded here (a few lines: header, options, payload) and responses parsed by
 * libcoap's own parser (coap_pdu_parse). Lost datagrams are sent again (CON, 1 s then
 * RFC 7252's timers: 2-3 s, doubling, 4
 * retransmissions), so "none lost" means every device finished, and the count of
 * retransmissions says how often the loopback socket buffers overflowed.
 * Why not libcoap client sessions: a thousand sessions in one libcoap context would measure
 * libcoap's client side as much as the server; raw sockets keep the load generator cheap.
 *
 *   build/bench_coap [--devices N] [--size BYTES] [--seconds S] [--outstanding K]
 *                    [--tmlaas PATH] [--pin] [--keep]
 */
#define _GNU_SOURCE
#include <coap3/coap.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "tml/service.h"

#define BLOCK_SZX 6 /* 1024-byte blocks */
#define BLOCK_BYTES 1024u
#define MAX_TRIES 5 /* RFC 7252 MAX_RETRANSMIT 4 */
#define ACK_TIMEOUT 2.0 /* RFC 7252 ACK_TIMEOUT, seconds... */
#define ACK_RANDOM_FACTOR 1.5 /* ...times a random factor in [1, 1.5], so that devices that lost
                               * datagrams in the same burst do not all send again together */
#define TP_SOCKETS 64
#define TP_SLOTS 64 /* outstanding requests per throughput socket, at most */

enum { PH_IDLE, PH_REG, PH_REG_DONE, PH_DL, PH_DL_DONE, PH_FAILED };

typedef struct {
    int fd;
    int phase;
    uint16_t mid;
    uint32_t token;
    double sent_at, timeout;
    int tries;
    uint32_t block; /* next Block2 number */
    size_t got;     /* bytes received and checked */
    double t_done;  /* when the phase's transfer ended (monotonic seconds) */
    int max_tries;  /* most transmissions one request of this device needed */
    char reg_id[24]; /* the registration id (Location-Path rd/<id>) of the 2.01 it took */
    uint8_t msg[512];
    size_t msg_len;
} bench_dev;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- CoAP encoding (RFC 7252 section 3) ---- */

static size_t opt_put(uint8_t *p, unsigned *last, unsigned num, const void *val, size_t len)
{
    unsigned delta = num - *last;
    size_t n = 1;
    uint8_t *h = p;
    *last = num;
    *h = 0;
    if (delta < 13) {
        *h |= (uint8_t)(delta << 4);
    } else if (delta < 269) {
        *h |= 13 << 4;
        p[n++] = (uint8_t)(delta - 13);
    } else {
        *h |= 14 << 4;
        p[n++] = (uint8_t)((delta - 269) >> 8);
        p[n++] = (uint8_t)(delta - 269);
    }
    if (len < 13) {
        *h |= (uint8_t)len;
    } else if (len < 269) {
        *h |= 13;
        p[n++] = (uint8_t)(len - 13);
    } else {
        *h |= 14;
        p[n++] = (uint8_t)((len - 269) >> 8);
        p[n++] = (uint8_t)(len - 269);
    }
    memcpy(p + n, val, len);
    return n + len;
}

static size_t uint_bytes(uint32_t v, uint8_t out[4])
{
    size_t n = 0;
    uint8_t t[4];
    while (v) {
        t[n++] = (uint8_t)v;
        v >>= 8;
    }
    for (size_t i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return n;
}

/* A CON request: path segments separated by '/', queries by '&', optional content format
 * (cf >= 0), optional Block2 (block >= 0), optional payload. Returns the length. */
static size_t coap_req(uint8_t *buf, uint8_t code, uint16_t mid, uint32_t token, const char *path,
                       const char *query, int cf, long block, const void *payload, size_t plen)
{
    size_t n = 0;
    unsigned last = 0;
    uint8_t v[4];
    const char *s, *e;
    buf[n++] = 0x40 | 4; /* version 1, CON, token length 4 */
    buf[n++] = code;
    buf[n++] = (uint8_t)(mid >> 8);
    buf[n++] = (uint8_t)mid;
    memcpy(buf + n, &token, 4);
    n += 4;
    for (s = path; s && *s; s = *e ? e + 1 : e) {
        e = strchr(s, '/');
        if (!e)
            e = s + strlen(s);
        n += opt_put(buf + n, &last, COAP_OPTION_URI_PATH, s, (size_t)(e - s));
    }
    if (cf >= 0)
        n += opt_put(buf + n, &last, COAP_OPTION_CONTENT_FORMAT, v, uint_bytes((uint32_t)cf, v));
    for (s = query; s && *s; s = *e ? e + 1 : e) {
        e = strchr(s, '&');
        if (!e)
            e = s + strlen(s);
        n += opt_put(buf + n, &last, COAP_OPTION_URI_QUERY, s, (size_t)(e - s));
    }
    if (block >= 0)
        n += opt_put(buf + n, &last, COAP_OPTION_BLOCK2, v,
                     uint_bytes((uint32_t)block << 4 | BLOCK_SZX, v));
    if (plen) {
        buf[n++] = 0xff;
        memcpy(buf + n, payload, plen);
        n += plen;
    }
    return n;
}

/* ---- the service process ---- */

static int free_port(int type)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int fd = socket(AF_INET, type, 0), port = -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static void pin_to_cpu(int cpu)
{
    cpu_set_t set;
    if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
        return;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

/* One HTTP/1.1 request over loopback; the response (headers + body) in resp. Returns the
 * status code or -1. */
static int http(int port, const char *method, const char *path, const char *token,
                const void *body, size_t blen, char *resp, size_t cap)
{
    struct sockaddr_in a;
    char head[512];
    size_t got = 0;
    ssize_t r;
    int fd = socket(AF_INET, SOCK_STREAM, 0), code = -1, hl;
    if (fd < 0)
        return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    hl = snprintf(head, sizeof head,
                  "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s"
                  "Content-Length: %zu\r\n\r\n",
                  method, path, token ? "Authorization: Bearer " : "", token ? token : "",
                  token ? "\r\n" : "", blen);
    if (write(fd, head, (size_t)hl) != hl || (blen && write(fd, body, blen) != (ssize_t)blen)) {
        close(fd);
        return -1;
    }
    while (got + 1 < cap && (r = read(fd, resp + got, cap - 1 - got)) > 0)
        got += (size_t)r;
    resp[got] = '\0';
    close(fd);
    if (sscanf(resp, "HTTP/1.%*d %d", &code) != 1)
        return -1;
    return code;
}

static long vm_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    long v = -1;
    size_t kl = strlen(key);
    FILE *f;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':')
            v = strtol(line + kl + 1, NULL, 10);
    fclose(f);
    return v;
}

/* CPU time (user + system) the process has used, seconds: the figure that does not depend on
 * what else the machine runs. */
static double cpu_s(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long ut = 0, st = 0;
    FILE *f;
    size_t n;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    f = fopen(path, "r");
    if (!f)
        return -1;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ---- the device loop ---- */

typedef struct {
    bench_dev *devs;
    int n;
    int ep;
    coap_pdu_t *pdu;
    const uint8_t *art;
    size_t art_len;
    char art_path[80];
    struct sockaddr_in srv;
    long retransmits, bad;
    double last_answer, stall; /* the longest time without any answer in a phase, seconds */
    double stall_end;          /* when it ended */
} bench;

static void dev_send(bench *b, bench_dev *d)
{
    if (sendto(d->fd, d->msg, d->msg_len, 0, (struct sockaddr *)&b->srv, sizeof b->srv) < 0 &&
        errno != EAGAIN)
        b->bad++;
    d->sent_at = now_s();
}

static void dev_request(bench *b, bench_dev *d, double timeout, uint8_t code, const char *path,
                        const char *query, int cf, long block, const void *pl, size_t plen)
{
    d->mid++;
    d->token++;
    d->msg_len = coap_req(d->msg, code, d->mid, d->token, path, query, cf, block, pl, plen);
    d->tries = 1;
    d->timeout = timeout * (1.0 + (ACK_RANDOM_FACTOR - 1.0) * (double)rand() / RAND_MAX);
    dev_send(b, d);
}

static void dev_get_block(bench *b, bench_dev *d)
{
    dev_request(b, d, ACK_TIMEOUT, COAP_REQUEST_CODE_GET, b->art_path, NULL, -1, (long)d->block, NULL, 0);
}

/* libcoap's parser on a fresh PDU (coap_pdu_clear is not public): b->pdu or NULL. */
static coap_pdu_t *parse(bench *b, const uint8_t *buf, size_t n)
{
    if (b->pdu)
        coap_delete_pdu(b->pdu);
    b->pdu = coap_pdu_init(0, 0, 0, 1500);
    if (!b->pdu || !coap_pdu_parse(COAP_PROTO_UDP, buf, n, b->pdu))
        return NULL;
    return b->pdu;
}

/* Parses one datagram for device d; returns the pdu or NULL when it is not the answer to the
 * outstanding request. Answers a separate (CON) response with an empty ACK. */
static coap_pdu_t *dev_parse(bench *b, bench_dev *d, const uint8_t *buf, size_t n)
{
    coap_bin_const_t tok;
    if (!parse(b, buf, n)) {
        b->bad++;
        return NULL;
    }
    if (coap_pdu_get_type(b->pdu) == COAP_MESSAGE_CON) {
        uint8_t ack[4] = {0x60, 0, buf[2], buf[3]};
        (void)!sendto(d->fd, ack, 4, 0, (struct sockaddr *)&b->srv, sizeof b->srv);
    }
    tok = coap_pdu_get_token(b->pdu);
    if (tok.length != 4 || memcmp(tok.s, &d->token, 4) != 0)
        return NULL; /* an empty ACK, or the late answer to a request sent again */
    return b->pdu;
}

static void dev_on_datagram(bench *b, bench_dev *d, const uint8_t *buf, size_t n)
{
    coap_pdu_t *p;
    coap_opt_iterator_t it;
    coap_opt_t *o;
    size_t len;
    const uint8_t *data;
    if (d->phase != PH_REG && d->phase != PH_DL)
        return;
    p = dev_parse(b, d, buf, n);
    if (!p)
        return;
    d->t_done = now_s();
    if (d->t_done - b->last_answer > b->stall) {
        b->stall = d->t_done - b->last_answer;
        b->stall_end = d->t_done;
    }
    b->last_answer = d->t_done;
    if (d->phase == PH_REG) {
        d->phase = coap_pdu_get_code(p) == COAP_RESPONSE_CODE_CREATED ? PH_REG_DONE : PH_FAILED;
        coap_option_iterator_init(p, &it, COAP_OPT_ALL);
        while ((o = coap_option_next(&it)) != NULL)
            if (it.number == COAP_OPTION_LOCATION_PATH && coap_opt_length(o) < sizeof d->reg_id) {
                memcpy(d->reg_id, coap_opt_value(o), coap_opt_length(o));
                d->reg_id[coap_opt_length(o)] = '\0'; /* the last segment: the id */
            }
        return;
    }
    if (coap_pdu_get_code(p) != COAP_RESPONSE_CODE_CONTENT ||
        !(o = coap_check_option(p, COAP_OPTION_BLOCK2, &it)) ||
        coap_opt_block_num(o) != d->block || !coap_get_data(p, &len, &data) ||
        d->got + len > b->art_len || memcmp(data, b->art + d->got, len) != 0) {
        d->phase = PH_FAILED;
        return;
    }
    d->got += len;
    if (!COAP_OPT_BLOCK_MORE(o)) {
        d->phase = d->got == b->art_len ? PH_DL_DONE : PH_FAILED;
        return;
    }
    d->block = (uint32_t)(d->got / (1u << (COAP_OPT_BLOCK_SZX(o) + 4)));
    dev_get_block(b, d);
}

/* Runs the loop until no device is in phase `active` or the deadline passes. */
static void run_phase(bench *b, int active, double deadline)
{
    struct epoll_event ev[256];
    uint8_t buf[1600];
    for (;;) {
        int k = epoll_wait(b->ep, ev, 256, 5), busy = 0;
        double t;
        for (int i = 0; i < k; i++) {
            bench_dev *d = &b->devs[ev[i].data.u32];
            ssize_t r;
            while ((r = recv(d->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
                dev_on_datagram(b, d, buf, (size_t)r);
        }
        t = now_s();
        for (int i = 0; i < b->n; i++) {
            bench_dev *d = &b->devs[i];
            if (d->phase != active)
                continue;
            busy++;
            if (t - d->sent_at > d->timeout) {
                if (d->tries >= MAX_TRIES) {
                    d->phase = PH_FAILED;
                    continue;
                }
                d->tries++;
                if (d->tries > d->max_tries)
                    d->max_tries = d->tries;
                d->timeout *= 2;
                b->retransmits++;
                dev_send(b, d);
            }
        }
        if (!busy || t > deadline)
            return;
    }
}

/* Reads (and drops) datagrams until none came for `quiet` seconds or `limit` passed: the
 * answers to requests sent again, which the service still works through after a phase (it
 * handles a duplicate registration again). Returns how long that took, seconds. */
static double drain(bench *b, double quiet, double limit)
{
    double t0 = now_s(), last = t0, t;
    uint8_t buf[1600];
    while ((t = now_s()) - last < quiet && t - t0 < limit) {
        struct epoll_event ev[256];
        int k = epoll_wait(b->ep, ev, 256, 50);
        for (int i = 0; i < k; i++)
            while (recv(b->devs[ev[i].data.u32].fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
                last = now_s();
    }
    return last - t0;
}

/* Phase 3: GET `path` with `outstanding` requests in flight over TP_SOCKETS sockets for
 * `seconds`. Returns responses per second; counts responses other than 2.05 in *errors. */
static double throughput(bench *b, const char *path, int outstanding, double seconds,
                         long *errors, long *lost, double *stall)
{
    double last_answer;
    int per = outstanding / TP_SOCKETS, ns = TP_SOCKETS;
    static uint32_t tokens[TP_SOCKETS][TP_SLOTS];
    static double sent[TP_SOCKETS][TP_SLOTS];
    uint8_t buf[1600], msg[256];
    long ok = 0;
    double t0, t, end;
    if (per < 1)
        per = 1;
    if (per > TP_SLOTS)
        per = TP_SLOTS;
    if (ns > b->n)
        ns = b->n;
    *errors = *lost = 0;
    t0 = now_s();
    end = t0 + seconds;
    last_answer = t0;
    *stall = 0;
#define TP_SEND(s, j)                                                                        \
    do {                                                                                     \
        bench_dev *d_ = &b->devs[s];                                                         \
        size_t l_;                                                                           \
        d_->mid++;                                                                           \
        d_->token++;                                                                         \
        tokens[s][j] = d_->token;                                                            \
        l_ = coap_req(msg, COAP_REQUEST_CODE_GET, d_->mid, d_->token, path, NULL, -1, -1,    \
                      NULL, 0);                                                              \
        (void)!sendto(d_->fd, msg, l_, 0, (struct sockaddr *)&b->srv, sizeof b->srv);        \
        sent[s][j] = now_s();                                                                \
    } while (0)
    for (int s = 0; s < ns; s++)
        for (int j = 0; j < per; j++)
            TP_SEND(s, j);
    while ((t = now_s()) < end) {
        struct epoll_event ev[256];
        int k = epoll_wait(b->ep, ev, 256, 5);
        for (int i = 0; i < k; i++) {
            int s = (int)ev[i].data.u32;
            ssize_t r;
            if (s >= ns)
                continue;
            while ((r = recv(b->devs[s].fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
                coap_bin_const_t tok;
                if (!parse(b, buf, (size_t)r))
                    continue;
                tok = coap_pdu_get_token(b->pdu);
                if (tok.length != 4)
                    continue;
                for (int j = 0; j < per; j++) {
                    if (memcmp(tok.s, &tokens[s][j], 4) == 0) {
                        double ta = now_s();
                        if (ta - last_answer > *stall)
                            *stall = ta - last_answer;
                        last_answer = ta;
                        if (coap_pdu_get_code(b->pdu) == COAP_RESPONSE_CODE_CONTENT)
                            ok++;
                        else
                            (*errors)++;
                        if (now_s() < end)
                            TP_SEND(s, j);
                        break;
                    }
                }
            }
        }
        for (int s = 0; s < ns; s++) /* a request lost for a second is replaced */
            for (int j = 0; j < per; j++)
                if (t - sent[s][j] > 1.0) {
                    (*lost)++;
                    TP_SEND(s, j);
                }
    }
#undef TP_SEND
    return (double)ok / (now_s() - t0);
}

/* ---- phase 4: the same GET over DTLS with a pre-shared key, through libcoap's client ---- */

#define DTLS_SESSIONS 32
#define DTLS_PER_SESSION 8 /* NON requests in flight per session (NSTART limits CON to 1) */

typedef struct {
    coap_session_t *s;
    int outstanding;
    double last; /* last answer or top-up */
} dtls_sess;

typedef struct {
    long ok, errors;
} dtls_count;

static coap_response_t dtls_on_response(coap_session_t *session, const coap_pdu_t *sent,
                                        const coap_pdu_t *received, const coap_mid_t mid)
{
    dtls_sess *d = coap_session_get_app_data(session);
    dtls_count *c = coap_get_app_data(coap_session_get_context(session));
    (void)sent;
    (void)mid;
    if (coap_pdu_get_code(received) == COAP_RESPONSE_CODE_CONTENT)
        c->ok++;
    else
        c->errors++;
    if (d) {
        if (d->outstanding > 0)
            d->outstanding--;
        d->last = now_s();
    }
    return COAP_RESPONSE_OK;
}

static void dtls_get(dtls_sess *d, const char *path)
{
    coap_pdu_t *p = coap_new_pdu(COAP_MESSAGE_NON, COAP_REQUEST_CODE_GET, d->s);
    uint8_t tok[8];
    size_t tl;
    if (!p)
        return;
    coap_session_new_token(d->s, &tl, tok);
    coap_add_token(p, tl, tok);
    for (const char *a = path, *e; *a; a = *e ? e + 1 : e) {
        e = strchr(a, '/');
        if (!e)
            e = a + strlen(a);
        coap_add_option(p, COAP_OPTION_URI_PATH, (size_t)(e - a), (const uint8_t *)a);
    }
    if (coap_send(d->s, p) != COAP_INVALID_MID)
        d->outstanding++;
}

/* Requests per second over `seconds` after every session's handshake; -1 if the handshakes
 * did not complete. *handshake: seconds the DTLS_SESSIONS handshakes took. */
static double dtls_throughput(int port, const char *identity, const char *key, double seconds,
                              long *errors, long *lost, double *handshake)
{
    coap_context_t *ctx = coap_new_context(NULL);
    coap_address_t dst;
    dtls_sess ss[DTLS_SESSIONS];
    dtls_count c = {0, 0};
    double t0, end, rate = -1;
    int up = 0;
    *errors = *lost = 0;
    *handshake = -1;
    if (!ctx)
        return -1;
    coap_set_app_data(ctx, &c);
    coap_register_response_handler(ctx, dtls_on_response);
    coap_address_init(&dst);
    dst.addr.sin.sin_family = AF_INET;
    dst.addr.sin.sin_port = htons((uint16_t)port);
    dst.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.size = sizeof dst.addr.sin;
    memset(ss, 0, sizeof ss);
    t0 = now_s();
    for (int i = 0; i < DTLS_SESSIONS; i++) {
        coap_dtls_cpsk_t psk;
        memset(&psk, 0, sizeof psk);
        psk.version = COAP_DTLS_CPSK_SETUP_VERSION;
        psk.psk_info.identity.s = (const uint8_t *)identity;
        psk.psk_info.identity.length = strlen(identity);
        psk.psk_info.key.s = (const uint8_t *)key;
        psk.psk_info.key.length = strlen(key);
        ss[i].s = coap_new_client_session_psk2(ctx, NULL, &dst, COAP_PROTO_DTLS, &psk);
        if (!ss[i].s)
            goto out;
        coap_session_set_app_data(ss[i].s, &ss[i]);
        dtls_get(&ss[i], ".well-known"); /* starts the handshake; answered with 4.04 */
    }
    while (up < DTLS_SESSIONS && now_s() - t0 < 30) {
        coap_io_process(ctx, 10);
        up = 0;
        for (int i = 0; i < DTLS_SESSIONS; i++)
            up += coap_session_get_state(ss[i].s) == COAP_SESSION_STATE_ESTABLISHED;
    }
    if (up < DTLS_SESSIONS)
        goto out;
    *handshake = now_s() - t0;
    while (now_s() - t0 < 31 && c.ok + c.errors < DTLS_SESSIONS)
        coap_io_process(ctx, 10); /* the first answers */
    c.ok = c.errors = 0;
    t0 = now_s();
    end = t0 + seconds;
    for (int i = 0; i < DTLS_SESSIONS; i++) {
        ss[i].outstanding = 0;
        ss[i].last = t0;
    }
    while (now_s() < end) {
        double t;
        coap_io_process(ctx, COAP_IO_NO_WAIT);
        t = now_s();
        for (int i = 0; i < DTLS_SESSIONS; i++) {
            if (ss[i].outstanding && t - ss[i].last > 1.0) { /* NON requests lost */
                *lost += ss[i].outstanding;
                ss[i].outstanding = 0;
            }
            while (ss[i].outstanding < DTLS_PER_SESSION && t < end) {
                int before = ss[i].outstanding;
                dtls_get(&ss[i], ".well-known/core");
                if (ss[i].outstanding == before)
                    break;
                ss[i].last = t;
            }
        }
    }
    rate = (double)c.ok / (now_s() - t0);
    *errors = c.errors;
out:
    coap_free_context(ctx);
    return rate;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Per-device completion times of a phase (since t0): median, 99th percentile, last; and how
 * many devices needed retransmissions, the most transmissions of one request. */
static void print_tail(const bench *b, const char *what, double t0)
{
    printf("%s: longest time without any answer: %.0f ms, ending %.2f s into the phase\n", what,
           b->stall * 1e3, b->stall_end - t0);
    double *t = malloc(sizeof *t * (size_t)b->n);
    int n = 0, retried = 0, worst = 1;
    if (!t)
        return;
    for (int i = 0; i < b->n; i++) {
        if (b->devs[i].t_done > 0)
            t[n++] = b->devs[i].t_done - t0;
        retried += b->devs[i].max_tries > 1;
        if (b->devs[i].max_tries > worst)
            worst = b->devs[i].max_tries;
    }
    if (n) {
        qsort(t, (size_t)n, sizeof *t, cmp_double);
        printf("%s: per device done after: median %.2f s, p99 %.2f s, last %.2f s; %d devices "
               "needed retransmissions, at most %d transmissions of one request\n",
               what, t[n / 2], t[(n * 99) / 100 < n ? (n * 99) / 100 : n - 1], t[n - 1],
               retried, worst);
    }
    free(t);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_coap [--devices N] [--size BYTES] [--seconds S] "
                    "[--outstanding K] [--tmlaas PATH] [--pin] [--keep]\n");
}

int main(int argc, char **argv)
{
    int ndev = 1000, outstanding = 256, http_port, coap_port, coaps_port, rc = 1;
    size_t size = 100 * 1024;
    double seconds = 5, t0, t1, t_reg, t_dl;
    const char *tmlaas = getenv("TMLAAS");
    char tmlaas_def[4096], dir[] = "/tmp/bench_coap_XXXXXX", path[4200], token[80] = "";
    char resp[4096], sha[TML_SHA_HEX], small_sha[TML_SHA_HEX], q[160];
    bool keep = false, pin = false;
    uint8_t *art = NULL, small[64];
    pid_t pid = -1;
    bench b;
    long hwm_start, hwm_reg, hwm_dl, hwm_tp, errors, lost;
    int reg_ok = 0, dl_ok = 0, failed = 0;
    double tp_wk, tp_small, stall, c0, c_reg, c_dl, c_wk, c_small;
    FILE *f;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--keep") || !strcmp(a, "--pin")) {
            keep = keep || !strcmp(a, "--keep");
            pin = pin || !strcmp(a, "--pin");
            continue;
        }
        if (!v) {
            usage();
            return 2;
        }
        i++;
        if (!strcmp(a, "--devices"))
            ndev = atoi(v);
        else if (!strcmp(a, "--size"))
            size = (size_t)atol(v);
        else if (!strcmp(a, "--seconds"))
            seconds = atof(v);
        else if (!strcmp(a, "--outstanding"))
            outstanding = atoi(v);
        else if (!strcmp(a, "--tmlaas"))
            tmlaas = v;
        else {
            usage();
            return 2;
        }
    }
    if (ndev < 1 || ndev > 20000 || size < 2 || size > 16u << 20 || seconds <= 0 ||
        seconds > 60 || outstanding < 1) {
        usage();
        return 2;
    }
    if (!tmlaas) {
        snprintf(tmlaas_def, sizeof tmlaas_def, "%s/tmlaas", TML_BINARY_DIR);
        tmlaas = tmlaas_def;
    }
    signal(SIGPIPE, SIG_IGN);
    coap_startup();
    coap_set_log_level(LOG_EMERG);
    memset(&b, 0, sizeof b);
    b.ep = -1;

    /* ---- start the service, pinned to CPU 0 ---- */
    if (!mkdtemp(dir)) {
        perror("bench_coap: mkdtemp");
        return 1;
    }
    http_port = free_port(SOCK_STREAM);
    coap_port = free_port(SOCK_DGRAM);
    do
        coaps_port = free_port(SOCK_DGRAM);
    while (coaps_port == coap_port);
    pid = fork();
    if (pid == 0) {
        char hp[16], cp[16], csp[16], log[4200];
        int fd;
        snprintf(hp, sizeof hp, "%d", http_port);
        snprintf(cp, sizeof cp, "%d", coap_port);
        snprintf(csp, sizeof csp, "%d", coaps_port);
        snprintf(log, sizeof log, "%s/serve.log", dir);
        fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        if (pin)
            pin_to_cpu(0);
        execl(tmlaas, "tmlaas", "serve", "--data-dir", dir, "--http-port", hp, "--coap-port", cp,
              "--coaps-port", csp, "--coap-bind", "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    if (pin)
        pin_to_cpu(1);
    for (int i = 0; i < 200 && http(http_port, "GET", "/api/health", NULL, NULL, 0, resp,
                                     sizeof resp) != 200;
         i++)
        usleep(50000);
    snprintf(path, sizeof path, "%s/admin.token", dir);
    if ((f = fopen(path, "r")) != NULL) {
        if (!fgets(token, sizeof token, f))
            token[0] = '\0';
        token[strcspn(token, "\r\n")] = '\0';
        fclose(f);
    }
    if (!token[0]) {
        fprintf(stderr, "bench_coap: the service ('%s') did not start; see %s/serve.log\n",
                tmlaas, dir);
        keep = true;
        goto out;
    }

    /* ---- the artifacts: 100 KB (sniffed as ONNX: a protobuf field tag first) + 64 B ---- */
    art = malloc(size);
    if (!art)
        goto out;
    srand(1);
    for (size_t i = 0; i < size; i++)
        art[i] = (uint8_t)(rand() >> 7);
    art[0] = 0x08;
    art[1] = 0x07;
    memcpy(small, art, sizeof small);
    small[2] ^= 1;
    tml_sha256_hex(art, size, sha);
    tml_sha256_hex(small, sizeof small, small_sha);
    if (http(http_port, "POST", "/api/models?name=bench_artifact", token, art, size, resp,
             sizeof resp) != 201 ||
        http(http_port, "POST", "/api/models?name=bench_small", token, small, sizeof small, resp,
             sizeof resp) != 201) {
        fprintf(stderr, "bench_coap: upload failed: %s\n", resp);
        goto out;
    }
    snprintf(b.art_path, sizeof b.art_path, "a/%s", sha);
    b.art = art;
    b.art_len = size;

    /* ---- N device sockets ---- */
    b.n = ndev;
    b.devs = calloc((size_t)ndev, sizeof *b.devs);
    b.pdu = coap_pdu_init(0, 0, 0, 1500);
    b.ep = epoll_create1(0);
    if (!b.devs || !b.pdu || b.ep < 0)
        goto out;
    b.srv.sin_family = AF_INET;
    b.srv.sin_port = htons((uint16_t)coap_port);
    b.srv.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < ndev; i++) {
        struct sockaddr_in a;
        struct epoll_event ev;
        bench_dev *d = &b.devs[i];
        d->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (d->fd < 0 || bind(d->fd, (struct sockaddr *)&a, sizeof a) != 0) {
            fprintf(stderr, "bench_coap: socket %d: %s (ulimit -n?)\n", i, strerror(errno));
            goto out;
        }
        ev.events = EPOLLIN;
        ev.data.u32 = (uint32_t)i;
        epoll_ctl(b.ep, EPOLL_CTL_ADD, d->fd, &ev);
        d->mid = (uint16_t)(i * 7919);
        d->max_tries = 1;
        d->token = (uint32_t)i << 20;
    }
    hwm_start = vm_kb(pid, "VmHWM");

    /* ---- 1. registration ---- */
    {
        static const char links[] = "</1/0>,</3/0>,</5/0>,</9>";
        t0 = now_s();
        c0 = cpu_s(pid);
        b.last_answer = t0;
        for (int i = 0; i < ndev; i++) {
            snprintf(q, sizeof q, "ep=bench%05d&lt=600&lwm2m=1.1&b=U", i);
            b.devs[i].phase = PH_REG;
            dev_request(&b, &b.devs[i], ACK_TIMEOUT, COAP_REQUEST_CODE_POST, "rd", q,
                        COAP_MEDIATYPE_APPLICATION_LINK_FORMAT, -1, links, sizeof links - 1);
        }
        run_phase(&b, PH_REG, t0 + 120);
        t1 = now_s();
        t_reg = t1 - t0;
        c_reg = cpu_s(pid) - c0;
        for (int i = 0; i < ndev; i++)
            reg_ok += b.devs[i].phase == PH_REG_DONE;
    }
    hwm_reg = vm_kb(pid, "VmHWM");
    print_tail(&b, "registration", t0);
    printf("registration: %d devices, %d registered (2.01) in %.2f s: %.0f registrations/s; "
           "service CPU %.2f s (%.0f registrations per CPU-second); %ld datagrams sent again\n",
           ndev, reg_ok, t_reg, reg_ok / t_reg, c_reg, reg_ok / c_reg, b.retransmits);
    if (http(http_port, "GET", "/api/health", NULL, NULL, 0, resp, sizeof resp) == 200) {
        char *p = strstr(resp, "\"devices\":");
        if (p)
            printf("registration: the service lists %d devices\n", atoi(p + 10));
    }

    printf("registration: the service answered duplicates (requests sent again) for %.2f s "
           "more\n",
           drain(&b, 1.0, 120));

    /* the registration id each device took from its 2.01 is the one the service keeps? A
     * duplicate handled as a new registration replaces it, and the device's next update would
     * get 4.04. */
    {
        static char big[4 << 20];
        int stale = 0, checked = 0;
        cJSON *j = NULL, *arr, *it;
        if (http(http_port, "GET", "/api/devices", NULL, NULL, 0, big, sizeof big) == 200 &&
            (j = cJSON_Parse(strstr(big, "\r\n\r\n") ? strstr(big, "\r\n\r\n") + 4 : big)) &&
            (arr = cJSON_GetObjectItem(j, "devices")) != NULL) {
            cJSON_ArrayForEach(it, arr)
            {
                const char *ep = cJSON_GetStringValue(cJSON_GetObjectItem(it, "endpoint"));
                const char *reg = cJSON_GetStringValue(cJSON_GetObjectItem(it, "registration"));
                int k;
                if (!ep || !reg || sscanf(ep, "bench%d", &k) != 1 || k < 0 || k >= ndev)
                    continue;
                checked++;
                stale += strcmp(b.devs[k].reg_id, reg) != 0;
            }
            printf("registration: %d of %d devices hold a registration id the service has "
                   "replaced (a duplicate handled as a new registration)\n",
                   stale, checked);
        }
        cJSON_Delete(j);
    }

    /* ---- 2. every registered device downloads the artifact, all at once ---- */
    b.retransmits = 0;
    for (int i = 0; i < ndev; i++) {
        b.devs[i].t_done = 0;
        b.devs[i].max_tries = 1;
    }
    t0 = now_s();
    b.last_answer = t0;
    b.stall = 0;
    c0 = cpu_s(pid);
    for (int i = 0; i < ndev; i++) {
        bench_dev *d = &b.devs[i];
        if (d->phase != PH_REG_DONE)
            continue;
        d->phase = PH_DL;
        d->block = 0;
        d->got = 0;
        dev_get_block(&b, d);
    }
    run_phase(&b, PH_DL, t0 + 300);
    t_dl = now_s() - t0;
    c_dl = cpu_s(pid) - c0;
    for (int i = 0; i < ndev; i++) {
        dl_ok += b.devs[i].phase == PH_DL_DONE;
        failed += b.devs[i].phase != PH_DL_DONE;
    }
    hwm_dl = vm_kb(pid, "VmHWM");
    print_tail(&b, "download", t0);
    printf("download: %d devices x %zu bytes in %zu-byte blocks: %d completed (byte-identical), "
           "%d lost, in %.2f s (%.1f MB/s, %.0f blocks/s); service CPU %.2f s (%.0f blocks per "
           "CPU-second); %ld datagrams sent again\n",
           reg_ok, size, (size_t)BLOCK_BYTES, dl_ok, failed, t_dl,
           (double)dl_ok * (double)size / t_dl / 1e6,
           (double)dl_ok * (double)((size + BLOCK_BYTES - 1) / BLOCK_BYTES) / t_dl, c_dl,
           (double)dl_ok * (double)((size + BLOCK_BYTES - 1) / BLOCK_BYTES) / c_dl, b.retransmits);

    drain(&b, 1.0, 60);

    /* ---- 3. request throughput, many outstanding ---- */
    c0 = cpu_s(pid);
    tp_wk = throughput(&b, ".well-known/core", outstanding, seconds, &errors, &lost, &stall);
    c_wk = cpu_s(pid) - c0;
    printf("throughput: GET /.well-known/core, %d outstanding: %.0f requests/s; service CPU "
           "%.2f s in %.1f s (%.0f requests per CPU-second); %ld errors, %ld lost; longest gap "
           "between answers %.0f ms\n",
           outstanding, tp_wk, c_wk, seconds, tp_wk * seconds / c_wk, errors, lost, stall * 1e3);
    snprintf(q, sizeof q, "a/%s", small_sha);
    c0 = cpu_s(pid);
    tp_small = throughput(&b, q, outstanding, seconds, &errors, &lost, &stall);
    c_small = cpu_s(pid) - c0;
    printf("throughput: GET /a/<sha256> (64-byte artifact, read and hashed per request), %d "
           "outstanding: %.0f requests/s; service CPU %.2f s in %.1f s (%.0f requests per "
           "CPU-second); %ld errors, %ld lost; longest gap between answers %.0f ms\n",
           outstanding, tp_small, c_small, seconds, tp_small * seconds / c_small, errors, lost,
           stall * 1e3);
    {
        static const char id[] = "bench-dtls", key[] = "bench-secret-key";
        char body[128], hex[64];
        double hs, tp_dtls, c_dtls;
        for (size_t i = 0; i < sizeof key - 1; i++)
            snprintf(hex + 2 * i, 3, "%02x", (unsigned char)key[i]);
        snprintf(body, sizeof body, "{\"key\":\"%s\"}", hex);
        if (http(http_port, "PUT", "/api/psks/bench-dtls", token, body, strlen(body), resp,
                 sizeof resp) != 201) {
            printf("throughput over DTLS: could not set a PSK: %s\n", resp);
        } else {
            c0 = cpu_s(pid);
            tp_dtls = dtls_throughput(coaps_port, id, key, seconds, &errors, &lost, &hs);
            c_dtls = cpu_s(pid) - c0;
            if (tp_dtls < 0)
                printf("throughput over DTLS: the handshakes did not complete\n");
            else
                printf("throughput over DTLS (PSK, libcoap + OpenSSL): GET /.well-known/core, %d "
                       "sessions x %d NON outstanding: %.0f requests/s; %d handshakes in %.2f s; "
                       "service CPU %.2f s for handshakes + %.1f s of requests (%.0f requests "
                       "per CPU-second, handshakes included); %ld errors, %ld lost\n",
                       DTLS_SESSIONS, DTLS_PER_SESSION, tp_dtls, DTLS_SESSIONS, hs, c_dtls,
                       seconds, tp_dtls * seconds / c_dtls, errors, lost);
        }
    }
    hwm_tp = vm_kb(pid, "VmHWM");
    {
        struct timespec ts;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
        printf("bench process CPU: %.2f s\n", (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9);
    }
    printf("service memory: VmHWM %ld kB at start, %ld kB after registration, %ld kB after "
           "downloads, %ld kB after throughput; VmRSS now %ld kB\n",
           hwm_start, hwm_reg, hwm_dl, hwm_tp, vm_kb(pid, "VmRSS"));
    rc = reg_ok == ndev && dl_ok == ndev ? 0 : 1;

out:
    if (pid > 0) {
        int st;
        kill(pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(pid, &st, WNOHANG) == 0; i++)
            usleep(50000);
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
    }
    if (b.devs)
        for (int i = 0; i < b.n; i++)
            if (b.devs[i].fd > 0)
                close(b.devs[i].fd);
    free(b.devs);
    if (b.pdu)
        coap_delete_pdu(b.pdu);
    if (b.ep >= 0)
        close(b.ep);
    free(art);
    if (keep) {
        fprintf(stderr, "bench_coap: data dir kept in %s\n", dir);
    } else {
        snprintf(path, sizeof path, "rm -rf '%s'", dir);
        if (system(path) != 0)
            fprintf(stderr, "bench_coap: could not remove %s\n", dir);
    }
    coap_cleanup();
    return rc;
}
