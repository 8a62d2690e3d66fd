/*
 * test_train_data.c - the parts of training around the gradients: IDX parsing of hostile and
 * valid bytes, gzip'd and plain files, the seeded batch iterator, optimizers and schedules,
 * bit-for-bit repeatable runs, the ONNX writer's round trip through tml_import_onnx, and
 * training actually lowering the loss on a small synthetic problem.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include <cmocka.h>

#include "tml/import.h"
#include "tml/train.h"

static size_t idx_bytes(uint8_t *buf, int rank, const uint32_t *dims, uint8_t fill)
{
    size_t n = 1, off = 4;
    int i;
    buf[0] = buf[1] = 0;
    buf[2] = 0x08;
    buf[3] = (uint8_t)rank;
    for (i = 0; i < rank; i++) {
        buf[off++] = (uint8_t)(dims[i] >> 24);
        buf[off++] = (uint8_t)(dims[i] >> 16);
        buf[off++] = (uint8_t)(dims[i] >> 8);
        buf[off++] = (uint8_t)dims[i];
        n *= dims[i];
    }
    for (i = 0; i < (int)n; i++)
        buf[off + i] = (uint8_t)(fill + i);
    return off + n;
}

static void test_idx_parse(void **state)
{
    uint8_t buf[256], *out;
    uint32_t d3[3] = {2, 3, 4}, d1[1] = {5}, big[3] = {0xFFFFFFFFu, 0xFFFFFFFFu, 2};
    int64_t dims[3];
    int rank;
    char err[128];
    size_t n = idx_bytes(buf, 3, d3, 7);
    assert_int_equal(tml_idx_parse(buf, n, &rank, dims, &out, err, sizeof err), TML_OK);
    assert_int_equal(rank, 3);
    assert_int_equal(dims[2], 4);
    assert_int_equal(out[23], (uint8_t)(7 + 23));
    free(out);
    /* truncated payload, truncated header, bad magic, bad type, huge dims */
    assert_int_equal(tml_idx_parse(buf, n - 1, &rank, dims, &out, err, sizeof err), TML_ERR_FORMAT);
    assert_non_null(strstr(err, "truncated"));
    assert_int_equal(tml_idx_parse(buf, 9, &rank, dims, &out, err, sizeof err), TML_ERR_FORMAT);
    buf[0] = 1;
    assert_int_equal(tml_idx_parse(buf, n, &rank, dims, &out, err, sizeof err), TML_ERR_FORMAT);
    buf[0] = 0;
    buf[2] = 0x0D;
    assert_int_equal(tml_idx_parse(buf, n, &rank, dims, &out, err, sizeof err),
                     TML_ERR_UNSUPPORTED);
    n = idx_bytes(buf, 1, d1, 0);
    assert_int_equal(tml_idx_parse(buf, n, &rank, dims, &out, err, sizeof err), TML_OK);
    free(out);
    idx_bytes(buf, 0, NULL, 0);
    buf[3] = 3;
    memcpy(buf + 4, "\xff\xff\xff\xff\xff\xff\xff\xff\x00\x00\x00\x02", 12);
    (void)big;
    assert_int_equal(tml_idx_parse(buf, 16, &rank, dims, &out, err, sizeof err), TML_ERR_FORMAT);
    assert_null(out);
}

static void write_file(const char *path, const uint8_t *b, size_t n, int gz)
{
    if (gz) {
        gzFile f = gzopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(gzwrite(f, b, (unsigned)n), (int)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(b, 1, n, f), n);
        fclose(f);
    }
}

static void test_dataset_files_and_iterator(void **state)
{
    uint8_t ib[512], lb[64];
    uint32_t di[3] = {10, 2, 3}, dl[1] = {10};
    char im[64], la[64], err[256];
    tml_dataset ds;
    tml_batch_iter a, b;
    float xa[4 * 6], xb[4 * 6];
    uint8_t ya[4], yb[4];
    int i, seen = 0, k, counts[10] = {0};
    size_t ni = idx_bytes(ib, 3, di, 0), nl = idx_bytes(lb, 1, dl, 0);
    for (i = 0; i < 10; i++)
        lb[8 + i] = (uint8_t)(i % 3);
    snprintf(im, sizeof im, "/tmp/tml_idx_im_%d.gz", (int)getpid());
    snprintf(la, sizeof la, "/tmp/tml_idx_la_%d", (int)getpid());
    write_file(im, ib, ni, 1); /* gzip'd */
    write_file(la, lb, nl, 0); /* plain */
    assert_int_equal(tml_dataset_load_idx(&ds, im, la, err, sizeof err), TML_OK);
    assert_int_equal(ds.n, 10);
    assert_int_equal(ds.h * ds.w, 6);
    assert_int_equal(ds.n_classes, 3);
    assert_true(fabsf(ds.x[7] - 7.0f / 255.0f) < 1e-6f);
    /* same seed, same order; every sample once per epoch */
    tml_batch_iter_init(&a, &ds, 4, true, 42);
    tml_batch_iter_init(&b, &ds, 4, true, 42);
    while ((k = tml_batch_iter_next(&a, xa, ya)) > 0) {
        assert_int_equal(tml_batch_iter_next(&b, xb, yb), k);
        assert_memory_equal(xa, xb, (size_t)k * 6 * sizeof(float));
        for (i = 0; i < k; i++)
            counts[(int)(xa[i * 6] * 255.0f + 0.5f) / 6]++;
        seen += k;
    }
    assert_int_equal(seen, 10);
    for (i = 0; i < 10; i++)
        assert_int_equal(counts[i], 1);
    tml_batch_iter_release(&a);
    tml_batch_iter_release(&b);
    tml_dataset_release(&ds);
    /* mismatched counts are refused with the file named */
    dl[0] = 9;
    nl = idx_bytes(lb, 1, dl, 0);
    write_file(la, lb, nl, 0);
    assert_int_equal(tml_dataset_load_idx(&ds, im, la, err, sizeof err), TML_ERR_FORMAT);
    assert_non_null(strstr(err, im));
    assert_int_equal(tml_dataset_load_idx(&ds, "/nonexistent/x", la, err, sizeof err), TML_ERR_IO);
    unlink(im);
    unlink(la);
}

static void test_schedules(void **state)
{
    tml_optim o;
    tml_optim_defaults(&o, TML_OPTIM_SGD);
    o.lr = 1.0f;
    o.sched = TML_SCHED_STEP;
    o.step_size = 2;
    o.gamma = 0.1f;
    assert_true(fabsf(tml_optim_lr(&o, 1) - 1.0f) < 1e-6f);
    assert_true(fabsf(tml_optim_lr(&o, 2) - 0.1f) < 1e-6f);
    o.sched = TML_SCHED_COSINE;
    o.total_steps = 100;
    o.step = 50;
    assert_true(fabsf(tml_optim_lr(&o, 0) - 0.5f) < 1e-5f);
    o.step = 100;
    assert_true(tml_optim_lr(&o, 0) == 0.0f);
}

/* A synthetic 4-class problem on 28x28 inputs: class c lights up quadrant c. */
static void synth(tml_dataset *ds, int n, uint64_t seed)
{
    tml_rng r;
    int i, p;
    tml_rng_init(&r, seed);
    ds->n = n;
    ds->h = ds->w = 28;
    ds->n_classes = 4;
    ds->x = malloc((size_t)n * 784 * sizeof(float));
    ds->y = malloc((size_t)n);
    for (i = 0; i < n; i++) {
        int c = (int)(tml_rng_next(&r) % 4);
        ds->y[i] = (uint8_t)c;
        for (p = 0; p < 784; p++) {
            int q = (p / 28 >= 14) * 2 + (p % 28 >= 14);
            ds->x[i * 784 + p] = 0.3f * tml_rng_uniform(&r) + (q == c ? 0.5f : 0.0f);
        }
    }
}

/* Trains arch for `steps` batches of 16; returns final training-set accuracy, and the graph. */
static double train(const char *arch, tml_optim_kind kind, int steps, tml_graph **out)
{
    tml_graph *g = tml_graph_new();
    tml_trainer *t;
    tml_dataset ds;
    tml_batch_iter it;
    tml_optim o;
    tml_param *p;
    int np, s;
    float x[16 * 784];
    uint8_t y[16];
    double acc;
    synth(&ds, 256, 3);
    assert_int_equal(tml_arch_build(g, arch, 4, 5), TML_OK);
    assert_int_equal(tml_trainer_new(g, 16, &t), TML_OK);
    tml_optim_defaults(&o, kind);
    o.weight_decay = 1e-4f;
    p = tml_trainer_params(t, &np);
    tml_batch_iter_init(&it, &ds, 16, true, 9);
    for (s = 0; s < steps; s++) {
        int nb = tml_batch_iter_next(&it, x, y);
        if (nb == 0) {
            tml_batch_iter_reset(&it);
            nb = tml_batch_iter_next(&it, x, y);
        }
        assert_int_equal(tml_trainer_step_grad(t, x, y, nb, NULL, NULL), TML_OK);
        tml_optim_step(&o, p, np, 0);
    }
    assert_int_equal(tml_trainer_evaluate(t, &ds, &acc, NULL), TML_OK);
    tml_batch_iter_release(&it);
    tml_trainer_free(t);
    tml_dataset_release(&ds);
    *out = g;
    return acc;
}

static void test_training_learns_and_repeats(void **state)
{
    tml_graph *a, *b, *c;
    int i;
    double acc = train("mlp", TML_OPTIM_SGD, 40, &a);
    assert_true(acc > 0.95);
    tml_graph_free(a);
    acc = train("dscnn", TML_OPTIM_ADAM, 80, &a);
    print_message("dscnn acc %.3f\n", acc);
    assert_true(acc > 0.9);
    /* same seed, same bits; every weight compared */
    train("dscnn", TML_OPTIM_ADAM, 80, &b);
    for (i = 0; i < a->n_tensors; i++)
        if (a->tensors[i].data)
            assert_memory_equal(a->tensors[i].data, b->tensors[i].data,
                                (size_t)tml_tensor_nbytes(&a->tensors[i]));
    /* a different number of steps gives different weights (the check above can fail) */
    train("dscnn", TML_OPTIM_ADAM, 79, &c);
    {
        int differ = 0;
        for (i = 0; i < a->n_tensors; i++)
            if (a->tensors[i].data &&
                memcmp(a->tensors[i].data, c->tensors[i].data,
                       (size_t)tml_tensor_nbytes(&a->tensors[i])))
                differ = 1;
        assert_true(differ);
    }
    tml_graph_free(a);
    tml_graph_free(b);
    tml_graph_free(c);
}

static void test_onnx_round_trip(void **state)
{
    const char *archs[3] = {"mlp", "lenet", "dscnn"};
    int k, i;
    for (k = 0; k < 3; k++) {
        tml_graph *g = tml_graph_new(), *h = tml_graph_new();
        tml_trainer *tg, *th;
        uint8_t *buf;
        size_t size;
        float x[2 * 784];
        const float *lg, *lh;
        int nc;
        tml_rng r;
        assert_int_equal(tml_arch_build(g, archs[k], 10, 7), TML_OK);
        assert_int_equal(tml_onnx_write_mem(g, &buf, &size), TML_OK);
        if (tml_import_onnx(h, buf, size, archs[k]) != TML_OK) {
            print_error("%s\n", tml_graph_error(h));
            fail();
        }
        free(buf);
        assert_int_equal(h->opset, 13);
        assert_int_equal(tml_graph_live_nodes(h), tml_graph_live_nodes(g));
        assert_int_equal(tml_trainer_new(g, 2, &tg), TML_OK);
        assert_int_equal(tml_trainer_new(h, 2, &th), TML_OK);
        tml_rng_init(&r, 1);
        for (i = 0; i < 2 * 784; i++)
            x[i] = tml_rng_uniform(&r);
        assert_int_equal(tml_trainer_forward(tg, x, 2, false), TML_OK);
        assert_int_equal(tml_trainer_forward(th, x, 2, false), TML_OK);
        lg = tml_trainer_logits(tg, &nc);
        lh = tml_trainer_logits(th, NULL);
        assert_int_equal(nc, 10);
        assert_memory_equal(lg, lh, 20 * sizeof(float));
        tml_trainer_free(tg);
        tml_trainer_free(th);
        tml_graph_free(g);
        tml_graph_free(h);
    }
}

static void test_fashion_mnist_if_installed(void **state)
{
    tml_dataset ds;
    char err[256];
    if (access("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz", R_OK) != 0) {
        print_message("skipped: dataset-fashion-mnist is not installed\n");
        skip();
    }
    assert_int_equal(tml_dataset_load_fashion_mnist(&ds, NULL, false, err, sizeof err), TML_OK);
    assert_int_equal(ds.n, 10000);
    assert_int_equal(ds.h, 28);
    assert_int_equal(ds.w, 28);
    assert_int_equal(ds.n_classes, 10);
    tml_dataset_release(&ds);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idx_parse),
        cmocka_unit_test(test_dataset_files_and_iterator),
        cmocka_unit_test(test_schedules),
        cmocka_unit_test(test_training_learns_and_repeats),
        cmocka_unit_test(test_onnx_round_trip),
        cmocka_unit_test(test_fashion_mnist_if_installed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
