/*
 * bench_train.c - training throughput of the C trainer, in images/s on one core, for the
 * comparison with PyTorch in bench/bench_train.sh (bench_train_torch.py trains the same
 * architecture with the same batch size and optimizer for the same number of batches).
 *
 * usage: bench_train [ARCH (lenet)] [BATCHES (200)] [BATCH (64)]
 * Loads Fashion-MNIST's training set, builds the architecture (tml_arch_build, seed 1), runs
 * 10 warm-up batches, then times BATCHES forward+backward+Adam steps. Prints one line:
 * "c ARCH batch B batches N wall_images/s W images/s X", X by the process's CPU time: the
 * machine is shared, and CPU time is what stays comparable between two programs under load.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "tml/train.h"

static double now(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    const char *arch = argc > 1 ? argv[1] : "lenet";
    int batches = argc > 2 ? atoi(argv[2]) : 200, batch = argc > 3 ? atoi(argv[3]) : 64;
    char err[512];
    tml_dataset ds;
    tml_graph *g = tml_graph_new();
    tml_trainer *t;
    tml_batch_iter it;
    tml_optim o;
    tml_param *p;
    int np, i;
    float *x;
    uint8_t *y;
    double t0 = 0.0, c0 = 0.0, dt, dc;
    if (batches <= 0 || batch <= 0)
        return 2;
    if (tml_dataset_load_fashion_mnist(&ds, NULL, true, err, sizeof err)) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 1;
    }
    if (tml_arch_build(g, arch, 10, 1) || tml_trainer_new(g, batch, &t)) {
        fprintf(stderr, "bench_train: %s\n", tml_graph_error(g));
        return 1;
    }
    tml_batch_iter_init(&it, &ds, batch, true, 1);
    tml_optim_defaults(&o, TML_OPTIM_ADAM);
    p = tml_trainer_params(t, &np);
    x = malloc((size_t)batch * 784 * sizeof(float));
    y = malloc((size_t)batch);
    for (i = 0; i < batches + 10; i++) {
        int nb = tml_batch_iter_next(&it, x, y);
        if (nb < batch) {
            tml_batch_iter_reset(&it);
            nb = tml_batch_iter_next(&it, x, y);
        }
        if (i == 10) {
            t0 = now(CLOCK_MONOTONIC);
            c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        }
        if (tml_trainer_step_grad(t, x, y, nb, NULL, NULL)) {
            fprintf(stderr, "bench_train: %s\n", tml_graph_error(g));
            return 1;
        }
        tml_optim_step(&o, p, np, 0);
    }
    dt = now(CLOCK_MONOTONIC) - t0;
    dc = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("c %s batch %d batches %d wall_images/s %.0f images/s %.0f\n", arch, batch, batches,
           (double)batches * batch / dt, (double)batches * batch / dc);
    free(x);
    free(y);
    tml_batch_iter_release(&it);
    tml_trainer_free(t);
    tml_graph_free(g);
    tml_dataset_release(&ds);
    return 0;
}
