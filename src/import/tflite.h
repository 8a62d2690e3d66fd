/*
 * tflite.h - the TensorFlow Lite importer (src/import/tflite.c).
 */
#ifndef TML_IMPORT_TFLITE_H
#define TML_IMPORT_TFLITE_H

#include <stddef.h>
#include <stdint.h>

#include "tml/ir.h"

/* Imports subgraph 0 of a .tflite flatbuffer into the empty graph g; `source` names the file
 * in messages. */
tml_status tml_import_tflite(tml_graph *g, const uint8_t *data, size_t size, const char *source);

#endif
