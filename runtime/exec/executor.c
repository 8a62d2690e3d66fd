/*
 * executor.c - loads a model package (docs/package-format.md) and runs its steps.
 *
 * A package arrives over the air and is untrusted, so tml_exec_load is the boundary: it reads
 * every field through bounds-checked little-endian loads, checks the layout (sections follow
 * each other exactly, nothing overlaps, nothing is left over), the SHA-256 of the package, the
 * kernel-table fingerprint, every tensor (dtype, rank, dims product * element size == bytes,
 * offset + bytes inside its section, alignment) and every step (tensor ids, outputs in the
 * arena, params range and size, scratch range, kernel compiled in, and finally the kernel's own
 * _check with the byte sizes of its buffers). Only then is the executor marked loaded, and
 * tml_exec_run walks the steps without re-checking: the same split as tflite-micro (validate
 * once at the boundary, kernels trust their arguments).
 *
 * Device-side rules: no malloc, no stdio, no state outside the caller's tml_exec; errors are
 * static strings (ex->error) plus the index of the offending tensor or step (ex->error_at).
 * Arithmetic on sizes is done in 64 bits so that no sum of two u32 fields can wrap.
 */
#include <string.h>

#include "tml/executor.h"
#include "tml/sha256.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static tml_status fail(tml_exec *ex, tml_status st, int32_t at, const char *msg)
{
    ex->error = msg;
    ex->error_at = at;
    ex->loaded = 0;
    return st;
}

uint32_t tml_pkg_kernel_abi(void)
{
    uint32_t h = 2166136261u;
    int id;
    for (id = 1; id < TML_K_COUNT; id++) {
        const tml_kernel_info *ki = tml_kernel_get_info((tml_kernel_id)id);
        const char *s = ki->name;
        uint32_t ps = ki->params_size;
        int i;
        for (; *s; s++)
            h = (h ^ (uint8_t)*s) * 16777619u;
        h = (h ^ 0u) * 16777619u; /* name terminator */
        for (i = 0; i < 4; i++)
            h = (h ^ (uint8_t)(ps >> (8 * i))) * 16777619u;
    }
    return h;
}

void tml_pkg_hash(const uint8_t *pkg, uint32_t total_bytes, uint8_t out[32])
{
    tml_sha256_ctx c;
    tml_sha256_init(&c);
    tml_sha256_update(&c, pkg, TML_PKG_H_SHA256);
    tml_sha256_update(&c, pkg + TML_PKG_HEADER_BYTES, total_bytes - TML_PKG_HEADER_BYTES);
    tml_sha256_final(&c, out);
}

uint32_t tml_pkg_arena_bytes(const uint8_t *pkg, uint32_t size)
{
    if (!pkg || size < TML_PKG_HEADER_BYTES || memcmp(pkg, TML_PKG_MAGIC, 4) != 0 ||
        rd32(pkg + TML_PKG_H_VERSION) != TML_PKG_VERSION ||
        rd32(pkg + TML_PKG_H_HEADER_BYTES) != TML_PKG_HEADER_BYTES)
        return 0;
    return rd32(pkg + TML_PKG_H_ARENA_BYTES);
}

/* Required alignment of a tensor's offset: 8 for 8-byte elements, else 4. */
static uint32_t tensor_align(uint32_t esize) { return esize >= 8 ? 8u : 4u; }

static tml_status load_header(tml_exec *ex, const uint8_t *pkg, uint32_t size)
{
    uint64_t tensors_off, steps_off, steps_bytes, params_off, params_bytes, weights_off;
    uint64_t weights_bytes, total, nt;
    uint8_t digest[TML_SHA256_BYTES];
    uint32_t i;

    if (size < TML_PKG_HEADER_BYTES)
        return fail(ex, TML_ERR_FORMAT, -1, "package: shorter than its header");
    if (memcmp(pkg, TML_PKG_MAGIC, 4) != 0)
        return fail(ex, TML_ERR_FORMAT, -1, "package: bad magic (not 'TMLP')");
    if (rd32(pkg + TML_PKG_H_VERSION) != TML_PKG_VERSION)
        return fail(ex, TML_ERR_UNSUPPORTED, -1, "package: unsupported format version");
    if (rd32(pkg + TML_PKG_H_HEADER_BYTES) != TML_PKG_HEADER_BYTES)
        return fail(ex, TML_ERR_FORMAT, -1, "package: bad header size");
    if (rd32(pkg + TML_PKG_H_FLAGS) != 0)
        return fail(ex, TML_ERR_UNSUPPORTED, -1, "package: unknown flags");
    for (i = 0; i < 6; i++)
        if (rd32(pkg + TML_PKG_H_RESERVED + 4 * i) != 0)
            return fail(ex, TML_ERR_FORMAT, -1, "package: reserved header field not zero");

    total = rd32(pkg + TML_PKG_H_TOTAL_BYTES);
    if (total > size)
        return fail(ex, TML_ERR_FORMAT, -1, "package: truncated (total_bytes > size)");
    nt = rd32(pkg + TML_PKG_H_N_TENSORS);
    tensors_off = rd32(pkg + TML_PKG_H_TENSORS_OFFSET);
    steps_off = rd32(pkg + TML_PKG_H_STEPS_OFFSET);
    steps_bytes = rd32(pkg + TML_PKG_H_STEPS_BYTES);
    params_off = rd32(pkg + TML_PKG_H_PARAMS_OFFSET);
    params_bytes = rd32(pkg + TML_PKG_H_PARAMS_BYTES);
    weights_off = rd32(pkg + TML_PKG_H_WEIGHTS_OFFSET);
    weights_bytes = rd32(pkg + TML_PKG_H_WEIGHTS_BYTES);
    if (tensors_off != TML_PKG_HEADER_BYTES ||
        steps_off != tensors_off + nt * TML_PKG_TENSOR_BYTES ||
        params_off != steps_off + steps_bytes || steps_bytes % 4 || params_bytes % 4 ||
        weights_off != ((params_off + params_bytes + TML_PKG_WEIGHTS_ALIGN - 1) &
                        ~(uint64_t)(TML_PKG_WEIGHTS_ALIGN - 1)) ||
        total != weights_off + weights_bytes)
        return fail(ex, TML_ERR_FORMAT, -1, "package: inconsistent section layout");
    for (i = (uint32_t)(params_off + params_bytes); i < weights_off; i++)
        if (pkg[i] != 0)
            return fail(ex, TML_ERR_FORMAT, -1, "package: padding before weights not zero");

    if (rd32(pkg + TML_PKG_H_KERNEL_ABI) != tml_pkg_kernel_abi())
        return fail(ex, TML_ERR_UNSUPPORTED, -1,
                    "package: written for a different kernel table (kernel_abi mismatch)");

    tml_pkg_hash(pkg, (uint32_t)total, digest);
    if (memcmp(digest, pkg + TML_PKG_H_SHA256, TML_SHA256_BYTES) != 0)
        return fail(ex, TML_ERR_VERIFY, -1, "package: sha-256 does not match");

    ex->n_tensors = (uint32_t)nt;
    ex->n_steps = rd32(pkg + TML_PKG_H_N_STEPS);
    ex->tensors = pkg + tensors_off;
    ex->steps = pkg + steps_off;
    ex->steps_bytes = (uint32_t)steps_bytes;
    ex->params = pkg + params_off;
    ex->params_size = (uint32_t)params_bytes;
    ex->weights = pkg + weights_off;
    ex->weights_size = (uint32_t)weights_bytes;
    ex->required_arena = rd32(pkg + TML_PKG_H_ARENA_BYTES);
    return TML_OK;
}

static tml_status load_tensors(tml_exec *ex)
{
    uint32_t t;
    for (t = 0; t < ex->n_tensors; t++) {
        const uint8_t *e = ex->tensors + (size_t)t * TML_PKG_TENSOR_BYTES;
        uint32_t dtype = rd32(e + TML_PKG_T_DTYPE), rank = rd32(e + TML_PKG_T_RANK);
        uint32_t bytes = rd32(e + TML_PKG_T_BYTES), storage = rd32(e + TML_PKG_T_STORAGE);
        uint32_t off = rd32(e + TML_PKG_T_OFFSET), esize, d;
        uint64_t n = 1, limit;
        if (dtype > 0xff || (esize = (uint32_t)tml_dtype_size((tml_dtype)dtype)) == 0 ||
            dtype == TML_DT_STRING)
            return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: invalid dtype");
        if (rank > TML_MAX_RANK)
            return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: rank above 8");
        for (d = 0; d < TML_MAX_RANK; d++) {
            uint32_t dim = rd32(e + TML_PKG_T_DIMS + 4 * d);
            if (d >= rank) {
                if (dim != 0)
                    return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: dim beyond rank not 0");
                continue;
            }
            if (dim > 0x7fffffffu)
                return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: negative dim");
            n *= dim;
            if (n > 0xffffffffu)
                return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: element count overflows");
        }
        if (n * esize != bytes)
            return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: bytes != product(dims) * size");
        if (storage == 0)
            limit = ex->required_arena;
        else if (storage == 1)
            limit = ex->weights_size;
        else
            return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: unknown storage");
        if ((uint64_t)off + bytes > limit)
            return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: offset + bytes outside its section");
        if (off % tensor_align(esize))
            return fail(ex, TML_ERR_FORMAT, (int32_t)t, "tensor: misaligned offset");
    }
    return TML_OK;
}

static tml_status load_io(tml_exec *ex, const uint8_t *pkg)
{
    uint32_t i, n_in = rd32(pkg + TML_PKG_H_N_INPUTS), n_out = rd32(pkg + TML_PKG_H_N_OUTPUTS);
    if (n_in > TML_EXEC_MAX_IO || n_out > TML_EXEC_MAX_IO)
        return fail(ex, TML_ERR_FORMAT, -1, "package: more than 16 inputs or outputs");
    for (i = 0; i < TML_EXEC_MAX_IO; i++) {
        uint32_t a = rd32(pkg + TML_PKG_H_INPUTS + 4 * i);
        uint32_t b = rd32(pkg + TML_PKG_H_OUTPUTS + 4 * i);
        if ((i < n_in) != (a != TML_PKG_NONE) || (i < n_out) != (b != TML_PKG_NONE))
            return fail(ex, TML_ERR_FORMAT, -1, "package: bad input/output slot");
        if ((i < n_in && a >= ex->n_tensors) || (i < n_out && b >= ex->n_tensors))
            return fail(ex, TML_ERR_FORMAT, -1, "package: input/output tensor id out of range");
        if ((i < n_in && rd32(ex->tensors + (size_t)a * TML_PKG_TENSOR_BYTES +
                                  TML_PKG_T_STORAGE) != 0) ||
            (i < n_out &&
             rd32(ex->tensors + (size_t)b * TML_PKG_TENSOR_BYTES + TML_PKG_T_STORAGE) != 0))
            return fail(ex, TML_ERR_FORMAT, -1, "package: input/output tensor not in the arena");
        ex->inputs[i] = a;
        ex->outputs[i] = b;
    }
    ex->n_inputs = n_in;
    ex->n_outputs = n_out;
    return TML_OK;
}

/* Bytes and storage of tensor id (already validated); absent ids have 0 bytes. */
static uint32_t tensor_bytes(const tml_exec *ex, uint32_t id)
{
    if (id == TML_PKG_NONE)
        return 0;
    return rd32(ex->tensors + (size_t)id * TML_PKG_TENSOR_BYTES + TML_PKG_T_BYTES);
}

static const void *tensor_ptr(const tml_exec *ex, uint32_t id)
{
    const uint8_t *e;
    uint32_t off;
    if (id == TML_PKG_NONE)
        return NULL;
    e = ex->tensors + (size_t)id * TML_PKG_TENSOR_BYTES;
    off = rd32(e + TML_PKG_T_OFFSET);
    if (rd32(e + TML_PKG_T_STORAGE))
        return ex->weights + off;
    return ex->arena ? (const void *)(ex->arena + off) : NULL; /* empty arena */
}

static tml_status load_steps(tml_exec *ex)
{
    uint32_t s, pos = 0;
    for (s = 0; s < ex->n_steps; s++) {
        const uint8_t *e;
        uint32_t kid, n_in, n_out, p_off, p_bytes, sc_off, sc_bytes, i;
        uint32_t in_bytes[TML_EXEC_MAX_IO], out_bytes[TML_EXEC_MAX_IO];
        const tml_kernel_info *ki;
        if ((uint64_t)pos + TML_PKG_STEP_FIXED_BYTES > ex->steps_bytes)
            return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: table truncated");
        e = ex->steps + pos;
        kid = rd32(e + TML_PKG_S_KERNEL);
        n_in = rd32(e + TML_PKG_S_N_IN);
        n_out = rd32(e + TML_PKG_S_N_OUT);
        p_off = rd32(e + TML_PKG_S_PARAMS_OFFSET);
        p_bytes = rd32(e + TML_PKG_S_PARAMS_BYTES);
        sc_off = rd32(e + TML_PKG_S_SCRATCH_OFFSET);
        sc_bytes = rd32(e + TML_PKG_S_SCRATCH_BYTES);
        if (n_in > TML_EXEC_MAX_IO || n_out > TML_EXEC_MAX_IO)
            return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: more than 16 inputs or outputs");
        if ((uint64_t)pos + TML_PKG_STEP_FIXED_BYTES + 4u * (n_in + n_out) > ex->steps_bytes)
            return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: table truncated");
        for (i = 0; i < n_in + n_out; i++) {
            uint32_t id = rd32(e + TML_PKG_S_IDS + 4 * i);
            if (id == TML_PKG_NONE && i >= n_in)
                return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: absent output tensor");
            if (id == TML_PKG_NONE)
                continue; /* absent optional input: the kernel gets NULL and 0 bytes */
            if (id >= ex->n_tensors)
                return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: tensor id out of range");
            if (i >= n_in &&
                rd32(ex->tensors + (size_t)id * TML_PKG_TENSOR_BYTES + TML_PKG_T_STORAGE) != 0)
                return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: writes a constant tensor");
        }
        for (i = 0; i < n_in; i++)
            in_bytes[i] = tensor_bytes(ex, rd32(e + TML_PKG_S_IDS + 4 * i));
        for (i = 0; i < n_out; i++)
            out_bytes[i] = tensor_bytes(ex, rd32(e + TML_PKG_S_IDS + 4 * (n_in + i)));
        if (kid == TML_K_NONE || kid >= (uint32_t)TML_K_COUNT)
            return fail(ex, TML_ERR_UNSUPPORTED, (int32_t)s, "step: unknown kernel id");
        ki = tml_kernel_get_info((tml_kernel_id)kid);
        if (!ki || !ki->fn || !ki->check)
            return fail(ex, TML_ERR_UNSUPPORTED, (int32_t)s,
                        "step: kernel not compiled into this firmware");
        if (p_bytes != ki->params_size)
            return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: params size != kernel's");
        if (p_off % 4 || (uint64_t)p_off + p_bytes > ex->params_size)
            return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: params outside the params blob");
        if (sc_bytes == 0 ? sc_off != 0
                          : (sc_off % 4 || (uint64_t)sc_off + sc_bytes > ex->required_arena))
            return fail(ex, TML_ERR_FORMAT, (int32_t)s, "step: scratch outside the arena");
        if (ki->check(ex->params + p_off, p_bytes, in_bytes, (int)n_in, out_bytes, (int)n_out,
                      sc_bytes) != TML_OK)
            return fail(ex, TML_ERR_FORMAT, (int32_t)s,
                        "step: kernel check refused its params and buffer sizes");
        pos += TML_PKG_STEP_FIXED_BYTES + 4u * (n_in + n_out);
    }
    if (pos != ex->steps_bytes)
        return fail(ex, TML_ERR_FORMAT, -1, "step: bytes left over after the last step");
    return TML_OK;
}

tml_status tml_exec_load(tml_exec *ex, const uint8_t *pkg, uint32_t size, uint8_t *arena,
                         uint32_t arena_size)
{
    tml_status st;
    if (!ex)
        return TML_ERR_ARG;
    memset(ex, 0, sizeof(*ex));
    ex->error_at = -1;
    if (!pkg || ((uintptr_t)pkg & 3u))
        return fail(ex, TML_ERR_ARG, -1, "package: NULL or not 4-byte aligned");
    if ((arena_size && !arena) || ((uintptr_t)arena & 3u))
        return fail(ex, TML_ERR_ARG, -1, "arena: NULL or not 4-byte aligned");
    ex->pkg = pkg;
    ex->pkg_size = size;
    ex->arena = arena;
    ex->arena_size = arena_size;
    if ((st = load_header(ex, pkg, size)) != TML_OK)
        return st;
    if (ex->required_arena > arena_size)
        return fail(ex, TML_ERR_FIT, -1, "arena: smaller than the package needs");
    if ((st = load_tensors(ex)) != TML_OK || (st = load_io(ex, pkg)) != TML_OK ||
        (st = load_steps(ex)) != TML_OK)
        return st;
    ex->error = NULL;
    ex->error_at = -1;
    ex->loaded = 1;
    return TML_OK;
}

static void *io_ptr(tml_exec *ex, uint32_t id, uint32_t *bytes)
{
    if (bytes)
        *bytes = tensor_bytes(ex, id);
    return (void *)tensor_ptr(ex, id); /* inputs and outputs are arena tensors (checked) */
}

void *tml_exec_input(tml_exec *ex, uint32_t i, uint32_t *bytes)
{
    if (!ex || !ex->loaded || i >= ex->n_inputs)
        return NULL;
    return io_ptr(ex, ex->inputs[i], bytes);
}

void *tml_exec_output(tml_exec *ex, uint32_t i, uint32_t *bytes)
{
    if (!ex || !ex->loaded || i >= ex->n_outputs)
        return NULL;
    return io_ptr(ex, ex->outputs[i], bytes);
}

tml_status tml_exec_run(tml_exec *ex)
{
    uint32_t s, pos = 0;
    if (!ex || !ex->loaded)
        return TML_ERR_STATE;
    for (s = 0; s < ex->n_steps; s++) {
        const uint8_t *e = ex->steps + pos;
        uint32_t n_in = rd32(e + TML_PKG_S_N_IN), n_out = rd32(e + TML_PKG_S_N_OUT), i;
        uint32_t sc_bytes = rd32(e + TML_PKG_S_SCRATCH_BYTES);
        const void *in[TML_EXEC_MAX_IO];
        void *out[TML_EXEC_MAX_IO];
        const tml_kernel_info *ki = tml_kernel_get_info((tml_kernel_id)rd32(e + TML_PKG_S_KERNEL));
        for (i = 0; i < n_in; i++)
            in[i] = tensor_ptr(ex, rd32(e + TML_PKG_S_IDS + 4 * i));
        for (i = 0; i < n_out; i++)
            out[i] = (void *)tensor_ptr(ex, rd32(e + TML_PKG_S_IDS + 4 * (n_in + i)));
        ki->fn(ex->params + rd32(e + TML_PKG_S_PARAMS_OFFSET), in, out,
               sc_bytes ? ex->arena + rd32(e + TML_PKG_S_SCRATCH_OFFSET) : NULL);
        pos += TML_PKG_STEP_FIXED_BYTES + 4u * (n_in + n_out);
    }
    return TML_OK;
}
