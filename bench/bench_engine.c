/*
 * bench_engine.c - ns/event of the rule engine alone, for three rule sets.
 *
 * The records of a corpus (CloudTrail .json/.json.gz files) are decoded once
 * into memory (raw JSON + msgpack map, exactly what an evaluator receives in
 * a batch frame), then every rule set is matched against every record,
 * several passes, and the best pass is reported:
 *
 *   upstream   ../shared/falco/aws_cloudtrail_rules.yaml (Falco's own file)
 *   shipped    every rules/ YAML file (trailguard's rule set)
 *   generated  1,000 rules written by this program: one per API name (the
 *              corpus's names plus names the corpus never has), 2% of them
 *              (every 50th) with conditions that have no `ct.name =`/`in`,
 *              in four shapes taken in turn: two with no equality on any
 *              field at all (`ct.src endswith ...`, `ct.region endswith
 *              ...`: they run on every event), one decided by the name
 *              alone (`ct.name startswith ...`) and one keyed on another
 *              field (`ct.error = ...`)
 *
 * The target: thanks to indexing, the 1,000-rule figure stays within
 * 3x of the upstream figure.  The ratio is printed from the same run.
 *
 *   trailguard-bench-engine [--upstream FILE] [--rules DIR] [--passes N]
 *                           [--only upstream|shipped|generated] [--verify] FILE|DIR...
 *
 * --only runs one rule set (for `valgrind --tool=callgrind
 * --toggle-collect=ev_engine_match`: instructions per event are then the
 * inclusive cost of ev_engine_match over records x passes).  --verify first
 * checks, record by record, that indexed dispatch reports the same rules in
 * the same order as evaluating every rule, and fails if not; the digest
 * of every record's matching rules (in order) lets two builds be compared.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <msgpack.h>

#include "ev_ct.h"
#include "ev_engine.h"
#include "pa_decode.h"

typedef struct bench_record {
    char *raw;
    size_t raw_len;
    const char *map;        /* the record's msgpack map bytes, in zone */
    size_t map_len;
    uint64_t ts_ns;
} bench_record;

typedef struct bench_corpus {
    bench_record *recs;
    size_t n, cap;
    msgpack_zone *zone;
    msgpack_sbuffer sbuf;
    char **names;           /* distinct eventNames seen */
    size_t nnames;
} bench_corpus;

static void s_die(const char *what)
{
    fprintf(stderr, "trailguard-bench-engine: %s\n", what);
    exit(2);
}

static void s_add_name(bench_corpus *c, const char *s, size_t len)
{
    for (size_t i = 0; i < c->nnames; i++)
        if (strlen(c->names[i]) == len && memcmp(c->names[i], s, len) == 0)
            return;
    c->names = realloc(c->names, (c->nnames + 1) * sizeof(*c->names));
    if (!c->names)
        s_die("out of memory");
    c->names[c->nnames++] = strndup(s, len);
}

static int s_on_record(void *data, const pa_record *rec)
{
    bench_corpus *c = data;
    msgpack_packer pk;
    msgpack_sbuffer_clear(&c->sbuf);
    msgpack_packer_init(&pk, &c->sbuf, msgpack_sbuffer_write);
    if (pa_record_pack(rec, &pk) != 0)
        return -EIO;
    /* The zone keeps the map's bytes (the sbuffer is reused). */
    char *bytes = msgpack_zone_malloc(c->zone, c->sbuf.size);
    if (!bytes)
        s_die("out of memory");
    memcpy(bytes, c->sbuf.data, c->sbuf.size);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 4096;
        c->recs = realloc(c->recs, c->cap * sizeof(*c->recs));
        if (!c->recs)
            s_die("out of memory");
    }
    bench_record *r = &c->recs[c->n++];
    r->raw = msgpack_zone_malloc(c->zone, rec->len);
    memcpy(r->raw, rec->raw, rec->len);
    r->raw_len = rec->len;
    r->map = bytes;
    r->map_len = c->sbuf.size;
    r->ts_ns = 0;
    ev_ct_record ct = {.map = r->map, .map_len = r->map_len};
    ev_ct_event_time(&ct, &r->ts_ns);
    const char *name;
    size_t nlen;
    if (ev_ct_event_name(&ct, &name, &nlen) == 0)
        s_add_name(c, name, nlen);
    return 0;
}

static char *s_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[st.st_size] = '\0';
    *len = (size_t)st.st_size;
    return buf;
}

static void s_load_path(bench_corpus *c, pa_decoder *d, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        struct dirent **ents;
        int n = scandir(path, &ents, NULL, alphasort);
        for (int i = 0; i < n; i++) {
            if (ents[i]->d_name[0] != '.') {
                char sub[4096];
                snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
                s_load_path(c, d, sub);
            }
            free(ents[i]);
        }
        free(ents);
        return;
    }
    size_t len = strlen(path);
    if (!(len > 5 && strcmp(path + len - 5, ".json") == 0) &&
        !(len > 8 && strcmp(path + len - 8, ".json.gz") == 0))
        return;
    size_t flen;
    char *buf = s_read_file(path, &flen);
    if (!buf)
        return;
    char err[512];
    pa_decode_cb cb = {.on_record = s_on_record, .on_error = NULL, .data = c};
    int rc = pa_decoder_run(d, buf, flen, path, &cb, NULL, err, sizeof(err));
    if (rc < 0)
        fprintf(stderr, "skipping %s\n", err);
    free(buf);
}

static int s_count_match(const ev_rule *rule, ev_event *evt, void *ud)
{
    (void)rule;
    (void)evt;
    (*(uint64_t *)ud)++;
    return 0;
}

/* Hash of the sequence of matching rules (order matters). */
static int s_seq_match(const ev_rule *rule, ev_event *evt, void *ud)
{
    (void)evt;
    uint64_t *h = ud;
    *h = (*h ^ (rule->index + 1)) * 1099511628211ull;
    return 0;
}

/* --verify: indexed dispatch reports exactly what evaluating every rule
 * reports, record by record.  Returns the number of differing records. */
static size_t s_verify(ev_engine *e, const bench_corpus *c, const char *what)
{
    ev_mp_index ix;
    ev_event evt;
    ev_event_init(&evt);
    size_t bad = 0;
    uint64_t digest = 1469598103934665603ull;
    for (size_t i = 0; i < c->n; i++) {
        ev_ct_record rec = {.map = c->recs[i].map, .map_len = c->recs[i].map_len,
                            .raw = c->recs[i].raw, .raw_len = c->recs[i].raw_len,
                            .hostname = "bench", .index = &ix};
        ev_mp_index_reset(&ix);
        uint64_t h1 = 1469598103934665603ull, h2 = h1;
        ev_event_reset(&evt, &rec, c->recs[i].ts_ns, i + 1);
        int n1 = ev_engine_match(e, &evt, s_seq_match, &h1);
        ev_event_reset(&evt, &rec, c->recs[i].ts_ns, i + 1);
        int n2 = ev_engine_match_unindexed(e, 0, &evt, s_seq_match, &h2);
        bad += n1 != n2 || h1 != h2;
        digest = (digest ^ h1) * 1099511628211ull;
    }
    ev_event_fini(&evt);
    printf("engine: verify %-9s %zu records, %zu differ between indexed and unindexed, "
           "digest %016" PRIx64 "\n", what, c->n, bad, digest);
    return bad;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Best ns/event over `passes` passes; alerts of one pass in *alerts. */
static double s_run(ev_engine *e, const bench_corpus *c, int passes, uint64_t *alerts)
{
    ev_mp_index ix;
    ev_event evt;
    ev_event_init(&evt);
    double best = 1e30;
    for (int p = 0; p < passes; p++) {
        uint64_t hits = 0;
        double t0 = s_now();
        for (size_t i = 0; i < c->n; i++) {
            ev_ct_record rec = {.map = c->recs[i].map, .map_len = c->recs[i].map_len,
                                .raw = c->recs[i].raw, .raw_len = c->recs[i].raw_len,
                                .hostname = "bench", .index = &ix};
            ev_mp_index_reset(&ix);
            ev_event_reset(&evt, &rec, c->recs[i].ts_ns, i + 1);
            ev_engine_match(e, &evt, s_count_match, &hits);
        }
        double ns = (s_now() - t0) * 1e9 / (double)(c->n ? c->n : 1);
        if (ns < best)
            best = ns;
        *alerts = hits;
    }
    ev_event_fini(&evt);
    return best;
}

static ev_engine *s_engine(void)
{
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    const ev_source *src = ev_ct_source();
    ev_engine *e = ev_engine_new(&src, 1, &o);
    if (!e)
        s_die("out of memory");
    return e;
}

static void s_check(ev_engine *e, const char *what)
{
    if (ev_engine_ok(e))
        return;
    fprintf(stderr, "%s failed to load:\n", what);
    for (size_t i = 0; i < ev_engine_ndiags(e); i++) {
        const ev_diag *d = ev_engine_diag(e, i);
        if (d->error)
            fprintf(stderr, "%s:%d:%d: %s (%s '%s'): %s\n", d->file, d->line, d->col,
                    d->code, d->item_type, d->item_name, d->message);
    }
    exit(2);
}

static void s_load_dir(ev_engine *e, const char *dir)
{
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        s_die("cannot read the rules directory");
    for (int i = 0; i < n; i++) {
        size_t l = strlen(ents[i]->d_name);
        if (l > 5 && strcmp(ents[i]->d_name + l - 5, ".yaml") == 0) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
            ev_engine_load_file(e, path);
        }
        free(ents[i]);
    }
    free(ents);
}

/* 1,000 rules: one per API name, the corpus's first, then names it never
 * has; every 50th rule uses a condition without ct.name equality, in the
 * four shapes described at the top.  (An earlier version used `ct.src =
 * X` for all of them: an equality, which an index on a second field makes
 * as cheap as a ct.name rule, so it no longer measured rules that have to
 * run on every event.) */
static char *s_generated_rules(const bench_corpus *c, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (!f)
        s_die("out of memory");
    for (int i = 0; i < 1000; i++) {
        char name[96];
        if ((size_t)i < c->nnames)
            snprintf(name, sizeof(name), "%s", c->names[i]);
        else
            snprintf(name, sizeof(name), "GeneratedApiCall%04d", i);
        fprintf(f, "- rule: generated rule %04d\n  desc: generated for the benchmark\n", i);
        if (i % 50 == 49) {
            switch ((i / 50) % 4) {
            case 0:
                fprintf(f, "  condition: ct.src endswith \"gen%04d.amazonaws.com\" and "
                           "ct.user != \"x\"\n", i);
                break;
            case 1:
                fprintf(f, "  condition: ct.name startswith \"Gen%04d\" and not ct.error exists\n", i);
                break;
            case 2:
                fprintf(f, "  condition: ct.user.identitytype != \"AWSService\" and "
                           "ct.region endswith \"-gen%04d\"\n", i);
                break;
            default:
                fprintf(f, "  condition: ct.error = \"Gen%04dException\" and ct.user != \"x\"\n", i);
                break;
            }
        } else
            fprintf(f, "  condition: ct.name = \"%s\" and not ct.error exists and "
                       "ct.user.identitytype != \"AWSService\"\n", name);
        fputs("  output: \"generated (user=%ct.user name=%ct.name region=%ct.region)\"\n"
              "  priority: NOTICE\n  source: aws_cloudtrail\n", f);
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    const char *upstream = "../shared/falco/aws_cloudtrail_rules.yaml";
    const char *rules_dir = "rules";
    int passes = 5;
    const char *only = NULL;
    bool verify = false;
    size_t bad = 0;
    bench_corpus c = {0};
    c.zone = msgpack_zone_new(1 << 20);
    msgpack_sbuffer_init(&c.sbuf);
    pa_decoder *d = pa_decoder_new(NULL);
    if (!c.zone || !d)
        s_die("out of memory");
    int ninputs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--upstream") == 0 && i + 1 < argc)
            upstream = argv[++i];
        else if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules_dir = argv[++i];
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--verify") == 0)
            verify = true;
        else {
            s_load_path(&c, d, argv[i]);
            ninputs++;
        }
    }
    if (!ninputs || c.n == 0)
        s_die("usage: trailguard-bench-engine [--upstream FILE] [--rules DIR] [--passes N] [--only SET] [--verify] FILE|DIR...");
    if (passes < 1)
        passes = 1;
    printf("engine: %zu records, %zu distinct eventNames, best of %d passes\n", c.n, c.nnames, passes);

    uint64_t alerts;
    double up = 0, ge = 0;
    ev_engine *e;
    if (!only || strcmp(only, "upstream") == 0) {
        e = s_engine();
        ev_engine_load_file(e, upstream);
        s_check(e, upstream);
        if (verify)
            bad += s_verify(e, &c, "upstream");
        up = s_run(e, &c, passes, &alerts);
        printf("engine: upstream  %4zu rules (%zu enabled): %8.1f ns/event  alerts=%" PRIu64 "\n",
               ev_engine_nrules(e), ev_engine_nenabled(e), up, alerts);
        ev_engine_free(e);
    }

    if (!only || strcmp(only, "shipped") == 0) {
        e = s_engine();
        s_load_dir(e, rules_dir);
        s_check(e, rules_dir);
        if (verify)
            bad += s_verify(e, &c, "shipped");
        double sh = s_run(e, &c, passes, &alerts);
        printf("engine: shipped   %4zu rules (%zu enabled): %8.1f ns/event  alerts=%" PRIu64 "  (%.2fx upstream)\n",
               ev_engine_nrules(e), ev_engine_nenabled(e), sh, alerts, up > 0 ? sh / up : 0);
        ev_engine_free(e);
    }

    if (!only || strcmp(only, "generated") == 0) {
        size_t glen;
        char *gen = s_generated_rules(&c, &glen);
        e = s_engine();
        ev_engine_load_string(e, "generated-1000.yaml", gen, glen);
        s_check(e, "generated rules");
        if (verify)
            bad += s_verify(e, &c, "generated");
        ge = s_run(e, &c, passes, &alerts);
        printf("engine: generated %4zu rules (%zu enabled): %8.1f ns/event  alerts=%" PRIu64 "  (%.2fx upstream, target <= 3x)\n",
               ev_engine_nrules(e), ev_engine_nenabled(e), ge, alerts, up > 0 ? ge / up : 0);
        ev_engine_free(e);
        free(gen);
    }

    for (size_t i = 0; i < c.nnames; i++)
        free(c.names[i]);
    free(c.names);
    free(c.recs);
    msgpack_sbuffer_destroy(&c.sbuf);
    msgpack_zone_free(c.zone);
    pa_decoder_free(d);
    if (bad)
        return 1;
    return only || ge <= 3 * up ? 0 : 1;
}
