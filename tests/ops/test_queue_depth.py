#!/usr/bin/env python3
"""Queue depth under a slow output: `trailguard run` writes its alerts to a
FIFO that the test reads slowly (a slow consumer), so the notifier falls
behind.  `trailguard status` must show the queue in front of the notifier
(alert frames the evaluators sent and the notifier has not taken yet)
rising while the consumer is slow, and falling once it reads at full speed;
the queues in front of the other stages stay below it.  Every alert
arrives in the end and the run exits 0."""
import http.server
import os
import re
import select
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opsharness import Harness, make_corpus  # noqa: E402

h = Harness("queue_depth")
h.need_binaries()

corpus = h.path("corpus")
_, records = make_corpus(corpus, 1, 20, 400, pad=200)
want_ids = {r["eventID"] for r in records}
rules = os.path.join(h.data, "rules_all.yaml")
ID = re.compile(rb"00000000-0000-4000-8000-\d{12}")


class SlowWebhook(threading.Thread):
    """A loopback HTTP server that takes `delay` seconds per request."""

    def __init__(self):
        super().__init__(daemon=True)
        self.delay = 0.05
        self.ids = set()
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                if outer.delay:
                    time.sleep(outer.delay)     # the slow destination
                with outer.lock:
                    outer.ids.update(m.decode() for m in ID.findall(body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()
            do_PUT = do_POST

            def log_message(self, *a):
                pass
        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.srv.server_address[1]

    def run(self):
        self.srv.serve_forever(0.05)

    def faster(self):
        self.delay = 0

    def got(self):
        with self.lock:
            return set(self.ids)


class SlowFifo(threading.Thread):
    """Reads a FIFO at `rate` bytes/s (None: as fast as it can)."""

    def __init__(self, path):
        super().__init__(daemon=True)
        os.mkfifo(path, 0o600)
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # before the writer
        self.rate = 64 * 1024
        self.data = bytearray()
        self.stop = False
        self.lock = threading.Lock()

    def run(self):
        while not self.stop:
            r, _, _ = select.select([self.fd], [], [], 0.05)
            if not r:
                continue
            rate = self.rate
            try:
                b = os.read(self.fd, 65536 if rate is None else max(1024, rate // 20))
            except BlockingIOError:
                continue
            if not b:               # no writer (yet / any more)
                time.sleep(0.01)
                continue
            with self.lock:
                self.data += b
            if rate is not None:
                time.sleep(len(b) / rate)   # pacing of a slow consumer

    def faster(self):
        self.rate = None

    def got(self):
        with self.lock:
            return {m.decode() for m in ID.findall(bytes(self.data))}


def webhook_supported(cfg):
    """Does this notifier build output modules (notifier.outputs)?"""
    log = h.path("probe.log")
    p = h.start([h.exe("notifier"), "-c", cfg, "-e", "state_dir=" + h.path("probe-state"),
                 "-e", "notifier.bind=ipc://%s/probe" % h.tmp,
                 "-e", "notifier.metrics.port=0"], log)
    ok = h.wait_for("the probe notifier to start or fail",
                    lambda: "yes" if h.log_lines(log, " ready endpoint=") else
                    "no" if p.poll() is not None else None, 20) == "yes"
    h.stop(p)
    h.logs.remove(log)
    return ok


cfg = h.path("webhook.yaml")
hook = SlowWebhook()
with open(cfg, "w") as f:
    f.write("notifier:\n  output: [file:%s]\n  outputs:\n    - type: webhook\n"
            "      name: slow\n      url: http://127.0.0.1:%d/alerts\n"
            "      spool: false\n      timeout: 60s\n"
            % (h.path("alerts-copy.json"), hook.port))
env = {"TRAILGUARD_KEEP_RUNDIR": "1", "TMPDIR": h.tmp}
if webhook_supported(cfg):
    sink = hook
    run_args = ["--config", cfg]
    mode = "webhook to a slow loopback server"
else:
    hook.srv.server_close()
    fifo = h.path("alerts.fifo")
    sink = SlowFifo(fifo)
    run_args = ["-o", "file:" + fifo]
    env["TRAILGUARD_NOTIFIER_FILE_SYNC"] = "false"   # fdatasync on a FIFO fails
    mode = "file output to a slowly read FIFO (output modules not built in)"
print("slow output: " + mode)
sink.start()
logdir = h.path("logs")
os.makedirs(logdir)
err = h.path("run.err")
for n in ("fetcher-0", "parser-0", "evaluator-0", "evaluator-1", "notifier-0"):
    h.logs.append(os.path.join(logdir, n + ".log"))
run = h.start([h.exe("trailguard"), "run"] + run_args +
              ["--evaluators", "2", "--log-dir", logdir, "--state-dir", h.path("state"),
               "-r", rules, corpus], err, stdout=h.path("run.out"), env=env)


def rundir():
    for l in h.log_lines(err, "runtime directory "):
        return l.split("runtime directory ")[1].split()[0]
    return None


rd = h.wait_for("the runtime directory line", rundir, 20)
h.wait_for("run.info", lambda: os.path.exists(os.path.join(rd, "run.info")), 20)

ROW = re.compile(r"^(fetcher|parser|evaluator|notifier)\s+(\d+)/(\d+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)")


def status():
    """{stage: (up, instances, queue or None)} from `trailguard status`."""
    r = subprocess.run([h.exe("trailguard"), "status", rd], capture_output=True,
                       text=True, timeout=60)
    out = {}
    for line in r.stdout.splitlines():
        m = ROW.match(line)
        if m:
            q = None if m.group(6) in ("-", "?") else float(m.group(6))
            out[m.group(1)] = (int(m.group(2)), int(m.group(3)), q)
    return out, r.stdout


samples = []
# 1. slow consumer: the notifier's queue must build up (it starts at 0).
peak = [0.0, ""]
notifier_seen_up = False


def risen():
    global notifier_seen_up
    if run.poll() is not None:
        h.fail("the run ended (rc %s) before the queue built up; samples:\n%s" %
               (run.returncode, "\n".join(repr(s) for s in samples)))
    st, text = status()
    if "notifier" not in st or st["notifier"][2] is None:
        return False
    samples.append(("slow", st))
    up, _, q = st["notifier"]
    if q > peak[0]:
        peak[0], peak[1] = q, text
    if up == 1 and q >= 8:
        notifier_seen_up = True
    # two samples, the queue at least 8 frames deep; one with the notifier
    # answering when it does answer
    return len(samples) >= 2 and q >= 8 and (notifier_seen_up or len(samples) >= 4)


h.wait_for("the notifier queue to rise in `trailguard status`", risen, 90, 0.1)
print("peak while slow:\n" + peak[1])
st = samples[-1][1]
for stage in ("parser", "evaluator"):
    q = st.get(stage, (0, 0, 0))[2] or 0
    h.check(q <= st["notifier"][2],
            "the %s queue (%s) is deeper than the notifier's (%s): the backlog is "
            "reported at the wrong stage" % (stage, q, st["notifier"][2]))

# 2. full speed: the queue must fall (before or as the run completes).
sink.faster()
fell = [None]


def drained():
    if run.poll() is not None:
        return True
    st, text = status()
    if "notifier" in st:
        samples.append(("fast", st))
        up, _, q = st["notifier"]
        if up and q is not None and q <= peak[0] / 2:
            fell[0] = text
    return fell[0] is not None


h.wait_for("the notifier queue to fall", drained, 120, 0.1)
try:
    rc = run.wait(120)
except subprocess.TimeoutExpired:
    h.fail("the run did not finish within 120s after the consumer sped up")
h.check(rc == 0, "trailguard run exited %d" % rc)
h.check(fell[0] is not None or any(
    s[0] == "fast" and s[1]["notifier"][2] is not None and s[1]["notifier"][2] < peak[0]
    for s in samples),
    "the notifier queue never fell below its peak %.0f after the consumer sped up" % peak[0])
if fell[0]:
    print("after speed-up:\n" + fell[0])
ids = h.wait_for("every alert at the slow output",
                 lambda: sink.got() >= want_ids and sink.got(), 30)
h.check(ids == want_ids, "%d alerts at the output, expected %d" % (len(ids), len(want_ids)))
if not notifier_seen_up:
    h.skip("the queue rose and fell as expected, but the notifier did not answer "
           "/metrics while its output was slow (%s): `trailguard status` counted its "
           "intake as 0.  Needs: outputs that do not block the notifier's event loop, "
           "or output modules (webhook) built into the notifier" % mode)
h.done()
