/*
 * test_device_agent.c - the device agent core's state machines with a fake port: no network,
 * no files, a clock the test moves by hand.
 *
 * The fake port plays the LwM2M server (register 2.01 + Location-Path, update 2.04, delete
 * 2.02, or silence) and a package server with Block2 that can drop chosen blocks, keeps slots
 * and the state record in memory and logs every request, so the tests can check what went on
 * the wire: the registration query and payload, the block numbers asked for (a lost block is
 * asked for again, never block 0), and the result codes on every failure path. The package is
 * the Fashion-MNIST CNN from tests/fixtures compiled in-process, and sample 0 must be class 9.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tml/codegen.h"
#include "tml/compiler.h"
#include "tml/device.h"
#include "tml/sha256.h"
#include "tml/tensor_io.h"

#define SLOT_CAP (512u * 1024u)
#define ARENA_CAP (2u * 1024u * 1024u)
#define MAX_LOG 4096

typedef struct {
    int method;
    int has_host;
    char path[200];
    char query[200];
    int32_t block;
    size_t payload_len;
    int cf;
} logged;

typedef struct {
    uint64_t now;
    /* server behaviour */
    int silent;          /* no answers from the LwM2M server */
    int update_code;     /* answer to registration updates */
    /* package server */
    const uint8_t *pkg;
    size_t pkg_len;
    int drop_block;      /* block number to drop */
    int drop_times;      /* how often */
    int sig_ok;          /* serve a signature the fake verifier accepts */
    /* storage */
    uint8_t slot[2][SLOT_CAP];
    uint32_t slot_len[2];
    uint8_t state[512];
    uint32_t state_len;
    int state_fail;
    logged log[MAX_LOG];
    int n_log;
    char last_log[256];
} fake;

static fake *F;
static uint8_t *g_pkg;      /* the compiled model package */
static size_t g_pkg_len;
static uint8_t g_input[3136]; /* sample 0, float32 [1,1,28,28] */
static char g_sha_hex[65];

static tml_status f_request(void *ctx, const tml_device_request *rq, tml_device_response *rs)
{
    fake *f = ctx;
    logged *l = &f->log[f->n_log < MAX_LOG ? f->n_log++ : MAX_LOG - 1];
    memset(l, 0, sizeof *l);
    l->method = rq->method;
    l->has_host = rq->host != NULL;
    snprintf(l->path, sizeof l->path, "%s", rq->path ? rq->path : "");
    snprintf(l->query, sizeof l->query, "%s", rq->query ? rq->query : "");
    l->block = rq->block2_num;
    l->payload_len = rq->payload_len;
    l->cf = rq->content_format;
    rs->payload_len = 0;
    rs->has_block2 = 0;
    rs->location[0] = '\0';
    if (!rq->host) {
        if (f->silent)
            return TML_ERR_IO;
        if (rq->method == TML_COAP_POST && strcmp(rq->path, "rd") == 0) {
            rs->code = TML_COAP_CREATED;
            strcpy(rs->location, "rd/abc");
        } else if (rq->method == TML_COAP_POST) {
            rs->code = f->update_code;
        } else if (rq->method == TML_COAP_DELETE) {
            rs->code = TML_COAP_DELETED;
        } else {
            rs->code = TML_COAP_NOT_FOUND;
        }
        return TML_OK;
    }
    /* package server */
    if (strstr(rq->path, ".sig")) {
        uint8_t sig[64];
        memset(sig, f->sig_ok ? 0x5a : 0x00, sizeof sig);
        if (rs->payload_cap < 64)
            return TML_ERR_FIT;
        memcpy(rs->payload, sig, 64);
        rs->payload_len = 64;
        rs->code = TML_COAP_CONTENT;
        return TML_OK;
    }
    if (!f->pkg || strstr(rq->path, "missing")) {
        rs->code = TML_COAP_NOT_FOUND;
        return TML_OK;
    }
    {
        uint32_t num = rq->block2_num < 0 ? 0 : (uint32_t)rq->block2_num;
        uint32_t bs = 1u << (rq->block2_szx + 4);
        size_t off = (size_t)num * bs, n;
        if (f->drop_times > 0 && (int)num == f->drop_block) {
            f->drop_times--;
            return TML_ERR_IO;
        }
        if (off > f->pkg_len) {
            rs->code = TML_COAP_BAD_REQUEST;
            return TML_OK;
        }
        n = f->pkg_len - off < bs ? f->pkg_len - off : bs;
        if (n > rs->payload_cap)
            return TML_ERR_FIT;
        memcpy(rs->payload, f->pkg + off, n);
        rs->payload_len = n;
        rs->has_block2 = 1;
        rs->block2_num = num;
        rs->block2_szx = rq->block2_szx;
        rs->block2_more = off + n < f->pkg_len;
        rs->code = TML_COAP_CONTENT;
    }
    return TML_OK;
}

static tml_status f_slot_begin(void *ctx, int s)
{
    ((fake *)ctx)->slot_len[s] = 0;
    return TML_OK;
}
static tml_status f_slot_write(void *ctx, int s, uint32_t off, const uint8_t *d, uint32_t n)
{
    fake *f = ctx;
    if ((uint64_t)off + n > SLOT_CAP)
        return TML_ERR_IO;
    memcpy(f->slot[s] + off, d, n);
    if (off + n > f->slot_len[s])
        f->slot_len[s] = off + n;
    return TML_OK;
}
static tml_status f_slot_read(void *ctx, int s, uint32_t off, uint8_t *b, uint32_t n)
{
    fake *f = ctx;
    if ((uint64_t)off + n > f->slot_len[s])
        return TML_ERR_IO;
    memcpy(b, f->slot[s] + off, n);
    return TML_OK;
}
static tml_status f_slot_commit(void *ctx, int s, uint32_t size)
{
    fake *f = ctx;
    return size == f->slot_len[s] ? TML_OK : TML_ERR_IO;
}
static tml_status f_state_save(void *ctx, const uint8_t *b, uint32_t n)
{
    fake *f = ctx;
    if (f->state_fail || n > sizeof f->state)
        return TML_ERR_IO;
    memcpy(f->state, b, n);
    f->state_len = n;
    return TML_OK;
}
static tml_status f_state_load(void *ctx, uint8_t *b, uint32_t cap, uint32_t *n)
{
    fake *f = ctx;
    if (!f->state_len)
        return TML_ERR_NOT_FOUND;
    if (f->state_len > cap)
        return TML_ERR_IO;
    memcpy(b, f->state, f->state_len);
    *n = f->state_len;
    return TML_OK;
}
static uint64_t f_now(void *ctx) { return ((fake *)ctx)->now; }
static void f_log(void *ctx, int level, const char *msg)
{
    (void)level;
    snprintf(((fake *)ctx)->last_log, sizeof ((fake *)ctx)->last_log, "%s", msg);
}
static tml_status f_verify(void *ctx, const uint8_t *msg, size_t len, const uint8_t sig[64])
{
    (void)ctx;
    (void)msg;
    return len == 40 && memcmp(msg, "TMLAASv1", 8) == 0 && sig[0] == 0x5a ? TML_OK : TML_ERR_VERIFY;
}

static uint8_t *bufs[4];

static void make(tml_device *d, int with_sig, uint32_t flash, uint32_t ram)
{
    tml_device_config c;
    tml_device_port p;
    memset(&c, 0, sizeof c);
    memset(&p, 0, sizeof p);
    c.endpoint = "dev-1";
    c.lifetime_s = 60;
    c.target = "host";
    c.core = "x86_64";
    c.clock_hz = 1000000;
    c.ram = ram;
    c.flash = flash;
    c.accelerators = "";
    c.rtos = "host";
    c.pkg_buf[0] = bufs[0];
    c.pkg_buf[1] = bufs[1];
    c.pkg_cap = SLOT_CAP;
    c.arena[0] = bufs[2];
    c.arena[1] = bufs[3];
    c.arena_cap = ARENA_CAP;
    p.ctx = F;
    p.request = f_request;
    p.slot_begin = f_slot_begin;
    p.slot_write = f_slot_write;
    p.slot_read = f_slot_read;
    p.slot_commit = f_slot_commit;
    p.state_save = f_state_save;
    p.state_load = f_state_load;
    p.now_us = f_now;
    p.log = f_log;
    p.verify_signature = with_sig ? f_verify : NULL;
    assert_int_equal(tml_device_init(d, &c, &p), TML_OK);
}

static char outbuf[8192];

static int call(tml_device *d, int method, const char *path, int cf, int accept, const void *pl,
                size_t n)
{
    tml_device_in in;
    tml_device_out o;
    memset(&in, 0, sizeof in);
    in.method = method;
    in.path = path;
    in.path_len = strlen(path);
    in.content_format = cf;
    in.accept = accept;
    in.payload = pl;
    in.payload_len = n;
    o.buf = (uint8_t *)outbuf;
    o.cap = sizeof outbuf - 1;
    tml_device_handle(d, &in, &o);
    outbuf[o.len] = '\0';
    return o.code;
}

static int get(tml_device *d, const char *path) { return call(d, TML_COAP_GET, path, -1, -1, NULL, 0); }

static int write_uri(tml_device *d, const char *uri)
{
    return call(d, TML_COAP_PUT, "5/0/1", TML_DEV_CF_TEXT, -1, uri, strlen(uri));
}

static int fw_state(tml_device *d)
{
    assert_int_equal(get(d, "5/0/3"), TML_COAP_CONTENT);
    return atoi(outbuf);
}

static int fw_result(tml_device *d)
{
    assert_int_equal(get(d, "5/0/5"), TML_COAP_CONTENT);
    return atoi(outbuf);
}

static int infer_class(tml_device *d)
{
    const char *c;
    if (call(d, TML_COAP_POST, "infer", TML_DEV_CF_OPAQUE, -1, g_input, sizeof g_input) !=
        TML_COAP_CONTENT)
        return -1;
    c = strstr(outbuf, "\"class\": ");
    return c ? atoi(c + 9) : -1;
}

static void good_uri(char *u, size_t n) { snprintf(u, n, "coap://127.0.0.1:5683/a/%s", g_sha_hex); }

static void install(tml_device *d, const uint8_t *pkg, size_t len, const char *uri)
{
    F->pkg = pkg;
    F->pkg_len = len;
    assert_int_equal(write_uri(d, uri), TML_COAP_CHANGED);
    assert_int_equal(fw_state(d), TML_FW_STATE_DOWNLOADING);
    tml_device_step(d);
}

static int setup(void **state)
{
    (void)state;
    F = calloc(1, sizeof *F);
    F->update_code = TML_COAP_CHANGED;
    F->drop_block = -1;
    return F ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(F);
    F = NULL;
    return 0;
}

/* ---- registration ---- */

static void test_register_update_deregister(void **state)
{
    tml_device d;
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    tml_device_step(&d);
    assert_int_equal(F->n_log, 1);
    assert_int_equal(F->log[0].method, TML_COAP_POST);
    assert_string_equal(F->log[0].path, "rd");
    assert_string_equal(F->log[0].query, "ep=dev-1&lt=60&lwm2m=1.1&b=U");
    assert_int_equal(F->log[0].cf, TML_DEV_CF_LINK);
    assert_int_equal(F->log[0].payload_len, strlen(tml_device_links()));
    assert_non_null(strstr(tml_device_links(), "</32769/0>"));
    assert_true(d.registered);
    assert_string_equal(d.location, "rd/abc");
    /* nothing before 3/4 of the lifetime */
    F->now += 44 * 1000000ull;
    tml_device_step(&d);
    assert_int_equal(F->n_log, 1);
    F->now += 2 * 1000000ull;
    tml_device_step(&d);
    assert_int_equal(F->n_log, 2);
    assert_string_equal(F->log[1].path, "rd/abc");
    assert_int_equal(F->log[1].method, TML_COAP_POST);
    assert_int_equal(F->log[1].payload_len, 0);
    /* the server forgot us: register again at once */
    F->update_code = TML_COAP_NOT_FOUND;
    F->now += 46 * 1000000ull;
    tml_device_step(&d);
    tml_device_step(&d);
    assert_int_equal(F->n_log, 4);
    assert_string_equal(F->log[3].path, "rd");
    assert_true(d.registered);
    assert_int_equal(tml_device_deregister(&d), TML_OK);
    assert_int_equal(F->log[4].method, TML_COAP_DELETE);
    assert_string_equal(F->log[4].path, "rd/abc");
    assert_false(d.registered);
}

static void test_register_backoff(void **state)
{
    tml_device d;
    int before;
    (void)state;
    F->silent = 1;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    tml_device_step(&d); /* try 1 at t=0, next at 1 s */
    assert_int_equal(F->n_log, 1);
    F->now += 900000;
    tml_device_step(&d);
    assert_int_equal(F->n_log, 1);
    F->now += 200000; /* 1.1 s: try 2, next at +2 s */
    tml_device_step(&d);
    assert_int_equal(F->n_log, 2);
    F->now += 1500000;
    tml_device_step(&d);
    assert_int_equal(F->n_log, 2);
    F->now += 600000;
    tml_device_step(&d);
    assert_int_equal(F->n_log, 3);
    /* the back-off stops growing at 60 s */
    for (int i = 0; i < 20; i++) {
        F->now += 61 * 1000000ull;
        tml_device_step(&d);
    }
    before = F->n_log;
    F->now += 59 * 1000000ull;
    tml_device_step(&d);
    assert_int_equal(F->n_log, before);
    F->now += 2 * 1000000ull;
    tml_device_step(&d);
    assert_int_equal(F->n_log, before + 1);
    F->silent = 0;
    F->now += 61 * 1000000ull;
    tml_device_step(&d);
    assert_true(d.registered);
}

/* ---- reads and refusals ---- */

static void test_reads(void **state)
{
    tml_device d;
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(get(&d, "3/0"), TML_COAP_CONTENT);
    assert_non_null(strstr(outbuf, "{\"bn\":\"/3/0/\",\"n\":\"0\",\"vs\":\"tinymlaas\"}"));
    assert_non_null(strstr(outbuf, "{\"n\":\"2\",\"vs\":\"dev-1\"}"));
    assert_int_equal(get(&d, "32769/0"), TML_COAP_CONTENT);
    assert_non_null(strstr(outbuf, "[{\"bn\":\"/32769/0/\",\"n\":\"0\",\"vs\":\"x86_64\"}"));
    assert_non_null(strstr(outbuf, "{\"n\":\"2\",\"v\":2097152}"));
    assert_non_null(strstr(outbuf, "conv_f32"));
    assert_non_null(strstr(outbuf, "{\"n\":\"12\",\"vs\":\"host\"}"));
    assert_int_equal(get(&d, "32769"), TML_COAP_CONTENT); /* object read = its one instance */
    assert_int_equal(get(&d, "5/0/3"), TML_COAP_CONTENT);
    assert_string_equal(outbuf, "0");
    assert_int_equal(call(&d, TML_COAP_GET, "5/0/3", -1, TML_DEV_CF_SENML_JSON, NULL, 0),
                     TML_COAP_CONTENT);
    assert_string_equal(outbuf, "[{\"n\":\"/5/0/3\",\"v\":0}]");
    assert_int_equal(get(&d, "1/0/1"), TML_COAP_CONTENT);
    assert_string_equal(outbuf, "60");
    assert_int_equal(call(&d, TML_COAP_GET, "3/0", -1, TML_DEV_CF_TEXT, NULL, 0),
                     TML_COAP_NOT_ACCEPTABLE);
    assert_int_equal(call(&d, TML_COAP_GET, "3/0/0", -1, 60, NULL, 0), TML_COAP_NOT_ACCEPTABLE);
    assert_int_equal(get(&d, "4/0"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "3/1"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "3/0/99"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "3/0/0/1"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "5//1"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "05/0"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "3/"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, "99999999999/0"), TML_COAP_NOT_FOUND);
    assert_int_equal(get(&d, ""), TML_COAP_NOT_FOUND);
    assert_int_equal(call(&d, TML_COAP_PUT, "3/0/0", 0, -1, "x", 1), TML_COAP_NOT_ALLOWED);
    assert_int_equal(call(&d, TML_COAP_PUT, "5/0/2", 0, -1, NULL, 0), TML_COAP_NOT_ALLOWED);
    assert_int_equal(call(&d, TML_COAP_DELETE, "5/0", -1, -1, NULL, 0), TML_COAP_NOT_ALLOWED);
    /* no model yet */
    assert_int_equal(call(&d, TML_COAP_POST, "infer", -1, -1, g_input, sizeof g_input),
                     TML_COAP_NOT_FOUND);
    assert_non_null(strstr(outbuf, "no model installed"));
    assert_int_equal(call(&d, TML_COAP_GET, "infer", -1, -1, NULL, 0), TML_COAP_NOT_ALLOWED);
    /* execute without a download */
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_BAD_REQUEST);
}

/* ---- firmware update ---- */

static void test_update_and_infer(void **state)
{
    tml_device d;
    char uri[200];
    uint32_t blocks = (uint32_t)((g_pkg_len + 1023) / 1024);
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    good_uri(uri, sizeof uri);
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_state(&d), TML_FW_STATE_DOWNLOADED);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INITIAL);
    /* block-wise, in order, from the package host */
    assert_int_equal(F->n_log, (int)blocks + 1); /* + the registration */
    for (uint32_t i = 0; i < blocks; i++) {
        assert_true(F->log[i].has_host);
        assert_int_equal(F->log[i].block, (int32_t)i);
        assert_string_equal(F->log[i].path, uri + strlen("coap://127.0.0.1:5683/"));
    }
    assert_int_equal(F->slot_len[0], g_pkg_len);
    assert_memory_equal(F->slot[0], g_pkg, g_pkg_len);
    /* the same URI again (a restarted server) is the same download, not a new one */
    assert_int_equal(write_uri(&d, uri), TML_COAP_CHANGED);
    assert_int_equal(fw_state(&d), TML_FW_STATE_DOWNLOADED);
    /* not active before Execute */
    assert_int_equal(infer_class(&d), -1);
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_CHANGED);
    assert_int_equal(fw_state(&d), TML_FW_STATE_IDLE);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_SUCCESS);
    assert_int_equal(infer_class(&d), 9);
    assert_non_null(strstr(outbuf, "\"scores\": ["));
    assert_non_null(strstr(outbuf, "\"latency_us\": "));
    assert_int_equal(get(&d, "32769/0/9"), TML_COAP_CONTENT);
    assert_string_equal(outbuf, g_sha_hex);
    assert_int_equal(get(&d, "32769/0/10"), TML_COAP_CONTENT);
    assert_string_equal(outbuf, "1");
    /* wrong input size */
    assert_int_equal(call(&d, TML_COAP_POST, "infer", -1, -1, g_input, 100), TML_COAP_BAD_REQUEST);
    assert_non_null(strstr(outbuf, "takes 3136"));
    /* a second install goes to the other slot */
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_state(&d), TML_FW_STATE_DOWNLOADED);
    assert_int_equal(F->slot_len[1], g_pkg_len);
    assert_int_equal(infer_class(&d), 9); /* slot 0 still serves meanwhile */
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_CHANGED);
    assert_int_equal(d.active, 1);
    assert_int_equal(infer_class(&d), 9);
}

static void test_resume_after_lost_block(void **state)
{
    tml_device d;
    char uri[200];
    int seen3 = 0;
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    tml_device_step(&d); /* registered */
    F->n_log = 0;
    F->drop_block = 3;
    F->drop_times = 2;
    good_uri(uri, sizeof uri);
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_state(&d), TML_FW_STATE_DOWNLOADED);
    /* 0,1,2,3,3,3,4,...: the lost block is asked for again, nothing before it */
    for (int i = 0; i < F->n_log; i++) {
        if (F->log[i].block == 3)
            seen3++;
        if (i > 0)
            assert_true(F->log[i].block == F->log[i - 1].block ||
                        F->log[i].block == F->log[i - 1].block + 1);
    }
    assert_int_equal(seen3, 3);
    assert_int_equal(F->n_log, (int)((g_pkg_len + 1023) / 1024) + 2);
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_CHANGED);
    assert_int_equal(infer_class(&d), 9);
}

static void test_connection_lost(void **state)
{
    tml_device d;
    char uri[200];
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    F->drop_block = 5;
    F->drop_times = 1000;
    good_uri(uri, sizeof uri);
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_state(&d), TML_FW_STATE_IDLE);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_CONN_LOST);
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_BAD_REQUEST);
    /* 404 from the package server: invalid URI */
    install(&d, g_pkg, g_pkg_len, "coap://127.0.0.1/a/missing");
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INVALID_URI);
}

static void test_tampered_keeps_previous_model(void **state)
{
    tml_device d;
    char uri[200];
    uint8_t *bad = malloc(g_pkg_len);
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    good_uri(uri, sizeof uri);
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_CHANGED);
    assert_int_equal(infer_class(&d), 9);
    memcpy(bad, g_pkg, g_pkg_len);
    bad[g_pkg_len / 2] ^= 0x01;
    /* the URI names the good hash */
    install(&d, bad, g_pkg_len, uri);
    assert_int_equal(fw_state(&d), TML_FW_STATE_IDLE);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INTEGRITY);
    assert_non_null(strstr(F->last_log, "previous model keeps running"));
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_BAD_REQUEST);
    assert_int_equal(infer_class(&d), 9);
    assert_int_equal(d.active, 0);
    /* a URI without a hash: the package's own hash catches it */
    install(&d, bad, g_pkg_len, "coap://127.0.0.1/models/m1.tmlpkg");
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INTEGRITY);
    assert_int_equal(infer_class(&d), 9);
    /* not a package at all */
    install(&d, (const uint8_t *)"hello world", 11, "coap://127.0.0.1/x");
    assert_int_equal(fw_result(&d), TML_FW_RESULT_UNSUPPORTED);
    assert_int_equal(infer_class(&d), 9);
    free(bad);
}

static void test_signature(void **state)
{
    tml_device d;
    char uri[200];
    (void)state;
    make(&d, 1, SLOT_CAP, ARENA_CAP);
    tml_device_step(&d); /* registered first, so the last log line is the download's */
    good_uri(uri, sizeof uri);
    F->sig_ok = 0;
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INTEGRITY);
    assert_non_null(strstr(F->last_log, "signature"));
    assert_int_equal(F->log[F->n_log - 1].block, -1);
    assert_non_null(strstr(F->log[F->n_log - 1].path, ".sig"));
    F->sig_ok = 1;
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_state(&d), TML_FW_STATE_DOWNLOADED);
}

static void test_budgets(void **state)
{
    tml_device d;
    char uri[200];
    (void)state;
    good_uri(uri, sizeof uri);
    make(&d, 0, 64 * 1024, ARENA_CAP); /* flash budget below the package */
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_NO_STORAGE);
    make(&d, 0, SLOT_CAP, 4096); /* ram budget below the arena */
    install(&d, g_pkg, g_pkg_len, uri);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_NO_MEMORY);
}

static void test_uris(void **state)
{
    tml_device d;
    char host[TML_DEV_HOST_MAX], path[TML_DEV_PATH_MAX], longuri[300];
    uint16_t port;
    int sec = -1;
    (void)state;
    assert_int_equal(tml_device_uri_parse("coap://[::1]:5700/a/b", 21, host, &port, path, &sec),
                     TML_FW_RESULT_INITIAL);
    assert_string_equal(host, "::1");
    assert_int_equal(port, 5700);
    assert_string_equal(path, "a/b");
    assert_int_equal(sec, 0);
    assert_int_equal(tml_device_uri_parse("coap://h/p", 10, host, &port, path, NULL),
                     TML_FW_RESULT_INITIAL);
    assert_int_equal(port, 5683);
    assert_int_equal(tml_device_uri_parse("coaps://h/p", 11, host, &port, path, &sec),
                     TML_FW_RESULT_INITIAL);
    assert_int_equal(port, 5684);
    assert_int_equal(sec, 1);
#define BAD(u, r) assert_int_equal(tml_device_uri_parse(u, strlen(u), host, &port, path, &sec), r)
    BAD("coap+tcp://h/p", TML_FW_RESULT_BAD_PROTOCOL);
    BAD("coapx://h/p", TML_FW_RESULT_BAD_PROTOCOL);
    BAD("http://h/p", TML_FW_RESULT_BAD_PROTOCOL);
    BAD("coap://h", TML_FW_RESULT_INVALID_URI);
    BAD("coap:///p", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h:0/p", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h:65536/p", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h:/p", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h/p?q=1", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h/a//b", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h/a/", TML_FW_RESULT_INVALID_URI);
    BAD("coap://u@h/a", TML_FW_RESULT_INVALID_URI);
    BAD("coap://[::1/a", TML_FW_RESULT_INVALID_URI);
    BAD("coap://h/a b", TML_FW_RESULT_INVALID_URI);
    BAD("", TML_FW_RESULT_INVALID_URI);
    BAD("://h/a", TML_FW_RESULT_INVALID_URI);
#undef BAD
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(write_uri(&d, "coaps://h/p"), TML_COAP_CHANGED);
    assert_int_equal(fw_state(&d), TML_FW_STATE_IDLE);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_BAD_PROTOCOL);
    assert_int_equal(write_uri(&d, "coap://h"), TML_COAP_CHANGED);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INVALID_URI);
    memset(longuri, 'a', sizeof longuri - 1);
    longuri[sizeof longuri - 1] = '\0';
    assert_int_equal(write_uri(&d, longuri), TML_COAP_TOO_LARGE);
    assert_int_equal(call(&d, TML_COAP_PUT, "5/0/1", TML_DEV_CF_SENML_JSON, -1, "[]", 2),
                     TML_COAP_UNSUPPORTED_CF);
    assert_int_equal(call(&d, TML_COAP_PUT, "5/0/1", TML_DEV_CF_TEXT, -1, "coap://h/\0x", 11),
                     TML_COAP_CHANGED);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INVALID_URI);
    /* empty URI cancels */
    assert_int_equal(write_uri(&d, ""), TML_COAP_CHANGED);
    assert_int_equal(fw_result(&d), TML_FW_RESULT_INITIAL);
}

static void test_persistence(void **state)
{
    tml_device d, d2;
    char uri[200];
    (void)state;
    make(&d, 0, SLOT_CAP, ARENA_CAP);
    good_uri(uri, sizeof uri);
    install(&d, g_pkg, g_pkg_len, uri);
    /* downloaded but not executed: a restart has no model */
    make(&d2, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(d2.active, -1);
    assert_int_equal(call(&d, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_CHANGED);
    memset(bufs[0], 0, SLOT_CAP); /* RAM is lost on restart */
    make(&d2, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(d2.active, 0);
    assert_string_equal(d2.name[0], g_sha_hex);
    assert_int_equal(infer_class(&d2), 9);
    /* a flipped byte in the slot: no model, never a corrupt one */
    F->slot[0][1000] ^= 0x10;
    make(&d2, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(d2.active, -1);
    F->slot[0][1000] ^= 0x10;
    /* a flipped byte in the state record */
    F->state[10] ^= 0x01;
    make(&d2, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(d2.active, -1);
    F->state[10] ^= 0x01;
    make(&d2, 0, SLOT_CAP, ARENA_CAP);
    assert_int_equal(d2.active, 0);
    /* a state record that cannot be written fails the update and keeps the old model */
    install(&d2, g_pkg, g_pkg_len, uri);
    F->state_fail = 1;
    assert_int_equal(call(&d2, TML_COAP_POST, "5/0/2", -1, -1, NULL, 0), TML_COAP_INTERNAL);
    assert_int_equal(fw_result(&d2), TML_FW_RESULT_FAILED);
    assert_int_equal(d2.active, 0);
    assert_int_equal(infer_class(&d2), 9);
}

static void test_bad_config(void **state)
{
    tml_device d;
    tml_device_config c;
    tml_device_port p;
    (void)state;
    memset(&c, 0, sizeof c);
    memset(&p, 0, sizeof p);
    assert_int_equal(tml_device_init(&d, &c, &p), TML_ERR_ARG);
}

static int load_fixtures(void)
{
    char path[512], err[256];
    tml_model *m = NULL;
    tml_value v;
    uint8_t h[32];
    snprintf(path, sizeof path, "%s/tests/fixtures/fmnist_cnn.onnx", TML_SOURCE_DIR);
    if (tml_model_compile(path, NULL, &m, err, sizeof err) != TML_OK) {
        fprintf(stderr, "compile: %s\n", err);
        return -1;
    }
    if (tml_package_build(m->plan, &g_pkg, &g_pkg_len, err, sizeof err) != TML_OK) {
        fprintf(stderr, "package: %s\n", err);
        return -1;
    }
    tml_model_free(m);
    snprintf(path, sizeof path, "%s/tests/fixtures/fmnist_sample0.npy", TML_SOURCE_DIR);
    if (tml_npy_read(path, &v, err, sizeof err) != TML_OK || v.nbytes != sizeof g_input) {
        fprintf(stderr, "sample: %s\n", err);
        return -1;
    }
    memcpy(g_input, v.data, sizeof g_input);
    tml_value_release(&v);
    tml_sha256(g_pkg, g_pkg_len, h);
    for (int i = 0; i < 32; i++)
        snprintf(g_sha_hex + 2 * i, 3, "%02x", h[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_update_deregister, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_backoff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_infer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_after_lost_block, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampered_keeps_previous_model, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signature, setup, teardown),
        cmocka_unit_test_setup_teardown(test_budgets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uris, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_config, setup, teardown),
    };
    int rc;
    if (load_fixtures() != 0)
        return 1;
    for (int i = 0; i < 4; i++)
        bufs[i] = malloc(i < 2 ? SLOT_CAP : ARENA_CAP);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    for (int i = 0; i < 4; i++)
        free(bufs[i]);
    free(g_pkg);
    return rc;
}
