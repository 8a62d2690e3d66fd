/*
 * interp.c - the host interpreter: runs a plan with the runtime kernels.
 *
 * It does not walk the plan directly. It serializes the plan into a model package in memory
 * (tml_package_build) and hands that to the device executor (runtime/exec), so that the
 * reference outputs of `tmlaas run` and `verify` come from exactly the code path a device
 * uses, and every interpreter run also exercises the package writer and the loader's checks.
 * The host side owns the memory: the package buffer and the arena are malloc'd here (16-byte
 * aligned) and released by tml_interp_free.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/codegen.h"
#include "tml/executor.h"
#include "tml/interp.h"

struct tml_interp {
    tml_exec ex;
    uint8_t *pkg;    /* package bytes, 16-byte aligned */
    size_t pkg_len;
    uint8_t *arena;  /* arena bytes, 16-byte aligned */
};

/* 16-byte aligned, zeroed; NULL if out of memory. */
static uint8_t *alloc16(size_t n)
{
    void *p = NULL;
    if (n == 0)
        n = 16;
    n = (n + 15) & ~(size_t)15;
    if (posix_memalign(&p, 16, n) != 0)
        return NULL;
    memset(p, 0, n);
    return (uint8_t *)p;
}

tml_status tml_interp_new(const tml_plan *p, tml_interp **out, char *err, size_t errsz)
{
    tml_interp *it;
    uint8_t *tmp = NULL;
    uint32_t arena_bytes;
    tml_status st;

    if (!p || !out) {
        if (err && errsz)
            snprintf(err, errsz, "interp: NULL argument");
        return TML_ERR_ARG;
    }
    *out = NULL;
    it = calloc(1, sizeof(*it));
    if (!it) {
        if (err && errsz)
            snprintf(err, errsz, "interp: out of memory");
        return TML_ERR_NOMEM;
    }
    st = tml_package_build(p, &tmp, &it->pkg_len, err, errsz);
    if (st) {
        free(it);
        return st;
    }
    it->pkg = alloc16(it->pkg_len);
    if (!it->pkg) {
        if (err && errsz)
            snprintf(err, errsz, "interp: out of memory (package of %zu bytes)", it->pkg_len);
        free(tmp);
        free(it);
        return TML_ERR_NOMEM;
    }
    memcpy(it->pkg, tmp, it->pkg_len);
    free(tmp);
    arena_bytes = tml_pkg_arena_bytes(it->pkg, (uint32_t)it->pkg_len);
    it->arena = alloc16(arena_bytes);
    if (!it->arena) {
        tml_interp_free(it);
        if (err && errsz)
            snprintf(err, errsz, "interp: out of memory (arena of %u bytes)", (unsigned)arena_bytes);
        return TML_ERR_NOMEM;
    }
    st = tml_exec_load(&it->ex, it->pkg, (uint32_t)it->pkg_len, it->arena, arena_bytes);
    if (st) {
        if (err && errsz) {
            if (it->ex.error_at >= 0)
                snprintf(err, errsz, "interp: executor refused the plan's package (%s, index %d)",
                         it->ex.error ? it->ex.error : "?", (int)it->ex.error_at);
            else
                snprintf(err, errsz, "interp: executor refused the plan's package (%s)",
                         it->ex.error ? it->ex.error : "?");
        }
        tml_interp_free(it);
        return st;
    }
    *out = it;
    return TML_OK;
}

void tml_interp_free(tml_interp *it)
{
    if (!it)
        return;
    free(it->pkg);
    free(it->arena);
    free(it);
}

void *tml_interp_input(tml_interp *it, int i, size_t *bytes)
{
    uint32_t n = 0;
    void *p;
    if (!it || i < 0)
        return NULL;
    p = tml_exec_input(&it->ex, (uint32_t)i, &n);
    if (p && bytes)
        *bytes = n;
    return p;
}

void *tml_interp_output(tml_interp *it, int i, size_t *bytes)
{
    uint32_t n = 0;
    void *p;
    if (!it || i < 0)
        return NULL;
    p = tml_exec_output(&it->ex, (uint32_t)i, &n);
    if (p && bytes)
        *bytes = n;
    return p;
}

tml_status tml_interp_run(tml_interp *it)
{
    if (!it)
        return TML_ERR_ARG;
    return tml_exec_run(&it->ex);
}
