/*
 * select_fast.h - rewrites a lowered reference step into a fast kernel variant where one
 * applies (runtime/include/tml/kernels_fast.def). See select_fast.c.
 */
#ifndef TML_SELECT_FAST_H
#define TML_SELECT_FAST_H

#include "ops/ops.h"

/*
 * If step (just filled by tml_op_lower for node) runs a reference kernel that has a fast
 * variant whose conditions hold, rewrites it in place: kernel id, params, scratch_bytes and,
 * for pre-packed weights, the input tensor (a new constant tensor added to g). Otherwise, or
 * if memory runs out, leaves step untouched: the reference kernel is always a valid choice.
 * Never sets an error on g.
 */
void tml_select_fast_kernel(tml_graph *g, int node, tml_step_desc *step);

#endif /* TML_SELECT_FAST_H */
