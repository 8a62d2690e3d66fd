/*
 * bench_memplan.c - how close each memory strategy gets to the liveness lower bound, and how
 * long the planner takes, on seeded random instances shaped like inference graphs.
 *
 * An instance is a chain of steps with mostly short-lived activations (each read by the next
 * one or two steps), some skip connections that stay live for many steps, and a scratch buffer
 * here and there - the mix that makes greedy orders disagree. For every size it prints, per
 * strategy, the mean ratio peak / lower bound, how often the strategy hit the bound, and the
 * same for the best-of that tml_mem_plan returns, with its mean time per instance.
 *
 *   bench_memplan [instances-per-size]      (default 200)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tml/memplan.h"

static uint32_t rng = 1;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int make_instance(tml_mem_buf *b, int n_steps)
{
    int n = 0, s;
    for (s = 0; s < n_steps; s++) {
        /* the activation written at step s */
        int life = 1 + (int)(rnd() % 2);
        if (rnd() % 8 == 0)
            life = 2 + (int)(rnd() % (uint32_t)(n_steps / 2 + 1)); /* skip connection */
        b[n].first = s;
        b[n].last = s + life < n_steps ? s + life : n_steps - 1;
        b[n].size = 64u * (1u + rnd() % 64u);
        b[n].offset = 0;
        n++;
        if (rnd() % 4 == 0) { /* scratch */
            b[n].first = b[n].last = s;
            b[n].size = 16u * (1u + rnd() % 128u);
            b[n].offset = 0;
            n++;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    static const int sizes[] = {8, 16, 32, 64, 128};
    int per = argc > 1 ? atoi(argv[1]) : 200, si, it, s;
    int ns = tml_mem_strategy_count();
    static tml_mem_buf b[400], c[400];
    if (per <= 0)
        per = 200;
    printf("%-6s %-18s %10s %10s\n", "steps", "strategy", "peak/lb", "at bound");
    for (si = 0; si < (int)(sizeof sizes / sizeof sizes[0]); si++) {
        double ratio[16] = {0}, best_ratio = 0, secs = 0;
        int hit[16] = {0}, best_hit = 0, runs[16] = {0};
        for (it = 0; it < per; it++) {
            int n = make_instance(b, sizes[si]);
            tml_mem_result r;
            clock_t t0;
            for (s = 0; s < ns; s++) {
                memcpy(c, b, sizeof(tml_mem_buf) * (size_t)n);
                if (tml_mem_plan_with(c, n, 16, tml_mem_strategy_name(s), &r) != TML_OK)
                    return 1;
                if (strcmp(r.strategy, tml_mem_strategy_name(s)) != 0)
                    continue; /* exact on too large an instance: not run */
                ratio[s] += (double)r.peak / (double)r.lower_bound;
                hit[s] += r.peak == r.lower_bound;
                runs[s]++;
            }
            memcpy(c, b, sizeof(tml_mem_buf) * (size_t)n);
            t0 = clock();
            if (tml_mem_plan(c, n, 16, &r) != TML_OK)
                return 1;
            secs += (double)(clock() - t0) / CLOCKS_PER_SEC;
            best_ratio += (double)r.peak / (double)r.lower_bound;
            best_hit += r.peak == r.lower_bound;
        }
        for (s = 0; s < ns; s++)
            if (runs[s])
                printf("%-6d %-18s %10.4f %9.1f%%\n", sizes[si], tml_mem_strategy_name(s),
                       ratio[s] / runs[s], 100.0 * hit[s] / runs[s]);
        printf("%-6d %-18s %10.4f %9.1f%%   %.3f ms/instance\n\n", sizes[si], "best-of",
               best_ratio / per, 100.0 * best_hit / per, 1000.0 * secs / per);
    }
    return 0;
}
