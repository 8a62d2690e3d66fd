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
 * is the only thing they share. Each compile runs in a forked child that reports through a
 * pipe, so a compiler crash or hang on a hostile model (killed after 300 s) fails that build
 * with a message instead of taking the service, and every device's registration, down. Delivery (Package URI, Execute) takes over deployments in
 * state "delivering".
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

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

/* What a build child reports through its pipe, followed by report_len bytes of JSON. */
typedef struct {
    int32_t status;
    uint32_t arena;
    uint64_t pkg_len;
    char sha[TML_SHA_HEX];
    char err[1024];
    uint32_t report_len;
} build_result;

#define BUILD_TIMEOUT_S 300

static void write_all_fd(int fd, const void *p, size_t n)
{
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

/* The child: compile, package, store the package; report through fd; never returns. Only
 * the compiler, the artifact files and write(2) are used here - no store, no log (their
 * locks may have been held by another thread at fork time). */
static void child_build(tml_service *svc, const char *path, int fd)
{
    build_result r;
    tml_compile_options o;
    tml_model *cm = NULL;
    uint8_t *pkg = NULL;
    size_t pkg_len = 0;
    char *report = NULL;
    tml_status st;
    memset(&r, 0, sizeof r);
    tml_compile_options_default(&o);
    st = tml_model_compile(path, &o, &cm, r.err, sizeof r.err);
    if (st == TML_OK)
        st = tml_package_build(cm->plan, &pkg, &pkg_len, r.err, sizeof r.err);
    if (st == TML_OK)
        st = tml_artifact_put(svc->artifacts_dir, pkg, pkg_len, r.sha, r.err, sizeof r.err);
    if (st == TML_OK) {
        report = tml_model_report_json(cm);
        r.arena = cm->plan->arena_size;
        r.pkg_len = pkg_len;
        r.report_len = report ? (uint32_t)strlen(report) : 0;
    }
    r.status = st;
    write_all_fd(fd, &r, sizeof r);
    if (r.report_len)
        write_all_fd(fd, report, r.report_len);
    close(fd);
    _exit(0);
}

/* Runs child_build in a child process, so that a compiler crash or hang on a hostile model
 * fails one build instead of taking the service down. */
static tml_status run_isolated(tml_service *svc, const char *path, build_result *r,
                               char **report)
{
    int p[2], status = 0;
    pid_t pid;
    char *buf = NULL;
    size_t len = 0, cap = 0;
    time_t deadline = time(NULL) + BUILD_TIMEOUT_S;
    bool timed_out = false;
    memset(r, 0, sizeof *r);
    *report = NULL;
    if (pipe(p) != 0) {
        snprintf(r->err, sizeof r->err, "cannot create a pipe: %s", strerror(errno));
        return TML_ERR_IO;
    }
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        snprintf(r->err, sizeof r->err, "cannot fork the compiler: %s", strerror(errno));
        return TML_ERR_IO;
    }
    if (pid == 0) {
        close(p[0]);
        child_build(svc, path, p[1]);
    }
    close(p[1]);
    for (;;) {
        struct pollfd pf;
        ssize_t n;
        int left = (int)(deadline - time(NULL));
        if (left <= 0) {
            timed_out = true;
            kill(pid, SIGKILL);
            break;
        }
        pf.fd = p[0];
        pf.events = POLLIN;
        if (poll(&pf, 1, left * 1000) <= 0)
            continue;
        if (len == cap) {
            size_t nc = cap ? 2 * cap : 65536;
            char *nb = nc <= (64u << 20) ? realloc(buf, nc) : NULL;
            if (!nb) {
                kill(pid, SIGKILL);
                break;
            }
            buf = nb;
            cap = nc;
        }
        n = read(p[0], buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (len >= sizeof *r) {
        memcpy(r, buf, sizeof *r);
        r->err[sizeof r->err - 1] = 0;
        r->sha[TML_SHA_HEX - 1] = 0;
        if (r->report_len && len >= sizeof *r + r->report_len) {
            *report = malloc((size_t)r->report_len + 1);
            if (*report) {
                memcpy(*report, buf + sizeof *r, r->report_len);
                (*report)[r->report_len] = 0;
            }
        }
        free(buf);
        return (tml_status)r->status;
    }
    free(buf);
    if (timed_out)
        snprintf(r->err, sizeof r->err, "the compiler took longer than %d s", BUILD_TIMEOUT_S);
    else if (WIFSIGNALED(status))
        snprintf(r->err, sizeof r->err, "the compiler crashed (signal %d)", WTERMSIG(status));
    else
        snprintf(r->err, sizeof r->err, "the compiler exited without a result");
    return TML_ERR;
}

/* Compiles the model for a profile into b (status, artifact, report or error). The profile
 * does not change the compile options yet: targets/ will map it to kernels and flags. */
static void compile_into(tml_service *svc, const tml_model_entry *m, tml_build *b, uint32_t *arena,
                         size_t *pkg_len)
{
    char err[1024], path[1300];
    build_result r;
    char *report = NULL;
    tml_status st;
    time_t t0 = time(NULL);
    *arena = 0;
    *pkg_len = 0;
    free(b->error);
    free(b->report);
    b->error = b->report = NULL;
    b->artifact_sha[0] = 0;
    /* the path from the artifact directory, not the stored one: the data directory may
     * have moved since the upload */
    tml_artifact_path(svc->artifacts_dir, m->sha256, path, sizeof path);
    st = tml_artifact_verify(svc->artifacts_dir, m->sha256, err, sizeof err);
    if (st == TML_OK) {
        st = run_isolated(svc, path, &r, &report);
        snprintf(err, sizeof err, "%s", r.err);
    }
    if (st == TML_OK && tml_sha_hex_valid(r.sha)) {
        b->status = TML_BUILD_DONE;
        snprintf(b->artifact_sha, sizeof b->artifact_sha, "%s", r.sha);
        b->report = report;
        report = NULL;
        *arena = r.arena;
        *pkg_len = (size_t)r.pkg_len;
        tml_log("build %lld: model '%s' version %d for '%s' done (%lds, package %zu bytes, "
                "arena %u bytes, artifact %.16s)",
                (long long)b->id, m->name, m->version, b->profile, (long)(time(NULL) - t0),
                *pkg_len, *arena, b->artifact_sha);
    } else {
        /* the compiler names the file it read; name the model instead */
        char msg[1200];
        size_t pl = strlen(path);
        const char *rest = strncmp(err, path, pl) == 0 ? err + pl : NULL;
        if (rest && rest[0] == ':')
            snprintf(msg, sizeof msg, "model '%s' version %d%s", m->name, m->version, rest);
        else
            snprintf(msg, sizeof msg, "model '%s' version %d: %s", m->name, m->version,
                     err[0] ? err : "build failed");
        b->status = TML_BUILD_FAILED;
        b->error = strdup(msg);
        tml_log("build %lld: model '%s' version %d for '%s' failed: %s", (long long)b->id, m->name,
                m->version, b->profile, msg);
    }
    free(report);
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
