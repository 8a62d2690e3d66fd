/*
 * host_port.h - the POSIX port of the device agent: CoAP over UDP with libcoap3, storage slots
 * and the state record as files in a data directory, a monotonic clock, log lines on stderr,
 * Ed25519 signature checks with libsodium.
 *
 * Two libcoap contexts: `ctx` holds the session registered with the LwM2M server (the server
 * sends its Read/Write/Execute requests back over it, as LwM2M expects) and a listening
 * endpoint for anyone else (POST /infer, reads with coap-client); it uses libcoap's block mode
 * so large requests (an input tensor) and responses arrive whole. `dl_ctx` fetches packages
 * without libcoap's block mode, because the agent core asks for each Block2 block itself and
 * asks again for the one it lost. Both are served while the core waits for a response.
 *
 * Built into libtml through src/device/host_port_build.c (CMake globs src/, not platform/).
 */
#ifndef TML_HOST_PORT_H
#define TML_HOST_PORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/device.h"

typedef struct tml_host_port tml_host_port;

typedef struct {
    const char *server_uri;   /* coap://HOST[:PORT] or coaps://HOST[:PORT] (DTLS, needs a PSK) */
    uint16_t listen_port;     /* local CoAP endpoint for other peers; 0 = none */
    const char *data_dir;     /* slots and state record; created if missing */
    const char *server_key;   /* Ed25519 public key, 64 hex digits, or NULL: hash checks only */
    uint32_t timeout_ms;      /* wait for one response before the core hears "lost" */
    const char *psk_identity; /* DTLS pre-shared key identity (the endpoint name) */
    const char *psk_hex;      /* its key, hex (1-64 bytes); NULL: no DTLS */
} tml_host_port_config;

/* Opens sockets and the data directory. *out is malloc'd; release with tml_host_port_free.
 * TML_ERR_* with a message in err. */
tml_status tml_host_port_open(const tml_host_port_config *cfg, tml_host_port **out, char *err,
                              size_t errsz);

/* The port's function table for tml_device_init (ctx = p). */
void tml_host_port_functions(tml_host_port *p, tml_device_port *port);

/* Runs the agent until *stop becomes non-zero (a signal handler sets it), then de-registers. */
tml_status tml_host_port_run(tml_host_port *p, tml_device *d, volatile sig_atomic_t *stop);

void tml_host_port_free(tml_host_port *p);

#endif /* TML_HOST_PORT_H */
