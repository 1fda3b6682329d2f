#!/usr/bin/env python3
"""Deterministic CloudTrail event generator for the pipeline fault test.

    gen_events.py --out DIR --records N [--per-file K] [--seed S]

Writes DIR/logs/part-NNNN.json.gz files ({"Records": [...]}, gzip, every
third file plain JSON to exercise both paths) and DIR/expected.tsv: one
line "rule<TAB>eventID" per alert that tests/data/pipeline/rules.yaml must
produce, reasoned from the same choices that generate the records:
  DeleteTrail            -> Pipeline Test Delete Trail
  CreateUser             -> Pipeline Test Create User
  userName == "mallory"  -> Pipeline Test Mallory Activity
(all three can hold for one record; rule_matching is "all").
Python 3 standard library only.
"""
import argparse
import gzip
import json
import os
import random

NAMES = [("GetObject", "s3.amazonaws.com", 40), ("PutObject", "s3.amazonaws.com", 15),
         ("DescribeInstances", "ec2.amazonaws.com", 15), ("AssumeRole", "sts.amazonaws.com", 12),
         ("Decrypt", "kms.amazonaws.com", 10), ("ListUsers", "iam.amazonaws.com", 5),
         ("CreateUser", "iam.amazonaws.com", 1), ("DeleteTrail", "cloudtrail.amazonaws.com", 1),
         ("ConsoleLogin", "signin.amazonaws.com", 1)]
USERS = [("alice", 30), ("bob", 30), ("carol", 20), ("deploy-bot", 19), ("mallory", 1)]


def weighted(rng, items):
    total = sum(w for *_, w in items)
    x = rng.uniform(0, total)
    for item in items:
        x -= item[-1]
        if x <= 0:
            return item
    return items[-1]


def record(rng, i):
    name, source, _ = weighted(rng, NAMES)
    user = weighted(rng, USERS)[0]
    eid = "%08x-0000-4000-8000-%012d" % (rng.getrandbits(32), i)
    params = {}
    if name == "DeleteTrail":
        params = {"name": "trail-%d" % (i % 7)}
    elif name == "CreateUser":
        params = {"userName": "user-%d" % i}
    elif source == "s3.amazonaws.com":
        params = {"bucketName": "bucket-%d" % (i % 13), "key": "k/%d.json" % i}
    rec = {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA%010d" % (i % 9973),
                         "arn": "arn:aws:iam::111122223333:user/" + user,
                         "accountId": "111122223333", "userName": user},
        "eventTime": "2024-05-%02dT%02d:%02d:%02dZ" % (1 + i // 86400 % 28, i // 3600 % 24,
                                                     i // 60 % 60, i % 60),
        "eventSource": source, "eventName": name, "awsRegion": "eu-west-1",
        "sourceIPAddress": "198.51.100.%d" % (i % 250 + 1),
        "userAgent": "aws-cli/2.15.%d" % (i % 30),
        "requestParameters": params, "responseElements": None,
        "requestID": "req-%010d" % i, "eventID": eid, "readOnly": name.startswith(("Get", "Describe", "List")),
        "eventType": "AwsApiCall", "managementEvent": True,
        "recipientAccountId": "111122223333",
    }
    alerts = []
    if name == "DeleteTrail":
        alerts.append("Pipeline Test Delete Trail")
    if name == "CreateUser":
        alerts.append("Pipeline Test Create User")
    if user == "mallory":
        alerts.append("Pipeline Test Mallory Activity")
    return rec, eid, alerts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--records", type=int, default=100000)
    ap.add_argument("--per-file", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    logs = os.path.join(a.out, "logs")
    os.makedirs(logs, exist_ok=True)
    expected = []
    i = 0
    part = 0
    while i < a.records:
        n = min(a.per_file, a.records - i)
        recs = []
        for _ in range(n):
            rec, eid, alerts = record(rng, i)
            recs.append(rec)
            expected.extend((r, eid) for r in alerts)
            i += 1
        body = json.dumps({"Records": recs}, separators=(",", ":")).encode()
        path = os.path.join(logs, "part-%04d.json" % part)
        if part % 3 == 2:
            with open(path, "wb") as f:
                f.write(body)
        else:
            with open(path + ".gz", "wb") as f:
                f.write(gzip.compress(body, compresslevel=1, mtime=0))
        part += 1
    with open(os.path.join(a.out, "expected.tsv"), "w") as f:
        for rule, eid in expected:
            f.write("%s\t%s\n" % (rule, eid))
    print("%d records, %d files, %d alerts expected" % (i, part, len(expected)))


if __name__ == "__main__":
    main()
