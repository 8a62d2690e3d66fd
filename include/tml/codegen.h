/*
 * codegen.h - the two carriers of a plan: C sources and the model package (.tmlpkg).
 *
 * C: DIR/model.c and DIR/model.h (weights as static const, one static arena, one entry
 * function, a comment per node with its original name), plus DIR/tml/ with exactly the
 * runtime headers and kernel sources the plan uses (copied from the sources embedded at build
 * time). `cc -std=c99 -Wall -Wextra -Werror -I DIR DIR/[star].c DIR/tml/[star].c -lm` builds
 * it (where [star] is the shell glob).
 *
 * Generated API, with PREFIX from the options ("model" by default):
 *   #define PREFIX_ARENA_BYTES, PREFIX_NUM_INPUTS, PREFIX_NUM_OUTPUTS
 *   void *PREFIX_input(int i);   size_t PREFIX_input_bytes(int i);
 *   void *PREFIX_output(int i);  size_t PREFIX_output_bytes(int i);
 *   int PREFIX_run(void);        (0 = ok)
 *
 * Package: the same plan and weights serialized (format in docs/package-format.md): header
 * with magic "TMLP", format version, sizes and a SHA-256 of the body; then tensor table, step
 * table, params, weights. runtime/exec loads and validates it (see tml/executor.h).
 */
#ifndef TML_CODEGEN_H
#define TML_CODEGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/plan.h"

typedef struct {
    const char *prefix;  /* identifier prefix of the generated API; default "model" */
    bool harness;        /* also write DIR/main.c: `prog in0.bin ... out0.bin ...` reads each
                            input's raw bytes from a file, runs, writes each output's bytes */
} tml_codegen_options;

void tml_codegen_options_default(tml_codegen_options *o);

/* Writes the C carrier into dir (created if missing). Errors name the file involved. */
tml_status tml_codegen_c(const tml_plan *p, const char *dir, const tml_codegen_options *o,
                         char *err, size_t errsz);

/* Serializes the plan into a malloc'd buffer. */
tml_status tml_package_build(const tml_plan *p, uint8_t **buf, size_t *len, char *err,
                             size_t errsz);
tml_status tml_package_save(const tml_plan *p, const char *path, char *err, size_t errsz);

#endif /* TML_CODEGEN_H */
