/*
 * test_store.c - the SQLite store: CRUD of every record, persistence across close/reopen,
 * schema migrations on reopen, and consistency after a writer is killed with SIGKILL.
 *
 * Each test works in its own mkdtemp() directory. The crash test forks a child that writes
 * in a loop (register a device, add a model, record a deployment), reports progress through
 * a pipe, and is killed with SIGKILL after a fixed number of acknowledged writes - no timing
 * is involved, so the test is deterministic in what it asserts: every acknowledged write is
 * present, and the database passes integrity and foreign-key checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tml/store.h"

static char *mktmp(void)
{
    char *d = strdup("/tmp/tml_store_XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void rmtree(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
}

static tml_store *open_store(const char *dir)
{
    tml_store *s = NULL;
    char err[256] = "";
    tml_status st = tml_store_open(dir, &s, err, sizeof err);
    if (st != TML_OK)
        fail_msg("open: %s", err);
    return s;
}

static void fill_device(tml_device *d, const char *ep, const char *reg)
{
    memset(d, 0, sizeof *d);
    snprintf(d->endpoint, sizeof d->endpoint, "%s", ep);
    snprintf(d->reg_id, sizeof d->reg_id, "%s", reg);
    d->lifetime = 60;
    snprintf(d->binding, sizeof d->binding, "U");
    snprintf(d->lwm2m_version, sizeof d->lwm2m_version, "1.1");
    d->object_links = (char *)"</3/0>,</5/0>";
    snprintf(d->address, sizeof d->address, "127.0.0.1:5000");
    d->online = true;
}

static int count_cb(void *ctx, const void *rec)
{
    (void)rec;
    (*(int *)ctx)++;
    return 0;
}

static int count_devices(tml_store *s)
{
    int n = 0;
    assert_int_equal(tml_store_device_list(s, (tml_device_fn)count_cb, &n), TML_OK);
    return n;
}

static void test_device_crud(void **state)
{
    char *dir = mktmp();
    tml_store *s = open_store(dir);
    tml_device d, g;
    int n = -1;
    (void)state;

    fill_device(&d, "dev1", "r1");
    assert_int_equal(tml_store_device_put(s, &d), TML_OK);
    fill_device(&d, "dev2", "r2");
    assert_int_equal(tml_store_device_put(s, &d), TML_OK);
    assert_int_equal(count_devices(s), 2);

    assert_int_equal(tml_store_device_get(s, "dev1", &g), TML_OK);
    assert_string_equal(g.reg_id, "r1");
    assert_string_equal(g.object_links, "</3/0>,</5/0>");
    assert_string_equal(g.node_info, "{}");
    assert_true(g.online);
    tml_device_clear(&g);

    assert_int_equal(tml_store_device_get_by_reg(s, "r2", &g), TML_OK);
    assert_string_equal(g.endpoint, "dev2");
    tml_device_clear(&g);
    assert_int_equal(tml_store_device_get(s, "nope", &g), TML_ERR_NOT_FOUND);
    assert_non_null(strstr(tml_store_error(s), "'nope'"));

    /* node info survives a re-registration that does not carry it */
    assert_int_equal(tml_store_device_set_info(s, "dev1", "{\"core\":\"cortex-m4\"}", "mnist",
                                               "ab"),
                     TML_OK);
    fill_device(&d, "dev1", "r3");
    d.lifetime = 120;
    d.object_links = NULL;
    assert_int_equal(tml_store_device_put(s, &d), TML_OK);
    assert_int_equal(tml_store_device_get(s, "dev1", &g), TML_OK);
    assert_string_equal(g.node_info, "{\"core\":\"cortex-m4\"}");
    assert_string_equal(g.current_model, "mnist");
    assert_string_equal(g.object_links, "</3/0>,</5/0>");
    assert_string_equal(g.reg_id, "r3");
    assert_int_equal(g.lifetime, 120);
    tml_device_clear(&g);
    assert_int_equal(tml_store_device_get_by_reg(s, "r1", &g), TML_ERR_NOT_FOUND);

    /* de-register */
    assert_int_equal(tml_store_device_set_offline(s, "dev2"), TML_OK);
    assert_int_equal(tml_store_device_get(s, "dev2", &g), TML_OK);
    assert_false(g.online);
    assert_string_equal(g.reg_id, "");
    tml_device_clear(&g);
    assert_int_equal(tml_store_device_set_offline(s, "nope"), TML_ERR_NOT_FOUND);

    /* expiry: dev1 seen at t, lifetime 120 */
    assert_int_equal(tml_store_device_get(s, "dev1", &g), TML_OK);
    assert_int_equal(tml_store_device_expire(s, g.last_seen + 100, NULL, NULL, &n), TML_OK);
    assert_int_equal(n, 0);
    assert_int_equal(tml_store_device_expire(s, g.last_seen + 121, NULL, NULL, &n), TML_OK);
    assert_int_equal(n, 1);
    tml_device_clear(&g);
    assert_int_equal(tml_store_device_get(s, "dev1", &g), TML_OK);
    assert_false(g.online);
    tml_device_clear(&g);

    assert_int_equal(tml_store_device_delete(s, "dev2"), TML_OK);
    assert_int_equal(tml_store_device_delete(s, "dev2"), TML_ERR_NOT_FOUND);
    assert_int_equal(count_devices(s), 1);

    tml_store_close(s);
    rmtree(dir);
    free(dir);
}

static void add_model(tml_store *s, const char *name, const char *sha, int expect_version)
{
    tml_model_entry m;
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.sha256, sizeof m.sha256, "%s", sha);
    m.size = 1234;
    m.artifact_path = (char *)"/x/artifacts/sha";
    assert_int_equal(tml_store_model_add(s, &m), TML_OK);
    assert_int_equal(m.version, expect_version);
    assert_true(m.id > 0);
}

static void test_model_build_deploy(void **state)
{
    char *dir = mktmp();
    tml_store *s = open_store(dir);
    tml_model_entry m;
    tml_build b, g;
    tml_deployment dep[2], gd;
    tml_device d;
    bool used;
    int n = 0;
    (void)state;

    add_model(s, "mnist", "aa", 1);
    add_model(s, "mnist", "bb", 2);
    add_model(s, "kws", "cc", 1);
    assert_int_equal(tml_store_model_get(s, "mnist", 0, &m), TML_OK);
    assert_int_equal(m.version, 2);
    assert_string_equal(m.sha256, "bb");
    assert_string_equal(m.artifact_path, "/x/artifacts/sha");
    tml_model_entry_clear(&m);
    assert_int_equal(tml_store_model_get(s, "mnist", 1, &m), TML_OK);
    assert_string_equal(m.sha256, "aa");
    tml_model_entry_clear(&m);
    assert_int_equal(tml_store_model_get(s, "mnist", 7, &m), TML_ERR_NOT_FOUND);
    assert_int_equal(tml_store_model_list(s, (tml_model_entry_fn)count_cb, &n), TML_OK);
    assert_int_equal(n, 3);

    /* builds: unique per (model sha, profile, compiler version) */
    memset(&b, 0, sizeof b);
    snprintf(b.model_sha, sizeof b.model_sha, "bb");
    snprintf(b.profile, sizeof b.profile, "cortex-m4");
    snprintf(b.compiler_version, sizeof b.compiler_version, "0.1.0");
    assert_int_equal(tml_store_build_put(s, &b), TML_OK);
    assert_true(b.id > 0);
    {
        tml_build dup = b;
        dup.id = 0;
        assert_int_equal(tml_store_build_put(s, &dup), TML_ERR_STATE);
    }
    b.status = TML_BUILD_DONE;
    snprintf(b.artifact_sha, sizeof b.artifact_sha, "dd");
    b.report = (char *)"{\"flash\":1000}";
    assert_int_equal(tml_store_build_put(s, &b), TML_OK);
    assert_int_equal(tml_store_build_find(s, "bb", "cortex-m4", "0.1.0", &g), TML_OK);
    assert_int_equal(g.status, TML_BUILD_DONE);
    assert_string_equal(g.report, "{\"flash\":1000}");
    assert_null(g.error);
    tml_build_clear(&g);
    assert_int_equal(tml_store_build_find(s, "bb", "cortex-m7", "0.1.0", &g), TML_ERR_NOT_FOUND);
    assert_int_equal(tml_store_artifact_in_use(s, "dd", &used), TML_OK);
    assert_true(used);
    assert_int_equal(tml_store_artifact_in_use(s, "zz", &used), TML_OK);
    assert_false(used);

    /* deployments need an existing device */
    fill_device(&d, "dev1", "r1");
    assert_int_equal(tml_store_device_put(s, &d), TML_OK);
    memset(dep, 0, sizeof dep);
    assert_int_equal(tml_store_model_get(s, "mnist", 0, &m), TML_OK);
    for (n = 0; n < 2; n++) {
        dep[n].model_id = m.id;
        snprintf(dep[n].model_name, sizeof dep[n].model_name, "mnist");
        dep[n].model_version = m.version;
    }
    tml_model_entry_clear(&m);
    snprintf(dep[0].device, sizeof dep[0].device, "dev1");
    snprintf(dep[1].device, sizeof dep[1].device, "ghost");
    assert_int_equal(tml_store_deployment_add(s, dep, 2), TML_ERR_NOT_FOUND);
    n = 0;
    assert_int_equal(tml_store_deployment_list(s, false, (tml_deployment_fn)count_cb, &n), TML_OK);
    assert_int_equal(n, 0); /* all or nothing */
    assert_int_equal(tml_store_deployment_add(s, dep, 1), TML_OK);
    assert_int_equal(tml_store_deployment_update(s, dep[0].id, TML_DEPLOY_FAILED, b.id, 3,
                                                 "model does not fit 'flash'"),
                     TML_OK);
    assert_int_equal(tml_store_deployment_get(s, dep[0].id, &gd), TML_OK);
    assert_int_equal(gd.state, TML_DEPLOY_FAILED);
    assert_int_equal(gd.result, 3);
    assert_int_equal(gd.build_id, b.id);
    assert_string_equal(gd.error, "model does not fit 'flash'");
    tml_deployment_clear(&gd);
    n = 0;
    assert_int_equal(tml_store_deployment_list(s, true, (tml_deployment_fn)count_cb, &n), TML_OK);
    assert_int_equal(n, 0);

    /* deleting the model keeps the deployment history */
    assert_int_equal(tml_store_model_delete(s, "mnist", 2, &n), TML_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tml_store_deployment_get(s, dep[0].id, &gd), TML_OK);
    assert_int_equal(gd.model_id, 0);
    assert_string_equal(gd.model_name, "mnist");
    tml_deployment_clear(&gd);
    assert_int_equal(tml_store_model_delete(s, "mnist", 0, &n), TML_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tml_store_model_delete(s, "mnist", 0, &n), TML_ERR_NOT_FOUND);

    tml_store_close(s);
    rmtree(dir);
    free(dir);
}

static void test_reopen(void **state)
{
    char *dir = mktmp();
    tml_store *s = open_store(dir);
    tml_device d;
    tml_model_entry m;
    tml_deployment dep, gd;
    int n = 0;
    (void)state;

    fill_device(&d, "dev1", "r1");
    assert_int_equal(tml_store_device_put(s, &d), TML_OK);
    add_model(s, "mnist", "aa", 1);
    memset(&dep, 0, sizeof dep);
    snprintf(dep.model_name, sizeof dep.model_name, "mnist");
    dep.model_version = 1;
    snprintf(dep.device, sizeof dep.device, "dev1");
    assert_int_equal(tml_store_deployment_add(s, &dep, 1), TML_OK);
    tml_store_close(s);

    s = open_store(dir); /* runs migrations again: must be a no-op */
    assert_int_equal(count_devices(s), 1);
    assert_int_equal(tml_store_model_get(s, "mnist", 0, &m), TML_OK);
    assert_string_equal(m.sha256, "aa");
    tml_model_entry_clear(&m);
    assert_int_equal(tml_store_deployment_get(s, dep.id, &gd), TML_OK);
    assert_int_equal(gd.state, TML_DEPLOY_PENDING);
    tml_deployment_clear(&gd);
    assert_int_equal(tml_store_deployment_list(s, true, (tml_deployment_fn)count_cb, &n), TML_OK);
    assert_int_equal(n, 1);
    add_model(s, "mnist", "bb", 2);
    tml_store_close(s);

    {
        tml_store *p = NULL;
        char err[256];
        assert_int_equal(tml_store_open("postgres://db/tml", &p, err, sizeof err),
                         TML_ERR_UNSUPPORTED);
        assert_null(p);
    }
    rmtree(dir);
    free(dir);
}

/* Child: write forever, acknowledging each committed iteration with one byte. */
static void crash_child(const char *dir, int fd)
{
    tml_store *s = open_store(dir);
    char ep[32], sha[65];
    int i;
    for (i = 0;; i++) {
        tml_device d;
        tml_model_entry m;
        tml_deployment dep;
        snprintf(ep, sizeof ep, "dev%d", i);
        fill_device(&d, ep, ep);
        if (tml_store_device_put(s, &d) != TML_OK)
            _exit(2);
        memset(&m, 0, sizeof m);
        snprintf(m.name, sizeof m.name, "m");
        snprintf(sha, sizeof sha, "%064d", i);
        snprintf(m.sha256, sizeof m.sha256, "%s", sha);
        m.artifact_path = (char *)"p";
        if (tml_store_model_add(s, &m) != TML_OK)
            _exit(3);
        memset(&dep, 0, sizeof dep);
        dep.model_id = m.id;
        snprintf(dep.model_name, sizeof dep.model_name, "m");
        dep.model_version = m.version;
        snprintf(dep.device, sizeof dep.device, "%s", ep);
        if (tml_store_deployment_add(s, &dep, 1) != TML_OK)
            _exit(4);
        if (write(fd, "x", 1) != 1)
            _exit(5);
    }
}

static int sql_int(const char *db, const char *sql)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    int v = -1;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(h);
    return v;
}

static void test_crash(void **state)
{
    char *dir = mktmp();
    char db[512];
    int p[2], acked = 0, status, devs, models, deps;
    pid_t pid;
    tml_store *s;
    (void)state;

    /* create the schema first so the child never dies inside the first migration */
    s = open_store(dir);
    tml_store_close(s);

    assert_int_equal(pipe(p), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        crash_child(dir, p[1]);
        _exit(0);
    }
    close(p[1]);
    while (acked < 40) {
        char c;
        if (read(p[0], &c, 1) != 1)
            break;
        acked++;
    }
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    close(p[0]);
    assert_int_equal(acked, 40);

    snprintf(db, sizeof db, "%s/tmlaas.db", dir);
    s = open_store(dir); /* recovers the WAL */
    devs = count_devices(s);
    tml_store_close(s);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM pragma_integrity_check"
                                 " WHERE integrity_check <> 'ok'"),
                     0);
    assert_int_equal(sql_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    models = sql_int(db, "SELECT count(*) FROM models");
    deps = sql_int(db, "SELECT count(*) FROM deployments");
    /* every acknowledged iteration is there; the one in flight is whole or partial, but
     * each of its three transactions is atomic */
    assert_true(devs >= acked && devs <= acked + 1);
    assert_true(models >= acked && models <= devs);
    assert_true(deps >= acked && deps <= models);
    /* model versions are contiguous 1..models */
    assert_int_equal(sql_int(db, "SELECT MAX(version) FROM models"), models);
    rmtree(dir);
    free(dir);
}

static int count_id(void *ctx, const char *id)
{
    (void)id;
    (*(int *)ctx)++;
    return 0;
}

static void sql_exec(const char *db, const char *sql)
{
    sqlite3 *h;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

/* PSKs, and the upgrade of a schema-1 database (before the psks table existed). */
static void test_psk_and_migration(void **state)
{
    char *dir = mktmp(), db[512];
    tml_store *s = open_store(dir);
    uint8_t key[TML_PSK_MAX], big[TML_PSK_MAX + 1];
    size_t len = 0;
    int n = 0;
    tml_device d;
    (void)state;

    assert_int_equal(tml_store_psk_put(s, "dev1", (const uint8_t *)"secret", 6), TML_OK);
    assert_int_equal(tml_store_psk_get(s, "dev1", key, sizeof key, &len), TML_OK);
    assert_int_equal(len, 6);
    assert_memory_equal(key, "secret", 6);
    assert_int_equal(tml_store_psk_put(s, "dev1", (const uint8_t *)"other!!", 7), TML_OK);
    assert_int_equal(tml_store_psk_get(s, "dev1", key, sizeof key, &len), TML_OK);
    assert_int_equal(len, 7);
    assert_int_equal(tml_store_psk_get(s, "dev1", key, 3, &len), TML_ERR_FIT);
    assert_int_equal(tml_store_psk_get(s, "nope", key, sizeof key, &len), TML_ERR_NOT_FOUND);
    memset(big, 1, sizeof big);
    assert_int_equal(tml_store_psk_put(s, "dev2", big, sizeof big), TML_ERR_ARG);
    assert_int_equal(tml_store_psk_put(s, "dev2", big, 0), TML_ERR_ARG);
    assert_int_equal(tml_store_psk_list(s, count_id, &n), TML_OK);
    assert_int_equal(n, 1);
    assert_int_equal(tml_store_psk_delete(s, "dev1"), TML_OK);
    assert_int_equal(tml_store_psk_delete(s, "dev1"), TML_ERR_NOT_FOUND);
    fill_device(&d, "dev1", "r1");
    assert_int_equal(tml_store_device_put(s, &d), TML_OK);
    tml_store_close(s);

    /* turn it back into a schema-1 database; opening must upgrade it and keep the data */
    snprintf(db, sizeof db, "%s/tmlaas.db", dir);
    sql_exec(db, "DROP TABLE psks; UPDATE schema_version SET version = 1");
    assert_int_equal(sql_int(db, "SELECT count(*) FROM sqlite_master WHERE name = 'psks'"), 0);
    s = open_store(dir);
    assert_int_equal(sql_int(db, "SELECT version FROM schema_version"), 2);
    assert_int_equal(tml_store_psk_put(s, "dev1", (const uint8_t *)"k", 1), TML_OK);
    assert_int_equal(count_devices(s), 1);
    tml_store_close(s);

    /* a database from a newer tmlaas is refused, not damaged */
    sql_exec(db, "UPDATE schema_version SET version = 99");
    {
        tml_store *x = NULL;
        char err[256];
        assert_int_equal(tml_store_open(dir, &x, err, sizeof err), TML_ERR_UNSUPPORTED);
        assert_non_null(strstr(err, "newer"));
    }
    rmtree(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_device_crud),
        cmocka_unit_test(test_model_build_deploy),
        cmocka_unit_test(test_reopen),
        cmocka_unit_test(test_crash),
        cmocka_unit_test(test_psk_and_migration),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
