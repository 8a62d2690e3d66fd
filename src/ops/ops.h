/*
 * ops.h - the two hooks every op has, derived from include/tml/ops.def.
 *
 *   tml_shape_<fn>(g, node)  sets dtype, rank and dims of the node's outputs from its inputs
 *                            (and, for ops like Reshape, from constant input values). Called in
 *                            topological order, so inputs are already known. Errors through
 *                            tml_node_errorf (unsupported attribute, shape mismatch, ...).
 *
 *   tml_lower_<fn>(g, node, step)  picks the runtime kernel for the node's dtypes and fills
 *                            step: kernel id, parameter struct (graph-allocated), and the tensors
 *                            the kernel reads and writes, in the kernel's documented order.
 *                            A lowering may drop inputs that it folded into parameters (Clip's
 *                            min/max, Reshape's shape) or add none. Shapes are final here.
 *
 * The hooks live in src/ops/<family>.c (nn, elementwise, data, quant), one family per file.
 */
#ifndef TML_OPS_H
#define TML_OPS_H

#include "tml/ir.h"
#include "tml/kernels.h"

#define TML_STEP_MAX_IO 16

typedef struct {
    tml_kernel_id kernel;   /* TML_K_NONE: no call (see alias) */
    const void *params;     /* kernel's params struct, graph-allocated */
    uint32_t params_size;   /* sizeof that struct; multiple of 4 */
    uint32_t scratch_bytes; /* arena scratch the kernel needs during the call */
    int n_in;
    int in[TML_STEP_MAX_IO];  /* tensor indices, kernel order */
    int n_out;
    int out[TML_STEP_MAX_IO];
    /* Output 0 is a view of input `alias_of` (Reshape, Flatten, Squeeze, Unsqueeze, Identity,
     * Dropout): same bytes, new shape. The planner shares the buffer, or emits a copy where it
     * cannot (e.g. the input is a graph input and the output a graph output). -1 if not. */
    int alias_of;
    /* Output 0 may be written over input `inplace_of` (element-wise ops with equal sizes)
     * when that input dies at this step. -1 if not allowed. */
    int inplace_of;
} tml_step_desc;

/* Initialises a step descriptor to "no kernel, no alias, no in-place". */
void tml_step_desc_init(tml_step_desc *s);

#define TML_OP(e, fn, onnx, mini, maxi, mino, maxo, fam)                                       \
    tml_status tml_shape_##fn(tml_graph *g, int node);                                          \
    tml_status tml_lower_##fn(tml_graph *g, int node, tml_step_desc *step);
#include "tml/ops.def"
#undef TML_OP

/* Dispatch through the op table. */
tml_status tml_op_shape(tml_graph *g, int node);
tml_status tml_op_lower(tml_graph *g, int node, tml_step_desc *step);

#endif /* TML_OPS_H */
