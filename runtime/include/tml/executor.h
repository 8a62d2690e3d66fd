/*
 * executor.h - the device-side executor: loads a model package and runs its steps.
 *
 * No malloc, no stdio: the caller provides the package bytes (4-byte aligned, kept alive while
 * the executor is used) and an arena of at least tml_pkg_arena_bytes(). tml_exec_load
 * validates the whole package once - header, hash, every table entry, every offset and size
 * against its section and the arena, every step's parameters with its kernel's _check - so a
 * corrupt or hostile package is refused with a status and never read out of bounds.
 */
#ifndef TML_EXECUTOR_H
#define TML_EXECUTOR_H

#include <stdint.h>

#include "tml/kernels.h"
#include "tml/rt.h"

#define TML_EXEC_MAX_IO 16

typedef struct {
    const uint8_t *pkg;
    uint32_t pkg_size;
    uint8_t *arena;
    uint32_t arena_size;
    /* parsed section pointers and counts (filled by tml_exec_load) */
    const uint8_t *tensors, *steps, *params, *weights;
    uint32_t n_tensors, n_steps, params_size, weights_size;
    uint32_t n_inputs, n_outputs;
    uint32_t inputs[TML_EXEC_MAX_IO], outputs[TML_EXEC_MAX_IO];
    uint32_t required_arena;
    const char *error; /* static string describing the last failure */
} tml_exec;

/* Arena bytes the package needs (0 if the header is invalid). */
uint32_t tml_pkg_arena_bytes(const uint8_t *pkg, uint32_t size);

tml_status tml_exec_load(tml_exec *ex, const uint8_t *pkg, uint32_t size, uint8_t *arena,
                         uint32_t arena_size);
void *tml_exec_input(tml_exec *ex, uint32_t i, uint32_t *bytes);
void *tml_exec_output(tml_exec *ex, uint32_t i, uint32_t *bytes);
tml_status tml_exec_run(tml_exec *ex);

#endif /* TML_EXECUTOR_H */
