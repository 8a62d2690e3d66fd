/*
 * copy.c - tml_copy: out[0] = in[0] byte for byte. Emitted by the planner where a view op
 * (Reshape, Identity, ...) cannot share its input's buffer, e.g. graph input to graph output.
 */
#include <string.h>

#include "tml/kernels.h"

void tml_copy(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_copy_params *p = (const tml_copy_params *)params;
    (void)scratch;
    if (p->bytes && out[0] != in[0])
        memmove(out[0], in[0], p->bytes);
}

tml_status tml_copy_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                          int n_in, const uint32_t *out_bytes, int n_out, uint32_t scratch_bytes)
{
    const tml_copy_params *p = (const tml_copy_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 1 || n_out != 1)
        return TML_ERR_FORMAT;
    if (p->bytes > in_bytes[0] || p->bytes > out_bytes[0])
        return TML_ERR_FORMAT;
    return TML_OK;
}
