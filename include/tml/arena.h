/*
 * arena.h - a host-side bump allocator that owns everything a graph, plan or import creates.
 *
 * Memory comes in chunks of at least 64 KiB; allocations are 16-byte aligned and zeroed; the
 * only way to give memory back is tml_arena_free, which releases every chunk at once. This is
 * what lets passes rewrite a graph without tracking ownership.
 */
#ifndef TML_ARENA_H
#define TML_ARENA_H

#include <stddef.h>

typedef struct tml_arena tml_arena;

tml_arena *tml_arena_new(void);
void tml_arena_free(tml_arena *a);
/* Zeroed, 16-byte aligned; NULL if out of memory or size overflows. */
void *tml_arena_alloc(tml_arena *a, size_t size);
char *tml_arena_strdup(tml_arena *a, const char *s);
/* Bytes handed out so far (for reports and tests). */
size_t tml_arena_used(const tml_arena *a);

#endif /* TML_ARENA_H */
