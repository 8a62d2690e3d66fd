/*
 * runtime_sources.h - the runtime's source files embedded in the compiler at build time
 * (scripts/embed_runtime.cmake), so generated output can carry exactly the kernels it uses.
 */
#ifndef TML_RUNTIME_SOURCES_H
#define TML_RUNTIME_SOURCES_H

#include <stddef.h>

typedef struct {
    const char *path;           /* relative to the source root: "runtime/kernels/copy.c" */
    const unsigned char *data;  /* file bytes, NUL-terminated */
    size_t size;                /* without the NUL */
} tml_embedded_file;

/* Terminated by an entry with path == NULL. */
extern const tml_embedded_file tml_runtime_sources[];

/* The embedded file at path, or NULL. */
const tml_embedded_file *tml_runtime_source_find(const char *path);

#endif
