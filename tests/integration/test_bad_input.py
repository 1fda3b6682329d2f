#!/usr/bin/env python3
"""(b) bad inputs next to good ones, and (e) the metrics endpoints.

The four daemons are started directly (not through `trailguard run`) so
their metrics can be read after the fetcher's finite run ends.  Inputs:
tests/data/pipeline/bad (truncated gzip, invalid JSON, a record over 1 MB
next to a good DeleteTrail record, an empty file, a JSON file that is not
CloudTrail) plus the good logs.  Expected: the fetcher exits 1 after
processing everything; each bad file is named in a parser error line and
counted under trailguard_errors_total{kind=...}; the good alerts all come
out, plus the one from the good record of oversized.json."""
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness  # noqa: E402

h = Harness("bad_input")
r = h.tmp
cfg = h.path("cfg.yaml")
with open(cfg, "w") as f:
    f.write("""state_dir: %(r)s/state
fetcher: {bind: "ipc://%(r)s/jobs", ack_bind: "ipc://%(r)s/acks", metrics.port: 0}
parser: {connect: ["ipc://%(r)s/jobs"], bind: "ipc://%(r)s/batches", metrics.port: 0}
evaluator: {connect: ["ipc://%(r)s/batches"], notifier: "ipc://%(r)s/alerts",
            rules: ["%(rules)s"], metrics.port: 0}
notifier: {bind: "ipc://%(r)s/alerts", metrics.port: 0}
""" % {"r": r, "rules": os.path.join(h.data, "rules.yaml")})

out = h.path("alerts.json")
logs = {s: h.path(s + ".log") for s in ("notifier", "evaluator", "parser", "fetcher")}
h.start([h.exe("notifier"), "-c", cfg], logs["notifier"], stdout=out)
h.start([h.exe("evaluator"), "-c", cfg], logs["evaluator"])
h.start([h.exe("parser"), "-c", cfg], logs["parser"])
ports = {s: h.wait_ready(logs[s]) for s in ("notifier", "evaluator", "parser")}

# (e) every endpoint answers while the pipeline runs
for s, port in ports.items():
    st, body = h.http_get(port, "/healthz")
    h.check(st == 200, "%s /healthz status %d" % (s, st))
    st, body = h.http_get(port, "/readyz")
    h.check(st == 200, "%s /readyz status %d" % (s, st))
    st, body = h.http_get(port, "/metrics")
    h.check(st == 200 and "trailguard_frames_in_total" in body,
            "%s /metrics lacks trailguard_frames_in_total" % s)
    h.check("trailguard_processing_seconds_bucket" in body,
            "%s /metrics lacks the latency histogram" % s)
    h.check("trailguard_queue_length" in body, "%s lacks the queue gauge" % s)

bad = os.path.join(h.data, "bad")
fetcher = h.start([h.exe("fetcher"), "-c", cfg, "--", bad, os.path.join(h.data, "logs")],
                  logs["fetcher"])
fport = h.wait_ready(logs["fetcher"])
st, _ = h.http_get(fport, "/metrics")
rc = fetcher.wait(60)
h.check(rc == 1, "fetcher exited %d, expected 1 (inputs failed)" % rc)

with open(logs["parser"]) as f:
    plog = f.read()
for name, kind in (("truncated.json.gz", "gzip"), ("invalid.json", None),
                   ("oversized.json", "record_too_big"), ("empty.json", "empty"),
                   ("not_cloudtrail.json", "not_cloudtrail")):
    lines = [l for l in plog.splitlines() if "decode error" in l and name in l]
    h.check(lines, "no parser error line naming %s" % name)
    if kind:
        h.check(h.metric(ports["parser"], "trailguard_errors_total", {"kind": kind}) >= 1,
                "parser error counter kind=%s not incremented" % kind)
total = h.metric(ports["parser"], "trailguard_errors_total")
h.check(total >= 5, "parser counted %d errors, expected >= 5" % total)
h.check(h.metric(ports["evaluator"], "trailguard_decode_errors_seen_total") >= 5,
        "evaluator did not see the decode errors ride along")
# lag and staleness: every good record of the test data is account
# 111122223333 in eu-west-1 with eventTime on 2024-05-01
h.check(h.metric(ports["evaluator"], "trailguard_event_lag_seconds_count") >= 8,
        "trailguard_event_lag_seconds not observed")
last = h.metric(ports["evaluator"], "trailguard_source_last_event_timestamp_seconds",
                {"account": "111122223333", "region": "eu-west-1"})
h.check(1714521600 <= last < 1714608000,
        "source_last_event_timestamp_seconds = %r, not on 2024-05-01" % last)

expected = collections.Counter(h.expected(os.path.join(h.data, "expected_alerts.txt")))
# the good record (index 1) of oversized.json is file a's DeleteTrail
expected[("Pipeline Test Delete Trail", "00000000-0000-4000-8000-000000000002")] += 1
h.wait_for("all alerts written", lambda: len(h.alerts(out)) >= sum(expected.values()), 10)
got = collections.Counter(h.alerts(out))
h.check(got == expected, "alerts differ:\n  missing %s\n  unexpected %s" %
        (sorted((expected - got).elements()), sorted((got - expected).elements())))

# SIGTERM: every daemon drains and exits 0
h.stop_all()
for p in h.procs[:3]:
    h.check(p.returncode == 0, "daemon %s exited %s after SIGTERM" % (p.args[0], p.returncode))
h.done()
