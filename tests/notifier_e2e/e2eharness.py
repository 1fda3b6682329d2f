"""Helpers for the notifier end-to-end tests (python3 stdlib only): a
loopback webhook receiver whose answers the test controls, the run's
runtime directory and children, and the generated corpus.  Builds on
tests/integration/tgharness.py (waits with deadlines, log dump on
failure)."""
import collections
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from tgharness import Harness, log_dir_logs  # noqa: E402,F401

GEN = os.path.join(HERE, "..", "integration", "gen_events.py")


class Receiver:
    """Webhook endpoint on 127.0.0.1.  mode "up" answers 200 and records
    the alert, "503" answers 503 Service Unavailable and records nothing;
    stop() closes the listening socket (connection refused) and start()
    listens on the same port again."""

    def __init__(self):
        self.lock = threading.Lock()
        self.got = []           # [(rule, ct.id)] posted to "/", in arrival order
        self.requests = []      # [(path, X-Amz-Target, body)] answered 200
        self.refused = 0        # 503 answers
        self.mode = "up"
        self.port = 0
        self.srv = None
        self.thread = None

    def start(self):
        rcv = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                target = self.headers.get("X-Amz-Target", "")
                with rcv.lock:
                    mode = rcv.mode
                    if mode == "stopped":
                        # a kept-alive connection outlives the listening
                        # socket: drop it without an answer
                        self.close_connection = True
                        return
                    if mode == "up":
                        rcv.requests.append((self.path, target, body))
                        if self.path == "/" and not target and body[:1] == b"{":
                            a = json.loads(body)
                            rcv.got.append((a["rule"], a["output_fields"].get("ct.id")))
                    else:
                        rcv.refused += 1
                code = 200 if mode == "up" else 503
                answer = b""
                if code == 200 and (target or self.path != "/"):
                    answer = b"{}"      # CloudWatch Logs, http
                if code == 200 and self.path == "/findings/import":
                    answer = b'{"FailedCount":0,"FailedFindings":[]}'
                if code == 200 and body.startswith(b"Action=GetCallerIdentity"):
                    answer = (b"<GetCallerIdentityResponse><GetCallerIdentityResult>"
                              b"<Account>111122223333</Account></GetCallerIdentityResult>"
                              b"</GetCallerIdentityResponse>")
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *a):
                pass

        class S(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.set_mode("up")
        self.srv = S(("127.0.0.1", self.port), H)
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.set_mode("stopped")
        self.srv.shutdown()
        self.srv.server_close()

    def set_mode(self, mode):
        with self.lock:
            self.mode = mode

    def received(self):
        with self.lock:
            return list(self.got)


def gen_corpus(h, name, records, per_file, seed=7):
    out = h.path(name)
    subprocess.run([sys.executable, GEN, "--out", out, "--records", str(records),
                    "--per-file", str(per_file), "--seed", str(seed)], check=True,
                   stdout=subprocess.DEVNULL, timeout=120)
    expected = h.expected(os.path.join(out, "expected.tsv"))
    return os.path.join(out, "logs"), expected


def record_index(eid):
    """gen_events.py event ids end with the record's global index."""
    return int(eid.rsplit("-", 1)[1])


class Run:
    """A `trailguard run` whose stderr is a file; children from run.info."""

    def __init__(self, h, argv, env, stdin=None, stdout=None):
        self.h = h
        self.err = h.path("run-%d.err" % len(h.procs))
        h.logs.append(self.err)
        self.errf = open(self.err, "wb")
        self.p = subprocess.Popen(argv, stdin=stdin, stdout=stdout or subprocess.DEVNULL,
                                  stderr=self.errf, env=env)
        h.procs.append(self.p)
        self.rd = h.wait_for("the runtime directory line", self._rundir, 20)

    def _rundir(self):
        with open(self.err) as f:
            m = re.search(r"runtime directory (\S+)", f.read())
        return m.group(1) if m else None

    def children(self):
        """{"notifier-0": (pid, metrics port, restarts)} for running children."""
        try:
            with open(os.path.join(self.rd, "run.info")) as f:
                out = {}
                for line in f:
                    p = line.split()
                    if p and p[0] == "child" and int(p[3]) > 0:
                        out["%s-%s" % (p[1], p[2])] = (int(p[3]), int(p[4]), int(p[5]))
                return out
        except (FileNotFoundError, IndexError, ValueError):
            return {}

    def metric(self, child, name, labels=None):
        """The metric from the child, or None when it does not answer."""
        c = self.children().get(child)
        if not c:
            return None
        try:
            return self.h.metric(c[1], name, labels)
        except (OSError, ValueError):
            return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_per_job_order(h, got, per_file):
    """Within one job (one generated file) the alerts arrive in record order
    (first arrivals; a duplicate re-sends an earlier alert)."""
    seen = set()
    last = collections.defaultdict(lambda: -1)
    for rule, eid in got:
        if (rule, eid) in seen:
            continue
        seen.add((rule, eid))
        i = record_index(eid)
        job = i // per_file
        if i < last[job]:
            seq = [(n, record_index(e)) for n, (_, e) in enumerate(got)
                   if record_index(e) // per_file == job]
            h.fail("job %d: alert for record %d (%s) arrived after record %d; the job's "
                   "arrivals (position, record): %s" % (job, i, rule, last[job], seq))
        last[job] = i
