/*
 * aws_seen.c - bounded string set: chained hash table plus a FIFO list for
 * eviction (see aws_seen.h).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 */
#include "aws_seen.h"

#include "aws_buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_node {
    char *key;
    uint64_t hash;
    struct s_node *chain;          /* bucket chain */
    struct s_node *older, *newer;  /* FIFO */
} s_node;

struct aws_seen {
    s_node **tab;
    size_t nbuckets;
    size_t n, max;
    s_node *oldest, *newest;
};

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

aws_seen *aws_seen_new(size_t max)
{
    aws_seen *s = aws_xcalloc(1, sizeof *s);
    s->max = max ? max : 1;
    s->nbuckets = 64;
    while (s->nbuckets < s->max && s->nbuckets < (1u << 24))
        s->nbuckets *= 2;
    s->tab = aws_xcalloc(s->nbuckets, sizeof *s->tab);
    return s;
}

void aws_seen_free(aws_seen *s)
{
    if (!s)
        return;
    s_node *n = s->oldest;
    while (n) {
        s_node *next = n->newer;
        free(n->key);
        free(n);
        n = next;
    }
    free(s->tab);
    free(s);
}

static s_node **s_find(const aws_seen *s, const char *key, uint64_t h)
{
    s_node **pp = &s->tab[h & (s->nbuckets - 1)];
    while (*pp && ((*pp)->hash != h || strcmp((*pp)->key, key)))
        pp = &(*pp)->chain;
    return pp;
}

bool aws_seen_has(const aws_seen *s, const char *key)
{
    return *s_find(s, key, s_hash(key)) != NULL;
}

static void s_unlink(aws_seen *s, s_node **pp)
{
    s_node *n = *pp;
    *pp = n->chain;
    if (n->older)
        n->older->newer = n->newer;
    else
        s->oldest = n->newer;
    if (n->newer)
        n->newer->older = n->older;
    else
        s->newest = n->older;
    free(n->key);
    free(n);
    s->n--;
}

void aws_seen_remove(aws_seen *s, const char *key)
{
    s_node **pp = s_find(s, key, s_hash(key));
    if (*pp)
        s_unlink(s, pp);
}

bool aws_seen_add(aws_seen *s, const char *key)
{
    uint64_t h = s_hash(key);
    if (*s_find(s, key, h))
        return false;
    if (s->n >= s->max) {
        s_node *old = s->oldest;
        s_unlink(s, s_find(s, old->key, old->hash));
    }
    s_node *n = aws_xcalloc(1, sizeof *n);
    n->key = aws_strdup(key);
    n->hash = h;
    s_node **slot = &s->tab[h & (s->nbuckets - 1)];
    n->chain = *slot;
    *slot = n;
    n->older = s->newest;
    if (s->newest)
        s->newest->newer = n;
    else
        s->oldest = n;
    s->newest = n;
    s->n++;
    return true;
}

size_t aws_seen_count(const aws_seen *s)
{
    return s->n;
}
