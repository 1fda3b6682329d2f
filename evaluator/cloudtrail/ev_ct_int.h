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

/* The record's top-level map as the field code reads it. */
typedef struct ev_ct_map {
    ev_mp v;            /* the map (no value when the record has none) */
    ev_mp_index *ix;    /* the record's key index, or NULL */
} ev_ct_map;

static inline ev_ct_map ev_ct_map_of(const ev_ct_record *r)
{
    ev_ct_map m = { ev_mp_of(r->map, r->map_len), r->index };
    return m;
}

/* First value of a top-level key (klen bytes), through the index when the
 * record has one; no value when missing. */
static inline ev_mp ev_ct_topn(const ev_ct_map *m, const char *key, size_t klen)
{
    if (m->ix)
        return ev_mp_index_get(m->ix, m->v, key, klen);
    return ev_mp_map_getn(m->v, key, klen);
}

/* ev_ct_topn() with a NUL-terminated key (strlen of a literal folds). */
static inline ev_mp ev_ct_top(const ev_ct_map *m, const char *key)
{
    return ev_ct_topn(m, key, strlen(key));
}

/* Walk a key path (n >= 1) from the top level; no value if any step is
 * missing or walks through a non-map. */
static inline ev_mp ev_ct_top_path(const ev_ct_map *m, const char *const *keys,
                                   size_t n)
{
    return ev_mp_path(ev_ct_top(m, keys[0]), keys + 1, n - 1);
}

/* Rule S (spec section 0.3): 1 and the string ("" for a non-string value)
 * when v exists, else 0.  *out borrows from v. */
static inline int ev_ct_rule_s(ev_mp v, ev_val *out)
{
    const char *s;
    size_t n;
    if (!ev_mp_present(v))
        return 0;
    if (ev_mp_str(v, &s, &n)) {
        out->s = s;
        out->len = n;
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
static inline int ev_ct_path_get(const ev_ct_map *m, const ev_ct_path *p, ev_val *out)
{
    ev_mp o = ev_ct_topn(m, p->k[0].s, p->k[0].len);
    for (size_t i = 1; i < p->n && ev_mp_present(o); i++)
        o = ev_mp_map_getn(o, p->k[i].s, p->k[i].len);
    return ev_ct_rule_s(o, out);
}

/* Extract one of the 73 plugin fields (id < CT__PLUGIN_COUNT).  The caller
 * has zeroed out->vals[0] and out->n. */
int ev_ct_extract_plugin(ev_event *evt, const ev_ct_record *r, int id,
                         const ev_field_arg *arg, ev_vals *out);

/* evt.plugininfo (the plugin's String()); -1 when it fails. */
int ev_ct_plugininfo(ev_event *evt, const ev_ct_record *r, ev_val *out);

#endif /* EV_CT_INT_H */
