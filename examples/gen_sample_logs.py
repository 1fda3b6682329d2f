#!/usr/bin/env python3
"""Write the bundled sample CloudTrail logs that `make demo` runs on.

The records are synthetic, written by the trailguard authors from the record
shapes AWS documents; account ids, keys and addresses are documentation
placeholders.  The story: routine read-only noise, then an intruder with a
stolen access key who creates a backdoor user, grants it admin, turns off
CloudTrail, opens a bucket to the world and starts instances in an unusual
region.  Output is deterministic (fixed timestamps, gzip mtime 0).

    python3 examples/gen_sample_logs.py [OUTDIR]   # default: examples/logs
"""
import gzip
import json
import os
import sys

ACCOUNT = "111122223333"
REGION = "us-east-1"
ADMIN_ARN = f"arn:aws:iam::{ACCOUNT}:user/ci-deployer"
STOLEN = {
    "type": "IAMUser",
    "principalId": "AIDAEXAMPLESTOLEN0001",
    "arn": ADMIN_ARN,
    "accountId": ACCOUNT,
    "accessKeyId": "AKIAEXAMPLESTOLEN001",
    "userName": "ci-deployer",
}
ATTACKER_IP = "203.0.113.66"
ATTACKER_UA = "aws-cli/2.13.0 Python/3.11.4 Linux/6.1.0 exe/x86_64.debian"


def record(n, minute, name, source, params=None, response=None, identity=None,
           ip=ATTACKER_IP, ua=ATTACKER_UA, read_only=False, error=None,
           region=REGION, extra=None):
    rec = {
        "eventVersion": "1.09",
        "userIdentity": identity or STOLEN,
        "eventTime": f"2026-11-27T10:{minute:02d}:{n % 60:02d}Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": ip,
        "userAgent": ua,
        "requestParameters": params,
        "responseElements": response,
        "requestID": f"0d3c{n:04d}-7e1f-4f7a-9d2b-5c1a2b3c{n:04d}",
        "eventID": f"6a1b{n:04d}-2c3d-4e5f-8a9b-0c1d2e3f{n:04d}",
        "readOnly": read_only,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }
    if error:
        rec["errorCode"], rec["errorMessage"] = error
    if extra:
        rec.update(extra)
    return rec


def noise(start, count, minute):
    ops = [
        ("DescribeInstances", "ec2.amazonaws.com", {"instancesSet": {}, "filterSet": {}}),
        ("ListBuckets", "s3.amazonaws.com", {"Host": "s3.amazonaws.com"}),
        ("GetCallerIdentity", "sts.amazonaws.com", None),
        ("DescribeTrails", "cloudtrail.amazonaws.com", {"includeShadowTrails": True}),
        ("GetBucketAcl", "s3.amazonaws.com", {"bucketName": "app-assets", "acl": "", "Host": "app-assets.s3.amazonaws.com"}),
    ]
    ident = {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEREADONLY1:monitoring",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ReadOnlyMonitor/monitoring",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEMONITOR01",
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEREADONLY1",
                              "arn": f"arn:aws:iam::{ACCOUNT}:role/ReadOnlyMonitor",
                              "accountId": ACCOUNT, "userName": "ReadOnlyMonitor"},
            "attributes": {"creationDate": "2026-11-27T09:00:00Z", "mfaAuthenticated": "false"},
        },
    }
    out = []
    for i in range(count):
        name, src, params = ops[i % len(ops)]
        out.append(record(start + i, minute, name, src, params, None, ident,
                          ip="198.51.100.10", ua="Boto3/1.28.0 Python/3.11.4",
                          read_only=True))
    return out


def attack(start):
    n = start
    recs = []

    def add(minute, *a, **kw):
        nonlocal n
        recs.append(record(n, minute, *a, **kw))
        n += 1

    add(20, "GetCallerIdentity", "sts.amazonaws.com", None, read_only=True)
    add(21, "CreateUser", "iam.amazonaws.com", {"userName": "svc-backup"},
        {"user": {"path": "/", "userName": "svc-backup", "userId": "AIDAEXAMPLEBACKDOOR1",
                  "arn": f"arn:aws:iam::{ACCOUNT}:user/svc-backup",
                  "createDate": "Nov 27, 2026 10:21:01 AM"}})
    add(21, "AttachUserPolicy", "iam.amazonaws.com",
        {"userName": "svc-backup", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})
    add(22, "CreateAccessKey", "iam.amazonaws.com", {"userName": "svc-backup"},
        {"accessKey": {"userName": "svc-backup", "accessKeyId": "AKIAEXAMPLEBACKDOOR1",
                       "status": "Active", "createDate": "Nov 27, 2026 10:22:03 AM"}})
    add(22, "CreateLoginProfile", "iam.amazonaws.com",
        {"userName": "svc-backup", "passwordResetRequired": False}, None)
    add(23, "StopLogging", "cloudtrail.amazonaws.com",
        {"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-audit"}, None)
    add(23, "DeleteTrail", "cloudtrail.amazonaws.com",
        {"name": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/org-audit"}, None)
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::customer-exports/*"}]})
    add(24, "PutBucketPolicy", "s3.amazonaws.com",
        {"bucketName": "customer-exports", "Host": "customer-exports.s3.amazonaws.com",
         "policy": policy}, None)
    add(24, "PutBucketPublicAccessBlock", "s3.amazonaws.com",
        {"publicAccessBlock": "", "bucketName": "customer-exports",
         "Host": "customer-exports.s3.amazonaws.com",
         "PublicAccessBlockConfiguration": {
             "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
             "RestrictPublicBuckets": False, "BlockPublicPolicy": False,
             "BlockPublicAcls": False, "IgnorePublicAcls": False}}, None)
    add(25, "DeleteBucketEncryption", "s3.amazonaws.com",
        {"bucketName": "customer-exports", "Host": "customer-exports.s3.amazonaws.com",
         "encryption": ""}, None)
    add(26, "RunInstances", "ec2.amazonaws.com",
        {"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 4, "maxCount": 4}]},
         "instanceType": "p3.16xlarge", "availabilityZone": "ap-southeast-3a"},
        {"requestId": "3c1a2b3c-0000-4000-8000-000000000001", "reservationId": "r-0example0000001",
         "ownerId": ACCOUNT, "instancesSet": {"items": [
             {"instanceId": "i-0example000000001", "imageId": "ami-0abcdef1234567890",
              "subnetId": "subnet-0example0001"}]}},
        region="ap-southeast-3")
    add(27, "DeleteTrail", "cloudtrail.amazonaws.com",
        {"name": "backup-trail"}, None, error=("AccessDenied",
        "User: arn:aws:iam::111122223333:user/ci-deployer is not authorized to perform: cloudtrail:DeleteTrail"))
    login_ident = {"type": "IAMUser", "principalId": "AIDAEXAMPLEBACKDOOR1",
                   "arn": f"arn:aws:iam::{ACCOUNT}:user/svc-backup", "accountId": ACCOUNT,
                   "userName": "svc-backup"}
    recs.append(record(n, 28, "ConsoleLogin", "signin.amazonaws.com", None,
                       {"ConsoleLogin": "Success"}, login_ident,
                       ua="Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                       extra={"additionalEventData": {
                           "LoginTo": "https://console.aws.amazon.com/console/home",
                           "MobileVersion": "No", "MFAUsed": "No"},
                           "eventType": "AwsConsoleSignIn", "readOnly": False}))
    return recs


def write(path, records, gz):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = json.dumps({"Records": records}, separators=(",", ":")).encode()
    if gz:
        with open(path, "wb") as f:
            with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="") as g:
                g.write(data)
    else:
        with open(path, "wb") as f:
            f.write(data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "logs")
    base = os.path.join(out, "AWSLogs", ACCOUNT, "CloudTrail", REGION, "2026", "11", "27")
    stem = f"{ACCOUNT}_CloudTrail_{REGION}_20261127T10"
    write(os.path.join(base, f"{stem}05Z_q8Jx2mB0c3aPpW1d.json.gz"), noise(0, 40, 5), True)
    write(os.path.join(base, f"{stem}20Z_Zr7kT4vN1sYbE9hQ.json.gz"), noise(40, 10, 19) + attack(100), True)
    # One plain (not gzipped) file: the fetcher sniffs gzip by magic, not suffix.
    write(os.path.join(base, f"{stem}30Z_Lm3dR8wQ5tUcV2nK.json"), noise(200, 15, 30), False)


if __name__ == "__main__":
    main()
