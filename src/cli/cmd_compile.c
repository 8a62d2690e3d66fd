/*
 * cmd_compile.c - `tmlaas compile MODEL -o DIR`: the "squeeze" job. Writes the generated C
 * (model.c, model.h, and only the runtime kernels the plan uses under tml/), the model package
 * (model.tmlpkg) and report.json, and prints the report.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "tml/codegen.h"
#include "tml/compiler.h"
#include "tml/target.h"

static const char help[] =
    "usage: tmlaas compile MODEL -o DIR [options]\n"
    "\n"
    "Compiles an ONNX (or TFLite) model for one target and writes to DIR:\n"
    "  model.c, model.h   the model: weights as static const, one arena, one entry function\n"
    "  tml/               only the runtime headers and kernels the model uses\n"
    "  main.c             (with --harness) a program running the model on raw input files\n"
    "  model.tmlpkg       the same plan serialized, for devices that already have the kernels\n"
    "  report.json        ops, parameters, weight bytes, arena bytes, MACs\n"
    "\n"
    "options:\n"
    "  -o, --out DIR        output directory (created if missing)\n"
    "  --target NAME|FILE   target profile (default: host; see docs/targets.md)\n"
    "  --ram SIZE, --flash SIZE  override the profile's budgets (e.g. 256K, 1M)\n"
    "  --image              also build a firmware image (image.elf, image.bin) and report\n"
    "                       its measured footprint (image.json)\n"
    "  --prefix NAME        identifier prefix of the generated API (default: model)\n"
    "  --harness            also write main.c (see above)\n"
    "  --map                print the arena memory map\n"
    "  --strategy NAME      force one memory strategy (greedy-size, greedy-first-use, ...)\n"
    "  --no-fold, --no-fuse disable constant folding / activation and batch-norm fusion\n"
    "  --reference-kernels  use only the reference kernels (no fast float32 variants; the\n"
    "                       default on targets without an FPU, and the fallback when the\n"
    "                       fast kernels' scratch RAM does not fit)\n"
    "  --fast-kernels       use the fast float32 variants where they apply (the default on\n"
    "                       the host and on targets with an FPU)\n"
    "  -q, --quiet          print nothing but errors\n";

static int write_text(const char *dir, const char *name, const char *text)
{
    char path[4096];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "tmlaas compile: cannot write '%s': %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

int cmd_compile(int argc, char **argv)
{
    const char *model = NULL, *out = NULL, *target = "host", *ram = NULL, *flash = NULL;
    bool quiet = false, map = false, image = false, kernels_chosen = false;
    tml_target tgt;
    tml_compile_options co;
    tml_codegen_options go;
    tml_model *m = NULL;
    char err[1024], path[4096];
    char *json;
    tml_status st;
    int i, rc = 1;

    tml_compile_options_default(&co);
    tml_codegen_options_default(&go);
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(help, stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(a, "--target") && i + 1 < argc) {
            target = argv[++i];
        } else if (!strcmp(a, "--prefix") && i + 1 < argc) {
            go.prefix = argv[++i];
        } else if (!strcmp(a, "--strategy") && i + 1 < argc) {
            co.plan.strategy = argv[++i];
        } else if (!strcmp(a, "--reference-kernels")) {
            co.plan.reference_kernels = true;
            kernels_chosen = true;
        } else if (!strcmp(a, "--fast-kernels")) {
            co.plan.reference_kernels = false;
            kernels_chosen = true;
        } else if (!strcmp(a, "--ram") && i + 1 < argc) {
            ram = argv[++i];
        } else if (!strcmp(a, "--flash") && i + 1 < argc) {
            flash = argv[++i];
        } else if (!strcmp(a, "--image")) {
            image = true;
        } else if (!strcmp(a, "--harness")) {
            go.harness = true;
        } else if (!strcmp(a, "--map")) {
            map = true;
        } else if (!strcmp(a, "--no-fold")) {
            co.passes.fold_constants = false;
        } else if (!strcmp(a, "--no-fuse")) {
            co.passes.fuse_activations = false;
            co.passes.fold_batchnorm = false;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-') {
            return cli_usage_error("compile", "unknown option '%s'", a);
        } else if (!model) {
            model = a;
        } else {
            return cli_usage_error("compile", "unexpected argument '%s'", a);
        }
    }
    if (!model)
        return cli_usage_error("compile", "missing MODEL");
    if (!out)
        return cli_usage_error("compile", "missing -o DIR");
    if (tml_target_load_budget(target, ram, flash, &tgt, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas compile: %s\n", err);
        return 2;
    }
    /* Kernel choice on a microcontroller (bench/results/targets.md): with an FPU the fast
     * float32 kernels run 3.5-4.8x fewer instructions for ~1-3 KiB more arena and ~2 KiB more
     * code; without one they gain under 20%, so the reference kernels (least RAM) win. */
    if (!kernels_chosen && strcmp(tgt.arch, "host") != 0)
        co.plan.reference_kernels = tgt.fpu[0] == 0 || strcmp(tgt.fpu, "none") == 0;

    st = tml_model_compile(model, &co, &m, err, sizeof err);
    if (st != TML_OK) {
        fprintf(stderr, "tmlaas compile: %s\n", err);
        return 1;
    }
    if (tml_target_check_fit(&tgt, m->plan, err, sizeof err) != TML_OK) {
        /* the fast kernels' scratch may be what does not fit: try the reference ones */
        if (!kernels_chosen && !co.plan.reference_kernels) {
            tml_model_free(m);
            m = NULL;
            co.plan.reference_kernels = true;
            if (tml_model_compile(model, &co, &m, err, sizeof err) == TML_OK &&
                tml_target_check_fit(&tgt, m->plan, err, sizeof err) == TML_OK)
                goto fits;
        }
        fprintf(stderr, "tmlaas compile: %s: %s\n", model, err);
        goto done;
    }
fits:
    if (mkdir(out, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "tmlaas compile: cannot create '%s': %s\n", out, strerror(errno));
        goto done;
    }
    if (tml_codegen_c(m->plan, out, &go, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas compile: %s\n", err);
        goto done;
    }
    snprintf(path, sizeof path, "%s/model.tmlpkg", out);
    if (tml_package_save(m->plan, path, err, sizeof err) != TML_OK) {
        fprintf(stderr, "tmlaas compile: %s\n", err);
        goto done;
    }
    json = tml_model_report_json(m);
    if (!json || write_text(out, "report.json", json) != 0) {
        free(json);
        goto done;
    }
    free(json);
    if (!quiet) {
        tml_model_report_print(m, stdout);
        if (map)
            tml_plan_print_map(m->plan, stdout);
        printf("  wrote %s/{model.c,model.h,tml/,model.tmlpkg,report.json}\n", out);
    }
    if (image) {
        tml_image_sizes sz;
        tml_image_run_stats rs;
        bool ran;
        err[0] = '\0';
        if (tml_image_make(&tgt, m->plan, out, &sz, &rs, &ran, err, sizeof err) != TML_OK) {
            fprintf(stderr, "tmlaas compile: %s: %s\n", model, err);
            goto done;
        }
        json = tml_image_report_json(&tgt, &sz, ran ? &rs : NULL);
        if (!json || write_text(out, "image.json", json) != 0) {
            free(json);
            goto done;
        }
        free(json);
        if (!ran && err[0])
            fprintf(stderr, "tmlaas compile: note: image built, not measured: %s\n", err);
        if (!quiet) {
            tml_image_report_print(&tgt, &sz, ran ? &rs : NULL, stdout);
            printf(tml_target_has_image(&tgt)
                       ? "  wrote %s/{image.elf,image.bin,image.map,image.json}\n"
                       : "  wrote %s/{obj/,image.json} (no platform port: objects only)\n",
                   out);
        }
    }
    rc = 0;
done:
    tml_model_free(m);
    return rc;
}
