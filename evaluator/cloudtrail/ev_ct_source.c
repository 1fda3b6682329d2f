/*
 * ev_ct_source.c - the "aws_cloudtrail" source: field catalogue, the extract
 * entry point, the generic evt.* fields, the json plugin fields and the
 * eventTime/eventName helpers.  Owner: cloudtrail fields.  See ev_ct.h.
 */
#include "ev_ct_int.h"
#include "ev_ct_json.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S EV_TYPE_STRING
#define U EV_TYPE_UINT64
#define HID EV_FIELD_HIDDEN

static const ev_field_def s_fields[] = {
    {"ct.id", S, 0, CT_ID, "the unique ID of the cloudtrail event (eventID)"},
    {"ct.error", S, 0, CT_ERROR, "the error code from the event (errorCode)"},
    {"ct.errormessage", S, 0, CT_ERRORMESSAGE, "the error message (errorMessage)"},
    {"ct.time", S, HID, CT_TIME, "the timestamp of the event (eventTime)"},
    {"ct.src", S, 0, CT_SRC, "the source of the event (eventSource)"},
    {"ct.shortsrc", S, 0, CT_SHORTSRC, "eventSource without .amazonaws.com"},
    {"ct.name", S, 0, CT_NAME, "the name of the event (eventName)"},
    {"ct.user", S, 0, CT_USER, "the user of the event"},
    {"ct.originaluser", S, 0, CT_ORIGINALUSER, "the session name or user name"},
    {"ct.user.accountid", S, 0, CT_USER_ACCOUNTID, "the account id of the user"},
    {"ct.user.identitytype", S, 0, CT_USER_IDENTITYTYPE, "userIdentity.type"},
    {"ct.user.principalid", S, 0, CT_USER_PRINCIPALID, "userIdentity.principalId"},
    {"ct.user.arn", S, 0, CT_USER_ARN, "userIdentity.arn"},
    {"ct.region", S, 0, CT_REGION, "the region (awsRegion)"},
    {"ct.srcip", S, 0, CT_SRCIP, "the source IP (sourceIPAddress)"},
    {"ct.useragent", S, 0, CT_USERAGENT, "the user agent (userAgent)"},
    {"ct.info", S, 0, CT_INFO, "summary of the event"},
    {"ct.managementevent", S, 0, CT_MANAGEMENTEVENT, "\"true\" for management events"},
    {"ct.readonly", S, 0, CT_READONLY, "\"true\" if the event only reads"},
    {"ct.requestid", S, 0, CT_REQUESTID, "requestID"},
    {"ct.eventtype", S, 0, CT_EVENTTYPE, "eventType"},
    {"ct.apiversion", S, 0, CT_APIVERSION, "apiVersion"},
    {"ct.resources", S, 0, CT_RESOURCES, "resources, compact JSON joined by ','"},
    {"ct.recipientaccountid", S, 0, CT_RECIPIENTACCOUNTID, "recipientAccountId"},
    {"ct.serviceeventdetails", S, 0, CT_SERVICEEVENTDETAILS, "serviceEventDetails"},
    {"ct.sharedeventid", S, 0, CT_SHAREDEVENTID, "sharedEventID"},
    {"ct.vpcendpointid", S, 0, CT_VPCENDPOINTID, "vpcEndpointId"},
    {"ct.eventcategory", S, 0, CT_EVENTCATEGORY, "eventCategory"},
    {"ct.addendum.reason", S, 0, CT_ADDENDUM_REASON, "addendum.reason"},
    {"ct.addendum.updatedfields", S, 0, CT_ADDENDUM_UPDATEDFIELDS, "addendum.updatedFields"},
    {"ct.addendum.originalrequestid", S, 0, CT_ADDENDUM_ORIGINALREQUESTID,
     "addendum.originalRequestID"},
    {"ct.addendum.originaleventid", S, 0, CT_ADDENDUM_ORIGINALEVENTID,
     "addendum.originalEventID"},
    {"ct.sessioncredentialfromconsole", S, 0, CT_SESSIONCREDENTIALFROMCONSOLE,
     "sessionCredentialFromConsole"},
    {"ct.edgedevicedetails", S, 0, CT_EDGEDEVICEDETAILS, "edgeDeviceDetails"},
    {"ct.tlsdetails.tlsversion", S, 0, CT_TLS_VERSION, "tlsDetails.tlsVersion"},
    {"ct.tlsdetails.ciphersuite", S, 0, CT_TLS_CIPHERSUITE, "tlsDetails.cipherSuite"},
    {"ct.tlsdetails.clientprovidedhostheader", S, 0, CT_TLS_HOSTHEADER,
     "tlsDetails.clientProvidedHostHeader"},
    {"ct.additionaleventdata", S, 0, CT_ADDITIONALEVENTDATA, "additionalEventData as JSON"},
    {"ct.response.subnetid", S, 0, CT_RESPONSE_SUBNETID, "responseElements.subnetId"},
    {"ct.response.reservationid", S, 0, CT_RESPONSE_RESERVATIONID,
     "responseElements.reservationId"},
    {"ct.response", S, 0, CT_RESPONSE, "responseElements as JSON"},
    {"ct.request.availabilityzone", S, 0, CT_REQ_AVAILABILITYZONE,
     "requestParameters.availabilityZone"},
    {"ct.request.cluster", S, 0, CT_REQ_CLUSTER, "requestParameters.cluster"},
    {"ct.request.functionname", S, 0, CT_REQ_FUNCTIONNAME, "requestParameters.functionName"},
    {"ct.request.groupname", S, 0, CT_REQ_GROUPNAME, "requestParameters.groupName"},
    {"ct.request.host", S, 0, CT_REQ_HOST, "requestParameters.Host"},
    {"ct.request.name", S, 0, CT_REQ_NAME, "requestParameters.name"},
    {"ct.request.policy", S, 0, CT_REQ_POLICY, "requestParameters.policy"},
    {"ct.request.reason", S, 0, CT_REQ_REASON, "requestParameters.reason"},
    {"ct.request.target", S, 0, CT_REQ_TARGET, "requestParameters.target"},
    {"ct.request.documentname", S, 0, CT_REQ_DOCUMENTNAME, "always missing (upstream bug)"},
    {"ct.request.serialnumber", S, 0, CT_REQ_SERIALNUMBER, "requestParameters.serialNumber"},
    {"ct.request.servicename", S, 0, CT_REQ_SERVICENAME, "requestParameters.serviceName"},
    {"ct.request.subnetid", S, 0, CT_REQ_SUBNETID, "requestParameters.subnetId"},
    {"ct.request.taskdefinition", S, 0, CT_REQ_TASKDEFINITION,
     "requestParameters.taskDefinition"},
    {"ct.request.username", S, 0, CT_REQ_USERNAME, "requestParameters.userName"},
    {"ct.request", S, 0, CT_REQUEST, "requestParameters as JSON"},
    {"s3.uri", S, 0, S3_URI, "s3://bucket/key"},
    {"s3.bucket", S, 0, S3_BUCKET, "requestParameters.bucketName"},
    {"s3.key", S, 0, S3_KEY, "requestParameters.key"},
    {"s3.bytes", U, 0, S3_BYTES, "bytes transferred in + out"},
    {"s3.bytes.in", U, HID, S3_BYTES_IN, "bytes transferred in"},
    {"s3.bytes.out", U, HID, S3_BYTES_OUT, "bytes transferred out"},
    {"s3.cnt.get", U, HID, S3_CNT_GET, "1 for GetObject"},
    {"s3.cnt.put", U, HID, S3_CNT_PUT, "1 for PutObject"},
    {"s3.cnt.other", U, HID, S3_CNT_OTHER, "1 for other events"},
    {"ec2.name", S, 0, EC2_NAME, "the Name tag of the instance"},
    {"ec2.imageid", S, 0, EC2_IMAGEID, "deprecated: ec2.imageids[0]"},
    {"ec2.imageids", S, EV_FIELD_LIST | EV_FIELD_ARG_OPT | EV_FIELD_ARG_INDEX,
     EC2_IMAGEIDS, "the AMI ids"},
    {"ecr.repository", S, 0, ECR_REPOSITORY, "requestParameters.repositoryName"},
    {"ecr.imagetag", S, 0, ECR_IMAGETAG, "requestParameters.imageTag"},
    {"iam.role", S, 0, IAM_ROLE, "requestParameters.roleName"},
    {"iam.policy", S, 0, IAM_POLICY, "requestParameters.policyName"},
    /* generic evt.* fields */
    {"evt.num", U, 0, EVT_NUM, "event number"},
    {"evt.time", S, 0, EVT_TIME, "local time HH:MM:SS.nnnnnnnnn"},
    {"evt.time.s", S, 0, EVT_TIME_S, "local time HH:MM:SS"},
    {"evt.time.iso8601", S, 0, EVT_TIME_ISO8601, "UTC YYYY-MM-DDTHH:MM:SS.nnnnnnnnn+0000"},
    {"evt.datetime", S, 0, EVT_DATETIME, "local YYYY-MM-DD HH:MM:SS.nnnnnnnnn"},
    {"evt.datetime.s", S, 0, EVT_DATETIME_S, "local YYYY-MM-DD HH:MM:SS"},
    {"evt.rawtime", EV_TYPE_ABSTIME, 0, EVT_RAWTIME, "ns since the epoch"},
    {"evt.rawtime.s", EV_TYPE_ABSTIME, 0, EVT_RAWTIME_S, "seconds since the epoch"},
    {"evt.rawtime.ns", EV_TYPE_ABSTIME, 0, EVT_RAWTIME_NS, "ns part of the time"},
    {"evt.reltime", EV_TYPE_RELTIME, 0, EVT_RELTIME, "ns since the first event"},
    {"evt.reltime.s", EV_TYPE_RELTIME, 0, EVT_RELTIME_S, "s since the first event"},
    {"evt.reltime.ns", EV_TYPE_RELTIME, 0, EVT_RELTIME_NS, "ns part of evt.reltime"},
    {"evt.pluginname", S, 0, EVT_PLUGINNAME, "\"cloudtrail\""},
    {"evt.plugininfo", S, 0, EVT_PLUGININFO, "the plugin's summary of the event"},
    {"evt.source", S, 0, EVT_SOURCE, "\"aws_cloudtrail\""},
    {"evt.is_async", EV_TYPE_BOOL, 0, EVT_IS_ASYNC, "always false"},
    {"evt.asynctype", S, 0, EVT_ASYNCTYPE, "always missing"},
    {"evt.hostname", S, 0, EVT_HOSTNAME, "host name"},
    /* json plugin */
    {"json.value", S, EV_FIELD_ARG_REQ | EV_FIELD_ARG_KEY, JSON_VALUE,
     "value at a JSON pointer"},
    {"json.obj", S, 0, JSON_OBJ, "the whole record, indented"},
    {"json.rawtime", S, 0, JSON_RAWTIME, "event time in ns, as text"},
    {"jevt.value", S, EV_FIELD_ARG_REQ | EV_FIELD_ARG_KEY, JSON_VALUE, "alias of json.value"},
    {"jevt.obj", S, 0, JSON_OBJ, "alias of json.obj"},
    {"jevt.rawtime", S, 0, JSON_RAWTIME, "alias of json.rawtime"},
};

#undef S
#undef U
#undef HID

/* Time rendering ----------------------------------------------------------- */

static int s_text(ev_event *evt, ev_val *v, const char *fmt_buf, size_t n)
{
    v->s = ev_arena_strndup(&evt->arena, fmt_buf, n);
    v->len = n;
    return 1;
}

static int s_timefield(ev_event *evt, int id, ev_val *v)
{
    time_t sec = (time_t)(evt->ts_ns / 1000000000u);
    unsigned ns = (unsigned)(evt->ts_ns % 1000000000u);
    struct tm tm;
    char buf[96];
    int n;
    if (id == EVT_TIME_ISO8601) {
        gmtime_r(&sec, &tm);
        n = snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09u+0000",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ns);
        return s_text(evt, v, buf, (size_t)n);
    }
    localtime_r(&sec, &tm);
    char date[48] = "";
    if (id == EVT_DATETIME || id == EVT_DATETIME_S)
        snprintf(date, sizeof(date), "%04d-%02d-%02d ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday);
    if (id == EVT_TIME || id == EVT_DATETIME)
        n = snprintf(buf, sizeof(buf), "%s%02d:%02d:%02d.%09u", date, tm.tm_hour,
                     tm.tm_min, tm.tm_sec, ns);
    else
        n = snprintf(buf, sizeof(buf), "%s%02d:%02d:%02d", date, tm.tm_hour, tm.tm_min,
                     tm.tm_sec);
    return s_text(evt, v, buf, (size_t)n);
}

static int s_num(ev_vals *out, uint64_t u)
{
    out->vals[0].u = u;
    out->n = 1;
    return 1;
}

static int s_lit(ev_vals *out, const char *s)
{
    out->vals[0].s = s;
    out->vals[0].len = strlen(s);
    out->n = 1;
    return 1;
}

/* json.* fields ------------------------------------------------------------ */

/* Result of the msgpack walk when only the raw text can answer. */
#define CT_RAW_PATH 2

/* Decimal text of an integer (neg: the value is -u) into the arena. */
static int s_int_text(ev_event *evt, bool neg, uint64_t u, ev_val *v)
{
    char buf[24];
    char *p = buf + sizeof(buf);
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (neg)
        *--p = '-';
    return s_text(evt, v, p, (size_t)(buf + sizeof(buf) - p));
}

/* True when p[0..n) has no '~' and no byte >= 0x80 (8 bytes at a time). */
static bool s_plain_pointer(const char *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    const uint64_t tilde = ones * (unsigned char)'~';
    uint64_t acc = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, x;
        memcpy(&w, p + i, 8);
        x = w ^ tilde; /* a zero byte where w has '~' */
        acc |= w | ((x - ones) & ~x);
    }
    for (; i < n; i++)
        acc |= (unsigned char)p[i] == '~' ? high : (unsigned char)p[i];
    return (acc & high) == 0;
}

/* The json.value text of the value a pointer reached in the map: see
 * s_json_value_mp(). */
static int s_json_scalar(ev_event *evt, ev_mp o, ev_val *v)
{
    ev_mp_hdr h;
    ev_mp_head(o.p, o.end, &h);
    switch (h.type) {
    case EV_MP_STR:
        if (h.n == 0) {
            v->s = "";
            v->len = 0;
            return 1;
        }
        if (memchr(h.body, 0xEF, h.n))
            return CT_RAW_PATH;
        v->s = (const char *)h.body;
        v->len = h.n;
        return 1;
    case EV_MP_BOOL:
        v->s = h.v.b ? "true" : "false";
        v->len = h.v.b ? 4 : 5;
        return 1;
    case EV_MP_NIL:
        v->s = "null";
        v->len = 4;
        return 1;
    case EV_MP_UINT:
        if (h.v.u == 0)
            return CT_RAW_PATH;
        return s_int_text(evt, false, h.v.u, v);
    case EV_MP_INT:
        return s_int_text(evt, true, (uint64_t)0 - (uint64_t)h.v.i, v);
    default:
        return CT_RAW_PATH;
    }
}

/*
 * json.value over the msgpack map, for pointers made only of object keys.
 * Returns 1 (found, *v set), 0 (absent) or CT_RAW_PATH when the raw text
 * must decide.  It answers only where the map provably says what the raw
 * path would (see the design note in ev_ct.h):
 *   - segments must be ASCII without '~': no pointer unescaping, and a key
 *     that decodes to ASCII decodes the same in simdjson (plus the parser's
 *     lenient rewrite) as in our fastjson-style unescaping;
 *   - a missing key is absent, a scalar on the way is absent; an array on the
 *     way, or an empty map (the decoder packs containers beyond its depth
 *     limit empty), goes to the raw path;
 *   - a final string is returned as is unless it holds a 0xEF byte: the
 *     lenient rewrite turns invalid UTF-8 into U+FFFD (EF BF BD) where the
 *     raw path keeps the byte, so such strings go to the raw path;
 *   - true/false/null are their literal text, a nonzero integer its decimal
 *     text (JSON integers have one spelling, except "-0"); floats, zero,
 *     objects and arrays need the original text: raw path.
 */
static int s_json_value_mp(ev_event *evt, const ev_ct_map *m, const char *ptr,
                           size_t plen, ev_val *v)
{
    if (ev_mp_type_of(m->v) != EV_MP_MAP || !s_plain_pointer(ptr, plen))
        return CT_RAW_PATH;
    if (plen > 0 && ptr[0] == '/') {
        ptr++;
        plen--;
    }
    const char *pe = ptr + plen;
    ev_mp o = m->v;
    for (const char *s = ptr;;) {
        const char *q = memchr(s, '/', (size_t)(pe - s));
        if (!q)
            q = pe;
        ev_mp_hdr h;
        ev_mp_head(o.p, o.end, &h);
        if (h.type != EV_MP_MAP)
            return h.type == EV_MP_ARRAY ? CT_RAW_PATH : 0;
        if (h.n == 0 || q - s > 4096)
            return CT_RAW_PATH;
        o = o.p == m->v.p ? ev_ct_topn(m, s, (size_t)(q - s))
                          : ev_mp_map_getn(o, s, (size_t)(q - s));
        if (!ev_mp_present(o))
            return 0;
        if (q == pe)
            break;
        s = q + 1;
    }
    return s_json_scalar(evt, o, v);
}

static int s_json_value(ev_event *evt, const ev_ct_record *r, const ev_field_arg *arg,
                        ev_val *v)
{
    const char *vp;
    size_t vlen;
    if (!arg || !arg->has_arg || arg->arg_len == 0)
        return -1;
    if (!r->raw || r->raw_len == 0 || (r->raw[0] != '{' && r->raw[0] != '['))
        return -1;
    ev_ct_map m = ev_ct_map_of(r);
    int rc = s_json_value_mp(evt, &m, arg->arg, arg->arg_len, v);
    if (rc != CT_RAW_PATH)
        return rc;
    rc = ev_ct_json_pointer(r->raw, r->raw_len, arg->arg, arg->arg_len, &vp, &vlen);
    if (rc <= 0)
        return rc;
    char *s = ev_arena_alloc(&evt->arena, vlen + 1);
    if (vp[0] == '"' && vlen >= 2)
        v->len = ev_ct_json_unescape(vp + 1, vlen - 2, s);
    else
        v->len = ev_ct_json_compact(vp, vlen, s);
    s[v->len] = '\0';
    v->s = s;
    return 1;
}

static int s_json_obj(ev_event *evt, const ev_ct_record *r, ev_val *v)
{
    if (!r->raw || r->raw_len == 0)
        return -1;
    size_t n = ev_ct_json_indent(r->raw, r->raw_len, NULL, 0);
    char *s = ev_arena_alloc(&evt->arena, n + 1);
    ev_ct_json_indent(r->raw, r->raw_len, s, n);
    s[n] = '\0';
    v->s = s;
    v->len = n;
    return 1;
}

/* Extract entry point ------------------------------------------------------ */

static int s_extract(void *ud, ev_event *evt, const ev_field_def *def,
                     const ev_field_arg *arg, ev_vals *out)
{
    const ev_ct_record *r = evt->payload;
    ev_ct_ctx *ctx = ud;
    ev_val *v = &out->vals[0];
    char buf[32];
    int rc;
    if (!r)
        return -1;
    memset(v, 0, sizeof(*v));
    out->n = 0;
    if (def->id >= 0 && def->id < CT__PLUGIN_COUNT) {
        const ev_ct_path *p = &ev_ct_paths[def->id];
        if (p->n > 0) { /* most fields: a key path, read here inline */
            ev_ct_map m = ev_ct_map_of(r);
            rc = ev_ct_path_get(&m, p, v);
            out->n = (size_t)rc;
            return rc;
        }
        return ev_ct_extract_plugin(evt, r, def->id, arg, out);
    }
    switch (def->id) {
    case EVT_NUM: return s_num(out, evt->num);
    case EVT_RAWTIME: return s_num(out, evt->ts_ns);
    case EVT_RAWTIME_S: return s_num(out, evt->ts_ns / 1000000000u);
    case EVT_RAWTIME_NS: return s_num(out, evt->ts_ns % 1000000000u);
    case EVT_RELTIME:
    case EVT_RELTIME_S:
    case EVT_RELTIME_NS: {
        uint64_t base = 0;
        if (ctx) {
            if (ctx->base_ts_ns == 0)
                ctx->base_ts_ns = evt->ts_ns;
            base = ctx->base_ts_ns;
        }
        uint64_t rel = evt->ts_ns >= base ? evt->ts_ns - base : 0;
        if (def->id == EVT_RELTIME_S)
            rel /= 1000000000u;
        else if (def->id == EVT_RELTIME_NS)
            rel %= 1000000000u;
        return s_num(out, rel);
    }
    case EVT_TIME:
    case EVT_TIME_S:
    case EVT_TIME_ISO8601:
    case EVT_DATETIME:
    case EVT_DATETIME_S:
        rc = s_timefield(evt, def->id, v);
        break;
    case EVT_PLUGINNAME: return s_lit(out, "cloudtrail");
    case EVT_SOURCE: return s_lit(out, "aws_cloudtrail");
    case EVT_IS_ASYNC: return s_num(out, 0);
    case EVT_ASYNCTYPE: return 0;
    case EVT_HOSTNAME:
        if (r->hostname)
            return s_lit(out, r->hostname);
        {
            char host[256];
            if (gethostname(host, sizeof(host)) != 0)
                return -1;
            host[sizeof(host) - 1] = '\0';
            rc = s_text(evt, v, host, strlen(host));
        }
        break;
    case EVT_PLUGININFO:
        rc = ev_ct_plugininfo(evt, r, v);
        break;
    case JSON_VALUE:
        rc = s_json_value(evt, r, arg, v);
        break;
    case JSON_OBJ:
        rc = s_json_obj(evt, r, v);
        break;
    case JSON_RAWTIME:
        rc = s_text(evt, v, buf, (size_t)snprintf(buf, sizeof(buf), "%" PRIu64, evt->ts_ns));
        break;
    default:
        return -1;
    }
    out->n = rc > 0 ? 1 : 0;
    return rc > 0 ? 1 : rc;
}

static const ev_source s_source = {
    .name = "aws_cloudtrail",
    .fields = s_fields,
    .nfields = sizeof(s_fields) / sizeof(s_fields[0]),
    .extract = s_extract,
    .ud = NULL,
};

const ev_source *ev_ct_source(void)
{
    return &s_source;
}

void ev_ct_source_init(ev_source *src, ev_ct_ctx *ctx)
{
    *src = s_source;
    src->ud = ctx;
}

/* eventTime / eventName ---------------------------------------------------- */

static int s_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t s_days(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int ev_ct_parse_time(const char *s, size_t len, uint64_t *ns)
{
    int Y, M, D, h, mi, sec;
    if (len < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':')
        return -EINVAL;
    if (s_digits(s, 4, &Y) || s_digits(s + 5, 2, &M) || s_digits(s + 8, 2, &D) ||
        s_digits(s + 11, 2, &h) || s_digits(s + 14, 2, &mi) || s_digits(s + 17, 2, &sec))
        return -EINVAL;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] + (M == 2 && leap) || h > 23 ||
        mi > 59 || sec > 59)
        return -EINVAL;
    size_t i = 19;
    uint64_t frac = 0;
    if (i < len && s[i] == '.') {
        size_t nd = 0;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 9)
                frac = frac * 10 + (uint64_t)(s[i] - '0');
        if (nd == 0)
            return -EINVAL;
        for (; nd < 9; nd++)
            frac *= 10;
    }
    int64_t off = 0;
    if (i < len && s[i] == 'Z') {
        i++;
    } else if (i + 6 <= len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int oh, om;
        if (s_digits(s + i + 1, 2, &oh) || s_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return -EINVAL;
        off = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    } else {
        return -EINVAL;
    }
    if (i != len)
        return -EINVAL;
    int64_t t = s_days(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - off;
    if (t < 0 || t > (int64_t)(UINT64_MAX / 1000000000u) - 1)
        return -EINVAL;
    *ns = (uint64_t)t * 1000000000u + frac;
    return 0;
}

int ev_ct_record_str(const ev_ct_record *r, const char *key, size_t klen,
                     const char **s, size_t *len)
{
    ev_ct_map m = ev_ct_map_of(r);
    if (!ev_mp_str(ev_ct_topn(&m, key, klen), s, len))
        return -ENOENT;
    return 0;
}

int ev_ct_event_time(const ev_ct_record *r, uint64_t *ns)
{
    const char *s;
    size_t n;
    if (ev_ct_record_str(r, "eventTime", 9, &s, &n) != 0)
        return -ENOENT;
    return ev_ct_parse_time(s, n, ns);
}

int ev_ct_event_name(const ev_ct_record *r, const char **s, size_t *len)
{
    return ev_ct_record_str(r, "eventName", 9, s, len);
}
