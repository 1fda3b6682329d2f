/*
 * ev_batch.c - evaluate one batch frame and encode its alerts frame; see
 * ev_batch.h for the design.
 */
#include "ev_batch.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ev_ct.h"
#include "tg_hash.h"

/* Newest eventTime per (account, region), for
 * trailguard_source_last_event_timestamp_seconds.  Cardinality is capped. */
#define S_MAX_SOURCES 512
typedef struct s_src {
    char account[24];
    char region[32];
    uint64_t max_ts;
    bool dirty;
    tg_metric *gauge;
} s_src;

typedef struct s_alert {
    const ev_rule *rule;
    uint64_t record;
    uint64_t ts_ns;
    tg_str raw;
    size_t text_off, text_len, json_off, json_len;
    char id[33];
} s_alert;

struct ev_batch {
    ev_batch_opts opts;
    ev_event evt;
    uint64_t evt_num;
    ev_mp_index index;          /* top-level keys of the current record */
    ev_strbuf text, json, scratch;
    tg_sha256 *sha;             /* alert ids; reset per alert */
    s_alert *alerts;
    size_t nalerts, cap;
    /* the batch being evaluated (borrowed for one ev_batch_run) */
    ev_engine *engine;
    const char *ruleset;
    const tg_msg_hdr *hdr;
    uint64_t cur_record;
    tg_str cur_raw;
    s_src *srcs;
    size_t nsrcs, last_src;
};

ev_batch *ev_batch_new(const ev_batch_opts *opts)
{
    ev_batch *b = calloc(1, sizeof(*b));
    if (!b)
        abort();
    if (opts)
        b->opts = *opts;
    ev_event_init(&b->evt);
    ev_strbuf_init(&b->text);
    ev_strbuf_init(&b->json);
    ev_strbuf_init(&b->scratch);
    b->sha = tg_sha256_new();
    if (!b->sha)
        abort();
    return b;
}

void ev_batch_free(ev_batch *b)
{
    if (!b)
        return;
    ev_event_fini(&b->evt);
    ev_strbuf_fini(&b->text);
    ev_strbuf_fini(&b->json);
    ev_strbuf_fini(&b->scratch);
    tg_sha256_free(b->sha);
    free(b->alerts);
    free(b->srcs);
    free(b);
}

/* ---- the ruleset member of output_fields ------------------------------ */

/* The ruleset hash rides in every alert's output_fields under this key, so
 * each alert names the rule set that judged it.  Falco sorts output_fields
 * keys (strcmp); the key is inserted at its sorted place, the rest of the
 * JSON stays byte for byte what ev_alert_json() wrote. */
#define S_RULESET_KEY "trailguard.ruleset"

/* Index just past the JSON string starting at p[i] == '"', or n. */
static size_t s_json_skip_str(const char *p, size_t i, size_t n)
{
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == '"')
            return i + 1;
    }
    return n;
}

/* Index just past the JSON value starting at p[i], or n. */
static size_t s_json_skip_val(const char *p, size_t i, size_t n)
{
    int depth = 0;
    while (i < n) {
        char c = p[i];
        if (c == '"') {
            i = s_json_skip_str(p, i, n);
            if (depth == 0)
                return i;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i;
            if (--depth == 0)
                return i + 1;
        } else if (c == ',' && depth == 0) {
            return i;
        }
        i++;
    }
    return n;
}

/* Where "trailguard.ruleset" goes among the output_fields members that
 * start at p[i] (just past the '{'): *at and whether it is the end.  False
 * when the key is already there or the JSON is not what ev_alert_json()
 * writes. */
static bool s_ruleset_at(const char *p, size_t i, size_t n, size_t *at,
                         bool *at_end)
{
    const size_t klen = sizeof(S_RULESET_KEY) - 1;
    while (i < n) {
        if (p[i] == '}') {          /* end: append */
            *at = i;
            *at_end = true;
            return true;
        }
        if (p[i] != '"')
            return false;
        size_t ke = s_json_skip_str(p, i, n);
        if (ke >= n)
            return false;
        size_t len = ke - i - 2;
        int c = memcmp(p + i + 1, S_RULESET_KEY, len < klen ? len : klen);
        if (c == 0 && len == klen)
            return false;           /* the rule's own field of that name */
        if (c > 0 || (c == 0 && len > klen)) {
            *at = i;
            *at_end = false;
            return true;
        }
        if (p[ke] != ':')
            return false;
        i = s_json_skip_val(p, ke + 1, n);
        if (i < n && p[i] == ',')
            i++;
    }
    return false;
}

/* Insert "trailguard.ruleset":"<hash>" into the output_fields of the alert
 * JSON at b->json[off...].  A ,"output_fields":{ cannot occur inside a JSON
 * string (its quote would be escaped), so the first one is the member. */
static void s_add_ruleset(ev_batch *b, size_t off)
{
    static const char member[] = ",\"output_fields\":{";
    char *p = b->json.p;
    size_t n = b->json.len;
    char *m = memmem(p + off, n - off, member, sizeof(member) - 1);
    if (!m || !b->ruleset)
        return;
    size_t at;
    bool at_end;
    if (!s_ruleset_at(p, (size_t)(m - p) + sizeof(member) - 1, n, &at, &at_end))
        return;
    ev_strbuf *t = &b->scratch;
    ev_strbuf_reset(t);
    if (at_end && p[at - 1] != '{')
        ev_strbuf_puts(t, ",");
    ev_strbuf_puts(t, "\"" S_RULESET_KEY "\":");
    ev_json_put_str(t, b->ruleset, strlen(b->ruleset));
    if (!at_end)
        ev_strbuf_puts(t, ",");
    size_t add = t->len;
    ev_strbuf_put(&b->json, t->p, add);      /* grow */
    p = b->json.p;
    memmove(p + at + add, p + at, n - at);
    memcpy(p + at, t->p, add);
}

/* ---- matches ----------------------------------------------------------- */

/* The stable id of alert a (see ev_batch.h). */
static void s_alert_id(ev_batch *b, s_alert *a)
{
    ev_strbuf_reset(&b->scratch);
    ev_strbuf_put(&b->scratch, b->hdr->identity.p, b->hdr->identity.n);
    ev_strbuf_putc(&b->scratch, '\n');
    ev_strbuf_put_u64(&b->scratch, a->record);
    ev_strbuf_putc(&b->scratch, '\n');
    ev_strbuf_puts(&b->scratch, a->rule->name);
    char hex[TG_SHA256_HEX_LEN + 1];
    if (tg_sha256_reset(b->sha) != 0 ||
        tg_sha256_update(b->sha, b->scratch.p, b->scratch.len) != 0 ||
        tg_sha256_final_hex(b->sha, hex) != 0)
        abort();
    memcpy(a->id, hex, 32);
    a->id[32] = '\0';
}

static int s_on_match(const ev_rule *rule, ev_event *evt, void *ud)
{
    ev_batch *b = ud;
    if (b->nalerts == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->alerts = realloc(b->alerts, b->cap * sizeof(*b->alerts));
        if (!b->alerts)
            abort();
    }
    s_alert *a = &b->alerts[b->nalerts++];
    a->rule = rule;
    a->record = b->cur_record;
    a->ts_ns = evt->ts_ns;
    a->raw = b->cur_raw;
    a->text_off = b->text.len;
    ev_alert_text(b->engine, rule, evt, &b->text);
    a->text_len = b->text.len - a->text_off;
    a->json_off = b->json.len;
    ev_alert_json_text(b->engine, rule, evt, b->text.p + a->text_off, a->text_len,
                       &b->json);
    s_add_ruleset(b, a->json_off);
    a->json_len = b->json.len - a->json_off;
    s_alert_id(b, a);
    return 0;
}

/* ---- sources ----------------------------------------------------------- */

static bool s_src_is(const s_src *e, const char *a, size_t an, const char *r, size_t rn)
{
    return strlen(e->account) == an && memcmp(e->account, a, an) == 0 &&
           strlen(e->region) == rn && memcmp(e->region, r, rn) == 0;
}

static s_src *s_src_add(ev_batch *b, const char *a, size_t an, const char *r,
                        size_t rn)
{
    if (b->nsrcs == S_MAX_SOURCES)
        return NULL;
    if (!b->srcs && !(b->srcs = calloc(S_MAX_SOURCES, sizeof(*b->srcs))))
        abort();
    s_src *e = &b->srcs[b->nsrcs];
    b->last_src = b->nsrcs++;
    memcpy(e->account, a, an);
    e->account[an] = '\0';
    memcpy(e->region, r, rn);
    e->region[rn] = '\0';
    if (b->opts.reg)
        e->gauge = tg_metrics_gauge(b->opts.reg,
            "trailguard_source_last_event_timestamp_seconds",
            "Newest eventTime seen per account and region",
            (const char *[]){ "account", e->account, "region", e->region, NULL });
    return e;
}

/* Note a record's eventTime for its account and region. */
static void s_note_source(ev_batch *b, const ev_ct_record *rec, uint64_t ts)
{
    const char *a = "unknown", *r = "unknown";
    size_t an = 7, rn = 7;
    if (ev_ct_record_str(rec, "recipientAccountId", 18, &a, &an) != 0) {
        a = "unknown";
        an = 7;
    }
    if (ev_ct_record_str(rec, "awsRegion", 9, &r, &rn) != 0) {
        r = "unknown";
        rn = 7;
    }
    if (an >= sizeof b->srcs[0].account || rn >= sizeof b->srcs[0].region)
        return;
    s_src *e = NULL;
    if (b->nsrcs && s_src_is(&b->srcs[b->last_src], a, an, r, rn))
        e = &b->srcs[b->last_src];
    for (size_t i = 0; !e && i < b->nsrcs; i++)
        if (s_src_is(&b->srcs[i], a, an, r, rn)) {
            e = &b->srcs[i];
            b->last_src = i;
        }
    if (!e && !(e = s_src_add(b, a, an, r, rn)))
        return;
    if (ts > e->max_ts) {
        e->max_ts = ts;
        e->dirty = true;
    }
}

static void s_flush_sources(ev_batch *b)
{
    for (size_t i = 0; i < b->nsrcs; i++)
        if (b->srcs[i].dirty) {
            if (b->srcs[i].gauge)
                tg_metric_set(b->srcs[i].gauge, (double)b->srcs[i].max_ts / 1e9);
            b->srcs[i].dirty = false;
        }
}

/* ---- the batch --------------------------------------------------------- */

static void s_match_all(ev_batch *b, const tg_msg_batch *m)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    double wall_s = (double)now.tv_sec + now.tv_nsec / 1e9;
    for (uint32_t i = 0; i < m->nrecords; i++) {
        tg_str raw;
        tg_msg_map map;
        tg_msg_batch_record(m, i, &raw, &map);
        ev_mp_index_pairs(&b->index, ev_mp_of(map.bytes.p, map.bytes.n), map.pairs,
                          map.npairs);
        ev_ct_record rec = { map.bytes.p, map.bytes.n, raw.p, raw.n, b->opts.hostname,
                             &b->index };
        uint64_t ts = 0;
        if (ev_ct_event_time(&rec, &ts) != 0)
            ts = 0;
        ev_event_reset(&b->evt, &rec, ts, ++b->evt_num);
        if (ts) {
            tg_metric_observe(b->opts.lag, wall_s - (double)ts / 1e9);
            s_note_source(b, &rec, ts);
        }
        b->cur_record = m->hdr.first + i;
        b->cur_raw = raw;
        ev_engine_match(b->engine, &b->evt, s_on_match, b);
    }
    ev_event_reset(&b->evt, NULL, 0, b->evt_num);
}

static void s_encode(ev_batch *b, const tg_msg_batch *m, msgpack_sbuffer *out)
{
    tg_msg_alert stack[64] = { 0 };
    tg_msg_alert *v = b->nalerts <= 64 ? stack : calloc(b->nalerts, sizeof(*v));
    if (!v)
        abort();
    for (size_t i = 0; i < b->nalerts; i++) {
        s_alert *a = &b->alerts[i];
        v[i] = (tg_msg_alert){
            .id = { a->id, 32 },
            .rule = tg_str_c(a->rule->name),
            .priority = tg_str_c(ev_priority_name(a->rule->priority)),
            .source = tg_str_c("aws_cloudtrail"),
            .time_ns = a->ts_ns,
            .tag_list = a->rule->tags,
            .ntags = a->rule->ntags,
            .output = { b->text.p + a->text_off, a->text_len },
            .json = { b->json.p + a->json_off, a->json_len },
            .record = a->record,
            .raw = a->raw,
        };
    }
    tg_msg_encode_alerts(out, &m->hdr, m->nrecords, tg_str_c(b->ruleset), v,
                         b->nalerts, m->errors, m->nerrors);
    if (v != stack)
        free(v);
}

int ev_batch_run(ev_batch *b, ev_engine *e, const char *ruleset,
                 const tg_msg_batch *m, msgpack_sbuffer *out,
                 ev_batch_result *res)
{
    b->engine = e;
    b->ruleset = ruleset;
    b->hdr = &m->hdr;
    b->nalerts = 0;
    ev_strbuf_reset(&b->text);
    ev_strbuf_reset(&b->json);
    s_match_all(b, m);
    s_flush_sources(b);
    s_encode(b, m, out);
    if (res)
        *res = (ev_batch_result){ m->nrecords, (uint32_t)b->nalerts };
    b->engine = NULL;
    b->hdr = NULL;
    return 0;
}
