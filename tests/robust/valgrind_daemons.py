#!/usr/bin/env python3
"""valgrind memcheck of every daemon on a short real run (not a meson test:
it takes minutes).

    valgrind_daemons.py --build DEBUG_BUILD_DIR [--out DIR] [--only local,s3,run]

local: the four daemons started one by one (as tests/integration does,
       `-c cfg` with ipc:// endpoints in a private directory), each under
       `valgrind --leak-check=full --error-exitcode=1`, on examples/logs
       with the shipped rules/; the notifier writes stdout JSON and posts
       to a loopback webhook (rbkit.Webhook).  The fetcher's finite run ends
       by itself; the others get SIGTERM once every alert is out.
s3:    the same, with the fetcher reading `--once s3://trail` from the
       loopback S3 peer (objects: examples/logs), then a second fetcher
       run on the same state (every object already done: the skip path).
run:   `trailguard run -r rules examples/logs` with the supervisor itself
       under valgrind (the children run natively).
Prints, per process, exit status, valgrind's ERROR SUMMARY and leak
summary lines; exits 1 if any process reports an error.
"""
import argparse
import glob
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import rbkit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--build", required=True)
ap.add_argument("--out", default="/tmp/tg-valgrind")
ap.add_argument("--only", default="local,s3,run")
a = ap.parse_args()
B = os.path.abspath(a.build)
OUT = os.path.abspath(a.out)
os.makedirs(OUT, exist_ok=True)
VG = ["valgrind", "--leak-check=full", "--error-exitcode=1", "--num-callers=30",
      "--track-origins=yes"]
results = []


def exe(stage):
    return os.path.join(B, stage, "trailguard-" + stage)


def wait_for(what, cond, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise SystemExit("FAIL: timed out waiting for " + what)


def ready(log):
    def f():
        try:
            with open(log, "rb") as fh:
                return b" ready endpoint=" in fh.read()
        except FileNotFoundError:
            return False
    return f


def vg_summary(path):
    with open(path, errors="replace") as f:
        text = f.read()
    err = re.findall(r"ERROR SUMMARY: (\d+) errors", text)
    leak = [l.split("== ", 1)[-1].strip() for l in text.splitlines()
            if re.search(r"(definitely|indirectly|possibly) lost:|still reachable:", l)]
    kinds = sorted(set(re.findall(r"== (Invalid \w+ of size \d+|Invalid free\(\)|"
                                   r"Conditional jump[^\n]*|Use of uninitialised[^\n]*|"
                                   r"Syscall param[^\n]*|[\d,]+ bytes in [\d,]+ blocks are "
                                   r"(?:definitely|possibly) lost[^\n]*)", text)))
    return (int(err[-1]) if err else None), leak, kinds


def record(name, rc, vglogs):
    for v in vglogs:
        n, leak, kinds = vg_summary(v)
        results.append((name, rc, os.path.basename(v), n, leak, kinds))


def write_cfg(d, extra_notifier=""):
    cfg = os.path.join(d, "cfg.yaml")
    with open(cfg, "w") as f:
        f.write("""state_dir: %(d)s/state
log_level: info
fetcher: {bind: "ipc://%(d)s/jobs", ack_bind: "ipc://%(d)s/acks", metrics.port: 0}
parser: {connect: ["ipc://%(d)s/jobs"], bind: "ipc://%(d)s/batches", metrics.port: 0}
evaluator: {connect: ["ipc://%(d)s/batches"], notifier: "ipc://%(d)s/alerts",
            rules: ["%(rules)s"], metrics.port: 0}
notifier:
  bind: "ipc://%(d)s/alerts"
  metrics.port: 0
%(extra)s""" % {"d": d, "rules": os.path.join(SRC, "rules"), "extra": extra_notifier})
    return cfg


def daemons_run(name, fetcher_args_list, env=None):
    d = os.path.join(OUT, name)
    os.makedirs(d, exist_ok=True)
    hook = rbkit.Webhook()
    cfg = write_cfg(d, "  outputs:\n    - {type: stdout, format: json}\n"
                       "    - {type: webhook, url: 'http://127.0.0.1:%d/'}\n" % hook.port)
    procs = {}
    out = os.path.join(d, "alerts.json")
    for st in ("notifier", "evaluator", "parser"):
        log = os.path.join(d, st + ".log")
        procs[st] = subprocess.Popen(VG + ["--log-file=%s/%s.vg" % (d, st), exe(st), "-c", cfg],
                                     stdout=open(out if st == "notifier" else log, "ab"),
                                     stderr=open(log, "ab"), env=env)
    for st in ("notifier", "evaluator", "parser"):
        wait_for(st + " ready", ready(os.path.join(d, st + ".log")), 180)
    frcs = []
    for i, fargs in enumerate(fetcher_args_list):
        log = os.path.join(d, "fetcher-%d.log" % i)
        p = subprocess.Popen(VG + ["--log-file=%s/fetcher-%d.vg" % (d, i), exe("fetcher"), "-c", cfg]
                             + fargs, stdout=open(log, "ab"), stderr=subprocess.STDOUT, env=env)
        try:
            frcs.append(p.wait(600))
        except subprocess.TimeoutExpired:
            p.kill()
            frcs.append("timeout")
        record(name, frcs[-1], ["%s/fetcher-%d.vg" % (d, i)])
    # the fetcher ends only after every batch was acked, i.e. delivered to
    # every output; wait (with a deadline) until the webhook has them all
    def lines():
        with open(out, "rb") as f:
            return f.read().count(b"\n")
    deadline = time.time() + 10
    while time.time() < deadline and len(hook.snapshot()) < lines():
        time.sleep(0.05)
    for st in ("parser", "evaluator", "notifier"):
        procs[st].send_signal(signal.SIGTERM)
        try:
            rc = procs[st].wait(120)
        except subprocess.TimeoutExpired:
            procs[st].kill()
            rc = "timeout"
        record(name, rc, ["%s/%s.vg" % (d, st)])
    with open(out, "rb") as f:
        n = f.read().count(b"\n")
    print("%s: fetcher exit %s, %d alerts on stdout, %d at the webhook" %
          (name, frcs, n, len(hook.snapshot())), flush=True)
    hook.close()


only = a.only.split(",")
examples = os.path.join(SRC, "examples", "logs")
if "local" in only:
    daemons_run("local", [["--", examples]])
if "s3" in only and rbkit.node_peers_ok(SRC):
    s3 = rbkit.S3Peer(SRC, OUT)
    for p in sorted(glob.glob(os.path.join(examples, "**", "*.json*"), recursive=True)):
        with open(p, "rb") as f:
            s3.put(rbkit.ct_key(os.path.basename(p)), f.read())
    env = rbkit.aws_env(dict(os.environ), s3.port)
    daemons_run("s3", [["-e", "fetcher.once=true", "--", "s3://trail"], ["-e", "fetcher.once=true", "--", "s3://trail"]], env)
    s3.close()
if "run" in only:
    d = os.path.join(OUT, "run")
    os.makedirs(d, exist_ok=True)
    env = dict(os.environ, TMPDIR=d)
    env.pop("XDG_RUNTIME_DIR", None)
    p = subprocess.run(VG + ["--log-file=%s/supervisor.vg" % d, os.path.join(B, "cli", "trailguard"),
                             "run", "--evaluators", "2", "-r", os.path.join(SRC, "rules"), examples],
                       stdout=open(os.path.join(d, "alerts.json"), "wb"),
                       stderr=open(os.path.join(d, "run.err"), "wb"), env=env, timeout=600)
    with open(os.path.join(d, "alerts.json"), "rb") as f:
        n = f.read().count(b"\n")
    print("run: supervisor exit %d, %d alerts" % (p.returncode, n))
    record("run", p.returncode, ["%s/supervisor.vg" % d])

bad = 0
print("\n%-6s %-14s %-6s %-7s %s" % ("run", "log", "exit", "errors", "leaks / error kinds"))
for name, rc, log, n, leak, kinds in results:
    print("%-6s %-14s %-6s %-7s %s" % (name, log, rc, n, "; ".join(leak) or "no leaks"))
    for k in kinds:
        print("%29s %s" % ("", k))
    if n or rc == 1 and "fetcher" not in log:
        bad += 1
    if n is None:
        bad += 1
sys.exit(1 if bad else 0)
