/*
 * test_builder.c - the build step on its own, one pass at a time (tml_builder_run_once), over
 * a real store and artifact directory: a build left "running" by a crash is rebuilt into the
 * same row; a device without node info keeps its deployment pending (with the reason); a
 * model the compiler rejects fails its build once and every deployment that needs that build
 * reuses the failure; a deleted model fails its deployment.
 *
 * The compile path needs a corpus model (../shared/corpus); without it those checks are
 * skipped with a message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/service_int.h"

typedef struct {
    char dir[64];
    tml_service *svc;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    snprintf(f->dir, sizeof f->dir, "/tmp/tml_builder_XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    f->svc = calloc(1, sizeof *f->svc);
    snprintf(f->svc->data_dir, sizeof f->svc->data_dir, "%s", f->dir);
    snprintf(f->svc->artifacts_dir, sizeof f->svc->artifacts_dir, "%s/artifacts", f->dir);
    if (tml_store_open(f->dir, &f->svc->store, err, sizeof err) != TML_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = (fixture *)*state;
    char cmd[128];
    tml_store_close(f->svc->store);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    if (system(cmd) != 0)
        return -1;
    free(f->svc);
    free(f);
    return 0;
}

static int64_t add_model(tml_service *svc, const char *name, const void *data, size_t n,
                         char sha[TML_SHA_HEX])
{
    tml_model_entry m;
    char err[256], path[1300];
    assert_int_equal(tml_artifact_put(svc->artifacts_dir, data, n, sha, err, sizeof err), TML_OK);
    memset(&m, 0, sizeof m);
    snprintf(m.name, sizeof m.name, "%s", name);
    snprintf(m.sha256, sizeof m.sha256, "%s", sha);
    m.size = (int64_t)n;
    tml_artifact_path(svc->artifacts_dir, sha, path, sizeof path);
    m.artifact_path = path;
    assert_int_equal(tml_store_model_add(svc->store, &m), TML_OK);
    return m.id;
}

static void add_device(tml_service *svc, const char *ep, const char *node_info)
{
    tml_device d;
    memset(&d, 0, sizeof d);
    snprintf(d.endpoint, sizeof d.endpoint, "%s", ep);
    d.lifetime = 600;
    snprintf(d.binding, sizeof d.binding, "U");
    d.node_info = (char *)node_info;
    d.online = true;
    assert_int_equal(tml_store_device_put(svc->store, &d), TML_OK);
}

static int64_t add_deployment(tml_service *svc, const char *model, const char *device,
                              tml_deploy_state state, int64_t build)
{
    tml_deployment d;
    memset(&d, 0, sizeof d);
    snprintf(d.model_name, sizeof d.model_name, "%s", model);
    d.model_version = 1;
    snprintf(d.device, sizeof d.device, "%s", device);
    d.state = state;
    d.build_id = build;
    assert_int_equal(tml_store_deployment_add(svc->store, &d, 1), TML_OK);
    return d.id;
}

static tml_deployment get_dep(tml_service *svc, int64_t id)
{
    tml_deployment d;
    assert_int_equal(tml_store_deployment_get(svc->store, id, &d), TML_OK);
    return d;
}

static void test_waits_for_node_info(void **state)
{
    fixture *f = (fixture *)*state;
    char sha[TML_SHA_HEX];
    int64_t id;
    tml_deployment d;
    add_model(f->svc, "m", "\x08\x07", 2, sha);
    add_device(f->svc, "bare", NULL);
    id = add_deployment(f->svc, "m", "bare", TML_DEPLOY_PENDING, 0);
    assert_int_equal(tml_builder_run_once(f->svc), 1);
    d = get_dep(f->svc, id);
    assert_int_equal(d.state, TML_DEPLOY_PENDING);
    assert_non_null(d.error);
    assert_non_null(strstr(d.error, "waiting for the device's node info"));
    tml_deployment_clear(&d);
    /* a deleted model fails the deployment */
    add_device(f->svc, "dev", "{\"target\":\"host\"}");
    id = add_deployment(f->svc, "m", "dev", TML_DEPLOY_PENDING, 0);
    assert_int_equal(tml_store_model_delete(f->svc->store, "m", 0, NULL), TML_OK);
    tml_builder_run_once(f->svc);
    d = get_dep(f->svc, id);
    assert_int_equal(d.state, TML_DEPLOY_FAILED);
    assert_non_null(strstr(d.error, "was deleted"));
    tml_deployment_clear(&d);
}

static void test_compiler_failure_is_cached(void **state)
{
    fixture *f = (fixture *)*state;
    char sha[TML_SHA_HEX];
    int64_t a, b;
    tml_deployment d1, d2;
    tml_build bd;
    /* a protobuf that is no ModelProto the importer accepts */
    add_model(f->svc, "junk", "\x08\x07\x12\x03xyz", 7, sha);
    add_device(f->svc, "d1", "{\"target\":\"host\"}");
    add_device(f->svc, "d2", "{\"core\":\"host\"}"); /* same profile through "core" */
    a = add_deployment(f->svc, "junk", "d1", TML_DEPLOY_PENDING, 0);
    b = add_deployment(f->svc, "junk", "d2", TML_DEPLOY_PENDING, 0);
    assert_int_equal(tml_builder_run_once(f->svc), 2);
    d1 = get_dep(f->svc, a);
    d2 = get_dep(f->svc, b);
    assert_int_equal(d1.state, TML_DEPLOY_FAILED);
    assert_int_equal(d2.state, TML_DEPLOY_FAILED);
    assert_true(d1.build_id > 0);
    assert_int_equal(d1.build_id, d2.build_id);
    assert_int_equal(tml_store_build_get(f->svc->store, d1.build_id, &bd), TML_OK);
    assert_int_equal(bd.status, TML_BUILD_FAILED);
    assert_non_null(bd.error);
    assert_string_equal(d1.error, bd.error); /* the compiler's reason reaches the deployment */
    assert_int_equal(strncmp(bd.error, "model 'junk' version 1: ", 24), 0);
    tml_build_clear(&bd);
    tml_deployment_clear(&d1);
    tml_deployment_clear(&d2);
}

static void test_stale_build_is_rebuilt(void **state)
{
    fixture *f = (fixture *)*state;
    char path[512], sha[TML_SHA_HEX];
    static uint8_t buf[1 << 20];
    FILE *fp;
    size_t n;
    tml_build b, g;
    int64_t id;
    tml_deployment d;
    snprintf(path, sizeof path, "%s/onnx-node/test_relu/model.onnx", TML_CORPUS_DIR);
    fp = fopen(path, "rb");
    if (!fp) {
        printf("skip: needs %s\n", path);
        return;
    }
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    add_model(f->svc, "relu", buf, n, sha);
    add_device(f->svc, "dev", "{\"target\":\"host\",\"ram\":1000000,\"flash\":1000000}");
    /* what a crash in the middle of a build leaves behind */
    memset(&b, 0, sizeof b);
    snprintf(b.model_sha, sizeof b.model_sha, "%s", sha);
    snprintf(b.profile, sizeof b.profile, "host");
    snprintf(b.compiler_version, sizeof b.compiler_version, "%s", TML_VERSION);
    b.status = TML_BUILD_RUNNING;
    assert_int_equal(tml_store_build_put(f->svc->store, &b), TML_OK);
    id = add_deployment(f->svc, "relu", "dev", TML_DEPLOY_BUILDING, b.id);
    assert_int_equal(tml_builder_run_once(f->svc), 1);
    d = get_dep(f->svc, id);
    if (d.state != TML_DEPLOY_DELIVERING)
        fail_msg("state %d: %s", d.state, d.error ? d.error : "-");
    assert_int_equal(d.build_id, b.id);
    tml_deployment_clear(&d);
    assert_int_equal(tml_store_build_get(f->svc->store, b.id, &g), TML_OK);
    assert_int_equal(g.status, TML_BUILD_DONE);
    assert_int_equal(tml_artifact_verify(f->svc->artifacts_dir, g.artifact_sha, NULL, 0), TML_OK);
    tml_build_clear(&g);
    /* nothing left to do */
    assert_int_equal(tml_builder_run_once(f->svc), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_waits_for_node_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compiler_failure_is_cached, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_build_is_rebuilt, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
