/*
 * coap.c - the service's CoAP endpoint (libcoap3): the LwM2M 1.1 registration interface.
 *
 *   POST   /rd?ep=NAME&lt=S&lwm2m=1.1&b=U   payload: link format  -> 2.01, Location-Path rd/<id>
 *   POST   /rd/<id>[?lt=S&b=..]            payload optional      -> 2.04 (registration update)
 *   DELETE /rd/<id>                                              -> 2.02 (de-register)
 *   GET    /a/<sha256>[.sig]                                     -> 2.05 artifact (Block2) or
 *                                                                   its Ed25519 signature
 *
 * "/rd" is an ordinary resource. Registration ids are not resources of their own: libcoap's
 * unknown-resource handler receives every other path, and the handlers look the id up in the
 * store. That keeps the store the only state (a restarted service answers updates for
 * registrations made before the restart without rebuilding anything) and avoids creating and
 * deleting resources from inside handlers.
 *
 * Every request is checked before anything is written: query parameters and the link-format
 * payload go through the bounded parsers in src/lwm2m/; a malformed request gets 4.00 (4.12 for
 * an unsupported LwM2M version, 4.15 for a content format other than link format) with the
 * reason as a diagnostic payload, is logged, and changes nothing. Block-wise transfer
 * (RFC 7959) is libcoap's: COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY hands each handler
 * the reassembled body, so large registration payloads and uploads work unchanged.
 *
 * Lifetime expiry runs from tml_coap_run() once a second: devices whose last registration or
 * update is older than their lifetime are marked offline in one store transaction.
 *
 * The service also talks to devices: tml_coap_request() queues a request (read the node
 * object after a registration; the Firmware Update steps of delivery.c) on the session the
 * device last used, sends it from the io loop after the device's own exchange, and routes the
 * answer (or the lack of one, via the NACK handler) back by token.
 *
 * DTLS with pre-shared keys runs beside plain CoAP (port 5684 by default; --no-plain turns
 * plain CoAP off): libcoap asks psk_for_identity() for the key of a client's identity, which
 * comes from the store; an unknown identity fails the handshake. The PSK identity is the
 * endpoint name: over DTLS a session may only act for the endpoint of its identity, and an
 * endpoint that has a key is refused over plain CoAP (4.03), so a key cannot be bypassed.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <coap3/coap.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lwm2m/lwm2m.h"
#include "service/service_int.h"
#include "service/web.h"

#define LINKS_TEXT_MAX (64 * 1024) /* normalized object links stored per device */

static tml_service *svc_of(coap_session_t *session)
{
    return (tml_service *)coap_get_app_data(coap_session_get_context(session));
}

static void peer_str(coap_session_t *session, char *buf, size_t n)
{
    const coap_address_t *a = coap_session_get_addr_remote(session);
    if (!a || coap_print_addr(a, (unsigned char *)buf, n) == 0)
        snprintf(buf, n, "?");
}

/* Answers with a code and a diagnostic payload (text/plain), and logs the event. */
static void reply(coap_pdu_t *resp, coap_pdu_code_t code, const char *peer, const char *msg)
{
    coap_pdu_set_code(resp, code);
    if (msg && *msg) {
        unsigned char cf[4];
        coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT,
                        coap_encode_var_safe(cf, sizeof cf, COAP_MEDIATYPE_TEXT_PLAIN), cf);
        coap_add_data(resp, strlen(msg), (const uint8_t *)msg);
        tml_log("coap: %s: %d.%02d %s", peer, code >> 5, code & 31, msg);
    }
}

static coap_pdu_code_t code_of(tml_status st)
{
    switch (st) {
    case TML_ERR_UNSUPPORTED: return COAP_RESPONSE_CODE_PRECONDITION_FAILED;
    case TML_ERR_FIT: return COAP_RESPONSE_CODE_REQUEST_TOO_LARGE;
    case TML_ERR_NOT_FOUND: return COAP_RESPONSE_CODE_NOT_FOUND;
    case TML_ERR_FORMAT:
    case TML_ERR_ARG: return COAP_RESPONSE_CODE_BAD_REQUEST;
    default: return COAP_RESPONSE_CODE_INTERNAL_ERROR;
    }
}

/* Content-Format must be absent or application/link-format. */
static bool link_format_ok(const coap_pdu_t *req)
{
    coap_opt_iterator_t oi;
    coap_opt_t *o = coap_check_option(req, COAP_OPTION_CONTENT_FORMAT, &oi);
    if (!o)
        return true;
    return coap_decode_var_bytes(coap_opt_value(o), coap_opt_length(o)) ==
           COAP_MEDIATYPE_APPLICATION_LINK_FORMAT;
}

/* Parses and normalizes the payload into out (malloc'd). *out = NULL for an empty payload. */
static tml_status read_links(const coap_pdu_t *req, char **out, char *err, size_t errsz)
{
    size_t len = 0, off = 0, total = 0, n = 0;
    const uint8_t *data = NULL;
    tml_link *links;
    tml_status st;
    *out = NULL;
    if (!coap_get_data_large(req, &len, &data, &off, &total) || len == 0)
        return TML_OK;
    if (off != 0 || total != len) {
        snprintf(err, errsz, "registration: incomplete block-wise payload");
        return TML_ERR_FORMAT;
    }
    links = malloc(TML_LINKS_MAX * sizeof *links);
    *out = malloc(LINKS_TEXT_MAX);
    if (!links || !*out) {
        free(links);
        free(*out);
        *out = NULL;
        snprintf(err, errsz, "registration: out of memory");
        return TML_ERR_NOMEM;
    }
    st = tml_linkformat_parse((const char *)data, len, links, TML_LINKS_MAX, &n, err, errsz);
    if (st == TML_OK && n == 0) {
        snprintf(err, errsz, "registration: empty object links payload");
        st = TML_ERR_FORMAT;
    }
    if (st == TML_OK)
        st = tml_lwm2m_links_normalize(links, n, *out, LINKS_TEXT_MAX, err, errsz);
    free(links);
    if (st != TML_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static void new_reg_id(char *id, size_t n)
{
    unsigned char raw[6];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(id, n, raw, sizeof raw);
}

int tml_coap_check_register(const coap_pdu_t *req, const coap_string_t *query,
                            tml_lwm2m_reg_params *p, char **links, char *msg, size_t msgsz)
{
    char err[300];
    tml_status st;
    *links = NULL;
    st = tml_lwm2m_parse_query(query ? (const char *)query->s : "", query ? query->length : 0,
                               false, p, msg, msgsz);
    if (st != TML_OK)
        return code_of(st);
    if (!link_format_ok(req)) {
        snprintf(msg, msgsz, "registration '%s': content format must be link format (40)",
                 p->endpoint);
        return COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT;
    }
    st = read_links(req, links, err, sizeof err);
    if (st == TML_OK && !*links) {
        snprintf(err, sizeof err, "registration: empty object links payload");
        st = TML_ERR_FORMAT;
    }
    if (st != TML_OK) {
        snprintf(msg, msgsz, "%s (endpoint '%s')", err, p->endpoint);
        return code_of(st);
    }
    return 0;
}

/* Fills addr with the bind address and port; false if the address does not parse. */
static bool make_addr(const char *bind, int port, coap_address_t *addr)
{
    coap_address_init(addr);
    if (inet_pton(AF_INET, bind, &addr->addr.sin.sin_addr) == 1) {
        addr->addr.sin.sin_family = AF_INET;
        addr->addr.sin.sin_port = htons((uint16_t)port);
        addr->size = sizeof addr->addr.sin;
        return true;
    }
    if (inet_pton(AF_INET6, bind, &addr->addr.sin6.sin6_addr) == 1) {
        addr->addr.sin6.sin6_family = AF_INET6;
        addr->addr.sin6.sin6_port = htons((uint16_t)port);
        addr->size = sizeof addr->addr.sin6;
        return true;
    }
    return false;
}

/* ---- requests from the service to devices ---- */

tml_status tml_coap_request(tml_service *svc, coap_session_t *session, const char *endpoint,
                            int method, const char *path, int accept, int cf, const char *payload,
                            size_t payload_len, tml_reply_fn fn, int64_t tag)
{
    tml_coap_req *r = NULL;
    unsigned i;
    if (strlen(path) >= sizeof r->path || payload_len > sizeof r->payload)
        return TML_ERR_ARG;
    /* a free slot; if none, the oldest one is dropped (its answer will be ignored) */
    for (i = 0; i < TML_REQS_MAX && !r; i++)
        if (svc->reqs[(svc->req_next + i) % TML_REQS_MAX].token_len == 0 &&
            !svc->reqs[(svc->req_next + i) % TML_REQS_MAX].queued)
            r = &svc->reqs[(svc->req_next + i) % TML_REQS_MAX];
    if (!r)
        r = &svc->reqs[svc->req_next % TML_REQS_MAX];
    svc->req_next++;
    if (r->session)
        coap_session_release((coap_session_t *)r->session);
    if (r->fn && (r->queued || r->token_len))
        r->fn(svc, r->endpoint, r->tag, NULL);
    memset(r, 0, sizeof *r);
    r->session = coap_session_reference(session);
    r->queued = true;
    snprintf(r->endpoint, sizeof r->endpoint, "%s", endpoint);
    r->tag = tag;
    r->method = method;
    snprintf(r->path, sizeof r->path, "%s", path);
    r->accept = accept;
    r->cf = cf;
    if (payload_len)
        memcpy(r->payload, payload, payload_len);
    r->payload_len = payload_len;
    r->fn = fn;
    return TML_OK;
}

static coap_pdu_t *build_request(tml_coap_req *r, coap_session_t *s)
{
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, (coap_pdu_code_t)r->method,
                                    coap_new_message_id(s), coap_session_max_pdu_size(s));
    unsigned char buf[4];
    const char *p = r->path;
    bool ok;
    if (!pdu)
        return NULL;
    coap_session_new_token(s, &r->token_len, r->token);
    ok = coap_add_token(pdu, r->token_len, r->token) != 0;
    while (ok && *p) {
        size_t n = strcspn(p, "/");
        ok = coap_add_option(pdu, COAP_OPTION_URI_PATH, n, (const uint8_t *)p) != 0;
        p += n;
        if (*p == '/')
            p++;
    }
    if (ok && r->cf >= 0)
        ok = coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
                             coap_encode_var_safe(buf, sizeof buf, (unsigned)r->cf), buf) != 0;
    if (ok && r->accept >= 0)
        ok = coap_add_option(pdu, COAP_OPTION_ACCEPT,
                             coap_encode_var_safe(buf, sizeof buf, (unsigned)r->accept), buf) != 0;
    if (ok && r->cf >= 0)
        ok = coap_add_data(pdu, r->payload_len, (const uint8_t *)r->payload) != 0;
    if (!ok) {
        coap_delete_pdu(pdu);
        return NULL;
    }
    return pdu;
}

static void send_requests(tml_service *svc)
{
    unsigned i;
    for (i = 0; i < TML_REQS_MAX; i++) {
        tml_coap_req *r = &svc->reqs[i];
        coap_session_t *s = (coap_session_t *)r->session;
        coap_pdu_t *pdu;
        if (!r->queued || !s)
            continue;
        r->queued = false;
        r->session = NULL;
        pdu = build_request(r, s);
        if (!pdu || coap_send(s, pdu) == COAP_INVALID_MID) {
            tml_log("device '%s': cannot send a request to /%s", r->endpoint, r->path);
            r->token_len = 0;
            if (r->fn)
                r->fn(svc, r->endpoint, r->tag, NULL);
        }
        coap_session_release(s);
    }
}

/* The in-flight request whose token matches, or NULL. */
static tml_coap_req *find_req(tml_service *svc, const coap_pdu_t *pdu)
{
    coap_bin_const_t tok = coap_pdu_get_token(pdu);
    unsigned i;
    for (i = 0; i < TML_REQS_MAX; i++) {
        tml_coap_req *r = &svc->reqs[i];
        if (r->token_len && !r->queued && r->token_len == tok.length &&
            memcmp(r->token, tok.s, tok.length) == 0)
            return r;
    }
    return NULL;
}

static coap_response_t on_response(coap_session_t *session, const coap_pdu_t *sent,
                                   const coap_pdu_t *recv, const coap_mid_t mid)
{
    tml_service *svc = svc_of(session);
    tml_coap_req *r = find_req(svc, recv);
    char ep[TML_NAME_MAX];
    tml_reply_fn fn;
    int64_t tag;
    (void)sent;
    (void)mid;
    if (!r) {
        tml_web_infer_response(svc, session, recv); /* the page's /api/infer (web.c) */
        return COAP_RESPONSE_OK; /* not ours (or answered twice): ignore */
    }
    snprintf(ep, sizeof ep, "%s", r->endpoint);
    fn = r->fn;
    tag = r->tag;
    r->token_len = 0;
    if (fn)
        fn(svc, ep, tag, recv);
    return COAP_RESPONSE_OK;
}

static void on_nack(coap_session_t *session, const coap_pdu_t *sent, const coap_nack_reason_t reason,
                    const coap_mid_t mid)
{
    tml_service *svc = svc_of(session);
    tml_coap_req *r = sent ? find_req(svc, sent) : NULL;
    char ep[TML_NAME_MAX];
    tml_reply_fn fn;
    int64_t tag;
    (void)mid;
    if (!r) {
        tml_web_infer_nack(svc, session, sent);
        return;
    }
    tml_log("device '%s': request to /%s failed (%s)", r->endpoint, r->path,
            reason == COAP_NACK_TOO_MANY_RETRIES ? "no answer"
            : reason == COAP_NACK_RST            ? "reset"
                                                 : "not sent");
    snprintf(ep, sizeof ep, "%s", r->endpoint);
    fn = r->fn;
    tag = r->tag;
    r->token_len = 0;
    if (fn)
        fn(svc, ep, tag, NULL);
}

coap_session_t *tml_coap_session_of(tml_service *svc, const char *endpoint)
{
    int i;
    for (i = 0; i < svc->n_sessions; i++)
        if (strcmp(svc->sessions[i].endpoint, endpoint) == 0)
            return (coap_session_t *)svc->sessions[i].session;
    return NULL;
}

/* Remembers (session != NULL) or forgets the session of a device. */
static void remember_session(tml_service *svc, const char *endpoint, coap_session_t *session)
{
    int i;
    for (i = 0; i < svc->n_sessions; i++)
        if (strcmp(svc->sessions[i].endpoint, endpoint) == 0)
            break;
    if (i < svc->n_sessions) {
        if (svc->sessions[i].session == session)
            return;
        coap_session_release((coap_session_t *)svc->sessions[i].session);
        if (!session) {
            svc->sessions[i] = svc->sessions[--svc->n_sessions];
            return;
        }
    } else {
        if (!session)
            return;
        if (svc->n_sessions == svc->cap_sessions) {
            int cap = svc->cap_sessions ? 2 * svc->cap_sessions : 64;
            void *n = realloc(svc->sessions, (size_t)cap * sizeof *svc->sessions);
            if (!n)
                return;
            svc->sessions = n;
            svc->cap_sessions = cap;
        }
        i = svc->n_sessions++;
        snprintf(svc->sessions[i].endpoint, sizeof svc->sessions[i].endpoint, "%s", endpoint);
    }
    svc->sessions[i].session = coap_session_reference(session);
}

/* The answer to a read of /32769/0: store the node info and the current model. */
static void on_node_info(tml_service *svc, const char *ep, int64_t tag, const coap_pdu_t *recv)
{
    char err[300], model[TML_NAME_MAX], sha[TML_SHA_HEX], *json = NULL;
    const uint8_t *data = NULL;
    size_t len = 0, off = 0, total = 0;
    coap_opt_iterator_t oi;
    coap_opt_t *cf;
    coap_pdu_code_t code;
    tml_status st;
    (void)tag;
    if (!recv)
        return;
    code = coap_pdu_get_code(recv);
    if (code != COAP_RESPONSE_CODE_CONTENT) {
        tml_log("device '%s': read of /%d/0 answered %d.%02d", ep, TML_LWM2M_OBJ_NODE, code >> 5,
                code & 31);
        return;
    }
    cf = coap_check_option(recv, COAP_OPTION_CONTENT_FORMAT, &oi);
    if (cf && coap_decode_var_bytes(coap_opt_value(cf), coap_opt_length(cf)) != TML_CF_SENML_JSON) {
        tml_log("device '%s': read of /%d/0: content format %u, expected SenML JSON (110)", ep,
                TML_LWM2M_OBJ_NODE, coap_decode_var_bytes(coap_opt_value(cf), coap_opt_length(cf)));
        return;
    }
    coap_get_data_large(recv, &len, &data, &off, &total);
    st = tml_lwm2m_node_info((const char *)data, len, &json, model, sizeof model, sha, sizeof sha,
                             err, sizeof err);
    if (st != TML_OK) {
        tml_log("device '%s': read of /%d/0: %s", ep, TML_LWM2M_OBJ_NODE, err);
        return;
    }
    if (sha[0] && !tml_sha_hex_valid(sha)) {
        tml_log("device '%s': node object reports a model hash that is not sha256 hex; ignored", ep);
        model[0] = sha[0] = 0;
    }
    if (tml_store_device_set_info(svc->store, ep, json, model, sha) != TML_OK) {
        tml_log("device '%s': %s", ep, tml_store_error(svc->store));
    } else {
        tml_log("device '%s': node info %s%s%s", ep, json, model[0] ? ", model " : "", model);
        tml_builder_kick(svc); /* deployments may have been waiting for this */
    }
    free(json);
}

void tml_coap_read_node(tml_service *svc, coap_session_t *session, const char *endpoint)
{
    char path[24];
    snprintf(path, sizeof path, "%d/0", TML_LWM2M_OBJ_NODE);
    if (tml_coap_request(svc, session, endpoint, COAP_REQUEST_CODE_GET, path, TML_CF_SENML_JSON,
                         -1, NULL, 0, on_node_info, 0) != TML_OK)
        tml_log("device '%s': cannot queue the read of /%s", endpoint, path);
}

/* ---- DTLS-PSK ---- */

/* libcoap asks for the key of a DTLS client's identity; NULL fails the handshake, so a
 * device without a valid key gets nothing at all. */
static const coap_bin_const_t *psk_for_identity(coap_bin_const_t *identity,
                                                coap_session_t *session, void *arg)
{
    tml_service *svc = (tml_service *)arg;
    char id[128], peer[64];
    size_t len = 0;
    peer_str(session, peer, sizeof peer);
    if (!identity || identity->length == 0 || identity->length >= sizeof id) {
        tml_log("dtls: %s: identity missing or too long", peer);
        return NULL;
    }
    memcpy(id, identity->s, identity->length);
    id[identity->length] = 0;
    if (!tml_lwm2m_endpoint_valid(id) ||
        tml_store_psk_get(svc->store, id, svc->psk, sizeof svc->psk, &len) != TML_OK) {
        tml_log("dtls: %s: unknown identity '%.64s'", peer, tml_lwm2m_endpoint_valid(id) ? id : "?");
        return NULL;
    }
    svc->psk_bin.s = svc->psk;
    svc->psk_bin.length = len;
    return &svc->psk_bin;
}

/* Who may act for endpoint ep: over DTLS only the session whose PSK identity is ep; over
 * plain CoAP only while ep has no key (a device that has a key must use it). */
static bool allowed_for(tml_service *svc, coap_session_t *session, const char *ep, char *msg,
                        size_t n)
{
    if (coap_session_get_proto(session) == COAP_PROTO_DTLS) {
        const coap_bin_const_t *id = coap_session_get_psk_identity(session);
        if (!id || id->length != strlen(ep) || memcmp(id->s, ep, id->length) != 0) {
            snprintf(msg, n, "endpoint '%s' does not match the DTLS identity", ep);
            return false;
        }
        return true;
    } else {
        uint8_t key[TML_PSK_MAX];
        size_t len;
        tml_status st = tml_store_psk_get(svc->store, ep, key, sizeof key, &len);
        sodium_memzero(key, sizeof key);
        if (st != TML_ERR_NOT_FOUND) {
            snprintf(msg, n, "endpoint '%s' has a pre-shared key: use CoAP over DTLS", ep);
            return false;
        }
        return true;
    }
}

/* Message deduplication for registrations (RFC 7252 section 4.5). libcoap hands a
 * retransmitted request to the handler again, and a second registration replaced the first
 * one's id: the device, holding the id of the first 2.01, got 4.04 on its next update
 * (bench_coap: 58 of 1000 devices registering at once). The last TML_REG_SEEN registrations
 * are remembered by (peer, message id, endpoint) for EXCHANGE_LIFETIME and answered again. */
#define TML_REG_SEEN 4096
#define TML_EXCHANGE_LIFETIME 247 /* seconds, RFC 7252 section 4.8.2 */
struct tml_reg_seen {
    char peer[64];
    uint16_t mid;
    char endpoint[TML_NAME_MAX];
    char reg_id[sizeof(((tml_device *)0)->reg_id)];
    int64_t at;
};

static const struct tml_reg_seen *reg_seen_find(const tml_service *svc, const char *peer,
                                                uint16_t mid, const char *ep)
{
    int64_t now = (int64_t)time(NULL);
    if (!svc->reg_seen)
        return NULL;
    for (unsigned i = 0; i < TML_REG_SEEN; i++) {
        const struct tml_reg_seen *r = &svc->reg_seen[i];
        if (r->at && r->mid == mid && now - r->at <= TML_EXCHANGE_LIFETIME &&
            strcmp(r->peer, peer) == 0 && strcmp(r->endpoint, ep) == 0)
            return r;
    }
    return NULL;
}

static void reg_seen_add(tml_service *svc, const char *peer, uint16_t mid, const tml_device *d)
{
    struct tml_reg_seen *r;
    if (!svc->reg_seen && !(svc->reg_seen = calloc(TML_REG_SEEN, sizeof *svc->reg_seen)))
        return; /* out of memory: no deduplication, as before */
    r = &svc->reg_seen[svc->reg_seen_next++ % TML_REG_SEEN];
    snprintf(r->peer, sizeof r->peer, "%s", peer);
    r->mid = mid;
    snprintf(r->endpoint, sizeof r->endpoint, "%s", d->endpoint);
    snprintf(r->reg_id, sizeof r->reg_id, "%s", d->reg_id);
    r->at = (int64_t)time(NULL);
}

/* POST /rd?ep=..: Register. */
static void hnd_register(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
                         const coap_string_t *query, coap_pdu_t *resp)
{
    tml_service *svc = svc_of(session);
    tml_lwm2m_reg_params p;
    tml_device d;
    char peer[64], msg[400], *links = NULL;
    tml_status st;
    int code;
    bool node_object_listed;
    (void)res;
    peer_str(session, peer, sizeof peer);
    code = tml_coap_check_register(req, query, &p, &links, msg, sizeof msg);
    if (code != 0) {
        reply(resp, (coap_pdu_code_t)code, peer, msg);
        return;
    }
    if (!allowed_for(svc, session, p.endpoint, msg, sizeof msg)) {
        free(links);
        reply(resp, COAP_RESPONSE_CODE_FORBIDDEN, peer, msg);
        return;
    }
    {
        const struct tml_reg_seen *seen =
            reg_seen_find(svc, peer, (uint16_t)coap_pdu_get_mid(req), p.endpoint);
        if (seen) {
            free(links);
            coap_add_option(resp, COAP_OPTION_LOCATION_PATH, 2, (const uint8_t *)"rd");
            coap_add_option(resp, COAP_OPTION_LOCATION_PATH, strlen(seen->reg_id),
                            (const uint8_t *)seen->reg_id);
            coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CREATED);
            return;
        }
    }
    memset(&d, 0, sizeof d);
    snprintf(d.endpoint, sizeof d.endpoint, "%s", p.endpoint);
    new_reg_id(d.reg_id, sizeof d.reg_id);
    d.lifetime = p.lifetime;
    snprintf(d.binding, sizeof d.binding, "%s", p.binding);
    snprintf(d.lwm2m_version, sizeof d.lwm2m_version, "%s", p.version);
    d.object_links = links;
    snprintf(d.address, sizeof d.address, "%s", peer);
    d.online = true;
    d.last_seen = (int64_t)time(NULL);
    node_object_listed = tml_lwm2m_links_have_object(links, TML_LWM2M_OBJ_NODE);
    st = tml_store_device_put(svc->store, &d);
    free(links);
    if (st != TML_OK) {
        reply(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR, peer, tml_store_error(svc->store));
        return;
    }
    coap_add_option(resp, COAP_OPTION_LOCATION_PATH, 2, (const uint8_t *)"rd");
    coap_add_option(resp, COAP_OPTION_LOCATION_PATH, strlen(d.reg_id), (const uint8_t *)d.reg_id);
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CREATED);
    reg_seen_add(svc, peer, (uint16_t)coap_pdu_get_mid(req), &d);
    tml_log("device '%s' registered from %s as rd/%s (lifetime %llds, binding %s, lwm2m %s)",
            d.endpoint, peer, d.reg_id, (long long)d.lifetime, d.binding, d.lwm2m_version);
    remember_session(svc, d.endpoint, session);
    if (node_object_listed)
        tml_coap_read_node(svc, session, d.endpoint);
}

/* Extracts <id> from the request path "rd/<id>"; false if the path is anything else. */
static bool reg_path(const coap_pdu_t *req, char *id, size_t n)
{
    coap_string_t *path = coap_get_uri_path(req);
    bool ok = false;
    if (path && path->length > 3 && memcmp(path->s, "rd/", 3) == 0 && path->length - 3 < n) {
        size_t i, l = path->length - 3;
        ok = true;
        for (i = 0; i < l; i++)
            if (!((path->s[3 + i] >= '0' && path->s[3 + i] <= '9') ||
                  (path->s[3 + i] >= 'a' && path->s[3 + i] <= 'f')))
                ok = false;
        if (ok) {
            memcpy(id, path->s + 3, l);
            id[l] = 0;
        }
    }
    coap_delete_string(path);
    return ok;
}

/* Looks up an online registration; answers 4.04 itself when there is none. */
static bool find_reg(tml_service *svc, const coap_pdu_t *req, coap_pdu_t *resp, const char *peer,
                     tml_device *d)
{
    char id[32], msg[128];
    tml_status st;
    if (!reg_path(req, id, sizeof id)) {
        reply(resp, COAP_RESPONSE_CODE_NOT_FOUND, peer, "no such resource");
        return false;
    }
    st = tml_store_device_get_by_reg(svc->store, id, d);
    if (st == TML_OK && !d->online) {
        tml_device_clear(d);
        st = TML_ERR_NOT_FOUND;
    }
    if (st != TML_OK) {
        snprintf(msg, sizeof msg, "registration 'rd/%s': not found", id);
        reply(resp, st == TML_ERR_NOT_FOUND ? COAP_RESPONSE_CODE_NOT_FOUND
                                            : COAP_RESPONSE_CODE_INTERNAL_ERROR,
              peer, msg);
        return false;
    }
    return true;
}

/* POST /rd/<id>: Update. */
static void hnd_update(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
                       const coap_string_t *query, coap_pdu_t *resp)
{
    tml_service *svc = svc_of(session);
    tml_lwm2m_reg_params p;
    tml_device d;
    char peer[64], err[300], *links = NULL;
    tml_status st;
    (void)res;
    peer_str(session, peer, sizeof peer);
    st = tml_lwm2m_parse_query(query ? (const char *)query->s : "", query ? query->length : 0,
                               true, &p, err, sizeof err);
    if (st != TML_OK) {
        reply(resp, code_of(st), peer, err);
        return;
    }
    if (!link_format_ok(req)) {
        reply(resp, COAP_RESPONSE_CODE_UNSUPPORTED_CONTENT_FORMAT, peer,
              "registration update: content format must be link format (40)");
        return;
    }
    st = read_links(req, &links, err, sizeof err);
    if (st != TML_OK) {
        reply(resp, code_of(st), peer, err);
        return;
    }
    if (!find_reg(svc, req, resp, peer, &d)) {
        free(links);
        return;
    }
    if (!allowed_for(svc, session, d.endpoint, err, sizeof err)) {
        free(links);
        tml_device_clear(&d);
        reply(resp, COAP_RESPONSE_CODE_FORBIDDEN, peer, err);
        return;
    }
    if (p.has_lifetime)
        d.lifetime = p.lifetime;
    if (p.has_binding)
        snprintf(d.binding, sizeof d.binding, "%s", p.binding);
    if (links) {
        free(d.object_links);
        d.object_links = links;
    }
    snprintf(d.address, sizeof d.address, "%s", peer);
    d.last_seen = (int64_t)time(NULL);
    d.online = true;
    st = tml_store_device_put(svc->store, &d);
    if (st != TML_OK) {
        reply(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR, peer, tml_store_error(svc->store));
    } else {
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CHANGED);
        tml_log("device '%s' updated rd/%s from %s%s", d.endpoint, d.reg_id, peer,
                links ? " (new object links)" : "");
        remember_session(svc, d.endpoint, session);
        if (links && tml_lwm2m_links_have_object(links, TML_LWM2M_OBJ_NODE))
            tml_coap_read_node(svc, session, d.endpoint);
    }
    tml_device_clear(&d);
}

/* DELETE /rd/<id>: De-register. */
static void hnd_deregister(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
                           const coap_string_t *query, coap_pdu_t *resp)
{
    tml_service *svc = svc_of(session);
    tml_device d;
    char peer[64], msg[200];
    (void)res;
    (void)query;
    peer_str(session, peer, sizeof peer);
    if (!find_reg(svc, req, resp, peer, &d))
        return;
    if (!allowed_for(svc, session, d.endpoint, msg, sizeof msg)) {
        tml_device_clear(&d);
        reply(resp, COAP_RESPONSE_CODE_FORBIDDEN, peer, msg);
        return;
    }
    if (tml_store_device_set_offline(svc->store, d.endpoint) != TML_OK) {
        reply(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR, peer, tml_store_error(svc->store));
    } else {
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_DELETED);
        tml_log("device '%s' de-registered rd/%s", d.endpoint, d.reg_id);
        remember_session(svc, d.endpoint, NULL);
    }
    tml_device_clear(&d);
}

/* ---- artifacts over CoAP: GET /a/<sha256> and /a/<sha256>.sig ---- */

static void release_buf(coap_session_t *session, void *p)
{
    (void)session;
    free(p);
}

/* One in-memory copy of an artifact for every session downloading it. libcoap keeps the body
 * of a block-wise response per session until the transfer ends; without sharing, a thousand
 * devices downloading one 100 KB package held a thousand copies (bench_coap: 89 MB peak RSS).
 * Each request still reads and re-hashes the file; only a copy whose hash matched is shared. */
typedef struct tml_art_share {
    char sha[TML_SHA_HEX];
    uint8_t *data;
    size_t len;
    unsigned refs; /* block-wise responses (libcoap lg_xmit) holding it */
    struct tml_art_share *next;
    struct tml_art_share **head;
} tml_art_share;

static void release_share(coap_session_t *session, void *p)
{
    tml_art_share *e = p, **pp;
    (void)session;
    if (--e->refs)
        return;
    for (pp = e->head; *pp; pp = &(*pp)->next)
        if (*pp == e) {
            *pp = e->next;
            break;
        }
    free(e->data);
    free(e);
}

/* The shared copy of sha (taking ownership of data, len bytes just read and verified), or
 * NULL (data untouched) when out of memory. */
static tml_art_share *share_get(tml_service *svc, const char *sha, uint8_t *data, size_t len)
{
    tml_art_share *e;
    for (e = svc->art_shares; e; e = e->next)
        if (strcmp(e->sha, sha) == 0 && e->len == len) {
            free(data);
            e->refs++;
            return e;
        }
    e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    memcpy(e->sha, sha, TML_SHA_HEX);
    e->data = data;
    e->len = len;
    e->refs = 1;
    e->head = &svc->art_shares;
    e->next = svc->art_shares;
    svc->art_shares = e;
    return e;
}

/* Serves an artifact block-wise (Block2, RFC 7959: a device that lost a block asks for that
 * block again, not for the whole file) or its Ed25519 signature. The file is re-hashed on
 * every request, so a tampered artifact is never served. The sha256 is the capability: it is
 * unguessable and only the service hands it out (in a Package URI). */
static void hnd_get(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
                    const coap_string_t *query, coap_pdu_t *resp)
{
    tml_service *svc = svc_of(session);
    coap_string_t *path = coap_get_uri_path(req);
    char peer[64], sha[TML_SHA_HEX], err[300];
    bool sig = false;
    uint8_t *data = NULL;
    size_t len = 0;
    tml_status st;
    uint64_t etag = 0;
    int i;
    peer_str(session, peer, sizeof peer);
    if (!path || path->length < 2 + 64 || memcmp(path->s, "a/", 2) != 0 ||
        !(path->length == 2 + 64 ||
          (path->length == 2 + 64 + 4 && memcmp(path->s + 66, ".sig", 4) == 0))) {
        coap_delete_string(path);
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_NOT_FOUND);
        return;
    }
    sig = path->length == 2 + 64 + 4;
    memcpy(sha, path->s + 2, 64);
    sha[64] = 0;
    coap_delete_string(path);
    if (!tml_sha_hex_valid(sha)) {
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_NOT_FOUND);
        return;
    }
    st = tml_artifact_read(svc->artifacts_dir, sha, svc->max_artifact_size, &data, &len, err,
                           sizeof err);
    if (st != TML_OK) {
        if (st == TML_ERR_NOT_FOUND) {
            coap_pdu_set_code(resp, COAP_RESPONSE_CODE_NOT_FOUND);
        } else {
            /* TML_ERR_VERIFY: the file on disk no longer matches its name */
            tml_log("artifact %.16s: %s", sha, err);
            reply(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR, peer, "artifact unavailable");
        }
        return;
    }
    {
        unsigned char e[8];
        size_t n = 0;
        if (sodium_hex2bin(e, sizeof e, sha, 16, NULL, &n, NULL) == 0 && n == 8)
            for (i = 0; i < 8; i++)
                etag = (etag << 8) | e[i];
    }
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CONTENT);
    if (sig) {
        uint8_t *s = malloc(TML_SIG_BYTES);
        free(data);
        if (!s || tml_artifact_sign(svc->sign_sk, sha, s) != TML_OK) {
            free(s);
            coap_pdu_set_code(resp, COAP_RESPONSE_CODE_INTERNAL_ERROR);
            return;
        }
        coap_add_data_large_response(res, session, req, resp, query, COAP_MEDIATYPE_APPLICATION_OCTET_STREAM,
                                     -1, etag, TML_SIG_BYTES, s, release_buf, s);
        return;
    }
    {
        tml_art_share *e = share_get(svc, sha, data, len);
        if (e) {
            coap_add_data_large_response(res, session, req, resp, query,
                                         COAP_MEDIATYPE_APPLICATION_OCTET_STREAM, -1, etag, e->len,
                                         e->data, release_share, e);
            return;
        }
    }
    coap_add_data_large_response(res, session, req, resp, query, COAP_MEDIATYPE_APPLICATION_OCTET_STREAM, -1,
                                 etag, len, data, release_buf, data);
}

static void hnd_not_allowed(coap_resource_t *res, coap_session_t *session, const coap_pdu_t *req,
                            const coap_string_t *query, coap_pdu_t *resp)
{
    (void)res;
    (void)session;
    (void)req;
    (void)query;
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_NOT_ALLOWED);
}

static void coap_log_to_ours(coap_log_t level, const char *message)
{
    size_t n = strlen(message);
    (void)level;
    while (n > 0 && (message[n - 1] == '\n' || message[n - 1] == '\r'))
        n--;
    tml_log("libcoap: %.*s", (int)n, message);
}

/* The listening endpoints: plain UDP unless --no-plain, DTLS with PSKs unless its port is 0. */
/* A fleet queues at the service: with N devices each waiting for an answer, up to N datagrams
 * sit in the CoAP socket, and Linux's default receive buffer (net.core.rmem_default, 208 KiB)
 * holds about 200 of them; the rest are dropped and cost each device a 2-3 s retransmission
 * (bench_coap: 1000 devices downloading at once). libcoap does not expose its endpoint
 * sockets, so the UDP sockets bound to our ports are found among our descriptors and given
 * TML_COAP_RCVBUF (the kernel caps it at net.core.rmem_max). Best effort: failures are fine. */
#define TML_COAP_RCVBUF (4 * 1024 * 1024)
static void grow_receive_buffers(const tml_service *svc)
{
    for (int fd = 3; fd < 1024; fd++) {
        struct sockaddr_storage a;
        socklen_t l = sizeof a, tl = sizeof(int);
        int type = 0, port = -1, sz = TML_COAP_RCVBUF;
        if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_DGRAM ||
            getsockname(fd, (struct sockaddr *)&a, &l) != 0)
            continue;
        if (a.ss_family == AF_INET)
            port = ntohs(((struct sockaddr_in *)&a)->sin_port);
        else if (a.ss_family == AF_INET6)
            port = ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
        if ((port == svc->coap_port && svc->coap_plain) || (port == svc->coaps_port && port))
            (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    }
}

static tml_status add_endpoints(tml_service *svc, coap_context_t *ctx, char *err, size_t errsz)
{
    coap_address_t addr;
    if (!svc->coap_plain && !svc->coaps_port) {
        snprintf(err, errsz, "coap: both plain CoAP and DTLS are turned off");
        return TML_ERR_ARG;
    }
    if (!make_addr(svc->coap_bind, svc->coap_port, &addr)) {
        snprintf(err, errsz, "coap: bind address '%s' is not an IPv4 or IPv6 address",
                 svc->coap_bind);
        return TML_ERR_ARG;
    }
    if (svc->coap_plain && !coap_new_endpoint(ctx, &addr, COAP_PROTO_UDP)) {
        snprintf(err, errsz, "coap: cannot listen on udp %s port %d (in use?)", svc->coap_bind,
                 svc->coap_port);
        return TML_ERR_IO;
    }
    if (svc->coaps_port) {
        coap_dtls_spsk_t psk;
        if (!coap_dtls_is_supported()) {
            snprintf(err, errsz, "coap: this libcoap has no DTLS (use --coaps-port 0)");
            return TML_ERR_UNSUPPORTED;
        }
        memset(&psk, 0, sizeof psk);
        psk.version = COAP_DTLS_SPSK_SETUP_VERSION;
        psk.validate_id_call_back = psk_for_identity;
        psk.id_call_back_arg = svc;
        if (!coap_context_set_psk2(ctx, &psk)) {
            snprintf(err, errsz, "coap: cannot set up DTLS-PSK");
            return TML_ERR;
        }
        make_addr(svc->coap_bind, svc->coaps_port, &addr);
        if (!coap_new_endpoint(ctx, &addr, COAP_PROTO_DTLS)) {
            snprintf(err, errsz, "coap: cannot listen on dtls %s port %d (in use?)",
                     svc->coap_bind, svc->coaps_port);
            return TML_ERR_IO;
        }
    }
    return TML_OK;
}

tml_status tml_coap_start(tml_service *svc, char *err, size_t errsz)
{
    coap_context_t *ctx;
    coap_resource_t *r;
    tml_status st;
    coap_startup();
    coap_set_log_handler(coap_log_to_ours);
    coap_set_log_level(LOG_WARNING);
    ctx = coap_new_context(NULL);
    if (!ctx) {
        snprintf(err, errsz, "coap: cannot create a context");
        return TML_ERR_NOMEM;
    }
    coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    coap_set_app_data(ctx, svc);
    st = add_endpoints(svc, ctx, err, errsz);
    if (st != TML_OK) {
        coap_free_context(ctx);
        return st;
    }
    grow_receive_buffers(svc);

    r = coap_resource_init(coap_make_str_const("rd"), 0);
    coap_register_request_handler(r, COAP_REQUEST_POST, hnd_register);
    coap_add_attr(r, coap_make_str_const("rt"), coap_make_str_const("\"core.rd\""), 0);
    coap_add_resource(ctx, r);

    r = coap_resource_unknown_init2(hnd_not_allowed, 0);
    coap_register_request_handler(r, COAP_REQUEST_POST, hnd_update);
    coap_register_request_handler(r, COAP_REQUEST_DELETE, hnd_deregister);
    coap_register_request_handler(r, COAP_REQUEST_GET, hnd_get);
    coap_add_resource(ctx, r);

    coap_register_response_handler(ctx, on_response);
    coap_register_nack_handler(ctx, on_nack);

    svc->coap = ctx;
    svc->coap_bound_port = svc->coap_port;
    if (svc->coap_plain)
        tml_log("coap: listening on udp %s port %d", svc->coap_bind, svc->coap_port);
    if (svc->coaps_port)
        tml_log("coap: listening on dtls %s port %d (pre-shared keys)", svc->coap_bind,
                svc->coaps_port);
    return TML_OK;
}

static int log_expired(void *ctx, const tml_device *d)
{
    (void)ctx;
    tml_log("device '%s': registration rd/%s expired (lifetime %llds, last seen %llds ago)",
            d->endpoint, d->reg_id, (long long)d->lifetime,
            (long long)((int64_t)time(NULL) - d->last_seen));
    return 0;
}

void tml_service_expire(tml_service *svc)
{
    int n = 0;
    if (tml_store_device_expire(svc->store, (int64_t)time(NULL), log_expired, NULL, &n) != TML_OK)
        tml_log("store: lifetime expiry failed: %s", tml_store_error(svc->store));
}

void tml_coap_run(tml_service *svc, unsigned timeout_ms)
{
    int64_t now;
    coap_io_process((coap_context_t *)svc->coap, timeout_ms);
    send_requests(svc);
    tml_web_infer_tick(svc); /* an inference the page asked for (web.c) */
    now = (int64_t)time(NULL);
    if (now != svc->last_expiry_check) {
        svc->last_expiry_check = now;
        tml_service_expire(svc);
        tml_delivery_tick(svc);
        send_requests(svc);
    }
}

void tml_coap_stop(tml_service *svc)
{
    unsigned i;
    for (i = 0; i < (unsigned)svc->n_sessions; i++)
        coap_session_release((coap_session_t *)svc->sessions[i].session);
    free(svc->sessions);
    svc->sessions = NULL;
    svc->n_sessions = svc->cap_sessions = 0;
    free(svc->reg_seen);
    svc->reg_seen = NULL;
    for (i = 0; i < TML_REQS_MAX; i++)
        if (svc->reqs[i].session) {
            coap_session_release((coap_session_t *)svc->reqs[i].session);
            svc->reqs[i].session = NULL;
        }
    if (svc->coap) {
        coap_free_context((coap_context_t *)svc->coap);
        svc->coap = NULL;
        coap_cleanup();
    }
}
