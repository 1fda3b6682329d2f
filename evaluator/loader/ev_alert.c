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

/* Two digits (tm fields are in range, so %02d gives exactly these). */
static void s_put2(ev_strbuf *out, int v, char sep)
{
    char b[3] = { (char)('0' + v / 10 % 10), (char)('0' + v % 10), sep };
    ev_strbuf_put(out, b, sep ? 3 : 2);
}

/* strftime's "%H:%M:%S" (no localised parts), then '.' and 9 digits of ns. */
static void s_put_hms_ns(ev_strbuf *out, const struct tm *tm, unsigned long ns)
{
    s_put2(out, tm->tm_hour, ':');
    s_put2(out, tm->tm_min, ':');
    s_put2(out, tm->tm_sec, '.');
    ev_strbuf_put_u64_pad(out, ns, 9);
}

/* strftime's "%Y-%m-%dT" for the years a uint64 of ns can hold (1970 ..
 * 2554: four digits, no sign), then the time as above. */
static void s_put_iso_ns(ev_strbuf *out, const struct tm *tm, unsigned long ns)
{
    ev_strbuf_put_u64_pad(out, (unsigned long long)(tm->tm_year + 1900), 4);
    ev_strbuf_putc(out, '-');
    s_put2(out, tm->tm_mon + 1, '-');
    s_put2(out, tm->tm_mday, 'T');
    s_put_hms_ns(out, tm, ns);
}

static void s_time_text(const ev_engine *e, uint64_t ts, ev_strbuf *out)
{
    time_t sec = (time_t)(ts / 1000000000ull);
    unsigned long ns = (unsigned long)(ts % 1000000000ull);
    struct tm tm;
    if (e->opts.time_iso8601) {
        gmtime_r(&sec, &tm);
        s_put_iso_ns(out, &tm, ns);
        ev_strbuf_put(out, "+0000", 5);
    } else {
        localtime_r(&sec, &tm);
        s_put_hms_ns(out, &tm, ns);
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
    ev_strbuf_put(out, ": ", 2);
    ev_strbuf_puts(out, ev_priority_name(r->priority));
    ev_strbuf_putc(out, ' ');
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
            ev_strbuf_put_u64(out, (unsigned long long)evt->ts_ns);
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

/* The JSON object; `text` (may be NULL) is ev_alert_text()'s output. */
static int s_json(ev_engine *e, const ev_rule *r, ev_event *evt,
                  const char *text, size_t textlen, ev_strbuf *out)
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
    if (e->opts.json_include_output && text) {
        /* ev_json_put_str(line) == '"' ev_json_put_escaped(line) '"' */
        ev_strbuf_puts(out, ",\"output\":\"");
        ev_strbuf_put(out, text, textlen);
        ev_strbuf_putc(out, '"');
    } else if (e->opts.json_include_output) {
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
    gmtime_r(&sec, &tm);
    ev_strbuf_put(out, ",\"time\":\"", 9);
    s_put_iso_ns(out, &tm, (unsigned long)(evt->ts_ns % 1000000000ull));
    ev_strbuf_put(out, "Z\"}", 3);
    return 0;
}

int ev_alert_json(ev_engine *e, const ev_rule *r, ev_event *evt, ev_strbuf *out)
{
    return s_json(e, r, evt, NULL, 0, out);
}

int ev_alert_json_text(ev_engine *e, const ev_rule *r, ev_event *evt,
                       const char *text, size_t textlen, ev_strbuf *out)
{
    return s_json(e, r, evt, text ? text : "", textlen, out);
}
