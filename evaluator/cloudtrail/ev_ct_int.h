/*
 * ev_ct_int.h - private declarations shared by the cloudtrail source files.
 * Owner: cloudtrail fields.  Not installed, not for other parts.
 */
#ifndef EV_CT_INT_H
#define EV_CT_INT_H

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

/* First value of key in a msgpack map; NULL if o is not a map or no key. */
const msgpack_object *ev_ct_mp_get(const msgpack_object *o, const char *key);
/* Walk a key path; NULL if any step is missing or walks through a non-map. */
const msgpack_object *ev_ct_mp_path(const msgpack_object *root,
                                    const char *const *keys, size_t n);

/* Extract one of the 73 plugin fields (id < CT__PLUGIN_COUNT). */
int ev_ct_extract_plugin(ev_event *evt, const ev_ct_record *r, int id,
                         const ev_field_arg *arg, ev_vals *out);

/* evt.plugininfo (the plugin's String()); -1 when it fails. */
int ev_ct_plugininfo(ev_event *evt, const ev_ct_record *r, ev_val *out);

#endif /* EV_CT_INT_H */
