/*
 * train.h - float32 training of a tml_graph on the host: dataset readers, a trainer that runs
 * forward and backward passes over the same IR the compiler uses, optimizers, built-in
 * architectures and an ONNX writer for the result.
 *
 * How it fits: an ONNX model is imported (tml_import_file) or built (tml_arch_build); the
 * trainer treats the float initializers that feed Conv, Gemm, MatMul, Add and
 * BatchNormalization (scale, bias) as parameters and updates them in place, in the graph's own
 * constant data, so after training the graph *is* the trained model: tml_onnx_write() saves it
 * and `tmlaas compile` takes it from there. BatchNormalization's running mean and variance are
 * updated in place the same way.
 *
 * Why own loops: training runs on the host, once per model; plain readable loops (with the
 * matrix products written in the order compilers vectorize) keep it a reference anyone can
 * check, and seeded runs repeat bit for bit because nothing runs in parallel.
 *
 * Errors go into the graph's message buffer (tml_graph_error) or, for datasets, into the
 * caller's buffer; nothing here exits.
 */
#ifndef TML_TRAIN_H
#define TML_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/ir.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- datasets (src/train/idx.c) ---- */

/* Images as float32 in [0,1], one row of h*w per image, and labels 0..n_classes-1. */
typedef struct {
    int n;            /* number of samples */
    int h, w;         /* image height and width (1-D IDX data: h = 1) */
    int n_classes;    /* max label + 1 */
    float *x;         /* (n, h, w) */
    uint8_t *y;       /* (n) */
} tml_dataset;

/* Largest IDX file accepted (decompressed), so a hostile header cannot make us allocate
 * without bound. 256 MiB holds Fashion-MNIST four times over. */
#define TML_IDX_MAX_BYTES ((size_t)256 << 20)

/* Parses IDX bytes (already decompressed). Images: magic 0x00000803 (u8, 3-D); labels:
 * 0x00000801 (u8, 1-D). Returns a malloc'd copy of the payload in *out (u8) and the dims. */
tml_status tml_idx_parse(const uint8_t *data, size_t size, int *rank, int64_t dims[3],
                         uint8_t **out, char *err, size_t errsz);
/* Reads a file, gzip'd or plain, bounded by TML_IDX_MAX_BYTES. *out is malloc'd. */
tml_status tml_file_read_maybe_gz(const char *path, uint8_t **out, size_t *size, char *err,
                                  size_t errsz);
/* Loads an images file and a labels file into ds (counts must agree). */
tml_status tml_dataset_load_idx(tml_dataset *ds, const char *images, const char *labels,
                                char *err, size_t errsz);
/* Fashion-MNIST from Debian's dataset-fashion-mnist (or dir if not NULL); train or test. */
tml_status tml_dataset_load_fashion_mnist(tml_dataset *ds, const char *dir, bool train,
                                          char *err, size_t errsz);
void tml_dataset_release(tml_dataset *ds);

/* Deterministic generator (splitmix64); same seed, same numbers on every host. */
typedef struct {
    uint64_t s;
} tml_rng;
void tml_rng_init(tml_rng *r, uint64_t seed);
uint64_t tml_rng_next(tml_rng *r);
float tml_rng_uniform(tml_rng *r);  /* [0,1) */
float tml_rng_normal(tml_rng *r);   /* N(0,1), Box-Muller */

/* Walks a dataset in batches, in an order shuffled by a seeded Fisher-Yates each epoch. */
typedef struct {
    const tml_dataset *ds;
    int batch;
    int pos;
    int *order;       /* (ds->n) */
    bool shuffle;
    tml_rng rng;
} tml_batch_iter;

tml_status tml_batch_iter_init(tml_batch_iter *it, const tml_dataset *ds, int batch,
                               bool shuffle, uint64_t seed);
/* Starts an epoch (reshuffles if shuffling). */
void tml_batch_iter_reset(tml_batch_iter *it);
/* Fills x (batch, h*w) and y (batch); returns the number of samples (0 at the end). */
int tml_batch_iter_next(tml_batch_iter *it, float *x, uint8_t *y);
void tml_batch_iter_release(tml_batch_iter *it);

/* ---- trainer (src/train/trainer.c, src/train/ops_*.c) ---- */

typedef struct tml_trainer tml_trainer;

/* One trainable tensor: its values live in the graph's constant data. */
typedef struct {
    int tensor;       /* index in the graph */
    int64_t n;        /* element count */
    float *w;         /* (n) = graph tensor data */
    float *g;         /* (n) gradient of the mean batch loss */
    float *m, *v;     /* (n) optimizer state (momentum / Adam moments) */
} tml_param;

/* Builds a trainer for batches of up to max_batch samples. The graph needs one non-constant
 * float input whose first dimension is the batch, only supported ops, and ends in logits or
 * in a Softmax (which is then fused with the cross-entropy loss). */
tml_status tml_trainer_new(tml_graph *g, int max_batch, tml_trainer **out);
void tml_trainer_free(tml_trainer *t);

/* Forward pass over n <= max_batch samples x (n, input sample size). training: batch
 * statistics in BatchNormalization (and running statistics updated). */
tml_status tml_trainer_forward(tml_trainer *t, const float *x, int n, bool training);
/* After forward: the network's logits (n, n_classes) (before the fused Softmax, if any). */
const float *tml_trainer_logits(const tml_trainer *t, int *n_classes);
/* Forward (training mode), mean softmax cross-entropy against labels, backward: fills every
 * tml_param.g (overwriting) and the input gradient. loss and correct may be NULL. */
tml_status tml_trainer_step_grad(tml_trainer *t, const float *x, const uint8_t *y, int n,
                                 double *loss, int *correct);
/* Also compute the gradient with respect to the input (off by default: training does not need
 * it and for a first Conv it costs as much as the layer's forward pass). */
void tml_trainer_want_input_grad(tml_trainer *t, bool on);
/* Gradient of the last step_grad's loss with respect to the input x (n, sample size), or NULL
 * unless asked for with tml_trainer_want_input_grad. */
const float *tml_trainer_input_grad(const tml_trainer *t);
tml_param *tml_trainer_params(tml_trainer *t, int *n);
int64_t tml_trainer_sample_size(const tml_trainer *t);
/* Accuracy (and mean loss) of the graph in inference mode over a dataset. */
tml_status tml_trainer_evaluate(tml_trainer *t, const tml_dataset *ds, double *accuracy,
                                double *loss);

/* ---- optimizers (src/train/optim.c) ---- */

typedef enum { TML_OPTIM_SGD = 0, TML_OPTIM_ADAM = 1 } tml_optim_kind;
typedef enum { TML_SCHED_CONST = 0, TML_SCHED_STEP = 1, TML_SCHED_COSINE = 2 } tml_sched_kind;

typedef struct {
    tml_optim_kind kind;
    float lr;            /* base learning rate */
    float momentum;      /* SGD: 0.9 by default */
    float beta1, beta2, eps; /* Adam: 0.9, 0.999, 1e-8 */
    float weight_decay;  /* L2 added to the gradient (SGD); decoupled, AdamW-style (Adam) */
    tml_sched_kind sched;
    int step_size;       /* STEP: epochs between decays */
    float gamma;         /* STEP: decay factor */
    long total_steps;    /* COSINE: steps to anneal over */
    long step;           /* updates done so far */
} tml_optim;

void tml_optim_defaults(tml_optim *o, tml_optim_kind kind);
/* Learning rate at the current step / epoch under the schedule. */
float tml_optim_lr(const tml_optim *o, int epoch);
/* One update of every parameter from its gradient. */
void tml_optim_step(tml_optim *o, tml_param *p, int n, int epoch);

/* ---- built-in architectures (src/train/arch.c) ---- */

/* "mlp", "lenet" or "dscnn" for 28x28x1 inputs and n_classes outputs: a fresh graph with
 * He-initialized weights (seeded), input "input" [1,1,28,28], output "logits" [1,n]. */
tml_status tml_arch_build(tml_graph *g, const char *arch, int n_classes, uint64_t seed);

/* ---- ONNX writer (src/train/onnx_write.c) ---- */

/* Serializes g as an ONNX ModelProto (ir_version 8, opset 13). *out is malloc'd. */
tml_status tml_onnx_write_mem(tml_graph *g, uint8_t **out, size_t *size);
tml_status tml_onnx_write_file(tml_graph *g, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* TML_TRAIN_H */
