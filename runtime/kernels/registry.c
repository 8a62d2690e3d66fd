/*
 * registry.c - the table from kernel id to function, check and parameter size, generated from
 * kernels.def. In a firmware build with TML_KERNELS_SELECTED, only kernels with TML_USE_<ID>
 * are referenced, so the linker keeps nothing else.
 */
#include <string.h>

#include "tml/kernels.h"

#if defined(TML_KERNELS_SELECTED)
#define TML_KERNEL_ENTRY(id, fn, ptype)                                                        \
    {#fn, sizeof(ptype), TML_USE_##id ? tml_##fn : 0, TML_USE_##id ? tml_##fn##_check : 0},
#else
#define TML_KERNEL_ENTRY(id, fn, ptype) {#fn, sizeof(ptype), tml_##fn, tml_##fn##_check},
#endif

static const tml_kernel_info kernel_table[TML_K_COUNT] = {
    {"none", 0, 0, 0},
#define TML_KERNEL(id, fn, ptype) TML_KERNEL_ENTRY(id, fn, ptype)
#include "tml/kernels.def"
#undef TML_KERNEL
};

const tml_kernel_info *tml_kernel_get_info(tml_kernel_id id)
{
    if ((unsigned)id >= (unsigned)TML_K_COUNT)
        return 0;
    return &kernel_table[id];
}

tml_kernel_id tml_kernel_from_name(const char *name)
{
    int i;
    for (i = 1; i < TML_K_COUNT; i++)
        if (strcmp(kernel_table[i].name, name) == 0)
            return (tml_kernel_id)i;
    return TML_K_NONE;
}
