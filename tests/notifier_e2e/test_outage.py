#!/usr/bin/env python3
"""Webhook outage through the real daemons (`trailguard run`: fetcher,
parser, evaluator, notifier), with notifier.outputs holding one webhook to
a loopback receiver this test controls.  The sources are a generated
corpus directory and "-" (stdin, held open), so the run keeps going after
the corpus is acknowledged (spooled alerts are acknowledged) until the
test closes stdin.

  1. outage: the receiver answers 503 after the first alerts arrived; the
     output goes down and spools; it stays down until every alert reached
     the notifier; then the receiver answers 200 again.  Every expected
     alert arrives, none twice, and the alerts of one job (one file)
     arrive in record order.
  2. crash during an outage: the receiver is stopped (connection
     refused), the output spools, the notifier is SIGKILLed and the
     supervisor restarts it; the new notifier finds the spool; every job
     is acknowledged while the receiver is still stopped; then it listens
     again.  The spool replays: nothing is lost, duplicates are at most
     the group in progress at the kill (notifier.group_max: 4 batches here;
     they were spooled but not yet in the dedup journal), the alerts of
     one job still arrive in record order, also when the kill lost a
     job's first batch (its later batches, which carry count 0, wait).

One parser and one evaluator, so the batches of a job reach the notifier
in order (with several evaluators only the alerts of one batch are
ordered).  Every wait has a deadline; on failure every log is dumped."""
import collections
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2eharness import (Harness, Receiver, Run, check_per_job_order,  # noqa: E402
                        gen_corpus)

PER_FILE = 200
ONE_BATCH = 20      # alerts one ~64 KB batch of this corpus holds (~120 records x 3%)
GROUP = 4           # crash run: notifier.group_max (batches synced and acked together)
HOOK = {"output": "hook"}

h = Harness("notifier_outage")
logs, expected_list = gen_corpus(h, "corpus", 12000, PER_FILE)
expected = collections.Counter(expected_list)
nexp = sum(expected.values())
nfiles = len(os.listdir(logs))
rules = os.path.join(h.data, "rules.yaml")
env = dict(os.environ)
env.pop("XDG_RUNTIME_DIR", None)
env["TMPDIR"] = h.tmp


def config(name, port, group_max):
    path = h.path(name + ".yaml")
    with open(path, "w") as f:
        f.write("fetcher:\n  ack_timeout: 3s\n"
                "notifier:\n  group_max: %d\n  outputs:\n" % group_max +
                "    - type: webhook\n      name: hook\n"
                "      url: http://127.0.0.1:%d/\n"
                "      retry_initial: 20ms\n      retry_max: 200ms\n"
                "      retry_attempts: 3\n      timeout: 2s\n" % port)
    return path


def start_run(name, rcv, group_max=64):
    logdir = h.path(name + "-logs")
    os.makedirs(logdir)
    argv = [h.exe("trailguard"), "run", "--config", config(name, rcv.port, group_max),
            "--evaluators", "1", "--parsers", "1", "--state-dir", h.path(name + "-state"),
            "--log-dir", logdir, "--log-level", "info", "-r", rules, logs, "-"]
    run = Run(h, argv, env, stdin=subprocess.PIPE)
    for stage in ("fetcher", "parser", "evaluator", "notifier"):
        h.logs.append(os.path.join(logdir, stage + "-0.log"))
    return run, logdir


def finish(run, logdir):
    """Close stdin (an empty trail file) so the run ends, and check it ends
    cleanly."""
    run.p.stdin.write(b'{"Records":[]}')
    run.p.stdin.close()
    try:
        rc = run.p.wait(60)
    except subprocess.TimeoutExpired:
        h.fail("the run did not end after stdin closed")
    h.check(rc == 0, "the run exited %d" % rc)


def all_arrived(rcv):
    return not (expected - collections.Counter(rcv.received()))


def check_result(name, got, max_dups):
    c = collections.Counter(got)
    missing = expected - c
    h.check(not missing, "%s: %d of %d alerts lost, e.g. %s"
            % (name, sum(missing.values()), nexp, list(missing)[:3]))
    extra = c - expected
    h.check(set(extra) <= set(expected), "%s: unexpected alerts %s" % (name, list(extra)[:3]))
    dups = sum(extra.values())
    h.check(dups <= max_dups, "%s: %d duplicates (at most %d allowed)" % (name, dups, max_dups))
    check_per_job_order(h, got, PER_FILE)
    return dups


# ---- 1. outage (503), then recovery ----------------------------------
rcv = Receiver()
rcv.start()
run, logdir = start_run("outage", rcv)
h.wait_for("the first alerts at the receiver", lambda: len(rcv.received()) >= nexp // 20, 60)
rcv.set_mode("503")
before = len(rcv.received())
h.wait_for("the webhook output to go down and spool",
           lambda: (run.metric("notifier-0", "trailguard_output_spooled_total", HOOK) or 0) > 0,
           60)
h.wait_for("every alert to reach the notifier",
           lambda: (run.metric("notifier-0", "trailguard_records_in_total") or 0) >= nexp, 90)
depth = run.metric("notifier-0", "trailguard_output_spool_depth", HOOK)
h.check(depth and depth > 0, "nothing spooled during the outage (depth %s)" % depth)
h.check(rcv.refused > 0, "the receiver never answered 503")
print("outage: %d alerts before, %d answered 503, spool depth %d, %d expected"
      % (before, rcv.refused, depth, nexp))
rcv.set_mode("up")
h.wait_for("every alert at the receiver after the outage", lambda: all_arrived(rcv), 90)
h.wait_for("the spool to drain",
           lambda: run.metric("notifier-0", "trailguard_output_spool_depth", HOOK) == 0, 30)
finish(run, logdir)
rcv.stop()
dups = check_result("outage", rcv.received(), 0)
print("outage: %d alerts delivered in job order, %d duplicates" % (len(rcv.received()), dups))

# ---- 2. SIGKILL of the notifier during an outage ------------------------
rcv = Receiver()
rcv.start()
run, logdir = start_run("crash", rcv, GROUP)
h.wait_for("the first alerts at the receiver", lambda: len(rcv.received()) >= nexp // 20, 60)
rcv.stop()      # connection refused from now on
h.wait_for("the webhook output to go down and spool",
           lambda: (run.metric("notifier-0", "trailguard_output_spooled_total", HOOK) or 0) > 0,
           60)
old = run.children()["notifier-0"][0]
os.kill(old, signal.SIGKILL)
h.wait_for("the supervisor to restart the notifier",
           lambda: run.children().get("notifier-0", (old,))[0] != old, 30)
new = run.children()["notifier-0"]
h.check(new[2] >= 1, "run.info shows no restart of the notifier: %s" % (new,))
h.wait_for("the restarted notifier to find the spool",
           lambda: (run.metric("notifier-0", "trailguard_output_spool_depth", HOOK) or 0) > 0, 30)
h.wait_for("every job acknowledged while the output is down",
           lambda: (run.metric("fetcher-0", "trailguard_jobs_done_total") or 0) >= nfiles, 120)
depth = run.metric("notifier-0", "trailguard_output_spool_depth", HOOK)
print("crash: notifier %d killed, restarted as %d; %d alerts before; spool depth %s"
      % (old, new[0], len(rcv.received()), depth))
rcv.start()     # same port, answering 200
h.wait_for("every alert at the receiver after the restart", lambda: all_arrived(rcv), 90)
finish(run, logdir)
rcv.stop()
# what was spooled but not yet in the dedup journal at the kill comes again:
# at most the group in progress
dups = check_result("crash", rcv.received(), GROUP * ONE_BATCH + 1)
print("crash: %d alerts delivered in job order, %d duplicates" % (len(rcv.received()), dups))
h.done()
