/*
 * fuzz_target_profile.c - libFuzzer target for target profiles (targets/NAME.target, or any
 * file a user passes to --target): the bytes go through tml_target_parse.
 *
 * Invariants checked: a profile is either accepted with NUL-terminated fields that passed the
 * parser's checks (name and platform safe as path components, non-zero budgets, stack below
 * RAM), or refused with a non-empty message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_target t;
    char err[512];
    err[0] = '\0';
    if (tml_target_parse((const char *)data, size, "fuzz", &t, err, sizeof err) != TML_OK) {
        if (!err[0])
            abort();
        return 0;
    }
    if (memchr(t.name, 0, sizeof t.name) == NULL || memchr(t.cflags, 0, sizeof t.cflags) == NULL)
        abort();
    if (strchr(t.name, '/') || strchr(t.platform, '/') || t.ram_bytes == 0 ||
        t.flash_bytes == 0 || t.stack_bytes >= t.ram_bytes)
        abort();
    return 0;
}
