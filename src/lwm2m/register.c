/*
 * register.c - the LwM2M 1.1 registration interface, minus the transport: the query
 * parameters of Register and Update, and the object links of their payload.
 *
 * Kept apart from the CoAP code (src/service/coap.c) so it can be tested and fuzzed on plain
 * bytes. The rules, from OMA-TS-LightweightM2M_Transport / _Core 1.1, section "Register":
 * ep is mandatory on Register and absent on Update; lt defaults to 86400 s; lwm2m defaults to
 * "1.0"; b defaults to "U" and is a set of the letters U, M, H, T, S, N (and Q, queue mode,
 * in 1.0 style); unknown parameters must be ignored. Endpoint names become keys in the store
 * and path-free identifiers in logs, so they are limited to printable ASCII without
 * separators, 127 bytes at most.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

static tml_status qfail(char *err, size_t errsz, tml_status st, const char *fmt, const char *a,
                        size_t alen)
{
    char name[40];
    if (alen > 32)
        alen = 32;
    memcpy(name, a, alen);
    name[alen] = 0;
    /* make sure no control characters reach a log line */
    {
        size_t i;
        for (i = 0; i < alen; i++)
            if ((unsigned char)name[i] < 0x20 || (unsigned char)name[i] > 0x7e)
                name[i] = '?';
    }
    if (err && errsz)
        snprintf(err, errsz, fmt, name);
    return st;
}

static bool eq(const char *k, size_t kl, const char *lit)
{
    return kl == strlen(lit) && memcmp(k, lit, kl) == 0;
}

static bool ep_char_ok(char c)
{
    return c > 0x20 && c < 0x7f && !strchr("&?/\"\\<>;,%", c);
}

bool tml_lwm2m_endpoint_valid(const char *s)
{
    size_t i;
    for (i = 0; s[i]; i++)
        if (i >= 127 || !ep_char_ok(s[i]))
            return false;
    return i > 0;
}

tml_status tml_lwm2m_parse_query(const char *q, size_t len, bool update, tml_lwm2m_reg_params *o,
                                 char *err, size_t errsz)
{
    size_t i = 0;
    bool has_sms = false;
    memset(o, 0, sizeof *o);
    if (err && errsz)
        err[0] = 0;
    if (len > 2048)
        return qfail(err, errsz, TML_ERR_FORMAT, "registration: query longer than 2048 bytes%s",
                     "", 0);
    while (i < len) {
        const char *k = q + i, *v = NULL;
        size_t kl = 0, vl = 0, j;
        while (i < len && q[i] != '&' && q[i] != '=')
            i++;
        kl = (size_t)(k == q + i ? 0 : (size_t)(q + i - k));
        if (i < len && q[i] == '=') {
            v = q + ++i;
            while (i < len && q[i] != '&')
                i++;
            vl = (size_t)(q + i - v);
        }
        if (i < len)
            i++; /* '&' */
        if (kl == 0) {
            if (v)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: empty parameter name%s",
                             "", 0);
            continue; /* "a&&b" */
        }
        if (eq(k, kl, "ep")) {
            if (update)
                continue; /* not part of an update; ignore */
            if (o->has_endpoint)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: duplicate parameter '%s'",
                             k, kl);
            if (!v || vl == 0 || vl >= sizeof o->endpoint)
                return qfail(err, errsz, TML_ERR_FORMAT,
                             "registration: parameter '%s' must be 1 to 127 bytes", k, kl);
            for (j = 0; j < vl; j++)
                if (!ep_char_ok(v[j]))
                    return qfail(err, errsz, TML_ERR_FORMAT,
                                 "registration: endpoint '%s' has a character that is not allowed",
                                 v, vl);
            memcpy(o->endpoint, v, vl);
            o->endpoint[vl] = 0;
            o->has_endpoint = true;
        } else if (eq(k, kl, "lt")) {
            int64_t lt = 0;
            if (o->has_lifetime)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: duplicate parameter '%s'",
                             k, kl);
            if (!v || vl == 0 || vl > 10)
                return qfail(err, errsz, TML_ERR_FORMAT,
                             "registration: lifetime '%s' is not a number of seconds", v ? v : "",
                             v ? vl : 0);
            for (j = 0; j < vl; j++) {
                if (v[j] < '0' || v[j] > '9')
                    return qfail(err, errsz, TML_ERR_FORMAT,
                                 "registration: lifetime '%s' is not a number of seconds", v, vl);
                lt = lt * 10 + (v[j] - '0');
            }
            if (lt < 1 || lt > 4294967295LL)
                return qfail(err, errsz, TML_ERR_FORMAT,
                             "registration: lifetime '%s' out of range 1..4294967295", v, vl);
            o->lifetime = lt;
            o->has_lifetime = true;
        } else if (eq(k, kl, "lwm2m")) {
            if (update)
                continue;
            if (o->has_version)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: duplicate parameter '%s'",
                             k, kl);
            if (!v || !(eq(v, vl, "1.0") || eq(v, vl, "1.1") || eq(v, vl, "1.2")))
                return qfail(err, errsz, TML_ERR_UNSUPPORTED,
                             "registration: LwM2M version '%s' not supported (1.0, 1.1, 1.2)",
                             v ? v : "", v ? vl : 0);
            memcpy(o->version, v, vl);
            o->version[vl] = 0;
            o->has_version = true;
        } else if (eq(k, kl, "b")) {
            if (o->has_binding)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: duplicate parameter '%s'",
                             k, kl);
            if (!v || vl == 0 || vl >= sizeof o->binding)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: binding '%s' is invalid",
                             v ? v : "", v ? vl : 0);
            for (j = 0; j < vl; j++) {
                if (!strchr("UMHTSNQ", v[j]) || v[j] == 0 || memchr(v, v[j], j) != NULL)
                    return qfail(err, errsz, TML_ERR_FORMAT,
                                 "registration: binding '%s' is invalid (letters U M H T S N Q, "
                                 "each once)",
                                 v, vl);
                if (v[j] == 'Q')
                    o->queue = true;
            }
            memcpy(o->binding, v, vl);
            o->binding[vl] = 0;
            o->has_binding = true;
        } else if (eq(k, kl, "sms")) {
            if (has_sms)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: duplicate parameter '%s'",
                             k, kl);
            if (!v || vl >= sizeof o->sms)
                return qfail(err, errsz, TML_ERR_FORMAT, "registration: parameter '%s' is invalid",
                             k, kl);
            for (j = 0; j < vl; j++)
                if (!ep_char_ok(v[j]))
                    return qfail(err, errsz, TML_ERR_FORMAT,
                                 "registration: parameter '%s' is invalid", k, kl);
            memcpy(o->sms, v, vl);
            o->sms[vl] = 0;
            has_sms = true;
        } else if (eq(k, kl, "Q")) {
            if (v)
                return qfail(err, errsz, TML_ERR_FORMAT,
                             "registration: parameter '%s' takes no value", k, kl);
            o->queue = true;
        }
        /* anything else: ignored (LwM2M: "unknown parameters shall be ignored") */
    }
    if (!update) {
        if (!o->has_endpoint)
            return qfail(err, errsz, TML_ERR_FORMAT,
                         "registration: missing endpoint name (query parameter 'ep')%s", "", 0);
        if (!o->has_lifetime)
            o->lifetime = TML_LWM2M_DEFAULT_LIFETIME;
        if (!o->has_version)
            snprintf(o->version, sizeof o->version, "1.0");
        if (!o->has_binding)
            snprintf(o->binding, sizeof o->binding, "U");
    }
    return TML_OK;
}

/* Parses a decimal 0..65535 of exactly n digits. */
static bool parse_u16(const char *s, size_t n, unsigned *out)
{
    unsigned v = 0;
    size_t i;
    if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
        return false;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *out = v;
    return true;
}

/* Whether uri is "/O" or "/O/I". */
static bool object_path(const char *u, size_t n, unsigned *obj, unsigned *inst, bool *has_inst)
{
    size_t i;
    if (n < 2 || u[0] != '/')
        return false;
    for (i = 1; i < n && u[i] != '/'; i++)
        ;
    if (!parse_u16(u + 1, i - 1, obj))
        return false;
    *has_inst = false;
    if (i == n)
        return true;
    *has_inst = true;
    return parse_u16(u + i + 1, n - i - 1, inst);
}

tml_status tml_lwm2m_links_normalize(const tml_link *links, size_t n, char *out, size_t outsz,
                                     char *err, size_t errsz)
{
    size_t k, used = 0;
    if (outsz == 0)
        return TML_ERR_FIT;
    out[0] = 0;
    for (k = 0; k < n; k++) {
        const tml_link *l = &links[k];
        unsigned o, i;
        bool hi;
        const char *rt;
        size_t rtl, need;
        if (!object_path(l->uri, l->uri_len, &o, &i, &hi)) {
            bool root = tml_link_param(l, "rt", &rt, &rtl) && rt && rtl == 9 &&
                        memcmp(rt, "oma.lwm2m", 9) == 0;
            if (!root || l->uri_len == 0 || l->uri[0] != '/') {
                char u[48];
                size_t ul = l->uri_len < 40 ? l->uri_len : 40, j;
                memcpy(u, l->uri, ul);
                u[ul] = 0;
                for (j = 0; j < ul; j++)
                    if ((unsigned char)u[j] < 0x20 || (unsigned char)u[j] > 0x7e)
                        u[j] = '?';
                if (err && errsz)
                    snprintf(err, errsz,
                             "registration: link %zu '<%s>' is not an object '/O' or instance "
                             "'/O/I' (0..65535)",
                             k + 1, u);
                return TML_ERR_FORMAT;
            }
        }
        need = (k ? 1 : 0) + 2 + l->uri_len + l->params_len;
        if (used + need + 1 > outsz) {
            if (err && errsz)
                snprintf(err, errsz, "registration: object links longer than %zu bytes", outsz - 1);
            return TML_ERR_FIT;
        }
        if (k)
            out[used++] = ',';
        out[used++] = '<';
        memcpy(out + used, l->uri, l->uri_len);
        used += l->uri_len;
        out[used++] = '>';
        /* params: drop the white space the parser tolerated outside quoted strings */
        {
            size_t j;
            bool inq = false;
            for (j = 0; j < l->params_len; j++) {
                char c = l->params[j];
                if (inq) {
                    if (c == '\\' && j + 1 < l->params_len) {
                        out[used++] = c;
                        c = l->params[++j];
                    } else if (c == '"') {
                        inq = false;
                    }
                } else if (c == '"') {
                    inq = true;
                } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                    continue;
                }
                out[used++] = c;
            }
        }
        out[used] = 0;
    }
    return TML_OK;
}

bool tml_lwm2m_links_have_object(const char *links, unsigned obj)
{
    const char *p = links;
    while (p && (p = strchr(p, '<')) != NULL) {
        const char *e = strchr(p, '>');
        unsigned o, i;
        bool hi;
        if (!e)
            return false;
        if (object_path(p + 1, (size_t)(e - p - 1), &o, &i, &hi) && o == obj)
            return true;
        p = e;
    }
    return false;
}
