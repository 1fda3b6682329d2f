/*
 * ev_alert.c - Falco's alert renderings (spec 7.2, 7.3): the message, the
 * text line "<time>: <Priority> <message>" (JSON-string-escaped like Falco's
 * non-JSON output) and the JSON alert object with sorted keys.
 *
 * DESIGN
 * Everything is appended to a caller-owned ev_strbuf; the only scratch
 * memory is the engine's own reusable buffer, so steady-state rendering does
 * not allocate.  output_fields holds the message's field tokens (names and
 * typed JSON values from the engine core's format) plus the time field of
 * the prefix, as an integer number of nanoseconds, keys sorted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ev_loader_int.h"
#include "ev_output.h"

#define S_MAX_FIELDS 256

static void s_time_text(const ev_engine *e, uint64_t ts, ev_strbuf *out)
{
    time_t sec = (time_t)(ts / 1000000000ull);
    unsigned long ns = (unsigned long)(ts % 1000000000ull);
    struct tm tm;
    char buf[64];
    if (e->opts.time_iso8601) {
        gmtime_r(&sec, &tm);
        strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        ev_strbuf_printf(out, "%s.%09lu+0000", buf, ns);
    } else {
        localtime_r(&sec, &tm);
        strftime(buf, sizeof(buf), "%H:%M:%S", &tm);
        ev_strbuf_printf(out, "%s.%09lu", buf, ns);
    }
}

int ev_alert_message(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out)
{
    (void)e;
    const ld_crule *c = r->impl;
    ev_format_render(c->format, evt, out, 0);
    return 0;
}

/* The unescaped line "<time>: <Priority> <message>". */
static void s_line(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out)
{
    s_time_text(e, evt->ts_ns, out);
    ev_strbuf_printf(out, ": %s ", ev_priority_name(r->priority));
    ev_alert_message(e, r, evt, out);
}

int ev_alert_text(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out)
{
    ev_strbuf *tmp = &e->scratch;
    ev_strbuf_reset(tmp);
    s_line(e, r, evt, tmp);
    ev_json_put_escaped(out, tmp->p ? tmp->p : "", tmp->len);
    return 0;
}

/* One output_fields key: a format field, the time field or an extra field. */
typedef struct s_key {
    const char *name;
    int kind;           /* 0 format field, 1 time field, 2 append_output extra */
    size_t idx;
} s_key;

static int s_cmp_keys(const void *a, const void *b)
{
    const s_key *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : y->kind - x->kind;   /* same key: extra, then time, first */
}

static void s_output_fields(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out)
{
    const ld_crule *c = r->impl;
    const ev_format *f = c->format;
    s_key keys[S_MAX_FIELDS];
    size_t n = 0, nf = ev_format_nfields(f);
    keys[n++] = (s_key){e->opts.time_iso8601 ? "evt.time.iso8601" : "evt.time", 1, 0};
    for (size_t i = 0; i < nf && n < S_MAX_FIELDS; i++)
        keys[n++] = (s_key){ev_format_field_name(f, i), 0, i};
    for (size_t i = 0; i < c->nextras && n < S_MAX_FIELDS; i++)
        keys[n++] = (s_key){c->extras[i].key, 2, i};
    qsort(keys, n, sizeof(s_key), s_cmp_keys);
    ev_strbuf_puts(out, "{");
    for (size_t k = 0; k < n; k++) {
        if (k && strcmp(keys[k].name, keys[k - 1].name) == 0)
            continue;
        if (k)
            ev_strbuf_puts(out, ",");
        ev_json_put_str(out, keys[k].name, strlen(keys[k].name));
        ev_strbuf_puts(out, ":");
        if (keys[k].kind == 1) {
            ev_strbuf_printf(out, "%llu", (unsigned long long)evt->ts_ns);
        } else if (keys[k].kind == 0) {
            ev_format_field_json(f, keys[k].idx, evt, out);
        } else {
            const ld_extra *x = &c->extras[keys[k].idx];
            if (x->raw && ev_format_nfields(x->fmt) == 1) {
                ev_format_field_json(x->fmt, 0, evt, out);
            } else {
                ev_strbuf *tmp = &e->scratch2;
                ev_strbuf_reset(tmp);
                ev_format_render(x->fmt, evt, tmp, 0);
                ev_json_put_str(out, tmp->p ? tmp->p : "", tmp->len);
            }
        }
    }
    ev_strbuf_puts(out, "}");
}

int ev_alert_json(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out)
{
    ev_strbuf *tmp = &e->scratch;
    ev_strbuf_puts(out, "{\"hostname\":");
    ev_json_put_str(out, e->hostname, strlen(e->hostname));
    if (e->opts.json_include_message) {
        ev_strbuf_reset(tmp);
        ev_alert_message(e, r, evt, tmp);
        ev_strbuf_puts(out, ",\"message\":");
        ev_json_put_str(out, tmp->p ? tmp->p : "", tmp->len);
    }
    if (e->opts.json_include_output) {
        ev_strbuf_reset(tmp);
        s_line(e, r, evt, tmp);
        ev_strbuf_puts(out, ",\"output\":");
        ev_json_put_str(out, tmp->p ? tmp->p : "", tmp->len);
    }
    if (e->opts.json_include_output_fields) {
        ev_strbuf_puts(out, ",\"output_fields\":");
        s_output_fields(e, r, evt, out);
    }
    const char *prio = ev_priority_name(r->priority);
    ev_strbuf_puts(out, ",\"priority\":");
    ev_json_put_str(out, prio, strlen(prio));
    ev_strbuf_puts(out, ",\"rule\":");
    ev_json_put_str(out, r->name, strlen(r->name));
    ev_strbuf_puts(out, ",\"source\":");
    ev_json_put_str(out, r->source, strlen(r->source));
    if (e->opts.json_include_tags) {
        ev_strbuf_puts(out, ",\"tags\":[");
        for (size_t i = 0; i < r->ntags; i++) {
            if (i)
                ev_strbuf_puts(out, ",");
            ev_json_put_str(out, r->tags[i], strlen(r->tags[i]));
        }
        ev_strbuf_puts(out, "]");
    }
    time_t sec = (time_t)(evt->ts_ns / 1000000000ull);
    struct tm tm;
    char buf[64];
    gmtime_r(&sec, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
    ev_strbuf_printf(out, ",\"time\":\"%s.%09luZ\"}", buf,
                     (unsigned long)(evt->ts_ns % 1000000000ull));
    return 0;
}
