#!/usr/bin/env python3
"""The SNS HTTP endpoint through the real daemons (`trailguard run` with
fetcher.sns.* set by environment overrides).

openssl makes a TLS certificate for 127.0.0.1 (the loopback peer serves
the SNS signing certificate over https with it; the fetcher trusts it via
fetcher.aws.ca_file), a signing key/certificate and a forged key.
tests/peers/sns_sender.js signs CloudTrail and S3-event notifications
naming objects in s3rver (behind the SigV4 verifier), plus tampered,
forged, untrusted-certificate, stale and foreign-topic variants.  The
signed ones are accepted (200) and their objects' alerts come out once
(an SNS retry with the same MessageId adds nothing); the others are
rejected with 4xx and counted in the fetcher's metrics as
trailguard_errors_total{kind="sns_signature"} (tampered, forged, untrusted
certificate URL) or {kind="sns_rejected"} (stale, foreign topic).
"""
import collections
import json
import os
import subprocess
import time
import urllib.error
import urllib.request

from e2e import PEERS, Harness, Peer, Run, Trail, alert_ids, guard, require_node

TOPIC = "arn:aws:sns:us-east-1:111122223333:cloudtrail"
require_node()
h = Harness("aws_e2e_sns")
guard(h)
try:
    subprocess.run(["openssl", "version"], check=True, stdout=subprocess.DEVNULL)
except (OSError, subprocess.CalledProcessError):
    print("SKIP: openssl CLI absent")
    raise SystemExit(77)
d = h.path("pki")
os.makedirs(d)
subprocess.run("openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 1 "
               "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 && "
               "openssl req -x509 -newkey rsa:2048 -nodes -keyout sign.key -out sign.crt -days 1 "
               "-subj /CN=sns.amazonaws.com && openssl genrsa -out forged.key 2048",
               shell=True, cwd=d, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
tls = Peer(h, "tls", ["--tls-cert", d + "/tls.crt", "--tls-key", d + "/tls.key"],
           {"TG_PEER_STATIC": "/SimpleNotificationService-test.pem=%s/sign.crt" % d},
           ca=d + "/tls.crt")
s3 = Peer(h, "s3", ["--s3rver"], {"TG_PEER_BUCKETS": "trail"})
trail = Trail()
now = time.time()
keys = []
for acct, region, org in [("111122223333", "us-east-1", None), ("444455556666", "eu-west-1", None),
                          ("222233334444", "eu-west-1", "o-abc123def4")]:
    key, data = trail.file(acct, region, now - 600, org=org)
    s3.put("trail", key, data)
    keys.append(key)
msgs = h.path("msgs")
host_re = r"^127\.0\.0\.1(:[0-9]+)?$"
subprocess.run(["node", "sns_sender.js", "--out", msgs, "--key", d + "/sign.key",
                "--forged-key", d + "/forged.key",
                "--cert-url", "https://127.0.0.1:%d/SimpleNotificationService-test.pem" % tls.port,
                "--topic", TOPIC, "--other-topic", TOPIC + "-other",
                "--confirm-url", "https://127.0.0.1:%d/confirm" % tls.port, "--bucket", "trail",
                "--key1", keys[0], "--key2", keys[1], "--key3", keys[2], "--host-re", host_re],
               cwd=PEERS, check=True, stdout=subprocess.DEVNULL,
               env=dict(os.environ, NODE_EXTRA_CA_CERTS=d + "/tls.crt"))

env = {"AWS_ACCESS_KEY_ID": "AKIDTGTEST",
       "AWS_SECRET_ACCESS_KEY": "tgTestSecretKey/0123456789+abcdefghij",
       "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_S3": s3.url,
       "TRAILGUARD_FETCHER_SNS_TOPICS": TOPIC, "TRAILGUARD_FETCHER_SNS_PORT": "0",
       "TRAILGUARD_FETCHER_SNS_HOST_PATTERN": host_re,
       "TRAILGUARD_FETCHER_AWS_CA_FILE": d + "/tls.crt"}
out = h.path("alerts.json")
r = Run(h, "sns", ["--state-dir", h.path("state"), "-o", "file:" + out], env)
r.ready()


def sns_port():
    with open(r.log("fetcher-0")) as f:
        for line in f:
            if "sns endpoint listening" in line:
                return int(line.split("port=")[1].split()[0])
    return None


port = h.wait_for("sns endpoint port", sns_port, 10)


def post(name):
    with open(os.path.join(msgs, name + ".json"), "rb") as f:
        body = f.read()
    mtype = json.loads(body).get("Type", "Notification")
    req = urllib.request.Request("http://127.0.0.1:%d/" % port, data=body, method="POST",
                                 headers={"x-amz-sns-message-type": mtype,
                                          "Content-Type": "text/plain; charset=UTF-8"})
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


for name, want in [("good2", 200), ("good1", 200), ("escaped", 200), ("good2", 200),
                   ("tampered", 403), ("forged", 403), ("certurl", 403), ("stale", 400),
                   ("topic", 403), ("subscribe", 200)]:
    got = post(name)
    h.check(got == want, "POST %s: %d, expected %d" % (name, got, want))
fport = r.children()["fetcher-0"][1]
h.wait_for("alerts of the three notified files", lambda: len(alert_ids(h, out)) >= 6, 30)
want = collections.Counter(i for k in keys for i in trail.expected[k])
got = collections.Counter(alert_ids(h, out))
h.check(got == want, "alerts differ: missing %s, extra %s" %
        (sorted((want - got).elements()), sorted((got - want).elements())))
sig = h.metric(fport, "trailguard_errors_total", {"kind": "sns_signature"})
rej = h.metric(fport, "trailguard_errors_total", {"kind": "sns_rejected"})
h.check(sig == 3, "errors_total{kind=sns_signature} = %g, expected 3" % sig)
h.check(rej == 2, "errors_total{kind=sns_rejected} = %g, expected 2" % rej)
for k in keys:
    h.check(s3.gets(k) == 1, "%s fetched %d times" % (k, s3.gets(k)))
h.check(tls.stats().get("confirms", 0) == 1, "subscription not confirmed")
h.check(s3.stats()["rejected"] == 0, "the SigV4 verifier rejected a request")

# A NEW notification (new MessageId) for an object already processed: it is
# fetched, found done by the checkpoint and skipped, with no new alert, and
# the fetcher keeps running (it once freed the object twice here).
fetcher_pid = r.pid("fetcher-0")
code = post("again")
h.check(code == 200, "POST again: %d, expected 200" % code)
h.wait_for("the repeated object to be skipped",
           lambda: h.metric(fport, "trailguard_jobs_skipped_total") >= 1, 30)
h.check(r.pid("fetcher-0") == fetcher_pid, "the fetcher was restarted after the repeat")
h.check(collections.Counter(alert_ids(h, out)) == want, "the repeat added alerts")
rc = r.stop()
h.check(rc == 0, "trailguard run exited %d after SIGTERM" % rc)
print("sns: 3 signed notifications -> %d alerts; 3 bad signatures and 2 other rejections counted"
      % sum(got.values()))
tls.stop()
s3.stop()
h.done()
