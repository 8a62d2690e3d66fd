/*
 * senml.c - SenML JSON (RFC 8428) as LwM2M 1.1 uses it (content format 110), and the
 * decoding of the TinyML node object (/32769/0) into the node info the store keeps.
 *
 * cJSON does the JSON; this file enforces SenML on top of it: the payload is an array of
 * objects; "bn" (base name) carries over to later records until replaced; each record has
 * exactly one value ("v", "vs", "vb", "vd", or LwM2M's "vlo"); the resolved name is bn + n and
 * at most 127 bytes. Base time, units and sums are accepted and ignored (LwM2M reads do not
 * need them). Limits: 64 KiB of payload, 512 records.
 *
 * The node object's resources are listed in lwm2m.h; the service reads /32769/0 right after a
 * registration that lists object 32769 and stores the result with the device, so builds can
 * pick the device's profile without asking it again.
 */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

tml_status tml_senml_json_parse(const char *buf, size_t len, tml_senml_fn fn, void *ctx, char *err,
                                size_t errsz)
{
    cJSON *root, *rec;
    char base[128] = "";
    int i = 0;
    tml_status st = TML_OK;
    if (err && errsz)
        err[0] = 0;
    if (len > TML_SENML_MAX) {
        if (err && errsz)
            snprintf(err, errsz, "senml: payload of %zu bytes, limit %d", len, TML_SENML_MAX);
        return TML_ERR_FIT;
    }
    root = cJSON_ParseWithLength(buf, len);
    if (!root || !cJSON_IsArray(root)) {
        if (err && errsz)
            snprintf(err, errsz, "senml: payload is not a JSON array");
        cJSON_Delete(root);
        return TML_ERR_FORMAT;
    }
    cJSON_ArrayForEach(rec, root)
    {
        const cJSON *bn, *n, *v, *vs, *vb, *vd, *vlo;
        tml_senml_rec r;
        int nvals;
        size_t bl, nl;
        if (++i > TML_SENML_RECORDS_MAX) {
            if (err && errsz)
                snprintf(err, errsz, "senml: more than %d records", TML_SENML_RECORDS_MAX);
            st = TML_ERR_FIT;
            break;
        }
        if (!cJSON_IsObject(rec)) {
            if (err && errsz)
                snprintf(err, errsz, "senml: record %d is not an object", i);
            st = TML_ERR_FORMAT;
            break;
        }
        bn = cJSON_GetObjectItemCaseSensitive(rec, "bn");
        n = cJSON_GetObjectItemCaseSensitive(rec, "n");
        v = cJSON_GetObjectItemCaseSensitive(rec, "v");
        vs = cJSON_GetObjectItemCaseSensitive(rec, "vs");
        vb = cJSON_GetObjectItemCaseSensitive(rec, "vb");
        vd = cJSON_GetObjectItemCaseSensitive(rec, "vd");
        vlo = cJSON_GetObjectItemCaseSensitive(rec, "vlo");
        if (bn) {
            if (!cJSON_IsString(bn) || strlen(bn->valuestring) >= sizeof base) {
                if (err && errsz)
                    snprintf(err, errsz, "senml: record %d: 'bn' must be a string under 128 bytes",
                             i);
                st = TML_ERR_FORMAT;
                break;
            }
            snprintf(base, sizeof base, "%s", bn->valuestring);
        }
        if (n && !cJSON_IsString(n)) {
            if (err && errsz)
                snprintf(err, errsz, "senml: record %d: 'n' must be a string", i);
            st = TML_ERR_FORMAT;
            break;
        }
        bl = strlen(base);
        nl = n ? strlen(n->valuestring) : 0;
        if (bl + nl >= sizeof r.name) {
            if (err && errsz)
                snprintf(err, errsz, "senml: record %d: name longer than 127 bytes", i);
            st = TML_ERR_FORMAT;
            break;
        }
        memset(&r, 0, sizeof r);
        memcpy(r.name, base, bl);
        if (nl)
            memcpy(r.name + bl, n->valuestring, nl);
        r.name[bl + nl] = 0;
        if (r.name[0] == 0) {
            if (err && errsz)
                snprintf(err, errsz, "senml: record %d has no name", i);
            st = TML_ERR_FORMAT;
            break;
        }
        nvals = (v != NULL) + (vs != NULL) + (vb != NULL) + (vd != NULL) + (vlo != NULL);
        if (nvals != 1) {
            if (err && errsz)
                snprintf(err, errsz, "senml: record %d ('%.64s'): %s value", i, r.name,
                         nvals ? "more than one" : "no");
            st = TML_ERR_FORMAT;
            break;
        }
        if (v) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
                goto badtype;
            r.kind = TML_SENML_NUM;
            r.num = v->valuedouble;
        } else if (vs || vd || vlo) {
            const cJSON *x = vs ? vs : vd ? vd : vlo;
            if (!cJSON_IsString(x))
                goto badtype;
            r.kind = vs ? TML_SENML_STR : vd ? TML_SENML_DATA : TML_SENML_OBJLNK;
            r.str = x->valuestring;
        } else {
            if (!cJSON_IsBool(vb))
                goto badtype;
            r.kind = TML_SENML_BOOL;
            r.b = cJSON_IsTrue(vb);
        }
        if (fn && fn(ctx, &r))
            break;
        continue;
    badtype:
        if (err && errsz)
            snprintf(err, errsz, "senml: record %d ('%.64s'): value of the wrong JSON type", i,
                     r.name);
        st = TML_ERR_FORMAT;
        break;
    }
    cJSON_Delete(root);
    return st;
}

typedef struct {
    cJSON *out;
    char *model, *sha;
    size_t modelsz, shasz;
    char *err;
    size_t errsz;
    tml_status st;
} node_ctx;

static const struct {
    int rid;
    const char *key;
    bool number;
} node_res[] = {
    {TML_NODE_CORE, "core", false},
    {TML_NODE_CLOCK_HZ, "clock_hz", true},
    {TML_NODE_RAM, "ram", true},
    {TML_NODE_FLASH, "flash", true},
    {TML_NODE_ACCELERATORS, "accelerators", false},
    {TML_NODE_RTOS, "rtos", false},
    {TML_NODE_RUNTIME_VERSION, "runtime_version", false},
    {TML_NODE_KERNELS, "kernels", false},
    {TML_NODE_MODEL, NULL, false},
    {TML_NODE_MODEL_SHA256, NULL, false},
    {TML_NODE_INFERENCES, "inference_count", true},
    {TML_NODE_LAST_LATENCY_US, "last_latency_us", true},
    {TML_NODE_TARGET, "target", false},
};

/* "/32769/0/<rid>" -> rid, or -1. */
static int node_rid(const char *name)
{
    char prefix[32];
    size_t pl;
    long rid;
    char *end;
    snprintf(prefix, sizeof prefix, "/%d/0/", TML_LWM2M_OBJ_NODE);
    pl = strlen(prefix);
    if (strncmp(name, prefix, pl) != 0 || name[pl] < '0' || name[pl] > '9')
        return -1;
    rid = strtol(name + pl, &end, 10);
    if (*end || rid < 0 || rid > 65535)
        return -1;
    return (int)rid;
}

static int node_rec(void *vctx, const tml_senml_rec *r)
{
    node_ctx *c = (node_ctx *)vctx;
    int rid = node_rid(r->name);
    size_t i;
    for (i = 0; rid >= 0 && i < sizeof node_res / sizeof node_res[0]; i++) {
        if (node_res[i].rid != rid)
            continue;
        if (node_res[i].number != (r->kind == TML_SENML_NUM) ||
            (!node_res[i].number && r->kind != TML_SENML_STR) ||
            (node_res[i].number && (r->num < 0 || r->num > 9007199254740992.0))) {
            if (c->err && c->errsz)
                snprintf(c->err, c->errsz, "node object: resource '%.64s' must be %s", r->name,
                         node_res[i].number ? "a non-negative number ('v')" : "a string ('vs')");
            c->st = TML_ERR_FORMAT;
            return 1;
        }
        if (rid == TML_NODE_MODEL) {
            snprintf(c->model, c->modelsz, "%s", r->str);
        } else if (rid == TML_NODE_MODEL_SHA256) {
            snprintf(c->sha, c->shasz, "%s", r->str);
        } else {
            cJSON_DeleteItemFromObjectCaseSensitive(c->out, node_res[i].key);
            if (node_res[i].number)
                cJSON_AddNumberToObject(c->out, node_res[i].key, floor(r->num));
            else
                cJSON_AddStringToObject(c->out, node_res[i].key, r->str);
        }
        break;
    }
    return 0;
}

tml_status tml_lwm2m_node_info(const char *buf, size_t len, char **json, char *model,
                               size_t modelsz, char *model_sha, size_t shasz, char *err,
                               size_t errsz)
{
    node_ctx c;
    tml_status st;
    *json = NULL;
    if (modelsz)
        model[0] = 0;
    if (shasz)
        model_sha[0] = 0;
    memset(&c, 0, sizeof c);
    c.out = cJSON_CreateObject();
    c.model = model;
    c.modelsz = modelsz;
    c.sha = model_sha;
    c.shasz = shasz;
    c.err = err;
    c.errsz = errsz;
    if (!c.out)
        return TML_ERR_NOMEM;
    st = tml_senml_json_parse(buf, len, node_rec, &c, err, errsz);
    if (st == TML_OK)
        st = c.st;
    if (st == TML_OK) {
        *json = cJSON_PrintUnformatted(c.out);
        if (!*json)
            st = TML_ERR_NOMEM;
    }
    cJSON_Delete(c.out);
    return st;
}
