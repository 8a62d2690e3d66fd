/*
 * c.c - the C carrier of a plan: model.h, model.c, the runtime files it needs, and optionally
 * a test harness (main.c).
 *
 * The output is meant to be read and accepted by a person (onnx2c style): a header comment
 * with the tool version, the model hash (SHA-256 of the plan's model package, so the C and the
 * package of one build carry the same identity) and the arena size; every constant tensor as a
 * `static const` array of its own element type, named after the tensor; every step's
 * parameters as a `static const` union of the kernel's params struct with its words (all
 * params fields are 4 bytes wide, so the words are the struct's exact bits and the union keeps
 * the access type-correct); one static arena; one entry function with a comment per step
 * naming the original node and op; and the input/output accessors. No executor and no kernel
 * table: each step is a direct call, so the linker keeps only the kernels the plan uses, and
 * DIR/tml/ receives exactly those kernel sources (from the runtime embedded at build time)
 * plus the runtime headers. The result compiles with -std=c99 -Wall -Wextra -Werror -pedantic
 * on the host and on arm-none-eabi (tests/exec/test_codegen.c checks both).
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "codegen/params_fields.h"
#include "codegen/runtime_sources.h"
#include "codegen/strbuf.h"
#include "tml/codegen.h"
#include "tml/sha256.h"

/* C type name of each kernel's params struct, from the same table as the kernel ids. */
static const char *const kernel_params_type[TML_K_COUNT] = {
    "void",
#define TML_KERNEL(id, fn, ptype) #ptype,
#include "tml/kernels.def"
#undef TML_KERNEL
};

static tml_status cg_errorf(char *err, size_t errsz, tml_status st, const char *fmt, ...)
{
    va_list ap;
    if (err && errsz) {
        va_start(ap, fmt);
        vsnprintf(err, errsz, fmt, ap);
        va_end(ap);
    }
    return st;
}

void tml_codegen_options_default(tml_codegen_options *o)
{
    memset(o, 0, sizeof(*o));
    o->prefix = "model";
    o->harness = false;
}

/* ---- files ---- */

static tml_status make_dir(const char *path, char *err, size_t errsz)
{
    char buf[4096];
    size_t i, n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return cg_errorf(err, errsz, TML_ERR_ARG, "bad output directory '%s'", path);
    memcpy(buf, path, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] == '/' || buf[i] == '\0') {
            char c = buf[i];
            buf[i] = '\0';
            if (mkdir(buf, 0777) != 0 && errno != EEXIST)
                return cg_errorf(err, errsz, TML_ERR_IO, "cannot create directory '%s': %s",
                                 buf, strerror(errno));
            buf[i] = c;
        }
    }
    return TML_OK;
}

static tml_status write_file(const char *dir, const char *name, const void *data, size_t len,
                             char *err, size_t errsz)
{
    char path[4096];
    FILE *f;
    size_t w;
    if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
        return cg_errorf(err, errsz, TML_ERR_ARG, "path too long: '%s/%s'", dir, name);
    f = fopen(path, "wb");
    if (!f)
        return cg_errorf(err, errsz, TML_ERR_IO, "cannot write '%s': %s", path,
                         strerror(errno));
    w = fwrite(data, 1, len, f);
    if (fclose(f) != 0 || w != len)
        return cg_errorf(err, errsz, TML_ERR_IO, "cannot write '%s': %s", path,
                         strerror(errno));
    return TML_OK;
}

static tml_status write_sb(const char *dir, const char *name, const tml_sb *b, char *err,
                           size_t errsz)
{
    if (!tml_sb_ok(b))
        return cg_errorf(err, errsz, TML_ERR_NOMEM, "out of memory generating '%s'", name);
    return write_file(dir, name, b->s ? b->s : "", b->len, err, errsz);
}

static tml_status copy_embedded(const char *dir, const char *src, const char *dst, char *err,
                                size_t errsz)
{
    const tml_embedded_file *f = tml_runtime_source_find(src);
    if (!f)
        return cg_errorf(err, errsz, TML_ERR_NOT_FOUND,
                         "runtime file '%s' is not embedded in this compiler", src);
    return write_file(dir, dst, f->data, f->size, err, errsz);
}

/* ---- names and comments ---- */

/* Copies s into out as comment text: no comment opener or terminator, printable ASCII only. */
static const char *comment_safe(const char *s, char *out, size_t outsz)
{
    size_t i = 0;
    if (!s)
        s = "?";
    for (; *s && i + 1 < outsz; s++) {
        char c = *s;
        if ((unsigned char)c < 32 || (unsigned char)c > 126)
            c = '?';
        if (c == '/' && i > 0 && out[i - 1] == '*')
            c = '_';
        if ((c == '*' && s[1] == '/') || (c == '/' && s[1] == '*'))
            c = '_';
        out[i++] = c;
    }
    out[i] = '\0';
    return out;
}

static bool is_ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_';
}

/* Validates the prefix: a C identifier of at most 32 characters. */
static bool prefix_ok(const char *p)
{
    size_t n = strlen(p), i;
    if (n == 0 || n > 32 || (p[0] >= '0' && p[0] <= '9'))
        return false;
    for (i = 0; i < n; i++)
        if (!is_ident_char(p[i]))
            return false;
    return true;
}

static void upper(const char *s, char *out, size_t outsz)
{
    size_t i;
    for (i = 0; s[i] && i + 1 < outsz; i++)
        out[i] = (s[i] >= 'a' && s[i] <= 'z') ? (char)(s[i] - 32) : s[i];
    out[i] = '\0';
}

/* Identifiers of constant tensors: "w_" + the tensor name with every other character mapped
 * to '_', cut to 40 characters, with "_<index>" appended if that collides with an earlier one. */
typedef struct {
    char **names; /* (n_tensors) NULL for non-constant tensors */
    int n;
} name_table;

static bool name_taken(const name_table *nt, const char *s, int upto)
{
    int i;
    for (i = 0; i < upto; i++)
        if (nt->names[i] && strcmp(nt->names[i], s) == 0)
            return true;
    return false;
}

static bool name_table_build(name_table *nt, const tml_plan *p)
{
    int t;
    nt->n = p->n_tensors;
    nt->names = calloc((size_t)(p->n_tensors > 0 ? p->n_tensors : 1), sizeof(char *));
    if (!nt->names)
        return false;
    for (t = 0; t < p->n_tensors; t++) {
        const char *src = p->tensors[t].name ? p->tensors[t].name : "";
        char buf[64];
        size_t i = 0;
        if (p->tensors[t].storage != TML_STORE_CONST)
            continue;
        buf[i++] = 'w';
        buf[i++] = '_';
        for (; *src && i < 42; src++)
            buf[i++] = is_ident_char(*src) ? *src : '_';
        buf[i] = '\0';
        if (i == 2 || name_taken(nt, buf, t))
            snprintf(buf + i, sizeof(buf) - i, "_%d", t);
        nt->names[t] = malloc(strlen(buf) + 1);
        if (!nt->names[t])
            return false;
        strcpy(nt->names[t], buf);
    }
    return true;
}

static void name_table_free(name_table *nt)
{
    int i;
    if (!nt->names)
        return;
    for (i = 0; i < nt->n; i++)
        free(nt->names[i]);
    free(nt->names);
    nt->names = NULL;
}

static const char *shape_str(const tml_plan_tensor *t, char *buf, size_t sz)
{
    size_t n = 0;
    int i;
    n += (size_t)snprintf(buf + n, sz - n, "[");
    for (i = 0; i < t->rank && n < sz; i++)
        n += (size_t)snprintf(buf + n, sz - n, i ? ",%d" : "%d", (int)t->dims[i]);
    if (n < sz)
        snprintf(buf + n, sz - n, "]");
    return buf;
}

/* ", node 'conv_1' (Conv)" for step s, or "" if the plan has no graph to name it. */
static void step_title(const tml_plan *p, int s, char *out, size_t outsz)
{
    const tml_plan_step *st = &p->steps[s];
    char name[160];
    out[0] = '\0';
    if (p->graph && st->node >= 0 && st->node < p->graph->n_nodes) {
        const tml_node *n = &p->graph->nodes[st->node];
        const tml_op_info *oi = tml_op_get_info(n->op);
        const char *op = oi ? (oi->onnx_name ? oi->onnx_name : oi->name) : "?";
        static const char *const acts[] = {"", "Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh",
                                           "HardSwish"};
        int a = (int)n->act;
        snprintf(out, outsz, ", node '%s' (%s%s%s)", comment_safe(n->name, name, sizeof(name)),
                 op, a > 0 && a < 7 ? " + fused " : "", a > 0 && a < 7 ? acts[a] : "");
    }
}

static const char *tensor_label(const tml_plan *p, int t, char *out, size_t outsz)
{
    if (t < 0)
        return "-";
    return comment_safe(p->tensors[t].name, out, outsz);
}

/* ---- weights ---- */

static const char *c_type(tml_dtype dt)
{
    switch (dt) {
    case TML_DT_F32: return "float";
    case TML_DT_F64: return "double";
    case TML_DT_S8: return "int8_t";
    case TML_DT_U8: case TML_DT_BOOL: return "uint8_t";
    case TML_DT_S16: return "int16_t";
    case TML_DT_U16: case TML_DT_F16: return "uint16_t";
    case TML_DT_S32: return "int32_t";
    case TML_DT_U32: return "uint32_t";
    case TML_DT_S64: return "int64_t";
    case TML_DT_U64: return "uint64_t";
    default: return NULL;
    }
}

/* A C literal that converts to exactly value v (finite values: 9 or 17 significant digits
 * round-trip). */
static void real_literal(tml_sb *b, double v, bool is_float)
{
    char buf[64];
    if (isnan(v)) {
        tml_sb_printf(b, "NAN");
        return;
    }
    if (isinf(v)) {
        tml_sb_printf(b, v < 0 ? "-INFINITY" : "INFINITY");
        return;
    }
    snprintf(buf, sizeof(buf), is_float ? "%.9g" : "%.17g", v);
    if (!strpbrk(buf, ".e"))
        strcat(buf, ".0");
    tml_sb_printf(b, "%s%s", buf, is_float ? "f" : "");
}

static void element_literal(tml_sb *b, tml_dtype dt, const uint8_t *p)
{
    switch (dt) {
    case TML_DT_F32: { float v; memcpy(&v, p, 4); real_literal(b, v, true); break; }
    case TML_DT_F64: { double v; memcpy(&v, p, 8); real_literal(b, v, false); break; }
    case TML_DT_S8: tml_sb_printf(b, "%d", (int)(int8_t)p[0]); break;
    case TML_DT_U8: case TML_DT_BOOL: tml_sb_printf(b, "%u", (unsigned)p[0]); break;
    case TML_DT_S16: { int16_t v; memcpy(&v, p, 2); tml_sb_printf(b, "%d", (int)v); break; }
    case TML_DT_U16: case TML_DT_F16: {
        uint16_t v; memcpy(&v, p, 2); tml_sb_printf(b, "%uu", (unsigned)v); break;
    }
    case TML_DT_S32: {
        int32_t v; memcpy(&v, p, 4);
        if (v == INT32_MIN) tml_sb_printf(b, "(-2147483647 - 1)");
        else tml_sb_printf(b, "%ld", (long)v);
        break;
    }
    case TML_DT_U32: { uint32_t v; memcpy(&v, p, 4); tml_sb_printf(b, "%luu", (unsigned long)v); break; }
    case TML_DT_S64: {
        int64_t v; memcpy(&v, p, 8);
        if (v == INT64_MIN) tml_sb_printf(b, "(-INT64_C(9223372036854775807) - 1)");
        else tml_sb_printf(b, "INT64_C(%lld)", (long long)v);
        break;
    }
    case TML_DT_U64: {
        uint64_t v; memcpy(&v, p, 8); tml_sb_printf(b, "UINT64_C(%llu)", (unsigned long long)v);
        break;
    }
    default: tml_sb_printf(b, "0"); break;
    }
}

/* True if some step reads plan tensor t (a constant no step reads would be an unused
 * variable, e.g. a zero-sized folded output whose copy was elided). */
static bool tensor_is_read(const tml_plan *p, int t)
{
    int s, k;
    for (s = 0; s < p->n_steps; s++)
        for (k = 0; k < p->steps[s].n_in; k++)
            if (p->steps[s].in[k] == t)
                return true;
    return false;
}

static void emit_weights(tml_sb *b, const tml_plan *p, const name_table *nt)
{
    int t;
    bool any = false;
    for (t = 0; t < p->n_tensors; t++) {
        const tml_plan_tensor *pt = &p->tensors[t];
        size_t es = tml_dtype_size(pt->dtype), n, i;
        char nm[160], sh[128];
        if (pt->storage != TML_STORE_CONST || !tensor_is_read(p, t))
            continue;
        if (!any)
            tml_sb_printf(b, "/* ---- weights: one static const array per constant tensor ---- */\n\n");
        any = true;
        n = es ? pt->bytes / es : 0;
        tml_sb_printf(b, "/* '%s': %s %s, %u bytes */\n", comment_safe(pt->name, nm, sizeof(nm)),
                      tml_dtype_name(pt->dtype), shape_str(pt, sh, sizeof(sh)),
                      (unsigned)pt->bytes);
        tml_sb_printf(b, "static const %s %s[%lu] TML_GEN_ALIGN16 = {", c_type(pt->dtype),
                      nt->names[t], (unsigned long)(n ? n : 1));
        if (n == 0)
            tml_sb_printf(b, "0");
        for (i = 0; i < n; i++) {
            int per_line = (pt->dtype == TML_DT_F32 || pt->dtype == TML_DT_F64) ? 6 : 12;
            if (i % (size_t)per_line == 0)
                tml_sb_printf(b, "\n    ");
            else
                tml_sb_printf(b, " ");
            element_literal(b, pt->dtype, p->weights + pt->offset + i * es);
            if (i + 1 < n)
                tml_sb_printf(b, ",");
        }
        tml_sb_printf(b, "\n};\n\n");
    }
}

/* ---- params ---- */

static void word_literal(tml_sb *b, uint32_t w)
{
    int32_t s = (int32_t)w;
    float f;
    memcpy(&f, &w, 4);
    if (w <= 1000000u) {
        tml_sb_printf(b, "%lu", (unsigned long)w);
    } else if (s < 0 && s >= -1000000) {
        tml_sb_printf(b, "0x%08lx /* %ld */", (unsigned long)w, (long)s);
    } else if (isfinite(f) && fabsf(f) >= 1e-30f && fabsf(f) <= 1e30f) {
        char buf[48];
        snprintf(buf, sizeof(buf), "%.9g", (double)f);
        tml_sb_printf(b, "0x%08lx /* %sf */", (unsigned long)w, buf);
    } else {
        tml_sb_printf(b, "0x%08lx", (unsigned long)w);
    }
}

#define MAX_PARAM_FIELDS 128

/* The fields of step st's params struct if they can be named (their words add up to the
 * struct's size), else -1. */
static int step_fields(const tml_plan_step *st, tml_param_field *f)
{
    int n = tml_params_fields_parse(kernel_params_type[st->kernel], f, MAX_PARAM_FIELDS);
    int i;
    uint32_t words = 0;
    if (n <= 0)
        return -1;
    for (i = 0; i < n; i++)
        words += (uint32_t)f[i].count;
    return words * 4 == st->params_size ? n : -1;
}

static void field_value(tml_sb *b, tml_field_type type, uint32_t w)
{
    if (type == TML_FIELD_F32) {
        float v;
        memcpy(&v, &w, 4);
        real_literal(b, v, true);
    } else if (type == TML_FIELD_U32) {
        tml_sb_printf(b, "%luu", (unsigned long)w);
    } else if (w == 0x80000000u) {
        tml_sb_printf(b, "(-2147483647 - 1)");
    } else {
        tml_sb_printf(b, "%ld", (long)(int32_t)w);
    }
}

/* Params of every step: by field name (designated initializers) where the struct can be
 * parsed from the runtime headers, else as a union of the struct with its 4-byte words. */
static void emit_params(tml_sb *b, const tml_plan *p)
{
    tml_param_field *fields = malloc(MAX_PARAM_FIELDS * sizeof(*fields));
    int s;
    if (p->n_steps)
        tml_sb_printf(b, "/* ---- kernel parameters: one params struct per step ---- */\n\n");
    for (s = 0; s < p->n_steps; s++) {
        const tml_plan_step *st = &p->steps[s];
        const uint8_t *words = (const uint8_t *)st->params;
        uint32_t nw = st->params_size / 4, i;
        int nf = fields ? step_fields(st, fields) : -1, k, j;
        char title[256];
        if (!nw)
            continue;
        step_title(p, s, title, sizeof(title));
        if (nf > 0) {
            tml_sb_printf(b, "/* step %d%s */\nstatic const %s P%d = {\n", s, title,
                          kernel_params_type[st->kernel], s);
            for (k = 0, i = 0; k < nf; k++) {
                const tml_param_field *fk = &fields[k];
                int row = fk->ndim == 2 ? fk->dim[1] : fk->count;
                tml_sb_printf(b, "    .%s = %s", fk->name, fk->ndim == 2 ? "{\n        " : "");
                for (j = 0; j < fk->count; j++, i++) {
                    uint32_t w;
                    memcpy(&w, words + 4 * i, 4);
                    if (fk->array && j % row == 0)
                        tml_sb_printf(b, "%s{", j ? ",\n        " : "");
                    else if (j)
                        tml_sb_printf(b, ", ");
                    field_value(b, fk->type, w);
                    if (fk->array && j % row == row - 1)
                        tml_sb_printf(b, "}");
                }
                tml_sb_printf(b, "%s%s\n", fk->ndim == 2 ? "\n    }" : "", k + 1 < nf ? "," : "");
            }
            tml_sb_printf(b, "};\n\n");
            continue;
        }
        tml_sb_printf(b, "/* step %d%s: %s as its 4-byte words */\n", s, title,
                      kernel_params_type[st->kernel]);
        tml_sb_printf(b, "static const union {\n    uint32_t w[%lu];\n    %s p;\n} P%d = {{",
                      (unsigned long)nw, kernel_params_type[st->kernel], s);
        for (i = 0; i < nw; i++) {
            uint32_t w;
            memcpy(&w, words + 4 * i, 4);
            tml_sb_printf(b, i % 6 == 0 ? "\n    " : " ");
            word_literal(b, w);
            if (i + 1 < nw)
                tml_sb_printf(b, ",");
        }
        tml_sb_printf(b, "\n}};\n\n");
    }
    free(fields);
}

/* ---- model.c / model.h / main.c ---- */

static void tensor_expr(tml_sb *b, const tml_plan *p, const name_table *nt, const char *arena,
                        int t)
{
    if (t < 0)
        tml_sb_printf(b, "0");
    else if (p->tensors[t].storage == TML_STORE_CONST)
        tml_sb_printf(b, "%s", nt->names[t]);
    else
        tml_sb_printf(b, "%s + %lu", arena, (unsigned long)p->tensors[t].offset);
}

static void emit_banner(tml_sb *b, const char *file, const tml_plan *p, const char *hash_hex)
{
    char gname[160];
    tml_sb_printf(b, "/*\n * %s - generated by tinymlaas %s (tmlaas compile). Do not edit.\n *\n",
                  file, TML_VERSION);
    if (p->graph)
        tml_sb_printf(b, " * model:      %s\n",
                      comment_safe(p->graph->name ? p->graph->name : "(unnamed)", gname,
                                   sizeof(gname)));
    tml_sb_printf(b, " * model hash: sha256:%s\n *             (SHA-256 of the model package "
                     "of the same plan)\n",
                  hash_hex);
    tml_sb_printf(b, " * arena:      %lu bytes (activations and scratch, one static buffer)\n",
                  (unsigned long)p->arena_size);
    tml_sb_printf(b, " * weights:    %lu bytes (static const, in flash)\n",
                  (unsigned long)p->weights_size);
    tml_sb_printf(b, " * steps:      %d kernel calls", p->n_steps);
    if (p->macs)
        tml_sb_printf(b, ", %llu multiply-accumulates", (unsigned long long)p->macs);
    tml_sb_printf(b, "\n");
}

static void emit_header(tml_sb *b, const tml_plan *p, const char *pre, const char *PRE,
                        const char *hash_hex)
{
    int i;
    emit_banner(b, "model.h", p, hash_hex);
    tml_sb_printf(b, " *\n * Build: cc -std=c99 -I DIR DIR/model.c DIR/tml/(each .c) -lm\n"
                     " * Use:   fill %s_input(i), call %s_run(), read %s_output(i).\n */\n",
                  pre, pre, pre);
    tml_sb_printf(b, "#ifndef %s_H\n#define %s_H\n\n#include <stddef.h>\n\n", PRE, PRE);
    tml_sb_printf(b, "/* model identity: SHA-256 of the model package of this plan */\n"
                     "#define %s_MODEL_HASH \"sha256:%s\"\n", PRE, hash_hex);
    tml_sb_printf(b, "#define %s_ARENA_BYTES %luu\n#define %s_NUM_INPUTS %d\n"
                     "#define %s_NUM_OUTPUTS %d\n\n",
                  PRE, (unsigned long)p->arena_size, PRE, p->n_inputs, PRE, p->n_outputs);
    for (i = 0; i < p->n_inputs + p->n_outputs; i++) {
        bool in = i < p->n_inputs;
        int t = in ? p->inputs[i] : p->outputs[i - p->n_inputs];
        char nm[160], sh[128];
        tml_sb_printf(b, "/* %s %d '%s': %s %s, %lu bytes */\n", in ? "input" : "output",
                      in ? i : i - p->n_inputs, comment_safe(p->tensors[t].name, nm, sizeof(nm)),
                      tml_dtype_name(p->tensors[t].dtype), shape_str(&p->tensors[t], sh, sizeof(sh)),
                      (unsigned long)p->tensors[t].bytes);
    }
    tml_sb_printf(b, "\n/* Buffers of input/output i inside the arena (NULL if i is out of "
                     "range) and their sizes. */\n");
    tml_sb_printf(b, "void *%s_input(int i);\nsize_t %s_input_bytes(int i);\n", pre, pre);
    tml_sb_printf(b, "void *%s_output(int i);\nsize_t %s_output_bytes(int i);\n", pre, pre);
    tml_sb_printf(b, "\n/* Runs the model on the current inputs; 0 = ok. */\nint %s_run(void);\n",
                  pre);
    tml_sb_printf(b, "\n#endif /* %s_H */\n", PRE);
}

static void emit_io_table(tml_sb *b, const tml_plan *p, const char *pre, const char *PRE,
                          const char *arena, bool in)
{
    int n = in ? p->n_inputs : p->n_outputs, i;
    const int *ids = in ? p->inputs : p->outputs;
    const char *kind = in ? "input" : "output";
    tml_sb_printf(b, "static void *const %s_%ss[%d] = {", pre, kind, n ? n : 1);
    for (i = 0; i < n; i++)
        tml_sb_printf(b, "%s%s + %lu", i ? ", " : "", arena, (unsigned long)p->tensors[ids[i]].offset);
    if (!n)
        tml_sb_printf(b, "0");
    tml_sb_printf(b, "};\nstatic const size_t %s_%s_sizes[%d] = {", pre, kind, n ? n : 1);
    for (i = 0; i < n; i++)
        tml_sb_printf(b, "%s%lu", i ? ", " : "", (unsigned long)p->tensors[ids[i]].bytes);
    if (!n)
        tml_sb_printf(b, "0");
    tml_sb_printf(b, "};\n\n");
    tml_sb_printf(b, "void *%s_%s(int i)\n{\n    return i >= 0 && i < %s_NUM_%sS ? %s_%ss[i] : 0;\n}\n\n",
                  pre, kind, PRE, in ? "INPUT" : "OUTPUT", pre, kind);
    tml_sb_printf(b, "size_t %s_%s_bytes(int i)\n{\n    return i >= 0 && i < %s_NUM_%sS ? "
                     "%s_%s_sizes[i] : 0;\n}\n\n",
                  pre, kind, PRE, in ? "INPUT" : "OUTPUT", pre, kind);
}

static void emit_source(tml_sb *b, const tml_plan *p, const name_table *nt, const char *pre,
                        const char *PRE, const char *hash_hex)
{
    char arena[64];
    int s, j;
    tml_param_field *fields = malloc(MAX_PARAM_FIELDS * sizeof(*fields));
    snprintf(arena, sizeof(arena), "%s_arena", pre);
    emit_banner(b, "model.c", p, hash_hex);
    tml_sb_printf(b, " *\n * Every buffer lives in %s (offsets planned at compile time); each "
                     "step calls\n * one runtime kernel from tml/ directly.\n */\n", arena);
    tml_sb_printf(b, "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
                     "#include \"model.h\"\n#include \"tml/kernels.h\"\n\n");
    tml_sb_printf(b, "#if defined(__GNUC__) || defined(__clang__)\n"
                     "#define TML_GEN_ALIGN16 __attribute__((aligned(16)))\n#else\n"
                     "#define TML_GEN_ALIGN16\n#endif\n\n");
    emit_weights(b, p, nt);
    emit_params(b, p);
    tml_sb_printf(b, "/* ---- arena: every activation at its planned offset ----\n *\n");
    for (s = 0; s < p->n_tensors; s++) {
        const tml_plan_tensor *t = &p->tensors[s];
        char nm[160], sh[128];
        if (t->storage != TML_STORE_ARENA)
            continue;
        tml_sb_printf(b, " *   [%7lu, %7lu)  %-9s %-16s %s\n", (unsigned long)t->offset,
                      (unsigned long)t->offset + t->bytes, tml_dtype_name(t->dtype),
                      shape_str(t, sh, sizeof(sh)), comment_safe(t->name, nm, sizeof(nm)));
    }
    for (s = 0; s < p->n_steps; s++)
        if (p->steps[s].scratch_bytes)
            tml_sb_printf(b, " *   [%7lu, %7lu)  scratch of step %d\n",
                          (unsigned long)p->steps[s].scratch_offset,
                          (unsigned long)p->steps[s].scratch_offset + p->steps[s].scratch_bytes, s);
    tml_sb_printf(b, " */\nstatic uint8_t %s[%lu] TML_GEN_ALIGN16;\n\n", arena,
                  (unsigned long)(p->arena_size ? p->arena_size : 1));
    emit_io_table(b, p, pre, PRE, arena, true);
    emit_io_table(b, p, pre, PRE, arena, false);

    tml_sb_printf(b, "int %s_run(void)\n{\n", pre);
    for (s = 0; s < p->n_steps; s++) {
        const tml_plan_step *st = &p->steps[s];
        const tml_kernel_info *ki = tml_kernel_get_info(st->kernel);
        char title[256], lab[160];
        step_title(p, s, title, sizeof(title));
        tml_sb_printf(b, "%s    /* step %d%s: tml_%s(", s ? "\n" : "", s, title, ki->name);
        for (j = 0; j < st->n_in; j++)
            tml_sb_printf(b, "%s%s", j ? ", " : "", tensor_label(p, st->in[j], lab, sizeof(lab)));
        tml_sb_printf(b, ") -> ");
        for (j = 0; j < st->n_out; j++)
            tml_sb_printf(b, "%s%s", j ? ", " : "", tensor_label(p, st->out[j], lab, sizeof(lab)));
        tml_sb_printf(b, " */\n    {\n        const void *in[%d] = {", st->n_in ? st->n_in : 1);
        for (j = 0; j < st->n_in; j++) {
            if (j)
                tml_sb_printf(b, ", ");
            tensor_expr(b, p, nt, arena, st->in[j]);
        }
        if (!st->n_in)
            tml_sb_printf(b, "0");
        tml_sb_printf(b, "};\n        void *out[%d] = {", st->n_out ? st->n_out : 1);
        for (j = 0; j < st->n_out; j++) {
            if (j)
                tml_sb_printf(b, ", ");
            tensor_expr(b, p, nt, arena, st->out[j]);
        }
        if (!st->n_out)
            tml_sb_printf(b, "0");
        tml_sb_printf(b, "};\n        tml_%s(", ki->name);
        if (st->params_size && fields && step_fields(st, fields) > 0)
            tml_sb_printf(b, "&P%d, ", s);
        else if (st->params_size)
            tml_sb_printf(b, "&P%d.p, ", s);
        else
            tml_sb_printf(b, "0, ");
        tml_sb_printf(b, "in, out, ");
        if (st->scratch_bytes)
            tml_sb_printf(b, "%s + %lu /* scratch, %lu bytes */", arena,
                          (unsigned long)st->scratch_offset, (unsigned long)st->scratch_bytes);
        else
            tml_sb_printf(b, "0");
        tml_sb_printf(b, ");\n    }\n");
    }
    tml_sb_printf(b, "    return 0;\n}\n");
    free(fields);
}

static void emit_harness(tml_sb *b, const char *pre, const char *PRE)
{
    tml_sb_printf(b,
        "/*\n"
        " * main.c - generated by tinymlaas %s: a test harness for model.c.\n"
        " *\n"
        " *   prog in0.bin ... out0.bin ...\n"
        " *\n"
        " * reads each input's raw bytes from a file (its size must match exactly), runs the\n"
        " * model once and writes each output's raw bytes. Nonzero exit and a message on error.\n"
        " */\n"
        "#include <stdio.h>\n#include <stdlib.h>\n\n#include \"model.h\"\n\n", TML_VERSION);
    tml_sb_printf(b,
        "static int read_exact(const char *path, void *buf, size_t n)\n"
        "{\n"
        "    FILE *f = fopen(path, \"rb\");\n"
        "    size_t got;\n"
        "    int extra;\n"
        "    if (!f) {\n"
        "        fprintf(stderr, \"cannot open '%%s'\\n\", path);\n"
        "        return -1;\n"
        "    }\n"
        "    got = fread(buf, 1, n, f);\n"
        "    extra = fgetc(f);\n"
        "    fclose(f);\n"
        "    if (got != n || extra != EOF) {\n"
        "        fprintf(stderr, \"'%%s': size does not match the input's %%lu bytes\\n\", path,\n"
        "                (unsigned long)n);\n"
        "        return -1;\n"
        "    }\n"
        "    return 0;\n"
        "}\n\n");
    tml_sb_printf(b,
        "static int write_all(const char *path, const void *buf, size_t n)\n"
        "{\n"
        "    FILE *f = fopen(path, \"wb\");\n"
        "    size_t put;\n"
        "    if (!f) {\n"
        "        fprintf(stderr, \"cannot write '%%s'\\n\", path);\n"
        "        return -1;\n"
        "    }\n"
        "    put = fwrite(buf, 1, n, f);\n"
        "    if (fclose(f) != 0 || put != n) {\n"
        "        fprintf(stderr, \"cannot write '%%s'\\n\", path);\n"
        "        return -1;\n"
        "    }\n"
        "    return 0;\n"
        "}\n\n");
    tml_sb_printf(b,
        "int main(int argc, char **argv)\n"
        "{\n"
        "    int i, rc;\n"
        "    if (argc != 1 + %s_NUM_INPUTS + %s_NUM_OUTPUTS) {\n"
        "        fprintf(stderr, \"usage: %%s (%%d input files) (%%d output files)\\n\", argv[0],\n"
        "                %s_NUM_INPUTS, %s_NUM_OUTPUTS);\n"
        "        return 2;\n"
        "    }\n"
        "    for (i = 0; i < %s_NUM_INPUTS; i++)\n"
        "        if (read_exact(argv[1 + i], %s_input(i), %s_input_bytes(i)) != 0)\n"
        "            return 1;\n"
        "    rc = %s_run();\n"
        "    if (rc != 0) {\n"
        "        fprintf(stderr, \"%s_run failed: %%d\\n\", rc);\n"
        "        return 1;\n"
        "    }\n"
        "    for (i = 0; i < %s_NUM_OUTPUTS; i++)\n"
        "        if (write_all(argv[1 + %s_NUM_INPUTS + i], %s_output(i), %s_output_bytes(i)) != 0)\n"
        "            return 1;\n"
        "    return 0;\n"
        "}\n",
        PRE, PRE, PRE, PRE, PRE, pre, pre, pre, pre, PRE, PRE, pre, pre);
}

/* Copies the runtime headers, rt.c and the kernel sources the plan uses into dir/tml. */
static tml_status copy_runtime(const tml_plan *p, const char *dir, char *err, size_t errsz)
{
    char tdir[4096], dst[256];
    const tml_embedded_file *f;
    bool used[TML_K_COUNT];
    const char *hdr = "runtime/include/tml/";
    tml_status st;
    int s, k;
    if ((size_t)snprintf(tdir, sizeof(tdir), "%s/tml", dir) >= sizeof(tdir))
        return cg_errorf(err, errsz, TML_ERR_ARG, "path too long: '%s/tml'", dir);
    if ((st = make_dir(tdir, err, errsz)) != TML_OK)
        return st;
    for (f = tml_runtime_sources; f->path; f++) {
        const char *base;
        size_t n = strlen(f->path);
        if (strncmp(f->path, hdr, strlen(hdr)) != 0 || strchr(f->path + strlen(hdr), '/'))
            continue;
        if (!(n > 2 && strcmp(f->path + n - 2, ".h") == 0) &&
            !(n > 4 && strcmp(f->path + n - 4, ".def") == 0))
            continue;
        base = f->path + strlen(hdr);
        if ((st = write_file(tdir, base, f->data, f->size, err, errsz)) != TML_OK)
            return st;
    }
    if ((st = copy_embedded(tdir, "runtime/rt.c", "rt.c", err, errsz)) != TML_OK)
        return st;
    memset(used, 0, sizeof(used));
    for (s = 0; s < p->n_steps; s++)
        used[p->steps[s].kernel] = true;
    for (k = 1; k < TML_K_COUNT; k++) {
        char src[256];
        const tml_kernel_info *ki = tml_kernel_get_info((tml_kernel_id)k);
        if (!used[k])
            continue;
        snprintf(src, sizeof(src), "runtime/kernels/%s.c", ki->name);
        snprintf(dst, sizeof(dst), "%s.c", ki->name);
        if ((st = copy_embedded(tdir, src, dst, err, errsz)) != TML_OK)
            return st;
    }
    return TML_OK;
}

tml_status tml_codegen_c(const tml_plan *p, const char *dir, const tml_codegen_options *o,
                         char *err, size_t errsz)
{
    tml_codegen_options dflt;
    uint8_t *pkg = NULL, digest[TML_SHA256_BYTES];
    size_t pkg_len = 0;
    char hash_hex[2 * TML_SHA256_BYTES + 1], PRE[64];
    const char *pre;
    name_table nt = {NULL, 0};
    tml_sb h = {NULL, 0, 0, false}, c = {NULL, 0, 0, false}, m = {NULL, 0, 0, false};
    tml_status st;
    int i;

    if (!p || !dir)
        return cg_errorf(err, errsz, TML_ERR_ARG, "codegen: NULL plan or directory");
    if (!o) {
        tml_codegen_options_default(&dflt);
        o = &dflt;
    }
    pre = o->prefix ? o->prefix : "model";
    if (!prefix_ok(pre))
        return cg_errorf(err, errsz, TML_ERR_ARG,
                         "codegen: prefix '%s' is not a C identifier of at most 32 characters",
                         pre);
    upper(pre, PRE, sizeof(PRE));

    /* the package validates the plan and gives the model its hash */
    if ((st = tml_package_build(p, &pkg, &pkg_len, err, errsz)) != TML_OK)
        return st;
    tml_sha256(pkg, pkg_len, digest);
    free(pkg);
    for (i = 0; i < TML_SHA256_BYTES; i++)
        snprintf(hash_hex + 2 * i, 3, "%02x", digest[i]);
    for (i = 0; i < p->n_tensors; i++)
        if (p->tensors[i].storage == TML_STORE_CONST && !c_type(p->tensors[i].dtype))
            return cg_errorf(err, errsz, TML_ERR_UNSUPPORTED,
                             "tensor '%s': no C type for dtype '%s'",
                             p->tensors[i].name ? p->tensors[i].name : "?",
                             tml_dtype_name(p->tensors[i].dtype));
    if (!name_table_build(&nt, p)) {
        name_table_free(&nt);
        return cg_errorf(err, errsz, TML_ERR_NOMEM, "codegen: out of memory");
    }

    if ((st = make_dir(dir, err, errsz)) != TML_OK)
        goto done;
    emit_header(&h, p, pre, PRE, hash_hex);
    emit_source(&c, p, &nt, pre, PRE, hash_hex);
    if ((st = write_sb(dir, "model.h", &h, err, errsz)) != TML_OK ||
        (st = write_sb(dir, "model.c", &c, err, errsz)) != TML_OK)
        goto done;
    if (o->harness) {
        emit_harness(&m, pre, PRE);
        if ((st = write_sb(dir, "main.c", &m, err, errsz)) != TML_OK)
            goto done;
    }
    st = copy_runtime(p, dir, err, errsz);
done:
    tml_sb_free(&h);
    tml_sb_free(&c);
    tml_sb_free(&m);
    name_table_free(&nt);
    return st;
}
