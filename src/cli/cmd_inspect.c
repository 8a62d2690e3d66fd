/*
 * cmd_inspect.c - `tmlaas inspect MODEL`: a readable summary of the graph: inputs, outputs,
 * one line per node with its op, fused activation, input and output shapes; then the compiled
 * report (or, with --raw, the graph as imported, before any pass).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "tml/compiler.h"
#include "tml/import.h"
#include "tml/package.h"
#include "tml/tensor_io.h"

static const char help[] =
    "usage: tmlaas inspect MODEL [--raw] [--map]\n"
    "       tmlaas inspect PACKAGE.tmlpkg\n"
    "\n"
    "Prints the graph: inputs, outputs, and one line per node (op, shapes, fused activation).\n"
    "By default the graph after the compiler's passes, followed by the compile report.\n"
    "A model package is validated as a device would and its tables printed.\n"
    "  --raw     the graph exactly as imported (no passes; shapes may be unknown)\n"
    "  --map     also print the arena memory map\n";

static const char *act_name(tml_act a)
{
    switch (a) {
    case TML_ACT_RELU: return "relu";
    case TML_ACT_CLIP: return "clip";
    case TML_ACT_LEAKY: return "leaky_relu";
    case TML_ACT_SIGMOID: return "sigmoid";
    case TML_ACT_TANH: return "tanh";
    case TML_ACT_HARD_SWISH: return "hard_swish";
    default: return NULL;
    }
}

static void print_graph(tml_graph *g)
{
    char buf[128];
    int i, j, n = 0;
    printf("graph '%s' (opset %lld): %d inputs, %d outputs, %d nodes\n", g->name ? g->name : "",
           (long long)g->opset, g->n_inputs, g->n_outputs, tml_graph_live_nodes(g));
    for (i = 0; i < g->n_nodes; i++) {
        const tml_node *nd = &g->nodes[i];
        const tml_op_info *oi = tml_op_get_info(nd->op);
        if (nd->dead)
            continue;
        printf("  %3d %-18s %-24s", n++, oi->onnx_name ? oi->onnx_name : oi->name, nd->name);
        for (j = 0; j < nd->n_in; j++) {
            const tml_tensor *t = tml_node_input(g, nd, j);
            if (!t)
                continue;
            printf(" %s%s%s", t->name, t->data ? "(const)" : "", tml_shape_str(t, buf, sizeof buf));
        }
        printf(" ->");
        for (j = 0; j < nd->n_out; j++) {
            const tml_tensor *t = tml_node_output(g, nd, j);
            if (t)
                printf(" %s%s %s", t->name, tml_shape_str(t, buf, sizeof buf),
                       tml_dtype_name(t->dtype));
        }
        if (act_name(nd->act))
            printf("  +%s", act_name(nd->act));
        printf("\n");
    }
}

int cmd_inspect(int argc, char **argv)
{
    const char *model = NULL;
    bool raw = false, map = false;
    char err[1024];
    int i;

    for (i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--raw")) {
            raw = true;
        } else if (!strcmp(argv[i], "--map")) {
            map = true;
        } else if (argv[i][0] == '-') {
            return cli_usage_error("inspect", "unknown option '%s'", argv[i]);
        } else if (!model) {
            model = argv[i];
        } else {
            return cli_usage_error("inspect", "unexpected argument '%s'", argv[i]);
        }
    }
    if (!model)
        return cli_usage_error("inspect", "missing MODEL");
    {
        uint8_t *data = NULL;
        size_t size = 0;
        if (tml_file_read(model, (size_t)1 << 31, &data, &size, err, sizeof err) != TML_OK) {
            fprintf(stderr, "tmlaas inspect: %s\n", err);
            return 1;
        }
        if (size >= 4 && memcmp(data, "TMLP", 4) == 0) {
            tml_status st = tml_package_print(data, size, stdout, err, sizeof err);
            free(data);
            if (st != TML_OK) {
                fprintf(stderr, "tmlaas inspect: %s: %s\n", model, err);
                return 1;
            }
            return 0;
        }
        free(data);
    }
    if (raw) {
        tml_graph *g = tml_graph_new();
        int rc = 0;
        if (!g || tml_import_file(g, model) != TML_OK) {
            fprintf(stderr, "tmlaas inspect: %s\n", g ? tml_graph_error(g) : "out of memory");
            rc = 1;
        } else {
            print_graph(g);
        }
        tml_graph_free(g);
        return rc;
    } else {
        tml_model *m;
        if (tml_model_compile(model, NULL, &m, err, sizeof err) != TML_OK) {
            fprintf(stderr, "tmlaas inspect: %s\n", err);
            return 1;
        }
        print_graph(m->graph);
        printf("\n");
        tml_model_report_print(m, stdout);
        if (map)
            tml_plan_print_map(m->plan, stdout);
        tml_model_free(m);
        return 0;
    }
}
