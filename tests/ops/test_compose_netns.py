#!/usr/bin/env python3
"""The compose wiring, run without a container engine: every container of
deploy/compose/docker-compose.yml (two evaluator replicas) becomes a
network namespace of its own, on a bridge, with a hosts file that resolves
the service names (fetcher, parser, notifier) like compose's DNS does.
Each daemon runs with the image's config (deploy/compose/trailguard.yaml)
and exactly the environment `docker-compose config` gives its service,
except for the host paths (input directory, state volumes, the rules and
the alerts file).  The services' own healthcheck commands must pass, the
run must deliver the alerts the rules predict, and both evaluator replicas
must take work.  Skips (77) without docker-compose, python3-yaml, or the
privilege to make network namespaces."""
import collections
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opsharness import Harness, make_corpus  # noqa: E402

h = Harness("compose_netns")
h.need_binaries(("fetcher", "parser", "evaluator", "notifier"))
if not shutil.which("docker-compose"):
    h.skip("docker-compose is not installed")
try:
    import yaml
except ImportError:
    h.skip("python3-yaml is not installed")
if not shutil.which("ip") or os.geteuid() != 0:
    h.skip("network namespaces need ip(8) and root")

cdir = os.path.join(h.srcdir, "deploy", "compose")
empty = h.path("empty.env")
open(empty, "w").close()
env0 = {k: v for k, v in os.environ.items()
        if not k.startswith(("TRAILGUARD_", "COMPOSE_"))}
r = subprocess.run(["docker-compose", "--project-directory", cdir, "--env-file", empty,
                    "-f", os.path.join(cdir, "docker-compose.yml"), "config"],
                   capture_output=True, text=True, env=env0, timeout=60)
h.check(r.returncode == 0, "docker-compose config failed:\n%s" % r.stderr)
svcs = yaml.safe_load(r.stdout)["services"]
replicas = int(svcs["evaluator"].get("deploy", {}).get("replicas", 1))
h.check(replicas >= 2, "evaluator replicas %d" % replicas)

# One namespace per container, all on a bridge in a hub namespace.
tag = "tgc%d" % os.getpid()
containers = ["fetcher", "parser", "notifier"] + ["evaluator-%d" % i for i in range(replicas)]
hub = tag + "hub"
err = h.netns_add(hub)
if err:
    h.skip("cannot create network namespace: %s" % err)
h.sh("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
h.sh("ip", "-n", hub, "link", "set", "br0", "up")
addr = {}
for i, c in enumerate(containers):
    ns = tag + c.replace("-", "")
    err = h.netns_add(ns)
    if err:
        h.skip("cannot create network namespace: %s" % err)
    a = "10.232.0.%d" % (10 + i)
    addr[c] = a
    h.sh("ip", "-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name",
         "p%d" % i, "netns", hub)
    h.sh("ip", "-n", ns, "addr", "add", a + "/24", "dev", "eth0")
    h.sh("ip", "-n", ns, "link", "set", "eth0", "up")
    h.sh("ip", "-n", hub, "link", "set", "p%d" % i, "master", "br0")
    h.sh("ip", "-n", hub, "link", "set", "p%d" % i, "up")
names = {"fetcher": addr["fetcher"], "parser": addr["parser"],
         "notifier": addr["notifier"]}
for c in containers:
    h.netns_hosts(tag + c.replace("-", ""), names)

corpus = h.path("incoming")
_, records = make_corpus(corpus, 1, 8, 200, pad=300)
rules = os.path.join(h.data, "rules_a.yaml")
alerts = h.path("alerts.json")
expected = collections.Counter()
for rec in records:
    if rec["eventName"] == "DeleteTrail":
        expected[("Ops A Delete Trail", rec["eventID"])] += 1
    if rec["userIdentity"]["userName"] == "mallory":
        expected[("Ops A Mallory", rec["eventID"])] += 1

host_paths = {
    "TRAILGUARD_FETCHER_SOURCES": corpus,
    "TRAILGUARD_EVALUATOR_RULES": rules,
    "TRAILGUARD_NOTIFIER_OUTPUT": "file:" + alerts,
    "TRAILGUARD_LOG_LEVEL": "info",
}
procs, logs = {}, {}


def start(c):
    svc = svcs[c.split("-")[0]]
    env = {k: str(v) for k, v in (svc.get("environment") or {}).items()}
    for k in list(env):
        if k in host_paths:
            env[k] = host_paths[k]
    env["TRAILGUARD_STATE_DIR"] = h.path("volume-" + c)
    os.makedirs(env["TRAILGUARD_STATE_DIR"], exist_ok=True)
    env["PATH"] = os.environ.get("PATH", "/usr/bin:/bin")
    argv = [h.exe(c.split("-")[0])] + list(svc.get("command") or [])
    argv = [a.replace("/etc/trailguard/trailguard.yaml",
                      os.path.join(cdir, "trailguard.yaml")) for a in argv]
    logs[c] = h.path(c + ".log")
    procs[c] = h.start(argv, logs[c], env=env, netns=tag + c.replace("-", ""))


def healthy(c):
    test = svcs[c.split("-")[0]]["healthcheck"]["test"]
    h.check(test[0] == "CMD", "%s: healthcheck is not an exec form: %r" % (c, test))
    r = subprocess.run(["ip", "netns", "exec", tag + c.replace("-", "")] + test[1:],
                       capture_output=True, timeout=15)
    return r.returncode == 0


order = ["notifier", "parser"] + ["evaluator-%d" % i for i in range(replicas)]
for c in order:
    start(c)
for c in order:
    h.wait_ready(logs[c])
    h.wait_for("the %s healthcheck" % c, lambda: healthy(c), 20, 0.2)
if shutil.which("ss"):
    def established():
        r = subprocess.run(["ip", "netns", "exec", tag + "parser", "ss", "-Htn", "state",
                            "established", "( sport = :7003 )"],
                           capture_output=True, text=True)
        return len([l for l in r.stdout.splitlines() if l.strip()]) >= replicas
    h.wait_for("every evaluator replica connected to the parser", established, 20)
start("fetcher")
h.wait_ready(logs["fetcher"])
try:
    rc = procs["fetcher"].wait(120)
except subprocess.TimeoutExpired:
    h.fail("the fetcher did not finish within 120s")
h.check(rc == 0, "the fetcher exited %d" % rc)
for i in range(replicas):
    c = "evaluator-%d" % i
    port = int(svcs["evaluator"]["environment"]["TRAILGUARD_EVALUATOR_METRICS_PORT"])
    n = h.metric(port, "trailguard_frames_in_total", netns=tag + c.replace("-", ""))
    h.check(n and n > 0, "%s took no batch (frames_in=%s)" % (c, n))
for c in order:
    rc = h.stop(procs[c])
    h.check(rc == 0, "%s exited %s after SIGTERM" % (c, rc))
got = collections.Counter(h.alerts(alerts))
h.check(got == expected, "alerts differ:\n  missing %s\n  unexpected %s" %
        (sorted((expected - got).elements())[:8], sorted((got - expected).elements())[:8]))
print("%d alerts through the compose wiring (%d containers)" %
      (sum(got.values()), len(containers)))
h.done()
