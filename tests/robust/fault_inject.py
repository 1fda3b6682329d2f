#!/usr/bin/env python3
"""Fault injection for the whole pipeline under `trailguard run`.

    fault_inject.py [--short] [--seed S] [--records N] [--kills K] [--source s3|local]
                    [--build DIR] [--keep]

1. tests/integration/gen_events.py writes N CloudTrail records in files of
   250 and the alerts tests/data/pipeline/rules.yaml must give.
2. Undisturbed run: the same source, outputs and settings, no faults.  Its
   alert set must equal the reasoned expectation.
3. Faulted run: K SIGKILLs of each stage type (fetcher, parser, one of the
   evaluators, notifier) at seeded random points of progress (the supervisor
   restarts each child; pids come from run.info), plus
   - an S3 outage: the loopback S3 peer the fetcher talks to
     (AWS_ENDPOINT_URL_S3) is stopped for a seeded random time, then started
     again on the same port (the bucket lives in a second peer behind it);
   - a webhook outage: the loopback webhook output answers 503 for a while,
     then is down (listener closed, requests dropped) for a while.
   The run is stopped when every expected alert has reached both the stdout
   output and the webhook (or at the deadline).
4. Checks: each output's alert set equals the undisturbed run's; prints
   expected / got / missing / duplicates / unexpected per output, kills done
   and the measured outage durations.  Exit 0 when nothing is missing and
   nothing unexpected appeared; duplicates are reported (they can only come
   from a notifier killed between delivering and journalling a group of
   frames) and fail the run only beyond DUPS_PER_NOTIFIER_KILL per
   notifier kill.

S3 source: the undisturbed run's objects are all in the bucket (prefix
undisturbed/) when it starts; the faulted run's objects (prefix faulted/)
are put at a steady rate over --feed seconds, so the faults land while
work is in flight however fast the pipeline is.  fetcher.aws.poll_interval
is --poll (1s).  Without node / tests/peers/node_modules the S3 part is
skipped and local files are used (--source local does that on purpose).
--short (the meson test, suite robust): 20k records, one kill per stage
type, short outages; stays under ~2 minutes.
"""
import argparse
import collections
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
sys.path.insert(0, HERE)
import rbkit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--short", action="store_true")
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--records", type=int, default=None)
ap.add_argument("--kills", type=int, default=None, help="kills per stage type")
ap.add_argument("--source", choices=["s3", "local"], default="s3")
ap.add_argument("--build", default=None, help="build directory (default $TG_BUILD_ROOT)")
ap.add_argument("--evaluators", type=int, default=2)
ap.add_argument("--keep", action="store_true")
ap.add_argument("--poll", default="1s", help="fetcher.aws.poll_interval (s3 source)")
ap.add_argument("--feed", type=float, default=None,
                help="s3: seconds over which the faulted run's objects are put (15 short, 90 full)")
a = ap.parse_args()
if a.build:
    os.environ["TG_BUILD_ROOT"] = os.path.abspath(a.build)
os.environ.setdefault("TG_SOURCE_ROOT", SRC)
if a.keep:
    os.environ["TG_KEEP_TMP"] = "1"
from tgharness import Harness, log_dir_logs  # noqa: E402

seed = a.seed if a.seed is not None else int(time.time()) % 100000
rng = random.Random(seed)
records = a.records or (10000 if a.short else 100000)
kills_per = a.kills if a.kills is not None else (1 if a.short else 3)
# Duplicates a notifier SIGKILL may cause: the alerts it delivered but had
# not yet committed to its dedup journal.  Since d659e13 the notifier
# delivers and commits a *group* of up to notifier.group_max (64) frames
# at once, so this is up to one group: 64 frames of 16 KiB here, ~1 alert
# each (measured: 0-19 per kill).  README still says "one batch".
DUPS_PER_NOTIFIER_KILL = 80
print("seed=%d records=%d kills_per_stage=%d source=%s short=%s" %
      (seed, records, kills_per, a.source, a.short), flush=True)

h = Harness("fault_inject")
gen = os.path.join(SRC, "tests", "integration", "gen_events.py")
corpus = h.path("corpus")
subprocess.run([sys.executable, gen, "--out", corpus, "--records", str(records),
                "--per-file", "250", "--seed", str(seed)], check=True,
               stdout=subprocess.DEVNULL, timeout=300)
expected = collections.Counter(h.expected(os.path.join(corpus, "expected.tsv")))
nexp = sum(expected.values())
rules = os.path.join(h.data, "rules.yaml")
logs = os.path.join(corpus, "logs")
files = sorted(os.listdir(logs))

use_s3 = a.source == "s3"
if use_s3 and not rbkit.node_peers_ok(SRC):
    print("node or tests/peers/node_modules missing: S3 outage skipped, local files used")
    use_s3 = False

s3 = None
bodies = []
for n in files:
    with open(os.path.join(logs, n), "rb") as f:
        bodies.append((n, f.read()))
if use_s3:
    s3 = rbkit.S3Peer(SRC, h.tmp)
    h.logs += [os.path.join(h.tmp, "s3-back.log"), os.path.join(h.tmp, "s3-front.log")]
    t0 = time.time()
    for n, body in bodies:     # the undisturbed run's objects, all there at its start
        s3.put(rbkit.ct_key(n, prefix="undisturbed"), body)
    print("uploaded %d objects under undisturbed/ in %.1fs" % (len(files), time.time() - t0))
feed_s = a.feed if a.feed is not None else (15.0 if a.short else 90.0)


def feeder():
    """The faulted run's objects arrive at a steady rate over feed_s seconds
    (under faulted/), so the faults land while work is in flight however
    fast the pipeline is."""
    t0 = time.time()
    for i, (n, body) in enumerate(bodies):
        due = t0 + feed_s * i / len(bodies)
        while time.time() < due:
            time.sleep(min(0.05, due - time.time()))
        s3.put(rbkit.ct_key(n, prefix="faulted"), body)

hook = rbkit.Webhook()


def write_config(path, state):
    with open(path, "w") as f:
        f.write("state_dir: %s\n" % state)
        f.write("fetcher:\n  ack_timeout: 2s\n  max_inflight: 4\n")
        if use_s3:
            f.write("  aws:\n    poll_interval: %s\n" % a.poll)
        f.write("parser:\n  batch_bytes: 16KiB\n")
        f.write("notifier:\n  outputs:\n")
        f.write("    - {type: stdout, format: json}\n")
        f.write("    - {type: webhook, name: hook, url: 'http://127.0.0.1:%d/', batch: false,"
                " retry_initial: 100ms, retry_max: 1s, retry_attempts: 3, timeout: 2s}\n"
                % hook.port)


def start_run(tag):
    cfg = h.path(tag + ".yaml")
    write_config(cfg, h.path(tag + "-state"))
    logdir = h.path(tag + "-logs")
    os.makedirs(logdir)
    out = h.path(tag + "-alerts.json")
    err = h.path(tag + "-run.err")
    h.logs.append(err)
    env = dict(os.environ)
    env.pop("XDG_RUNTIME_DIR", None)
    env["TMPDIR"] = h.tmp
    src = ["s3://%s/%s" % (rbkit.BUCKET, tag)] if use_s3 else [logs]
    if use_s3:
        env = rbkit.aws_env(env, s3.port)
    argv = [h.exe("trailguard"), "run", "--config", cfg, "--evaluators", str(a.evaluators),
            "--log-dir", logdir, "--log-level", "info", "-r", rules] + src
    o, e = open(out, "wb"), open(err, "wb")
    p = subprocess.Popen(argv, stdout=o, stderr=e, env=env)
    h.procs.append(p)

    def rundir():
        with open(err) as f:
            m = re.search(r"runtime directory (\S+)", f.read())
        return m.group(1) if m else None
    rd = h.wait_for("runtime directory line", rundir, 20)
    return p, out, rd, logdir, (o, e)


def read_alerts(path):
    got = []
    with open(path, "rb") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                doc = json.loads(line)
            except ValueError:
                continue   # a line cut by a SIGKILL would show up here; counted below
            got.append((doc["rule"], doc["output_fields"].get("ct.id")))
    return got


def complete(out_path, hook_from):
    s = set(read_alerts(out_path))
    w = set(hook.snapshot()[hook_from:])
    return len(s & set(expected)) == len(expected) and len(w & set(expected)) == len(expected)


def finish(p, out, logdir, handles, deadline_s, hook_from):
    t0 = time.time()
    while time.time() - t0 < deadline_s and p.poll() is None:
        if complete(out, hook_from):
            break
        time.sleep(0.2)
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
    try:
        rc = p.wait(60)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
    for x in handles:
        x.close()
    log_dir_logs(h, logdir)
    return rc


def summary(name, got, ref):
    c = collections.Counter(got)
    missing = ref - c
    cs = set(c)
    dup = sum(n - 1 for n in c.values() if n > 1)
    unexpected = [k for k in cs if k not in ref]
    print("  %-8s expected=%d got=%d distinct=%d missing=%d duplicates=%d unexpected=%d" %
          (name, sum(ref.values()), len(got), len(cs), sum(missing.values()), dup, len(unexpected)))
    return sum(missing.values()), dup, len(unexpected), missing


# ---- 1. undisturbed ------------------------------------------------------------
t0 = time.time()
hook_from = len(hook.snapshot())
p, out0, rd, logdir, hd = start_run("undisturbed")
rc = finish(p, out0, logdir, hd, 240 if a.short else 600, hook_from)
got0 = read_alerts(out0)
hook0 = hook.snapshot()[hook_from:]
print("undisturbed run: %.1fs, exit %d" % (time.time() - t0, rc))
m0, d0, u0, _ = summary("stdout", got0, expected)
mw0, dw0, uw0, _ = summary("webhook", hook0, expected)
h.check(m0 == 0 and u0 == 0 and d0 == 0, "undisturbed stdout alerts differ from the expectation")
h.check(mw0 == 0 and uw0 == 0 and dw0 == 0, "undisturbed webhook alerts differ from the expectation")
reference = collections.Counter(got0)   # == expected, checked above

# ---- 2. faulted ----------------------------------------------------------------
stages = ["fetcher", "parser", "evaluator", "notifier"]
events = []
for st in stages:
    for _ in range(kills_per):
        events.append((rng.uniform(0.05, 0.9), "kill", st))
if use_s3:
    events.append((rng.uniform(0.1, 0.6), "s3", rng.uniform(4, 8) if a.short else rng.uniform(8, 30)))
events.append((rng.uniform(0.1, 0.6), "hook",
               (rng.uniform(2, 4), rng.uniform(2, 4)) if a.short else
               (rng.uniform(5, 15), rng.uniform(5, 20))))
events.sort()
print("schedule (progress fraction of expected alerts on stdout):")
for ev in events:
    print("  %.3f %s %s" % (ev[0], ev[1], ev[2] if ev[1] == "kill" else
                            ("%.1fs" % ev[2] if ev[1] == "s3" else "503 %.1fs, down %.1fs" % ev[2])))

hook_from = len(hook.snapshot())
t_start = time.time()
p, out1, rd, logdir, hd = start_run("faulted")
feed_thread = None
if use_s3:
    feed_thread = threading.Thread(target=feeder, daemon=True)
    feed_thread.start()
    print("feeding %d objects under faulted/ over %.0fs" % (len(bodies), feed_s), flush=True)


def lines():
    try:
        with open(out1, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


kills = collections.Counter()
kill_log = []
outages = []
notifier_kills = 0
last_start = {}
threads = []


def s3_outage(dur):
    t = time.time()
    s3.stop_front()
    time.sleep(dur)    # the outage itself: a deliberate duration, not a wait for a condition
    s3.start_front()
    outages.append(("s3", time.time() - t))


def hook_outage(d503, ddown):
    t = time.time()
    hook.set_mode("503")
    time.sleep(d503)
    t2 = time.time()
    hook.set_mode("down")
    time.sleep(ddown)
    hook.set_mode("up")
    outages.append(("webhook-503", t2 - t))
    outages.append(("webhook-down", time.time() - t2))


for frac, kind, arg in events:
    h.wait_for("progress %.0f%%" % (frac * 100),
               lambda: lines() >= frac * nexp or p.poll() is not None, 400, 0.005)
    if p.poll() is not None:
        break
    if kind == "s3":
        th = threading.Thread(target=s3_outage, args=(arg,))
        th.start()
        threads.append(th)
        continue
    if kind == "hook":
        th = threading.Thread(target=hook_outage, args=arg)
        th.start()
        threads.append(th)
        continue
    names = [k for k in rbkit.run_info(rd) if k.startswith(arg + "-")]
    child = rng.choice(sorted(names)) if names else arg + "-0"
    old = h.wait_for("pid of " + child, lambda: rbkit.run_info(rd).get(child), 30)
    # the supervisor gives up on a child that dies 5 times within 2 s of its
    # start: let a freshly restarted child live a little first
    while time.time() - last_start.get(child, 0) < 2.5:
        time.sleep(0.05)
    try:
        os.kill(old, signal.SIGKILL)
    except ProcessLookupError:
        continue
    kills[arg] += 1
    if arg == "notifier":
        notifier_kills += 1
    kill_log.append("%s@%d" % (child, lines()))
    h.wait_for(child + " restarted",
               lambda: rbkit.run_info(rd).get(child) not in (None, 0, old) or p.poll() is not None,
               60)
    last_start[child] = time.time()

for th in threads:
    th.join()
if feed_thread:
    feed_thread.join()
rc = finish(p, out1, logdir, hd, 240 if a.short else 900, hook_from)
elapsed = time.time() - t_start
got1 = read_alerts(out1)
hook1 = hook.snapshot()[hook_from:]
print("faulted run: %.1fs, exit %d" % (elapsed, rc))
print("kills done: %s (total %d): %s" % (dict(kills), sum(kills.values()), " ".join(kill_log)))
print("outages: %s" % ", ".join("%s %.1fs" % o for o in outages))
print("webhook requests: %s" % hook.requests)
m1, d1, u1, miss1 = summary("stdout", got1, reference)
mw1, dw1, uw1, missw1 = summary("webhook", hook1, reference)
with open(out1, "rb") as f:
    raw = f.read().count(b"\n")
if raw != len(got1):
    print("  stdout: %d lines are not complete JSON alerts" % (raw - len(got1)))
hook.close()
if s3:
    s3.close()
h.check(sum(kills.values()) == kills_per * len(stages),
        "the run ended before every kill (%s)" % dict(kills))
h.check(m1 == 0, "%d alerts missing on stdout, e.g. %s" % (m1, list(miss1)[:3]))
h.check(mw1 == 0, "%d alerts missing at the webhook, e.g. %s" % (mw1, list(missw1)[:3]))
h.check(u1 == 0 and uw1 == 0, "unexpected alerts")
h.check(d1 <= DUPS_PER_NOTIFIER_KILL * notifier_kills and
        dw1 <= DUPS_PER_NOTIFIER_KILL * notifier_kills,
        "duplicates beyond one notifier group per notifier kill (stdout %d, webhook %d)" % (d1, dw1))
print("seed=%d: PASS" % seed)
h.done()
