/*
 * ev_arena.c - bump allocator; see ev_arena.h.
 */
#include "ev_arena.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EV_ARENA_MIN_BLOCK 4096u
#define EV_ARENA_ALIGN 16u

struct ev_arena_block {
    ev_arena_block *next;
    size_t size;                /* usable bytes in data[] */
    _Alignas(16) unsigned char data[];
};

static ev_arena_block *s_block_new(size_t size)
{
    ev_arena_block *b = malloc(sizeof(*b) + size);
    if (!b) {
        fprintf(stderr, "ev_arena: out of memory (%zu bytes)\n", size);
        abort();
    }
    b->next = NULL;
    b->size = size;
    return b;
}

void ev_arena_init(ev_arena *a)
{
    a->head = NULL;
    a->used = 0;
}

void *ev_arena_alloc(ev_arena *a, size_t n)
{
    size_t need = (n + EV_ARENA_ALIGN - 1) & ~(size_t)(EV_ARENA_ALIGN - 1);
    if (need == 0)
        need = EV_ARENA_ALIGN;
    if (!a->head || a->head->size - a->used < need) {
        size_t size = a->head ? a->head->size * 2 : EV_ARENA_MIN_BLOCK;
        while (size < need)
            size *= 2;
        ev_arena_block *b = s_block_new(size);
        b->next = a->head;
        a->head = b;
        a->used = 0;
    }
    void *p = a->head->data + a->used;
    a->used += need;
    return p;
}

char *ev_arena_strndup(ev_arena *a, const char *s, size_t n)
{
    char *p = ev_arena_alloc(a, n + 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ev_arena_reset(ev_arena *a)
{
    /* The head is always the largest block: sizes only grow. */
    if (a->head) {
        ev_arena_block *b = a->head->next;
        while (b) {
            ev_arena_block *next = b->next;
            free(b);
            b = next;
        }
        a->head->next = NULL;
    }
    a->used = 0;
}

void ev_arena_fini(ev_arena *a)
{
    ev_arena_block *b = a->head;
    while (b) {
        ev_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
    a->used = 0;
}
