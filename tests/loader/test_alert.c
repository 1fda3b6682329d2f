/*
 * test_alert.c - Falco's alert renderings (spec 7.2-7.4): the text line
 * with JSON-string escaping, the JSON object byte for byte (sorted keys,
 * typed output_fields, ns time field), options and append_output.
 * Expected strings follow the upstream sample quoted in spec 7.3.
 */
#include <stdio.h>
#include <time.h>

#include "tg_test.h"
#include "tl_util.h"

static tg_test_state st;

#define TS 1470327477881781397ull

static const char *s_rule =
    "- rule: open_from_cat\n  desc: d\n  condition: evt.type=open and proc.name=cat\n"
    "  output: \"An open was seen (command=%proc.cmdline)\"\n  priority: WARNING\n"
    "  tags: [testing, filesystem, process, testing]\n";

typedef struct alert_env {
    tl_env t;
    ev_event evt;
    const ev_rule *r;
    ev_strbuf b;
} alert_env;

static void a_open(alert_env *a, const ev_engine_opts *o, const char *rules, tl_kv *kv)
{
    tl_open(&a->t, o);
    TL_OK(&a->t, rules);
    ev_event_init(&a->evt);
    ev_event_reset(&a->evt, kv, TS, 1);
    a->r = ev_engine_rule(a->t.e, 0);
    ev_strbuf_init(&a->b);
}

static void a_close(alert_env *a)
{
    ev_strbuf_fini(&a->b);
    ev_event_fini(&a->evt);
    tl_close(&a->t);
}

static void test_iso_text_and_json(void)
{
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.time_iso8601 = true;
    o.hostname = "test-falco-hostname";
    tl_kv kv[] = {{"evt.type", "open"}, {"proc.name", "cat"}, {"proc.cmdline", "cat /dev/null"}, {NULL, NULL}};
    alert_env a;
    a_open(&a, &o, s_rule, kv);
    ASSERT_EQ(ev_engine_match(a.t.e, &a.evt, NULL, NULL), 1);
    ev_alert_text(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p, "2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)");
    ev_strbuf_reset(&a.b);
    ev_alert_json(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p,
        "{\"hostname\":\"test-falco-hostname\","
        "\"output\":\"2016-08-04T16:17:57.881781397+0000: Warning An open was seen (command=cat /dev/null)\","
        "\"output_fields\":{\"evt.time.iso8601\":1470327477881781397,\"proc.cmdline\":\"cat /dev/null\"},"
        "\"priority\":\"Warning\",\"rule\":\"open_from_cat\",\"source\":\"syscall\","
        "\"tags\":[\"filesystem\",\"process\",\"testing\"],\"time\":\"2016-08-04T16:17:57.881781397Z\"}");
    a_close(&a);
}

static void test_local_time_escaping_and_missing(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.hostname = "h";
    o.json_include_message = true;
    o.json_include_tags = false;
    tl_kv kv[] = {{"proc.cmdline", "say \"hi\"\\\n"}, {NULL, NULL}};
    alert_env a;
    a_open(&a, &o,
           "- rule: r\n  desc: d\n  condition: proc.cmdline exists\n"
           "  output: \"cmd=%proc.cmdline user=%user.name\"\n  priority: info\n", kv);
    ev_alert_text(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p, "16:17:57.881781397: Informational cmd=say \\\"hi\\\"\\\\\\n user=<NA>");
    ev_strbuf_reset(&a.b);
    ev_alert_json(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p,
        "{\"hostname\":\"h\",\"message\":\"cmd=say \\\"hi\\\"\\\\\\n user=<NA>\","
        "\"output\":\"16:17:57.881781397: Informational cmd=say \\\"hi\\\"\\\\\\n user=<NA>\","
        "\"output_fields\":{\"evt.time\":1470327477881781397,\"proc.cmdline\":\"say \\\"hi\\\"\\\\\\n\","
        "\"user.name\":null},\"priority\":\"Informational\",\"rule\":\"r\",\"source\":\"syscall\","
        "\"time\":\"2016-08-04T16:17:57.881781397Z\"}");
    a_close(&a);
}

static void test_options_and_append_output(void)
{
    setenv("FALCO_HOSTNAME", "from-env", 1);
    const char *tags[] = {"process"};
    const char *keys[] = {"proc.name", "home", "user.name"};
    const char *fmts[] = {NULL, "dir=%fd.name", NULL};
    ev_append_output ao[] = {
        {NULL, tags, 1, NULL, "extra=%proc.name", NULL, NULL, 0},
        {"k8s_audit", NULL, 0, NULL, "never", NULL, NULL, 0},
        {NULL, NULL, 0, "other rule", "never", NULL, NULL, 0},
        {"syscall", NULL, 0, "open_from_cat", NULL, keys, fmts, 3},
    };
    ev_engine_opts o;
    ev_engine_opts_init(&o);
    o.time_iso8601 = true;
    o.json_include_output = false;
    o.json_include_output_fields = false;
    o.append_output = ao;
    o.nappend_output = 4;
    tl_kv kv[] = {{"evt.type", "open"}, {"proc.name", "cat"}, {"proc.cmdline", "c"}, {NULL, NULL}};
    alert_env a;
    a_open(&a, &o, s_rule, kv);
    ev_alert_message(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p, "An open was seen (command=c) extra=cat");
    ev_strbuf_reset(&a.b);
    ev_alert_json(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p,
        "{\"hostname\":\"from-env\",\"priority\":\"Warning\",\"rule\":\"open_from_cat\","
        "\"source\":\"syscall\",\"tags\":[\"filesystem\",\"process\",\"testing\"],"
        "\"time\":\"2016-08-04T16:17:57.881781397Z\"}");
    a_close(&a);
    /* extra_fields: typed raw field, rendered format as a string, sorted keys */
    o.json_include_output_fields = true;
    a_open(&a, &o, s_rule, kv);
    ev_alert_json(a.t.e, a.r, &a.evt, &a.b);
    ASSERT_STR_EQ(a.b.p,
        "{\"hostname\":\"from-env\",\"output_fields\":{\"evt.time.iso8601\":1470327477881781397,"
        "\"home\":\"dir=<NA>\",\"proc.cmdline\":\"c\",\"proc.name\":\"cat\",\"user.name\":null},"
        "\"priority\":\"Warning\",\"rule\":\"open_from_cat\","
        "\"source\":\"syscall\",\"tags\":[\"filesystem\",\"process\",\"testing\"],"
        "\"time\":\"2016-08-04T16:17:57.881781397Z\"}");
    a_close(&a);
    unsetenv("FALCO_HOSTNAME");
}

int main(void)
{
    TG_RUN(&st, test_iso_text_and_json);
    TG_RUN(&st, test_local_time_escaping_and_missing);
    TG_RUN(&st, test_options_and_append_output);
    TG_DONE(&st);
}
