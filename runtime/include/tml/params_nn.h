/* params_nn.h - parameter structs of the nn family kernels (see kernels.h). */
#ifndef TML_PARAMS_NN_H
#define TML_PARAMS_NN_H

#include <stdint.h>

#endif
