/*
 * http.c - the service's HTTP + JSON API for people and scripts (libmicrohttpd + cJSON).
 *
 *   GET    /api/health                      {"status":"ok", "version", counts}
 *   GET    /api/signing-key                 {"algorithm":"ed25519","public_key":HEX,...}
 *   GET    /api/devices                     {"devices":[...]}   (with node info, current model)
 *   GET    /api/devices/{ep}                one device
 *   GET    /api/models                      {"models":[...]}    (every version)
 *   GET    /api/models/{name}               {"models":[...]}    (the versions of one model)
 *   POST   /api/models?name=N               body = model bytes -> {"name","version","sha256",...}
 *   DELETE /api/models/{name}[/{version}]   {"deleted": n}
 *   GET    /api/builds                      {"builds":[...]}    (with the size report)
 *   GET    /api/builds/{id}                 one build
 *   GET    /api/deployments                 {"deployments":[...]}
 *   GET    /api/deployments/{id}            one deployment
 *   POST   /api/deployments                 {"model":M[,"version":V],"device":EP | "all":true}
 *   GET    /api/psks                        {"identities":[...]} (DTLS identities, never keys)
 *   PUT    /api/psks/{identity}             [{"key":HEX}] -> {"identity","key"} (random if absent)
 *   DELETE /api/psks/{identity}
 *   POST   /api/infer?device=EP             body = input tensor -> the device's answer (web.c)
 *   GET    /, /app.js, ...                   the web page, embedded at build time (web.c)
 *
 * Security: the daemon listens on loopback unless --http-bind says otherwise. Every request
 * that changes state (POST, PUT, PATCH, DELETE) must carry "Authorization: Bearer <token>"
 * (DATA_DIR/admin.token); it is checked on the first callback, before any body is read, and
 * a failure answers 401 without touching anything. Bodies are accumulated up to a fixed limit
 * (413 beyond it, also checked against Content-Length before reading). Errors are always
 * {"error": "..."} with a 4xx/5xx status.
 *
 * libmicrohttpd runs one internal polling thread, so handlers never run concurrently with
 * each other; they share only the store (thread-safe) with the CoAP loop.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "lwm2m/lwm2m.h"
#include "service/service_int.h"
#include "service/web.h"

#define JSON_BODY_MAX (64 * 1024) /* JSON request bodies */

/* Per-request state, lives from the first callback to the completion notification. */
typedef struct {
    unsigned char *body;
    size_t len, cap, limit;
    bool too_big;
    bool answered; /* a response was queued early (401/413) */
} req_ctx;

/* ---- responses ---- */

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, cJSON *obj)
{
    char *txt = cJSON_PrintUnformatted(obj);
    size_t n;
    struct MHD_Response *r;
    enum MHD_Result ret;
    cJSON_Delete(obj);
    if (!txt)
        return MHD_NO;
    n = strlen(txt);
    /* cJSON allocates with malloc, so MHD may free() it */
    r = MHD_create_response_from_buffer(n, txt, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(txt);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tmlaas\"");
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    cJSON *o = cJSON_CreateObject();
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cJSON_AddStringToObject(o, "error", msg);
    return send_json(c, status, o);
}

static unsigned status_http(tml_status st)
{
    switch (st) {
    case TML_ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
    case TML_ERR_ARG:
    case TML_ERR_FORMAT: return MHD_HTTP_BAD_REQUEST;
    case TML_ERR_STATE: return MHD_HTTP_CONFLICT;
    case TML_ERR_FIT: return MHD_HTTP_CONTENT_TOO_LARGE;
    case TML_ERR_UNSUPPORTED: return MHD_HTTP_UNSUPPORTED_MEDIA_TYPE;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

/* ---- JSON of records ---- */

static void add_time(cJSON *o, const char *key, int64_t t)
{
    char buf[32];
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    gmtime_r(&tt, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cJSON_AddStringToObject(o, key, buf);
}

static cJSON *device_json(const tml_device *d)
{
    cJSON *o = cJSON_CreateObject(), *info;
    cJSON_AddStringToObject(o, "endpoint", d->endpoint);
    cJSON_AddStringToObject(o, "state", d->online ? "online" : "offline");
    if (d->reg_id[0])
        cJSON_AddStringToObject(o, "registration", d->reg_id);
    else
        cJSON_AddNullToObject(o, "registration");
    cJSON_AddNumberToObject(o, "lifetime", (double)d->lifetime);
    cJSON_AddStringToObject(o, "binding", d->binding);
    cJSON_AddStringToObject(o, "lwm2m", d->lwm2m_version);
    cJSON_AddStringToObject(o, "object_links", d->object_links ? d->object_links : "");
    cJSON_AddStringToObject(o, "address", d->address);
    info = d->node_info ? cJSON_Parse(d->node_info) : NULL;
    cJSON_AddItemToObject(o, "node", info ? info : cJSON_CreateObject());
    if (d->current_model[0]) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", d->current_model);
        cJSON_AddStringToObject(m, "sha256", d->current_model_sha);
        cJSON_AddItemToObject(o, "model", m);
    } else {
        cJSON_AddNullToObject(o, "model");
    }
    add_time(o, "registered", d->registered);
    add_time(o, "last_seen", d->last_seen);
    return o;
}

static cJSON *model_json(const tml_model_entry *m)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", m->name);
    cJSON_AddNumberToObject(o, "version", m->version);
    cJSON_AddStringToObject(o, "sha256", m->sha256);
    cJSON_AddNumberToObject(o, "size", (double)m->size);
    add_time(o, "created", m->created);
    return o;
}

static cJSON *build_json(const tml_build *b)
{
    cJSON *o = cJSON_CreateObject(), *rep;
    cJSON_AddNumberToObject(o, "id", (double)b->id);
    cJSON_AddStringToObject(o, "model_sha256", b->model_sha);
    cJSON_AddStringToObject(o, "profile", b->profile);
    cJSON_AddStringToObject(o, "compiler_version", b->compiler_version);
    cJSON_AddStringToObject(o, "status", tml_build_status_str(b->status));
    if (b->artifact_sha[0])
        cJSON_AddStringToObject(o, "artifact_sha256", b->artifact_sha);
    else
        cJSON_AddNullToObject(o, "artifact_sha256");
    rep = b->report ? cJSON_Parse(b->report) : NULL;
    cJSON_AddItemToObject(o, "report", rep ? rep : cJSON_CreateNull());
    if (b->error)
        cJSON_AddStringToObject(o, "error", b->error);
    else
        cJSON_AddNullToObject(o, "error");
    add_time(o, "created", b->created);
    add_time(o, "updated", b->updated);
    return o;
}

static cJSON *deployment_json(const tml_deployment *d)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "id", (double)d->id);
    cJSON_AddStringToObject(o, "model", d->model_name);
    cJSON_AddNumberToObject(o, "version", d->model_version);
    cJSON_AddStringToObject(o, "device", d->device);
    if (d->build_id)
        cJSON_AddNumberToObject(o, "build", (double)d->build_id);
    else
        cJSON_AddNullToObject(o, "build");
    cJSON_AddStringToObject(o, "state", tml_deploy_state_str(d->state));
    cJSON_AddNumberToObject(o, "result", d->result);
    if (d->error)
        cJSON_AddStringToObject(o, "error", d->error);
    else
        cJSON_AddNullToObject(o, "error");
    add_time(o, "created", d->created);
    add_time(o, "updated", d->updated);
    return o;
}

static int add_device(void *arr, const tml_device *d)
{
    cJSON_AddItemToArray((cJSON *)arr, device_json(d));
    return 0;
}
static int add_model(void *arr, const tml_model_entry *m)
{
    cJSON_AddItemToArray((cJSON *)arr, model_json(m));
    return 0;
}
static int add_build(void *arr, const tml_build *b)
{
    cJSON_AddItemToArray((cJSON *)arr, build_json(b));
    return 0;
}
static int add_deployment(void *arr, const tml_deployment *d)
{
    cJSON_AddItemToArray((cJSON *)arr, deployment_json(d));
    return 0;
}

static int count_one(void *ctx, const void *rec)
{
    (void)rec;
    (*(int *)ctx)++;
    return 0;
}

/* ---- handlers ---- */

static enum MHD_Result list_reply(struct MHD_Connection *c, tml_service *svc, const char *key,
                                  tml_status st, cJSON *arr)
{
    cJSON *o;
    if (st != TML_OK) {
        cJSON_Delete(arr);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", tml_store_error(svc->store));
    }
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, key, arr);
    return send_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result get_health(struct MHD_Connection *c, tml_service *svc)
{
    cJSON *o = cJSON_CreateObject();
    int nd = 0, nm = 0;
    tml_status st = tml_store_device_list(svc->store, (tml_device_fn)count_one, &nd);
    if (st == TML_OK)
        st = tml_store_model_list(svc->store, (tml_model_entry_fn)count_one, &nm);
    cJSON_AddStringToObject(o, "status", st == TML_OK ? "ok" : "degraded");
    cJSON_AddStringToObject(o, "version", TML_VERSION);
    cJSON_AddStringToObject(o, "store", svc->store->ops->name);
    cJSON_AddNumberToObject(o, "devices", nd);
    cJSON_AddNumberToObject(o, "models", nm);
    cJSON_AddNumberToObject(o, "coap_port", svc->coap_bound_port);
    return send_json(c, st == TML_OK ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE, o);
}

static enum MHD_Result get_signing_key(struct MHD_Connection *c, tml_service *svc)
{
    char hex[2 * TML_SIGN_PK_BYTES + 1];
    cJSON *o = cJSON_CreateObject();
    sodium_bin2hex(hex, sizeof hex, svc->sign_pk, sizeof svc->sign_pk);
    cJSON_AddStringToObject(o, "algorithm", "ed25519");
    cJSON_AddStringToObject(o, "public_key", hex);
    cJSON_AddStringToObject(o, "signed_message", "\"TMLAASv1\" || sha256(artifact)");
    return send_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result get_device(struct MHD_Connection *c, tml_service *svc, const char *ep)
{
    tml_device d;
    tml_status st = tml_store_device_get(svc->store, ep, &d);
    cJSON *o;
    if (st != TML_OK)
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    o = device_json(&d);
    tml_device_clear(&d);
    return send_json(c, MHD_HTTP_OK, o);
}

/* Sniffs the model format: ONNX (protobuf ModelProto starting with a varint field, almost
 * always ir_version = field 1) or TFLite (FlatBuffer with identifier "TFL3" at offset 4).
 * The compiler validates fully at build time; this only turns away obvious mistakes. */
static const char *model_format(const unsigned char *b, size_t n)
{
    if (n >= 8 && memcmp(b + 4, "TFL3", 4) == 0)
        return "tflite";
    if (n >= 2 && (b[0] == 0x08 || b[0] == 0x12 || b[0] == 0x1a || b[0] == 0x3a))
        return "onnx";
    return NULL;
}

static enum MHD_Result post_model(struct MHD_Connection *c, tml_service *svc, req_ctx *rq)
{
    const char *name = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "name");
    const char *fmt;
    char sha[TML_SHA_HEX], err[512], path[1300];
    tml_model_entry m, latest;
    tml_status st;
    cJSON *o;
    if (!name || !*name)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "model: query parameter 'name' is required");
    if (!tml_model_name_valid(name))
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "model '%.64s': name must be 1-64 of [A-Za-z0-9._-], starting with a "
                          "letter or digit",
                          name);
    if (rq->len == 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "model '%s': empty body", name);
    fmt = model_format(rq->body, rq->len);
    if (!fmt)
        return send_error(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                          "model '%s': not an ONNX or TFLite file", name);
    st = tml_artifact_put(svc->artifacts_dir, rq->body, rq->len, sha, err, sizeof err);
    if (st != TML_OK) {
        tml_log("http: %s", err);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", err);
    }
    /* the same bytes as the latest version: nothing new */
    if (tml_store_model_get(svc->store, name, 0, &latest) == TML_OK) {
        bool same = strcmp(latest.sha256, sha) == 0;
        if (same) {
            o = model_json(&latest);
            cJSON_AddBoolToObject(o, "new", false);
            tml_model_entry_clear(&latest);
            return send_json(c, MHD_HTTP_OK, o);
        }
        tml_model_entry_clear(&latest);
    }
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.sha256, sizeof m.sha256, "%s", sha);
    m.size = (int64_t)rq->len;
    tml_artifact_path(svc->artifacts_dir, sha, path, sizeof path);
    m.artifact_path = path;
    st = tml_store_model_add(svc->store, &m);
    if (st != TML_OK)
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    tml_log("model '%s' version %d uploaded (%s, %zu bytes, sha256 %.16s)", m.name, m.version, fmt,
            rq->len, sha);
    o = model_json(&m);
    cJSON_AddStringToObject(o, "format", fmt);
    cJSON_AddBoolToObject(o, "new", true);
    return send_json(c, MHD_HTTP_CREATED, o);
}

typedef struct {
    const char *name;
    int version;
    char shas[64][TML_SHA_HEX];
    int n;
} sha_collect;

static int collect_sha(void *ctx, const tml_model_entry *m)
{
    sha_collect *sc = (sha_collect *)ctx;
    int i;
    if (strcmp(m->name, sc->name) != 0 || (sc->version && m->version != sc->version))
        return 0;
    for (i = 0; i < sc->n; i++)
        if (strcmp(sc->shas[i], m->sha256) == 0)
            return 0;
    if (sc->n < 64)
        memcpy(sc->shas[sc->n++], m->sha256, TML_SHA_HEX);
    return 0;
}

static enum MHD_Result delete_model(struct MHD_Connection *c, tml_service *svc, const char *rest)
{
    char name[TML_NAME_MAX], err[256];
    const char *slash = strchr(rest, '/');
    int version = 0, n = 0, i;
    sha_collect sc;
    tml_status st;
    cJSON *o;
    size_t nl = slash ? (size_t)(slash - rest) : strlen(rest);
    if (nl == 0 || nl >= sizeof name)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "model: invalid name");
    memcpy(name, rest, nl);
    name[nl] = 0;
    if (!tml_model_name_valid(name))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "model '%.64s': invalid name", name);
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (slash[1] == 0 || *end || v < 1 || v > 1000000000)
            return send_error(c, MHD_HTTP_BAD_REQUEST, "model '%s': invalid version '%.20s'",
                              name, slash + 1);
        version = (int)v;
    }
    memset(&sc, 0, sizeof sc);
    sc.name = name;
    sc.version = version;
    tml_store_model_list(svc->store, collect_sha, &sc);
    st = tml_store_model_delete(svc->store, name, version, &n);
    if (st != TML_OK)
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    /* the rows are gone; files no row refers to any more go too (a crash in between leaves
     * an unreferenced file, never a row without its file) */
    for (i = 0; i < sc.n; i++) {
        bool used = true;
        if (tml_store_artifact_in_use(svc->store, sc.shas[i], &used) == TML_OK && !used &&
            tml_artifact_remove(svc->artifacts_dir, sc.shas[i], err, sizeof err) != TML_OK)
            tml_log("http: %s", err);
    }
    if (version)
        tml_log("model '%s' version %d deleted", name, version);
    else
        tml_log("model '%s' deleted (%d versions)", name, n);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "deleted", n);
    return send_json(c, MHD_HTTP_OK, o);
}

typedef struct {
    tml_deployment *d;
    int n, cap;
    const tml_model_entry *m;
} dep_collect;

static int dep_add_device(void *ctx, const tml_device *dev)
{
    dep_collect *dc = (dep_collect *)ctx;
    tml_deployment *x;
    if (!dev->online)
        return 0;
    if (dc->n == dc->cap) {
        int cap = dc->cap ? dc->cap * 2 : 16;
        tml_deployment *nd = realloc(dc->d, (size_t)cap * sizeof *nd);
        if (!nd)
            return 1;
        dc->d = nd;
        dc->cap = cap;
    }
    x = &dc->d[dc->n++];
    memset(x, 0, sizeof *x);
    x->model_id = dc->m->id;
    snprintf(x->model_name, sizeof x->model_name, "%s", dc->m->name);
    x->model_version = dc->m->version;
    snprintf(x->device, sizeof x->device, "%s", dev->endpoint);
    x->state = TML_DEPLOY_PENDING;
    return 0;
}

static enum MHD_Result post_deployment(struct MHD_Connection *c, tml_service *svc, req_ctx *rq)
{
    cJSON *req, *jm, *jv, *jd, *ja, *o, *arr;
    tml_model_entry m;
    tml_status st;
    dep_collect dc;
    int version = 0, i;
    enum MHD_Result ret;
    if (rq->len == 0)
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "deployment: empty body; expected {\"model\": NAME, \"device\": EP} or "
                          "{\"model\": NAME, \"all\": true}");
    req = cJSON_ParseWithLength((const char *)rq->body, rq->len);
    if (!req || !cJSON_IsObject(req)) {
        cJSON_Delete(req);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "deployment: body is not a JSON object");
    }
    jm = cJSON_GetObjectItemCaseSensitive(req, "model");
    jv = cJSON_GetObjectItemCaseSensitive(req, "version");
    jd = cJSON_GetObjectItemCaseSensitive(req, "device");
    ja = cJSON_GetObjectItemCaseSensitive(req, "all");
    if (!cJSON_IsString(jm) || !tml_model_name_valid(jm->valuestring)) {
        cJSON_Delete(req);
        return send_error(c, MHD_HTTP_BAD_REQUEST, "deployment: 'model' must be a model name");
    }
    if (jv) {
        if (!cJSON_IsNumber(jv) || jv->valuedouble < 1 || jv->valuedouble > 1e9 ||
            jv->valuedouble != (double)(int)jv->valuedouble) {
            cJSON_Delete(req);
            return send_error(c, MHD_HTTP_BAD_REQUEST,
                              "deployment: 'version' must be a positive integer");
        }
        version = (int)jv->valuedouble;
    }
    if ((jd != NULL) == (ja != NULL && cJSON_IsTrue(ja)) ||
        (jd && (!cJSON_IsString(jd) || !jd->valuestring[0])) || (ja && !cJSON_IsBool(ja))) {
        cJSON_Delete(req);
        return send_error(c, MHD_HTTP_BAD_REQUEST,
                          "deployment: give exactly one of 'device' (an endpoint) or "
                          "'all': true");
    }
    st = tml_store_model_get(svc->store, jm->valuestring, version, &m);
    if (st != TML_OK) {
        cJSON_Delete(req);
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    }
    memset(&dc, 0, sizeof dc);
    dc.m = &m;
    if (jd) {
        tml_device dev;
        st = tml_store_device_get(svc->store, jd->valuestring, &dev);
        if (st == TML_OK) {
            dev.online = true; /* an explicit target is recorded even while it is offline */
            dep_add_device(&dc, &dev);
            tml_device_clear(&dev);
        }
    } else {
        st = tml_store_device_list(svc->store, dep_add_device, &dc);
        if (st == TML_OK && dc.n == 0) {
            tml_model_entry_clear(&m);
            cJSON_Delete(req);
            return send_error(c, MHD_HTTP_CONFLICT, "deployment: no device is online");
        }
    }
    cJSON_Delete(req);
    if (st == TML_OK)
        st = tml_store_deployment_add(svc->store, dc.d, dc.n);
    if (st != TML_OK) {
        free(dc.d);
        tml_model_entry_clear(&m);
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    }
    o = cJSON_CreateObject();
    arr = cJSON_AddArrayToObject(o, "deployments");
    for (i = 0; i < dc.n; i++) {
        cJSON_AddItemToArray(arr, deployment_json(&dc.d[i]));
        tml_log("deployment %lld: model '%s' version %d to device '%s' recorded (pending)",
                (long long)dc.d[i].id, m.name, m.version, dc.d[i].device);
    }
    free(dc.d);
    tml_model_entry_clear(&m);
    tml_builder_kick(svc);
    ret = send_json(c, MHD_HTTP_CREATED, o);
    return ret;
}

typedef struct {
    const char *name;
    cJSON *arr;
} name_filter;

static int add_model_named(void *ctx, const tml_model_entry *m)
{
    name_filter *f = (name_filter *)ctx;
    if (strcmp(m->name, f->name) == 0)
        cJSON_AddItemToArray(f->arr, model_json(m));
    return 0;
}

static enum MHD_Result get_model(struct MHD_Connection *c, tml_service *svc, const char *name)
{
    name_filter f;
    cJSON *o;
    tml_status st;
    if (!tml_model_name_valid(name))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "model '%.64s': invalid name", name);
    f.name = name;
    f.arr = cJSON_CreateArray();
    st = tml_store_model_list(svc->store, add_model_named, &f);
    if (st != TML_OK) {
        cJSON_Delete(f.arr);
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s", tml_store_error(svc->store));
    }
    if (cJSON_GetArraySize(f.arr) == 0) {
        cJSON_Delete(f.arr);
        return send_error(c, MHD_HTTP_NOT_FOUND, "model '%s': not found", name);
    }
    o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "models", f.arr);
    return send_json(c, MHD_HTTP_OK, o);
}

/* Parses a positive decimal id; 0 if it is not one. */
static int64_t parse_id(const char *s)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    return (*s && !*end && v > 0) ? (int64_t)v : 0;
}

static enum MHD_Result get_build(struct MHD_Connection *c, tml_service *svc, const char *ids)
{
    tml_build b;
    int64_t id = parse_id(ids);
    tml_status st;
    cJSON *o;
    if (!id)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "build '%.20s': not an id", ids);
    st = tml_store_build_get(svc->store, id, &b);
    if (st != TML_OK)
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    o = build_json(&b);
    tml_build_clear(&b);
    return send_json(c, MHD_HTTP_OK, o);
}

static enum MHD_Result get_deployment(struct MHD_Connection *c, tml_service *svc, const char *ids)
{
    tml_deployment d;
    int64_t id = parse_id(ids);
    tml_status st;
    cJSON *o;
    if (!id)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "deployment '%.20s': not an id", ids);
    st = tml_store_deployment_get(svc->store, id, &d);
    if (st != TML_OK)
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    o = deployment_json(&d);
    tml_deployment_clear(&d);
    return send_json(c, MHD_HTTP_OK, o);
}

static int add_identity(void *arr, const char *id)
{
    cJSON_AddItemToArray((cJSON *)arr, cJSON_CreateString(id));
    return 0;
}

/* PUT /api/psks/{identity}: body {"key": "hex"} or empty (a random 16-byte key). The key is
 * returned once, here, so it can be provisioned into the device. */
static enum MHD_Result put_psk(struct MHD_Connection *c, tml_service *svc, const char *id,
                               req_ctx *rq)
{
    uint8_t key[TML_PSK_MAX];
    size_t klen = 16;
    char hex[2 * TML_PSK_MAX + 1];
    cJSON *o;
    tml_status st;
    if (!tml_lwm2m_endpoint_valid(id))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "psk '%.64s': not a valid endpoint name", id);
    if (rq->len > 0) {
        cJSON *req = cJSON_ParseWithLength((const char *)rq->body, rq->len);
        cJSON *jk = req ? cJSON_GetObjectItemCaseSensitive(req, "key") : NULL;
        const char *end = NULL;
        if (!cJSON_IsString(jk) ||
            sodium_hex2bin(key, sizeof key, jk->valuestring, strlen(jk->valuestring), NULL, &klen,
                           &end) != 0 ||
            *end || klen == 0) {
            cJSON_Delete(req);
            return send_error(c, MHD_HTTP_BAD_REQUEST,
                              "psk '%s': body must be {\"key\": HEX} with 1 to %d bytes", id,
                              TML_PSK_MAX);
        }
        cJSON_Delete(req);
    } else {
        randombytes_buf(key, klen);
    }
    st = tml_store_psk_put(svc->store, id, key, klen);
    if (st != TML_OK) {
        sodium_memzero(key, sizeof key);
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    }
    sodium_bin2hex(hex, sizeof hex, key, klen);
    sodium_memzero(key, sizeof key);
    tml_log("psk for '%s' set (%zu bytes)", id, klen);
    o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "identity", id);
    cJSON_AddStringToObject(o, "key", hex);
    sodium_memzero(hex, sizeof hex);
    return send_json(c, MHD_HTTP_CREATED, o);
}

static enum MHD_Result delete_psk(struct MHD_Connection *c, tml_service *svc, const char *id)
{
    tml_status st = tml_store_psk_delete(svc->store, id);
    cJSON *o;
    if (st != TML_OK)
        return send_error(c, status_http(st), "%s", tml_store_error(svc->store));
    tml_log("psk for '%s' deleted", id);
    o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "deleted", 1);
    return send_json(c, MHD_HTTP_OK, o);
}

/* ---- dispatch ---- */

static bool is_mutation(const char *method)
{
    return strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0 &&
           strcmp(method, MHD_HTTP_METHOD_OPTIONS) != 0;
}

static bool authorized(struct MHD_Connection *c, const tml_service *svc)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    if (strlen(h) != TML_TOKEN_LEN)
        return false;
    return sodium_memcmp(h, svc->token, TML_TOKEN_LEN) == 0;
}

static enum MHD_Result route(struct MHD_Connection *c, tml_service *svc, const char *url,
                             const char *method, req_ctx *rq)
{
    bool get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
    bool post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    bool del = strcmp(method, MHD_HTTP_METHOD_DELETE) == 0;
    bool put = strcmp(method, MHD_HTTP_METHOD_PUT) == 0;
    cJSON *arr;

    if (strcmp(url, "/api/health") == 0) {
        if (get)
            return get_health(c, svc);
    } else if (strcmp(url, "/api/signing-key") == 0) {
        if (get)
            return get_signing_key(c, svc);
    } else if (strcmp(url, "/api/devices") == 0) {
        if (get) {
            arr = cJSON_CreateArray();
            return list_reply(c, svc, "devices", tml_store_device_list(svc->store, add_device, arr),
                              arr);
        }
    } else if (strncmp(url, "/api/devices/", 13) == 0 && url[13]) {
        if (get)
            return get_device(c, svc, url + 13);
    } else if (strcmp(url, "/api/models") == 0) {
        if (get) {
            arr = cJSON_CreateArray();
            return list_reply(c, svc, "models", tml_store_model_list(svc->store, add_model, arr),
                              arr);
        }
        if (post)
            return post_model(c, svc, rq);
    } else if (strncmp(url, "/api/models/", 12) == 0 && url[12]) {
        if (del)
            return delete_model(c, svc, url + 12);
        if (get && !strchr(url + 12, '/'))
            return get_model(c, svc, url + 12);
    } else if (strcmp(url, "/api/psks") == 0) {
        if (get) {
            arr = cJSON_CreateArray();
            return list_reply(c, svc, "identities",
                              tml_store_psk_list(svc->store, add_identity, arr), arr);
        }
    } else if (strncmp(url, "/api/psks/", 10) == 0 && url[10]) {
        if (put)
            return put_psk(c, svc, url + 10, rq);
        if (del)
            return delete_psk(c, svc, url + 10);
    } else if (strcmp(url, "/api/builds") == 0) {
        if (get) {
            arr = cJSON_CreateArray();
            return list_reply(c, svc, "builds", tml_store_build_list(svc->store, add_build, arr),
                              arr);
        }
    } else if (strncmp(url, "/api/builds/", 12) == 0 && url[12]) {
        if (get)
            return get_build(c, svc, url + 12);
    } else if (strncmp(url, "/api/deployments/", 17) == 0 && url[17]) {
        if (get)
            return get_deployment(c, svc, url + 17);
    } else if (strcmp(url, "/api/deployments") == 0) {
        if (get) {
            arr = cJSON_CreateArray();
            return list_reply(c, svc, "deployments",
                              tml_store_deployment_list(svc->store, false, add_deployment, arr),
                              arr);
        }
        if (post)
            return post_deployment(c, svc, rq);
    } else if (strcmp(url, "/api/infer") == 0) {
        if (post)
            return tml_web_infer(c, svc, rq->body, rq->len);
    } else if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0) {
        if (get || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
            return tml_web_static(c, url);
    } else {
        return send_error(c, MHD_HTTP_NOT_FOUND, "no such resource '%.200s'", url);
    }
    return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method '%.16s' not allowed on '%.200s'",
                      method, url);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **con_cls)
{
    tml_service *svc = (tml_service *)cls;
    req_ctx *rq = (req_ctx *)*con_cls;
    (void)version;

    if (!rq) {
        const char *cl;
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        rq->limit = strcmp(url, "/api/models") == 0 ? svc->max_model_size : JSON_BODY_MAX;
        if (is_mutation(method) && !authorized(c, svc)) {
            rq->answered = true;
            tml_log("http: %s %.200s: 401 (missing or wrong bearer token)", method, url);
            return send_error(c, MHD_HTTP_UNAUTHORIZED,
                              "missing or wrong bearer token (see DATA_DIR/admin.token)");
        }
        cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > rq->limit) {
            rq->answered = true;
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body of %.20s bytes, limit %zu",
                              cl, rq->limit);
        }
        return MHD_YES;
    }
    if (*upload_size > 0) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (rq->answered || rq->too_big)
            return MHD_YES;
        if (rq->len + n > rq->limit) {
            rq->too_big = true;
            free(rq->body);
            rq->body = NULL;
            rq->len = rq->cap = 0;
            return MHD_YES;
        }
        if (rq->len + n > rq->cap) {
            size_t cap = rq->cap ? rq->cap : 4096;
            unsigned char *nb;
            while (cap < rq->len + n)
                cap *= 2;
            if (cap > rq->limit)
                cap = rq->limit;
            nb = realloc(rq->body, cap);
            if (!nb)
                return MHD_NO;
            rq->body = nb;
            rq->cap = cap;
        }
        memcpy(rq->body + rq->len, upload, n);
        rq->len += n;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    if (rq->too_big)
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body over the limit of %zu bytes",
                          rq->limit);
    return route(c, svc, url, method, rq);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    req_ctx *rq = (req_ctx *)*con_cls;
    (void)cls;
    (void)c;
    (void)toe;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

tml_status tml_http_start(tml_service *svc, char *err, size_t errsz)
{
    struct sockaddr_in sa4;
    struct sockaddr_in6 sa6;
    struct sockaddr *sa;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;

    memset(&sa4, 0, sizeof sa4);
    memset(&sa6, 0, sizeof sa6);
    if (inet_pton(AF_INET, svc->http_bind, &sa4.sin_addr) == 1) {
        sa4.sin_family = AF_INET;
        sa4.sin_port = htons((uint16_t)svc->http_port);
        sa = (struct sockaddr *)&sa4;
    } else if (inet_pton(AF_INET6, svc->http_bind, &sa6.sin6_addr) == 1) {
        sa6.sin6_family = AF_INET6;
        sa6.sin6_port = htons((uint16_t)svc->http_port);
        sa = (struct sockaddr *)&sa6;
        flags |= MHD_USE_IPv6;
    } else {
        snprintf(err, errsz, "http: bind address '%s' is not an IPv4 or IPv6 address",
                 svc->http_bind);
        return TML_ERR_ARG;
    }
    d = MHD_start_daemon(flags, (uint16_t)svc->http_port, NULL, NULL, handler, svc,
                         MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_NOTIFY_COMPLETED, completed, svc,
                         MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                         MHD_OPTION_CONNECTION_LIMIT, (unsigned)256, MHD_OPTION_END);
    if (!d) {
        snprintf(err, errsz, "http: cannot listen on %s port %d (in use?)", svc->http_bind,
                 svc->http_port);
        return TML_ERR_IO;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    svc->http_bound_port = info ? info->port : svc->http_port;
    svc->http = d;
    tml_log("http: listening on %s port %d", svc->http_bind, svc->http_bound_port);
    return TML_OK;
}

void tml_http_stop(tml_service *svc)
{
    if (svc->http) {
        MHD_stop_daemon((struct MHD_Daemon *)svc->http);
        svc->http = NULL;
    }
}
