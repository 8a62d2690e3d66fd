/*
 * cmd_device.c - `tmlaas device`: a tinymlaas device as a POSIX process.
 *
 * Wires the agent core (src/device/agent.c) to the host port (platform/host/): parses the
 * options, allocates the two slot images and arenas once (the core itself never allocates),
 * installs SIGINT/SIGTERM handlers that only set a flag, and runs until one arrives; the port
 * then de-registers. Exit 0 after a signal, 1 if the port cannot start, 2 on a usage error.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../platform/host/host_port.h"
#include "cli.h"
#include "tml/device.h"
#include "tml/target.h"

static const char help[] =
    "usage: tmlaas device --server coap://HOST:PORT --endpoint NAME --target T [options]\n"
    "\n"
    "Runs a device on this host: registers with the LwM2M server (the tmlaas service), serves\n"
    "/1/0, /3/0, /5/0 (Firmware Update: installs model packages), /32769/0 (TinyML node) and\n"
    "POST /infer, keeps installed models in DIR across restarts.\n"
    "\n"
    "options:\n"
    "  --server URI        coap://HOST[:PORT] of the service (required)\n"
    "  --endpoint NAME     LwM2M endpoint name (required)\n"
    "  --target T          target profile (targets/T.target): reported to the service, and\n"
    "                      the source of the defaults of --core, --clock-hz, --ram, --flash\n"
    "                      and --accelerators (required; e.g. host, cortex-m4)\n"
    "  --port P            also listen on UDP port P for other peers (default 5685; 0 = no)\n"
    "  --data-dir DIR      slots and state (default ./tmlaas-device-NAME)\n"
    "  --lifetime S        registration lifetime, seconds (default 60)\n"
    "  --server-key HEX    the service's Ed25519 public key (GET /api/signing-key): packages\n"
    "                      must then carry a valid signature at URI.sig\n"
    "  --core C            CPU core (default: the profile's cpu)\n"
    "  --clock-hz N        core clock (default: the profile's, else 1000000000)\n"
    "  --ram BYTES         arena budget for a model (default: the profile's, else 4 MiB)\n"
    "  --flash BYTES       package budget (default: the profile's, else 8 MiB)\n"
    "  --accelerators A    comma-separated (default: fpu/dsp from the profile)\n"
    "  --timeout-ms N      wait for one CoAP response (default 3000)\n"
    "  --psk HEX           DTLS pre-shared key (identity: the endpoint name), for a\n"
    "                      coaps:// server and coaps:// package URIs\n";

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *e;
    unsigned long long v = strtoull(s, &e, 10);
    if (!*s || *e || v > 0xFFFFFFFFull || s[0] == '-')
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int cmd_device(int argc, char **argv)
{
    tml_host_port_config pc;
    tml_device_config dc;
    tml_device_port port;
    tml_host_port *hp = NULL;
    tml_device *dev = NULL;
    char err[512], dir[300];
    uint32_t listen = 5685, timeout = 3000, lifetime = 60;
    uint32_t clock_hz = 0, ram = 0, flash = 0, alloc_ram, alloc_flash;
    char accel_buf[16] = "";
    tml_target prof;
    const char *server = NULL, *endpoint = NULL, *target = NULL, *data_dir = NULL, *key = NULL;
    const char *core = NULL, *accel = NULL, *psk = NULL;
    struct sigaction sa;
    tml_status st;
    int i, rc = 1;

    memset(&pc, 0, sizeof pc);
    memset(&dc, 0, sizeof dc);
    for (i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint32_t *num = NULL;
        if (cli_is_help(a)) {
            fputs(help, stdout);
            return 0;
        }
        if (!v)
            return cli_usage_error("device", "'%s' needs a value", a);
        if (strcmp(a, "--server") == 0) server = v;
        else if (strcmp(a, "--endpoint") == 0) endpoint = v;
        else if (strcmp(a, "--target") == 0) target = v;
        else if (strcmp(a, "--data-dir") == 0) data_dir = v;
        else if (strcmp(a, "--server-key") == 0) key = v;
        else if (strcmp(a, "--core") == 0) core = v;
        else if (strcmp(a, "--accelerators") == 0) accel = v;
        else if (strcmp(a, "--psk") == 0) psk = v;
        else if (strcmp(a, "--port") == 0) num = &listen;
        else if (strcmp(a, "--lifetime") == 0) num = &lifetime;
        else if (strcmp(a, "--clock-hz") == 0) num = &clock_hz;
        else if (strcmp(a, "--ram") == 0) num = &ram;
        else if (strcmp(a, "--flash") == 0) num = &flash;
        else if (strcmp(a, "--timeout-ms") == 0) num = &timeout;
        else return cli_usage_error("device", "unknown option '%s'", a);
        if (num && parse_u32(v, num) != 0)
            return cli_usage_error("device", "option '%s': '%s' is not a number", a, v);
    }
    if (!server || !endpoint || !target)
        return cli_usage_error("device", "--server, --endpoint and --target are required");
    if (listen > 65535)
        return cli_usage_error("device", "option '--port': '%u' is not a port", (unsigned)listen);
    if (lifetime < 2)
        return cli_usage_error("device", "option '--lifetime': at least 2 seconds");
    if (tml_target_load(target, &prof, err, sizeof err) == TML_OK) {
        if (!core)
            core = prof.cpu;
        if (!clock_hz)
            clock_hz = prof.clock_hz > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)prof.clock_hz;
        if (!ram)
            ram = prof.ram_bytes > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)prof.ram_bytes;
        if (!flash)
            flash = prof.flash_bytes > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)prof.flash_bytes;
        if (!accel) {
            int fpu = prof.fpu[0] && strcmp(prof.fpu, "none") != 0;
            snprintf(accel_buf, sizeof accel_buf, "%s%s%s", fpu ? "fpu" : "",
                     fpu && prof.dsp ? "," : "", prof.dsp ? "dsp" : "");
            accel = accel_buf;
        }
    } else {
        fprintf(stderr, "tmlaas device: warning: %s; reporting default budgets\n", err);
    }
    if (!core)
        core = target;
    if (!clock_hz)
        clock_hz = 1000000000u;
    if (!ram)
        ram = 4u << 20;
    if (!flash)
        flash = 8u << 20;
    if (!accel)
        accel = "";
    if (ram < 1024 || flash < 1024)
        return cli_usage_error("device", "--ram and --flash: at least 1024 bytes");
    /* the budgets are reported and enforced; the host allocates at most 64 MiB per buffer
     * (the host profile's nominal 1G would be 4 GiB of buffers) */
    alloc_ram = ram > (64u << 20) ? (64u << 20) : ram;
    alloc_flash = flash > (64u << 20) ? (64u << 20) : flash;
    if (!data_dir) {
        snprintf(dir, sizeof dir, "tmlaas-device-%s", endpoint);
        data_dir = dir;
    }

    pc.server_uri = server;
    pc.listen_port = (uint16_t)listen;
    pc.data_dir = data_dir;
    pc.server_key = key;
    pc.timeout_ms = timeout;
    pc.psk_identity = endpoint;
    pc.psk_hex = psk;
    st = tml_host_port_open(&pc, &hp, err, sizeof err);
    if (st != TML_OK) {
        fprintf(stderr, "tmlaas device: %s\n", err);
        return 1;
    }
    dc.endpoint = endpoint;
    dc.lifetime_s = lifetime;
    dc.target = target;
    dc.core = core;
    dc.clock_hz = clock_hz;
    dc.ram = ram;
    dc.flash = flash;
    dc.accelerators = accel;
    dc.rtos = "host";
    dc.pkg_cap = alloc_flash;
    dc.arena_cap = alloc_ram;
    dev = calloc(1, sizeof *dev);
    for (i = 0; i < 2; i++) {
        dc.pkg_buf[i] = malloc(alloc_flash); /* malloc aligns for any type */
        dc.arena[i] = malloc(alloc_ram);
    }
    if (!dev || !dc.pkg_buf[0] || !dc.pkg_buf[1] || !dc.arena[0] || !dc.arena[1]) {
        fprintf(stderr, "tmlaas device: out of memory for slots of %u and arenas of %u bytes\n",
                (unsigned)alloc_flash, (unsigned)alloc_ram);
        goto out;
    }
    tml_host_port_functions(hp, &port);
    st = tml_device_init(dev, &dc, &port);
    if (st != TML_OK) {
        fprintf(stderr, "tmlaas device: endpoint '%s': not a valid endpoint name\n", endpoint);
        rc = 2;
        goto out;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    fprintf(stderr, "tmlaas device: endpoint '%s' (target '%s'), server %s, listening on udp %u, data in '%s'\n",
            endpoint, target, server, (unsigned)listen, data_dir);
    tml_host_port_run(hp, dev, &stop_flag);
    rc = 0;
out:
    tml_host_port_free(hp);
    for (i = 0; i < 2; i++) {
        free(dc.pkg_buf[i]);
        free(dc.arena[i]);
    }
    free(dev);
    return rc;
}
