/*
 * package_print.c - a readable dump of a model package (tml_package_print, see package.h).
 *
 * Host side: copies the bytes into a 16-byte aligned buffer, mallocs the arena the header
 * asks for (refusing more than 256 MiB), loads with tml_exec_load - the device's validation -
 * and only then walks the tables, so a hostile file is refused before anything is printed.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tml/executor.h"
#include "tml/kernels.h"
#include "tml/package.h"
#include "tml/sha256.h"

#define PRINT_MAX_ARENA (256u << 20)

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void print_tensor(FILE *f, const uint8_t *e)
{
    uint32_t rank = rd32(e + TML_PKG_T_RANK), d;
    fprintf(f, "%-8s [", tml_dtype_name((tml_dtype)rd32(e + TML_PKG_T_DTYPE)));
    for (d = 0; d < rank; d++)
        fprintf(f, d ? ",%u" : "%u", (unsigned)rd32(e + TML_PKG_T_DIMS + 4 * d));
    fprintf(f, "] %u B %s @%u", (unsigned)rd32(e + TML_PKG_T_BYTES),
            rd32(e + TML_PKG_T_STORAGE) ? "weights" : "arena",
            (unsigned)rd32(e + TML_PKG_T_OFFSET));
}

tml_status tml_package_print(const uint8_t *pkg, size_t len, FILE *f, char *err, size_t errsz)
{
    uint8_t *buf = NULL, *arena = NULL;
    uint32_t arena_bytes, i, pos = 0;
    tml_exec ex;
    tml_status st;
    int k;

    if (!pkg || !f || len > 0xffffffffu) {
        if (err && errsz)
            snprintf(err, errsz, "package: bad argument");
        return TML_ERR_ARG;
    }
    if (posix_memalign((void **)&buf, 16, len ? len : 16) != 0) {
        if (err && errsz)
            snprintf(err, errsz, "package: out of memory");
        return TML_ERR_NOMEM;
    }
    memcpy(buf, pkg, len);
    arena_bytes = tml_pkg_arena_bytes(buf, (uint32_t)len);
    if (arena_bytes > PRINT_MAX_ARENA) {
        free(buf);
        if (err && errsz)
            snprintf(err, errsz, "package: arena of %u bytes is implausibly large",
                     (unsigned)arena_bytes);
        return TML_ERR_FIT;
    }
    if (posix_memalign((void **)&arena, 16, arena_bytes ? arena_bytes : 16) != 0) {
        free(buf);
        if (err && errsz)
            snprintf(err, errsz, "package: out of memory");
        return TML_ERR_NOMEM;
    }
    st = tml_exec_load(&ex, buf, (uint32_t)len, arena, arena_bytes);
    if (st != TML_OK) {
        if (err && errsz) {
            if (ex.error_at >= 0)
                snprintf(err, errsz, "package refused: %s (index %d)", ex.error ? ex.error : "?",
                         (int)ex.error_at);
            else
                snprintf(err, errsz, "package refused: %s", ex.error ? ex.error : "?");
        }
        free(arena);
        free(buf);
        return st;
    }

    fprintf(f, "model package, format version %u, %u bytes\n", (unsigned)TML_PKG_VERSION,
            (unsigned)rd32(buf + TML_PKG_H_TOTAL_BYTES));
    {
        uint8_t d[TML_SHA256_BYTES];
        tml_sha256(buf, rd32(buf + TML_PKG_H_TOTAL_BYTES), d);
        fprintf(f, "  model hash   sha256:");
        for (k = 0; k < 32; k++)
            fprintf(f, "%02x", d[k]); /* the id the generated C carries too */
    }
    fprintf(f, "\n  check hash   ");
    for (k = 0; k < 32; k++)
        fprintf(f, "%02x", buf[TML_PKG_H_SHA256 + k]);
    fprintf(f, "\n  kernel abi   %08x\n", (unsigned)rd32(buf + TML_PKG_H_KERNEL_ABI));
    fprintf(f, "  arena        %u B\n  weights      %u B\n  params       %u B\n",
            (unsigned)ex.required_arena, (unsigned)ex.weights_size, (unsigned)ex.params_size);
    fprintf(f, "  tensors      %u\n  steps        %u\n", (unsigned)ex.n_tensors,
            (unsigned)ex.n_steps);
    for (i = 0; i < ex.n_inputs + ex.n_outputs; i++) {
        bool in = i < ex.n_inputs;
        uint32_t id = in ? ex.inputs[i] : ex.outputs[i - ex.n_inputs];
        fprintf(f, "  %-6s %-3u  t%-4u ", in ? "input" : "output", in ? i : i - ex.n_inputs,
                (unsigned)id);
        print_tensor(f, ex.tensors + (size_t)id * TML_PKG_TENSOR_BYTES);
        fprintf(f, "\n");
    }
    fprintf(f, "tensors:\n");
    for (i = 0; i < ex.n_tensors; i++) {
        fprintf(f, "  t%-4u ", (unsigned)i);
        print_tensor(f, ex.tensors + (size_t)i * TML_PKG_TENSOR_BYTES);
        fprintf(f, "\n");
    }
    fprintf(f, "steps:\n");
    for (i = 0; i < ex.n_steps; i++) {
        const uint8_t *e = ex.steps + pos;
        uint32_t n_in = rd32(e + TML_PKG_S_N_IN), n_out = rd32(e + TML_PKG_S_N_OUT), j;
        const tml_kernel_info *ki =
            tml_kernel_get_info((tml_kernel_id)rd32(e + TML_PKG_S_KERNEL));
        fprintf(f, "  %3u  %-20s (", (unsigned)i, ki ? ki->name : "?");
        for (j = 0; j < n_in + n_out; j++) {
            uint32_t id = rd32(e + TML_PKG_S_IDS + 4 * j);
            if (j == n_in)
                fprintf(f, ") -> (");
            else if (j)
                fprintf(f, ", ");
            if (id == TML_PKG_NONE)
                fprintf(f, "-");
            else
                fprintf(f, "t%u", (unsigned)id);
        }
        fprintf(f, ")  params %u B", (unsigned)rd32(e + TML_PKG_S_PARAMS_BYTES));
        if (rd32(e + TML_PKG_S_SCRATCH_BYTES))
            fprintf(f, ", scratch %u B @%u", (unsigned)rd32(e + TML_PKG_S_SCRATCH_BYTES),
                    (unsigned)rd32(e + TML_PKG_S_SCRATCH_OFFSET));
        fprintf(f, "\n");
        pos += TML_PKG_STEP_FIXED_BYTES + 4u * (n_in + n_out);
    }
    free(arena);
    free(buf);
    return TML_OK;
}
