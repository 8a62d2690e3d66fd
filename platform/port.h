/*
 * port.h - the porting interface: everything the harness (and, later, the device agent) needs
 * from a board. One implementation per port, exactly one linked: platform/mps2/port.c (Cortex-M
 * under QEMU: start-up, semihosting console and files, SysTick counter) and platform/host/port.c
 * (a POSIX process). Everything above this header is the same C on every port.
 *
 * Files are whole-buffer transfers because that is all the harness needs and it keeps the
 * semihosting side to four calls (open, read/write, close).
 */
#ifndef TML_PORT_H
#define TML_PORT_H

#include <stddef.h>
#include <stdint.h>

/* The program above the port; the port's start-up calls it and exits with its result. */
int tml_harness_main(void);

/* Reads up to n bytes of the host file path into buf; returns the bytes read or -1. */
long tml_port_file_read(const char *path, void *buf, size_t n);
/* Writes n bytes to the host file path (created or truncated); 0 ok, -1 error. */
int tml_port_file_write(const char *path, const void *buf, size_t n);
/* Writes a string to the console. */
void tml_port_puts(const char *s);

/* A monotonic counter (SysTick ticks on mps2, nanoseconds on host); the unit is
 * TML_PORT_COUNTER_UNIT. Starts at tml_port_counter_start. */
void tml_port_counter_start(void);
uint64_t tml_port_counter_read(void);
extern const char tml_port_counter_unit[];

/* Fills the unused part of the stack below the caller with a pattern; tml_port_stack_used
 * returns how many bytes of the stack have been used since (high-water mark), 0 if unknown. */
void tml_port_stack_paint(void);
size_t tml_port_stack_used(void);

#endif /* TML_PORT_H */
