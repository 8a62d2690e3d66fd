/*
 * builder.c - the build step of deployments: compile a model for a device's profile, once.
 *
 * One worker thread walks the unfinished deployments in the store whenever it is kicked (a
 * new deployment, a device's node info arriving) and at least every few seconds. For each
 * pending deployment it needs the device's profile - the "target" of its node object
 * (/32769/0), else its "core" - and then:
 *
 *   build = the store's build for (model sha256, profile, compiler version)
 *   none yet         -> compile (tml_model_compile), package (tml_package_build), store the
 *                       package as an artifact, record the report; or record the failure
 *   done / failed    -> reuse it: every device of that profile shares one build
 *
 * and finally checks the device's own budgets (arena <= RAM, package <= flash), so a model
 * that does not fit fails that device's deployment with the numbers. A build left "running"
 * by a crash is simply built again (there is one builder, so "running" seen here is stale);
 * deployments survive restarts in the store and are picked up where they were.
 *
 * Compiling in its own thread keeps the CoAP loop and the HTTP thread responsive; the store
 * is the only thing they share. Delivery (Package URI, Execute) takes over deployments in
 * state "delivering".
 */
#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tml/codegen.h"
#include "tml/compiler.h"
#include "service/service_int.h"

/* The device's profile and budgets from its node info JSON. */
typedef struct {
    char profile[TML_NAME_MAX];
    double ram, flash; /* 0 = not reported */
} node_profile;

static bool read_profile(const char *node_info, node_profile *np)
{
    cJSON *j = node_info ? cJSON_Parse(node_info) : NULL;
    const cJSON *t, *c, *r, *f;
    memset(np, 0, sizeof *np);
    if (!j)
        return false;
    t = cJSON_GetObjectItemCaseSensitive(j, "target");
    c = cJSON_GetObjectItemCaseSensitive(j, "core");
    r = cJSON_GetObjectItemCaseSensitive(j, "ram");
    f = cJSON_GetObjectItemCaseSensitive(j, "flash");
    if (cJSON_IsString(t) && t->valuestring[0])
        snprintf(np->profile, sizeof np->profile, "%s", t->valuestring);
    else if (cJSON_IsString(c) && c->valuestring[0])
        snprintf(np->profile, sizeof np->profile, "%s", c->valuestring);
    if (cJSON_IsNumber(r))
        np->ram = r->valuedouble;
    if (cJSON_IsNumber(f))
        np->flash = f->valuedouble;
    cJSON_Delete(j);
    return np->profile[0] != 0;
}

/* Compiles the model for a profile into b (status, artifact, report or error). The profile
 * does not change the compile options yet: targets/ will map it to kernels and flags. */
static void compile_into(tml_service *svc, const tml_model_entry *m, tml_build *b, uint32_t *arena,
                         size_t *pkg_len)
{
    char err[1024];
    tml_compile_options o;
    tml_model *cm = NULL;
    uint8_t *pkg = NULL;
    tml_status st;
    clock_t t0 = clock();
    *arena = 0;
    *pkg_len = 0;
    free(b->error);
    free(b->report);
    b->error = b->report = NULL;
    b->artifact_sha[0] = 0;
    st = tml_artifact_verify(svc->artifacts_dir, m->sha256, err, sizeof err);
    if (st == TML_OK) {
        tml_compile_options_default(&o);
        st = tml_model_compile(m->artifact_path, &o, &cm, err, sizeof err);
    }
    if (st == TML_OK)
        st = tml_package_build(cm->plan, &pkg, pkg_len, err, sizeof err);
    if (st == TML_OK)
        st = tml_artifact_put(svc->artifacts_dir, pkg, *pkg_len, b->artifact_sha, err, sizeof err);
    if (st == TML_OK) {
        b->status = TML_BUILD_DONE;
        b->report = tml_model_report_json(cm);
        *arena = cm->plan->arena_size;
        tml_log("build %lld: model '%s' version %d for '%s' done (%.2f s cpu, package %zu bytes, "
                "arena %u bytes, artifact %.16s)",
                (long long)b->id, m->name, m->version, b->profile,
                (double)(clock() - t0) / CLOCKS_PER_SEC, *pkg_len, *arena, b->artifact_sha);
    } else {
        b->status = TML_BUILD_FAILED;
        b->error = strdup(err);
        tml_log("build %lld: model '%s' version %d for '%s' failed: %s", (long long)b->id, m->name,
                m->version, b->profile, err);
    }
    free(pkg);
    if (cm)
        tml_model_free(cm);
}

static void fail_deployment(tml_service *svc, const tml_deployment *d, int64_t build_id,
                            const char *why)
{
    tml_store_deployment_update(svc->store, d->id, TML_DEPLOY_FAILED, build_id, d->result, why);
    tml_log("deployment %lld (model '%s' to '%s'): failed: %s", (long long)d->id, d->model_name,
            d->device, why);
}

/* Reads the numbers the fit check needs from a stored build's report. */
static void report_numbers(const char *report, uint32_t *arena, size_t *pkg)
{
    cJSON *j = report ? cJSON_Parse(report) : NULL;
    const cJSON *a = j ? cJSON_GetObjectItemCaseSensitive(j, "arena_bytes") : NULL;
    const cJSON *p = j ? cJSON_GetObjectItemCaseSensitive(j, "package_bytes") : NULL;
    if (cJSON_IsNumber(a))
        *arena = (uint32_t)a->valuedouble;
    if (cJSON_IsNumber(p))
        *pkg = (size_t)p->valuedouble;
    cJSON_Delete(j);
}

/* Adds package_bytes to the report (the compiler's report does not know the package). */
static void report_add_package(tml_build *b, size_t pkg_len, uint32_t arena)
{
    cJSON *j = b->report ? cJSON_Parse(b->report) : NULL;
    if (!j)
        j = cJSON_CreateObject();
    cJSON_DeleteItemFromObjectCaseSensitive(j, "package_bytes");
    cJSON_AddNumberToObject(j, "package_bytes", (double)pkg_len);
    if (!cJSON_GetObjectItemCaseSensitive(j, "arena_bytes"))
        cJSON_AddNumberToObject(j, "arena_bytes", (double)arena);
    free(b->report);
    b->report = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
}

static void process(tml_service *svc, const tml_deployment *d)
{
    tml_device dev;
    tml_model_entry m;
    tml_build b;
    node_profile np;
    tml_status st;
    uint32_t arena = 0;
    size_t pkg = 0;
    char why[512];

    if (tml_store_device_get(svc->store, d->device, &dev) != TML_OK) {
        fail_deployment(svc, d, 0, "device no longer exists");
        return;
    }
    if (!read_profile(dev.node_info, &np)) {
        tml_device_clear(&dev);
        if (!d->error) /* say once what it waits for */
            tml_store_deployment_update(svc->store, d->id, TML_DEPLOY_PENDING, 0, d->result,
                                        "waiting for the device's node info (/32769/0)");
        return;
    }
    tml_device_clear(&dev);
    if (tml_store_model_get(svc->store, d->model_name, d->model_version, &m) != TML_OK) {
        snprintf(why, sizeof why, "model '%s' version %d was deleted", d->model_name,
                 d->model_version);
        fail_deployment(svc, d, 0, why);
        return;
    }
    st = tml_store_build_find(svc->store, m.sha256, np.profile, TML_VERSION, &b);
    if (st == TML_ERR_NOT_FOUND) {
        memset(&b, 0, sizeof b);
        snprintf(b.model_sha, sizeof b.model_sha, "%s", m.sha256);
        snprintf(b.profile, sizeof b.profile, "%s", np.profile);
        snprintf(b.compiler_version, sizeof b.compiler_version, "%s", TML_VERSION);
        b.status = TML_BUILD_RUNNING;
        st = tml_store_build_put(svc->store, &b);
    } else if (st == TML_OK && (b.status == TML_BUILD_PENDING || b.status == TML_BUILD_RUNNING)) {
        b.status = TML_BUILD_RUNNING; /* stale from a crash: build it again */
        st = tml_store_build_put(svc->store, &b);
    } else if (st == TML_OK) {
        tml_log("deployment %lld: reusing build %lld (%s) for '%s'", (long long)d->id,
                (long long)b.id, tml_build_status_str(b.status), np.profile);
    }
    if (st != TML_OK) {
        tml_log("builder: %s", tml_store_error(svc->store));
        tml_model_entry_clear(&m);
        return;
    }
    if (b.status == TML_BUILD_RUNNING) {
        tml_store_deployment_update(svc->store, d->id, TML_DEPLOY_BUILDING, b.id, d->result, NULL);
        compile_into(svc, &m, &b, &arena, &pkg);
        if (b.status == TML_BUILD_DONE)
            report_add_package(&b, pkg, arena);
        if (tml_store_build_put(svc->store, &b) != TML_OK)
            tml_log("builder: %s", tml_store_error(svc->store));
    } else {
        report_numbers(b.report, &arena, &pkg);
    }
    if (b.status == TML_BUILD_FAILED) {
        fail_deployment(svc, d, b.id, b.error ? b.error : "build failed");
    } else if (np.ram > 0 && arena > np.ram) {
        snprintf(why, sizeof why,
                 "model '%s' does not fit device '%s' (%s): arena %u bytes > RAM budget %.0f bytes",
                 m.name, d->device, np.profile, arena, np.ram);
        fail_deployment(svc, d, b.id, why);
    } else if (np.flash > 0 && (double)pkg > np.flash) {
        snprintf(why, sizeof why,
                 "model '%s' does not fit device '%s' (%s): package %zu bytes > flash budget %.0f "
                 "bytes",
                 m.name, d->device, np.profile, pkg, np.flash);
        fail_deployment(svc, d, b.id, why);
    } else {
        tml_store_deployment_update(svc->store, d->id, TML_DEPLOY_DELIVERING, b.id, d->result,
                                    NULL);
        tml_log("deployment %lld (model '%s' to '%s'): built, artifact %.16s ready for delivery",
                (long long)d->id, d->model_name, d->device, b.artifact_sha);
    }
    tml_build_clear(&b);
    tml_model_entry_clear(&m);
}

typedef struct {
    tml_deployment *d;
    int n, cap;
} dep_list;

static int collect(void *ctx, const tml_deployment *d)
{
    dep_list *l = (dep_list *)ctx;
    if (d->state != TML_DEPLOY_PENDING && d->state != TML_DEPLOY_BUILDING)
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
    l->d[l->n].error = d->error ? strdup(d->error) : NULL;
    l->n++;
    return 0;
}

int tml_builder_run_once(tml_service *svc)
{
    dep_list l;
    int i;
    memset(&l, 0, sizeof l);
    /* collect first, then work: the list callback holds the store's lock */
    tml_store_deployment_list(svc->store, true, collect, &l);
    for (i = 0; i < l.n; i++) {
        process(svc, &l.d[i]);
        tml_deployment_clear(&l.d[i]);
    }
    free(l.d);
    return l.n;
}

static void *builder_main(void *arg)
{
    tml_service *svc = (tml_service *)arg;
    pthread_mutex_lock(&svc->builder_mu);
    while (!svc->builder_stop) {
        struct timespec ts;
        svc->builder_kick = false;
        pthread_mutex_unlock(&svc->builder_mu);
        tml_builder_run_once(svc);
        pthread_mutex_lock(&svc->builder_mu);
        if (svc->builder_stop || svc->builder_kick)
            continue;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += 5;
        pthread_cond_timedwait(&svc->builder_cv, &svc->builder_mu, &ts);
    }
    pthread_mutex_unlock(&svc->builder_mu);
    return NULL;
}

tml_status tml_builder_start(tml_service *svc)
{
    pthread_mutex_init(&svc->builder_mu, NULL);
    pthread_cond_init(&svc->builder_cv, NULL);
    svc->builder_stop = false;
    svc->builder_kick = true;
    if (pthread_create(&svc->builder, NULL, builder_main, svc) != 0)
        return TML_ERR;
    svc->builder_running = true;
    return TML_OK;
}

void tml_builder_kick(tml_service *svc)
{
    if (!svc->builder_running)
        return;
    pthread_mutex_lock(&svc->builder_mu);
    svc->builder_kick = true;
    pthread_cond_signal(&svc->builder_cv);
    pthread_mutex_unlock(&svc->builder_mu);
}

void tml_builder_stop(tml_service *svc)
{
    if (!svc->builder_running)
        return;
    pthread_mutex_lock(&svc->builder_mu);
    svc->builder_stop = true;
    pthread_cond_signal(&svc->builder_cv);
    pthread_mutex_unlock(&svc->builder_mu);
    pthread_join(svc->builder, NULL);
    svc->builder_running = false;
    pthread_cond_destroy(&svc->builder_cv);
    pthread_mutex_destroy(&svc->builder_mu);
}
