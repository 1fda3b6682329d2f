/*
 * test_tg_log.c - tg_log: line format, level filtering (no formatting
 * below the level), sanitising, environment level.  Owner: common.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tg_log.h"
#include "tg_test.h"

static int s_pipe[2];
static int s_side_effects;

static int s_side(void)
{
    return ++s_side_effects;
}

/* Read what is in the pipe (non-blocking after the first byte). */
static size_t s_drain(char *buf, size_t cap)
{
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(s_pipe[0], buf + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    buf[len] = '\0';
    return len;
}

static void test_format(void)
{
    unsetenv("TRAILGUARD_LOG_LEVEL");
    tg_log_init("trailguard-parser", TG_LOG_INFO, s_pipe[1]);
    tg_log_error("job failed job=%d key=%s", 42, "a/b.gz");
    char buf[8192];
    s_drain(buf, sizeof buf);
    /* 2026-11-27T18:00:00.123Z trailguard-parser[pid] error file:line: msg */
    int y, mo, d, h, mi, s, ms, pid, line;
    char level[16], file[128];
    int n = sscanf(buf, "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ trailguard-parser[%d] "
                   "%15s %127[^:]:%d:", &y, &mo, &d, &h, &mi, &s, &ms, &pid,
                   level, file, &line);
    ASSERT_EQ(n, 11);
    ASSERT_EQ(pid, getpid());
    ASSERT_STR_EQ(level, "error");
    ASSERT(strstr(file, "test_tg_log.c") != NULL);
    ASSERT(line > 0);
    ASSERT(strstr(buf, ": job failed job=42 key=a/b.gz\n") != NULL);
    /* exactly one line */
    ASSERT_EQ(strchr(buf, '\n') - buf + 1, (long)strlen(buf));
}

static void test_levels(void)
{
    char buf[8192];
    tg_log_init("x", TG_LOG_WARN, s_pipe[1]);
    s_side_effects = 0;
    tg_log_info("hidden %d", s_side());
    tg_log_debug("hidden %d", s_side());
    ASSERT_EQ(s_side_effects, 0);      /* arguments not even evaluated */
    tg_log_warn("shown %d", s_side());
    ASSERT_EQ(s_side_effects, 1);
    s_drain(buf, sizeof buf);
    ASSERT(strstr(buf, " warn ") != NULL);
    ASSERT(strstr(buf, "hidden") == NULL);
    tg_log_set_level(TG_LOG_DEBUG);
    ASSERT(tg_log_enabled(TG_LOG_DEBUG));
    tg_log_set_level(99);
    ASSERT_EQ(tg_log_level(), TG_LOG_DEBUG);
    ASSERT_EQ(tg_log_level_parse("WARNING"), TG_LOG_WARN);
    ASSERT_EQ(tg_log_level_parse("Debug"), TG_LOG_DEBUG);
    ASSERT_EQ(tg_log_level_parse("verbose"), -1);
    ASSERT_EQ(tg_log_level_parse(NULL), -1);
    ASSERT_STR_EQ(tg_log_level_name(TG_LOG_INFO), "info");
}

static void test_sanitize_and_truncate(void)
{
    char buf[16384];
    tg_log_init("x", TG_LOG_INFO, s_pipe[1]);
    tg_log_info("a\nb\rc");
    s_drain(buf, sizeof buf);
    ASSERT(strstr(buf, "a b c\n") != NULL);
    ASSERT_EQ(strchr(buf, '\n') - buf + 1, (long)strlen(buf));
    char big[10000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    tg_log_info("%s", big);
    size_t n = s_drain(buf, sizeof buf);
    ASSERT(n <= 4096);
    ASSERT(strstr(buf, "...\n") != NULL);
}

static void test_env(void)
{
    char buf[4096];
    setenv("TRAILGUARD_LOG_LEVEL", "error", 1);
    tg_log_init("x", TG_LOG_DEBUG, s_pipe[1]);
    ASSERT_EQ(tg_log_level(), TG_LOG_ERROR);
    tg_log_warn("no");
    setenv("TRAILGUARD_LOG_LEVEL", "bogus", 1);
    tg_log_init("x", TG_LOG_INFO, s_pipe[1]);
    ASSERT_EQ(tg_log_level(), TG_LOG_INFO);
    unsetenv("TRAILGUARD_LOG_LEVEL");
    tg_log_info("yes");
    s_drain(buf, sizeof buf);
    ASSERT(strstr(buf, "no") == NULL);
    ASSERT(strstr(buf, "yes") != NULL);
    ASSERT_STR_EQ(tg_strerror(-2), "No such file or directory");
}

int main(void)
{
    tg_test_state st = {0};
    if (pipe2(s_pipe, O_NONBLOCK) != 0)
        return 1;
    TG_RUN(&st, test_format);
    TG_RUN(&st, test_levels);
    TG_RUN(&st, test_sanitize_and_truncate);
    TG_RUN(&st, test_env);
    TG_DONE(&st);
}
