/*
 * fe_doneset.c - finished jobs with a retention; see fe_doneset.h.
 * Owner: pipeline (fetcher/).
 */
#include "fe_doneset.h"

#include <errno.h>
#include <stdlib.h>

typedef struct s_slot {
    uint64_t key;
    uint64_t when;
    uint8_t status;         /* FE_DONE_NONE = empty slot */
} s_slot;

struct fe_doneset {
    s_slot *slots;
    size_t cap;             /* a power of two, or 0 */
    size_t n;
};

fe_doneset *fe_doneset_new(void)
{
    return calloc(1, sizeof(fe_doneset));
}

void fe_doneset_free(fe_doneset *s)
{
    if (!s)
        return;
    free(s->slots);
    free(s);
}

/* The slot holding key, or the empty slot where it would go. */
static s_slot *s_find(s_slot *slots, size_t cap, uint64_t key)
{
    size_t i = (size_t)(key ^ (key >> 29)) & (cap - 1);
    while (slots[i].status != FE_DONE_NONE && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    return &slots[i];
}

/* Move every entry done at or after `keep_from` into a table of cap slots. */
static int s_rebuild(fe_doneset *s, size_t cap, uint64_t keep_from)
{
    s_slot *slots = calloc(cap, sizeof(*slots));
    if (!slots)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < s->cap; i++) {
        const s_slot *o = &s->slots[i];
        if (o->status == FE_DONE_NONE || o->when < keep_from)
            continue;
        *s_find(slots, cap, o->key) = *o;
        n++;
    }
    free(s->slots);
    s->slots = slots;
    s->cap = cap;
    s->n = n;
    return 0;
}

int fe_doneset_put(fe_doneset *s, uint64_t key, uint8_t status, uint64_t when)
{
    if ((s->n + 1) * 2 > s->cap) {
        int rc = s_rebuild(s, s->cap ? s->cap * 2 : 1024, 0);
        if (rc != 0)
            return rc;
    }
    s_slot *sl = s_find(s->slots, s->cap, key);
    if (sl->status == FE_DONE_NONE)
        s->n++;
    *sl = (s_slot){ key, when, status ? status : FE_DONE_OK };
    return 0;
}

uint8_t fe_doneset_get(const fe_doneset *s, uint64_t key)
{
    if (!s->cap)
        return FE_DONE_NONE;
    return s_find(s->slots, s->cap, key)->status;
}

size_t fe_doneset_size(const fe_doneset *s)
{
    return s->n;
}

long fe_doneset_prune(fe_doneset *s, uint64_t before)
{
    size_t old = s->n, live = 0;
    for (size_t i = 0; i < s->cap; i++)
        live += s->slots[i].status != FE_DONE_NONE && s->slots[i].when >= before;
    if (live == old)
        return 0;
    size_t cap = 1024;
    while (cap < live * 2 + 2)
        cap *= 2;
    if (s_rebuild(s, cap, before) != 0)
        return -ENOMEM;
    return (long)(old - s->n);
}

int fe_doneset_each(const fe_doneset *s, fe_doneset_cb cb, void *ud)
{
    for (size_t i = 0; i < s->cap; i++) {
        const s_slot *sl = &s->slots[i];
        if (sl->status == FE_DONE_NONE)
            continue;
        int rc = cb(sl->key, sl->status, sl->when, ud);
        if (rc != 0)
            return rc;
    }
    return 0;
}
