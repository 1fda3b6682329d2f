/*
 * tl_corpus.c - run a rules file over CloudTrail corpus files with the real
 * "aws_cloudtrail" source, every rule enabled and rule_matching all.
 *
 *   tl_corpus RULES.yaml FILE...
 *
 * FILE is either {"Records": [...]} or JSON lines whose "event" member is a
 * record.  Records the cloudtrail plugin would drop (spec
 * falco-cloudtrail-plugin.md 4.3: eventTime missing/unparseable, eventType
 * missing or AwsCloudTrailInsight) are skipped.  Prints one line per match:
 * "<file basename>\t<record index>\t<rule>".  Exits 1 when the rules do not
 * load with 0 errors, or when indexed and unindexed matching disagree.
 */
#include <jansson.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev_ct.h"
#include "ev_engine.h"
#include "ev_rectest.h"

typedef struct hits {
    const char *names[64];
    int n;
} hits;

static int on_match(const ev_rule *r, ev_event *evt, void *ud)
{
    (void)evt;
    hits *h = ud;
    if (h->n < 64)
        h->names[h->n++] = r->name;
    return 0;
}

static int s_mismatch;

static void s_record(ev_engine *e, ev_event *evt, const char *file, size_t idx, json_t *rec)
{
    const char *et = json_string_value(json_object_get(rec, "eventTime"));
    const char *ty = json_string_value(json_object_get(rec, "eventType"));
    uint64_t ts;
    if (!et || !ty || !strcmp(ty, "AwsCloudTrailInsight") ||
        ev_ct_parse_time(et, strlen(et), &ts) < 0)
        return;
    char *raw = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
    msgpack_sbuffer sb;
    char err[256];
    msgpack_sbuffer_init(&sb);
    if (ev_rectest_json(raw, strlen(raw), &sb, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s[%zu]: %s\n", file, idx, err);
        s_mismatch = 1;
        goto out;
    }
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_next(&up, sb.data, sb.size, &off);
    ev_mp_index ix;
    ev_mp_index_reset(&ix);
    ev_ct_record ct = {.map = sb.data, .map_len = off, .raw = raw, .raw_len = strlen(raw),
                       .hostname = "h", .index = &ix};
    hits a = {0}, b = {0};
    ev_event_reset(evt, &ct, ts, idx + 1);
    ev_engine_match(e, evt, on_match, &a);
    ev_event_reset(evt, &ct, ts, idx + 1);
    ev_engine_match_unindexed(e, 0, evt, on_match, &b);
    bool same = a.n == b.n;
    for (int i = 0; same && i < a.n; i++)
        same = a.names[i] == b.names[i];
    if (!same) {
        fprintf(stderr, "index mismatch on %s[%zu]: %d vs %d matches\n", file, idx, a.n, b.n);
        s_mismatch = 1;
    }
    for (int i = 0; i < a.n; i++)
        printf("%s\t%zu\t%s\n", file, idx, a.names[i]);
    msgpack_unpacked_destroy(&up);
out:
    msgpack_sbuffer_destroy(&sb);
    free(raw);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tl_corpus RULES.yaml FILE...\n");
        return 2;
    }
    const ev_source *src = ev_ct_source();
    ev_engine *e = ev_engine_new(&src, 1, NULL);
    if (ev_engine_load_file(e, argv[1]) < 0 || !ev_engine_ok(e)) {
        ev_strbuf b;
        ev_strbuf_init(&b);
        for (size_t i = 0; i < ev_engine_ndiags(e); i++) {
            ev_strbuf_reset(&b);
            ev_diag_format(ev_engine_diag(e, i), &b);
            fprintf(stderr, "%s\n", b.p);
        }
        ev_strbuf_fini(&b);
        ev_engine_free(e);
        return 1;
    }
    ev_selection all = {true, false, "*"};
    ev_engine_select(e, &all);
    ev_event evt;
    ev_event_init(&evt);
    for (int i = 2; i < argc; i++) {
        char *dup = strdup(argv[i]);
        const char *base = basename(dup);
        json_error_t je;
        json_t *doc = json_load_file(argv[i], JSON_DECODE_ANY, &je);
        json_t *recs = doc ? json_object_get(doc, "Records") : NULL;
        if (recs) {
            size_t k;
            json_t *r;
            json_array_foreach(recs, k, r)
                s_record(e, &evt, base, k, r);
        } else {
            json_decref(doc);
            doc = NULL;
            FILE *f = fopen(argv[i], "r");
            char *line = NULL;
            size_t cap = 0, k = 0;
            while (f && getline(&line, &cap, f) > 0) {
                json_t *l = json_loads(line, 0, &je);
                json_t *r = l ? json_object_get(l, "event") : NULL;
                if (r && json_is_object(r))
                    s_record(e, &evt, base, k, r);
                json_decref(l);
                k++;
            }
            free(line);
            if (f)
                fclose(f);
        }
        json_decref(doc);
        free(dup);
    }
    ev_event_fini(&evt);
    ev_engine_free(e);
    return s_mismatch;
}
