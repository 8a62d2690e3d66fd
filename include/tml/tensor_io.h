/*
 * tensor_io.h - tensor values on the host and the files that carry them: NumPy .npy (read and
 * write) and serialized ONNX TensorProto .pb (read). Both readers face untrusted files: every
 * header field is checked, and the element count must match the payload exactly.
 */
#ifndef TML_TENSOR_IO_H
#define TML_TENSOR_IO_H

#include <stddef.h>
#include <stdint.h>

#include "tml/rt.h"

/* A tensor value owned by the caller: free with tml_value_release. */
typedef struct {
    char name[128];    /* TensorProto name or "" */
    tml_dtype dtype;
    int rank;
    int64_t dims[TML_MAX_RANK];
    void *data;        /* row-major, little-endian; malloc'd */
    size_t nbytes;
} tml_value;

void tml_value_release(tml_value *v);
int64_t tml_value_numel(const tml_value *v);
/* Allocates data for dtype/rank/dims (zeroed). */
tml_status tml_value_alloc(tml_value *v, tml_dtype dt, int rank, const int64_t *dims);

/* .npy: versions 1.0-3.0, C order, little-endian or byte-order-free dtypes:
 * <f4 |i1 |u1 <i2 <u2 <i4 <u4 <i8 <u8 <f8 |b1 <f2. */
tml_status tml_npy_parse(const uint8_t *buf, size_t size, tml_value *out, char *err, size_t errsz);
tml_status tml_npy_read(const char *path, tml_value *out, char *err, size_t errsz);
tml_status tml_npy_write(const char *path, const tml_value *v, char *err, size_t errsz);

/* ONNX TensorProto (raw_data or the typed fields float_data, int32_data, int64_data,
 * double_data, uint64_data). */
tml_status tml_pb_parse(const uint8_t *buf, size_t size, tml_value *out, char *err, size_t errsz);
tml_status tml_pb_read(const char *path, tml_value *out, char *err, size_t errsz);

/* Reads a whole file (malloc'd, NUL-terminated for convenience); refuses files over max. */
tml_status tml_file_read(const char *path, size_t max, uint8_t **data, size_t *size, char *err,
                         size_t errsz);

#endif /* TML_TENSOR_IO_H */
