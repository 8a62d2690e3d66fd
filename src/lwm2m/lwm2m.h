/*
 * lwm2m.h - the transport-independent parts of OMA LwM2M 1.1 the service needs: the CoRE
 * link format (RFC 6690) of registration payloads, the query parameters of the registration
 * interface (ep, lt, lwm2m, b, sms, Q), the object and resource numbers of the project's
 * TinyML node object, and SenML JSON (RFC 8428) of object reads.
 *
 * Everything here parses bytes that arrive from the network, so every function takes an
 * explicit length, never reads past it, bounds every count and length, and reports a one-line
 * reason ("link 3: parameter 'ct': unterminated quoted string"). The link-format and query
 * parsers do not allocate; SenML goes through cJSON (host side only). Fuzz targets:
 * fuzz/fuzz_linkformat.c, fuzz/fuzz_lwm2m_query.c, fuzz/fuzz_lwm2m_senml.c. libcoap does the
 * CoAP framing; it has no parser for these payloads, hence this code.
 */
#ifndef TML_LWM2M_H
#define TML_LWM2M_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/rt.h"

#define TML_LINK_URI_MAX 255    /* longest URI-Reference inside <> */
#define TML_LINK_PARAM_MAX 255  /* longest parameter value */
#define TML_LINKS_MAX 1024      /* most links in one payload */
#define TML_LINKFORMAT_MAX 65536 /* largest payload accepted */

/* One link-value; pointers point into the parsed buffer. */
typedef struct {
    const char *uri;    /* between '<' and '>' */
    size_t uri_len;
    const char *params; /* the validated ";name=value..." text after '>', "" if none */
    size_t params_len;
} tml_link;

/* Parses a link-format payload into at most max links. Tolerates optional white space around
 * ',' and ';'. An empty payload gives *n = 0. TML_ERR_FORMAT (with a reason) on any syntax
 * error, TML_ERR_FIT if there are more than max links or the payload is too large. */
tml_status tml_linkformat_parse(const char *buf, size_t len, tml_link *links, size_t max,
                                size_t *n, char *err, size_t errsz);

/* Finds parameter `name` of a link; value without quotes (quoted-string escapes are kept as
 * they are). Returns false if absent; *value = NULL and *value_len = 0 for a bare "name". */
bool tml_link_param(const tml_link *l, const char *name, const char **value, size_t *value_len);

/* Checks the links of a registration payload the LwM2M way: each URI is "/O" or "/O/I" with
 * decimal O, I in 0..65535, or the alternate root path (a link with rt="oma.lwm2m"). Writes
 * the canonical form (no white space, links joined by ',') to out (NUL-terminated).
 * TML_ERR_FORMAT with a reason, TML_ERR_FIT if out is too small. */
tml_status tml_lwm2m_links_normalize(const tml_link *links, size_t n, char *out, size_t outsz,
                                     char *err, size_t errsz);

/* Whether the normalized object links list object `obj` (any instance). */
bool tml_lwm2m_links_have_object(const char *links, unsigned obj);

/* Registration interface query parameters. */
typedef struct {
    char endpoint[128];   /* ep (register only) */
    int64_t lifetime;     /* lt, seconds */
    char version[8];      /* lwm2m */
    char binding[16];     /* b */
    char sms[32];         /* sms (MSISDN), kept but unused */
    bool queue;           /* Q (1.1) or a 'Q' in the binding (1.0) */
    bool has_endpoint, has_lifetime, has_version, has_binding;
} tml_lwm2m_reg_params;

/* Whether s is a valid endpoint name (1-127 printable ASCII, none of & ? / " \\ < > ; , %). */
bool tml_lwm2m_endpoint_valid(const char *s);

#define TML_LWM2M_DEFAULT_LIFETIME 86400 /* LwM2M's default when lt is absent */

/* Parses "ep=dev1&lt=60&lwm2m=1.1&b=U" (the Uri-Query options joined with '&'). For a
 * register (update == false) ep is required and defaults are filled in (lt 86400, lwm2m
 * "1.0", b "U"); an update accepts only lt, b, sms, Q. Unknown parameters are ignored, as
 * the specification asks. TML_ERR_FORMAT with a reason for a malformed or duplicate
 * parameter; TML_ERR_UNSUPPORTED for an LwM2M version other than 1.0, 1.1 or 1.2. */
tml_status tml_lwm2m_parse_query(const char *q, size_t len, bool update, tml_lwm2m_reg_params *out,
                                 char *err, size_t errsz);

/* ---- objects ---- */

#define TML_LWM2M_OBJ_DEVICE 3
#define TML_LWM2M_OBJ_FIRMWARE 5
#define TML_LWM2M_OBJ_SOFTWARE 9
/* The TinyML node object: what a device is, for the compiler. From the range OMNA leaves for
 * private objects that are never published (32769-42768). One instance, /32769/0. */
#define TML_LWM2M_OBJ_NODE 32769

/* Resources of the node object; "type" is what SenML carries (vs = string, v = number). */
typedef enum {
    TML_NODE_CORE = 0,            /* vs: CPU core, "cortex-m4" */
    TML_NODE_CLOCK_HZ = 1,        /* v: core clock, Hz */
    TML_NODE_RAM = 2,             /* v: RAM budget for models, bytes */
    TML_NODE_FLASH = 3,           /* v: flash budget for models, bytes */
    TML_NODE_ACCELERATORS = 4,    /* vs: comma-separated ("fpu,dsp"), "" if none */
    TML_NODE_RTOS = 5,            /* vs: RTOS / platform port ("host", "mps2") */
    TML_NODE_RUNTIME_VERSION = 6, /* vs: tinymlaas runtime version */
    TML_NODE_KERNELS = 7,         /* vs: comma-separated kernel names the firmware holds */
    TML_NODE_MODEL = 8,           /* vs: current model name, "" if none */
    TML_NODE_MODEL_SHA256 = 9,    /* vs: its sha256, hex */
    TML_NODE_INFERENCES = 10,     /* v: inference count since boot */
    TML_NODE_LAST_LATENCY_US = 11, /* v: last inference time, microseconds */
    TML_NODE_TARGET = 12,         /* vs: target profile name ("cortex-m4", "host") */
    TML_NODE_RESOURCE_COUNT = 13
} tml_node_resource;

/* ---- SenML JSON (RFC 8428), LwM2M content format 110 ---- */

#define TML_CF_TEXT 0
#define TML_CF_LINK_FORMAT 40
#define TML_CF_OPAQUE 42
#define TML_CF_SENML_JSON 110
#define TML_CF_SENML_CBOR 112
#define TML_SENML_MAX 65536     /* largest SenML payload accepted */
#define TML_SENML_RECORDS_MAX 512

typedef enum {
    TML_SENML_NUM = 0,  /* "v" */
    TML_SENML_STR = 1,  /* "vs" */
    TML_SENML_BOOL = 2, /* "vb" */
    TML_SENML_DATA = 3, /* "vd" (base64 text, not decoded) */
    TML_SENML_OBJLNK = 4 /* "vlo" (LwM2M) */
} tml_senml_kind;

/* One resolved record: name = base name + name. */
typedef struct {
    char name[128];
    tml_senml_kind kind;
    double num;
    const char *str; /* STR, DATA, OBJLNK; valid during the callback */
    bool b;
} tml_senml_rec;

typedef int (*tml_senml_fn)(void *ctx, const tml_senml_rec *r);

/* Parses a SenML JSON array and calls fn for each record (non-zero stops). TML_ERR_FORMAT
 * with a reason for anything that is not valid SenML: not an array, a record without a value
 * or with two, a name over 127 bytes, more than TML_SENML_RECORDS_MAX records. */
tml_status tml_senml_json_parse(const char *buf, size_t len, tml_senml_fn fn, void *ctx, char *err,
                                size_t errsz);

/* Turns a SenML JSON read of /32769/0 into the node info JSON object the store keeps
 * ({"core":..,"clock_hz":..,"ram":..,"flash":..,"accelerators":..,"rtos":..,
 * "runtime_version":..,"kernels":..,"target":..,"inference_count":..,"last_latency_us":..});
 * the current model goes to model/model_sha ("" if none). Records of other paths and
 * unknown resources are ignored; a resource of the wrong type is TML_ERR_FORMAT.
 * *json is malloc'd. */
tml_status tml_lwm2m_node_info(const char *buf, size_t len, char **json, char *model,
                               size_t modelsz, char *model_sha, size_t shasz, char *err,
                               size_t errsz);

#endif /* TML_LWM2M_H */
