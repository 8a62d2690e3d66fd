/*
 * arena.c - chunked bump allocator (see include/tml/arena.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tml/arena.h"

#define CHUNK_MIN (64u * 1024u)
#define ALIGN 16u

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    /* data follows, aligned */
} chunk;

struct tml_arena {
    chunk *head;
    size_t total;
};

static size_t header_size(void) { return (sizeof(chunk) + ALIGN - 1) & ~(size_t)(ALIGN - 1); }

tml_arena *tml_arena_new(void) { return calloc(1, sizeof(tml_arena)); }

void tml_arena_free(tml_arena *a)
{
    chunk *c, *n;
    if (!a)
        return;
    for (c = a->head; c; c = n) {
        n = c->next;
        free(c);
    }
    free(a);
}

void *tml_arena_alloc(tml_arena *a, size_t size)
{
    chunk *c = a->head;
    size_t need;
    unsigned char *p;
    if (size > SIZE_MAX / 2)
        return NULL;
    need = (size + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need == 0)
        need = ALIGN;
    if (!c || c->size - c->used < need) {
        size_t csize = need > CHUNK_MIN ? need : CHUNK_MIN;
        chunk *nc = malloc(header_size() + csize);
        if (!nc)
            return NULL;
        nc->size = csize;
        nc->used = 0;
        /* keep a partly used head in front if it has more room left than the new chunk */
        if (c && need > CHUNK_MIN) {
            nc->next = c->next;
            c->next = nc;
            c = nc;
        } else {
            nc->next = c;
            a->head = nc;
            c = nc;
        }
    }
    p = (unsigned char *)c + header_size() + c->used;
    c->used += need;
    a->total += need;
    memset(p, 0, size);
    return p;
}

char *tml_arena_strdup(tml_arena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = tml_arena_alloc(a, n);
    if (d)
        memcpy(d, s, n);
    return d;
}

size_t tml_arena_used(const tml_arena *a) { return a->total; }
