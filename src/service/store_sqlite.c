/*
 * store_sqlite.c - the SQLite backend of the store interface (include/tml/store.h).
 *
 * One database file (DATA_DIR/tmlaas.db) holds devices, models, builds and deployments. The
 * schema is versioned: table schema_version holds the number of migrations applied, and
 * open() runs the missing ones from `migrations[]` in order, each in its own transaction, so
 * an old data directory is upgraded in place and a crash in the middle of an upgrade leaves
 * the previous version intact. Add a migration by appending to the array; never edit one that
 * has shipped.
 *
 * Durability choices, and why:
 * - journal_mode=WAL: readers (the HTTP thread listing devices) never block the writer (the
 *   CoAP loop registering devices), and a commit is one sequential append.
 * - synchronous=FULL: in WAL mode NORMAL is already safe against a *process* crash (kill -9),
 *   but it may roll back the last commits on power loss. The service acknowledges a
 *   registration (2.01) or an upload (201) only after the commit, and a device or a person
 *   that was told "done" must not find it undone, so every commit is fsync'ed. The cost is one
 *   WAL fsync per mutation, which is far below the rate CoAP registrations arrive at.
 * - foreign_keys=ON: a deployment always names an existing device; deleting a model keeps the
 *   deployment history (model_id becomes NULL, the name and version stay).
 * - busy_timeout: another process (a second `tmlaas serve`, a backup) holding the write lock
 *   makes us wait instead of failing.
 *
 * Every mutation runs between BEGIN IMMEDIATE and COMMIT (ROLLBACK on any error), and one
 * mutex serializes the connection, so the HTTP thread and the CoAP loop can share a store.
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tml/store.h"

typedef struct {
    sqlite3 *db;
    pthread_mutex_t mu;
} sq_impl;

static const char *const migrations[] = {
    /* 1: the initial schema */
    "CREATE TABLE devices("
    " endpoint TEXT PRIMARY KEY,"
    " reg_id TEXT UNIQUE,"
    " lifetime INTEGER NOT NULL,"
    " binding TEXT NOT NULL,"
    " lwm2m_version TEXT NOT NULL,"
    " object_links TEXT NOT NULL DEFAULT '',"
    " node_info TEXT NOT NULL DEFAULT '{}',"
    " current_model TEXT NOT NULL DEFAULT '',"
    " current_model_sha TEXT NOT NULL DEFAULT '',"
    " address TEXT NOT NULL DEFAULT '',"
    " online INTEGER NOT NULL,"
    " registered INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL);"
    "CREATE TABLE models("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL,"
    " version INTEGER NOT NULL,"
    " sha256 TEXT NOT NULL,"
    " size INTEGER NOT NULL,"
    " artifact_path TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " UNIQUE(name, version));"
    "CREATE TABLE builds("
    " id INTEGER PRIMARY KEY,"
    " model_sha TEXT NOT NULL,"
    " profile TEXT NOT NULL,"
    " compiler_version TEXT NOT NULL,"
    " artifact_sha TEXT NOT NULL DEFAULT '',"
    " report TEXT,"
    " status INTEGER NOT NULL,"
    " error TEXT,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL,"
    " UNIQUE(model_sha, profile, compiler_version));"
    "CREATE TABLE deployments("
    " id INTEGER PRIMARY KEY,"
    " model_id INTEGER REFERENCES models(id) ON DELETE SET NULL,"
    " model_name TEXT NOT NULL,"
    " model_version INTEGER NOT NULL,"
    " device TEXT NOT NULL REFERENCES devices(endpoint) ON DELETE CASCADE,"
    " build_id INTEGER REFERENCES builds(id) ON DELETE SET NULL,"
    " state INTEGER NOT NULL,"
    " result INTEGER NOT NULL DEFAULT 0,"
    " error TEXT,"
    " created INTEGER NOT NULL,"
    " updated INTEGER NOT NULL);"
    "CREATE INDEX deployments_state ON deployments(state);"
    "CREATE INDEX deployments_device ON deployments(device);"
    "CREATE INDEX models_sha ON models(sha256);",
    /* 2: DTLS pre-shared keys */
    "CREATE TABLE psks("
    " identity TEXT PRIMARY KEY,"
    " key BLOB NOT NULL,"
    " created INTEGER NOT NULL);",
};
#define N_MIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

static int64_t now_s(void) { return (int64_t)time(NULL); }

static sq_impl *IM(tml_store *s) { return (sq_impl *)s->impl; }

static tml_status db_err(tml_store *s, const char *what)
{
    return tml_store_errorf(s, TML_ERR_IO, "store: %s: %s", what, sqlite3_errmsg(IM(s)->db));
}

static tml_status exec(tml_store *s, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(IM(s)->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        tml_store_errorf(s, TML_ERR_IO, "store: '%.40s': %s", sql, msg ? msg : "?");
        sqlite3_free(msg);
        return TML_ERR_IO;
    }
    return TML_OK;
}

static void lock(tml_store *s)
{
    pthread_mutex_lock(&IM(s)->mu);
    s->err[0] = 0;
}
static void unlock(tml_store *s) { pthread_mutex_unlock(&IM(s)->mu); }

static tml_status begin(tml_store *s) { return exec(s, "BEGIN IMMEDIATE"); }

/* Commits when st is ok, else rolls back; returns the first failure. */
static tml_status finish(tml_store *s, tml_status st)
{
    if (st == TML_OK) {
        st = exec(s, "COMMIT");
        if (st != TML_OK)
            sqlite3_exec(IM(s)->db, "ROLLBACK", NULL, NULL, NULL);
    } else {
        sqlite3_exec(IM(s)->db, "ROLLBACK", NULL, NULL, NULL);
    }
    return st;
}

static sqlite3_stmt *prep(tml_store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(IM(s)->db, sql, -1, &st, NULL) != SQLITE_OK) {
        db_err(s, "prepare");
        return NULL;
    }
    return st;
}

/* Binds a C string, or NULL when the string is NULL. */
static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Binds NULL for "" (optional unique keys). */
static void bind_text_or_null(sqlite3_stmt *st, int i, const char *v)
{
    bind_text(st, i, (v && *v) ? v : NULL);
}

static void col_copy(sqlite3_stmt *st, int i, char *dst, size_t n)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    snprintf(dst, n, "%s", v ? (const char *)v : "");
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *v = sqlite3_column_text(st, i);
    return v ? strdup((const char *)v) : NULL;
}

/* Runs a statement that returns no rows; finalizes it. */
static tml_status step_done(tml_store *s, sqlite3_stmt *st)
{
    int rc;
    if (!st)
        return TML_ERR_IO;
    rc = sqlite3_step(st);
    if (rc != SQLITE_DONE) {
        tml_status e = db_err(s, "step");
        sqlite3_finalize(st);
        return e;
    }
    sqlite3_finalize(st);
    return TML_OK;
}

/* ---- devices ---- */

#define DEVICE_COLS                                                                             \
    "endpoint, reg_id, lifetime, binding, lwm2m_version, object_links, node_info, "          \
    "current_model, current_model_sha, address, online, registered, last_seen"

static void device_row(sqlite3_stmt *st, tml_device *d, bool dup)
{
    memset(d, 0, sizeof *d);
    col_copy(st, 0, d->endpoint, sizeof d->endpoint);
    col_copy(st, 1, d->reg_id, sizeof d->reg_id);
    d->lifetime = sqlite3_column_int64(st, 2);
    col_copy(st, 3, d->binding, sizeof d->binding);
    col_copy(st, 4, d->lwm2m_version, sizeof d->lwm2m_version);
    if (dup) {
        d->object_links = col_dup(st, 5);
        d->node_info = col_dup(st, 6);
    } else {
        d->object_links = (char *)sqlite3_column_text(st, 5);
        d->node_info = (char *)sqlite3_column_text(st, 6);
    }
    col_copy(st, 7, d->current_model, sizeof d->current_model);
    col_copy(st, 8, d->current_model_sha, sizeof d->current_model_sha);
    col_copy(st, 9, d->address, sizeof d->address);
    d->online = sqlite3_column_int(st, 10) != 0;
    d->registered = sqlite3_column_int64(st, 11);
    d->last_seen = sqlite3_column_int64(st, 12);
}

static tml_status sq_device_put(tml_store *s, const tml_device *d)
{
    tml_status rc;
    sqlite3_stmt *st;
    int64_t t = d->last_seen ? d->last_seen : now_s();
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        /* A new registration of an endpoint takes its reg_id away from any other row first
         * (ids are unique; a stale row must not keep one). */
        st = prep(s, "UPDATE devices SET reg_id = NULL WHERE reg_id = ?1 AND endpoint <> ?2");
        if (st) {
            bind_text_or_null(st, 1, d->reg_id);
            bind_text(st, 2, d->endpoint);
        }
        rc = step_done(s, st);
    }
    if (rc == TML_OK) {
        st = prep(s,
                  "INSERT INTO devices(" DEVICE_COLS ") VALUES(?1, ?2, ?3, ?4, ?5, COALESCE(?6, ''),"
                  " COALESCE(?7, '{}'), COALESCE(?8, ''), COALESCE(?9, ''), ?10, ?11, ?12, ?13)"
                  " ON CONFLICT(endpoint) DO UPDATE SET reg_id = excluded.reg_id,"
                  " lifetime = excluded.lifetime, binding = excluded.binding,"
                  " lwm2m_version = excluded.lwm2m_version,"
                  " object_links = COALESCE(?6, object_links), node_info = COALESCE(?7, node_info),"
                  " current_model = COALESCE(?8, current_model),"
                  " current_model_sha = COALESCE(?9, current_model_sha),"
                  " address = excluded.address, online = excluded.online,"
                  " last_seen = excluded.last_seen");
        if (st) {
            bind_text(st, 1, d->endpoint);
            bind_text_or_null(st, 2, d->reg_id);
            sqlite3_bind_int64(st, 3, d->lifetime);
            bind_text(st, 4, d->binding);
            bind_text(st, 5, d->lwm2m_version[0] ? d->lwm2m_version : "1.1");
            bind_text(st, 6, d->object_links);
            bind_text(st, 7, d->node_info);
            bind_text_or_null(st, 8, d->current_model);
            bind_text_or_null(st, 9, d->current_model_sha);
            bind_text(st, 10, d->address);
            sqlite3_bind_int(st, 11, d->online ? 1 : 0);
            sqlite3_bind_int64(st, 12, d->registered ? d->registered : t);
            sqlite3_bind_int64(st, 13, t);
        }
        rc = step_done(s, st);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status device_get_where(tml_store *s, const char *where, const char *key,
                                   tml_device *out)
{
    char sql[256];
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    memset(out, 0, sizeof *out);
    snprintf(sql, sizeof sql, "SELECT " DEVICE_COLS " FROM devices WHERE %s = ?1", where);
    lock(s);
    st = prep(s, sql);
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    bind_text(st, 1, key);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        device_row(st, out, true);
    else if (r == SQLITE_DONE)
        rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "device '%s': not found", key);
    else
        rc = db_err(s, "device get");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

static tml_status sq_device_get(tml_store *s, const char *ep, tml_device *out)
{
    return device_get_where(s, "endpoint", ep, out);
}

static tml_status sq_device_get_by_reg(tml_store *s, const char *reg_id, tml_device *out)
{
    return device_get_where(s, "reg_id", reg_id, out);
}

/* Runs one UPDATE on a device row in a transaction; NOT_FOUND if no row changed. */
static tml_status device_update(tml_store *s, sqlite3_stmt *st, const char *ep)
{
    tml_status rc = step_done(s, st);
    if (rc == TML_OK && sqlite3_changes(IM(s)->db) == 0)
        rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "device '%s': not found", ep);
    return rc;
}

static tml_status sq_device_set_info(tml_store *s, const char *ep, const char *info,
                                     const char *model, const char *sha)
{
    tml_status rc;
    sqlite3_stmt *st;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "UPDATE devices SET node_info = COALESCE(?2, node_info),"
                     " current_model = COALESCE(?3, current_model),"
                     " current_model_sha = COALESCE(?4, current_model_sha) WHERE endpoint = ?1");
        if (st) {
            bind_text(st, 1, ep);
            bind_text(st, 2, info);
            bind_text(st, 3, model);
            bind_text(st, 4, sha);
        }
        rc = device_update(s, st, ep);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_device_set_offline(tml_store *s, const char *ep)
{
    tml_status rc;
    sqlite3_stmt *st;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "UPDATE devices SET online = 0, reg_id = NULL WHERE endpoint = ?1");
        if (st)
            bind_text(st, 1, ep);
        rc = device_update(s, st, ep);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_device_expire(tml_store *s, int64_t now, tml_device_fn fn, void *ctx, int *n)
{
    tml_status rc;
    sqlite3_stmt *st;
    int count = 0, r;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK && fn) {
        st = prep(s, "SELECT " DEVICE_COLS
                     " FROM devices WHERE online = 1 AND last_seen + lifetime < ?1");
        if (!st) {
            rc = TML_ERR_IO;
        } else {
            sqlite3_bind_int64(st, 1, now);
            while ((r = sqlite3_step(st)) == SQLITE_ROW) {
                tml_device d;
                device_row(st, &d, false);
                fn(ctx, &d);
            }
            if (r != SQLITE_DONE)
                rc = db_err(s, "device expire");
            sqlite3_finalize(st);
        }
    }
    if (rc == TML_OK) {
        st = prep(s, "UPDATE devices SET online = 0, reg_id = NULL"
                     " WHERE online = 1 AND last_seen + lifetime < ?1");
        if (st)
            sqlite3_bind_int64(st, 1, now);
        rc = step_done(s, st);
        count = sqlite3_changes(IM(s)->db);
    }
    rc = finish(s, rc);
    unlock(s);
    if (n)
        *n = rc == TML_OK ? count : 0;
    return rc;
}

static tml_status sq_device_delete(tml_store *s, const char *ep)
{
    tml_status rc;
    sqlite3_stmt *st;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "DELETE FROM devices WHERE endpoint = ?1");
        if (st)
            bind_text(st, 1, ep);
        rc = device_update(s, st, ep);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_device_list(tml_store *s, tml_device_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    lock(s);
    st = prep(s, "SELECT " DEVICE_COLS " FROM devices ORDER BY endpoint");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        tml_device d;
        device_row(st, &d, false);
        if (fn(ctx, &d))
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_err(s, "device list");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

/* ---- models ---- */

#define MODEL_COLS "id, name, version, sha256, size, artifact_path, created"

static void model_row(sqlite3_stmt *st, tml_model_entry *m, bool dup)
{
    memset(m, 0, sizeof *m);
    m->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, m->name, sizeof m->name);
    m->version = sqlite3_column_int(st, 2);
    col_copy(st, 3, m->sha256, sizeof m->sha256);
    m->size = sqlite3_column_int64(st, 4);
    m->artifact_path = dup ? col_dup(st, 5) : (char *)sqlite3_column_text(st, 5);
    m->created = sqlite3_column_int64(st, 6);
}

static tml_status sq_model_add(tml_store *s, tml_model_entry *m)
{
    tml_status rc;
    sqlite3_stmt *st;
    int version = 1;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "SELECT COALESCE(MAX(version), 0) + 1 FROM models WHERE name = ?1");
        if (!st) {
            rc = TML_ERR_IO;
        } else {
            bind_text(st, 1, m->name);
            if (sqlite3_step(st) == SQLITE_ROW)
                version = sqlite3_column_int(st, 0);
            else
                rc = db_err(s, "model version");
            sqlite3_finalize(st);
        }
    }
    if (rc == TML_OK) {
        m->created = now_s();
        m->version = version;
        st = prep(s, "INSERT INTO models(name, version, sha256, size, artifact_path, created)"
                     " VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
        if (st) {
            bind_text(st, 1, m->name);
            sqlite3_bind_int(st, 2, version);
            bind_text(st, 3, m->sha256);
            sqlite3_bind_int64(st, 4, m->size);
            bind_text(st, 5, m->artifact_path ? m->artifact_path : "");
            sqlite3_bind_int64(st, 6, m->created);
        }
        rc = step_done(s, st);
        m->id = sqlite3_last_insert_rowid(IM(s)->db);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_model_get(tml_store *s, const char *name, int version, tml_model_entry *out)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    memset(out, 0, sizeof *out);
    lock(s);
    st = prep(s, version > 0
                     ? "SELECT " MODEL_COLS " FROM models WHERE name = ?1 AND version = ?2"
                     : "SELECT " MODEL_COLS " FROM models WHERE name = ?1"
                       " ORDER BY version DESC LIMIT 1");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    bind_text(st, 1, name);
    if (version > 0)
        sqlite3_bind_int(st, 2, version);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        model_row(st, out, true);
    else if (r == SQLITE_DONE)
        rc = version > 0 ? tml_store_errorf(s, TML_ERR_NOT_FOUND,
                                            "model '%s' version %d: not found", name, version)
                         : tml_store_errorf(s, TML_ERR_NOT_FOUND, "model '%s': not found", name);
    else
        rc = db_err(s, "model get");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

static tml_status sq_model_list(tml_store *s, tml_model_entry_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    lock(s);
    st = prep(s, "SELECT " MODEL_COLS " FROM models ORDER BY name, version");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        tml_model_entry m;
        model_row(st, &m, false);
        if (fn(ctx, &m))
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_err(s, "model list");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

static tml_status sq_model_delete(tml_store *s, const char *name, int version, int *n)
{
    tml_status rc;
    sqlite3_stmt *st;
    int count = 0;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, version > 0 ? "DELETE FROM models WHERE name = ?1 AND version = ?2"
                                 : "DELETE FROM models WHERE name = ?1");
        if (st) {
            bind_text(st, 1, name);
            if (version > 0)
                sqlite3_bind_int(st, 2, version);
        }
        rc = step_done(s, st);
        count = sqlite3_changes(IM(s)->db);
        if (rc == TML_OK && count == 0)
            rc = version > 0 ? tml_store_errorf(s, TML_ERR_NOT_FOUND,
                                                "model '%s' version %d: not found", name, version)
                             : tml_store_errorf(s, TML_ERR_NOT_FOUND, "model '%s': not found",
                                                name);
    }
    rc = finish(s, rc);
    unlock(s);
    if (n)
        *n = rc == TML_OK ? count : 0;
    return rc;
}

static tml_status sq_artifact_in_use(tml_store *s, const char *sha, bool *in_use)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    *in_use = true; /* on doubt, keep the file */
    lock(s);
    st = prep(s, "SELECT EXISTS(SELECT 1 FROM models WHERE sha256 = ?1)"
                 " OR EXISTS(SELECT 1 FROM builds WHERE artifact_sha = ?1)");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    bind_text(st, 1, sha);
    if (sqlite3_step(st) == SQLITE_ROW)
        *in_use = sqlite3_column_int(st, 0) != 0;
    else
        rc = db_err(s, "artifact in use");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

/* ---- builds ---- */

#define BUILD_COLS                                                                              \
    "id, model_sha, profile, compiler_version, artifact_sha, report, status, error, created, "  \
    "updated"

static void build_row(sqlite3_stmt *st, tml_build *b, bool dup)
{
    memset(b, 0, sizeof *b);
    b->id = sqlite3_column_int64(st, 0);
    col_copy(st, 1, b->model_sha, sizeof b->model_sha);
    col_copy(st, 2, b->profile, sizeof b->profile);
    col_copy(st, 3, b->compiler_version, sizeof b->compiler_version);
    col_copy(st, 4, b->artifact_sha, sizeof b->artifact_sha);
    b->report = dup ? col_dup(st, 5) : (char *)sqlite3_column_text(st, 5);
    b->status = (tml_build_status)sqlite3_column_int(st, 6);
    b->error = dup ? col_dup(st, 7) : (char *)sqlite3_column_text(st, 7);
    b->created = sqlite3_column_int64(st, 8);
    b->updated = sqlite3_column_int64(st, 9);
}

static tml_status sq_build_put(tml_store *s, tml_build *b)
{
    tml_status rc;
    sqlite3_stmt *st;
    int64_t t = now_s();
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        if (b->id == 0) {
            st = prep(s, "INSERT INTO builds(model_sha, profile, compiler_version, artifact_sha,"
                         " report, status, error, created, updated)"
                         " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)");
            if (st) {
                bind_text(st, 1, b->model_sha);
                bind_text(st, 2, b->profile);
                bind_text(st, 3, b->compiler_version);
                bind_text(st, 4, b->artifact_sha);
                bind_text(st, 5, b->report);
                sqlite3_bind_int(st, 6, (int)b->status);
                bind_text(st, 7, b->error);
                sqlite3_bind_int64(st, 8, t);
            }
            rc = step_done(s, st);
            if (rc == TML_OK) {
                b->id = sqlite3_last_insert_rowid(IM(s)->db);
                b->created = b->updated = t;
            } else if (sqlite3_extended_errcode(IM(s)->db) == SQLITE_CONSTRAINT_UNIQUE) {
                rc = tml_store_errorf(s, TML_ERR_STATE,
                                      "build of model '%.16s' for profile '%s': already exists",
                                      b->model_sha, b->profile);
            }
        } else {
            st = prep(s, "UPDATE builds SET artifact_sha = ?2, report = ?3, status = ?4,"
                         " error = ?5, updated = ?6 WHERE id = ?1");
            if (st) {
                sqlite3_bind_int64(st, 1, b->id);
                bind_text(st, 2, b->artifact_sha);
                bind_text(st, 3, b->report);
                sqlite3_bind_int(st, 4, (int)b->status);
                bind_text(st, 5, b->error);
                sqlite3_bind_int64(st, 6, t);
            }
            rc = step_done(s, st);
            if (rc == TML_OK && sqlite3_changes(IM(s)->db) == 0)
                rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "build %lld: not found",
                                      (long long)b->id);
            b->updated = t;
        }
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status build_get_one(tml_store *s, sqlite3_stmt *st, tml_build *out, const char *what)
{
    tml_status rc = TML_OK;
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        build_row(st, out, true);
    else if (r == SQLITE_DONE)
        rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "build %s: not found", what);
    else
        rc = db_err(s, "build get");
    sqlite3_finalize(st);
    return rc;
}

static tml_status sq_build_get(tml_store *s, int64_t id, tml_build *out)
{
    sqlite3_stmt *st;
    tml_status rc;
    char what[32];
    memset(out, 0, sizeof *out);
    snprintf(what, sizeof what, "%lld", (long long)id);
    lock(s);
    st = prep(s, "SELECT " BUILD_COLS " FROM builds WHERE id = ?1");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, id);
    rc = build_get_one(s, st, out, what);
    unlock(s);
    return rc;
}

static tml_status sq_build_find(tml_store *s, const char *sha, const char *profile,
                                const char *cv, tml_build *out)
{
    sqlite3_stmt *st;
    tml_status rc;
    char what[256];
    memset(out, 0, sizeof *out);
    snprintf(what, sizeof what, "'%.16s/%s/%s'", sha, profile, cv);
    lock(s);
    st = prep(s, "SELECT " BUILD_COLS " FROM builds WHERE model_sha = ?1 AND profile = ?2"
                 " AND compiler_version = ?3");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    bind_text(st, 1, sha);
    bind_text(st, 2, profile);
    bind_text(st, 3, cv);
    rc = build_get_one(s, st, out, what);
    unlock(s);
    return rc;
}

static tml_status sq_build_list(tml_store *s, tml_build_fn fn, void *ctx)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    lock(s);
    st = prep(s, "SELECT " BUILD_COLS " FROM builds ORDER BY id");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        tml_build b;
        build_row(st, &b, false);
        if (fn(ctx, &b))
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_err(s, "build list");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

/* ---- deployments ---- */

#define DEPLOY_COLS                                                                             \
    "id, model_id, model_name, model_version, device, build_id, state, result, error, "        \
    "created, updated"

static void deployment_row(sqlite3_stmt *st, tml_deployment *d, bool dup)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(st, 0);
    d->model_id = sqlite3_column_int64(st, 1);
    col_copy(st, 2, d->model_name, sizeof d->model_name);
    d->model_version = sqlite3_column_int(st, 3);
    col_copy(st, 4, d->device, sizeof d->device);
    d->build_id = sqlite3_column_int64(st, 5);
    d->state = (tml_deploy_state)sqlite3_column_int(st, 6);
    d->result = sqlite3_column_int(st, 7);
    d->error = dup ? col_dup(st, 8) : (char *)sqlite3_column_text(st, 8);
    d->created = sqlite3_column_int64(st, 9);
    d->updated = sqlite3_column_int64(st, 10);
}

static tml_status sq_deployment_add(tml_store *s, tml_deployment *d, int n)
{
    tml_status rc;
    int64_t t = now_s();
    int i;
    lock(s);
    rc = begin(s);
    for (i = 0; rc == TML_OK && i < n; i++) {
        sqlite3_stmt *st =
            prep(s, "INSERT INTO deployments(model_id, model_name, model_version, device,"
                    " build_id, state, result, error, created, updated)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)");
        if (st) {
            if (d[i].model_id)
                sqlite3_bind_int64(st, 1, d[i].model_id);
            else
                sqlite3_bind_null(st, 1);
            bind_text(st, 2, d[i].model_name);
            sqlite3_bind_int(st, 3, d[i].model_version);
            bind_text(st, 4, d[i].device);
            if (d[i].build_id)
                sqlite3_bind_int64(st, 5, d[i].build_id);
            else
                sqlite3_bind_null(st, 5);
            sqlite3_bind_int(st, 6, (int)d[i].state);
            sqlite3_bind_int(st, 7, d[i].result);
            bind_text(st, 8, d[i].error);
            sqlite3_bind_int64(st, 9, t);
        }
        rc = step_done(s, st);
        if (rc == TML_OK) {
            d[i].id = sqlite3_last_insert_rowid(IM(s)->db);
            d[i].created = d[i].updated = t;
        } else if (sqlite3_extended_errcode(IM(s)->db) == SQLITE_CONSTRAINT_FOREIGNKEY) {
            rc = tml_store_errorf(s, TML_ERR_NOT_FOUND,
                                  "deployment of '%s' to '%s': unknown device or model",
                                  d[i].model_name, d[i].device);
        }
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_deployment_update(tml_store *s, int64_t id, tml_deploy_state state,
                                       int64_t build_id, int result, const char *error)
{
    tml_status rc;
    sqlite3_stmt *st;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "UPDATE deployments SET state = ?2, build_id = COALESCE(?3, build_id),"
                     " result = ?4, error = ?5, updated = ?6 WHERE id = ?1");
        if (st) {
            sqlite3_bind_int64(st, 1, id);
            sqlite3_bind_int(st, 2, (int)state);
            if (build_id)
                sqlite3_bind_int64(st, 3, build_id);
            else
                sqlite3_bind_null(st, 3);
            sqlite3_bind_int(st, 4, result);
            bind_text(st, 5, error);
            sqlite3_bind_int64(st, 6, now_s());
        }
        rc = step_done(s, st);
        if (rc == TML_OK && sqlite3_changes(IM(s)->db) == 0)
            rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "deployment %lld: not found",
                                  (long long)id);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_deployment_get(tml_store *s, int64_t id, tml_deployment *out)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    memset(out, 0, sizeof *out);
    lock(s);
    st = prep(s, "SELECT " DEPLOY_COLS " FROM deployments WHERE id = ?1");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    sqlite3_bind_int64(st, 1, id);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW)
        deployment_row(st, out, true);
    else if (r == SQLITE_DONE)
        rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "deployment %lld: not found", (long long)id);
    else
        rc = db_err(s, "deployment get");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

static tml_status sq_deployment_list(tml_store *s, bool unfinished, tml_deployment_fn fn,
                                     void *ctx)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT " DEPLOY_COLS " FROM deployments%s ORDER BY id",
             unfinished ? " WHERE state NOT IN (3, 4)" : "");
    lock(s);
    st = prep(s, sql);
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        tml_deployment d;
        deployment_row(st, &d, false);
        if (fn(ctx, &d))
            break;
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_err(s, "deployment list");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

/* ---- pre-shared keys ---- */

static tml_status sq_psk_put(tml_store *s, const char *identity, const uint8_t *key, size_t len)
{
    tml_status rc;
    sqlite3_stmt *st;
    if (len == 0 || len > TML_PSK_MAX)
        return tml_store_errorf(s, TML_ERR_ARG, "psk '%s': key must be 1 to %d bytes", identity,
                                TML_PSK_MAX);
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "INSERT INTO psks(identity, key, created) VALUES(?1, ?2, ?3)"
                     " ON CONFLICT(identity) DO UPDATE SET key = excluded.key,"
                     " created = excluded.created");
        if (st) {
            bind_text(st, 1, identity);
            sqlite3_bind_blob(st, 2, key, (int)len, SQLITE_TRANSIENT);
            sqlite3_bind_int64(st, 3, now_s());
        }
        rc = step_done(s, st);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_psk_get(tml_store *s, const char *identity, uint8_t *key, size_t cap,
                             size_t *len)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    *len = 0;
    lock(s);
    st = prep(s, "SELECT key FROM psks WHERE identity = ?1");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    bind_text(st, 1, identity);
    r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        int n = sqlite3_column_bytes(st, 0);
        const void *b = sqlite3_column_blob(st, 0);
        if (n < 0 || (size_t)n > cap || !b)
            rc = tml_store_errorf(s, TML_ERR_FIT, "psk '%s': stored key too long", identity);
        else {
            memcpy(key, b, (size_t)n);
            *len = (size_t)n;
        }
    } else if (r == SQLITE_DONE) {
        rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "psk '%s': not found", identity);
    } else {
        rc = db_err(s, "psk get");
    }
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

static tml_status sq_psk_delete(tml_store *s, const char *identity)
{
    tml_status rc;
    sqlite3_stmt *st;
    lock(s);
    rc = begin(s);
    if (rc == TML_OK) {
        st = prep(s, "DELETE FROM psks WHERE identity = ?1");
        if (st)
            bind_text(st, 1, identity);
        rc = step_done(s, st);
        if (rc == TML_OK && sqlite3_changes(IM(s)->db) == 0)
            rc = tml_store_errorf(s, TML_ERR_NOT_FOUND, "psk '%s': not found", identity);
    }
    rc = finish(s, rc);
    unlock(s);
    return rc;
}

static tml_status sq_psk_list(tml_store *s, int (*fn)(void *ctx, const char *identity), void *ctx)
{
    sqlite3_stmt *st;
    tml_status rc = TML_OK;
    int r;
    lock(s);
    st = prep(s, "SELECT identity FROM psks ORDER BY identity");
    if (!st) {
        unlock(s);
        return TML_ERR_IO;
    }
    while ((r = sqlite3_step(st)) == SQLITE_ROW)
        if (fn(ctx, (const char *)sqlite3_column_text(st, 0)))
            break;
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        rc = db_err(s, "psk list");
    sqlite3_finalize(st);
    unlock(s);
    return rc;
}

/* ---- open / close ---- */

static void sq_close(tml_store *s)
{
    sq_impl *im = IM(s);
    if (im) {
        sqlite3_close(im->db);
        pthread_mutex_destroy(&im->mu);
        free(im);
    }
    free(s);
}

static const tml_store_ops sqlite_ops = {
    "sqlite",
    sq_close,
    sq_device_put,
    sq_device_get,
    sq_device_get_by_reg,
    sq_device_set_info,
    sq_device_set_offline,
    sq_device_expire,
    sq_device_delete,
    sq_device_list,
    sq_model_add,
    sq_model_get,
    sq_model_list,
    sq_model_delete,
    sq_artifact_in_use,
    sq_build_put,
    sq_build_get,
    sq_build_find,
    sq_build_list,
    sq_deployment_add,
    sq_deployment_update,
    sq_deployment_get,
    sq_deployment_list,
    sq_psk_put,
    sq_psk_get,
    sq_psk_delete,
    sq_psk_list,
};

/* Brings the schema up to N_MIGRATIONS, one transaction per step. */
static tml_status migrate(tml_store *s)
{
    tml_status rc;
    sqlite3_stmt *st;
    int version = 0, i;
    rc = exec(s, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
    if (rc != TML_OK)
        return rc;
    st = prep(s, "SELECT MAX(version) FROM schema_version");
    if (!st)
        return TML_ERR_IO;
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > N_MIGRATIONS)
        return tml_store_errorf(s, TML_ERR_UNSUPPORTED,
                                "store: schema version %d is newer than this tmlaas (%d)", version,
                                N_MIGRATIONS);
    for (i = version; i < N_MIGRATIONS; i++) {
        char sql[96];
        rc = begin(s);
        if (rc == TML_OK)
            rc = exec(s, migrations[i]);
        if (rc == TML_OK) {
            snprintf(sql, sizeof sql, "DELETE FROM schema_version;"
                                      " INSERT INTO schema_version VALUES(%d)", i + 1);
            rc = exec(s, sql);
        }
        rc = finish(s, rc);
        if (rc != TML_OK)
            return rc;
    }
    return TML_OK;
}

tml_status tml_store_open_sqlite(const char *path, tml_store **out, char *err, size_t errsz)
{
    tml_store *s;
    sq_impl *im;
    tml_status rc;
    *out = NULL;
    s = calloc(1, sizeof *s);
    im = calloc(1, sizeof *im);
    if (!s || !im) {
        free(s);
        free(im);
        snprintf(err, errsz, "store: out of memory");
        return TML_ERR_NOMEM;
    }
    s->ops = &sqlite_ops;
    s->impl = im;
    pthread_mutex_init(&im->mu, NULL);
    if (sqlite3_open_v2(path, &im->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        snprintf(err, errsz, "store '%s': %s", path,
                 im->db ? sqlite3_errmsg(im->db) : "cannot open");
        sq_close(s);
        return TML_ERR_IO;
    }
    sqlite3_busy_timeout(im->db, 5000);
    sqlite3_extended_result_codes(im->db, 1);
    rc = exec(s, "PRAGMA journal_mode=WAL");
    if (rc == TML_OK)
        rc = exec(s, "PRAGMA synchronous=FULL");
    if (rc == TML_OK)
        rc = exec(s, "PRAGMA foreign_keys=ON");
    if (rc == TML_OK)
        rc = migrate(s);
    if (rc != TML_OK) {
        snprintf(err, errsz, "store '%s': %s", path, s->err);
        sq_close(s);
        return rc;
    }
    *out = s;
    return TML_OK;
}
