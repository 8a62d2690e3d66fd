/*
 * test_nn_conv_random.c - conv_f32 against a naive convolution written straight from the ONNX
 * definition (seven loops, an explicit bounds test per tap), on 2000 random 1-D/2-D/3-D
 * convolutions with groups, strides, dilations, asymmetric padding, bias and activations.
 *
 * The kernel skips out-of-bounds taps by range arithmetic and accumulates whole output rows;
 * both keep each output's summation order (bias, then taps in (c, kd, kh, kw) order), so the
 * results must be bit-identical, not merely close. Deterministic LCG: failures reproduce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tml/act.h"
#include "tml/kernels.h"

static uint32_t rng = 7u;
static int rnd(int n)
{
    rng = rng * 1103515245u + 12345u;
    return (int)((rng >> 8) % (uint32_t)n);
}

/* y[n, co, o...] = act(b[co] + sum over ci, k... of x[n, g*cin_g + ci, o*s - p + k*d] * w) */
static void naive_conv(const tml_conv_params *p, const float *x, const float *w, const float *b,
                       float *y)
{
    int cin_g = p->c_in / p->group, cout_g = p->c_out / p->group;
    int n, co, od, oh, ow, ci, kd, kh, kw;
    for (n = 0; n < p->n; n++)
        for (co = 0; co < p->c_out; co++)
            for (od = 0; od < p->out[0]; od++)
                for (oh = 0; oh < p->out[1]; oh++)
                    for (ow = 0; ow < p->out[2]; ow++) {
                        float acc = p->has_bias ? b[co] : 0.0f;
                        for (ci = 0; ci < cin_g; ci++)
                            for (kd = 0; kd < p->kernel[0]; kd++)
                                for (kh = 0; kh < p->kernel[1]; kh++)
                                    for (kw = 0; kw < p->kernel[2]; kw++) {
                                        int id = od * p->stride[0] - p->pad[0] + kd * p->dilation[0];
                                        int ih = oh * p->stride[1] - p->pad[1] + kh * p->dilation[1];
                                        int iw = ow * p->stride[2] - p->pad[2] + kw * p->dilation[2];
                                        int c = (co / cout_g) * cin_g + ci;
                                        if (id < 0 || id >= p->in[0] || ih < 0 || ih >= p->in[1] ||
                                            iw < 0 || iw >= p->in[2])
                                            continue;
                                        acc += x[(((size_t)n * p->c_in + c) * p->in[0] + id) *
                                                     p->in[1] * p->in[2] +
                                                 (size_t)ih * p->in[2] + iw] *
                                               w[((((size_t)co * cin_g + ci) * p->kernel[0] + kd) *
                                                      p->kernel[1] +
                                                  kh) *
                                                     p->kernel[2] +
                                                 kw];
                                    }
                        y[((((size_t)n * p->c_out + co) * p->out[0] + od) * p->out[1] + oh) *
                              p->out[2] +
                          ow] = tml_act_f32(p->act, p->act_a, p->act_b, acc);
                    }
}

static void test_conv_matches_naive(void **state)
{
    int it, i;
    (void)state;
    for (it = 0; it < 2000; it++) {
        tml_conv_params p;
        size_t nx, nw, ny;
        float *x, *w, *b, *y1, *y2;
        const void *in[3];
        void *o2[1];
        uint32_t ib[3], ob[1];
        memset(&p, 0, sizeof p);
        p.n = 1 + rnd(2);
        p.group = 1 + rnd(3);
        p.c_in = p.group * (1 + rnd(3));
        p.c_out = p.group * (1 + rnd(3));
        for (i = 0; i < 3; i++) {
            int span, pad_end;
            p.in[i] = (i < 2 && rnd(2)) ? 1 : 1 + rnd(8);
            p.kernel[i] = 1 + rnd(3);
            p.stride[i] = 1 + rnd(3);
            p.dilation[i] = 1 + rnd(2);
            p.pad[i] = rnd(3);
            pad_end = rnd(3);
            span = p.in[i] + p.pad[i] + pad_end - ((p.kernel[i] - 1) * p.dilation[i] + 1);
            if (span < 0) {
                p.kernel[i] = 1;
                p.dilation[i] = 1;
                span = p.in[i] + p.pad[i] + pad_end - 1;
            }
            p.out[i] = span / p.stride[i] + 1;
        }
        p.has_bias = rnd(2);
        p.act = rnd(7);
        p.act_a = 0.125f;
        p.act_b = 0.75f;
        nx = (size_t)p.n * p.c_in * p.in[0] * p.in[1] * p.in[2];
        nw = (size_t)p.c_out * (p.c_in / p.group) * p.kernel[0] * p.kernel[1] * p.kernel[2];
        ny = (size_t)p.n * p.c_out * p.out[0] * p.out[1] * p.out[2];
        x = malloc(nx * 4);
        w = malloc(nw * 4);
        b = malloc((size_t)p.c_out * 4);
        y1 = malloc(ny * 4);
        y2 = malloc(ny * 4);
        for (i = 0; i < (int)nx; i++)
            x[i] = (float)(rnd(2001) - 1000) / 337.0f;
        for (i = 0; i < (int)nw; i++)
            w[i] = (float)(rnd(2001) - 1000) / 713.0f;
        for (i = 0; i < p.c_out; i++)
            b[i] = (float)(rnd(2001) - 1000) / 100.0f;
        in[0] = x;
        in[1] = w;
        in[2] = b;
        o2[0] = y2;
        ib[0] = (uint32_t)(nx * 4);
        ib[1] = (uint32_t)(nw * 4);
        ib[2] = (uint32_t)p.c_out * 4;
        ob[0] = (uint32_t)(ny * 4);
        assert_int_equal(tml_conv_f32_check(&p, sizeof p, ib, 2 + p.has_bias, ob, 1, 0), TML_OK);
        naive_conv(&p, x, w, b, y1);
        tml_conv_f32(&p, in, o2, NULL);
        if (memcmp(y1, y2, ny * 4))
            fail_msg("case %d differs from the naive convolution", it);
        free(x);
        free(w);
        free(b);
        free(y1);
        free(y2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_conv_matches_naive)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
