/*
 * store.h - the service's persistent state behind one interface: devices, models, builds and
 * deployments.
 *
 * A backend is a table of function pointers (tml_store_ops) over its own opaque state; the
 * service only ever calls the tml_store_* wrappers below, so a PostgreSQL backend (several
 * service instances sharing state) can be added beside the SQLite one without touching any
 * caller. tml_store_open() picks the backend from the location: "postgres://..." (not built
 * yet) or a data directory (SQLite, DATA_DIR/tmlaas.db).
 *
 * Contract every backend keeps:
 * - every mutation is one transaction: after a crash (kill -9) either all of it is there or
 *   none of it; a call that returns TML_OK has been made durable;
 * - calls are safe from several threads (the HTTP thread and the CoAP loop share a store);
 * - records passed to callbacks live only for the duration of the callback; records filled by
 *   *_get own heap strings that tml_device_clear()/... release;
 * - errors: a status, and a one-line message in the store's buffer (tml_store_error()).
 *
 * Times are Unix seconds (int64). SHA-256 digests are 64 lowercase hex characters. DTLS
 * pre-shared keys are kept in the store as they are (the data directory is mode 0700).
 */
#ifndef TML_STORE_H
#define TML_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TML_SHA_HEX 65 /* 64 hex digits + NUL */
#define TML_NAME_MAX 128 /* endpoint, model and profile names (incl. NUL) */

/* A device as the LwM2M registration interface and the node object describe it. */
typedef struct {
    char endpoint[TML_NAME_MAX]; /* LwM2M client endpoint name, the key */
    char reg_id[32];             /* current registration id ("" if none): /rd/<reg_id> */
    int64_t lifetime;            /* seconds; the registration expires lifetime after last_seen */
    char binding[16];            /* "U", "UQ", ... */
    char lwm2m_version[8];       /* "1.0", "1.1" */
    char *object_links;          /* normalized CoRE link format: "</3/0>,</5/0>" */
    char *node_info;             /* JSON object: core, clock, ram, flash, accelerators, rtos,
                                    runtime version, kernel set (as read from the node object) */
    char current_model[TML_NAME_MAX]; /* "" if none */
    char current_model_sha[TML_SHA_HEX];
    char address[64];            /* last source address, "ip:port" */
    bool online;                 /* registered and not expired / de-registered */
    int64_t registered;          /* first registration */
    int64_t last_seen;           /* last registration or update */
} tml_device;

typedef struct {
    int64_t id;
    char name[TML_NAME_MAX];
    int version;                 /* 1, 2, ... per name */
    char sha256[TML_SHA_HEX];    /* of the model bytes = artifact name */
    int64_t size;                /* bytes */
    char *artifact_path;         /* DATA_DIR/artifacts/<sha256> */
    int64_t created;
} tml_model_entry;

typedef enum {
    TML_BUILD_PENDING = 0,
    TML_BUILD_RUNNING = 1,
    TML_BUILD_DONE = 2,
    TML_BUILD_FAILED = 3
} tml_build_status;

/* A compilation of one model for one device profile; unique per (model_sha, profile,
 * compiler_version), which is what makes it cacheable. */
typedef struct {
    int64_t id;
    char model_sha[TML_SHA_HEX];
    char profile[TML_NAME_MAX];
    char compiler_version[32];
    char artifact_sha[TML_SHA_HEX]; /* "" until done */
    char *report;                   /* JSON (size report), NULL if none */
    tml_build_status status;
    char *error;                    /* compiler's reason when failed, NULL otherwise */
    int64_t created;
    int64_t updated;
} tml_build;

typedef enum {
    TML_DEPLOY_PENDING = 0,    /* recorded; nothing done yet */
    TML_DEPLOY_BUILDING = 1,
    TML_DEPLOY_DELIVERING = 2, /* package URI written, install executed, waiting for result */
    TML_DEPLOY_INSTALLED = 3,
    TML_DEPLOY_FAILED = 4
} tml_deploy_state;

typedef struct {
    int64_t id;
    int64_t model_id;          /* 0 if the model was deleted since */
    char model_name[TML_NAME_MAX];
    int model_version;
    char device[TML_NAME_MAX]; /* endpoint */
    int64_t build_id;          /* 0 until a build is attached */
    tml_deploy_state state;
    int result;                /* LwM2M Firmware Update result code (/5/0/5), 0 = initial */
    char *error;               /* NULL if none */
    int64_t created;
    int64_t updated;
} tml_deployment;

const char *tml_build_status_str(tml_build_status s);
const char *tml_deploy_state_str(tml_deploy_state s);
bool tml_deploy_state_finished(tml_deploy_state s);

/* Release the heap strings of a record filled by a *_get call (the struct itself is the
 * caller's). Safe on a zeroed record. */
void tml_device_clear(tml_device *d);
void tml_model_entry_clear(tml_model_entry *m);
void tml_build_clear(tml_build *b);
void tml_deployment_clear(tml_deployment *d);

typedef struct tml_store tml_store;

/* Callbacks of the list functions; return non-zero to stop early. */
typedef int (*tml_device_fn)(void *ctx, const tml_device *d);
typedef int (*tml_model_entry_fn)(void *ctx, const tml_model_entry *m);
typedef int (*tml_build_fn)(void *ctx, const tml_build *b);
typedef int (*tml_deployment_fn)(void *ctx, const tml_deployment *d);

/* What a backend implements. `s` is the handle; the backend keeps its state in s->impl. */
typedef struct {
    const char *name; /* "sqlite" */
    void (*close)(tml_store *s);

    /* Creates or replaces the device with d->endpoint (registration or its update). Keeps
     * `registered`, node_info and current model of an existing row unless d sets them. */
    tml_status (*device_put)(tml_store *s, const tml_device *d);
    tml_status (*device_get)(tml_store *s, const char *endpoint, tml_device *out);
    tml_status (*device_get_by_reg)(tml_store *s, const char *reg_id, tml_device *out);
    /* Sets node info JSON and current model (NULL = leave unchanged). */
    tml_status (*device_set_info)(tml_store *s, const char *endpoint, const char *node_info,
                                  const char *model, const char *model_sha);
    /* Marks a device offline and forgets its registration id (de-register). */
    tml_status (*device_set_offline)(tml_store *s, const char *endpoint);
    /* Marks offline every online device whose last_seen + lifetime < now; calls fn (may be
     * NULL) for each before it commits; *n = how many. */
    tml_status (*device_expire)(tml_store *s, int64_t now, tml_device_fn fn, void *ctx, int *n);
    tml_status (*device_delete)(tml_store *s, const char *endpoint);
    tml_status (*device_list)(tml_store *s, tml_device_fn fn, void *ctx);

    /* Adds a new version of m->name (version = latest + 1); fills m->id, m->version,
     * m->created. */
    tml_status (*model_add)(tml_store *s, tml_model_entry *m);
    /* version 0 = the latest. */
    tml_status (*model_get)(tml_store *s, const char *name, int version, tml_model_entry *out);
    tml_status (*model_list)(tml_store *s, tml_model_entry_fn fn, void *ctx);
    /* version 0 = every version; *n = rows deleted (TML_ERR_NOT_FOUND if none). */
    tml_status (*model_delete)(tml_store *s, const char *name, int version, int *n);
    /* Whether any model or build still refers to the artifact sha (before removing its file). */
    tml_status (*artifact_in_use)(tml_store *s, const char *sha, bool *in_use);

    /* Inserts (b->id == 0; fills id) or updates status/artifact/report/error (b->id set). */
    tml_status (*build_put)(tml_store *s, tml_build *b);
    tml_status (*build_get)(tml_store *s, int64_t id, tml_build *out);
    tml_status (*build_find)(tml_store *s, const char *model_sha, const char *profile,
                             const char *compiler_version, tml_build *out);
    tml_status (*build_list)(tml_store *s, tml_build_fn fn, void *ctx);

    /* Inserts n deployments in one transaction; fills their ids and times. */
    tml_status (*deployment_add)(tml_store *s, tml_deployment *d, int n);
    tml_status (*deployment_update)(tml_store *s, int64_t id, tml_deploy_state state,
                                    int64_t build_id, int result, const char *error);
    tml_status (*deployment_get)(tml_store *s, int64_t id, tml_deployment *out);
    /* unfinished_only: only states that are not INSTALLED or FAILED (what a restart resumes). */
    tml_status (*deployment_list)(tml_store *s, bool unfinished_only, tml_deployment_fn fn,
                                  void *ctx);

    /* DTLS pre-shared keys: identity (the device's endpoint name) -> key bytes. */
    tml_status (*psk_put)(tml_store *s, const char *identity, const uint8_t *key, size_t len);
    /* TML_ERR_NOT_FOUND if there is none; TML_ERR_FIT if cap is too small. */
    tml_status (*psk_get)(tml_store *s, const char *identity, uint8_t *key, size_t cap,
                          size_t *len);
    tml_status (*psk_delete)(tml_store *s, const char *identity);
    /* Identities only; keys never leave the store through a list. */
    tml_status (*psk_list)(tml_store *s, int (*fn)(void *ctx, const char *identity), void *ctx);
} tml_store_ops;

/* The handle every backend hands out. */
struct tml_store {
    const tml_store_ops *ops;
    void *impl;     /* backend state */
    char err[512];  /* last error message, "" if none */
};

/* Opens a store: `location` is a data directory (SQLite, created if missing) or a
 * "postgres://" URL (TML_ERR_UNSUPPORTED for now). */
tml_status tml_store_open(const char *location, tml_store **out, char *err, size_t errsz);
tml_status tml_store_open_sqlite(const char *path, tml_store **out, char *err, size_t errsz);
void tml_store_close(tml_store *s);
const char *tml_store_error(const tml_store *s);
/* Sets the error message and returns st (for backends). */
tml_status tml_store_errorf(tml_store *s, tml_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Wrappers: s->ops->fn(s, ...). */
tml_status tml_store_device_put(tml_store *s, const tml_device *d);
tml_status tml_store_device_get(tml_store *s, const char *endpoint, tml_device *out);
tml_status tml_store_device_get_by_reg(tml_store *s, const char *reg_id, tml_device *out);
tml_status tml_store_device_set_info(tml_store *s, const char *endpoint, const char *node_info,
                                     const char *model, const char *model_sha);
tml_status tml_store_device_set_offline(tml_store *s, const char *endpoint);
tml_status tml_store_device_expire(tml_store *s, int64_t now, tml_device_fn fn, void *ctx,
                                   int *n);
tml_status tml_store_device_delete(tml_store *s, const char *endpoint);
tml_status tml_store_device_list(tml_store *s, tml_device_fn fn, void *ctx);
tml_status tml_store_model_add(tml_store *s, tml_model_entry *m);
tml_status tml_store_model_get(tml_store *s, const char *name, int version, tml_model_entry *out);
tml_status tml_store_model_list(tml_store *s, tml_model_entry_fn fn, void *ctx);
tml_status tml_store_model_delete(tml_store *s, const char *name, int version, int *n);
tml_status tml_store_artifact_in_use(tml_store *s, const char *sha, bool *in_use);
tml_status tml_store_build_put(tml_store *s, tml_build *b);
tml_status tml_store_build_get(tml_store *s, int64_t id, tml_build *out);
tml_status tml_store_build_find(tml_store *s, const char *model_sha, const char *profile,
                                const char *compiler_version, tml_build *out);
tml_status tml_store_build_list(tml_store *s, tml_build_fn fn, void *ctx);
tml_status tml_store_deployment_add(tml_store *s, tml_deployment *d, int n);
tml_status tml_store_deployment_update(tml_store *s, int64_t id, tml_deploy_state state,
                                       int64_t build_id, int result, const char *error);
tml_status tml_store_deployment_get(tml_store *s, int64_t id, tml_deployment *out);
tml_status tml_store_deployment_list(tml_store *s, bool unfinished_only, tml_deployment_fn fn,
                                     void *ctx);
#define TML_PSK_MAX 64 /* longest pre-shared key, bytes */
tml_status tml_store_psk_put(tml_store *s, const char *identity, const uint8_t *key, size_t len);
tml_status tml_store_psk_get(tml_store *s, const char *identity, uint8_t *key, size_t cap,
                             size_t *len);
tml_status tml_store_psk_delete(tml_store *s, const char *identity);
tml_status tml_store_psk_list(tml_store *s, int (*fn)(void *ctx, const char *identity), void *ctx);

#ifdef __cplusplus
}
#endif

#endif /* TML_STORE_H */
