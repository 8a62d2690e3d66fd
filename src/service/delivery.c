/*
 * delivery.c - over-the-air delivery of built artifacts with LwM2M Firmware Update (/5/0).
 *
 * A deployment in state "delivering" has a build whose artifact the service serves at
 * coap[s]://<service>/a/<sha256> (signature at .../a/<sha256>.sig, see coap.c). For each, once
 * a second from the io loop, and only while the device is online and reachable over a live
 * session:
 *
 *   D_WRITE        PUT  /5/0/1  Package URI (text/plain)           2.04 -> D_WAIT_DL
 *   D_WAIT_DL      GET  /5/0/3  State: 1 downloading, 2 downloaded  2    -> D_EXEC
 *                  (State 0 with a non-zero /5/0/5 Update Result means the download failed)
 *   D_EXEC         POST /5/0/2  Update (Execute)                   2.04 -> D_WAIT_RESULT
 *   D_WAIT_RESULT  GET  /5/0/5  Update Result: 1 = success -> installed; 2..9 -> failed with
 *                  that code; 0 = still installing
 *
 * The device downloads block-wise (and resumes a lost block), verifies hash and signature, and
 * installs beside the running version; that is the device agent's side. The service records
 * the LwM2M result code with the deployment, and on success the device's current model.
 * Progress lives in memory (svc->deliveries); the store only says "delivering", so after a
 * restart delivery starts again by writing the same Package URI, which a device treats as the
 * same download. A delivery that makes no progress for TML_DELIVERY_POLLS seconds fails.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "service/service_int.h"

enum { D_WRITE = 0, D_WAIT_DL = 1, D_EXEC = 2, D_WAIT_RESULT = 3 };
#define TML_DELIVERY_POLLS 600

static const char *result_str(int r)
{
    switch (r) {
    case 1: return "success";
    case 2: return "not enough flash for the package";
    case 3: return "out of RAM during download";
    case 4: return "connection lost during download";
    case 5: return "integrity check failure (hash or signature)";
    case 6: return "unsupported package type";
    case 7: return "invalid URI";
    case 8: return "update failed";
    case 9: return "unsupported protocol";
    default: return "unknown result";
    }
}

static tml_delivery *slot_of(tml_service *svc, int64_t dep)
{
    int i;
    for (i = 0; i < TML_DELIVERIES_MAX; i++)
        if (svc->deliveries[i].deployment == dep)
            return &svc->deliveries[i];
    return NULL;
}

static void finish(tml_service *svc, tml_delivery *dl, tml_deploy_state st, int result,
                   const char *error)
{
    if (tml_store_deployment_update(svc->store, dl->deployment, st, 0, result, error) != TML_OK)
        tml_log("delivery: %s", tml_store_error(svc->store));
    if (st == TML_DEPLOY_INSTALLED) {
        tml_store_device_set_info(svc->store, dl->endpoint, NULL, dl->model_name, dl->model_sha);
        tml_log("deployment %lld: model '%s' installed on '%s'", (long long)dl->deployment,
                dl->model_name, dl->endpoint);
    } else {
        tml_log("deployment %lld: delivery to '%s' failed: %s", (long long)dl->deployment,
                dl->endpoint, error ? error : "?");
    }
    memset(dl, 0, sizeof *dl);
}

/* An integer from a single-resource read: text/plain, or the first "v" of SenML JSON. */
static bool read_int(const coap_pdu_t *resp, long *v)
{
    const uint8_t *data = NULL;
    size_t len = 0, off = 0, total = 0;
    char buf[64];
    coap_opt_iterator_t oi;
    coap_opt_t *cf = coap_check_option(resp, COAP_OPTION_CONTENT_FORMAT, &oi);
    unsigned fmt = cf ? coap_decode_var_bytes(coap_opt_value(cf), coap_opt_length(cf)) : 0;
    char *end;
    if (coap_pdu_get_code(resp) != COAP_RESPONSE_CODE_CONTENT ||
        !coap_get_data_large(resp, &len, &data, &off, &total) || len == 0)
        return false;
    if (fmt == TML_CF_SENML_JSON) {
        cJSON *j = cJSON_ParseWithLength((const char *)data, len);
        const cJSON *first = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, 0) : NULL;
        const cJSON *x = first ? cJSON_GetObjectItemCaseSensitive(first, "v") : NULL;
        bool ok = cJSON_IsNumber(x);
        if (ok)
            *v = (long)x->valuedouble;
        cJSON_Delete(j);
        return ok;
    }
    if (fmt != TML_CF_TEXT || len >= sizeof buf)
        return false;
    memcpy(buf, data, len);
    buf[len] = 0;
    *v = strtol(buf, &end, 10);
    return end != buf && *end == 0;
}

static void on_reply(tml_service *svc, const char *ep, int64_t dep, const coap_pdu_t *resp)
{
    tml_delivery *dl = slot_of(svc, dep);
    coap_pdu_code_t code;
    long v = -1;
    char why[200];
    (void)ep;
    if (!dl)
        return;
    dl->busy = false;
    if (!resp) /* no answer: try again on a later tick */
        return;
    code = coap_pdu_get_code(resp);
    switch (dl->step) {
    case D_WRITE:
        if (code != COAP_RESPONSE_CODE_CHANGED) {
            snprintf(why, sizeof why, "device refused the Package URI (%d.%02d)", code >> 5,
                     code & 31);
            finish(svc, dl, TML_DEPLOY_FAILED, 0, why);
            return;
        }
        tml_log("deployment %lld: Package URI written to '%s'", (long long)dep, dl->endpoint);
        dl->step = D_WAIT_DL;
        break;
    case D_WAIT_DL:
        if (!read_int(resp, &v))
            break;
        if (v == 2) {
            dl->step = D_EXEC;
        } else if (v == 0 && dl->polls > 1) {
            /* back to idle without a download: the device gave up; learn why */
            dl->step = D_WAIT_RESULT;
        }
        break;
    case D_EXEC:
        if (code != COAP_RESPONSE_CODE_CHANGED) {
            snprintf(why, sizeof why, "device refused to execute the update (%d.%02d)", code >> 5,
                     code & 31);
            finish(svc, dl, TML_DEPLOY_FAILED, 0, why);
            return;
        }
        tml_log("deployment %lld: update executed on '%s'", (long long)dep, dl->endpoint);
        dl->step = D_WAIT_RESULT;
        break;
    case D_WAIT_RESULT:
        if (!read_int(resp, &v) || v == 0)
            break;
        if (v == 1) {
            finish(svc, dl, TML_DEPLOY_INSTALLED, 1, NULL);
        } else {
            snprintf(why, sizeof why, "device reports result %ld: %s", v, result_str((int)v));
            finish(svc, dl, TML_DEPLOY_FAILED, (int)v, why);
        }
        return;
    }
    dl->next = 0; /* poll again at the next tick */
}

typedef struct {
    tml_deployment *d;
    int n, cap;
} dep_list;

static int collect(void *ctx, const tml_deployment *d)
{
    dep_list *l = (dep_list *)ctx;
    if (d->state != TML_DEPLOY_DELIVERING)
        return 0;
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 16;
        tml_deployment *nd = realloc(l->d, (size_t)cap * sizeof *nd);
        if (!nd)
            return 1;
        l->d = nd;
        l->cap = cap;
    }
    l->d[l->n] = *d;
    l->d[l->n].error = NULL;
    l->n++;
    return 0;
}

/* Whether a delivery to this device is already in progress (one /5/0 per device). */
static bool device_busy(tml_service *svc, const char *endpoint)
{
    int k;
    for (k = 0; k < TML_DELIVERIES_MAX; k++)
        if (svc->deliveries[k].deployment && strcmp(svc->deliveries[k].endpoint, endpoint) == 0)
            return true;
    return false;
}

/* Starts a delivery: finds the device's session and writes the Package URI. */
static void start(tml_service *svc, const tml_deployment *d)
{
    tml_device dev;
    tml_build b;
    tml_model_entry m;
    tml_delivery *dl;
    coap_session_t *s;
    char uri[300], local[80];
    int i;
    if (tml_store_device_get(svc->store, d->device, &dev) != TML_OK)
        return;
    s = dev.online ? tml_coap_session_of(svc, d->device) : NULL;
    tml_device_clear(&dev);
    if (!s)
        return; /* not reachable now; its next registration update brings a session */
    if (tml_store_build_get(svc->store, d->build_id, &b) != TML_OK)
        return;
    dl = slot_of(svc, 0);
    if (!dl || !tml_sha_hex_valid(b.artifact_sha)) {
        tml_build_clear(&b);
        return;
    }
    memset(dl, 0, sizeof *dl);
    dl->deployment = d->id;
    snprintf(dl->endpoint, sizeof dl->endpoint, "%s", d->device);
    snprintf(dl->model_name, sizeof dl->model_name, "%s", d->model_name);
    if (tml_store_model_get(svc->store, d->model_name, d->model_version, &m) == TML_OK) {
        snprintf(dl->model_sha, sizeof dl->model_sha, "%s", m.sha256);
        tml_model_entry_clear(&m);
    }
    if (coap_print_addr(coap_session_get_addr_local(s), (unsigned char *)local, sizeof local) == 0)
        snprintf(local, sizeof local, "127.0.0.1:%d", svc->coap_port);
    for (i = 0; local[i]; i++) /* coap_print_addr may add a NUL-less tail; keep it printable */
        if ((unsigned char)local[i] < 0x20)
            local[i] = 0;
    snprintf(uri, sizeof uri, "%s://%s/a/%s",
             coap_session_get_proto(s) == COAP_PROTO_DTLS ? "coaps" : "coap", local,
             b.artifact_sha);
    tml_build_clear(&b);
    dl->step = D_WRITE;
    dl->busy = true;
    if (tml_coap_request(svc, s, dl->endpoint, COAP_REQUEST_CODE_PUT, "5/0/1", -1, TML_CF_TEXT,
                         uri, strlen(uri), on_reply, d->id) != TML_OK)
        memset(dl, 0, sizeof *dl);
    else
        tml_log("deployment %lld: delivering %s to '%s'", (long long)d->id, uri, d->device);
}

/* Sends the next request of a delivery in progress. */
static void advance(tml_service *svc, tml_delivery *dl, int64_t now)
{
    tml_device dev;
    coap_session_t *s;
    if (dl->busy || dl->next > now)
        return;
    if (++dl->polls > TML_DELIVERY_POLLS) {
        finish(svc, dl, TML_DEPLOY_FAILED, 0, "no progress from the device for 10 minutes");
        return;
    }
    if (tml_store_device_get(svc->store, dl->endpoint, &dev) != TML_OK)
        return;
    s = dev.online ? tml_coap_session_of(svc, dl->endpoint) : NULL;
    tml_device_clear(&dev);
    if (!s)
        return;
    dl->busy = true;
    dl->next = now + 1;
    switch (dl->step) {
    case D_WRITE: /* an unanswered write: start over */
        dl->busy = false;
        memset(dl, 0, sizeof *dl);
        return;
    case D_WAIT_DL:
        tml_coap_request(svc, s, dl->endpoint, COAP_REQUEST_CODE_GET, "5/0/3", TML_CF_TEXT, -1,
                         NULL, 0, on_reply, dl->deployment);
        break;
    case D_EXEC:
        tml_coap_request(svc, s, dl->endpoint, COAP_REQUEST_CODE_POST, "5/0/2", -1, -1, NULL, 0,
                         on_reply, dl->deployment);
        break;
    case D_WAIT_RESULT:
        tml_coap_request(svc, s, dl->endpoint, COAP_REQUEST_CODE_GET, "5/0/5", TML_CF_TEXT, -1,
                         NULL, 0, on_reply, dl->deployment);
        break;
    }
}

void tml_delivery_tick(tml_service *svc)
{
    dep_list l;
    int64_t now = (int64_t)time(NULL);
    int i, k;
    memset(&l, 0, sizeof l);
    tml_store_deployment_list(svc->store, true, collect, &l);
    /* forget deliveries whose deployment is no longer "delivering" */
    for (k = 0; k < TML_DELIVERIES_MAX; k++) {
        bool live = false;
        if (!svc->deliveries[k].deployment)
            continue;
        for (i = 0; i < l.n && !live; i++)
            live = l.d[i].id == svc->deliveries[k].deployment;
        if (!live)
            memset(&svc->deliveries[k], 0, sizeof svc->deliveries[k]);
    }
    for (i = 0; i < l.n; i++) {
        tml_delivery *dl = slot_of(svc, l.d[i].id);
        if (!dl && l.d[i].build_id && !device_busy(svc, l.d[i].device))
            start(svc, &l.d[i]); /* one delivery per device at a time, oldest first */
        else if (dl && dl->step != D_WRITE)
            advance(svc, dl, now);
        else if (dl && !dl->busy)
            memset(dl, 0, sizeof *dl); /* the write was lost: start over next tick */
    }
    free(l.d);
}
