/*
 * aws_s3.c - the S3 polling source (see aws_s3.h for the design).
 *
 * Owner: AWS ingestion (fetcher/aws/).
 *
 * A poll cycle is a sequence of list operations run one at a time:
 * discovery listings (delimiter "/") walk down from the URI's prefix to
 * the account/region roots, then each root is listed from its checkpoint.
 * Listed keys go to aws_objq, whose GetObject requests run concurrently
 * beside the listings and which talks to the sink; digest keys go to
 * aws_integrity when validate_digests is on.
 */
#include "aws_s3.h"

#include "aws_buf.h"
#include "aws_integrity.h"
#include "aws_objq.h"
#include "aws_s3_list.h"
#include "aws_seen.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_REDIRECTS 2
#define S_LIST_MAX (16u << 20)

enum { LV_OUTSIDE, LV_AWSLOGS, LV_ORG, LV_ACCT, LV_KIND, LV_ROOT };

typedef struct s_root {
    char *prefix;
    time_t high_water;          /* newest delivery time seen */
} s_root;

typedef struct aws_s3 {
    fe_source base;
    aws_s3_opts o;
    char *bucket, *prefix, *uri, *start_spec;
    aws_client *client;
    const aws_config *cfg;
    aws_objq *objq;
    aws_integrity *integ;       /* NULL unless validate_digests */
    uv_loop_t *loop;
    uv_timer_t timer;
    const fe_source_sink *sink;
    time_t start_time;
    aws_seen *seen;
    aws_s3_stats st;
    /* cycle */
    char **disc;                /* discovery stack */
    size_t ndisc, capdisc;
    s_root *roots;
    size_t nroots, caproots;
    size_t root_idx;
    int phase;                  /* 0 idle, 1 discovering, 2 listing */
    char *list_prefix, *list_token, *list_start_after;
    int list_delim, list_redirects;
    aws_call *list_call;
    bool cycle_complete;
    bool stopped, done_sent, started;
    uint64_t qr_seen;           /* objq region redirects already counted */
} aws_s3;

static void s_list_next(aws_s3 *s);
static void s_check_done(aws_s3 *s);

/* ---- small helpers ---------------------------------------------------------- */

time_t aws_s3_parse_start(const char *spec, time_t now)
{
    if (!spec || !*spec)
        spec = "24h";
    char *end;
    errno = 0;
    long long v = strtoll(spec, &end, 10);
    if (end != spec && errno == 0 && v >= 0) {
        long long mult = 0;
        if (!strcmp(end, "s") || !*end)
            mult = 1;
        else if (!strcmp(end, "m"))
            mult = 60;
        else if (!strcmp(end, "h"))
            mult = 3600;
        else if (!strcmp(end, "d"))
            mult = 86400;
        if (mult && v < 3650LL * 86400)
            return now - (time_t)(v * mult);
    }
    return aws_parse_iso8601(spec);
}

static void s_failed(aws_s3 *s, const char *key, const char *msg)
{
    char uri[2048];
    snprintf(uri, sizeof uri, "s3://%s/%s", s->bucket, key ? key : s->prefix);
    if (s->sink && s->sink->failed)
        s->sink->failed(s->sink->ud, &s->base, uri, msg);
}

static void s_http_error(aws_s3 *s, const char *what, const char *key, int rc,
                         const aws_http_response *resp)
{
    char msg[256];
    if (rc < 0) {
        snprintf(msg, sizeof msg, "%s: %s", what,
                 rc == AWS_CREDS_ENOTFOUND ? "no AWS credentials found"
                                           : aws_http_strerror(rc));
    } else {
        char *code = NULL;
        aws_s3_error_parse(resp->body, resp->body_len, &code, NULL);
        snprintf(msg, sizeof msg, "%s: HTTP %ld%s%s", what, resp->status,
                 code ? " " : "", code ? code : "");
        free(code);
    }
    s_failed(s, key, msg);
}

/* ---- discovery ---------------------------------------------------------- */

/* Level of a prefix ending in '/' relative to the CloudTrail layout. */
static int s_level(const char *prefix)
{
    const char *c[64];
    size_t cl[64], n = 0;
    const char *p = prefix;
    while (*p && n < 64) {
        const char *e = strchr(p, '/');
        if (!e)
            e = p + strlen(p);
        c[n] = p;
        cl[n++] = (size_t)(e - p);
        p = *e ? e + 1 : e;
    }
    ssize_t at = -1;
    for (size_t i = 0; i < n; i++)
        if (cl[i] == 7 && !strncmp(c[i], "AWSLogs", 7))
            at = (ssize_t)i;
    if (at < 0)
        return LV_OUTSIDE;
    size_t i = (size_t)at + 1, rest = n - i;
    bool org = rest > 0 && cl[i] > 2 && !strncmp(c[i], "o-", 2);
    if (org)
        rest--;
    switch (rest) {
    case 0: return org ? LV_ORG : LV_AWSLOGS;
    case 1: return LV_ACCT;
    case 2: return LV_KIND;
    default: return LV_ROOT;
    }
}

static const char *s_last_component(const char *prefix, size_t *len)
{
    size_t n = strlen(prefix);
    if (n && prefix[n - 1] == '/')
        n--;
    size_t b = n;
    while (b && prefix[b - 1] != '/')
        b--;
    *len = n - b;
    return prefix + b;
}

static bool s_all_digits(const char *c, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)c[i]))
            return false;
    return true;
}

static void s_add_root(aws_s3 *s, const char *prefix)
{
    for (size_t i = 0; i < s->nroots; i++)
        if (!strcmp(s->roots[i].prefix, prefix))
            return;
    if (s->nroots == s->caproots) {
        s->caproots = s->caproots ? s->caproots * 2 : 8;
        s_root *r = realloc(s->roots, s->caproots * sizeof *r);
        if (!r)
            abort();
        s->roots = r;
    }
    s->roots[s->nroots].prefix = aws_strdup(prefix);
    s->roots[s->nroots++].high_water = 0;
    s->st.roots = s->nroots;
}

static void s_push_disc(aws_s3 *s, const char *prefix)
{
    if (s->ndisc == s->capdisc) {
        s->capdisc = s->capdisc ? s->capdisc * 2 : 16;
        char **v = realloc(s->disc, s->capdisc * sizeof *v);
        if (!v)
            abort();
        s->disc = v;
    }
    s->disc[s->ndisc++] = aws_strdup(prefix);
}

/* A common prefix found while discovering under `parent`. */
static void s_discovered(aws_s3 *s, const char *parent, const char *child)
{
    size_t n;
    const char *last = s_last_component(child, &n);
    switch (s_level(parent)) {
    case LV_OUTSIDE:
        if (n == 7 && !strncmp(last, "AWSLogs", 7))
            s_push_disc(s, child);
        break;
    case LV_AWSLOGS:
        if ((n > 2 && !strncmp(last, "o-", 2)) || s_all_digits(last, n))
            s_push_disc(s, child);
        break;
    case LV_ORG:
        if (s_all_digits(last, n))
            s_push_disc(s, child);
        break;
    case LV_ACCT:
        if ((n == 10 && !strncmp(last, "CloudTrail", 10)) ||
            ((s->o.include_digest || s->o.validate_digests) && n == 17 &&
             !strncmp(last, "CloudTrail-Digest", 17)) ||
            (s->o.include_insight && n == 18 && !strncmp(last, "CloudTrail-Insight", 18)))
            s_push_disc(s, child);
        break;
    case LV_KIND:
        s_add_root(s, child);
        break;
    default:
        break;
    }
}

/* ---- list operations ------------------------------------------------------- */

static void s_list_clear(aws_s3 *s)
{
    free(s->list_prefix);
    free(s->list_token);
    free(s->list_start_after);
    s->list_prefix = s->list_token = s->list_start_after = NULL;
    s->list_redirects = 0;
}

static void s_on_list(int rc, const aws_http_response *resp, void *data);

static void s_list_send(aws_s3 *s)
{
    const char *region = aws_objq_region(s->objq, s->bucket);
    char *base = aws_s3_bucket_url(s->cfg, s->bucket, region, s->o.path_style,
                                   s->o.virtual_host);
    aws_buf u;
    aws_buf_init(&u);
    /* path style: /bucket?...; virtual host: /?... */
    bool vhost = !strchr(base + 8, '/');
    aws_buf_printf(&u, "%s%s?list-type=2&max-keys=1000", base, vhost ? "/" : "");
    free(base);
    char *e;
    e = aws_uri_encode(s->list_prefix, strlen(s->list_prefix), 0);
    aws_buf_printf(&u, "&prefix=%s", e);
    free(e);
    if (s->list_delim)
        aws_buf_puts(&u, "&delimiter=%2F");
    if (s->list_start_after && !s->list_token) {
        e = aws_uri_encode(s->list_start_after, strlen(s->list_start_after), 0);
        aws_buf_printf(&u, "&start-after=%s", e);
        free(e);
    }
    if (s->list_token) {
        e = aws_uri_encode(s->list_token, strlen(s->list_token), 0);
        aws_buf_printf(&u, "&continuation-token=%s", e);
        free(e);
    }
    aws_http_request rq = {.method = "GET", .url = aws_buf_str(&u),
                           .timeout_ms = 60000, .max_response = S_LIST_MAX};
    s->st.list_requests++;
    int rc = aws_client_send(s->client, &rq, region, "s3",
                             AWS_SIGV4_S3 | AWS_SIGV4_CONTENT_SHA256,
                             AWS_SIGV4_UNSIGNED_PAYLOAD, s_on_list, s,
                             &s->list_call);
    aws_buf_fini(&u);
    if (rc != 0) {
        s->list_call = NULL;
        s->st.list_errors++;
        s_failed(s, NULL, "ListObjectsV2: cannot send request");
        s_list_clear(s);
        s_list_next(s);
    }
}

static void s_enqueue(aws_s3 *s, s_root *root, const aws_s3_entry *e)
{
    s->st.listed++;
    aws_ct_key k;
    if (aws_ct_key_parse(e->key, &k) == 0) {
        if (k.kind == AWS_CT_DIGEST && s->integ && !s->o.include_digest) {
            if (aws_seen_add(s->seen, e->key))
                aws_integrity_digest(s->integ, s->bucket, e->key,
                                     aws_objq_region(s->objq, s->bucket));
            else
                s->st.skipped_seen++;
            return;
        }
        if ((k.kind == AWS_CT_DIGEST && !s->o.include_digest) ||
            (k.kind == AWS_CT_INSIGHT && !s->o.include_insight)) {
            s->st.skipped_kind++;
            return;
        }
        time_t floor = s->start_time;
        if (root->high_water - (time_t)s->o.lookback_s > floor)
            floor = root->high_water - (time_t)s->o.lookback_s;
        if (k.delivered >= 0 && k.delivered < floor) {
            s->st.skipped_old++;
            return;
        }
        if (k.delivered > root->high_water)
            root->high_water = k.delivered;
    } else if (e->key[0] && e->key[strlen(e->key) - 1] == '/') {
        return;   /* folder marker */
    }
    if (!aws_seen_add(s->seen, e->key)) {
        s->st.skipped_seen++;
        return;
    }
    aws_objq_add(s->objq, s->bucket, e->key, e->etag, aws_strdup(e->key));
}

static void s_on_list(int rc, const aws_http_response *resp, void *data)
{
    aws_s3 *s = data;
    s->list_call = NULL;
    if (rc == 0 && resp->status != 200 && s->list_redirects < S_MAX_REDIRECTS &&
        aws_objq_redirect(s->objq, s->bucket, resp)) {
        s->list_redirects++;
        s_list_send(s);
        return;
    }
    aws_s3_page page;
    if (rc != 0 || resp->status != 200 ||
        aws_s3_page_parse(resp->body, resp->body_len, &page) != 0) {
        s->st.list_errors++;
        if (rc == 0 && resp->status == 200)
            s_failed(s, NULL, "ListObjectsV2: malformed response");
        else
            s_http_error(s, "ListObjectsV2", NULL, rc, resp);
        s_list_clear(s);
        s_list_next(s);
        return;
    }
    if (s->phase == 1) {
        for (size_t i = 0; i < page.nprefixes; i++)
            s_discovered(s, s->list_prefix, page.prefixes[i]);
    } else {
        s_root *root = &s->roots[s->root_idx];
        for (size_t i = 0; i < page.n; i++)
            s_enqueue(s, root, &page.entries[i]);
    }
    if (page.truncated) {
        free(s->list_token);
        s->list_token = aws_strdup(page.next_token);
        aws_s3_page_fini(&page);
        s_list_send(s);
        return;
    }
    aws_s3_page_fini(&page);
    if (s->phase == 2)
        s->root_idx++;
    s_list_clear(s);
    s_list_next(s);
}

static void s_check_done(aws_s3 *s)
{
    if (s->o.once && s->cycle_complete && !s->done_sent &&
        aws_objq_idle(s->objq) && (!s->integ || aws_integrity_idle(s->integ)) &&
        !s->stopped) {
        s->done_sent = true;
        s->sink->done(s->sink->ud, &s->base);
    }
}

static void s_on_timer(uv_timer_t *t);

/* Start the next list operation of the cycle, or end the cycle. */
static void s_list_next(aws_s3 *s)
{
    if (s->stopped)
        return;
    if (s->phase == 1 && s->ndisc > 0) {
        char *p = s->disc[--s->ndisc];
        if (s_level(p) == LV_ROOT) {
            s_add_root(s, p);
            free(p);
            s_list_next(s);
            return;
        }
        s->list_prefix = p;
        s->list_delim = 1;
        s_list_send(s);
        return;
    }
    if (s->phase == 1) {
        s->phase = 2;
        s->root_idx = 0;
    }
    if (s->phase == 2 && s->root_idx < s->nroots) {
        s_root *r = &s->roots[s->root_idx];
        time_t t = s->start_time;
        if (r->high_water - (time_t)s->o.lookback_s > t)
            t = r->high_water - (time_t)s->o.lookback_s;
        s->list_prefix = aws_strdup(r->prefix);
        s->list_delim = 0;
        if (t > 0 && s_level(r->prefix) == LV_ROOT) {
            /* StartAfter the day folder: lists that day and later */
            struct tm tm;
            gmtime_r(&t, &tm);
            char day[16];
            strftime(day, sizeof day, "%Y/%m/%d/", &tm);
            aws_buf sa;
            aws_buf_init(&sa);
            aws_buf_printf(&sa, "%s%s", r->prefix, day);
            s->list_start_after = aws_buf_steal(&sa);
        }
        s_list_send(s);
        return;
    }
    s->phase = 0;
    s->cycle_complete = true;
    if (s->o.once)
        s_check_done(s);
    else
        uv_timer_start(&s->timer, s_on_timer, s->o.interval_s * 1000ull, 0);
}

static void s_cycle(aws_s3 *s)
{
    if (s->stopped || s->phase != 0)
        return;
    s->st.polls++;
    s->phase = 1;
    s->cycle_complete = false;
    s_push_disc(s, s->prefix);
    s_list_next(s);
}

static void s_on_timer(uv_timer_t *t)
{
    s_cycle(t->data);
}

/* ---- objects (aws_objq) ------------------------------------------------------ */

static void s_obj_result(void *tag, int status, bool committed, const char *msg,
                         void *ud)
{
    aws_s3 *s = ud;
    char *key = tag;
    if (committed) {
        if (status < 0)
            s->st.failed_jobs++;
        else
            s->st.committed++;
    } else if (!s->stopped) {
        s->st.fetch_errors++;
        if (status != -ENOENT) {
            s_failed(s, key, msg);
            aws_seen_remove(s->seen, key);   /* the next poll retries it */
        }
    }
    free(key);
}

static void s_obj_free_tag(void *tag, void *ud)
{
    (void)ud;
    free(tag);
}

static void s_obj_fetched(void *tag, const char *bucket, const char *key,
                          const void *data, size_t len, void *ud)
{
    aws_s3 *s = ud;
    (void)tag;
    if (s->integ)
        aws_integrity_log(s->integ, bucket, key, data, len);
}

static void s_integ_report(const char *uri, const char *msg, void *ud)
{
    aws_s3 *s = ud;
    if (s->sink && !s->stopped)
        s->sink->failed(s->sink->ud, &s->base, uri, msg);
}

static void s_obj_progress(void *ud)
{
    s_check_done(ud);
}

/* ---- fe_source ops ------------------------------------------------------------ */

static int s_start(fe_source *src, uv_loop_t *loop, const fe_source_sink *sink,
                   char *err, size_t errlen)
{
    aws_s3 *s = (aws_s3 *)src;
    if (s->started) {
        snprintf(err, errlen, "s3 source already started");
        return -EINVAL;
    }
    s->loop = loop;
    s->sink = sink;
    if (sink->once)
        s->o.once = true;   /* --once: one listing pass, then done() */
    aws_objq_set_sink(s->objq, sink);
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    s->started = true;
    s->start_time = aws_s3_parse_start(s->start_spec, time(NULL));
    s_cycle(s);
    return 0;
}

static bool s_is_finite(const fe_source *src)
{
    return ((const aws_s3 *)src)->o.once;
}

static void s_resume(fe_source *src)
{
    aws_s3 *s = (aws_s3 *)src;
    aws_objq_resume(s->objq);
    s_check_done(s);
}

static void s_commit(fe_source *src, void *ref, int status)
{
    aws_s3 *s = (aws_s3 *)src;
    aws_objq_commit(s->objq, ref, status);
}

static void s_stop(fe_source *src)
{
    aws_s3 *s = (aws_s3 *)src;
    if (s->stopped)
        return;
    s->stopped = true;
    if (s->started)
        uv_timer_stop(&s->timer);
    if (s->list_call)
        aws_call_cancel(s->list_call);
    s->list_call = NULL;
    aws_objq_stop(s->objq);
    aws_integrity_free(s->integ);
    s->integ = NULL;
}

static void s_closed(uv_handle_t *h)
{
    free(h->data);
}

static void s_free(fe_source *src)
{
    aws_s3 *s = (aws_s3 *)src;
    s_stop(src);
    s_list_clear(s);
    for (size_t i = 0; i < s->ndisc; i++)
        free(s->disc[i]);
    free(s->disc);
    for (size_t i = 0; i < s->nroots; i++)
        free(s->roots[i].prefix);
    free(s->roots);
    aws_seen_free(s->seen);
    free(s->bucket);
    free(s->prefix);
    free(s->uri);
    free(s->start_spec);
    aws_objq_free(s->objq);
    if (s->started)
        uv_close((uv_handle_t *)&s->timer, s_closed);
    else
        free(s);
}

static const fe_source_ops s_ops = {
    .kind = "s3", .start = s_start, .is_finite = s_is_finite,
    .resume = s_resume, .commit = s_commit, .stop = s_stop, .free = s_free,
};

static bool s_valid_bucket(const char *b, size_t n)
{
    if (n < 3 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)b[i]) || isdigit((unsigned char)b[i]) ||
              b[i] == '-' || b[i] == '.' || b[i] == '_'))
            return false;
    return true;
}

fe_source *aws_s3_source_new(const aws_s3_opts *opts, aws_client *client,
                             const aws_config *cfg, char *err, size_t errlen)
{
    if (!opts || !opts->uri || strncmp(opts->uri, "s3://", 5) || !client || !cfg) {
        snprintf(err, errlen, "s3 source: URI must look like s3://bucket/prefix");
        return NULL;
    }
    const char *b = opts->uri + 5;
    size_t bl = strcspn(b, "/");
    if (!s_valid_bucket(b, bl)) {
        snprintf(err, errlen, "s3 source: invalid bucket name in %s", opts->uri);
        return NULL;
    }
    if (aws_s3_parse_start(opts->start, time(NULL)) < 0) {
        snprintf(err, errlen, "s3 source: bad start time (want 24h, 90m, 7d or RFC 3339)");
        return NULL;
    }
    aws_s3 *s = aws_xcalloc(1, sizeof *s);
    s->base.ops = &s_ops;
    s->o = *opts;
    s->o.uri = s->o.region = s->o.start = NULL;
    if (!s->o.interval_s)
        s->o.interval_s = 60;
    if (!s->o.lookback_s)
        s->o.lookback_s = 3600;
    if (!s->o.seen_max)
        s->o.seen_max = 200000;
    if (!s->o.concurrency)
        s->o.concurrency = 8;
    if (!s->o.max_object)
        s->o.max_object = 256u << 20;
    s->uri = aws_strdup(opts->uri);
    s->bucket = aws_strndup(b, bl);
    const char *p = b + bl;
    while (*p == '/')
        p++;
    aws_buf pre;
    aws_buf_init(&pre);
    aws_buf_puts(&pre, p);
    if (pre.len && pre.data[pre.len - 1] != '/')
        aws_buf_putc(&pre, '/');
    s->prefix = aws_buf_steal(&pre);
    s->start_spec = aws_strdup(opts->start ? opts->start : "24h");
    aws_objq_opts qo = {.concurrency = s->o.concurrency,
                        .max_object = s->o.max_object,
                        .path_style = s->o.path_style,
                        .virtual_host = s->o.virtual_host,
                        .skip_done = true,
                        .region = opts->region ? opts->region
                                  : cfg->region ? cfg->region : "us-east-1"};
    aws_objq_cbs cbs = {s_obj_result, s_obj_fetched, s_obj_progress,
                        s_obj_free_tag, s};
    if (opts->validate_digests)
        s->integ = aws_integrity_new(client, cfg, s->o.seen_max, s_integ_report,
                                     s_obj_progress, s);
    s->objq = aws_objq_new(client, cfg, &s->base, &qo, &cbs);
    s->client = client;
    s->cfg = cfg;
    s->seen = aws_seen_new(s->o.seen_max);
    return &s->base;
}

const aws_s3_stats *aws_s3_source_stats(const fe_source *src)
{
    aws_s3 *s = (aws_s3 *)src;
    const aws_objq_stats *q = aws_objq_stats_get(s->objq);
    s->st.fetched = q->fetched;
    s->st.submitted = q->submitted;
    s->st.rejected = q->rejected;
    s->st.bytes = q->bytes;
    s->st.skipped_done = q->skipped_done;
    s->st.region_redirects += q->region_redirects - s->qr_seen;
    s->qr_seen = q->region_redirects;
    return &s->st;
}

const struct aws_integrity_stats *aws_s3_source_integrity(const fe_source *s)
{
    const aws_s3 *a = (const aws_s3 *)s;
    return a->integ ? aws_integrity_stats_get(a->integ) : NULL;
}

const char *aws_s3_source_region(const fe_source *s)
{
    const aws_s3 *a = (const aws_s3 *)s;
    return aws_objq_region(a->objq, a->bucket);
}
