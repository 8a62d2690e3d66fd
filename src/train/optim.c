/*
 * optim.c - SGD with momentum and Adam, weight decay, and learning-rate schedules.
 *
 * How: one update loop per optimizer over every tml_param, in parameter order, in float;
 * nothing random and nothing parallel, so a seeded run repeats bit for bit. Weight decay is
 * L2 added to the gradient for SGD (PyTorch's SGD weight_decay) and decoupled for Adam (AdamW),
 * which is what each optimizer is usually tuned with. Schedules: constant, step (multiply by
 * gamma every step_size epochs) and cosine (from lr to 0 over total_steps updates).
 */
#include <math.h>

#include "tml/train.h"

void tml_optim_defaults(tml_optim *o, tml_optim_kind kind)
{
    o->kind = kind;
    o->lr = kind == TML_OPTIM_ADAM ? 1e-3f : 0.05f;
    o->momentum = 0.9f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->weight_decay = 0.0f;
    o->sched = TML_SCHED_CONST;
    o->step_size = 1;
    o->gamma = 0.5f;
    o->total_steps = 0;
    o->step = 0;
}

float tml_optim_lr(const tml_optim *o, int epoch)
{
    switch (o->sched) {
    case TML_SCHED_STEP:
        return o->lr * powf(o->gamma, (float)(epoch / (o->step_size > 0 ? o->step_size : 1)));
    case TML_SCHED_COSINE:
        if (o->total_steps <= 0 || o->step >= o->total_steps)
            return o->total_steps <= 0 ? o->lr : 0.0f;
        return o->lr * 0.5f * (1.0f + cosf(3.14159265f * (float)o->step / (float)o->total_steps));
    default:
        return o->lr;
    }
}

void tml_optim_step(tml_optim *o, tml_param *p, int n, int epoch)
{
    float lr = tml_optim_lr(o, epoch);
    int k;
    int64_t i;
    o->step++;
    if (o->kind == TML_OPTIM_SGD) {
        for (k = 0; k < n; k++)
            for (i = 0; i < p[k].n; i++) {
                float g = p[k].g[i] + o->weight_decay * p[k].w[i];
                p[k].m[i] = o->momentum * p[k].m[i] + g;
                p[k].w[i] -= lr * p[k].m[i];
            }
        return;
    }
    {
        float b1 = o->beta1, b2 = o->beta2;
        float c1 = 1.0f - powf(b1, (float)o->step), c2 = 1.0f - powf(b2, (float)o->step);
        float step = lr * sqrtf(c2) / c1;
        for (k = 0; k < n; k++)
            for (i = 0; i < p[k].n; i++) {
                float g = p[k].g[i];
                p[k].m[i] = b1 * p[k].m[i] + (1.0f - b1) * g;
                p[k].v[i] = b2 * p[k].v[i] + (1.0f - b2) * g * g;
                p[k].w[i] -= step * p[k].m[i] / (sqrtf(p[k].v[i]) + o->eps) +
                             lr * o->weight_decay * p[k].w[i];
            }
    }
}
