/*
 * tg_daemon.c - arguments, configuration loading, signals and systemd
 * notification shared by the daemons (see tg_daemon.h).
 *
 * Owner: common.
 *
 * DESIGN
 * Configuration loading is tg_config applied twice: the common table to
 * the root (section names skipped), the daemon's table to its section.
 * "-e" overrides are split by their first component: "<own section>.k=v"
 * goes to the section, a key of the common table to the root, and keys
 * of other sections are ignored (the supervisor passes one list to every
 * daemon).  The runtime part is three uv_signal handles and an optional
 * watchdog timer, all unreferenced so they never keep the loop alive.
 */
#include "tg_daemon.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/resource.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "tg_log.h"

#ifndef TG_VERSION
#define TG_VERSION "unknown"
#endif

const tg_conf_entry tg_daemon_common_table[] = {
    {TG_CONF_STR, "state_dir", "/var/lib/trailguard",
     offsetof(tg_daemon_common, state_dir),
     "directory for journals, spools and checkpoints"},
    {TG_CONF_STR, "log_level", "info", offsetof(tg_daemon_common, log_level),
     "error, warn, info or debug"},
    {TG_CONF_STR, "metrics.bind", "127.0.0.1",
     offsetof(tg_daemon_common, metrics_bind),
     "address the metrics/health endpoints listen on"},
    {TG_CONF_STR, "metrics.token", NULL,
     offsetof(tg_daemon_common, metrics_token),
     "bearer token required on /metrics (unset: none)"},
    {TG_CONF_STR, "shm_dir", "/dev/shm", offsetof(tg_daemon_common, shm_dir),
     "tmpfs directory for the batch segments a parser shares with the "
     "evaluators on its host (parser.shm); all stages must agree"},
    {TG_CONF_BOOL, "curve.enabled", "false",
     offsetof(tg_daemon_common, curve.enabled),
     "CURVE-encrypt every stage socket (servers bind, clients connect)"},
    {TG_CONF_STR, "curve.secret_key_file", NULL,
     offsetof(tg_daemon_common, curve.secret_key_file),
     "this process's keypair file (trailguard keygen; mode 0600)"},
    {TG_CONF_STR, "curve.server_public_key", NULL,
     offsetof(tg_daemon_common, curve.server_public_key),
     "Z85 public key of the servers this process connects to"},
    {TG_CONF_STR, "curve.server_public_key_file", NULL,
     offsetof(tg_daemon_common, curve.server_public_key_file),
     "file holding that key (public-key = ...), instead of the above"},
    {TG_CONF_STRLIST, "curve.server_keys", NULL,
     offsetof(tg_daemon_common, curve.server_keys),
     "per-endpoint server keys, ENDPOINT=Z85KEY (override the above)"},
    {TG_CONF_STR, "curve.authorized_keys", NULL,
     offsetof(tg_daemon_common, curve.authorized_keys),
     "file or directory of client public keys allowed to connect "
     "(unset: any client that knows the server key)"},
    TG_CONF_END,
};

const char *const tg_daemon_sections[] = {
    "fetcher", "parser", "evaluator", "notifier", "run", NULL,
};

static const tg_conf_entry s_empty_table[] = {TG_CONF_END};

void tg_daemon_usage(const tg_daemon_info *info, FILE *out)
{
    fprintf(out,
            "Usage: trailguard-%s [--config FILE] [-e KEY=VALUE]... "
            "[--check-config]\n"
            "%s\n\n"
            "Options:\n"
            "  -c, --config FILE   configuration file (default: "
            "$TRAILGUARD_CONFIG)\n"
            "  -e KEY=VALUE        override a key (\"%s.KEY\" or a top-level "
            "key)\n"
            "      --check-config  load the configuration and exit\n"
            "  -h, --help          this text\n"
            "  -V, --version       print the version\n\n"
            "Top-level keys:\n",
            info->name, info->summary ? info->summary : "", info->name);
    tg_conf_help(tg_daemon_common_table, "TRAILGUARD", out);
    char prefix[64];
    tg_conf_env_name("TRAILGUARD", info->name, prefix, sizeof prefix);
    fprintf(out, "\nKeys of section '%s':\n", info->name);
    tg_conf_help(info->table ? info->table : s_empty_table, prefix, out);
}

int tg_daemon_parse_args(const tg_daemon_info *info, int argc, char **argv,
                         tg_daemon_args *args, char *err, size_t errlen)
{
    memset(args, 0, sizeof *args);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            tg_daemon_usage(info, stdout);
            return 1;
        }
        if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            printf("trailguard-%s %s\n", info->name, TG_VERSION);
            return 1;
        }
        if (!strcmp(a, "--check-config")) {
            args->check_config = true;
            continue;
        }
        if (!strncmp(a, "--config=", 9)) {
            args->config_path = a + 9;
            continue;
        }
        bool cfg = !strcmp(a, "-c") || !strcmp(a, "--config");
        bool ov = !strcmp(a, "-e");
        if (!cfg && !ov && !strncmp(a, "-e", 2) && a[2]) {
            ov = true;
            val = a + 2;
        }
        if (!cfg && !ov) {
            snprintf(err, errlen, "unknown argument '%s' (see --help)", a);
            return -EINVAL;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "%s needs a value", a);
                return -EINVAL;
            }
            val = argv[++i];
        }
        if (cfg) {
            args->config_path = val;
        } else if (!strchr(val, '=') || *val == '=') {
            snprintf(err, errlen, "-e %s: expected KEY=VALUE", val);
            return -EINVAL;
        } else if (args->noverrides + 1 >= sizeof args->overrides /
                                                sizeof args->overrides[0]) {
            snprintf(err, errlen, "too many -e overrides");
            return -EINVAL;
        } else {
            args->overrides[args->noverrides++] = val;
        }
    }
    if (!args->config_path) {
        const char *env = getenv("TRAILGUARD_CONFIG");
        if (env && *env)
            args->config_path = env;
    }
    return 0;
}

static bool s_is_section(const char *key, size_t len)
{
    for (const char *const *s = tg_daemon_sections; *s; s++)
        if (strlen(*s) == len && !memcmp(*s, key, len))
            return true;
    return false;
}

/* Split -e overrides into root and section lists (pointers into args). */
static void s_split_overrides(const tg_daemon_info *info,
                              const tg_daemon_args *args, const char **root,
                              const char **sect)
{
    size_t nr = 0, ns = 0, nl = strlen(info->name);
    for (size_t i = 0; i < args->noverrides; i++) {
        const char *o = args->overrides[i];
        const char *dot = strchr(o, '.');
        const char *eq = strchr(o, '=');
        if (dot && dot < eq && s_is_section(o, (size_t)(dot - o))) {
            if ((size_t)(dot - o) == nl && !strncmp(o, info->name, nl))
                sect[ns++] = dot + 1;
            continue;
        }
        root[nr++] = o;
    }
    root[nr] = NULL;
    sect[ns] = NULL;
}

int tg_daemon_load_config(const tg_daemon_info *info,
                          const tg_daemon_args *args,
                          tg_daemon_common *common, void *cfg,
                          tg_conf_doc **docp, char *err, size_t errlen)
{
    const tg_conf_entry *table = info->table ? info->table : s_empty_table;
    memset(common, 0, sizeof *common);
    *docp = NULL;
    tg_conf_doc *doc = args->config_path
                           ? tg_conf_doc_load(args->config_path, err, errlen)
                           : tg_conf_doc_empty();
    if (!doc) {
        if (!args->config_path)
            snprintf(err, errlen, "out of memory");
        return -EINVAL;
    }
    const char *root_ov[33], *sect_ov[33];
    s_split_overrides(info, args, root_ov, sect_ov);
    const tg_conf_node *root = tg_conf_doc_root(doc);
    tg_conf_apply_opts ro = {.env_prefix = "TRAILGUARD",
                             .skip_keys = tg_daemon_sections,
                             .overrides = root_ov};
    int rc = tg_conf_apply(tg_daemon_common_table, common, root, &ro, err,
                           errlen);
    if (rc == 0 && tg_log_level_parse(common->log_level) < 0) {
        const tg_conf_node *n = tg_conf_map_get(root, "log_level");
        snprintf(err, errlen, "%s:%d:%d: bad log_level '%s' (error, warn, "
                 "info or debug)", n ? n->file : "configuration",
                 n ? n->line : 0, n ? n->col : 0,
                 common->log_level ? common->log_level : "");
        rc = -EINVAL;
    }
    if (rc == 0)
        rc = tg_curve_config_check(&common->curve, err, errlen);
    if (rc == 0) {
        char prefix[64];
        tg_conf_env_name("TRAILGUARD", info->name, prefix, sizeof prefix);
        tg_conf_apply_opts so = {.env_prefix = prefix, .overrides = sect_ov};
        rc = tg_conf_apply(table, cfg, tg_conf_map_get(root, info->name),
                           &so, err, errlen);
    }
    if (rc != 0) {
        tg_conf_doc_free(doc);
        return rc;
    }
    *docp = doc;
    return 0;
}

void tg_daemon_common_release(tg_daemon_common *common)
{
    tg_conf_release(tg_daemon_common_table, common);
}

/* ---- runtime ------------------------------------------------------------ */

struct tg_daemon {
    uv_loop_t *loop;
    const tg_daemon_info *info;
    uv_signal_t sig[3];
    uv_timer_t watchdog;
    uv_timer_t supervisor;      /* TRAILGUARD_SUPERVISOR_PID watch */
    int supervisor_pid;
    int open_handles;
    bool closing;
    bool stop_requested;
    bool stopping_sent;
    tg_daemon_signal_cb on_stop;
    tg_daemon_signal_cb on_reload;
    void *ud;
};

static void s_on_signal(uv_signal_t *h, int signum)
{
    tg_daemon *d = h->data;
    if (d->closing)
        return;
    if (signum == SIGHUP) {
        sd_notify(0, "RELOADING=1");
        if (d->on_reload)
            d->on_reload(d, signum, d->ud);
        sd_notify(0, "READY=1");
        return;
    }
    d->stop_requested = true;
    if (d->on_stop)
        d->on_stop(d, signum, d->ud);
    else
        uv_stop(d->loop);
}

static void s_on_watchdog(uv_timer_t *t)
{
    (void)t;
    sd_notify(0, "WATCHDOG=1");
}

/* Under `trailguard run` the daemons run in their own session, so nothing
 * tells them when the supervisor dies: stop as on SIGTERM once the parent
 * is no longer the supervisor named in TRAILGUARD_SUPERVISOR_PID. */
static void s_on_supervisor_check(uv_timer_t *t)
{
    tg_daemon *d = t->data;
    if (d->closing || getppid() == d->supervisor_pid)
        return;
    tg_log_warn("supervisor %d is gone; stopping", d->supervisor_pid);
    uv_timer_stop(t);
    s_on_signal(&d->sig[0], SIGTERM);
}

/*
 * Batch frames are about 1 MiB and come and go hundreds of times a second.
 * With glibc's defaults each one is a fresh mmap (or heap growth after a
 * trim), so every frame costs ~300 page faults of zeroed memory in the
 * parser, the evaluators and zmq's I/O threads.  Keeping blocks up to
 * 16 MiB on the heap and trimming only above 32 MiB of free top lets them
 * be reused; files larger than that still get their own mappings.  The
 * environment (MALLOC_MMAP_THRESHOLD_, GLIBC_TUNABLES) still wins, because
 * glibc reads it first and mallopt is skipped when it is set.
 */
static void s_tune_malloc(void)
{
    if (getenv("MALLOC_MMAP_THRESHOLD_") || getenv("MALLOC_TRIM_THRESHOLD_") ||
        getenv("GLIBC_TUNABLES"))
        return;
    (void)mallopt(M_MMAP_THRESHOLD, 16 << 20);
    (void)mallopt(M_TRIM_THRESHOLD, 32 << 20);
}

tg_daemon *tg_daemon_new(uv_loop_t *loop, const tg_daemon_info *info,
                         tg_daemon_signal_cb on_stop,
                         tg_daemon_signal_cb on_reload, void *ud)
{
    static const int sigs[3] = {SIGTERM, SIGINT, SIGHUP};
    tg_daemon *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->loop = loop;
    d->info = info;
    d->on_stop = on_stop;
    d->on_reload = on_reload;
    d->ud = ud;
    /* a peer closing a socket must not kill the daemon */
    signal(SIGPIPE, SIG_IGN);
    s_tune_malloc();
    for (int i = 0; i < 3; i++) {
        uv_signal_init(loop, &d->sig[i]);
        d->sig[i].data = d;
        d->open_handles++;
        uv_signal_start(&d->sig[i], s_on_signal, sigs[i]);
        uv_unref((uv_handle_t *)&d->sig[i]);
    }
    uv_timer_init(loop, &d->supervisor);
    d->supervisor.data = d;
    d->open_handles++;
    const char *sup = getenv("TRAILGUARD_SUPERVISOR_PID");
    d->supervisor_pid = sup ? atoi(sup) : 0;
    if (d->supervisor_pid > 0) {
        uv_timer_start(&d->supervisor, s_on_supervisor_check, 500, 500);
        uv_unref((uv_handle_t *)&d->supervisor);
    }
    uv_timer_init(loop, &d->watchdog);
    d->watchdog.data = d;
    d->open_handles++;
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        uint64_t ms = usec / 2000;
        uv_timer_start(&d->watchdog, s_on_watchdog, ms ? ms : 1,
                       ms ? ms : 1);
        uv_unref((uv_handle_t *)&d->watchdog);
    }
    return d;
}

void tg_daemon_ready(tg_daemon *d, const char *endpoint, const char *extra)
{
    (void)d;
    sd_notify(0, "READY=1");
    tg_log_write(TG_LOG_INFO, __FILE__, __LINE__, "ready endpoint=%s%s%s",
                 endpoint ? endpoint : "-", extra ? " " : "",
                 extra ? extra : "");
}

void tg_daemon_stopping(tg_daemon *d)
{
    if (d->stopping_sent)
        return;
    d->stopping_sent = true;
    sd_notify(0, "STOPPING=1");
}

void tg_daemon_status(tg_daemon *d, const char *status)
{
    (void)d;
    sd_notifyf(0, "STATUS=%s", status);
}

bool tg_daemon_stop_requested(const tg_daemon *d)
{
    return d->stop_requested;
}

static void s_on_close(uv_handle_t *h)
{
    tg_daemon *d = h->data;
    if (--d->open_handles == 0)
        free(d);
}

void tg_daemon_close(tg_daemon *d)
{
    if (!d || d->closing)
        return;
    d->closing = true;
    for (int i = 0; i < 3; i++)
        uv_close((uv_handle_t *)&d->sig[i], s_on_close);
    uv_close((uv_handle_t *)&d->watchdog, s_on_close);
    uv_close((uv_handle_t *)&d->supervisor, s_on_close);
}

void tg_daemon_log_usage(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        tg_log_info("exit cpu_user=%.2fs cpu_sys=%.2fs max_rss=%ldKiB",
                    ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
                    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
}
