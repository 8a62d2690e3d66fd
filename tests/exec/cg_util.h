/*
 * cg_util.h - test helper for tests/exec: generate C for a plan, build it with the host
 * compiler (and compile it for Cortex-M4), run its harness and compare the bytes with the
 * interpreter's. Header-only; used by test_codegen.c and the pipeline tests.
 */
#ifndef TML_TEST_EXEC_CG_UTIL_H
#define TML_TEST_EXEC_CG_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/codegen.h"
#include "tml/interp.h"

#define CG_CFLAGS "-std=c99 -Wall -Wextra -Werror -pedantic"

static inline int cg_run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static inline int cg_write(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    size_t w;
    if (!f)
        return -1;
    w = fwrite(d, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

/* Reads a whole file into a malloc'd buffer; NULL on error. */
static inline void *cg_read(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long len;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)len + 1);
    if (buf && fread(buf, 1, (size_t)len, f) != (size_t)len) {
        free(buf);
        buf = NULL;
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return buf;
}

static inline int cg_have(const char *tool)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", tool);
    return system(cmd) == 0;
}

/*
 * Generates C for p into a fresh directory (returned in dir, size >= 64), builds the harness
 * with cc, feeds it `inputs` (one buffer per graph input, sized as the interpreter's), and
 * compares every output byte for byte with the interpreter's run on the same inputs.
 * Also compiles model.c + kernels for arm-none-eabi if that compiler exists.
 * Returns 0 if everything matched; prints what failed otherwise.
 */
static inline int cg_compile_and_compare(const tml_plan *p, const void *const *inputs, char *dir)
{
    tml_codegen_options o;
    tml_interp *it = NULL;
    char err[512] = "", cmd[2048], path[512];
    int i, rc = -1;
    strcpy(dir, "/tmp/tml_cg_XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    tml_codegen_options_default(&o);
    o.harness = true;
    if (tml_codegen_c(p, dir, &o, err, sizeof(err)) != TML_OK) {
        fprintf(stderr, "codegen: %s\n", err);
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "cc " CG_CFLAGS " -I %s %s/*.c %s/tml/*.c -lm -o %s/prog", dir,
             dir, dir, dir);
    if (cg_run(cmd) != 0)
        return -1;
    if (cg_have("arm-none-eabi-gcc")) {
        snprintf(cmd, sizeof(cmd),
                 "cd %s && arm-none-eabi-gcc -mcpu=cortex-m4 -mthumb "
                 CG_CFLAGS " -I . -c model.c tml/*.c",
                 dir);
        if (cg_run(cmd) != 0)
            return -1;
    } else {
        fprintf(stderr, "note: arm-none-eabi-gcc not found, skipping the cortex-m4 compile\n");
    }
    if (tml_interp_new(p, &it, err, sizeof(err)) != TML_OK) {
        fprintf(stderr, "interp: %s\n", err);
        return -1;
    }
    snprintf(cmd, sizeof(cmd), "%s/prog", dir);
    for (i = 0; i < p->n_inputs; i++) {
        size_t n;
        void *buf = tml_interp_input(it, i, &n);
        memcpy(buf, inputs[i], n);
        snprintf(path, sizeof(path), "%s/in%d.bin", dir, i);
        if (cg_write(path, inputs[i], n) != 0)
            goto out;
        snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s", path);
    }
    for (i = 0; i < p->n_outputs; i++)
        snprintf(cmd + strlen(cmd), sizeof(cmd) - strlen(cmd), " %s/out%d.bin", dir, i);
    if (cg_run(cmd) != 0 || tml_interp_run(it) != TML_OK)
        goto out;
    for (i = 0; i < p->n_outputs; i++) {
        size_t n, m;
        void *want = tml_interp_output(it, i, &n), *got;
        snprintf(path, sizeof(path), "%s/out%d.bin", dir, i);
        got = cg_read(path, &m);
        if (!got || m != n || memcmp(got, want, n) != 0) {
            fprintf(stderr, "output %d differs between generated C and interpreter\n", i);
            free(got);
            goto out;
        }
        free(got);
    }
    rc = 0;
out:
    tml_interp_free(it);
    return rc;
}

#endif
