/*
 * main.c - trailguard-parser: arguments, configuration, signals; the
 * work is in pa_daemon.c.  SIGTERM/SIGINT stop taking jobs, send the
 * frames of the current job and exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "pa_daemon.h"
#include "tg_daemon.h"
#include "tg_log.h"

static const tg_daemon_info s_info = {
    "parser",
    "decode CloudTrail files into batch frames of records",
    pa_config_table,
};

typedef struct s_main {
    pa_daemon *d;
    tg_daemon *td;
} s_main;

static void s_on_stop(tg_daemon *td, int signum, void *ud)
{
    s_main *m = ud;
    (void)td;
    tg_log_info("signal %d: draining", signum);
    pa_daemon_stop(m->d);
    if (m->td) {
        tg_daemon_stopping(m->td);
        tg_daemon_close(m->td);
        m->td = NULL;
    }
}

int main(int argc, char **argv)
{
    char err[512];
    tg_daemon_args args;
    int rc = tg_daemon_parse_args(&s_info, argc, argv, &args, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "trailguard-parser: %s\n", err);
        return 2;
    }
    tg_daemon_common common = { 0 };
    pa_config cfg = { 0 };
    tg_conf_doc *doc = NULL;
    int exit_code = 1;
    if (tg_daemon_load_config(&s_info, &args, &common, &cfg, &doc, err, sizeof err)) {
        fprintf(stderr, "trailguard-parser: %s\n", err);
        goto release;
    }
    if (args.check_config) {
        exit_code = 0;
        goto release;
    }
    tg_log_init("trailguard-parser", tg_log_level_parse(common.log_level), -1);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    s_main m = { NULL, NULL };
    m.d = pa_daemon_new(&loop, &cfg, &common, err, sizeof err);
    if (!m.d) {
        tg_log_error("start failed: %s", err);
        goto out;
    }
    m.td = tg_daemon_new(&loop, &s_info, s_on_stop, NULL, &m);
    if (!m.td) {
        tg_log_error("cannot install signal handlers");
        goto out;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "metrics_port=%d", pa_daemon_metrics_port(m.d));
    tg_daemon_ready(m.td, pa_daemon_endpoint(m.d), extra);
    uv_run(&loop, UV_RUN_DEFAULT);
    exit_code = 0;
out:
    if (m.td)
        tg_daemon_close(m.td);
    pa_daemon_free(m.d);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        tg_log_warn("event loop closed with handles open");
    tg_daemon_log_usage();
release:
    tg_daemon_common_release(&common);
    tg_conf_release(pa_config_table, &cfg);
    tg_conf_doc_free(doc);
    return exit_code;
}
