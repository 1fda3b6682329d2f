"""Helpers for the robustness runs (tests/robust, bench/soak.sh,
bench/latency.sh): python3 standard library only, loopback only.

* S3Peer: s3rver behind two tests/peers/aws_peer.js processes.  The *back*
  (`--s3rver`) holds the objects for the whole run; the *front* (`--upstream
  back`) is what the fetcher talks to (AWS_ENDPOINT_URL_S3).  Stopping the
  front cuts S3 (connection refused) without losing the bucket; starting it
  again on the same port restores it.  Both peers verify SigV4.
* s3_put(): a SigV4-signed PutObject (our own small signer, checked by the
  peer's @smithy verifier and by s3rver).
* Webhook: a loopback HTTP server taking Falco JSON alerts (one per POST or
  a JSON array), with modes up / 503 / down.  "down" closes the listener
  and drops requests on open keep-alive connections without an answer.
* ct_key(): a CloudTrail object key for "now" (the S3 source skips keys
  whose delivery time is older than its start window).
"""
import datetime
import hashlib
import hmac
import http.server
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request

AKID = "AKIDTGTEST"
SECRET = "tgTestSecretKey/0123456789+abcdefghij"
REGION = "us-east-1"
BUCKET = "trail"
ACCOUNT = "111122223333"


def node_peers_ok(srcdir):
    peers = os.path.join(srcdir, "tests", "peers")
    return bool(shutil.which("node")) and os.path.isdir(
        os.path.join(peers, "node_modules", "@20minutes", "s3rver"))


def aws_env(base, s3_port):
    """The environment for the fetcher: loopback S3, test keys, nothing else."""
    env = {k: v for k, v in base.items() if not k.startswith("AWS_")}
    env.update({
        "AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET,
        "AWS_REGION": REGION, "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:%d" % s3_port,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "AWS_CONFIG_FILE": "/dev/null",
    })
    return env


class _Peer:
    def __init__(self, srcdir, args, log):
        script = os.path.join(srcdir, "tests", "peers", "aws_peer.js")
        self.logf = open(log, "ab")
        self.p = subprocess.Popen(["node", script] + args, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=self.logf,
                                  env=dict(os.environ, TG_PEER_BUCKETS=BUCKET))
        deadline = time.time() + 30
        line = b""
        while time.time() < deadline:
            line = self.p.stdout.readline()
            if line.startswith(b"READY ") or not line:
                break
        if not line.startswith(b"READY "):
            self.stop()
            raise RuntimeError("aws_peer.js %s did not start (see %s)" % (args, log))
        self.port = int(line.split()[1])

    def stop(self):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()        # the peer exits when stdin closes
                self.p.wait(5)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self.p.kill()
                self.p.wait()
        self.logf.close()


class S3Peer:
    def __init__(self, srcdir, logdir):
        self.srcdir, self.logdir = srcdir, logdir
        self.back = _Peer(srcdir, ["--s3rver"], os.path.join(logdir, "s3-back.log"))
        self.front = None
        self.port = None
        self.start_front()

    def start_front(self):
        args = ["--upstream", "http://127.0.0.1:%d" % self.back.port]
        if self.port:
            args += ["--port", str(self.port)]
        deadline = time.time() + 20
        while True:     # the old listener's port may linger for a moment
            try:
                self.front = _Peer(self.srcdir, args, os.path.join(self.logdir, "s3-front.log"))
                break
            except RuntimeError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.port = self.front.port

    def stop_front(self):
        if self.front:
            self.front.stop()
            self.front = None

    def close(self):
        self.stop_front()
        self.back.stop()

    def put(self, key, body):
        """PutObject straight to the back peer (works while the front is cut)."""
        return s3_put(self.back.port, BUCKET, key, body)


def _sign(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def s3_put(port, bucket, key, body, now=None):
    now = now or datetime.datetime.now(datetime.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    day = amz_date[:8]
    host = "127.0.0.1:%d" % port
    path = "/%s/%s" % (bucket, urllib.parse.quote(key, safe="/-_.~"))
    payload_hash = hashlib.sha256(body).hexdigest()
    signed = "content-type;host;x-amz-content-sha256;x-amz-date"
    canon = "\n".join(["PUT", path, "", "content-type:application/octet-stream", "host:" + host,
                       "x-amz-content-sha256:" + payload_hash, "x-amz-date:" + amz_date, "",
                       signed, payload_hash])
    scope = "%s/%s/s3/aws4_request" % (day, REGION)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(canon.encode()).hexdigest()])
    k = _sign(("AWS4" + SECRET).encode(), day)
    k = _sign(_sign(_sign(k, REGION), "s3"), "aws4_request")
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    req = urllib.request.Request("http://%s%s" % (host, path), data=body, method="PUT", headers={
        "Content-Type": "application/octet-stream",
        "x-amz-date": amz_date, "x-amz-content-sha256": payload_hash,
        "Authorization": "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                         % (AKID, scope, signed, sig)})
    with urllib.request.urlopen(req, timeout=30) as r:
        if r.status != 200:
            raise RuntimeError("PUT %s: HTTP %d" % (key, r.status))


_seq = [0]


def ct_key(name_hint="", when=None, region=REGION, prefix=""):
    """[prefix/]AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<ts>_<id>.json.gz"""
    when = when or datetime.datetime.now(datetime.timezone.utc)
    _seq[0] += 1
    uid = hashlib.sha1(("%s-%d-%f" % (name_hint, _seq[0], time.time())).encode()).hexdigest()[:16]
    return (prefix + "/" if prefix else "") + "AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz" % (
        ACCOUNT, region, when.strftime("%Y/%m/%d"), ACCOUNT, region,
        when.strftime("%Y%m%dT%H%MZ"), uid)


# ---- webhook ----------------------------------------------------------------

class Webhook:
    """Loopback webhook: records (rule, ct.id) of every alert answered 200."""

    def __init__(self, port=0):
        self.mode = "up"
        self.lock = threading.Lock()
        self.alerts = []
        self.times = []          # arrival time of each alert (time.time())
        self.requests = {"200": 0, "503": 0, "dropped": 0}
        self.port = port
        self.srv = None
        self._serve()

    def _serve(self):
        hook = self

        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n)
                mode = hook.mode
                if mode == "down":
                    with hook.lock:
                        hook.requests["dropped"] += 1
                    self.close_connection = True
                    return          # no answer: the client sees a transport error
                if mode == "503":
                    with hook.lock:
                        hook.requests["503"] += 1
                    self.send_response(503)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                try:
                    doc = json.loads(body)
                except ValueError:
                    self.send_response(400)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                now = time.time()
                items = doc if isinstance(doc, list) else [doc]
                with hook.lock:
                    hook.requests["200"] += 1
                    for a in items:
                        hook.alerts.append((a.get("rule"), (a.get("output_fields") or {}).get("ct.id")))
                        hook.times.append(now)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_PUT = do_POST

        class S(http.server.ThreadingHTTPServer):
            allow_reuse_address = True
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass    # a client killed mid-request (the notifier under SIGKILL)

        deadline = time.time() + 20
        while True:
            try:
                self.srv = S(("127.0.0.1", self.port), H)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.2)
        self.port = self.srv.server_address[1]
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def set_mode(self, mode):
        if mode == "down" and self.srv:
            self.mode = "down"
            self.srv.shutdown()
            self.srv.server_close()
            self.srv = None
        elif mode != "down":
            self.mode = mode
            if not self.srv:
                self._serve()

    def snapshot(self):
        with self.lock:
            return list(self.alerts)

    def close(self):
        if self.srv:
            self.srv.shutdown()
            self.srv.server_close()


def proc_rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def run_info(rundir):
    """{"stage-inst": pid} from the supervisor's run.info."""
    try:
        with open(os.path.join(rundir, "run.info")) as f:
            return {"%s-%s" % (p[1], p[2]): int(p[3]) for p in
                    (l.split() for l in f) if p and p[0] == "child"}
    except (FileNotFoundError, IndexError, ValueError):
        return {}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p
