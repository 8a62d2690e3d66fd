/*
 * package.c - writes a plan as a model package (.tmlpkg), the carrier a device whose firmware
 * already holds the kernels can load without reflashing.
 *
 * The format is specified in docs/package-format.md and by the TML_PKG_* constants in
 * runtime/include/tml/executor.h, which the device-side reader (runtime/exec/executor.c)
 * shares. The writer lays the sections out in the one canonical order the reader accepts
 * (header, tensor table, step table, params, weights at a 16-byte boundary), fills the header
 * and finally hashes the package with SHA-256 (every byte but the hash field itself). It
 * checks the plan first and names the offending tensor or step, so a bad plan fails here with
 * a readable message rather than on the device with a static one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/codegen.h"
#include "tml/executor.h"

static tml_status pkg_errorf(char *err, size_t errsz, tml_status st, const char *fmt, ...)
{
    va_list ap;
    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return st;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static const char *tname(const tml_plan *p, int t)
{
    return p->tensors[t].name ? p->tensors[t].name : "?";
}

/* Checks what the reader will check, with messages that name plan tensors and steps. */
static tml_status plan_validate(const tml_plan *p, char *err, size_t errsz)
{
    int i, j;
    if (p->n_tensors < 0 || p->n_steps < 0 || p->n_inputs < 0 || p->n_outputs < 0 ||
        p->n_inputs > (int)TML_PKG_MAX_IO || p->n_outputs > (int)TML_PKG_MAX_IO)
        return pkg_errorf(err, errsz, TML_ERR_ARG, "plan: bad counts (%d inputs, %d outputs)",
                          p->n_inputs, p->n_outputs);
    if ((p->n_tensors && !p->tensors) || (p->n_steps && !p->steps) ||
        (p->weights_size && !p->weights))
        return pkg_errorf(err, errsz, TML_ERR_ARG, "plan: missing tensors, steps or weights");
    for (i = 0; i < p->n_tensors; i++) {
        const tml_plan_tensor *t = &p->tensors[i];
        size_t es = tml_dtype_size(t->dtype);
        uint64_t n = 1, limit;
        if (es == 0 || t->dtype == TML_DT_STRING)
            return pkg_errorf(err, errsz, TML_ERR_UNSUPPORTED,
                              "tensor '%s': dtype '%s' cannot be packaged", tname(p, i),
                              tml_dtype_name(t->dtype));
        if (t->rank < 0 || t->rank > TML_MAX_RANK)
            return pkg_errorf(err, errsz, TML_ERR_SHAPE, "tensor '%s': bad rank %d",
                              tname(p, i), t->rank);
        for (j = 0; j < t->rank; j++) {
            if (t->dims[j] < 0)
                return pkg_errorf(err, errsz, TML_ERR_SHAPE, "tensor '%s': negative dim %d",
                                  tname(p, i), (int)t->dims[j]);
            n *= (uint64_t)t->dims[j];
            if (n > 0xffffffffu)
                return pkg_errorf(err, errsz, TML_ERR_FIT, "tensor '%s': too many elements",
                                  tname(p, i));
        }
        if (n * es != t->bytes)
            return pkg_errorf(err, errsz, TML_ERR_SHAPE,
                              "tensor '%s': %u bytes but its shape needs %llu", tname(p, i),
                              (unsigned)t->bytes, (unsigned long long)(n * es));
        limit = t->storage == TML_STORE_CONST ? p->weights_size : p->arena_size;
        if (t->storage != TML_STORE_CONST && t->storage != TML_STORE_ARENA)
            return pkg_errorf(err, errsz, TML_ERR_ARG, "tensor '%s': unknown storage %d",
                              tname(p, i), (int)t->storage);
        if ((uint64_t)t->offset + t->bytes > limit)
            return pkg_errorf(err, errsz, TML_ERR_ARG,
                              "tensor '%s': offset %u + %u bytes outside the %s (%llu bytes)",
                              tname(p, i), (unsigned)t->offset, (unsigned)t->bytes,
                              t->storage == TML_STORE_CONST ? "weights" : "arena",
                              (unsigned long long)limit);
        if (t->offset % (es >= 8 ? 8u : 4u))
            return pkg_errorf(err, errsz, TML_ERR_ARG, "tensor '%s': misaligned offset %u",
                              tname(p, i), (unsigned)t->offset);
    }
    for (i = 0; i < p->n_inputs + p->n_outputs; i++) {
        int t = i < p->n_inputs ? p->inputs[i] : p->outputs[i - p->n_inputs];
        if (t < 0 || t >= p->n_tensors)
            return pkg_errorf(err, errsz, TML_ERR_ARG, "plan: graph %s %d: bad tensor index %d",
                              i < p->n_inputs ? "input" : "output",
                              i < p->n_inputs ? i : i - p->n_inputs, t);
        if (p->tensors[t].storage != TML_STORE_ARENA)
            return pkg_errorf(err, errsz, TML_ERR_UNSUPPORTED,
                              "tensor '%s': a graph input/output must live in the arena",
                              tname(p, t));
    }
    for (i = 0; i < p->n_steps; i++) {
        const tml_plan_step *s = &p->steps[i];
        const tml_kernel_info *ki = tml_kernel_get_info(s->kernel);
        if (!ki || s->kernel == TML_K_NONE)
            return pkg_errorf(err, errsz, TML_ERR_ARG, "step %d: bad kernel id %d", i,
                              (int)s->kernel);
        if (s->n_in < 0 || s->n_out < 0 || s->n_in > (int)TML_PKG_MAX_IO ||
            s->n_out > (int)TML_PKG_MAX_IO)
            return pkg_errorf(err, errsz, TML_ERR_ARG, "step %d (%s): bad tensor counts", i,
                              ki->name);
        if (s->params_size != ki->params_size || (s->params_size && !s->params))
            return pkg_errorf(err, errsz, TML_ERR_ARG,
                              "step %d (%s): params size %u, kernel expects %u", i, ki->name,
                              (unsigned)s->params_size, (unsigned)ki->params_size);
        for (j = 0; j < s->n_in + s->n_out; j++) {
            int t = j < s->n_in ? s->in[j] : s->out[j - s->n_in];
            if (t < (j < s->n_in ? -1 : 0) || t >= p->n_tensors)
                return pkg_errorf(err, errsz, TML_ERR_ARG, "step %d (%s): bad tensor index %d",
                                  i, ki->name, t);
            if (j >= s->n_in && t >= 0 && p->tensors[t].storage != TML_STORE_ARENA)
                return pkg_errorf(err, errsz, TML_ERR_ARG,
                                  "step %d (%s): writes constant tensor '%s'", i, ki->name,
                                  tname(p, t));
        }
        if (s->scratch_bytes &&
            ((uint64_t)s->scratch_offset + s->scratch_bytes > p->arena_size ||
             s->scratch_offset % 4))
            return pkg_errorf(err, errsz, TML_ERR_ARG, "step %d (%s): scratch outside the arena",
                              i, ki->name);
    }
    return TML_OK;
}

tml_status tml_package_build(const tml_plan *p, uint8_t **buf, size_t *len, char *err,
                             size_t errsz)
{
    uint64_t steps_bytes = 0, params_bytes = 0, steps_off, params_off, weights_off, total;
    uint8_t *b, *e;
    uint32_t poff = 0;
    int i, j;
    tml_status st;

    if (!p || !buf || !len)
        return pkg_errorf(err, errsz, TML_ERR_ARG, "package: NULL argument");
    *buf = NULL;
    *len = 0;
    if ((st = plan_validate(p, err, errsz)) != TML_OK)
        return st;
    for (i = 0; i < p->n_steps; i++) {
        steps_bytes += TML_PKG_STEP_FIXED_BYTES + 4u * (uint32_t)(p->steps[i].n_in + p->steps[i].n_out);
        params_bytes += (p->steps[i].params_size + 3u) & ~3u;
    }
    steps_off = TML_PKG_HEADER_BYTES + (uint64_t)p->n_tensors * TML_PKG_TENSOR_BYTES;
    params_off = steps_off + steps_bytes;
    weights_off = (params_off + params_bytes + TML_PKG_WEIGHTS_ALIGN - 1) &
                  ~(uint64_t)(TML_PKG_WEIGHTS_ALIGN - 1);
    total = weights_off + p->weights_size;
    if (total > 0xffffffffu)
        return pkg_errorf(err, errsz, TML_ERR_FIT, "package: %llu bytes exceed 4 GiB",
                          (unsigned long long)total);
    b = calloc(1, (size_t)total);
    if (!b)
        return pkg_errorf(err, errsz, TML_ERR_NOMEM, "package: out of memory (%llu bytes)",
                          (unsigned long long)total);

    memcpy(b + TML_PKG_H_MAGIC, TML_PKG_MAGIC, 4);
    wr32(b + TML_PKG_H_VERSION, TML_PKG_VERSION);
    wr32(b + TML_PKG_H_HEADER_BYTES, TML_PKG_HEADER_BYTES);
    wr32(b + TML_PKG_H_FLAGS, 0);
    wr32(b + TML_PKG_H_TOTAL_BYTES, (uint32_t)total);
    wr32(b + TML_PKG_H_KERNEL_ABI, tml_pkg_kernel_abi());
    wr32(b + TML_PKG_H_ARENA_BYTES, p->arena_size);
    wr32(b + TML_PKG_H_N_TENSORS, (uint32_t)p->n_tensors);
    wr32(b + TML_PKG_H_N_STEPS, (uint32_t)p->n_steps);
    wr32(b + TML_PKG_H_N_INPUTS, (uint32_t)p->n_inputs);
    wr32(b + TML_PKG_H_N_OUTPUTS, (uint32_t)p->n_outputs);
    wr32(b + TML_PKG_H_TENSORS_OFFSET, TML_PKG_HEADER_BYTES);
    wr32(b + TML_PKG_H_STEPS_OFFSET, (uint32_t)steps_off);
    wr32(b + TML_PKG_H_STEPS_BYTES, (uint32_t)steps_bytes);
    wr32(b + TML_PKG_H_PARAMS_OFFSET, (uint32_t)params_off);
    wr32(b + TML_PKG_H_PARAMS_BYTES, (uint32_t)params_bytes);
    wr32(b + TML_PKG_H_WEIGHTS_OFFSET, (uint32_t)weights_off);
    wr32(b + TML_PKG_H_WEIGHTS_BYTES, p->weights_size);
    for (i = 0; i < (int)TML_PKG_MAX_IO; i++) {
        wr32(b + TML_PKG_H_INPUTS + 4 * i,
             i < p->n_inputs ? (uint32_t)p->inputs[i] : TML_PKG_NONE);
        wr32(b + TML_PKG_H_OUTPUTS + 4 * i,
             i < p->n_outputs ? (uint32_t)p->outputs[i] : TML_PKG_NONE);
    }

    for (i = 0; i < p->n_tensors; i++) {
        const tml_plan_tensor *t = &p->tensors[i];
        e = b + TML_PKG_HEADER_BYTES + (size_t)i * TML_PKG_TENSOR_BYTES;
        wr32(e + TML_PKG_T_DTYPE, (uint32_t)t->dtype);
        wr32(e + TML_PKG_T_RANK, (uint32_t)t->rank);
        for (j = 0; j < t->rank; j++)
            wr32(e + TML_PKG_T_DIMS + 4 * j, (uint32_t)t->dims[j]);
        wr32(e + TML_PKG_T_BYTES, t->bytes);
        wr32(e + TML_PKG_T_STORAGE, t->storage == TML_STORE_CONST ? 1u : 0u);
        wr32(e + TML_PKG_T_OFFSET, t->offset);
    }

    e = b + steps_off;
    for (i = 0; i < p->n_steps; i++) {
        const tml_plan_step *s = &p->steps[i];
        wr32(e + TML_PKG_S_KERNEL, (uint32_t)s->kernel);
        wr32(e + TML_PKG_S_N_IN, (uint32_t)s->n_in);
        wr32(e + TML_PKG_S_N_OUT, (uint32_t)s->n_out);
        wr32(e + TML_PKG_S_PARAMS_OFFSET, poff);
        wr32(e + TML_PKG_S_PARAMS_BYTES, s->params_size);
        wr32(e + TML_PKG_S_SCRATCH_OFFSET, s->scratch_bytes ? s->scratch_offset : 0);
        wr32(e + TML_PKG_S_SCRATCH_BYTES, s->scratch_bytes);
        for (j = 0; j < s->n_in; j++)
            wr32(e + TML_PKG_S_IDS + 4 * j, s->in[j] < 0 ? TML_PKG_NONE : (uint32_t)s->in[j]);
        for (j = 0; j < s->n_out; j++)
            wr32(e + TML_PKG_S_IDS + 4 * (s->n_in + j),
                 s->out[j] < 0 ? TML_PKG_NONE : (uint32_t)s->out[j]);
        /* params structs hold 4-byte fields only: their bytes are their serialization on a
         * little-endian host (the only kind the project supports) */
        if (s->params_size)
            memcpy(b + params_off + poff, s->params, s->params_size);
        poff += (s->params_size + 3u) & ~3u;
        e += TML_PKG_STEP_FIXED_BYTES + 4u * (uint32_t)(s->n_in + s->n_out);
    }
    if (p->weights_size)
        memcpy(b + weights_off, p->weights, p->weights_size);

    tml_pkg_hash(b, (uint32_t)total, b + TML_PKG_H_SHA256);
    *buf = b;
    *len = (size_t)total;
    return TML_OK;
}

tml_status tml_package_save(const tml_plan *p, const char *path, char *err, size_t errsz)
{
    uint8_t *buf;
    size_t len;
    FILE *f;
    tml_status st = tml_package_build(p, &buf, &len, err, errsz);
    if (st)
        return st;
    f = fopen(path, "wb");
    if (!f) {
        st = pkg_errorf(err, errsz, TML_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        free(buf);
        return st;
    }
    if (fwrite(buf, 1, len, f) != len) {
        st = pkg_errorf(err, errsz, TML_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
        fclose(f);
        free(buf);
        return st;
    }
    free(buf);
    if (fclose(f) != 0)
        return pkg_errorf(err, errsz, TML_ERR_IO, "cannot write '%s': %s", path,
                          strerror(errno));
    return TML_OK;
}
