/*
 * main.c - trailguard-notifier: arguments, configuration, signals; the
 * work is in nt_daemon.c.  SIGHUP reopens output files; SIGTERM/SIGINT
 * finish the batch in progress and exit.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "nt_daemon.h"
#include "tg_daemon.h"
#include "tg_log.h"

static const tg_daemon_info s_info = {
    "notifier",
    "deliver alerts to outputs, drop duplicates, acknowledge batches",
    nt_config_table,
};

typedef struct s_main {
    nt_daemon *d;
    tg_daemon *td;
} s_main;

static void s_on_stop(tg_daemon *td, int signum, void *ud)
{
    s_main *m = ud;
    (void)td;
    tg_log_info("signal %d: draining", signum);
    nt_daemon_stop(m->d);
    if (m->td) {
        tg_daemon_stopping(m->td);
        tg_daemon_close(m->td);
        m->td = NULL;
    }
}

static void s_on_reload(tg_daemon *td, int signum, void *ud)
{
    s_main *m = ud;
    (void)td;
    (void)signum;
    nt_daemon_reopen(m->d);
}

int main(int argc, char **argv)
{
    char err[512];
    tg_daemon_args args;
    int rc = tg_daemon_parse_args(&s_info, argc, argv, &args, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "trailguard-notifier: %s\n", err);
        return 2;
    }
    tg_daemon_common common = { 0 };
    nt_config cfg = { 0 };
    tg_conf_doc *doc = NULL;
    int exit_code = 1;
    if (tg_daemon_load_config(&s_info, &args, &common, &cfg, &doc, err, sizeof err)) {
        fprintf(stderr, "trailguard-notifier: %s\n", err);
        goto release;
    }
    if (args.check_config) {
        exit_code = 0;
        goto release;
    }
    tg_log_init("trailguard-notifier", tg_log_level_parse(common.log_level), -1);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    s_main m = { NULL, NULL };
    m.d = nt_daemon_new(&loop, &cfg, &common, err, sizeof err);
    if (!m.d) {
        tg_log_error("start failed: %s", err);
        goto out;
    }
    m.td = tg_daemon_new(&loop, &s_info, s_on_stop, s_on_reload, &m);
    if (!m.td) {
        tg_log_error("cannot install signal handlers");
        goto out;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "metrics_port=%d", nt_daemon_metrics_port(m.d));
    tg_daemon_ready(m.td, nt_daemon_endpoint(m.d), extra);
    uv_run(&loop, UV_RUN_DEFAULT);
    exit_code = 0;
out:
    if (m.td)
        tg_daemon_close(m.td);
    nt_daemon_free(m.d);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        tg_log_warn("event loop closed with handles open");
    tg_daemon_log_usage();
release:
    tg_daemon_common_release(&common);
    tg_conf_release(nt_config_table, &cfg);
    tg_conf_doc_free(doc);
    return exit_code;
}
