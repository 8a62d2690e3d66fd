/*
 * latency_main.c - host latency of generated model code: compiled together with a
 * `tmlaas compile` output directory (model.c, tml/...), it fills input 0 from a raw or .npy
 * file (or zeros), runs warm-up inferences, then times each of N single inferences with
 * CLOCK_MONOTONIC and prints one line of JSON with the median and minimum in milliseconds.
 *   prog [INPUT] [ITERS]
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model.h"

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

static void load_input(const char *path)
{
    FILE *f = fopen(path, "rb");
    size_t need = model_input_bytes(0), n;
    long size;
    unsigned char *buf;
    if (!f) {
        perror(path);
        exit(1);
    }
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)size);
    n = fread(buf, 1, (size_t)size, f);
    fclose(f);
    if (n < need) {
        fprintf(stderr, "%s: %zu bytes, input needs %zu\n", path, n, need);
        exit(1);
    }
    /* .npy or raw: the payload is the last `need` bytes either way */
    memcpy(model_input(0), buf + n - need, need);
    free(buf);
}

int main(int argc, char **argv)
{
    int iters = argc > 2 ? atoi(argv[2]) : 2000, i;
    double *t;
    if (argc > 1 && strcmp(argv[1], "-") != 0)
        load_input(argv[1]);
    for (i = 0; i < 200; i++)
        model_run();
    t = malloc(sizeof(double) * (size_t)iters);
    for (i = 0; i < iters; i++) {
        double t0 = now_ms();
        model_run();
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof(double), cmp_double);
    printf("{\"median_ms\":%.6f,\"min_ms\":%.6f,\"iters\":%d}\n", t[iters / 2], t[0], iters);
    free(t);
    return 0;
}
