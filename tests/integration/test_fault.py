#!/usr/bin/env python3
"""(d) fault test: 100k generated events, undisturbed then with every stage
kind SIGKILLed in turn while the run is in progress.

gen_events.py writes the corpus and the alerts tests/data/pipeline/rules.yaml
must give (reasoned from the generated choices).  The undisturbed run must
produce exactly that multiset.  The faulted run (ack_timeout 2s so lost
work is redelivered quickly) kills parser-0, evaluator-0, the notifier and
the fetcher at increasing progress; the supervisor restarts each.  Then:
no alert is lost, the run exits 0 by itself, and the only duplicates are
those of the notifier's crash window (at most one batch: alerts written to
stdout but not yet committed to the dedup journal).  Killing the parser
and evaluator causes no duplicate at all (the notifier's durable dedup
window drops redelivered alerts).  Also checks `trailguard status` answers
during the run (e)."""
import collections
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness, log_dir_logs  # noqa: E402

ONE_BATCH = 20  # alerts one 64 KB batch of this corpus can hold (~120 records x 3%)

h = Harness("fault")
gen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen_events.py")
corpus = h.path("corpus")
subprocess.run([sys.executable, gen, "--out", corpus, "--records", "100000",
                "--per-file", "250"], check=True, stdout=subprocess.DEVNULL, timeout=120)
expected = collections.Counter(h.expected(os.path.join(corpus, "expected.tsv")))
nexp = sum(expected.values())
rules = os.path.join(h.data, "rules.yaml")
logs = os.path.join(corpus, "logs")
env = dict(os.environ)
env.pop("XDG_RUNTIME_DIR", None)
env["TMPDIR"] = h.tmp

# 1. undisturbed
out0 = h.path("alerts0.json")
err0 = h.path("run0.err")
h.logs.append(err0)
t0 = time.time()
with open(out0, "wb") as o, open(err0, "wb") as e:
    rc = subprocess.run([h.exe("trailguard"), "run", "--evaluators", "2", "-r", rules, logs],
                        stdout=o, stderr=e, env=env, timeout=120).returncode
h.check(rc == 0, "undisturbed run exited %d" % rc)
got0 = collections.Counter(h.alerts(out0))
h.check(got0 == expected, "undisturbed run: %d alerts, expected %d (missing %d, extra %d)" %
        (sum(got0.values()), nexp, sum((expected - got0).values()), sum((got0 - expected).values())))
print("undisturbed: %d alerts in %.1fs" % (nexp, time.time() - t0))

# 2. faulted
cfg = h.path("fault.yaml")
with open(cfg, "w") as f:
    f.write("fetcher:\n  ack_timeout: 2s\n  max_inflight: 4\nparser:\n  batch_bytes: 16KiB\n")
logdir = h.path("faultlogs")
os.makedirs(logdir)
out1 = h.path("alerts1.json")
err1 = h.path("run1.err")
h.logs.append(err1)
o1 = open(out1, "wb")
e1 = open(err1, "wb")
run = subprocess.Popen([h.exe("trailguard"), "run", "--config", cfg, "--evaluators", "2",
                        "--log-dir", logdir, "-r", rules, logs],
                       stdout=o1, stderr=e1, env=env)
h.procs.append(run)


def rundir():
    with open(err1) as f:
        m = re.search(r"runtime directory (\S+)", f.read())
    return m.group(1) if m else None


rd = h.wait_for("the runtime directory line", rundir, 20)


def pids():
    try:
        with open(os.path.join(rd, "run.info")) as f:
            return {"%s-%s" % (p[1], p[2]): int(p[3]) for p in
                    (l.split() for l in f) if p[0] == "child"}
    except (FileNotFoundError, IndexError, ValueError):
        return {}


def lines():
    with open(out1, "rb") as f:
        return f.read().count(b"\n")


status_ok = False
notifier_kill_at = None
killed = []
for frac, child in ((0.05, "parser-0"), (0.25, "evaluator-0"), (0.45, "notifier-0"),
                    (0.65, "fetcher-0")):
    h.wait_for("progress %.0f%%" % (frac * 100),
               lambda: lines() >= frac * nexp or run.poll() is not None, 120, 0.002)
    if run.poll() is not None:
        break
    # Hold the fetcher while another stage is killed and restarted: it
    # decides when the run is complete, so a fast pipeline cannot finish
    # between the progress check and the kill.
    fetcher = pids().get("fetcher-0") if child != "fetcher-0" else None
    if fetcher:
        try:
            os.kill(fetcher, signal.SIGSTOP)
        except ProcessLookupError:
            fetcher = None
    try:
        old = h.wait_for("pid of " + child, lambda: pids().get(child), 10)
        if child == "notifier-0":
            notifier_kill_at = lines()
        try:
            os.kill(old, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(child)
        h.wait_for(child + " restarted",
                   lambda: pids().get(child) not in (None, 0, old) or run.poll() is not None, 30)
        # `trailguard status` while the fetcher is still held: the status
        # call takes longer than the rest of a fast run would
        if not status_ok and fetcher and run.poll() is None:
            st = subprocess.run([h.exe("trailguard"), "status", rd], capture_output=True,
                                text=True, timeout=20, env=env)
            status_ok = st.returncode == 0 and "evaluator" in st.stdout
            print(st.stdout)
    finally:
        if fetcher:
            try:
                os.kill(fetcher, signal.SIGCONT)
            except ProcessLookupError:
                pass

try:
    rc = run.wait(180)
except subprocess.TimeoutExpired:
    log_dir_logs(h, logdir)
    h.fail("faulted run did not finish")
o1.close()
e1.close()
log_dir_logs(h, logdir)
h.check(rc == 0, "faulted run exited %d" % rc)
h.check(killed == ["parser-0", "evaluator-0", "notifier-0", "fetcher-0"],
        "the run ended before every kill (killed %s); slow it down" % killed)
h.check(status_ok, "`trailguard status` did not answer during the run")

got1 = h.alerts(out1)
c1 = collections.Counter(got1)
missing = expected - c1
h.check(not missing, "%d alerts lost, e.g. %s" % (sum(missing.values()), list(missing)[:3]))
extra = c1 - expected
h.check(set(extra) <= set(expected), "unexpected alerts: %s" % list(extra)[:3])
dups = sum(extra.values())
seen = set()
for i, a in enumerate(got1):
    if a in seen:
        h.check(notifier_kill_at is not None and i >= notifier_kill_at,
                "duplicate %s at line %d, before the notifier was killed (line %s)" %
                (a, i, notifier_kill_at))
    seen.add(a)
h.check(dups <= ONE_BATCH, "%d duplicates, more than one batch (%d)" % (dups, ONE_BATCH))
print("faulted: %d alerts, %d duplicates, killed %s" % (len(got1), dups, killed))
h.done()
