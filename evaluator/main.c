/*
 * main.c - trailguard-evaluator: arguments, configuration, signals; the
 * work is in ev_daemon.c.  SIGHUP reloads the rules; SIGTERM/SIGINT drain.
 * Extra command-line arguments are rules files/directories (replacing
 * evaluator.rules).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "ev_daemon.h"
#include "tg_daemon.h"
#include "tg_log.h"

static const tg_daemon_info s_info = {
    "evaluator",
    "apply Falco rules to every CloudTrail record and send alerts",
    ev_config_table,
};

typedef struct s_main {
    ev_daemon *d;
    tg_daemon *td;
} s_main;

static void s_on_stop(tg_daemon *td, int signum, void *ud)
{
    s_main *m = ud;
    (void)td;
    tg_log_info("signal %d: draining", signum);
    ev_daemon_stop(m->d);
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
    tg_log_info("SIGHUP: reloading rules");
    ev_daemon_reload(m->d);
}

/* Index of the first rules argument: after "--", or the first argument
 * that is neither an option nor an option's value. */
static int s_split_rules(int argc, char **argv, int *nopt)
{
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            *nopt = i;
            return i + 1;
        }
        if (a[0] != '-')
            break;
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 ||
            strcmp(a, "-e") == 0)
            i++;
        i++;
    }
    *nopt = i < argc ? i : argc;
    return i;
}

int main(int argc, char **argv)
{
    char err[512];
    tg_daemon_args args;
    int nopt;
    int first_rule = s_split_rules(argc, argv, &nopt);
    int rc = tg_daemon_parse_args(&s_info, nopt, argv, &args, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "trailguard-evaluator: %s\n", err);
        return 2;
    }
    tg_daemon_common common = { 0 };
    ev_config cfg = { 0 };
    tg_conf_doc *doc = NULL;
    int exit_code = 1;
    if (tg_daemon_load_config(&s_info, &args, &common, &cfg, &doc, err, sizeof err)) {
        fprintf(stderr, "trailguard-evaluator: %s\n", err);
        goto release;
    }
    if (args.check_config) {
        exit_code = 0;
        goto release;
    }
    if (first_rule < argc) { /* command-line rules replace evaluator.rules */
        tg_strlist_fini(&cfg.rules);
        cfg.rules.v = calloc((size_t)(argc - first_rule) + 1, sizeof(char *));
        if (!cfg.rules.v)
            goto release;
        for (int i = first_rule; i < argc; i++)
            cfg.rules.v[cfg.rules.n++] = strdup(argv[i]);
    }
    tg_log_init("trailguard-evaluator", tg_log_level_parse(common.log_level), -1);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    s_main m = { NULL, NULL };
    m.d = ev_daemon_new(&loop, &cfg, &common, err, sizeof err);
    if (!m.d) {
        tg_log_error("start failed: %s", err);
        goto out;
    }
    m.td = tg_daemon_new(&loop, &s_info, s_on_stop, s_on_reload, &m);
    if (!m.td) {
        tg_log_error("cannot install signal handlers");
        goto out;
    }
    char extra[160];
    snprintf(extra, sizeof extra, "metrics_port=%d ruleset=%s",
             ev_daemon_metrics_port(m.d), ev_daemon_ruleset(m.d));
    tg_daemon_ready(m.td, cfg.notifier ? cfg.notifier : "", extra);
    uv_run(&loop, UV_RUN_DEFAULT);
    exit_code = 0;
out:
    if (m.td)
        tg_daemon_close(m.td);
    ev_daemon_free(m.d);
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        tg_log_warn("event loop closed with handles open");
    tg_daemon_log_usage();
release:
    tg_daemon_common_release(&common);
    tg_conf_release(ev_config_table, &cfg);
    tg_conf_doc_free(doc);
    return exit_code;
}
