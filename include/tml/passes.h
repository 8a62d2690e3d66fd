/*
 * passes.h - graph -> graph transformations, one file each in src/passes/.
 *
 * Each pass works in place on a graph, marks removed nodes dead instead of compacting (indices
 * stay valid), allocates from the graph's arena, and reports failure through tml_graph_errorf.
 * tml_passes_run() is the standard pipeline the CLI uses.
 */
#ifndef TML_PASSES_H
#define TML_PASSES_H

#include <stdbool.h>

#include "tml/ir.h"

typedef struct {
    bool fold_constants;   /* default true */
    bool fold_batchnorm;   /* default true */
    bool fuse_activations; /* default true */
    bool remove_dead;      /* default true */
    bool fuse_bias;        /* MatMul + constant-bias Add -> Gemm; default true */
    bool fuse_pad;         /* zero Pad of spatial dims -> the next Conv's pads; default true */
} tml_pass_options;

void tml_pass_options_default(tml_pass_options *o);

/* Static shapes for every tensor, in topological order, through each op's tml_shape_ hook,
 * folding each foldable node as soon as its shape is known (Shape -> ... -> Reshape chains).
 * A dynamic (negative, as importers write symbolic dims; 0 is an empty dim) leading dimension
 * of a graph input becomes 1 with a note; any other dynamic input dimension is an error naming
 * the input and the dimension. Graph inputs that carry data are constants: they are removed
 * from g->inputs (which is compacted) and lose is_input. */
tml_status tml_pass_infer_shapes(tml_graph *g);

/* Evaluates every node whose inputs are all constant (and Shape of any known shape) with the
 * runtime kernels; its outputs become constants and the node dies. */
tml_status tml_pass_fold_constants(tml_graph *g);

/* Largest output (bytes) a node may have and still be folded into a constant: folding a
 * broadcast or a Tile into megabytes of flash would cost more than computing it. */
#define TML_FOLD_MAX_BYTES (16u * 1024u * 1024u)

/* True if node can be evaluated now: it is live, not a DequantizeLinear (int8 weights stay
 * int8), every present input is constant (or it is a Shape whose input shape is fully known),
 * and every present output has a known shape of at most TML_FOLD_MAX_BYTES. */
bool tml_node_is_foldable(const tml_graph *g, int node);

/* Evaluates one node (shapes already inferred) with its lowering and runtime kernel (Shape and
 * Constant directly): its outputs get graph-owned data, producer -1, and the node dies. On
 * failure the graph is unchanged apart from the error message (and arena space). */
tml_status tml_fold_node(tml_graph *g, int node);

/* Folds BatchNormalization (inference), and Mul / Add / Sub by a constant that varies only
 * along the channel, into a preceding Conv/ConvTranspose/Gemm with constant weights when the
 * conv output has no other reader; otherwise leaves it. */
tml_status tml_pass_fold_batchnorm(tml_graph *g);

/* Turns MatMul (2-D) followed by Add of a constant bias [N] or [1, N] into one Gemm when the
 * MatMul output has no other reader. */
tml_status tml_pass_fuse_bias(tml_graph *g);

/* Adds an explicit zero Pad of the spatial dimensions (constant mode, value 0) to the pads of
 * the Conv it feeds, when the padded tensor has no other reader: no padded copy in RAM. */
tml_status tml_pass_fuse_pad(tml_graph *g);

/* Folds Relu / Clip / LeakyRelu / Sigmoid / Tanh / HardSwish into the producing op's `act`
 * when the producer accepts it (tml_op_accepts_act) and has no other reader. */
tml_status tml_pass_fuse_activations(tml_graph *g);
bool tml_op_accepts_act(tml_op op);

/* Marks dead every node none of whose outputs reaches a graph output. */
tml_status tml_pass_remove_dead(tml_graph *g);

/* infer shapes -> fold constants -> fuse bias -> fuse pad -> fold batch-norm -> fuse
 * activations -> remove dead, with a verify after each. */
tml_status tml_passes_run(tml_graph *g, const tml_pass_options *o);

#endif /* TML_PASSES_H */
