/*
 * plan_run.h - test helper: runs a plan step by step with the runtime kernels, on an arena
 * filled with garbage (0xCD), scribbling over every step's scratch afterwards, so that a plan
 * whose buffers collide, or a kernel that counts on zeroed memory, shows up as wrong outputs.
 * Independent of the executor and package format on purpose: it tests the plan itself.
 * Header-only (static functions) so each test executable stays one file.
 */
#ifndef TML_TEST_PLAN_RUN_H
#define TML_TEST_PLAN_RUN_H

#include <stdlib.h>
#include <string.h>

#include "tml/kernels.h"
#include "tml/plan.h"

/* in[k] feeds graph input k, out[k] receives graph output k (bytes as in the plan).
 * Returns nonzero if a step has no kernel function in this build. */
static int tpr_run(const tml_plan *p, const void *const *in, void *const *out)
{
    uint8_t *arena = malloc((size_t)p->arena_size + 16);
    int s, k, j;
    if (!arena)
        return -1;
    memset(arena, 0xCD, (size_t)p->arena_size + 16);
    for (k = 0; k < p->n_inputs; k++) {
        const tml_plan_tensor *t = &p->tensors[p->inputs[k]];
        memcpy(arena + t->offset, in[k], t->bytes);
    }
    for (s = 0; s < p->n_steps; s++) {
        const tml_plan_step *ps = &p->steps[s];
        const void *ins[TML_PLAN_MAX_IO];
        void *outs[TML_PLAN_MAX_IO];
        const tml_kernel_info *ki = tml_kernel_get_info(ps->kernel);
        if (!ki || !ki->fn) {
            free(arena);
            return -1;
        }
        for (j = 0; j < ps->n_in; j++) {
            const tml_plan_tensor *t = ps->in[j] >= 0 ? &p->tensors[ps->in[j]] : NULL;
            ins[j] = !t ? NULL
                        : t->storage == TML_STORE_CONST ? (const void *)(p->weights + t->offset)
                                                        : (const void *)(arena + t->offset);
        }
        for (j = 0; j < ps->n_out; j++)
            outs[j] = ps->out[j] >= 0 ? arena + p->tensors[ps->out[j]].offset : NULL;
        ki->fn(ps->params, ins, outs, ps->scratch_bytes ? arena + ps->scratch_offset : NULL);
        if (ps->scratch_bytes)
            memset(arena + ps->scratch_offset, 0xEE, ps->scratch_bytes);
    }
    for (k = 0; k < p->n_outputs; k++) {
        const tml_plan_tensor *t = &p->tensors[p->outputs[k]];
        memcpy(out[k], arena + t->offset, t->bytes);
    }
    free(arena);
    return 0;
}

#endif
