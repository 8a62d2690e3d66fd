/*
 * web.c - the page's side of `tmlaas serve`: the embedded static files and /api/infer.
 *
 * Static files: web/ is turned into a C table at build time (scripts/embed_web.cmake), looked
 * up here by exact path, so no URL can name anything outside that table (no file system, no
 * traversal). Every file is sent with its content type, nosniff and a Content-Security-Policy
 * that allows only the service's own origin: the page never loads anything from elsewhere.
 *
 * /api/infer: the HTTP thread (libmicrohttpd) may not touch the CoAP context, which belongs to
 * the main thread's io loop. So the request goes through a one-slot mailbox: the HTTP thread
 * copies the tensor in and waits on a condition variable; tml_web_infer_tick(), called from
 * the io loop, sends CoAP POST /infer on the session the device last registered on (the
 * socket the device talks to, so it works behind NAT and needs no port of the device), with
 * libcoap's block-wise transfer for tensors larger than one datagram; the response (or the
 * NACK) fills the slot and wakes the HTTP thread. One inference at a time is plenty for a page
 * (libmicrohttpd serves requests one at a time here anyway); a second one gets 503.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lwm2m/lwm2m.h"
#include "service/service_int.h"
#include "service/web.h"

#define INFER_TIMEOUT_S 10
#define INFER_RESP_MAX  4096

enum { SLOT_IDLE, SLOT_QUEUED, SLOT_SENT, SLOT_DONE };

/* The mailbox. Host-side process state (one service per process); guarded by mu. */
static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    const struct tml_service *svc;
    char endpoint[TML_NAME_MAX];
    unsigned char *payload; /* malloc'd copy; handed to libcoap when sent */
    size_t len;
    coap_session_t *session; /* the session it went out on (not referenced: compared only) */
    uint8_t token[8];
    size_t token_len;
    int code; /* CoAP response code as class*100+detail; 0 = no answer */
    char resp[INFER_RESP_MAX];
    size_t resp_len;
    char why[160]; /* why it was not sent */
} box = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER, .state = SLOT_IDLE};

/* ---- responses ---- */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, const char *type,
                                 char *txt)
{
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (!txt)
        return MHD_NO;
    r = MHD_create_response_from_buffer(strlen(txt), txt, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(txt);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_obj(struct MHD_Connection *c, unsigned status, cJSON *o)
{
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return send_text(c, status, "application/json", txt);
}

static enum MHD_Result send_err(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static enum MHD_Result send_err(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    cJSON *o = cJSON_CreateObject();
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(o, "error", msg);
    return send_obj(c, status, o);
}

/* ---- static files ---- */

const tml_web_file *tml_web_find(const char *url)
{
    const tml_web_file *f;
    if (!url || strcmp(url, "/") == 0)
        url = "/index.html";
    for (f = tml_web_files; f->path; f++)
        if (strcmp(f->path, url) == 0)
            return f;
    return NULL;
}

enum MHD_Result tml_web_static(struct MHD_Connection *c, const char *url)
{
    const tml_web_file *f = tml_web_find(url);
    struct MHD_Response *r;
    enum MHD_Result ret;
    if (!f) {
        char *msg = malloc(300);
        if (msg)
            snprintf(msg, 300, "no such page '%.200s'\n", url);
        return send_text(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", msg);
    }
    r = MHD_create_response_from_buffer(f->size, (void *)f->data, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, f->content_type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Security-Policy",
                            "default-src 'self'; img-src 'self' data:; "
                            "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
    /* the page is a few tens of KiB and changes with the binary: always revalidate */
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- /api/infer: HTTP side ---- */

/* Wakes the CoAP loop (it sleeps up to a second in coap_io_process) with an empty datagram to
 * its own plain-CoAP socket, which libcoap reads and drops; without it the request would wait
 * for the loop's next turn. Best effort: DTLS-only services just wait for that turn. */
static void wake_coap_loop(const struct tml_service *svc)
{
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    int fd;
    if (!svc->coap_plain || svc->coap_bound_port <= 0)
        return;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (strchr(svc->coap_bind, ':')) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)svc->coap_bound_port);
        if (strcmp(svc->coap_bind, "::") == 0 ||
            inet_pton(AF_INET6, svc->coap_bind, &a6.sin6_addr) != 1)
            a6.sin6_addr = in6addr_loopback;
        fd = socket(AF_INET6, SOCK_DGRAM, 0);
        if (fd >= 0) {
            (void)sendto(fd, "", 0, 0, (struct sockaddr *)&a6, sizeof a6);
            close(fd);
        }
        return;
    }
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)svc->coap_bound_port);
    if (strcmp(svc->coap_bind, "0.0.0.0") == 0 ||
        inet_pton(AF_INET, svc->coap_bind, &a4.sin_addr) != 1)
        a4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd >= 0) {
        (void)sendto(fd, "", 0, 0, (struct sockaddr *)&a4, sizeof a4);
        close(fd);
    }
}

enum MHD_Result tml_web_infer(struct MHD_Connection *c, struct tml_service *svc,
                              const unsigned char *body, size_t len)
{
    const char *ep = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "device");
    struct timespec t0, t1, until;
    unsigned char *copy;
    int state, code, err = 0;
    char resp[INFER_RESP_MAX + 1], why[160];
    size_t rlen;
    cJSON *o;
    double ms;

    if (!ep || !*ep)
        return send_err(c, MHD_HTTP_BAD_REQUEST, "infer: query parameter 'device' is required");
    if (!tml_lwm2m_endpoint_valid(ep))
        return send_err(c, MHD_HTTP_BAD_REQUEST, "infer: device '%.64s': not a valid endpoint", ep);
    if (len == 0)
        return send_err(c, MHD_HTTP_BAD_REQUEST,
                        "infer: device '%s': empty body (send the input tensor's bytes)", ep);
    /* an unknown or offline device is answered at once, without waiting for a timeout */
    {
        tml_device d;
        tml_status st = tml_store_device_get(svc->store, ep, &d);
        bool online;
        if (st == TML_ERR_NOT_FOUND)
            return send_err(c, MHD_HTTP_NOT_FOUND, "infer: device '%s': unknown", ep);
        if (st != TML_OK)
            return send_err(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "infer: %s",
                            tml_store_error(svc->store));
        online = d.online;
        tml_device_clear(&d);
        if (!online)
            return send_err(c, MHD_HTTP_CONFLICT, "infer: device '%s' is offline", ep);
    }
    copy = malloc(len);
    if (!copy)
        return send_err(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "infer: out of memory");
    memcpy(copy, body, len);

    clock_gettime(CLOCK_MONOTONIC, &t0);
    pthread_mutex_lock(&box.mu);
    if (box.state != SLOT_IDLE) {
        pthread_mutex_unlock(&box.mu);
        free(copy);
        return send_err(c, MHD_HTTP_SERVICE_UNAVAILABLE, "infer: another inference is running");
    }
    box.svc = svc;
    snprintf(box.endpoint, sizeof box.endpoint, "%s", ep);
    box.payload = copy;
    box.len = len;
    box.session = NULL;
    box.token_len = 0;
    box.code = 0;
    box.resp_len = 0;
    box.why[0] = 0;
    box.state = SLOT_QUEUED;
    wake_coap_loop(svc);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += INFER_TIMEOUT_S;
    while (box.state != SLOT_DONE && err != ETIMEDOUT)
        err = pthread_cond_timedwait(&box.cv, &box.mu, &until);
    state = box.state;
    code = box.code;
    rlen = box.resp_len;
    memcpy(resp, box.resp, rlen);
    resp[rlen] = 0;
    snprintf(why, sizeof why, "%s", box.why);
    if (box.state == SLOT_QUEUED) { /* never sent: the payload is still ours */
        free(box.payload);
    }
    box.payload = NULL;
    box.state = SLOT_IDLE; /* a late answer no longer matches anything */
    box.token_len = 0;
    box.session = NULL;
    pthread_mutex_unlock(&box.mu);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;

    if (state != SLOT_DONE)
        return send_err(c, MHD_HTTP_GATEWAY_TIMEOUT, "infer: device '%s': no answer within %d s",
                        ep, INFER_TIMEOUT_S);
    if (why[0])
        return send_err(
            c, strncmp(why, "not connected", 13) == 0 ? MHD_HTTP_NOT_FOUND : MHD_HTTP_BAD_GATEWAY,
            "infer: device '%s': %s", ep, why);
    if (code == 0)
        return send_err(c, MHD_HTTP_GATEWAY_TIMEOUT, "infer: device '%s': no answer", ep);
    if (code != 205)
        return send_err(c, MHD_HTTP_BAD_GATEWAY, "infer: device '%s' answered %d.%02d: %.300s", ep,
                        code / 100, code % 100, resp);
    o = cJSON_ParseWithLength(resp, rlen);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return send_err(c, MHD_HTTP_BAD_GATEWAY, "infer: device '%s': answer is not JSON: %.200s",
                        ep, resp);
    }
    cJSON_AddStringToObject(o, "device", ep);
    cJSON_AddNumberToObject(o, "round_trip_ms", ms);
    tml_log("infer: device '%s' answered in %.1f ms", ep, ms);
    return send_obj(c, MHD_HTTP_OK, o);
}

/* ---- /api/infer: CoAP loop side ---- */

static void release_payload(coap_session_t *s, void *p)
{
    (void)s;
    free(p);
}

/* Finishes the slot (mutex held) and wakes the HTTP thread. */
static void slot_done(int code, const uint8_t *data, size_t len)
{
    box.code = code;
    if (len > INFER_RESP_MAX)
        len = INFER_RESP_MAX;
    if (data && len)
        memcpy(box.resp, data, len);
    box.resp_len = data ? len : 0;
    box.state = SLOT_DONE;
    pthread_cond_broadcast(&box.cv);
}

void tml_web_infer_tick(struct tml_service *svc)
{
    coap_session_t *s;
    coap_pdu_t *pdu;
    unsigned char cf[4];
    unsigned char *data;
    pthread_mutex_lock(&box.mu);
    if (box.state != SLOT_QUEUED || box.svc != svc) {
        pthread_mutex_unlock(&box.mu);
        return;
    }
    s = tml_coap_session_of(svc, box.endpoint);
    if (!s) {
        snprintf(box.why, sizeof box.why,
                 "not connected (it has not registered since the service started)");
        free(box.payload);
        box.payload = NULL;
        slot_done(0, NULL, 0);
        pthread_mutex_unlock(&box.mu);
        return;
    }
    pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_POST, coap_new_message_id(s),
                        coap_session_max_pdu_size(s));
    if (pdu)
        coap_session_new_token(s, &box.token_len, box.token);
    if (!pdu || !coap_add_token(pdu, box.token_len, box.token) ||
        !coap_add_option(pdu, COAP_OPTION_URI_PATH, 5, (const uint8_t *)"infer") ||
        !coap_add_option(
            pdu, COAP_OPTION_CONTENT_FORMAT,
            coap_encode_var_safe(cf, sizeof cf, COAP_MEDIATYPE_APPLICATION_OCTET_STREAM), cf)) {
        if (pdu)
            coap_delete_pdu(pdu);
        snprintf(box.why, sizeof box.why, "the request could not be built");
        free(box.payload);
        box.payload = NULL;
        slot_done(0, NULL, 0);
        pthread_mutex_unlock(&box.mu);
        return;
    }
    /* from here libcoap owns the payload: it calls release_payload when the transfer is done
     * or has failed, also when this call fails */
    data = box.payload;
    box.payload = NULL;
    if (!coap_add_data_large_request(s, pdu, box.len, data, release_payload, data)) {
        coap_delete_pdu(pdu);
        snprintf(box.why, sizeof box.why, "the request could not be built");
        slot_done(0, NULL, 0);
        pthread_mutex_unlock(&box.mu);
        return;
    }
    box.session = s;
    box.state = SLOT_SENT;
    if (coap_send(s, pdu) == COAP_INVALID_MID) {
        snprintf(box.why, sizeof box.why, "the request could not be sent");
        slot_done(0, NULL, 0);
    }
    pthread_mutex_unlock(&box.mu);
}

static bool slot_matches(struct tml_service *svc, coap_session_t *session, const coap_pdu_t *pdu)
{
    coap_bin_const_t tok = coap_pdu_get_token(pdu);
    if (box.state != SLOT_SENT || box.svc != svc || box.session != session)
        return false;
    return tok.length == box.token_len && memcmp(tok.s, box.token, tok.length) == 0;
}

bool tml_web_infer_response(struct tml_service *svc, coap_session_t *session,
                            const coap_pdu_t *recv)
{
    const uint8_t *data = NULL;
    size_t len = 0, off = 0, total = 0;
    coap_pdu_code_t code;
    bool mine;
    pthread_mutex_lock(&box.mu);
    mine = slot_matches(svc, session, recv);
    if (mine) {
        code = coap_pdu_get_code(recv);
        if (!coap_get_data_large(recv, &len, &data, &off, &total))
            len = 0;
        slot_done((int)COAP_RESPONSE_CLASS(code) * 100 + (int)(code & 0x1f), data, len);
    }
    pthread_mutex_unlock(&box.mu);
    return mine;
}

bool tml_web_infer_nack(struct tml_service *svc, coap_session_t *session, const coap_pdu_t *sent)
{
    bool mine;
    pthread_mutex_lock(&box.mu);
    mine = sent && slot_matches(svc, session, sent);
    if (mine)
        slot_done(0, NULL, 0);
    pthread_mutex_unlock(&box.mu);
    return mine;
}
