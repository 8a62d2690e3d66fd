/*
 * file.c - tml_import_file: read a model file and hand it to the importer its bytes call for.
 *
 * The format is decided by content, not by file extension: a TFLite flatbuffer carries the file
 * identifier "TFL3" at bytes 4..7; everything else is tried as an ONNX ModelProto (protobuf has
 * no magic number, so ONNX is the fallback and the ONNX importer reports what is wrong).
 */
#include <stdlib.h>
#include <string.h>

#include "tml/import.h"
#include "tml/tensor_io.h"

#define MAX_MODEL_FILE ((size_t)1 << 30) /* 1 GiB, the same limit the importers apply */

tml_status tml_import_file(tml_graph *g, const char *path)
{
    uint8_t *data = NULL;
    size_t size = 0;
    char err[400];
    tml_status st;

    if (!g || !path)
        return g ? tml_graph_errorf(g, TML_ERR_ARG, "no model path given") : TML_ERR_ARG;
    st = tml_file_read(path, MAX_MODEL_FILE, &data, &size, err, sizeof err);
    if (st)
        return tml_graph_errorf(g, st, "%s", err);
    if (size >= 8 && memcmp(data + 4, "TFL3", 4) == 0)
        st = tml_import_tflite(g, data, size, path);
    else
        st = tml_import_onnx(g, data, size, path);
    free(data);
    return st;
}
