/* params_data.h - parameter structs of the data family kernels (see kernels.h). */
#ifndef TML_PARAMS_DATA_H
#define TML_PARAMS_DATA_H

#include <stdint.h>

#endif
