/*
 * fuzz_device_request.c - libFuzzer target for the device agent core's network input: the
 * requests it serves (tml_device_handle: method, Uri-Path, Content-Format, Accept, payload,
 * including Package URI writes and POST /infer) and the responses it consumes while it
 * downloads a package (response code, Block2 number/more/size, payload length), plus the
 * Package URI parser on its own.
 *
 * Input layout: byte 0 method, byte 1 content format selector, byte 2 accept selector, then
 * the Uri-Path up to the first '\n', then the payload up to the next '\n'; whatever remains
 * scripts the fake package server, 4 bytes per response (code selector, block flags, payload
 * length), so truncated, out-of-order, oversized and missing blocks all get exercised.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "tml/device.h"

#define CAP 8192

static const uint8_t *script;
static size_t script_len;
static uint8_t slot[2][CAP];
static uint8_t state_rec[512];
static uint32_t state_len;
static uint64_t clock_us;

static tml_status f_request(void *ctx, const tml_device_request *rq, tml_device_response *rs)
{
    (void)ctx;
    rs->payload_len = 0;
    rs->has_block2 = 0;
    rs->location[0] = '\0';
    clock_us += 1000;
    if (!rq->host) { /* the LwM2M server */
        rs->code = rq->method == TML_COAP_POST ? TML_COAP_CREATED : TML_COAP_CHANGED;
        strcpy(rs->location, "rd/x");
        return TML_OK;
    }
    if (script_len < 4)
        return TML_ERR_IO;
    {
        static const int codes[] = {TML_COAP_CONTENT, TML_COAP_CONTENT, TML_COAP_CONTENT,
                                    TML_COAP_NOT_FOUND, TML_COAP_INTERNAL, 0};
        uint8_t c = script[0], fl = script[1];
        size_t n = (size_t)script[2] | (size_t)script[3] << 8;
        script += 4;
        script_len -= 4;
        if (c == 0xFF)
            return TML_ERR_IO;
        rs->code = codes[c % 6];
        rs->has_block2 = fl & 1;
        rs->block2_more = (fl >> 1) & 1;
        rs->block2_szx = (uint8_t)((fl >> 2) & 7);
        rs->block2_num = rq->block2_num < 0 ? 0 : (uint32_t)rq->block2_num + ((fl >> 5) & 1);
        if (n > rs->payload_cap)
            return TML_ERR_FIT;
        if (n > script_len)
            n = script_len;
        memcpy(rs->payload, script, n);
        rs->payload_len = n;
        script += n;
        script_len -= n;
    }
    return TML_OK;
}

static tml_status f_begin(void *ctx, int s)
{
    (void)ctx;
    (void)s;
    return TML_OK;
}
static tml_status f_write(void *ctx, int s, uint32_t off, const uint8_t *d, uint32_t n)
{
    (void)ctx;
    if ((uint64_t)off + n > CAP)
        return TML_ERR_IO;
    memcpy(slot[s] + off, d, n);
    return TML_OK;
}
static tml_status f_read(void *ctx, int s, uint32_t off, uint8_t *b, uint32_t n)
{
    (void)ctx;
    if ((uint64_t)off + n > CAP)
        return TML_ERR_IO;
    memcpy(b, slot[s] + off, n);
    return TML_OK;
}
static tml_status f_commit(void *ctx, int s, uint32_t n)
{
    (void)ctx;
    (void)s;
    return n <= CAP ? TML_OK : TML_ERR_IO;
}
static tml_status f_save(void *ctx, const uint8_t *b, uint32_t n)
{
    (void)ctx;
    if (n > sizeof state_rec)
        return TML_ERR_IO;
    memcpy(state_rec, b, n);
    state_len = n;
    return TML_OK;
}
static tml_status f_load(void *ctx, uint8_t *b, uint32_t cap, uint32_t *n)
{
    (void)ctx;
    if (!state_len || state_len > cap)
        return TML_ERR_NOT_FOUND;
    memcpy(b, state_rec, state_len);
    *n = state_len;
    return TML_OK;
}
static uint64_t f_now(void *ctx)
{
    (void)ctx;
    return clock_us;
}
static tml_status f_verify(void *ctx, const uint8_t *m, size_t n, const uint8_t sig[64])
{
    (void)ctx;
    (void)m;
    (void)n;
    return sig[0] & 1 ? TML_OK : TML_ERR_VERIFY;
}

static uint32_t pkg[2][CAP / 4]; /* u32: 4-byte aligned, as the executor needs */
static uint32_t arena[2][CAP / 4];
static uint8_t out_buf[TML_DEVICE_OUT_MIN];
static tml_device dev;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int cfs[] = {TML_DEV_CF_NONE, TML_DEV_CF_TEXT, TML_DEV_CF_OPAQUE,
                              TML_DEV_CF_SENML_JSON, TML_DEV_CF_LINK, 60};
    tml_device_config c;
    tml_device_port p;
    tml_device_in in;
    tml_device_out o;
    const uint8_t *pl, *nl;
    size_t rest;
    char host[TML_DEV_HOST_MAX], path[TML_DEV_PATH_MAX];
    uint16_t port;
    int secure;

    if (size < 3)
        return 0;
    tml_device_uri_parse((const char *)data, size, host, &port, path, &secure);
    memset(&c, 0, sizeof c);
    memset(&p, 0, sizeof p);
    c.endpoint = "fuzz";
    c.lifetime_s = 60;
    c.target = "host";
    c.pkg_buf[0] = (uint8_t *)pkg[0];
    c.pkg_buf[1] = (uint8_t *)pkg[1];
    c.pkg_cap = CAP;
    c.arena[0] = (uint8_t *)arena[0];
    c.arena[1] = (uint8_t *)arena[1];
    c.arena_cap = CAP;
    p.request = f_request;
    p.slot_begin = f_begin;
    p.slot_write = f_write;
    p.slot_read = f_read;
    p.slot_commit = f_commit;
    p.state_save = f_save;
    p.state_load = f_load;
    p.now_us = f_now;
    p.verify_signature = (data[0] & 0x80) ? f_verify : NULL;
    p.dtls = data[0] & 0x40;
    state_len = 0;
    if (tml_device_init(&dev, &c, &p) != TML_OK)
        return 0;

    memset(&in, 0, sizeof in);
    in.method = 1 + data[0] % 5;
    in.content_format = cfs[data[1] % 6];
    in.accept = cfs[data[2] % 6];
    data += 3;
    size -= 3;
    nl = memchr(data, '\n', size);
    in.path = (const char *)data;
    in.path_len = nl ? (size_t)(nl - data) : size;
    rest = nl ? size - in.path_len - 1 : 0;
    pl = nl ? nl + 1 : data + size;
    nl = memchr(pl, '\n', rest);
    in.payload = pl;
    in.payload_len = nl ? (size_t)(nl - pl) : rest;
    script = nl ? nl + 1 : pl + rest;
    script_len = nl ? rest - in.payload_len - 1 : 0;
    o.buf = out_buf;
    o.cap = sizeof out_buf;
    tml_device_handle(&dev, &in, &o);
    if (o.len > o.cap)
        __builtin_trap();
    /* a written Package URI: download with the scripted responses, then try to execute */
    tml_device_step(&dev);
    in.method = TML_COAP_POST;
    in.path = "5/0/2";
    in.path_len = 5;
    in.payload_len = 0;
    tml_device_handle(&dev, &in, &o);
    in.path = "infer";
    in.path_len = 5;
    tml_device_handle(&dev, &in, &o);
    in.method = TML_COAP_GET;
    in.path = "32769/0";
    in.path_len = 7;
    in.accept = TML_DEV_CF_NONE;
    tml_device_handle(&dev, &in, &o);
    return 0;
}
