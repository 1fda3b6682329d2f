/*
 * test_nt_core.c - the pure parts of notifier/outputs: packed alerts,
 * config tables, routing, templates, ASFF mapping and truncation,
 * repeat suppression.
 *
 * Owner: notifier outputs (tests/notifier/).
 */
#include "tg_test.h"

#include "aws_buf.h"
#include "nt_alert.h"
#include "nt_asff.h"
#include "nt_conf.h"
#include "nt_route.h"
#include "nt_suppress.h"
#include "nt_template.h"
#include "nt_test_util.h"

#include <errno.h>
#include <jansson.h>
#include <stddef.h>

static tg_test_state st;

static void test_pack_roundtrip(void)
{
    nt_test_alert t;
    nt_test_alert_make(&t, 7, "Delete Bucket", NT_PRIO_CRITICAL);
    t.a.fields_json = (nt_str){NULL, 0};
    uint8_t *buf;
    size_t len;
    ASSERT_EQ(nt_alert_pack(&t.a, &buf, &len), 0);
    nt_alert_unpacked u;
    ASSERT_EQ(nt_alert_unpack(buf, len, &u), 0);
    ASSERT_STR_EQ(u.a.id.p, t.id);
    ASSERT_STR_EQ(u.a.rule.p, "Delete Bucket");
    ASSERT_EQ(u.a.priority, NT_PRIO_CRITICAL);
    ASSERT_U64_EQ(u.a.time_ns, t.a.time_ns);
    ASSERT_EQ(u.a.ntags, 3);
    ASSERT_STR_EQ(u.a.tags[2].p, "CIS_AWS_3.1");
    ASSERT(u.a.fields_json.p == NULL);
    ASSERT_MEM_EQ(u.a.json.p, u.a.json.n, t.json, strlen(t.json));
    ASSERT(nt_alert_has_tag(&u.a, "aws"));
    ASSERT(!nt_alert_has_tag(&u.a, "aw"));
    nt_alert_unpacked_fini(&u);
    /* every truncation of a valid record is rejected, never trusted */
    for (size_t cut = 0; cut < len; cut += 7)
        ASSERT_EQ(nt_alert_unpack(buf, cut, &u), -EINVAL);
    buf[0] = 'X';
    ASSERT_EQ(nt_alert_unpack(buf, len, &u), -EINVAL);
    free(buf);
}

static void test_prio(void)
{
    ASSERT_EQ(nt_prio_parse("warning"), NT_PRIO_WARNING);
    ASSERT_EQ(nt_prio_parse("INFO"), NT_PRIO_INFORMATIONAL);
    ASSERT_EQ(nt_prio_parse("Emergency"), 0);
    ASSERT_EQ(nt_prio_parse("loud"), -1);
    ASSERT_STR_EQ(nt_prio_name(NT_PRIO_DEBUG), "Debug");
}

typedef struct s_cfg {
    char *url;
    int64_t n;
    int64_t ms;
    int64_t size;
    int on;
    int prio;
    nt_strlist tags;
    nt_strmap hdr;
} s_cfg;

static const nt_conf_entry s_tab[] = {
    {NT_CONF_STR, "url", "http://x", offsetof(s_cfg, url), ""},
    {NT_CONF_INT, "n", "3", offsetof(s_cfg, n), ""},
    {NT_CONF_MS, "ms", "2s", offsetof(s_cfg, ms), ""},
    {NT_CONF_SIZE, "size", "6M", offsetof(s_cfg, size), ""},
    {NT_CONF_BOOL, "on", "false", offsetof(s_cfg, on), ""},
    {NT_CONF_PRIO, "prio", "debug", offsetof(s_cfg, prio), ""},
    {NT_CONF_LIST, "tags", NULL, offsetof(s_cfg, tags), ""},
    {NT_CONF_MAP, "headers", NULL, offsetof(s_cfg, hdr), ""},
    {0, NULL, NULL, 0, NULL},
};

static void test_conf(void)
{
    const nt_conf_entry *tabs[] = {s_tab, NULL};
    s_cfg c = {0};
    char err[256] = "";
    nt_kv kv[] = {
        NT_KV("n", "42"), NT_KV("ms", "250ms"), NT_KV("on", "yes"),
        NT_KV("prio", "warning"), NT_KV("tags", " CIS_AWS_*, mitre_x ,"),
        NT_KV("headers.X-Api-Key", "k1"), NT_KV("headers.X-Other", "v2"),
    };
    ASSERT_EQ(nt_conf_apply(tabs, &c, kv, 7, err, sizeof(err)), 0);
    ASSERT_STR_EQ(c.url, "http://x");
    ASSERT_EQ(c.n, 42);
    ASSERT_EQ(c.ms, 250);
    ASSERT_EQ(c.size, 6 << 20);
    ASSERT_EQ(c.on, 1);
    ASSERT_EQ(c.prio, NT_PRIO_WARNING);
    ASSERT_EQ(c.tags.n, 2);
    ASSERT_STR_EQ(c.tags.v[0], "CIS_AWS_*");
    ASSERT_STR_EQ(c.tags.v[1], "mitre_x");
    ASSERT_EQ(c.hdr.n, 2);
    ASSERT_STR_EQ(nt_strmap_get(&c.hdr, "x-api-key"), "k1");
    nt_conf_free(tabs, &c);

    nt_kv bad[] = {{"urll", "x", "cfg.yaml:12"}};
    ASSERT_EQ(nt_conf_apply(tabs, &c, bad, 1, err, sizeof(err)), -EINVAL);
    ASSERT(strstr(err, "cfg.yaml:12") && strstr(err, "unknown configuration property 'urll'"));
    nt_conf_free(tabs, &c);
    nt_kv badv[] = {NT_KV("ms", "soon")};
    ASSERT_EQ(nt_conf_apply(tabs, &c, badv, 1, err, sizeof(err)), -EINVAL);
    ASSERT(strstr(err, "invalid value 'soon' for 'ms'"));
    nt_conf_free(tabs, &c);
    int64_t v;
    ASSERT_EQ(nt_conf_parse_ms("1.5m", &v), 0);
    ASSERT_EQ(v, 90000);
    ASSERT_EQ(nt_conf_parse_size("240k", &v), 0);
    ASSERT_EQ(v, 240 * 1024);
}

static void test_route(void)
{
    nt_route r = {.min_priority = NT_PRIO_WARNING};
    nt_test_alert t;
    nt_test_alert_make(&t, 1, "Delete Bucket", NT_PRIO_ERROR);
    ASSERT(nt_route_pass(&r, &t.a));
    t.a.priority = NT_PRIO_NOTICE;
    ASSERT(!nt_route_pass(&r, &t.a));
    t.a.priority = NT_PRIO_WARNING;
    ASSERT(nt_route_pass(&r, &t.a));

    char *inc[] = {"CIS_AWS_*"}, *exc[] = {"Delete Bucket"}, *rules[] = {"Del*"};
    r.tags = (nt_strlist){inc, 1};
    ASSERT(nt_route_pass(&r, &t.a));
    t.a.ntags = 2; /* drop CIS_AWS_3.1 */
    ASSERT(!nt_route_pass(&r, &t.a));
    t.a.ntags = 3;
    r.rules = (nt_strlist){rules, 1};
    ASSERT(nt_route_pass(&r, &t.a));
    r.rules_exclude = (nt_strlist){exc, 1};
    ASSERT(!nt_route_pass(&r, &t.a));
    r.rules_exclude.n = 0;
    char *tex[] = {"aws"};
    r.tags_exclude = (nt_strlist){tex, 1};
    ASSERT(!nt_route_pass(&r, &t.a));
    ASSERT(nt_route_match("CIS_AWS_*", "CIS_AWS_", 8));
    ASSERT(!nt_route_match("CIS_AWS_*", "CIS_AW", 6));
    ASSERT(!nt_route_match("aws", "aws_s3", 6));
}

static void test_template(void)
{
    nt_test_alert t;
    nt_test_alert_make(&t, 3, "R", NT_PRIO_ERROR);
    t.a.rule = nt_str_c("Quote \"me\"");
    char err[128];
    ASSERT_EQ(nt_template_check("{\"r\":\"{{nope}}\"}", err, sizeof(err)), -EINVAL);
    const char *tpl = "{\"r\":\"{{rule}}\",\"p\":\"{{priority}}\",\"s\":{{severity}},"
                      "\"t\":{{tags}},\"f\":{{output_fields}},\"rec\":{{record}}}";
    ASSERT_EQ(nt_template_check(tpl, err, sizeof(err)), 0);
    aws_buf b;
    aws_buf_init(&b);
    nt_template_render(tpl, &t.a, &b);
    json_error_t je;
    json_t *j = json_loads(b.data, 0, &je);
    ASSERT_NOT_NULL(j);
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "r")), "Quote \"me\"");
    ASSERT_STR_EQ(json_string_value(json_object_get(j, "p")), "Error");
    ASSERT_EQ(json_integer_value(json_object_get(j, "s")), 3);
    ASSERT_EQ(json_array_size(json_object_get(j, "t")), 3);
    ASSERT_EQ(json_integer_value(json_object_get(json_object_get(j, "f"), "seq")), 3);
    ASSERT_STR_EQ(json_string_value(json_object_get(json_object_get(j, "rec"), "eventName")),
                  "DeleteBucket");
    json_decref(j);
    aws_buf_fini(&b);
}

static json_t *s_build(const nt_alert *a, int *trunc)
{
    nt_asff_opts o = {.region = "eu-west-1", .account_id = "111122223333",
                      .now_ns = 1767225600000000000ull};
    aws_buf b;
    aws_buf_init(&b);
    *trunc = nt_asff_build(&o, a, &b);
    json_error_t je;
    json_t *j = json_loadb(b.data, b.len, 0, &je);
    aws_buf_fini(&b);
    return j;
}

static int s_has(json_t *arr, const char *key, const char *val)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        json_t *x = key ? json_object_get(v, key) : v;
        if (x && !strcmp(json_string_value(x), val))
            return 1;
    }
    return 0;
}

static void test_asff(void)
{
    nt_test_alert t;
    nt_test_alert_make(&t, 5, "Delete Bucket", NT_PRIO_CRITICAL);
    t.a.time_ns = 1767225600123456789ull; /* 2026-01-01T00:00:00.123Z */
    int trunc;
    json_t *f = s_build(&t.a, &trunc);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(trunc, 0);
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "SchemaVersion")), "2018-10-08");
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "Id")), t.id);
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "ProductArn")),
                  "arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default");
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "GeneratorId")), "Delete Bucket");
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "AwsAccountId")), "111122223333");
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "CreatedAt")), "2026-01-01T00:00:00.123Z");
    ASSERT_STR_EQ(json_string_value(json_object_get(f, "UpdatedAt")), "2026-01-01T00:00:00.000Z");
    json_t *sev = json_object_get(f, "Severity");
    ASSERT_STR_EQ(json_string_value(json_object_get(sev, "Label")), "CRITICAL");
    ASSERT_STR_EQ(json_string_value(json_object_get(sev, "Original")), "Critical");
    json_t *types = json_object_get(f, "Types");
    ASSERT(s_has(types, NULL, "TTPs/Defense Evasion"));
    ASSERT(s_has(types, NULL, "Software and Configuration Checks/Industry and "
                              "Regulatory Standards/CIS AWS Foundations Benchmark"));
    ASSERT_EQ(json_array_size(types), 2);
    json_t *res = json_object_get(f, "Resources");
    /* the event's own account (not the caller's), the user, the bucket */
    ASSERT(s_has(res, "Id", "AWS::::Account:444455556666"));
    ASSERT(s_has(res, "Id", "arn:aws:iam::444455556666:user/alice"));
    ASSERT(s_has(res, "Id", "arn:aws:s3:::my-bucket"));
    ASSERT(s_has(res, "Type", "AwsS3Bucket"));
    json_t *pf = json_object_get(f, "ProductFields");
    ASSERT_STR_EQ(json_string_value(json_object_get(pf, "aws/account")), "444455556666");
    ASSERT_STR_EQ(json_string_value(json_object_get(pf, "aws/cloudtrail/eventID")), "ev-5");
    ASSERT_STR_EQ(json_string_value(json_object_get(pf, "falco/field/ct.name")), "DeleteBucket");
    json_t *act = json_object_get(json_object_get(f, "Action"), "AwsApiCallAction");
    ASSERT_STR_EQ(json_string_value(json_object_get(act, "Api")), "DeleteBucket");
    json_decref(f);

    /* labels per the mapping */
    ASSERT_STR_EQ(nt_asff_label(NT_PRIO_EMERGENCY), "CRITICAL");
    ASSERT_STR_EQ(nt_asff_label(NT_PRIO_ERROR), "HIGH");
    ASSERT_STR_EQ(nt_asff_label(NT_PRIO_WARNING), "MEDIUM");
    ASSERT_STR_EQ(nt_asff_label(NT_PRIO_NOTICE), "LOW");
    ASSERT_STR_EQ(nt_asff_label(NT_PRIO_DEBUG), "INFORMATIONAL");

    /* no tags: still a valid Types entry; an assumed role names the role */
    t.a.ntags = 0;
    static const char rec[] =
        "{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::444455556666:"
        "assumed-role/Admin/s\",\"sessionContext\":{\"sessionIssuer\":{\"arn\":"
        "\"arn:aws:iam::444455556666:role/Admin\"}}},\"eventSource\":\"ec2.amazonaws.com\","
        "\"eventName\":\"StopInstances\",\"awsRegion\":\"us-east-1\",\"recipientAccountId\":"
        "\"444455556666\",\"requestParameters\":{\"instancesSet\":{\"items\":[{\"instanceId\":"
        "\"i-0abc\"}]}}}";
    t.a.record = nt_str_c(rec);
    f = s_build(&t.a, &trunc);
    ASSERT_STR_EQ(json_string_value(json_array_get(json_object_get(f, "Types"), 0)),
                  "Unusual Behaviors/User");
    res = json_object_get(f, "Resources");
    ASSERT(s_has(res, "Id", "arn:aws:iam::444455556666:role/Admin"));
    ASSERT(s_has(res, "Id", "arn:aws:ec2:us-east-1:444455556666:instance/i-0abc"));
    json_decref(f);
}

static void test_asff_truncation(void)
{
    /* a 300 KB output and a 300 KB output field: the finding is cut to the
     * limits with a note, never refused */
    size_t big = 300 * 1000;
    char *out = malloc(big + 1);
    memset(out, 'x', big);
    out[big] = 0;
    char *fields = malloc(big + 64);
    snprintf(fields, big + 64, "{\"ct.request\":\"%s\"}", out);
    nt_test_alert t;
    nt_test_alert_make(&t, 9, "Big", NT_PRIO_WARNING);
    t.a.output = nt_str_c(out);
    t.a.fields_json = nt_str_c(fields);
    int trunc;
    json_t *f = s_build(&t.a, &trunc);
    ASSERT_NOT_NULL(f);
    ASSERT_EQ(trunc, 1);
    char *s = json_dumps(f, JSON_COMPACT);
    ASSERT(strlen(s) <= NT_ASFF_MAX_FINDING);
    free(s);
    const char *d = json_string_value(json_object_get(f, "Description"));
    ASSERT(strlen(d) <= 1024);
    ASSERT(strstr(d, "[truncated "));
    const char *note = json_string_value(json_object_get(
        json_object_get(f, "ProductFields"), "trailguard/truncated"));
    ASSERT_NOT_NULL(note);
    ASSERT(strstr(note, "Description"));
    json_decref(f);
    free(out);
    free(fields);
}

static void test_suppress(void)
{
    nt_suppress *s = nt_suppress_new(60000, 16);
    nt_test_alert a, b;
    nt_test_alert_make(&a, 1, "R", NT_PRIO_ERROR);
    nt_test_alert_make(&b, 2, "R", NT_PRIO_ERROR);
    char p[128];
    nt_suppress_principal(&a.a, p, sizeof(p));
    ASSERT_STR_EQ(p, "arn:aws:iam::444455556666:user/alice");
    ASSERT_EQ(nt_suppress_check(s, &a.a, 1000), 0);
    ASSERT_EQ(nt_suppress_check(s, &b.a, 2000), 1);      /* same rule+user */
    ASSERT_EQ(nt_suppress_check(s, &b.a, 61000), 0);     /* window over */
    b.a.rule = nt_str_c("Other");
    ASSERT_EQ(nt_suppress_check(s, &b.a, 61001), 0);     /* other rule */
    nt_suppress_free(s);
}

int main(void)
{
    TG_RUN(&st, test_pack_roundtrip);
    TG_RUN(&st, test_prio);
    TG_RUN(&st, test_conf);
    TG_RUN(&st, test_route);
    TG_RUN(&st, test_template);
    TG_RUN(&st, test_asff);
    TG_RUN(&st, test_asff_truncation);
    TG_RUN(&st, test_suppress);
    TG_DONE(&st);
}
