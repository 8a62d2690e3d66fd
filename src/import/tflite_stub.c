/*
 * tflite_stub.c - placeholder for tml_import_tflite until the TFLite importer exists.
 *
 * tml_import_file already routes files with the "TFL3" identifier here, so the day a real
 * importer replaces this file nothing else changes. Until then a TFLite model gets a clear
 * "not available" instead of being misread as a corrupt ONNX file.
 */
#include "tml/import.h"

tml_status tml_import_tflite(tml_graph *g, const uint8_t *data, size_t size, const char *source)
{
    (void)data;
    (void)size;
    return tml_graph_errorf(g, TML_ERR_UNSUPPORTED, "%s: tflite import is not available yet",
                            source && *source ? source : "model.tflite");
}
