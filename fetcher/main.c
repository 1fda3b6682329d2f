/*
 * main.c - trailguard-fetcher: arguments, configuration, signals; the work
 * is in fe_daemon.c.  Sources: the `fetcher.sources` list (local files,
 * directories, "-" for stdin, s3://, sqs://) plus any extra command-line
 * arguments, and the SNS endpoint when fetcher.sns.topics is set (AWS
 * sources are built in fe_aws.c).
 * Exit status: 0 = stopped, or a finite run with every input processed
 * cleanly; 1 = a finite run in which some input failed; 2 = usage;
 * 3 = configuration or start-up failure.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "fe_daemon.h"
#ifdef TG_HAVE_AWS
#include "fe_aws.h"
#endif
#include "tg_daemon.h"
#include "tg_log.h"

static const tg_daemon_info s_info = {
    "fetcher",
    "read CloudTrail inputs and hand them to parsers as jobs",
    fe_config_table,
};

typedef struct s_main {
    fe_daemon *d;
    tg_daemon *td;
} s_main;

static void s_close_td(s_main *m)
{
    if (m->td) {
        tg_daemon_stopping(m->td);
        tg_daemon_close(m->td);
        m->td = NULL;
    }
}

static void s_on_stop(tg_daemon *td, int signum, void *ud)
{
    s_main *m = ud;
    (void)td;
    tg_log_info("signal %d: draining", signum);
    fe_daemon_stop(m->d);
    s_close_td(m);
}

/* An s3:// or sqs:// source (uri), or the SNS endpoint (uri NULL), from
 * fetcher/aws.  False with the error logged. */
static bool s_add_remote(uv_loop_t *loop, fe_daemon *d, void **aws,
                         const fe_config *cfg, const tg_daemon_common *common,
                         const char *uri)
{
#ifdef TG_HAVE_AWS
    char err[512];
    if (!*aws && !(*aws = fe_aws_new(loop, d, cfg, common, err, sizeof err))) {
        tg_log_error("AWS set-up failed: %s", err);
        return false;
    }
    if (uri && fe_aws_add_uri(*aws, uri, cfg->once, err, sizeof err) != 0) {
        tg_log_error("source %s: %s", uri, err);
        return false;
    }
    if (!uri && fe_aws_add_sns(*aws, err, sizeof err) != 0) {
        tg_log_error("sns endpoint: %s", err);
        return false;
    }
    return true;
#else
    (void)loop;
    (void)d;
    (void)aws;
    (void)cfg;
    (void)common;
    tg_log_error("source %s: AWS sources are not built into this fetcher",
                 uri ? uri : "sns (fetcher.sns.topics)");
    return false;
#endif
}

/* Split argv into daemon options and trailing source paths ("--" or the
 * first argument that is not an option / option value). */
static int s_split_sources(int argc, char **argv, int *nopt)
{
    int i = 1;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            *nopt = i;
            return i + 1;
        }
        if (a[0] != '-' || strcmp(a, "-") == 0)
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
    int first_src = s_split_sources(argc, argv, &nopt);
    int rc = tg_daemon_parse_args(&s_info, nopt, argv, &args, err, sizeof err);
    if (rc > 0)
        return 0;
    if (rc < 0) {
        fprintf(stderr, "trailguard-fetcher: %s\n", err);
        return 2;
    }
    tg_daemon_common common = { 0 };
    fe_config cfg = { 0 };
    tg_conf_doc *doc = NULL;
    if (tg_daemon_load_config(&s_info, &args, &common, &cfg, &doc, err, sizeof err)) {
        fprintf(stderr, "trailguard-fetcher: %s\n", err);
        tg_daemon_common_release(&common);
        tg_conf_release(fe_config_table, &cfg);
        tg_conf_doc_free(doc);
        return 3;
    }
    if (args.check_config) {
        tg_daemon_common_release(&common);
        tg_conf_release(fe_config_table, &cfg);
        tg_conf_doc_free(doc);
        return 0;
    }
    tg_log_init("trailguard-fetcher", tg_log_level_parse(common.log_level), -1);
    signal(SIGPIPE, SIG_IGN);

    uv_loop_t loop;
    uv_loop_init(&loop);
    void *aws = NULL; /* fe_aws, created for the first AWS source */
    int exit_code = 3; /* start-up failure; 0/1 are a finished run */
    fe_daemon *d = fe_daemon_new(&loop, &cfg, &common, err, sizeof err);
    if (!d) {
        tg_log_error("start failed: %s", err);
        goto out;
    }
    size_t nsrc = cfg.sources.n + (size_t)(argc - first_src);
    if (nsrc) {
        const char **all = calloc(nsrc, sizeof(*all));
        const char **paths = calloc(nsrc, sizeof(*paths));
        size_t n = 0, nall = 0;
        for (size_t i = 0; i < cfg.sources.n; i++)
            all[nall++] = cfg.sources.v[i];
        for (int i = first_src; i < argc; i++)
            all[nall++] = argv[i];
        bool ok = true;
        for (size_t i = 0; i < nall && ok; i++) {
            if (strncmp(all[i], "s3://", 5) != 0 && strncmp(all[i], "sqs://", 6) != 0) {
                paths[n++] = all[i];
                continue;
            }
            ok = s_add_remote(&loop, d, &aws, &cfg, &common, all[i]);
        }
        fe_source *src = ok && n ? fe_local_new(paths, n, cfg.inline_data) : NULL;
        free(paths);
        free(all);
        if (!ok || (n && (!src || fe_daemon_add_source(d, &src) != 0))) {
            tg_log_error("cannot create the sources");
            goto out;
        }
    }
    if (cfg.aws.sns_topics.n && !s_add_remote(&loop, d, &aws, &cfg, &common, NULL))
        goto out;
    s_main m = { d, NULL };
    tg_daemon *td = m.td = tg_daemon_new(&loop, &s_info, s_on_stop, NULL, &m);
    if (!td) {
        tg_log_error("cannot install signal handlers");
        goto out;
    }
    char extra[64];
    snprintf(extra, sizeof extra, "metrics_port=%d", fe_daemon_metrics_port(d));
    tg_daemon_ready(td, fe_daemon_endpoint(d), extra);
    bool start_failed = fe_daemon_start(d, err, sizeof err) != 0;
    if (start_failed) {
        tg_log_error("source start failed: %s", err);
        fe_daemon_stop(d);
    }
#ifdef TG_HAVE_AWS
    if (!start_failed)
        fe_aws_started(aws);
#endif
    uv_run(&loop, UV_RUN_DEFAULT);
    /* A source that could not start is a start-up failure (exit 3), even
     * though the daemon then stopped cleanly. */
    if (start_failed)
        exit_code = 3;
    else
        exit_code = fe_daemon_finished(d) ? fe_daemon_exit_code(d) : 0;
    s_close_td(&m);
out:
    fe_daemon_free(d);
#ifdef TG_HAVE_AWS
    fe_aws_free(aws);
#endif
    uv_run(&loop, UV_RUN_DEFAULT);
    if (uv_loop_close(&loop) != 0)
        tg_log_warn("event loop closed with handles open");
    tg_daemon_log_usage();
    tg_daemon_common_release(&common);
    tg_conf_release(fe_config_table, &cfg);
    tg_conf_doc_free(doc);
    tg_log_info("exit status=%d", exit_code);
    return exit_code;
}
