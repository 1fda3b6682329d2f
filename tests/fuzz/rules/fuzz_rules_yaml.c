/*
 * fuzz_rules_yaml.c - fuzz target for the rules loader: arbitrary bytes are
 * one rules file given to a fresh engine (YAML parse, lists, macros,
 * exceptions, overrides, compile, selection, index).  Every diagnostic is
 * formatted; every rule's expanded condition is printed; when the content
 * loaded, every enabled rule is matched against one fixed CloudTrail record
 * and its alert is rendered as text and JSON.  A second load of the same
 * content into the same engine exercises appending to earlier definitions.
 * Owner: fuzzing (tests/fuzz/rules/).  Linked with libFuzzer (-Dfuzz=true)
 * or with tests/fuzz/fuzz_replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ev_ct.h"
#include "ev_engine.h"
#include "fz_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz_rules {
    fz_record rec;
    ev_strbuf out;
    ev_event evt;       /* ONE event for the whole run (ev_engine.h: the
                         * value cache is keyed by event address + gen) */
    uint64_t num;
} fz_rules;

typedef struct fz_match {
    ev_engine *eng;
    ev_strbuf *out;
} fz_match;

static fz_rules *s_state(void)
{
    static fz_rules *z;     /* process-wide fixture, built once */
    if (z)
        return z;
    z = calloc(1, sizeof *z);
    if (!z || fz_record_init(&z->rec) != 0)
        abort();
    ev_strbuf_init(&z->out);
    ev_event_init(&z->evt);
    return z;
}

static void s_diags(const ev_engine *e, ev_strbuf *out)
{
    size_t n = ev_engine_ndiags(e), nerr = 0;
    for (size_t i = 0; i < n; i++) {
        const ev_diag *d = ev_engine_diag(e, i);
        if (!d || !d->code || !d->message || !d->file)
            abort();
        nerr += d->error;
        ev_strbuf_reset(out);
        ev_diag_format(d, out);
    }
    if (nerr != ev_engine_nerrors(e) || (nerr == 0) != ev_engine_ok(e))
        abort();    /* the error count and the ok flag must agree */
}

static void s_rules(const ev_engine *e)
{
    size_t n = ev_engine_nrules(e);
    for (size_t i = 0; i < n; i++) {
        const ev_rule *r = ev_engine_rule(e, i);
        if (!r || !r->name)
            abort();
        if (ev_engine_find_rule(e, r->name) == NULL)
            abort();    /* every listed rule can be found by name */
        free(ev_engine_rule_condition_ast(e, r));
    }
}

static int s_on_match(const ev_rule *rule, ev_event *evt, void *ud)
{
    fz_match *m = ud;
    ev_strbuf_reset(m->out);
    (void)ev_alert_text(m->eng, rule, evt, m->out);
    ev_strbuf_reset(m->out);
    (void)ev_alert_json(m->eng, rule, evt, m->out);
    return 0;
}

static void s_match(fz_rules *z, ev_engine *e)
{
    ev_event_reset(&z->evt, &z->rec.rec, z->rec.ts_ns, ++z->num);
    fz_match m = {e, &z->out};
    int a = ev_engine_match(e, &z->evt, s_on_match, &m);
    ev_event_reset(&z->evt, &z->rec.rec, z->rec.ts_ns, ++z->num);
    int b = ev_engine_match_unindexed(e, 0, &z->evt, NULL, NULL);
    if (a != b)
        abort();    /* the ct.name index must not change what matches */
}

static ev_engine *s_engine(void)
{
    const ev_source *src = ev_ct_source();
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.hostname = "fuzz-host";
    ev_engine *e = ev_engine_new(&src, 1, &o);
    if (!e)
        abort();
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_rules *z = s_state();
    ev_engine *e = s_engine();
    int rc = ev_engine_load_string(e, "fuzz.yaml", (const char *)data, size);
    s_diags(e, &z->out);
    s_rules(e);
    if (rc == 0) {
        (void)ev_engine_ruleset_hash(e);
        s_match(z, e);
        /* The same content again: appends/overrides onto the first load. */
        rc = ev_engine_load_string(e, "again.yaml", (const char *)data, size);
        s_diags(e, &z->out);
        s_rules(e);
        if (rc == 0)
            s_match(z, e);
    }
    ev_engine_free(e);
    return 0;
}
