#!/usr/bin/env python3
"""Batch frames through shared memory (parser.shm, tg_shm.h), through the
real daemons: a parser and two evaluators on ipc:// endpoints, small
(16 KiB) batches, a segment directory of the test's own, and a corpus with
one record far larger than a segment.

Checks: the alerts equal the ones gen_events.py reasons out (plus the big
record's); the parser sent batches both through segments and - for the
frame holding the big record - inline through the socket; the evaluators
read exactly the segments the parser published; the segment files are the
parser's, at most shm_segments of them, mode 0600; SIGTERM removes them.
Then the same corpus with parser.shm false: the same alerts, no segment.
Last, a job frame whose URI (3 MB) alone is larger than a segment: the
parser builds that batch on the heap and sends it inline, and its alert
comes out."""
import collections
import gzip
import json
import os
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness  # noqa: E402

h = Harness("shm")
gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_events.py")
corpus = h.path("corpus")
subprocess.run([sys.executable, gen, "--out", corpus, "--records", "3000",
                "--per-file", "300"], check=True, stdout=subprocess.DEVNULL, timeout=120)
expected = collections.Counter(h.expected(os.path.join(corpus, "expected.tsv")))

# one CreateUser record of about 300 KB, between two small ones: its frame
# cannot be built in a 16 KiB-batch segment (88 KiB) and goes inline
big = {"eventVersion": "1.08", "eventTime": "2026-01-02T03:04:05Z",
       "eventSource": "iam.amazonaws.com", "eventName": "CreateUser",
       "awsRegion": "us-east-1", "sourceIPAddress": "192.0.2.1",
       "userIdentity": {"type": "IAMUser", "userName": "alice",
                        "accountId": "111122223333"},
       "requestParameters": {"userName": "x" * 300000},
       "eventID": "big-record-0001", "recordId": "big", "eventType": "AwsApiCall",
       "recipientAccountId": "111122223333"}
small = dict(big, requestParameters={"userName": "y"}, eventName="ListUsers")
with gzip.open(os.path.join(corpus, "logs", "zz-big.json.gz"), "wt") as f:
    json.dump({"Records": [dict(small, eventID="small-1"), big,
                           dict(small, eventID="small-2")]}, f)
expected[("Pipeline Test Create User", "big-record-0001")] += 1

rules = os.path.join(h.data, "rules.yaml")


def run(name, shm):
    r = h.path(name)
    shmdir = os.path.join(r, "shm")
    os.makedirs(shmdir)
    cfg = os.path.join(r, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("""state_dir: %(r)s/state
shm_dir: %(shm)s
fetcher: {bind: "ipc://%(r)s/jobs", ack_bind: "ipc://%(r)s/acks", metrics.port: 0}
parser: {connect: ["ipc://%(r)s/jobs"], bind: "ipc://%(r)s/batches", metrics.port: 0,
         batch_bytes: 16KiB, shm: %(on)s, shm_segments: 6}
evaluator: {connect: ["ipc://%(r)s/batches"], notifier: "ipc://%(r)s/alerts",
            rules: ["%(rules)s"], metrics.port: 0}
notifier: {bind: "ipc://%(r)s/alerts", metrics.port: 0}
""" % {"r": r, "shm": shmdir, "on": "true" if shm else "false", "rules": rules})
    out = os.path.join(r, "alerts.json")
    logs = {s: os.path.join(r, s + ".log") for s in ("notifier", "ev0", "ev1", "parser")}
    procs = {"notifier": h.start([h.exe("notifier"), "-c", cfg], logs["notifier"], stdout=out)}
    for s in ("ev0", "ev1"):
        procs[s] = h.start([h.exe("evaluator"), "-c", cfg], logs[s])
    procs["parser"] = h.start([h.exe("parser"), "-c", cfg], logs["parser"])
    ports = {s: h.wait_ready(logs[s]) for s in logs}
    fe = h.start([h.exe("fetcher"), "-c", cfg, "--", os.path.join(corpus, "logs")],
                 os.path.join(r, "fetcher.log"))
    try:
        rc = fe.wait(90)
    except subprocess.TimeoutExpired:
        rc = "still running after 90 s"
    h.check(rc == 0, "%s: fetcher with sources did not exit 0 (%s)" % (name, rc))
    got = collections.Counter(h.alerts(out))
    h.check(got == expected, "%s: alerts differ:\n  missing %s\n  unexpected %s" %
            (name, sorted((expected - got).elements())[:5],
             sorted((got - expected).elements())[:5]))
    m = {how: h.metric(ports["parser"], "trailguard_batch_frames_total", {"how": how})
         for how in ("shm", "inline")}
    read = sum(h.metric(ports[s], "trailguard_shm_batches_total", {}) for s in ("ev0", "ev1"))
    files = {fn: stat.S_IMODE(os.stat(os.path.join(shmdir, fn)).st_mode)
             for fn in os.listdir(shmdir)}
    pid = procs["parser"].pid
    procs["parser"].terminate()
    h.check(procs["parser"].wait(20) == 0, "%s: parser did not exit 0 on SIGTERM" % name)
    left = os.listdir(shmdir)
    for s in ("notifier", "ev0", "ev1"):
        procs[s].terminate()
        h.check(procs[s].wait(20) == 0, "%s: %s did not exit 0 on SIGTERM" % (name, s))
    return m, read, files, pid, left


m, read, files, pid, left = run("on", True)
h.check(m["shm"] >= 10, "parser sent only %d frames through segments" % m["shm"])
h.check(m["inline"] >= 1, "the big record's frame did not go inline (%d)" % m["inline"])
h.check(read == m["shm"], "evaluators read %d segments, parser published %d" % (read, m["shm"]))
h.check(1 <= len(files) <= 6, "segment files: %s" % files)
for fn, mode in sorted(files.items()):
    h.check(fn.startswith("trailguard-%d-" % pid), "segment %s is not the parser's" % fn)
    h.check(mode == 0o600, "segment %s has mode %o" % (fn, mode))
h.check(left == [], "segments left after the parser exited: %s" % left)
print("shm on: %d frames through segments, %d inline, %d files" %
      (m["shm"], m["inline"], len(files)))

m, read, files, _, _ = run("off", False)
h.check(m["shm"] == 0 and read == 0 and not files,
        "parser.shm false still used segments: %s %d %s" % (m, read, files))
h.check(m["inline"] == 0, "inline frames are counted only with shm on (%d)" % m["inline"])

# a job with a 3 MB URI, pushed straight at the parser
r = h.path("longuri")
os.makedirs(os.path.join(r, "shm"))
rec = dict(small, eventName="CreateUser", eventID="long-uri-1")
one = os.path.join(r, "one.json")
with open(one, "w") as f:
    json.dump({"Records": [rec]}, f)
cfg = os.path.join(r, "cfg.yaml")
with open(cfg, "w") as f:
    f.write("""state_dir: %(r)s/state
shm_dir: %(r)s/shm
parser: {connect: ["ipc://%(r)s/jobs"], bind: "ipc://%(r)s/batches", metrics.port: 0}
evaluator: {connect: ["ipc://%(r)s/batches"], notifier: "ipc://%(r)s/alerts",
            rules: ["%(rules)s"], metrics.port: 0}
notifier: {bind: "ipc://%(r)s/alerts", metrics.port: 0}
""" % {"r": r, "rules": rules})
out = os.path.join(r, "alerts.json")
nlog, elog, plog = (os.path.join(r, s + ".log") for s in ("notifier", "evaluator", "parser"))
nt = h.start([h.exe("notifier"), "-c", cfg], nlog, stdout=out)
ev = h.start([h.exe("evaluator"), "-c", cfg], elog)
pa = h.start([h.exe("parser"), "-c", cfg], plog)
pport = h.wait_ready(plog)
h.wait_ready(elog)
h.wait_ready(nlog)
res = subprocess.run([h.exe("badframes"), "bind:ipc://%s/jobs" % r, "--job", one, "3000000",
                      "ipc://%s/acks" % r], capture_output=True, timeout=60)
h.check(res.returncode == 0, "tg_badframes --job failed: %s" % res.stderr[-300:])


def long_uri_alert():
    try:
        return ("Pipeline Test Create User", "long-uri-1") in h.alerts(out)
    except (FileNotFoundError, ValueError):
        return False


h.wait_for("the alert of the long-URI job", long_uri_alert, 30, 0.05)
h.check(pa.poll() is None, "the parser died on a long URI")
h.check(h.metric(pport, "trailguard_batch_frames_total", {"how": "inline"}) == 1,
        "the long-URI batch did not go inline")
h.stop_all()
for p in (nt, ev, pa):
    h.check(p.returncode == 0, "a daemon exited %s after SIGTERM" % p.returncode)
h.done()
