/*
 * kernels.h - the runtime's kernel registry: ids, parameter structs, functions.
 *
 * Kernels are named tml_<op>_<dtype> (tml_conv2d_f32, tml_binary_s32), one per file in
 * runtime/kernels/, with the uniform signature tml_kernel_fn (see rt.h). Each family lists its
 * kernels in a .def file:
 *
 *   TML_KERNEL(ID, fn, params_type)
 *
 * giving the id TML_K_<ID>, the function tml_<fn>, its parameter struct, and a companion
 *   tml_status tml_<fn>_check(const void *params, uint32_t params_size,
 *                             const uint32_t *in_bytes, int n_in,
 *                             const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes);
 * that proves the parameters consistent with the buffer sizes (no kernel reads or writes out
 * of bounds if it returns TML_OK). The executor calls it once per step when it loads an
 * untrusted model package; kernels themselves then trust their arguments.
 *
 * Parameter structs hold only 4-byte fields (int32_t, uint32_t, float), so they have no padding
 * and a struct's bytes are its little-endian serialization in a model package.
 *
 * A firmware build that needs only some kernels defines TML_KERNELS_SELECTED and
 * TML_USE_<ID> for each kernel it wants; the dispatch table then references only those.
 */
#ifndef TML_KERNELS_H
#define TML_KERNELS_H

#include "tml/rt.h"
#include "tml/kernel_params.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TML_K_NONE = 0,
#define TML_KERNEL(id, fn, ptype) TML_K_##id,
#include "tml/kernels.def"
#undef TML_KERNEL
    TML_K_COUNT
} tml_kernel_id;

typedef tml_status (*tml_kernel_check_fn)(const void *params, uint32_t params_size,
                                          const uint32_t *in_bytes, int n_in,
                                          const uint32_t *out_bytes, int n_out,
                                          uint32_t scratch_bytes);

#define TML_KERNEL(id, fn, ptype)                                                              \
    void tml_##fn(const void *params, const void *const *in, void *const *out, void *scratch); \
    tml_status tml_##fn##_check(const void *params, uint32_t params_size,                      \
                                const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes, \
                                int n_out, uint32_t scratch_bytes);
#include "tml/kernels.def"
#undef TML_KERNEL

/* Static facts about a kernel. */
typedef struct {
    const char *name;          /* "conv2d_f32": function tml_conv2d_f32, file kernels/conv2d_f32.c */
    uint32_t params_size;      /* sizeof its params struct */
    tml_kernel_fn fn;          /* NULL if not compiled into this build */
    tml_kernel_check_fn check; /* NULL if not compiled into this build */
} tml_kernel_info;

/* Info for id, or NULL if id is out of range. */
const tml_kernel_info *tml_kernel_get_info(tml_kernel_id id);
/* Looks a kernel up by name ("conv2d_f32"); TML_K_NONE if unknown. */
tml_kernel_id tml_kernel_from_name(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* TML_KERNELS_H */
