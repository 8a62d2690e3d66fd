/*
 * plan_print.c - tml_plan_print_map: the arena as a person reads it.
 *
 * One line per arena buffer (a storage group: a tensor with its views and in-place successors,
 * or one step's scratch), sorted by offset: offset, size, a bar with one column per step (or per
 * few steps in long plans) marking where the buffer is live, and the names of the tensors in
 * it. Then the memory strategies that were tried, with their peak and its ratio to the liveness
 * lower bound - so a report shows at a glance whether the arena is at the bound.
 * TFLite Micro prints a similar map; it is the quickest way to see why an arena is as big as
 * it is (which step is the peak, which buffers are there).
 */
#include <stdlib.h>
#include <string.h>

#include "tml/plan.h"

#define BAR_MAX 48

typedef struct {
    uint32_t off, size;
    int first, last;
    int tensor; /* group representative, or -1 - step for scratch */
} line;

static void print_bar(FILE *f, int first, int last, int n_steps)
{
    int w = n_steps < BAR_MAX ? n_steps : BAR_MAX, c;
    if (w <= 0)
        w = 1;
    fputc('|', f);
    for (c = 0; c < w; c++) {
        /* column c covers steps [c*S/w, (c+1)*S/w) */
        long lo = (long)c * n_steps / w, hi = (long)(c + 1) * n_steps / w - 1;
        if (hi < lo)
            hi = lo;
        fputc(first <= hi && last >= lo ? '#' : '.', f);
    }
    fputc('|', f);
}

static void print_size(FILE *f, uint64_t v)
{
    if (v >= 10u * 1024 * 1024)
        fprintf(f, "%.1f MiB", (double)v / (1024.0 * 1024.0));
    else if (v >= 10u * 1024)
        fprintf(f, "%.1f KiB", (double)v / 1024.0);
    else
        fprintf(f, "%llu B", (unsigned long long)v);
}

void tml_plan_print_map(const tml_plan *p, FILE *f)
{
    line *ln;
    int n = 0, i, j, s;
    if (!p || !f)
        return;
    fprintf(f, "arena ");
    print_size(f, p->arena_size);
    fprintf(f, " (lower bound ");
    print_size(f, p->mem.lower_bound);
    fprintf(f, ", strategy %s), weights ", p->mem.strategy ? p->mem.strategy : "-");
    print_size(f, p->weights_size);
    fprintf(f, ", %d steps, %llu MACs\n", p->n_steps, (unsigned long long)p->macs);
    ln = calloc((size_t)p->n_tensors + (size_t)p->n_steps + 1, sizeof(line));
    if (!ln)
        return;
    for (i = 0; i < p->n_tensors; i++) {
        const tml_plan_tensor *t = &p->tensors[i];
        int r = p->share ? p->share[i] : i;
        if (t->storage != TML_STORE_ARENA)
            continue;
        for (j = 0; j < n; j++)
            if (ln[j].tensor == r)
                break;
        if (j == n) {
            ln[n].off = t->offset;
            ln[n].size = t->bytes;
            ln[n].first = t->first;
            ln[n].last = t->last;
            ln[n].tensor = r;
            n++;
            continue;
        }
        if (t->bytes > ln[j].size)
            ln[j].size = t->bytes;
        if (t->first < ln[j].first)
            ln[j].first = t->first;
        if (t->last > ln[j].last)
            ln[j].last = t->last;
    }
    for (s = 0; s < p->n_steps; s++) {
        if (!p->steps[s].scratch_bytes)
            continue;
        ln[n].off = p->steps[s].scratch_offset;
        ln[n].size = p->steps[s].scratch_bytes;
        ln[n].first = ln[n].last = s;
        ln[n].tensor = -1 - s;
        n++;
    }
    /* by offset, then first step (insertion sort: maps are short) */
    for (i = 1; i < n; i++) {
        line t = ln[i];
        j = i;
        while (j > 0 && (ln[j - 1].off > t.off || (ln[j - 1].off == t.off && ln[j - 1].first > t.first))) {
            ln[j] = ln[j - 1];
            j--;
        }
        ln[j] = t;
    }
    fprintf(f, "  %10s %10s  %-*s  %s\n", "offset", "bytes", (p->n_steps < BAR_MAX ? p->n_steps : BAR_MAX) + 2,
            "steps", "tensors");
    for (i = 0; i < n; i++) {
        fprintf(f, "  %10lu %10lu  ", (unsigned long)ln[i].off, (unsigned long)ln[i].size);
        print_bar(f, ln[i].first, ln[i].last, p->n_steps);
        fputs("  ", f);
        if (ln[i].tensor < 0) {
            int st = -1 - ln[i].tensor;
            const tml_kernel_info *ki = tml_kernel_get_info(p->steps[st].kernel);
            fprintf(f, "(scratch of step %d, %s)", st, ki ? ki->name : "?");
        } else {
            int shown = 0;
            for (j = 0; j < p->n_tensors; j++) {
                const tml_plan_tensor *t = &p->tensors[j];
                if (t->storage != TML_STORE_ARENA || (p->share ? p->share[j] : j) != ln[i].tensor)
                    continue;
                if (shown == 4) {
                    fputs(" = ...", f);
                    break;
                }
                fprintf(f, "%s%s", shown ? " = " : "", t->name ? t->name : "?");
                if (t->input_index >= 0)
                    fprintf(f, " (input %d)", t->input_index);
                if (t->output_index >= 0)
                    fprintf(f, " (output %d)", t->output_index);
                shown++;
            }
        }
        fputc('\n', f);
    }
    free(ln);
    if (p->mem.n_attempts) {
        fprintf(f, "  strategies (lower bound %lu):\n", (unsigned long)p->mem.lower_bound);
        for (i = 0; i < p->mem.n_attempts; i++) {
            const tml_mem_attempt *a = &p->mem.attempts[i];
            double ratio = p->mem.lower_bound ? (double)a->peak / (double)p->mem.lower_bound : 1.0;
            fprintf(f, "    %-18s %10lu  %.3f%s%s\n", a->name, (unsigned long)a->peak, ratio,
                    a->optimal ? "  optimal" : "",
                    p->mem.strategy && strcmp(a->name, p->mem.strategy) == 0 ? "  <- chosen" : "");
        }
    }
}
