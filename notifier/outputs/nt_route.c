/*
 * nt_route.c - per-output routing filters (see nt_route.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_route.h"

#include <string.h>

int nt_route_match(const char *p, const char *s, size_t n)
{
    size_t pl = strlen(p);
    if (pl && p[pl - 1] == '*')
        return n >= pl - 1 && memcmp(s, p, pl - 1) == 0;
    return n == pl && memcmp(s, p, n) == 0;
}

static int s_any(const nt_strlist *l, nt_str s)
{
    if (!s.p)
        return 0;
    for (size_t i = 0; i < l->n; i++)
        if (nt_route_match(l->v[i], s.p, s.n))
            return 1;
    return 0;
}

static int s_any_tag(const nt_strlist *l, const nt_alert *a)
{
    for (size_t i = 0; i < a->ntags; i++)
        if (s_any(l, a->tags[i]))
            return 1;
    return 0;
}

int nt_route_pass(const nt_route *r, const nt_alert *a)
{
    if (a->priority > r->min_priority)
        return 0;
    if (r->rules.n && !s_any(&r->rules, a->rule))
        return 0;
    if (s_any(&r->rules_exclude, a->rule))
        return 0;
    if (r->tags.n && !s_any_tag(&r->tags, a))
        return 0;
    if (s_any_tag(&r->tags_exclude, a))
        return 0;
    return 1;
}
