/*
 * port.c (host) - the port for a POSIX process: files through stdio, the counter is
 * CLOCK_MONOTONIC in nanoseconds. The stack high-water mark is not measured on the host (the OS
 * grows the stack on demand), so it reports 0.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <time.h>

#include "port.h"

const char tml_port_counter_unit[] = "ns";

long tml_port_file_read(const char *path, void *buf, size_t n)
{
    FILE *f = fopen(path, "rb");
    size_t got;
    if (!f)
        return -1;
    got = fread(buf, 1, n, f);
    fclose(f);
    return (long)got;
}

int tml_port_file_write(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    if (fwrite(buf, 1, n, f) != n) {
        fclose(f);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

void tml_port_puts(const char *s)
{
    fputs(s, stdout);
}

void tml_port_counter_start(void)
{
}

uint64_t tml_port_counter_read(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void tml_port_stack_paint(void)
{
}

size_t tml_port_stack_used(void)
{
    return 0;
}

int main(void)
{
    return tml_harness_main();
}
