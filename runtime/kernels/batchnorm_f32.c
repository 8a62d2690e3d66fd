/*
 * batchnorm_f32.c - tml_batchnorm_f32: inference-form batch normalization in float32
 * (ONNX BatchNormalization with running statistics), with fused activation.
 *
 * Per channel (or per channel and position, for the old spatial = 0 form) the kernel
 * computes the affine factor scale / sqrt(var + eps) once, then applies
 * y = (x - mean) * factor + bias across the inner (spatial) extent. Usually the compiler
 * folds BatchNormalization into a preceding Conv; this kernel covers the rest.
 */
#include <math.h>

#include "tml/act.h"
#include "tml/kernels.h"
#include "tml/nn_check.h"

void tml_batchnorm_f32(const void *params, const void *const *in, void *const *out,
                       void *scratch)
{
    const tml_batchnorm_params *p = (const tml_batchnorm_params *)params;
    const float *x = (const float *)in[0];     /* (N, C, inner) */
    const float *scale = (const float *)in[1]; /* (C) or (C, inner) */
    const float *bias = (const float *)in[2];
    const float *mean = (const float *)in[3];
    const float *var = (const float *)in[4];
    float *y = (float *)out[0];                /* (N, C, inner) */
    int32_t n, c, i;
    (void)scratch;

    for (n = 0; n < p->n; n++)
        for (c = 0; c < p->c; c++) {
            const size_t base = ((size_t)n * p->c + c) * p->inner;
            /* per channel: one sqrt and one division for the whole (inner) extent */
            float f = scale[c] / sqrtf(var[c] + p->epsilon);
            for (i = 0; i < p->inner; i++) {
                size_t s = (size_t)c;
                float v;
                if (p->per_element) {
                    s = (size_t)c * p->inner + i;
                    f = scale[s] / sqrtf(var[s] + p->epsilon);
                }
                v = (x[base + i] - mean[s]) * f + bias[s];
                y[base + i] = tml_act_f32(p->act, p->act_a, p->act_b, v);
            }
        }
}

tml_status tml_batchnorm_f32_check(const void *params, uint32_t params_size,
                                   const uint32_t *in_bytes, int n_in, const uint32_t *out_bytes,
                                   int n_out, uint32_t scratch_bytes)
{
    const tml_batchnorm_params *p = (const tml_batchnorm_params *)params;
    uint64_t total, stats;
    int i;
    (void)scratch_bytes;
    if (params_size != sizeof(*p) || n_in != 5 || n_out != 1 || !tml_nn_act_ok(p->act))
        return TML_ERR_FORMAT;
    if (!tml_nn_in_range(p->n, 1) || !tml_nn_in_range(p->c, 1) || !tml_nn_in_range(p->inner, 1) ||
        (p->per_element != 0 && p->per_element != 1))
        return TML_ERR_FORMAT;
    total = tml_nn_f32_bytes(
        tml_nn_mul(tml_nn_mul((uint64_t)p->n, (uint64_t)p->c), (uint64_t)p->inner));
    stats = tml_nn_f32_bytes(p->per_element ? tml_nn_mul((uint64_t)p->c, (uint64_t)p->inner)
                                            : (uint64_t)p->c);
    if (total > in_bytes[0] || total > out_bytes[0])
        return TML_ERR_FORMAT;
    for (i = 1; i < 5; i++)
        if (stats > in_bytes[i])
            return TML_ERR_FORMAT;
    return TML_OK;
}
