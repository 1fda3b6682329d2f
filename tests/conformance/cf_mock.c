/*
 * cf_mock.c - typed mock sources for the conformance runner.
 * Owner: engine core.
 *
 * A vector's "fields" object maps field names (optionally "name[arg]") to
 * values; the JSON value decides the type: strings -> string, integers ->
 * uint64, booleans -> bool, arrays -> list of strings, null -> declared but
 * missing.  Placeholders: "<present>"/"<present string>" (present, empty
 * string), "<uint64>", "<bool>", "string (mock)", "bytebuf (mock)",
 * "<flags: X>" (the string X), "<N-byte buffer 01..0N>" (bytes 1..N).
 * Strings with code points U+0080..U+00FF stand for raw bytes (latin-1).
 */
#include "cf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CF_MAX_VALS 16

typedef struct cf_entry {
    int def;            /* index into defs */
    bool has_arg;
    char *arg;
    bool present;
    size_t nvals;
    char *strs[CF_MAX_VALS];
    size_t lens[CF_MAX_VALS];
    uint64_t u[CF_MAX_VALS];
} cf_entry;

struct cf_mock {
    ev_source src;
    ev_field_def *defs;
    size_t ndefs;
    cf_entry *entries;
    size_t nentries;
};

/* UTF-8 text whose code points are all < 256 -> raw bytes (latin-1). */
char *cf_latin1(const char *s, size_t *outlen)
{
    size_t n = strlen(s), o = 0;
    char *r = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c == 0xc2 || c == 0xc3) && i + 1 < n) {
            r[o++] = (char)(((c & 0x1f) << 6) | ((unsigned char)s[i + 1] & 0x3f));
            i++;
        } else {
            r[o++] = (char)c;
        }
    }
    r[o] = '\0';
    if (outlen)
        *outlen = o;
    return r;
}

static int s_def(cf_mock *m, const char *name, size_t nlen, ev_type t, unsigned flags)
{
    for (size_t i = 0; i < m->ndefs; i++)
        if (strlen(m->defs[i].name) == nlen && !memcmp(m->defs[i].name, name, nlen)) {
            m->defs[i].flags |= flags;
            return (int)i;
        }
    m->defs = realloc(m->defs, (m->ndefs + 1) * sizeof(*m->defs));
    char *nm = strndup(name, nlen);
    m->defs[m->ndefs] = (ev_field_def){.name = nm, .type = t, .flags = flags,
                                       .id = (int)m->ndefs};
    return (int)m->ndefs++;
}

static cf_entry *s_entry(cf_mock *m, int def, const char *arg, size_t alen, bool has_arg)
{
    m->entries = realloc(m->entries, (m->nentries + 1) * sizeof(*m->entries));
    cf_entry *e = &m->entries[m->nentries++];
    memset(e, 0, sizeof(*e));
    e->def = def;
    e->has_arg = has_arg;
    e->arg = has_arg ? strndup(arg, alen) : NULL;
    return e;
}

static void s_add_str(cf_entry *e, const char *s, bool latin1)
{
    if (e->nvals >= CF_MAX_VALS)
        return;
    size_t l = strlen(s);
    e->strs[e->nvals] = latin1 ? cf_latin1(s, &l) : strdup(s);
    e->lens[e->nvals++] = l;
    e->present = true;
}

static void s_add_u(cf_entry *e, uint64_t u)
{
    if (e->nvals >= CF_MAX_VALS)
        return;
    e->u[e->nvals++] = u;
    e->present = true;
}

static void s_add_field(cf_mock *m, const char *key, const json_t *val)
{
    const char *br = strchr(key, '[');
    size_t nlen = br ? (size_t)(br - key) : strlen(key);
    const char *arg = br ? br + 1 : NULL;
    size_t alen = br ? strlen(arg) - 1 : 0;
    unsigned fl = br ? EV_FIELD_ARG_OPT : 0;
    ev_type t = EV_TYPE_STRING;
    if (json_is_integer(val))
        t = EV_TYPE_UINT64;
    else if (json_is_boolean(val))
        t = EV_TYPE_BOOL;
    else if (json_is_array(val))
        fl |= EV_FIELD_LIST;
    else if (json_is_string(val)) {
        const char *s = json_string_value(val);
        if (!strcmp(s, "<uint64>"))
            t = EV_TYPE_UINT64;
        else if (!strcmp(s, "<bool>"))
            t = EV_TYPE_BOOL;
        else if (strstr(s, "bytebuf") == s || strstr(s, "-byte buffer"))
            t = EV_TYPE_BYTES;
    }
    int d = s_def(m, key, nlen, t, fl);
    cf_entry *e = s_entry(m, d, arg, alen, br != NULL);
    if (json_is_null(val))
        return;
    if (json_is_integer(val))
        s_add_u(e, (uint64_t)json_integer_value(val));
    else if (json_is_boolean(val))
        s_add_u(e, json_is_true(val));
    else if (json_is_array(val)) {
        size_t i;
        const json_t *it;
        json_array_foreach(val, i, it) {
            if (json_is_string(it))
                s_add_str(e, json_string_value(it), true);
        }
    } else if (json_is_string(val)) {
        const char *s = json_string_value(val);
        unsigned nb;
        if (t == EV_TYPE_UINT64 || t == EV_TYPE_BOOL)
            s_add_u(e, 0);
        else if (!strncmp(s, "<flags: ", 8)) {
            char *x = strdup(s + 8);
            x[strlen(x) - 1] = '\0';
            s_add_str(e, x, false);
            free(x);
        } else if (sscanf(s, "<%u-byte buffer", &nb) == 1 && nb < 64) {
            char b[65];
            for (unsigned i = 0; i < nb; i++)
                b[i] = (char)(i + 1);
            e->strs[0] = malloc(nb + 1);
            memcpy(e->strs[0], b, nb);
            e->lens[0] = nb;
            e->nvals = 1;
            e->present = true;
        } else if (s[0] == '<' || strstr(s, "(mock)") || !strcmp(s, "string"))
            s_add_str(e, "", false);
        else
            s_add_str(e, s, true);
    }
}

static int s_extract(void *ud, ev_event *evt, const ev_field_def *def,
                     const ev_field_arg *arg, ev_vals *out)
{
    cf_mock *m = ud;
    (void)evt;
    for (size_t i = 0; i < m->nentries; i++) {
        cf_entry *e = &m->entries[i];
        if (e->def != def->id || e->has_arg != arg->has_arg)
            continue;
        if (e->has_arg && strcmp(e->arg, arg->arg) != 0)
            continue;
        if (!e->present)
            return 0;
        size_t n = e->nvals < EV_VALS_INLINE ? e->nvals : EV_VALS_INLINE;
        for (size_t k = 0; k < n; k++) {
            ev_val *v = &out->vals[k];
            memset(v, 0, sizeof(*v));
            if (def->type == EV_TYPE_STRING || def->type == EV_TYPE_BYTES) {
                v->s = e->strs[k];
                v->len = e->lens[k];
            } else {
                v->u = e->u[k];
                v->d = (double)e->u[k];
            }
        }
        out->n = n;
        return (int)n;
    }
    return 0;
}

static ev_type s_type_name(const char *s, unsigned *flags)
{
    *flags = 0;
    if (strstr(s, "charbuf") || !strcmp(s, "string"))
        return EV_TYPE_STRING;
    if (!strcmp(s, "int16") || !strcmp(s, "int32") || !strcmp(s, "int64"))
        return EV_TYPE_INT64;
    if (!strcmp(s, "double"))
        return EV_TYPE_DOUBLE;
    if (!strcmp(s, "abstime"))
        return EV_TYPE_ABSTIME;
    if (!strcmp(s, "reltime"))
        return EV_TYPE_RELTIME;
    if (!strcmp(s, "bool"))
        return EV_TYPE_BOOL;
    if (!strcmp(s, "ipaddr"))
        return EV_TYPE_IPADDR;
    if (!strcmp(s, "ipnet"))
        return EV_TYPE_IPNET;
    if (!strcmp(s, "bytebuf"))
        return EV_TYPE_BYTES;
    return EV_TYPE_UINT64;
}

/* Syscall-style catalogue for the loader vectors: name, type, flags. */
static const struct { const char *name; ev_type t; unsigned fl; } s_syscall[] = {
    {"evt.type", EV_TYPE_STRING, 0}, {"evt.num", EV_TYPE_UINT64, 0},
    {"evt.arg", EV_TYPE_STRING, EV_FIELD_ARG_REQ}, {"evt.arg.path", EV_TYPE_STRING, 0},
    {"evt.args", EV_TYPE_STRING, 0}, {"evt.dir", EV_TYPE_STRING, 0},
    {"evt.is_open_read", EV_TYPE_BOOL, 0}, {"evt.plugininfo", EV_TYPE_STRING, 0},
    {"evt.pluginname", EV_TYPE_STRING, 0}, {"evt.source", EV_TYPE_STRING, 0},
    {"evt.time", EV_TYPE_ABSTIME, 0}, {"evt.time.iso8601", EV_TYPE_ABSTIME, 0},
    {"evt.rawtime", EV_TYPE_ABSTIME, 0}, {"evt.hostname", EV_TYPE_STRING, 0},
    {"fd.cport", EV_TYPE_UINT64, 0}, {"fd.sport", EV_TYPE_UINT64, 0},
    {"fd.filename", EV_TYPE_STRING, 0}, {"fd.name", EV_TYPE_STRING, 0},
    {"fd.directory", EV_TYPE_STRING, 0}, {"fd.typechar", EV_TYPE_STRING, 0},
    {"fd.type", EV_TYPE_STRING, 0}, {"fd.num", EV_TYPE_INT64, 0},
    {"proc.aname", EV_TYPE_STRING, EV_FIELD_ARG_OPT | EV_FIELD_ARG_INDEX},
    {"proc.apid", EV_TYPE_INT64, EV_FIELD_ARG_OPT | EV_FIELD_ARG_INDEX},
    {"proc.cmdline", EV_TYPE_STRING, 0}, {"proc.exepath", EV_TYPE_STRING, 0},
    {"proc.exe", EV_TYPE_STRING, 0}, {"proc.name", EV_TYPE_STRING, 0},
    {"proc.pid", EV_TYPE_INT64, 0}, {"proc.pname", EV_TYPE_STRING, 0},
    {"proc.args", EV_TYPE_STRING, 0}, {"thread.tid", EV_TYPE_INT64, 0},
    {"user.name", EV_TYPE_STRING, 0}, {"user.uid", EV_TYPE_UINT64, 0},
    {"container.id", EV_TYPE_STRING, 0}, {"container.info", EV_TYPE_STRING, 0},
    {"syscall.type", EV_TYPE_STRING, 0},
};

cf_mock *cf_mock_new(const json_t *fields, const char *source_name)
{
    cf_mock *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    if (fields && json_is_object(fields)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)fields, k, v)
            s_add_field(m, k, v);
    } else if (fields && json_is_string(fields)) {
        /* "field_type:name1,name2": one type for the listed names */
        const char *spec = json_string_value(fields);
        const char *colon = strchr(spec, ':');
        char tn[64];
        snprintf(tn, sizeof(tn), "%.*s", colon ? (int)(colon - spec) : 0, spec);
        unsigned fl;
        ev_type t = s_type_name(tn, &fl);
        for (const char *p = colon ? colon + 1 : ""; *p;) {
            size_t l = strcspn(p, ",");
            int d = s_def(m, p, l, t, fl);
            cf_entry *e = s_entry(m, d, NULL, 0, false);
            if (t == EV_TYPE_STRING || t == EV_TYPE_BYTES)
                s_add_str(e, "", false);
            else
                s_add_u(e, 0);
            p += l + (p[l] == ',');
        }
    } else {
        for (size_t i = 0; i < sizeof(s_syscall) / sizeof(s_syscall[0]); i++) {
            int d = s_def(m, s_syscall[i].name, strlen(s_syscall[i].name),
                          s_syscall[i].t, s_syscall[i].fl);
            cf_entry *e = s_entry(m, d, NULL, 0, false);
            if (s_syscall[i].t == EV_TYPE_STRING)
                s_add_str(e, "", false);
            else
                s_add_u(e, 0);
        }
    }
    m->src.name = source_name ? source_name : "syscall";
    m->src.fields = m->defs;
    m->src.nfields = m->ndefs;
    m->src.extract = s_extract;
    m->src.ud = m;
    return m;
}

const ev_source *cf_mock_source(const cf_mock *m) { return &m->src; }

void *cf_mock_payload(cf_mock *m) { return m; }

void cf_mock_free(cf_mock *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nentries; i++) {
        free(m->entries[i].arg);
        for (size_t k = 0; k < CF_MAX_VALS; k++)
            free(m->entries[i].strs[k]);
    }
    for (size_t i = 0; i < m->ndefs; i++)
        free((char *)m->defs[i].name);
    free(m->entries);
    free(m->defs);
    free(m);
}
