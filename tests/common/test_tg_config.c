/*
 * test_tg_config.c - tg_config: document tree with positions, schema
 * tables of every type, defaults/file/env/override precedence, unknown
 * keys and bad values with file:line:col, nested sub-tables, --help.
 * Owner: common.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "tg_config.h"
#include "tg_test.h"

typedef struct s_cfg {
    char *name;
    int64_t delta;
    uint64_t port;
    bool enabled;
    double ratio;
    uint64_t timeout_ms;
    uint64_t max_bytes;
    tg_strlist tags;
    char *metrics_bind;
    uint64_t metrics_port;
    const tg_conf_node *outputs;
} s_cfg;

static const tg_conf_entry s_table[] = {
    {TG_CONF_STR, "name", "default-name", offsetof(s_cfg, name), "a name"},
    {TG_CONF_INT, "delta", "-5", offsetof(s_cfg, delta), "signed"},
    {TG_CONF_UINT, "port", "9102", offsetof(s_cfg, port), "a port"},
    {TG_CONF_BOOL, "enabled", "true", offsetof(s_cfg, enabled), "on/off"},
    {TG_CONF_DOUBLE, "ratio", "0.5", offsetof(s_cfg, ratio), "ratio"},
    {TG_CONF_DURATION, "timeout", "30s", offsetof(s_cfg, timeout_ms), "t"},
    {TG_CONF_SIZE, "max-bytes", "1MiB", offsetof(s_cfg, max_bytes), "size"},
    {TG_CONF_STRLIST, "tags", "a, b", offsetof(s_cfg, tags), "tags"},
    {TG_CONF_STR, "metrics.bind", "127.0.0.1", offsetof(s_cfg, metrics_bind),
     "bind"},
    {TG_CONF_UINT, "metrics.port", "0", offsetof(s_cfg, metrics_port), "mp"},
    {TG_CONF_NODE, "outputs", NULL, offsetof(s_cfg, outputs), "outputs"},
    TG_CONF_END,
};

typedef struct s_out {
    char *type;
    char *url;
    uint64_t retries;
} s_out;

static const tg_conf_entry s_out_table[] = {
    {TG_CONF_STR, "type", NULL, offsetof(s_out, type), "kind"},
    {TG_CONF_STR, "url", NULL, offsetof(s_out, url), "url"},
    {TG_CONF_UINT, "retries", "3", offsetof(s_out, retries), "retries"},
    TG_CONF_END,
};

static const char s_yaml[] =
    "state_dir: /var/lib/tg\n"
    "notifier:\n"
    "  name: \"alerts\"\n"
    "  port: 8080\n"
    "  enabled: no\n"
    "  timeout: 250ms\n"
    "  max-bytes: 64 KiB\n"
    "  tags: [x, y, z]\n"
    "  metrics:\n"
    "    port: 9200\n"
    "  outputs:\n"
    "    - type: webhook\n"
    "      url: http://127.0.0.1:1/\n"
    "    - type: stdout\n"
    "      retries: 0\n";

static tg_conf_doc *s_parse(const char *text, char *err, size_t errlen)
{
    return tg_conf_doc_parse(text, strlen(text), "test.yaml", err, errlen);
}

static void test_tree(void)
{
    char err[256];
    tg_conf_doc *d = s_parse(s_yaml, err, sizeof err);
    ASSERT_NOT_NULL(d);
    const tg_conf_node *root = tg_conf_doc_root(d);
    ASSERT_EQ(root->kind, TG_CONF_MAP);
    ASSERT_EQ(root->npairs, 2);
    const tg_conf_node *port = tg_conf_map_get(root, "notifier.port");
    ASSERT_NOT_NULL(port);
    ASSERT_STR_EQ(port->str, "8080");
    ASSERT_EQ(port->line, 4);
    ASSERT_EQ(port->col, 9);
    ASSERT_STR_EQ(port->file, "test.yaml");
    const tg_conf_node *outs = tg_conf_map_get(root, "notifier.outputs");
    ASSERT_EQ(outs->kind, TG_CONF_SEQ);
    ASSERT_EQ(outs->nitems, 2);
    ASSERT_EQ(outs->items[1]->line, 14);
    ASSERT(tg_conf_map_get(root, "notifier.nope") == NULL);
    ASSERT(tg_conf_map_get(root, "state_dir.x") == NULL);
    ASSERT(tg_conf_map_get(NULL, "x") == NULL);
    tg_conf_doc_free(d);
    tg_conf_doc_free(NULL);

    d = s_parse("", err, sizeof err);        /* empty file = empty map */
    ASSERT_NOT_NULL(d);
    ASSERT_EQ(tg_conf_doc_root(d)->kind, TG_CONF_MAP);
    ASSERT_EQ(tg_conf_doc_root(d)->npairs, 0);
    tg_conf_doc_free(d);
}

static void s_expect_error(const char *text, const char *want)
{
    char err[256] = "";
    tg_conf_doc *d = s_parse(text, err, sizeof err);
    ASSERT(d == NULL);
    if (!strstr(err, want))
        TG_FAIL_("error '%s' lacks '%s'", err, want);
}

static void test_parse_errors(void)
{
    s_expect_error("a: [1, 2\n", "test.yaml:2:1:");
    s_expect_error("a: 1\na: 2\n", "test.yaml:2:1: duplicate key 'a'");
    s_expect_error("a: &x 1\nb: *x\n", "test.yaml:2:4: aliases are not");
    s_expect_error("- 1\n- 2\n", "top level must be a mapping");
    s_expect_error("a: 1\n---\nb: 2\n", "only one YAML document");
    s_expect_error("? [a]\n: 1\n", "test.yaml:1:3: mapping keys must be");
    char deep[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(deep, "[");
    s_expect_error(deep, "nesting deeper than");
    char err[256];
    ASSERT(tg_conf_doc_load("/nonexistent/x.yaml", err, sizeof err) == NULL);
    ASSERT(strstr(err, "/nonexistent/x.yaml: No such file") != NULL);
}

static int s_apply_text(const char *text, s_cfg *c, const char *section,
                        const tg_conf_apply_opts *o, char *err, size_t len,
                        tg_conf_doc **dp)
{
    tg_conf_doc *d = s_parse(text, err, len);
    ASSERT_NOT_NULL(d);
    memset(c, 0, sizeof *c);
    int rc = tg_conf_apply(s_table, c,
                           tg_conf_map_get(tg_conf_doc_root(d), section), o,
                           err, len);
    *dp = d;
    return rc;
}

static void test_apply_values(void)
{
    char err[256];
    s_cfg c;
    tg_conf_doc *d;
    ASSERT_EQ(s_apply_text(s_yaml, &c, "notifier", NULL, err, sizeof err, &d),
              0);
    ASSERT_STR_EQ(c.name, "alerts");
    ASSERT_EQ(c.delta, -5);                   /* default */
    ASSERT_U64_EQ(c.port, 8080);
    ASSERT_EQ(c.enabled, false);
    ASSERT(c.ratio == 0.5);
    ASSERT_U64_EQ(c.timeout_ms, 250);
    ASSERT_U64_EQ(c.max_bytes, 64 * 1024);
    ASSERT_EQ(c.tags.n, 3);
    ASSERT_STR_EQ(c.tags.v[2], "z");
    ASSERT(c.tags.v[3] == NULL);
    ASSERT_STR_EQ(c.metrics_bind, "127.0.0.1");
    ASSERT_U64_EQ(c.metrics_port, 9200);
    ASSERT_NOT_NULL(c.outputs);
    /* each output gets its own table */
    for (size_t i = 0; i < c.outputs->nitems; i++) {
        s_out o = {0};
        ASSERT_EQ(tg_conf_apply(s_out_table, &o, c.outputs->items[i], NULL,
                                err, sizeof err), 0);
        ASSERT_STR_EQ(o.type, i == 0 ? "webhook" : "stdout");
        ASSERT_U64_EQ(o.retries, i == 0 ? 3 : 0);
        if (i == 1)
            ASSERT(o.url == NULL);
        tg_conf_release(s_out_table, &o);
    }
    tg_conf_release(s_table, &c);
    ASSERT(c.name == NULL && c.tags.v == NULL);
    tg_conf_doc_free(d);

    /* a missing section: defaults only */
    ASSERT_EQ(s_apply_text(s_yaml, &c, "parser", NULL, err, sizeof err, &d),
              0);
    ASSERT_STR_EQ(c.name, "default-name");
    ASSERT_U64_EQ(c.timeout_ms, 30000);
    ASSERT_U64_EQ(c.max_bytes, 1u << 20);
    ASSERT_EQ(c.tags.n, 2);
    ASSERT_STR_EQ(c.tags.v[1], "b");
    ASSERT(c.outputs == NULL);
    tg_conf_release(s_table, &c);
    tg_conf_doc_free(d);
}

static void s_bad(const char *text, const char *want)
{
    char err[256] = "";
    s_cfg c;
    tg_conf_doc *d;
    int rc = s_apply_text(text, &c, "s", NULL, err, sizeof err, &d);
    tg_conf_release(s_table, &c);
    tg_conf_doc_free(d);
    ASSERT_EQ(rc, -EINVAL);
    if (!strstr(err, want))
        TG_FAIL_("error '%s' lacks '%s'", err, want);
}

static void test_apply_errors(void)
{
    s_bad("s:\n  prot: 1\n", "test.yaml:2:3: unknown key 'prot' (did you mean 'port'?)");
    s_bad("s:\n  zzzzzz: 1\n", "test.yaml:2:3: unknown key 'zzzzzz'");
    s_bad("s:\n  metrics:\n    prt: 1\n", "test.yaml:3:5: unknown key 'metrics.prt'");
    s_bad("s:\n  port: -1\n", "test.yaml:2:9: out of range uint '-1'");
    s_bad("s:\n  port: 12x\n", "test.yaml:2:9: bad uint '12x'");
    s_bad("s:\n  port: 99999999999999999999\n", "out of range uint");
    s_bad("s:\n  delta: 0x\n", "bad int");
    s_bad("s:\n  enabled: maybe\n", "test.yaml:2:12: bad bool 'maybe'");
    s_bad("s:\n  timeout: 5 fortnights\n", "bad duration");
    s_bad("s:\n  timeout: -1s\n", "bad duration");
    s_bad("s:\n  max-bytes: 1 XB\n", "bad size");
    s_bad("s:\n  ratio: nan\n", "bad double");
    s_bad("s:\n  port: [1]\n", "test.yaml:2:9: 'port' must be a uint, not a sequence");
    s_bad("s:\n  port:\n", "'port' needs a uint value");
    s_bad("s:\n  tags: [a, [b]]\n", "test.yaml:2:13: 'tags' must be a list of strings");
    s_bad("s: [1]\n", "test.yaml:1:4: expected a mapping, not a sequence");
}

static void test_env_and_overrides(void)
{
    char err[256];
    s_cfg c;
    tg_conf_doc *d;
    setenv("TRAILGUARD_NOTIFIER_METRICS_PORT", "9300", 1);
    setenv("TRAILGUARD_NOTIFIER_MAX_BYTES", "2k", 1);
    setenv("TRAILGUARD_NOTIFIER_TAGS", " p , q,,", 1);
    const char *ov[] = {"port=7000", "name=over", NULL};
    tg_conf_apply_opts o = {.env_prefix = "TRAILGUARD_NOTIFIER",
                            .overrides = ov};
    ASSERT_EQ(s_apply_text(s_yaml, &c, "notifier", &o, err, sizeof err, &d),
              0);
    ASSERT_U64_EQ(c.metrics_port, 9300);     /* env beats the file */
    ASSERT_U64_EQ(c.max_bytes, 2048);
    ASSERT_EQ(c.tags.n, 2);
    ASSERT_STR_EQ(c.tags.v[0], "p");
    ASSERT_STR_EQ(c.tags.v[1], "q");
    ASSERT_U64_EQ(c.port, 7000);             /* override beats all */
    ASSERT_STR_EQ(c.name, "over");
    tg_conf_release(s_table, &c);
    tg_conf_doc_free(d);

    setenv("TRAILGUARD_NOTIFIER_METRICS_PORT", "x", 1);
    ASSERT_EQ(s_apply_text(s_yaml, &c, "notifier", &o, err, sizeof err, &d),
              -EINVAL);
    ASSERT(strstr(err, "environment TRAILGUARD_NOTIFIER_METRICS_PORT: bad "
                  "uint 'x'") != NULL);
    tg_conf_release(s_table, &c);
    tg_conf_doc_free(d);
    unsetenv("TRAILGUARD_NOTIFIER_METRICS_PORT");
    unsetenv("TRAILGUARD_NOTIFIER_MAX_BYTES");
    unsetenv("TRAILGUARD_NOTIFIER_TAGS");

    const char *bad[] = {"nope=1", NULL};
    o.overrides = bad;
    ASSERT_EQ(s_apply_text(s_yaml, &c, "notifier", &o, err, sizeof err, &d),
              -EINVAL);
    ASSERT(strstr(err, "override 'nope=1': unknown key 'nope'") != NULL);
    tg_conf_release(s_table, &c);
    tg_conf_doc_free(d);

    /* skip_keys and allow_unknown at the root */
    const char *skip[] = {"notifier", NULL};
    tg_conf_apply_opts so = {.skip_keys = skip};
    memset(&c, 0, sizeof c);
    d = s_parse(s_yaml, err, sizeof err);
    ASSERT_EQ(tg_conf_apply(s_table, &c, tg_conf_doc_root(d), &so, err,
                            sizeof err), -EINVAL);
    ASSERT(strstr(err, "unknown key 'state_dir'") != NULL);
    so.allow_unknown = true;
    ASSERT_EQ(tg_conf_apply(s_table, &c, tg_conf_doc_root(d), &so, err,
                            sizeof err), 0);
    tg_conf_release(s_table, &c);
    tg_conf_doc_free(d);
}

static void test_value_syntax(void)
{
    uint64_t v;
    bool b;
    ASSERT_EQ(tg_conf_parse_duration("5m", &v), 0);
    ASSERT_U64_EQ(v, 300000);
    ASSERT_EQ(tg_conf_parse_duration("2h", &v), 0);
    ASSERT_U64_EQ(v, 7200000);
    ASSERT_EQ(tg_conf_parse_duration("1.5s", &v), 0);
    ASSERT_U64_EQ(v, 1500);
    ASSERT_EQ(tg_conf_parse_duration("10", &v), 0);
    ASSERT_U64_EQ(v, 10000);
    ASSERT_EQ(tg_conf_parse_duration("1d", &v), 0);
    ASSERT_U64_EQ(v, 86400000);
    ASSERT_EQ(tg_conf_parse_duration("", &v), -EINVAL);
    ASSERT_EQ(tg_conf_parse_duration("s", &v), -EINVAL);
    ASSERT_EQ(tg_conf_parse_size("1MiB", &v), 0);
    ASSERT_U64_EQ(v, 1048576);
    ASSERT_EQ(tg_conf_parse_size("2GiB", &v), 0);
    ASSERT_U64_EQ(v, 2147483648ull);
    ASSERT_EQ(tg_conf_parse_size("512", &v), 0);
    ASSERT_U64_EQ(v, 512);
    ASSERT_EQ(tg_conf_parse_size("64kb", &v), 0);
    ASSERT_U64_EQ(v, 65536);
    ASSERT_EQ(tg_conf_parse_size("1e30", &v), -ERANGE);
    ASSERT_EQ(tg_conf_parse_bool("On", &b), 0);
    ASSERT(b);
    ASSERT_EQ(tg_conf_parse_bool("0", &b), 0);
    ASSERT(!b);
    ASSERT_EQ(tg_conf_parse_bool("", &b), -EINVAL);
    char name[64];
    ASSERT_EQ(tg_conf_env_name("TRAILGUARD_NOTIFIER", "metrics.max-bytes",
                               name, sizeof name), 0);
    ASSERT_STR_EQ(name, "TRAILGUARD_NOTIFIER_METRICS_MAX_BYTES");
    ASSERT_EQ(tg_conf_env_name("TRAILGUARD", "x", name, 5), -ENAMETOOLONG);
}

static void test_help(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    tg_conf_help(s_table, "TRAILGUARD_NOTIFIER", f);
    fclose(f);
    ASSERT(strstr(buf, "metrics.port") != NULL);
    ASSERT(strstr(buf, "[TRAILGUARD_NOTIFIER_METRICS_PORT]") != NULL);
    ASSERT(strstr(buf, "(default 30s)") != NULL);
    ASSERT(strstr(buf, "[TRAILGUARD_NOTIFIER_OUTPUTS]") == NULL);
    free(buf);
}

/* Random mutations of a valid file: parse and apply never crash, and a
 * failure always comes with a message. */
static void test_fuzz(void)
{
    unsigned seed = 99;
    char buf[sizeof s_yaml];
    for (int iter = 0; iter < 2000; iter++) {
        memcpy(buf, s_yaml, sizeof s_yaml);
        int flips = 1 + rand_r(&seed) % 6;
        for (int i = 0; i < flips; i++) {
            static const char pool[] = ":-[]{}&*!|>'\"%@`#,? \t\n\0abc9";
            buf[rand_r(&seed) % (sizeof s_yaml - 1)] =
                pool[rand_r(&seed) % (sizeof pool - 1)];
        }
        size_t len = (size_t)rand_r(&seed) % sizeof s_yaml;
        char err[256] = "";
        tg_conf_doc *d = tg_conf_doc_parse(buf, len, "fuzz.yaml", err,
                                           sizeof err);
        if (!d) {
            ASSERT(strncmp(err, "fuzz.yaml", 9) == 0);
            continue;
        }
        s_cfg c = {0};
        err[0] = '\0';
        const tg_conf_node *sec = tg_conf_map_get(tg_conf_doc_root(d),
                                                  "notifier");
        if (tg_conf_apply(s_table, &c, sec, NULL, err, sizeof err) != 0)
            ASSERT(err[0] != '\0');
        tg_conf_release(s_table, &c);
        tg_conf_doc_free(d);
    }
}

int main(void)
{
    tg_test_state st = {0};
    TG_RUN(&st, test_tree);
    TG_RUN(&st, test_parse_errors);
    TG_RUN(&st, test_apply_values);
    TG_RUN(&st, test_apply_errors);
    TG_RUN(&st, test_env_and_overrides);
    TG_RUN(&st, test_value_syntax);
    TG_RUN(&st, test_help);
    TG_RUN(&st, test_fuzz);
    TG_DONE(&st);
}
