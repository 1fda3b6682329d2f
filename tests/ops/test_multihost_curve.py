#!/usr/bin/env python3
"""Multi-host with CURVE: the three-namespace layout of test_multihost.py
with `curve.enabled` on every stage, each stage with its own keypair made
by `trailguard keygen`:

    ns fe : fetcher                       binds jobs :7001, acks :7002
    ns pn : parser, notifier              parser binds :7003, notifier :7004
    ns ev : evaluator x2                  connect to the parser and notifier
            intruder evaluator            CURVE, key NOT in authorized_keys
            plain evaluator               no CURVE at all

Clients know the fetcher's key as the deployment default
(curve.server_public_key_file) and the parser's and notifier's through
per-endpoint curve.server_keys; every server accepts only the keys in an
authorized_keys directory (the four legitimate stages' .pub files).
Settings arrive both ways operators give them: environment
(TRAILGUARD_CURVE_*) and -e overrides.

Checks:
  - the alerts equal the rules' expectation and those of a one-host
    `trailguard run` with CURVE over ipc:// (--config with a curve section);
    the fetcher exits 0, so every ack came back over CURVE too;
  - the intruder's connections are rejected by the parser's and the
    notifier's ZAP handler (warning naming the peer address and the key,
    trailguard_curve_rejected_total > 0) and neither it nor the plain
    evaluator ever receives a batch; nothing is lost for the others;
  - the bytes on both veth links (captured with an AF_PACKET socket) hold
    no plaintext from the records.
Skips (77) when network namespaces cannot be made, like test_multihost."""
import collections
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opsharness import Harness, make_corpus  # noqa: E402

h = Harness("multihost_curve")
h.need_binaries()
if not shutil.which("ip"):
    h.skip("ip(8) (iproute2) is not installed: cannot make network namespaces")
if os.geteuid() != 0:
    h.skip("network namespaces need root (CAP_SYS_ADMIN + CAP_NET_ADMIN)")
tag = "tgcv%d" % os.getpid()
NS_FE, NS_PN, NS_EV = tag + "fe", tag + "pn", tag + "ev"
for ns in (NS_FE, NS_PN, NS_EV):
    err = h.netns_add(ns)
    if err:
        h.skip("cannot create network namespace %s: %s" % (ns, err))
h.veth(NS_FE, "tgcfe0", "10.232.1.1/30", NS_PN, "tgcpn0", "10.232.1.2/30")
h.veth(NS_PN, "tgcpn1", "10.232.2.1/30", NS_EV, "tgcev0", "10.232.2.2/30")
FE, PN, EV = "10.232.1.1", "10.232.2.1", "10.232.2.2"
JOBS, ACKS = "tcp://%s:7001" % FE, "tcp://%s:7002" % FE
BATCHES, ALERTS = "tcp://%s:7003" % PN, "tcp://%s:7004" % PN

# ---- keys -------------------------------------------------------------------
keydir = h.path("keys")
authdir = h.path("authorized.d")
os.makedirs(keydir)
os.makedirs(authdir)


def keygen(name):
    path = os.path.join(keydir, name + ".key")
    r = subprocess.run([h.exe("trailguard"), "keygen", "--out", path],
                       capture_output=True, text=True)
    h.check(r.returncode == 0, "trailguard keygen failed: %s" % r.stderr)
    mode = os.stat(path).st_mode & 0o777
    h.check(mode == 0o600, "keygen wrote %s with mode %o, not 600" % (path, mode))
    pub = r.stdout.strip().split(" = ", 1)[1]
    h.check(len(pub) == 40, "keygen printed %r, not a public-key line" % r.stdout)
    with open(path + ".pub") as f:
        h.check(pub in f.read(), "FILE.pub does not hold the printed key")
    return path, pub


keys = {n: keygen(n) for n in ("fetcher", "parser", "notifier", "ev0", "ev1",
                               "intruder")}
for n in ("parser", "notifier", "ev0", "ev1"):
    shutil.copy(keys[n][0] + ".pub", os.path.join(authdir, n + ".pub"))

# a secret key file readable by others is refused at start, naming it
loose = os.path.join(keydir, "loose.key")
shutil.copy(keys["ev0"][0], loose)
os.chmod(loose, 0o644)
r = subprocess.run([h.exe("parser"), "--check-config", "-e", "curve.enabled=true",
                    "-e", "curve.secret_key_file=" + loose],
                   capture_output=True, text=True)
h.check(r.returncode != 0 and loose in r.stderr and "group or others" in r.stderr,
        "a 0644 secret key file was not refused with its name: rc=%d %r"
        % (r.returncode, r.stderr))

# ---- input --------------------------------------------------------------------
corpus = h.path("corpus")
_, records = make_corpus(corpus, 1, 12, 200, pad=300)
rules = os.path.join(h.data, "rules_a.yaml")
expected = collections.Counter()
for rec in records:
    if rec["eventName"] == "DeleteTrail":
        expected[("Ops A Delete Trail", rec["eventID"])] += 1
    if rec["userIdentity"]["userName"] == "mallory":
        expected[("Ops A Mallory", rec["eventID"])] += 1

common = ["-e", "metrics.bind=127.0.0.1", "-e", "log_level=info"]


def curve_env(name):
    """The stage's keys through the environment, as an EnvironmentFile
    would give them."""
    return {"TRAILGUARD_CURVE_ENABLED": "true",
            "TRAILGUARD_CURVE_SECRET_KEY_FILE": keys[name][0],
            "TRAILGUARD_CURVE_SERVER_PUBLIC_KEY_FILE": keys["fetcher"][0] + ".pub",
            "TRAILGUARD_CURVE_AUTHORIZED_KEYS": authdir}


# evaluators know the parser's and the notifier's keys per endpoint (-e)
EV_KEYS = ["-e", "curve.server_keys=%s=%s,%s=%s" % (
    BATCHES, keys["parser"][1], ALERTS, keys["notifier"][1])]


def daemon(stage, ns, name, extra, args=(), env=None, argv_extra=()):
    log = h.path(name + ".log")
    state = h.path("state-" + name)
    os.makedirs(state, exist_ok=True)
    argv = [h.exe(stage)] + common + list(argv_extra) + [
        "-e", "state_dir=" + state, "-e", stage + ".metrics.port=0"]
    for kv in extra:
        argv += ["-e", kv]
    if args:
        argv += ["--"] + list(args)
    return h.start(argv, log, netns=ns, env=env), log


# ---- capture on both links ----------------------------------------------------
SNIFF = r"""
import os, signal, socket, sys
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)   # SO_RCVBUFFORCE: drop nothing
s.bind((sys.argv[1], 0))
s.settimeout(0.2)
out = open(sys.argv[2], "wb")
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
open(sys.argv[2] + ".ready", "w").close()
while not stop:
    try:
        out.write(s.recv(1 << 18))
    except socket.timeout:
        pass
out.close()
"""
captures = []
for ns, ifname in ((NS_PN, "tgcpn0"), (NS_EV, "tgcev0")):
    cap = h.path("capture-%s.bin" % ifname)
    p = h.start(["ip", "netns", "exec", ns, sys.executable, "-c", SNIFF, ifname, cap],
                h.path("sniff-%s.log" % ifname))
    captures.append((p, cap, ifname))
for p, cap, ifname in captures:
    h.wait_for("the capture on %s" % ifname,
               lambda: os.path.exists(cap + ".ready") or p.poll() is not None, 20)
    if p.poll() is not None:
        h.fail("cannot capture on %s (AF_PACKET)" % ifname)

# ---- the pipeline -----------------------------------------------------------
alerts = h.path("alerts.json")
nt, nt_log = daemon("notifier", NS_PN, "notifier",
                    ["notifier.bind=" + ALERTS, "notifier.output=file:" + alerts],
                    env=curve_env("notifier"))
pa, pa_log = daemon("parser", NS_PN, "parser",
                    ["parser.connect=" + JOBS, "parser.bind=" + BATCHES],
                    env=curve_env("parser"))
ports = {"notifier": (NS_PN, int(h.wait_ready(nt_log)["metrics_port"])),
         "parser": (NS_PN, int(h.wait_ready(pa_log)["metrics_port"]))}
evs = [daemon("evaluator", NS_EV, "evaluator-%d" % i,
              ["evaluator.connect=" + BATCHES, "evaluator.notifier=" + ALERTS],
              [rules], env=curve_env("ev%d" % i), argv_extra=EV_KEYS)
       for i in range(2)]
for i, (p, log) in enumerate(evs):
    ports["evaluator-%d" % i] = (NS_EV, int(h.wait_ready(log)["metrics_port"]))


def metric(name, metric_name):
    ns, port = ports[name]
    return h.metric(port, metric_name, netns=ns) or 0


# both evaluators' CURVE handshakes passed ZAP on the parser and the notifier
h.wait_for("the parser's ZAP handler accepting both evaluators",
           lambda: metric("parser", "trailguard_curve_accepted_total") >= 2, 20)
h.wait_for("the notifier's ZAP handler accepting both evaluators",
           lambda: metric("notifier", "trailguard_curve_accepted_total") >= 2, 20)

# the intruder: valid CURVE, server keys right, its key not authorized
bad_env = curve_env("intruder")
intruder, in_log = daemon("evaluator", NS_EV, "intruder",
                          ["evaluator.connect=" + BATCHES,
                           "evaluator.notifier=" + ALERTS], [rules], env=bad_env,
                          argv_extra=EV_KEYS)
ports["intruder"] = (NS_EV, int(h.wait_ready(in_log)["metrics_port"]))
# and an evaluator without CURVE
plain, pl_log = daemon("evaluator", NS_EV, "plain",
                       ["evaluator.connect=" + BATCHES, "evaluator.notifier=" + ALERTS],
                       [rules])
ports["plain"] = (NS_EV, int(h.wait_ready(pl_log)["metrics_port"]))
h.wait_for("the parser rejecting the intruder",
           lambda: metric("parser", "trailguard_curve_rejected_total") >= 1, 20)
h.wait_for("the notifier rejecting the intruder",
           lambda: metric("notifier", "trailguard_curve_rejected_total") >= 1, 20)
rejected = {n: metric(n, "trailguard_curve_rejected_total") for n in ("parser", "notifier")}
bad_pub = keys["intruder"][1]
for log in (pa_log, nt_log):
    lines = [l for l in h.log_lines(log, "curve client rejected")
             if "peer=" + EV in l and "key=" + bad_pub in l]
    h.check(lines, "%s has no rejection warning naming peer=%s key=%s" % (log, EV, bad_pub))
    h.check(" warn " in lines[0], "the rejection is not a warning: %r" % lines[0])

fe, fe_log = daemon("fetcher", NS_FE, "fetcher",
                    ["fetcher.bind=" + JOBS, "fetcher.ack_bind=" + ACKS,
                     "fetcher.inline_data=true"], [corpus], env=curve_env("fetcher"))
try:
    rc = fe.wait(120)
except subprocess.TimeoutExpired:
    h.fail("the fetcher did not finish within 120s (jobs not acknowledged over CURVE?)")
h.check(rc == 0, "the fetcher exited %d, expected 0" % rc)
h.check(h.log_lines(fe_log, "curve client accepted"),
        "the fetcher's ZAP handler logged no accepted client")

for i in range(2):
    n = metric("evaluator-%d" % i, "trailguard_frames_in_total")
    h.check(n > 0, "evaluator-%d received no batch over CURVE" % i)
for name in ("intruder", "plain"):
    n = metric(name, "trailguard_frames_in_total")
    h.check(n == 0, "the %s evaluator received %s batches" % (name, n))
for name in ("parser", "evaluator-0", "evaluator-1", "notifier"):
    e = metric(name, "trailguard_errors_total")
    h.check(e == 0, "%s reports %s errors" % (name, e))

for p in [intruder, plain, pa] + [p for p, _ in evs] + [nt]:
    rc = h.stop(p)
    h.check(rc == 0, "a daemon exited %s after SIGTERM, expected 0" % rc)
got = collections.Counter(h.alerts(alerts))
h.check(got == expected, "CURVE multi-host alerts differ from the rules' expectation:\n"
        "  missing %s\n  unexpected %s" % (sorted((expected - got).elements())[:10],
                                           sorted((got - expected).elements())[:10]))

# ---- no plaintext on the wire ---------------------------------------------
for p, cap, ifname in captures:
    h.stop(p)
corpus_bytes = sum(os.path.getsize(os.path.join(corpus, f)) for f in os.listdir(corpus))
for p, cap, ifname in captures:
    with open(cap, "rb") as f:
        wire = f.read()
    h.check(len(wire) >= corpus_bytes // 2,
            "only %d bytes captured on %s: the capture missed the traffic"
            % (len(wire), ifname))
    for needle in (b"mallory", b"eventName", b"DeleteTrail", b"aws-cli/2.15.0"):
        h.check(needle not in wire, "plaintext %r seen on %s" % (needle, ifname))

# ---- one host, CURVE over ipc://, through `trailguard run --config` --------
cfg = h.path("onehost.yaml")
with open(cfg, "w") as f:
    f.write("log_level: info\ncurve:\n  enabled: true\n  secret_key_file: %s\n"
            "  server_public_key_file: %s.pub\n  authorized_keys: %s.pub\n"
            % (keys["ev0"][0], keys["ev0"][0], keys["ev0"][0]))
one = h.path("onehost-alerts.json")
logdir = h.path("onehost-logs")
os.makedirs(logdir)
err = h.path("onehost.err")
h.logs.append(err)
env = {k: v for k, v in os.environ.items() if not k.startswith("TRAILGUARD_")}
with open(err, "wb") as e:
    try:
        rc = subprocess.run([h.exe("trailguard"), "run", "--config", cfg,
                             "--evaluators", "2", "--state-dir", h.path("onehost-state"),
                             "--log-dir", logdir, "-r", rules, "-o", "file:" + one,
                             corpus], stdout=subprocess.DEVNULL, stderr=e, env=env,
                            timeout=120).returncode
    except subprocess.TimeoutExpired:
        h.fail("trailguard run with CURVE did not finish within 120s")
for name in sorted(os.listdir(logdir)):
    h.logs.append(os.path.join(logdir, name))
h.check(rc == 0, "trailguard run with CURVE exited %d" % rc)
h.check(any(h.log_lines(os.path.join(logdir, n), "curve client accepted")
            for n in os.listdir(logdir)),
        "trailguard run: no daemon logged a CURVE client (was CURVE on?)")
one_got = collections.Counter(h.alerts(one))
h.check(one_got == got, "CURVE multi-host and one-host alerts differ:\n"
        "  only one-host %s\n  only multi-host %s" %
        (sorted((one_got - got).elements())[:10], sorted((got - one_got).elements())[:10]))
print("%d alerts over CURVE, identical on three namespaces and on one host; "
      "intruder rejected (parser %d, notifier %d), no plaintext on the wire"
      % (sum(got.values()), rejected["parser"], rejected["notifier"]))
h.done()
