/*
 * bench_decode.c - ns/record of the parser's work, stage by stage, without
 * the daemons or ZeroMQ.
 *
 * The files are read into memory once; then each pass runs over all of
 * them and the best of --passes is reported per record:
 *
 *   gunzip     libdeflate alone (pa_gunzip_run)
 *   parse      gunzip, record splitting and simdjson (callback does nothing)
 *   pack-dom   the reference path (split, simdjson per record) plus msgpack
 *              by the walk over simdjson's DOM API
 *   pack       the above plus msgpack by the tape walk (what the daemon does;
 *              on the one-pass path the map comes packed and is copied)
 *   frame      pack plus the batch frame around it (tg_msg_batch_*), the
 *              raw bytes copied in, a frame closed every --batch bytes
 *   unframe    frame plus what an evaluator does first with each frame:
 *              tg_msg_decode() into a zone
 *
 * The differences between lines are what each step costs.  By default
 * the decoder takes its one-pass path where it applies (pa_decode.h), so
 * "parse" already includes the packing; --reference measures the
 * reference path (split + simdjson per record) for every line.
 *
 * --only NAME runs that line alone (for instruction counts under callgrind).
 *
 *   trailguard-bench-decode [--passes N] [--batch BYTES] [--reference]
 *                           [--only NAME] FILE|DIR...
 */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <msgpack.h>

#include "pa_decode.h"
#include "tg_msg.h"

typedef struct bd_file {
    char *name;
    unsigned char *data;
    size_t len;
} bd_file;

typedef struct bd_set {
    bd_file *v;
    size_t n, cap;
} bd_set;

enum bd_mode { BD_PARSE, BD_PACK_DOM, BD_PACK, BD_FRAME, BD_UNFRAME };

typedef struct bd_run {
    enum bd_mode mode;
    msgpack_sbuffer sb;
    tg_msg_batch_builder b;
    tg_msg_hdr hdr;
    size_t batch;
    size_t records;
    size_t frames;
    msgpack_zone *zone;     /* BD_UNFRAME */
} bd_run;

/* The frame is complete: count it, and decode it in BD_UNFRAME. */
static int s_frame_done(bd_run *r)
{
    tg_msg_batch_end(&r->b);
    r->frames++;
    if (r->mode != BD_UNFRAME)
        return 0;
    tg_msg m;
    msgpack_zone_clear(r->zone);
    int rc = tg_msg_decode(r->sb.data, r->sb.size, 0, r->zone, &m, NULL, 0);
    if (rc != 0)
        fprintf(stderr, "bench-decode: frame decode: %s\n", tg_msg_strerror(rc));
    return rc;
}

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_add_file(bd_set *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -errno;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || st.st_size <= 0) {
        fclose(f);
        return 0;
    }
    unsigned char *buf = malloc((size_t)st.st_size);
    if (!buf || fread(buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
        free(buf);
        fclose(f);
        return -EIO;
    }
    fclose(f);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (!s->v)
            abort();
    }
    s->v[s->n++] = (bd_file){ strdup(path), buf, (size_t)st.st_size };
    return 0;
}

static int s_add_path(bd_set *s, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    if (!S_ISDIR(st.st_mode))
        return s_add_file(s, path);
    DIR *d = opendir(path);
    if (!d)
        return -errno;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        rc = s_add_path(s, sub);
    }
    closedir(d);
    return rc;
}

static int s_on_record(void *data, const pa_record *rec)
{
    bd_run *r = data;
    r->records++;
    switch (r->mode) {
    case BD_PARSE:
        return 0;
    case BD_PACK_DOM:
        msgpack_sbuffer_clear(&r->sb);
        if (!rec->json)
            return -EINVAL; /* run with the reference decoder only */
        return pa_json_pack_sbuffer_dom(rec->json, &r->sb);
    case BD_PACK:
        msgpack_sbuffer_clear(&r->sb);
        return pa_record_pack_sbuffer(rec, &r->sb);
    case BD_FRAME:
    case BD_UNFRAME:
        if (r->b.open && tg_msg_batch_size(&r->b) >= r->batch && s_frame_done(r) != 0)
            return -EINVAL;
        if (!r->b.open) {
            msgpack_sbuffer_clear(&r->sb);
            tg_msg_batch_begin(&r->b, &r->hdr);
        }
        (void)tg_msg_batch_record_begin(&r->b, rec->raw, rec->len);
        if (pa_record_pack_sbuffer(rec, r->b.sbuf) != 0)
            return -ENOMEM;
        tg_msg_batch_record_end(&r->b);
        return 0;
    }
    return 0;
}

/* One pass over every file; returns seconds, or < 0 on a decode failure. */
static double s_pass(const bd_set *s, pa_decoder *dec, pa_gunzip *gz, pa_buf *gbuf,
                     bd_run *r, bool gunzip_only)
{
    char err[512];
    double t0 = s_now();
    for (size_t i = 0; i < s->n; i++) {
        const bd_file *f = &s->v[i];
        if (gunzip_only) {
            if (pa_is_gzip(f->data, f->len) &&
                pa_gunzip_run(gz, f->data, f->len, gbuf, 0, err, sizeof(err)) != 0) {
                fprintf(stderr, "bench-decode: %s\n", err);
                return -1;
            }
            continue;
        }
        pa_decode_cb cb = { s_on_record, NULL, r };
        int rc = pa_decoder_run(dec, f->data, f->len, f->name, &cb, NULL, err, sizeof(err));
        if (rc < 0) {
            fprintf(stderr, "bench-decode: %s\n", err);
            return -1;
        }
        if (r->mode >= BD_FRAME && r->b.open && s_frame_done(r) != 0)
            return -1;
    }
    return s_now() - t0;
}

static int s_usage(void)
{
    fprintf(stderr, "usage: trailguard-bench-decode [--passes N] [--batch BYTES] [--reference]"
                    " [--only NAME] FILE|DIR...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int passes = 3;
    int reference = 0;
    const char *only = NULL;
    size_t batch = 1u << 20;
    bd_set set = { 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--passes") == 0 && i + 1 < argc)
            passes = atoi(argv[++i]);
        else if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc)
            batch = (size_t)strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--reference") == 0)
            reference = 1;
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (argv[i][0] == '-')
            return s_usage();
        else if (s_add_path(&set, argv[i]) != 0) {
            fprintf(stderr, "bench-decode: cannot read %s\n", argv[i]);
            return 1;
        }
    }
    if (set.n == 0 || passes < 1 || batch == 0)
        return s_usage();
    pa_decode_opts opts = {.reference = reference}, ref_opts = {.reference = 1};
    pa_decoder *dec = pa_decoder_new(&opts), *ref = pa_decoder_new(&ref_opts);
    pa_gunzip *gz = pa_gunzip_new();
    pa_buf gbuf;
    pa_buf_init(&gbuf);
    static const char *const names[] = { "gunzip", "parse", "pack-dom", "pack", "frame",
                                         "unframe" };
    size_t records = 0;
    double prev = 0;
    for (int m = -1; m <= BD_UNFRAME; m++) {
        if (only && m >= 0 && strcmp(only, names[m + 1]) != 0)
            continue;
        double best = 1e30;
        bd_run r;
        memset(&r, 0, sizeof(r));
        r.mode = m < 0 ? BD_PARSE : (enum bd_mode)m;
        r.batch = batch;
        r.zone = msgpack_zone_new(1u << 16);
        msgpack_sbuffer_init(&r.sb);
        tg_msg_batch_builder_init(&r.b, &r.sb);
        for (int p = 0; p < passes; p++) {
            r.records = 0;
            double t = s_pass(&set, m == BD_PACK_DOM ? ref : dec, gz, &gbuf, &r, m < 0);
            if (t < 0)
                return 1;
            if (t < best)
                best = t;
        }
        if (m >= 0)
            records = r.records;
        if (m < 0) {
            /* records are counted by the next pass; keep the time */
            prev = best;
            tg_msg_batch_builder_fini(&r.b);
            msgpack_sbuffer_destroy(&r.sb);
            msgpack_zone_free(r.zone);
            continue;
        }
        if (m == BD_PARSE || only)
            printf("bench-decode: %zu files, %zu records\n"
                   "bench-decode: %-9s %7.0f ns/record\n",
                   set.n, records, "gunzip", prev * 1e9 / (double)records);
        printf("bench-decode: %-9s %7.0f ns/record", names[m + 1],
               best * 1e9 / (double)records);
        if (m >= BD_FRAME)
            printf("  (%zu frames of up to %zu bytes per pass)", r.frames / (size_t)passes,
                   batch);
        printf("\n");
        tg_msg_batch_builder_fini(&r.b);
        msgpack_sbuffer_destroy(&r.sb);
        msgpack_zone_free(r.zone);
    }
    pa_buf_fini(&gbuf);
    pa_gunzip_free(gz);
    pa_decoder_free(dec);
    pa_decoder_free(ref);
    for (size_t i = 0; i < set.n; i++) {
        free(set.v[i].name);
        free(set.v[i].data);
    }
    free(set.v);
    return 0;
}
