/*
 * profile.c - target profiles: parse the key = value text of targets/NAME.target, and find a
 * profile by name or path.
 *
 * The format is the simplest that a person can write without a manual: one `key = value` per
 * line, `#` starts a comment line, blank lines are ignored, values run to the end of the line
 * (trailing blanks trimmed). Sizes take K/M/G suffixes (powers of 1024) or 0x hex. A profile
 * is untrusted text (a user can pass any file), so every line is bounded, every key must be
 * known and every value must fit its field; nothing is read past len. Fuzzed by
 * fuzz/fuzz_target_profile.c.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/target.h"

#define MAX_PROFILE_BYTES (64 * 1024)

tml_status tml_size_parse(const char *s, uint64_t *out)
{
    uint64_t v = 0, mul = 1;
    int base = 10, digits = 0;
    if (!s || !*s)
        return TML_ERR_FORMAT;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    for (; *s; s++) {
        int d;
        if (*s >= '0' && *s <= '9')
            d = *s - '0';
        else if (base == 16 && isxdigit((unsigned char)*s))
            d = tolower((unsigned char)*s) - 'a' + 10;
        else
            break;
        if (v > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
            return TML_ERR_FORMAT;
        v = v * (uint64_t)base + (uint64_t)d;
        digits++;
    }
    if (!digits)
        return TML_ERR_FORMAT;
    if (base == 10 && *s) {
        switch (toupper((unsigned char)*s)) {
        case 'K': mul = 1024u; break;
        case 'M': mul = 1024u * 1024u; break;
        case 'G': mul = 1024u * 1024u * 1024u; break;
        default: return TML_ERR_FORMAT;
        }
        s++;
        if (*s == 'i' || *s == 'I')
            s++;
        if (*s == 'B' || *s == 'b')
            s++;
    }
    if (*s)
        return TML_ERR_FORMAT;
    if (v > UINT64_MAX / mul)
        return TML_ERR_FORMAT;
    *out = v * mul;
    return TML_OK;
}

static bool parse_bool(const char *v, bool *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1")) {
        *out = true;
        return true;
    }
    if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0")) {
        *out = false;
        return true;
    }
    return false;
}

/* One row per key: where the value goes and how it is read. */
enum { K_STR, K_SIZE, K_BOOL };
typedef struct {
    const char *key;
    int kind;
    size_t off, cap;  /* cap: buffer size for K_STR */
    bool required;
} key_desc;

#define S(k, f, req) {k, K_STR, offsetof(tml_target, f), sizeof(((tml_target *)0)->f), req}
#define Z(k, f, req) {k, K_SIZE, offsetof(tml_target, f), 0, req}
#define B(k, f) {k, K_BOOL, offsetof(tml_target, f), 0, false}
static const key_desc keys[] = {
    S("name", name, true),        S("description", description, false),
    S("arch", arch, true),        S("cpu", cpu, false),
    S("fpu", fpu, false),         B("dsp", dsp),
    S("cc", cc, true),            S("cflags", cflags, false),
    S("ldflags", ldflags, false), S("platform", platform, true),
    Z("flash_origin", flash_origin, false), Z("flash", flash_bytes, true),
    Z("ram_origin", ram_origin, false),     Z("ram", ram_bytes, true),
    Z("stack", stack_bytes, false),         Z("clock_hz", clock_hz, false),
    S("qemu", qemu, false),       S("qemu_machine", qemu_machine, false),
};
#undef S
#undef Z
#undef B
#define N_KEYS ((int)(sizeof keys / sizeof keys[0]))

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

tml_status tml_target_parse(const char *text, size_t len, const char *origin, tml_target *t,
                            char *err, size_t errsz)
{
    bool seen[N_KEYS];
    size_t pos = 0;
    int line = 0, k;

    memset(t, 0, sizeof *t);
    memset(seen, 0, sizeof seen);
    strcpy(t->fpu, "none");
    strcpy(t->platform, "none");
    t->stack_bytes = 4096;
    if (!origin)
        origin = "profile";
    if (len > MAX_PROFILE_BYTES) {
        snprintf(err, errsz, "target profile '%s': larger than %d bytes", origin,
                 MAX_PROFILE_BYTES);
        return TML_ERR_FORMAT;
    }
    while (pos < len) {
        char buf[1024], *p, *eq, *key, *val, *end;
        size_t n = 0;
        line++;
        while (pos < len && text[pos] != '\n') {
            if (n + 1 >= sizeof buf) {
                snprintf(err, errsz, "target profile '%s' line %d: line too long", origin, line);
                return TML_ERR_FORMAT;
            }
            if (text[pos] == '\0') {
                snprintf(err, errsz, "target profile '%s' line %d: NUL byte", origin, line);
                return TML_ERR_FORMAT;
            }
            buf[n++] = text[pos++];
        }
        pos++; /* the '\n' (or one past len, which ends the loop) */
        buf[n] = '\0';
        for (p = buf; isspace((unsigned char)*p); p++)
            ;
        if (!*p || *p == '#')
            continue;
        eq = strchr(p, '=');
        if (!eq) {
            snprintf(err, errsz, "target profile '%s' line %d: expected 'key = value'", origin,
                     line);
            return TML_ERR_FORMAT;
        }
        key = p;
        for (end = eq; end > key && isspace((unsigned char)end[-1]); end--)
            ;
        *end = '\0';
        for (val = eq + 1; isspace((unsigned char)*val); val++)
            ;
        for (end = val + strlen(val); end > val && isspace((unsigned char)end[-1]); end--)
            ;
        *end = '\0';
        for (k = 0; k < N_KEYS; k++)
            if (!strcmp(keys[k].key, key))
                break;
        if (k == N_KEYS) {
            snprintf(err, errsz, "target profile '%s' line %d: unknown key '%s'", origin, line,
                     key);
            return TML_ERR_FORMAT;
        }
        if (seen[k]) {
            snprintf(err, errsz, "target profile '%s' line %d: key '%s' given twice", origin,
                     line, key);
            return TML_ERR_FORMAT;
        }
        seen[k] = true;
        switch (keys[k].kind) {
        case K_STR:
            if (strlen(val) >= keys[k].cap) {
                snprintf(err, errsz, "target profile '%s' line %d: value of '%s' too long (max %zu)",
                         origin, line, key, keys[k].cap - 1);
                return TML_ERR_FORMAT;
            }
            strcpy((char *)t + keys[k].off, val);
            break;
        case K_SIZE:
            if (tml_size_parse(val, (uint64_t *)(void *)((char *)t + keys[k].off)) != TML_OK) {
                snprintf(err, errsz,
                         "target profile '%s' line %d: '%s' is not a size for '%s' (e.g. 256K, "
                         "1M, 0x20000000)",
                         origin, line, val, key);
                return TML_ERR_FORMAT;
            }
            break;
        case K_BOOL:
            if (!parse_bool(val, (bool *)((char *)t + keys[k].off))) {
                snprintf(err, errsz, "target profile '%s' line %d: '%s' must be yes or no", origin,
                         line, key);
                return TML_ERR_FORMAT;
            }
            break;
        }
    }
    for (k = 0; k < N_KEYS; k++)
        if (keys[k].required && !seen[k]) {
            snprintf(err, errsz, "target profile '%s': missing key '%s'", origin, keys[k].key);
            return TML_ERR_FORMAT;
        }
    if (!valid_name(t->name) || !valid_name(t->platform)) {
        snprintf(err, errsz, "target profile '%s': 'name' and 'platform' must be [A-Za-z0-9._-]+",
                 origin);
        return TML_ERR_FORMAT;
    }
    if (t->flash_bytes == 0 || t->ram_bytes == 0 || t->stack_bytes >= t->ram_bytes ||
        t->flash_origin > UINT32_MAX || t->ram_origin > UINT32_MAX) {
        snprintf(err, errsz,
                 "target profile '%s': flash and ram must be non-zero, the stack smaller than "
                 "ram, origins 32-bit",
                 origin);
        return TML_ERR_FORMAT;
    }
    if (t->qemu[0] && !t->qemu_machine[0]) {
        snprintf(err, errsz, "target profile '%s': 'qemu' needs 'qemu_machine'", origin);
        return TML_ERR_FORMAT;
    }
    return TML_OK;
}

static tml_status load_file(const char *path, tml_target *t, char *err, size_t errsz)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    size_t n;
    tml_status st;
    if (!f) {
        snprintf(err, errsz, "target profile '%s': %s", path, strerror(errno));
        return TML_ERR_NOT_FOUND;
    }
    buf = malloc(MAX_PROFILE_BYTES + 1);
    if (!buf) {
        fclose(f);
        snprintf(err, errsz, "target profile '%s': out of memory", path);
        return TML_ERR_NOMEM;
    }
    n = fread(buf, 1, MAX_PROFILE_BYTES + 1, f);
    fclose(f);
    st = tml_target_parse(buf, n, path, t, err, errsz);
    free(buf);
    if (st == TML_OK)
        snprintf(t->path, sizeof t->path, "%s", path);
    return st;
}

static bool file_exists(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    fclose(f);
    return true;
}

tml_status tml_target_load(const char *name, tml_target *t, char *err, size_t errsz)
{
    char path[1024];
    const char *env = getenv("TML_TARGETS_DIR");
    size_t n = strlen(name);
    if (strchr(name, '/') || (n > 7 && !strcmp(name + n - 7, ".target")))
        return load_file(name, t, err, errsz);
    if (!valid_name(name)) {
        snprintf(err, errsz, "unknown target '%s'", name);
        return TML_ERR_NOT_FOUND;
    }
    if (env && *env) {
        snprintf(path, sizeof path, "%s/%s.target", env, name);
        if (file_exists(path))
            return load_file(path, t, err, errsz);
    }
    snprintf(path, sizeof path, "%s/targets/%s.target", TML_SOURCE_DIR, name);
    if (file_exists(path))
        return load_file(path, t, err, errsz);
    snprintf(err, errsz,
             "unknown target '%s' (profiles: %s/targets/*.target, or $TML_TARGETS_DIR; "
             "pass a path to use your own)",
             name, TML_SOURCE_DIR);
    return TML_ERR_NOT_FOUND;
}

bool tml_target_has_image(const tml_target *t)
{
    return strcmp(t->platform, "none") != 0;
}

bool tml_target_can_run(const tml_target *t)
{
    return !strcmp(t->platform, "host") || (tml_target_has_image(t) && t->qemu[0]);
}

tml_status tml_target_load_budget(const char *name, const char *ram, const char *flash,
                                  tml_target *t, char *err, size_t errsz)
{
    tml_status st = tml_target_load(name, t, err, errsz);
    if (st != TML_OK)
        return st;
    if (ram && (tml_size_parse(ram, &t->ram_bytes) != TML_OK || t->ram_bytes <= t->stack_bytes)) {
        snprintf(err, errsz, "--ram '%s': not a size larger than the stack (e.g. 256K, 1M)", ram);
        return TML_ERR_ARG;
    }
    if (flash && (tml_size_parse(flash, &t->flash_bytes) != TML_OK || t->flash_bytes == 0)) {
        snprintf(err, errsz, "--flash '%s': not a size (e.g. 256K, 1M)", flash);
        return TML_ERR_ARG;
    }
    return TML_OK;
}
