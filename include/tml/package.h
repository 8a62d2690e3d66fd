/*
 * package.h - host-side helpers for model packages (.tmlpkg) beyond writing them
 * (tml_package_build/_save are in codegen.h): a validating, readable dump for `inspect`.
 *
 * The dump loads the package with the device executor first (same validation as a device,
 * with a malloc'd arena), so what it prints has passed every check a device would make.
 */
#ifndef TML_PACKAGE_H
#define TML_PACKAGE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tml/rt.h"

/* Validates pkg (any alignment; copied internally) and prints its header, I/O, tensor table
 * and steps (with kernel names) to f. On a refused package, err says why (the executor's
 * message and the tensor or step index). */
tml_status tml_package_print(const uint8_t *pkg, size_t len, FILE *f, char *err, size_t errsz);

#endif /* TML_PACKAGE_H */
