#!/usr/bin/env python3
"""`trailguard run` control paths.

1. stdin as a source (a file, and a pipe): `trailguard run -` gives the
   alerts of what was read.
2. A long-running supervisor (no sources): `trailguard reload` makes every
   evaluator load the changed rules (new ruleset hash) and the notifier
   reopen its output file (moved away -> created again); an invalid rules
   file is rejected and the old rule set keeps running; `trailguard status`
   lists the four stages; SIGTERM stops every daemon and the supervisor
   exits 0.
3. A supervisor killed with SIGKILL: its daemons notice and exit."""
import os
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness, log_dir_logs  # noqa: E402

h = Harness("run_control")
rules_src = os.path.join(h.data, "rules.yaml")
env = dict(os.environ)
env.pop("XDG_RUNTIME_DIR", None)
env["TMPDIR"] = h.tmp

# 1. stdin
plain = os.path.join(h.data, "logs", "111122223333_CloudTrail_eu-west-1_20240501T1000Z_a.json")
with open(plain, "rb") as f:
    res = subprocess.run([h.exe("trailguard"), "run", "--evaluators", "1", "-r", rules_src, "-"],
                         stdin=f, capture_output=True, env=env, timeout=60)
h.check(res.returncode == 0, "stdin run exited %d: %s" % (res.returncode, res.stderr[-2000:]))
out = h.path("stdin.json")
with open(out, "wb") as f:
    f.write(res.stdout)
h.check(h.alerts(out) == [("Pipeline Test Delete Trail", "00000000-0000-4000-8000-000000000002")],
        "stdin run alerts: %r" % h.alerts(out))

# stdin as a pipe (read through the event loop until EOF)
with open(plain, "rb") as f:
    body = f.read()
res = subprocess.run([h.exe("trailguard"), "run", "--evaluators", "1", "-r", rules_src, "-"],
                     input=body, capture_output=True, env=env, timeout=60)
h.check(res.returncode == 0, "piped stdin run exited %d" % res.returncode)
with open(out, "wb") as f:
    f.write(res.stdout)
h.check(len(h.alerts(out)) == 1, "piped stdin run alerts: %r" % h.alerts(out))

# 2. reload, status, SIGTERM
rules = h.path("rules.yaml")
shutil.copy(rules_src, rules)
logdir = h.path("logs")
os.makedirs(logdir)
alerts_file = h.path("alerts-file.json")
err = h.path("sup.err")
h.logs.append(err)
sup = subprocess.Popen([h.exe("trailguard"), "run", "--evaluators", "2", "--log-level", "info",
                        "--log-dir", logdir, "-r", rules, "-o", "json", "-o", "file:" + alerts_file],
                       stdout=subprocess.DEVNULL, stderr=open(err, "wb"), env=env)
h.procs.append(sup)
evlogs = [os.path.join(logdir, "evaluator-%d.log" % i) for i in (0, 1)]
for st in ("fetcher-0", "parser-0", "evaluator-0", "evaluator-1", "notifier-0"):
    h.wait_ready(os.path.join(logdir, st + ".log"))
log_dir_logs(h, logdir)


def rundir():
    with open(err) as f:
        for line in f:
            if "runtime directory " in line:
                return line.split("runtime directory ")[1].split()[0]
    return None


rd = h.wait_for("runtime directory", rundir, 10)


def count(path, needle):
    with open(path, errors="replace") as f:
        return f.read().count(needle)


st = subprocess.run([h.exe("trailguard"), "status", rd], capture_output=True, text=True,
                    env=env, timeout=30)
h.check(st.returncode == 0, "status exited %d: %s" % (st.returncode, st.stderr))
for stage in ("fetcher", "parser", "evaluator", "notifier"):
    h.check(stage in st.stdout, "status lacks %s:\n%s" % (stage, st.stdout))
h.check(" 2/2 " in st.stdout, "status does not show 2/2 evaluators:\n%s" % st.stdout)

with open(rules, "a") as f:
    f.write("""
- rule: Pipeline Test Reloaded Rule
  desc: added by the reload test
  condition: ct.name = "StopLogging"
  output: Logging stopped (id=%ct.id)
  priority: ERROR
  source: aws_cloudtrail
""")
os.rename(alerts_file, alerts_file + ".old")
r = subprocess.run([h.exe("trailguard"), "reload", rd], capture_output=True, env=env, timeout=10)
h.check(r.returncode == 0, "reload exited %d" % r.returncode)
for lg in evlogs:
    h.wait_for("rules reloaded in " + lg, lambda: count(lg, "rules reloaded ruleset=") >= 1, 20)
    h.wait_for("4 rules in " + lg, lambda: count(lg, "rules=4 enabled=4") >= 1, 5)
h.wait_for("notifier reopened its file", lambda: os.path.exists(alerts_file), 10)

with open(rules, "a") as f:
    f.write("\n- rule: Broken\n  condition: ct.name =\n  output: x\n  priority: ERROR\n")
r = subprocess.run([h.exe("trailguard"), "reload", rd], capture_output=True, env=env, timeout=10)
for lg in evlogs:
    h.wait_for("reload rejected in " + lg, lambda: count(lg, "rules reload rejected") >= 1, 20)
h.check(sup.poll() is None, "supervisor died after a bad reload")

with open(os.path.join(rd, "run.info")) as f:
    kids = [int(l.split()[3]) for l in f if l.startswith("child")]
sup.send_signal(signal.SIGTERM)
rc = sup.wait(60)
h.check(rc == 0, "supervisor exited %d after SIGTERM" % rc)
for pid in kids:
    h.check(not os.path.exists("/proc/%d" % pid) or
            open("/proc/%d/stat" % pid).read().split()[2] == "Z",
            "daemon %d still running after the supervisor stopped" % pid)
for st in ("fetcher-0", "parser-0", "evaluator-0", "evaluator-1", "notifier-0"):
    h.check(count(os.path.join(logdir, st + ".log"), "exit cpu_user=") == 1,
            "%s did not exit cleanly" % st)

# 3. supervisor SIGKILLed: the daemons stop by themselves
logdir2 = h.path("logs2")
os.makedirs(logdir2)
sup2 = subprocess.Popen([h.exe("trailguard"), "run", "--evaluators", "1", "--log-level", "info",
                         "--log-dir", logdir2,
                         "-r", rules_src], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL, env=env)
h.procs.append(sup2)
for st in ("fetcher-0", "parser-0", "evaluator-0", "notifier-0"):
    h.wait_ready(os.path.join(logdir2, st + ".log"))
log_dir_logs(h, logdir2)
sup2.kill()
sup2.wait()
for st in ("fetcher-0", "parser-0", "evaluator-0", "notifier-0"):
    lg = os.path.join(logdir2, st + ".log")
    h.wait_for(st + " to exit after the supervisor died",
               lambda: count(lg, "exit cpu_user=") == 1, 15)
h.done()
