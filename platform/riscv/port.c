/*
 * port.c (riscv) - the RISC-V machine-mode port: entry point, trap handler, semihosting
 * console and host files, the instret counter, stack painting. Used for rv32imac on QEMU's
 * sifive_e machine (SiFive FE310, the HiFive1 board) and, build only, for any RV32 part whose
 * memory the profile describes: it touches no peripheral, only CSRs.
 *
 * Semihosting on RISC-V is the ARM protocol (operation in a0, argument block in a1, result in
 * a0) triggered by the uncompressed sequence `slli x0,x0,0x1f; ebreak; srai x0,x0,7`, which
 * QEMU (-semihosting-config enable=on,target=native) recognises; the same calls as the mps2
 * port move inputs and outputs as host files and end QEMU with the program's exit code.
 *
 * (CSR instructions are enabled locally with `.option arch, +zicsr`, so the profile's -march
 * stays the plain multilib name.)
 *
 * Counting: the minstret CSR counts retired instructions. Under QEMU it is exact only with
 * -icount (otherwise QEMU returns host time), which `tmlaas run` always passes; the unit is
 * "instructions", no clock conversion.
 *
 * Stack: as on mps2, [__stack_bottom, __stack_top) reserved at the end of RAM by link.ld, painted
 * before model_run, scanned after. The only global with state is none: minstret is the counter.
 */
#include <stdint.h>
#include <string.h>

#include "port.h"

extern uint32_t __data_load[], __data_start[], __data_end[];
extern uint32_t __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];

#define SH_SYS_OPEN 0x01
#define SH_SYS_CLOSE 0x02
#define SH_SYS_WRITE0 0x04
#define SH_SYS_WRITE 0x05
#define SH_SYS_READ 0x06
#define SH_SYS_EXIT 0x18
#define SH_SYS_EXIT_EXTENDED 0x20
#define SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define SH_ADP_STOPPED_RUN_TIME_ERROR 0x20023u
#define SH_MODE_RB 1
#define SH_MODE_WB 5

#define STACK_PAINT 0xA5C3A5C3u

const char tml_port_counter_unit[] = "instructions";

static uint64_t counter_base;

/* Entry: stack pointer, global pointer, trap vector, then C. Kept first in .text by link.ld. */
__asm__(".section .text.start, \"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        ".option push\n"
        ".option norelax\n"
        "    la gp, __global_pointer$\n"
        ".option pop\n"
        "    la sp, __stack_top\n"
        "    la t0, tml_riscv_trap\n"
        ".option push\n"
        ".option arch, +zicsr\n"
        "    csrw mtvec, t0\n"
        ".option pop\n"
        "    j tml_riscv_reset\n"
        ".balign 4\n"
        "tml_riscv_trap:\n"
        "    j tml_riscv_fault\n");

static int __attribute__((noinline)) sh_call(int op, void *arg)
{
    register int a0 __asm__("a0") = op;
    register void *a1 __asm__("a1") = arg;
    __asm__ volatile(".option push\n"
                     ".option norvc\n"
                     ".balign 16\n"
                     "slli x0, x0, 0x1f\n"
                     "ebreak\n"
                     "srai x0, x0, 7\n"
                     ".option pop\n"
                     : "+r"(a0)
                     : "r"(a1)
                     : "memory");
    return a0;
}

static void __attribute__((noreturn)) port_exit(int code)
{
    uint32_t args[2];
    args[0] = SH_ADP_STOPPED_APPLICATION_EXIT;
    args[1] = (uint32_t)code;
    sh_call(SH_SYS_EXIT_EXTENDED, args);
    sh_call(SH_SYS_EXIT, (void *)(uintptr_t)(code == 0 ? SH_ADP_STOPPED_APPLICATION_EXIT
                                                       : SH_ADP_STOPPED_RUN_TIME_ERROR));
    for (;;)
        ;
}

long tml_port_file_read(const char *path, void *buf, size_t n)
{
    uint32_t args[3];
    int h, left;
    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = SH_MODE_RB;
    args[2] = (uint32_t)strlen(path);
    h = sh_call(SH_SYS_OPEN, args);
    if (h == -1)
        return -1;
    args[0] = (uint32_t)h;
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = (uint32_t)n;
    left = sh_call(SH_SYS_READ, args); /* returns the bytes NOT read */
    args[0] = (uint32_t)h;
    sh_call(SH_SYS_CLOSE, args);
    if (left < 0 || (size_t)left > n)
        return -1;
    return (long)(n - (size_t)left);
}

int tml_port_file_write(const char *path, const void *buf, size_t n)
{
    uint32_t args[3];
    int h, left;
    args[0] = (uint32_t)(uintptr_t)path;
    args[1] = SH_MODE_WB;
    args[2] = (uint32_t)strlen(path);
    h = sh_call(SH_SYS_OPEN, args);
    if (h == -1)
        return -1;
    args[0] = (uint32_t)h;
    args[1] = (uint32_t)(uintptr_t)buf;
    args[2] = (uint32_t)n;
    left = sh_call(SH_SYS_WRITE, args); /* returns the bytes NOT written */
    args[0] = (uint32_t)h;
    if (sh_call(SH_SYS_CLOSE, args) != 0 || left != 0)
        return -1;
    return 0;
}

void tml_port_puts(const char *s)
{
    sh_call(SH_SYS_WRITE0, (void *)(uintptr_t)s);
}

static uint64_t instret(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile(".option push\n.option arch, +zicsr\n"
                         "csrr %0, minstreth\n"
                         "csrr %1, minstret\n"
                         "csrr %2, minstreth\n"
                         ".option pop"
                         : "=r"(hi), "=r"(lo), "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

void tml_port_counter_start(void)
{
    counter_base = instret();
}

uint64_t tml_port_counter_read(void)
{
    return instret() - counter_base;
}

void __attribute__((noinline)) tml_port_stack_paint(void)
{
    uint32_t *p = __stack_bottom, *sp;
    __asm__ volatile("mv %0, sp" : "=r"(sp));
    sp -= 16; /* leave this function's own frame and a margin alone */
    while (p < sp)
        *p++ = STACK_PAINT;
}

size_t tml_port_stack_used(void)
{
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == STACK_PAINT)
        p++;
    return (size_t)((const char *)__stack_top - (const char *)p);
}

void __attribute__((noreturn, used)) tml_riscv_fault(void)
{
    tml_port_puts("port: trap (illegal instruction, misaligned or faulting access)\n");
    port_exit(4);
}

void __attribute__((noreturn, used)) tml_riscv_reset(void)
{
    uint32_t *src = __data_load, *dst = __data_start;
    while (dst < __data_end)
        *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end; dst++)
        *dst = 0;
    port_exit(tml_harness_main());
}
