/*
 * cl_status.c - `trailguard status` and `trailguard reload`.
 *
 * DESIGN
 * Both find a running supervisor through its run.info file: the directory
 * given as argument, else $TRAILGUARD_RUNTIME_DIR, else the newest
 * trailguard-* directory under $XDG_RUNTIME_DIR, $TMPDIR and /tmp whose
 * supervisor pid is alive.  status scrapes every child's /metrics twice,
 * one second apart (plain blocking HTTP/1.0 on 127.0.0.1 with a timeout),
 * and prints one row per stage: instances answering/started, frames/s in
 * and out, the backlog in front of the stage (frames the upstream stage sent
 * that this stage has not received yet: libzmq 4.3 exposes no queue length,
 * so it is derived from the two counters), the records waiting inside the
 * stage (its own trailguard_queue_length gauge), errors, and for the
 * evaluators the mean detection lag over the interval (evaluation time minus
 * eventTime).  A backlog next to a stage with an instance that did not
 * answer is shown as "?": its counters are unknown, not zero.  --watch
 * repeats every two seconds until interrupted.  reload sends SIGHUP to the
 * supervisor, which forwards it.
 */
#include "cl_run.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define S_MAX_KIDS 64

typedef struct s_kid {
    char stage[16];
    int inst, pid, port;
    double fin, fout, err, queue;
    double fin0, fout0;
    double lag_sum, lag_cnt, lag_sum0, lag_cnt0;
    bool ok;
} s_kid;

typedef struct s_info {
    int sup_pid;
    char dir[PATH_MAX];
    s_kid kids[S_MAX_KIDS];
    int nkids;
} s_info;

static int s_read_info(const char *dir, s_info *inf)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/run.info", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    memset(inf, 0, sizeof *inf);
    char line[512], stage[16];
    while (fgets(line, sizeof line, f)) {
        s_kid k = { 0 };
        unsigned restarts;
        if (sscanf(line, "supervisor %d %4095s", &inf->sup_pid, inf->dir) == 2)
            continue;
        if (sscanf(line, "child %15s %d %d %d %u", stage, &k.inst, &k.pid, &k.port,
                   &restarts) == 5 && inf->nkids < S_MAX_KIDS) {
            snprintf(k.stage, sizeof k.stage, "%s", stage);
            inf->kids[inf->nkids++] = k;
        }
    }
    fclose(f);
    return inf->sup_pid > 0 ? 0 : -EINVAL;
}

static int s_find(const char *arg, s_info *inf)
{
    if (arg)
        return s_read_info(arg, inf);
    const char *env = getenv("TRAILGUARD_RUNTIME_DIR");
    if (env && *env)
        return s_read_info(env, inf);
    const char *bases[] = { getenv("XDG_RUNTIME_DIR"), getenv("TMPDIR"), "/tmp" };
    time_t best = 0;
    char best_dir[PATH_MAX] = "";
    for (int b = 0; b < 3; b++) {
        if (!bases[b] || !*bases[b])
            continue;
        DIR *d = opendir(bases[b]);
        if (!d)
            continue;
        struct dirent *de;
        while ((de = readdir(d))) {
            if (strncmp(de->d_name, "trailguard-", 11) != 0)
                continue;
            char dir[PATH_MAX], path[PATH_MAX + 16];
            snprintf(dir, sizeof dir, "%s/%s", bases[b], de->d_name);
            snprintf(path, sizeof path, "%s/run.info", dir);
            struct stat st;
            s_info tmp;
            if (stat(path, &st) != 0 || s_read_info(dir, &tmp) != 0 ||
                kill(tmp.sup_pid, 0) != 0)
                continue;
            if (st.st_mtime >= best) {
                best = st.st_mtime;
                snprintf(best_dir, sizeof best_dir, "%s", dir);
            }
        }
        closedir(d);
    }
    if (!best_dir[0])
        return -ENOENT;
    return s_read_info(best_dir, inf);
}

/* GET /metrics into buf; returns bytes or negative. */
static ssize_t s_scrape(int port, char *buf, size_t len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct timeval tv = { 2, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -errno;
    }
    const char *token = getenv("TRAILGUARD_METRICS_TOKEN");
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n%s%s%s\r\n",
                     token ? "Authorization: Bearer " : "", token ? token : "",
                     token ? "\r\n" : "");
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -EIO;
    }
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, buf + got, len - 1 - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        if (got >= len - 1)
            break;
    }
    close(fd);
    buf[got] = '\0';
    return (ssize_t)got;
}

/* Sum of every sample of metric `name` (any labels). */
static double s_sum(const char *text, const char *name)
{
    double sum = 0;
    size_t nl = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        if (strncmp(p, name, nl) != 0 || (p[nl] != '{' && p[nl] != ' '))
            continue;
        const char *v = p + nl;
        if (*v == '{')
            v = strchr(v, '}');
        if (v)
            sum += strtod(v + 1, NULL);
    }
    return sum;
}

static void s_sample(s_kid *k, bool first)
{
    static char buf[1 << 18];
    k->ok = s_scrape(k->port, buf, sizeof buf) > 0 && strstr(buf, " 200 ");
    if (!k->ok)
        return;
    double fin = s_sum(buf, "trailguard_frames_in_total");
    double fout = s_sum(buf, "trailguard_frames_out_total");
    double lsum = s_sum(buf, "trailguard_event_lag_seconds_sum");
    double lcnt = s_sum(buf, "trailguard_event_lag_seconds_count");
    if (first) {
        k->fin0 = fin;
        k->fout0 = fout;
        k->lag_sum0 = lsum;
        k->lag_cnt0 = lcnt;
    }
    k->fin = fin;
    k->fout = fout;
    k->lag_sum = lsum;
    k->lag_cnt = lcnt;
    k->err = s_sum(buf, "trailguard_errors_total");
    k->queue = s_sum(buf, "trailguard_queue_length");
}

typedef struct s_stage_row {
    int inst, up;
    double in, out, rin, rout, err, queue, lag_sum, lag_cnt;
} s_stage_row;

static const char *const s_order[] = { "fetcher", "parser", "evaluator", "notifier" };

static void s_rows(const s_info *inf, s_stage_row rows[4])
{
    memset(rows, 0, 4 * sizeof(rows[0]));
    for (int i = 0; i < inf->nkids; i++) {
        const s_kid *k = &inf->kids[i];
        for (int s = 0; s < 4; s++) {
            if (strcmp(k->stage, s_order[s]) != 0)
                continue;
            s_stage_row *r = &rows[s];
            r->inst++;
            if (!k->ok)
                continue;
            r->up++;
            r->in += k->fin;
            r->out += k->fout;
            r->rin += k->fin - k->fin0;
            r->rout += k->fout - k->fout0;
            r->err += k->err;
            r->queue += k->queue;
            r->lag_sum += k->lag_sum - k->lag_sum0;
            r->lag_cnt += k->lag_cnt - k->lag_cnt0;
        }
    }
}

static void s_print(const s_info *inf, double secs)
{
    s_stage_row rows[4];
    s_rows(inf, rows);
    printf("runtime %s (supervisor pid %d)\n", inf->dir, inf->sup_pid);
    printf("%-10s %9s %10s %10s %9s %8s %8s %9s\n", "stage", "instances", "in/s",
           "out/s", "backlog", "inside", "errors", "lag");
    for (int s = 0; s < 4; s++) {
        const s_stage_row *r = &rows[s];
        char q[32] = "-", lag[32] = "-";
        if (s > 0) {
            const s_stage_row *u = &rows[s - 1];
            if (u->up < u->inst || r->up < r->inst)
                snprintf(q, sizeof q, "?");
            else
                snprintf(q, sizeof q, "%.0f", u->out - r->in > 0 ? u->out - r->in : 0);
        }
        if (r->lag_cnt > 0)
            snprintf(lag, sizeof lag, "%.1fs", r->lag_sum / r->lag_cnt);
        printf("%-10s %4d/%-4d %10.1f %10.1f %9s %8.0f %8.0f %9s\n", s_order[s], r->up,
               r->inst, r->rin / secs, r->rout / secs, q, r->queue, r->err, lag);
    }
    fflush(stdout);
}

int cl_status_main(int argc, char **argv)
{
    bool watch = false;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--watch") || !strcmp(argv[i], "-w"))
            watch = true;
        else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: trailguard status [--watch] [RUNTIME_DIR]\n");
            return 0;
        } else
            dir = argv[i];
    }
    do {
        s_info inf;
        if (s_find(dir, &inf) != 0) {
            fprintf(stderr, "trailguard status: no running `trailguard run` found "
                    "(pass its runtime directory or set TRAILGUARD_RUNTIME_DIR)\n");
            return 1;
        }
        for (int i = 0; i < inf.nkids; i++)
            s_sample(&inf.kids[i], true);
        sleep(watch ? 2 : 1);
        for (int i = 0; i < inf.nkids; i++)
            s_sample(&inf.kids[i], false);
        if (watch)
            printf("\n%ld\n", (long)time(NULL));
        s_print(&inf, watch ? 2.0 : 1.0);
    } while (watch);
    return 0;
}

int cl_reload_main(int argc, char **argv)
{
    s_info inf;
    if (s_find(argc > 1 ? argv[1] : NULL, &inf) != 0) {
        fprintf(stderr, "trailguard reload: no running `trailguard run` found\n");
        return 1;
    }
    if (kill(inf.sup_pid, SIGHUP) != 0) {
        fprintf(stderr, "trailguard reload: pid %d: %s\n", inf.sup_pid, strerror(errno));
        return 1;
    }
    printf("SIGHUP sent to supervisor %d\n", inf.sup_pid);
    return 0;
}
