/*
 * test_tg_daemon.c - tg_daemon: argument parsing, configuration loading
 * (common keys, section, environment, -e), signals on the loop, the
 * ready line, and sd_notify READY/STOPPING/WATCHDOG to a local
 * NOTIFY_SOCKET.  Owner: common.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tg_daemon.h"
#include "tg_log.h"
#include "tg_test.h"
#include "tgt_loop.h"

typedef struct s_cfg {
    char *endpoint;
    uint64_t workers;
    uint64_t metrics_port;
} s_cfg;

static const tg_conf_entry s_table[] = {
    {TG_CONF_STR, "endpoint", "ipc:///tmp/x.sock", offsetof(s_cfg, endpoint),
     "where to bind"},
    {TG_CONF_UINT, "workers", "2", offsetof(s_cfg, workers), "workers"},
    {TG_CONF_UINT, "metrics.port", "9101", offsetof(s_cfg, metrics_port),
     "metrics port"},
    TG_CONF_END,
};

static const tg_daemon_info s_info = {"parser", "decode CloudTrail files",
                                      s_table};

static char *s_dir;

static void test_args(void)
{
    char err[256];
    tg_daemon_args a;
    char *v1[] = {"p", "--config", "/x.yaml", "-e", "parser.workers=4",
                  "-estate_dir=/s", "--check-config", NULL};
    ASSERT_EQ(tg_daemon_parse_args(&s_info, 7, v1, &a, err, sizeof err), 0);
    ASSERT_STR_EQ(a.config_path, "/x.yaml");
    ASSERT_EQ(a.noverrides, 2);
    ASSERT_STR_EQ(a.overrides[1], "state_dir=/s");
    ASSERT(a.check_config);
    char *v2[] = {"p", "--bogus", NULL};
    ASSERT_EQ(tg_daemon_parse_args(&s_info, 2, v2, &a, err, sizeof err),
              -EINVAL);
    ASSERT(strstr(err, "unknown argument '--bogus'") != NULL);
    char *v3[] = {"p", "-e", "novalue", NULL};
    ASSERT_EQ(tg_daemon_parse_args(&s_info, 3, v3, &a, err, sizeof err),
              -EINVAL);
    char *v4[] = {"p", "--config", NULL};
    ASSERT_EQ(tg_daemon_parse_args(&s_info, 2, v4, &a, err, sizeof err),
              -EINVAL);
    char *v5[] = {"p", "--version", NULL};
    ASSERT_EQ(tg_daemon_parse_args(&s_info, 2, v5, &a, err, sizeof err), 1);
    setenv("TRAILGUARD_CONFIG", "/env.yaml", 1);
    char *v6[] = {"p", NULL};
    ASSERT_EQ(tg_daemon_parse_args(&s_info, 1, v6, &a, err, sizeof err), 0);
    ASSERT_STR_EQ(a.config_path, "/env.yaml");
    unsetenv("TRAILGUARD_CONFIG");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tg_daemon_usage(&s_info, f);
    fclose(f);
    ASSERT(strstr(buf, "trailguard-parser") != NULL);
    ASSERT(strstr(buf, "[TRAILGUARD_PARSER_METRICS_PORT]") != NULL);
    ASSERT(strstr(buf, "[TRAILGUARD_STATE_DIR]") != NULL);
    free(buf);
}

static void s_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

static void test_load_config(void)
{
    char path[512], err[512];
    snprintf(path, sizeof path, "%s/trailguard.yaml", s_dir);
    s_write_file(path, "state_dir: /var/tmp/tg\n"
                       "metrics:\n  bind: 0.0.0.0\n"
                       "parser:\n  workers: 8\n  metrics:\n    port: 9200\n"
                       "notifier:\n  anything: goes here\n");
    tg_daemon_args a = {.config_path = path};
    a.overrides[a.noverrides++] = "parser.endpoint=ipc:///tmp/o.sock";
    a.overrides[a.noverrides++] = "notifier.whatever=1";   /* not ours */
    a.overrides[a.noverrides++] = "log_level=debug";
    setenv("TRAILGUARD_PARSER_WORKERS", "16", 1);
    tg_daemon_common common;
    s_cfg cfg = {0};
    tg_conf_doc *doc;
    ASSERT_EQ(tg_daemon_load_config(&s_info, &a, &common, &cfg, &doc, err,
                                    sizeof err), 0);
    ASSERT_STR_EQ(common.state_dir, "/var/tmp/tg");
    ASSERT_STR_EQ(common.metrics_bind, "0.0.0.0");
    ASSERT(common.metrics_token == NULL);
    ASSERT_STR_EQ(common.log_level, "debug");
    ASSERT_U64_EQ(cfg.workers, 16);
    ASSERT_U64_EQ(cfg.metrics_port, 9200);
    ASSERT_STR_EQ(cfg.endpoint, "ipc:///tmp/o.sock");
    unsetenv("TRAILGUARD_PARSER_WORKERS");
    tg_conf_release(s_table, &cfg);
    tg_daemon_common_release(&common);
    tg_conf_doc_free(doc);

    /* errors name the file position */
    s_write_file(path, "parser:\n  wrokers: 8\n");
    tg_daemon_args b = {.config_path = path};
    ASSERT(tg_daemon_load_config(&s_info, &b, &common, &cfg, &doc, err,
                                 sizeof err) < 0);
    ASSERT(strstr(err, "trailguard.yaml:2:3: unknown key 'wrokers' (did you "
                  "mean 'workers'?)") != NULL);
    tg_conf_release(s_table, &cfg);
    tg_daemon_common_release(&common);
    s_write_file(path, "log_level: loud\n");
    ASSERT(tg_daemon_load_config(&s_info, &b, &common, &cfg, &doc, err,
                                 sizeof err) < 0);
    ASSERT(strstr(err, "trailguard.yaml:1:12: bad log_level 'loud'") != NULL);
    tg_conf_release(s_table, &cfg);
    tg_daemon_common_release(&common);
    s_write_file(path, "stray: 1\n");
    ASSERT(tg_daemon_load_config(&s_info, &b, &common, &cfg, &doc, err,
                                 sizeof err) < 0);
    ASSERT(strstr(err, "trailguard.yaml:1:1: unknown key 'stray'") != NULL);
    tg_conf_release(s_table, &cfg);
    tg_daemon_common_release(&common);

    /* no file: defaults */
    tg_daemon_args none = {0};
    ASSERT_EQ(tg_daemon_load_config(&s_info, &none, &common, &cfg, &doc, err,
                                    sizeof err), 0);
    ASSERT_STR_EQ(common.state_dir, "/var/lib/trailguard");
    ASSERT_STR_EQ(common.log_level, "info");
    ASSERT_U64_EQ(cfg.workers, 2);
    tg_conf_release(s_table, &cfg);
    tg_daemon_common_release(&common);
    tg_conf_doc_free(doc);
}

typedef struct s_sig {
    int stops, reloads;
    tg_daemon *d;
} s_sig;

static void s_on_stop(tg_daemon *d, int signum, void *ud)
{
    s_sig *s = ud;
    ASSERT(signum == SIGTERM || signum == SIGINT);
    s->stops++;
    tg_daemon_stopping(d);
    tg_daemon_close(d);
}

static void s_on_reload(tg_daemon *d, int signum, void *ud)
{
    (void)d;
    ASSERT_EQ(signum, SIGHUP);
    ((s_sig *)ud)->reloads++;
}

static bool s_reloaded(void *ud)
{
    return ((s_sig *)ud)->reloads > 0;
}

static void s_raise_term(uv_timer_t *t)
{
    raise(SIGTERM);
    uv_close((uv_handle_t *)t, NULL);
}

/* Collect datagrams from the notify socket into buf. */
static size_t s_notify_read(int fd, char *buf, size_t cap, size_t len)
{
    ssize_t n;
    while (len + 1 < cap &&
           (n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT)) > 0) {
        len += (size_t)n;
        buf[len++] = '|';
    }
    buf[len] = '\0';
    return len;
}

typedef struct s_watch {
    int fd;
    char buf[4096];
    size_t len;
} s_watch;

static bool s_got_watchdog(void *ud)
{
    s_watch *w = ud;
    w->len = s_notify_read(w->fd, w->buf, sizeof w->buf, w->len);
    return strstr(w->buf, "WATCHDOG=1") != NULL;
}

static void test_runtime(void)
{
    /* a local NOTIFY_SOCKET stands in for systemd */
    s_watch w = {0};
    w.fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/notify", s_dir);
    ASSERT_EQ(bind(w.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    setenv("NOTIFY_SOCKET", sa.sun_path, 1);
    setenv("WATCHDOG_USEC", "20000", 1);     /* ping every 10 ms */
    unsetenv("WATCHDOG_PID");

    int logp[2];
    ASSERT_EQ(pipe2(logp, O_NONBLOCK), 0);
    tg_log_init("trailguard-parser", TG_LOG_ERROR, logp[1]);

    uv_loop_t loop;
    uv_loop_init(&loop);
    s_sig sig = {0};
    tg_daemon *d = tg_daemon_new(&loop, &s_info, s_on_stop, s_on_reload,
                                 &sig);
    ASSERT_NOT_NULL(d);
    tg_daemon_ready(d, "ipc:///tmp/p.sock", "metrics=127.0.0.1:9101");
    char line[1024] = "";
    ssize_t n = read(logp[0], line, sizeof line - 1);
    ASSERT(n > 0);
    line[n] = '\0';
    /* written although the level is error */
    ASSERT(strstr(line, " trailguard-parser[") != NULL);
    ASSERT(strstr(line, " info ") != NULL);
    ASSERT(strstr(line, ": ready endpoint=ipc:///tmp/p.sock "
                  "metrics=127.0.0.1:9101\n") != NULL);
    tg_daemon_status(d, "working");

    ASSERT(tgt_run_until(&loop, s_got_watchdog, &w, 5000));
    ASSERT(strstr(w.buf, "READY=1") != NULL);
    ASSERT(strstr(w.buf, "STATUS=working") != NULL);

    raise(SIGHUP);
    ASSERT(tgt_run_until(&loop, s_reloaded, &sig, 5000));
    ASSERT_EQ(sig.stops, 0);
    ASSERT(!tg_daemon_stop_requested(d));
    w.len = s_notify_read(w.fd, w.buf, sizeof w.buf, w.len);
    ASSERT(strstr(w.buf, "RELOADING=1") != NULL);

    /* SIGTERM → on_stop closes the daemon; the loop then ends by itself
     * (signal and watchdog handles never keep it alive) */
    uv_timer_t t;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, s_raise_term, 1, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    ASSERT_EQ(sig.stops, 1);
    w.len = s_notify_read(w.fd, w.buf, sizeof w.buf, w.len);
    ASSERT(strstr(w.buf, "STOPPING=1") != NULL);
    ASSERT_EQ(uv_loop_close(&loop), 0);
    close(w.fd);
    close(logp[0]);
    close(logp[1]);
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    tg_log_init("test", TG_LOG_INFO, 2);
}

int main(void)
{
    tg_test_state st = {0};
    s_dir = tgt_tmpdir("daemon");
    TG_RUN(&st, test_args);
    TG_RUN(&st, test_load_config);
    TG_RUN(&st, test_runtime);
    tgt_rm_rf(s_dir);
    free(s_dir);
    TG_DONE(&st);
}
