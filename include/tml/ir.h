/*
 * ir.h - the graph every stage after import works on.
 *
 * A tml_graph holds tensors and nodes in two growable arrays and refers to them by index
 * (never by pointer: adding a node or tensor may move the arrays). Everything else a graph
 * needs - names, attribute arrays, constant data, quantization parameters - comes from the
 * graph's own arena and is released only when the graph is freed, so passes never call free.
 *
 * Semantics are ONNX's: an op means what the ONNX operator of the same name means, with
 * attributes under ONNX's names. Importers of other formats (TFLite) translate to that, and
 * record the layout of 4-D activations in tml_tensor.layout where it is not NCHW.
 *
 * Errors: a function that fails calls tml_graph_errorf(), which formats a one-line message
 * into the graph's buffer ("node 'conv_3' (Conv): unsupported attribute 'auto_pad=VALID'")
 * and returns the status; the CLI prints tml_graph_error(). The first error wins.
 */
#ifndef TML_IR_H
#define TML_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tml/rt.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
#define TML_OP(e, fn, onnx, mini, maxi, mino, maxo, fam) TML_OP_##e,
#include "tml/ops.def"
#undef TML_OP
    TML_OP_COUNT
} tml_op;

/* Static facts about an op, one row of ops.def. */
typedef struct {
    const char *name;      /* enum spelling, lowercase ("conv") */
    const char *onnx_name; /* ONNX op_type or NULL */
    int min_in, max_in;    /* max -1 = unbounded */
    int min_out, max_out;
    const char *family;    /* "nn", "elementwise", "data", "quant" */
} tml_op_info;

const tml_op_info *tml_op_get_info(tml_op op);
/* Maps an ONNX op_type to an op; returns TML_OP_COUNT if unknown. */
tml_op tml_op_from_onnx(const char *op_type);

/* Memory layout of a rank-4 activation. ONNX is NCHW; TFLite is NHWC. */
typedef enum { TML_LAYOUT_ANY = 0, TML_LAYOUT_NCHW = 1, TML_LAYOUT_NHWC = 2 } tml_layout;

/* Affine quantization: real = scale * (q - zero_point). n == 1: per tensor; otherwise one
 * entry per index of dimension `axis`. */
typedef struct {
    int n;
    int axis;
    float *scale;       /* (n) */
    int32_t *zero_point; /* (n) */
} tml_quant;

typedef struct {
    const char *name;   /* unique in the graph; importers invent one if the file has none */
    tml_dtype dtype;    /* TML_DT_UNDEF until known */
    int rank;           /* -1 while the shape is unknown */
    int64_t dims[TML_MAX_RANK];
    void *data;         /* constant value (row-major, little-endian) or NULL; graph-owned */
    tml_quant *quant;   /* NULL if not quantized */
    tml_layout layout;
    int producer;       /* index of the producing node, -1 for constants and graph inputs */
    bool is_input;      /* a graph input (a value the caller provides) */
    bool is_output;     /* a graph output */
} tml_tensor;

typedef enum {
    TML_ATTR_INT = 1,
    TML_ATTR_FLOAT = 2,
    TML_ATTR_STRING = 3,
    TML_ATTR_TENSOR = 4,  /* index of a constant tensor in the graph */
    TML_ATTR_INTS = 5,
    TML_ATTR_FLOATS = 6,
    TML_ATTR_STRINGS = 7
} tml_attr_type;

typedef struct {
    const char *name;
    tml_attr_type type;
    int n;              /* element count of INTS/FLOATS/STRINGS */
    int64_t i;
    float f;
    const char *s;
    int tensor;
    int64_t *ints;      /* (n) */
    float *floats;      /* (n) */
    const char **strings; /* (n) */
} tml_attr;

/* An activation fused into the op that precedes it (by passes/fuse_activation.c). Kernels
 * apply it to each output element: y = act(y). */
typedef enum {
    TML_ACT_NONE = 0,
    TML_ACT_RELU = 1,      /* max(y, 0) */
    TML_ACT_CLIP = 2,      /* min(max(y, a), b); RELU6 is CLIP(0, 6) */
    TML_ACT_LEAKY = 3,     /* y < 0 ? a*y : y */
    TML_ACT_SIGMOID = 4,
    TML_ACT_TANH = 5,
    TML_ACT_HARD_SWISH = 6
} tml_act;

typedef struct {
    const char *name;     /* the node's name in the source model, or an invented one */
    tml_op op;
    int n_in;
    int *in;              /* (n_in) tensor indices; -1 for an absent optional input */
    int n_out;
    int *out;             /* (n_out) tensor indices; -1 for an absent optional output */
    int n_attrs;
    tml_attr *attrs;      /* (n_attrs) */
    tml_act act;          /* fused activation */
    float act_a, act_b;   /* its parameters (see tml_act) */
    bool dead;            /* removed by a pass; skipped by everything downstream */
} tml_node;

typedef struct tml_graph tml_graph;

struct tml_graph {
    char *name;
    char *source;          /* path or description of what was imported */
    int64_t opset;         /* ai.onnx opset of the source model, 0 if not ONNX */

    tml_tensor *tensors;
    int n_tensors, cap_tensors;
    tml_node *nodes;
    int n_nodes, cap_nodes;

    int *inputs;           /* (n_inputs) graph inputs in model order, tensor indices */
    int n_inputs, cap_inputs;
    int *outputs;          /* (n_outputs) graph outputs in model order, tensor indices */
    int n_outputs, cap_outputs;

    char **notes;          /* (n_notes) remarks for the report ("batch dimension fixed to 1") */
    int n_notes, cap_notes;

    char err[512];         /* first error message */
    tml_status err_status;

    struct tml_arena *arena; /* owns names, attributes, constant data */
    struct tml_name_map *names; /* tensor name -> index */
};

/* Lifecycle. */
tml_graph *tml_graph_new(void);
void tml_graph_free(tml_graph *g);

/* Graph-owned memory: zeroed, lives until tml_graph_free. NULL only if out of memory. */
void *tml_graph_alloc(tml_graph *g, size_t size);
char *tml_graph_strdup(tml_graph *g, const char *s);
void *tml_graph_memdup(tml_graph *g, const void *p, size_t size);

/* Tensors. add_tensor fails (-1 with error set) if the name is taken; NULL name invents one. */
int tml_graph_add_tensor(tml_graph *g, const char *name);
int tml_graph_find_tensor(const tml_graph *g, const char *name); /* -1 if absent */
/* Sets dtype, rank and dims of tensor t. */
void tml_tensor_set_shape(tml_tensor *t, tml_dtype dt, int rank, const int64_t *dims);
int64_t tml_tensor_numel(const tml_tensor *t);   /* product of dims; -1 if shape unknown */
int64_t tml_tensor_nbytes(const tml_tensor *t);  /* numel * element size; -1 if unknown */
bool tml_tensor_is_const(const tml_tensor *t);

/* Nodes. Returns the new node's index or -1 (error set). in/out arrays are copied. */
int tml_graph_add_node(tml_graph *g, tml_op op, const char *name, int n_in, const int *in,
                       int n_out, const int *out);
tml_status tml_graph_add_input(tml_graph *g, int tensor);
tml_status tml_graph_add_output(tml_graph *g, int tensor);

/* Attributes. add_attr returns a zeroed attribute with name and type set, or NULL. */
tml_attr *tml_node_add_attr(tml_graph *g, int node, const char *name, tml_attr_type type);
const tml_attr *tml_node_attr(const tml_node *n, const char *name);
int64_t tml_node_attr_int(const tml_node *n, const char *name, int64_t dflt);
float tml_node_attr_float(const tml_node *n, const char *name, float dflt);
const char *tml_node_attr_str(const tml_node *n, const char *name, const char *dflt);
/* Sets *vals to the INTS array; returns its length, or -1 if absent / not INTS. */
int tml_node_attr_ints(const tml_node *n, const char *name, const int64_t **vals);
int tml_node_attr_floats(const tml_node *n, const char *name, const float **vals);

/* The input tensor i of node n, or NULL if absent (i out of range or -1). */
tml_tensor *tml_node_input(tml_graph *g, const tml_node *n, int i);
tml_tensor *tml_node_output(tml_graph *g, const tml_node *n, int i);

/* Errors and notes. errorf records the first error and returns st. */
tml_status tml_graph_errorf(tml_graph *g, tml_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* Same, prefixed with "node 'NAME' (OpType): ". */
tml_status tml_node_errorf(tml_graph *g, int node, tml_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
const char *tml_graph_error(const tml_graph *g);
void tml_graph_clear_error(tml_graph *g);
void tml_graph_note(tml_graph *g, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Checks arity against ops.def, tensor indices in range, single producer per tensor, and
 * topological order (every input produced by an earlier live node, a constant or an input). */
tml_status tml_graph_verify(tml_graph *g);

/* Counts of live nodes; helper for reports. */
int tml_graph_live_nodes(const tml_graph *g);

/* Writes "[1,3,224,224]" (or "[?]") into buf; returns buf. */
const char *tml_shape_str(const tml_tensor *t, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* TML_IR_H */
