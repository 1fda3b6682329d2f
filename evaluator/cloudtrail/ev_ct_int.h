/*
 * ev_ct_int.h - private declarations shared by the cloudtrail source files.
 * Owner: cloudtrail fields.  Not installed, not for other parts.
 */
#ifndef EV_CT_INT_H
#define EV_CT_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "ev_ct.h"

/* Field ids (ev_field_def.id).  The first 73 are the plugin's fields in the
 * order of spec/cloudtrail-fields.md section 1. */
enum ev_ct_id {
    CT_ID, CT_ERROR, CT_ERRORMESSAGE, CT_TIME, CT_SRC, CT_SHORTSRC, CT_NAME,
    CT_USER, CT_ORIGINALUSER, CT_USER_ACCOUNTID, CT_USER_IDENTITYTYPE,
    CT_USER_PRINCIPALID, CT_USER_ARN, CT_REGION, CT_SRCIP, CT_USERAGENT,
    CT_INFO, CT_MANAGEMENTEVENT, CT_READONLY, CT_REQUESTID, CT_EVENTTYPE,
    CT_APIVERSION, CT_RESOURCES, CT_RECIPIENTACCOUNTID, CT_SERVICEEVENTDETAILS,
    CT_SHAREDEVENTID, CT_VPCENDPOINTID, CT_EVENTCATEGORY, CT_ADDENDUM_REASON,
    CT_ADDENDUM_UPDATEDFIELDS, CT_ADDENDUM_ORIGINALREQUESTID,
    CT_ADDENDUM_ORIGINALEVENTID, CT_SESSIONCREDENTIALFROMCONSOLE,
    CT_EDGEDEVICEDETAILS, CT_TLS_VERSION, CT_TLS_CIPHERSUITE, CT_TLS_HOSTHEADER,
    CT_ADDITIONALEVENTDATA,
    CT_RESPONSE_SUBNETID, CT_RESPONSE_RESERVATIONID, CT_RESPONSE,
    CT_REQ_AVAILABILITYZONE, CT_REQ_CLUSTER, CT_REQ_FUNCTIONNAME,
    CT_REQ_GROUPNAME, CT_REQ_HOST, CT_REQ_NAME, CT_REQ_POLICY, CT_REQ_REASON,
    CT_REQ_TARGET, CT_REQ_DOCUMENTNAME, CT_REQ_SERIALNUMBER,
    CT_REQ_SERVICENAME, CT_REQ_SUBNETID, CT_REQ_TASKDEFINITION,
    CT_REQ_USERNAME, CT_REQUEST,
    S3_URI, S3_BUCKET, S3_KEY, S3_BYTES, S3_BYTES_IN, S3_BYTES_OUT,
    S3_CNT_GET, S3_CNT_PUT, S3_CNT_OTHER,
    EC2_NAME, EC2_IMAGEID, EC2_IMAGEIDS, ECR_REPOSITORY, ECR_IMAGETAG,
    IAM_ROLE, IAM_POLICY,
    CT__PLUGIN_COUNT, /* == 73 */
    EVT_NUM = CT__PLUGIN_COUNT, EVT_TIME, EVT_TIME_S, EVT_TIME_ISO8601,
    EVT_DATETIME, EVT_DATETIME_S, EVT_RAWTIME, EVT_RAWTIME_S, EVT_RAWTIME_NS,
    EVT_RELTIME, EVT_RELTIME_S, EVT_RELTIME_NS, EVT_PLUGINNAME,
    EVT_PLUGININFO, EVT_SOURCE, EVT_IS_ASYNC, EVT_ASYNCTYPE, EVT_HOSTNAME,
    JSON_VALUE, JSON_OBJ, JSON_RAWTIME,
};

/*
 * a[0..n) == b[0..n), with word loads instead of a memcmp call: keys of the
 * same length differ in their first or last 8 bytes almost always
 * ("eventTime"/"eventName"/"eventType").  Reads only inside both spans.
 */
static inline bool ev_ct_bytes_eq(const char *a, const char *b, size_t n)
{
    if (n >= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y)
            return false;
        memcpy(&x, a + n - 8, 8);
        memcpy(&y, b + n - 8, 8);
        if (x != y)
            return false;
        for (size_t i = 8; i + 8 < n; i += 8) {
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y)
                return false;
        }
        return true;
    }
    if (n >= 4) {
        uint32_t x, y;
        memcpy(&x, a, 4);
        memcpy(&y, b, 4);
        if (x != y)
            return false;
        memcpy(&x, a + n - 4, 4);
        memcpy(&y, b + n - 4, 4);
        return x == y;
    }
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

/*
 * First value of the key (klen bytes) in a msgpack map; NULL if o is NULL,
 * not a map, or has no such key.  The first occurrence of a duplicate key
 * wins.  Borrowed; points into o.  Inline: this is the hottest loop of the
 * source (the length rejects most keys, two word compares the rest).
 */
static inline const msgpack_object *ev_ct_mp_getn(const msgpack_object *o,
                                                  const char *key, size_t klen)
{
    if (!o || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    const msgpack_object_kv *kv = o->via.map.ptr;
    const msgpack_object_kv *end = kv + o->via.map.size;
    for (; kv < end; kv++) {
        const msgpack_object *k = &kv->key;
        /* size first: one compare rejects most keys.  For a key that is not
         * a string the union read is meaningless but harmless, and the type
         * test then rejects it. */
        if (k->via.str.size == klen && k->type == MSGPACK_OBJECT_STR &&
            ev_ct_bytes_eq(k->via.str.ptr, key, klen))
            return &kv->val;
    }
    return NULL;
}

/* ev_ct_mp_getn() with a NUL-terminated key (strlen of a literal folds). */
static inline const msgpack_object *ev_ct_mp_get(const msgpack_object *o,
                                                 const char *key)
{
    return ev_ct_mp_getn(o, key, strlen(key));
}

/* Walk a key path; NULL if any step is missing or walks through a non-map. */
static inline const msgpack_object *ev_ct_mp_path(const msgpack_object *root,
                                                  const char *const *keys, size_t n)
{
    const msgpack_object *o = root;
    for (size_t i = 0; i < n && o; i++)
        o = ev_ct_mp_get(o, keys[i]);
    return o;
}

/* Rule S (spec section 0.3): 1 and the string ("" for a non-string value)
 * when v exists, else 0.  *out borrows from v. */
static inline int ev_ct_rule_s(const msgpack_object *v, ev_val *out)
{
    if (!v)
        return 0;
    if (v->type == MSGPACK_OBJECT_STR && v->via.str.ptr) {
        out->s = v->via.str.ptr;
        out->len = v->via.str.size;
    } else {
        out->s = "";
        out->len = 0;
    }
    return 1;
}

/* Key paths of the Rule S fields (at most 3 keys), with the key lengths so
 * that lookups need no strlen.  n == 0: the field is not a simple path. */
typedef struct ev_ct_key {
    const char *s;
    size_t len;
} ev_ct_key;
typedef struct ev_ct_path {
    size_t n;
    ev_ct_key k[3];
} ev_ct_path;

/* Indexed by field id (< CT__PLUGIN_COUNT); defined in ev_ct_fields.c. */
extern const ev_ct_path ev_ct_paths[];

/* Rule S over the path p (p->n >= 1): 0 or 1, see ev_ct_rule_s(). */
static inline int ev_ct_path_get(const msgpack_object *m, const ev_ct_path *p,
                                 ev_val *out)
{
    const msgpack_object *o = ev_ct_mp_getn(m, p->k[0].s, p->k[0].len);
    for (size_t i = 1; i < p->n && o; i++)
        o = ev_ct_mp_getn(o, p->k[i].s, p->k[i].len);
    return ev_ct_rule_s(o, out);
}

/* Extract one of the 73 plugin fields (id < CT__PLUGIN_COUNT).  The caller
 * has zeroed out->vals[0] and out->n. */
int ev_ct_extract_plugin(ev_event *evt, const ev_ct_record *r, int id,
                         const ev_field_arg *arg, ev_vals *out);

/* evt.plugininfo (the plugin's String()); -1 when it fails. */
int ev_ct_plugininfo(ev_event *evt, const ev_ct_record *r, ev_val *out);

#endif /* EV_CT_INT_H */
