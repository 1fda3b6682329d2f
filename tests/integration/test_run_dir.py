#!/usr/bin/env python3
"""(a) `trailguard run` over a directory of CloudTrail files (plain and
gzip, nested) with 2 evaluators: the four kinds of daemons run, the run
exits 0 by itself, and the alerts equal tests/data/pipeline/expected_alerts.txt
(reasoned from tests/data/pipeline/rules.yaml).  Then the same run with
`-o text -o file:PATH`: text lines on stdout, JSON lines in the file."""
import collections
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness, log_dir_logs  # noqa: E402

h = Harness("run_dir")
rules = os.path.join(h.data, "rules.yaml")
logs = os.path.join(h.data, "logs")
expected = collections.Counter(h.expected(os.path.join(h.data, "expected_alerts.txt")))

logdir = h.path("logs1")
os.makedirs(logdir)
out = h.path("alerts.json")
err = h.path("run1.err")
h.logs.append(err)
with open(out, "wb") as o, open(err, "wb") as e:
    try:
        rc = subprocess.run([h.exe("trailguard"), "run", "--evaluators", "2",
                             "--log-dir", logdir, "-r", rules, logs],
                            stdout=o, stderr=e, timeout=60).returncode
    except subprocess.TimeoutExpired:
        log_dir_logs(h, logdir)
        h.fail("trailguard run did not finish within 60s")
log_dir_logs(h, logdir)
h.check(rc == 0, "trailguard run exited %d, expected 0" % rc)
for name in ("fetcher-0", "parser-0", "evaluator-0", "evaluator-1", "notifier-0"):
    p = os.path.join(logdir, name + ".log")
    h.check(os.path.exists(p), "no log for %s" % name)
    with open(p, "rb") as f:
        h.check(b" ready endpoint=" in f.read(), "%s never logged its ready line" % name)
got = collections.Counter(h.alerts(out))
h.check(got == expected, "alerts differ:\n  missing %s\n  unexpected %s" %
        (sorted((expected - got).elements()), sorted((got - expected).elements())))

# text on stdout + JSON lines in a file
out2 = h.path("alerts.txt")
file2 = h.path("alerts-file.json")
err2 = h.path("run2.err")
h.logs.append(err2)
with open(out2, "wb") as o, open(err2, "wb") as e:
    rc = subprocess.run([h.exe("trailguard"), "run", "--evaluators", "1", "-r", rules,
                         "-o", "text", "-o", "file:" + file2, logs],
                        stdout=o, stderr=e, timeout=60).returncode
h.check(rc == 0, "second run exited %d" % rc)
with open(out2) as f:
    lines = [l for l in f.read().splitlines() if l]
h.check(len(lines) == sum(expected.values()),
        "%d text lines, expected %d" % (len(lines), sum(expected.values())))
h.check(all(": Warning " in l or ": Notice " in l or ": Critical " in l for l in lines),
        "text lines are not Falco text lines: %r" % lines[:2])
got2 = collections.Counter(h.alerts(file2))
h.check(got2 == expected, "file output differs from the expected alerts")
h.done()
