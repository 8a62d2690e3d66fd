/*
 * run.c - running a firmware image: under QEMU for the Cortex-M targets, natively for host.
 *
 * QEMU is started as
 *   qemu-system-arm -M MACHINE -nographic -monitor none -icount shift=0
 *       -semihosting-config enable=on,target=native -kernel image.elf
 * in the image's directory, so the harness's semihosting SYS_OPEN of "in0.bin" and "out0.bin"
 * are files there. -icount shift=0 makes virtual time advance one nanosecond per instruction:
 * runs are deterministic and the harness's SysTick count converts to instructions exactly.
 * The image exits through SYS_EXIT_EXTENDED with its status, which becomes QEMU's exit code.
 * A wall-clock bound kills QEMU if the image never exits.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "target/proc.h"
#include "tml/codegen.h"
#include "tml/target.h"

static void parse_stats(const char *path, tml_image_run_stats *r, const tml_target *t)
{
    FILE *f = fopen(path, "r");
    char line[256], unit[32] = "";
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "counter=%llu", &v) == 1)
            r->counter = v;
        else if (sscanf(line, "stack_used=%llu", &v) == 1)
            r->stack_used = v;
        else
            sscanf(line, "unit=%31s", unit);
    }
    fclose(f);
    if (!strcmp(unit, "instructions"))
        r->instructions = r->counter;
    else if (!strcmp(unit, "systick") && t->clock_hz)
        r->instructions = (uint64_t)((double)r->counter * 1e9 / (double)t->clock_hz + 0.5);
    snprintf(r->unit, sizeof r->unit, "%s", unit);
}

tml_status tml_image_run(const tml_target *t, const char *dir, unsigned timeout_s,
                         tml_image_run_stats *r, char *err, size_t errsz)
{
    char *argv[16], log[4096], path[4096];
    bool timed_out = false;
    int rc, n = 0;

    memset(r, 0, sizeof *r);
    if (!tml_target_can_run(t)) {
        snprintf(err, errsz,
                 "target '%s' cannot run here (no 'qemu' in its profile): build only", t->name);
        return TML_ERR_UNSUPPORTED;
    }
    snprintf(path, sizeof path, "%s/stats.txt", dir);
    remove(path);
    snprintf(log, sizeof log, "%s/run.log", dir);
    remove(log);
    if (!strcmp(t->platform, "host")) {
        argv[n++] = "./image";
    } else {
        argv[n++] = (char *)t->qemu;
        argv[n++] = "-M";
        argv[n++] = (char *)t->qemu_machine;
        argv[n++] = "-nographic";
        argv[n++] = "-monitor";
        argv[n++] = "none";
        argv[n++] = "-icount";
        argv[n++] = "shift=0";
        argv[n++] = "-semihosting-config";
        argv[n++] = "enable=on,target=native";
        argv[n++] = "-kernel";
        argv[n++] = "image.elf";
    }
    argv[n] = NULL;
    rc = tml_proc_run(argv, dir, log, timeout_s, &timed_out);
    if (timed_out) {
        snprintf(err, errsz, "target '%s': the image did not finish within %u s (see '%s')",
                 t->name, timeout_s, log);
        return TML_ERR;
    }
    if (rc < 0) {
        snprintf(err, errsz, "target '%s': cannot run '%s' (see '%s')", t->name, argv[0], log);
        return TML_ERR;
    }
    r->exit_code = rc;
    parse_stats(path, r, t);
    if (rc != 0) {
        snprintf(err, errsz, "target '%s': the image exited with status %d%s (see '%s')", t->name,
                 rc, rc > 128 ? " (the emulator died of a signal: a CPU lockup or memory outside "
                                "the emulated board?)" : "",
                 log);
        return TML_ERR;
    }
    return TML_OK;
}

tml_status tml_target_run_plan(const tml_target *t, const tml_plan *p, const char *dir,
                               const void *const *inputs, const size_t *in_bytes, void **outputs,
                               tml_image_sizes *s, tml_image_run_stats *r, char *err,
                               size_t errsz)
{
    tml_codegen_options go;
    char path[4096];
    tml_status st;
    int i;

    for (i = 0; i < p->n_outputs; i++)
        outputs[i] = NULL;
    for (i = 0; i < p->n_inputs; i++) {
        const tml_plan_tensor *pt = &p->tensors[p->inputs[i]];
        if (in_bytes[i] != pt->bytes) {
            snprintf(err, errsz, "input %d '%s': %zu bytes given, the model needs %zu", i,
                     pt->name, in_bytes[i], (size_t)pt->bytes);
            return TML_ERR_SHAPE;
        }
    }
    if ((st = tml_target_check_fit(t, p, err, errsz)) != TML_OK)
        return st;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, errsz, "cannot create '%s': %s", dir, strerror(errno));
        return TML_ERR_IO;
    }
    tml_codegen_options_default(&go);
    if ((st = tml_codegen_c(p, dir, &go, err, errsz)) != TML_OK)
        return st;
    if ((st = tml_image_build(t, dir, s, err, errsz)) != TML_OK)
        return st;
    for (i = 0; i < p->n_inputs; i++) {
        FILE *f;
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        f = fopen(path, "wb");
        if (!f || fwrite(inputs[i], 1, in_bytes[i], f) != in_bytes[i] || fclose(f) != 0) {
            snprintf(err, errsz, "cannot write '%s'", path);
            return TML_ERR_IO;
        }
    }
    for (i = 0; i < p->n_outputs; i++) {
        snprintf(path, sizeof path, "%s/out%d.bin", dir, i);
        remove(path);
    }
    if ((st = tml_image_run(t, dir, 120, r, err, errsz)) != TML_OK)
        return st;
    for (i = 0; i < p->n_outputs; i++) {
        size_t want = p->tensors[p->outputs[i]].bytes, got;
        FILE *f;
        snprintf(path, sizeof path, "%s/out%d.bin", dir, i);
        outputs[i] = malloc(want ? want : 1);
        f = fopen(path, "rb");
        if (!outputs[i] || !f) {
            if (f)
                fclose(f);
            snprintf(err, errsz, "cannot read output '%s'", path);
            goto fail;
        }
        got = fread(outputs[i], 1, want, f);
        fclose(f);
        if (got != want) {
            snprintf(err, errsz, "output '%s': %zu bytes, expected %zu", path, got, want);
            goto fail;
        }
    }
    return TML_OK;
fail:
    for (i = 0; i < p->n_outputs; i++) {
        free(outputs[i]);
        outputs[i] = NULL;
    }
    return TML_ERR_IO;
}

tml_status tml_image_make(const tml_target *t, const tml_plan *p, const char *dir,
                          tml_image_sizes *s, tml_image_run_stats *r, bool *ran, char *err,
                          size_t errsz)
{
    char path[4096];
    tml_status st;
    int i;

    *ran = false;
    memset(r, 0, sizeof *r);
    if ((st = tml_image_build(t, dir, s, err, errsz)) != TML_OK)
        return st;
    if (!tml_target_can_run(t))
        return TML_OK;
    for (i = 0; i < p->n_inputs; i++) {
        size_t n = p->tensors[p->inputs[i]].bytes;
        void *zeros = calloc(n ? n : 1, 1);
        FILE *f;
        snprintf(path, sizeof path, "%s/in%d.bin", dir, i);
        f = fopen(path, "wb");
        if (!zeros || !f || fwrite(zeros, 1, n, f) != n) {
            free(zeros);
            if (f)
                fclose(f);
            snprintf(err, errsz, "cannot write '%s'", path);
            return TML_ERR_IO;
        }
        free(zeros);
        if (fclose(f) != 0) {
            snprintf(err, errsz, "cannot write '%s'", path);
            return TML_ERR_IO;
        }
    }
    /* the image is built: a failed measurement run leaves its message in err, not a failure */
    if (tml_image_run(t, dir, 120, r, err, errsz) == TML_OK) {
        *ran = true;
        if (errsz)
            err[0] = '\0';
    }
    return TML_OK;
}

void tml_image_dir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (lstat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode))
            tml_image_dir_remove(path);
        else
            unlink(path);
    }
    closedir(d);
    rmdir(dir);
}
