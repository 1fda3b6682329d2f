#!/usr/bin/env python3
"""make-seeds.py - write the seed corpus of fuzz_sns (corpus/*.json).

Signed seeds are signed with testdata/signing-key.pem (a throw-away RSA key
made with `openssl req -x509 -newkey rsa:2048 -nodes`; its self-signed
certificate testdata/signing-cert.pem is what the fuzz target verifies
against).  The string to sign is built here from spec/aws-formats.md 3.4,
independently of fetcher/aws/aws_sns_msg.c.  Run from anywhere; needs the
openssl command.  Owner: fuzzing (tests/fuzz/sns/).
"""
import base64
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
KEY = os.path.join(HERE, "testdata", "signing-key.pem")
OUT = os.path.join(HERE, "corpus")
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem"
TOPIC = "arn:aws:sns:us-east-1:123456789012:cloudtrail-topic"

NOTIF_KEYS = ["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"]
SUB_KEYS = ["Message", "MessageId", "SubscribeURL", "Timestamp", "Token",
            "TopicArn", "Type"]


def string_to_sign(msg):
    keys = NOTIF_KEYS if msg["Type"] == "Notification" else SUB_KEYS
    return "".join("%s\n%s\n" % (k, msg[k]) for k in keys if k in msg)


def sign(msg, version):
    digest = "-sha1" if version == "1" else "-sha256"
    sig = subprocess.run(["openssl", "dgst", digest, "-sign", KEY],
                         input=string_to_sign(msg).encode(), check=True,
                         capture_output=True).stdout
    msg["SignatureVersion"] = version
    msg["Signature"] = base64.b64encode(sig).decode()
    msg["SigningCertURL"] = CERT_URL
    return msg


def notification(message, subject=None):
    m = {"Type": "Notification",
         "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
         "TopicArn": TOPIC, "Message": message,
         "Timestamp": "2024-01-02T03:04:05.123Z",
         "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=1"}
    if subject is not None:
        m["Subject"] = subject
    return m


def confirmation(kind):
    return {"Type": kind, "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1c",
            "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a7",
            "TopicArn": TOPIC,
            "Message": "You have chosen to subscribe to the topic %s.\n"
                       "To confirm the subscription, visit the SubscribeURL." % TOPIC,
            "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=y",
            "Timestamp": "2024-01-02T03:04:05Z"}


def write(name, obj, raw=None):
    text = raw if raw is not None else json.dumps(obj, indent=2)
    with open(os.path.join(OUT, name), "w", encoding="utf-8") as f:
        f.write(text)


def main():
    os.makedirs(OUT, exist_ok=True)
    ct = json.dumps({"s3Bucket": "trail-bucket", "s3ObjectKey": [
        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/02/"
        "123456789012_CloudTrail_us-east-1_20240102T0305Z_abc.json.gz"]})
    s3ev = json.dumps({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "b"}, "object": {"key": "AWSLogs/a+b%20c%2Fd.json.gz",
                                            "eTag": "0123abcd"}}}]})
    write("notif_v1_cloudtrail.json", sign(notification(ct), "1"))
    write("notif_v2_subject.json", sign(notification(ct, "Amazon S3 Notification"), "2"))
    write("notif_v2_s3event.json", sign(notification(s3ev), "2"))
    write("notif_v1_s3test.json", sign(notification(json.dumps(
        {"Service": "Amazon S3", "Event": "s3:TestEvent"})), "1"))
    write("notif_v2_escapes.json", sign(notification(
        "line1\nline2\t\"q\" \\ \u00e9 \U0001F600"), "2"))
    write("subscribe_v1.json", sign(confirmation("SubscriptionConfirmation"), "1"))
    write("unsubscribe_v2.json", sign(confirmation("UnsubscribeConfirmation"), "2"))
    lam = sign(notification(ct), "1")
    lam["SigningCertUrl"] = lam.pop("SigningCertURL")
    lam["UnsubscribeUrl"] = lam.pop("UnsubscribeURL")
    write("lambda_spelling.json", lam)
    bad = sign(notification(ct), "2")
    bad["Message"] = bad["Message"].replace("trail-bucket", "evil-bucket")
    write("bad_signature.json", bad)
    url = sign(notification(ct), "2")
    url["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/x.pem"
    write("bad_cert_url.json", url)
    write("not_object.json", None, raw='["Type", "Notification"]')
    write("non_string.json", None, raw='{"Type": "Notification", "MessageId": 1}')
    write("duplicate_keys.json", None,
          raw='{"Type": "Notification", "Type": "SubscriptionConfirmation"}')
    write("truncated.json", None, raw='{"Type": "Notification", "Message": "ab')
    big = notification(json.dumps({"s3Bucket": "b", "s3ObjectKey": [
        "k%d" % i for i in range(3000)]}))
    write("many_keys_v2.json", sign(big, "2"), raw=None)


if __name__ == "__main__":
    main()
