/*
 * test_rectest.c - test records (YAML mapping or JSON string -> JSON text +
 * msgpack) and the `trailguard rules validate|list|test` subcommands run
 * in-process over a temporary rules directory with the real CloudTrail
 * source.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ev_cli_rules.h"
#include "ev_rectest.h"
#include "tg_test.h"
#include "tl_util.h"

static tg_test_state st;

static void conv(const char *yaml, const char *want_json, size_t want_mp_entries)
{
    char err[256];
    ev_yaml *y = ev_yaml_load(yaml, strlen(yaml), err, sizeof(err), NULL, NULL);
    ASSERT_NOT_NULL(y);
    ev_strbuf js;
    msgpack_sbuffer sb;
    ev_strbuf_init(&js);
    msgpack_sbuffer_init(&sb);
    ASSERT_EQ(ev_rectest_record(ev_yaml_doc(y, 0), &js, &sb, err, sizeof(err)), 0);
    ASSERT_STR_EQ(js.p, want_json);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    ASSERT_EQ(msgpack_unpack_next(&up, sb.data, sb.size, &off), MSGPACK_UNPACK_SUCCESS);
    ASSERT_EQ(up.data.type, MSGPACK_OBJECT_MAP);
    ASSERT_EQ(up.data.via.map.size, want_mp_entries);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    ev_strbuf_fini(&js);
    ev_yaml_free(y);
}

static void test_yaml_record(void)
{
    conv("eventName: ConsoleLogin\nreadOnly: false\nerrorCode: null\nn: 12\nf: 1.5\nq: \"true\"\n"
         "userIdentity: {type: Root, arn: \"a b\"}\nlist: [1, x]\n",
         "{\"eventName\":\"ConsoleLogin\",\"readOnly\":false,\"errorCode\":null,\"n\":12,\"f\":1.5,"
         "\"q\":\"true\",\"userIdentity\":{\"type\":\"Root\",\"arn\":\"a b\"},\"list\":[1,\"x\"]}", 8);
    /* a JSON string record is kept verbatim */
    conv("'{\"eventName\": \"X\", \"a\": [true]}'\n", "{\"eventName\": \"X\", \"a\": [true]}", 2);
    char err[256];
    ev_yaml *y = ev_yaml_load("'{not json'", 11, err, sizeof(err), NULL, NULL);
    ev_strbuf js;
    msgpack_sbuffer sb;
    ev_strbuf_init(&js);
    msgpack_sbuffer_init(&sb);
    ASSERT(ev_rectest_record(ev_yaml_doc(y, 0), &js, &sb, err, sizeof(err)) < 0);
    ev_strbuf_fini(&js);
    msgpack_sbuffer_destroy(&sb);
    ev_yaml_free(y);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    ASSERT_NOT_NULL(f);
    fputs(text, f);
    fclose(f);
}

static int run(int argc, const char **argv)
{
    fflush(stdout);
    return ev_cli_rules_main(argc, (char **)argv);
}

static void test_cli(void)
{
    char dir[] = "/tmp/tl_cliXXXXXX";
    ASSERT_NOT_NULL(mkdtemp(dir));
    char rules[512], tests[512], r1[600], bad[600], t1[600], t2[600];
    snprintf(rules, sizeof(rules), "%s/rules", dir);
    snprintf(tests, sizeof(tests), "%s/rules/tests", dir);
    mkdir(rules, 0700);
    mkdir(tests, 0700);
    snprintf(r1, sizeof(r1), "%s/a.yaml", rules);
    snprintf(bad, sizeof(bad), "%s/bad.yml.txt", dir);
    snprintf(t1, sizeof(t1), "%s/t1.yaml", tests);
    snprintf(t2, sizeof(t2), "%s/t2.yaml", dir);
    write_file(r1,
               "- rule: Root Login\n  desc: root console login\n"
               "  condition: ct.name = ConsoleLogin and ct.user.identitytype = Root and not ct.error exists\n"
               "  output: root login from %ct.srcip\n  priority: CRITICAL\n  source: aws_cloudtrail\n"
               "  tags: [aws, iam]\n"
               "- rule: Quiet\n  desc: off by default\n  condition: ct.name = Nothing\n  output: x\n"
               "  priority: DEBUG\n  source: aws_cloudtrail\n  enabled: false\n");
    write_file(bad, "- rule: r\n  desc: d\n  condition: ct.name = \n  output: o\n  priority: INFO\n"
                    "  source: aws_cloudtrail\n- macro: m\n  condition: (((\n");
    write_file(t1,
               "- rule: Root Login\n  fires:\n"
               "    - eventName: ConsoleLogin\n      eventTime: \"2024-01-01T00:00:00Z\"\n"
               "      userIdentity: {type: Root}\n"
               "  does_not_fire:\n"
               "    - {eventName: ConsoleLogin, userIdentity: {type: IAMUser}}\n"
               "    - '{\"eventName\": \"ConsoleLogin\", \"userIdentity\": {\"type\": \"Root\"}, \"errorCode\": \"Denied\"}'\n"
               "- rule: Quiet\n  fires:\n    - {eventName: Nothing}\n");
    write_file(t2, "- rule: Root Login\n  fires:\n    - {eventName: GetObject}\n"
                   "- rule: No Such Rule\n  fires: [{eventName: x}]\n");
    const char *v1[] = {"rules", "validate", r1};
    ASSERT_EQ(run(3, v1), 0);
    const char *v2[] = {"rules", "validate", bad};
    ASSERT_EQ(run(3, v2), 1);
    const char *l1[] = {"rules", "list", "-r", rules, "--tag", "iam"};
    ASSERT_EQ(run(6, l1), 0);
    const char *ts[] = {"rules", "test", tests};
    ASSERT_EQ(run(3, ts), 0);
    /* a failing test directory: wrong expectation + unknown rule */
    char tdir2[600];
    snprintf(tdir2, sizeof(tdir2), "%s/t2dir", dir);
    mkdir(tdir2, 0700);
    char t2b[700];
    snprintf(t2b, sizeof(t2b), "%s/t2.yaml", tdir2);
    rename(t2, t2b);
    const char *ts2[] = {"rules", "test", tdir2, "-r", rules};
    ASSERT_EQ(run(5, ts2), 1);
    const char *u[] = {"rules", "frob"};
    ASSERT_EQ(run(2, u), 2);
    setenv("TRAILGUARD_RULES_DIR", rules, 1);
    const char *l2[] = {"rules", "list"};
    ASSERT_EQ(run(2, l2), 0);
    const char *ts3[] = {"rules", "test"};
    ASSERT_EQ(run(2, ts3), 0);
    unsetenv("TRAILGUARD_RULES_DIR");
    unlink(t1);
    unlink(t2b);
    unlink(r1);
    unlink(bad);
    rmdir(tests);
    rmdir(tdir2);
    rmdir(rules);
    rmdir(dir);
}

int main(void)
{
    TG_RUN(&st, test_yaml_record);
    TG_RUN(&st, test_cli);
    TG_DONE(&st);
}
