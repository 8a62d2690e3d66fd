/*
 * interp.h - runs a plan on the host with the runtime kernels.
 *
 * The interpreter serializes the plan into a model package in memory and runs it with the same
 * executor a device uses (runtime/exec), so every interpreter run also exercises the package
 * format. The arena is malloc'd here, on the host side.
 */
#ifndef TML_INTERP_H
#define TML_INTERP_H

#include <stddef.h>

#include "tml/plan.h"

typedef struct tml_interp tml_interp;

tml_status tml_interp_new(const tml_plan *p, tml_interp **out, char *err, size_t errsz);
void tml_interp_free(tml_interp *it);
/* Buffers of graph input/output i inside the arena; NULL if i is out of range. */
void *tml_interp_input(tml_interp *it, int i, size_t *bytes);
void *tml_interp_output(tml_interp *it, int i, size_t *bytes);
tml_status tml_interp_run(tml_interp *it);

#endif /* TML_INTERP_H */
