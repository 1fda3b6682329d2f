#!/usr/bin/env python3
"""Every output type can be created, from notifier.outputs and from
`trailguard run -o TYPE:ARG`.

  1. trailguard-notifier alone with notifier.outputs listing stdout, file,
     webhook, http, syslog, securityhub and cloudwatch (the HTTP ones
     pointing at a loopback receiver): it starts, registers the metrics of
     all seven, and stops cleanly on SIGTERM.
  2. `trailguard run -o json -o webhook:URL -o http:URL -o syslog:udp://...
     -o securityhub:REGION -o cloudwatch:GROUP` (AWS endpoints redirected to
     the loopback receiver with AWS_ENDPOINT_URL, dummy credentials): every
     expected alert reaches stdout, the webhook, the http endpoint, the
     syslog listener, Security Hub (findings) and CloudWatch (log events).
  3. A module spec without its argument (`webhook:`) is a start-up error
     naming the expected form."""
import collections
import json
import os
import signal
import socket
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2eharness import Harness, Receiver, Run, gen_corpus  # noqa: E402

TYPES = ["stdout", "file", "webhook", "http", "syslog", "securityhub", "cloudwatch"]

h = Harness("notifier_output_types")
logs, expected_list = gen_corpus(h, "corpus", 3000, 500)
expected = collections.Counter(expected_list)
nexp = sum(expected.values())
rules = os.path.join(h.data, "rules.yaml")
env = dict(os.environ)
env.pop("XDG_RUNTIME_DIR", None)
env["TMPDIR"] = h.tmp
env.update({"AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"})
for k in list(env):
    if k.startswith("AWS_ENDPOINT_URL") or k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        del env[k]

rcv = Receiver()
rcv.start()
udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
udp.bind(("127.0.0.1", 0))
udp.settimeout(0.2)
syslog_msgs = []


def udp_loop():
    while True:
        try:
            data = udp.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return
        syslog_msgs.append(data)


threading.Thread(target=udp_loop, daemon=True).start()
base = "http://127.0.0.1:%d" % rcv.port
udp_addr = "udp://127.0.0.1:%d" % udp.getsockname()[1]

# ---- 1. all seven types from notifier.outputs ---------------------------
cfg = h.path("all.yaml")
with open(cfg, "w") as f:
    f.write("""notifier:
  outputs:
    - {type: stdout, format: text}
    - {type: file, path: %s}
    - {type: webhook, url: %s/}
    - {type: http, url: %s/events}
    - {type: syslog, address: %s}
    - {type: securityhub, region: us-east-1, account_id: "111122223333", endpoint: %s}
    - {type: cloudwatch, region: us-east-1, log_group: /tg/test, endpoint: %s}
""" % (h.path("alerts.json"), base, base, udp_addr, base, base))
log = h.path("notifier.log")
nt = h.start([h.exe("notifier"), "--config", cfg, "-e", "state_dir=" + h.path("state1"),
              "-e", "notifier.bind=ipc://" + h.path("alerts.sock"),
              "-e", "notifier.metrics.port=0"], log)
port = h.wait_ready(log)
for t in TYPES:
    n = sum(1 for line in h.http_get(port, "/metrics")[1].splitlines()
            if line.startswith("trailguard_output_sent_total{") and 'type="%s"' % t in line)
    h.check(n == 1, "output type %s: %d outputs in the metrics, expected 1" % (t, n))
nt.send_signal(signal.SIGTERM)
h.check(nt.wait(20) == 0, "notifier exit status %s" % nt.returncode)
print("notifier.outputs: all %d types created" % len(TYPES))

# ---- 2. trailguard run -o TYPE:ARG ---------------------------------------
renv = dict(env)
renv["AWS_ENDPOINT_URL"] = base
logdir = h.path("run-logs")
os.makedirs(logdir)
for stage in ("fetcher", "parser", "evaluator", "notifier"):
    h.logs.append(os.path.join(logdir, stage + "-0.log"))
out = h.path("stdout.json")
with open(out, "wb") as o:
    run = Run(h, [h.exe("trailguard"), "run", "--evaluators", "1", "--log-dir", logdir,
                  "-o", "json", "-o", "webhook:%s/" % base, "-o", "http:%s/events" % base,
                  "-o", "syslog:" + udp_addr, "-o", "securityhub:us-east-1",
                  "-o", "cloudwatch:/tg/test", "-r", rules, logs], renv, stdout=o)
    try:
        rc = run.p.wait(90)
    except subprocess.TimeoutExpired:
        h.fail("the run with six outputs did not finish")
h.check(rc == 0, "the run exited %d" % rc)
got = collections.Counter(h.alerts(out))
h.check(got == expected, "stdout: %d alerts, expected %d" % (sum(got.values()), nexp))
hook = collections.Counter(rcv.received())
h.check(hook == expected, "webhook: %d alerts, expected %d" % (sum(hook.values()), nexp))
reqs = list(rcv.requests)
events = sum(len(json.loads(b)["events"]) for p, _, b in reqs if p == "/events")
h.check(events == nexp, "http: %d events, expected %d" % (events, nexp))
findings = sum(len(json.loads(b)["Findings"]) for p, _, b in reqs if p == "/findings/import")
h.check(findings == nexp, "securityhub: %d findings, expected %d" % (findings, nexp))
logev = sum(len(json.loads(b)["logEvents"]) for _, t, b in reqs
            if t.endswith(".PutLogEvents"))
h.check(logev == nexp, "cloudwatch: %d log events, expected %d" % (logev, nexp))
h.wait_for("%d syslog datagrams" % nexp, lambda: len(syslog_msgs) >= nexp, 10)
h.check(len(syslog_msgs) == nexp, "syslog: %d messages, expected %d" % (len(syslog_msgs), nexp))
print("-o: %d alerts each to stdout, webhook, http, syslog, securityhub, cloudwatch" % nexp)

# ---- 3. a module spec without its argument --------------------------------
r = subprocess.run([h.exe("notifier"), "-e", "state_dir=" + h.path("state3"),
                    "-e", "notifier.bind=ipc://" + h.path("bad.sock"),
                    "-e", "notifier.metrics.port=0", "-e", "notifier.output=webhook:"],
                   capture_output=True, text=True, timeout=20)
h.check(r.returncode != 0 and "webhook:URL" in r.stderr,
        "bad spec: exit %d, stderr %r" % (r.returncode, r.stderr[-300:]))
udp.close()
rcv.stop()
h.done()
