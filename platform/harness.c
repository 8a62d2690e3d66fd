/*
 * harness.c - the program a firmware image runs: the same on every port.
 *
 * It reads each model input's raw bytes from the host file in<i>.bin, paints the stack, reads
 * the counter, runs model_run() once, reads the counter and the stack high-water mark, writes
 * each output to out<i>.bin and the numbers to stats.txt ("key=value" lines), and returns 0 if
 * every step worked. No stdio and no malloc: numbers are formatted by hand into a fixed buffer,
 * so the same file links on a 16 KiB part.
 */
#include "model.h"
#include "port.h"

static char *put_str(char *p, const char *s)
{
    while (*s)
        *p++ = *s++;
    return p;
}

static char *put_u64(char *p, uint64_t v)
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v);
    while (n)
        *p++ = tmp[--n];
    return p;
}

/* "in3.bin" and the like; i < 100 */
static void io_name(char *buf, const char *stem, int i)
{
    char *p = put_str(buf, stem);
    p = put_u64(p, (uint64_t)i);
    p = put_str(p, ".bin");
    *p = '\0';
}

int tml_harness_main(void)
{
    char name[16], stats[256], *p;
    uint64_t t0, t1;
    size_t stack;
    int i, rc;

    for (i = 0; i < MODEL_NUM_INPUTS; i++) {
        long n;
        io_name(name, "in", i);
        n = tml_port_file_read(name, model_input(i), model_input_bytes(i));
        if (n != (long)model_input_bytes(i)) {
            tml_port_puts("harness: cannot read '");
            tml_port_puts(name);
            tml_port_puts("' (missing or short)\n");
            return 2;
        }
    }
    tml_port_stack_paint();
    tml_port_counter_start();
    t0 = tml_port_counter_read();
    rc = model_run();
    t1 = tml_port_counter_read();
    stack = tml_port_stack_used();
    for (i = 0; i < MODEL_NUM_OUTPUTS; i++) {
        io_name(name, "out", i);
        if (tml_port_file_write(name, model_output(i), model_output_bytes(i)) != 0) {
            tml_port_puts("harness: cannot write '");
            tml_port_puts(name);
            tml_port_puts("'\n");
            return 3;
        }
    }
    p = put_str(stats, "status=");
    p = put_u64(p, (uint64_t)(rc < 0 ? -rc : rc));
    p = put_str(p, "\ncounter=");
    p = put_u64(p, t1 - t0);
    p = put_str(p, "\nunit=");
    p = put_str(p, tml_port_counter_unit);
    p = put_str(p, "\nstack_used=");
    p = put_u64(p, (uint64_t)stack);
    p = put_str(p, "\n");
    *p = '\0';
    tml_port_puts(stats);
    if (tml_port_file_write("stats.txt", stats, (size_t)(p - stats)) != 0)
        return 3;
    return rc == 0 ? 0 : 1;
}
