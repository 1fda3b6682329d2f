#!/usr/bin/env python3
"""Driver behind bench/soak.sh and bench/latency.sh: `trailguard run`
against loopback peers, fed through SNS notifications (default) or S3
polling.  Python 3 standard library, node peers (tests/peers) and the
openssl CLI.  Loopback only.

    drive.py soak    --bin DIR --out DIR [--mode sns|s3] [--minutes M] [--every S]
                     [--records-per-file N] [--sample S]
    drive.py latency --bin DIR --out DIR [--mode sns|s3] [--reps N] [--size BYTES]

Set-up (both):
* openssl makes a TLS certificate for 127.0.0.1 and an SNS signing
  key/certificate; an aws_peer.js serves the signing certificate over https
  (the fetcher trusts it through fetcher.aws.ca_file and accepts the
  loopback host through fetcher.sns.host_pattern);
* rbkit.S3Peer holds the bucket;
* `trailguard run -r tests/data/pipeline/rules.yaml -o file:alerts.json`
  with fetcher.sns.topics set (sns mode) or the source s3://trail with
  fetcher.aws.poll_interval (s3 mode).
A notification is an SNS "Notification" whose Message is CloudTrail's
{"s3Bucket","s3ObjectKey":[key]}, signed (SignatureVersion 2, SHA256withRSA)
with `openssl dgst`.

soak: every --every seconds one object of --records-per-file records
(tests/integration/gen_events.py records, ~3% alerts) is put and notified;
the RSS of every daemon (pids from run.info) is sampled every --sample
seconds into rss.csv; at the end the pipeline is drained (all expected
alerts written) and summary.json holds warm-up / end RSS per daemon.

latency: per repetition one object of about --size bytes (gzip), whose
last record is the only one that alerts; t0 = just before the SNS POST (sns
mode) or just after the PUT completed (s3 mode); t1 = when the alert's line
is in the output file (polled every 2 ms).  Prints p50/p90/p99/max.
"""
import argparse
import atexit
import base64
import datetime
import gzip
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(SRC, "tests", "integration"))
import rbkit  # noqa: E402
import gen_events  # noqa: E402

TOPIC = "arn:aws:sns:us-east-1:111122223333:cloudtrail"
HOST_RE = r"^127\.0\.0\.1(:[0-9]+)?$"


class Stack:
    def __init__(self, a):
        self.a = a
        self.out = os.path.abspath(a.out)
        os.makedirs(self.out, exist_ok=True)
        self.procs = []
        self.s3 = rbkit.S3Peer(SRC, self.out)
        self.pki = os.path.join(self.out, "pki")
        self.tls = None
        if a.mode == "sns":
            os.makedirs(self.pki, exist_ok=True)
            subprocess.run(
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout tls.key -out tls.crt -days 2 "
                "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 && "
                "openssl req -x509 -newkey rsa:2048 -nodes -keyout sign.key -out sign.crt "
                "-days 2 -subj /CN=sns.amazonaws.com",
                shell=True, cwd=self.pki, check=True, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            os.environ["TG_PEER_STATIC"] = "/SimpleNotificationService-test.pem=%s/sign.crt" % self.pki
            self.tls = rbkit._Peer(SRC, ["--tls-cert", self.pki + "/tls.crt",
                                         "--tls-key", self.pki + "/tls.key"],
                                   os.path.join(self.out, "tls-peer.log"))
            os.environ.pop("TG_PEER_STATIC")
            self.cert_url = "https://127.0.0.1:%d/SimpleNotificationService-test.pem" % self.tls.port
        self.alerts = os.path.join(self.out, "alerts.json")
        self.logdir = os.path.join(self.out, "logs")
        os.makedirs(self.logdir, exist_ok=True)
        env = rbkit.aws_env(dict(os.environ), self.s3.port)
        env.pop("XDG_RUNTIME_DIR", None)
        env["TMPDIR"] = self.out
        args = [os.path.join(a.bin, "cli", "trailguard"), "run", "--evaluators", str(a.evaluators),
                "--log-dir", self.logdir, "--log-level", "info",
                "--state-dir", os.path.join(self.out, "state"),
                "-r", os.path.join(SRC, "tests", "data", "pipeline", "rules.yaml"),
                "-o", "file:" + self.alerts]
        if a.mode == "sns":
            env.update({"TRAILGUARD_FETCHER_SNS_TOPICS": TOPIC, "TRAILGUARD_FETCHER_SNS_PORT": "0",
                        "TRAILGUARD_FETCHER_SNS_HOST_PATTERN": HOST_RE,
                        "TRAILGUARD_FETCHER_AWS_CA_FILE": self.pki + "/tls.crt"})
        else:
            env["TRAILGUARD_FETCHER_AWS_POLL_INTERVAL"] = a.poll
            args.append("s3://" + rbkit.BUCKET)
        self.err = os.path.join(self.out, "run.err")
        self.run = subprocess.Popen(args, stdout=open(os.path.join(self.out, "run.out"), "wb"),
                                    stderr=open(self.err, "wb"), env=env)
        atexit.register(self._kill_on_exit)   # an exception must not leave a pipeline behind
        self.rundir = self.wait("runtime directory", self._rundir, 20)
        self.wait("every daemon ready", self._all_ready, 60)
        self.sns_port = self.wait("sns port", self._sns_port, 20) if a.mode == "sns" else None
        self.msgno = 0

    def _kill_on_exit(self):
        if self.run.poll() is None:
            self.run.send_signal(signal.SIGTERM)
            try:
                self.run.wait(30)
            except subprocess.TimeoutExpired:
                self.run.kill()

    def wait(self, what, cond, timeout):
        deadline = time.time() + timeout
        while True:
            v = cond()
            if v:
                return v
            if self.run.poll() is not None or time.time() > deadline:
                raise SystemExit("FAIL: waiting for %s (run exit %s); see %s" %
                                 (what, self.run.poll(), self.out))
            time.sleep(0.02)

    def _rundir(self):
        with open(self.err) as f:
            m = re.search(r"runtime directory (\S+)", f.read())
        return m.group(1) if m else None

    def _all_ready(self):
        kids = rbkit.run_info(self.rundir)
        if not kids:
            return False
        for k in kids:
            try:
                with open(os.path.join(self.logdir, k + ".log"), "rb") as f:
                    if b" ready endpoint=" not in f.read():
                        return False
            except FileNotFoundError:
                return False
        return True

    def _sns_port(self):
        try:
            with open(os.path.join(self.logdir, "fetcher-0.log")) as f:
                for line in f:
                    if "sns endpoint listening" in line:
                        return int(line.split("port=")[1].split()[0])
        except FileNotFoundError:
            pass
        return None

    # --- input --------------------------------------------------------------
    def put(self, key, body):
        self.s3.put(key, body)

    def notify(self, key):
        """POST one signed CloudTrail SNS notification naming key."""
        self.msgno += 1
        m = {"Type": "Notification", "MessageId": str(uuid.uuid4()), "TopicArn": TOPIC,
             "Message": json.dumps({"s3Bucket": rbkit.BUCKET, "s3ObjectKey": [key]}),
             "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime(
                 "%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
             "SignatureVersion": "2", "SigningCertURL": self.cert_url,
             "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"}
        sts = "".join("%s\n%s\n" % (k, m[k]) for k in
                      ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type") if k in m)
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.pki + "/sign.key"],
                             input=sts.encode(), stdout=subprocess.PIPE, check=True).stdout
        m["Signature"] = base64.b64encode(sig).decode()
        return json.dumps(m).encode()

    def post(self, body):
        req = urllib.request.Request("http://127.0.0.1:%d/" % self.sns_port, data=body, method="POST",
                                     headers={"x-amz-sns-message-type": "Notification",
                                              "Content-Type": "text/plain; charset=UTF-8"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    # --- output ---------------------------------------------------------------
    def alert_count(self):
        try:
            with open(self.alerts, "rb") as f:
                return f.read().count(b"\n")
        except FileNotFoundError:
            return 0

    def rss(self):
        out = {}
        for k, pid in rbkit.run_info(self.rundir).items():
            if pid:
                out[k] = (pid, rbkit.proc_rss_kb(pid))
        out["supervisor"] = (self.run.pid, rbkit.proc_rss_kb(self.run.pid))
        return out

    def stop(self):
        rc = None
        if self.run.poll() is None:
            self.run.send_signal(signal.SIGTERM)
            try:
                rc = self.run.wait(60)
            except subprocess.TimeoutExpired:
                self.run.kill()
                rc = self.run.wait()
        else:
            rc = self.run.returncode
        if self.tls:
            self.tls.stop()
        self.s3.close()
        return rc


def make_file(rng, first, n):
    recs, alerts = [], 0
    for i in range(first, first + n):
        rec, eid, al = gen_events.record(rng, i)
        recs.append(rec)
        alerts += len(al)
    body = json.dumps({"Records": recs}, separators=(",", ":")).encode()
    return gzip.compress(body, compresslevel=6), alerts, len(body)


def soak(a):
    st = Stack(a)
    rng = random.Random(a.seed)
    csvf = open(os.path.join(st.out, "rss.csv"), "w")
    csvf.write("t_s,daemon,pid,rss_kb\n")
    t0 = time.time()
    end = t0 + a.minutes * 60
    next_put = t0
    next_sample = t0
    expected = 0
    files = 0
    rec_no = 0
    rejected = 0
    samples = []
    while time.time() < end:
        now = time.time()
        if now >= next_put:
            body, nal, _ = make_file(rng, rec_no, a.records_per_file)
            rec_no += a.records_per_file
            key = rbkit.ct_key("soak")
            st.put(key, body)
            if a.mode == "sns":
                code = st.post(st.notify(key))
                if code != 200:
                    rejected += 1
            expected += nal
            files += 1
            next_put += a.every
        if now >= next_sample:
            for k, (pid, kb) in sorted(st.rss().items()):
                csvf.write("%.1f,%s,%d,%s\n" % (now - t0, k, pid, kb if kb is not None else ""))
                samples.append((now - t0, k, pid, kb))
            csvf.flush()
            next_sample += a.sample
        if st.run.poll() is not None:
            break
        time.sleep(max(0.0, min(next_put, next_sample) - time.time()))
    feed_s = time.time() - t0
    t_drain = time.time()
    while st.alert_count() < expected and time.time() - t_drain < 300 and st.run.poll() is None:
        time.sleep(0.2)
    drained = time.time() - t_drain
    got = st.alert_count()
    final_rss = st.rss()
    rc = st.stop()
    csvf.close()
    # warm-up = samples between 3 and 5 minutes (or 20-30% of a short run);
    # end = the last minute (or last 10%)
    dur = feed_s
    w0, w1 = (180, 300) if dur >= 900 else (0.2 * dur, 0.3 * dur)
    e0 = dur - 60 if dur >= 900 else 0.9 * dur
    per = {}
    for t, k, pid, kb in samples:
        if kb is None:
            continue
        d = per.setdefault(k, {"warm": [], "end": [], "max": 0, "pids": set()})
        d["pids"].add(pid)
        d["max"] = max(d["max"], kb)
        if w0 <= t <= w1:
            d["warm"].append(kb)
        if t >= e0:
            d["end"].append(kb)
    summary = {"mode": a.mode, "minutes": a.minutes, "every_s": a.every,
               "records_per_file": a.records_per_file, "files": files,
               "records": rec_no, "alerts_expected": expected, "alerts_written": got,
               "sns_non_200": rejected, "drain_s": round(drained, 1), "exit": rc,
               "feed_s": round(feed_s, 1), "rss_kb": {}}
    print("soak: mode=%s %.1f min, %d files x %d records (every %.1fs), alerts %d/%d, "
          "drain %.1fs, exit %s, sns non-200 %d" % (a.mode, feed_s / 60, files, a.records_per_file,
                                                     a.every, got, expected, drained, rc, rejected))
    print("%-12s %10s %10s %10s %8s %s" % ("daemon", "warm_kb", "end_kb", "max_kb", "growth", "pids"))
    for k in sorted(per):
        d = per[k]
        wm = statistics.median(d["warm"]) if d["warm"] else None
        em = statistics.median(d["end"]) if d["end"] else None
        g = (em - wm) / wm * 100 if wm and em else None
        summary["rss_kb"][k] = {"warmup_median": wm, "end_median": em, "max": d["max"],
                                "growth_pct": None if g is None else round(g, 1),
                                "restarts": len(d["pids"]) - 1}
        print("%-12s %10s %10s %10d %7s%% %d" % (k, wm, em, d["max"],
                                                  "?" if g is None else "%.1f" % g, len(d["pids"])))
    with open(os.path.join(st.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1, default=list)
    return 0 if got >= expected and rc == 0 else 1


def latency(a):
    st = Stack(a)
    rng = random.Random(a.seed)
    # size the file: records until the gzip reaches --size bytes
    probe, _, _ = make_file(random.Random(1), 0, 1000)
    per_rec = len(probe) / 1000.0
    nrec = max(10, int(a.size / per_rec))
    lat = []
    sizes = []
    base = 10 ** 9
    for rep in range(a.reps):
        recs = []
        for i in range(nrec - 1):
            rec, eid, al = gen_events.record(rng, base + rep * nrec + i)
            if al:   # keep the noise silent: only the last record alerts
                rec["eventName"] = "GetObject"
                rec["userIdentity"]["userName"] = "alice"
            recs.append(rec)
        rec, _, _ = gen_events.record(rng, base + rep * nrec + nrec)
        eid = "lat-%06d-%s" % (rep, uuid.uuid4().hex[:12])
        rec.update({"eventName": "DeleteTrail", "eventSource": "cloudtrail.amazonaws.com",
                    "eventID": eid, "requestParameters": {"name": "t"}})
        rec["userIdentity"]["userName"] = "alice"
        recs.append(rec)
        raw = json.dumps({"Records": recs}, separators=(",", ":")).encode()
        body = gzip.compress(raw, compresslevel=6)
        sizes.append((len(body), len(raw), nrec))
        key = rbkit.ct_key("lat")
        before = os.path.getsize(st.alerts) if os.path.exists(st.alerts) else 0
        if a.mode == "sns":
            st.put(key, body)
            msg = st.notify(key)
            t0 = time.time()
            code = st.post(msg)
            if code != 200:
                print("rep %d: SNS POST answered %d" % (rep, code))
                continue
        else:
            st.put(key, body)
            t0 = time.time()
        needle = eid.encode()
        deadline = t0 + 120
        t1 = None
        while time.time() < deadline:
            try:
                with open(st.alerts, "rb") as f:
                    f.seek(before)
                    if needle in f.read():
                        t1 = time.time()
                        break
            except FileNotFoundError:
                pass
            time.sleep(0.002)
        if t1 is None:
            print("rep %d: no alert within 120 s" % rep)
            continue
        lat.append((t1 - t0) * 1000)
    rc = st.stop()
    if not lat:
        print("no measurement")
        return 1
    lat_s = sorted(lat)

    def pct(p):
        return lat_s[min(len(lat_s) - 1, int(round(p / 100.0 * len(lat_s) + 0.5)) - 1)]
    gz = statistics.mean(s[0] for s in sizes)
    rawm = statistics.mean(s[1] for s in sizes)
    res = {"mode": a.mode, "reps": a.reps, "measured": len(lat), "gzip_bytes_mean": int(gz),
           "json_bytes_mean": int(rawm), "records_per_file": nrec,
           "p50_ms": round(pct(50), 1), "p90_ms": round(pct(90), 1), "p99_ms": round(pct(99), 1),
           "min_ms": round(lat_s[0], 1), "max_ms": round(lat_s[-1], 1),
           "mean_ms": round(statistics.mean(lat), 1), "exit": rc,
           "poll_interval": a.poll if a.mode == "s3" else None}
    print("latency: mode=%s reps=%d measured=%d object=%.0f KiB gzip (%.1f MiB JSON, %d records)" %
          (a.mode, a.reps, len(lat), gz / 1024, rawm / 1048576, nrec))
    print("  p50=%.1f ms p90=%.1f ms p99=%.1f ms min=%.1f max=%.1f mean=%.1f (exit %s)" %
          (res["p50_ms"], res["p90_ms"], res["p99_ms"], res["min_ms"], res["max_ms"],
           res["mean_ms"], rc))
    with open(os.path.join(st.out, "latency.json"), "w") as f:
        json.dump({"summary": res, "samples_ms": [round(x, 2) for x in lat]}, f, indent=1)
    return 0 if len(lat) == a.reps else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["soak", "latency"])
    ap.add_argument("--bin", required=True, help="build dir holding cli/trailguard and <stage>/trailguard-<stage>")
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", choices=["sns", "s3"], default="sns")
    ap.add_argument("--poll", default="1s", help="s3 mode: fetcher.aws.poll_interval")
    ap.add_argument("--evaluators", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--every", type=float, default=2.0)
    ap.add_argument("--records-per-file", type=int, default=1000)
    ap.add_argument("--sample", type=float, default=5.0)
    ap.add_argument("--reps", type=int, default=50)
    ap.add_argument("--size", type=int, default=1 << 20)
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    sys.exit(soak(a) if a.what == "soak" else latency(a))


if __name__ == "__main__":
    main()
