/*
 * tg_config.c - YAML document tree and schema tables (see tg_config.h).
 *
 * Owner: common.
 *
 * DESIGN
 * The document is built from libyaml's event stream by a recursive
 * descent (depth-limited) into nodes allocated from the document; every
 * allocation is recorded in the document and freed with it.  Aliases are
 * refused (a config file has no use for them and they enable "billion
 * laughs" expansion), as are duplicate keys, non-scalar keys and more than
 * one document.
 *
 * Applying a table is four passes over the same setters: defaults, the
 * mapping (recursing into nested mappings for dotted keys), the
 * environment, and the overrides; that part and the value syntax live in
 * tg_config_apply.c.
 */
#include "tg_config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#define TG_CONF_MAX_DEPTH 64

struct tg_conf_doc {
    char *file;
    const tg_conf_node *root;
    void **allocs;
    size_t nallocs, capallocs;
};

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void s_fmt(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void *s_alloc(tg_conf_doc *d, size_t size)
{
    if (d->nallocs == d->capallocs) {
        size_t cap = d->capallocs ? d->capallocs * 2 : 64;
        void **a = realloc(d->allocs, cap * sizeof *a);
        if (!a)
            return NULL;
        d->allocs = a;
        d->capallocs = cap;
    }
    void *p = calloc(1, size ? size : 1);
    if (p)
        d->allocs[d->nallocs++] = p;
    return p;
}

void tg_conf_doc_free(tg_conf_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->nallocs; i++)
        free(doc->allocs[i]);
    free(doc->allocs);
    free(doc->file);
    free(doc);
}

const tg_conf_node *tg_conf_doc_root(const tg_conf_doc *doc)
{
    return doc->root;
}

const char *tg_conf_kind_name(tg_conf_kind k)
{
    switch (k) {
    case TG_CONF_SCALAR: return "scalar";
    case TG_CONF_MAP: return "mapping";
    case TG_CONF_SEQ: return "sequence";
    }
    return "?";
}

bool tg_conf_node_is_null(const tg_conf_node *n)
{
    if (!n || n->kind != TG_CONF_SCALAR || !n->plain)
        return false;
    return n->len == 0 || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
           !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

const tg_conf_node *tg_conf_map_get(const tg_conf_node *map, const char *key)
{
    while (map && map->kind == TG_CONF_MAP) {
        const char *dot = strchr(key, '.');
        size_t klen = dot ? (size_t)(dot - key) : strlen(key);
        const tg_conf_node *v = NULL;
        for (size_t i = 0; i < map->npairs; i++) {
            const tg_conf_node *k = map->pairs[i].key;
            if (k->len == klen && !memcmp(k->str, key, klen)) {
                v = map->pairs[i].value;
                break;
            }
        }
        if (!dot || !v)
            return v;
        map = v;
        key = dot + 1;
    }
    return NULL;
}

/* ---- YAML → tree ------------------------------------------------------ */

typedef struct s_pstate {
    tg_conf_doc *doc;
    yaml_parser_t parser;
    char *err;
    size_t errlen;
} s_pstate;

static int s_next(s_pstate *ps, yaml_event_t *ev)
{
    if (yaml_parser_parse(&ps->parser, ev))
        return 0;
    yaml_parser_t *p = &ps->parser;
    s_fmt(ps->err, ps->errlen, "%s:%zu:%zu: %s%s%s", ps->doc->file,
          p->problem_mark.line + 1, p->problem_mark.column + 1,
          p->problem ? p->problem : "YAML syntax error",
          p->context ? " " : "", p->context ? p->context : "");
    return -1;
}

static tg_conf_node *s_new_node(s_pstate *ps, tg_conf_kind kind,
                                const yaml_event_t *ev)
{
    tg_conf_node *n = s_alloc(ps->doc, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->file = ps->doc->file;
    n->line = (int)ev->start_mark.line + 1;
    n->col = (int)ev->start_mark.column + 1;
    return n;
}

static const tg_conf_node *s_parse_node(s_pstate *ps, yaml_event_t *ev,
                                        int depth);

static int s_oom(s_pstate *ps)
{
    s_fmt(ps->err, ps->errlen, "%s: out of memory", ps->doc->file);
    return -1;
}

/* Parse children until the matching end event; ev is the start event. */
static int s_parse_children(s_pstate *ps, tg_conf_node *n, int depth)
{
    const tg_conf_node **kids = NULL;
    size_t nk = 0, cap = 0;
    int rc = -1;
    yaml_event_type_t end = n->kind == TG_CONF_MAP ? YAML_MAPPING_END_EVENT
                                                  : YAML_SEQUENCE_END_EVENT;
    for (;;) {
        yaml_event_t ev;
        if (s_next(ps, &ev) != 0)
            goto out;
        if (ev.type == end) {
            yaml_event_delete(&ev);
            break;
        }
        const tg_conf_node *k = s_parse_node(ps, &ev, depth + 1);
        yaml_event_delete(&ev);
        if (!k)
            goto out;
        if (nk == cap) {
            cap = cap ? cap * 2 : 8;
            const tg_conf_node **a = realloc(kids, cap * sizeof *a);
            if (!a) {
                s_oom(ps);
                goto out;
            }
            kids = a;
        }
        kids[nk++] = k;
    }
    if (n->kind == TG_CONF_SEQ) {
        const tg_conf_node **items = s_alloc(ps->doc, nk * sizeof *items);
        if (!items) {
            s_oom(ps);
            goto out;
        }
        if (nk)     /* kids is NULL for an empty sequence */
            memcpy(items, kids, nk * sizeof *items);
        n->items = (const tg_conf_node *const *)items;
        n->nitems = nk;
        rc = 0;
        goto out;
    }
    tg_conf_pair *pairs = s_alloc(ps->doc, nk / 2 * sizeof *pairs);
    if (!pairs) {
        s_oom(ps);
        goto out;
    }
    for (size_t i = 0; i + 1 < nk; i += 2) {
        const tg_conf_node *k = kids[i];
        if (k->kind != TG_CONF_SCALAR) {
            s_fmt(ps->err, ps->errlen, "%s:%d:%d: mapping keys must be "
                  "scalars", k->file, k->line, k->col);
            goto out;
        }
        for (size_t j = 0; j < i / 2; j++) {
            if (!strcmp(pairs[j].key->str, k->str)) {
                s_fmt(ps->err, ps->errlen, "%s:%d:%d: duplicate key '%s' "
                      "(first at line %d)", k->file, k->line, k->col,
                      k->str, pairs[j].key->line);
                goto out;
            }
        }
        pairs[i / 2].key = k;
        pairs[i / 2].value = kids[i + 1];
    }
    n->pairs = pairs;
    n->npairs = nk / 2;
    rc = 0;
out:
    free(kids);
    return rc;
}

static const tg_conf_node *s_parse_node(s_pstate *ps, yaml_event_t *ev,
                                        int depth)
{
    if (depth > TG_CONF_MAX_DEPTH) {
        s_fmt(ps->err, ps->errlen, "%s:%zu:%zu: nesting deeper than %d",
              ps->doc->file, ev->start_mark.line + 1,
              ev->start_mark.column + 1, TG_CONF_MAX_DEPTH);
        return NULL;
    }
    tg_conf_node *n;
    switch (ev->type) {
    case YAML_SCALAR_EVENT: {
        n = s_new_node(ps, TG_CONF_SCALAR, ev);
        char *s = n ? s_alloc(ps->doc, ev->data.scalar.length + 1) : NULL;
        if (!s) {
            s_oom(ps);
            return NULL;
        }
        memcpy(s, ev->data.scalar.value, ev->data.scalar.length);
        n->str = s;
        n->len = ev->data.scalar.length;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        return n;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        n = s_new_node(ps, ev->type == YAML_MAPPING_START_EVENT
                               ? TG_CONF_MAP : TG_CONF_SEQ, ev);
        if (!n) {
            s_oom(ps);
            return NULL;
        }
        return s_parse_children(ps, n, depth) == 0 ? n : NULL;
    case YAML_ALIAS_EVENT:
        s_fmt(ps->err, ps->errlen, "%s:%zu:%zu: aliases are not supported",
              ps->doc->file, ev->start_mark.line + 1,
              ev->start_mark.column + 1);
        return NULL;
    default:
        s_fmt(ps->err, ps->errlen, "%s:%zu:%zu: unexpected YAML event",
              ps->doc->file, ev->start_mark.line + 1,
              ev->start_mark.column + 1);
        return NULL;
    }
}

static const tg_conf_node *s_empty_map(tg_conf_doc *d, int line, int col)
{
    tg_conf_node *n = s_alloc(d, sizeof *n);
    if (n) {
        n->kind = TG_CONF_MAP;
        n->file = d->file;
        n->line = line;
        n->col = col;
    }
    return n;
}

/* Stream: STREAM_START [DOCUMENT_START node DOCUMENT_END] STREAM_END */
static int s_parse_stream(s_pstate *ps)
{
    yaml_event_t ev;
    int docs = 0;
    for (;;) {
        if (s_next(ps, &ev) != 0)
            return -1;
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT && docs++ > 0) {
            s_fmt(ps->err, ps->errlen, "%s:%zu:%zu: only one YAML document "
                  "is allowed", ps->doc->file, ev.start_mark.line + 1,
                  ev.start_mark.column + 1);
            yaml_event_delete(&ev);
            return -1;
        }
        if (t == YAML_SCALAR_EVENT || t == YAML_SEQUENCE_START_EVENT ||
            t == YAML_MAPPING_START_EVENT || t == YAML_ALIAS_EVENT) {
            const tg_conf_node *n = s_parse_node(ps, &ev, 0);
            yaml_event_delete(&ev);
            if (!n)
                return -1;
            if (tg_conf_node_is_null(n)) {
                n = s_empty_map(ps->doc, n->line, n->col);
                if (!n)
                    return s_oom(ps);
            }
            if (n->kind != TG_CONF_MAP) {
                s_fmt(ps->err, ps->errlen, "%s:%d:%d: the top level must be "
                      "a mapping, not a %s", n->file, n->line, n->col,
                      tg_conf_kind_name(n->kind));
                return -1;
            }
            ps->doc->root = n;
            continue;
        }
        yaml_event_delete(&ev);
    }
    if (!ps->doc->root && !(ps->doc->root = s_empty_map(ps->doc, 1, 1)))
        return s_oom(ps);
    return 0;
}

tg_conf_doc *tg_conf_doc_parse(const char *buf, size_t len, const char *name,
                               char *err, size_t errlen)
{
    s_pstate ps = {.err = err, .errlen = errlen};
    ps.doc = calloc(1, sizeof *ps.doc);
    if (!ps.doc || !(ps.doc->file = strdup(name ? name : "<config>"))) {
        free(ps.doc);
        s_fmt(err, errlen, "%s: out of memory", name ? name : "<config>");
        return NULL;
    }
    if (!yaml_parser_initialize(&ps.parser)) {
        s_oom(&ps);
        tg_conf_doc_free(ps.doc);
        return NULL;
    }
    yaml_parser_set_input_string(&ps.parser, (const unsigned char *)buf, len);
    int rc = s_parse_stream(&ps);
    yaml_parser_delete(&ps.parser);
    if (rc != 0) {
        tg_conf_doc_free(ps.doc);
        return NULL;
    }
    return ps.doc;
}

tg_conf_doc *tg_conf_doc_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        s_fmt(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len == cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (64u << 20)) {
                s_fmt(err, errlen, "%s: file larger than 64 MiB", path);
                goto fail;
            }
            char *b = realloc(buf, cap);
            if (!b) {
                s_fmt(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            buf = b;
        }
        size_t r = fread(buf + len, 1, cap - len, f);
        len += r;
        if (r == 0) {
            if (ferror(f)) {
                s_fmt(err, errlen, "%s: read error", path);
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    tg_conf_doc *d = tg_conf_doc_parse(buf, len, path, err, errlen);
    free(buf);
    return d;
fail:
    fclose(f);
    free(buf);
    return NULL;
}

tg_conf_doc *tg_conf_doc_empty(void)
{
    return tg_conf_doc_parse("", 0, "<none>", NULL, 0);
}
