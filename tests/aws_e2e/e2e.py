"""Helpers for the AWS end-to-end tests (tests/aws_e2e, owner: AWS ingestion).

The tests run the real daemons (`trailguard run`) against the loopback
peers of tests/peers (aws_peer.js: the @smithy/signature-v4 verifier in
front of s3rver or fauxqs).  Every wait polls a condition against a
deadline (tgharness.Harness.wait_for); on failure every daemon log and the
peer's log are dumped.  Without node or tests/peers/node_modules a test
exits 77 and says why.  Python 3 standard library only.
"""
import glob
import gzip
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
from tgharness import Harness, SKIP, log_dir_logs  # noqa: E402,F401

PEERS = os.path.join(HERE, "..", "peers")
RULES = os.path.join(HERE, "rules.yaml")
KEY_ID = "AKIDTGTEST"
SECRET = "tgTestSecretKey/0123456789+abcdefghij"


def guard(h):
    """An uncaught exception fails the test like h.fail (logs dumped, every
    process it started killed) instead of leaving daemons behind."""
    import traceback

    def hook(tp, val, tb):
        h.fail("exception: %s" % "".join(traceback.format_exception(tp, val, tb)))
    sys.excepthook = hook


def require_node():
    if not os.path.isdir(os.path.join(PEERS, "node_modules", "@smithy", "signature-v4")):
        print("SKIP: tests/peers/node_modules absent (npm ci --prefix tests/peers)")
        sys.exit(SKIP)
    try:
        subprocess.run(["node", "--version"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        print("SKIP: node not found")
        sys.exit(SKIP)


class Peer:
    """aws_peer.js in a child process; exits when its stdin closes."""

    def __init__(self, h, name, args, env=None, timeout=30, ca=None):
        self.h = h
        self.ctx = None
        if ca:      # the peer serves https with a certificate signed by ca
            import ssl
            self.ctx = ssl.create_default_context(cafile=ca)
        log = h.path("peer-%s.log" % name)
        h.logs.append(log)
        e = dict(os.environ)
        e.update(env or {})
        self.p = subprocess.Popen(["node", "aws_peer.js"] + args, cwd=PEERS, env=e,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(log, "ab"))
        h.procs.append(self.p)
        deadline = time.time() + timeout
        line = b""
        while time.time() < deadline:
            r, _, _ = select.select([self.p.stdout], [], [], max(0.0, deadline - time.time()))
            if not r:
                continue
            c = os.read(self.p.stdout.fileno(), 1)
            if not c:
                break
            if c == b"\n":
                if line.startswith(b"READY "):
                    self.port = int(line.split()[1])
                    self.url = "%s://127.0.0.1:%d" % ("https" if ca else "http", self.port)
                    return
                line = b""
            else:
                line += c
        h.fail("peer %s did not start" % name)

    def get(self, path):
        with urllib.request.urlopen(self.url + path, timeout=10, context=self.ctx) as r:
            return r.read()

    def reqlog(self):
        return json.loads(self.get("/__log"))

    def gets(self, key):
        """GetObject requests seen for key (path-style /bucket/key)."""
        return sum(1 for line in self.reqlog()
                   if line.startswith("GET ") and line.split()[1].split("?")[0].endswith("/" + key))

    def stats(self):
        return json.loads(self.get("/__stats"))

    def put(self, bucket, key, data):
        req = urllib.request.Request("%s/%s/%s" % (self.url, bucket, key), data=data,
                                     method="PUT")
        with urllib.request.urlopen(req, timeout=10) as r:
            if r.status != 200:
                self.h.fail("PUT %s: %d" % (key, r.status))

    def stop(self):
        if self.p.poll() is None:
            self.p.stdin.close()
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


class Trail:
    """Real-shaped CloudTrail files with planted E2ETrigger records."""

    def __init__(self):
        self.n = 0
        self.expected = {}      # key -> [eventID of each trigger]

    def file(self, acct, region, when, triggers=2, noise=5, org=None):
        self.n += 1
        stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(when))
        day = time.strftime("%Y/%m/%d", time.gmtime(when))
        base = "AWSLogs/%s%s/CloudTrail/%s/%s/" % (org + "/" if org else "", acct, region, day)
        key = "%s%s_CloudTrail_%s_%s_e2e%04d.json.gz" % (base, acct, region, stamp, self.n)
        recs, ids = [], []
        for i in range(triggers + noise):
            trig = i < triggers
            eid = "e2e-%04d-%02d-%s" % (self.n, i, "t" if trig else "n")
            recs.append({
                "eventVersion": "1.08",
                "userIdentity": {"type": "IAMUser", "accountId": acct,
                                 "arn": "arn:aws:iam::%s:user/e2e" % acct, "userName": "e2e"},
                "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when - 60)),
                "eventSource": "iam.amazonaws.com",
                "eventName": "E2ETrigger" if trig else "ListUsers",
                "awsRegion": region, "sourceIPAddress": "203.0.113.7",
                "userAgent": "e2e", "requestParameters": None, "responseElements": None,
                "eventID": eid, "eventType": "AwsApiCall", "recipientAccountId": acct,
            })
            if trig:
                ids.append(eid)
        self.expected[key] = ids
        return key, gzip.compress(json.dumps({"Records": recs}).encode())


def alert_ids(h, path):
    """eventIDs of the alerts in a Falco JSON lines file (a list: duplicates show)."""
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            if line.strip():
                try:
                    out.append(json.loads(line)["output_fields"]["ct.id"])
                except (ValueError, KeyError):
                    h.fail("bad alert line in %s: %r" % (path, line[:200]))
    return out


class Run:
    """`trailguard run` with its children's logs in a directory."""

    def __init__(self, h, name, args, env):
        self.h = h
        self.logdir = h.path("logs-" + name)
        self.err = h.path("sup-%s.err" % name)
        h.logs.append(self.err)
        os.makedirs(self.logdir, exist_ok=True)
        for st in ("fetcher-0", "parser-0", "evaluator-0", "notifier-0"):
            h.logs.append(self.log(st))
        # never the caller's AWS settings: only what the test passes
        e = {k: v for k, v in os.environ.items()
             if not k.startswith("AWS_") and not k.startswith("TRAILGUARD_")}
        e.pop("XDG_RUNTIME_DIR", None)
        e["TMPDIR"] = h.tmp
        e["HOME"] = h.tmp
        e["AWS_EC2_METADATA_DISABLED"] = "true"
        e.update(env)
        self.p = subprocess.Popen([h.exe("trailguard"), "run", "--evaluators", "1",
                                   "--log-level", "info", "--log-dir", self.logdir,
                                   "-r", RULES] + args,
                                  stdout=subprocess.DEVNULL, stderr=open(self.err, "ab"), env=e)
        h.procs.append(self.p)

    def log(self, st):
        return os.path.join(self.logdir, st + ".log")

    def ready(self, stages=("fetcher-0", "parser-0", "evaluator-0", "notifier-0")):
        for st in stages:
            self.h.wait_ready(self.log(st))

    def rundir(self):
        with open(self.err) as f:
            for line in f:
                if "runtime directory " in line:
                    return line.split("runtime directory ")[1].split()[0]
        return None

    def children(self):
        """{"fetcher-0": (pid, metrics_port, restarts), ...} from run.info."""
        rd = self.h.wait_for("runtime directory", self.rundir, 10)
        out = {}
        try:
            with open(os.path.join(rd, "run.info")) as f:
                for line in f:
                    p = line.split()
                    if p[0] == "child":
                        out["%s-%s" % (p[1], p[2])] = (int(p[3]), int(p[4]), int(p[5]))
        except OSError:
            pass
        return out

    def pid(self, st):
        return self.h.wait_for(st + " pid", lambda: self.children().get(st, (0,))[0], 20)

    def wait_exit(self, timeout=60):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.h.fail("trailguard run did not exit within %ds" % timeout)

    def stop(self, timeout=30):
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)


def count_lines(path, needle):
    try:
        with open(path, errors="replace") as f:
            return sum(1 for line in f if needle in line)
    except OSError:
        return 0


def files_in(pattern):
    return sorted(glob.glob(pattern))
