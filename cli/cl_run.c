/*
 * cl_run.c - the `trailguard run` supervisor; see cl_run.h for the design.
 */
#include "cl_run.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "tg_config.h"

#ifndef TG_DATADIR
#define TG_DATADIR "/usr/local/share/trailguard"
#endif

#define S_MAX_CHILDREN 64
#define S_MAX_LIST 64
#define S_STOP_GRACE_MS 30000

enum { ST_FETCHER, ST_PARSER, ST_EVALUATOR, ST_NOTIFIER, ST__N };
static const char *const s_stage[ST__N] = { "fetcher", "parser", "evaluator", "notifier" };

typedef struct cl_child {
    struct cl_sup *sup;
    int stage, inst;
    uv_process_t proc;
    bool running, closing;
    int pid;
    int port;
    unsigned restarts;
    unsigned quick_fails;       /* consecutive deaths soon after start */
    uint64_t backoff_ms;
    uint64_t started_ms;
    uv_timer_t restart;
} cl_child;

typedef struct cl_opts {
    const char *config;
    const char *rules[S_MAX_LIST];
    size_t nrules;
    const char *outputs[S_MAX_LIST];
    size_t noutputs;
    const char *rule_matching;
    int evaluators, parsers;
    bool once;
    const char *state_dir;
    const char *log_dir;
    const char *log_level;
    const char *sources[S_MAX_LIST];
    size_t nsources;
} cl_opts;

typedef struct cl_sup {
    uv_loop_t *loop;
    cl_opts o;
    char rundir[PATH_MAX];
    char bindir[PATH_MAX];
    char *ov[48];            /* -e overrides shared by every child */
    size_t nov;
    char *rules_args[S_MAX_LIST];
    size_t nrules_args;
    cl_child kids[S_MAX_CHILDREN];
    size_t nkids;
    uv_signal_t sig[3];
    uv_timer_t stop_timer;
    bool finite, stopping, fatal;
    int stop_phase;          /* stage being stopped */
    int exit_code;
    bool stdin_source;
    char **env;              /* environ + TRAILGUARD_SUPERVISOR_PID */
} cl_sup;

extern char **environ;

static char **s_make_env(void)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = calloc(n + 2, sizeof(char *));
    if (!env)
        abort();
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "TRAILGUARD_SUPERVISOR_PID=", 26) != 0)
            env[k++] = environ[i];
    if (asprintf(&env[k++], "TRAILGUARD_SUPERVISOR_PID=%d", (int)getpid()) < 0)
        abort();
    env[k] = NULL;
    return env;
}

static void s_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void s_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "trailguard: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---- set-up helpers -------------------------------------------------- */

static int s_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static bool s_is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool s_is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Where the daemon binaries are: $TRAILGUARD_BIN_DIR, next to this
 * executable (installed), or the build tree's <stage>/ directories. */
static void s_find_bindir(cl_sup *s)
{
    const char *env = getenv("TRAILGUARD_BIN_DIR");
    if (env && *env) {
        snprintf(s->bindir, sizeof s->bindir, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        s->bindir[0] = '\0';
        return;
    }
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash)
        *slash = '\0';
    snprintf(s->bindir, sizeof s->bindir, "%s", exe);
}

static void s_bin_path(const cl_sup *s, int stage, char *out, size_t len)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/trailguard-%s", s->bindir, s_stage[stage]);
    if (s->bindir[0] && access(p, X_OK) == 0) {
        snprintf(out, len, "%s", p);
        return;
    }
    snprintf(p, sizeof p, "%s/../%s/trailguard-%s", s->bindir, s_stage[stage], s_stage[stage]);
    if (s->bindir[0] && access(p, X_OK) == 0) {
        snprintf(out, len, "%s", p);
        return;
    }
    snprintf(out, len, "trailguard-%s", s_stage[stage]); /* $PATH */
}

static void s_ov(cl_sup *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void s_ov(cl_sup *s, const char *fmt, ...)
{
    va_list ap;
    char *p = NULL;
    va_start(ap, fmt);
    if (vasprintf(&p, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (s->nov < sizeof s->ov / sizeof s->ov[0] - 1)
        s->ov[s->nov++] = p;
    else
        free(p);
}

static int s_mkrundir(cl_sup *s)
{
    const char *base = getenv("XDG_RUNTIME_DIR");
    if (!base || !s_is_dir(base) || access(base, W_OK) != 0)
        base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    snprintf(s->rundir, sizeof s->rundir, "%s/trailguard-XXXXXX", base);
    if (!mkdtemp(s->rundir)) {
        s_log("cannot create a runtime directory under %s: %s", base, strerror(errno));
        return -1;
    }
    chmod(s->rundir, 0700);
    /* ipc:// paths are limited to about 100 bytes */
    if (strlen(s->rundir) > 80) {
        s_log("runtime directory path too long for ipc:// endpoints: %s", s->rundir);
        return -1;
    }
    return 0;
}

/* Resolve the rules to pass: -r, else the config's evaluator.rules (then
 * nothing is passed), else $TRAILGUARD_RULES_DIR, ./rules, the data dir. */
static int s_rules(cl_sup *s, const tg_conf_node *root)
{
    for (size_t i = 0; i < s->o.nrules; i++)
        s->rules_args[s->nrules_args++] = strdup(s->o.rules[i]);
    if (s->nrules_args)
        return 0;
    if (root && tg_conf_map_get(root, "evaluator.rules"))
        return 0;
    const char *env = getenv("TRAILGUARD_RULES_DIR");
    const char *cand[] = { env, "./rules", TG_DATADIR "/rules" };
    for (size_t i = 0; i < 3; i++) {
        if (cand[i] && *cand[i] && (s_is_dir(cand[i]) || s_is_file(cand[i]))) {
            char abs[PATH_MAX];
            s->rules_args[s->nrules_args++] =
                strdup(realpath(cand[i], abs) ? abs : cand[i]);
            return 0;
        }
    }
    s_log("no rules: pass -r FILE|DIR, set TRAILGUARD_RULES_DIR, or run where ./rules exists");
    return -1;
}

static int s_build_wiring(cl_sup *s)
{
    tg_conf_doc *doc = NULL;
    const tg_conf_node *root = NULL;
    char err[512];
    if (s->o.config) {
        doc = tg_conf_doc_load(s->o.config, err, sizeof err);
        if (!doc) {
            s_log("%s", err);
            return -1;
        }
        root = tg_conf_doc_root(doc);
    }
    int rc = s_rules(s, root);
    const char *r = s->rundir;
    if (s->o.state_dir)
        s_ov(s, "state_dir=%s", s->o.state_dir);
    else if (!root || !tg_conf_map_get(root, "state_dir"))
        s_ov(s, "state_dir=%s/state", r);
    if (s->o.log_level)
        s_ov(s, "log_level=%s", s->o.log_level);
    else if (!root || !tg_conf_map_get(root, "log_level"))
        s_ov(s, "log_level=warn"); /* a terminal run shows problems only */
    s_ov(s, "fetcher.bind=ipc://%s/jobs", r);
    s_ov(s, "fetcher.ack_bind=ipc://%s/acks", r);
    if (s->o.once)
        s_ov(s, "fetcher.once=true");
    s_ov(s, "parser.connect=ipc://%s/jobs", r);
    char eps[4096] = "";
    size_t off = 0;
    for (int i = 0; i < s->o.parsers; i++)
        off += (size_t)snprintf(eps + off, sizeof eps - off, "%sipc://%s/batches-%d",
                                i ? "," : "", r, i);
    s_ov(s, "evaluator.connect=%s", eps);
    s_ov(s, "evaluator.notifier=ipc://%s/alerts", r);
    if (s->o.rule_matching)
        s_ov(s, "evaluator.rule_matching=%s", s->o.rule_matching);
    s_ov(s, "notifier.bind=ipc://%s/alerts", r);
    if (s->o.noutputs) {
        char outs[4096] = "";
        off = 0;
        for (size_t i = 0; i < s->o.noutputs; i++)
            off += (size_t)snprintf(outs + off, sizeof outs - off, "%s%s",
                                    i ? "," : "", s->o.outputs[i]);
        s_ov(s, "notifier.output=%s", outs);
    }
    tg_conf_doc_free(doc);
    return rc;
}

/* ---- children -------------------------------------------------------- */

static void s_write_info(cl_sup *s)
{
    char path[PATH_MAX + 16], tmp[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/run.info", s->rundir);
    snprintf(tmp, sizeof tmp, "%s/run.info.tmp", s->rundir);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    fprintf(f, "supervisor %d %s\n", (int)getpid(), s->rundir);
    for (size_t i = 0; i < s->nkids; i++) {
        cl_child *c = &s->kids[i];
        fprintf(f, "child %s %d %d %d %u\n", s_stage[c->stage], c->inst,
                c->running ? c->pid : 0, c->port, c->restarts);
    }
    fclose(f);
    rename(tmp, path);
}

static void s_spawn(cl_child *c);
static void s_stop_next(cl_sup *s);
static void s_signal_stage(cl_sup *s, int stage, int signum);

static void s_on_restart(uv_timer_t *t)
{
    cl_child *c = t->data;
    if (!c->sup->stopping)
        s_spawn(c);
}

static bool s_stage_running(cl_sup *s, int stage)
{
    for (size_t i = 0; i < s->nkids; i++)
        if (s->kids[i].stage == stage && (s->kids[i].running || s->kids[i].closing))
            return true;
    return false;
}

static void s_on_proc_close(uv_handle_t *h)
{
    cl_child *c = h->data;
    c->closing = false;
    cl_sup *s = c->sup;
    if (s->stopping && !s_stage_running(s, s->stop_phase))
        s_stop_next(s);
}

static void s_on_exit(uv_process_t *p, int64_t status, int sig)
{
    cl_child *c = p->data;
    cl_sup *s = c->sup;
    c->running = false;
    c->closing = true;
    uv_close((uv_handle_t *)p, s_on_proc_close);
    uint64_t ran = uv_now(s->loop) - c->started_ms;
    bool normal = sig == 0 && (status == 0 || status == 1);
    /* the fetcher exits 0/1 by itself only when every finite source is
     * done (command-line sources, --once, or fetcher.sources in --config) */
    if (c->stage == ST_FETCHER && !s->stopping && normal) {
        s->exit_code = (int)status;
        s_log("all inputs processed (fetcher status %d); stopping the pipeline",
              (int)status);
        s->stopping = true;
        s->stop_phase = ST_FETCHER;
        for (size_t i = 0; i < s->nkids; i++)
            uv_timer_stop(&s->kids[i].restart);
        s_write_info(s);
        return; /* s_on_proc_close moves on to the parsers */
    }
    if (s->stopping) {
        if (sig || status)
            s_log("%s-%d exited status=%d signal=%d", s_stage[c->stage], c->inst,
                  (int)status, sig);
        s_write_info(s);
        return;
    }
    c->quick_fails = ran < 2000 ? c->quick_fails + 1 : 0;
    if (c->quick_fails >= 5) {
        s_log("%s-%d keeps failing at start-up (status=%d signal=%d); giving up, "
              "see its log", s_stage[c->stage], c->inst, (int)status, sig);
        s->exit_code = 2;
        s->stopping = true;
        s->fatal = true; /* no draining: everything gets SIGTERM now */
        s->stop_phase = ST_FETCHER;
        for (size_t i = 0; i < s->nkids; i++)
            uv_timer_stop(&s->kids[i].restart);
        for (int st = 0; st < ST__N; st++)
            s_signal_stage(s, st, SIGTERM);
        s_write_info(s);
        s_stop_next(s);
        return;
    }
    if (ran < 2000)
        c->port = s_free_port(); /* in case its metrics port was taken */
    s_log("%s-%d died status=%d signal=%d; restarting in %llums",
          s_stage[c->stage], c->inst, (int)status, sig,
          (unsigned long long)c->backoff_ms);
    if (ran > 10000)
        c->backoff_ms = 200;
    uv_timer_start(&c->restart, s_on_restart, c->backoff_ms, 0);
    c->backoff_ms = c->backoff_ms * 2 > 10000 ? 10000 : c->backoff_ms * 2;
    c->restarts++;
    s_write_info(s);
}

static void s_spawn(cl_child *c)
{
    cl_sup *s = c->sup;
    char bin[PATH_MAX * 2 + 64], port[32], logp[PATH_MAX + 64];
    char *argv[S_MAX_LIST * 2 + 128];
    size_t n = 0;
    s_bin_path(s, c->stage, bin, sizeof bin);
    argv[n++] = bin;
    if (s->o.config) {
        argv[n++] = "-c";
        argv[n++] = (char *)s->o.config;
    }
    for (size_t i = 0; i < s->nov; i++) {
        argv[n++] = "-e";
        argv[n++] = s->ov[i];
    }
    char *extra[4] = { NULL };
    if (c->stage == ST_PARSER &&
        asprintf(&extra[0], "parser.bind=ipc://%s/batches-%d", s->rundir, c->inst) > 0) {
        argv[n++] = "-e";
        argv[n++] = extra[0];
    }
    snprintf(port, sizeof port, "%d", c->port);
    if (asprintf(&extra[1], "%s.metrics.port=%s", s_stage[c->stage], port) > 0) {
        argv[n++] = "-e";
        argv[n++] = extra[1];
    }
    if (c->stage == ST_FETCHER && s->o.nsources) {
        argv[n++] = "--";
        for (size_t i = 0; i < s->o.nsources; i++)
            argv[n++] = (char *)s->o.sources[i];
    }
    if (c->stage == ST_EVALUATOR && s->nrules_args) {
        argv[n++] = "--";
        for (size_t i = 0; i < s->nrules_args; i++)
            argv[n++] = s->rules_args[i];
    }
    argv[n] = NULL;

    uv_stdio_container_t io[3];
    int logfd = -1;
    if (s->o.log_dir) {
        snprintf(logp, sizeof logp, "%s/%s-%d.log", s->o.log_dir, s_stage[c->stage], c->inst);
        logfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    }
    io[0].flags = UV_IGNORE;
    if (c->stage == ST_FETCHER && s->stdin_source) {
        io[0].flags = UV_INHERIT_FD;
        io[0].data.fd = 0;
    }
    io[1].flags = UV_INHERIT_FD;
    io[1].data.fd = c->stage == ST_NOTIFIER ? 1 : (logfd >= 0 ? logfd : 2);
    io[2].flags = UV_INHERIT_FD;
    io[2].data.fd = logfd >= 0 ? logfd : 2;
    uv_process_options_t po = { 0 };
    po.file = bin;
    po.args = argv;
    po.env = s->env;
    /* own session: a terminal's Ctrl-C reaches only the supervisor, which
     * stops the stages in order; children watch TRAILGUARD_SUPERVISOR_PID
     * and stop if the supervisor disappears */
    po.flags = UV_PROCESS_DETACHED;
    po.exit_cb = s_on_exit;
    po.stdio = io;
    po.stdio_count = 3;
    c->proc.data = c;
    int rc = uv_spawn(s->loop, &c->proc, &po);
    if (logfd >= 0)
        close(logfd);
    free(extra[0]);
    free(extra[1]);
    if (rc != 0) {
        s_log("cannot start %s: %s", bin, uv_strerror(rc));
        c->closing = true;
        uv_close((uv_handle_t *)&c->proc, s_on_proc_close);
        uv_timer_start(&c->restart, s_on_restart, c->backoff_ms, 0);
        c->backoff_ms = c->backoff_ms * 2 > 10000 ? 10000 : c->backoff_ms * 2;
        return;
    }
    c->running = true;
    c->pid = c->proc.pid;
    c->started_ms = uv_now(s->loop);
    s_write_info(s);
}

/* ---- stopping -------------------------------------------------------- */

static void s_signal_stage(cl_sup *s, int stage, int signum)
{
    for (size_t i = 0; i < s->nkids; i++) {
        cl_child *c = &s->kids[i];
        if (c->stage == stage) {
            uv_timer_stop(&c->restart);
            if (c->running)
                uv_process_kill(&c->proc, signum);
        }
    }
}

static void s_on_stop_timeout(uv_timer_t *t)
{
    cl_sup *s = t->data;
    s_log("%s did not stop in time; killing it", s_stage[s->stop_phase]);
    for (int st = s->stop_phase; st < ST__N; st++)
        if (st == s->stop_phase || s->fatal)
            s_signal_stage(s, st, SIGKILL);
}

static void s_close_sup_handles(cl_sup *s)
{
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&s->sig[i], NULL);
    uv_close((uv_handle_t *)&s->stop_timer, NULL);
    for (size_t i = 0; i < s->nkids; i++)
        uv_close((uv_handle_t *)&s->kids[i].restart, NULL);
}

/* Move to the next stage once the current one has no process left. */
static void s_stop_next(cl_sup *s)
{
    while (s->stop_phase < ST__N && !s_stage_running(s, s->stop_phase))
        s->stop_phase++;
    uv_timer_stop(&s->stop_timer);
    if (s->stop_phase >= ST__N) {
        s_close_sup_handles(s);
        return;
    }
    if (!s->fatal) /* fatal: everyone got SIGTERM already */
        s_signal_stage(s, s->stop_phase, SIGTERM);
    uv_timer_start(&s->stop_timer, s_on_stop_timeout,
                   s->fatal ? 2000 : S_STOP_GRACE_MS, 0);
}

static void s_on_signal(uv_signal_t *h, int signum)
{
    cl_sup *s = h->data;
    if (signum == SIGHUP) {
        s_log("SIGHUP: forwarding to every daemon");
        for (int st = 0; st < ST__N; st++)
            s_signal_stage(s, st, SIGHUP);
        return;
    }
    if (s->stopping) {
        s_log("second signal: killing the daemons");
        for (int st = 0; st < ST__N; st++)
            s_signal_stage(s, st, SIGKILL);
        return;
    }
    s_log("signal %d: draining the pipeline", signum);
    s->stopping = true;
    s->exit_code = signum == SIGINT ? 130 : 0;
    s->stop_phase = ST_FETCHER;
    for (size_t i = 0; i < s->nkids; i++)
        uv_timer_stop(&s->kids[i].restart);
    s_stop_next(s);
}

/* ---- options --------------------------------------------------------- */

#define S_DEFAULT_PARSERS_MAX 4u

static void s_usage(FILE *f)
{
    fprintf(f,
        "Usage: trailguard run [--config FILE] [-r RULES]... [-o OUTPUT]...\n"
        "                      [--rule-matching all|first] [--evaluators N]\n"
        "                      [--parsers N] [--once] [--state-dir DIR]\n"
        "                      [--log-dir DIR] [--log-level LEVEL] [SOURCE...]\n"
        "Run the whole pipeline on this machine.  SOURCE is a file, a directory\n"
        "(read recursively), - for stdin, s3://BUCKET[/PREFIX] or sqs://QUEUE-URL.\n"
        "With local sources (or --once) the run ends when every alert is\n"
        "delivered: exit 0, or 1 if an input failed (after processing the rest).\n"
        "  --evaluators N  evaluator processes (default: one per CPU)\n"
        "  --parsers N  parser processes (default: one per CPU, at most 4)\n"
        "  --state-dir DIR keep checkpoints, dedup window and spools there\n"
        "                  (default: inside the private runtime directory)\n"
        "  -r RULES     rules file or directory (repeatable; default: $TRAILGUARD_RULES_DIR,\n"
        "               ./rules, %s/rules)\n"
        "  -o OUTPUT    json (default, stdout), text, file:PATH, text-file:PATH,\n"
        "               webhook:URL, http:URL, syslog:ADDRESS, securityhub[:REGION],\n"
        "               cloudwatch:LOG_GROUP (repeatable; outputs with settings of\n"
        "               their own go under notifier.outputs in --config)\n"
        "  --rule-matching all|first  all (default): every matching rule fires;\n"
        "               first: Falco's default, one alert per event\n"
        "  --once       S3/SQS sources: process what is there now, then exit\n",
        TG_DATADIR);
}

static int s_parse(cl_opts *o, int argc, char **argv)
{
    static const struct option lo[] = {
        { "config", required_argument, NULL, 'c' },
        { "rules", required_argument, NULL, 'r' },
        { "output", required_argument, NULL, 'o' },
        { "rule-matching", required_argument, NULL, 'm' },
        { "evaluators", required_argument, NULL, 'E' },
        { "parsers", required_argument, NULL, 'P' },
        { "once", no_argument, NULL, '1' },
        { "state-dir", required_argument, NULL, 'S' },
        { "log-dir", required_argument, NULL, 'L' },
        { "log-level", required_argument, NULL, 'l' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+c:r:o:h", lo, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'r': if (o->nrules < S_MAX_LIST) o->rules[o->nrules++] = optarg; break;
        case 'o': if (o->noutputs < S_MAX_LIST) o->outputs[o->noutputs++] = optarg; break;
        case 'm':
            if (strcmp(optarg, "all") && strcmp(optarg, "first")) {
                s_log("--rule-matching must be all or first");
                return 2;
            }
            o->rule_matching = optarg;
            break;
        case 'E': o->evaluators = atoi(optarg); break;
        case 'P': o->parsers = atoi(optarg); break;
        case '1': o->once = true; break;
        case 'S': o->state_dir = optarg; break;
        case 'L': o->log_dir = optarg; break;
        case 'l': o->log_level = optarg; break;
        case 'h': s_usage(stdout); return 1;
        default: s_usage(stderr); return 2;
        }
    }
    for (int i = optind; i < argc && o->nsources < S_MAX_LIST; i++)
        o->sources[o->nsources++] = argv[i];
    if (o->evaluators <= 0)
        o->evaluators = (int)uv_available_parallelism();
    /* A parser and an evaluator cost about the same per record, and one
     * parser was the pipeline's serial bottleneck on 2 CPUs (make bench:
     * ~330k records/s with 1, ~385k with 2).  Each parser can hold ~60 MB
     * for a large file, hence the cap of the default. */
    if (o->parsers <= 0) {
        unsigned n = uv_available_parallelism();
        o->parsers = (int)(n > S_DEFAULT_PARSERS_MAX ? S_DEFAULT_PARSERS_MAX : n);
    }
    if (o->evaluators > 32)
        o->evaluators = 32;
    if (o->parsers > 16)
        o->parsers = 16;
    return 0;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static void s_add_kid(cl_sup *s, int stage, int inst)
{
    cl_child *c = &s->kids[s->nkids++];
    c->sup = s;
    c->stage = stage;
    c->inst = inst;
    c->backoff_ms = 200;
    c->port = s_free_port();
    uv_timer_init(s->loop, &c->restart);
    c->restart.data = c;
}

int cl_run_main(int argc, char **argv)
{
    cl_sup *s = calloc(1, sizeof(*s));
    if (!s)
        return 1;
    int rc = s_parse(&s->o, argc, argv);
    if (rc) {
        free(s);
        return rc == 1 ? 0 : rc;
    }
    for (size_t i = 0; i < s->o.nsources; i++)
        if (strcmp(s->o.sources[i], "-") == 0)
            s->stdin_source = true;
    s->finite = s->o.nsources > 0 || s->o.once;
    if (s_mkrundir(s) != 0 || s_build_wiring(s) != 0) {
        free(s);
        return 2;
    }
    s_find_bindir(s);
    s->env = s_make_env();
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t loop;
    uv_loop_init(&loop);
    s->loop = &loop;
    uv_timer_init(&loop, &s->stop_timer);
    s->stop_timer.data = s;
    const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
    for (int i = 0; i < 3; i++) {
        uv_signal_init(&loop, &s->sig[i]);
        s->sig[i].data = s;
        uv_signal_start(&s->sig[i], s_on_signal, sigs[i]);
    }
    s_add_kid(s, ST_NOTIFIER, 0);
    for (int i = 0; i < s->o.evaluators; i++)
        s_add_kid(s, ST_EVALUATOR, i);
    for (int i = 0; i < s->o.parsers; i++)
        s_add_kid(s, ST_PARSER, i);
    s_add_kid(s, ST_FETCHER, 0);
    s_log("runtime directory %s (parsers=%d evaluators=%d)", s->rundir,
          s->o.parsers, s->o.evaluators);
    for (size_t i = 0; i < s->nkids; i++)
        s_spawn(&s->kids[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    rc = s->exit_code;
    /* the runtime directory (sockets, run.info, ephemeral state) goes */
    if (!getenv("TRAILGUARD_KEEP_RUNDIR"))
        nftw(s->rundir, s_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    size_t ne = 0;
    while (s->env[ne])
        ne++;
    free(s->env[ne - 1]); /* ours: TRAILGUARD_SUPERVISOR_PID=... */
    free(s->env);
    for (size_t i = 0; i < s->nov; i++)
        free(s->ov[i]);
    for (size_t i = 0; i < s->nrules_args; i++)
        free(s->rules_args[i]);
    free(s);
    return rc;
}
