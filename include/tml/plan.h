/*
 * plan.h - the execution plan: the single source of truth for what runs on a device.
 *
 * A plan is an ordered list of kernel calls (steps) over plan tensors. Every non-constant
 * tensor - graph inputs and outputs included - has an offset in one arena; constants live in
 * one weights blob. Views (Reshape, Flatten, Identity, ...) share their input's bytes and
 * produce no step unless a copy is unavoidable. Both carriers are written from this struct:
 * the generated C (codegen/) and the model package executed by runtime/exec.
 */
#ifndef TML_PLAN_H
#define TML_PLAN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tml/ir.h"
#include "tml/kernels.h"
#include "tml/memplan.h"

#define TML_PLAN_MAX_IO 16
#define TML_PLAN_ALIGN 16

typedef enum { TML_STORE_ARENA = 0, TML_STORE_CONST = 1 } tml_storage;

typedef struct {
    int tensor;            /* graph tensor index (for names, quantization) */
    const char *name;
    tml_dtype dtype;
    int rank;
    int32_t dims[TML_MAX_RANK];
    uint32_t bytes;
    tml_storage storage;
    uint32_t offset;       /* in the arena, or in plan->weights */
    int first, last;       /* steps that write first / read last (inputs: 0, outputs: n_steps-1) */
    int input_index;       /* k if graph input k, else -1 */
    int output_index;      /* k if graph output k, else -1 */
} tml_plan_tensor;

typedef struct {
    tml_kernel_id kernel;
    const void *params;    /* plan-owned copy */
    uint32_t params_size;
    int n_in, n_out;
    int in[TML_PLAN_MAX_IO];  /* plan tensor indices */
    int out[TML_PLAN_MAX_IO];
    uint32_t scratch_offset;  /* arena offset of this step's scratch (if scratch_bytes) */
    uint32_t scratch_bytes;
    int node;                 /* source graph node, for names and comments; -1 for the copy
                                 of a folded (constant) graph output that has no producer */
} tml_plan_step;

typedef struct {
    uint32_t align;        /* arena alignment, default TML_PLAN_ALIGN */
    bool inplace;          /* allow in-place reuse where an op permits it (default true) */
    const char *strategy;  /* force one memory strategy by name; NULL = try all, keep best */
    bool reference_kernels; /* true: keep the nn reference kernels; false (default): use the
                               fast variants where they apply (src/ops/select_fast.c) */
} tml_plan_options;

typedef struct tml_plan {
    tml_graph *graph;      /* not owned; must outlive the plan */
    tml_plan_tensor *tensors;
    int n_tensors;
    tml_plan_step *steps;
    int n_steps;
    int inputs[TML_PLAN_MAX_IO], n_inputs;   /* plan tensor indices, graph order */
    int outputs[TML_PLAN_MAX_IO], n_outputs;
    uint8_t *weights;      /* every constant a step reads, each 16-byte aligned */
    uint32_t weights_size;
    uint32_t arena_size;   /* peak */
    tml_mem_result mem;    /* strategies tried, lower bound */
    uint64_t macs;         /* multiply-accumulates per inference (conv, gemm, matmul) */
    struct tml_arena *arena;
    /* (n_tensors) or NULL. share[i] is the plan tensor whose bytes tensor i uses: i itself, or
     * one representative of its group (a view and its input, an in-place output and the input
     * it overwrote). Members of a group have the same offset. NULL (a plan filled by hand):
     * every tensor owns its bytes. tml_plan_check and the memory map use it. */
    int *share;
} tml_plan;

void tml_plan_options_default(tml_plan_options *o);

/* Lowers every live node (tml_op_lower), resolves views, computes lifetimes, places the arena
 * and checks the placement. The graph must have passed tml_passes_run. */
tml_status tml_plan_build(tml_graph *g, const tml_plan_options *o, tml_plan **out);
void tml_plan_free(tml_plan *p);

/* Proves no two tensors (or scratch areas) live at the same step overlap; writes the first
 * collision to err. Every test that builds a plan runs it. */
tml_status tml_plan_check(const tml_plan *p, char *err, size_t errsz);

/* Memory map: one line per arena buffer with offset, size, lifetime and name. */
void tml_plan_print_map(const tml_plan *p, FILE *f);

#endif /* TML_PLAN_H */
