/*
 * nt_asff.c - ASFF findings from alerts (mapping in nt_asff.h).
 *
 * Owner: notifier outputs.
 */
#include "nt_asff.h"

#include "aws_config.h"
#include "nt_http.h"
#include "nt_template.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_RESOURCES 32
#define S_MAX_PRODUCT_FIELDS 50

typedef struct s_ctx {
    const nt_asff_opts *o;
    const char *partition;
    const char *region;       /* event region, else o->region */
    const char *account;      /* event account, else o->account_id */
    json_t *resources;
    json_t *pf;               /* ProductFields */
    aws_buf trunc;            /* names of truncated fields */
} s_ctx;

const char *nt_asff_label(int p)
{
    if (p <= NT_PRIO_CRITICAL)
        return "CRITICAL";
    if (p == NT_PRIO_ERROR)
        return "HIGH";
    if (p == NT_PRIO_WARNING)
        return "MEDIUM";
    if (p == NT_PRIO_NOTICE)
        return "LOW";
    return "INFORMATIONAL";
}

/* Length of a prefix of s of at most max bytes that does not split a
 * UTF-8 sequence. */
static size_t s_utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    return k;
}

/* A JSON string of at most cap bytes (0 = no cap), noting truncation. */
static json_t *s_str(s_ctx *c, const char *field, const char *s, size_t n,
                     size_t cap)
{
    if (!s)
        return json_string("");
    char note[64] = "";
    size_t keep = n;
    if (cap && n > cap) {
        snprintf(note, sizeof(note), " [truncated %zu bytes]", n);
        size_t nl = strlen(note);
        keep = s_utf8_cut(s, n, cap > nl ? cap - nl : 0);
        snprintf(note, sizeof(note), " [truncated %zu bytes]", n - keep);
        if (c && field) {
            aws_buf_puts(&c->trunc, c->trunc.len ? "," : "");
            aws_buf_puts(&c->trunc, field);
        }
    }
    aws_buf b;
    aws_buf_init(&b);
    aws_buf_append(&b, s, keep);
    aws_buf_puts(&b, note);
    json_t *j = json_stringn(b.data ? b.data : "", b.len);
    if (!j) { /* invalid UTF-8 or NUL: replace offending bytes */
        for (size_t i = 0; i < b.len; i++)
            if ((unsigned char)b.data[i] >= 0x80 || b.data[i] == 0)
                b.data[i] = '?';
        j = json_stringn(b.data, b.len);
    }
    aws_buf_fini(&b);
    return j;
}

static void s_pf(s_ctx *c, const char *key, const char *v, size_t n)
{
    if (!v || json_object_size(c->pf) >= S_MAX_PRODUCT_FIELDS - 1)
        return;
    json_object_set_new(c->pf, key, s_str(c, key, v, n, 2048));
}

static void s_pf_c(s_ctx *c, const char *key, const char *v)
{
    if (v)
        s_pf(c, key, v, strlen(v));
}

static void s_resource(s_ctx *c, const char *type, const char *id)
{
    if (!id || !*id || json_array_size(c->resources) >= S_MAX_RESOURCES)
        return;
    size_t i;
    json_t *r;
    json_array_foreach(c->resources, i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "Id")), id))
            return;
    }
    r = json_object();
    json_object_set_new(r, "Type", json_string(type));
    json_object_set_new(r, "Id", s_str(c, "Resources.Id", id, strlen(id), 512));
    json_object_set_new(r, "Partition", json_string(c->partition));
    json_object_set_new(r, "Region", json_string(c->region));
    json_array_append_new(c->resources, r);
}

/* Resource with id "arn:<partition>:<svc>:<region?>:<account?>:<rest><v>". */
static void s_resource_arn(s_ctx *c, const char *type, const char *svc,
                           int regional, int with_account, const char *rest,
                           const char *v)
{
    if (!v || !*v || strlen(v) > 400)
        return;
    char id[600];
    snprintf(id, sizeof(id), "arn:%s:%s:%s:%s:%s%s", c->partition, svc,
             regional ? c->region : "", with_account ? c->account : "", rest,
             v);
    s_resource(c, type, id);
}

static const char *s_get(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* Instance ids from requestParameters/responseElements instancesSet. */
static void s_instances(s_ctx *c, json_t *parent)
{
    json_t *items = json_object_get(json_object_get(parent, "instancesSet"),
                                    "items");
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it) {
        s_resource_arn(c, "AwsEc2Instance", "ec2", 1, 1, "instance/",
                       s_get(it, "instanceId"));
    }
}

static void s_resources(s_ctx *c, json_t *rec)
{
    char id[128];
    snprintf(id, sizeof(id), "AWS::::Account:%s", c->account);
    s_resource(c, "AwsAccount", id);
    json_t *ui = json_object_get(rec, "userIdentity");
    const char *utype = s_get(ui, "type");
    if (utype && !strcmp(utype, "IAMUser"))
        s_resource(c, "AwsIamUser", s_get(ui, "arn"));
    else if (utype && !strcmp(utype, "AssumedRole"))
        s_resource(c, "AwsIamRole",
                   s_get(json_object_get(json_object_get(ui, "sessionContext"),
                                         "sessionIssuer"), "arn"));
    json_t *rp = json_object_get(rec, "requestParameters");
    const char *src = s_get(rec, "eventSource");
    s_resource_arn(c, "AwsS3Bucket", "s3", 0, 0, "", s_get(rp, "bucketName"));
    s_resource_arn(c, "AwsEc2Instance", "ec2", 1, 1, "instance/",
                   s_get(rp, "instanceId"));
    s_instances(c, rp);
    s_instances(c, json_object_get(rec, "responseElements"));
    s_resource_arn(c, "AwsIamRole", "iam", 0, 1, "role/", s_get(rp, "roleName"));
    s_resource_arn(c, "AwsIamUser", "iam", 0, 1, "user/", s_get(rp, "userName"));
    s_resource_arn(c, "AwsIamGroup", "iam", 0, 1, "group/",
                   s_get(rp, "groupName"));
    s_resource(c, "AwsIamPolicy", s_get(rp, "policyArn"));
    const char *sg = s_get(rp, "groupId");
    if (sg && !strncmp(sg, "sg-", 3))
        s_resource_arn(c, "AwsEc2SecurityGroup", "ec2", 1, 1,
                       "security-group/", sg);
    if (src && !strcmp(src, "cloudtrail.amazonaws.com")) {
        const char *n = s_get(rp, "name");
        if (n && !strncmp(n, "arn:", 4))
            s_resource(c, "AwsCloudTrailTrail", n);
        else
            s_resource_arn(c, "AwsCloudTrailTrail", "cloudtrail", 1, 1,
                           "trail/", n);
    }
    const char *key = s_get(rp, "keyId");
    if (key && !strncmp(key, "arn:", 4))
        s_resource(c, "AwsKmsKey", key);
    else
        s_resource_arn(c, "AwsKmsKey", "kms", 1, 1, "key/", key);
    s_resource_arn(c, "AwsLambdaFunction", "lambda", 1, 1, "function:",
                   s_get(rp, "functionName"));
}

static const struct {
    const char *tag;
    const char *type;
} s_tactics[] = {
    {"mitre_initial_access", "TTPs/Initial Access"},
    {"mitre_execution", "TTPs/Execution"},
    {"mitre_persistence", "TTPs/Persistence"},
    {"mitre_privilege_escalation", "TTPs/Privilege Escalation"},
    {"mitre_defense_evasion", "TTPs/Defense Evasion"},
    {"mitre_credential_access", "TTPs/Credential Access"},
    {"mitre_discovery", "TTPs/Discovery"},
    {"mitre_lateral_movement", "TTPs/Lateral Movement"},
    {"mitre_collection", "TTPs/Collection"},
    {"mitre_command_and_control", "TTPs/Command and Control"},
    {"mitre_resource_development", "TTPs/Resource Development"},
    {"mitre_reconnaissance", "TTPs/Reconnaissance"},
    {"mitre_exfiltration", "Effects/Data Exfiltration"},
    {"mitre_impact", "Effects/Data Destruction"},
};

#define S_STD "Software and Configuration Checks/Industry and Regulatory Standards/"
static const struct {
    const char *prefix;
    const char *type;
} s_frameworks[] = {
    {"CIS_AWS_", S_STD "CIS AWS Foundations Benchmark"},
    {"NIST_800-53_", S_STD "NIST 800-53 Controls"},
    {"PCI_DSS_", S_STD "PCI-DSS Controls"},
    {"SOC2_", S_STD "SOC 2"},
    {"AWS_FSBP_", S_STD "AWS Foundational Security Best Practices"},
    {"HIPAA_", S_STD "HIPAA Controls"},
    {"ISO_27001_", S_STD "ISO 27001 Controls"},
    {"GDPR_", S_STD "GDPR Controls"},
};

static void s_add_type(json_t *types, const char *t)
{
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v) {
        if (!strcmp(json_string_value(v), t))
            return;
    }
    if (json_array_size(types) < 50)
        json_array_append_new(types, json_string(t));
}

static json_t *s_types(const nt_alert *a)
{
    json_t *types = json_array();
    for (size_t i = 0; i < a->ntags; i++) {
        const char *t = a->tags[i].p;
        for (size_t k = 0; k < sizeof(s_tactics) / sizeof(s_tactics[0]); k++)
            if (!strcmp(t, s_tactics[k].tag))
                s_add_type(types, s_tactics[k].type);
        for (size_t k = 0; k < sizeof(s_frameworks) / sizeof(s_frameworks[0]); k++)
            if (!strncmp(t, s_frameworks[k].prefix, strlen(s_frameworks[k].prefix)))
                s_add_type(types, s_frameworks[k].type);
    }
    if (json_array_size(types) == 0)
        s_add_type(types, "Unusual Behaviors/User");
    return types;
}

static void s_action(json_t *f, json_t *rec, const char *iso)
{
    const char *api = s_get(rec, "eventName"), *svc = s_get(rec, "eventSource");
    if (!api || !svc)
        return;
    json_t *call = json_object();
    json_object_set_new(call, "Api", json_string(api));
    json_object_set_new(call, "ServiceName", json_string(svc));
    json_object_set_new(call, "CallerType", json_string("remoteip"));
    json_object_set_new(call, "FirstSeen", json_string(iso));
    json_object_set_new(call, "LastSeen", json_string(iso));
    const char *ip = s_get(rec, "sourceIPAddress");
    struct in_addr in4;
    if (ip && inet_pton(AF_INET, ip, &in4) == 1) {
        json_t *rip = json_object();
        json_object_set_new(rip, "IpAddressV4", json_string(ip));
        json_object_set_new(call, "RemoteIpDetails", rip);
    }
    json_t *act = json_object();
    json_object_set_new(act, "ActionType", json_string("AWS_API_CALL"));
    json_object_set_new(act, "AwsApiCallAction", call);
    json_object_set_new(f, "Action", act);
}

static void s_fields(s_ctx *c, const nt_alert *a)
{
    aws_buf fb;
    aws_buf_init(&fb);
    nt_alert_fields(a, &fb);
    json_t *fields = json_loadb(fb.data ? fb.data : "{}", fb.len, 0, NULL);
    aws_buf_fini(&fb);
    const char *k;
    json_t *v;
    json_object_foreach(fields, k, v) {
        char key[128];
        snprintf(key, sizeof(key), "falco/field/%s", k);
        if (json_is_string(v)) {
            s_pf(c, key, json_string_value(v), json_string_length(v));
        } else if (!json_is_null(v)) {
            char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            s_pf_c(c, key, s);
            free(s);
        }
    }
    json_decref(fields);
}

static json_t *s_finding(s_ctx *c, const nt_alert *a, json_t *rec)
{
    const nt_asff_opts *o = c->o;
    json_t *f = json_object();
    char arn[512], created[40], updated[40];
    if (o->product_arn)
        snprintf(arn, sizeof(arn), "%s", o->product_arn);
    else
        snprintf(arn, sizeof(arn), "arn:%s:securityhub:%s:%s:product/%s/default",
                 aws_partition(o->region), o->region, o->account_id,
                 o->account_id);
    nt_time_iso(a->time_ns, 0, created, sizeof(created));
    nt_time_iso(o->now_ns, 0, updated, sizeof(updated));
    json_object_set_new(f, "SchemaVersion", json_string("2018-10-08"));
    json_object_set_new(f, "Id", s_str(c, "Id", a->id.p, a->id.n, 512));
    json_object_set_new(f, "ProductArn", json_string(arn));
    json_object_set_new(f, "GeneratorId", s_str(c, "GeneratorId", a->rule.p, a->rule.n, 512));
    json_object_set_new(f, "AwsAccountId", json_string(o->account_id));
    json_t *types = s_types(a);
    json_object_set_new(f, "Types", types);
    json_object_set_new(f, "CreatedAt", json_string(created));
    json_object_set_new(f, "UpdatedAt", json_string(updated));
    json_t *sev = json_object();
    json_object_set_new(sev, "Label", json_string(nt_asff_label(a->priority)));
    json_object_set_new(sev, "Original", json_string(nt_prio_name(a->priority)));
    json_object_set_new(f, "Severity", sev);
    json_t *fpf = json_object();
    json_object_set(fpf, "Severity", sev);
    json_object_set(fpf, "Types", types);
    json_object_set_new(f, "FindingProviderFields", fpf);
    json_object_set_new(f, "Title", s_str(c, "Title", a->rule.p, a->rule.n, 256));
    const nt_str *d = a->output.p ? &a->output : &a->rule;
    json_object_set_new(f, "Description", s_str(c, "Description", d->p, d->n, 1024));
    json_object_set_new(f, "RecordState", json_string("ACTIVE"));
    s_resources(c, rec);
    json_object_set_new(f, "Resources", c->resources);
    s_action(f, rec, created);
    s_pf(c, "falco/rule", a->rule.p, a->rule.n);
    s_pf_c(c, "falco/priority", nt_prio_name(a->priority));
    s_pf(c, "falco/source", a->source.p, a->source.n);
    aws_buf tags;
    aws_buf_init(&tags);
    for (size_t i = 0; i < a->ntags; i++) {
        aws_buf_puts(&tags, i ? "," : "");
        aws_buf_append(&tags, a->tags[i].p, a->tags[i].n);
    }
    if (tags.len)
        s_pf(c, "falco/tags", tags.data, tags.len);
    aws_buf_fini(&tags);
    s_pf_c(c, "aws/account", c->account);
    s_pf_c(c, "aws/cloudtrail/eventID", s_get(rec, "eventID"));
    s_pf_c(c, "aws/cloudtrail/eventName", s_get(rec, "eventName"));
    s_pf_c(c, "aws/cloudtrail/eventSource", s_get(rec, "eventSource"));
    s_pf_c(c, "aws/cloudtrail/sourceIPAddress", s_get(rec, "sourceIPAddress"));
    s_pf_c(c, "aws/cloudtrail/awsRegion", s_get(rec, "awsRegion"));
    s_pf_c(c, "aws/cloudtrail/userArn",
           s_get(json_object_get(rec, "userIdentity"), "arn"));
    s_fields(c, a);
    json_object_set_new(f, "ProductFields", c->pf);
    return f;
}

int nt_asff_build(const nt_asff_opts *o, const nt_alert *a, aws_buf *out)
{
    s_ctx c = {.o = o};
    aws_buf_init(&c.trunc);
    json_t *rec = a->record.p ? json_loadb(a->record.p, a->record.n, 0, NULL)
                              : NULL;
    c.region = s_get(rec, "awsRegion");
    if (!c.region)
        c.region = o->region;
    c.partition = aws_partition(c.region);
    c.account = s_get(rec, "recipientAccountId");
    if (!c.account)
        c.account = s_get(json_object_get(rec, "userIdentity"), "accountId");
    if (!c.account)
        c.account = o->account_id;
    c.resources = json_array();
    c.pf = json_object();
    json_t *f = s_finding(&c, a, rec);
    size_t max = o->max_bytes ? o->max_bytes : NT_ASFF_MAX_FINDING;
    char *s = json_dumps(f, JSON_COMPACT);
    if (s && strlen(s) > max) {
        /* drop the output fields: the rest is bounded well below max */
        free(s);
        const char *k;
        void *tmp;
        json_t *v;
        json_object_foreach_safe(c.pf, tmp, k, v) {
            if (!strncmp(k, "falco/field/", 12))
                json_object_del(c.pf, k);
        }
        aws_buf_puts(&c.trunc, c.trunc.len ? "," : "");
        aws_buf_puts(&c.trunc, "falco/field/*");
        s = NULL;
    }
    int truncated = c.trunc.len > 0;
    if (truncated) {
        char note[600];
        snprintf(note, sizeof(note), "finding over the ASFF limits; cut: %.500s",
                 c.trunc.data);
        json_object_set_new(c.pf, "trailguard/truncated", json_string(note));
        free(s);
        s = json_dumps(f, JSON_COMPACT);
    }
    json_decref(f);
    json_decref(rec);
    aws_buf_fini(&c.trunc);
    if (!s)
        return -ENOMEM;
    aws_buf_puts(out, s);
    free(s);
    return truncated;
}
