/*
 * fuzz_pb.c - libFuzzer target for the TensorProto .pb reader (tml_pb_parse).
 *
 * Shares the tensor decoding with the ONNX importer (src/import/onnx_tensor.c), so this target
 * also hardens initializer parsing with short inputs that reach it directly.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tml/tensor_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tml_value v;
    char err[256];
    if (tml_pb_parse(data, size, &v, err, sizeof err) == TML_OK) {
        if (v.nbytes != (size_t)tml_value_numel(&v) * tml_dtype_size(v.dtype) || !v.data)
            abort();
        tml_value_release(&v);
    }
    return 0;
}
