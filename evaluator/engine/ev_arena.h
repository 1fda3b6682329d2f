/*
 * ev_arena.h - bump allocator for per-event and per-batch scratch memory.
 *
 * An arena hands out memory from a list of blocks and frees it all at once
 * with ev_arena_reset().  After a few events it has grown to its working size
 * and allocates nothing from the heap any more: reset keeps the largest
 * block and drops the rest.
 */
#ifndef EV_ARENA_H
#define EV_ARENA_H

#include <stddef.h>

typedef struct ev_arena_block ev_arena_block;

typedef struct ev_arena {
    ev_arena_block *head;   /* current block; older blocks follow */
    size_t used;            /* bytes used in head */
} ev_arena;

/* Initialise an empty arena. Cannot fail (allocates lazily). */
void ev_arena_init(ev_arena *a);
/* Memory for n bytes, 16-byte aligned, valid until reset/fini.
 * Aborts on out of memory (the daemons are supervised). Never NULL. */
void *ev_arena_alloc(ev_arena *a, size_t n);
/* Copy n bytes and add a NUL; the result lives in the arena. */
char *ev_arena_strndup(ev_arena *a, const char *s, size_t n);
/* Forget every allocation; keeps the largest block for reuse. */
void ev_arena_reset(ev_arena *a);
/* Free every block. The arena may be initialised again. */
void ev_arena_fini(ev_arena *a);

#endif /* EV_ARENA_H */
