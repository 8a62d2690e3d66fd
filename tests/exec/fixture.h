/*
 * fixture.h - test helper for tests/exec: a small plan built by hand (no importer, no planner)
 * from the COPY kernel, plus helpers to tamper with a package and re-seal its hash.
 *
 *   x (input 0, f32 [2,3]) --copy--> t --copy--> y (output 0)
 *   w (constant f32 [2,3])                --copy--> z (output 1)
 *
 * Header-only so each test stays one executable.
 */
#ifndef TML_TEST_EXEC_FIXTURE_H
#define TML_TEST_EXEC_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "tml/codegen.h"
#include "tml/executor.h"
#include "tml/plan.h"

typedef struct {
    tml_plan plan;
    tml_plan_tensor tensors[5];
    tml_plan_step steps[3];
    tml_copy_params params[3];
    float weights[8];
} fx_plan;

static inline void fx_tensor(tml_plan_tensor *t, const char *name, tml_storage st, uint32_t off)
{
    memset(t, 0, sizeof(*t));
    t->tensor = -1;
    t->name = name;
    t->dtype = TML_DT_F32;
    t->rank = 2;
    t->dims[0] = 2;
    t->dims[1] = 3;
    t->bytes = 24;
    t->storage = st;
    t->offset = off;
    t->input_index = t->output_index = -1;
}

static inline void fx_step(fx_plan *f, int i, int in, int out)
{
    tml_plan_step *s = &f->steps[i];
    memset(s, 0, sizeof(*s));
    s->kernel = TML_K_COPY;
    f->params[i].bytes = 24;
    s->params = &f->params[i];
    s->params_size = sizeof(tml_copy_params);
    s->n_in = 1;
    s->n_out = 1;
    s->in[0] = in;
    s->out[0] = out;
    s->node = -1;
}

/* Fills f with the plan pictured above. */
static inline void fx_plan_init(fx_plan *f)
{
    int i;
    memset(f, 0, sizeof(*f));
    fx_tensor(&f->tensors[0], "x", TML_STORE_ARENA, 0);
    fx_tensor(&f->tensors[1], "t", TML_STORE_ARENA, 32);
    fx_tensor(&f->tensors[2], "y", TML_STORE_ARENA, 64);
    fx_tensor(&f->tensors[3], "conv1.weight", TML_STORE_CONST, 0);
    fx_tensor(&f->tensors[4], "z", TML_STORE_ARENA, 96);
    f->tensors[0].input_index = 0;
    f->tensors[2].output_index = 0;
    f->tensors[4].output_index = 1;
    fx_step(f, 0, 0, 1);
    fx_step(f, 1, 1, 2);
    fx_step(f, 2, 3, 4);
    for (i = 0; i < 6; i++)
        f->weights[i] = 0.5f * (float)i - 1.0f;
    f->plan.tensors = f->tensors;
    f->plan.n_tensors = 5;
    f->plan.steps = f->steps;
    f->plan.n_steps = 3;
    f->plan.inputs[0] = 0;
    f->plan.n_inputs = 1;
    f->plan.outputs[0] = 2;
    f->plan.outputs[1] = 4;
    f->plan.n_outputs = 2;
    f->plan.weights = (uint8_t *)f->weights;
    f->plan.weights_size = 24;
    f->plan.arena_size = 128;
}

static inline uint32_t fx_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void fx_wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Recomputes the hash of a (possibly tampered) package so the loader gets past it. */
static inline void fx_reseal(uint8_t *pkg, size_t len)
{
    uint32_t total = fx_rd32(pkg + TML_PKG_H_TOTAL_BYTES);
    if (total > len || total < TML_PKG_HEADER_BYTES)
        total = (uint32_t)len;
    tml_pkg_hash(pkg, total, pkg + TML_PKG_H_SHA256);
}

/* A malloc'd copy of exactly n bytes (so ASan sees any read past n). */
static inline uint8_t *fx_dup(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    if (q && n)
        memcpy(q, p, n);
    return q;
}

#endif
