/*
 * cmd_train.c - `tmlaas init` (a fresh model of a built-in architecture) and `tmlaas train`
 * (train a model on an IDX dataset and write the trained ONNX model).
 *
 * The work is in src/train/ (tml_trainer, tml_optim, tml_arch_build, tml_onnx_write_file);
 * this file parses options, loads the data, runs epochs, and prints one progress line per
 * epoch (epoch, mean loss, training accuracy, images/s) and the test accuracy at the end.
 * Runs are seeded: the same command gives the same model, bit for bit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "tml/import.h"
#include "tml/train.h"

static const char init_help[] =
    "usage: tmlaas init --arch mlp|lenet|dscnn -o MODEL.onnx [--classes N] [--seed S]\n"
    "\n"
    "Writes a fresh He-initialized model for 28x28 single-channel inputs (input 'input'\n"
    "[1,1,28,28], output 'logits' [1,N]); train it with 'tmlaas train'.\n";

static const char train_help[] =
    "usage: tmlaas train MODEL.onnx -o TRAINED.onnx [options]\n"
    "\n"
    "Trains MODEL's float initializers (Conv/Gemm/MatMul/Add weights, BatchNormalization scale\n"
    "and bias) with softmax cross-entropy, then writes the trained model (ONNX, opset 13).\n"
    "  --dataset fashion-mnist   Debian's dataset-fashion-mnist (default)\n"
    "  --data-dir DIR            folder with the four Fashion-MNIST .gz files instead\n"
    "  --train-images F --train-labels F [--test-images F --test-labels F]  any IDX pair\n"
    "  --epochs N (1)  --batch N (64)  --lr X (adam 0.001, sgd 0.05)\n"
    "  --optimizer sgd|adam (adam)  --momentum X (0.9)  --weight-decay X (0)\n"
    "  --schedule const|step|cosine (const)  --step-size E (1)  --gamma X (0.5)\n"
    "  --seed S (1)  --limit N (use the first N training samples)  --quiet\n";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cmd_init(int argc, char **argv)
{
    const char *arch = NULL, *out = NULL;
    int classes = 10, i;
    unsigned long long seed = 1;
    tml_graph *g;
    tml_status st;
    for (i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(init_help, stdout);
            return 0;
        } else if (strcmp(argv[i], "--arch") == 0 && i + 1 < argc)
            arch = argv[++i];
        else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--classes") == 0 && i + 1 < argc)
            classes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 0);
        else
            return cli_usage_error("init", "unknown or incomplete option '%s'", argv[i]);
    }
    if (!arch || !out)
        return cli_usage_error("init", "--arch and -o are required");
    g = tml_graph_new();
    if (!g)
        return 1;
    st = tml_arch_build(g, arch, classes, seed);
    if (!st)
        st = tml_graph_verify(g);
    if (!st)
        st = tml_onnx_write_file(g, out);
    if (st)
        fprintf(stderr, "tmlaas init: %s\n", tml_graph_error(g));
    else
        printf("wrote %s (%s, %d classes, seed %llu)\n", out, arch, classes, seed);
    tml_graph_free(g);
    return st ? 1 : 0;
}

int cmd_train(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *dataset = "fashion-mnist", *dir = NULL;
    const char *tri = NULL, *trl = NULL, *tei = NULL, *tel = NULL, *opt = "adam", *sch = "const";
    int epochs = 1, batch = 64, i, quiet = 0, limit = 0, ep, n_params;
    float lr = -1.0f, momentum = 0.9f, wd = 0.0f, gamma = 0.5f;
    int step_size = 1;
    unsigned long long seed = 1;
    char err[512];
    tml_dataset train = {0}, test = {0};
    tml_graph *g = NULL;
    tml_trainer *t = NULL;
    tml_batch_iter it = {0};
    tml_optim o;
    tml_param *params;
    float *x = NULL;
    uint8_t *y = NULL;
    int rc = 1;
    tml_status st;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (cli_is_help(a)) {
            fputs(train_help, stdout);
            return 0;
        }
#define OPT(s) (strcmp(a, s) == 0 && more)
        if (OPT("-o")) out = argv[++i];
        else if (OPT("--dataset")) dataset = argv[++i];
        else if (OPT("--data-dir")) dir = argv[++i];
        else if (OPT("--train-images")) tri = argv[++i];
        else if (OPT("--train-labels")) trl = argv[++i];
        else if (OPT("--test-images")) tei = argv[++i];
        else if (OPT("--test-labels")) tel = argv[++i];
        else if (OPT("--epochs")) epochs = atoi(argv[++i]);
        else if (OPT("--batch")) batch = atoi(argv[++i]);
        else if (OPT("--lr")) lr = strtof(argv[++i], NULL);
        else if (OPT("--optimizer")) opt = argv[++i];
        else if (OPT("--momentum")) momentum = strtof(argv[++i], NULL);
        else if (OPT("--weight-decay")) wd = strtof(argv[++i], NULL);
        else if (OPT("--schedule")) sch = argv[++i];
        else if (OPT("--step-size")) step_size = atoi(argv[++i]);
        else if (OPT("--gamma")) gamma = strtof(argv[++i], NULL);
        else if (OPT("--seed")) seed = strtoull(argv[++i], NULL, 0);
        else if (OPT("--limit")) limit = atoi(argv[++i]);
        else if (strcmp(a, "--quiet") == 0) quiet = 1;
        else if (a[0] != '-' && !model) model = a;
        else
            return cli_usage_error("train", "unknown or incomplete option '%s'", a);
#undef OPT
    }
    if (!model || !out)
        return cli_usage_error("train", "MODEL and -o are required");
    if (epochs <= 0 || batch <= 0 || batch > 65536)
        return cli_usage_error("train", "--epochs and --batch must be positive");
    if (strcmp(opt, "sgd") && strcmp(opt, "adam"))
        return cli_usage_error("train", "unknown optimizer '%s' (sgd, adam)", opt);
    if (strcmp(sch, "const") && strcmp(sch, "step") && strcmp(sch, "cosine"))
        return cli_usage_error("train", "unknown schedule '%s' (const, step, cosine)", sch);
    if ((tri != NULL) != (trl != NULL) || (tei != NULL) != (tel != NULL))
        return cli_usage_error("train", "images and labels files come in pairs");
    if (!tri && strcmp(dataset, "fashion-mnist"))
        return cli_usage_error("train", "unknown dataset '%s' (fashion-mnist, or give IDX files)",
                               dataset);

    st = tri ? tml_dataset_load_idx(&train, tri, trl, err, sizeof err)
             : tml_dataset_load_fashion_mnist(&train, dir, true, err, sizeof err);
    if (!st && (tei || !tri))
        st = tei ? tml_dataset_load_idx(&test, tei, tel, err, sizeof err)
                 : tml_dataset_load_fashion_mnist(&test, dir, false, err, sizeof err);
    if (st) {
        fprintf(stderr, "tmlaas train: %s\n", err);
        goto done;
    }
    if (limit > 0 && limit < train.n)
        train.n = limit;

    g = tml_graph_new();
    if (!g)
        goto done;
    if ((st = tml_import_file(g, model)) || (st = tml_trainer_new(g, batch, &t))) {
        fprintf(stderr, "tmlaas train: %s\n", tml_graph_error(g));
        goto done;
    }
    if ((int64_t)train.h * train.w != tml_trainer_sample_size(t)) {
        fprintf(stderr, "tmlaas train: dataset samples have %d values, input of '%s' takes %lld\n",
                train.h * train.w, model, (long long)tml_trainer_sample_size(t));
        goto done;
    }
    tml_optim_defaults(&o, strcmp(opt, "adam") == 0 ? TML_OPTIM_ADAM : TML_OPTIM_SGD);
    if (lr > 0.0f)
        o.lr = lr;
    o.momentum = momentum;
    o.weight_decay = wd;
    o.sched = strcmp(sch, "step") == 0 ? TML_SCHED_STEP
              : strcmp(sch, "cosine") == 0 ? TML_SCHED_COSINE : TML_SCHED_CONST;
    o.step_size = step_size;
    o.gamma = gamma;
    o.total_steps = (long)epochs * ((train.n + batch - 1) / batch);
    params = tml_trainer_params(t, &n_params);
    {
        int64_t np = 0;
        for (i = 0; i < n_params; i++)
            np += params[i].n;
        if (!quiet)
            printf("training %s: %d parameter tensors, %lld weights; %d samples, batch %d, %s lr "
                   "%g, seed %llu\n", model, n_params, (long long)np, train.n, batch, opt,
                   (double)o.lr, seed);
    }
    if (tml_batch_iter_init(&it, &train, batch, true, seed))
        goto done;
    x = malloc((size_t)batch * (size_t)(train.h * train.w) * sizeof(float));
    y = malloc((size_t)batch);
    if (!x || !y)
        goto done;
    for (ep = 0; ep < epochs; ep++) {
        double t0 = now(), sum_loss = 0.0, dt;
        long seen = 0, correct = 0;
        int nb, step = 0, tty = isatty(1) && !quiet;
        tml_batch_iter_reset(&it);
        while ((nb = tml_batch_iter_next(&it, x, y)) > 0) {
            double loss;
            int ok;
            if ((st = tml_trainer_step_grad(t, x, y, nb, &loss, &ok))) {
                fprintf(stderr, "tmlaas train: %s\n", tml_graph_error(g));
                goto done;
            }
            tml_optim_step(&o, params, n_params, ep);
            sum_loss += loss * nb;
            correct += ok;
            seen += nb;
            if (tty && ++step % 50 == 0) {
                printf("\repoch %d/%d  %5.1f%%  loss %.4f  acc %.2f%%  %.0f img/s   ", ep + 1,
                       epochs, 100.0 * seen / train.n, sum_loss / seen, 100.0 * correct / seen,
                       seen / (now() - t0));
                fflush(stdout);
            }
        }
        dt = now() - t0;
        if (!quiet)
            printf("%sepoch %d/%d  loss %.4f  acc %.2f%%  %.0f img/s  lr %g\n", tty ? "\r" : "",
                   ep + 1, epochs, sum_loss / seen, 100.0 * correct / seen, seen / dt,
                   (double)tml_optim_lr(&o, ep));
        fflush(stdout);
    }
    if (test.n > 0) {
        double acc, loss;
        if ((st = tml_trainer_evaluate(t, &test, &acc, &loss))) {
            fprintf(stderr, "tmlaas train: %s\n", tml_graph_error(g));
            goto done;
        }
        printf("test accuracy %.2f%% (loss %.4f, %d samples)\n", 100.0 * acc, loss, test.n);
    }
    if ((st = tml_onnx_write_file(g, out))) {
        fprintf(stderr, "tmlaas train: %s\n", tml_graph_error(g));
        goto done;
    }
    if (!quiet)
        printf("wrote %s\n", out);
    rc = 0;
done:
    free(x);
    free(y);
    tml_batch_iter_release(&it);
    tml_trainer_free(t);
    tml_graph_free(g);
    tml_dataset_release(&train);
    tml_dataset_release(&test);
    return rc;
}
