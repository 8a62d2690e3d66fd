/*
 * test_coap_device.c - the service and a minimal LwM2M device over loopback, in C with
 * libcoap: the device registers listing the TinyML node object, the service reads /32769/0
 * back from it (SenML JSON) and stores the node info; a model deployed to it and to a second
 * device of the same target is built once, fits the first and not the second; the first is
 * delivered over LwM2M Firmware Update (Package URI, block-wise download, signature check,
 * Execute, result 1 -> installed); then the device de-registers.
 *
 * The service runs in a forked child through tml_serve_main() (no CLI needed); the device is
 * this process: one libcoap client session, over which it both sends its requests and answers
 * the service's read, as real LwM2M clients do. Waits are polls against a deadline; nothing
 * asserts how long anything took.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <coap3/coap.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tml/service.h"
#include "tml/store.h"

static const char *node_senml =
    "[{\"bn\":\"/32769/0/\",\"n\":\"0\",\"vs\":\"cortex-m4\"},{\"n\":\"1\",\"v\":25000000},"
    "{\"n\":\"2\",\"v\":65536},{\"n\":\"3\",\"v\":262144},{\"n\":\"12\",\"vs\":\"cortex-m4\"},"
    "{\"n\":\"8\",\"vs\":\"mnist\"},"
    "{\"n\":\"9\",\"vs\":\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"}]";

static pid_t service_pid; /* killed by the teardown, also when an assertion fails */
static int reads_answered;
/* the device's Firmware Update object (/5/0) */
static char fw_uri[300];
static int fw_state;  /* /5/0/3: 0 idle, 1 downloading, 2 downloaded */
static int fw_result; /* /5/0/5 */
static bool fw_fetch; /* the Package URI was written: download in the main loop */
static int downloading; /* 0 none, 1 artifact, 2 signature; response handler fills buffers */
static uint8_t dl_buf[1 << 20];
static size_t dl_len;
static uint8_t sig_buf[64];
static size_t sig_len;
static int last_code = -1;
static char location[64];

static void hnd_node(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                     const coap_string_t *q, coap_pdu_t *resp)
{
    unsigned char buf[4];
    (void)r;
    (void)s;
    (void)req;
    (void)q;
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CONTENT);
    coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf, sizeof buf, 110),
                    buf);
    coap_add_data(resp, strlen(node_senml), (const uint8_t *)node_senml);
    reads_answered++;
}

static void reply_int(coap_pdu_t *resp, int v)
{
    char t[16];
    unsigned char buf[4];
    snprintf(t, sizeof t, "%d", v);
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CONTENT);
    coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf, sizeof buf, 0),
                    buf);
    coap_add_data(resp, strlen(t), (const uint8_t *)t);
}

static void hnd_fw_uri(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                       const coap_string_t *q, coap_pdu_t *resp)
{
    size_t len = 0;
    const uint8_t *data = NULL;
    (void)r;
    (void)s;
    (void)q;
    if (!coap_get_data(req, &len, &data) || len == 0 || len >= sizeof fw_uri) {
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_BAD_REQUEST);
        return;
    }
    memcpy(fw_uri, data, len);
    fw_uri[len] = 0;
    fw_state = 1;
    fw_result = 0;
    fw_fetch = true;
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CHANGED);
}

static void hnd_fw_state(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                         const coap_string_t *q, coap_pdu_t *resp)
{
    (void)r;
    (void)s;
    (void)req;
    (void)q;
    reply_int(resp, fw_state);
}

static void hnd_fw_result(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                          const coap_string_t *q, coap_pdu_t *resp)
{
    (void)r;
    (void)s;
    (void)req;
    (void)q;
    reply_int(resp, fw_result);
}

static void hnd_fw_update(coap_resource_t *r, coap_session_t *s, const coap_pdu_t *req,
                          const coap_string_t *q, coap_pdu_t *resp)
{
    (void)r;
    (void)s;
    (void)req;
    (void)q;
    if (fw_state != 2) {
        coap_pdu_set_code(resp, COAP_RESPONSE_CODE_NOT_ALLOWED);
        return;
    }
    fw_state = 0;
    fw_result = 1; /* installed (the test checked hash and signature before "downloaded") */
    coap_pdu_set_code(resp, COAP_RESPONSE_CODE_CHANGED);
}

static coap_response_t on_resp(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *recv,
                               const coap_mid_t mid)
{
    coap_opt_iterator_t oi;
    coap_opt_t *o;
    (void)s;
    (void)sent;
    (void)mid;
    if (downloading) {
        size_t len = 0, off = 0, total = 0;
        const uint8_t *data = NULL;
        if (coap_get_data_large(recv, &len, &data, &off, &total) && len) {
            if (downloading == 1 && len <= sizeof dl_buf) {
                memcpy(dl_buf, data, len);
                dl_len = len;
            } else if (downloading == 2 && len <= sizeof sig_buf) {
                memcpy(sig_buf, data, len);
                sig_len = len;
            }
        }
        last_code = coap_pdu_get_code(recv);
        return COAP_RESPONSE_OK;
    }
    last_code = coap_pdu_get_code(recv);
    location[0] = 0;
    coap_option_iterator_init(recv, &oi, COAP_OPT_ALL);
    while ((o = coap_option_next(&oi)) != NULL) {
        if (oi.number == COAP_OPTION_LOCATION_PATH) {
            size_t l = strlen(location), n = coap_opt_length(o);
            if (l + n + 2 < sizeof location) {
                location[l] = '/';
                memcpy(location + l + 1, coap_opt_value(o), n);
                location[l + 1 + n] = 0;
            }
        }
    }
    return COAP_RESPONSE_OK;
}

static int free_udp_port(void)
{
    struct sockaddr_in a;
    socklen_t l = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), port;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
    port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* Runs the io loop until *flag changes or the deadline passes. */
static void run_until(coap_context_t *ctx, int *flag, int from, int seconds)
{
    time_t end = time(NULL) + seconds;
    while (*flag == from && time(NULL) < end)
        coap_io_process(ctx, 100);
}

static void send_req(coap_session_t *s, coap_pdu_code_t code, const char *path, const char *query,
                     const char *payload)
{
    coap_pdu_t *pdu = coap_pdu_init(COAP_MESSAGE_CON, code, coap_new_message_id(s),
                                    coap_session_max_pdu_size(s));
    uint8_t tok[8];
    size_t tl;
    unsigned char buf[4];
    coap_optlist_t *opts = NULL;
    unsigned char scratch[256];
    size_t sl;
    int n;
    unsigned char *p;
    assert_non_null(pdu);
    coap_session_new_token(s, &tl, tok);
    coap_add_token(pdu, tl, tok);
    sl = sizeof scratch;
    p = scratch;
    n = coap_split_path((const uint8_t *)path, strlen(path), p, &sl);
    while (n--) {
        coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_URI_PATH, coap_opt_length(p),
                                                    coap_opt_value(p)));
        p += coap_opt_size(p);
    }
    if (payload)
        coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_CONTENT_FORMAT,
                                                    coap_encode_var_safe(buf, sizeof buf, 40), buf));
    if (query) {
        sl = sizeof scratch;
        p = scratch;
        n = coap_split_query((const uint8_t *)query, strlen(query), p, &sl);
        while (n--) {
            coap_insert_optlist(&opts, coap_new_optlist(COAP_OPTION_URI_QUERY, coap_opt_length(p),
                                                        coap_opt_value(p)));
            p += coap_opt_size(p);
        }
    }
    coap_add_optlist_pdu(pdu, &opts);
    coap_delete_optlist(opts);
    if (payload)
        coap_add_data(pdu, strlen(payload), (const uint8_t *)payload);
    last_code = -1;
    assert_int_not_equal(coap_send(s, pdu), COAP_INVALID_MID);
}

static void test_register_and_read(void **state)
{
    char dir[] = "/tmp/tml_coapdev_XXXXXX", port[16], cmd[300];
    int coap_port, status, i;
    pid_t pid;
    coap_context_t *ctx;
    coap_session_t *s;
    coap_address_t dst;
    coap_resource_t *r;
    tml_store *store = NULL;
    tml_device d;
    char err[256];
    bool got = false;
    (void)state;

    assert_non_null(mkdtemp(dir));
    coap_port = free_udp_port();
    snprintf(port, sizeof port, "%d", coap_port);
    pid = fork();
    assert_true(pid >= 0);
    if (pid > 0)
        service_pid = pid;
    if (pid == 0) {
        char *argv[] = {"serve", "--data-dir", dir, "--coap-port", port, "--coap-bind",
                        "127.0.0.1", "--http-port", "0", "--coaps-port", "0", NULL};
        _exit(tml_serve_main(11, argv));
    }

    coap_startup();
    coap_set_log_level(LOG_WARNING);
    ctx = coap_new_context(NULL);
    assert_non_null(ctx);
    coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP | COAP_BLOCK_SINGLE_BODY);
    r = coap_resource_init(coap_make_str_const("32769/0"), 0);
    coap_register_request_handler(r, COAP_REQUEST_GET, hnd_node);
    coap_add_resource(ctx, r);
    r = coap_resource_init(coap_make_str_const("5/0/1"), 0);
    coap_register_request_handler(r, COAP_REQUEST_PUT, hnd_fw_uri);
    coap_add_resource(ctx, r);
    r = coap_resource_init(coap_make_str_const("5/0/2"), 0);
    coap_register_request_handler(r, COAP_REQUEST_POST, hnd_fw_update);
    coap_add_resource(ctx, r);
    r = coap_resource_init(coap_make_str_const("5/0/3"), 0);
    coap_register_request_handler(r, COAP_REQUEST_GET, hnd_fw_state);
    coap_add_resource(ctx, r);
    r = coap_resource_init(coap_make_str_const("5/0/5"), 0);
    coap_register_request_handler(r, COAP_REQUEST_GET, hnd_fw_result);
    coap_add_resource(ctx, r);
    coap_register_response_handler(ctx, on_resp);
    coap_address_init(&dst);
    dst.addr.sin.sin_family = AF_INET;
    dst.addr.sin.sin_port = htons((uint16_t)coap_port);
    dst.addr.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    dst.size = sizeof dst.addr.sin;
    s = coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP);
    assert_non_null(s);

    /* the service may still be starting: CoAP retransmits the CON request */
    send_req(s, COAP_REQUEST_CODE_POST, "rd", "ep=node1&lt=60&lwm2m=1.1&b=U",
             "</3/0>,</5/0>,</32769/0>");
    run_until(ctx, &last_code, -1, 60);
    assert_int_equal(last_code, COAP_RESPONSE_CODE_CREATED);
    assert_int_equal(strncmp(location, "/rd/", 4), 0);

    /* the service reads /32769/0 back */
    run_until(ctx, &reads_answered, 0, 30);
    assert_int_equal(reads_answered, 1);

    /* and stores it: poll the store (WAL lets us read while the service writes) */
    assert_int_equal(tml_store_open(dir, &store, err, sizeof err), TML_OK);
    for (i = 0; i < 100 && !got; i++) {
        if (tml_store_device_get(store, "node1", &d) == TML_OK) {
            got = d.node_info && strstr(d.node_info, "\"target\":\"cortex-m4\"") != NULL;
            if (got) {
                assert_non_null(strstr(d.node_info, "\"ram\":65536"));
                assert_string_equal(d.current_model, "mnist");
                assert_string_equal(d.current_model_sha, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
                assert_true(d.online);
            }
            tml_device_clear(&d);
        }
        if (!got)
            coap_io_process(ctx, 100);
    }
    assert_true(got);

    /* a deployment is built for the device's profile once and checked against each device's
     * budgets: node1 (64 KiB RAM) gets a package, node2 (same target, 16 bytes of RAM) fails */
    {
        char model_path[512], sha[TML_SHA_HEX], apath[600], adir[600];
        FILE *f;
        static uint8_t buf[1 << 20];
        size_t n;
        tml_model_entry m;
        tml_deployment dep[2], g;
        int states_done = 0;
        snprintf(model_path, sizeof model_path, "%s/onnx-node/test_relu/model.onnx",
                 TML_CORPUS_DIR);
        f = fopen(model_path, "rb");
        if (!f) {
            printf("skip: build check needs %s\n", model_path);
        } else {
            n = fread(buf, 1, sizeof buf, f);
            fclose(f);
            snprintf(adir, sizeof adir, "%s/artifacts", dir);
            assert_int_equal(tml_artifact_put(adir, buf, n, sha, err, sizeof err), TML_OK);
            memset(&m, 0, sizeof m);
            snprintf(m.name, sizeof m.name, "relu");
            snprintf(m.sha256, sizeof m.sha256, "%s", sha);
            m.size = (int64_t)n;
            tml_artifact_path(adir, sha, apath, sizeof apath);
            m.artifact_path = apath;
            assert_int_equal(tml_store_model_add(store, &m), TML_OK);
            memset(&d, 0, sizeof d);
            snprintf(d.endpoint, sizeof d.endpoint, "node2");
            d.lifetime = 600;
            snprintf(d.binding, sizeof d.binding, "U");
            d.node_info = (char *)"{\"target\":\"cortex-m4\",\"ram\":16}";
            assert_int_equal(tml_store_device_put(store, &d), TML_OK);
            memset(dep, 0, sizeof dep);
            for (i = 0; i < 2; i++) {
                dep[i].model_id = m.id;
                snprintf(dep[i].model_name, sizeof dep[i].model_name, "relu");
                dep[i].model_version = m.version;
                snprintf(dep[i].device, sizeof dep[i].device, i ? "node2" : "node1");
            }
            assert_int_equal(tml_store_deployment_add(store, dep, 2), TML_OK);
            /* the builder looks at least every 5 s */
            for (i = 0; i < 300 && states_done < 2; i++) {
                int k;
                states_done = 0;
                for (k = 0; k < 2; k++) {
                    assert_int_equal(tml_store_deployment_get(store, dep[k].id, &g), TML_OK);
                    if (g.state == TML_DEPLOY_DELIVERING || g.state == TML_DEPLOY_FAILED)
                        states_done++;
                    tml_deployment_clear(&g);
                }
                if (states_done < 2)
                    coap_io_process(ctx, 100);
            }
            assert_int_equal(tml_store_deployment_get(store, dep[0].id, &g), TML_OK);
            if (g.state != TML_DEPLOY_DELIVERING)
                fail_msg("node1 deployment: state %d, error %s", g.state, g.error ? g.error : "-");
            assert_true(g.build_id > 0);
            {
                tml_build b;
                assert_int_equal(tml_store_build_get(store, g.build_id, &b), TML_OK);
                assert_int_equal(b.status, TML_BUILD_DONE);
                assert_string_equal(b.profile, "cortex-m4");
                assert_true(tml_sha_hex_valid(b.artifact_sha));
                assert_int_equal(tml_artifact_verify(adir, b.artifact_sha, err, sizeof err), TML_OK);
                assert_non_null(strstr(b.report, "\"package_bytes\""));
                tml_build_clear(&b);
            }
            {
                int64_t bid = g.build_id;
                tml_deployment_clear(&g);
                assert_int_equal(tml_store_deployment_get(store, dep[1].id, &g), TML_OK);
                assert_int_equal(g.state, TML_DEPLOY_FAILED);
                assert_int_equal(g.build_id, bid); /* one build for both devices */
                assert_non_null(strstr(g.error, "does not fit device 'node2'"));
                tml_deployment_clear(&g);
            }
            /* delivery: the service writes the Package URI; the device fetches the package
             * block-wise and its signature, checks both, says "downloaded"; the service
             * executes the update and reads the result */
            {
                tml_build b;
                uint8_t sk[TML_SIGN_SK_BYTES], pk[TML_SIGN_PK_BYTES];
                char got_sha[TML_SHA_HEX], *apart;
                bool created, installed = false;
                assert_int_equal(tml_store_deployment_get(store, dep[0].id, &g), TML_OK);
                assert_int_equal(tml_store_build_get(store, g.build_id, &b), TML_OK);
                tml_deployment_clear(&g);
                for (i = 0; i < 300 && !fw_fetch; i++)
                    coap_io_process(ctx, 100);
                assert_true(fw_fetch);
                apart = strstr(fw_uri, "/a/");
                assert_non_null(apart);
                assert_int_equal(strncmp(fw_uri, "coap://", 7), 0);
                assert_string_equal(apart + 3, b.artifact_sha);
                downloading = 1;
                send_req(s, COAP_REQUEST_CODE_GET, apart + 1, NULL, NULL);
                run_until(ctx, &last_code, -1, 30);
                assert_int_equal(last_code, COAP_RESPONSE_CODE_CONTENT);
                downloading = 2;
                {
                    char sigpath[128];
                    snprintf(sigpath, sizeof sigpath, "%s.sig", apart + 1);
                    send_req(s, COAP_REQUEST_CODE_GET, sigpath, NULL, NULL);
                }
                run_until(ctx, &last_code, -1, 30);
                downloading = 0;
                assert_int_equal(sig_len, 64);
                tml_sha256_hex(dl_buf, dl_len, got_sha);
                assert_string_equal(got_sha, b.artifact_sha);
                assert_int_equal(tml_signing_key_load_or_create(dir, sk, pk, &created, err,
                                                                sizeof err),
                                 TML_OK);
                assert_false(created);
                assert_int_equal(tml_artifact_verify_signature(pk, got_sha, sig_buf), TML_OK);
                dl_buf[0] ^= 1; /* a tampered package would be refused */
                tml_sha256_hex(dl_buf, dl_len, got_sha);
                assert_int_equal(tml_artifact_verify_signature(pk, got_sha, sig_buf),
                                 TML_ERR_VERIFY);
                fw_state = 2;
                for (i = 0; i < 300 && !installed; i++) {
                    assert_int_equal(tml_store_deployment_get(store, dep[0].id, &g), TML_OK);
                    installed = g.state == TML_DEPLOY_INSTALLED;
                    if (!installed && g.state != TML_DEPLOY_DELIVERING)
                        fail_msg("deployment state %d: %s", g.state, g.error ? g.error : "-");
                    tml_deployment_clear(&g);
                    if (!installed)
                        coap_io_process(ctx, 100);
                }
                assert_true(installed);
                assert_int_equal(tml_store_deployment_get(store, dep[0].id, &g), TML_OK);
                assert_int_equal(g.result, 1);
                tml_deployment_clear(&g);
                assert_int_equal(tml_store_device_get(store, "node1", &d), TML_OK);
                assert_string_equal(d.current_model, "relu");
                assert_string_equal(d.current_model_sha, sha);
                tml_device_clear(&d);
                tml_build_clear(&b);
            }
        }
    }

    /* de-register on the Location-Path we were given */
    send_req(s, COAP_REQUEST_CODE_DELETE, location + 1, NULL, NULL);
    run_until(ctx, &last_code, -1, 30);
    assert_int_equal(last_code, COAP_RESPONSE_CODE_DELETED);
    assert_int_equal(tml_store_device_get(store, "node1", &d), TML_OK);
    assert_false(d.online);
    tml_device_clear(&d);
    tml_store_close(store);

    coap_session_release(s);
    coap_free_context(ctx);
    coap_cleanup();

    kill(pid, SIGTERM);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    service_pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int teardown(void **state)
{
    (void)state;
    if (service_pid > 0) {
        kill(service_pid, SIGKILL);
        waitpid(service_pid, NULL, 0);
        service_pid = 0;
    }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_register_and_read, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
