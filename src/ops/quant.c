/*
 * quant.c - shape and lowering hooks of the 'quant' op family (placeholder: every hook
 * reports the op as unsupported until the family is implemented).
 */
#include "ops/ops.h"

tml_status tml_shape_quantize_linear(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_quantize_linear(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_dequantize_linear(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_dequantize_linear(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_qlinear_conv(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_qlinear_conv(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_qlinear_matmul(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_qlinear_matmul(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_conv_integer(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_conv_integer(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_shape_matmul_integer(tml_graph *g, int node)
{
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}

tml_status tml_lower_matmul_integer(tml_graph *g, int node, tml_step_desc *step)
{
    (void)step;
    return tml_node_errorf(g, node, TML_ERR_UNSUPPORTED, "op not supported yet");
}
