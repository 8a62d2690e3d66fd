/*
 * memplan.c - places buffers with known lifetimes in one arena so that the peak is small.
 *
 * The problem is dynamic storage allocation (NP-hard in general): every buffer is a rectangle
 * (lifetime x bytes) that may slide only vertically; two buffers live at the same step must not
 * share bytes. No placement can beat the liveness lower bound - the largest total of sizes live
 * at one step - and on the graphs we see, one of a handful of cheap greedy orders usually hits
 * it. So tml_mem_plan runs several strategies, stops as soon as one reaches the bound, and
 * finishes with a search: exact branch-and-bound for small instances, local search otherwise:
 *
 *   greedy-size       largest first, each at the lowest offset that does not collide with an
 *                     already placed, time-overlapping buffer (TFLite Micro's planner)
 *   greedy-first-use  in order of first use (a linear scan allocator), larger first on ties
 *   greedy-conflicts  buffers that overlap the most bytes in time first
 *   greedy-breadth    steps by load, heaviest first; per step its still unplaced buffers,
 *                     largest first - the peak step is packed tight before anything else
 *   bestfit-size      largest first, into the smallest gap that fits (not the lowest)
 *   greedy-area       by size x lifetime, largest first
 *   local-search      (instances too big for the exact search) from the best greedy order,
 *                     move single buffers earlier in the order, preferring those that end at
 *                     the peak, and keep what does not grow it; bounded, seeded, deterministic
 *   exact             depth-first search over placements in canonical order (by offset, then
 *                     index); each buffer sits at 0 or on top of a time-overlapping buffer
 *                     placed before it ("gravity": every placement can be pushed down into
 *                     that form without growing), pruned with a per-step bound
 *
 * Why offsets only at 0 or on top of another buffer: push every buffer of an optimal placement
 * down as far as it goes; the result is no taller and each buffer rests on something. Sorted by
 * offset, each buffer rests on one placed before it, so the search over (order, resting place)
 * pairs in canonical order visits an optimal placement exactly once.
 *
 * Everything is host code (it allocates with malloc) and has no global state, so several
 * threads may plan at once. Sizes are computed in 64 bits; a peak above 4 GiB is TML_ERR_FIT.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tml/memplan.h"

#define N_STRATEGIES 8

static const char *const strategy_names[N_STRATEGIES] = {
    "greedy-size",  "greedy-first-use", "greedy-conflicts", "greedy-breadth",
    "bestfit-size", "greedy-area",      "local-search",     "exact"};

enum { S_SIZE, S_FIRST_USE, S_CONFLICTS, S_BREADTH, S_BESTFIT, S_AREA, S_SEARCH, S_EXACT };

const char *tml_mem_strategy_name(int i)
{
    return i >= 0 && i < N_STRATEGIES ? strategy_names[i] : NULL;
}

int tml_mem_strategy_count(void) { return N_STRATEGIES; }

/* ---- the working state of one tml_mem_plan call ---- */

typedef struct {
    int n;
    const tml_mem_buf *b;
    uint64_t *size;   /* (n) aligned sizes */
    uint64_t *key1;   /* (n) primary sort key, larger first */
    uint64_t *key2;   /* (n) secondary sort key, larger first */
    int *order;       /* (n) placement order */
    int *tmp;         /* (n) merge sort scratch */
    int *sorted;      /* (n) placed buffers sorted by offset */
    uint64_t *off;    /* (n) offsets of the current attempt */
    uint64_t *best;   /* (n) offsets of the best attempt */
    int *best_order;  /* (n) placement order of the best greedy attempt */
    int *cur;         /* (n) local search: the current order */
    uint64_t *cur_off; /* (n) local search: offsets of the current order */
} mp;

static bool live_overlap(const tml_mem_buf *a, const tml_mem_buf *b)
{
    return a->first <= b->last && b->first <= a->last;
}

static uint64_t align_up(uint64_t v, uint32_t align) { return (v + align - 1) & ~(uint64_t)(align - 1); }

/* Sort key comparison: key1 desc, key2 desc, index asc (so every order is deterministic). */
static bool before(const mp *m, int a, int b)
{
    if (m->key1[a] != m->key1[b])
        return m->key1[a] > m->key1[b];
    if (m->key2[a] != m->key2[b])
        return m->key2[a] > m->key2[b];
    return a < b;
}

/* Stable merge sort of v[0..n) by `before`, using m->tmp. No qsort: its comparator cannot take
 * a context pointer without global state. */
static void sort_by_keys(const mp *m, int *v, int n)
{
    int width, i;
    int *src = v, *dst = m->tmp;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            int lo = i, mid = i + width < n ? i + width : n, hi = i + 2 * width < n ? i + 2 * width : n;
            int a = lo, b = mid, k = lo;
            while (a < mid && b < hi)
                dst[k++] = before(m, src[b], src[a]) ? src[b++] : src[a++];
            while (a < mid)
                dst[k++] = src[a++];
            while (b < hi)
                dst[k++] = src[b++];
        }
        {
            int *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != v)
        memcpy(v, src, (size_t)n * sizeof(int));
}

/*
 * Places buffers in m->order, each at the lowest offset (first fit) or in the smallest gap
 * that fits (best fit) among the already placed buffers whose lifetimes overlap its own.
 * Placed buffers are kept sorted by offset, so finding the gaps is one linear scan.
 */
static uint64_t place_in_order(mp *m, bool bestfit)
{
    int k, j, n_sorted = 0;
    uint64_t peak = 0;
    for (k = 0; k < m->n; k++) {
        int i = m->order[k];
        uint64_t sz = m->size[i], cur = 0, at = UINT64_MAX, gap_best = UINT64_MAX;
        int pos;
        if (sz == 0) {
            m->off[i] = 0;
            continue;
        }
        for (j = 0; j < n_sorted; j++) {
            int p = m->sorted[j];
            if (!live_overlap(&m->b[i], &m->b[p]))
                continue;
            if (m->off[p] > cur) {
                uint64_t gap = m->off[p] - cur;
                if (gap >= sz) {
                    if (!bestfit) {
                        at = cur;
                        break;
                    }
                    if (gap < gap_best) {
                        gap_best = gap;
                        at = cur;
                    }
                }
            }
            if (m->off[p] + m->size[p] > cur)
                cur = m->off[p] + m->size[p];
        }
        if (at == UINT64_MAX)
            at = cur; /* no gap fits: on top of everything overlapping */
        m->off[i] = at;
        if (at + sz > peak)
            peak = at + sz;
        /* insert into the offset-sorted list */
        pos = n_sorted;
        while (pos > 0 && m->off[m->sorted[pos - 1]] > at) {
            m->sorted[pos] = m->sorted[pos - 1];
            pos--;
        }
        m->sorted[pos] = i;
        n_sorted++;
    }
    return peak;
}

/* Bytes live at step t. */
static uint64_t load_at(const mp *m, int t)
{
    uint64_t s = 0;
    int j;
    for (j = 0; j < m->n; j++)
        if (m->b[j].first <= t && t <= m->b[j].last)
            s += m->size[j];
    return s;
}

/* The load is piecewise constant and rises only where a buffer starts, so its maximum is at
 * some buffer's first step. */
static uint64_t lower_bound(const mp *m)
{
    uint64_t lb = 0;
    int i;
    for (i = 0; i < m->n; i++) {
        uint64_t l = load_at(m, m->b[i].first);
        if (l > lb)
            lb = l;
    }
    return lb;
}

static void set_order_by_keys(mp *m)
{
    int i;
    for (i = 0; i < m->n; i++)
        m->order[i] = i;
    sort_by_keys(m, m->order, m->n);
}

static uint64_t run_greedy(mp *m, int strategy)
{
    int i, j;
    switch (strategy) {
    case S_SIZE:
    case S_BESTFIT:
        for (i = 0; i < m->n; i++) {
            m->key1[i] = m->size[i];
            m->key2[i] = (uint64_t)((int64_t)m->b[i].last - m->b[i].first);
        }
        break;
    case S_FIRST_USE:
        /* earlier first use = larger key; offset by INT_MIN so negative steps sort right */
        for (i = 0; i < m->n; i++) {
            m->key1[i] = UINT64_MAX - (uint64_t)((int64_t)m->b[i].first + 2147483648LL);
            m->key2[i] = m->size[i];
        }
        break;
    case S_CONFLICTS:
        for (i = 0; i < m->n; i++) {
            uint64_t w = 0;
            for (j = 0; j < m->n; j++)
                if (live_overlap(&m->b[i], &m->b[j]))
                    w += m->size[j];
            m->key1[i] = m->size[i] ? w : 0;
            m->key2[i] = m->size[i];
        }
        break;
    case S_AREA:
        for (i = 0; i < m->n; i++) {
            m->key1[i] = m->size[i] * (uint64_t)((int64_t)m->b[i].last - m->b[i].first + 1);
            m->key2[i] = m->size[i];
        }
        break;
    case S_BREADTH: {
        /* steps (represented by the buffers that start there) by load, heaviest first */
        int n_order = 0, *steps = m->sorted; /* borrow: place_in_order refills it */
        char *done = calloc((size_t)m->n + 1, 1);
        if (!done)
            return UINT64_MAX;
        for (i = 0; i < m->n; i++) {
            m->key1[i] = load_at(m, m->b[i].first);
            m->key2[i] = 0;
            steps[i] = i;
        }
        sort_by_keys(m, steps, m->n);
        for (i = 0; i < m->n; i++) {
            int t = m->b[steps[i]].first, start = n_order;
            for (j = 0; j < m->n; j++)
                if (!done[j] && m->b[j].first <= t && t <= m->b[j].last) {
                    done[j] = 1;
                    m->order[n_order++] = j;
                }
            /* largest first within the step (steps[] is sorted already: key1 is free) */
            for (j = start; j < n_order; j++) {
                m->key1[m->order[j]] = m->size[m->order[j]];
                m->key2[m->order[j]] = 0;
            }
            sort_by_keys(m, m->order + start, n_order - start);
        }
        free(done);
        return place_in_order(m, false);
    }
    default:
        return UINT64_MAX;
    }
    set_order_by_keys(m);
    return place_in_order(m, strategy == S_BESTFIT);
}

/* ---- local search ---- */

/*
 * Starting from the best greedy order, moves one buffer to an earlier place in the order and
 * places again (first fit); keeps the move if the peak does not grow (sideways moves let it
 * cross plateaus). Half of the moves take a buffer that ends at the current peak - the ones
 * that make it - and move it ahead, so that it is placed while there is still room low down.
 * The work is bounded (iterations x n^2 placement cost) and the random sequence is seeded, so
 * the result is deterministic. Returns the best peak and leaves its placement in m->off.
 */
static uint64_t run_search(mp *m, uint64_t start_peak, uint64_t lb)
{
    uint64_t cur_peak = start_peak, best = start_peak;
    uint32_t r = 0x9e3779b9u ^ (uint32_t)m->n;
    long iters, it;
    int n = m->n, i;
    uint64_t *best_off = calloc((size_t)n, sizeof(uint64_t));
    if (!best_off)
        return UINT64_MAX;
    iters = 40000000L / ((long)n * n + 1);
    iters = iters < 5 ? 5 : iters > 3000 ? 3000 : iters;
    memcpy(m->cur, m->best_order, (size_t)n * sizeof(int));
    memcpy(m->cur_off, m->best, (size_t)n * sizeof(uint64_t));
    memcpy(best_off, m->best, (size_t)n * sizeof(uint64_t));
    for (it = 0; it < iters && best > lb && n > 1; it++) {
        int from, to, v, k;
        uint64_t peak;
        r ^= r << 13;
        r ^= r >> 17;
        r ^= r << 5;
        from = (int)(r % (uint32_t)n);
        if (r & 0x80000000u) { /* a buffer that ends at the peak */
            int c = 0;
            for (i = 0; i < n; i++)
                if (m->size[m->cur[i]] && m->cur_off[m->cur[i]] + m->size[m->cur[i]] == cur_peak &&
                    c++ == (int)((r >> 8) % 4u))
                    from = i;
        }
        to = from > 0 ? (int)((r >> 12) % (uint32_t)from) : (int)((r >> 12) % (uint32_t)n);
        memcpy(m->order, m->cur, (size_t)n * sizeof(int));
        v = m->order[from];
        if (to < from)
            for (k = from; k > to; k--)
                m->order[k] = m->order[k - 1];
        else
            for (k = from; k < to; k++)
                m->order[k] = m->order[k + 1];
        m->order[to] = v;
        peak = place_in_order(m, false);
        if (peak <= cur_peak) {
            cur_peak = peak;
            memcpy(m->cur, m->order, (size_t)n * sizeof(int));
            memcpy(m->cur_off, m->off, (size_t)n * sizeof(uint64_t));
        }
        if (peak < best) {
            best = peak;
            memcpy(best_off, m->off, (size_t)n * sizeof(uint64_t));
        }
    }
    memcpy(m->off, best_off, (size_t)n * sizeof(uint64_t));
    free(best_off);
    return best;
}

/* ---- exact search ---- */

/* Besides the node limit (memplan.h), a bound on candidate checks: a node with many buffers
 * and candidates costs more, and the search must finish quickly whatever the instance. */
#define EXACT_MAX_WORK 30000000ull

typedef struct {
    int n;                                   /* buffers in the search (size > 0) */
    int idx[TML_MEM_EXACT_MAX_BUFS];         /* index in mp */
    uint64_t size[TML_MEM_EXACT_MAX_BUFS];
    uint32_t live[TML_MEM_EXACT_MAX_BUFS];   /* bit p: live at point p */
    uint32_t conf[TML_MEM_EXACT_MAX_BUFS];   /* bit j: lifetimes overlap */
    int n_points;
    uint64_t off[TML_MEM_EXACT_MAX_BUFS];
    uint64_t best_off[TML_MEM_EXACT_MAX_BUFS];
    uint64_t best;                           /* incumbent peak; we look for strictly less */
    uint64_t lb;
    bool found;                              /* best_off holds a placement better than the seed */
    long nodes;
    uint64_t work;                           /* candidate checks so far (the real cost) */
    bool aborted;
    /* children of each search level, kept here and not on the stack (service threads) */
    struct child {
        uint64_t off;
        int i;
    } ch[TML_MEM_EXACT_MAX_BUFS][TML_MEM_EXACT_MAX_BUFS * (TML_MEM_EXACT_MAX_BUFS + 1)];
} bnb;

typedef struct child child;

static void bnb_dfs(bnb *s, uint32_t placed, int depth, uint64_t level, int last, uint64_t peak)
{
    uint32_t full = (s->n >= 32) ? 0xffffffffu : ((1u << s->n) - 1u);
    uint64_t bound = peak;
    child *ch;
    int n_ch = 0, p, i, j, a;

    if (s->aborted || s->best <= s->lb)
        return;
    if (placed == full) {
        if (peak < s->best) {
            s->best = peak;
            memcpy(s->best_off, s->off, sizeof(s->off));
            s->found = true;
        }
        return;
    }
    if (++s->nodes > TML_MEM_EXACT_MAX_NODES || s->work > EXACT_MAX_WORK) {
        s->aborted = true;
        return;
    }
    /* Everything still to place goes at or above `level`; at each point, the unplaced buffers
     * live there and the parts above `level` of the placed ones are disjoint. */
    for (p = 0; p < s->n_points; p++) {
        uint64_t sum = level;
        for (i = 0; i < s->n; i++) {
            if (!(s->live[i] & (1u << p)))
                continue;
            if (placed & (1u << i)) {
                uint64_t end = s->off[i] + s->size[i];
                if (end > level)
                    sum += end - level;
            } else {
                sum += s->size[i];
            }
        }
        if (sum > bound)
            bound = sum;
    }
    if (bound >= s->best)
        return;
    ch = s->ch[depth];
    /* children: (offset, buffer) in canonical order after (level, last) */
    for (i = 0; i < s->n; i++) {
        int first_child = n_ch;
        uint64_t cand[TML_MEM_EXACT_MAX_BUFS + 1];
        int n_cand = 0, c;
        if (placed & (1u << i))
            continue;
        cand[n_cand++] = 0;
        for (j = 0; j < s->n; j++)
            if ((placed & (1u << j)) && (s->conf[i] & (1u << j)))
                cand[n_cand++] = s->off[j] + s->size[j];
        s->work += (uint64_t)n_cand * (uint64_t)s->n;
        for (c = 0; c < n_cand; c++) {
            uint64_t o = cand[c];
            bool ok = o > level || (o == level && i > last);
            for (a = 0; ok && a < c; a++)
                if (cand[a] == o)
                    ok = false; /* duplicate */
            for (j = 0; ok && j < s->n; j++)
                if ((placed & (1u << j)) && (s->conf[i] & (1u << j)) &&
                    o < s->off[j] + s->size[j] && s->off[j] < o + s->size[i])
                    ok = false;
            if (ok && (o + s->size[i] > peak ? o + s->size[i] : peak) < s->best) {
                ch[n_ch].off = o;
                ch[n_ch].i = i;
                n_ch++;
            }
        }
        if (n_ch == first_child)
            return; /* buffer i can no longer be placed in canonical order (or only too high) */
    }
    /* lowest offset first, larger buffer first: good placements early, so pruning bites */
    for (a = 1; a < n_ch; a++) {
        child t = ch[a];
        int b = a;
        while (b > 0 && (ch[b - 1].off > t.off ||
                         (ch[b - 1].off == t.off && s->size[ch[b - 1].i] < s->size[t.i]))) {
            ch[b] = ch[b - 1];
            b--;
        }
        ch[b] = t;
    }
    for (a = 0; a < n_ch && !s->aborted; a++) {
        int c = ch[a].i;
        uint64_t end = ch[a].off + s->size[c];
        s->off[c] = ch[a].off;
        bnb_dfs(s, placed | (1u << c), depth + 1, ch[a].off, c, end > peak ? end : peak);
    }
}

/* Runs the exact search seeded with the placement in m->best (peak `upper`). Returns the peak
 * found (<= upper) and writes the placement to m->off; *optimal says whether it finished. */
static uint64_t run_exact(mp *m, uint64_t upper, uint64_t lb, bool *optimal)
{
    bnb *s = calloc(1, sizeof(bnb));
    int pts[TML_MEM_EXACT_MAX_BUFS];
    int i, j, p;
    uint64_t result;
    if (!s) {
        *optimal = false;
        memcpy(m->off, m->best, (size_t)m->n * sizeof(uint64_t));
        return upper;
    }
    for (i = 0; i < m->n; i++)
        if (m->size[i] > 0)
            s->idx[s->n++] = i;
    for (i = 0; i < s->n; i++) {
        int f = m->b[s->idx[i]].first;
        for (p = 0; p < s->n_points; p++)
            if (pts[p] == f)
                break;
        if (p == s->n_points)
            pts[s->n_points++] = f;
    }
    for (i = 0; i < s->n; i++) {
        const tml_mem_buf *bi = &m->b[s->idx[i]];
        s->size[i] = m->size[s->idx[i]];
        for (p = 0; p < s->n_points; p++)
            if (bi->first <= pts[p] && pts[p] <= bi->last)
                s->live[i] |= 1u << p;
        for (j = 0; j < s->n; j++)
            if (j != i && live_overlap(bi, &m->b[s->idx[j]]))
                s->conf[i] |= 1u << j;
    }
    s->best = upper;
    s->lb = lb;
    bnb_dfs(s, 0, 0, 0, -1, 0);
    memcpy(m->off, m->best, (size_t)m->n * sizeof(uint64_t));
    if (s->found)
        for (i = 0; i < s->n; i++)
            m->off[s->idx[i]] = s->best_off[i];
    *optimal = !s->aborted;
    result = s->best;
    free(s);
    return result;
}

/* ---- public ---- */

uint32_t tml_mem_lower_bound(const tml_mem_buf *bufs, int n, uint32_t align)
{
    uint64_t lb = 0;
    int i, j;
    if (!bufs || n <= 0 || align == 0 || (align & (align - 1)))
        return 0;
    for (i = 0; i < n; i++) {
        uint64_t s = 0;
        for (j = 0; j < n; j++)
            if (bufs[j].first <= bufs[i].first && bufs[i].first <= bufs[j].last)
                s += align_up(bufs[j].size, align);
        if (s > lb)
            lb = s;
    }
    return lb > UINT32_MAX ? UINT32_MAX : (uint32_t)lb;
}

bool tml_mem_check(const tml_mem_buf *bufs, int n, uint32_t arena_size, char *err, size_t errsz)
{
    int i, j;
    if (err && errsz)
        err[0] = 0;
    for (i = 0; i < n; i++) {
        uint64_t ei = (uint64_t)bufs[i].offset + bufs[i].size;
        if (bufs[i].size == 0)
            continue;
        if (ei > arena_size) {
            if (err)
                snprintf(err, errsz, "buffer %d ([%lu, %lu)) exceeds the arena of %lu bytes", i,
                         (unsigned long)bufs[i].offset, (unsigned long)ei,
                         (unsigned long)arena_size);
            return false;
        }
        for (j = i + 1; j < n; j++) {
            uint64_t ej = (uint64_t)bufs[j].offset + bufs[j].size;
            if (bufs[j].size == 0 || !live_overlap(&bufs[i], &bufs[j]))
                continue;
            if (bufs[i].offset < ej && bufs[j].offset < ei) {
                int t = bufs[i].first > bufs[j].first ? bufs[i].first : bufs[j].first;
                if (err)
                    snprintf(err, errsz,
                             "buffers %d ([%lu, %lu)) and %d ([%lu, %lu)) overlap while both "
                             "live at step %d",
                             i, (unsigned long)bufs[i].offset, (unsigned long)ei, j,
                             (unsigned long)bufs[j].offset, (unsigned long)ej, t);
                return false;
            }
        }
    }
    return true;
}

static void record(tml_mem_result *res, const char *name, uint64_t peak, bool optimal)
{
    if (res->n_attempts < (int)(sizeof(res->attempts) / sizeof(res->attempts[0]))) {
        tml_mem_attempt *a = &res->attempts[res->n_attempts++];
        a->name = name;
        a->peak = peak > UINT32_MAX ? UINT32_MAX : (uint32_t)peak;
        a->optimal = optimal;
    }
}

static void keep(mp *m, uint64_t peak, const char *name, uint64_t *best, const char **best_name,
                 bool save_order)
{
    if (peak >= *best)
        return;
    *best = peak;
    *best_name = name;
    memcpy(m->best, m->off, (size_t)m->n * sizeof(uint64_t));
    if (save_order)
        memcpy(m->best_order, m->order, (size_t)m->n * sizeof(int));
}

tml_status tml_mem_plan_with(tml_mem_buf *bufs, int n, uint32_t align, const char *strategy,
                             tml_mem_result *res)
{
    mp m;
    int only = -1, s, i, n_nonzero = 0;
    uint64_t lb, best = UINT64_MAX, peak;
    const char *best_name = NULL;
    bool exact_fits, proven = false;
    tml_status st = TML_OK;

    if (!res || n < 0 || (n > 0 && !bufs) || align == 0 || (align & (align - 1)))
        return TML_ERR_ARG;
    memset(res, 0, sizeof(*res));
    if (strategy) {
        for (s = 0; s < N_STRATEGIES; s++)
            if (strcmp(strategy, strategy_names[s]) == 0)
                only = s;
        if (only < 0)
            return TML_ERR_NOT_FOUND;
    }
    for (i = 0; i < n; i++)
        if (bufs[i].first > bufs[i].last)
            return TML_ERR_ARG;
    memset(&m, 0, sizeof(m));
    m.n = n;
    m.b = bufs;
    if (n == 0) {
        res->strategy = strategy ? strategy_names[only] : strategy_names[0];
        record(res, res->strategy, 0, true);
        return TML_OK;
    }
    m.size = calloc((size_t)n, sizeof(uint64_t));
    m.key1 = calloc((size_t)n, sizeof(uint64_t));
    m.key2 = calloc((size_t)n, sizeof(uint64_t));
    m.off = calloc((size_t)n, sizeof(uint64_t));
    m.best = calloc((size_t)n, sizeof(uint64_t));
    m.cur_off = calloc((size_t)n, sizeof(uint64_t));
    m.order = calloc((size_t)n, sizeof(int));
    m.tmp = calloc((size_t)n, sizeof(int));
    m.sorted = calloc((size_t)n, sizeof(int));
    m.best_order = calloc((size_t)n, sizeof(int));
    m.cur = calloc((size_t)n, sizeof(int));
    if (!m.size || !m.key1 || !m.key2 || !m.off || !m.best || !m.cur_off || !m.order || !m.tmp ||
        !m.sorted || !m.best_order || !m.cur) {
        st = TML_ERR_NOMEM;
        goto done;
    }
    for (i = 0; i < n; i++) {
        m.size[i] = align_up(bufs[i].size, align);
        if (m.size[i])
            n_nonzero++;
    }
    lb = lower_bound(&m);
    res->lower_bound = lb > UINT32_MAX ? UINT32_MAX : (uint32_t)lb;
    exact_fits = n_nonzero <= TML_MEM_EXACT_MAX_BUFS;

    if (only >= 0 && only < S_SEARCH) {
        /* one greedy strategy */
        peak = run_greedy(&m, only);
        if (peak == UINT64_MAX) {
            st = TML_ERR_NOMEM;
            goto done;
        }
        record(res, strategy_names[only], peak, peak == lb);
        keep(&m, peak, strategy_names[only], &best, &best_name, true);
    } else if (only >= S_SEARCH && (only == S_SEARCH || exact_fits)) {
        /* search alone: seeded (silently) with greedy-size */
        peak = run_greedy(&m, S_SIZE);
        if (peak == UINT64_MAX) {
            st = TML_ERR_NOMEM;
            goto done;
        }
        keep(&m, peak, strategy_names[only], &best, &best_name, true);
    } else {
        /* all greedy strategies (also "exact" on an instance too large for it) */
        for (s = 0; s < S_SEARCH; s++) {
            peak = run_greedy(&m, s);
            if (peak == UINT64_MAX) {
                st = TML_ERR_NOMEM;
                goto done;
            }
            record(res, strategy_names[s], peak, peak == lb);
            keep(&m, peak, strategy_names[s], &best, &best_name, true);
            if (best == lb)
                break;
        }
    }
    /* the searches: exact where it fits, local search otherwise */
    if ((only < 0 && best > lb && !exact_fits) || only == S_SEARCH) {
        peak = best > lb ? run_search(&m, best, lb) : best;
        if (peak == UINT64_MAX) {
            st = TML_ERR_NOMEM;
            goto done;
        }
        record(res, strategy_names[S_SEARCH], peak, peak == lb);
        if (only == S_SEARCH)
            best_name = strategy_names[S_SEARCH];
        if (peak < best || only == S_SEARCH)
            keep(&m, peak, strategy_names[S_SEARCH], &best, &best_name, false);
    }
    if (exact_fits && ((only < 0 && best > lb) || only == S_EXACT)) {
        bool optimal = true;
        peak = best > lb ? run_exact(&m, best, lb, &optimal) : best;
        record(res, strategy_names[S_EXACT], peak, optimal || peak == lb);
        if (only == S_EXACT)
            best_name = strategy_names[S_EXACT];
        if (peak < best)
            keep(&m, peak, strategy_names[S_EXACT], &best, &best_name, false);
        proven = optimal;
    }
    if (best > UINT32_MAX) {
        st = TML_ERR_FIT;
        goto done;
    }
    for (i = 0; i < n; i++)
        bufs[i].offset = (uint32_t)m.best[i];
    res->peak = (uint32_t)best;
    res->strategy = best_name;
    if (proven || best == lb)
        for (i = 0; i < res->n_attempts; i++)
            if (res->attempts[i].peak == best)
                res->attempts[i].optimal = true;
done:
    free(m.size);
    free(m.key1);
    free(m.key2);
    free(m.off);
    free(m.best);
    free(m.cur_off);
    free(m.order);
    free(m.tmp);
    free(m.sorted);
    free(m.best_order);
    free(m.cur);
    return st;
}

tml_status tml_mem_plan(tml_mem_buf *bufs, int n, uint32_t align, tml_mem_result *res)
{
    return tml_mem_plan_with(bufs, n, align, NULL, res);
}
