/*
 * compiler.h - the compiler as one call: model file -> graph -> passes -> plan, plus the size
 * report. The CLI, the conformance runner and the service's build step all go through here so
 * they agree on what a "compiled model" is.
 */
#ifndef TML_COMPILER_H
#define TML_COMPILER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/ir.h"
#include "tml/passes.h"
#include "tml/plan.h"

typedef struct {
    tml_pass_options passes;
    tml_plan_options plan;
    /* Shapes for graph inputs, overriding the model's (conformance data, --shape): input k gets
     * input_dims[k][0..input_rank[k]) when input_rank[k] >= 0. */
    int n_input_shapes;
    int input_rank[16];
    int64_t input_dims[16][TML_MAX_RANK];
    /* Inputs bound to constant values (input k becomes a constant holding bind_data[k], whose
     * size must match its shape): how the conformance runner gives ops like Reshape or Slice
     * the shape-like inputs a deployed model has as constants. Bound inputs leave the plan's
     * input list; the others keep their order. */
    const void *bind_data[16];
    size_t bind_bytes[16];
} tml_compile_options;

typedef struct {
    tml_graph *graph;
    tml_plan *plan;
    double seconds;  /* wall time of import + passes + plan */
} tml_model;

void tml_compile_options_default(tml_compile_options *o);

/* Imports and compiles path. On failure *out is NULL and err holds the one-line message
 * (starting with the file name); the status says what kind of failure (TML_ERR_UNSUPPORTED
 * for ops, attributes or dtypes we do not handle). */
tml_status tml_model_compile(const char *path, const tml_compile_options *o, tml_model **out,
                             char *err, size_t errsz);
void tml_model_free(tml_model *m);

/* Summary numbers of a compiled model. */
typedef struct {
    int ops;                 /* live nodes after passes */
    int steps;               /* kernel calls in the plan */
    uint64_t params;         /* elements of constant tensors the plan reads */
    uint64_t weight_bytes;   /* plan->weights_size */
    uint32_t arena_bytes;    /* plan->arena_size */
    uint32_t lower_bound;    /* liveness lower bound */
    uint64_t macs;
    int n_kernels;           /* distinct kernels */
} tml_model_stats;

void tml_model_get_stats(const tml_model *m, tml_model_stats *s);

/* The report as JSON text (malloc'd): the stats, op counts, kernels, memory strategies, notes,
 * inputs and outputs. */
char *tml_model_report_json(const tml_model *m);
/* The same, human-readable, to f. */
void tml_model_report_print(const tml_model *m, FILE *f);

#endif /* TML_COMPILER_H */
