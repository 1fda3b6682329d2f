#!/usr/bin/env python3
"""(c) hostile frames sent straight to every daemon's PULL socket.

tg_badframes pushes garbage, empty, truncated, huge-count, wrong-version,
unknown-kind, wrong-body, wrong-field-type, wrong-kind, forged shared
memory references, multi-part and 70 MB frames into the fetcher's ack socket, the parser's job socket, the
evaluator's batch socket and the notifier's alert socket (the parser and
evaluator connect, so the helper binds an extra endpoint they are told to
connect to).  Every daemon must keep running, count them under
trailguard_errors_total{kind="bad_frame"}, and the pipeline must still
produce the expected alerts afterwards; SIGTERM then exits 0."""
import collections
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness  # noqa: E402

h = Harness("bad_frames")
r = h.tmp
cfg = h.path("cfg.yaml")
with open(cfg, "w") as f:
    f.write("""state_dir: %(r)s/state
fetcher: {bind: "ipc://%(r)s/jobs", ack_bind: "ipc://%(r)s/acks", metrics.port: 0}
parser: {connect: ["ipc://%(r)s/jobs", "ipc://%(r)s/evil-jobs"], bind: "ipc://%(r)s/batches",
         metrics.port: 0}
evaluator: {connect: ["ipc://%(r)s/batches", "ipc://%(r)s/evil-batches"],
            notifier: "ipc://%(r)s/alerts", rules: ["%(rules)s"], metrics.port: 0}
notifier: {bind: "ipc://%(r)s/alerts", metrics.port: 0}
""" % {"r": r, "rules": os.path.join(h.data, "rules.yaml")})

out = h.path("alerts.json")
stages = ("notifier", "evaluator", "parser", "fetcher")
logs = {s: h.path(s + ".log") for s in stages}
procs = {}
procs["notifier"] = h.start([h.exe("notifier"), "-c", cfg], logs["notifier"], stdout=out)
procs["evaluator"] = h.start([h.exe("evaluator"), "-c", cfg], logs["evaluator"])
procs["parser"] = h.start([h.exe("parser"), "-c", cfg], logs["parser"])
procs["fetcher"] = h.start([h.exe("fetcher"), "-c", cfg], logs["fetcher"])  # no sources yet
ports = {s: h.wait_ready(logs[s]) for s in stages}

targets = {"fetcher": "ipc://%s/acks" % r, "parser": "bind:ipc://%s/evil-jobs" % r,
           "evaluator": "bind:ipc://%s/evil-batches" % r, "notifier": "ipc://%s/alerts" % r}
for s, ep in targets.items():
    res = subprocess.run([h.exe("badframes"), ep], capture_output=True, timeout=60)
    h.check(res.returncode == 0, "tg_badframes %s failed: %s" % (ep, res.stderr[-500:]))

# Every daemon counts under trailguard_errors_total{kind="bad_frame"}: the 8
# malformed frames, the multi-part message (dropped by tg_zsock, counted
# from its stats), and - except the fetcher, for which it is a valid ack -
# the well-formed ack.  The two shm references are the wrong kind for every
# daemon but the evaluator, which refuses them as shm errors (a name
# outside the segment directory, a segment that does not exist).  The 70 MB frame exceeds the fetcher's, evaluator's
# and notifier's size limit (zmq drops it with the connection); the parser,
# whose jobs may carry whole files, receives it and counts it.
want = {"fetcher": 11, "parser": 13, "evaluator": 10, "notifier": 12}
for s in stages:
    h.wait_for("%s to count %d bad frames" % (s, want[s]),
               lambda: h.metric(ports[s], "trailguard_errors_total",
                                {"kind": "bad_frame"}) >= want[s], 30, 0.05)
    h.check(procs[s].poll() is None, "%s died on bad frames" % s)
    st, _ = h.http_get(ports[s], "/healthz")
    h.check(st == 200, "%s /healthz %d after bad frames" % (s, st))
with open(logs["parser"]) as f:
    h.check("bad frame dropped" in f.read(), "parser did not log the bad frames")
h.wait_for("the evaluator to count 2 shm errors",
           lambda: h.metric(ports["evaluator"], "trailguard_errors_total",
                            {"kind": "shm"}) >= 2, 30, 0.05)
with open(logs["evaluator"]) as f:
    text = f.read()
    h.check("shm segment name refused: ../../etc/passwd" in text,
            "evaluator did not log the refused segment name")
    h.check("trailguard-4294967295-1: cannot open" in text,
            "evaluator did not log the missing segment")

# the pipeline still works: replace the idle fetcher by one with sources
procs["fetcher"].terminate()
h.check(procs["fetcher"].wait(20) == 0, "idle fetcher did not exit 0 on SIGTERM")
f2 = h.start([h.exe("fetcher"), "-c", cfg, "--", os.path.join(h.data, "logs")],
             h.path("fetcher2.log"))
h.check(f2.wait(60) == 0, "fetcher with sources did not exit 0")
expected = collections.Counter(h.expected(os.path.join(h.data, "expected_alerts.txt")))
got = collections.Counter(h.alerts(out))
h.check(got == expected, "alerts after bad frames differ: %s" % sorted(got.elements()))
# the batches went to the evaluator through shared memory (ipc:// bind,
# parser.shm on by default), none through the socket
shm = h.metric(ports["parser"], "trailguard_batch_frames_total", {"how": "shm"})
inline = h.metric(ports["parser"], "trailguard_batch_frames_total", {"how": "inline"})
read = h.metric(ports["evaluator"], "trailguard_shm_batches_total", {})
h.check(shm >= 1 and inline == 0, "parser sent %s shm and %s inline frames" % (shm, inline))
h.check(read == shm, "evaluator read %s shm batches, parser sent %s" % (read, shm))
h.stop_all()
for s in ("notifier", "evaluator", "parser"):
    h.check(procs[s].returncode == 0, "%s exited %s after SIGTERM" % (s, procs[s].returncode))
h.done()
