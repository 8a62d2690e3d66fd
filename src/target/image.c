/*
 * image.c - firmware images: the budget check before a build, building an image from the
 * codegen output, measuring it from the linker map, and the footprint report.
 *
 * Build: the port (platform/PORT/) and the harness (platform/harness.c, platform/port.h) are
 * copied into DIR/platform/ so that DIR is a self-contained firmware source tree; memory.ld is
 * written from the profile; each .c is compiled on its own with -ffunction-sections
 * -fdata-sections (so the map can attribute every function and every weight array), linked with
 * --gc-sections against newlib-nano, and objcopy'd to a raw image.bin. Every command is written
 * to DIR/image.cmd so a person can repeat the build by hand.
 *
 * A target without a port (platform = none) gets no image: the model and its kernels are
 * compiled to objects with its compiler (proof that the generated C builds there) and measured
 * with `size -A`, without port, libc or stack.
 *
 * Measure: the GNU ld map lists each input section with its size and object file, which is
 * exactly the split the report needs and is what `arm-none-eabi-size` sums per output
 * section: model.o's .rodata.w_* are the weights, the rest of model.o is model code, tml_*.o are
 * the runtime kernels, platform_*.o the port and harness, archive members the C library;
 * .bss.model_arena is the arena, the .stack section the stack reserve. Padding between input
 * sections is charged to the port so the parts add up to the output sections' totals.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "target/proc.h"
#include "tml/target.h"

#define KIB(x) ((double)(x) / 1024.0)

/* Rough code size of the generated model, the kernels and the port, for the check before a
 * build; the measured numbers come from the linker afterwards. */
#define EST_CODE_BYTES (12u * 1024u)
#define EST_PORT_RAM_BYTES 512u

static void suggest(const tml_plan *p, char *buf, size_t n)
{
    int i, f32 = 0;
    for (i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].dtype == TML_DT_F32)
            f32++;
    if (f32)
        snprintf(buf, n,
                 "; an int8-quantized model needs about 4x less (float32 weights and "
                 "activations), or give a larger budget with --ram/--flash if the board has it");
    else
        snprintf(buf, n,
                 "; try a smaller model (fewer channels, smaller input), or a larger budget with "
                 "--ram/--flash if the board has it");
}

tml_status tml_target_check_fit(const tml_target *t, const tml_plan *p, char *err, size_t errsz)
{
    uint64_t ram = (uint64_t)p->arena_size + t->stack_bytes + EST_PORT_RAM_BYTES;
    uint64_t flash = (uint64_t)p->weights_size + EST_CODE_BYTES;
    char hint[256];
    if (!strcmp(t->platform, "host"))
        return TML_OK;
    suggest(p, hint, sizeof hint);
    if (ram > t->ram_bytes) {
        snprintf(err, errsz,
                 "needs %.1f KiB RAM: arena %.1f KiB + stack %.1f KiB + data/bss ~%.1f KiB; "
                 "target %s has %.1f KiB%s",
                 KIB(ram), KIB(p->arena_size), KIB(t->stack_bytes), KIB(EST_PORT_RAM_BYTES),
                 t->name, KIB(t->ram_bytes), hint);
        return TML_ERR_FIT;
    }
    if (flash > t->flash_bytes) {
        snprintf(err, errsz,
                 "needs %.1f KiB flash: weights %.1f KiB + code ~%.1f KiB; target %s has %.1f "
                 "KiB%s",
                 KIB(flash), KIB(p->weights_size), KIB(EST_CODE_BYTES), t->name,
                 KIB(t->flash_bytes), hint);
        return TML_ERR_FIT;
    }
    return TML_OK;
}

/* ---- files ---- */

static tml_status read_all(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    if (!f)
        return TML_ERR_IO;
    for (;;) {
        size_t got;
        if (n + 4096 + 1 > cap) {
            char *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return TML_ERR_NOMEM;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return TML_OK;
}

static tml_status write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return TML_ERR_IO;
    if (fwrite(data, 1, n, f) != n) {
        fclose(f);
        return TML_ERR_IO;
    }
    return fclose(f) == 0 ? TML_OK : TML_ERR_IO;
}

static tml_status copy_file(const char *from, const char *to, char *err, size_t errsz)
{
    char *buf;
    size_t n;
    tml_status st = read_all(from, &buf, &n);
    if (st != TML_OK) {
        snprintf(err, errsz, "cannot read '%s': %s", from, strerror(errno));
        return st;
    }
    st = write_file(to, buf, n);
    free(buf);
    if (st != TML_OK)
        snprintf(err, errsz, "cannot write '%s': %s", to, strerror(errno));
    return st;
}

static const char *platform_dir(void)
{
    const char *env = getenv("TML_PLATFORM_DIR");
    return env && *env ? env : TML_SOURCE_DIR "/platform";
}

/* ---- argv building ---- */

#define MAX_ARGS 256

typedef struct {
    char *v[MAX_ARGS + 1];
    int n;
    char store[16384];
    size_t used;
} argv_t;

static bool arg_add(argv_t *a, const char *s)
{
    size_t len = strlen(s) + 1;
    if (a->n == MAX_ARGS || a->used + len > sizeof a->store)
        return false;
    memcpy(a->store + a->used, s, len);
    a->v[a->n++] = a->store + a->used;
    a->v[a->n] = NULL;
    a->used += len;
    return true;
}

/* Adds the space-separated words of s. */
static bool arg_split(argv_t *a, const char *s)
{
    char word[512];
    while (*s) {
        size_t n = 0;
        while (*s == ' ' || *s == '\t')
            s++;
        while (*s && *s != ' ' && *s != '\t') {
            if (n + 1 >= sizeof word)
                return false;
            word[n++] = *s++;
        }
        word[n] = '\0';
        if (n && !arg_add(a, word))
            return false;
    }
    return true;
}

static void cmd_log(const char *dir, const argv_t *a)
{
    char path[4096];
    FILE *f;
    int i;
    snprintf(path, sizeof path, "%s/image.cmd", dir);
    f = fopen(path, "a");
    if (!f)
        return;
    for (i = 0; i < a->n; i++)
        fprintf(f, i ? " %s" : "%s", a->v[i]);
    fputs("\n", f);
    fclose(f);
}

/* Runs a in dir; on failure err gets what and the first error line of the log. */
static tml_status run_tool(const char *dir, argv_t *a, const char *what, char *err, size_t errsz)
{
    char log[4096], *text = NULL, *line;
    size_t len;
    int rc;
    snprintf(log, sizeof log, "%s/image.log", dir);
    cmd_log(dir, a);
    rc = tml_proc_run(a->v, dir, log, 300, NULL);
    if (rc == 0)
        return TML_OK;
    line = "";
    if (read_all(log, &text, &len) == TML_OK) {
        char *e = strstr(text, "error:");
        if (!e)
            e = strstr(text, "Error:");
        if (!e)
            e = strstr(text, "cannot run");
        if (e) {
            char *nl = strchr(e, '\n');
            if (nl)
                *nl = '\0';
            line = e;
        }
    }
    if (strstr(line, "overflowed") || strstr(line, "will not fit"))
        snprintf(err, errsz, "target %s: the image does not fit: %s (see '%s')", what, line, log);
    else
        snprintf(err, errsz, "%s failed%s%s (see '%s')", what, *line ? ": " : "", line, log);
    rc = (strstr(line, "overflowed") || strstr(line, "will not fit")) ? TML_ERR_FIT : TML_ERR;
    free(text);
    return (tml_status)rc;
}

/* binutils next to the compiler: arm-none-eabi-gcc -> arm-none-eabi-objcopy */
static void tool_name(const char *cc, const char *tool, char *out, size_t n)
{
    size_t len = strlen(cc);
    if (len >= 3 && !strcmp(cc + len - 3, "gcc") && len + strlen(tool) < n)
        snprintf(out, n, "%.*s%s", (int)(len - 3), cc, tool);
    else
        snprintf(out, n, "%s", tool);
}

/* ---- map parsing ---- */

enum { OUT_NONE, OUT_FLASH, OUT_RAM, OUT_BOTH };

static int out_kind(const char *name)
{
    if (!strncmp(name, ".debug", 6) || !strcmp(name, ".comment") ||
        !strncmp(name, ".ARM.attributes", 15) || !strncmp(name, ".riscv.attributes", 17) ||
        !strncmp(name, ".gnu.attributes", 15) || !strncmp(name, ".stab", 5) ||
        !strncmp(name, ".note", 5))
        return OUT_NONE;
    if (!strcmp(name, ".data"))
        return OUT_BOTH;
    if (!strcmp(name, ".bss") || !strcmp(name, ".stack"))
        return OUT_RAM;
    return OUT_FLASH;
}

static bool parse_hex(const char *s, uint64_t *v)
{
    char *end;
    if (strncmp(s, "0x", 2) != 0)
        return false;
    errno = 0;
    *v = strtoull(s, &end, 16);
    return errno == 0 && end != s + 2 && *end == '\0';
}

static void charge(tml_image_sizes *s, int kind, const char *sec, const char *file,
                   uint64_t size)
{
    const char *base = strrchr(file, '/');
    bool lib = strchr(file, '(') != NULL || strstr(file, ".a") != NULL;
    base = base ? base + 1 : file;
    if (kind == OUT_RAM || kind == OUT_BOTH) {
        if (!strcmp(base, "model.o") && !strcmp(sec, ".bss.model_arena"))
            s->arena += size;
        else if (!strncmp(sec, ".stack", 6))
            ;
        else
            s->data_bss += size;
    }
    if (kind == OUT_FLASH || kind == OUT_BOTH) {
        if (!strcmp(base, "model.o")) {
            if (!strncmp(sec, ".rodata.w_", 10) || !strncmp(sec, ".srodata.w_", 11))
                s->weights += size;
            else
                s->model_code += size;
        } else if (!strncmp(base, "tml_", 4))
            s->kernels += size;
        else if (lib)
            s->libc += size;
        else
            s->port += size;
    }
}

tml_status tml_image_sizes_from_map(const char *map, size_t len, tml_image_sizes *s, char *err,
                                    size_t errsz)
{
    const char *p = map, *end = map + len, *start;
    char pending[256] = "";
    int kind = OUT_NONE;
    uint64_t out_size[2] = {0, 0}; /* flash, ram totals from the output section headers */
    uint64_t parts;

    memset(s, 0, sizeof *s);
    start = strstr(map, "Linker script and memory map");
    if (!start || start >= end) {
        snprintf(err, errsz, "linker map: no 'Linker script and memory map' section");
        return TML_ERR_FORMAT;
    }
    p = start;
    while (p < end) {
        char line[1024], tok[4][512];
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        int nt;
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : end;
        nt = sscanf(line, "%511s %511s %511s %511s", tok[0], tok[1], tok[2], tok[3]);
        if (nt <= 0)
            continue;
        if (line[0] == '.') {
            /* output section: ".text 0xADDR 0xSIZE [load address ...]" (or name alone) */
            uint64_t addr, size;
            kind = out_kind(tok[0]);
            pending[0] = '\0';
            if (nt >= 3 && parse_hex(tok[1], &addr) && parse_hex(tok[2], &size)) {
                if (kind == OUT_FLASH || kind == OUT_BOTH)
                    out_size[0] += size;
                if (kind == OUT_RAM || kind == OUT_BOTH)
                    out_size[1] += size;
                if (!strcmp(tok[0], ".stack"))
                    s->stack_reserved = size;
            } else if (nt == 1) {
                /* long name: header continues on the next line */
                const char *nl2 = memchr(p, '\n', (size_t)(end - p));
                size_t n2 = nl2 ? (size_t)(nl2 - p) : (size_t)(end - p);
                char l2[256], a2[64], s2[64];
                if (n2 < sizeof l2) {
                    memcpy(l2, p, n2);
                    l2[n2] = '\0';
                    if (sscanf(l2, "%63s %63s", a2, s2) == 2 && parse_hex(a2, &addr) &&
                        parse_hex(s2, &size)) {
                        if (kind == OUT_FLASH || kind == OUT_BOTH)
                            out_size[0] += size;
                        if (kind == OUT_RAM || kind == OUT_BOTH)
                            out_size[1] += size;
                        if (!strcmp(tok[0], ".stack"))
                            s->stack_reserved = size;
                        p = nl2 ? nl2 + 1 : end;
                    }
                }
            }
            continue;
        }
        if (line[0] != ' ' || kind == OUT_NONE)
            continue;
        if (line[1] == '.' || !strcmp(tok[0], "COMMON")) {
            uint64_t addr, size;
            if (nt == 1) {
                snprintf(pending, sizeof pending, "%s", tok[0]);
                continue;
            }
            if (nt >= 4 && parse_hex(tok[1], &addr) && parse_hex(tok[2], &size))
                charge(s, kind, tok[0], tok[3], size);
            pending[0] = '\0';
        } else if (pending[0] && nt >= 3 && !strncmp(tok[0], "0x", 2)) {
            uint64_t addr, size;
            if (parse_hex(tok[0], &addr) && parse_hex(tok[1], &size))
                charge(s, kind, pending, tok[2], size);
            pending[0] = '\0';
        } else {
            pending[0] = '\0';
        }
    }
    s->flash_total = out_size[0];
    s->ram_total = out_size[1];
    parts = s->weights + s->model_code + s->kernels + s->port + s->libc;
    if (parts < s->flash_total)
        s->port += s->flash_total - parts; /* alignment padding */
    if (s->arena + s->data_bss + s->stack_reserved < s->ram_total)
        s->data_bss += s->ram_total - (s->arena + s->data_bss + s->stack_reserved);
    return TML_OK;
}

/* ---- build ---- */

static tml_status mkdir_p(const char *path, char *err, size_t errsz)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "cannot create '%s': %s", path, strerror(errno));
        return TML_ERR_IO;
    }
    return TML_OK;
}

/* Object name for a source path relative to dir: "tml/conv_f32.c" -> "obj/tml_conv_f32.o". */
static void obj_name(const char *src, char *out, size_t n)
{
    size_t k = 0;
    const char *s;
    k += (size_t)snprintf(out, n, "obj/");
    for (s = src; *s && k + 3 < n; s++)
        out[k++] = *s == '/' ? '_' : *s;
    if (k >= 2 && out[k - 2] == '.' && out[k - 1] == 'c')
        k -= 2;
    snprintf(out + k, n - k, ".o");
}

/* Lists DIR/tml/ *.c into srcs (relative paths). */
static int list_kernels(const char *dir, char srcs[][256], int max)
{
    char path[4096];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(path, sizeof path, "%s/tml", dir);
    d = opendir(path);
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL && n < max) {
        size_t len = strlen(e->d_name);
        if (len > 2 && !strcmp(e->d_name + len - 2, ".c") && len < 200)
            snprintf(srcs[n++], 256, "tml/%s", e->d_name);
    }
    closedir(d);
    return n;
}

/* `size -A` output (one block per object: "FILE  :", a header, "SECTION SIZE ADDR" rows,
 * "Total") into the same split as the map, without port or libc: nothing is linked. */
static void sizes_from_size_a(const char *text, tml_image_sizes *s)
{
    const char *p = text;
    char file[512] = "";
    memset(s, 0, sizeof *s);
    while (*p) {
        char line[1024], a[512], b[64];
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        unsigned long long size;
        if (n >= sizeof line)
            n = sizeof line - 1;
        memcpy(line, p, n);
        line[n] = '\0';
        p = nl ? nl + 1 : p + strlen(p);
        if (n > 2 && line[n - 1] == ':' && sscanf(line, "%511s", a) == 1) {
            snprintf(file, sizeof file, "%s", a);
            continue;
        }
        if (sscanf(line, "%511s %63s", a, b) != 2 || a[0] != '.' || !file[0])
            continue;
        size = strtoull(b, NULL, 10);
        if (!strncmp(a, ".text", 5) || !strncmp(a, ".rodata", 7) || !strncmp(a, ".srodata", 8) ||
            !strncmp(a, ".literal", 8) || !strncmp(a, ".irom", 5))
            charge(s, OUT_FLASH, a, file, size);
        else if (!strncmp(a, ".data", 5) || !strncmp(a, ".sdata", 6))
            charge(s, OUT_BOTH, a, file, size);
        else if (!strncmp(a, ".bss", 4) || !strncmp(a, ".sbss", 5))
            charge(s, OUT_RAM, a, file, size);
    }
    s->flash_total = s->weights + s->model_code + s->kernels + s->port + s->libc;
    s->ram_total = s->arena + s->data_bss;
}

/* A target without a port: compile the model and its kernels to objects with the target's
 * compiler (the proof that the generated C builds there) and measure the objects. */
static tml_status build_objects(const tml_target *t, const char *dir, tml_image_sizes *s,
                                char *err, size_t errsz)
{
    char path[4096], srcs[160][256], objs[160][256], size_tool[256];
    int n_src = 0, i;
    argv_t a;
    tml_status st;

    snprintf(path, sizeof path, "%s/obj", dir);
    if ((st = mkdir_p(path, err, errsz)) != TML_OK)
        return st;
    snprintf(path, sizeof path, "%s/image.cmd", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/image.log", dir);
    remove(path);
    snprintf(srcs[n_src++], 256, "model.c");
    n_src += list_kernels(dir, srcs + n_src, 160 - n_src);
    for (i = 0; i < n_src; i++) {
        memset(&a, 0, sizeof a);
        obj_name(srcs[i], objs[i], sizeof objs[i]);
        if (!arg_add(&a, t->cc) || !arg_split(&a, t->cflags) || !arg_add(&a, "-std=c99") ||
            !arg_add(&a, "-Wall") || !arg_add(&a, "-Wextra") || !arg_add(&a, "-Werror") ||
            !arg_add(&a, "-ffunction-sections") || !arg_add(&a, "-fdata-sections") ||
            !arg_add(&a, "-I.") || !arg_add(&a, "-c") || !arg_add(&a, srcs[i]) ||
            !arg_add(&a, "-o") || !arg_add(&a, objs[i])) {
            snprintf(err, errsz, "target '%s': compiler command too long", t->name);
            return TML_ERR_ARG;
        }
        snprintf(path, sizeof path, "compiling '%s' for %s", srcs[i], t->name);
        if ((st = run_tool(dir, &a, path, err, errsz)) != TML_OK)
            return st;
    }
    if (s) {
        char *text;
        size_t len;
        memset(&a, 0, sizeof a);
        tool_name(t->cc, "size", size_tool, sizeof size_tool);
        arg_add(&a, size_tool);
        arg_add(&a, "-A");
        for (i = 0; i < n_src; i++)
            arg_add(&a, objs[i]);
        snprintf(path, sizeof path, "%s/sizes.txt", dir);
        remove(path);
        cmd_log(dir, &a);
        if (tml_proc_run(a.v, dir, path, 60, NULL) != 0 || read_all(path, &text, &len) != TML_OK) {
            snprintf(err, errsz, "target '%s': '%s -A' failed (see '%s')", t->name, size_tool,
                     path);
            return TML_ERR;
        }
        sizes_from_size_a(text, s);
        free(text);
    }
    return TML_OK;
}

tml_status tml_image_build(const tml_target *t, const char *dir, tml_image_sizes *s, char *err,
                           size_t errsz)
{
    char path[4096], from[4096], srcs[160][256], objs[160][256];
    const bool host = !strcmp(t->platform, "host");
    int n_src = 0, i;
    argv_t a;
    tml_status st;
    FILE *f;

    if (!tml_target_has_image(t))
        return build_objects(t, dir, s, err, errsz);
    /* the port and the harness, copied so DIR builds on its own */
    snprintf(path, sizeof path, "%s/platform", dir);
    if ((st = mkdir_p(path, err, errsz)) != TML_OK)
        return st;
    snprintf(path, sizeof path, "%s/platform/%s", dir, t->platform);
    if ((st = mkdir_p(path, err, errsz)) != TML_OK)
        return st;
    snprintf(path, sizeof path, "%s/obj", dir);
    if ((st = mkdir_p(path, err, errsz)) != TML_OK)
        return st;
    {
        static const char *common[] = {"port.h", "harness.c"};
        for (i = 0; i < 2; i++) {
            snprintf(from, sizeof from, "%s/%s", platform_dir(), common[i]);
            snprintf(path, sizeof path, "%s/platform/%s", dir, common[i]);
            if ((st = copy_file(from, path, err, errsz)) != TML_OK)
                return st;
        }
        snprintf(from, sizeof from, "%s/%s/port.c", platform_dir(), t->platform);
        snprintf(path, sizeof path, "%s/platform/%s/port.c", dir, t->platform);
        if ((st = copy_file(from, path, err, errsz)) != TML_OK) {
            snprintf(err, errsz, "target '%s': no port '%s' (expected '%s')", t->name,
                     t->platform, from);
            return TML_ERR_NOT_FOUND;
        }
        if (!host) {
            snprintf(from, sizeof from, "%s/%s/link.ld", platform_dir(), t->platform);
            snprintf(path, sizeof path, "%s/platform/%s/link.ld", dir, t->platform);
            if ((st = copy_file(from, path, err, errsz)) != TML_OK)
                return st;
            snprintf(path, sizeof path, "%s/memory.ld", dir);
            f = fopen(path, "w");
            if (!f) {
                snprintf(err, errsz, "cannot write '%s': %s", path, strerror(errno));
                return TML_ERR_IO;
            }
            fprintf(f,
                    "/* memory.ld - written by tmlaas from target profile '%s'. */\n"
                    "MEMORY\n{\n"
                    "    FLASH (rx)  : ORIGIN = 0x%08llx, LENGTH = %llu\n"
                    "    RAM   (rwx) : ORIGIN = 0x%08llx, LENGTH = %llu\n"
                    "}\n__tml_stack_size = %llu;\n",
                    t->name, (unsigned long long)t->flash_origin,
                    (unsigned long long)t->flash_bytes, (unsigned long long)t->ram_origin,
                    (unsigned long long)t->ram_bytes, (unsigned long long)t->stack_bytes);
            fclose(f);
        }
    }
    snprintf(path, sizeof path, "%s/image.cmd", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/image.log", dir);
    remove(path);

    snprintf(srcs[n_src++], 256, "model.c");
    snprintf(srcs[n_src++], 256, "platform/harness.c");
    snprintf(srcs[n_src++], 256, "platform/%s/port.c", t->platform);
    n_src += list_kernels(dir, srcs + n_src, 160 - n_src);

    for (i = 0; i < n_src; i++) {
        memset(&a, 0, sizeof a);
        obj_name(srcs[i], objs[i], sizeof objs[i]);
        if (!arg_add(&a, t->cc) || !arg_split(&a, t->cflags) || !arg_add(&a, "-std=c99") ||
            !arg_add(&a, "-Wall") || !arg_add(&a, "-Wextra") || !arg_add(&a, "-Werror") ||
            !arg_add(&a, "-ffunction-sections") || !arg_add(&a, "-fdata-sections") ||
            !arg_add(&a, "-I.") || !arg_add(&a, "-Iplatform") || !arg_add(&a, "-c") ||
            !arg_add(&a, srcs[i]) || !arg_add(&a, "-o") || !arg_add(&a, objs[i])) {
            snprintf(err, errsz, "target '%s': compiler command too long", t->name);
            return TML_ERR_ARG;
        }
        snprintf(path, sizeof path, "compiling '%s' for %s", srcs[i], t->name);
        if ((st = run_tool(dir, &a, path, err, errsz)) != TML_OK)
            return st;
    }
    memset(&a, 0, sizeof a);
    arg_add(&a, t->cc);
    arg_split(&a, t->cflags);
    if (!host) {
        arg_add(&a, "-nostartfiles");
        snprintf(path, sizeof path, "-Tplatform/%s/link.ld", t->platform);
        arg_add(&a, path);
        arg_add(&a, "-L.");
        arg_add(&a, "-Wl,--gc-sections");
        arg_add(&a, "-Wl,-Map=image.map");
        arg_add(&a, "-o");
        arg_add(&a, "image.elf");
    } else {
        arg_add(&a, "-o");
        arg_add(&a, "image");
    }
    for (i = 0; i < n_src; i++)
        arg_add(&a, objs[i]);
    arg_split(&a, t->ldflags);
    arg_add(&a, "-lm");
    if (!host) {
        arg_add(&a, "-lc");
        if (!arg_add(&a, "-lgcc")) {
            snprintf(err, errsz, "target '%s': link command too long", t->name);
            return TML_ERR_ARG;
        }
    }
    snprintf(path, sizeof path, "linking the image for %s", t->name);
    if ((st = run_tool(dir, &a, path, err, errsz)) != TML_OK)
        return st;
    if (host) {
        if (s)
            memset(s, 0, sizeof *s);
        return TML_OK;
    }
    {
        char objcopy[256];
        tool_name(t->cc, "objcopy", objcopy, sizeof objcopy);
        memset(&a, 0, sizeof a);
        arg_add(&a, objcopy);
        arg_add(&a, "-O");
        arg_add(&a, "binary");
        arg_add(&a, "image.elf");
        arg_add(&a, "image.bin");
        if ((st = run_tool(dir, &a, "objcopy", err, errsz)) != TML_OK)
            return st;
    }
    if (s) {
        char *map;
        size_t len;
        snprintf(path, sizeof path, "%s/image.map", dir);
        if (read_all(path, &map, &len) != TML_OK) {
            snprintf(err, errsz, "cannot read '%s'", path);
            return TML_ERR_IO;
        }
        st = tml_image_sizes_from_map(map, len, s, err, errsz);
        free(map);
        if (st != TML_OK)
            return st;
    }
    return TML_OK;
}

/* ---- report ---- */

static double ns_per_tick(const tml_target *t)
{
    return t->clock_hz ? 1e9 / (double)t->clock_hz : 0.0;
}

void tml_image_report_print(const tml_target *t, const tml_image_sizes *s,
                            const tml_image_run_stats *r, FILE *f)
{
    fprintf(f, "  target             %s (%s)\n", t->name, t->description);
    if (s && s->flash_total && !tml_target_has_image(t)) {
        fprintf(f, "  objects (no port)  compiled with %s; flash %llu B: weights %llu + model "
                   "code %llu + kernels %llu; RAM: arena %llu + data/bss %llu (not linked: no "
                   "port, libc or stack)\n",
                t->cc, (unsigned long long)s->flash_total, (unsigned long long)s->weights,
                (unsigned long long)s->model_code, (unsigned long long)s->kernels,
                (unsigned long long)s->arena, (unsigned long long)s->data_bss);
    } else if (s && s->flash_total) {
        fprintf(f, "  flash (measured)   %llu B (%.1f KiB of %.1f KiB): weights %llu + model code "
                   "%llu + kernels %llu + port %llu + libc %llu\n",
                (unsigned long long)s->flash_total, KIB(s->flash_total), KIB(t->flash_bytes),
                (unsigned long long)s->weights, (unsigned long long)s->model_code,
                (unsigned long long)s->kernels, (unsigned long long)s->port,
                (unsigned long long)s->libc);
        fprintf(f, "  RAM (measured)     %llu B (%.1f KiB of %.1f KiB): arena %llu + data/bss "
                   "%llu + stack reserve %llu\n",
                (unsigned long long)s->ram_total, KIB(s->ram_total), KIB(t->ram_bytes),
                (unsigned long long)s->arena, (unsigned long long)s->data_bss,
                (unsigned long long)s->stack_reserved);
    }
    if (r) {
        if (r->stack_used)
            fprintf(f, "  stack high-water   %llu B (painted stack, across model_run)\n",
                    (unsigned long long)r->stack_used);
        if (r->instructions && !strcmp(r->unit, "instructions"))
            fprintf(f, "  instructions       %llu per inference (retired-instruction counter, "
                       "QEMU -icount shift=0)\n",
                    (unsigned long long)r->instructions);
        else if (r->instructions)
            fprintf(f, "  instructions       %llu per inference (QEMU -icount shift=0, SysTick "
                       "at %g ns/tick)\n",
                    (unsigned long long)r->instructions, ns_per_tick(t));
        else
            fprintf(f, "  counter            %llu %s across model_run\n",
                    (unsigned long long)r->counter, r->unit[0] ? r->unit : "ticks");
    }
}

char *tml_image_report_json(const tml_target *t, const tml_image_sizes *s,
                            const tml_image_run_stats *r)
{
    size_t cap = 2048;
    char *buf = malloc(cap);
    int k;
    if (!buf)
        return NULL;
    k = snprintf(buf, cap,
                 "{\n  \"target\": \"%s\",\n  \"flash_budget\": %llu,\n  \"ram_budget\": %llu,\n"
                 "  \"flash\": {\"total\": %llu, \"weights\": %llu, \"model_code\": %llu, "
                 "\"kernels\": %llu, \"port\": %llu, \"libc\": %llu},\n"
                 "  \"ram\": {\"total\": %llu, \"arena\": %llu, \"data_bss\": %llu, "
                 "\"stack_reserved\": %llu}",
                 t->name, (unsigned long long)t->flash_bytes, (unsigned long long)t->ram_bytes,
                 (unsigned long long)s->flash_total, (unsigned long long)s->weights,
                 (unsigned long long)s->model_code, (unsigned long long)s->kernels,
                 (unsigned long long)s->port, (unsigned long long)s->libc,
                 (unsigned long long)s->ram_total, (unsigned long long)s->arena,
                 (unsigned long long)s->data_bss, (unsigned long long)s->stack_reserved);
    if (k > 0 && (size_t)k < cap && r)
        k += snprintf(buf + k, cap - (size_t)k,
                      ",\n  \"run\": {\"exit_code\": %d, \"stack_used\": %llu, \"counter\": %llu, "
                      "\"instructions\": %llu}",
                      r->exit_code, (unsigned long long)r->stack_used,
                      (unsigned long long)r->counter, (unsigned long long)r->instructions);
    if (k > 0 && (size_t)k < cap)
        snprintf(buf + k, cap - (size_t)k, "\n}\n");
    return buf;
}
