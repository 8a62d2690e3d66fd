/*
 * port.c (mps2) - the Cortex-M port: vector table, reset handler, semihosting console and host
 * files, SysTick counter, stack painting. Used for the QEMU mps2-an385/an386/an500 boards
 * (Cortex-M3/M4/M7) and, build only, for any Cortex-M part whose memory the profile describes:
 * nothing here touches a board peripheral, only the core's SysTick and SCB.
 *
 * Semihosting (ARM's "angel" interface: BKPT 0xAB with the operation in r0 and a pointer to its
 * arguments in r1) is how the image talks to the host under QEMU
 * (-semihosting-config enable=on,target=native): SYS_OPEN/SYS_READ/SYS_WRITE/SYS_CLOSE move the
 * model's inputs and outputs as host files, SYS_WRITE0 is the console, SYS_EXIT_EXTENDED ends
 * QEMU with the program's exit code. On a real board without a debugger attached, BKPT would
 * fault; a board port would replace these few functions with its UART and flash driver.
 *
 * Counting: SysTick runs from the CPU clock with its full 24-bit reload; the handler counts
 * wraps. Under QEMU with -icount shift=0 one instruction is one nanosecond of virtual time, so
 * ticks * (1e9 / clock_hz) is an exact, repeatable instruction count (resolution: one tick).
 *
 * Stack: the linker script reserves [__stack_bottom, __stack_top) at the end of RAM.
 * tml_port_stack_paint fills the part below the caller's frame with a pattern; the lowest
 * overwritten word gives the high-water mark. Globals here are the port's own (a tick counter
 * and nothing else), which the device-side rules allow for platform code.
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

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_CPACR (*(volatile uint32_t *)0xE000ED88u)
#define SYST_MAX 0x00FFFFFFu

#define STACK_PAINT 0xA5C3A5C3u

const char tml_port_counter_unit[] = "systick";

static volatile uint32_t systick_wraps;

static int sh_call(int op, void *arg)
{
    register int r0 __asm__("r0") = op;
    register void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static void __attribute__((noreturn)) port_exit(int code)
{
    uint32_t args[2];
    args[0] = SH_ADP_STOPPED_APPLICATION_EXIT;
    args[1] = (uint32_t)code;
    sh_call(SH_SYS_EXIT_EXTENDED, args);
    /* a host without SYS_EXIT_EXTENDED: the plain call cannot carry a code */
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

void tml_port_counter_start(void)
{
    SYST_CSR = 0;
    systick_wraps = 0;
    SYST_RVR = SYST_MAX;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
    while (SYST_CVR == 0) /* the first tick loads the reload value */
        ;
    systick_wraps = 0;
}

uint64_t tml_port_counter_read(void)
{
    uint32_t wraps, v;
    do {
        wraps = systick_wraps;
        v = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * (SYST_MAX + 1u) + (SYST_MAX - v);
}

void __attribute__((noinline)) tml_port_stack_paint(void)
{
    uint32_t *p = __stack_bottom, *sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
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

void SysTick_Handler(void)
{
    systick_wraps++;
}

static void __attribute__((noreturn)) Fault_Handler(void)
{
    tml_port_puts("port: fault (HardFault, MemManage, BusFault or UsageFault)\n");
    port_exit(4);
}

static void Default_Handler(void)
{
}

void __attribute__((noreturn)) Reset_Handler(void)
{
    uint32_t *src = __data_load, *dst = __data_start;
    while (dst < __data_end)
        *dst++ = *src++;
    for (dst = __bss_start; dst < __bss_end; dst++)
        *dst = 0;
#if defined(__ARM_FP)
    SCB_CPACR |= 0xFu << 20; /* full access to CP10 and CP11: the FPU */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    port_exit(tml_harness_main());
}

/* The vector table: initial stack pointer, then handlers. Placed first in flash by link.ld. */
__attribute__((section(".vectors"), used)) static const uintptr_t vectors[16] = {
    (uintptr_t)__stack_top,
    (uintptr_t)Reset_Handler,
    (uintptr_t)Default_Handler, /* NMI */
    (uintptr_t)Fault_Handler,   /* HardFault */
    (uintptr_t)Fault_Handler,   /* MemManage */
    (uintptr_t)Fault_Handler,   /* BusFault */
    (uintptr_t)Fault_Handler,   /* UsageFault */
    0, 0, 0, 0,
    (uintptr_t)Default_Handler, /* SVCall */
    (uintptr_t)Default_Handler, /* DebugMonitor */
    0,
    (uintptr_t)Default_Handler, /* PendSV */
    (uintptr_t)SysTick_Handler,
};
