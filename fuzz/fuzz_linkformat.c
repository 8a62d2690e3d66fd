/*
 * fuzz_linkformat.c - libFuzzer target for the CoRE link-format parser and the LwM2M object
 * link check (the payload of every CoAP registration, untrusted).
 *
 * Parses the input, looks up a parameter on every link, normalizes into a buffer that is
 * sometimes too small, and checks the invariants a caller relies on: every link lies inside
 * the input, the count never exceeds the array, the normalized text is NUL-terminated.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_link links[64];
    char err[256], out[512];
    size_t n = 0, i;
    const char *buf = (const char *)data;
    if (tml_linkformat_parse(buf, size, links, 64, &n, err, sizeof err) != TML_OK)
        return 0;
    if (n > 64)
        abort();
    for (i = 0; i < n; i++) {
        const char *v;
        size_t vl;
        if (links[i].uri < buf || links[i].uri + links[i].uri_len > buf + size)
            abort();
        if (links[i].params_len &&
            (links[i].params < buf || links[i].params + links[i].params_len > buf + size))
            abort();
        if (tml_link_param(&links[i], "rt", &v, &vl) && v &&
            (v < buf || v + vl > buf + size))
            abort();
    }
    if (tml_lwm2m_links_normalize(links, n, out, (size & 1) ? 16 : sizeof out, err, sizeof err) ==
        TML_OK) {
        if (memchr(out, 0, sizeof out) == NULL)
            abort();
        (void)tml_lwm2m_links_have_object(out, 3);
    }
    return 0;
}
