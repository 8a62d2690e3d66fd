/*
 * memplan.h - placing buffers with known lifetimes in one arena so that the peak is small.
 *
 * Pure algorithm, no graph: a buffer is (size, first step, last step), live on every step in
 * [first, last]. Two buffers whose lifetimes overlap must not overlap in memory. Several
 * strategies are tried (greedy by size, by first use, by conflict count, and an exact
 * branch-and-bound search when the problem is small) and the best is kept. The liveness lower
 * bound - the largest total size live at one step - is what no placement can beat.
 */
#ifndef TML_MEMPLAN_H
#define TML_MEMPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/rt.h"

typedef struct {
    uint32_t size;   /* bytes (the planner rounds up to the alignment) */
    int first, last; /* live on steps first..last inclusive */
    uint32_t offset; /* result */
} tml_mem_buf;

typedef struct {
    const char *name; /* "greedy-size", ..., "local-search", "exact" (tml_mem_strategy_name) */
    uint32_t peak;
    bool optimal;     /* proven optimal (exact search finished, or peak == lower bound) */
} tml_mem_attempt;

typedef struct {
    uint32_t peak;          /* arena bytes of the chosen placement */
    uint32_t lower_bound;   /* liveness lower bound (after alignment) */
    const char *strategy;   /* name of the chosen strategy */
    tml_mem_attempt attempts[8];
    int n_attempts;
} tml_mem_result;

/* Places bufs (sets offset of each); align is a power of two (16 recommended). */
tml_status tml_mem_plan(tml_mem_buf *bufs, int n, uint32_t align, tml_mem_result *res);

uint32_t tml_mem_lower_bound(const tml_mem_buf *bufs, int n, uint32_t align);

/* True if no two buffers live at the same step overlap in memory and all fit in arena_size.
 * On failure writes which two buffers collide into err. */
bool tml_mem_check(const tml_mem_buf *bufs, int n, uint32_t arena_size, char *err, size_t errsz);

/* ---- additions (planner helper) ---- */

/* The strategies tml_mem_plan tries, in order: "greedy-size", "greedy-first-use",
 * "greedy-conflicts", "greedy-breadth", "bestfit-size", "greedy-area", then (if none reached
 * the lower bound) "exact" when the instance is small enough, else "local-search".
 * Returns the name of strategy i, or NULL if i is out of range. */
const char *tml_mem_strategy_name(int i);
int tml_mem_strategy_count(void);

/* Like tml_mem_plan, but runs only the named strategy (NULL = all, keep the best).
 * TML_ERR_NOT_FOUND if the name is unknown. res->attempts holds the one attempt. "exact" on
 * an instance too large for the search falls back to the best heuristic placement and says
 * so through res->strategy. */
tml_status tml_mem_plan_with(tml_mem_buf *bufs, int n, uint32_t align, const char *strategy,
                             tml_mem_result *res);

/* Upper limits of the exact search: at most this many buffers of non-zero size, and this many
 * search nodes (it stops there and keeps the best placement found; optimal = false). */
#define TML_MEM_EXACT_MAX_BUFS 24 /* bit masks of 32 bits */
#define TML_MEM_EXACT_MAX_NODES 200000L

#endif /* TML_MEMPLAN_H */
