#!/usr/bin/env python3
"""SQS through the real daemons (`trailguard run`), against fauxqs (SQS)
and s3rver (the objects), each behind the SigV4 verifier
(AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_S3 point at them).

1. A CloudTrail notification (SNS envelope, as CloudTrail -> SNS -> SQS
   delivers it) naming two files: their alerts come out, then the message
   is deleted.
2. A message is deleted only after its alerts are out: with the notifier
   stopped (SIGSTOP, so it cannot ack) the message's files are fetched and
   evaluated but the message stays in the queue; the notifier and the
   fetcher are then SIGKILLed, the supervisor restarts them, the message
   becomes visible again (visibility timeout 3s), is processed again and
   deleted.  The final alert set is complete with no duplicate.
3. `trailguard run --once sqs://...` drains the queue (raw S3 event
   notification, no SNS envelope) and exits 0.
"""
import collections
import json
import os
import signal
import time
import urllib.request

from e2e import Harness, Peer, Run, Trail, alert_ids, guard, require_node

require_node()
h = Harness("aws_e2e_sqs")
guard(h)
peer = Peer(h, "sqs", ["--fauxqs"], {"TG_PEER_QUEUES": "q"})
s3 = Peer(h, "s3", ["--s3rver"], {"TG_PEER_BUCKETS": "trail"})
qurl = json.loads(peer.get("/__queue/q"))["url"]
trail = Trail()
now = time.time()
state = h.path("state")
env = {"AWS_ACCESS_KEY_ID": "AKIDTGTEST",
       "AWS_SECRET_ACCESS_KEY": "tgTestSecretKey/0123456789+abcdefghij",
       "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3.url,
       "AWS_ENDPOINT_URL_SQS": peer.url,
       "TRAILGUARD_FETCHER_SQS_VISIBILITY": "3s", "TRAILGUARD_FETCHER_SQS_WAIT": "1s",
       "TRAILGUARD_FETCHER_ACK_TIMEOUT": "120s"}


def put(keydata):
    key, data = keydata
    s3.put("trail", key, data)
    return key


def send(body):
    req = urllib.request.Request(peer.url + "/", method="POST",
                                 data=json.dumps({"QueueUrl": qurl, "MessageBody": body}).encode(),
                                 headers={"Content-Type": "application/x-amz-json-1.0",
                                          "X-Amz-Target": "AmazonSQS.SendMessage"})
    with urllib.request.urlopen(req, timeout=10) as r:
        h.check(r.status == 200, "SendMessage: %d" % r.status)


def sns_envelope(keys):
    inner = json.dumps({"s3Bucket": "trail", "s3ObjectKey": keys})
    return json.dumps({"Type": "Notification", "MessageId": "m-%d" % len(keys) + keys[0][-12:],
                       "TopicArn": "arn:aws:sns:us-east-1:111122223333:ct",
                       "Message": inner, "Timestamp": "2026-11-27T18:00:00.000Z"})


def queue():
    """(messages in the queue, of which in flight)."""
    m = json.loads(peer.get("/__queue/q"))["messages"]
    return len(m["ready"]) + len(m["inflight"]) + len(m["delayed"]), len(m["inflight"])


def check_alerts(path, keys, what):
    want = collections.Counter(i for k in keys for i in trail.expected[k])
    got = collections.Counter(alert_ids(h, path))
    h.check(got == want, "%s: alerts differ: missing %s, extra %s" %
            (what, sorted((want - got).elements())[:10], sorted((got - want).elements())[:10]))


def deletes():
    return sum(1 for line in peer.reqlog() if line.endswith("AmazonSQS.DeleteMessage"))


out = h.path("alerts.json")
r = Run(h, "sqs", ["--state-dir", state, "-o", "file:" + out, "sqs://" + qurl], env)
r.ready()

# ---- 1. normal flow ------------------------------------------------------
m1 = [put(trail.file("111122223333", "us-east-1", now - 900)),
      put(trail.file("444455556666", "eu-west-1", now - 800, org="o-abc123def4"))]
send(sns_envelope(m1))
h.wait_for("alerts of message 1", lambda: len(alert_ids(h, out)) >= 4, 30)
h.wait_for("message 1 deleted", lambda: queue()[0] == 0, 20)
check_alerts(out, m1, "message 1")
h.check(deletes() == 1, "DeleteMessage calls: %d" % deletes())
print("1: message processed, then deleted")

# ---- 2. no ack, no delete; crash; redelivery -----------------------------
npid = r.pid("notifier-0")
os.kill(npid, signal.SIGSTOP)
eport = r.children()["evaluator-0"][1]
sent0 = h.metric(eport, "trailguard_frames_out_total")
m2 = [put(trail.file("777788889999", "ap-south-1", now - 700)),
      put(trail.file("111122223333", "eu-west-1", now - 600))]
send(sns_envelope(m2))
h.wait_for("message 2 evaluated (two alert frames sent)",
           lambda: h.metric(eport, "trailguard_frames_out_total") >= sent0 + 2, 30)
h.check(queue() == (1, 1), "message 2 must stay in flight while unacked, queue=%r" % (queue(),))
h.check(len(alert_ids(h, out)) == 4, "alerts written by a stopped notifier?")
h.check(deletes() == 1, "message 2 deleted before its alerts were out")
fpid = r.pid("fetcher-0")
os.kill(npid, signal.SIGKILL)
os.kill(fpid, signal.SIGKILL)
h.wait_for("notifier and fetcher restarted",
           lambda: r.children().get("notifier-0", (0,))[0] not in (0, npid) and
           r.children().get("fetcher-0", (0,))[0] not in (0, fpid), 20)
h.wait_for("alerts of message 2", lambda: len(alert_ids(h, out)) >= 8, 40)
h.wait_for("message 2 deleted", lambda: queue()[0] == 0, 20)
check_alerts(out, m1 + m2, "after the crash")
h.check(deletes() == 2, "DeleteMessage calls: %d" % deletes())
receives = [l for l in peer.reqlog() if l.endswith("AmazonSQS.ReceiveMessage")]
h.check(len(receives) >= 2, "ReceiveMessage calls: %d" % len(receives))
rc = r.stop()
h.check(rc == 0, "trailguard run exited %d after SIGTERM" % rc)
h.check(peer.stats()["rejected"] == 0 and s3.stats()["rejected"] == 0,
        "the SigV4 verifier rejected a request")
print("2: unacked message kept, redelivered after the crash, then deleted")

# ---- 3. --once drains the queue --------------------------------------------
# the stopped fetcher's last long poll is still open at fauxqs: a message
# sent now would go to it (as SQS does), so wait for it to end
h.wait_for("no receive pending", lambda: peer.stats().get("pending", 0) == 0, 30)
m3 = put(trail.file("444455556666", "us-east-1", now - 300))
send(json.dumps({"Records": [{"eventVersion": "2.1", "eventSource": "aws:s3",
                              "eventName": "ObjectCreated:Put",
                              "s3": {"bucket": {"name": "trail"},
                                     "object": {"key": m3, "size": 1}}}]}))
h.check(queue() == (1, 0), "message 3 not queued: %r" % (queue(),))
out3 = h.path("alerts-once.json")
r = Run(h, "once", ["--once", "--state-dir", state, "-o", "file:" + out3, "sqs://" + qurl], env)
rc = r.wait_exit(60)
h.check(rc == 0, "--once run exited %d" % rc)
check_alerts(out3, [m3], "--once")
h.check(queue()[0] == 0, "queue not drained by --once")
h.check(deletes() == 3, "DeleteMessage calls: %d" % deletes())
print("3: --once drained the queue")
peer.stop()
s3.stop()
h.done()
