/*
 * kernel_params.h - the parameter structs of all kernels (4-byte fields only; see kernels.h),
 * one header per family.
 */
#ifndef TML_KERNEL_PARAMS_H
#define TML_KERNEL_PARAMS_H

#include <stdint.h>

/* COPY: out[0] = in[0], `bytes` bytes. */
typedef struct {
    uint32_t bytes;
} tml_copy_params;

#include "tml/params_nn.h"
#include "tml/params_elementwise.h"
#include "tml/params_data.h"
#include "tml/params_quant.h"
#include "tml/params_fast.h"

#endif /* TML_KERNEL_PARAMS_H */
