/*
 * fuzz_lwm2m_query.c - libFuzzer target for the LwM2M registration query parser (the Uri-Query
 * options of POST /rd and POST /rd/<id>, untrusted). The first byte picks Register or Update;
 * the rest is the query. Checks that accepted endpoints are NUL-terminated and non-empty and
 * that lifetimes are in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_lwm2m_reg_params p;
    char err[256];
    bool update;
    if (size < 1)
        return 0;
    update = data[0] & 1;
    if (tml_lwm2m_parse_query((const char *)data + 1, size - 1, update, &p, err, sizeof err) !=
        TML_OK)
        return 0;
    if (!update && (p.endpoint[0] == 0 || memchr(p.endpoint, 0, sizeof p.endpoint) == NULL))
        abort();
    if ((!update || p.has_lifetime) && (p.lifetime < 1 || p.lifetime > 4294967295LL))
        abort();
    return 0;
}
