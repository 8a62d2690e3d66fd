/*
 * unary_f32.c - tml_unary_f32: out[i] = f(in[i]) over n float32 elements, f chosen by
 * params->op (the activations, Clip, Exp, Sqrt, Neg, Abs).
 *
 * One kernel with an op switch instead of fourteen files: the functions are one line each and
 * share the loop and the check. The switch sits outside the loops so each op runs a tight loop.
 * Sigmoid and Softplus use forms that cannot overflow expf for large |x|. Writing in place
 * (out == in) is safe: element i is read before it is written.
 */
#include "tml/elementwise.h"

static inline float sigmoid(float x)
{
    if (x >= 0.0f)
        return 1.0f / (1.0f + expf(-x));
    {
        float e = expf(x);
        return e / (1.0f + e);
    }
}

static inline float softplus(float x)
{
    /* log(1 + e^x) = max(x, 0) + log(1 + e^-|x|) */
    return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x)));
}

void tml_unary_f32(const void *params, const void *const *in, void *const *out, void *scratch)
{
    const tml_unary_params *p = (const tml_unary_params *)params;
    const float *x = (const float *)in[0]; /* (n) */
    float *y = (float *)out[0];            /* (n) */
    const float a = p->a, b = p->b;
    uint32_t i, n = p->n;
    (void)scratch;
    switch (p->op) {
    case TML_UNARY_RELU:
        for (i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
        break;
    case TML_UNARY_LEAKY_RELU:
        for (i = 0; i < n; i++) y[i] = x[i] < 0.0f ? a * x[i] : x[i];
        break;
    case TML_UNARY_SIGMOID:
        for (i = 0; i < n; i++) y[i] = sigmoid(x[i]);
        break;
    case TML_UNARY_TANH:
        for (i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    case TML_UNARY_HARD_SIGMOID:
        for (i = 0; i < n; i++) {
            float t = a * x[i] + b;
            y[i] = t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t);
        }
        break;
    case TML_UNARY_HARD_SWISH:
        for (i = 0; i < n; i++) {
            float t = x[i] / 6.0f + 0.5f;
            y[i] = x[i] * (t < 0.0f ? 0.0f : (t > 1.0f ? 1.0f : t));
        }
        break;
    case TML_UNARY_CLIP:
        for (i = 0; i < n; i++) {
            float t = x[i] < a ? a : x[i];
            y[i] = t > b ? b : t;
        }
        break;
    case TML_UNARY_ELU:
        for (i = 0; i < n; i++) y[i] = x[i] < 0.0f ? a * expm1f(x[i]) : x[i];
        break;
    case TML_UNARY_SELU:
        for (i = 0; i < n; i++) y[i] = b * (x[i] <= 0.0f ? a * expm1f(x[i]) : x[i]);
        break;
    case TML_UNARY_SOFTPLUS:
        for (i = 0; i < n; i++) y[i] = softplus(x[i]);
        break;
    case TML_UNARY_EXP:
        for (i = 0; i < n; i++) y[i] = expf(x[i]);
        break;
    case TML_UNARY_SQRT:
        for (i = 0; i < n; i++) y[i] = sqrtf(x[i]);
        break;
    case TML_UNARY_NEG:
        for (i = 0; i < n; i++) y[i] = -x[i];
        break;
    case TML_UNARY_ABS:
        for (i = 0; i < n; i++) y[i] = fabsf(x[i]);
        break;
    default:
        break;
    }
}

tml_status tml_unary_f32_check(const void *params, uint32_t params_size, const uint32_t *in_bytes,
                               int n_in, const uint32_t *out_bytes, int n_out,
                               uint32_t scratch_bytes)
{
    const tml_unary_params *p = (const tml_unary_params *)params;
    (void)scratch_bytes;
    if (params_size != sizeof(*p))
        return TML_ERR_FORMAT;
    return tml_unary_check_common(p->op, TML_UNARY_OP_COUNT, p->n, sizeof(float), in_bytes, n_in,
                                  out_bytes, n_out);
}
