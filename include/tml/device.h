/*
 * device.h - the device agent core: an LwM2M 1.1 client for tinymlaas devices.
 *
 * The agent registers with the service (registration interface: register, update before the
 * lifetime runs out, de-register), serves its objects (Server /1/0, Device /3/0, Firmware
 * Update /5/0, the TinyML node object /32769/0) and POST /infer, and installs model packages
 * with the Firmware Update object's pull flow: a Package URI write starts a block-wise
 * download (Block2, RFC 7959) into the inactive one of two slots, the download resumes at the
 * block it lost, the result is verified (SHA-256 named by the URI, optional Ed25519 signature,
 * tml_exec_load) and activated by Execute /5/0/2; any failure keeps the running model and
 * reports an LwM2M Update Result code.
 *
 * The core is device-side code: C99, no malloc, no stdio, no global state. Every byte of
 * memory it uses is in tml_device or in buffers the caller hands over in tml_device_config.
 * It talks to the world only through tml_device_port (one CoAP request at a time, storage
 * slots, an atomically written state file, a clock, a log line, a signature check), so the
 * same core runs on the host port (platform/host/: libcoap3 + files) and on an MCU port, and
 * unit tests drive it with a fake port. Incoming requests arrive as tml_device_in and are
 * answered synchronously by tml_device_handle, the one function that parses network input
 * (fuzz/fuzz_device_request.c).
 */
#ifndef TML_DEVICE_H
#define TML_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "tml/executor.h"
#include "tml/rt.h"
#include "tml/sha256.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- CoAP numbers the agent uses (RFC 7252): method codes and response codes c.dd ---- */
#define TML_COAP_GET 1
#define TML_COAP_POST 2
#define TML_COAP_PUT 3
#define TML_COAP_DELETE 4
#define TML_COAP_CODE(c, d) ((c) * 32 + (d))
#define TML_COAP_CREATED TML_COAP_CODE(2, 1)
#define TML_COAP_DELETED TML_COAP_CODE(2, 2)
#define TML_COAP_CHANGED TML_COAP_CODE(2, 4)
#define TML_COAP_CONTENT TML_COAP_CODE(2, 5)
#define TML_COAP_BAD_REQUEST TML_COAP_CODE(4, 0)
#define TML_COAP_NOT_FOUND TML_COAP_CODE(4, 4)
#define TML_COAP_NOT_ALLOWED TML_COAP_CODE(4, 5)
#define TML_COAP_NOT_ACCEPTABLE TML_COAP_CODE(4, 6)
#define TML_COAP_TOO_LARGE TML_COAP_CODE(4, 13)
#define TML_COAP_UNSUPPORTED_CF TML_COAP_CODE(4, 15)
#define TML_COAP_INTERNAL TML_COAP_CODE(5, 0)

/* Content formats. */
#define TML_DEV_CF_NONE (-1)
#define TML_DEV_CF_TEXT 0
#define TML_DEV_CF_LINK 40
#define TML_DEV_CF_OPAQUE 42
#define TML_DEV_CF_JSON 50
#define TML_DEV_CF_SENML_JSON 110

/* LwM2M objects served. The node object number matches src/lwm2m/lwm2m.h (OMNA private range). */
#define TML_DEV_OBJ_SERVER 1
#define TML_DEV_OBJ_DEVICE 3
#define TML_DEV_OBJ_FIRMWARE 5
#define TML_DEV_OBJ_NODE 32769

/* Firmware Update object (/5/0) State and Update Result values (LwM2M 1.1, object 5). */
typedef enum {
    TML_FW_STATE_IDLE = 0,
    TML_FW_STATE_DOWNLOADING = 1,
    TML_FW_STATE_DOWNLOADED = 2,
    TML_FW_STATE_UPDATING = 3
} tml_fw_state;

typedef enum {
    TML_FW_RESULT_INITIAL = 0,
    TML_FW_RESULT_SUCCESS = 1,
    TML_FW_RESULT_NO_STORAGE = 2,    /* not enough flash (slot) for the package */
    TML_FW_RESULT_NO_MEMORY = 3,     /* out of RAM (the model's arena does not fit) */
    TML_FW_RESULT_CONN_LOST = 4,     /* connection lost during download */
    TML_FW_RESULT_INTEGRITY = 5,     /* hash or signature check failed */
    TML_FW_RESULT_UNSUPPORTED = 6,   /* not a package this runtime can run */
    TML_FW_RESULT_INVALID_URI = 7,
    TML_FW_RESULT_FAILED = 8,        /* update (activation) failed */
    TML_FW_RESULT_BAD_PROTOCOL = 9   /* URI scheme not supported */
} tml_fw_result;

#define TML_DEV_URI_MAX 256      /* Package URI, bytes incl. NUL */
#define TML_DEV_HOST_MAX 64
#define TML_DEV_PATH_MAX 192
#define TML_DEV_LOCATION_MAX 64  /* registration Location-Path ("rd/5134bb9cb269") */
#define TML_DEV_NAME_MAX 72      /* model name */
#define TML_DEV_BLOCK_SZX 6      /* Block2 size exponent asked for: 2^(4+6) = 1024 bytes */
#define TML_DEV_BLOCK_TRIES 6    /* attempts per block before the download fails (result 4) */
#define TML_DEV_REG_RETRY_MIN_MS 1000u
#define TML_DEV_REG_RETRY_MAX_MS 60000u
#define TML_DEV_SIG_BYTES 64
#define TML_DEV_SIG_PREFIX "TMLAASv1" /* signed message: prefix || SHA-256(package) */

/* ---- the port: everything the core needs from the platform ---- */

/* One outgoing request. host == NULL means the LwM2M server the agent registers with. */
typedef struct {
    int method;                /* TML_COAP_GET ... */
    const char *host;          /* NULL: the server; else a host name or address literal */
    uint16_t port;             /* with host */
    int secure;                /* with host: coaps (DTLS) rather than coap */
    const char *path;          /* "rd", "rd/abc", "a/<sha>": segments joined by '/', no leading '/' */
    const char *query;         /* "ep=x&lt=60" (one Uri-Query option per '&' part) or NULL */
    int content_format;        /* TML_DEV_CF_* or TML_DEV_CF_NONE */
    const uint8_t *payload;
    size_t payload_len;
    int32_t block2_num;        /* -1: no Block2 option; else ask for block NUM of size 2^(4+szx) */
    uint8_t block2_szx;
} tml_device_request;

/* Its response; the caller provides payload/payload_cap, the port fills the rest. */
typedef struct {
    int code;                  /* TML_COAP_* */
    uint8_t *payload;          /* caller's buffer */
    size_t payload_cap;
    size_t payload_len;        /* a longer payload is an error (TML_ERR_FIT from request) */
    int has_block2;
    uint32_t block2_num;
    int block2_more;
    uint8_t block2_szx;
    char location[TML_DEV_LOCATION_MAX]; /* Location-Path options joined by '/', "" if none */
} tml_device_response;

typedef struct {
    void *ctx;
    /* Sends one confirmable request and waits for its response while still serving incoming
     * requests. TML_ERR_IO when no response came (lost request or response): the core decides
     * whether to try again. Must not be called from inside tml_device_handle. */
    tml_status (*request)(void *ctx, const tml_device_request *req, tml_device_response *rsp);
    /* Storage slots 0 and 1 (flash on an MCU, files on the host). begin empties a slot, write
     * stores bytes at an offset, read reads them back, commit makes `size` bytes durable. */
    tml_status (*slot_begin)(void *ctx, int slot);
    tml_status (*slot_write)(void *ctx, int slot, uint32_t off, const uint8_t *data, uint32_t len);
    tml_status (*slot_read)(void *ctx, int slot, uint32_t off, uint8_t *buf, uint32_t len);
    tml_status (*slot_commit)(void *ctx, int slot, uint32_t size);
    /* The agent's small state record: saved atomically (all or nothing), loaded at start.
     * state_load gives TML_ERR_NOT_FOUND when there is none. */
    tml_status (*state_save)(void *ctx, const uint8_t *buf, uint32_t len);
    tml_status (*state_load)(void *ctx, uint8_t *buf, uint32_t cap, uint32_t *len);
    uint64_t (*now_us)(void *ctx); /* monotonic microseconds */
    /* One log line (no newline). level: 0 error, 1 warning, 2 info. May be NULL. */
    void (*log)(void *ctx, int level, const char *msg);
    /* Checks an Ed25519 signature over msg with the server's public key. NULL when the port
     * has no key: packages are then checked by hash only and no signature is fetched. */
    tml_status (*verify_signature)(void *ctx, const uint8_t *msg, size_t len,
                                   const uint8_t sig[TML_DEV_SIG_BYTES]);
    /* Non-zero when `request` can fetch coaps:// URIs (the port has DTLS credentials);
     * otherwise a coaps:// Package URI gets Update Result 9. */
    int dtls;
} tml_device_port;

/* What the device is (the node object) and the memory the agent may use. */
typedef struct {
    const char *endpoint;      /* LwM2M endpoint name */
    uint32_t lifetime_s;       /* registration lifetime, >= 2 */
    const char *target;        /* target profile ("host", "cortex-m4") */
    const char *core;          /* CPU core */
    uint32_t clock_hz;
    uint32_t ram;              /* RAM budget for models (arena), bytes */
    uint32_t flash;            /* flash budget for models (package), bytes */
    const char *accelerators;  /* "fpu,dsp" or "" */
    const char *rtos;          /* platform port ("host") */
    /* One package image and one arena per slot, 4-byte aligned. The active model runs from
     * its slot's pair; a download is written to and validated in the other pair. */
    uint8_t *pkg_buf[2];
    uint32_t pkg_cap;
    uint8_t *arena[2];
    uint32_t arena_cap;
} tml_device_config;

/* An incoming request (from the server or anyone who can reach the device). */
typedef struct {
    int method;                /* TML_COAP_* */
    const char *path;          /* Uri-Path segments joined by '/', no leading '/'; not NUL-terminated */
    size_t path_len;
    int content_format;        /* TML_DEV_CF_NONE if absent */
    int accept;                /* TML_DEV_CF_NONE if absent */
    const uint8_t *payload;
    size_t payload_len;
} tml_device_in;

/* Its answer: the caller provides buf/cap (TML_DEVICE_OUT_MIN bytes at least). */
typedef struct {
    int code;
    int content_format;        /* TML_DEV_CF_NONE: no Content-Format option */
    uint8_t *buf;
    size_t cap;
    size_t len;
} tml_device_out;

#define TML_DEVICE_OUT_MIN 4096

typedef struct {
    tml_device_config cfg;
    tml_device_port port;
    /* registration */
    int registered;
    char location[TML_DEV_LOCATION_MAX];
    uint64_t last_reg_us;      /* last successful register or update */
    uint64_t next_try_us;      /* earliest next attempt after a failure */
    uint32_t retry_ms;         /* current back-off */
    /* firmware update (/5/0) */
    tml_fw_state fw_state;
    tml_fw_result fw_result;
    char pkg_uri[TML_DEV_URI_MAX];
    char dl_host[TML_DEV_HOST_MAX];
    uint16_t dl_port;
    int dl_secure;
    char dl_path[TML_DEV_PATH_MAX];
    uint8_t dl_sha[TML_SHA256_BYTES]; /* expected SHA-256 (from the URI) */
    int dl_has_sha;
    int dl_slot;               /* slot of the downloaded package */
    uint32_t dl_size;
    uint8_t dl_digest[32];     /* SHA-256 of what was downloaded */
    char dl_name[TML_DEV_NAME_MAX];
    /* models */
    tml_exec exec[2];
    int active;                /* slot of the running model, -1 if none */
    uint32_t size[2];
    uint8_t sha[2][32];
    char name[2][TML_DEV_NAME_MAX];
    uint32_t inferences;
    uint32_t last_latency_us;
    char msg[192];             /* scratch for log lines */
} tml_device;

/* Sets the agent up and restores the model recorded in the state file (a corrupt slot or state
 * record is logged and leaves the device without a model). TML_ERR_ARG for a bad config. */
tml_status tml_device_init(tml_device *d, const tml_device_config *cfg, const tml_device_port *port);

/* Does what is due at now: register, update the registration, or download a package whose URI
 * was written. Returns the milliseconds until it wants to run again (for the port's wait). */
uint32_t tml_device_step(tml_device *d);

/* De-registers (DELETE of the registration) if registered. */
tml_status tml_device_deregister(tml_device *d);

/* Answers one incoming request. Validates everything in `in`. Never fails: errors are CoAP
 * codes with a text/plain message in out. */
void tml_device_handle(tml_device *d, const tml_device_in *in, tml_device_out *out);

/* Parses a Package URI "coap[s]://host[:port]/path" into host, port (default 5683, coaps
 * 5684), path (no leading '/') and *secure (1 for coaps). Returns TML_FW_RESULT_INITIAL when
 * valid, TML_FW_RESULT_BAD_PROTOCOL for another scheme, TML_FW_RESULT_INVALID_URI otherwise. */
tml_fw_result tml_device_uri_parse(const char *uri, size_t len, char host[TML_DEV_HOST_MAX],
                                   uint16_t *port, char path[TML_DEV_PATH_MAX], int *secure);

/* The registration payload (CoRE link format) the agent sends. */
const char *tml_device_links(void);

#ifdef __cplusplus
}
#endif

#endif /* TML_DEVICE_H */
