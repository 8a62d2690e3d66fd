/*
 * service_int.h - what the parts of `tmlaas serve` share inside src/service/: the service
 * state, the log, and the start/stop functions of the HTTP and CoAP front ends.
 *
 * One tml_service lives for the whole process. The HTTP API runs in libmicrohttpd's internal
 * thread and the CoAP endpoint in the main thread's io loop; what they share is the store
 * (thread-safe by contract) and read-only configuration, so no other locking is needed.
 */
#ifndef TML_SERVICE_INT_H
#define TML_SERVICE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include <coap3/coap.h>

#include "lwm2m/lwm2m.h"
#include "tml/service.h"
#include "tml/store.h"

#define TML_TOKEN_LEN 64 /* hex digits of the admin token (32 random bytes) */

/* A request the service sends to a device (a read of its node object, a write of a Package
 * URI, ...): queued from handlers and worker code, sent from the io loop (so a device sees
 * the answer to its own request first), matched to the response by token, and answered
 * through fn (resp == NULL when the device never answered). */
struct tml_service;
typedef void (*tml_reply_fn)(struct tml_service *svc, const char *endpoint, int64_t tag,
                             const coap_pdu_t *resp);
#define TML_REQS_MAX 256
typedef struct {
    void *session;        /* coap_session_t *, referenced while queued */
    bool queued;
    uint8_t token[8];
    size_t token_len;     /* 0 = slot free; set and !queued = in flight */
    char endpoint[TML_NAME_MAX];
    int64_t tag;
    int method;           /* COAP_REQUEST_CODE_* */
    char path[24];        /* "5/0/1" */
    int accept;           /* content format to ask for, -1 = none */
    int cf;               /* content format of the payload, -1 = no payload */
    char payload[512];
    size_t payload_len;
    tml_reply_fn fn;
} tml_coap_req;

/* The in-memory progress of one delivery (the store only says "delivering"; after a restart
 * a delivery starts again from writing the Package URI, which is idempotent). */
#define TML_DELIVERIES_MAX 64
typedef struct {
    int64_t deployment;   /* 0 = slot free */
    char endpoint[TML_NAME_MAX];
    char model_name[TML_NAME_MAX];
    char model_sha[TML_SHA_HEX];
    int step;             /* delivery.c: D_* */
    bool busy;            /* a request is in flight */
    int64_t next;         /* next poll, Unix seconds */
    int polls;
} tml_delivery;

typedef struct tml_service {
    /* configuration (read-only after start) */
    char data_dir[1024];
    char artifacts_dir[1100];
    char token[TML_TOKEN_LEN + 1];
    size_t max_model_size;   /* bytes accepted by POST /api/models */
    char http_bind[64];
    int http_port;           /* 0 = any free port */
    char coap_bind[64];
    int coap_port;           /* plain CoAP over UDP */
    bool coap_plain;         /* false: plain CoAP is off (--no-plain), DTLS only */
    int coaps_port;          /* CoAP over DTLS with PSKs; 0 = off */

    tml_store *store;
    uint8_t sign_sk[TML_SIGN_SK_BYTES]; /* DATA_DIR/signing.key */
    uint8_t sign_pk[TML_SIGN_PK_BYTES];
    size_t max_artifact_size; /* largest artifact served over CoAP */

    /* front ends (owned by http.c and coap.c) */
    void *http;              /* struct MHD_Daemon * */
    int http_bound_port;
    void *coap;              /* coap_context_t * */
    int coap_bound_port;
    int64_t last_expiry_check;
    tml_coap_req reqs[TML_REQS_MAX];
    unsigned req_next;
    tml_delivery deliveries[TML_DELIVERIES_MAX];
    /* coap.c: artifacts being served block-wise, one shared copy each (CoAP loop only) */
    struct tml_art_share *art_shares;
    /* coap.c: recent registrations by (peer, message id), so a retransmitted request gets the
     * same answer instead of a second registration (RFC 7252 section 4.5; CoAP loop only) */
    struct tml_reg_seen *reg_seen;
    unsigned reg_seen_next;
    /* the session each device last used (referenced): where the service's own requests go,
     * from the same socket the device talks to, as LwM2M clients behind NAT need */
    struct {
        char endpoint[TML_NAME_MAX];
        void *session;
    } *sessions;
    int n_sessions, cap_sessions;
    /* the build worker (builder.c) */
    pthread_t builder;
    pthread_mutex_t builder_mu;
    pthread_cond_t builder_cv;
    bool builder_stop, builder_kick, builder_running;
    /* the key handed to libcoap by the PSK callback (CoAP loop only) */
    uint8_t psk[TML_PSK_MAX];
    coap_bin_const_t psk_bin;
} tml_service;

/* One line to stderr: "2026-11-25T09:30:00Z tmlaas: <message>". Thread-safe. */
void tml_log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* Reads DIR/admin.token, or creates it (mode 0600, 32 bytes from libsodium as hex). */
tml_status tml_token_load_or_create(const char *data_dir, char token[TML_TOKEN_LEN + 1],
                                    bool *created, char *err, size_t errsz);

tml_status tml_http_start(tml_service *svc, char *err, size_t errsz);
void tml_http_stop(tml_service *svc);

tml_status tml_coap_start(tml_service *svc, char *err, size_t errsz);
/* Runs the CoAP io loop for at most timeout_ms, then the periodic work (lifetime expiry). */
void tml_coap_run(tml_service *svc, unsigned timeout_ms);
void tml_coap_stop(tml_service *svc);

/* Checks a Register request (query, content format, link-format payload) without touching
 * any state: 0 and *links = the normalized object links (malloc'd), or a CoAP response code
 * (4.00, 4.12, 4.13, 4.15) and the reason in msg. Shared by the handler and the fuzz target. */
int tml_coap_check_register(const coap_pdu_t *req, const coap_string_t *query,
                            tml_lwm2m_reg_params *p, char **links, char *msg, size_t msgsz);

/* Queues a request to a device over session (see tml_coap_req); path like "5/0/1". */
tml_status tml_coap_request(tml_service *svc, coap_session_t *session, const char *endpoint,
                            int method, const char *path, int accept, int cf, const char *payload,
                            size_t payload_len, tml_reply_fn fn, int64_t tag);
/* The session a device last registered or updated over, or NULL. */
coap_session_t *tml_coap_session_of(tml_service *svc, const char *endpoint);
/* Reads the device's node object (/32769/0) over session. */
void tml_coap_read_node(tml_service *svc, coap_session_t *session, const char *endpoint);

/* Delivery (delivery.c): drives deployments in state "delivering" through LwM2M Firmware
 * Update (/5): write the Package URI, wait for Downloaded, Execute Update, read the result.
 * Called from the io loop once a second. */
void tml_delivery_tick(tml_service *svc);

/* Lifetime expiry: marks offline every device whose registration has run out; logs each. */
void tml_service_expire(tml_service *svc);

/* The build worker: compiles pending deployments (see builder.c). kick = look now. */
tml_status tml_builder_start(tml_service *svc);
void tml_builder_kick(tml_service *svc);
void tml_builder_stop(tml_service *svc);
/* One pass over the unfinished deployments (what the worker runs); returns how many. */
int tml_builder_run_once(tml_service *svc);

/* Validation shared by the front ends. */
bool tml_model_name_valid(const char *name);

#endif /* TML_SERVICE_INT_H */
