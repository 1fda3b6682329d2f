#!/usr/bin/env python3
"""The credential chain through the daemon: `trailguard run --once
s3://trail` against s3rver behind the SigV4 verifier (the test's own
uploads are unsigned; every request of the fetcher must be signed and
verify: the peer's unsigned count must not grow), with
  1. keys from the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY);
  2. a wrong secret in the environment: every request is refused, the
     run reports the failed input and exits 1;
  3. no keys in the environment, a profile in a shared credentials file
     (AWS_SHARED_CREDENTIALS_FILE + AWS_PROFILE) and the region from the
     profile in AWS_CONFIG_FILE.
IMDS is disabled and HOME points into the test directory; the unit tests
(tests/aws/test_aws_creds) cover web identity, ECS, IMDSv2 and AssumeRole.
"""
import collections
import os
import time

from e2e import Harness, Peer, Run, Trail, alert_ids, guard, require_node

require_node()
h = Harness("aws_e2e_creds")
guard(h)
peer = Peer(h, "s3", ["--s3rver"],
            {"TG_PEER_BUCKETS": "trail",
             "TG_PEER_KEYS": "AKIDTGTEST:tgTestSecretKey/0123456789+abcdefghij,"
                             "AKIDE2EENV:envSecret/0123456789,AKIDE2EPROFILE:profileSecret/0123456789"})
trail = Trail()
now = time.time()
keys = []
for acct, region in [("111122223333", "us-east-1"), ("444455556666", "eu-west-1")]:
    key, data = trail.file(acct, region, now - 600)
    keys.append(key)
    peer.put("trail", key, data)
unsigned = peer.stats()["unsigned"]
want = collections.Counter(i for k in keys for i in trail.expected[k])


def run(name, env):
    out = h.path("alerts-%s.json" % name)
    e = {"AWS_ENDPOINT_URL_S3": peer.url}
    e.update(env)
    r = Run(h, name, ["--once", "--state-dir", h.path("state-" + name), "-o", "file:" + out,
                      "s3://trail"], e)
    return r.wait_exit(60), collections.Counter(alert_ids(h, out)), r


rc, got, _ = run("env", {"AWS_ACCESS_KEY_ID": "AKIDE2EENV", "AWS_SECRET_ACCESS_KEY": "envSecret/0123456789",
                         "AWS_REGION": "us-east-1"})
h.check(rc == 0 and got == want, "env credentials: exit %d, %d alerts of %d" %
        (rc, sum(got.values()), sum(want.values())))
rej0 = peer.stats()["rejected"]
h.check(rej0 == 0, "env credentials: %d requests rejected" % rej0)
h.check(peer.stats()["verified"] > 0 and peer.stats()["unsigned"] == unsigned,
        "env credentials: unsigned requests from the fetcher")
print("1: environment credentials")

rc, got, r = run("badenv", {"AWS_ACCESS_KEY_ID": "AKIDE2EENV", "AWS_SECRET_ACCESS_KEY": "wrong",
                            "AWS_REGION": "us-east-1"})
h.check(rc == 1 and not got, "wrong secret: exit %d, %d alerts" % (rc, sum(got.values())))
h.check(peer.stats()["rejected"] > rej0, "wrong secret: nothing rejected by the verifier")
with open(r.log("fetcher-0"), errors="replace") as f:
    log = f.read()
h.check("wrong" not in log.replace("wrong secret", ""), "the secret appears in the fetcher log")
print("2: a wrong secret is refused and reported")

creds = h.path("aws-credentials")
with open(creds, "w") as f:
    f.write("[default]\naws_access_key_id = AKIDNOTUSED\naws_secret_access_key = nope\n\n"
            "[e2e]\naws_access_key_id = AKIDE2EPROFILE\naws_secret_access_key = profileSecret/0123456789\n")
config = h.path("aws-config")
with open(config, "w") as f:
    f.write("[profile e2e]\nregion = us-east-1\n")
rej1 = peer.stats()["rejected"]
rc, got, _ = run("profile", {"AWS_SHARED_CREDENTIALS_FILE": creds, "AWS_CONFIG_FILE": config,
                             "AWS_PROFILE": "e2e"})
h.check(rc == 0 and got == want, "profile credentials: exit %d, %d alerts of %d" %
        (rc, sum(got.values()), sum(want.values())))
h.check(peer.stats()["rejected"] == rej1, "profile credentials: requests rejected")
h.check(peer.stats()["unsigned"] == unsigned, "profile credentials: unsigned requests")
print("3: profile from the shared credentials file, region from the config file")
peer.stop()
h.done()
