/*
 * serve.c - `tmlaas serve`: parse the options, open the store, make sure the admin token
 * exists, start the HTTP API (its own thread) and the CoAP endpoint (this thread's io loop),
 * and run until SIGINT or SIGTERM.
 *
 * Shutdown is cooperative: the signal handler only sets a flag; the io loop wakes at least
 * once a second (or at once, when the signal interrupts its poll), stops the HTTP daemon
 * (which finishes the request in progress), frees the CoAP context and closes the store.
 * Nothing needs flushing at that point: every state change was committed when it was
 * acknowledged, which is also why kill -9 loses nothing.
 */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "service/service_int.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static int count_one(void *ctx, const tml_deployment *d)
{
    (void)d;
    (*(int *)ctx)++;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: tmlaas serve [--data-dir DIR] [--coap-port N] [--http-port N]\n"
            "                    [--http-bind ADDR] [--coap-bind ADDR] [--coaps-port N]\n"
            "                    [--no-plain] [--db URL] [--max-model-size BYTES]\n\n"
            "Runs the service: the LwM2M registration interface over CoAP for devices and the\n"
            "HTTP + JSON API for people and scripts, over one store.\n\n"
            "  --data-dir DIR        state: tmlaas.db, artifacts/, admin.token (./tmlaas-data)\n"
            "  --coap-port N         UDP port of the CoAP endpoint (5683)\n"
            "  --coap-bind ADDR      address the CoAP endpoints bind (0.0.0.0)\n"
            "  --coaps-port N        UDP port of CoAP over DTLS with pre-shared keys (5684;\n"
            "                        0 = off); keys: PUT /api/psks/{endpoint}\n"
            "  --no-plain            turn plain CoAP off (DTLS only)\n"
            "  --http-port N         TCP port of the HTTP API (8080; 0 = any free port)\n"
            "  --http-bind ADDR      address the HTTP API binds (127.0.0.1: loopback only)\n"
            "  --db URL              store location: a directory (SQLite, default DATA_DIR)\n"
            "                        or postgres://... (not available yet)\n"
            "  --max-model-size N    largest model upload in bytes (16777216)\n\n"
            "Requests that change state need 'Authorization: Bearer TOKEN' with the token\n"
            "from DATA_DIR/admin.token (created at first start, mode 0600).\n");
}

/* "--name VALUE" or "--name=VALUE"; advances *i past what it consumed. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n] == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool parse_port(const char *s, int *out, bool allow_zero)
{
    char *end;
    long v;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < (allow_zero ? 0 : 1) || v > 65535)
        return false;
    *out = (int)v;
    return true;
}

int tml_serve_main(int argc, char **argv)
{
    tml_service *svc;
    const char *db = NULL, *v;
    char err[1024];
    bool created = false;
    int i, rc = 0;
    struct sigaction sa;

    svc = calloc(1, sizeof *svc);
    if (!svc) {
        fprintf(stderr, "tmlaas serve: out of memory\n");
        return 1;
    }
    snprintf(svc->data_dir, sizeof svc->data_dir, "tmlaas-data");
    snprintf(svc->http_bind, sizeof svc->http_bind, "127.0.0.1");
    snprintf(svc->coap_bind, sizeof svc->coap_bind, "0.0.0.0");
    svc->http_port = 8080;
    svc->coap_port = 5683;
    svc->coap_plain = true;
    svc->coaps_port = 5684;
    svc->max_model_size = 16u << 20;
    svc->max_artifact_size = 64u << 20;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            free(svc);
            return 0;
        }
        if ((v = opt_value(argc, argv, &i, "--data-dir"))) {
            if (!*v || strlen(v) >= sizeof svc->data_dir - 64)
                goto bad;
            snprintf(svc->data_dir, sizeof svc->data_dir, "%s", v);
        } else if ((v = opt_value(argc, argv, &i, "--coap-port"))) {
            if (!parse_port(v, &svc->coap_port, false))
                goto bad;
        } else if ((v = opt_value(argc, argv, &i, "--coaps-port"))) {
            if (!parse_port(v, &svc->coaps_port, true))
                goto bad;
        } else if (strcmp(a, "--no-plain") == 0) {
            svc->coap_plain = false;
        } else if ((v = opt_value(argc, argv, &i, "--http-port"))) {
            if (!parse_port(v, &svc->http_port, true))
                goto bad;
        } else if ((v = opt_value(argc, argv, &i, "--http-bind"))) {
            snprintf(svc->http_bind, sizeof svc->http_bind, "%s", v);
        } else if ((v = opt_value(argc, argv, &i, "--coap-bind"))) {
            snprintf(svc->coap_bind, sizeof svc->coap_bind, "%s", v);
        } else if ((v = opt_value(argc, argv, &i, "--db"))) {
            db = v;
        } else if ((v = opt_value(argc, argv, &i, "--max-model-size"))) {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*end || n == 0 || n > (1ull << 31))
                goto bad;
            svc->max_model_size = (size_t)n;
        } else {
            fprintf(stderr, "tmlaas serve: unknown or incomplete option '%s' (see 'tmlaas serve "
                            "--help')\n", a);
            free(svc);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "tmlaas serve: invalid value for '%s' (see 'tmlaas serve --help')\n", a);
        free(svc);
        return 2;
    }

    if (mkdir(svc->data_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "tmlaas serve: cannot create data directory '%s': %s\n", svc->data_dir,
                strerror(errno));
        free(svc);
        return 1;
    }
    {
        /* absolute, so paths recorded in the store stay valid from any working directory */
        char *abs = realpath(svc->data_dir, NULL);
        if (abs && strlen(abs) < sizeof svc->data_dir - 64)
            snprintf(svc->data_dir, sizeof svc->data_dir, "%s", abs);
        free(abs);
    }
    snprintf(svc->artifacts_dir, sizeof svc->artifacts_dir, "%s/artifacts", svc->data_dir);
    if (mkdir(svc->artifacts_dir, 0700) != 0 && errno != EEXIST) {
        fprintf(stderr, "tmlaas serve: cannot create '%s': %s\n", svc->artifacts_dir,
                strerror(errno));
        free(svc);
        return 1;
    }
    if (tml_store_open(db ? db : svc->data_dir, &svc->store, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas serve: %s\n", err);
        free(svc);
        return 1;
    }
    if (tml_token_load_or_create(svc->data_dir, svc->token, &created, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas serve: %s\n", err);
        tml_store_close(svc->store);
        free(svc);
        return 1;
    }
    tml_log("serve: version %s, data directory '%s', store %s%s", TML_VERSION, svc->data_dir,
            svc->store->ops->name, created ? ", new admin token in admin.token" : "");
    if (tml_signing_key_load_or_create(svc->data_dir, svc->sign_sk, svc->sign_pk, &created, err,
                                       sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas serve: %s\n", err);
        tml_store_close(svc->store);
        free(svc);
        return 1;
    }
    if (created)
        tml_log("serve: new Ed25519 signing key in signing.key");

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    stop_requested = 0;

    if (tml_http_start(svc, err, sizeof err) == TML_OK &&
        tml_coap_start(svc, err, sizeof err) == TML_OK && tml_builder_start(svc) != TML_OK)
        snprintf(err, sizeof err, "cannot start the build worker");
    if (!svc->http || !svc->coap || !svc->builder_running) {
        fprintf(stderr, "tmlaas serve: %s\n", err);
        tml_log("serve: startup failed: %s", err);
        rc = 1;
    } else {
        int unfinished = 0;
        /* registrations that ran out while the service was down */
        tml_service_expire(svc);
        /* deployments a previous run left unfinished stay in the store as they were; the
         * build/delivery step picks them up from tml_store_deployment_list(.., true, ..) */
        if (tml_store_deployment_list(svc->store, true, count_one, &unfinished) == TML_OK &&
            unfinished > 0)
            tml_log("serve: %d unfinished deployment(s) in the store", unfinished);
        tml_log("serve: ready");
        while (!stop_requested)
            tml_coap_run(svc, 1000);
        tml_log("serve: shutting down");
    }
    tml_http_stop(svc);
    tml_builder_stop(svc);
    tml_coap_stop(svc);
    tml_store_close(svc->store);
    sodium_memzero(svc->token, sizeof svc->token);
    sodium_memzero(svc->sign_sk, sizeof svc->sign_sk);
    free(svc);
    if (rc == 0)
        tml_log("serve: stopped");
    return rc;
}
