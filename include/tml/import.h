/*
 * import.h - model importers: bytes of a model file -> tml_graph.
 *
 * Model files are untrusted. An importer bounds every read, checks every count, index and
 * size before use, and on failure leaves a one-line message in the graph naming the file and,
 * where there is one, the node and op ("model.onnx: node 'conv1' (Conv): attribute 'pads' has
 * 3 values, expected 4"). Every importer has a fuzz target in fuzz/.
 */
#ifndef TML_IMPORT_H
#define TML_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "tml/ir.h"

/* Imports an ONNX ModelProto from memory into g (which must be empty). `source` names the
 * file in messages. Any opset of the default domain is accepted (g->opset records it; the
 * corpus has opset 6 models); ops of other domains are reported as unsupported. */
tml_status tml_import_onnx(tml_graph *g, const uint8_t *data, size_t size, const char *source);

/* Imports subgraph 0 of a TensorFlow Lite flatbuffer from memory into g (which must be
 * empty); see src/import/tflite.c. */
tml_status tml_import_tflite(tml_graph *g, const uint8_t *data, size_t size, const char *source);

/* Reads the file and calls the importer its contents call for (ONNX, or TFLite when that
 * importer exists: file identifier "TFL3" at offset 4). */
tml_status tml_import_file(tml_graph *g, const char *path);

#endif /* TML_IMPORT_H */
