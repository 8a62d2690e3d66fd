/*
 * plan_internal.h - the seam between the plan builder and the op table.
 *
 * tml_plan_build lowers nodes with tml_op_lower. tml_plan_build_lowered takes the lowering as
 * a function instead, so the planner's own tests can describe steps (views, in-place, scratch)
 * directly, independent of what the op families implement, and so can tools that lower nodes
 * differently (e.g. a target with its own kernels). Nothing else differs.
 */
#ifndef TML_PLAN_INTERNAL_H
#define TML_PLAN_INTERNAL_H

#include "ops/ops.h"
#include "tml/plan.h"

typedef tml_status (*tml_plan_lower_fn)(tml_graph *g, int node, tml_step_desc *step, void *ctx);

tml_status tml_plan_build_lowered(tml_graph *g, const tml_plan_options *o, tml_plan_lower_fn lower,
                                  void *ctx, tml_plan **out);

/* Multiply-accumulates of one node from its shapes (0 for ops that have none). */
uint64_t tml_plan_node_macs(const tml_graph *g, int node);

#endif /* TML_PLAN_INTERNAL_H */
