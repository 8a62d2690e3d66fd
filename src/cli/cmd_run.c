/*
 * cmd_run.c - `tmlaas run MODEL --input X.npy ... [--output Y.npy ...]`: runs a model with the
 * host interpreter (the runtime's executor over the model package) and writes or prints the
 * outputs. Input shapes come from the .npy files, so a model with a dynamic batch runs at the
 * batch the file has.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tml/compiler.h"
#include "tml/interp.h"
#include "tml/target.h"
#include "tml/tensor_io.h"

#define MAX_IO 16

static const char help[] =
    "usage: tmlaas run MODEL --input X.npy [--input ...] [--output Y.npy ...]\n"
    "\n"
    "Runs MODEL on the host with the runtime's kernels. Inputs are NumPy .npy files, one per\n"
    "graph input in model order (float32, int8, uint8, int16, int32, int64, ...). Outputs are\n"
    "written to the --output files in graph order, and summarized on stdout.\n"
    "\n"
    "options:\n"
    "  -i, --input FILE     next graph input (.npy)\n"
    "  -o, --output FILE    where to write the next graph output (.npy)\n"
    "  --target NAME|FILE   build a firmware image for the target and run it (under QEMU)\n"
    "                       instead of the host interpreter; prints its measured footprint\n"
    "  --dir DIR            with --target: build and run in DIR (kept; default: a temporary\n"
    "                       directory, removed after a successful run)\n"
    "  -q, --quiet          no summary\n";

/* Builds and runs the image of m for target name; outputs[i] are malloc'd. */
static int run_on_target(const char *name, const char *dir_opt, tml_model *m,
                         const tml_value *inputs, void **outputs, bool quiet)
{
    const void *in_data[MAX_IO];
    size_t in_bytes[MAX_IO];
    char tmp[] = "/tmp/tmlaas-run-XXXXXX", err[1024];
    const char *dir = dir_opt;
    tml_target t;
    tml_image_sizes sz;
    tml_image_run_stats rs;
    int i;

    if (tml_target_load(name, &t, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas run: %s\n", err);
        return 2;
    }
    if (!dir && !(dir = mkdtemp(tmp))) {
        fprintf(stderr, "tmlaas run: cannot create a temporary directory\n");
        return 1;
    }
    for (i = 0; i < m->plan->n_inputs; i++) {
        in_data[i] = inputs[i].data;
        in_bytes[i] = inputs[i].nbytes;
    }
    if (tml_target_run_plan(&t, m->plan, dir, in_data, in_bytes, outputs, &sz, &rs, err,
                            sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas run: %s\n", err);
        return 1;
    }
    if (!quiet)
        tml_image_report_print(&t, &sz, &rs, stdout);
    if (!dir_opt)
        tml_image_dir_remove(dir);
    return 0;
}

static void print_summary(const tml_value *v, const char *name)
{
    int64_t n = tml_value_numel(v), i, shown = n < 8 ? n : 8;
    char shape[128];
    size_t k = 0;
    int d;
    k += (size_t)snprintf(shape + k, sizeof shape - k, "[");
    for (d = 0; d < v->rank && k < sizeof shape; d++)
        k += (size_t)snprintf(shape + k, sizeof shape - k, d ? ",%lld" : "%lld",
                              (long long)v->dims[d]);
    if (k < sizeof shape)
        snprintf(shape + k, sizeof shape - k, "]");
    printf("output %s %s %s:", name, tml_dtype_name(v->dtype), shape);
    for (i = 0; i < shown; i++) {
        switch (v->dtype) {
        case TML_DT_F32: printf(" %.6g", (double)((const float *)v->data)[i]); break;
        case TML_DT_S8: printf(" %d", ((const int8_t *)v->data)[i]); break;
        case TML_DT_U8: case TML_DT_BOOL: printf(" %u", ((const uint8_t *)v->data)[i]); break;
        case TML_DT_S16: printf(" %d", ((const int16_t *)v->data)[i]); break;
        case TML_DT_S32: printf(" %d", ((const int32_t *)v->data)[i]); break;
        case TML_DT_S64: printf(" %lld", (long long)((const int64_t *)v->data)[i]); break;
        default: printf(" ?"); break;
        }
    }
    printf("%s\n", n > shown ? " ..." : "");
    if (v->dtype == TML_DT_F32 && v->rank == 2 && v->dims[0] > 1) {
        const float *f = v->data;
        int64_t r, c, cols = v->dims[1];
        printf("  predicted:     ");
        for (r = 0; r < v->dims[0]; r++) {
            int64_t best = 0;
            for (c = 1; c < cols; c++)
                if (f[r * cols + c] > f[r * cols + best])
                    best = c;
            printf(" %lld", (long long)best);
        }
        printf("\n");
    } else if (v->dtype == TML_DT_F32 && n > 1) {
        const float *f = v->data;
        int64_t best = 0;
        for (i = 1; i < n; i++)
            if (f[i] > f[best])
                best = i;
        printf("  argmax %lld (%.6g)\n", (long long)best, (double)f[best]);
    } else if (v->dtype == TML_DT_S8 && n > 1) {
        const int8_t *q = v->data;
        int64_t best = 0;
        for (i = 1; i < n; i++)
            if (q[i] > q[best])
                best = i;
        printf("  argmax %lld (%d)\n", (long long)best, q[best]);
    }
}

int cmd_run(int argc, char **argv)
{
    const char *model = NULL, *in_paths[MAX_IO], *out_paths[MAX_IO], *target = NULL,
               *dir = NULL;
    void *tout[MAX_IO] = {NULL};
    int n_in = 0, n_out = 0, i, rc = 1;
    bool quiet = false;
    tml_value inputs[MAX_IO];
    tml_compile_options co;
    tml_model *m = NULL;
    tml_interp *it = NULL;
    char err[1024];

    memset(inputs, 0, sizeof inputs);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(help, stdout);
            return 0;
        } else if ((!strcmp(a, "--input") || !strcmp(a, "-i")) && i + 1 < argc) {
            if (n_in == MAX_IO)
                return cli_usage_error("run", "more than %d inputs", MAX_IO);
            in_paths[n_in++] = argv[++i];
        } else if ((!strcmp(a, "--output") || !strcmp(a, "-o")) && i + 1 < argc) {
            if (n_out == MAX_IO)
                return cli_usage_error("run", "more than %d outputs", MAX_IO);
            out_paths[n_out++] = argv[++i];
        } else if (!strcmp(a, "--target") && i + 1 < argc) {
            target = argv[++i];
        } else if (!strcmp(a, "--dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-') {
            return cli_usage_error("run", "unknown option '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error("run", "unexpected argument '%s'", a);
        }
    }
    if (!model)
        return cli_usage_error("run", "missing MODEL");

    tml_compile_options_default(&co);
    for (i = 0; i < n_in; i++) {
        int d;
        if (tml_npy_read(in_paths[i], &inputs[i], err, sizeof err) != TML_OK) {
            fprintf(stderr, "tmlaas run: %s\n", err);
            goto done;
        }
        co.input_rank[i] = inputs[i].rank;
        for (d = 0; d < inputs[i].rank; d++)
            co.input_dims[i][d] = inputs[i].dims[d];
    }
    co.n_input_shapes = n_in;
    if (target) { /* the kernel choice of cmd_compile.c, without the refit */
        tml_target t;
        if (tml_target_load(target, &t, err, sizeof err) != TML_OK) {
            fprintf(stderr, "tmlaas run: %s\n", err);
            goto done;
        }
        co.plan.reference_kernels =
            strcmp(t.arch, "host") != 0 && (t.fpu[0] == 0 || strcmp(t.fpu, "none") == 0);
    }

    if (tml_model_compile(model, &co, &m, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas run: %s\n", err);
        goto done;
    }
    if (n_in != m->plan->n_inputs) {
        fprintf(stderr, "tmlaas run: %s: the model has %d input(s), %d given\n", model,
                m->plan->n_inputs, n_in);
        goto done;
    }
    if (target) {
        for (i = 0; i < n_in; i++) {
            const tml_plan_tensor *pt = &m->plan->tensors[m->plan->inputs[i]];
            if (inputs[i].dtype != pt->dtype) {
                fprintf(stderr, "tmlaas run: '%s': dtype %s, but input '%s' is %s\n",
                        in_paths[i], tml_dtype_name(inputs[i].dtype), pt->name,
                        tml_dtype_name(pt->dtype));
                goto done;
            }
        }
        if ((rc = run_on_target(target, dir, m, inputs, tout, quiet)) != 0)
            goto done;
        rc = 1;
    } else if (tml_interp_new(m->plan, &it, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas run: %s: %s\n", model, err);
        goto done;
    }
    for (i = 0; i < n_in && it; i++) {
        const tml_plan_tensor *pt = &m->plan->tensors[m->plan->inputs[i]];
        size_t bytes;
        void *dst = tml_interp_input(it, i, &bytes);
        if (inputs[i].dtype != pt->dtype) {
            fprintf(stderr, "tmlaas run: '%s': dtype %s, but input '%s' is %s\n", in_paths[i],
                    tml_dtype_name(inputs[i].dtype), pt->name, tml_dtype_name(pt->dtype));
            goto done;
        }
        if (bytes != inputs[i].nbytes) {
            fprintf(stderr, "tmlaas run: '%s': %zu bytes, but input '%s' needs %zu\n",
                    in_paths[i], inputs[i].nbytes, pt->name, bytes);
            goto done;
        }
        memcpy(dst, inputs[i].data, bytes);
    }
    if (it && tml_interp_run(it) != TML_OK) {
        fprintf(stderr, "tmlaas run: %s: execution failed\n", model);
        goto done;
    }
    for (i = 0; i < m->plan->n_outputs; i++) {
        const tml_plan_tensor *pt = &m->plan->tensors[m->plan->outputs[i]];
        tml_value v;
        size_t bytes;
        int d;
        memset(&v, 0, sizeof v);
        v.dtype = pt->dtype;
        v.rank = pt->rank;
        for (d = 0; d < pt->rank; d++)
            v.dims[d] = pt->dims[d];
        if (it) {
            v.data = tml_interp_output(it, i, &bytes);
        } else {
            v.data = tout[i];
            bytes = pt->bytes;
        }
        v.nbytes = bytes;
        if (!quiet)
            print_summary(&v, pt->name);
        if (i < n_out && tml_npy_write(out_paths[i], &v, err, sizeof err) != TML_OK) {
            fprintf(stderr, "tmlaas run: %s\n", err);
            goto done;
        }
    }
    rc = 0;
done:
    for (i = 0; i < MAX_IO; i++)
        free(tout[i]);
    for (i = 0; i < n_in; i++)
        tml_value_release(&inputs[i]);
    tml_interp_free(it);
    tml_model_free(m);
    return rc;
}
