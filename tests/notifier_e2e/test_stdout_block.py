#!/usr/bin/env python3
"""The built-in stdout output must not block the notifier's loop.

`trailguard run` (one parser, one evaluator) writes its alerts to a pipe
that this test does not read at first.  Once the pipe is full the
notifier's batch stays in flight; /healthz and /metrics must keep
answering (each within 2 s) for 3 s while it waits (before, write(2) on
the loop thread blocked them, and the systemd watchdog would have killed
the notifier).  Then the test reads the pipe: every expected alert is
written, once, the alerts of one job in record order, each carrying the
ruleset hash in output_fields["trailguard.ruleset"] with output_fields keys
still sorted.

The same with the `stdout` output module (notifier.outputs) instead of
the built-in output.

Last run: SIGTERM to the supervisor while the pipe stays full.  The
notifier abandons the stuck write after its drain timeout (5 s) and exits
by itself, well before the supervisor's 30 s kill grace."""
import collections
import datetime
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2eharness import Harness, Run, check_per_job_order, gen_corpus  # noqa: E402

PER_FILE = 200

h = Harness("notifier_stdout_block")
logs, expected_list = gen_corpus(h, "corpus", 12000, PER_FILE)
expected = collections.Counter(expected_list)
nexp = sum(expected.values())
rules = os.path.join(h.data, "rules.yaml")
env = dict(os.environ)
env.pop("XDG_RUNTIME_DIR", None)
env["TMPDIR"] = h.tmp


def start(name, extra=()):
    logdir = h.path(name + "-logs")
    os.makedirs(logdir)
    for stage in ("fetcher", "parser", "evaluator", "notifier"):
        h.logs.append(os.path.join(logdir, stage + "-0.log"))
    argv = [h.exe("trailguard"), "run", "--evaluators", "1", "--parsers", "1",
            "--log-dir", logdir, "--log-level", "info"] + list(extra) + [
            "-r", rules, logs, "-"]
    return Run(h, argv, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def get(port, path, timeout):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=timeout) as r:
        return r.status, r.read().decode()


def wait_blocked(run):
    """Wait until the notifier's batch group is in flight (the gauge counts
    its batches) and nothing is delivered any more (the pipe is full)."""
    port = h.wait_for("the notifier's metrics port",
                      lambda: run.children().get("notifier-0", (0, 0))[1], 20)
    last = [None, 0.0]

    def stuck():
        m_in = run.metric("notifier-0", "trailguard_records_in_total")
        m_out = run.metric("notifier-0", "trailguard_records_out_total")
        busy = run.metric("notifier-0", "trailguard_inflight_jobs")
        now = time.time()
        if m_in is None or m_out is None or not busy or busy < 1 or m_out != last[0]:
            last[0], last[1] = m_out, now
            return False
        return m_in > m_out and now - last[1] >= 1.0
    h.wait_for("the notifier to wait on the full pipe", stuck, 60, 0.05)
    return port


def probe(run, port, what):
    """/healthz and /metrics answer, each within 2 s, for 3 s, while the
    output stays blocked."""
    out_before = h.metric(port, "trailguard_records_out_total")
    end = time.time() + 3.0
    polls = 0
    while time.time() < end:
        t0 = time.time()
        try:
            st, _ = get(port, "/healthz", 2)
            st2, text = get(port, "/metrics", 2)
        except OSError as e:
            h.fail("%s: the notifier stopped answering while its output waits: %s" % (what, e))
        h.check(st == 200 and st2 == 200, "/healthz %d /metrics %d" % (st, st2))
        h.check(time.time() - t0 < 2.0, "a request took %.1fs" % (time.time() - t0))
        polls += 1
        time.sleep(0.05)  # pacing of the probe, not a wait for a condition
    h.check(h.metric(port, "trailguard_records_out_total") == out_before,
            "%s: the output was not blocked during the probe (nothing to prove)" % what)
    print("%s blocked: %d probes answered while %d alerts wait"
          % (what, polls, nexp - out_before))


def read_all(run):
    chunks = []
    reader = threading.Thread(target=lambda: chunks.append(run.p.stdout.read()), daemon=True)
    reader.start()
    h.wait_for("every alert delivered",
               lambda: (run.metric("notifier-0", "trailguard_records_out_total") or 0) >= nexp,
               60)
    run.p.stdin.write(b'{"Records":[]}')
    run.p.stdin.close()
    try:
        rc = run.p.wait(60)
    except subprocess.TimeoutExpired:
        h.fail("the run did not end after stdin closed")
    reader.join(10)
    h.check(rc == 0, "the run exited %d" % rc)
    return [json.loads(l) for l in b"".join(chunks).decode().splitlines() if l.strip()]


# ---- 1. a full pipe: the loop keeps serving /healthz and /metrics --------
run = start("block")
probe(run, wait_blocked(run), "built-in stdout")
objs = read_all(run)
got = [(a["rule"], a["output_fields"].get("ct.id")) for a in objs]
c = collections.Counter(got)
h.check(c == expected, "%d alerts, expected %d (missing %d, extra %d)"
        % (len(got), nexp, sum((expected - c).values()), sum((c - expected).values())))
check_per_job_order(h, got, PER_FILE)
for a in objs:
    keys = list(a["output_fields"])
    h.check(keys == sorted(keys), "output_fields keys not sorted: %s" % keys)
    rs = a["output_fields"].get("trailguard.ruleset", "")
    h.check(len(rs) == 64 and all(ch in "0123456789abcdef" for ch in rs),
            "alert without a ruleset hash: %s" % json.dumps(a)[:300])
hashes = {a["output_fields"]["trailguard.ruleset"] for a in objs}
h.check(len(hashes) == 1, "one rule set, several hashes: %s" % hashes)
with open(os.path.join(h.tmp, "block-logs", "evaluator-0.log")) as f:
    h.check("ruleset=%s" % hashes.pop() in f.read(), "alert hash is not the evaluator's")
print("delivered: %d alerts, in job order, with the ruleset hash" % len(got))

# ---- 2. the same with the stdout output module (notifier.outputs) -------
cfg = h.path("module.yaml")
with open(cfg, "w") as f:
    f.write("notifier:\n  outputs:\n    - {type: stdout, name: out}\n")
run = start("module", ["--config", cfg])
probe(run, wait_blocked(run), "stdout module")
objs = read_all(run)
c = collections.Counter((a["rule"], a["output_fields"].get("ct.id")) for a in objs)
h.check(c == expected, "stdout module: %d alerts, expected %d" % (sum(c.values()), nexp))

# ---- 3. SIGTERM while the pipe is full ---------------------------------
run = start("stop")
wait_blocked(run)
run.p.send_signal(signal.SIGTERM)
try:
    rc = run.p.wait(60)    # the stages stop one after the other, each drains
except subprocess.TimeoutExpired:
    h.fail("the run did not stop within 60s while the notifier's output waited")
run.p.stdout.close()


def stamp(line):
    t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    return t.timestamp()


with open(os.path.join(h.tmp, "stop-logs", "notifier-0.log")) as f:
    nlog = f.read().splitlines()
sig = [stamp(l) for l in nlog if "signal 15: draining" in l]
ex = [stamp(l) for l in nlog if "exit cpu_user" in l]
h.check(any("drain timeout" in l for l in nlog), "the notifier did not report its drain timeout")
h.check(sig and ex, "the notifier did not exit by itself after SIGTERM")
took = ex[0] - sig[0]
# drain timeout 5 s, then the stuck write is abandoned within 100 ms
h.check(took < 7.0, "the notifier took %.1fs from SIGTERM to exit" % took)
print("stopped: the notifier exited %.1fs after its SIGTERM (run exit %d)" % (took, rc))
h.done()
