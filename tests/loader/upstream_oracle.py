#!/usr/bin/env python3
"""Independent oracle for the 22 upstream CloudTrail rules.

Implements each rule condition of ../shared/falco/aws_cloudtrail_rules.yaml
directly in Python from ../shared/spec/falco-upstream-rules.md (section 2)
and the field semantics of ../shared/spec/cloudtrail-fields.md (Rule S,
json.value), without using the engine.  Usage:

    upstream_oracle.py FILE...

prints "<file basename>\t<record index>\t<rule>" for every (record, rule)
that matches with rule_matching all and every rule enabled.  Records the
plugin drops (falco-cloudtrail-plugin.md 4.3) are skipped.
"""
import json
import os
import re
import sys

MISSING = object()


def first_wins(pairs):
    """JSON object hook: with duplicate keys the first occurrence wins."""
    d = {}
    for k, v in pairs:
        if k not in d:
            d[k] = v
    return d


def rule_s(rec, path):
    """Rule S: absent if not found; string -> itself; other types -> ''."""
    cur = rec
    for key in path.split('.'):
        if not isinstance(cur, dict) or key not in cur:
            return MISSING
        cur = cur[key]
    return cur if isinstance(cur, str) else ''


def json_value(rec, ptr):
    """json.value[ptr]: strings unescaped, everything else compact JSON."""
    cur = rec
    for seg in ptr[1:].split('/'):
        seg = seg.replace('~1', '/').replace('~0', '~')
        if isinstance(cur, dict):
            if seg not in cur:
                return MISSING
            cur = cur[seg]
        elif isinstance(cur, list):
            if not re.fullmatch(r'0|[1-9][0-9]*', seg) or int(seg) >= len(cur):
                return MISSING
            cur = cur[int(seg)]
        else:
            return MISSING
    if isinstance(cur, str):
        return cur
    return json.dumps(cur, separators=(',', ':'))


def eq(v, s):
    return v is not MISSING and v == s


def ne(v, s):
    return v is not MISSING and v != s


def exists(v):
    return v is not MISSING


RFC3339 = re.compile(r'\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$')


def emitted(rec):
    et, ty = rec.get('eventTime'), rec.get('eventType')
    if not isinstance(et, str) or not RFC3339.match(et):
        return False
    if not isinstance(ty, str) or ty == 'AwsCloudTrailInsight':
        return False
    return True


def rules_for(rec):
    name = rule_s(rec, 'eventName')
    err = rule_s(rec, 'errorCode')
    itype = rule_s(rec, 'userIdentity.type')
    src = rule_s(rec, 'eventSource')
    region = rule_s(rec, 'awsRegion')
    ok = not exists(err)
    login_ok = eq(json_value(rec, '/responseElements/ConsoleLogin'), 'Success')
    no_mfa = eq(json_value(rec, '/additionalEventData/MFAUsed'), 'No')
    pab = '/requestParameters/PublicAccessBlockConfiguration/'
    approved_regions = ['us-east-0']

    def simple(n):
        return eq(name, n) and ok

    r = [
        ('All Cloudtrail Events', True),  # evt.num > 0: evt.num is 1-based
        ('Console Login Through Assume Role',
         eq(name, 'ConsoleLogin') and ok and eq(itype, 'AssumedRole') and login_ok),
        ('Console Login Without MFA',
         eq(name, 'ConsoleLogin') and ok and ne(itype, 'AssumedRole') and login_ok and no_mfa),
        ('Console Root Login Without MFA',
         eq(name, 'ConsoleLogin') and ok and no_mfa and ne(itype, 'AssumedRole') and login_ok
         and eq(itype, 'Root')),
        ('Deactivate MFA for Root User',
         eq(name, 'DeactivateMFADevice') and ok and eq(itype, 'Root')
         and eq(rule_s(rec, 'requestParameters.userName'), 'AWS ROOT USER')),
        ('Create AWS user', simple('CreateUser')),
        ('Create Group', simple('CreateGroup')),
        ('Delete Group', simple('DeleteGroup')),
        ('ECS Service Created', eq(src, 'ecs.amazonaws.com') and simple('CreateService')),
        ('ECS Task Run or Started',
         eq(src, 'ecs.amazonaws.com') and (eq(name, 'RunTask') or eq(name, 'StartTask')) and ok),
        ('Create Lambda Function', simple('CreateFunction20150331')),
        ('Update Lambda Function Code', simple('UpdateFunctionCode20150331v2')),
        ('Update Lambda Function Configuration', simple('UpdateFunctionConfiguration20150331v2')),
        ('Run Instances', simple('RunInstances')),
        ('Run Instances in Non-approved Region',
         simple('RunInstances') and not (region is not MISSING and region in approved_regions)),
        ('Delete Bucket Encryption', simple('DeleteBucketEncryption')),
        ('Delete Bucket Public Access Block',
         simple('PutBucketPublicAccessBlock')
         and eq(json_value(rec, '/requestParameters/publicAccessBlock'), '')
         and any(eq(json_value(rec, pab + k), 'false') for k in
                 ('RestrictPublicBuckets', 'BlockPublicPolicy', 'BlockPublicAcls',
                  'IgnorePublicAcls'))),
        ('List Buckets', simple('ListBuckets')),
        ('Put Bucket ACL', simple('PutBucketAcl')),
        ('Put Bucket Policy', simple('PutBucketPolicy')),
        ('CloudTrail Trail Created', simple('CreateTrail')),
        ('CloudTrail Logging Disabled', simple('StopLogging')),
    ]
    assert len(r) == 22
    return [n for n, hit in r if hit]


def records(path):
    with open(path, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    try:
        doc = json.loads(text, object_pairs_hook=first_wins)
        if isinstance(doc, dict) and isinstance(doc.get('Records'), list):
            for i, r in enumerate(doc['Records']):
                yield i, r
            return
    except ValueError:
        pass
    for i, line in enumerate(text.split('\n')):
        if not line.strip():
            continue
        try:
            ev = json.loads(line, object_pairs_hook=first_wins).get('event')
        except ValueError:
            continue
        if isinstance(ev, dict):
            yield i, ev


def main():
    for path in sys.argv[1:]:
        base = os.path.basename(path)
        for i, rec in records(path):
            if not isinstance(rec, dict) or not emitted(rec):
                continue
            for name in rules_for(rec):
                print('%s\t%d\t%s' % (base, i, name))


if __name__ == '__main__':
    main()
