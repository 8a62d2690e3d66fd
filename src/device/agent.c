/*
 * agent.c - the device agent core: LwM2M objects, registration, model download and install,
 * inference. See include/tml/device.h for the contract and docs/device.md for the protocol.
 *
 * How it works: tml_device_step() is the agent's only active part. It registers, refreshes the
 * registration before its lifetime runs out (backing off after failures), and runs a pending
 * download to completion, one Block2 request at a time through the port. A lost block is asked
 * for again (up to TML_DEV_BLOCK_TRIES times) from the offset reached, never from the start.
 * Every block is hashed as it arrives and written both to the inactive storage slot and to
 * that slot's RAM image, which tml_exec_load then validates into the slot's own arena: the
 * running model is never touched until Execute /5/0/2 switches `active` and records it in the
 * state file. tml_device_handle() answers requests synchronously from the current state.
 *
 * Why this shape: device-side code (no malloc, stdio or globals) so it is the same on every
 * port; all network input is parsed here with explicit lengths, so one fuzz target covers it.
 * Text is built with the small bounded writer below instead of snprintf (no stdio).
 */
#include "tml/device.h"

#include <string.h>

#include "tml/kernels.h"

#ifndef TML_VERSION
#define TML_VERSION "0"
#endif

/* ---- a bounded text writer (no stdio on the device) ---- */

typedef struct {
    char *p;
    size_t cap, len;
    int over; /* something did not fit */
} wbuf;

static void wb_init(wbuf *b, char *p, size_t cap)
{
    b->p = p;
    b->cap = cap;
    b->len = 0;
    b->over = 0;
    if (cap)
        p[0] = '\0';
}

static void wb_mem(wbuf *b, const char *s, size_t n)
{
    if (b->cap == 0)
        return;
    if (b->len + n + 1 > b->cap) {
        b->over = 1;
        n = b->cap - 1 - b->len;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void wb_str(wbuf *b, const char *s) { wb_mem(b, s, strlen(s)); }

static void wb_u64(wbuf *b, uint64_t v)
{
    char t[24];
    int i = (int)sizeof t;
    do {
        t[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    wb_mem(b, t + i, sizeof t - (size_t)i);
}

static void wb_i64(wbuf *b, int64_t v)
{
    if (v < 0) {
        wb_str(b, "-");
        wb_u64(b, (uint64_t)(-(v + 1)) + 1u);
    } else {
        wb_u64(b, (uint64_t)v);
    }
}

/* A float as JSON: 7 significant digits in scientific notation ("-1.234567e-03"), null for
 * NaN and infinities. The loops are bounded by the float exponent range. */
static void wb_f32(wbuf *b, float f)
{
    double v = f;
    int e = 0;
    uint32_t m;
    char t[16];
    if (v != v || v > 3.5e38 || v < -3.5e38) {
        wb_str(b, "null");
        return;
    }
    if (v == 0) {
        wb_str(b, "0");
        return;
    }
    if (v < 0) {
        wb_str(b, "-");
        v = -v;
    }
    while (v >= 10.0) {
        v /= 10.0;
        e++;
    }
    while (v < 1.0) {
        v *= 10.0;
        e--;
    }
    m = (uint32_t)(v * 1e6 + 0.5);
    if (m >= 10000000u) {
        m /= 10;
        e++;
    }
    t[0] = (char)('0' + m / 1000000u);
    t[1] = '.';
    for (int i = 7; i >= 2; i--) {
        t[i] = (char)('0' + m % 10);
        m /= 10;
    }
    wb_mem(b, t, 8);
    wb_str(b, e < 0 ? "e-" : "e+");
    if (e < 0)
        e = -e;
    if (e < 10)
        wb_str(b, "0");
    wb_u64(b, (uint64_t)e);
}

/* A JSON string body (without quotes): escapes '"', '\\' and control characters. */
static void wb_json(wbuf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            char t[2] = {'\\', (char)c};
            wb_mem(b, t, 2);
        } else if (c < 0x20) {
            char t[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            wb_mem(b, t, 6);
        } else {
            wb_mem(b, (const char *)&c, 1);
        }
    }
}

static void wb_hex(wbuf *b, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char t[2] = {hex[p[i] >> 4], hex[p[i] & 15]};
        wb_mem(b, t, 2);
    }
}

/* ---- small helpers ---- */

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint64_t now_us(tml_device *d) { return d->port.now_us(d->port.ctx); }

static void dlog(tml_device *d, int level, wbuf *b)
{
    if (d->port.log)
        d->port.log(d->port.ctx, level, b->p);
}

/* (switches, not pointer tables: a table of pointers is writable data in PIC builds) */
static const char *state_name(tml_fw_state s)
{
    switch (s) {
    case TML_FW_STATE_IDLE: return "idle";
    case TML_FW_STATE_DOWNLOADING: return "downloading";
    case TML_FW_STATE_DOWNLOADED: return "downloaded";
    case TML_FW_STATE_UPDATING: return "updating";
    }
    return "?";
}

static const char *result_name(tml_fw_result r)
{
    switch (r) {
    case TML_FW_RESULT_INITIAL: return "initial";
    case TML_FW_RESULT_SUCCESS: return "success";
    case TML_FW_RESULT_NO_STORAGE: return "not enough storage";
    case TML_FW_RESULT_NO_MEMORY: return "out of memory";
    case TML_FW_RESULT_CONN_LOST: return "connection lost";
    case TML_FW_RESULT_INTEGRITY: return "integrity check failure";
    case TML_FW_RESULT_UNSUPPORTED: return "unsupported package type";
    case TML_FW_RESULT_INVALID_URI: return "invalid uri";
    case TML_FW_RESULT_FAILED: return "update failed";
    case TML_FW_RESULT_BAD_PROTOCOL: return "unsupported protocol";
    }
    return "?";
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ---- the state record (docs/device.md): "TMLD", version, active slot, size, sha, name,
 * then SHA-256 of all of that, so a torn or foreign file is refused ---- */

#define STATE_MAGIC "TMLD"
#define STATE_VERSION 1u
#define STATE_BODY (4 + 4 + 4 + 4 + 32 + TML_DEV_NAME_MAX)
#define STATE_BYTES (STATE_BODY + 32)

static tml_status state_write(tml_device *d)
{
    uint8_t rec[STATE_BYTES];
    int a = d->active;
    memset(rec, 0, sizeof rec);
    memcpy(rec, STATE_MAGIC, 4);
    wr32(rec + 4, STATE_VERSION);
    wr32(rec + 8, (uint32_t)(int32_t)a);
    if (a >= 0) {
        wr32(rec + 12, d->size[a]);
        memcpy(rec + 16, d->sha[a], 32);
        memcpy(rec + 48, d->name[a], TML_DEV_NAME_MAX);
    }
    tml_sha256(rec, STATE_BODY, rec + STATE_BODY);
    return d->port.state_save(d->port.ctx, rec, STATE_BYTES);
}

static void state_restore(tml_device *d)
{
    uint8_t rec[STATE_BYTES], h[32], got[32];
    uint32_t len = 0;
    int32_t a;
    uint32_t size;
    char mb[160];
    wbuf b;
    tml_status st;
    wb_init(&b, mb, sizeof mb);
    st = d->port.state_load(d->port.ctx, rec, sizeof rec, &len);
    if (st == TML_ERR_NOT_FOUND)
        return;
    if (st != TML_OK || len != STATE_BYTES || memcmp(rec, STATE_MAGIC, 4) != 0 ||
        rd32(rec + 4) != STATE_VERSION) {
        wb_str(&b, "state record unreadable or of another version: starting without a model");
        dlog(d, 1, &b);
        return;
    }
    tml_sha256(rec, STATE_BODY, h);
    a = (int32_t)rd32(rec + 8);
    size = rd32(rec + 12);
    if (memcmp(h, rec + STATE_BODY, 32) != 0 || a < -1 || a > 1 || size > d->cfg.pkg_cap ||
        rec[48 + TML_DEV_NAME_MAX - 1] != '\0') {
        wb_str(&b, "state record corrupt: starting without a model");
        dlog(d, 1, &b);
        return;
    }
    if (a < 0)
        return;
    if (d->port.slot_read(d->port.ctx, a, 0, d->cfg.pkg_buf[a], size) != TML_OK) {
        wb_str(&b, "slot ");
        wb_u64(&b, (uint64_t)a);
        wb_str(&b, ": unreadable: starting without a model");
        dlog(d, 0, &b);
        return;
    }
    tml_sha256(d->cfg.pkg_buf[a], size, got);
    if (memcmp(got, rec + 16, 32) != 0) {
        wb_str(&b, "slot ");
        wb_u64(&b, (uint64_t)a);
        wb_str(&b, ": sha-256 differs from the state record: starting without a model");
        dlog(d, 0, &b);
        return;
    }
    st = tml_exec_load(&d->exec[a], d->cfg.pkg_buf[a], size, d->cfg.arena[a], d->cfg.arena_cap);
    if (st != TML_OK) {
        wb_str(&b, "slot ");
        wb_u64(&b, (uint64_t)a);
        wb_str(&b, ": package refused: ");
        wb_str(&b, d->exec[a].error ? d->exec[a].error : tml_status_str(st));
        dlog(d, 0, &b);
        return;
    }
    d->active = a;
    d->size[a] = size;
    memcpy(d->sha[a], got, 32);
    memcpy(d->name[a], rec + 48, TML_DEV_NAME_MAX);
    wb_str(&b, "restored model '");
    wb_str(&b, d->name[a]);
    wb_str(&b, "' from slot ");
    wb_u64(&b, (uint64_t)a);
    wb_str(&b, " (");
    wb_u64(&b, size);
    wb_str(&b, " bytes)");
    dlog(d, 2, &b);
}

/* ---- init ---- */

tml_status tml_device_init(tml_device *d, const tml_device_config *cfg, const tml_device_port *port)
{
    if (!d || !cfg || !port || !port->request || !port->slot_begin || !port->slot_write ||
        !port->slot_read || !port->slot_commit || !port->state_save || !port->state_load ||
        !port->now_us || !cfg->endpoint || !cfg->pkg_buf[0] || !cfg->pkg_buf[1] ||
        !cfg->arena[0] || !cfg->arena[1] || cfg->lifetime_s < 2 || cfg->pkg_cap < 1024)
        return TML_ERR_ARG;
    {
        size_t n = strlen(cfg->endpoint);
        if (n == 0 || n > 127)
            return TML_ERR_ARG;
        for (size_t i = 0; i < n; i++) {
            char c = cfg->endpoint[i];
            if (c <= ' ' || c > '~' || strchr("&?/\"\\<>;,%", c))
                return TML_ERR_ARG;
        }
    }
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    d->port = *port;
    d->active = -1;
    d->dl_slot = -1;
    d->retry_ms = TML_DEV_REG_RETRY_MIN_MS;
    d->fw_state = TML_FW_STATE_IDLE;
    d->fw_result = TML_FW_RESULT_INITIAL;
    state_restore(d);
    return TML_OK;
}

/* ---- registration ---- */

const char *tml_device_links(void) { return "</1/0>,</3/0>,</5/0>,</9>,</32769/0>"; }

static void reg_failed(tml_device *d, uint64_t now)
{
    d->next_try_us = now + (uint64_t)d->retry_ms * 1000u;
    d->retry_ms = d->retry_ms * 2 > TML_DEV_REG_RETRY_MAX_MS ? TML_DEV_REG_RETRY_MAX_MS
                                                             : d->retry_ms * 2;
}

static void reg_register(tml_device *d, uint64_t now)
{
    char q[200], mb[192];
    uint8_t pl[128];
    wbuf qb, b;
    tml_device_request rq;
    tml_device_response rs;
    tml_status st;
    const char *links = tml_device_links();

    wb_init(&qb, q, sizeof q);
    wb_str(&qb, "ep=");
    wb_str(&qb, d->cfg.endpoint);
    wb_str(&qb, "&lt=");
    wb_u64(&qb, d->cfg.lifetime_s);
    wb_str(&qb, "&lwm2m=1.1&b=U");
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.method = TML_COAP_POST;
    rq.path = "rd";
    rq.query = q;
    rq.content_format = TML_DEV_CF_LINK;
    rq.payload = (const uint8_t *)links;
    rq.payload_len = strlen(links);
    rq.block2_num = -1;
    rs.payload = pl;
    rs.payload_cap = sizeof pl;
    st = d->port.request(d->port.ctx, &rq, &rs);
    wb_init(&b, mb, sizeof mb);
    if (st == TML_OK && rs.code == TML_COAP_CREATED && rs.location[0]) {
        memcpy(d->location, rs.location, sizeof d->location);
        d->location[sizeof d->location - 1] = '\0';
        d->registered = 1;
        d->last_reg_us = now;
        d->retry_ms = TML_DEV_REG_RETRY_MIN_MS;
        wb_str(&b, "registered as '");
        wb_str(&b, d->location);
        wb_str(&b, "' (lifetime ");
        wb_u64(&b, d->cfg.lifetime_s);
        wb_str(&b, " s)");
        dlog(d, 2, &b);
        return;
    }
    wb_str(&b, "registration failed: ");
    if (st != TML_OK) {
        wb_str(&b, "no answer from the server");
    } else {
        wb_str(&b, "server answered ");
        wb_u64(&b, (uint64_t)(rs.code >> 5));
        wb_str(&b, rs.code % 32 < 10 ? ".0" : ".");
        wb_u64(&b, (uint64_t)(rs.code % 32));
        if (rs.payload_len) {
            wb_str(&b, " '");
            wb_mem(&b, (const char *)pl, rs.payload_len < 80 ? rs.payload_len : 80);
            wb_str(&b, "'");
        }
    }
    wb_str(&b, "; trying again in ");
    wb_u64(&b, d->retry_ms);
    wb_str(&b, " ms");
    dlog(d, 1, &b);
    reg_failed(d, now);
}

static void reg_update(tml_device *d, uint64_t now)
{
    char mb[160];
    uint8_t pl[64];
    wbuf b;
    tml_device_request rq;
    tml_device_response rs;
    tml_status st;
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.method = TML_COAP_POST;
    rq.path = d->location;
    rq.content_format = TML_DEV_CF_NONE;
    rq.block2_num = -1;
    rs.payload = pl;
    rs.payload_cap = sizeof pl;
    st = d->port.request(d->port.ctx, &rq, &rs);
    wb_init(&b, mb, sizeof mb);
    if (st == TML_OK && rs.code == TML_COAP_CHANGED) {
        d->last_reg_us = now;
        d->retry_ms = TML_DEV_REG_RETRY_MIN_MS;
        return;
    }
    if (st == TML_OK && rs.code >= TML_COAP_CODE(4, 0) && rs.code < TML_COAP_CODE(5, 0)) {
        /* the server forgot us (expired, or restarted without state): register anew */
        wb_str(&b, "registration update refused: registering again");
        dlog(d, 1, &b);
        d->registered = 0;
        d->next_try_us = now;
        return;
    }
    wb_str(&b, "registration update failed: trying again");
    dlog(d, 1, &b);
    reg_failed(d, now);
    if (now - d->last_reg_us >= (uint64_t)d->cfg.lifetime_s * 1000000u)
        d->registered = 0; /* expired on the server by now */
}

tml_status tml_device_deregister(tml_device *d)
{
    tml_device_request rq;
    tml_device_response rs;
    uint8_t pl[64];
    tml_status st;
    if (!d->registered)
        return TML_OK;
    memset(&rq, 0, sizeof rq);
    memset(&rs, 0, sizeof rs);
    rq.method = TML_COAP_DELETE;
    rq.path = d->location;
    rq.content_format = TML_DEV_CF_NONE;
    rq.block2_num = -1;
    rs.payload = pl;
    rs.payload_cap = sizeof pl;
    st = d->port.request(d->port.ctx, &rq, &rs);
    d->registered = 0;
    if (st != TML_OK)
        return st;
    return rs.code == TML_COAP_DELETED ? TML_OK : TML_ERR;
}

/* ---- firmware update: the Package URI ---- */

tml_fw_result tml_device_uri_parse(const char *uri, size_t len, char host[TML_DEV_HOST_MAX],
                                   uint16_t *port, char path[TML_DEV_PATH_MAX], int *secure)
{
    size_t i, h0, h1, p0;
    uint32_t pn = 5683;
    int sec = 0;
    host[0] = path[0] = '\0';
    *port = 0;
    if (secure)
        *secure = 0;
    for (i = 0; i < len; i++)
        if ((unsigned char)uri[i] <= ' ' || (unsigned char)uri[i] > '~')
            return TML_FW_RESULT_INVALID_URI;
    for (i = 0; i < len && uri[i] != ':'; i++) {
        char c = uri[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            return TML_FW_RESULT_INVALID_URI;
    }
    if (i == 0 || i >= len || len - i < 3 || uri[i + 1] != '/' || uri[i + 2] != '/')
        return TML_FW_RESULT_INVALID_URI;
    if (!((i == 4 || (i == 5 && (uri[4] | 32) == 's')) && (uri[0] | 32) == 'c' &&
          (uri[1] | 32) == 'o' && (uri[2] | 32) == 'a' && (uri[3] | 32) == 'p'))
        return TML_FW_RESULT_BAD_PROTOCOL; /* coap+tcp, http, ...: not on this port */
    if (i == 5) {
        sec = 1;
        pn = 5684;
    }
    i += 3;
    if (i < len && uri[i] == '[') { /* IPv6 literal */
        h0 = i + 1;
        while (i < len && uri[i] != ']')
            i++;
        if (i >= len)
            return TML_FW_RESULT_INVALID_URI;
        h1 = i++;
    } else {
        h0 = i;
        while (i < len && uri[i] != ':' && uri[i] != '/')
            i++;
        h1 = i;
    }
    if (h1 == h0 || h1 - h0 >= TML_DEV_HOST_MAX)
        return TML_FW_RESULT_INVALID_URI;
    for (size_t k = h0; k < h1; k++)
        if (strchr("@?#%/[]", uri[k]))
            return TML_FW_RESULT_INVALID_URI;
    if (i < len && uri[i] == ':') {
        size_t d0 = ++i;
        pn = 0;
        while (i < len && uri[i] >= '0' && uri[i] <= '9' && i - d0 < 6)
            pn = pn * 10 + (uint32_t)(uri[i++] - '0');
        if (i == d0 || pn == 0 || pn > 65535)
            return TML_FW_RESULT_INVALID_URI;
    }
    if (i >= len || uri[i] != '/')
        return TML_FW_RESULT_INVALID_URI; /* a package needs a path */
    p0 = ++i;
    if (len - p0 == 0 || len - p0 >= TML_DEV_PATH_MAX - 4) /* room for ".sig" */
        return TML_FW_RESULT_INVALID_URI;
    for (size_t k = p0; k < len; k++) {
        if (uri[k] == '?' || uri[k] == '#' || uri[k] == '%')
            return TML_FW_RESULT_INVALID_URI;
        if (uri[k] == '/' && (k == p0 || uri[k - 1] == '/' || k + 1 == len))
            return TML_FW_RESULT_INVALID_URI; /* empty segment */
    }
    memcpy(host, uri + h0, h1 - h0);
    host[h1 - h0] = '\0';
    memcpy(path, uri + p0, len - p0);
    path[len - p0] = '\0';
    *port = (uint16_t)pn;
    if (secure)
        *secure = sec;
    return TML_FW_RESULT_INITIAL;
}

/* Sets the expected hash and the package name from the path's last segment: 64 hex digits
 * (the service's /a/<sha256>) name the SHA-256 the download must have. */
static void uri_expectations(tml_device *d)
{
    const char *last = strrchr(d->dl_path, '/');
    size_t n;
    last = last ? last + 1 : d->dl_path;
    n = strlen(last);
    d->dl_has_sha = 0;
    if (n == 64) {
        int ok = 1;
        for (size_t i = 0; i < 32 && ok; i++) {
            int hi = hexval(last[2 * i]), lo = hexval(last[2 * i + 1]);
            if (hi < 0 || lo < 0)
                ok = 0;
            else
                d->dl_sha[i] = (uint8_t)(hi << 4 | lo);
        }
        d->dl_has_sha = ok;
    }
    if (n >= TML_DEV_NAME_MAX)
        n = TML_DEV_NAME_MAX - 1;
    memcpy(d->dl_name, last, n);
    d->dl_name[n] = '\0';
}

static void fw_fail(tml_device *d, int slot, tml_fw_result r, const char *why)
{
    char mb[TML_DEV_URI_MAX + 256];
    wbuf b;
    if (slot >= 0)
        d->exec[slot].loaded = 0;
    d->fw_state = TML_FW_STATE_IDLE;
    d->fw_result = r;
    d->dl_slot = -1;
    wb_init(&b, mb, sizeof mb);
    wb_str(&b, "package '");
    wb_str(&b, d->pkg_uri);
    wb_str(&b, "' refused (result ");
    wb_u64(&b, (uint64_t)r);
    wb_str(&b, ", ");
    wb_str(&b, result_name(r));
    wb_str(&b, "): ");
    wb_str(&b, why);
    wb_str(&b, d->active >= 0 ? "; the previous model keeps running" : "");
    dlog(d, 0, &b);
}

static tml_fw_result code_result(int code)
{
    if (code == TML_COAP_NOT_FOUND || code == TML_COAP_BAD_REQUEST ||
        code == TML_COAP_CODE(4, 3))
        return TML_FW_RESULT_INVALID_URI;
    return TML_FW_RESULT_CONN_LOST;
}

static tml_status dl_request(tml_device *d, const char *path, int32_t num, uint8_t szx,
                             uint8_t *buf, size_t cap, tml_device_response *rs)
{
    tml_device_request rq;
    memset(&rq, 0, sizeof rq);
    memset(rs, 0, sizeof *rs);
    rq.method = TML_COAP_GET;
    rq.host = d->dl_host;
    rq.port = d->dl_port;
    rq.secure = d->dl_secure;
    rq.path = path;
    rq.content_format = TML_DEV_CF_NONE;
    rq.block2_num = num;
    rq.block2_szx = szx;
    rs->payload = buf;
    rs->payload_cap = cap;
    return d->port.request(d->port.ctx, &rq, rs);
}

/* Downloads, verifies and validates the package into the inactive slot. */
static void fw_download(tml_device *d)
{
    int s = d->active == 0 ? 1 : 0;
    uint8_t *buf = d->cfg.pkg_buf[s];
    uint32_t cap = d->cfg.pkg_cap < d->cfg.flash || d->cfg.flash == 0 ? d->cfg.pkg_cap
                                                                      : d->cfg.flash;
    uint32_t off = 0, num = 0, lost = 0;
    uint8_t szx = TML_DEV_BLOCK_SZX;
    int tries = 0;
    tml_sha256_ctx hc;
    tml_device_response rs;
    tml_status st;
    char mb[192];
    wbuf b;

    d->exec[s].loaded = 0;
    d->dl_slot = -1;
    if (d->port.slot_begin(d->port.ctx, s) != TML_OK) {
        fw_fail(d, s, TML_FW_RESULT_NO_STORAGE, "slot cannot be written");
        return;
    }
    tml_sha256_init(&hc);
    for (;;) {
        st = dl_request(d, d->dl_path, (int32_t)num, szx, buf + off, cap - off, &rs);
        if (st == TML_ERR_FIT) {
            fw_fail(d, s, TML_FW_RESULT_NO_STORAGE, "package larger than the slot");
            return;
        }
        if (st != TML_OK) {
            lost++;
            if (++tries >= TML_DEV_BLOCK_TRIES) {
                fw_fail(d, s, TML_FW_RESULT_CONN_LOST, "no answer for a block, several times");
                return;
            }
            wb_init(&b, mb, sizeof mb);
            wb_str(&b, "block ");
            wb_u64(&b, num);
            wb_str(&b, " lost: asking for it again");
            dlog(d, 1, &b);
            continue;
        }
        if (rs.code != TML_COAP_CONTENT) {
            fw_fail(d, s, code_result(rs.code), "the server did not deliver the package");
            return;
        }
        tries = 0;
        if (!rs.has_block2) {
            if (num != 0) {
                fw_fail(d, s, TML_FW_RESULT_CONN_LOST, "the server stopped answering block-wise");
                return;
            }
        } else {
            uint32_t bs;
            if (rs.block2_szx > 6) {
                fw_fail(d, s, TML_FW_RESULT_CONN_LOST, "invalid Block2 size");
                return;
            }
            bs = 1u << (rs.block2_szx + 4);
            if ((uint64_t)rs.block2_num * bs != off || rs.payload_len > bs ||
                (rs.block2_more && rs.payload_len != bs)) {
                fw_fail(d, s, TML_FW_RESULT_CONN_LOST, "block out of sequence");
                return;
            }
            szx = rs.block2_szx;
        }
        if (rs.payload_len > cap - off) {
            fw_fail(d, s, TML_FW_RESULT_NO_STORAGE, "package larger than the slot");
            return;
        }
        if (rs.payload_len &&
            d->port.slot_write(d->port.ctx, s, off, buf + off, (uint32_t)rs.payload_len) != TML_OK) {
            fw_fail(d, s, TML_FW_RESULT_NO_STORAGE, "slot write failed");
            return;
        }
        tml_sha256_update(&hc, buf + off, rs.payload_len);
        off += (uint32_t)rs.payload_len;
        if (!rs.has_block2 || !rs.block2_more)
            break;
        num = off >> (szx + 4);
    }
    tml_sha256_final(&hc, d->dl_digest);
    if (d->dl_has_sha && memcmp(d->dl_digest, d->dl_sha, 32) != 0) {
        fw_fail(d, s, TML_FW_RESULT_INTEGRITY, "sha-256 of the download differs from the uri's");
        return;
    }
    if (d->port.verify_signature) {
        char sp[TML_DEV_PATH_MAX + 4];
        uint8_t sig[TML_DEV_SIG_BYTES + 1], msg[8 + 32];
        wbuf pb;
        wb_init(&pb, sp, sizeof sp);
        wb_str(&pb, d->dl_path);
        wb_str(&pb, ".sig");
        tries = 0;
        do {
            st = dl_request(d, sp, -1, 0, sig, sizeof sig, &rs);
        } while (st == TML_ERR_IO && ++tries < TML_DEV_BLOCK_TRIES);
        if (st != TML_OK || rs.code != TML_COAP_CONTENT || rs.payload_len != TML_DEV_SIG_BYTES) {
            fw_fail(d, s, TML_FW_RESULT_INTEGRITY, "no valid signature at '<uri>.sig'");
            return;
        }
        memcpy(msg, TML_DEV_SIG_PREFIX, 8);
        memcpy(msg + 8, d->dl_digest, 32);
        if (d->port.verify_signature(d->port.ctx, msg, sizeof msg, sig) != TML_OK) {
            fw_fail(d, s, TML_FW_RESULT_INTEGRITY, "signature does not verify");
            return;
        }
    }
    if (off < TML_PKG_HEADER_BYTES) {
        fw_fail(d, s, TML_FW_RESULT_UNSUPPORTED, "too short for a model package");
        return;
    }
    {
        uint32_t need = tml_pkg_arena_bytes(buf, off);
        if (need > d->cfg.arena_cap || (d->cfg.ram && need > d->cfg.ram)) {
            fw_fail(d, s, TML_FW_RESULT_NO_MEMORY, "the model's arena does not fit in ram");
            return;
        }
    }
    st = tml_exec_load(&d->exec[s], buf, off, d->cfg.arena[s], d->cfg.arena_cap);
    if (st != TML_OK) {
        const char *why = d->exec[s].error ? d->exec[s].error : tml_status_str(st);
        fw_fail(d, s,
                st == TML_ERR_VERIFY ? TML_FW_RESULT_INTEGRITY
                : st == TML_ERR_FIT  ? TML_FW_RESULT_NO_MEMORY
                                     : TML_FW_RESULT_UNSUPPORTED,
                why);
        return;
    }
    if (d->port.slot_commit(d->port.ctx, s, off) != TML_OK) {
        fw_fail(d, s, TML_FW_RESULT_NO_STORAGE, "slot commit failed");
        return;
    }
    d->dl_slot = s;
    d->dl_size = off;
    d->fw_state = TML_FW_STATE_DOWNLOADED;
    d->fw_result = TML_FW_RESULT_INITIAL;
    wb_init(&b, mb, sizeof mb);
    wb_str(&b, "package '");
    wb_str(&b, d->dl_name);
    wb_str(&b, "' downloaded to slot ");
    wb_u64(&b, (uint64_t)s);
    wb_str(&b, ": ");
    wb_u64(&b, off);
    wb_str(&b, " bytes, ");
    wb_u64(&b, lost);
    wb_str(&b, " blocks asked again, verified");
    dlog(d, 2, &b);
}

/* Execute /5/0/2: switch to the downloaded slot and record it. */
static int fw_update(tml_device *d)
{
    int prev = d->active, s = d->dl_slot;
    char mb[256];
    wbuf b;
    d->fw_state = TML_FW_STATE_UPDATING;
    d->active = s;
    d->size[s] = d->dl_size;
    memcpy(d->sha[s], d->dl_digest, 32);
    memcpy(d->name[s], d->dl_name, TML_DEV_NAME_MAX);
    wb_init(&b, mb, sizeof mb);
    if (state_write(d) != TML_OK) {
        d->active = prev;
        d->fw_state = TML_FW_STATE_DOWNLOADED;
        d->fw_result = TML_FW_RESULT_FAILED;
        wb_str(&b, "update failed: state record not saved; the previous model keeps running");
        dlog(d, 0, &b);
        return -1;
    }
    d->fw_state = TML_FW_STATE_IDLE;
    d->fw_result = TML_FW_RESULT_SUCCESS;
    d->dl_slot = -1;
    d->inferences = 0;
    d->last_latency_us = 0;
    wb_str(&b, "model '");
    wb_str(&b, d->name[s]);
    wb_str(&b, "' active (slot ");
    wb_u64(&b, (uint64_t)s);
    wb_str(&b, ", sha-256 ");
    wb_hex(&b, d->sha[s], 32);
    wb_str(&b, ")");
    dlog(d, 2, &b);
    return 0;
}

/* ---- step ---- */

uint32_t tml_device_step(tml_device *d)
{
    uint64_t now = now_us(d), due, wait;
    if (d->fw_state == TML_FW_STATE_DOWNLOADING) {
        fw_download(d);
        now = now_us(d);
    }
    if (!d->registered) {
        if (now >= d->next_try_us)
            reg_register(d, now);
    } else {
        due = d->last_reg_us + (uint64_t)d->cfg.lifetime_s * 750000u;
        if (now >= due && now >= d->next_try_us)
            reg_update(d, now);
    }
    now = now_us(d);
    due = d->registered ? d->last_reg_us + (uint64_t)d->cfg.lifetime_s * 750000u : d->next_try_us;
    if (due < d->next_try_us)
        due = d->next_try_us;
    wait = due > now ? (due - now) / 1000u : 0;
    if (d->fw_state == TML_FW_STATE_DOWNLOADING)
        wait = 0;
    return wait > 1000 ? 1000u : (uint32_t)wait;
}

/* ---- serving requests ---- */

static void reply(tml_device_out *o, int code, int cf, const char *text)
{
    wbuf b;
    o->code = code;
    o->content_format = text ? cf : TML_DEV_CF_NONE;
    wb_init(&b, (char *)o->buf, o->cap);
    if (text)
        wb_str(&b, text);
    o->len = b.len;
}

static void reply_error(tml_device_out *o, int code, const char *text)
{
    reply(o, code, TML_DEV_CF_TEXT, text);
}

typedef enum { V_NONE, V_NUM, V_STR, V_KERNELS, V_SHA } vkind;

/* The value of one resource: a number, a string, or the kernel list (written on demand). */
static vkind res_get(tml_device *d, unsigned obj, unsigned res, int64_t *num, const char **str)
{
    int a = d->active;
    *num = 0;
    *str = "";
    switch (obj) {
    case TML_DEV_OBJ_SERVER:
        switch (res) {
        case 0: *num = 1; return V_NUM; /* short server id */
        case 1: *num = d->cfg.lifetime_s; return V_NUM;
        case 7: *str = "U"; return V_STR;
        default: return V_NONE;
        }
    case TML_DEV_OBJ_DEVICE:
        switch (res) {
        case 0: *str = "tinymlaas"; return V_STR;
        case 1: *str = d->cfg.target ? d->cfg.target : ""; return V_STR;
        case 2: *str = d->cfg.endpoint; return V_STR;
        case 3: *str = TML_VERSION; return V_STR;
        case 11: *num = 0; return V_NUM;
        case 16: *str = "U"; return V_STR;
        default: return V_NONE;
        }
    case TML_DEV_OBJ_FIRMWARE:
        switch (res) {
        case 1: *str = d->pkg_uri; return V_STR;
        case 3: *num = d->fw_state; return V_NUM;
        case 5: *num = d->fw_result; return V_NUM;
        case 6: *str = d->dl_name; return V_STR;
        case 7: *str = ""; return V_STR;
        case 8: *num = 0; return V_NUM; /* protocol: CoAP */
        case 9: *num = 0; return V_NUM; /* delivery: pull only */
        default: return V_NONE;
        }
    case TML_DEV_OBJ_NODE:
        switch (res) {
        case 0: *str = d->cfg.core ? d->cfg.core : ""; return V_STR;
        case 1: *num = d->cfg.clock_hz; return V_NUM;
        case 2: *num = d->cfg.ram; return V_NUM;
        case 3: *num = d->cfg.flash; return V_NUM;
        case 4: *str = d->cfg.accelerators ? d->cfg.accelerators : ""; return V_STR;
        case 5: *str = d->cfg.rtos ? d->cfg.rtos : ""; return V_STR;
        case 6: *str = TML_VERSION; return V_STR;
        case 7: return V_KERNELS;
        case 8: *str = a >= 0 ? d->name[a] : ""; return V_STR;
        case 9: return a >= 0 ? V_SHA : V_STR; /* hex, written by write_value */
        case 10: *num = d->inferences; return V_NUM;
        case 11: *num = d->last_latency_us; return V_NUM;
        case 12: *str = d->cfg.target ? d->cfg.target : ""; return V_STR;
        default: return V_NONE;
        }
    default: return V_NONE;
    }
}

static void write_value(tml_device *d, wbuf *b, vkind k, int64_t num, const char *str, int json)
{
    if (k == V_NUM) {
        wb_i64(b, num);
        return;
    }
    if (json)
        wb_str(b, "\"");
    if (k == V_STR) {
        if (json)
            wb_json(b, str);
        else
            wb_str(b, str);
    } else if (k == V_SHA) {
        wb_hex(b, d->sha[d->active], 32);
    } else if (k == V_KERNELS) {
        int first = 1;
        for (int id = 1; id < (int)TML_K_COUNT; id++) {
            const tml_kernel_info *ki = tml_kernel_get_info((tml_kernel_id)id);
            if (!ki || !ki->fn)
                continue;
            if (!first)
                wb_str(b, ",");
            wb_str(b, ki->name);
            first = 0;
        }
    }
    if (json)
        wb_str(b, "\"");
}

static const uint16_t res_server[] = {0, 1, 7};
static const uint16_t res_device[] = {0, 1, 2, 3, 11, 16};
static const uint16_t res_fw[] = {1, 3, 5, 6, 7, 8, 9};
static const uint16_t res_node[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static void senml_record(tml_device *d, wbuf *b, unsigned obj, unsigned res, int first)
{
    int64_t num;
    const char *str;
    vkind k = res_get(d, obj, res, &num, &str);
    if (k == V_NONE)
        return;
    wb_str(b, first ? "{\"bn\":\"/" : ",{");
    if (first) {
        wb_u64(b, obj);
        wb_str(b, "/0/\",");
    }
    wb_str(b, "\"n\":\"");
    wb_u64(b, res);
    wb_str(b, k == V_NUM ? "\",\"v\":" : "\",\"vs\":");
    write_value(d, b, k, num, str, 1);
    wb_str(b, "}");
}

static void read_instance(tml_device *d, unsigned obj, tml_device_out *o)
{
    const uint16_t *r;
    size_t n;
    wbuf b;
    switch (obj) {
    case TML_DEV_OBJ_SERVER: r = res_server; n = sizeof res_server / sizeof *r; break;
    case TML_DEV_OBJ_DEVICE: r = res_device; n = sizeof res_device / sizeof *r; break;
    case TML_DEV_OBJ_FIRMWARE: r = res_fw; n = sizeof res_fw / sizeof *r; break;
    default: r = res_node; n = sizeof res_node / sizeof *r; break;
    }
    wb_init(&b, (char *)o->buf, o->cap);
    wb_str(&b, "[");
    for (size_t i = 0; i < n; i++)
        senml_record(d, &b, obj, r[i], i == 0);
    wb_str(&b, "]");
    if (b.over) {
        reply_error(o, TML_COAP_INTERNAL, "response too large");
        return;
    }
    o->code = TML_COAP_CONTENT;
    o->content_format = TML_DEV_CF_SENML_JSON;
    o->len = b.len;
}

static void read_resource(tml_device *d, unsigned obj, unsigned res, int senml, tml_device_out *o)
{
    int64_t num;
    const char *str;
    vkind k = res_get(d, obj, res, &num, &str);
    wbuf b;
    if (k == V_NONE) {
        reply_error(o, TML_COAP_NOT_FOUND, "no such resource");
        return;
    }
    wb_init(&b, (char *)o->buf, o->cap);
    if (senml) {
        wb_str(&b, "[{\"n\":\"/");
        wb_u64(&b, obj);
        wb_str(&b, "/0/");
        wb_u64(&b, res);
        wb_str(&b, k == V_NUM ? "\",\"v\":" : "\",\"vs\":");
        write_value(d, &b, k, num, str, 1);
        wb_str(&b, "}]");
    } else {
        write_value(d, &b, k, num, str, 0);
    }
    if (b.over) {
        reply_error(o, TML_COAP_INTERNAL, "response too large");
        return;
    }
    o->code = TML_COAP_CONTENT;
    o->content_format = senml ? TML_DEV_CF_SENML_JSON : TML_DEV_CF_TEXT;
    o->len = b.len;
}

static void write_uri(tml_device *d, const tml_device_in *in, tml_device_out *o)
{
    tml_fw_result r;
    char mb[TML_DEV_URI_MAX + 64];
    wbuf b;
    if (in->content_format != TML_DEV_CF_NONE && in->content_format != TML_DEV_CF_TEXT &&
        in->content_format != TML_DEV_CF_OPAQUE) {
        reply_error(o, TML_COAP_UNSUPPORTED_CF, "package uri: send text/plain");
        return;
    }
    if (in->payload_len >= TML_DEV_URI_MAX) {
        reply_error(o, TML_COAP_TOO_LARGE, "package uri: longer than 255 bytes");
        return;
    }
    if ((d->fw_state == TML_FW_STATE_DOWNLOADING || d->fw_state == TML_FW_STATE_DOWNLOADED) &&
        in->payload_len > 0 && strlen(d->pkg_uri) == in->payload_len &&
        memcmp(d->pkg_uri, in->payload, in->payload_len) == 0) {
        /* the same URI again (a server that restarted mid-delivery): same download */
        reply(o, TML_COAP_CHANGED, TML_DEV_CF_NONE, NULL);
        return;
    }
    if (d->fw_state == TML_FW_STATE_DOWNLOADING || d->fw_state == TML_FW_STATE_UPDATING) {
        reply_error(o, TML_COAP_BAD_REQUEST, "package uri: a download is in progress");
        return;
    }
    if (in->payload_len) /* an empty payload may come with a NULL pointer: memcpy's UB */
        memcpy(d->pkg_uri, in->payload, in->payload_len);
    d->pkg_uri[in->payload_len] = '\0';
    for (size_t i = 0; i < in->payload_len; i++)
        if (d->pkg_uri[i] == '\0' || (unsigned char)d->pkg_uri[i] < ' ')
            d->pkg_uri[i] = '?'; /* never store control bytes; the parser refuses '?' anyway */
    d->dl_slot = -1;
    d->dl_name[0] = '\0';
    reply(o, TML_COAP_CHANGED, TML_DEV_CF_NONE, NULL);
    if (in->payload_len == 0) { /* empty URI: cancel, back to idle */
        d->fw_state = TML_FW_STATE_IDLE;
        d->fw_result = TML_FW_RESULT_INITIAL;
        return;
    }
    r = tml_device_uri_parse(d->pkg_uri, in->payload_len, d->dl_host, &d->dl_port, d->dl_path,
                             &d->dl_secure);
    if (r == TML_FW_RESULT_INITIAL && d->dl_secure && !d->port.dtls)
        r = TML_FW_RESULT_BAD_PROTOCOL; /* no DTLS credentials on this port */
    if (r != TML_FW_RESULT_INITIAL) {
        d->fw_state = TML_FW_STATE_IDLE;
        d->fw_result = r;
        wb_init(&b, mb, sizeof mb);
        wb_str(&b, "package uri '");
        wb_str(&b, d->pkg_uri);
        wb_str(&b, "' refused: ");
        wb_str(&b, result_name(r));
        dlog(d, 0, &b);
        return;
    }
    uri_expectations(d);
    d->fw_state = TML_FW_STATE_DOWNLOADING;
    d->fw_result = TML_FW_RESULT_INITIAL;
    wb_init(&b, mb, sizeof mb);
    wb_str(&b, "package uri '");
    wb_str(&b, d->pkg_uri);
    wb_str(&b, "': downloading");
    dlog(d, 2, &b);
}

static void execute_update(tml_device *d, tml_device_out *o)
{
    if (d->fw_state != TML_FW_STATE_DOWNLOADED || d->dl_slot < 0) {
        char mb[96];
        wbuf b;
        wb_init(&b, mb, sizeof mb);
        wb_str(&b, "update: no downloaded package (state ");
        wb_str(&b, state_name(d->fw_state));
        wb_str(&b, ")");
        reply_error(o, TML_COAP_BAD_REQUEST, mb);
        return;
    }
    if (fw_update(d) != 0) {
        reply_error(o, TML_COAP_INTERNAL, "update: the new model could not be recorded");
        return;
    }
    reply(o, TML_COAP_CHANGED, TML_DEV_CF_NONE, NULL);
}

static void infer(tml_device *d, const tml_device_in *in, tml_device_out *o)
{
    tml_exec *ex;
    uint32_t in_bytes = 0, out_bytes = 0, dt, n, esz;
    uint8_t *ip;
    const uint8_t *op;
    uint64_t t0, t1;
    tml_status st;
    char mb[160];
    wbuf b;
    size_t best = 0;
    if (in->method != TML_COAP_POST) {
        reply_error(o, TML_COAP_NOT_ALLOWED, "infer: use POST with the input tensor's bytes");
        return;
    }
    if (d->active < 0) {
        reply_error(o, TML_COAP_NOT_FOUND, "infer: no model installed");
        return;
    }
    ex = &d->exec[d->active];
    ip = (uint8_t *)tml_exec_input(ex, 0, &in_bytes);
    if (!ip) {
        reply_error(o, TML_COAP_INTERNAL, "infer: the model has no input");
        return;
    }
    if (in->payload_len != in_bytes) {
        wb_init(&b, mb, sizeof mb);
        wb_str(&b, "infer: input is ");
        wb_u64(&b, in->payload_len);
        wb_str(&b, " bytes, model '");
        wb_str(&b, d->name[d->active]);
        wb_str(&b, "' takes ");
        wb_u64(&b, in_bytes);
        reply_error(o, TML_COAP_BAD_REQUEST, mb);
        return;
    }
    memcpy(ip, in->payload, in_bytes);
    t0 = now_us(d);
    st = tml_exec_run(ex);
    t1 = now_us(d);
    if (st != TML_OK) {
        reply_error(o, TML_COAP_INTERNAL, "infer: the model failed to run");
        return;
    }
    op = (const uint8_t *)tml_exec_output(ex, 0, &out_bytes);
    if (!op) {
        reply_error(o, TML_COAP_INTERNAL, "infer: the model has no output");
        return;
    }
    dt = rd32(ex->tensors + (size_t)ex->outputs[0] * TML_PKG_TENSOR_BYTES + TML_PKG_T_DTYPE);
    switch (dt) {
    case TML_DT_F32: case TML_DT_S32: esz = 4; break;
    case TML_DT_S16: esz = 2; break;
    case TML_DT_S8: case TML_DT_U8: esz = 1; break;
    default:
        reply_error(o, TML_COAP_INTERNAL, "infer: output type not reported");
        return;
    }
    n = out_bytes / esz;
    d->inferences++;
    d->last_latency_us = (uint32_t)(t1 - t0 > 0xFFFFFFFFu ? 0xFFFFFFFFu : t1 - t0);
    wb_init(&b, (char *)o->buf, o->cap);
    wb_str(&b, "{\"class\": ");
    {
        /* argmax; the scores in the output's own type */
        float fv, fb = 0;
        int64_t iv, ib = 0;
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *p = op + (size_t)i * esz;
            if (dt == TML_DT_F32) {
                memcpy(&fv, p, 4);
                if (i == 0 || fv > fb) {
                    fb = fv;
                    best = i;
                }
            } else {
                int32_t v32;
                int16_t v16;
                if (dt == TML_DT_S32) {
                    memcpy(&v32, p, 4);
                    iv = v32;
                } else if (dt == TML_DT_S16) {
                    memcpy(&v16, p, 2);
                    iv = v16;
                } else {
                    iv = dt == TML_DT_S8 ? (int64_t)(int8_t)p[0] : (int64_t)p[0];
                }
                if (i == 0 || iv > ib) {
                    ib = iv;
                    best = i;
                }
            }
        }
        wb_u64(&b, best);
        wb_str(&b, ", \"scores\": [");
        for (uint32_t i = 0; i < n; i++) {
            const uint8_t *p = op + (size_t)i * esz;
            if (i)
                wb_str(&b, ", ");
            if (dt == TML_DT_F32) {
                memcpy(&fv, p, 4);
                wb_f32(&b, fv);
            } else if (dt == TML_DT_S32) {
                int32_t v32;
                memcpy(&v32, p, 4);
                wb_i64(&b, v32);
            } else if (dt == TML_DT_S16) {
                int16_t v16;
                memcpy(&v16, p, 2);
                wb_i64(&b, v16);
            } else {
                wb_i64(&b, dt == TML_DT_S8 ? (int64_t)(int8_t)p[0] : (int64_t)p[0]);
            }
        }
    }
    wb_str(&b, "], \"latency_us\": ");
    wb_u64(&b, d->last_latency_us);
    wb_str(&b, "}");
    if (b.over) {
        reply_error(o, TML_COAP_INTERNAL, "infer: result too large");
        return;
    }
    o->code = TML_COAP_CONTENT;
    o->content_format = TML_DEV_CF_JSON;
    o->len = b.len;
}

/* Splits "5/0/1" into at most 3 decimal numbers 0..65535; -1 when malformed. */
static int parse_path(const char *p, size_t n, unsigned seg[3])
{
    int k = 0;
    size_t i = 0;
    if (n == 0)
        return -1;
    while (i < n) {
        uint32_t v = 0;
        size_t s = i;
        if (k == 3)
            return -1;
        while (i < n && p[i] >= '0' && p[i] <= '9' && i - s < 6)
            v = v * 10 + (uint32_t)(p[i++] - '0');
        if (i == s || v > 65535 || (i - s > 1 && p[s] == '0'))
            return -1;
        seg[k++] = v;
        if (i < n) {
            if (p[i] != '/' || i + 1 == n)
                return -1;
            i++;
        }
    }
    return k;
}

void tml_device_handle(tml_device *d, const tml_device_in *in, tml_device_out *o)
{
    unsigned seg[3] = {0, 0, 0};
    int k, senml;
    o->len = 0;
    o->code = TML_COAP_INTERNAL;
    o->content_format = TML_DEV_CF_NONE;
    if (!o->buf || o->cap < 64)
        return;
    if (in->path_len == 5 && memcmp(in->path, "infer", 5) == 0) {
        infer(d, in, o);
        return;
    }
    k = parse_path(in->path, in->path_len, seg);
    if (k < 1 || (seg[0] != TML_DEV_OBJ_SERVER && seg[0] != TML_DEV_OBJ_DEVICE &&
                  seg[0] != TML_DEV_OBJ_FIRMWARE && seg[0] != TML_DEV_OBJ_NODE) ||
        (k >= 2 && seg[1] != 0)) {
        reply_error(o, TML_COAP_NOT_FOUND, "no such object or instance");
        return;
    }
    switch (in->method) {
    case TML_COAP_GET:
        if (in->accept != TML_DEV_CF_NONE && in->accept != TML_DEV_CF_SENML_JSON &&
            !(in->accept == TML_DEV_CF_TEXT && k == 3)) {
            reply_error(o, TML_COAP_NOT_ACCEPTABLE, "read: text/plain (one resource) or senml+json");
            return;
        }
        senml = in->accept == TML_DEV_CF_SENML_JSON;
        if (k == 3)
            read_resource(d, seg[0], seg[2], senml, o);
        else
            read_instance(d, seg[0], o);
        return;
    case TML_COAP_PUT:
    case TML_COAP_POST:
        if (k == 3 && seg[0] == TML_DEV_OBJ_FIRMWARE && seg[2] == 1) {
            write_uri(d, in, o);
            return;
        }
        if (k == 3 && seg[0] == TML_DEV_OBJ_FIRMWARE && seg[2] == 2 && in->method == TML_COAP_POST) {
            execute_update(d, o);
            return;
        }
        reply_error(o, TML_COAP_NOT_ALLOWED, "only /5/0/1 (write) and /5/0/2 (execute) change state");
        return;
    default:
        reply_error(o, TML_COAP_NOT_ALLOWED, "method not allowed");
        return;
    }
}
