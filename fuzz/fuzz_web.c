/*
 * fuzz_web.c - libFuzzer target for the web page's URL lookup (src/service/web.c).
 *
 * Any request path a browser or an attacker sends reaches tml_web_find(); it must answer only
 * exact entries of the embedded table (never a path outside web/, whatever dots, slashes,
 * encodings or NULs the URL holds), and never read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *url = malloc(size + 1);
    const tml_web_file *f;
    if (!url)
        return 0;
    memcpy(url, data, size);
    url[size] = 0;
    f = tml_web_find(url);
    if (f && strcmp(f->path, url) != 0 &&
        !(strcmp(url, "/") == 0 && strcmp(f->path, "/index.html") == 0))
        abort();
    free(url);
    return 0;
}
