/*
 * compiler.c - import -> passes -> plan in one call, and the report of the result.
 *
 * The report is what `tmlaas compile` prints and writes to report.json, and what the service
 * stores with every build: op counts, parameter and weight bytes, arena peak beside the
 * liveness lower bound, MACs, the kernels the plan links, and the memory strategies tried.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "tml/compiler.h"
#include "tml/import.h"

void tml_compile_options_default(tml_compile_options *o)
{
    memset(o, 0, sizeof(*o));
    tml_pass_options_default(&o->passes);
    tml_plan_options_default(&o->plan);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Turns the inputs with bind_data into constants and drops them from the input list. */
static tml_status bind_inputs(tml_graph *g, const tml_compile_options *o)
{
    int k, w = 0, n = g->n_inputs;
    for (k = 0; k < n; k++) {
        tml_tensor *t = &g->tensors[g->inputs[k]];
        if (k < 16 && o->bind_data[k]) {
            int64_t need = tml_tensor_nbytes(t);
            if (need < 0 || (size_t)need != o->bind_bytes[k])
                return tml_graph_errorf(g, TML_ERR_SHAPE,
                                        "input '%s': bound value has %zu bytes, shape needs %lld",
                                        t->name, o->bind_bytes[k], (long long)need);
            t->data = tml_graph_memdup(g, o->bind_data[k], o->bind_bytes[k] ? o->bind_bytes[k] : 1);
            if (!t->data)
                return tml_graph_errorf(g, TML_ERR_NOMEM, "out of memory");
            t->is_input = false;
            continue;
        }
        g->inputs[w++] = g->inputs[k];
    }
    g->n_inputs = w;
    return TML_OK;
}

tml_status tml_model_compile(const char *path, const tml_compile_options *o, tml_model **out,
                             char *err, size_t errsz)
{
    tml_compile_options defaults;
    tml_model *m;
    tml_status st;
    double t0 = now_seconds();
    int k;

    *out = NULL;
    if (!o) {
        tml_compile_options_default(&defaults);
        o = &defaults;
    }
    m = calloc(1, sizeof(*m));
    if (!m || !(m->graph = tml_graph_new())) {
        free(m);
        snprintf(err, errsz, "%s: out of memory", path);
        return TML_ERR_NOMEM;
    }
    st = tml_import_file(m->graph, path);
    if (st == TML_OK) {
        for (k = 0; k < o->n_input_shapes && k < m->graph->n_inputs; k++) {
            tml_tensor *t = &m->graph->tensors[m->graph->inputs[k]];
            if (o->input_rank[k] >= 0)
                tml_tensor_set_shape(t, t->dtype, o->input_rank[k], o->input_dims[k]);
        }
        st = bind_inputs(m->graph, o);
        if (st == TML_OK)
            st = tml_passes_run(m->graph, &o->passes);
    }
    if (st == TML_OK)
        st = tml_plan_build(m->graph, &o->plan, &m->plan);
    if (st != TML_OK) {
        const char *msg = tml_graph_error(m->graph);
        /* importer messages already start with the file name; others get it here */
        if (strncmp(msg, path, strlen(path)) == 0)
            snprintf(err, errsz, "%s", msg);
        else
            snprintf(err, errsz, "%s: %s", path, msg);
        tml_model_free(m);
        return st;
    }
    m->seconds = now_seconds() - t0;
    *out = m;
    return TML_OK;
}

void tml_model_free(tml_model *m)
{
    if (!m)
        return;
    tml_plan_free(m->plan);
    tml_graph_free(m->graph);
    free(m);
}

void tml_model_get_stats(const tml_model *m, tml_model_stats *s)
{
    const tml_plan *p = m->plan;
    bool seen[TML_K_COUNT];
    int i;
    memset(s, 0, sizeof(*s));
    memset(seen, 0, sizeof(seen));
    s->ops = tml_graph_live_nodes(m->graph);
    s->steps = p->n_steps;
    s->weight_bytes = p->weights_size;
    s->arena_bytes = p->arena_size;
    s->lower_bound = p->mem.lower_bound;
    s->macs = p->macs;
    for (i = 0; i < p->n_tensors; i++) {
        const tml_plan_tensor *t = &p->tensors[i];
        if (t->storage == TML_STORE_CONST) {
            size_t es = tml_dtype_size(t->dtype);
            s->params += es ? t->bytes / es : 0;
        }
    }
    for (i = 0; i < p->n_steps; i++) {
        tml_kernel_id k = p->steps[i].kernel;
        if (k > TML_K_NONE && k < TML_K_COUNT && !seen[k]) {
            seen[k] = true;
            s->n_kernels++;
        }
    }
}

/* Op counts of live nodes, in op-table order. */
static void count_ops(const tml_graph *g, int counts[TML_OP_COUNT])
{
    int i;
    memset(counts, 0, sizeof(int) * TML_OP_COUNT);
    for (i = 0; i < g->n_nodes; i++)
        if (!g->nodes[i].dead)
            counts[g->nodes[i].op]++;
}

static const char *op_display_name(tml_op op)
{
    const tml_op_info *oi = tml_op_get_info(op);
    return oi->onnx_name ? oi->onnx_name : oi->name;
}

static cJSON *tensor_json(const tml_graph *g, int ti)
{
    const tml_tensor *t = &g->tensors[ti];
    cJSON *o = cJSON_CreateObject(), *dims = cJSON_CreateArray();
    int i;
    cJSON_AddStringToObject(o, "name", t->name);
    cJSON_AddStringToObject(o, "dtype", tml_dtype_name(t->dtype));
    for (i = 0; i < t->rank; i++)
        cJSON_AddItemToArray(dims, cJSON_CreateNumber((double)t->dims[i]));
    cJSON_AddItemToObject(o, "shape", dims);
    return o;
}

char *tml_model_report_json(const tml_model *m)
{
    const tml_graph *g = m->graph;
    const tml_plan *p = m->plan;
    tml_model_stats s;
    int counts[TML_OP_COUNT], i;
    bool seen[TML_K_COUNT];
    cJSON *root = cJSON_CreateObject(), *ops, *kernels, *mem, *arr, *notes, *ins, *outs;
    char *text;

    tml_model_get_stats(m, &s);
    cJSON_AddStringToObject(root, "tool", "tmlaas " TML_VERSION);
    cJSON_AddStringToObject(root, "model", g->source ? g->source : "");
    cJSON_AddNumberToObject(root, "opset", (double)g->opset);
    cJSON_AddNumberToObject(root, "ops", s.ops);
    cJSON_AddNumberToObject(root, "steps", s.steps);
    cJSON_AddNumberToObject(root, "parameters", (double)s.params);
    cJSON_AddNumberToObject(root, "weight_bytes", (double)s.weight_bytes);
    cJSON_AddNumberToObject(root, "arena_bytes", s.arena_bytes);
    cJSON_AddNumberToObject(root, "arena_lower_bound", s.lower_bound);
    cJSON_AddNumberToObject(root, "macs", (double)s.macs);
    cJSON_AddNumberToObject(root, "compile_seconds", m->seconds);

    ins = cJSON_AddArrayToObject(root, "inputs");
    for (i = 0; i < g->n_inputs; i++)
        cJSON_AddItemToArray(ins, tensor_json(g, g->inputs[i]));
    outs = cJSON_AddArrayToObject(root, "outputs");
    for (i = 0; i < g->n_outputs; i++)
        cJSON_AddItemToArray(outs, tensor_json(g, g->outputs[i]));

    count_ops(g, counts);
    ops = cJSON_AddObjectToObject(root, "op_counts");
    for (i = 0; i < TML_OP_COUNT; i++)
        if (counts[i])
            cJSON_AddNumberToObject(ops, op_display_name((tml_op)i), counts[i]);

    memset(seen, 0, sizeof(seen));
    kernels = cJSON_AddArrayToObject(root, "kernels");
    for (i = 0; i < p->n_steps; i++) {
        tml_kernel_id k = p->steps[i].kernel;
        if (k > TML_K_NONE && k < TML_K_COUNT && !seen[k]) {
            seen[k] = true;
            cJSON_AddItemToArray(kernels, cJSON_CreateString(tml_kernel_get_info(k)->name));
        }
    }

    mem = cJSON_AddObjectToObject(root, "memory");
    cJSON_AddStringToObject(mem, "strategy", p->mem.strategy ? p->mem.strategy : "");
    cJSON_AddNumberToObject(mem, "peak", p->mem.peak);
    cJSON_AddNumberToObject(mem, "lower_bound", p->mem.lower_bound);
    arr = cJSON_AddArrayToObject(mem, "attempts");
    for (i = 0; i < p->mem.n_attempts; i++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "name", p->mem.attempts[i].name);
        cJSON_AddNumberToObject(a, "peak", p->mem.attempts[i].peak);
        cJSON_AddBoolToObject(a, "optimal", p->mem.attempts[i].optimal);
        cJSON_AddItemToArray(arr, a);
    }

    notes = cJSON_AddArrayToObject(root, "notes");
    for (i = 0; i < g->n_notes; i++)
        cJSON_AddItemToArray(notes, cJSON_CreateString(g->notes[i]));

    text = cJSON_Print(root);
    cJSON_Delete(root);
    return text;
}

static void print_bytes(FILE *f, const char *label, uint64_t b)
{
    if (b >= 10 * 1024)
        fprintf(f, "  %-18s %llu B (%.1f KiB)\n", label, (unsigned long long)b, (double)b / 1024.0);
    else
        fprintf(f, "  %-18s %llu B\n", label, (unsigned long long)b);
}

void tml_model_report_print(const tml_model *m, FILE *f)
{
    const tml_graph *g = m->graph;
    const tml_plan *p = m->plan;
    tml_model_stats s;
    int counts[TML_OP_COUNT], i, first = 1;
    char buf[128];

    tml_model_get_stats(m, &s);
    fprintf(f, "%s\n", g->source ? g->source : "model");
    for (i = 0; i < g->n_inputs; i++) {
        const tml_tensor *t = &g->tensors[g->inputs[i]];
        fprintf(f, "  input  %-10s %s %s\n", t->name, tml_dtype_name(t->dtype),
                tml_shape_str(t, buf, sizeof buf));
    }
    for (i = 0; i < g->n_outputs; i++) {
        const tml_tensor *t = &g->tensors[g->outputs[i]];
        fprintf(f, "  output %-10s %s %s\n", t->name, tml_dtype_name(t->dtype),
                tml_shape_str(t, buf, sizeof buf));
    }
    count_ops(g, counts);
    fprintf(f, "  %-18s %d (", "ops", s.ops);
    for (i = 0; i < TML_OP_COUNT; i++)
        if (counts[i]) {
            fprintf(f, "%s%s x%d", first ? "" : ", ", op_display_name((tml_op)i), counts[i]);
            first = 0;
        }
    fprintf(f, ")\n");
    fprintf(f, "  %-18s %d in %d kernels\n", "kernel calls", s.steps, s.n_kernels);
    fprintf(f, "  %-18s %llu\n", "parameters", (unsigned long long)s.params);
    print_bytes(f, "weight bytes", s.weight_bytes);
    print_bytes(f, "arena bytes", s.arena_bytes);
    fprintf(f, "  %-18s %u B (arena/bound %.3f, strategy %s)\n", "liveness bound", s.lower_bound,
            s.lower_bound ? (double)s.arena_bytes / (double)s.lower_bound : 1.0,
            p->mem.strategy ? p->mem.strategy : "-");
    fprintf(f, "  %-18s %llu\n", "MACs", (unsigned long long)s.macs);
    for (i = 0; i < g->n_notes; i++)
        fprintf(f, "  note: %s\n", g->notes[i]);
}
