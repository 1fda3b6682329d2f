/*
 * fz_record.c - the fixed CloudTrail record of the rules fuzz targets
 * (see fz_record.h).  The record covers the fields the shipped rules test
 * most: user identity, source IP, request parameters, response elements,
 * an error code, TLS details and a resources array.
 * Owner: fuzzing (tests/fuzz/rules/).
 */
#include "fz_record.h"

#include <stdlib.h>
#include <string.h>

#include "pa_decode.h"

static const char s_json[] =
    "{\"Records\":[{\"eventVersion\":\"1.08\","
    "\"userIdentity\":{\"type\":\"IAMUser\",\"principalId\":\"AIDAEXAMPLE\","
    "\"arn\":\"arn:aws:iam::123456789012:user/alice\",\"accountId\":\"123456789012\","
    "\"accessKeyId\":\"AKIAEXAMPLE\",\"userName\":\"alice\","
    "\"sessionContext\":{\"attributes\":{\"mfaAuthenticated\":\"false\","
    "\"creationDate\":\"2024-01-02T03:04:05Z\"}}},"
    "\"eventTime\":\"2024-01-02T03:04:05Z\",\"eventSource\":\"s3.amazonaws.com\","
    "\"eventName\":\"PutBucketPolicy\",\"awsRegion\":\"us-east-1\","
    "\"sourceIPAddress\":\"203.0.113.7\",\"userAgent\":\"aws-cli/2.15.0\","
    "\"errorCode\":\"AccessDenied\",\"errorMessage\":\"denied \\\"x\\\" \\u00e9\","
    "\"requestParameters\":{\"bucketName\":\"logs-bucket\",\"Host\":\"logs-bucket.s3.amazonaws.com\","
    "\"bucketPolicy\":{\"Statement\":[{\"Effect\":\"Allow\",\"Principal\":\"*\"}]},"
    "\"key\":\"a/b.txt\",\"size\":12.5,\"tags\":[1,true,null,\"x\"]},"
    "\"responseElements\":{\"instancesSet\":{\"items\":[{\"instanceId\":\"i-0abc\"}]}},"
    "\"additionalEventData\":{\"bytesTransferredIn\":42,\"bytesTransferredOut\":7,"
    "\"MFAUsed\":\"No\",\"LoginTo\":\"https://console.aws.amazon.com\"},"
    "\"requestID\":\"R1\",\"eventID\":\"E1\",\"readOnly\":false,"
    "\"resources\":[{\"ARN\":\"arn:aws:s3:::logs-bucket\",\"type\":\"AWS::S3::Bucket\"}],"
    "\"eventType\":\"AwsApiCall\",\"managementEvent\":true,"
    "\"recipientAccountId\":\"123456789012\",\"eventCategory\":\"Management\","
    "\"tlsDetails\":{\"tlsVersion\":\"TLSv1.2\",\"cipherSuite\":\"ECDHE-RSA-AES128-GCM-SHA256\","
    "\"clientProvidedHostHeader\":\"s3.amazonaws.com\"}}]}";

static int s_on_record(void *data, const pa_record *rec)
{
    fz_record *r = data;
    msgpack_packer pk;
    if (r->raw)
        return -1;              /* exactly one record expected */
    msgpack_packer_init(&pk, &r->sb, msgpack_sbuffer_write);
    if (pa_record_pack(rec, &pk) != 0)
        return -1;
    r->raw = malloc(rec->len + 1);
    if (!r->raw)
        return -1;
    memcpy(r->raw, rec->raw, rec->len);
    r->raw[rec->len] = '\0';
    r->rec.raw_len = rec->len;
    return 0;
}

int fz_record_init(fz_record *r)
{
    memset(r, 0, sizeof *r);
    msgpack_sbuffer_init(&r->sb);
    msgpack_unpacked_init(&r->up);
    pa_decode_cb cb = {s_on_record, NULL, r};
    char err[256];
    int rc = pa_decode_buffer(s_json, sizeof s_json - 1, "fuzz.json", NULL, &cb,
                              NULL, err, sizeof err);
    size_t off = 0;
    if (rc < 0 || !r->raw ||
        msgpack_unpack_next(&r->up, r->sb.data, r->sb.size, &off) != MSGPACK_UNPACK_SUCCESS ||
        r->up.data.type != MSGPACK_OBJECT_MAP)
        return -1;
    r->rec.map = r->sb.data;
    r->rec.map_len = off;
    r->rec.raw = r->raw;
    r->rec.hostname = "fuzz-host";
    if (ev_ct_event_time(&r->rec, &r->ts_ns) != 0)
        return -1;
    return 0;
}

void fz_record_fini(fz_record *r)
{
    msgpack_unpacked_destroy(&r->up);
    msgpack_sbuffer_destroy(&r->sb);
    free(r->raw);
    memset(r, 0, sizeof *r);
}
