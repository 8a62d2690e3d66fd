/* params_elementwise.h - parameter structs of the elementwise family kernels (see kernels.h). */
#ifndef TML_PARAMS_ELEMENTWISE_H
#define TML_PARAMS_ELEMENTWISE_H

#include <stdint.h>

#endif
