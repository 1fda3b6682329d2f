/*
 * bench_evaluator.c - ns/record of an evaluator's work on real batch
 * frames, without the daemons or ZeroMQ.
 *
 * The corpus (CloudTrail .json/.json.gz files) is turned into batch frames
 * once, exactly as the parser does (pa_decoder, tg_msg_batch_builder, a
 * frame closed every --batch bytes, 1 MiB by default).  Then each pass runs
 * what the evaluator daemon does with each frame (tg_msg_decode into a zone,
 * then ev_batch_run: match every record against the rules, render the
 * alerts, encode the alerts frame) and the best of --passes is reported:
 *
 *   decode     tg_msg_decode() alone
 *   evaluate   decode + ev_batch_run() (what the daemon's receive callback
 *              costs, sockets aside)
 *
 * The digest is sha256 over every alerts frame of a pass, in order: equal
 * digests mean byte-identical alerts frames (ids, text, JSON, tags, raw
 * records, errors).  --dump FILE writes the alerts one per line (id, rule,
 * priority, time, record, output, json) for a readable diff.
 *
 * For instruction counts, run one pass under callgrind and collect only the
 * frame loop:
 *   valgrind --tool=callgrind --toggle-collect=s_best \
 *       trailguard-bench-evaluator --passes 1 --no-digest DIR
 * (the decode pass and the evaluate pass: tg_msg_decode runs twice per
 * frame, ev_batch_run once; callgrind_annotate --inclusive=yes splits
 * them).  --no-digest skips the untimed digest pass, which callgrind
 * would otherwise count too.
 *
 *   trailguard-bench-evaluator [--rules DIR] [--passes N] [--batch BYTES]
 *                              [--dump FILE] [--no-digest] FILE|DIR...
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

#include "ev_batch.h"
#include "ev_ct.h"
#include "ev_engine.h"
#include "pa_decode.h"
#include "tg_hash.h"
#include "tg_msg.h"

typedef struct be_frame {
    char *data;
    size_t len;
} be_frame;

typedef struct be_corpus {
    be_frame *v;
    size_t n, cap;
    size_t records;
    /* building */
    msgpack_sbuffer sb;
    tg_msg_batch_builder b;
    tg_msg_hdr hdr;
    size_t batch;
    uint64_t job;
} be_corpus;

static void s_die(const char *what)
{
    fprintf(stderr, "trailguard-bench-evaluator: %s\n", what);
    exit(2);
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- building frames as the parser does -------------------------------- */

/* Close the open frame and keep a copy; the last frame of a file carries
 * the batch count. */
static void s_frame_close(be_corpus *c, bool last)
{
    tg_msg_batch_end(&c->b);
    if (last)
        tg_msg_batch_patch_count(c->sb.data, c->sb.size, c->hdr.index + 1);
    if (c->n == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->v = realloc(c->v, c->cap * sizeof(*c->v));
        if (!c->v)
            s_die("out of memory");
    }
    char *copy = malloc(c->sb.size);
    if (!copy)
        s_die("out of memory");
    memcpy(copy, c->sb.data, c->sb.size);
    c->v[c->n++] = (be_frame){ copy, c->sb.size };
    c->hdr.index++;
}

static void s_frame_open(be_corpus *c, uint64_t first)
{
    msgpack_sbuffer_clear(&c->sb);
    c->hdr.first = first;
    tg_msg_batch_begin(&c->b, &c->hdr);
}

static int s_on_record(void *data, const pa_record *rec)
{
    be_corpus *c = data;
    if (c->b.open && (tg_msg_batch_size(&c->b) >= c->batch ||
                      c->hdr.first + c->b.nrecords != rec->index))
        s_frame_close(c, false);
    if (!c->b.open)
        s_frame_open(c, rec->index);
    (void)tg_msg_batch_record_begin(&c->b, rec->raw, rec->len);
    if (pa_record_pack_sbuffer(rec, c->b.sbuf) != 0) {
        tg_msg_batch_record_abort(&c->b);
        return 0;
    }
    tg_msg_batch_record_end(&c->b);
    c->records++;
    return 0;
}

static char *s_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    char *buf = NULL;
    if (fstat(fileno(f), &st) == 0 && st.st_size > 0 &&
        (buf = malloc((size_t)st.st_size)) &&
        fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = buf ? (size_t)st.st_size : 0;
    return buf;
}

/* One file = one job: identity and uri name the file, like the fetcher. */
static void s_add_file(be_corpus *c, pa_decoder *dec, const char *path)
{
    size_t len;
    char *data = s_read(path, &len);
    if (!data)
        return;
    char uri[4200], err[512];
    snprintf(uri, sizeof(uri), "file://%s", path);
    c->hdr = (tg_msg_hdr){ .job = ++c->job, .ack = tg_str_c("ipc://bench-ack"),
                           .uri = tg_str_c(uri), .identity = tg_str_c(path) };
    pa_decode_cb cb = { s_on_record, NULL, c };
    if (pa_decoder_run(dec, data, len, path, &cb, NULL, err, sizeof(err)) < 0)
        fprintf(stderr, "trailguard-bench-evaluator: %s\n", err);
    if (c->b.open)
        s_frame_close(c, true);
    free(data);
}

static void s_add_path(be_corpus *c, pa_decoder *dec, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        s_die("cannot read an input");
    if (!S_ISDIR(st.st_mode)) {
        s_add_file(c, dec, path);
        return;
    }
    struct dirent **ents;
    int n = scandir(path, &ents, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (ents[i]->d_name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof(sub), "%s/%s", path, ents[i]->d_name);
            s_add_path(c, dec, sub);
        }
        free(ents[i]);
    }
    free(ents);
}

/* ---- rules, as the daemon loads them ----------------------------------- */

static bool s_is_rules_file(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' &&
           ((n > 5 && strcmp(name + n - 5, ".yaml") == 0) ||
            (n > 4 && strcmp(name + n - 4, ".yml") == 0));
}

static ev_engine *s_engine(const ev_source *src, const char *dir)
{
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    ev_engine *e = ev_engine_new(&src, 1, &o);
    if (!e)
        s_die("out of memory");
    struct dirent **ents;
    int n = scandir(dir, &ents, NULL, alphasort);
    if (n < 0)
        s_die("cannot read the rules directory");
    for (int i = 0; i < n; i++) {
        if (s_is_rules_file(ents[i]->d_name)) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", dir, ents[i]->d_name);
            ev_engine_load_file(e, path);
        }
        free(ents[i]);
    }
    free(ents);
    if (!ev_engine_ok(e))
        s_die("the rules did not load");
    return e;
}

/* ---- the measured loop -------------------------------------------------- */

typedef struct be_run {
    ev_batch *batch;
    ev_engine *engine;
    const char *ruleset;
    msgpack_zone zone;
    msgpack_sbuffer out;
    tg_sha256 *digest;
    bool evaluate;
    uint64_t alerts;
    FILE *dump;
} be_run;

static void s_dump_alerts(FILE *f, const char *frame, size_t len)
{
    msgpack_zone z;
    msgpack_zone_init(&z, 1u << 16);
    tg_msg m;
    if (tg_msg_decode(frame, len, 0, &z, &m, NULL, 0) != 0 || m.kind != TG_MSG_ALERTS)
        s_die("an alerts frame does not decode");
    for (uint32_t i = 0; i < m.u.alerts.nalerts; i++) {
        tg_msg_alert a;
        tg_msg_alert_get(&m.u.alerts, i, &a);
        fprintf(f, "%.*s\t%.*s\t%.*s\t%" PRIu64 "\t%" PRIu64 "\t%.*s\t%.*s\n",
                (int)a.id.n, a.id.p, (int)a.rule.n, a.rule.p, (int)a.priority.n,
                a.priority.p, a.time_ns, a.record, (int)a.output.n, a.output.p,
                (int)a.json.n, a.json.p);
    }
    msgpack_zone_destroy(&z);
}

/* Every frame once; with r->digest set, hash (and maybe dump) the alerts
 * frames.  noinline: callgrind's --toggle-collect target. */
__attribute__((noinline)) static void s_eval_frames(const be_corpus *c, be_run *r)
{
    for (size_t i = 0; i < c->n; i++) {
        tg_msg m;
        msgpack_zone_clear(&r->zone);
        if (tg_msg_decode(c->v[i].data, c->v[i].len, 64u << 20, &r->zone, &m, NULL, 0) != 0 ||
            m.kind != TG_MSG_BATCH)
            s_die("a batch frame does not decode");
        if (!r->evaluate)
            continue;
        ev_batch_result res;
        r->out.size = 0;
        ev_batch_run(r->batch, r->engine, r->ruleset, &m.u.batch, &r->out, &res);
        r->alerts += res.nalerts;
        if (r->dump)
            s_dump_alerts(r->dump, r->out.data, r->out.size);
        if (r->digest)
            tg_sha256_update(r->digest, r->out.data, r->out.size);
    }
}

static double s_best(const be_corpus *c, be_run *r, int passes)
{
    double best = 1e30;
    for (int p = 0; p < passes; p++) {
        r->alerts = 0;
        double t0 = s_now();
        s_eval_frames(c, r);
        double t = s_now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

/* One more pass, not timed, for the digest (and the dump). */
static __attribute__((noinline)) void s_check_pass(const be_corpus *c, be_run *r, char *hex)
{
    if (!(r->digest = tg_sha256_new()))
        s_die("out of memory");
    r->alerts = 0;
    s_eval_frames(c, r);
    tg_sha256_final_hex(r->digest, hex);
    tg_sha256_free(r->digest);
    r->digest = NULL;
    if (r->dump)
        fclose(r->dump);
    r->dump = NULL;
}

static int s_usage(void)
{
    fprintf(stderr, "usage: trailguard-bench-evaluator [--rules DIR] [--passes N] "
                    "[--batch BYTES] [--dump FILE] [--no-digest] FILE|DIR...\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *rules = "rules", *dump = NULL;
    bool digest = true;
    int passes = 5;
    be_corpus c = { .batch = 1u << 20 };
    msgpack_sbuffer_init(&c.sb);
    tg_msg_batch_builder_init(&c.b, &c.sb);
    pa_decoder *dec = pa_decoder_new(NULL);
    int ninputs = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--rules") == 0 && i + 1 < argc)
            rules = argv[++i];
        else if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            c.batch = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--dump") == 0 && i + 1 < argc)
            dump = argv[++i];
        else if (strcmp(argv[i], "--no-digest") == 0)
            digest = false;
        else if (argv[i][0] == '-')
            return s_usage();
        else {
            s_add_path(&c, dec, argv[i]);
            ninputs++;
        }
    }
    if (!ninputs || c.records == 0 || passes < 1 || c.batch == 0)
        return s_usage();
    pa_decoder_free(dec);
    tg_msg_batch_builder_fini(&c.b);
    msgpack_sbuffer_destroy(&c.sb);

    ev_ct_ctx ctx = { 0 };
    ev_source src;
    ev_ct_source_init(&src, &ctx);
    be_run r = { .engine = s_engine(&src, rules) };
    r.ruleset = ev_engine_ruleset_hash(r.engine);
    r.batch = ev_batch_new(NULL);
    msgpack_zone_init(&r.zone, 1u << 20);
    msgpack_sbuffer_init(&r.out);
    printf("bench-evaluator: %zu records in %zu frames, %zu rules (%zu enabled), best of %d\n",
           c.records, c.n, ev_engine_nrules(r.engine), ev_engine_nenabled(r.engine), passes);

    r.evaluate = false;
    double dec_s = s_best(&c, &r, passes);
    printf("bench-evaluator: decode   %7.1f ns/record\n", dec_s * 1e9 / (double)c.records);
    r.evaluate = true;
    double ev_s = s_best(&c, &r, passes);
    if (dump && !(r.dump = fopen(dump, "w")))
        s_die("cannot write the dump file");
    char hex[TG_SHA256_HEX_LEN + 1] = "-";
    if (digest || dump)
        s_check_pass(&c, &r, hex);
    printf("bench-evaluator: evaluate %7.1f ns/record  alerts=%" PRIu64 "  digest=%.16s\n",
           ev_s * 1e9 / (double)c.records, r.alerts, hex);

    ev_batch_free(r.batch);
    ev_engine_free(r.engine);
    msgpack_zone_destroy(&r.zone);
    msgpack_sbuffer_destroy(&r.out);
    for (size_t i = 0; i < c.n; i++)
        free(c.v[i].data);
    free(c.v);
    return 0;
}
