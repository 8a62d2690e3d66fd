/*
 * linkformat.c - a bounded parser for the CoRE link format (RFC 6690), the payload of LwM2M
 * registrations ("</1/0>,</3/0>;ver=1.1,</5>").
 *
 * A single left-to-right pass over (buf, len) with an index that is checked before every
 * read; nothing is copied or allocated: each link is a (pointer, length) pair into the
 * caller's buffer for its URI and for its raw parameter text, which has been validated
 * against the grammar, so later lookups (tml_link_param) can walk it without re-checking:
 *
 *   Link       = link-value *( "," link-value )
 *   link-value = "<" URI-Reference ">" *( ";" link-param )
 *   link-param = parmname [ "=" ( ptoken / quoted-string ) ]
 *
 * Deviations on purpose: optional white space (SP, HTAB, CR, LF) is accepted around ',' and
 * ';' because real clients pretty-print; URIs are limited to printable ASCII without '<', '>'
 * and '"'; every URI and value is at most 255 bytes; there are at most `max` links.
 */
#include <stdio.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static bool is_uri_char(char c) { return c > 0x20 && c < 0x7f && c != '<' && c != '>' && c != '"'; }

static bool is_parmname_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$&+-.^_`|~", c) != NULL);
}

static bool is_ptoken_char(char c)
{
    return c > 0x20 && c < 0x7f && c != ',' && c != ';' && c != '"' && c != '\\';
}

typedef struct {
    const char *b;
    size_t len, i;
    char *err;
    size_t errsz;
} lf_parser;

static void skip_ws(lf_parser *p)
{
    while (p->i < p->len && is_ws(p->b[p->i]))
        p->i++;
}

static tml_status fail(lf_parser *p, size_t link, const char *what)
{
    if (p->err && p->errsz)
        snprintf(p->err, p->errsz, "link-format: link %zu: %s (at byte %zu)", link + 1, what, p->i);
    return TML_ERR_FORMAT;
}

/* Parses one ";name[=value]" starting at ';'. */
static tml_status parse_param(lf_parser *p, size_t link)
{
    size_t start, vlen = 0;
    p->i++; /* ';' */
    skip_ws(p);
    start = p->i;
    while (p->i < p->len && is_parmname_char(p->b[p->i]))
        p->i++;
    if (p->i == start)
        return fail(p, link, "empty parameter name");
    if (p->i - start > 64)
        return fail(p, link, "parameter name longer than 64 bytes");
    if (p->i >= p->len || p->b[p->i] != '=')
        return TML_OK; /* bare name */
    p->i++;
    if (p->i < p->len && p->b[p->i] == '"') {
        p->i++;
        for (;;) {
            if (p->i >= p->len)
                return fail(p, link, "unterminated quoted string");
            if (p->b[p->i] == '"')
                break;
            if (p->b[p->i] == '\\') {
                p->i++;
                if (p->i >= p->len)
                    return fail(p, link, "unterminated quoted string");
            }
            if ((unsigned char)p->b[p->i] < 0x20 && !is_ws(p->b[p->i]))
                return fail(p, link, "control character in quoted string");
            p->i++;
            if (++vlen > TML_LINK_PARAM_MAX)
                return fail(p, link, "parameter value longer than 255 bytes");
        }
        p->i++; /* closing quote */
        return TML_OK;
    }
    start = p->i;
    while (p->i < p->len && is_ptoken_char(p->b[p->i]))
        p->i++;
    if (p->i == start)
        return fail(p, link, "empty parameter value");
    if (p->i - start > TML_LINK_PARAM_MAX)
        return fail(p, link, "parameter value longer than 255 bytes");
    return TML_OK;
}

tml_status tml_linkformat_parse(const char *buf, size_t len, tml_link *links, size_t max,
                                size_t *n, char *err, size_t errsz)
{
    lf_parser p;
    size_t count = 0;
    p.b = buf;
    p.len = len;
    p.i = 0;
    p.err = err;
    p.errsz = errsz;
    *n = 0;
    if (err && errsz)
        err[0] = 0;
    if (len > TML_LINKFORMAT_MAX) {
        if (err && errsz)
            snprintf(err, errsz, "link-format: payload of %zu bytes, limit %d", len,
                     TML_LINKFORMAT_MAX);
        return TML_ERR_FIT;
    }
    skip_ws(&p);
    if (p.i == len)
        return TML_OK;
    for (;;) {
        size_t ustart, pstart, pend;
        tml_status st;
        if (count >= max) {
            if (err && errsz)
                snprintf(err, errsz, "link-format: more than %zu links", max);
            return TML_ERR_FIT;
        }
        if (p.i >= len || p.b[p.i] != '<')
            return fail(&p, count, "expected '<'");
        p.i++;
        ustart = p.i;
        while (p.i < len && is_uri_char(p.b[p.i]))
            p.i++;
        if (p.i >= len || p.b[p.i] != '>')
            return fail(&p, count, "unterminated or invalid URI");
        if (p.i - ustart > TML_LINK_URI_MAX)
            return fail(&p, count, "URI longer than 255 bytes");
        links[count].uri = p.b + ustart;
        links[count].uri_len = p.i - ustart;
        p.i++; /* '>' */
        pstart = pend = p.i;
        for (;;) {
            skip_ws(&p);
            if (p.i >= len || p.b[p.i] != ';')
                break;
            if (pend == pstart)
                pstart = p.i; /* params start at the first ';' (after optional white space) */
            st = parse_param(&p, count);
            if (st != TML_OK)
                return st;
            pend = p.i;
        }
        links[count].params = pend > pstart ? p.b + pstart : "";
        links[count].params_len = pend > pstart ? pend - pstart : 0;
        count++;
        skip_ws(&p);
        if (p.i >= len)
            break;
        if (p.b[p.i] != ',')
            return fail(&p, count - 1, "expected ',' or ';'");
        p.i++;
        skip_ws(&p);
    }
    *n = count;
    return TML_OK;
}

bool tml_link_param(const tml_link *l, const char *name, const char **value, size_t *value_len)
{
    const char *s = l->params, *e = l->params + l->params_len;
    size_t nlen = strlen(name);
    *value = NULL;
    *value_len = 0;
    /* params were validated by the parser: ';' name ['=' (token | "quoted")], with optional
     * white space before ';' and after it */
    while (s < e) {
        const char *nm, *v = NULL;
        size_t nl, vl = 0;
        while (s < e && (is_ws(*s) || *s == ';'))
            s++;
        nm = s;
        while (s < e && is_parmname_char(*s))
            s++;
        nl = (size_t)(s - nm);
        if (s < e && *s == '=') {
            s++;
            if (s < e && *s == '"') {
                v = ++s;
                while (s < e && *s != '"') {
                    if (*s == '\\' && s + 1 < e)
                        s++;
                    s++;
                }
                vl = (size_t)(s - v);
                if (s < e)
                    s++;
            } else {
                v = s;
                while (s < e && is_ptoken_char(*s))
                    s++;
                vl = (size_t)(s - v);
            }
        }
        if (nl == nlen && nl > 0 && memcmp(nm, name, nl) == 0) {
            *value = v;
            *value_len = vl;
            return true;
        }
        if (nl == 0 && s < e && !is_ws(*s) && *s != ';')
            s++; /* cannot happen on validated text; guarantees progress */
    }
    return false;
}
