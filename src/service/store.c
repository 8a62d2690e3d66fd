/*
 * store.c - the backend-independent half of the store interface (see include/tml/store.h).
 *
 * It picks a backend from the location string, forwards every tml_store_* call to the
 * backend's function table, and holds the small helpers (state names, record release) that
 * every backend and every caller shares. Keeping the wrappers here means callers never touch
 * s->ops, so a backend can be swapped without a single caller changing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tml/store.h"

const char *tml_build_status_str(tml_build_status s)
{
    switch (s) {
    case TML_BUILD_PENDING: return "pending";
    case TML_BUILD_RUNNING: return "running";
    case TML_BUILD_DONE: return "done";
    case TML_BUILD_FAILED: return "failed";
    }
    return "?";
}

const char *tml_deploy_state_str(tml_deploy_state s)
{
    switch (s) {
    case TML_DEPLOY_PENDING: return "pending";
    case TML_DEPLOY_BUILDING: return "building";
    case TML_DEPLOY_DELIVERING: return "delivering";
    case TML_DEPLOY_INSTALLED: return "installed";
    case TML_DEPLOY_FAILED: return "failed";
    }
    return "?";
}

bool tml_deploy_state_finished(tml_deploy_state s)
{
    return s == TML_DEPLOY_INSTALLED || s == TML_DEPLOY_FAILED;
}

void tml_device_clear(tml_device *d)
{
    free(d->object_links);
    free(d->node_info);
    d->object_links = d->node_info = NULL;
}

void tml_model_entry_clear(tml_model_entry *m)
{
    free(m->artifact_path);
    m->artifact_path = NULL;
}

void tml_build_clear(tml_build *b)
{
    free(b->report);
    free(b->error);
    b->report = b->error = NULL;
}

void tml_deployment_clear(tml_deployment *d)
{
    free(d->error);
    d->error = NULL;
}

tml_status tml_store_errorf(tml_store *s, tml_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    return st;
}

const char *tml_store_error(const tml_store *s) { return s ? s->err : "no store"; }

tml_status tml_store_open(const char *location, tml_store **out, char *err, size_t errsz)
{
    char path[4096];
    *out = NULL;
    if (!location || !*location) {
        snprintf(err, errsz, "store: empty location");
        return TML_ERR_ARG;
    }
    if (strncmp(location, "postgres://", 11) == 0 || strncmp(location, "postgresql://", 13) == 0) {
        snprintf(err, errsz, "store '%s': the postgres backend is not built yet", location);
        return TML_ERR_UNSUPPORTED;
    }
    if (mkdir(location, 0700) != 0) {
        struct stat st;
        if (stat(location, &st) != 0 || !S_ISDIR(st.st_mode)) {
            snprintf(err, errsz, "store: cannot create data directory '%s'", location);
            return TML_ERR_IO;
        }
    }
    if (snprintf(path, sizeof path, "%s/tmlaas.db", location) >= (int)sizeof path) {
        snprintf(err, errsz, "store: data directory path too long");
        return TML_ERR_ARG;
    }
    return tml_store_open_sqlite(path, out, err, errsz);
}

void tml_store_close(tml_store *s)
{
    if (s)
        s->ops->close(s);
}

tml_status tml_store_device_put(tml_store *s, const tml_device *d)
{
    return s->ops->device_put(s, d);
}
tml_status tml_store_device_get(tml_store *s, const char *endpoint, tml_device *out)
{
    return s->ops->device_get(s, endpoint, out);
}
tml_status tml_store_device_get_by_reg(tml_store *s, const char *reg_id, tml_device *out)
{
    return s->ops->device_get_by_reg(s, reg_id, out);
}
tml_status tml_store_device_set_info(tml_store *s, const char *endpoint, const char *node_info,
                                     const char *model, const char *model_sha)
{
    return s->ops->device_set_info(s, endpoint, node_info, model, model_sha);
}
tml_status tml_store_device_set_offline(tml_store *s, const char *endpoint)
{
    return s->ops->device_set_offline(s, endpoint);
}
tml_status tml_store_device_expire(tml_store *s, int64_t now, tml_device_fn fn, void *ctx, int *n)
{
    return s->ops->device_expire(s, now, fn, ctx, n);
}
tml_status tml_store_device_delete(tml_store *s, const char *endpoint)
{
    return s->ops->device_delete(s, endpoint);
}
tml_status tml_store_device_list(tml_store *s, tml_device_fn fn, void *ctx)
{
    return s->ops->device_list(s, fn, ctx);
}
tml_status tml_store_model_add(tml_store *s, tml_model_entry *m) { return s->ops->model_add(s, m); }
tml_status tml_store_model_get(tml_store *s, const char *name, int version, tml_model_entry *out)
{
    return s->ops->model_get(s, name, version, out);
}
tml_status tml_store_model_list(tml_store *s, tml_model_entry_fn fn, void *ctx)
{
    return s->ops->model_list(s, fn, ctx);
}
tml_status tml_store_model_delete(tml_store *s, const char *name, int version, int *n)
{
    return s->ops->model_delete(s, name, version, n);
}
tml_status tml_store_artifact_in_use(tml_store *s, const char *sha, bool *in_use)
{
    return s->ops->artifact_in_use(s, sha, in_use);
}
tml_status tml_store_build_put(tml_store *s, tml_build *b) { return s->ops->build_put(s, b); }
tml_status tml_store_build_get(tml_store *s, int64_t id, tml_build *out)
{
    return s->ops->build_get(s, id, out);
}
tml_status tml_store_build_find(tml_store *s, const char *model_sha, const char *profile,
                                const char *compiler_version, tml_build *out)
{
    return s->ops->build_find(s, model_sha, profile, compiler_version, out);
}
tml_status tml_store_build_list(tml_store *s, tml_build_fn fn, void *ctx)
{
    return s->ops->build_list(s, fn, ctx);
}
tml_status tml_store_deployment_add(tml_store *s, tml_deployment *d, int n)
{
    return s->ops->deployment_add(s, d, n);
}
tml_status tml_store_deployment_update(tml_store *s, int64_t id, tml_deploy_state state,
                                       int64_t build_id, int result, const char *error)
{
    return s->ops->deployment_update(s, id, state, build_id, result, error);
}
tml_status tml_store_deployment_get(tml_store *s, int64_t id, tml_deployment *out)
{
    return s->ops->deployment_get(s, id, out);
}
tml_status tml_store_deployment_list(tml_store *s, bool unfinished_only, tml_deployment_fn fn,
                                     void *ctx)
{
    return s->ops->deployment_list(s, unfinished_only, fn, ctx);
}
tml_status tml_store_psk_put(tml_store *s, const char *identity, const uint8_t *key, size_t len)
{
    return s->ops->psk_put(s, identity, key, len);
}
tml_status tml_store_psk_get(tml_store *s, const char *identity, uint8_t *key, size_t cap,
                             size_t *len)
{
    return s->ops->psk_get(s, identity, key, cap, len);
}
tml_status tml_store_psk_delete(tml_store *s, const char *identity)
{
    return s->ops->psk_delete(s, identity);
}
tml_status tml_store_psk_list(tml_store *s, int (*fn)(void *ctx, const char *identity), void *ctx)
{
    return s->ops->psk_list(s, fn, ctx);
}
