/*
 * runtime_sources.c - lookup in the embedded runtime sources.
 */
#include <string.h>

#include "codegen/runtime_sources.h"

const tml_embedded_file *tml_runtime_source_find(const char *path)
{
    const tml_embedded_file *f;
    for (f = tml_runtime_sources; f->path; f++)
        if (strcmp(f->path, path) == 0)
            return f;
    return NULL;
}
