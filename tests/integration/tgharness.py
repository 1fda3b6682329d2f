"""Shared helpers for the pipeline integration tests (python3 stdlib only).

Every wait polls a condition against a deadline; nothing sleeps for a fixed
time in place of a wait.  On failure, fail() dumps every daemon log the
test registered and exits 1.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77


class Harness:
    def __init__(self, name):
        self.name = name
        self.bindir = os.environ.get("TG_BUILD_ROOT")
        self.srcdir = os.environ.get("TG_SOURCE_ROOT")
        if not self.bindir or not self.srcdir:
            print("TG_BUILD_ROOT / TG_SOURCE_ROOT not set")
            sys.exit(SKIP)
        base = os.environ.get("TMPDIR", "/tmp")
        self.tmp = tempfile.mkdtemp(prefix="tgit-", dir=base)
        self.logs = []          # files dumped on failure
        self.procs = []
        self.data = os.path.join(self.srcdir, "tests", "data", "pipeline")
        # a test that dies on an exception must not leave daemons running
        atexit.register(self._reap)

    def _reap(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    # binaries -----------------------------------------------------------
    def exe(self, stage):
        if stage == "trailguard":
            return os.path.join(self.bindir, "cli", "trailguard")
        if stage == "badframes":
            return os.path.join(self.bindir, "tests", "integration", "tg_badframes")
        return os.path.join(self.bindir, stage, "trailguard-" + stage)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    # processes ----------------------------------------------------------
    def start(self, argv, log, stdout=None, stdin=None):
        logf = open(log, "ab")
        self.logs.append(log)
        out = open(stdout, "ab") if stdout else logf
        p = subprocess.Popen(argv, stdout=out, stderr=logf,
                             stdin=stdin if stdin is not None else subprocess.DEVNULL)
        self.procs.append(p)
        return p

    def stop_all(self, sig=signal.SIGTERM, timeout=20):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(sig)
        deadline = time.time() + timeout
        for p in self.procs:
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    # waiting ------------------------------------------------------------
    def wait_for(self, what, cond, timeout=30.0, interval=0.01):
        deadline = time.time() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.time() > deadline:
                self.fail("timed out after %.0fs waiting for %s" % (timeout, what))
            time.sleep(interval)

    def wait_ready(self, log, timeout=20.0):
        def ready():
            try:
                with open(log, "rb") as f:
                    for line in f:
                        if b" ready endpoint=" in line:
                            return line.decode(errors="replace")
            except FileNotFoundError:
                return None
            return None
        line = self.wait_for("ready line in " + log, ready, timeout)
        port = int(line.split("metrics_port=")[1].split()[0])
        return port

    # metrics -----------------------------------------------------------
    def http_get(self, port, path):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
            return r.status, r.read().decode()

    def metric(self, port, name, labels=None):
        """Sum of the samples of `name` whose labels include `labels`."""
        _, text = self.http_get(port, "/metrics")
        total = 0.0
        for line in text.splitlines():
            if line.startswith("#") or not line.startswith(name):
                continue
            rest = line[len(name):]
            if rest[:1] not in ("{", " "):
                continue
            lab = ""
            if rest.startswith("{"):
                lab, rest = rest[1:].split("}", 1)
            if labels and any('%s="%s"' % kv not in lab for kv in labels.items()):
                continue
            total += float(rest.split()[0])
        return total

    # results -----------------------------------------------------------
    def alerts(self, path):
        """[(rule, ct.id)] from Falco JSON lines."""
        out = []
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    a = json.loads(line)
                except ValueError:
                    self.fail("not a JSON line in %s: %r" % (path, line[:200]))
                out.append((a["rule"], a["output_fields"].get("ct.id")))
        return out

    def expected(self, path):
        out = []
        with open(path) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                rule, eid = line.rstrip("\n").split("\t")
                out.append((rule, eid))
        return out

    def fail(self, msg):
        print("FAIL: %s" % msg)
        for log in self.logs:
            print("===== %s" % log)
            try:
                with open(log, errors="replace") as f:
                    sys.stdout.write(f.read()[-20000:])
            except OSError as e:
                print("(%s)" % e)
        self.stop_all(signal.SIGKILL, 5)
        sys.stdout.flush()
        sys.exit(1)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)

    def done(self):
        self.stop_all()
        for log in self.logs:
            try:
                with open(log, errors="replace") as f:
                    text = f.read()
            except OSError:
                continue
            for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:",
                           "ThreadSanitizer"):
                if marker in text:
                    self.fail("sanitizer report (%s) in %s" % (marker, log))
        if not os.environ.get("TG_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)
        print("ok: %s" % self.name)
        sys.exit(0)


def log_dir_logs(h, d):
    """Register every *.log in d for the failure dump."""
    if os.path.isdir(d):
        for n in sorted(os.listdir(d)):
            if n.endswith(".log"):
                h.logs.append(os.path.join(d, n))
