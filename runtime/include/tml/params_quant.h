/* params_quant.h - parameter structs of the quant family kernels (see kernels.h). */
#ifndef TML_PARAMS_QUANT_H
#define TML_PARAMS_QUANT_H

#include <stdint.h>

#endif
