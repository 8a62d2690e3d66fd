/*
 * rt.h - the base vocabulary shared by the device-side runtime and the host compiler.
 *
 * Everything here is plain C99 with no allocation and no I/O, so that the same header
 * compiles into a Cortex-M firmware image and into the host tools. The dtype numbering is
 * ONNX's TensorProto.DataType on purpose: importers and the .pb/.npy readers can pass the
 * number straight through, and a value seen in a debugger means the same thing everywhere.
 */
#ifndef TML_RT_H
#define TML_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest tensor rank anything in the project handles. ONNX allows more; importers refuse it. */
#define TML_MAX_RANK 8

/* Status of every action: 0 = ok, negative = error. The detail goes to a context's message. */
typedef enum {
    TML_OK = 0,
    TML_ERR = -1,             /* generic failure (see the context's message) */
    TML_ERR_NOMEM = -2,       /* allocation failed or a fixed pool is full */
    TML_ERR_IO = -3,          /* a file or socket operation failed */
    TML_ERR_FORMAT = -4,      /* malformed input: truncated, corrupt or hostile bytes */
    TML_ERR_UNSUPPORTED = -5, /* valid input we do not handle: op, attribute, dtype */
    TML_ERR_SHAPE = -6,       /* shapes or ranks do not agree */
    TML_ERR_ARG = -7,         /* bad argument from the caller */
    TML_ERR_NOT_FOUND = -8,   /* a named thing does not exist */
    TML_ERR_FIT = -9,         /* does not fit a budget (RAM, flash, arena) */
    TML_ERR_VERIFY = -10,     /* hash, signature or checker failure */
    TML_ERR_STATE = -11       /* operation not valid in the current state */
} tml_status;

const char *tml_status_str(tml_status s);

/* Element types, numbered as ONNX TensorProto.DataType. */
typedef enum {
    TML_DT_UNDEF = 0,
    TML_DT_F32 = 1,
    TML_DT_U8 = 2,
    TML_DT_S8 = 3,
    TML_DT_U16 = 4,
    TML_DT_S16 = 5,
    TML_DT_S32 = 6,
    TML_DT_S64 = 7,
    TML_DT_STRING = 8, /* never executed; named so importers can refuse it by name */
    TML_DT_BOOL = 9,   /* one byte per element, 0 or 1 */
    TML_DT_F16 = 10,
    TML_DT_F64 = 11,
    TML_DT_U32 = 12,
    TML_DT_U64 = 13
} tml_dtype;

/* Bytes per element; 0 for types that have no fixed size (UNDEF, STRING). */
size_t tml_dtype_size(tml_dtype dt);
/* Short lowercase name as ONNX spells it ("float32", "int8", ...); "?" if unknown. */
const char *tml_dtype_name(tml_dtype dt);

/*
 * Every kernel has this one signature, CMSIS-NN style argument order: parameters, inputs,
 * outputs, scratch. `params` points at the kernel's own parameter struct (all fields 4 bytes
 * wide, so a struct is also its own little-endian serialization). `in[i]`/`out[i]` are the
 * tensor buffers in the order the kernel documents. `scratch` is arena space of the size the
 * kernel's lowering asked for (NULL if none). Kernels trust their arguments: the executor and
 * the compiler validate them before any kernel runs.
 */
typedef void (*tml_kernel_fn)(const void *params, const void *const *in, void *const *out,
                              void *scratch);

#ifdef __cplusplus
}
#endif

#endif /* TML_RT_H */
