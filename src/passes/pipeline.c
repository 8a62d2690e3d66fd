/*
 * pipeline.c - the standard pass order (tml_passes_run) and its options.
 *
 * Order and why:
 *   1. infer shapes (folding constants as it goes: later shapes depend on folded values)
 *   2. fold constants (whatever the walk in 1 could not yet fold; normally nothing)
 *   2b. fuse bias: MatMul + Add(bias) -> Gemm (before 3 and 4, so a BN or an activation
 *      after a dense layer folds into the Gemm)
 *   2c. fuse pad: zero Pad -> the next Conv's pads
 *   3. fold batch-norm into convs (needs constant weights, so after 1-2)
 *   4. fuse activations (after 3, so Conv -> BN -> Relu becomes one Conv with act = RELU)
 *   5. remove dead nodes (last: 1-4 leave folded chains and orphaned branches behind)
 * The graph is verified before the first pass and after each, and the first failure stops
 * the pipeline with the graph's error message naming what went wrong. Folding inside shape
 * inference is not optional (Reshape needs its shape as a constant), so fold_constants only
 * switches step 2. When the graph shrinks, one note sums up what each step removed (for the
 * compile report).
 */
#include "tml/passes.h"

void tml_pass_options_default(tml_pass_options *o)
{
    o->fold_constants = true;
    o->fold_batchnorm = true;
    o->fuse_activations = true;
    o->remove_dead = true;
    o->fuse_bias = true;
    o->fuse_pad = true;
}

/* Live nodes now. */
static int live(const tml_graph *g) { return tml_graph_live_nodes(g); }

tml_status tml_passes_run(tml_graph *g, const tml_pass_options *o)
{
    tml_pass_options def;
    tml_status st;
    int n0, n_fold, n_bias, n_bn, n_act, n_dead, before;
    if (!g)
        return TML_ERR_ARG;
    if (!o) {
        tml_pass_options_default(&def);
        o = &def;
    }
    n0 = live(g);
    if ((st = tml_graph_verify(g)) != TML_OK)
        return st;
    if ((st = tml_pass_infer_shapes(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK)
        return st;
    if (o->fold_constants &&
        ((st = tml_pass_fold_constants(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK))
        return st;
    n_fold = n0 - live(g);
    before = live(g);
    if (o->fuse_bias &&
        ((st = tml_pass_fuse_bias(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK))
        return st;
    if (o->fuse_pad &&
        ((st = tml_pass_fuse_pad(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK))
        return st;
    n_bias = before - live(g); /* biases and pads */
    before = live(g);
    if (o->fold_batchnorm &&
        ((st = tml_pass_fold_batchnorm(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK))
        return st;
    n_bn = before - live(g);
    before = live(g);
    if (o->fuse_activations &&
        ((st = tml_pass_fuse_activations(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK))
        return st;
    n_act = before - live(g);
    before = live(g);
    if (o->remove_dead &&
        ((st = tml_pass_remove_dead(g)) != TML_OK || (st = tml_graph_verify(g)) != TML_OK))
        return st;
    n_dead = before - live(g);
    if (n0 != live(g))
        tml_graph_note(g,
                       "passes: %d -> %d live nodes (constants folded %d, biases/pads fused %d, "
                       "batch-norms folded %d, activations fused %d, dead removed %d)",
                       n0, live(g), n_fold, n_bias, n_bn, n_act, n_dead);
    return TML_OK;
}
