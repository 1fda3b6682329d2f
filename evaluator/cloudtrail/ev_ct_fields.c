/*
 * ev_ct_fields.c - the 73 fields of Falco's cloudtrail plugin (0.17.1).
 * Owner: cloudtrail fields.
 *
 * DESIGN
 * Most fields are "Rule S" lookups (spec/cloudtrail-fields.md section 0.3)
 * described by a key path in ev_ct_paths[]; the others have their own small
 * function below, named after the field.  Simple values come from the msgpack
 * map's bytes (ev_mp); JSON-text values (section 0.4) from the raw bytes
 * via ev_ct_json.
 * Synthesised strings (ct.info, s3.uri) are built in the event arena.
 */
#include "ev_ct_int.h"
#include "ev_ct_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Key paths of the Rule S fields (see ev_ct_int.h). */
#define K(lit) {lit, sizeof(lit) - 1}
const ev_ct_path ev_ct_paths[CT__PLUGIN_COUNT] = {
    [CT_ID] = {1, {K("eventID")}},
    [CT_ERROR] = {1, {K("errorCode")}},
    [CT_ERRORMESSAGE] = {1, {K("errorMessage")}},
    [CT_TIME] = {1, {K("eventTime")}},
    [CT_SRC] = {1, {K("eventSource")}},
    [CT_NAME] = {1, {K("eventName")}},
    [CT_USER_IDENTITYTYPE] = {2, {K("userIdentity"), K("type")}},
    [CT_USER_PRINCIPALID] = {2, {K("userIdentity"), K("principalId")}},
    [CT_USER_ARN] = {2, {K("userIdentity"), K("arn")}},
    [CT_REGION] = {1, {K("awsRegion")}},
    [CT_SRCIP] = {1, {K("sourceIPAddress")}},
    [CT_USERAGENT] = {1, {K("userAgent")}},
    [CT_REQUESTID] = {1, {K("requestID")}},
    [CT_EVENTTYPE] = {1, {K("eventType")}},
    [CT_APIVERSION] = {1, {K("apiVersion")}},
    [CT_RECIPIENTACCOUNTID] = {1, {K("recipientAccountId")}},
    [CT_SERVICEEVENTDETAILS] = {1, {K("serviceEventDetails")}},
    [CT_SHAREDEVENTID] = {1, {K("sharedEventID")}},
    [CT_VPCENDPOINTID] = {1, {K("vpcEndpointId")}},
    [CT_EVENTCATEGORY] = {1, {K("eventCategory")}},
    [CT_ADDENDUM_REASON] = {2, {K("addendum"), K("reason")}},
    [CT_ADDENDUM_UPDATEDFIELDS] = {2, {K("addendum"), K("updatedFields")}},
    [CT_ADDENDUM_ORIGINALREQUESTID] = {2, {K("addendum"), K("originalRequestID")}},
    [CT_ADDENDUM_ORIGINALEVENTID] = {2, {K("addendum"), K("originalEventID")}},
    [CT_EDGEDEVICEDETAILS] = {1, {K("edgeDeviceDetails")}},
    [CT_TLS_VERSION] = {2, {K("tlsDetails"), K("tlsVersion")}},
    [CT_TLS_CIPHERSUITE] = {2, {K("tlsDetails"), K("cipherSuite")}},
    [CT_TLS_HOSTHEADER] = {2, {K("tlsDetails"), K("clientProvidedHostHeader")}},
    [CT_RESPONSE_SUBNETID] = {2, {K("responseElements"), K("subnetId")}},
    [CT_RESPONSE_RESERVATIONID] = {2, {K("responseElements"), K("reservationId")}},
    [CT_REQ_AVAILABILITYZONE] = {2, {K("requestParameters"), K("availabilityZone")}},
    [CT_REQ_CLUSTER] = {2, {K("requestParameters"), K("cluster")}},
    [CT_REQ_FUNCTIONNAME] = {2, {K("requestParameters"), K("functionName")}},
    [CT_REQ_GROUPNAME] = {2, {K("requestParameters"), K("groupName")}},
    [CT_REQ_HOST] = {2, {K("requestParameters"), K("Host")}},
    [CT_REQ_NAME] = {2, {K("requestParameters"), K("name")}},
    [CT_REQ_POLICY] = {2, {K("requestParameters"), K("policy")}},
    [CT_REQ_REASON] = {2, {K("requestParameters"), K("reason")}},
    [CT_REQ_TARGET] = {2, {K("requestParameters"), K("target")}},
    [CT_REQ_SERIALNUMBER] = {2, {K("requestParameters"), K("serialNumber")}},
    [CT_REQ_SERVICENAME] = {2, {K("requestParameters"), K("serviceName")}},
    [CT_REQ_SUBNETID] = {2, {K("requestParameters"), K("subnetId")}},
    [CT_REQ_TASKDEFINITION] = {2, {K("requestParameters"), K("taskDefinition")}},
    [CT_REQ_USERNAME] = {2, {K("requestParameters"), K("userName")}},
    [S3_BUCKET] = {2, {K("requestParameters"), K("bucketName")}},
    [S3_KEY] = {2, {K("requestParameters"), K("key")}},
    [ECR_REPOSITORY] = {2, {K("requestParameters"), K("repositoryName")}},
    [ECR_IMAGETAG] = {2, {K("requestParameters"), K("imageTag")}},
    [IAM_ROLE] = {2, {K("requestParameters"), K("roleName")}},
    [IAM_POLICY] = {2, {K("requestParameters"), K("policyName")}},
};
#undef K

/* Map helpers ------------------------------------------------------------- */

static ev_mp s_get2(const ev_ct_map *m, const char *a, const char *b)
{
    return ev_mp_map_get(ev_ct_top(m, a), b);
}

/* Rule S: 1 and the string (or "" for a non-string) when v exists, else 0. */
static int s_rule_s(ev_mp v, ev_val *out)
{
    return ev_ct_rule_s(v, out);
}

static bool s_val_eq(const ev_val *v, const char *lit)
{
    size_t n = strlen(lit);
    return v->len == n && memcmp(v->s, lit, n) == 0;
}

/* v is a string equal to lit. */
static bool s_str_eq(ev_mp v, const char *lit)
{
    ev_val s;
    return ev_mp_str(v, &s.s, &s.len) && s_val_eq(&s, lit);
}

static int s_literal(ev_val *out, const char *lit)
{
    out->s = lit;
    out->len = strlen(lit);
    return 1;
}

/* Rule S over ev_ct_paths[id] (n >= 1).  Returns 0 or 1. */
static int s_path_field(const ev_ct_map *m, int id, ev_val *out)
{
    return ev_ct_path_get(m, &ev_ct_paths[id], out);
}

/* "true" only for JSON true; any other present value "false". */
static int s_boolstr(ev_mp v, ev_val *out)
{
    bool t = false;
    if (!ev_mp_present(v))
        return 0;
    if (!ev_mp_bool(v, &t))
        t = false;
    return s_literal(out, t ? "true" : "false");
}

/* Individual algorithms -------------------------------------------------- */

static int s_shortsrc(const ev_ct_map *m, ev_val *out)
{
    if (!s_rule_s(ev_ct_top(m, "eventSource"), out))
        return 0;
    static const char sfx[] = ".amazonaws.com";
    size_t n = sizeof(sfx) - 1;
    if (out->len > n && memcmp(out->s + out->len - n, sfx, n) == 0)
        out->len -= n;
    return 1;
}

/* ct.user; when absent, *fail gets the text evt.plugininfo glues on. */
static int s_user(const ev_ct_map *m, ev_val *out, const char **fail)
{
    ev_mp ui = ev_ct_top(m, "userIdentity");
    ev_val t;
    *fail = "";
    if (!s_rule_s(ev_mp_map_get(ui, "type"), &t))
        return 0;
    if (s_val_eq(&t, "Root") || s_val_eq(&t, "IAMUser")) {
        *fail = "<NA>";
        return s_rule_s(ev_mp_map_get(ui, "userName"), out);
    }
    if (s_val_eq(&t, "AWSService")) {
        *fail = "<NA>";
        return s_rule_s(ev_mp_map_get(ui, "invokedBy"), out);
    }
    if (s_val_eq(&t, "AssumedRole")) {
        static const char *const p[] = {"sessionContext", "sessionIssuer", "userName"};
        if (s_rule_s(ev_mp_path(ui, p, 3), out))
            return 1;
        return s_literal(out, "AssumedRole");
    }
    if (s_val_eq(&t, "AWSAccount"))
        return s_literal(out, "AWSAccount");
    if (s_val_eq(&t, "FederatedUser"))
        return s_literal(out, "FederatedUser");
    *fail = "<unknown user type>";
    return 0;
}

/* The part after the (n-1)th sep when v splits into exactly n parts. */
static int s_split_last(const ev_val *v, char sep, int n, ev_val *out)
{
    int parts = 1;
    const char *last = v->s;
    for (size_t i = 0; i < v->len; i++) {
        if (v->s[i] == sep) {
            parts++;
            last = v->s + i + 1;
        }
    }
    if (parts != n)
        return 0;
    out->s = last;
    out->len = v->len - (size_t)(last - v->s);
    return 1;
}

static int s_originaluser(const ev_ct_map *m, ev_val *out)
{
    ev_mp ui = ev_ct_top(m, "userIdentity");
    if (!s_str_eq(ev_mp_map_get(ui, "type"), "AssumedRole"))
        return s_rule_s(ev_mp_map_get(ui, "userName"), out);
    ev_val v;
    if (s_rule_s(ev_mp_map_get(ui, "arn"), &v) && s_split_last(&v, '/', 3, out))
        return 1;
    if (s_rule_s(ev_mp_map_get(ui, "principalId"), &v) && s_split_last(&v, ':', 2, out))
        return 1;
    return 0;
}

static int s_accountid(const ev_ct_map *m, ev_val *out)
{
    ev_mp v = s_get2(m, "userIdentity", "accountId");
    if (!ev_mp_present(v))
        v = ev_ct_top(m, "recipientAccountId");
    return s_rule_s(v, out);
}

/* Section 2.6: uint64, else float truncated, else 0. */
static uint64_t s_bytes_value(ev_mp v)
{
    uint64_t u;
    double d;
    if (ev_mp_uint(v, &u))
        return u;
    if (ev_mp_float(v, &d) && d >= 0 && d < 18446744073709551616.0)
        return (uint64_t)d;
    return 0;
}

static int s_s3bytes(const ev_ct_map *m, int id, uint64_t *u)
{
    ev_mp aed = ev_ct_top(m, "additionalEventData");
    ev_mp in = ev_mp_map_get(aed, "bytesTransferredIn");
    ev_mp o = ev_mp_map_get(aed, "bytesTransferredOut");
    bool has_in = ev_mp_present(in), has_out = ev_mp_present(o);
    if (id == S3_BYTES_IN && !has_in)
        return 0;
    if (id == S3_BYTES_OUT && !has_out)
        return 0;
    if (!has_in && !has_out)
        return 0;
    *u = 0;
    if (has_in && id != S3_BYTES_OUT)
        *u += s_bytes_value(in);
    if (has_out && id != S3_BYTES_IN)
        *u += s_bytes_value(o);
    return 1;
}

static int s_s3uri(ev_event *evt, const ev_ct_map *m, ev_val *out)
{
    ev_mp rp = ev_ct_top(m, "requestParameters");
    ev_val b, k;
    if (!ev_mp_str(ev_mp_map_get(rp, "bucketName"), &b.s, &b.len) ||
        !ev_mp_str(ev_mp_map_get(rp, "key"), &k.s, &k.len))
        return 0;
    size_t n = 5 + b.len + 1 + k.len;
    char *s = ev_arena_alloc(&evt->arena, n + 1);
    memcpy(s, "s3://", 5);
    memcpy(s + 5, b.s, b.len);
    s[5 + b.len] = '/';
    memcpy(s + 6 + b.len, k.s, k.len);
    s[n] = '\0';
    out->s = s;
    out->len = n;
    return 1;
}

static int s_s3cnt(const ev_ct_map *m, int id, uint64_t *u)
{
    ev_val name = {0};
    bool has = s_rule_s(ev_ct_top(m, "eventName"), &name);
    bool get = has && s_val_eq(&name, "GetObject");
    bool put = has && s_val_eq(&name, "PutObject");
    *u = 1;
    if (id == S3_CNT_GET)
        return get;
    if (id == S3_CNT_PUT)
        return put;
    return !get && !put;
}

/* The value of the first tag {"key": "Name", "value": ...} of an instance
 * item's tags; false when it has none. */
static bool s_name_tag(ev_mp item, ev_val *out)
{
    ev_val rt;
    ev_mp_iter it;
    ev_mp tag;
    if (!s_rule_s(ev_mp_map_get(item, "resourceType"), &rt) || !s_val_eq(&rt, "instance"))
        return false;
    if (!ev_mp_iter_init(&it, ev_mp_map_get(item, "tags")))
        return false;
    while (ev_mp_iter_next(&it, &tag)) {
        ev_val k;
        if (s_rule_s(ev_mp_map_get(tag, "key"), &k) && s_val_eq(&k, "Name")) {
            ev_val v = {"", 0, 0, 0};
            s_rule_s(ev_mp_map_get(tag, "value"), &v);
            *out = v;
            return true;
        }
    }
    return false;
}

static int s_ec2name(const ev_ct_map *m, ev_val *out)
{
    static const char *const p[] = {"requestParameters", "tagSpecificationSet", "items"};
    ev_mp_iter it;
    ev_mp item;
    if (!ev_mp_iter_init(&it, ev_ct_top_path(m, p, 3)))
        return 0;
    bool found = false;
    while (ev_mp_iter_next(&it, &item))
        if (s_name_tag(item, out))
            found = true;
    return found && out->len > 0;
}

/* ec2.imageids over responseElements.instancesSet.items (an array). */
static int s_imageids_items(ev_event *evt, ev_mp items, bool has_idx, uint64_t idx,
                            ev_vals *out)
{
    if (has_idx) {
        ev_mp el = ev_mp_array_at(items, idx);
        if (!ev_mp_present(el))
            return 0;
        out->n = (size_t)s_rule_s(ev_mp_map_get(el, "imageId"), &out->vals[0]);
        return (int)out->n;
    }
    uint32_t count = ev_mp_count(items);
    ev_mp_iter it;
    ev_mp el;
    size_t n = 0;
    ev_mp_iter_init(&it, items);
    while (ev_mp_iter_next(&it, &el)) {
        ev_val id;
        if (!ev_mp_str(ev_mp_map_get(el, "imageId"), &id.s, &id.len) || id.len == 0)
            continue;
        if (n == EV_VALS_INLINE && out->vals == out->inline_vals) {
            ev_val *big = ev_arena_alloc(&evt->arena, sizeof(ev_val) * count);
            memcpy(big, out->inline_vals, sizeof(out->inline_vals));
            out->vals = big;
        }
        ev_val *v = &out->vals[n++];
        memset(v, 0, sizeof(*v));
        v->s = id.s;
        v->len = id.len;
    }
    out->n = n;
    return (int)n;
}

/* ec2.imageids (section 2.8).  has_idx selects one element. */
static int s_imageids(ev_event *evt, const ev_ct_map *m, bool has_idx,
                      uint64_t idx, ev_vals *out)
{
    static const char *const p[] = {"responseElements", "instancesSet", "items"};
    ev_mp items = ev_ct_top_path(m, p, 3);
    out->n = 0;
    if (ev_mp_present(items)) {
        if (ev_mp_type_of(items) != EV_MP_ARRAY)
            return 0;
        return s_imageids_items(evt, items, has_idx, idx, out);
    }
    if (has_idx && idx != 0)
        return 0;
    static const char *const f1[] = {"requestParameters", "imageId"};
    static const char *const f2[] = {"requestParameters", "DescribeFastLaunchImagesRequest",
                                     "ImageId", "content"};
    static const char *const f3[] = {"requestParameters", "launchSpecification", "imageId"};
    ev_mp v = ev_ct_top_path(m, f1, 2);
    if (!ev_mp_present(v))
        v = ev_ct_top_path(m, f2, 4);
    if (!ev_mp_present(v))
        v = ev_ct_top_path(m, f3, 3);
    out->n = (size_t)s_rule_s(v, &out->vals[0]);
    return (int)out->n;
}

/* Raw JSON text fields ---------------------------------------------------- */

static int s_rawfield(ev_event *evt, const ev_ct_record *r, const char *key,
                      ev_val *out)
{
    const char *vp;
    size_t vlen;
    if (!r->raw)
        return -1;
    if (ev_ct_json_path(r->raw, r->raw_len, &key, 1, &vp, &vlen) != 1)
        return 0;
    char *s = ev_arena_alloc(&evt->arena, vlen + 1);
    out->len = ev_ct_json_compact(vp, vlen, s);
    s[out->len] = '\0';
    out->s = s;
    return 1;
}

static int s_resources(ev_event *evt, const ev_ct_record *r, ev_val *out)
{
    static const char *const key[] = {"resources"};
    const char *vp;
    size_t vlen;
    if (!r->raw)
        return -1;
    if (ev_ct_json_path(r->raw, r->raw_len, key, 1, &vp, &vlen) != 1 || vp[0] != '[')
        return 0;
    const char *end = vp + vlen;
    char *s = ev_arena_alloc(&evt->arena, vlen + 1);
    size_t n = 0;
    for (size_t i = 0;; i++) {
        const char *el = ev_ct_json_arr_get(vp, end, i);
        if (!el)
            break;
        const char *ee = ev_ct_json_skip(el, end);
        if (!ee)
            break;
        if (i > 0)
            s[n++] = ',';
        n += ev_ct_json_compact(el, (size_t)(ee - el), s + n);
    }
    if (n == 0)
        return 0;
    s[n] = '\0';
    out->s = s;
    out->len = n;
    return 1;
}

/* ct.info (section 2.3) ---------------------------------------------------- */

static int s_info(ev_event *evt, const ev_ct_map *m, ev_val *out)
{
    ev_val user, srcip, name, rd, tmp;
    const char *fail;
    if (!s_user(m, &user, &fail))
        return s_literal(out, "<invalid cloudtrail event: userIdentity field missing>");
    if (!s_path_field(m, CT_SRCIP, &srcip))
        return s_literal(out, "<invalid cloudtrail event: eventSource field missing>");
    const char *err = ev_mp_present(ev_ct_top(m, "errorCode")) ? "!" : "";
    bool ro_false = s_boolstr(ev_ct_top(m, "readOnly"), &rd) && s_val_eq(&rd, "false");
    const char *dir = ro_false ? "\xe2\x86\x92" : "\xe2\x86\x90";
    if (!s_path_field(m, CT_NAME, &name))
        return s_literal(out, "<invalid cloudtrail event: eventName field missing>");

    /* Extras: PutBucketPublicAccessBlock flags or the S3/host suffix. */
    char extra[192] = "";
    ev_val xv = {"", 0, 0, 0};
    const char *xlab = NULL;
    ev_mp pab = s_get2(m, "requestParameters", "PublicAccessBlockConfiguration");
    if (s_val_eq(&name, "PutBucketPublicAccessBlock") &&
        ev_mp_type_of(pab) == EV_MP_MAP) {
        const char *f[4] = {"BlockPublicAcls", "BlockPublicPolicy",
                            "IgnorePublicAcls", "RestrictPublicBuckets"};
        size_t k = 0;
        for (int i = 0; i < 4; i++) {
            bool t = false; /* read at the root: upstream bug */
            if (!ev_mp_bool(ev_ct_top(m, f[i]), &t))
                t = false;
            k += (size_t)snprintf(extra + k, sizeof(extra) - k, " %s=%s", f[i],
                                  t ? "true" : "false");
        }
        snprintf(extra + k, sizeof(extra) - k, " ");
    } else {
        uint64_t bytes;
        if (s_s3bytes(m, S3_BYTES, &bytes))
            snprintf(extra, sizeof(extra), " Size=%" PRIu64, bytes);
        if (s_s3uri(evt, m, &tmp)) {
            xlab = " URI=";
            xv = tmp;
        } else if (s_path_field(m, S3_BUCKET, &tmp)) {
            xlab = " Bucket=";
            xv = tmp;
        } else if (s_path_field(m, S3_KEY, &tmp)) {
            xlab = " Key=";
            xv = tmp;
        } else if (s_path_field(m, CT_REQ_HOST, &tmp)) {
            xlab = " Host=";
            xv = tmp;
        }
    }
    bool same = user.len == srcip.len && memcmp(user.s, srcip.s, user.len) == 0;
    size_t cap = user.len + srcip.len + name.len + strlen(extra) + xv.len + 32;
    char *s = ev_arena_alloc(&evt->arena, cap);
    int n;
    if (same)
        n = snprintf(s, cap, "%.*s %s%s %.*s%s%s%.*s", (int)user.len, user.s, err, dir,
                     (int)name.len, name.s, extra, xlab ? xlab : "", (int)xv.len, xv.s);
    else
        n = snprintf(s, cap, "%.*s via %.*s %s%s %.*s%s%s%.*s", (int)user.len, user.s,
                     (int)srcip.len, srcip.s, err, dir, (int)name.len, name.s, extra,
                     xlab ? xlab : "", (int)xv.len, xv.s);
    out->s = s;
    out->len = n < 0 ? 0 : (size_t)n;
    return 1;
}

int ev_ct_plugininfo(ev_event *evt, const ev_ct_record *r, ev_val *out)
{
    ev_ct_map map = ev_ct_map_of(r);
    const ev_ct_map *m = &map;
    ev_val reg, name, src;
    if (!ev_mp_str(ev_ct_top(m, "eventSource"), &src.s, &src.len) ||
        !ev_mp_str(ev_ct_top(m, "awsRegion"), &reg.s, &reg.len) ||
        !ev_mp_str(ev_ct_top(m, "eventName"), &name.s, &name.len))
        return -1;
    ev_val user, info;
    ev_val shortsrc = {"", 0, 0, 0}; /* always set: eventSource is a string */
    const char *fail;
    const char *u;
    size_t ulen;
    if (s_user(m, &user, &fail)) {
        u = user.s;
        ulen = user.len;
        fail = NULL;
    } else {
        u = fail;
        ulen = strlen(fail);
    }
    s_shortsrc(m, &shortsrc);
    s_info(evt, m, &info);
    size_t cap = reg.len + ulen + shortsrc.len + name.len + info.len + 8;
    char *s = ev_arena_alloc(&evt->arena, cap);
    int n = snprintf(s, cap, "%.*s%s%.*s %.*s %.*s %.*s", (int)reg.len, reg.s,
                     (!fail && ulen > 0) ? " " : "", (int)ulen, u, (int)shortsrc.len,
                     shortsrc.s, (int)name.len, name.s, (int)info.len, info.s);
    out->s = s;
    out->len = n < 0 ? 0 : (size_t)n;
    return 1;
}

/* Dispatcher --------------------------------------------------------------- */

static int s_u64(ev_vals *out, int present, uint64_t u)
{
    if (present <= 0)
        return present;
    out->vals[0].u = u;
    out->n = 1;
    return 1;
}

/* The fields that are not a simple key path (those are read inline by the
 * callers through ev_ct_path_get()). */
static int s_extract_other(ev_event *evt, const ev_ct_record *r, int id,
                           const ev_field_arg *arg, ev_vals *out)
{
    ev_ct_map map = ev_ct_map_of(r);
    const ev_ct_map *m = &map;
    ev_val *v = &out->vals[0];
    const char *fail;
    uint64_t u = 0;
    int rc;
    switch (id) {
    case CT_SHORTSRC: rc = s_shortsrc(m, v); break;
    case CT_USER: rc = s_user(m, v, &fail); break;
    case CT_ORIGINALUSER: rc = s_originaluser(m, v); break;
    case CT_USER_ACCOUNTID: rc = s_accountid(m, v); break;
    case CT_INFO: rc = s_info(evt, m, v); break;
    case CT_MANAGEMENTEVENT: rc = s_boolstr(ev_ct_top(m, "managementEvent"), v); break;
    case CT_READONLY: rc = s_boolstr(ev_ct_top(m, "readOnly"), v); break;
    case CT_SESSIONCREDENTIALFROMCONSOLE:
        rc = s_boolstr(ev_ct_top(m, "sessionCredentialFromConsole"), v);
        break;
    case CT_RESOURCES: rc = s_resources(evt, r, v); break;
    case CT_ADDITIONALEVENTDATA: rc = s_rawfield(evt, r, "additionalEventData", v); break;
    case CT_RESPONSE: rc = s_rawfield(evt, r, "responseElements", v); break;
    case CT_REQUEST: rc = s_rawfield(evt, r, "requestParameters", v); break;
    case CT_REQ_DOCUMENTNAME: rc = 0; break; /* upstream case-label bug */
    case S3_URI: rc = s_s3uri(evt, m, v); break;
    case S3_BYTES:
    case S3_BYTES_IN:
    case S3_BYTES_OUT:
        rc = s_s3bytes(m, id, &u);
        return s_u64(out, rc, u);
    case S3_CNT_GET:
    case S3_CNT_PUT:
    case S3_CNT_OTHER:
        rc = s_s3cnt(m, id, &u);
        return s_u64(out, rc, u);
    case EC2_NAME: rc = s_ec2name(m, v); break;
    case EC2_IMAGEID:
        return s_imageids(evt, m, true, 0, out);
    case EC2_IMAGEIDS:
        return s_imageids(evt, m, arg && arg->has_arg, arg ? arg->index : 0, out);
    default:
        return -1;
    }
    out->n = rc > 0 ? 1 : 0;
    return rc > 0 ? 1 : rc;
}

int ev_ct_extract_plugin(ev_event *evt, const ev_ct_record *r, int id,
                         const ev_field_arg *arg, ev_vals *out)
{
    if (id >= 0 && id < CT__PLUGIN_COUNT && ev_ct_paths[id].n > 0) {
        ev_ct_map m = ev_ct_map_of(r);
        int rc = s_path_field(&m, id, &out->vals[0]);
        out->n = (size_t)rc;
        return rc;
    }
    return s_extract_other(evt, r, id, arg, out);
}
