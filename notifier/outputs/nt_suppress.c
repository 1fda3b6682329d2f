/*
 * nt_suppress.c - repeat suppression by (rule, principal) (nt_suppress.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_suppress.h"

#include "tg_hash.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct s_ent {
    uint64_t h;      /* 0 = empty */
    uint64_t t;      /* window start, ms */
} s_ent;

struct nt_suppress {
    uint64_t window;
    size_t cap;      /* power of two */
    size_t used;
    s_ent *tab;
};

nt_suppress *nt_suppress_new(uint64_t window_ms, size_t max_keys)
{
    nt_suppress *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->window = window_ms;
    s->cap = 1024;
    while (s->cap < max_keys * 2)
        s->cap <<= 1;
    s->tab = calloc(s->cap, sizeof(*s->tab));
    if (!s->tab) {
        free(s);
        return NULL;
    }
    return s;
}

void nt_suppress_free(nt_suppress *s)
{
    if (!s)
        return;
    free(s->tab);
    free(s);
}

void nt_suppress_principal(const nt_alert *a, char *buf, size_t len)
{
    buf[0] = 0;
    if (!a->record.p)
        return;
    json_t *r = json_loadb(a->record.p, a->record.n, 0, NULL);
    if (!r)
        return;
    json_t *ui = json_object_get(r, "userIdentity");
    const char *v = json_string_value(json_object_get(ui, "arn"));
    if (!v)
        v = json_string_value(json_object_get(ui, "principalId"));
    if (!v)
        v = json_string_value(json_object_get(r, "sourceIPAddress"));
    if (v)
        snprintf(buf, len, "%s", v);
    json_decref(r);
}

int nt_suppress_check(nt_suppress *s, const nt_alert *a, uint64_t now_ms)
{
    char principal[512];
    nt_suppress_principal(a, principal, sizeof(principal));
    uint64_t h = tg_hash64(a->rule.p ? a->rule.p : "", a->rule.n, 0x5eed);
    h = tg_hash64_str(principal, h);
    if (h == 0)
        h = 1;
    if (s->used * 2 >= s->cap) {
        memset(s->tab, 0, s->cap * sizeof(*s->tab));
        s->used = 0;
    }
    size_t mask = s->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s_ent *e = &s->tab[i];
        if (e->h == 0) {
            e->h = h;
            e->t = now_ms;
            s->used++;
            return 0;
        }
        if (e->h == h) {
            if (now_ms - e->t < s->window)
                return 1;
            e->t = now_ms;
            return 0;
        }
    }
}
