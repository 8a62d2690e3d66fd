/*
 * elementwise.c - shape and lowering hooks of the 'elementwise' op family (placeholder: every hook
 * reports the op as unsupported until the family is implemented).
 */
#include "ops/ops.h"

tml_status tml_shape_add(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_add(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_sub(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_sub(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_mul(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_mul(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_div(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_div(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_pow(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_pow(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_min(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_min(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_max(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_max(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_sum(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_sum(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_prelu(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_prelu(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_relu(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_relu(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_leaky_relu(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_leaky_relu(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_sigmoid(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_sigmoid(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_tanh(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_tanh(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_hard_sigmoid(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_hard_sigmoid(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_hard_swish(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_hard_swish(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_clip(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_clip(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_elu(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_elu(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_selu(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_selu(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_softplus(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_softplus(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_exp(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_exp(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_sqrt(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_sqrt(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_neg(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_neg(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_abs(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_abs(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_reduce_mean(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_reduce_mean(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_reduce_max(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_reduce_max(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_argmax(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_argmax(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}
