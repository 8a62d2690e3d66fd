/*
 * onnx_tensor.h - internal to src/import: checking and decoding one ONNX TensorProto.
 *
 * Both the model importer (initializers, Constant nodes, TENSOR attributes) and the .pb reader
 * in tensor_io.c turn a TensorProto into "dtype, dims, little-endian bytes". The work is split
 * in two so each caller allocates the bytes where it keeps them (graph arena or malloc):
 *   tml_onnx_tensor_check()  validates everything (dtype, rank, dims, element count of the field
 *                            that carries the data) and fills a tml_onnx_tensor_info;
 *   tml_onnx_tensor_copy()   writes exactly info.nbytes bytes to a buffer; it cannot fail.
 */
#ifndef TML_IMPORT_ONNX_TENSOR_H
#define TML_IMPORT_ONNX_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "tml/rt.h"

/* Largest dimension and element count accepted from a file: 2^31 and 2^40. The real limit is
 * the payload, which must match; these only keep the arithmetic far from overflow. */
#define TML_ONNX_MAX_DIM ((int64_t)1 << 31)
#define TML_ONNX_MAX_NUMEL ((int64_t)1 << 40)

typedef struct {
    tml_dtype dtype;
    int rank;
    int64_t dims[TML_MAX_RANK];
    int64_t numel;
    size_t nbytes; /* numel * element size */
} tml_onnx_tensor_info;

/* Validates tp. On failure writes "tensor 'NAME': ..." into err and returns the status
 * (TML_ERR_FORMAT for malformed data, TML_ERR_UNSUPPORTED for valid data we do not handle). */
tml_status tml_onnx_tensor_check(const Onnx__TensorProto *tp, tml_onnx_tensor_info *info,
                                 char *err, size_t errsz);

/* Writes info->nbytes bytes of tp's data, row-major little-endian, to dst. tp must have passed
 * tml_onnx_tensor_check with the same info. */
void tml_onnx_tensor_copy(const Onnx__TensorProto *tp, const tml_onnx_tensor_info *info,
                          void *dst);

/* Maps an ONNX data_type number to a tml_dtype; sets *st to TML_ERR_UNSUPPORTED for known ONNX
 * types we do not handle (string, bfloat16, complex, float8, int4, ...) and TML_ERR_FORMAT for
 * numbers ONNX does not define. Returns TML_DT_UNDEF on failure. */
tml_dtype tml_onnx_dtype(int64_t onnx_type, tml_status *st, const char **what);

/* A protobuf-c allocator with a memory budget: unpacking a message can inflate it many times
 * (a 2-byte empty NodeProto becomes a ~100-byte struct), so the unpacked size is capped at
 * 16 x the input + 64 MiB - far above what real models need (packed varint int64 data is the
 * worst legitimate case, 8x). Use &b.base as the allocator for unpack and free_unpacked. */
typedef struct {
    ProtobufCAllocator base;
    size_t used, budget;
} tml_pb_budget;

void tml_pb_budget_init(tml_pb_budget *b, size_t input_size);

#endif /* TML_IMPORT_ONNX_TENSOR_H */
