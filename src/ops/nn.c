/*
 * nn.c - shape and lowering hooks of the 'nn' op family (placeholder: every hook
 * reports the op as unsupported until the family is implemented).
 */
#include "ops/ops.h"

tml_status tml_shape_conv(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_conv(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_conv_transpose(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_conv_transpose(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_gemm(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_gemm(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_matmul(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_matmul(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_maxpool(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_maxpool(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_avgpool(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_avgpool(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_global_avgpool(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_global_avgpool(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_global_maxpool(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_global_maxpool(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_batchnorm(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_batchnorm(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_softmax(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_softmax(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_log_softmax(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_log_softmax(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}
