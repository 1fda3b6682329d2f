/*
 * nt_out_cloudwatch.c - the `cloudwatch` output: CloudWatch Logs
 * PutLogEvents.
 *
 * Owner: notifier outputs.
 *
 * DESIGN
 * One log event per alert: timestamp = the event time (ms), message =
 * Falco's JSON (format: json) or the rendered text, cut to
 * max_event_size with a note.  A batch is sorted by timestamp (stable,
 * so equal times keep submit order) and split into PutLogEvents calls
 * that respect the API's rules: ≤ 10,000 events, ≤ 1,048,576 bytes
 * counted as message bytes + 26 per event, and ≤ 24 h between the first
 * and the last event.  Calls go one after another.  Sequence tokens are
 * not used (AWS ignores them now).
 *
 * The group and stream are created on first use when create_log_group /
 * create_log_stream are set (ResourceAlreadyExistsException is fine).
 * ResourceNotFoundException (deleted meanwhile) retries and creates again.
 * A 200 answer may carry rejectedLogEventsInfo: events before
 * tooOldLogEventEndIndex / expiredLogEventEndIndex and from
 * tooNewLogEventStartIndex on were refused by CloudWatch and are counted
 * as rejected (retrying cannot make them acceptable); the rest arrived.
 */
#include "nt_plugin.h"

#include "aws_buf.h"
#include "nt_aws.h"
#include "nt_http.h"
#include "nt_template.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_MAX_EVENTS 10000
#define S_MAX_BYTES 1048576u
#define S_EVENT_OVERHEAD 26u
#define S_MAX_SPAN_MS (24ull * 3600 * 1000)

typedef struct nt_out_cw {
    char *region;
    char *endpoint;
    char *ca_file;
    char *group;
    char *stream;
    int create_group;
    int create_stream;
    char *format;
    int64_t max_event;
    /* state */
    nt_aws aws;
    int ready;              /* group/stream known to exist */
    int setup_step;         /* 0 group, 1 stream */
    nt_batch *b;
    size_t *order;          /* batch indexes sorted by time */
    size_t first, end;      /* positions in order of the call in flight */
} nt_out_cw;

#define L(f) offsetof(nt_out_cw, f)
static const nt_conf_entry s_map[] = {
    {NT_CONF_STR, "log_group", NULL, L(group), "log group name (required)"},
    {NT_CONF_STR, "log_stream", "trailguard-alerts", L(stream), "log stream name"},
    {NT_CONF_BOOL, "create_log_group", "false", L(create_group),
     "create the log group if it does not exist"},
    {NT_CONF_BOOL, "create_log_stream", "true", L(create_stream),
     "create the log stream if it does not exist"},
    {NT_CONF_STR, "format", "json", L(format), "json (Falco JSON) or text"},
    {NT_CONF_SIZE, "max_event_size", "256K", L(max_event),
     "longer messages are cut (with a note)"},
    {NT_CONF_STR, "region", NULL, L(region), "AWS region (default AWS_REGION)"},
    {NT_CONF_STR, "endpoint", NULL, L(endpoint),
     "endpoint URL (default https://logs.<region>.amazonaws.com)"},
    {NT_CONF_STR, "ca_file", NULL, L(ca_file), "CA bundle for the endpoint"},
    {0, NULL, NULL, 0, NULL},
};
#undef L

static int s_init(void *ctx, const nt_plugin_env *env, char *err,
                  size_t errlen)
{
    nt_out_cw *c = ctx;
    if (!c->group || !*c->group || !c->stream || !*c->stream) {
        snprintf(err, errlen, "cloudwatch output needs log_group and log_stream");
        return -EINVAL;
    }
    if (strcmp(c->format, "json") && strcmp(c->format, "text")) {
        snprintf(err, errlen, "format must be json or text");
        return -EINVAL;
    }
    if (c->max_event < 64 || c->max_event > (int64_t)(S_MAX_BYTES - S_EVENT_OVERHEAD))
        c->max_event = (int64_t)(S_MAX_BYTES - S_EVENT_OVERHEAD);
    c->ready = !c->create_group && !c->create_stream;
    int rc = nt_aws_init(&c->aws, env->loop, "logs", c->region, c->endpoint,
                         c->ca_file, err, errlen);
    if (rc < 0)
        nt_aws_fini(&c->aws);
    return rc;
}

static uint64_t s_ms(const nt_alert *a)
{
    return a->time_ns / 1000000ull;
}

static const nt_str *s_msg(const nt_out_cw *c, const nt_alert *a)
{
    return strcmp(c->format, "text") == 0 ? &a->output : &a->json;
}

/* Bytes the message takes once cut to max_event. */
static size_t s_msg_len(const nt_out_cw *c, const nt_alert *a)
{
    size_t n = s_msg(c, a)->n;
    return n > (size_t)c->max_event ? (size_t)c->max_event : n;
}

static void s_finish(nt_out_cw *c)
{
    nt_batch *b = c->b;
    free(c->order);
    c->order = NULL;
    c->b = NULL;
    nt_batch_done(b);
}

static void s_put(nt_out_cw *c);
static void s_setup(nt_out_cw *c);

static void s_fail_rest(nt_out_cw *c, int r, int rc,
                        const aws_http_response *resp, const char *what,
                        const char *type)
{
    nt_batch *b = c->b;
    for (size_t k = c->first; k < b->n; k++)
        if (r == NT_ITEM_RETRY || k < c->end)
            b->result[c->order[k]] = (uint8_t)r;
    if (rc < 0)
        snprintf(b->err, sizeof(b->err), "%s: %s", what, aws_http_strerror(rc));
    else
        snprintf(b->err, sizeof(b->err), "%s: HTTP %ld %s", what,
                 resp ? resp->status : 0, type);
    b->retry_after_ms = nt_http_retry_after(resp, (int64_t)time(NULL));
}

static void s_on_put(int rc, const aws_http_response *resp, void *data)
{
    nt_out_cw *c = data;
    nt_batch *b = c->b;
    char type[128];
    int r = nt_aws_classify(rc, resp, type, sizeof(type));
    if (r == NT_ITEM_OK || strstr(type, "DataAlreadyAccepted")) {
        for (size_t k = c->first; k < c->end; k++)
            b->result[c->order[k]] = NT_ITEM_OK;
        json_t *j = resp->body_len ? json_loadb(resp->body, resp->body_len, 0, NULL)
                                   : NULL;
        json_t *rej = json_object_get(j, "rejectedLogEventsInfo");
        if (rej) {
            size_t n = c->end - c->first;
            json_int_t old = json_integer_value(json_object_get(rej, "tooOldLogEventEndIndex"));
            json_int_t exp = json_integer_value(json_object_get(rej, "expiredLogEventEndIndex"));
            json_t *tn = json_object_get(rej, "tooNewLogEventStartIndex");
            size_t cut_old = (size_t)(old > exp ? old : exp);
            size_t new_from = tn ? (size_t)json_integer_value(tn) : n;
            size_t count = 0;
            for (size_t k = 0; k < n; k++)
                if (k < cut_old || k >= new_from) {
                    b->result[c->order[c->first + k]] = NT_ITEM_REJECT;
                    count++;
                }
            snprintf(b->err, sizeof(b->err), "PutLogEvents rejected %zu "
                     "events outside CloudWatch's time window", count);
        }
        json_decref(j);
        if (c->end < b->n) {
            c->first = c->end;
            s_put(c);
            return;
        }
        s_finish(c);
        return;
    }
    if (strstr(type, "ResourceNotFound") && (c->create_group || c->create_stream))
        c->ready = 0;
    s_fail_rest(c, r, rc, resp, "PutLogEvents", type);
    if (r == NT_ITEM_REJECT && c->end < b->n) {
        c->first = c->end;
        s_put(c);
        return;
    }
    s_finish(c);
}

static void s_put(nt_out_cw *c)
{
    nt_batch *b = c->b;
    aws_buf body;
    aws_buf_init(&body);
    aws_buf_puts(&body, "{\"logGroupName\":\"");
    nt_json_escape(&body, c->group, strlen(c->group));
    aws_buf_puts(&body, "\",\"logStreamName\":\"");
    nt_json_escape(&body, c->stream, strlen(c->stream));
    aws_buf_puts(&body, "\",\"logEvents\":[");
    size_t k = c->first, bytes = 0;
    uint64_t t0 = s_ms(b->alerts[c->order[k]]);
    while (k < b->n && k - c->first < S_MAX_EVENTS) {
        const nt_alert *a = b->alerts[c->order[k]];
        size_t ml = s_msg_len(c, a);
        if (k > c->first && (bytes + ml + S_EVENT_OVERHEAD > S_MAX_BYTES ||
                             s_ms(a) - t0 > S_MAX_SPAN_MS))
            break;
        bytes += ml + S_EVENT_OVERHEAD;
        const nt_str *m = s_msg(c, a);
        aws_buf_printf(&body, "%s{\"timestamp\":%llu,\"message\":\"",
                       k > c->first ? "," : "", (unsigned long long)s_ms(a));
        if (m->n > ml) {
            /* cut, leaving room for the note, on a UTF-8 boundary */
            char note[64];
            snprintf(note, sizeof(note), " [truncated %zu bytes]", m->n);
            size_t keep = ml - strlen(note);
            while (keep > 0 && ((unsigned char)m->p[keep] & 0xC0) == 0x80)
                keep--;
            nt_json_escape(&body, m->p, keep);
            nt_json_escape(&body, note, strlen(note));
        } else if (m->p) {
            nt_json_escape(&body, m->p, m->n);
        }
        aws_buf_puts(&body, "\"}");
        k++;
    }
    aws_buf_puts(&body, "]}");
    c->end = k;
    int rc = nt_aws_call(&c->aws, 0, "/", "application/x-amz-json-1.1",
                         "Logs_20140328.PutLogEvents", body.data, body.len,
                         s_on_put, c);
    aws_buf_fini(&body);
    if (rc < 0)
        s_on_put(rc, NULL, c);
}

static void s_on_setup(int rc, const aws_http_response *resp, void *data)
{
    nt_out_cw *c = data;
    char type[128];
    int r = nt_aws_classify(rc, resp, type, sizeof(type));
    if (r != NT_ITEM_OK && !strstr(type, "ResourceAlreadyExists")) {
        c->first = 0;
        c->end = c->b->n;
        s_fail_rest(c, NT_ITEM_RETRY, rc, resp,
                    c->setup_step ? "CreateLogStream" : "CreateLogGroup", type);
        s_finish(c);
        return;
    }
    c->setup_step++;
    s_setup(c);
}

static void s_setup(nt_out_cw *c)
{
    if (c->setup_step == 0 && !c->create_group)
        c->setup_step = 1;
    if (c->setup_step == 1 && !c->create_stream)
        c->setup_step = 2;
    if (c->setup_step >= 2) {
        c->ready = 1;
        c->first = 0;
        s_put(c);
        return;
    }
    aws_buf body;
    aws_buf_init(&body);
    aws_buf_puts(&body, "{\"logGroupName\":\"");
    nt_json_escape(&body, c->group, strlen(c->group));
    if (c->setup_step == 1) {
        aws_buf_puts(&body, "\",\"logStreamName\":\"");
        nt_json_escape(&body, c->stream, strlen(c->stream));
    }
    aws_buf_puts(&body, "\"}");
    int rc = nt_aws_call(&c->aws, 0, "/", "application/x-amz-json-1.1",
                         c->setup_step ? "Logs_20140328.CreateLogStream"
                                       : "Logs_20140328.CreateLogGroup",
                         body.data, body.len, s_on_setup, c);
    aws_buf_fini(&body);
    if (rc < 0)
        s_on_setup(rc, NULL, c);
}

typedef struct s_key {
    uint64_t ms;
    size_t i;
} s_key;

static int s_cmp(const void *x, const void *y)
{
    const s_key *a = x, *b = y;
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    return a->i < b->i ? -1 : a->i > b->i;
}

static int s_flush(void *ctx, nt_batch *b)
{
    nt_out_cw *c = ctx;
    s_key *keys = malloc(b->n * sizeof(*keys));
    c->order = malloc(b->n * sizeof(size_t));
    if (!keys || !c->order) {
        free(keys);
        free(c->order);
        c->order = NULL;
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++)
        keys[i] = (s_key){s_ms(b->alerts[i]), i};
    qsort(keys, b->n, sizeof(*keys), s_cmp);
    for (size_t i = 0; i < b->n; i++)
        c->order[i] = keys[i].i;
    free(keys);
    c->b = b;
    c->first = 0;
    if (c->ready) {
        s_put(c);
    } else {
        c->setup_step = 0;
        s_setup(c);
    }
    return 0;
}

static void s_exit(void *ctx, void (*done)(void *), void *arg)
{
    nt_out_cw *c = ctx;
    free(c->order);
    c->order = NULL;
    c->b = NULL;
    nt_aws_fini(&c->aws);
    done(arg);
}

const nt_plugin nt_plugin_cloudwatch = {
    .name = "cloudwatch",
    .desc = "AWS CloudWatch Logs PutLogEvents",
    .config_map = s_map,
    .ctx_size = sizeof(nt_out_cw),
    .default_batch_size = S_MAX_EVENTS,
    .default_flush_ms = 1000,
    .init = s_init,
    .flush = s_flush,
    .exit = s_exit,
};
