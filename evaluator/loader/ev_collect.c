/*
 * ev_collect.c - the collector: walks the YAML documents of one rules
 * content and turns each entry into definitions (lists, macros, rules,
 * engine/plugin requirements), applying append/override/enabled entries to
 * what earlier contents defined.  Spec: falco-rules-language.md 6.1-6.8,
 * 6.12, 6.13 (validation part).
 *
 * DESIGN
 * One function per entry kind.  Every check reports through ld_diag() with
 * the item type/name and the entry's YAML mark, and the first error stops
 * the content (Falco semantics: "loading stops at the first error").
 * Exceptions are stored as decoded values; their compilation into condition
 * text happens in ev_rulecomp.c, where the rule's source is known.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_loader_int.h"

#include "ev_collect_int.h"

/* Scalar helpers ---------------------------------------------------------- */

/* Required non-empty string key. */
int ld_req_str(ld_item *it, const ev_ynode *map, const char *key, const char **out)
{
    const ev_ynode *v = ev_ynode_get(map, key);
    if (!v)
        return S_ERR(it, E_YAML, "Item has no mapping for key '%s'", key);
    if (v->kind == EV_YNULL)
        return S_ERR(it, E_YAML, "Mapping for key '%s' is empty", key);
    if (v->kind != EV_YSCALAR)
        return S_ERR(it, E_YAML, "Value is not a scalar value");
    if (v->len == 0)
        return S_ERR(it, E_YAML, "Value must be non-empty");
    *out = v->str;
    return 0;
}

/* Optional string key: *out stays unchanged when absent or null. */
int ld_opt_str(ld_item *it, const ev_ynode *map, const char *key, const char **out)
{
    const ev_ynode *v = ev_ynode_get(map, key);
    if (!v || v->kind == EV_YNULL)
        return 0;
    if (v->kind != EV_YSCALAR)
        return S_ERR(it, E_YAML, "Value is not a scalar value");
    *out = v->str;
    return 0;
}

int ld_opt_bool(ld_item *it, const ev_ynode *map, const char *key, bool *out)
{
    const ev_ynode *v = ev_ynode_get(map, key);
    if (!v || v->kind == EV_YNULL)
        return 0;
    if (v->kind != EV_YSCALAR)
        return S_ERR(it, E_YAML, "Value is not a scalar value");
    if (ev_ynode_bool(v, out) < 0)
        return S_ERR(it, E_YAML, "Can't decode YAML scalar value");
    return 0;
}

int ld_opt_u64(ld_item *it, const ev_ynode *map, const char *key, uint64_t *out)
{
    const ev_ynode *v = ev_ynode_get(map, key);
    if (!v || v->kind == EV_YNULL)
        return 0;
    if (v->kind != EV_YSCALAR)
        return S_ERR(it, E_YAML, "Value is not a scalar value");
    char *end;
    const char *s = v->str;
    if (!isdigit((unsigned char)s[0]))
        return S_ERR(it, E_YAML, "Can't decode YAML scalar value");
    unsigned long long x = strtoull(s, &end, 10);
    if (*end)
        return S_ERR(it, E_YAML, "Can't decode YAML scalar value");
    *out = x;
    return 0;
}

/* Sequence of scalars (tags, items). */
int ld_seq(ld_item *it, const ev_ynode *v, ld_strv *out)
{
    if (!v || v->kind == EV_YNULL)
        return 0;
    if (v->kind != EV_YSEQ)
        return S_ERR(it, E_YAML, "Value is not a sequence");
    for (size_t i = 0; i < v->n; i++) {
        if (v->items[i]->kind != EV_YSCALAR)
            return S_ERR(it, E_YAML, "sequence value is not scalar");
        ld_strv_push(out, v->items[i]->str);
    }
    return 0;
}

void ld_warn_unknown_keys(ld_item *it, const ev_ynode *map, const char *const *known)
{
    for (size_t i = 0; i < map->n; i++) {
        bool ok = false;
        for (size_t k = 0; known[k]; k++)
            if (strcmp(map->keys[i], known[k]) == 0)
                ok = true;
        if (!ok)
            S_WARN(it, "LOAD_UNKNOWN_KEY", "Unknown key '%s'. The key will be ignored.",
                   map->keys[i]);
    }
}

static bool s_is_ident(const char *s)
{
    if (!isalpha((unsigned char)s[0]))
        return false;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

static bool s_is_barestr(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (strchr("()\"'=,", *s) || isspace((unsigned char)*s))
            return false;
    return true;
}

int ld_semver_parse(const char *s, unsigned v[3])
{
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*s))
            return -1;
        unsigned long x = 0;
        while (isdigit((unsigned char)*s)) {
            x = x * 10 + (unsigned)(*s - '0');
            if (x > 0xFFFFFFFFul)
                return -1;
            s++;
        }
        v[i] = (unsigned)x;
        if (i < 2) {
            if (*s != '.')
                return -1;
            s++;
        }
    }
    return 0;
}

/* override: {key: append|replace} -------------------------------------- */


const char *ld_ovr_op(const ld_ovr *o, const char *key)
{
    const ev_ynode *v = o->map ? ev_ynode_get(o->map, key) : NULL;
    return v && v->kind == EV_YSCALAR ? v->str : NULL;
}

/*
 * Validate the override mapping of an entry: appendable/replaceable keys,
 * every listed key present, every overridable present key listed.
 */
int ld_ovr_check(ld_item *it, const ev_ynode *entry, ld_ovr *o,
                       const char *const *app, const char *const *rep)
{
    const ev_ynode *ov = ev_ynode_get(entry, "override");
    memset(o, 0, sizeof(*o));
    if (!ov)
        return 0;
    if (ov->kind != EV_YMAP)
        return S_ERR(it, E_YAML, "Value is not a map");
    o->map = ov;
    for (size_t i = 0; i < ov->n; i++) {
        const char *k = ov->keys[i];
        const ev_ynode *v = ov->items[i];
        const char *op = v->kind == EV_YSCALAR ? v->str : "";
        bool is_app = strcmp(op, "append") == 0, is_rep = strcmp(op, "replace") == 0;
        if (!is_app && !is_rep)
            return S_ERR(it, E_YAML, "Invalid override operation for key '%s': '%s'. "
                         "Allowed values are: append replace ", k, op);
        const char *const *set = is_app ? app : rep;
        bool allowed = false;
        for (size_t j = 0; set[j]; j++)
            if (strcmp(set[j], k) == 0)
                allowed = true;
        if (!allowed) {
            if (is_app)
                return S_ERR(it, E_YAML, "Key '%s' cannot be appended to, use 'replace' instead", k);
            return S_ERR(it, E_YAML, "Key '%s' cannot be replaced", k);
        }
        if (!ev_ynode_get(entry, k))
            return S_ERR(it, E_YAML, "An %s override for '%s' was specified but '%s' is not defined",
                         op, k, k);
        if (is_app && !o->any_append) {
            o->any_append = true;
            o->first_append = k;
        }
        if (is_rep && !o->any_replace) {
            o->any_replace = true;
            o->first_replace = k;
        }
    }
    /* every overridable key present in the entry must be listed */
    for (size_t i = 0; i < entry->n; i++) {
        const char *k = entry->keys[i];
        bool overridable = false;
        for (size_t j = 0; app[j]; j++)
            if (!strcmp(app[j], k))
                overridable = true;
        for (size_t j = 0; rep[j]; j++)
            if (!strcmp(rep[j], k))
                overridable = true;
        if (overridable && !ev_ynode_get(ov, k))
            return S_ERR(it, E_YAML, "Unexpected key '%s': no corresponding entry under "
                         "'override' is defined.", k);
    }
    return 0;
}

/* Legacy `append:` key; warns when true.  -1 on decode error. */
int ld_append_flag(ld_item *it, const ev_ynode *entry, bool *append)
{
    *append = false;
    if (ld_opt_bool(it, entry, "append", append) < 0)
        return -1;
    if (*append)
        S_WARN(it, "LOAD_DEPRECATED_ITEM", "'append' key is deprecated. Add an 'append' entry "
               "(e.g. 'condition: append') under 'override' instead.");
    if (*append && ev_ynode_get(entry, "override"))
        return S_ERR(it, E_YAML, "Keys 'override' and 'append: true' cannot be used together. "
                     "Add an 'append' entry (e.g. 'condition: append') under 'override' instead.");
    return 0;
}

/* required_engine_version ------------------------------------------------ */

static int s_engine_version(ld_item *it)
{
    const ev_ynode *v = ev_ynode_get(it->n, "required_engine_version");
    unsigned req[3];
    const char *s = v && v->kind == EV_YSCALAR ? v->str : "";
    bool digits = *s != '\0';
    for (const char *p = s; *p; p++)
        if (!isdigit((unsigned char)*p))
            digits = false;
    if (digits && strlen(s) < 10) {
        req[0] = EV_ENGINE_VERSION_MAJOR;
        req[1] = (unsigned)strtoul(s, NULL, 10);
        req[2] = 0;
    } else if (ld_semver_parse(s, req) < 0) {
        return S_ERR(it, E_YAML, "Unable to parse engine version '%s' as a semver string. "
                     "Expected \"x.y.z\" semver format.", s);
    }
    unsigned cur[3] = {EV_ENGINE_VERSION_MAJOR, EV_ENGINE_VERSION_MINOR, EV_ENGINE_VERSION_PATCH};
    bool ok = req[0] == cur[0] &&
              (req[1] < cur[1] || (req[1] == cur[1] && req[2] <= cur[2]));
    if (!ok)
        return S_ERR(it, E_VAL, "Rules require engine version %u.%u.%u, but engine version is %u.%u.%u",
                     req[0], req[1], req[2], cur[0], cur[1], cur[2]);
    static const char *const known[] = {"required_engine_version", NULL};
    ld_warn_unknown_keys(it, it->n, known);
    return 0;
}

/* required_plugin_versions ----------------------------------------------- */

static int s_plugin_alt(ld_item *it, const ev_ynode *m, ld_req *r)
{
    const char *name, *ver;
    if (m->kind != EV_YMAP)
        return S_ERR(it, E_YAML, "Unexpected element type. Each element should be a yaml associative array.");
    if (ld_req_str(it, m, "name", &name) < 0 || ld_req_str(it, m, "version", &ver) < 0)
        return -1;
    unsigned v[3];
    if (ld_semver_parse(ver, v) < 0)
        return S_ERR(it, E_YAML, "Invalid required version '%s' for plugin '%s'", ver, name);
    for (size_t i = 0; i < r->nalts; i++)
        if (strcmp(r->alts[i].name, name) == 0)
            return S_ERR(it, E_YAML, "Defined multiple alternative version requirements for plugin '%s'", name);
    ld_req_alt *a = realloc(r->alts, (r->nalts + 1) * sizeof(*a));
    if (!a)
        abort();
    r->alts = a;
    a[r->nalts].name = ld_strdup(name);
    a[r->nalts].version = ld_strdup(ver);
    r->nalts++;
    return 0;
}

static void s_req_free(ld_req *r)
{
    for (size_t i = 0; i < r->nalts; i++) {
        free(r->alts[i].name);
        free(r->alts[i].version);
    }
    free(r->alts);
}

static int s_plugin_versions(ld_item *it)
{
    ev_engine *e = it->e;
    const ev_ynode *v = ev_ynode_get(it->n, "required_plugin_versions");
    if (!v || v->kind != EV_YSEQ)
        return S_ERR(it, E_YAML, "Value of required_plugin_versions must be a sequence");
    for (size_t i = 0; i < v->n; i++) {
        ld_req r = {0};
        r.mark = it->mark;
        const ev_ynode *m = v->items[i];
        int rc = s_plugin_alt(it, m, &r);
        const ev_ynode *alts = rc == 0 ? ev_ynode_get(m, "alternatives") : NULL;
        if (alts && alts->kind != EV_YSEQ)
            rc = S_ERR(it, E_YAML, "Value is not a sequence");
        for (size_t j = 0; rc == 0 && alts && j < alts->n; j++)
            rc = s_plugin_alt(it, alts->items[j], &r);
        if (rc < 0) {
            s_req_free(&r);
            return -1;
        }
        if (e->nreqs == e->capreqs) {
            e->capreqs = e->capreqs ? e->capreqs * 2 : 8;
            e->reqs = realloc(e->reqs, e->capreqs * sizeof(*e->reqs));
            if (!e->reqs)
                abort();
        }
        e->reqs[e->nreqs++] = r;
    }
    return 0;
}

/* Check the collected requirements against the loaded plugins (spec 6.4). */
static int s_check_plugins(ev_engine *e, const char *file)
{
    for (size_t i = 0; i < e->nreqs; i++) {
        ld_req *r = &e->reqs[i];
        if (r->mark.file != file)
            continue;
        bool decided = false, ok = false;
        const char *badname = NULL, *badver = NULL, *badreq = NULL;
        for (size_t a = 0; a < r->nalts && !decided; a++) {
            for (size_t p = 0; p < e->nplugins; p++) {
                if (strcmp(e->plugins[p].name, r->alts[a].name) != 0)
                    continue;
                unsigned have[3], want[3];
                decided = true;
                ok = ld_semver_parse(e->plugins[p].version, have) == 0 &&
                     ld_semver_parse(r->alts[a].version, want) == 0 &&
                     have[0] == want[0] &&
                     (have[1] > want[1] || (have[1] == want[1] && have[2] >= want[2]));
                if (!ok) {
                    badname = r->alts[a].name;
                    badver = e->plugins[p].version;
                    badreq = r->alts[a].version;
                }
                break;
            }
        }
        if (ok)
            continue;
        if (decided) {
            ld_diag(e, true, E_VAL, "required_plugin_versions", badname, &r->mark,
                    "Plugin '%s' version '%s' is not compatible with required plugin version '%s'",
                    badname, badver, badreq);
            return -1;
        }
        ev_strbuf sb;
        ev_strbuf_init(&sb);
        for (size_t a = 0; a < r->nalts; a++)
            ev_strbuf_printf(&sb, "%s%s (>= %s)", a ? ", " : "", r->alts[a].name, r->alts[a].version);
        ld_diag(e, true, E_VAL, "required_plugin_versions", r->alts[0].name, &r->mark,
                "Plugin requirement not satisfied, must load one of: %s", sb.p ? sb.p : "");
        ev_strbuf_fini(&sb);
        return -1;
    }
    return 0;
}

/* lists and macros ---------------------------------------------------------- */

static ld_list *s_find_list(ev_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nlists; i++)
        if (strcmp(e->lists[i].name, name) == 0)
            return &e->lists[i];
    return NULL;
}

static ld_macro *s_find_macro(ev_engine *e, const char *name)
{
    for (size_t i = 0; i < e->nmacros; i++)
        if (strcmp(e->macros[i].name, name) == 0)
            return &e->macros[i];
    return NULL;
}

static int s_list(ld_item *it)
{
    ev_engine *e = it->e;
    const char *name;
    it->type = "list";
    if (ld_req_str(it, it->n, "list", &name) < 0)
        return -1;
    it->name = name;
    static const char *const known[] = {"list", "items", "append", "override", NULL};
    ld_warn_unknown_keys(it, it->n, known);
    if (!s_is_barestr(name))
        S_WARN(it, "LOAD_INVALID_LIST_NAME", "List has an invalid name. List names should "
               "match a regular expression: [^()\"'[:space:]=,]+");
    bool append;
    if (ld_append_flag(it, it->n, &append) < 0)
        return -1;
    static const char *const app[] = {"items", NULL}, *const rep[] = {"items", NULL};
    ld_ovr o;
    if (ld_ovr_check(it, it->n, &o, app, rep) < 0)
        return -1;
    const ev_ynode *items = ev_ynode_get(it->n, "items");
    if (!items)
        return S_ERR(it, E_YAML, "Item has no mapping for key 'items'");
    ld_strv v = {0};
    if (ld_seq(it, items, &v) < 0) {
        ld_strv_free(&v);
        return -1;
    }
    const char *op = ld_ovr_op(&o, "items");
    if (op && !strcmp(op, "append"))
        append = true;
    ld_list *l = s_find_list(e, name);
    if (append) {
        if (!l) {
            ld_strv_free(&v);
            return S_ERR(it, E_VAL, "List uses 'append' or 'override.items: append' but no "
                         "list by that name already exists");
        }
        for (size_t i = 0; i < v.n; i++)
            ld_strv_push(&l->items, v.v[i]);
        ld_strv_free(&v);
        l->last_seq = e->seq;
        return 0;
    }
    if (l) {
        ld_strv_free(&l->items);
        l->items = v;
        l->last_seq = e->seq;
        return 0;
    }
    if (e->nlists == e->caplists) {
        e->caplists = e->caplists ? e->caplists * 2 : 16;
        e->lists = realloc(e->lists, e->caplists * sizeof(*e->lists));
        if (!e->lists)
            abort();
    }
    l = &e->lists[e->nlists++];
    memset(l, 0, sizeof(*l));
    l->name = ld_strdup(name);
    l->items = v;
    l->mark = it->mark;
    l->first_seq = l->last_seq = e->seq;
    return 0;
}

static int s_macro(ld_item *it)
{
    ev_engine *e = it->e;
    const char *name, *cond;
    it->type = "macro";
    if (ld_req_str(it, it->n, "macro", &name) < 0)
        return -1;
    it->name = name;
    static const char *const known[] = {"macro", "condition", "append", "override", NULL};
    ld_warn_unknown_keys(it, it->n, known);
    if (!s_is_ident(name))
        S_WARN(it, "LOAD_INVALID_MACRO_NAME", "Macro has an invalid name. Macro names should "
               "match a regular expression: ^[a-zA-Z]+[a-zA-Z0-9_]*$");
    bool append;
    if (ld_append_flag(it, it->n, &append) < 0)
        return -1;
    static const char *const app[] = {"condition", NULL}, *const rep[] = {"condition", NULL};
    ld_ovr o;
    if (ld_ovr_check(it, it->n, &o, app, rep) < 0)
        return -1;
    if (ld_req_str(it, it->n, "condition", &cond) < 0)
        return -1;
    const char *op = ld_ovr_op(&o, "condition");
    if (op && !strcmp(op, "append"))
        append = true;
    ld_macro *m = s_find_macro(e, name);
    if (append) {
        if (!m)
            return S_ERR(it, E_VAL, "Macro uses 'append' or 'override.condition: append' but "
                         "no macro by that name already exists");
        char *nc;
        if (asprintf(&nc, "%s %s", m->cond, cond) < 0)
            abort();
        free(m->cond);
        m->cond = nc;
        m->last_seq = e->seq;
        return 0;
    }
    if (m) {
        free(m->cond);
        m->cond = ld_strdup(cond);
        m->last_seq = e->seq;
        return 0;
    }
    if (e->nmacros == e->capmacros) {
        e->capmacros = e->capmacros ? e->capmacros * 2 : 16;
        e->macros = realloc(e->macros, e->capmacros * sizeof(*e->macros));
        if (!e->macros)
            abort();
    }
    m = &e->macros[e->nmacros++];
    memset(m, 0, sizeof(*m));
    m->name = ld_strdup(name);
    m->cond = ld_strdup(cond);
    m->mark = it->mark;
    m->first_seq = m->last_seq = e->seq;
    return 0;
}


/* One content ------------------------------------------------------------ */

static int s_entry(ev_engine *e, const char *file, const ev_ynode *n)
{
    ld_item it = {.e = e, .n = n, .type = "rules content item", .name = "",
                 .mark = {file, n->line, n->col}};
    if (n->kind == EV_YNULL)
        return 0;
    if (n->kind != EV_YMAP)
        return S_ERR(&it, E_YAML, "Unexpected element type. Each element should be a yaml "
                     "associative array.");
    e->seq++;
    if (ev_ynode_get(n, "required_engine_version")) {
        it.type = "required_engine_version";
        return s_engine_version(&it);
    }
    if (ev_ynode_get(n, "required_plugin_versions")) {
        it.type = "required_plugin_versions";
        return s_plugin_versions(&it);
    }
    if (ev_ynode_get(n, "list"))
        return s_list(&it);
    if (ev_ynode_get(n, "macro"))
        return s_macro(&it);
    if (ev_ynode_get(n, "rule"))
        return ld_collect_rule(&it);
    S_WARN(&it, "LOAD_UNKNOWN_ITEM", "Unknown top level item");
    return 0;
}

int ld_collect(ev_engine *e, const char *file, const char *buf, size_t len)
{
    char err[512];
    int line, col;
    ld_mark fm = {file, 0, 0};
    ev_yaml *y = ev_yaml_load(buf, len, err, sizeof(err), &line, &col);
    if (!y) {
        fm.line = line;
        fm.col = col;
        ld_diag(e, true, "LOAD_ERR_YAML_PARSE", "rules content", "", &fm, "yaml-cpp: %s", err);
        return -1;
    }
    int rc = 0;
    for (size_t d = 0; rc == 0 && d < ev_yaml_ndocs(y); d++) {
        const ev_ynode *root = ev_yaml_doc(y, d);
        fm.line = root->line;
        fm.col = root->col;
        if (root->kind == EV_YNULL)
            continue;
        if (root->kind == EV_YSCALAR) {
            ld_diag(e, true, E_YAML, "rules content", "", &fm, "Rules content is not yaml");
            rc = -1;
        } else if (root->kind == EV_YMAP) {
            ld_diag(e, true, E_YAML, "rules content", "", &fm,
                    "Rules content is not yaml array of objects");
            rc = -1;
        } else {
            for (size_t i = 0; rc == 0 && i < root->n; i++)
                rc = s_entry(e, file, root->items[i]);
        }
    }
    ev_yaml_free(y);
    if (rc == 0)
        rc = s_check_plugins(e, file);
    return rc;
}

void ld_defs_free(ev_engine *e)
{
    for (size_t i = 0; i < e->nlists; i++) {
        free(e->lists[i].name);
        ld_strv_free(&e->lists[i].items);
    }
    free(e->lists);
    for (size_t i = 0; i < e->nmacros; i++) {
        free(e->macros[i].name);
        free(e->macros[i].cond);
        ev_ast_free(e->macros[i].ast);
    }
    free(e->macros);
    for (size_t i = 0; i < e->nrules; i++)
        ld_rule_fini(&e->rules[i]);
    free(e->rules);
    for (size_t i = 0; i < e->nreqs; i++)
        s_req_free(&e->reqs[i]);
    free(e->reqs);
    e->lists = NULL;
    e->macros = NULL;
    e->rules = NULL;
    e->reqs = NULL;
    e->nlists = e->nmacros = e->nrules = e->nreqs = 0;
    e->caplists = e->capmacros = e->caprules = e->capreqs = 0;
}
