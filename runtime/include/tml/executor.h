/*
 * executor.h - the device-side executor: loads a model package and runs its steps.
 *
 * No malloc, no stdio: the caller provides the package bytes (4-byte aligned, kept alive while
 * the executor is used) and an arena of at least tml_pkg_arena_bytes() (4-byte aligned).
 * tml_exec_load validates the whole package once - header, hash, every table entry, every
 * offset and size against its section and the arena, every step's parameters with its kernel's
 * _check - so a corrupt or hostile package is refused with a status and never read out of
 * bounds. tml_exec_run then trusts what it validated.
 *
 * The format (docs/package-format.md) is described by the TML_PKG_* constants below, shared by
 * the writer (src/codegen/package.c) and this reader. All integers are little-endian u32.
 */
#ifndef TML_EXECUTOR_H
#define TML_EXECUTOR_H

#include <stdint.h>

#include "tml/kernels.h"
#include "tml/rt.h"

#define TML_EXEC_MAX_IO 16

/* ---- package format, version 1 ---- */
#define TML_PKG_MAGIC "TMLP"
#define TML_PKG_VERSION 1u
#define TML_PKG_HEADER_BYTES 256u   /* fixed header; body = [header_bytes, total_bytes) */
#define TML_PKG_TENSOR_BYTES 52u    /* one tensor table entry */
#define TML_PKG_STEP_FIXED_BYTES 28u /* step entry without its tensor ids */
#define TML_PKG_MAX_IO 16u          /* graph inputs/outputs, and tensors per step side */
#define TML_PKG_NONE 0xFFFFFFFFu    /* absent tensor id (optional input, unused I/O slot) */
#define TML_PKG_WEIGHTS_ALIGN 16u

/* Byte offsets of the header fields (u32 unless noted). */
enum {
    TML_PKG_H_MAGIC = 0,           /* 4 bytes "TMLP" */
    TML_PKG_H_VERSION = 4,         /* TML_PKG_VERSION */
    TML_PKG_H_HEADER_BYTES = 8,    /* TML_PKG_HEADER_BYTES */
    TML_PKG_H_FLAGS = 12,          /* 0; reserved for future use */
    TML_PKG_H_TOTAL_BYTES = 16,    /* whole package */
    TML_PKG_H_KERNEL_ABI = 20,     /* tml_pkg_kernel_abi() of the writer */
    TML_PKG_H_ARENA_BYTES = 24,    /* arena the package needs */
    TML_PKG_H_N_TENSORS = 28,
    TML_PKG_H_N_STEPS = 32,
    TML_PKG_H_N_INPUTS = 36,
    TML_PKG_H_N_OUTPUTS = 40,
    TML_PKG_H_TENSORS_OFFSET = 44, /* == header_bytes */
    TML_PKG_H_STEPS_OFFSET = 48,   /* == tensors_offset + n_tensors * TML_PKG_TENSOR_BYTES */
    TML_PKG_H_STEPS_BYTES = 52,
    TML_PKG_H_PARAMS_OFFSET = 56,  /* == steps_offset + steps_bytes */
    TML_PKG_H_PARAMS_BYTES = 60,   /* multiple of 4 */
    TML_PKG_H_WEIGHTS_OFFSET = 64, /* == align16(params_offset + params_bytes) */
    TML_PKG_H_WEIGHTS_BYTES = 68,  /* total_bytes == weights_offset + weights_bytes */
    TML_PKG_H_RESERVED = 72,       /* 6 x u32, all 0 */
    TML_PKG_H_INPUTS = 96,         /* 16 x u32 tensor ids; unused slots TML_PKG_NONE */
    TML_PKG_H_OUTPUTS = 160,       /* 16 x u32 tensor ids; unused slots TML_PKG_NONE */
    TML_PKG_H_SHA256 = 224         /* 32 bytes: tml_pkg_hash (all bytes but these 32) */
};

/* Byte offsets inside a tensor table entry (u32 each). */
enum {
    TML_PKG_T_DTYPE = 0,    /* tml_dtype */
    TML_PKG_T_RANK = 4,     /* 0..TML_MAX_RANK */
    TML_PKG_T_DIMS = 8,     /* TML_MAX_RANK x u32; entries >= rank are 0 */
    TML_PKG_T_BYTES = 40,   /* product(dims) * dtype size */
    TML_PKG_T_STORAGE = 44, /* 0 = arena, 1 = weights (const) */
    TML_PKG_T_OFFSET = 48   /* in the arena or the weights blob; multiple of 4 (8 for 8-byte) */
};

/* Byte offsets inside a step entry (u32 each), followed by n_in + n_out tensor ids. */
enum {
    TML_PKG_S_KERNEL = 0,         /* tml_kernel_id */
    TML_PKG_S_N_IN = 4,
    TML_PKG_S_N_OUT = 8,
    TML_PKG_S_PARAMS_OFFSET = 12, /* in the params blob; multiple of 4 */
    TML_PKG_S_PARAMS_BYTES = 16,  /* == the kernel's params_size */
    TML_PKG_S_SCRATCH_OFFSET = 20, /* in the arena; 0 if scratch_bytes == 0 */
    TML_PKG_S_SCRATCH_BYTES = 24,
    TML_PKG_S_IDS = 28            /* n_in input ids, then n_out output ids */
};

typedef struct {
    const uint8_t *pkg;
    uint32_t pkg_size;
    uint8_t *arena;
    uint32_t arena_size;
    /* parsed section pointers and counts (filled by tml_exec_load) */
    const uint8_t *tensors, *steps, *params, *weights;
    uint32_t n_tensors, n_steps, params_size, weights_size;
    uint32_t steps_bytes;
    uint32_t n_inputs, n_outputs;
    uint32_t inputs[TML_EXEC_MAX_IO], outputs[TML_EXEC_MAX_IO];
    uint32_t required_arena;
    const char *error; /* static string describing the last failure, NULL if none */
    int32_t error_at;  /* tensor or step index the error refers to, -1 if none */
    int loaded;        /* 1 after a successful tml_exec_load */
} tml_exec;

/* The package's SHA-256: over header bytes [0, 224) followed by the body [256, total_bytes),
 * i.e. every byte except the hash field itself, so no header field can be altered unnoticed.
 * total_bytes must be >= TML_PKG_HEADER_BYTES. */
void tml_pkg_hash(const uint8_t *pkg, uint32_t total_bytes, uint8_t out[32]);

/* Arena bytes the package needs (0 if the header is invalid). */
uint32_t tml_pkg_arena_bytes(const uint8_t *pkg, uint32_t size);

/* A 32-bit fingerprint (FNV-1a) of this build's kernel table: every kernel's name and params
 * size in id order. A package records its writer's value; a reader with a different kernel
 * table (ids would mean different kernels) refuses the package. */
uint32_t tml_pkg_kernel_abi(void);

tml_status tml_exec_load(tml_exec *ex, const uint8_t *pkg, uint32_t size, uint8_t *arena,
                         uint32_t arena_size);
/* Buffer of graph input/output i in the arena and its size; NULL if i is out of range or the
 * executor is not loaded. */
void *tml_exec_input(tml_exec *ex, uint32_t i, uint32_t *bytes);
void *tml_exec_output(tml_exec *ex, uint32_t i, uint32_t *bytes);
tml_status tml_exec_run(tml_exec *ex);

#endif /* TML_EXECUTOR_H */
