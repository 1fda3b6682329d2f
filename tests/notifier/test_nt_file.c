/*
 * test_nt_file.c - the delivery engine through the file output: batches,
 * completion statuses, routing, suppression, reopen after logrotate,
 * config errors, and the fan-out set.
 *
 * Owner: notifier outputs (tests/notifier/).
 */
#include "tg_test.h"

#include "nt_sink.h"
#include "nt_sink_output.h"
#include "nt_spool.h"
#include "tg_config.h"
#include "tg_metrics.h"
#include "nt_test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

static tg_test_state st;
static uv_loop_t loop;
static char dir[256];

static char *s_slurp(const char *path, int *lines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    *lines = 0;
    for (size_t i = 0; i < n; i++)
        *lines += buf[i] == '\n';
    return buf;
}

static nt_sink *s_file(const char *path, const nt_kv *extra, size_t nextra)
{
    nt_kv kv[8] = {NT_KV("path", path)};
    for (size_t i = 0; i < nextra; i++)
        kv[1 + i] = extra[i];
    nt_sink_env env = {.loop = &loop};
    char err[256] = "";
    nt_sink *o = nt_sink_new(&env, "file", "f", kv, 1 + nextra, err, sizeof(err));
    if (!o)
        fprintf(stderr, "nt_sink_new: %s\n", err);
    return o;
}

static void test_file_json_batches(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/alerts.json", dir);
    nt_kv extra[] = {NT_KV("batch_size", "4"), NT_KV("flush_interval", "50ms")};
    nt_sink *o = s_file(path, extra, 2);
    ASSERT_NOT_NULL(o);
    nt_test_alert t[10];
    nt_alert a[10];
    for (int i = 0; i < 10; i++) {
        nt_test_alert_make(&t[i], i, "Delete Bucket", NT_PRIO_ERROR);
        a[i] = t[i].a;
    }
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 10, nt_test_done_cb, &d), 0);
    ASSERT_EQ(d.calls, 0); /* never from inside submit */
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    ASSERT_EQ(d.last, NT_OK);
    int lines;
    char *s = s_slurp(path, &lines);
    ASSERT_EQ(lines, 10);
    /* lines are Falco's JSON, in submit order */
    char *p = s;
    for (int i = 0; i < 10; i++) {
        char *nl = strchr(p, '\n');
        ASSERT_MEM_EQ(p, (size_t)(nl - p), t[i].json, strlen(t[i].json));
        p = nl + 1;
    }
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.sent, 10);
    ASSERT_EQ(stt.requests, 3); /* 4 + 4 + 2 (the last one by time) */
    nt_test_close(&loop, o);
}

static void test_routing_and_text(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/alerts.txt", dir);
    nt_kv extra[] = {NT_KV("format", "text"), NT_KV("min_priority", "warning"),
                     NT_KV("rules_exclude", "Noisy*")};
    nt_sink *o = s_file(path, extra, 3);
    ASSERT_NOT_NULL(o);
    nt_test_alert t[4];
    nt_test_alert_make(&t[0], 0, "A", NT_PRIO_NOTICE);   /* too low */
    nt_test_alert_make(&t[1], 1, "B", NT_PRIO_WARNING);
    nt_test_alert_make(&t[2], 2, "Noisy rule", NT_PRIO_CRITICAL);
    nt_test_alert_make(&t[3], 3, "C", NT_PRIO_EMERGENCY);
    nt_alert a[4] = {t[0].a, t[1].a, t[2].a, t[3].a};
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 4, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    ASSERT_EQ(d.last, NT_OK);
    int lines;
    char *s = s_slurp(path, &lines);
    ASSERT_EQ(lines, 2);
    ASSERT(strstr(s, "alert 1: B (user=alice)\nalert 3: C (user=alice)\n") == s);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.filtered, 2);
    /* nothing routed: still exactly one callback, later */
    d = (nt_test_done){0};
    ASSERT_EQ(nt_sink_submit(o, a, 1, nt_test_done_cb, &d), 0);
    ASSERT_EQ(d.calls, 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    ASSERT_EQ(d.last, NT_OK);
    nt_test_close(&loop, o);
}

static void test_reopen_after_rotate(void)
{
    char path[512], rotated[512];
    snprintf(path, sizeof(path), "%s/rot.json", dir);
    snprintf(rotated, sizeof(rotated), "%s/rot.json.1", dir);
    nt_sink *o = s_file(path, NULL, 0);
    nt_test_alert t;
    nt_test_alert_make(&t, 1, "R", NT_PRIO_ERROR);
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, &t.a, 1, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    ASSERT_EQ(rename(path, rotated), 0);       /* logrotate */
    ASSERT_EQ(nt_sink_reopen(o), 0);         /* SIGHUP */
    ASSERT_EQ(nt_sink_submit(o, &t.a, 1, nt_test_done_cb, &d), 0);
    ASSERT_EQ(nt_sink_submit(o, &t.a, 1, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 3, 5000));
    int lines;
    s_slurp(rotated, &lines);
    ASSERT_EQ(lines, 1);
    s_slurp(path, &lines);
    ASSERT_EQ(lines, 2);
    nt_test_close(&loop, o);
}

static void test_stdout(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/stdout.txt", dir);
    fflush(stdout);
    int saved = dup(1);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ASSERT(saved >= 0 && fd >= 0);
    dup2(fd, 1);
    close(fd);
    nt_kv kv[] = {NT_KV("format", "text")};
    nt_sink_env env = {.loop = &loop};
    char err[256];
    nt_sink *o = nt_sink_new(&env, "stdout", NULL, kv, 1, err, sizeof(err));
    nt_test_alert t;
    nt_test_alert_make(&t, 4, "R", NT_PRIO_ERROR);
    nt_test_done d = {0};
    int rc = o ? nt_sink_submit(o, &t.a, 1, nt_test_done_cb, &d) : -1;
    int ok = rc == 0 && nt_test_wait_done(&loop, &d, 1, 5000);
    if (o)
        nt_test_close(&loop, o);
    dup2(saved, 1);
    close(saved);
    ASSERT(ok);
    int lines;
    char *s = s_slurp(path, &lines);
    ASSERT_EQ(lines, 1);
    ASSERT_STR_EQ(s, "alert 4: R (user=alice)\n");
}

static void test_suppression(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/supp.json", dir);
    nt_kv extra[] = {NT_KV("suppress_window", "1m")};
    nt_sink *o = s_file(path, extra, 1);
    nt_test_alert t[3];
    nt_test_alert_make(&t[0], 0, "Same", NT_PRIO_ERROR);
    nt_test_alert_make(&t[1], 1, "Same", NT_PRIO_ERROR);
    nt_test_alert_make(&t[2], 2, "Different", NT_PRIO_ERROR);
    nt_alert a[3] = {t[0].a, t[1].a, t[2].a};
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 3, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    int lines;
    s_slurp(path, &lines);
    ASSERT_EQ(lines, 2);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.suppressed, 1);
    nt_test_close(&loop, o);
}

static void test_config_errors(void)
{
    nt_sink_env env = {.loop = &loop};
    char err[256] = "";
    nt_kv bad[] = {{"pathh", "/tmp/x", "trailguard.yaml:40"}};
    ASSERT(nt_sink_new(&env, "file", NULL, bad, 1, err, sizeof(err)) == NULL);
    ASSERT(strstr(err, "trailguard.yaml:40") && strstr(err, "'pathh'"));
    nt_kv badp[] = {NT_KV("path", "/tmp/x"), NT_KV("min_priority", "loud")};
    ASSERT(nt_sink_new(&env, "file", NULL, badp, 2, err, sizeof(err)) == NULL);
    ASSERT(strstr(err, "min_priority"));
    ASSERT(nt_sink_new(&env, "pager", NULL, NULL, 0, err, sizeof(err)) == NULL);
    ASSERT(strstr(err, "unknown output type"));
    char doc[8192];
    ASSERT(nt_sink_describe("securityhub", doc, sizeof(doc)) > 0);
    ASSERT(strstr(doc, "product_arn") && strstr(doc, "min_priority"));
}

static void test_fanout_set(void)
{
    char p1[512], p2[512];
    snprintf(p1, sizeof(p1), "%s/all.json", dir);
    snprintf(p2, sizeof(p2), "%s/cis.json", dir);
    nt_kv k1[] = {NT_KV("path", p1)};
    nt_kv k2[] = {NT_KV("path", p2), NT_KV("tags", "CIS_AWS_*")};
    nt_sink_conf confs[] = {{"file", NULL, k1, 1}, {"file", NULL, k2, 2}};
    nt_sink_env env = {.loop = &loop};
    char err[256];
    nt_sinks *set = nt_sinks_new(&env, confs, 2, err, sizeof(err));
    ASSERT_NOT_NULL(set);
    ASSERT_EQ(nt_sinks_count(set), 2);
    ASSERT_STR_EQ(nt_sink_name(nt_sinks_get(set, 1)), "file-2");
    nt_test_alert t[2];
    nt_test_alert_make(&t[0], 0, "CIS", NT_PRIO_ERROR);
    nt_test_alert_make(&t[1], 1, "Other", NT_PRIO_ERROR);
    t[1].a.ntags = 1;
    nt_alert a[2] = {t[0].a, t[1].a};
    nt_test_done d = {0};
    ASSERT_EQ(nt_sinks_submit(set, a, 2, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    ASSERT_EQ(d.calls, 1);
    ASSERT_EQ(d.last, NT_OK);
    int lines;
    s_slurp(p1, &lines);
    ASSERT_EQ(lines, 2);
    s_slurp(p2, &lines);
    ASSERT_EQ(lines, 1);
    int closed = 0;
    nt_sinks_close(set, nt_test_closed_cb, &closed);
    ASSERT(nt_test_run_until(&loop, nt_test_flag, &closed, 5000));
}

static int s_sent6(void *arg)
{
    nt_sink_stats s;
    nt_sink_stats_get(arg, &s);
    return s.sent == 6;
}

/* rate_limit spaces requests; counters reach tg_metrics */
static void test_rate_limit_and_metrics(void)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/rate.json", dir);
    tg_metrics *reg = tg_metrics_new();
    nt_kv kv[] = {NT_KV("path", path), NT_KV("batch_size", "1"),
                  NT_KV("rate_limit", "10"), NT_KV("rate_burst", "1")};
    nt_sink_env env = {.loop = &loop, .metrics = reg};
    char err[256];
    nt_sink *o = nt_sink_new(&env, "file", "f", kv, 4, err, sizeof(err));
    ASSERT_NOT_NULL(o);
    nt_test_alert t[6];
    nt_alert a[6];
    for (int i = 0; i < 6; i++) {
        nt_test_alert_make(&t[i], i, "R", NT_PRIO_ERROR);
        a[i] = t[i].a;
    }
    nt_test_done d = {0};
    uint64_t t0 = uv_hrtime();
    ASSERT_EQ(nt_sink_submit(o, a, 6, nt_test_done_cb, &d), 0);
    ASSERT(nt_test_run_until(&loop, s_sent6, o, 5000));
    /* one request at once, then one per 100 ms */
    ASSERT((uv_hrtime() - t0) / 1000000 >= 450);
    char *text = NULL;
    size_t len;
    ASSERT_EQ(tg_metrics_render(reg, &text, &len), 0);
    ASSERT(strstr(text, "trailguard_output_sent_total{output=\"f\",type=\"file\"} 6"));
    ASSERT(strstr(text, "trailguard_output_requests_total{output=\"f\",type=\"file\"} 6"));
    ASSERT(strstr(text, "trailguard_output_latency_seconds_count{output=\"f\",type=\"file\"} 6"));
    free(text);
    nt_test_close(&loop, o);
    tg_metrics_free(reg);
}

static void s_daemon_done(void *ud, int status)
{
    int *st = ud;
    st[0]++;
    st[1] = status;
}

/* What the daemon does: notifier.outputs from YAML, then write(). */
static void test_daemon_interface(void)
{
    char yaml[1024], path[512], err[512] = "";
    snprintf(path, sizeof(path), "%s/daemon.json", dir);
    snprintf(yaml, sizeof(yaml),
             "notifier:\n"
             "  outputs:\n"
             "    - type: file\n"
             "      path: %s\n"
             "      tags: [CIS_AWS_*, other]\n"
             "    - type: stdout\n"
             "      min_priority: emergency\n", path);
    tg_conf_doc *doc = tg_conf_doc_parse(yaml, strlen(yaml), "cfg.yaml", err, sizeof(err));
    ASSERT_NOT_NULL(doc);
    const tg_conf_node *list = tg_conf_map_get(tg_conf_doc_root(doc), "notifier.outputs");
    nt_sink_env env = {.loop = &loop};
    nt_output *outs[4];
    size_t n = 0;
    ASSERT_EQ(nt_sink_outputs_from_conf(&env, list, outs, 4, &n, err, sizeof(err)), 0);
    ASSERT_EQ(n, 2);
    ASSERT_STR_EQ(outs[0]->name, "file-1");
    nt_test_alert t[2];
    nt_test_alert_make(&t[0], 0, "CIS", NT_PRIO_ERROR);
    nt_test_alert_make(&t[1], 1, "Other", NT_PRIO_ERROR);
    t[1].a.ntags = 1;
    nt_alert a[2] = {t[0].a, t[1].a};
    int res[2] = {0, -1};
    ASSERT_EQ(outs[0]->ops->write(outs[0], a, 2, s_daemon_done, res, err, sizeof(err)),
              NT_OUTPUT_PENDING);
    ASSERT(nt_test_run_until(&loop, nt_test_flag, &res[0], 5000));
    ASSERT_EQ(res[1], 0);
    int lines;
    s_slurp(path, &lines);
    ASSERT_EQ(lines, 1); /* routed by tags */
    for (size_t i = 0; i < n; i++)
        outs[i]->ops->free(outs[i]);
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);

    /* a bad key is reported with its position */
    static const char bad[] = "outputs:\n  - type: webhook\n    urll: http://x\n";
    tg_conf_doc *d2 = tg_conf_doc_parse(bad, strlen(bad), "bad.yaml", err, sizeof(err));
    n = 0;
    ASSERT_EQ(nt_sink_outputs_from_conf(&env, tg_conf_map_get(tg_conf_doc_root(d2), "outputs"),
                                        outs, 4, &n, err, sizeof(err)), -EINVAL);
    ASSERT(strstr(err, "bad.yaml:3:") && strstr(err, "urll"));
    tg_conf_doc_free(d2);
    tg_conf_doc_free(doc);
}

typedef struct s_lines_arg {
    const char *path;
    int want;
} s_lines_arg;

static int s_has_lines(void *arg)
{
    s_lines_arg *a = arg;
    int lines = 0;
    return s_slurp(a->path, &lines) && lines >= a->want;
}

/*
 * A restart with a non-empty spool: what the previous run spooled (and
 * acknowledged) goes out before anything submitted after the restart.
 * The output opens replaying (down), new alerts queue behind the spool
 * (they are spooled too), and it is up again only once the spool is empty.
 */
static void test_restart_replays_spool_first(void)
{
    char path[512], sdir[512], err[256] = "";
    snprintf(path, sizeof(path), "%s/restart.json", dir);
    snprintf(sdir, sizeof(sdir), "%s/restart-spool", dir);
    nt_test_alert t[10];
    for (int i = 0; i < 10; i++)
        nt_test_alert_make(&t[i], i, "Delete Bucket", NT_PRIO_ERROR);
    /* the previous run: alerts 0-5 spooled (as s_go_down leaves them) */
    nt_spool_opts so = {.seg_bytes = 4096};
    nt_spool *sp = nt_spool_open(sdir, &so, err, sizeof(err));
    ASSERT_NOT_NULL(sp);
    for (int i = 0; i < 6; i++) {
        uint8_t *buf;
        size_t len;
        ASSERT_EQ(nt_alert_pack(&t[i].a, &buf, &len), 0);
        ASSERT_EQ(nt_spool_append(sp, buf, len, NULL), 0);
        free(buf);
    }
    ASSERT_EQ(nt_spool_sync(sp), 0);
    nt_spool_close(sp);

    /* the restarted output */
    nt_kv extra[] = {NT_KV("spool_dir", sdir), NT_KV("batch_size", "2"),
                     NT_KV("spool_segment_size", "4096")};
    nt_sink *o = s_file(path, extra, 3);
    ASSERT_NOT_NULL(o);
    nt_sink_stats stt;
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.down, 1);             /* replaying from the start */
    ASSERT_U64_EQ(stt.spool_depth, 6);
    /* a new batch arrives before the loop ran at all */
    nt_alert a[4];
    for (int i = 0; i < 4; i++)
        a[i] = t[6 + i].a;
    nt_test_done d = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 4, nt_test_done_cb, &d), 0);
    nt_sink_stats_get(o, &stt);
    ASSERT_EQ(stt.down, 1);
    ASSERT_U64_EQ(stt.spool_depth, 10); /* behind the old spool */
    ASSERT_U64_EQ(stt.queued, 0);
    ASSERT(nt_test_wait_done(&loop, &d, 1, 5000));
    ASSERT_EQ(d.last, NT_SPOOLED);      /* durable, so it may be acked */
    s_lines_arg la = {path, 10};
    ASSERT(nt_test_run_until(&loop, s_has_lines, &la, 5000));
    int lines;
    char *s = s_slurp(path, &lines);
    ASSERT_EQ(lines, 10);
    char *p = s;
    for (int i = 0; i < 10; i++) {     /* old spool first, then the new */
        char *nl = strchr(p, '\n');
        ASSERT_MEM_EQ(p, (size_t)(nl - p), t[i].json, strlen(t[i].json));
        p = nl + 1;
    }
    nt_sink_stats_get(o, &stt);
    ASSERT_U64_EQ(stt.spool_depth, 0);
    ASSERT_EQ(stt.down, 0);             /* up once the spool is empty */
    /* and a batch after that goes straight out */
    nt_test_done d2 = {0};
    ASSERT_EQ(nt_sink_submit(o, a, 1, nt_test_done_cb, &d2), 0);
    ASSERT(nt_test_wait_done(&loop, &d2, 1, 5000));
    ASSERT_EQ(d2.last, NT_OK);
    nt_test_close(&loop, o);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "%s/nt_file_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir))
        return 1;
    uv_loop_init(&loop);
    TG_RUN(&st, test_file_json_batches);
    TG_RUN(&st, test_routing_and_text);
    TG_RUN(&st, test_reopen_after_rotate);
    TG_RUN(&st, test_stdout);
    TG_RUN(&st, test_suppression);
    TG_RUN(&st, test_config_errors);
    TG_RUN(&st, test_fanout_set);
    TG_RUN(&st, test_daemon_interface);
    TG_RUN(&st, test_rate_limit_and_metrics);
    TG_RUN(&st, test_restart_replays_spool_first);
    for (int i = 0; i < 100 && uv_loop_alive(&loop); i++)
        uv_run(&loop, UV_RUN_NOWAIT);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        return 1;
    TG_DONE(&st);
}
