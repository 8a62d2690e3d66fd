/*
 * quant_route.h - int8 (TFLite-quantized) nodes of float op families, routed to the quant
 * family.
 *
 * TFLite graphs arrive as ordinary IR ops (Conv, Gemm, AveragePool, Softmax, Mul) whose
 * tensors are int8 with tml_tensor.quant set. The families' hooks handle float32; for these
 * nodes the op dispatcher (src/ops/dispatch.c) asks tml_quant_routes() first and, if it says
 * yes, calls the hooks here instead, which pick the bit-exact _s8 kernels and compute the
 * requantization multipliers once at compile time (fixedpoint.h).
 */
#ifndef TML_QUANT_ROUTE_H
#define TML_QUANT_ROUTE_H

#include <stdbool.h>

#include "ops/ops.h"

/* True if node is an op of another family running on int8 tensors with quantization
 * parameters (input 0 is int8 and its parameters are known). May record the parameters on
 * tensors the TFLite importer inserted (layout transposes, reshapes) that have none. */
bool tml_quant_routes(tml_graph *g, int node);
tml_status tml_quant_shape(tml_graph *g, int node);
tml_status tml_quant_lower(tml_graph *g, int node, tml_step_desc *step);

/* Conv geometry shared with QLinearConv/ConvInteger (quant.c): input ix is x (int8/uint8,
 * rank 3..5), iw the weight; fills the geometry fields of p (3-D, leading unit dims) and the
 * output dims. */
tml_status tml_quant_conv_geom(tml_graph *g, int node, int ix, int iw, tml_qconv_params *p,
                               int64_t *dims);

#endif
