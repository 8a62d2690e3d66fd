/*
 * lwm2m.h - the transport-independent parts of OMA LwM2M 1.1 the service needs: the CoRE
 * link format (RFC 6690) of registration payloads, and the query parameters of the
 * registration interface (ep, lt, lwm2m, b, sms, Q).
 *
 * Everything here parses bytes that arrive from the network, so every function takes an
 * explicit length, never reads past it, never allocates, bounds every count and length, and
 * reports a one-line reason ("link 3: parameter 'ct': unterminated quoted string"). These
 * functions have fuzz targets (fuzz/fuzz_linkformat.c, fuzz/fuzz_lwm2m_query.c). libcoap
 * does the CoAP framing; it has no link-format parser for incoming payloads, hence this one.
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

#define TML_LWM2M_DEFAULT_LIFETIME 86400 /* LwM2M's default when lt is absent */

/* Parses "ep=dev1&lt=60&lwm2m=1.1&b=U" (the Uri-Query options joined with '&'). For a
 * register (update == false) ep is required and defaults are filled in (lt 86400, lwm2m
 * "1.0", b "U"); an update accepts only lt, b, sms, Q. Unknown parameters are ignored, as
 * the specification asks. TML_ERR_FORMAT with a reason for a malformed or duplicate
 * parameter; TML_ERR_UNSUPPORTED for an LwM2M version other than 1.0, 1.1 or 1.2. */
tml_status tml_lwm2m_parse_query(const char *q, size_t len, bool update, tml_lwm2m_reg_params *out,
                                 char *err, size_t errsz);

#endif /* TML_LWM2M_H */
