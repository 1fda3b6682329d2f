/*
 * ev_yaml.c - libyaml event stream -> arena tree; see ev_yaml.h.
 *
 * A frame stack (heap, bounded by EV_YAML_MAX_DEPTH) collects the children
 * of the open collections; when a collection ends its children are copied
 * into the arena.  Anchors are remembered in a small table so that aliases
 * point at the anchored node.
 */
#include "ev_yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "ev_arena.h"

struct ev_yaml {
    ev_arena arena;
    ev_ynode **docs;
    size_t ndocs, capdocs;
};

typedef struct s_frame {
    ev_ynode *node;
    ev_ynode **items;
    ev_ynode **keys;
    size_t n, cap, capk;
    ev_ynode *pending_key;  /* map: key waiting for its value */
} s_frame;

typedef struct s_anchor {
    char *name;
    ev_ynode *node;
} s_anchor;

typedef struct s_builder {
    ev_yaml *y;
    s_frame stack[EV_YAML_MAX_DEPTH + 1];
    int depth;
    ev_ynode *root;
    s_anchor *anchors;
    size_t nanchors, capanchors;
} s_builder;

static void *s_grow(void *p, size_t *cap, size_t need, size_t elsz)
{
    if (need <= *cap)
        return p;
    size_t nc = *cap ? *cap * 2 : 8;
    while (nc < need)
        nc *= 2;
    void *q = realloc(p, nc * elsz);
    if (!q)
        abort();
    *cap = nc;
    return q;
}

static ev_ynode *s_node_new(s_builder *b, ev_ynode_kind kind, const yaml_mark_t *m)
{
    ev_ynode *n = ev_arena_alloc(&b->y->arena, sizeof(*n));
    memset(n, 0, sizeof(*n));
    n->kind = kind;
    n->str = "";
    n->line = (int)m->line + 1;
    n->col = (int)m->column + 1;
    return n;
}

static void s_anchor_add(s_builder *b, const yaml_char_t *anchor, ev_ynode *n)
{
    if (!anchor)
        return;
    b->anchors = s_grow(b->anchors, &b->capanchors, b->nanchors + 1, sizeof(s_anchor));
    b->anchors[b->nanchors].name = strdup((const char *)anchor);
    b->anchors[b->nanchors].node = n;
    b->nanchors++;
}

static ev_ynode *s_anchor_find(s_builder *b, const yaml_char_t *anchor)
{
    for (size_t i = b->nanchors; i > 0; i--)
        if (strcmp(b->anchors[i - 1].name, (const char *)anchor) == 0)
            return b->anchors[i - 1].node;
    return NULL;
}

/* Attach a finished node to the innermost open collection (or as root). */
static int s_attach(s_builder *b, ev_ynode *n, char *err, size_t errlen)
{
    if (b->depth == 0) {
        b->root = n;
        return 0;
    }
    s_frame *f = &b->stack[b->depth - 1];
    if (f->node->kind == EV_YMAP) {
        if (!f->pending_key) {
            if (n->kind != EV_YSCALAR && n->kind != EV_YNULL) {
                snprintf(err, errlen, "error at line %d, column %d: "
                         "mapping keys must be scalars", n->line, n->col);
                return -1;
            }
            f->pending_key = n;
            return 0;
        }
        f->keys = s_grow(f->keys, &f->capk, f->n + 1, sizeof(ev_ynode *));
        f->items = s_grow(f->items, &f->cap, f->n + 1, sizeof(ev_ynode *));
        f->keys[f->n] = f->pending_key;
        f->items[f->n] = n;
        f->n++;
        f->pending_key = NULL;
        return 0;
    }
    f->items = s_grow(f->items, &f->cap, f->n + 1, sizeof(ev_ynode *));
    f->items[f->n++] = n;
    return 0;
}

static void s_close(s_builder *b)
{
    s_frame *f = &b->stack[b->depth - 1];
    ev_ynode *n = f->node;
    n->n = f->n;
    if (f->n) {
        n->items = ev_arena_alloc(&b->y->arena, f->n * sizeof(ev_ynode *));
        memcpy(n->items, f->items, f->n * sizeof(ev_ynode *));
        if (n->kind == EV_YMAP) {
            n->keynodes = ev_arena_alloc(&b->y->arena, f->n * sizeof(ev_ynode *));
            memcpy(n->keynodes, f->keys, f->n * sizeof(ev_ynode *));
            n->keys = ev_arena_alloc(&b->y->arena, f->n * sizeof(char *));
            for (size_t i = 0; i < f->n; i++)
                n->keys[i] = f->keys[i]->str;
        }
    }
    free(f->items);
    free(f->keys);
    memset(f, 0, sizeof(*f));
    b->depth--;
}

static bool s_is_null_plain(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 && (!strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL")));
}

static void s_add_doc(ev_yaml *y, ev_ynode *root)
{
    y->docs = s_grow(y->docs, &y->capdocs, y->ndocs + 1, sizeof(ev_ynode *));
    y->docs[y->ndocs++] = root;
}

static int s_open(s_builder *b, ev_ynode *n, const yaml_char_t *anchor, char *err, size_t errlen)
{
    if (b->depth >= EV_YAML_MAX_DEPTH) {
        snprintf(err, errlen, "error at line %d, column %d: "
                 "nesting deeper than %d levels", n->line, n->col, EV_YAML_MAX_DEPTH);
        return -1;
    }
    s_anchor_add(b, anchor, n);
    s_frame *f = &b->stack[b->depth++];
    memset(f, 0, sizeof(*f));
    f->node = n;
    return 0;
}

static int s_event(s_builder *b, yaml_event_t *ev, char *err, size_t errlen, int *eline, int *ecol)
{
    ev_ynode *n;
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        b->root = NULL;
        return 0;
    case YAML_DOCUMENT_END_EVENT:
        if (!b->root)
            b->root = s_node_new(b, EV_YNULL, &ev->start_mark);
        s_add_doc(b->y, b->root);
        b->root = NULL;
        return 0;
    case YAML_SCALAR_EVENT: {
        const char *s = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n = s_node_new(b, plain && s_is_null_plain(s, len) ? EV_YNULL : EV_YSCALAR,
                       &ev->start_mark);
        n->plain = plain;
        n->str = ev_arena_strndup(&b->y->arena, s, len);
        n->len = len;
        s_anchor_add(b, ev->data.scalar.anchor, n);
        return s_attach(b, n, err, errlen);
    }
    case YAML_ALIAS_EVENT:
        n = s_anchor_find(b, ev->data.alias.anchor);
        if (!n) {
            snprintf(err, errlen, "error at line %d, column %d: unknown anchor '%s'",
                     (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                     (const char *)ev->data.alias.anchor);
            goto fail_mark;
        }
        return s_attach(b, n, err, errlen);
    case YAML_SEQUENCE_START_EVENT:
        n = s_node_new(b, EV_YSEQ, &ev->start_mark);
        if (s_open(b, n, ev->data.sequence_start.anchor, err, errlen) < 0)
            goto fail_mark;
        return 0;
    case YAML_MAPPING_START_EVENT:
        n = s_node_new(b, EV_YMAP, &ev->start_mark);
        if (s_open(b, n, ev->data.mapping_start.anchor, err, errlen) < 0)
            goto fail_mark;
        return 0;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        n = b->stack[b->depth - 1].node;
        s_close(b);
        return s_attach(b, n, err, errlen);
    default:
        return 0;
    }
fail_mark:
    if (eline)
        *eline = (int)ev->start_mark.line + 1;
    if (ecol)
        *ecol = (int)ev->start_mark.column + 1;
    return -1;
}

/* libyaml's problem texts, worded like yaml-cpp's (which Falco reports). */
static const char *s_problem(const char *p)
{
    static const struct { const char *libyaml, *yamlcpp; } map[] = {
        {"mapping values are not allowed in this context", "illegal map value"},
        {"did not find expected key", "end of map not found"},
        {"did not find expected ',' or ']'", "end of sequence flow not found"},
        {"did not find expected ',' or '}'", "end of map flow not found"},
        {"found character that cannot start any token", "unknown token"},
        {"found undefined tag handle", "undefined tag handle"},
        {"found unexpected end of stream", "unexpected end of stream"},
        {"did not find expected '-' indicator", "end of sequence not found"},
        {"found unknown escape character", "unknown escape character"},
    };
    if (!p)
        return "syntax error";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(p, map[i].libyaml) == 0)
            return map[i].yamlcpp;
    return p;
}

ev_yaml *ev_yaml_load(const char *buf, size_t len, char *err, size_t errlen,
                      int *eline, int *ecol)
{
    ev_yaml *y = calloc(1, sizeof(*y));
    s_builder *b = calloc(1, sizeof(*b));
    yaml_parser_t p;
    int rc = 0;
    if (!y || !b)
        abort();
    ev_arena_init(&y->arena);
    b->y = y;
    if (eline)
        *eline = 0;
    if (ecol)
        *ecol = 0;
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            const yaml_mark_t *m = p.problem_mark.line || p.problem_mark.column
                                       ? &p.problem_mark : &p.context_mark;
            snprintf(err, errlen, "error at line %d, column %d: %s",
                     (int)m->line + 1, (int)m->column + 1, s_problem(p.problem));
            if (eline)
                *eline = (int)m->line + 1;
            if (ecol)
                *ecol = (int)m->column + 1;
            rc = -1;
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        rc = s_event(b, &ev, err, errlen, eline, ecol);
        yaml_event_delete(&ev);
        if (rc < 0 || end)
            break;
    }
    yaml_parser_delete(&p);
    while (b->depth > 0) {
        free(b->stack[b->depth - 1].items);
        free(b->stack[b->depth - 1].keys);
        b->depth--;
    }
    for (size_t i = 0; i < b->nanchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
    free(b);
    if (rc < 0) {
        ev_yaml_free(y);
        return NULL;
    }
    return y;
}

void ev_yaml_free(ev_yaml *y)
{
    if (!y)
        return;
    ev_arena_fini(&y->arena);
    free(y->docs);
    free(y);
}

size_t ev_yaml_ndocs(const ev_yaml *y)
{
    return y->ndocs;
}

const ev_ynode *ev_yaml_doc(const ev_yaml *y, size_t i)
{
    return i < y->ndocs ? y->docs[i] : NULL;
}

const ev_ynode *ev_ynode_get(const ev_ynode *map, const char *key)
{
    if (!map || map->kind != EV_YMAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->keys[i], key) == 0)
            return map->items[i];
    return NULL;
}

int ev_ynode_bool(const ev_ynode *n, bool *out)
{
    static const char *const t[] = {"true", "True", "TRUE", "yes", "Yes", "YES",
                                    "on", "On", "ON", "y", "Y", NULL};
    static const char *const f[] = {"false", "False", "FALSE", "no", "No", "NO",
                                    "off", "Off", "OFF", "n", "N", NULL};
    if (!n || n->kind != EV_YSCALAR)
        return -1;
    for (int i = 0; t[i]; i++)
        if (strcmp(n->str, t[i]) == 0) {
            *out = true;
            return 0;
        }
    for (int i = 0; f[i]; i++)
        if (strcmp(n->str, f[i]) == 0) {
            *out = false;
            return 0;
        }
    return -1;
}
