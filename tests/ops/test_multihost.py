#!/usr/bin/env python3
"""Multi-host: the pipeline split over three network namespaces made by
the test, joined by veth pairs with private addresses that exist only
inside those namespaces, every stage talking tcp://:

    ns fe : trailguard-fetcher       10.231.1.1   (jobs :7001, acks :7002)
    ns pn : trailguard-parser        10.231.1.2 / 10.231.2.1 (batches :7003)
            trailguard-notifier                   (alerts :7004)
    ns ev : trailguard-evaluator x2  10.231.2.2

The fetcher sends file bytes inline (no shared paths needed).  The alerts
must equal those of a one-host `trailguard run` over the same files and
rules, and those reasoned from the rules (tests/ops/data/rules_a.yaml);
both evaluators must have taken batches; every daemon answers /healthz and
/readyz inside its namespace and exits 0 on SIGTERM.  Skips (77) when
network namespaces cannot be made (not root, no ip(8), no CAP_SYS_ADMIN)."""
import collections
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opsharness import Harness, make_corpus  # noqa: E402

h = Harness("multihost")
h.need_binaries()
if not shutil.which("ip"):
    h.skip("ip(8) (iproute2) is not installed: cannot make network namespaces")
if os.geteuid() != 0:
    h.skip("network namespaces need root (CAP_SYS_ADMIN + CAP_NET_ADMIN)")
tag = "tgops%d" % os.getpid()
NS_FE, NS_PN, NS_EV = tag + "fe", tag + "pn", tag + "ev"
for ns in (NS_FE, NS_PN, NS_EV):
    err = h.netns_add(ns)
    if err:
        h.skip("cannot create network namespace %s: %s" % (ns, err))
h.veth(NS_FE, "tgfe0", "10.231.1.1/30", NS_PN, "tgpn0", "10.231.1.2/30")
h.veth(NS_PN, "tgpn1", "10.231.2.1/30", NS_EV, "tgev0", "10.231.2.2/30")
FE, PN_A, PN_B = "10.231.1.1", "10.231.2.1", "10.231.2.1"

# Input: 12 files (plain and gzip, two accounts, two regions), ~3 batch
# frames each so that both evaluators get work.
corpus = h.path("corpus")
_, records = make_corpus(corpus, 1, 12, 200, pad=300)
rules = os.path.join(h.data, "rules_a.yaml")
expected = collections.Counter()
for r in records:
    if r["eventName"] == "DeleteTrail":
        expected[("Ops A Delete Trail", r["eventID"])] += 1
    if r["userIdentity"]["userName"] == "mallory":
        expected[("Ops A Mallory", r["eventID"])] += 1

common = ["-e", "metrics.bind=127.0.0.1", "-e", "log_level=info"]


def daemon(stage, ns, name, extra, args=()):
    log = h.path(name + ".log")
    state = h.path("state-" + name)
    os.makedirs(state, exist_ok=True)
    argv = [h.exe(stage)] + common + ["-e", "state_dir=" + state,
                                      "-e", stage + ".metrics.port=0"]
    for kv in extra:
        argv += ["-e", kv]
    if args:
        argv += ["--"] + list(args)
    p = h.start(argv, log, netns=ns)
    return p, log


alerts = h.path("multihost-alerts.json")
nt, nt_log = daemon("notifier", NS_PN, "notifier",
                    ["notifier.bind=tcp://%s:7004" % PN_A,
                     "notifier.output=file:" + alerts])
pa, pa_log = daemon("parser", NS_PN, "parser",
                    ["parser.connect=tcp://%s:7001" % FE,
                     "parser.bind=tcp://%s:7003" % PN_A])
ports = {"notifier": (NS_PN, int(h.wait_ready(nt_log)["metrics_port"])),
         "parser": (NS_PN, int(h.wait_ready(pa_log)["metrics_port"]))}
evs = [daemon("evaluator", NS_EV, "evaluator-%d" % i,
              ["evaluator.connect=tcp://%s:7003" % PN_B,
               "evaluator.notifier=tcp://%s:7004" % PN_A], [rules])
       for i in range(2)]
for i, (p, log) in enumerate(evs):
    ports["evaluator-%d" % i] = (NS_EV, int(h.wait_ready(log)["metrics_port"]))


def established(port):
    """TCP connections established to `port` in the parser's namespace."""
    r = subprocess.run(["ip", "netns", "exec", NS_PN, "ss", "-Htn", "state",
                        "established", "( sport = :%d )" % port],
                       capture_output=True, text=True)
    return len([l for l in r.stdout.splitlines() if l.strip()])


# Both evaluators must be connected before work flows, or the first one
# could take every batch.
if shutil.which("ss"):
    h.wait_for("both evaluators connected to the parser",
               lambda: established(7003) >= 2, 20)
    h.wait_for("both evaluators connected to the notifier",
               lambda: established(7004) >= 2, 20)
fe, fe_log = daemon("fetcher", NS_FE, "fetcher",
                    ["fetcher.bind=tcp://%s:7001" % FE,
                     "fetcher.ack_bind=tcp://%s:7002" % FE,
                     "fetcher.inline_data=true"], [corpus])
ports["fetcher"] = (NS_FE, int(h.wait_ready(fe_log)["metrics_port"]))

# Health endpoints, each inside its own namespace (the fetcher may finish
# quickly, so it is checked first).
for name in ["fetcher"] + sorted(n for n in ports if n != "fetcher"):
    ns, port = ports[name]
    if name == "fetcher" and fe.poll() is not None:
        continue
    code, body = h.http_get(port, "/healthz", netns=ns)
    if name == "fetcher" and code != 200 and fe.poll() is not None:
        continue                    # finished its run meanwhile
    h.check(code == 200, "%s /healthz in %s answered %d" % (name, ns, code))
    if name != "fetcher":
        h.wait_for("%s /readyz" % name,
                   lambda: h.http_get(port, "/readyz", netns=ns)[0] == 200, 20)

try:
    rc = fe.wait(120)
except subprocess.TimeoutExpired:
    h.fail("the fetcher did not finish within 120s (jobs not acknowledged?)")
h.check(rc == 0, "the fetcher exited %d, expected 0" % rc)

# The file bytes crossed from the fetcher's namespace to the parser's
# (inline jobs over tcp://): the parser side of the veth received at least
# the size of the corpus.
def rx_bytes(ns, ifname):
    out = subprocess.run(["ip", "-n", ns, "-s", "link", "show", ifname],
                         capture_output=True, text=True).stdout.splitlines()
    for i, line in enumerate(out):
        if line.strip().startswith("RX:"):
            return int(out[i + 1].split()[0])
    return 0


corpus_bytes = sum(os.path.getsize(os.path.join(corpus, f)) for f in os.listdir(corpus))
got_rx = rx_bytes(NS_PN, "tgpn0")
h.check(got_rx >= corpus_bytes, "the parser's namespace received %d bytes from the "
        "fetcher's, less than the %d bytes of input" % (got_rx, corpus_bytes))
for i in range(2):
    ns, port = ports["evaluator-%d" % i]
    n = h.metric(port, "trailguard_frames_in_total", netns=ns)
    h.check(n and n > 0, "evaluator-%d received no batch (frames_in=%s): the "
            "parser did not spread work over both hosts' evaluators" % (i, n))
for name in ("parser", "evaluator-0", "evaluator-1", "notifier"):
    ns, port = ports[name]
    e = h.metric(port, "trailguard_errors_total", netns=ns)
    h.check(e == 0, "%s reports %s errors" % (name, e))

for p in [pa] + [p for p, _ in evs] + [nt]:
    rc = h.stop(p)
    h.check(rc == 0, "a daemon exited %s after SIGTERM, expected 0" % rc)
got = collections.Counter(h.alerts(alerts))
h.check(got == expected, "multi-host alerts differ from the rules' expectation:\n"
        "  missing %s\n  unexpected %s" % (sorted((expected - got).elements())[:10],
                                           sorted((got - expected).elements())[:10]))

# The same input on one host with `trailguard run`.
one = h.path("onehost-alerts.json")
logdir = h.path("onehost-logs")
os.makedirs(logdir)
err = h.path("onehost.err")
h.logs.append(err)
with open(err, "wb") as e:
    try:
        rc = subprocess.run([h.exe("trailguard"), "run", "--evaluators", "2",
                             "--state-dir", h.path("onehost-state"),
                             "--log-dir", logdir, "-r", rules, "-o", "file:" + one,
                             corpus], stdout=subprocess.DEVNULL, stderr=e,
                            timeout=120).returncode
    except subprocess.TimeoutExpired:
        h.fail("trailguard run did not finish within 120s")
h.check(rc == 0, "trailguard run exited %d" % rc)
one_got = collections.Counter(h.alerts(one))
h.check(one_got == got, "multi-host and one-host alerts differ:\n"
        "  only one-host %s\n  only multi-host %s" %
        (sorted((one_got - got).elements())[:10], sorted((got - one_got).elements())[:10]))
print("%d alerts, identical on three namespaces and on one host" % sum(got.values()))
h.done()
