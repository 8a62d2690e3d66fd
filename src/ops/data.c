/*
 * data.c - shape and lowering hooks of the 'data' op family (placeholder: every hook
 * reports the op as unsupported until the family is implemented).
 */
#include "ops/ops.h"

tml_status tml_shape_reshape(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_reshape(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_flatten(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_flatten(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_squeeze(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_squeeze(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_unsqueeze(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_unsqueeze(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_identity(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_identity(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_dropout(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_dropout(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_transpose(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_transpose(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_concat(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_concat(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_pad(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_pad(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_slice(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_slice(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_gather(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_gather(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_cast(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_cast(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_shape(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_shape(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_constant(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_constant(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_resize(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_resize(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_upsample(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_upsample(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_depth_to_space(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_depth_to_space(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_space_to_depth(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_space_to_depth(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}
