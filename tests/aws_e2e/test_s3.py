#!/usr/bin/env python3
"""S3 polling through the real daemons (`trailguard run`), against s3rver
behind the SigV4 verifier (every request of the fetcher is checked with
@smithy/signature-v4; unsigned test uploads pass through).

1. A trail-shaped bucket (three accounts, two regions, an organization
   trail path, plus a digest and an Insight file that must be skipped) is
   processed exactly once with --once: the alerts equal the planted
   E2ETrigger records, one GetObject per file.
2. A second --once run on the same state directory after new files landed
   resumes from the checkpoint: only the new files are fetched and alerted.
3. A continuous run (poll interval 1s) picks up files that appear later,
   including one delivered late under an earlier key after a poll; the
   fetcher is SIGKILLed mid-way, restarted by the supervisor, and resumes
   without fetching anything twice.
"""
import collections
import os
import signal
import time

from e2e import Harness, Peer, Run, Trail, alert_ids, guard, require_node

require_node()
h = Harness("aws_e2e_s3")
guard(h)
peer = Peer(h, "s3", ["--s3rver"], {"TG_PEER_BUCKETS": "trail"})
trail = Trail()
now = time.time()
state = h.path("state")
env = {"AWS_ACCESS_KEY_ID": "AKIDTGTEST",
       "AWS_SECRET_ACCESS_KEY": "tgTestSecretKey/0123456789+abcdefghij",
       "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": peer.url,
       "TRAILGUARD_FETCHER_AWS_POLL_INTERVAL": "1s"}


def put(keydata):
    key, data = keydata
    peer.put("trail", key, data)
    return key


def check_alerts(path, keys, what):
    want = collections.Counter(i for k in keys for i in trail.expected[k])
    got = collections.Counter(alert_ids(h, path))
    h.check(got == want, "%s: alerts differ: missing %s, extra %s" %
            (what, sorted((want - got).elements())[:10], sorted((got - want).elements())[:10]))


def check_fetched_once(keys, what):
    for k in keys:
        n = peer.gets(k)
        h.check(n == 1, "%s: %s fetched %d times" % (what, k, n))


# ---- 1. one --once pass over a trail-shaped bucket --------------------
set_a = []
for i, (acct, region) in enumerate([("111122223333", "us-east-1"), ("111122223333", "eu-west-1"),
                                    ("444455556666", "us-east-1"), ("777788889999", "ap-south-1")]):
    set_a.append(put(trail.file(acct, region, now - 3000 + i * 60)))
set_a.append(put(trail.file("222233334444", "eu-west-1", now - 2900, org="o-abc123def4")))
digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/%s/111122223333_CloudTrail-Digest_us-east-1_x.json.gz" \
    % time.strftime("%Y/%m/%d", time.gmtime(now))
peer.put("trail", digest, b"{}")
insight = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/%s/insight.json.gz" \
    % time.strftime("%Y/%m/%d", time.gmtime(now))
peer.put("trail", insight, b"{}")

out1 = h.path("alerts1.json")
r = Run(h, "once1", ["--once", "--state-dir", state, "-o", "file:" + out1, "s3://trail"], env)
rc = r.wait_exit(90)
h.check(rc == 0, "first --once run exited %d" % rc)
check_alerts(out1, set_a, "first --once run")
check_fetched_once(set_a, "first --once run")
h.check(peer.gets(digest) == 0 and peer.gets(insight) == 0, "digest/Insight file fetched")
h.check(peer.stats()["rejected"] == 0, "the SigV4 verifier rejected a request")
print("1: %d files, %d alerts, each fetched once" % (len(set_a), len(alert_ids(h, out1))))

# ---- 2. restart: a second --once run resumes from the checkpoint ------
set_b = [put(trail.file("111122223333", "us-east-1", now - 1800)),
         put(trail.file("444455556666", "us-east-1", now - 1700))]
out2 = h.path("alerts2.json")
r = Run(h, "once2", ["--once", "--state-dir", state, "-o", "file:" + out2, "s3://trail"], env)
rc = r.wait_exit(90)
h.check(rc == 0, "second --once run exited %d" % rc)
check_alerts(out2, set_b, "second --once run")
check_fetched_once(set_a + set_b, "second --once run")
print("2: resumed, %d new files fetched, none twice" % len(set_b))

# ---- 3. continuous polling, a late file, a fetcher crash mid-way ------
out3 = h.path("alerts3.json")
r = Run(h, "cont", ["--state-dir", state, "-o", "file:" + out3, "s3://trail"], env)
r.ready()
set_c1 = [put(trail.file("111122223333", "eu-west-1", now - 1200)),
          put(trail.file("777788889999", "ap-south-1", now - 600))]
h.wait_for("alerts of the new files", lambda: len(alert_ids(h, out3)) >= 4, 30)
# delivered late under an earlier name than the newest file already seen
late = put(trail.file("111122223333", "eu-west-1", now - 1500))
h.wait_for("alerts of the late file", lambda: len(alert_ids(h, out3)) >= 6, 30)
check_alerts(out3, set_c1 + [late], "continuous run")
journal = os.path.join(state, "fetcher", "checkpoint.journal")


def journalled():
    with open(journal, "rb") as f:
        data = f.read()
    return all(k.encode() in data for k in set_c1 + [late])


h.wait_for("checkpoints written", journalled, 10)
fpid = r.pid("fetcher-0")
os.kill(fpid, signal.SIGKILL)
h.wait_for("fetcher restarted", lambda: r.children().get("fetcher-0", (0,))[0] not in (0, fpid), 20)
set_c2 = [put(trail.file("222233334444", "eu-west-1", now - 300, org="o-abc123def4")),
          put(trail.file("444455556666", "us-east-1", now - 120))]
h.wait_for("alerts after the restart", lambda: len(alert_ids(h, out3)) >= 10, 30)
rc = r.stop()
h.check(rc == 0, "continuous run exited %d after SIGTERM" % rc)
check_alerts(out3, set_c1 + [late] + set_c2, "continuous run")
check_fetched_once(set_a + set_b + set_c1 + [late] + set_c2, "continuous run")
h.check(peer.stats()["rejected"] == 0, "the SigV4 verifier rejected a request")
print("3: %d later files and 1 late file picked up; fetcher crash resumed" % (len(set_c1) + len(set_c2)))
peer.stop()
h.done()
