/*
 * target.h - microcontroller targets: profiles, budgets, firmware images, runs under QEMU.
 *
 * A target is described by one profile file (targets/NAME.target, key = value lines, see
 * docs/targets.md): CPU and compiler flags, FPU/DSP, flash and RAM (origin and budget), stack
 * reserve, toolchain, platform port (platform/PORT/) and, when QEMU can emulate it, the machine.
 * The profile is untrusted text, parsed once here (fuzz/fuzz_target_profile.c); the rest of the
 * module trusts the parsed struct.
 *
 * The flow: codegen writes DIR (model.c, model.h, tml/); tml_target_check_fit refuses a plan
 * that cannot fit the budget; tml_image_build copies the port and the harness into DIR, writes
 * the linker memory map from the profile, compiles and links DIR/image.elf (+ image.bin) and
 * measures the linked image from the linker map; tml_image_run boots it (QEMU, or natively for
 * the host target), feeding in<i>.bin and collecting out<i>.bin through semihosting, with a
 * wall-clock bound so a hung image cannot hang the caller.
 */
#ifndef TML_TARGET_H
#define TML_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "tml/plan.h"

#define TML_TARGET_STR 128
#define TML_TARGET_FLAGS 512

typedef struct {
    char name[64];
    char path[1024];                   /* file it was loaded from ("" if parsed from text) */
    char description[TML_TARGET_STR];
    char arch[32];                     /* "arm", "riscv", "host" */
    char cpu[32];                      /* "cortex-m4", "rv32imac", "native" */
    char fpu[32];                      /* "none", "fpv4-sp-d16", ... */
    bool dsp;                          /* DSP / SIMD extension present */
    char cc[TML_TARGET_STR];           /* C compiler (a program name or path) */
    char cflags[TML_TARGET_FLAGS];     /* CPU, ABI and optimization flags, space separated */
    char ldflags[TML_TARGET_FLAGS];    /* extra link flags */
    char platform[32];                 /* port under platform/: "mps2", "host", "none" */
    uint64_t flash_origin, flash_bytes; /* code + constants region; bytes = budget */
    uint64_t ram_origin, ram_bytes;     /* data + bss + stack region; bytes = budget */
    uint64_t stack_bytes;              /* stack reserved in RAM (measured use is reported) */
    uint64_t clock_hz;                 /* CPU clock that drives the cycle counter (SysTick) */
    char qemu[TML_TARGET_STR];         /* emulator program ("" = cannot run here) */
    char qemu_machine[64];             /* -M argument */
} tml_target;

/* Parses profile text (origin names it in messages). Unknown keys, malformed sizes, missing
 * required keys (name, arch, cc, platform, flash, ram) are errors. */
tml_status tml_target_parse(const char *text, size_t len, const char *origin, tml_target *t,
                            char *err, size_t errsz);
/* Loads a profile by name (searched in $TML_TARGETS_DIR, then the source tree's targets/) or
 * by path (anything containing '/' or ending in ".target"). */
tml_status tml_target_load(const char *name_or_path, tml_target *t, char *err, size_t errsz);
/* tml_target_load, then the budgets given on a command line ("256K"; NULL = keep the
 * profile's) override the profile's. */
tml_status tml_target_load_budget(const char *name_or_path, const char *ram, const char *flash,
                                  tml_target *t, char *err, size_t errsz);
/* Parses "256K", "1M", "16384", "0x4000" into bytes. */
tml_status tml_size_parse(const char *s, uint64_t *out);

/* True if the profile can build an image (it names a platform port). */
bool tml_target_has_image(const tml_target *t);
/* True if images of this target can run here (host, or a QEMU machine is listed). */
bool tml_target_can_run(const tml_target *t);

/* Refuses a plan that cannot fit the budget, before anything is built: RAM needs the arena,
 * the stack reserve and the port's data; flash needs the weights and an estimate of the code.
 * The message gives the numbers and a suggestion. TML_ERR_FIT when it does not fit. */
tml_status tml_target_check_fit(const tml_target *t, const tml_plan *p, char *err, size_t errsz);

/* Measured footprint of a linked image, in bytes, from the linker map. */
typedef struct {
    /* flash: everything loaded into the flash region (text, rodata, data's load copy) */
    uint64_t flash_total, weights, model_code, kernels, port, libc;
    /* RAM */
    uint64_t ram_total, arena, data_bss, stack_reserved;
} tml_image_sizes;

/* Result of one run of an image. */
typedef struct {
    int exit_code;          /* the image's exit code (0 = model ran and outputs were written) */
    uint64_t counter;       /* the port's counter across model_run (SysTick ticks on mps2) */
    uint64_t instructions;  /* counter converted to instructions (-icount shift=0), 0 if n/a */
    uint64_t stack_used;    /* stack high-water mark across model_run, bytes (painted stack) */
    char unit[16];          /* the counter's unit: "systick" (mps2), "ns" (host) */
} tml_image_run_stats;

/* Builds DIR/image.elf and DIR/image.bin (DIR holds the codegen output). The commands run are
 * written to DIR/image.cmd, their output to DIR/image.log. Sizes are measured when s != NULL.
 * A link that overflows the budget fails with TML_ERR_FIT. A target without a port
 * (platform = none) gets no image: model.c and tml/ *.c are compiled to DIR/obj/ and s is
 * measured from the objects (`size -A`; no port, libc or stack). */
tml_status tml_image_build(const tml_target *t, const char *dir, tml_image_sizes *s, char *err,
                           size_t errsz);
/* Runs DIR/image.elf (inputs DIR/in<i>.bin already written), bounded by timeout_s seconds
 * of wall time; on success the outputs are DIR/out<i>.bin. */
tml_status tml_image_run(const tml_target *t, const char *dir, unsigned timeout_s,
                         tml_image_run_stats *r, char *err, size_t errsz);

/* Measures a GNU ld map file's text (map, len) into s. Exposed for tests. */
tml_status tml_image_sizes_from_map(const char *map, size_t len, tml_image_sizes *s, char *err,
                                    size_t errsz);
/* Prints the footprint (and, when r != NULL, the run's numbers) against the budget. */
void tml_image_report_print(const tml_target *t, const tml_image_sizes *s,
                            const tml_image_run_stats *r, FILE *f);
/* The same as JSON (malloc'd). */
char *tml_image_report_json(const tml_target *t, const tml_image_sizes *s,
                            const tml_image_run_stats *r);

/* One call for `compile --image`: the C carrier of p must already be in dir; builds the image
 * and, if the target can run here, runs it once on all-zero inputs to measure the stack
 * high-water mark and the instructions per inference (*ran says whether it did; when that
 * run fails, the image is still built, TML_OK is returned and err says why it was not measured,
 * e.g. a --ram budget beyond the emulated board's memory). */
tml_status tml_image_make(const tml_target *t, const tml_plan *p, const char *dir,
                          tml_image_sizes *s, tml_image_run_stats *r, bool *ran, char *err,
                          size_t errsz);

/* One call for `run --target`: writes the C carrier of p into dir, builds the image, writes the
 * inputs (inputs[i] of in_bytes[i] bytes, checked against the plan), runs it, and returns each
 * output as a malloc'd buffer in outputs[i] (of the plan's output size). */
tml_status tml_target_run_plan(const tml_target *t, const tml_plan *p, const char *dir,
                               const void *const *inputs, const size_t *in_bytes, void **outputs,
                               tml_image_sizes *s, tml_image_run_stats *r, char *err,
                               size_t errsz);

/* Removes a build directory made by tml_target_run_plan (recursively, not following links). */
void tml_image_dir_remove(const char *dir);

#endif /* TML_TARGET_H */
