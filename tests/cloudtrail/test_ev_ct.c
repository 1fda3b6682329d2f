/*
 * test_ev_ct.c - the aws_cloudtrail source: every plugin field (absent vs
 * present-empty), quirks, the worked example of spec/cloudtrail-fields.md
 * section 6, raw-text fidelity, ec2.imageids, json.* and evt.* fields.
 * Expected values come from the spec, not from running the code.
 * Owner: cloudtrail fields.
 */
#include <stdlib.h>
#include <time.h>

#include "ct_fixture.h"
#include "ev_ct_json.h"

/* AWS docs example (cloudtrail-log-file-examples.md, block 2), laid out with
 * tabs like the docs, plus the eventType Falco's fixture carries. */
static const char ALICE[] =
    "{\n"
    "\t\"eventVersion\": \"1.0\",\n"
    "\t\"userIdentity\": {\n"
    "\t\t\"type\": \"IAMUser\",\n"
    "\t\t\"principalId\": \"EX_PRINCIPAL_ID\",\n"
    "\t\t\"arn\": \"arn:aws:iam::123456789012:user/Alice\",\n"
    "\t\t\"accessKeyId\": \"EXAMPLE_KEY_ID\",\n"
    "\t\t\"accountId\": \"123456789012\",\n"
    "\t\t\"userName\": \"Alice\"\n"
    "\t},\n"
    "\t\"eventTime\": \"2014-03-06T21:22:54Z\",\n"
    "\t\"eventSource\": \"ec2.amazonaws.com\",\n"
    "\t\"eventName\": \"StartInstances\",\n"
    "\t\"awsRegion\": \"us-east-2\",\n"
    "\t\"sourceIPAddress\": \"205.251.233.176\",\n"
    "\t\"userAgent\": \"ec2-api-tools 1.6.12.2\",\n"
    "\t\"requestParameters\": {\n"
    "\t\t\"instancesSet\": {\n"
    "\t\t\t\"items\": [\n"
    "\t\t\t\t{\n"
    "\t\t\t\t\t\"instanceId\": \"i-ebeaf9e2\"\n"
    "\t\t\t\t}\n"
    "\t\t\t]\n"
    "\t\t}\n"
    "\t},\n"
    "\t\"responseElements\": {\n"
    "\t\t\"instancesSet\": {\n"
    "\t\t\t\"items\": [\n"
    "\t\t\t\t{\n"
    "\t\t\t\t\t\"instanceId\": \"i-ebeaf9e2\",\n"
    "\t\t\t\t\t\"currentState\": {\n"
    "\t\t\t\t\t\t\"code\": 0,\n"
    "\t\t\t\t\t\t\"name\": \"pending\"\n"
    "\t\t\t\t\t},\n"
    "\t\t\t\t\t\"previousState\": {\n"
    "\t\t\t\t\t\t\"code\": 80,\n"
    "\t\t\t\t\t\t\"name\": \"stopped\"\n"
    "\t\t\t\t\t}\n"
    "\t\t\t\t}\n"
    "\t\t\t]\n"
    "\t\t}\n"
    "\t},\n"
    "\t\"eventType\": \"AwsApiCall\"\n"
    "}";

#define ARROW_L "\xe2\x86\x90"
#define ARROW_R "\xe2\x86\x92"

static void test_catalogue(void)
{
    const ev_source *s = ev_ct_source();
    ASSERT_STR_EQ(s->name, "aws_cloudtrail");
    static const char *const names[] = {
        "ct.id", "ct.error", "ct.errormessage", "ct.time", "ct.src", "ct.shortsrc",
        "ct.name", "ct.user", "ct.originaluser", "ct.user.accountid",
        "ct.user.identitytype", "ct.user.principalid", "ct.user.arn", "ct.region",
        "ct.srcip", "ct.useragent", "ct.info", "ct.managementevent", "ct.readonly",
        "ct.requestid", "ct.eventtype", "ct.apiversion", "ct.resources",
        "ct.recipientaccountid", "ct.serviceeventdetails", "ct.sharedeventid",
        "ct.vpcendpointid", "ct.eventcategory", "ct.addendum.reason",
        "ct.addendum.updatedfields", "ct.addendum.originalrequestid",
        "ct.addendum.originaleventid", "ct.sessioncredentialfromconsole",
        "ct.edgedevicedetails", "ct.tlsdetails.tlsversion", "ct.tlsdetails.ciphersuite",
        "ct.tlsdetails.clientprovidedhostheader", "ct.additionaleventdata",
        "ct.response.subnetid", "ct.response.reservationid", "ct.response",
        "ct.request.availabilityzone", "ct.request.cluster", "ct.request.functionname",
        "ct.request.groupname", "ct.request.host", "ct.request.name",
        "ct.request.policy", "ct.request.reason", "ct.request.target",
        "ct.request.documentname", "ct.request.serialnumber", "ct.request.servicename",
        "ct.request.subnetid", "ct.request.taskdefinition", "ct.request.username",
        "ct.request", "s3.uri", "s3.bucket", "s3.key", "s3.bytes", "s3.bytes.in",
        "s3.bytes.out", "s3.cnt.get", "s3.cnt.put", "s3.cnt.other", "ec2.name",
        "ec2.imageid", "ec2.imageids", "ecr.repository", "ecr.imagetag", "iam.role",
        "iam.policy"};
    ASSERT_EQ(sizeof(names) / sizeof(names[0]), 73);
    size_t nct = 0, nu64 = 0, nlist = 0;
    for (size_t i = 0; i < 73; i++) {
        const ev_field_def *d = ev_source_find(s, names[i], strlen(names[i]));
        if (!d)
            TG_FAIL_("missing field %s", names[i]);
        nct++;
        nu64 += d->type == EV_TYPE_UINT64;
        nlist += (d->flags & EV_FIELD_LIST) != 0;
    }
    ASSERT_EQ(nct, 73);
    ASSERT_EQ(nu64, 6);
    ASSERT_EQ(nlist, 1);
    const ev_field_def *d = ev_source_find(s, "ec2.imageids", 12);
    ASSERT(d->flags & EV_FIELD_ARG_OPT);
    ASSERT(d->flags & EV_FIELD_ARG_INDEX);
    d = ev_source_find(s, "json.value", 10);
    ASSERT(d && (d->flags & EV_FIELD_ARG_REQ));
    ASSERT(ev_source_find(s, "jevt.value", 10));
    ASSERT(ev_source_find(s, "ct.time", 7)->flags & EV_FIELD_HIDDEN);
    ASSERT(ev_source_find(s, "s3.cnt.other", 12)->flags & EV_FIELD_HIDDEN);
    ASSERT_EQ(ev_source_find(s, "evt.is_async", 12)->type, EV_TYPE_BOOL);
    ASSERT_EQ(ev_source_find(s, "evt.rawtime", 11)->type, EV_TYPE_ABSTIME);
}

static void test_worked_example(void)
{
    uint64_t ts = 0;
    ct_load(ALICE);
    ASSERT_EQ(ev_ct_event_time(&g_fx.rec, &ts), 0);
    ASSERT_U64_EQ(ts, 1394140974000000000ull);
    const char *nm;
    size_t nl;
    ASSERT_EQ(ev_ct_event_name(&g_fx.rec, &nm, &nl), 0);
    ASSERT_MEM_EQ(nm, nl, "StartInstances", 14);
    ct_load_ts(ALICE, ts);
    CT_ABSENT("ct.id");
    CT_ABSENT("ct.error");
    CT_ABSENT("ct.errormessage");
    CT_ABSENT("ct.requestid");
    CT_ABSENT("ct.readonly");
    CT_ABSENT("ct.managementevent");
    CT_ABSENT("ct.recipientaccountid");
    CT_STR("ct.time", "2014-03-06T21:22:54Z");
    CT_STR("ct.src", "ec2.amazonaws.com");
    CT_STR("ct.shortsrc", "ec2");
    CT_STR("ct.name", "StartInstances");
    CT_STR("ct.user", "Alice");
    CT_STR("ct.originaluser", "Alice");
    CT_STR("ct.user.accountid", "123456789012");
    CT_STR("ct.user.identitytype", "IAMUser");
    CT_STR("ct.user.principalid", "EX_PRINCIPAL_ID");
    CT_STR("ct.user.arn", "arn:aws:iam::123456789012:user/Alice");
    CT_STR("ct.region", "us-east-2");
    CT_STR("ct.srcip", "205.251.233.176");
    CT_STR("ct.useragent", "ec2-api-tools 1.6.12.2");
    CT_STR("ct.eventtype", "AwsApiCall");
    CT_STR("ct.request", "{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-ebeaf9e2\"}]}}");
    CT_STR("ct.response",
           "{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-ebeaf9e2\",\"currentState\":"
           "{\"code\":0,\"name\":\"pending\"},\"previousState\":{\"code\":80,\"name\":"
           "\"stopped\"}}]}}");
    CT_STR("ct.info", "Alice via 205.251.233.176 " ARROW_L " StartInstances");
    CT_U64("s3.cnt.other", 1);
    CT_ABSENT("s3.cnt.get");
    CT_ABSENT("s3.cnt.put");
    CT_ABSENT("s3.bytes");
    CT_ABSENT("s3.bytes.in");
    CT_ABSENT("s3.bytes.out");
    CT_ABSENT("s3.uri");
    CT_ABSENT("s3.bucket");
    CT_ABSENT("s3.key");
    CT_ABSENT("ec2.imageid");
    CT_ABSENT("ec2.imageids");
    CT_STR_ARG("json.value", "/userIdentity/userName", "Alice");
    CT_STR("evt.plugininfo", "us-east-2 Alice ec2 StartInstances Alice via 205.251.233.176 "
                             ARROW_L " StartInstances");
    /* Everything else in the catalogue is absent for this record. */
    static const char *const absent[] = {
        "ct.apiversion", "ct.resources", "ct.serviceeventdetails", "ct.sharedeventid",
        "ct.vpcendpointid", "ct.eventcategory", "ct.addendum.reason",
        "ct.addendum.updatedfields", "ct.addendum.originalrequestid",
        "ct.addendum.originaleventid", "ct.sessioncredentialfromconsole",
        "ct.edgedevicedetails", "ct.tlsdetails.tlsversion", "ct.tlsdetails.ciphersuite",
        "ct.tlsdetails.clientprovidedhostheader", "ct.additionaleventdata",
        "ct.response.subnetid", "ct.response.reservationid",
        "ct.request.availabilityzone", "ct.request.cluster", "ct.request.functionname",
        "ct.request.groupname", "ct.request.host", "ct.request.name",
        "ct.request.policy", "ct.request.reason", "ct.request.target",
        "ct.request.documentname", "ct.request.serialnumber", "ct.request.servicename",
        "ct.request.subnetid", "ct.request.taskdefinition", "ct.request.username",
        "ec2.name", "ecr.repository", "ecr.imagetag", "iam.role", "iam.policy"};
    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++)
        CT_ABSENT(absent[i]);
}

/* Every Rule S field: string value, non-string (present ""), missing. */
static void test_rule_s_all(void)
{
    static const struct {
        const char *field, *json_str, *json_num;
    } t[] = {
        {"ct.id", "{\"eventID\":\"v\"}", "{\"eventID\":1}"},
        {"ct.error", "{\"errorCode\":\"v\"}", "{\"errorCode\":null}"},
        {"ct.errormessage", "{\"errorMessage\":\"v\"}", "{\"errorMessage\":[]}"},
        {"ct.time", "{\"eventTime\":\"v\"}", "{\"eventTime\":5}"},
        {"ct.src", "{\"eventSource\":\"v\"}", "{\"eventSource\":true}"},
        {"ct.name", "{\"eventName\":\"v\"}", "{\"eventName\":{}}"},
        {"ct.user.identitytype", "{\"userIdentity\":{\"type\":\"v\"}}",
         "{\"userIdentity\":{\"type\":1}}"},
        {"ct.user.principalid", "{\"userIdentity\":{\"principalId\":\"v\"}}",
         "{\"userIdentity\":{\"principalId\":null}}"},
        {"ct.user.arn", "{\"userIdentity\":{\"arn\":\"v\"}}", "{\"userIdentity\":{\"arn\":2}}"},
        {"ct.region", "{\"awsRegion\":\"v\"}", "{\"awsRegion\":null}"},
        {"ct.srcip", "{\"sourceIPAddress\":\"v\"}", "{\"sourceIPAddress\":1}"},
        {"ct.useragent", "{\"userAgent\":\"v\"}", "{\"userAgent\":false}"},
        {"ct.requestid", "{\"requestID\":\"v\"}", "{\"requestID\":1}"},
        {"ct.eventtype", "{\"eventType\":\"v\"}", "{\"eventType\":1}"},
        {"ct.apiversion", "{\"apiVersion\":\"v\"}", "{\"apiVersion\":1}"},
        {"ct.recipientaccountid", "{\"recipientAccountId\":\"v\"}",
         "{\"recipientAccountId\":123456789012}"},
        {"ct.serviceeventdetails", "{\"serviceEventDetails\":\"v\"}",
         "{\"serviceEventDetails\":{\"a\":1}}"},
        {"ct.sharedeventid", "{\"sharedEventID\":\"v\"}", "{\"sharedEventID\":1}"},
        {"ct.vpcendpointid", "{\"vpcEndpointId\":\"v\"}", "{\"vpcEndpointId\":1}"},
        {"ct.eventcategory", "{\"eventCategory\":\"v\"}", "{\"eventCategory\":1}"},
        {"ct.addendum.reason", "{\"addendum\":{\"reason\":\"v\"}}",
         "{\"addendum\":{\"reason\":1}}"},
        {"ct.addendum.updatedfields", "{\"addendum\":{\"updatedFields\":\"v\"}}",
         "{\"addendum\":{\"updatedFields\":1}}"},
        {"ct.addendum.originalrequestid", "{\"addendum\":{\"originalRequestID\":\"v\"}}",
         "{\"addendum\":{\"originalRequestID\":1}}"},
        {"ct.addendum.originaleventid", "{\"addendum\":{\"originalEventID\":\"v\"}}",
         "{\"addendum\":{\"originalEventID\":1}}"},
        {"ct.edgedevicedetails", "{\"edgeDeviceDetails\":\"v\"}",
         "{\"edgeDeviceDetails\":{\"x\":1}}"},
        {"ct.tlsdetails.tlsversion", "{\"tlsDetails\":{\"tlsVersion\":\"v\"}}",
         "{\"tlsDetails\":{\"tlsVersion\":1.2}}"},
        {"ct.tlsdetails.ciphersuite", "{\"tlsDetails\":{\"cipherSuite\":\"v\"}}",
         "{\"tlsDetails\":{\"cipherSuite\":1}}"},
        {"ct.tlsdetails.clientprovidedhostheader",
         "{\"tlsDetails\":{\"clientProvidedHostHeader\":\"v\"}}",
         "{\"tlsDetails\":{\"clientProvidedHostHeader\":1}}"},
        {"ct.response.subnetid", "{\"responseElements\":{\"subnetId\":\"v\"}}",
         "{\"responseElements\":{\"subnetId\":1}}"},
        {"ct.response.reservationid", "{\"responseElements\":{\"reservationId\":\"v\"}}",
         "{\"responseElements\":{\"reservationId\":1}}"},
        {"ct.request.availabilityzone", "{\"requestParameters\":{\"availabilityZone\":\"v\"}}",
         "{\"requestParameters\":{\"availabilityZone\":1}}"},
        {"ct.request.cluster", "{\"requestParameters\":{\"cluster\":\"v\"}}",
         "{\"requestParameters\":{\"cluster\":1}}"},
        {"ct.request.functionname", "{\"requestParameters\":{\"functionName\":\"v\"}}",
         "{\"requestParameters\":{\"functionName\":1}}"},
        {"ct.request.groupname", "{\"requestParameters\":{\"groupName\":\"v\"}}",
         "{\"requestParameters\":{\"groupName\":1}}"},
        {"ct.request.host", "{\"requestParameters\":{\"Host\":\"v\"}}",
         "{\"requestParameters\":{\"Host\":1}}"},
        {"ct.request.name", "{\"requestParameters\":{\"name\":\"v\"}}",
         "{\"requestParameters\":{\"name\":1}}"},
        {"ct.request.policy", "{\"requestParameters\":{\"policy\":\"v\"}}",
         "{\"requestParameters\":{\"policy\":{\"Version\":\"2012-10-17\"}}}"},
        {"ct.request.reason", "{\"requestParameters\":{\"reason\":\"v\"}}",
         "{\"requestParameters\":{\"reason\":1}}"},
        {"ct.request.target", "{\"requestParameters\":{\"target\":\"v\"}}",
         "{\"requestParameters\":{\"target\":1}}"},
        {"ct.request.serialnumber", "{\"requestParameters\":{\"serialNumber\":\"v\"}}",
         "{\"requestParameters\":{\"serialNumber\":1}}"},
        {"ct.request.servicename", "{\"requestParameters\":{\"serviceName\":\"v\"}}",
         "{\"requestParameters\":{\"serviceName\":1}}"},
        {"ct.request.subnetid", "{\"requestParameters\":{\"subnetId\":\"v\"}}",
         "{\"requestParameters\":{\"subnetId\":1}}"},
        {"ct.request.taskdefinition", "{\"requestParameters\":{\"taskDefinition\":\"v\"}}",
         "{\"requestParameters\":{\"taskDefinition\":1}}"},
        {"ct.request.username", "{\"requestParameters\":{\"userName\":\"v\"}}",
         "{\"requestParameters\":{\"userName\":1}}"},
        {"s3.bucket", "{\"requestParameters\":{\"bucketName\":\"v\"}}",
         "{\"requestParameters\":{\"bucketName\":1}}"},
        {"s3.key", "{\"requestParameters\":{\"key\":\"v\"}}",
         "{\"requestParameters\":{\"key\":1}}"},
        {"ecr.repository", "{\"requestParameters\":{\"repositoryName\":\"v\"}}",
         "{\"requestParameters\":{\"repositoryName\":1}}"},
        {"ecr.imagetag", "{\"requestParameters\":{\"imageTag\":\"v\"}}",
         "{\"requestParameters\":{\"imageTag\":1}}"},
        {"iam.role", "{\"requestParameters\":{\"roleName\":\"v\"}}",
         "{\"requestParameters\":{\"roleName\":1}}"},
        {"iam.policy", "{\"requestParameters\":{\"policyName\":\"v\"}}",
         "{\"requestParameters\":{\"policyName\":1}}"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        fprintf(stderr, "   %s\n", t[i].field);
        ct_load(t[i].json_str);
        CT_STR(t[i].field, "v");
        ct_load(t[i].json_num);
        CT_STR(t[i].field, "");
        ct_load("{\"other\":\"v\"}");
        CT_ABSENT(t[i].field);
    }
    /* Walking through a non-object is "not found". */
    ct_load("{\"requestParameters\":null,\"userIdentity\":\"x\"}");
    CT_ABSENT("ct.request.name");
    CT_ABSENT("ct.user.arn");
    CT_STR("ct.request", "null");
    /* Case-sensitive keys; first duplicate wins; escapes decoded. */
    ct_load("{\"EventName\":\"no\",\"eventName\":\"a\\u00e9\\\"\",\"eventName\":\"b\"}");
    CT_STR("ct.name", "a\xc3\xa9\"");
    ct_load("{\"requestParameters\":{\"host\":\"lower\"}}");
    CT_ABSENT("ct.request.host");
    /* A lone surrogate (fastjson keeps the escape as text): the decoder's
     * lenient path and json.value agree. */
    ct_load("{\"userAgent\":\"x\\ud800\"}");
    CT_STR("ct.useragent", "x\\ud800");
    CT_STR_ARG("json.value", "/userAgent", "x\\ud800");
}

static void test_shortsrc(void)
{
    ct_load("{\"eventSource\":\"s3.amazonaws.com\"}");
    CT_STR("ct.shortsrc", "s3");
    ct_load("{\"eventSource\":\".amazonaws.com\"}"); /* exactly 14: kept */
    CT_STR("ct.shortsrc", ".amazonaws.com");
    ct_load("{\"eventSource\":\"x.amazonaws.com.evil\"}");
    CT_STR("ct.shortsrc", "x.amazonaws.com.evil");
    ct_load("{\"eventSource\":7}");
    CT_STR("ct.shortsrc", "");
    ct_load("{}");
    CT_ABSENT("ct.shortsrc");
}

static void test_user(void)
{
    ct_load("{\"userIdentity\":{\"type\":\"Root\"}}");
    CT_ABSENT("ct.user");
    ct_load("{\"userIdentity\":{\"type\":\"Root\",\"userName\":\"rooty\"}}");
    CT_STR("ct.user", "rooty");
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":null}}");
    CT_STR("ct.user", "");
    ct_load("{\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":\"lambda.amazonaws.com\"}}");
    CT_STR("ct.user", "lambda.amazonaws.com");
    ct_load("{\"userIdentity\":{\"type\":\"AWSService\"}}");
    CT_ABSENT("ct.user");
    ct_load("{\"userIdentity\":{\"type\":\"AssumedRole\",\"sessionContext\":{\"sessionIssuer\":"
            "{\"userName\":\"Admin\"}}}}");
    CT_STR("ct.user", "Admin");
    ct_load("{\"userIdentity\":{\"type\":\"AssumedRole\"}}");
    CT_STR("ct.user", "AssumedRole");
    ct_load("{\"userIdentity\":{\"type\":\"AWSAccount\",\"userName\":\"x\"}}");
    CT_STR("ct.user", "AWSAccount");
    ct_load("{\"userIdentity\":{\"type\":\"FederatedUser\"}}");
    CT_STR("ct.user", "FederatedUser");
    ct_load("{\"userIdentity\":{\"type\":\"IdentityCenterUser\",\"userName\":\"x\"}}");
    CT_ABSENT("ct.user");
    ct_load("{\"userIdentity\":{\"userName\":\"x\"}}");
    CT_ABSENT("ct.user");
    ct_load("{\"userIdentity\":{\"type\":3,\"userName\":\"x\"}}");
    CT_ABSENT("ct.user");
}

static void test_originaluser(void)
{
    ct_load("{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":"
            "\"arn:aws:sts::123:assumed-role/RoleName/SessionName\",\"principalId\":\"A:p\"}}");
    CT_STR("ct.originaluser", "SessionName");
    ct_load("{\"userIdentity\":{\"type\":\"AssumedRole\",\"arn\":\"arn:aws:sts::123:x/y\","
            "\"principalId\":\"AROAXXX:session\"}}");
    CT_STR("ct.originaluser", "session");
    ct_load("{\"userIdentity\":{\"type\":\"AssumedRole\",\"principalId\":\"a:b:c\"}}");
    CT_ABSENT("ct.originaluser");
    ct_load("{\"userIdentity\":{\"type\":\"AssumedRole\",\"userName\":\"u\"}}");
    CT_ABSENT("ct.originaluser");
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"bob\"}}");
    CT_STR("ct.originaluser", "bob");
    ct_load("{\"userIdentity\":{\"userName\":\"bob\"}}");
    CT_STR("ct.originaluser", "bob");
    ct_load("{\"userIdentity\":{\"type\":\"Root\"}}");
    CT_ABSENT("ct.originaluser");
}

static void test_accountid(void)
{
    ct_load("{\"userIdentity\":{\"accountId\":\"111\"},\"recipientAccountId\":\"222\"}");
    CT_STR("ct.user.accountid", "111");
    ct_load("{\"userIdentity\":{},\"recipientAccountId\":\"222\"}");
    CT_STR("ct.user.accountid", "222");
    ct_load("{\"userIdentity\":{\"accountId\":null},\"recipientAccountId\":\"222\"}");
    CT_STR("ct.user.accountid", "");
    ct_load("{\"userIdentity\":{}}");
    CT_ABSENT("ct.user.accountid");
}

static void test_boolstr(void)
{
    static const char *const f[][2] = {{"ct.managementevent", "managementEvent"},
                                       {"ct.readonly", "readOnly"},
                                       {"ct.sessioncredentialfromconsole",
                                        "sessionCredentialFromConsole"}};
    char buf[128];
    for (int i = 0; i < 3; i++) {
        snprintf(buf, sizeof(buf), "{\"%s\":true}", f[i][1]);
        ct_load(buf);
        CT_STR(f[i][0], "true");
        snprintf(buf, sizeof(buf), "{\"%s\":false}", f[i][1]);
        ct_load(buf);
        CT_STR(f[i][0], "false");
        snprintf(buf, sizeof(buf), "{\"%s\":\"true\"}", f[i][1]);
        ct_load(buf);
        CT_STR(f[i][0], "false");
        snprintf(buf, sizeof(buf), "{\"%s\":null}", f[i][1]);
        ct_load(buf);
        CT_STR(f[i][0], "false");
        ct_load("{}");
        CT_ABSENT(f[i][0]);
    }
}

static void test_resources(void)
{
    ct_load("{\"resources\": [ {\"ARN\": \"arn:a\", \"accountId\" : \"1\"} ,\n"
            "  {\"type\":\"AWS::S3::Bucket\",\"n\": 33.0} ]}");
    CT_STR("ct.resources",
           "{\"ARN\":\"arn:a\",\"accountId\":\"1\"},{\"type\":\"AWS::S3::Bucket\",\"n\":33.0}");
    ct_load("{\"resources\":[]}");
    CT_ABSENT("ct.resources");
    ct_load("{\"resources\":{\"a\":1}}");
    CT_ABSENT("ct.resources");
    ct_load("{\"resources\":[\"x\", 1]}");
    CT_STR("ct.resources", "\"x\",1");
    ct_load("{}");
    CT_ABSENT("ct.resources");
}

static void test_raw_fidelity(void)
{
    ct_load("{\"requestParameters\": {\"z\": 33.0, \"a\": \"s p\\u00e9\\\"\\/\", "
            "\"z\": 1e2, \"n\" : null, \"t\": [ true, false ], \"o\": { } },"
            " \"additionalEventData\" : { \"bytesTransferredIn\" : 33.0 },"
            " \"responseElements\": null}");
    CT_STR("ct.request", "{\"z\":33.0,\"a\":\"s p\\u00e9\\\"\\/\",\"z\":1e2,\"n\":null,"
                         "\"t\":[true,false],\"o\":{}}");
    CT_STR("ct.additionaleventdata", "{\"bytesTransferredIn\":33.0}");
    CT_STR("ct.response", "null");
    ct_load("{\"requestParameters\":\"text\"}");
    CT_STR("ct.request", "\"text\"");
    CT_ABSENT("ct.response");
    CT_ABSENT("ct.additionaleventdata");
}

static void test_documentname_quirk(void)
{
    ct_load("{\"requestParameters\":{\"documentName\":\"AWS-RunShellScript\","
            "\"documentname\":\"x\"}}");
    CT_ABSENT("ct.request.documentname");
}

static void test_info(void)
{
    /* 1: no user */
    ct_load("{\"userIdentity\":{\"type\":\"SAMLUser\"},\"sourceIPAddress\":\"1.2.3.4\","
            "\"eventName\":\"X\",\"eventSource\":\"sts.amazonaws.com\",\"awsRegion\":\"r\"}");
    CT_STR("ct.info", "<invalid cloudtrail event: userIdentity field missing>");
    CT_STR("evt.plugininfo", "r<unknown user type> sts X "
                             "<invalid cloudtrail event: userIdentity field missing>");
    /* 2: no sourceIPAddress (message names eventSource) */
    ct_load("{\"userIdentity\":{\"type\":\"AWSAccount\"},\"eventName\":\"X\"}");
    CT_STR("ct.info", "<invalid cloudtrail event: eventSource field missing>");
    /* 5: no eventName */
    ct_load("{\"userIdentity\":{\"type\":\"AWSAccount\"},\"sourceIPAddress\":\"ip\"}");
    CT_STR("ct.info", "<invalid cloudtrail event: eventName field missing>");
    /* error marker even for "", direction from readOnly */
    ct_load("{\"userIdentity\":{\"type\":\"AWSAccount\"},\"sourceIPAddress\":\"ip\","
            "\"eventName\":\"Del\",\"errorCode\":\"\",\"readOnly\":false}");
    CT_STR("ct.info", "AWSAccount via ip !" ARROW_R " Del");
    ct_load("{\"userIdentity\":{\"type\":\"AWSAccount\"},\"sourceIPAddress\":\"ip\","
            "\"eventName\":\"Get\",\"readOnly\":true}");
    CT_STR("ct.info", "AWSAccount via ip " ARROW_L " Get");
    /* user == srcip */
    ct_load("{\"userIdentity\":{\"type\":\"AWSService\",\"invokedBy\":\"ec2.amazonaws.com\"},"
            "\"sourceIPAddress\":\"ec2.amazonaws.com\",\"eventName\":\"E\"}");
    CT_STR("ct.info", "ec2.amazonaws.com " ARROW_L " E");
    /* S3: Size and URI */
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"sourceIPAddress\":\"ip\",\"eventName\":\"GetObject\",\"requestParameters\":"
            "{\"bucketName\":\"b\",\"key\":\"k/x\",\"Host\":\"h\"},\"additionalEventData\":"
            "{\"bytesTransferredIn\":0,\"bytesTransferredOut\":33.0}}");
    CT_STR("ct.info", "u via ip " ARROW_L " GetObject Size=33 URI=s3://b/k/x");
    /* Bucket only, then Key only, then Host */
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"sourceIPAddress\":\"ip\",\"eventName\":\"N\",\"requestParameters\":"
            "{\"bucketName\":\"b\",\"Host\":\"h\"}}");
    CT_STR("ct.info", "u via ip " ARROW_L " N Bucket=b");
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"sourceIPAddress\":\"ip\",\"eventName\":\"N\",\"requestParameters\":"
            "{\"key\":\"k\",\"Host\":\"h\"}}");
    CT_STR("ct.info", "u via ip " ARROW_L " N Key=k");
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"sourceIPAddress\":\"ip\",\"eventName\":\"N\",\"requestParameters\":"
            "{\"Host\":\"h\"}}");
    CT_STR("ct.info", "u via ip " ARROW_L " N Host=h");
    /* PutBucketPublicAccessBlock: flags read from the root (always false) */
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"sourceIPAddress\":\"ip\",\"eventName\":\"PutBucketPublicAccessBlock\","
            "\"requestParameters\":{\"bucketName\":\"b\",\"PublicAccessBlockConfiguration\":"
            "{\"BlockPublicAcls\":true,\"BlockPublicPolicy\":true,\"IgnorePublicAcls\":true,"
            "\"RestrictPublicBuckets\":true}}}");
    CT_STR("ct.info", "u via ip " ARROW_L " PutBucketPublicAccessBlock BlockPublicAcls=false "
                      "BlockPublicPolicy=false IgnorePublicAcls=false "
                      "RestrictPublicBuckets=false ");
    ct_load("{\"userIdentity\":{\"type\":\"IAMUser\",\"userName\":\"u\"},"
            "\"sourceIPAddress\":\"ip\",\"eventName\":\"PutBucketPublicAccessBlock\","
            "\"requestParameters\":{\"bucketName\":\"b\"}}");
    CT_STR("ct.info", "u via ip " ARROW_L " PutBucketPublicAccessBlock Bucket=b");
}

static void test_plugininfo(void)
{
    ct_load("{\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"X\"}");
    CT_ABSENT("evt.plugininfo"); /* no awsRegion */
    ct_load("{\"eventSource\":1,\"awsRegion\":\"r\",\"eventName\":\"X\"}");
    CT_ABSENT("evt.plugininfo");
    /* Root without userName: "<NA>" glued on */
    ct_load("{\"eventSource\":\"signin.amazonaws.com\",\"awsRegion\":\"r\",\"eventName\":"
            "\"ConsoleLogin\",\"userIdentity\":{\"type\":\"Root\"},\"sourceIPAddress\":\"ip\"}");
    CT_STR("evt.plugininfo", "r<NA> signin ConsoleLogin "
                             "<invalid cloudtrail event: userIdentity field missing>");
    /* no type: nothing glued */
    ct_load("{\"eventSource\":\"a\",\"awsRegion\":\"r\",\"eventName\":\"N\"}");
    CT_STR("evt.plugininfo", "r a N <invalid cloudtrail event: userIdentity field missing>");
    /* present but empty user: no space, no text */
    ct_load("{\"eventSource\":\"a\",\"awsRegion\":\"r\",\"eventName\":\"N\",\"userIdentity\":"
            "{\"type\":\"IAMUser\",\"userName\":\"\"},\"sourceIPAddress\":\"ip\"}");
    CT_STR("evt.plugininfo", "r a N  via ip " ARROW_L " N");
}

static void test_s3(void)
{
    ct_load("{\"eventName\":\"GetObject\",\"requestParameters\":{\"bucketName\":\"b\","
            "\"key\":\"a b\"},\"additionalEventData\":{\"bytesTransferredIn\":1.9,"
            "\"bytesTransferredOut\":33.0}}");
    CT_STR("s3.uri", "s3://b/a b");
    CT_U64("s3.bytes.in", 1);
    CT_U64("s3.bytes.out", 33);
    CT_U64("s3.bytes", 34);
    CT_U64("s3.cnt.get", 1);
    CT_ABSENT("s3.cnt.put");
    CT_ABSENT("s3.cnt.other");
    ct_load("{\"eventName\":\"PutObject\",\"requestParameters\":{\"bucketName\":1,"
            "\"key\":\"k\"},\"additionalEventData\":{\"bytesTransferredIn\":\"12\"}}");
    CT_ABSENT("s3.uri");
    CT_STR("s3.bucket", "");
    CT_U64("s3.bytes.in", 0);
    CT_ABSENT("s3.bytes.out");
    CT_U64("s3.bytes", 0);
    CT_U64("s3.cnt.put", 1);
    CT_ABSENT("s3.cnt.get");
    CT_ABSENT("s3.cnt.other");
    ct_load("{\"requestParameters\":{\"bucketName\":\"b\"},\"additionalEventData\":"
            "{\"bytesTransferredOut\":-5,\"bytesTransferredIn\":18446744073709551615}}");
    CT_ABSENT("s3.uri");
    CT_U64("s3.bytes.out", 0);
    CT_U64("s3.bytes.in", 18446744073709551615ull);
    CT_U64("s3.cnt.other", 1); /* no eventName at all */
    ct_load("{\"eventName\":\"getobject\",\"additionalEventData\":{\"bytesTransferredIn\":null}}");
    CT_U64("s3.cnt.other", 1);
    CT_U64("s3.bytes.in", 0);
    CT_U64("s3.bytes", 0);
    ct_load("{\"additionalEventData\":{}}");
    CT_ABSENT("s3.bytes");
}

static void test_ec2_name(void)
{
    ct_load("{\"requestParameters\":{\"tagSpecificationSet\":{\"items\":["
            "{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"Name\",\"value\":\"first\"},"
            "{\"key\":\"Name\",\"value\":\"dup\"}]},"
            "{\"resourceType\":\"volume\",\"tags\":[{\"key\":\"Name\",\"value\":\"vol\"}]},"
            "{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"Env\",\"value\":\"x\"},"
            "{\"key\":\"Name\",\"value\":\"last\"}]}]}}}");
    CT_STR("ec2.name", "last");
    ct_load("{\"requestParameters\":{\"tagSpecificationSet\":{\"items\":["
            "{\"resourceType\":\"instance\",\"tags\":[{\"key\":\"Name\",\"value\":\"\"}]}]}}}");
    CT_ABSENT("ec2.name");
    ct_load("{\"requestParameters\":{\"tagSpecificationSet\":{\"items\":{}}}}");
    CT_ABSENT("ec2.name");
}

static void test_ec2_imageids(void)
{
    ct_load("{\"responseElements\":{\"instancesSet\":{\"items\":["
            "{\"imageId\":\"ami-1\"},{\"imageId\":\"\"},{\"x\":1},{\"imageId\":7},"
            "{\"imageId\":\"ami-2\"}]}},\"requestParameters\":{\"imageId\":\"ami-req\"}}");
    ASSERT_EQ(ct_get("ec2.imageids", NULL), 2);
    ASSERT_MEM_EQ(g_fx.vals.vals[0].s, g_fx.vals.vals[0].len, "ami-1", 5);
    ASSERT_MEM_EQ(g_fx.vals.vals[1].s, g_fx.vals.vals[1].len, "ami-2", 5);
    ASSERT_EQ(g_fx.vals.n, 2);
    CT_STR_ARG("ec2.imageids", "0", "ami-1");
    CT_STR_ARG("ec2.imageids", "1", "");       /* present "" by Rule S */
    CT_ABSENT_ARG("ec2.imageids", "2");        /* imageId missing */
    CT_STR_ARG("ec2.imageids", "3", "");       /* non-string */
    CT_STR_ARG("ec2.imageids", "4", "ami-2");
    CT_ABSENT_ARG("ec2.imageids", "5");        /* out of range */
    CT_STR("ec2.imageid", "ami-1");
    /* items exists but is no array: absent, no fallback */
    ct_load("{\"responseElements\":{\"instancesSet\":{\"items\":null}},"
            "\"requestParameters\":{\"imageId\":\"ami-req\"}}");
    CT_ABSENT("ec2.imageids");
    CT_ABSENT_ARG("ec2.imageids", "0");
    CT_ABSENT("ec2.imageid");
    /* fallbacks, in order */
    ct_load("{\"requestParameters\":{\"imageId\":\"ami-a\",\"launchSpecification\":"
            "{\"imageId\":\"ami-c\"}}}");
    ASSERT_EQ(ct_get("ec2.imageids", NULL), 1);
    ASSERT_MEM_EQ(g_fx.vals.vals[0].s, g_fx.vals.vals[0].len, "ami-a", 5);
    CT_STR_ARG("ec2.imageids", "0", "ami-a");
    CT_ABSENT_ARG("ec2.imageids", "1");
    CT_STR("ec2.imageid", "ami-a");
    ct_load("{\"requestParameters\":{\"DescribeFastLaunchImagesRequest\":{\"ImageId\":"
            "{\"content\":\"ami-b\"}},\"launchSpecification\":{\"imageId\":\"ami-c\"}}}");
    CT_STR("ec2.imageid", "ami-b");
    ct_load("{\"requestParameters\":{\"launchSpecification\":{\"imageId\":\"ami-c\"}}}");
    CT_STR_ARG("ec2.imageids", "0", "ami-c");
    ct_load("{\"requestParameters\":{\"imageId\":null}}");
    CT_STR("ec2.imageid", "");
    ct_load("{\"requestParameters\":{}}");
    CT_ABSENT("ec2.imageids");
    /* more than EV_VALS_INLINE values */
    ct_load("{\"responseElements\":{\"instancesSet\":{\"items\":[{\"imageId\":\"a0\"},"
            "{\"imageId\":\"a1\"},{\"imageId\":\"a2\"},{\"imageId\":\"a3\"},{\"imageId\":\"a4\"},"
            "{\"imageId\":\"a5\"},{\"imageId\":\"a6\"},{\"imageId\":\"a7\"},{\"imageId\":\"a8\"},"
            "{\"imageId\":\"a9\"}]}}}");
    ASSERT_EQ(ct_get("ec2.imageids", NULL), 10);
    for (int i = 0; i < 10; i++) {
        char e[3] = {'a', (char)('0' + i), 0};
        ASSERT_MEM_EQ(g_fx.vals.vals[i].s, g_fx.vals.vals[i].len, e, 2);
    }
}

static void test_json_value(void)
{
    ct_load("{\"a/b\":{\"m~n\":\"slash-tilde\"},\"~1\":\"lit\",\"arr\":[10,{\"x\":\"y\"},"
            "[1, 2]],\"s\":\"q\\\"\\u00e9\\n\",\"f\":false,\"n\":null,\"num\":33.0,"
            "\"o\":{ \"k\" : [ 1 , \"two\" ] },\"\":\"empty key\",\"dup\":1,\"dup\":2}");
    CT_STR_ARG("json.value", "/a~1b/m~0n", "slash-tilde");
    CT_STR_ARG("json.value", "/~01", "lit"); /* "~01" -> "~1", not "/" */
    CT_STR_ARG("json.value", "/arr/0", "10");
    CT_STR_ARG("json.value", "/arr/1/x", "y");
    CT_STR_ARG("json.value", "/arr/2", "[1,2]");
    CT_ABSENT_ARG("json.value", "/arr/3");
    CT_ABSENT_ARG("json.value", "/arr/x");
    CT_STR_ARG("json.value", "/s", "q\"\xc3\xa9\n");
    CT_STR_ARG("json.value", "/f", "false");
    CT_STR_ARG("json.value", "/n", "null");
    CT_STR_ARG("json.value", "/num", "33.0");
    CT_STR_ARG("json.value", "/o", "{\"k\":[1,\"two\"]}");
    CT_STR_ARG("json.value", "/", "empty key");
    CT_STR_ARG("json.value", "/dup", "1");
    CT_STR_ARG("json.value", "s", "q\"\xc3\xa9\n"); /* no leading slash */
    CT_ABSENT_ARG("json.value", "/missing");
    CT_ABSENT_ARG("json.value", "/s/x");
    CT_STR_ARG("jevt.value", "/f", "false");
    CT_ABSENT("json.value"); /* the argument is required */
}

static void test_json_obj(void)
{
    ct_load_ts("{\"a\":[1, {}],\"b\" : {\"c\":\"x y\"},\"d\":[ ]}", 1234567890123456789ull);
    CT_STR("json.obj", "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": \"x y\"\n"
                       "  },\n  \"d\": []\n}");
    CT_STR("jevt.obj", "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": {\n    \"c\": \"x y\"\n"
                       "  },\n  \"d\": []\n}");
    CT_STR("json.rawtime", "1234567890123456789");
    CT_STR("jevt.rawtime", "1234567890123456789");
}

static void test_evt_fields(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    /* 2014-03-06T21:22:54.000000123Z */
    ct_load_ts(ALICE, 1394140974000000123ull);
    CT_U64("evt.num", g_fx.num);
    CT_STR("evt.time", "21:22:54.000000123");
    CT_STR("evt.time.s", "21:22:54");
    CT_STR("evt.time.iso8601", "2014-03-06T21:22:54.000000123+0000");
    CT_STR("evt.datetime", "2014-03-06 21:22:54.000000123");
    CT_STR("evt.datetime.s", "2014-03-06 21:22:54");
    CT_U64("evt.rawtime", 1394140974000000123ull);
    CT_U64("evt.rawtime.s", 1394140974ull);
    CT_U64("evt.rawtime.ns", 123);
    CT_STR("evt.pluginname", "cloudtrail");
    CT_STR("evt.source", "aws_cloudtrail");
    CT_U64("evt.is_async", 0);
    CT_ABSENT("evt.asynctype");
    CT_STR("evt.hostname", "test-host");
    /* local time follows TZ */
    setenv("TZ", "EST5", 1);
    tzset();
    CT_STR("evt.time", "16:22:54.000000123");
    CT_STR("evt.time.iso8601", "2014-03-06T21:22:54.000000123+0000");
    setenv("TZ", "UTC", 1);
    tzset();
    /* reltime: relative to the first event seen by a bound source */
    ev_ct_ctx ctx = {0};
    ev_source bound;
    ev_ct_source_init(&bound, &ctx);
    const ev_source *saved = g_fx.src;
    g_fx.src = &bound;
    ct_load_ts(ALICE, 5000000000ull);
    CT_U64("evt.reltime", 0);
    ct_load_ts(ALICE, 7500000001ull);
    CT_U64("evt.reltime", 2500000001ull);
    CT_U64("evt.reltime.s", 2);
    CT_U64("evt.reltime.ns", 500000001ull);
    g_fx.src = saved;
}

static void test_parse_time(void)
{
    uint64_t ns = 0;
    ASSERT_EQ(ev_ct_parse_time("2014-03-06T21:22:54Z", 20, &ns), 0);
    ASSERT_U64_EQ(ns, 1394140974000000000ull);
    ASSERT_EQ(ev_ct_parse_time("1970-01-01T00:00:00Z", 20, &ns), 0);
    ASSERT_U64_EQ(ns, 0);
    ASSERT_EQ(ev_ct_parse_time("2014-03-06T21:22:54.5Z", 22, &ns), 0);
    ASSERT_U64_EQ(ns, 1394140974500000000ull);
    ASSERT_EQ(ev_ct_parse_time("2014-03-06T21:22:54.123456789123Z", 33, &ns), 0);
    ASSERT_U64_EQ(ns, 1394140974123456789ull);
    ASSERT_EQ(ev_ct_parse_time("2014-03-06T23:22:54+02:00", 25, &ns), 0);
    ASSERT_U64_EQ(ns, 1394140974000000000ull);
    ASSERT_EQ(ev_ct_parse_time("2014-03-06T16:22:54-05:00", 25, &ns), 0);
    ASSERT_U64_EQ(ns, 1394140974000000000ull);
    ASSERT_EQ(ev_ct_parse_time("2024-02-29T00:00:00Z", 20, &ns), 0);
    ASSERT_U64_EQ(ns, 1709164800000000000ull);
    ASSERT(ev_ct_parse_time("2023-02-29T00:00:00Z", 20, &ns) < 0);
    ASSERT(ev_ct_parse_time("2014-03-06 21:22:54Z", 20, &ns) < 0);
    ASSERT(ev_ct_parse_time("2014-03-06T21:22:54", 19, &ns) < 0);
    ASSERT(ev_ct_parse_time("2014-03-06T24:00:00Z", 20, &ns) < 0);
    ASSERT(ev_ct_parse_time("2014-03-06T21:22:54.Z", 21, &ns) < 0);
    ASSERT(ev_ct_parse_time("1969-12-31T23:59:59Z", 20, &ns) < 0);
    ASSERT(ev_ct_parse_time("2014-03-06T21:22:54Zjunk", 24, &ns) < 0);
    ct_load("{\"eventTime\":1}");
    ASSERT(ev_ct_event_time(&g_fx.rec, &ns) < 0);
    ct_load("{}");
    const char *s;
    size_t l;
    ASSERT(ev_ct_event_name(&g_fx.rec, &s, &l) < 0);
}

static void check_unescape(const char *in, const char *expect)
{
    char out[64];
    size_t n = ev_ct_json_unescape(in, strlen(in), out);
    ASSERT_MEM_EQ(out, n, expect, strlen(expect));
}

/* The raw scanner directly: fastjson's best-effort unescaping, malformed
 * input, escaped keys, indent sizing. */
static void test_scanner(void)
{
    check_unescape("plain", "plain");
    check_unescape("a\\\\b\\/c\\\\\\\"", "a\\b/c\\\"");
    check_unescape("\\x", "\\x");                 /* unknown escape kept */
    check_unescape("\\u12", "\\u12");             /* too short: kept */
    check_unescape("\\uZZZZ!", "\\uZZZZ!");       /* not hex: kept */
    check_unescape("\\u00e9\\u20ac", "\xc3\xa9\xe2\x82\xac");
    check_unescape("\\ud83d\\ude00", "\xf0\x9f\x98\x80");
    check_unescape("\\ud800x", "\\ud800x");       /* lone high surrogate */
    check_unescape("\\ud800\\u0041", "\xef\xbf\xbd"); /* bad pair: U+FFFD */
    check_unescape("\\udc00\\ud800", "\xef\xbf\xbd");
    check_unescape("end\\", "end\\");
    const char *bad[] = {"", "{", "{\"a\":", "[1,", "\"abc", "}", "{\"a\":1", "[[]"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ASSERT(ev_ct_json_skip(bad[i], bad[i] + strlen(bad[i])) == NULL);
    const char *vp;
    size_t vl;
    static const char *const k[] = {"key"};
    const char *doc = "{\"k\\u0065y\":[1, 2]}";
    ASSERT_EQ(ev_ct_json_path(doc, strlen(doc), k, 1, &vp, &vl), 1);
    ASSERT_MEM_EQ(vp, vl, "[1, 2]", 6);
    const char *trunc = "{\"x\":1,\"key\":";
    ASSERT_EQ(ev_ct_json_path(trunc, strlen(trunc), k, 1, &vp, &vl), 0);
    ASSERT_EQ(ev_ct_json_pointer("  {}", 4, "/a", 2, &vp, &vl), -1);
    const char *j = "[{\"a\" : [ ] , \"b\":\"x\\\" {\"}]";
    size_t n = ev_ct_json_indent(j, strlen(j), NULL, 0);
    char buf[128];
    ASSERT_EQ(ev_ct_json_indent(j, strlen(j), buf, sizeof(buf)), n);
    ASSERT_MEM_EQ(buf, n, "[\n  {\n    \"a\": [],\n    \"b\": \"x\\\" {\"\n  }\n]",
                  strlen("[\n  {\n    \"a\": [],\n    \"b\": \"x\\\" {\"\n  }\n]"));
}

int main(void)
{
    tg_test_state st = {0, 0};
    ct_fx_init();
    TG_RUN(&st, test_catalogue);
    TG_RUN(&st, test_worked_example);
    TG_RUN(&st, test_rule_s_all);
    TG_RUN(&st, test_shortsrc);
    TG_RUN(&st, test_user);
    TG_RUN(&st, test_originaluser);
    TG_RUN(&st, test_accountid);
    TG_RUN(&st, test_boolstr);
    TG_RUN(&st, test_resources);
    TG_RUN(&st, test_raw_fidelity);
    TG_RUN(&st, test_documentname_quirk);
    TG_RUN(&st, test_info);
    TG_RUN(&st, test_plugininfo);
    TG_RUN(&st, test_s3);
    TG_RUN(&st, test_ec2_name);
    TG_RUN(&st, test_ec2_imageids);
    TG_RUN(&st, test_json_value);
    TG_RUN(&st, test_json_obj);
    TG_RUN(&st, test_evt_fields);
    TG_RUN(&st, test_parse_time);
    TG_RUN(&st, test_scanner);
    ct_fx_fini();
    TG_DONE(&st);
}
