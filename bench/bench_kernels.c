/*
 * bench_kernels.c - micro-benchmark of the fast float32 kernels against their references on
 * the layer shapes of the small models the project is measured on (fmnist_cnn, fmnist_mlp):
 * median time per call of each, the speed-up, and the largest difference relative to the
 * tolerance the tests use (|a-b| <= 1e-4 + 1e-4*|b|).
 *
 *   bench_kernels [iters]          (default 2000)
 *
 * The CMake target is built with the project's flags (Debug builds are -O0: numbers from
 * there mean nothing). For numbers comparable with bench/run.sh, build it like the generated
 * code is built:
 *   cc -std=c99 -O3 -march=native -Iruntime/include -o /tmp/bk bench/bench_kernels.c \
 *      runtime/kernels/{conv_f32,conv_f32_tiled,gemm_f32,gemm_f32_packed}.c -lm
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tml/kernels.h"

static uint32_t rng = 7;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)(rng >> 8) / (float)(1u << 24) * 2.0f - 1.0f;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median_ms(tml_kernel_fn fn, const void *params, const void *const *in,
                        void *const *out, void *scratch, int iters)
{
    double *t = malloc(sizeof(double) * (size_t)iters), m;
    int i;
    for (i = 0; i < 50; i++)
        fn(params, in, out, scratch);
    for (i = 0; i < iters; i++) {
        double t0 = now_ms();
        fn(params, in, out, scratch);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof(double), cmp_double);
    m = t[iters / 2];
    free(t);
    return m;
}

/* Largest |a-b| / (1e-4 + 1e-4*|b|): <= 1 is within the tests' tolerance. */
static double worst(const float *a, const float *b, size_t n)
{
    double w = 0;
    size_t i;
    for (i = 0; i < n; i++) {
        double r = fabs((double)a[i] - b[i]) / (1e-4 + 1e-4 * fabs((double)b[i]));
        if (r > w)
            w = r;
    }
    return w;
}

static float *rand_buf(size_t n)
{
    float *p = malloc(n * sizeof(float));
    size_t i;
    for (i = 0; i < n; i++)
        p[i] = frand();
    return p;
}

static void report(const char *name, uint64_t macs, double ref, double fast, double w)
{
    printf("| %-32s | %8llu | %9.4f | %9.4f | %6.2fx | %5.3f |\n", name, (unsigned long long)macs,
           ref, fast, ref / fast, w);
}

static void bench_conv(const char *name, int cin, int cout, int hw, int k, int pad, int iters)
{
    tml_conv_params p;
    float *x, *w, *b, *y0, *y1, *scratch;
    const void *in[3];
    void *o0[1], *o1[1];
    size_t ny;
    uint64_t sf;
    int i;
    memset(&p, 0, sizeof p);
    p.n = 1;
    p.c_in = cin;
    p.c_out = cout;
    p.group = 1;
    for (i = 0; i < 3; i++) {
        p.in[i] = i == 0 ? 1 : hw;
        p.kernel[i] = i == 0 ? 1 : k;
        p.pad[i] = i == 0 ? 0 : pad;
        p.out[i] = i == 0 ? 1 : hw + 2 * pad - k + 1;
        p.stride[i] = p.dilation[i] = 1;
    }
    p.has_bias = 1;
    p.act = 1;
    x = rand_buf((size_t)cin * hw * hw);
    w = rand_buf((size_t)cout * cin * k * k);
    b = rand_buf((size_t)cout);
    ny = (size_t)cout * p.out[1] * p.out[2];
    y0 = calloc(ny, sizeof(float));
    y1 = calloc(ny, sizeof(float));
    sf = tml_conv_tiled_scratch_floats(&p, NULL, NULL);
    scratch = calloc((size_t)sf, sizeof(float));
    in[0] = x;
    in[1] = w;
    in[2] = b;
    o0[0] = y0;
    o1[0] = y1;
    {
        double r = median_ms(tml_conv_f32, &p, in, o0, NULL, iters);
        double f = median_ms(tml_conv_f32_tiled, &p, in, o1, scratch, iters);
        report(name, (uint64_t)ny * cin * k * k, r, f, worst(y1, y0, ny));
    }
    free(x), free(w), free(b), free(y0), free(y1), free(scratch);
}

static void bench_gemm(const char *name, int m, int k, int n, int iters)
{
    tml_gemm_params p;
    tml_gemm_packed_params q;
    float *a, *bw, *bp, *c, *y0, *y1;
    const void *in0[3], *in1[3];
    void *o0[1], *o1[1];
    uint64_t pf = tml_gemm_packed_floats(k, n);
    int j, kk;
    memset(&p, 0, sizeof p);
    p.m = m;
    p.n = n;
    p.k = k;
    p.trans_b = 1;
    p.alpha = p.beta = 1.0f;
    p.c_rows = 1;
    p.c_cols = n;
    p.act = 1;
    memset(&q, 0, sizeof q);
    q.m = m;
    q.n = n;
    q.k = k;
    q.nr = TML_GEMM_PACKED_NR;
    q.alpha = q.beta = 1.0f;
    q.c_rows = 1;
    q.c_cols = n;
    q.act = 1;
    a = rand_buf((size_t)m * k);
    bw = rand_buf((size_t)n * k); /* (n, k): a fully connected layer's weight */
    c = rand_buf((size_t)n);
    bp = calloc((size_t)pf, sizeof(float));
    for (j = 0; j < n; j++) { /* panels of NR columns, the last one narrower */
        const int j0 = j / TML_GEMM_PACKED_NR * TML_GEMM_PACKED_NR;
        const int pw = n - j0 < TML_GEMM_PACKED_NR ? n - j0 : TML_GEMM_PACKED_NR;
        for (kk = 0; kk < k; kk++)
            bp[(size_t)j0 * k + (size_t)kk * pw + (j - j0)] = bw[(size_t)j * k + kk];
    }
    y0 = calloc((size_t)m * n, sizeof(float));
    y1 = calloc((size_t)m * n, sizeof(float));
    in0[0] = in1[0] = a;
    in0[1] = bw;
    in1[1] = bp;
    in0[2] = in1[2] = c;
    o0[0] = y0;
    o1[0] = y1;
    {
        double r = median_ms(tml_gemm_f32, &p, in0, o0, NULL, iters);
        double f = median_ms(tml_gemm_f32_packed, &q, in1, o1, NULL, iters);
        report(name, (uint64_t)m * n * k, r, f, worst(y1, y0, (size_t)m * n));
    }
    free(a), free(bw), free(bp), free(c), free(y0), free(y1);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    if (iters < 1)
        iters = 1;
    printf("| kernel (shape) | MACs | reference ms | fast ms | speed-up | max err/tol |\n");
    printf("|---|---:|---:|---:|---:|---:|\n");
    bench_conv("conv 1->8 5x5 pad 2, 28x28", 1, 8, 28, 5, 2, iters);
    bench_conv("conv 8->16 5x5, 14x14", 8, 16, 14, 5, 0, iters);
    bench_conv("conv 16->32 3x3 pad 1, 16x16", 16, 32, 16, 3, 1, iters);
    bench_gemm("gemm 1x784 -> 128 (fc)", 1, 784, 128, iters);
    bench_gemm("gemm 1x400 -> 64 (fc)", 1, 400, 64, iters);
    bench_gemm("gemm 1x64 -> 10 (fc)", 1, 64, 10, iters);
    bench_gemm("gemm 8x256 -> 256", 8, 256, 256, iters);
    return 0;
}
