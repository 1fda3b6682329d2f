#!/usr/bin/env python3
"""Deterministic CloudTrail corpus for trailguard's benchmarks and soak tests.

Writes gzipped {"Records":[...]} files laid out like a trail
(AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/<name>.json.gz), 500 to
2,000 records each, plus files.txt listing them.  The event mix follows what a
busy production account looks like: S3 data events dominate, then EC2
describes, STS, KMS; IAM writes, CloudTrail changes and console logins are
rare.  Five identity types, ~5% errors, a few non-ASCII S3 keys.  The same
--seed always gives byte-identical files.

    python3 bench/gen_corpus.py --out DIR [--records N] [--seed S] [--jobs J]
"""
import argparse
import gzip
import json
import os
import random
from multiprocessing import Pool

ACCOUNTS = ["111122223333", "210987654321", "555566667777"]
REGIONS = ["us-east-1", "us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"]
ROLES = ["app-runtime", "ci-pipeline", "AWSReservedSSO_PowerUser_5f1e2d3c4b5a6978",
         "data-etl", "observability-agent", "karpenter-node", "backup-operator"]
USERS = ["dana", "eli", "frank", "grace", "release-bot", "legacy-svc"]
BUCKETS = ["acme-prod-data", "acme-web-assets", "acme-audit-logs", "acme-ml-features",
           "acme-exports", "acme-tf-state"]
AGENTS = [
    "aws-sdk-go-v2/1.21.{0} os/linux lang/go#1.21.{1} md/GOOS#linux md/GOARCH#amd64",
    "Boto3/1.28.{0} md/Botocore#1.31.{0} ua/2.0 os/linux#6.1.{1} lang/python#3.11.{1}",
    "aws-cli/2.13.{0} Python/3.11.{1} Linux/6.1.0-{1}-amd64 exe/x86_64.debian.12",
    "aws-sdk-java/2.20.{0} Linux/5.10.{1} OpenJDK_64-Bit_Server_VM/17.0.{1}",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.{0} Safari/605.1.15",
    "AWS Internal",
]
WORDS = ["orders", "2026", "daily", "raw", "part-0001", "thumbs", "invoices", "tmp",
         "résumé", "größe", "季度", "monthly report"]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def hexs(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def upper_id(self, prefix, n=17):
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        return prefix + "".join(self.r.choice(alphabet) for _ in range(n))

    def uuid(self):
        h = self.hexs(32)
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"

    def ip(self):
        r = self.r
        if r.random() < 0.25:
            return f"10.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"
        return f"{r.choice([3, 13, 18, 34, 52, 54, 99])}.{r.randrange(256)}.{r.randrange(256)}.{r.randrange(1, 255)}"

    def agent(self):
        return self.r.choice(AGENTS).format(self.r.randrange(10, 99), self.r.randrange(1, 20))

    def identity(self, acct, ts):
        r = self.r
        x = r.random()
        if x < 0.70:
            role = r.choice(ROLES)
            sess = f"{role[:8]}-{self.hexs(8)}"
            rid = self.upper_id("AROA")
            return {"type": "AssumedRole", "principalId": f"{rid}:{sess}",
                    "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{sess}",
                    "accountId": acct, "accessKeyId": self.upper_id("ASIA", 16),
                    "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": rid,
                                       "arn": f"arn:aws:iam::{acct}:role/{role}",
                                       "accountId": acct, "userName": role},
                                       "webIdFederationData": {},
                                       "attributes": {"creationDate": ts, "mfaAuthenticated": "false"}}}
        if x < 0.85:
            u = r.choice(USERS)
            return {"type": "IAMUser", "principalId": self.upper_id("AIDA"),
                    "arn": f"arn:aws:iam::{acct}:user/{u}", "accountId": acct,
                    "accessKeyId": self.upper_id("AKIA", 16), "userName": u}
        if x < 0.97:
            return {"type": "AWSService", "invokedBy": r.choice(
                ["ec2.amazonaws.com", "lambda.amazonaws.com", "cloudformation.amazonaws.com",
                 "config.amazonaws.com"])}
        if x < 0.99:
            return {"type": "AWSAccount", "principalId": self.upper_id("AIDA"),
                    "accountId": r.choice(ACCOUNTS)}
        return {"type": "Root", "principalId": acct, "arn": f"arn:aws:iam::{acct}:root",
                "accountId": acct, "accessKeyId": self.upper_id("ASIA", 16)}

    def s3_key(self):
        k = "/".join(self.r.choice(WORDS) for _ in range(self.r.randint(2, 4)))
        return k + "/" + self.hexs(10) + self.r.choice([".parquet", ".json.gz", ".csv", ".png"])

    # Each builder returns (requestParameters, responseElements, additionalEventData,
    # readOnly, management, resources)
    def b_s3_object(self, name, acct, region):
        b = self.r.choice(BUCKETS)
        k = self.s3_key()
        rp = {"bucketName": b, "Host": f"{b}.s3.{region}.amazonaws.com", "key": k}
        size = self.r.randrange(100, 5_000_000)
        aed = {"SignatureVersion": "SigV4", "CipherSuite": "TLS_AES_128_GCM_SHA256",
               "bytesTransferredIn": float(size if name == "PutObject" else 0),
               "AuthenticationMethod": "AuthHeader", "x-amz-id-2": self.hexs(40),
               "bytesTransferredOut": float(size if name == "GetObject" else 0)}
        res = [{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{b}/{k}"},
               {"accountId": acct, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{b}"}]
        return rp, None, aed, name in ("GetObject", "HeadObject"), False, res

    def b_s3_bucket(self, name, acct, region):
        b = self.r.choice(BUCKETS)
        rp = {"bucketName": b, "Host": f"{b}.s3.{region}.amazonaws.com"}
        if name == "PutBucketPolicy":
            rp["policy"] = json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{acct}:root"},
                 "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/*"}]})
        if name == "PutBucketAcl":
            rp["acl"] = ""
            rp["x-amz-acl"] = [self.r.choice(["private", "private", "public-read"])]
        return rp, None, None, name.startswith(("Get", "List")), True, None

    def b_ec2_describe(self, name, acct, region):
        return {"maxResults": 1000, "filterSet": {}}, None, None, True, True, None

    def b_ec2_write(self, name, acct, region):
        iid = "i-" + self.hexs(17)
        if name == "RunInstances":
            rp = {"instancesSet": {"items": [{"imageId": "ami-" + self.hexs(17), "minCount": 1, "maxCount": 1}]},
                  "instanceType": self.r.choice(["t3.micro", "m6i.large", "c6g.xlarge"])}
            re_ = {"reservationId": "r-" + self.hexs(17), "ownerId": acct,
                   "instancesSet": {"items": [{"instanceId": iid, "subnetId": "subnet-" + self.hexs(17)}]}}
        elif name == "AuthorizeSecurityGroupIngress":
            rp = {"groupId": "sg-" + self.hexs(17), "ipPermissions": {"items": [
                {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443,
                 "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}}]}}
            re_ = {"_return": True}
        else:
            rp = {"instancesSet": {"items": [{"instanceId": iid}]}}
            re_ = {"instancesSet": {"items": [{"instanceId": iid, "currentState": {"code": 32, "name": "shutting-down"}}]}}
        return rp, re_, None, False, True, None

    def b_sts(self, name, acct, region):
        if name == "GetCallerIdentity":
            return None, None, None, True, True, None
        role = self.r.choice(ROLES)
        rp = {"roleArn": f"arn:aws:iam::{acct}:role/{role}", "roleSessionName": self.hexs(12),
              "durationSeconds": 3600}
        re_ = {"credentials": {"accessKeyId": self.upper_id("ASIA", 16),
                               "sessionToken": self.hexs(64), "expiration": "Nov 27, 2026, 12:00:00 PM"},
               "assumedRoleUser": {"assumedRoleId": self.upper_id("AROA") + ":" + self.hexs(12),
                                   "arn": f"arn:aws:sts::{acct}:assumed-role/{role}/{self.hexs(12)}"}}
        return rp, re_, None, True, True, [{"accountId": acct, "type": "AWS::IAM::Role",
                                            "ARN": f"arn:aws:iam::{acct}:role/{role}"}]

    def b_kms(self, name, acct, region):
        key = f"arn:aws:kms:{region}:{acct}:key/{self.uuid()}"
        rp = {"keyId": key, "encryptionAlgorithm": "SYMMETRIC_DEFAULT"}
        if name in ("ScheduleKeyDeletion", "DisableKey"):
            rp = {"keyId": key, "pendingWindowInDays": 7} if name == "ScheduleKeyDeletion" else {"keyId": key}
        return rp, None, None, name in ("Decrypt", "Encrypt", "GenerateDataKey"), True, [
            {"accountId": acct, "type": "AWS::KMS::Key", "ARN": key}]

    def b_iam(self, name, acct, region):
        u = self.r.choice(USERS)
        role = self.r.choice(ROLES)
        rp = {"userName": u}
        if "Role" in name:
            rp = {"roleName": role}
        if name in ("AttachUserPolicy", "AttachRolePolicy"):
            rp["policyArn"] = self.r.choice(["arn:aws:iam::aws:policy/ReadOnlyAccess",
                                             "arn:aws:iam::aws:policy/AdministratorAccess"])
        if name == "UpdateAssumeRolePolicy":
            rp["policyDocument"] = json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
        return rp, None, None, name.startswith(("Get", "List")), True, None

    def b_trail(self, name, acct, region):
        trail = f"arn:aws:cloudtrail:{region}:{acct}:trail/org-trail"
        return {"name": trail}, None, None, name in ("LookupEvents", "DescribeTrails"), True, None

    def b_signin(self, name, acct, region):
        return None, {"ConsoleLogin": self.r.choice(["Success", "Success", "Failure"])}, {
            "LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No",
            "MFAUsed": self.r.choice(["Yes", "Yes", "No"])}, False, True, None

    def b_misc(self, name, acct, region):
        if name.startswith("GetParameter"):
            return {"name": f"/app/{self.r.choice(['db', 'api', 'cache'])}/url", "withDecryption": True}, None, None, True, True, None
        if name == "GetSecretValue":
            return {"secretId": f"prod/{self.r.choice(['db', 'stripe', 'github'])}"}, None, None, True, True, None
        if name == "CreateLogStream":
            return {"logGroupName": "/aws/lambda/orders", "logStreamName": self.hexs(32)}, None, None, False, True, None
        return {"limit": 50}, None, None, True, True, None


MIX = [
    ("s3.amazonaws.com", "GetObject", 240, "b_s3_object"),
    ("s3.amazonaws.com", "PutObject", 80, "b_s3_object"),
    ("s3.amazonaws.com", "HeadObject", 30, "b_s3_object"),
    ("s3.amazonaws.com", "DeleteObject", 10, "b_s3_object"),
    ("s3.amazonaws.com", "ListBuckets", 10, "b_s3_bucket"),
    ("s3.amazonaws.com", "GetBucketAcl", 10, "b_s3_bucket"),
    ("s3.amazonaws.com", "PutBucketPolicy", 0.5, "b_s3_bucket"),
    ("s3.amazonaws.com", "PutBucketAcl", 0.5, "b_s3_bucket"),
    ("ec2.amazonaws.com", "DescribeInstances", 100, "b_ec2_describe"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", 30, "b_ec2_describe"),
    ("ec2.amazonaws.com", "DescribeVolumes", 20, "b_ec2_describe"),
    ("ec2.amazonaws.com", "RunInstances", 3, "b_ec2_write"),
    ("ec2.amazonaws.com", "TerminateInstances", 1, "b_ec2_write"),
    ("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", 1, "b_ec2_write"),
    ("sts.amazonaws.com", "AssumeRole", 100, "b_sts"),
    ("sts.amazonaws.com", "AssumeRoleWithWebIdentity", 15, "b_sts"),
    ("sts.amazonaws.com", "GetCallerIdentity", 30, "b_sts"),
    ("kms.amazonaws.com", "Decrypt", 100, "b_kms"),
    ("kms.amazonaws.com", "GenerateDataKey", 40, "b_kms"),
    ("kms.amazonaws.com", "Encrypt", 15, "b_kms"),
    ("kms.amazonaws.com", "ScheduleKeyDeletion", 0.2, "b_kms"),
    ("kms.amazonaws.com", "DisableKey", 0.2, "b_kms"),
    ("iam.amazonaws.com", "GetRole", 20, "b_iam"),
    ("iam.amazonaws.com", "ListRoles", 10, "b_iam"),
    ("iam.amazonaws.com", "ListAttachedRolePolicies", 10, "b_iam"),
    ("iam.amazonaws.com", "CreateUser", 0.5, "b_iam"),
    ("iam.amazonaws.com", "DeleteUser", 0.3, "b_iam"),
    ("iam.amazonaws.com", "CreateAccessKey", 0.5, "b_iam"),
    ("iam.amazonaws.com", "AttachUserPolicy", 0.5, "b_iam"),
    ("iam.amazonaws.com", "AttachRolePolicy", 0.5, "b_iam"),
    ("iam.amazonaws.com", "UpdateAssumeRolePolicy", 0.3, "b_iam"),
    ("iam.amazonaws.com", "CreateLoginProfile", 0.3, "b_iam"),
    ("cloudtrail.amazonaws.com", "LookupEvents", 5, "b_trail"),
    ("cloudtrail.amazonaws.com", "DescribeTrails", 3, "b_trail"),
    ("cloudtrail.amazonaws.com", "DeleteTrail", 0.05, "b_trail"),
    ("cloudtrail.amazonaws.com", "StopLogging", 0.05, "b_trail"),
    ("cloudtrail.amazonaws.com", "UpdateTrail", 0.1, "b_trail"),
    ("signin.amazonaws.com", "ConsoleLogin", 2, "b_signin"),
    ("ssm.amazonaws.com", "GetParameter", 30, "b_misc"),
    ("ssm.amazonaws.com", "GetParameters", 10, "b_misc"),
    ("secretsmanager.amazonaws.com", "GetSecretValue", 15, "b_misc"),
    ("lambda.amazonaws.com", "ListFunctions20150331", 5, "b_misc"),
    ("logs.amazonaws.com", "CreateLogStream", 20, "b_misc"),
    ("logs.amazonaws.com", "DescribeLogGroups", 5, "b_misc"),
    ("dynamodb.amazonaws.com", "DescribeTable", 10, "b_misc"),
]
ERRORS = [("AccessDenied", "User is not authorized to perform this operation"),
          ("ThrottlingException", "Rate exceeded"),
          ("NoSuchEntityException", "The entity cannot be found.")]


def make_record(g, acct, region, ts):
    src, name, _w, builder = g.r.choices(MIX, weights=[m[2] for m in MIX])[0]
    rp, re_, aed, ro, mgmt, res = getattr(g, builder)(name, acct, region)
    ident = g.identity(acct, ts)
    if name == "ConsoleLogin" and ident["type"] == "AWSService":
        ident = {"type": "IAMUser", "principalId": g.upper_id("AIDA"),
                 "arn": f"arn:aws:iam::{acct}:user/dana", "accountId": acct, "userName": "dana"}
    rec = {"eventVersion": "1.09", "userIdentity": ident, "eventTime": ts,
           "eventSource": src, "eventName": name, "awsRegion": region,
           "sourceIPAddress": ident.get("invokedBy") or g.ip(),
           "userAgent": ident.get("invokedBy") or g.agent(),
           "requestParameters": rp, "responseElements": re_}
    if g.r.random() < 0.05 and name != "ConsoleLogin":
        code, msg = g.r.choice(ERRORS)
        rec["errorCode"], rec["errorMessage"] = code, msg
        rec["responseElements"] = None
    if aed is not None:
        rec["additionalEventData"] = aed
    rec.update({"requestID": g.uuid(), "eventID": g.uuid(), "readOnly": ro})
    if res:
        rec["resources"] = res
    rec.update({"eventType": "AwsConsoleSignIn" if name == "ConsoleLogin" else "AwsApiCall",
                "managementEvent": mgmt, "recipientAccountId": acct,
                "eventCategory": "Management" if mgmt else "Data",
                "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                               "clientProvidedHostHeader": f"{src.split('.')[0]}.{region}.amazonaws.com"}})
    return rec


def write_file(args):
    out, seed, index, count = args
    g = Gen(seed * 1_000_003 + index)
    acct = ACCOUNTS[index % len(ACCOUNTS)]
    region = REGIONS[(index // len(ACCOUNTS)) % len(REGIONS)]
    minute = index * 5
    day = 1 + (minute // 1440) % 28
    hh, mm = (minute // 60) % 24, minute % 60
    records = []
    for i in range(count):
        ts = f"2026-11-{day:02d}T{hh:02d}:{mm:02d}:{(i * 7) % 60:02d}Z"
        records.append(make_record(g, acct, region, ts))
    rel = (f"AWSLogs/{acct}/CloudTrail/{region}/2026/11/{day:02d}/"
           f"{acct}_CloudTrail_{region}_202611{day:02d}T{hh:02d}{mm:02d}Z_{g.hexs(16)}.json.gz")
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    data = json.dumps({"Records": records}, separators=(",", ":"), ensure_ascii=False).encode()
    with open(path, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", mtime=0, filename="", compresslevel=6) as z:
            z.write(data)
    return rel, count


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args()
    plan_rng = random.Random(a.seed)
    plan, left, i = [], a.records, 0
    while left > 0:
        n = min(left, plan_rng.randint(500, 2000))
        plan.append((a.out, a.seed, i, n))
        left -= n
        i += 1
    with Pool(a.jobs) as pool:
        done = pool.map(write_file, plan, chunksize=4)
    with open(os.path.join(a.out, "files.txt"), "w") as f:
        for rel, n in done:
            f.write(f"{rel}\t{n}\n")
    print(f"{sum(n for _, n in done)} records in {len(done)} files under {a.out}")


if __name__ == "__main__":
    main()
