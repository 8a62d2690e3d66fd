/*
 * act.h - fused activations applied by kernels to each output element. The numbering equals
 * tml_act in include/tml/ir.h (the compiler copies the node's act into the kernel's params).
 * Kernels that support a fused activation have three params fields: int32_t act; float
 * act_a, act_b.
 */
#ifndef TML_ACT_H
#define TML_ACT_H

#include <math.h>
#include <stdint.h>

enum {
    TML_RT_ACT_NONE = 0,
    TML_RT_ACT_RELU = 1,       /* max(y, 0) */
    TML_RT_ACT_CLIP = 2,       /* min(max(y, a), b) */
    TML_RT_ACT_LEAKY = 3,      /* y < 0 ? a*y : y */
    TML_RT_ACT_SIGMOID = 4,
    TML_RT_ACT_TANH = 5,
    TML_RT_ACT_HARD_SWISH = 6
};

static inline float tml_act_f32(int32_t act, float a, float b, float y)
{
    switch (act) {
    case TML_RT_ACT_RELU: return y > 0.0f ? y : 0.0f;
    case TML_RT_ACT_CLIP: return y < a ? a : (y > b ? b : y);
    case TML_RT_ACT_LEAKY: return y < 0.0f ? a * y : y;
    case TML_RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-y));
    case TML_RT_ACT_TANH: return tanhf(y);
    case TML_RT_ACT_HARD_SWISH: {
        float t = y + 3.0f;
        t = t < 0.0f ? 0.0f : (t > 6.0f ? 6.0f : t);
        return y * t / 6.0f;
    }
    default: return y;
    }
}

#endif /* TML_ACT_H */
