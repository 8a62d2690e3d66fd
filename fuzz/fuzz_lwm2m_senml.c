/*
 * fuzz_lwm2m_senml.c - libFuzzer target for SenML JSON (content format 110), the payload of
 * every object read a device answers, and for the node-object decoding on top of it. Checks
 * that an accepted node read always yields a JSON object and NUL-terminated model fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwm2m/lwm2m.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int each(void *ctx, const tml_senml_rec *r)
{
    (void)ctx;
    if (memchr(r->name, 0, sizeof r->name) == NULL || r->name[0] == 0)
        abort();
    if ((r->kind == TML_SENML_STR || r->kind == TML_SENML_DATA || r->kind == TML_SENML_OBJLNK) &&
        !r->str)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256], model[32], sha[65], *json = NULL;
    (void)tml_senml_json_parse((const char *)data, size, each, NULL, err, sizeof err);
    if (tml_lwm2m_node_info((const char *)data, size, &json, model, sizeof model, sha, sizeof sha,
                            err, sizeof err) == TML_OK) {
        if (!json || json[0] != '{' || memchr(model, 0, sizeof model) == NULL ||
            memchr(sha, 0, sizeof sha) == NULL)
            abort();
    } else if (json) {
        abort();
    }
    free(json);
    return 0;
}
