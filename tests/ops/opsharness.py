"""Helpers for the operations tests (python3 stdlib only).

Waits poll a condition against a deadline; nothing sleeps in place of a
wait.  fail() dumps every registered daemon log, kills what the test
started and exits 1; skip() exits 77 with the reason.  Network namespaces
made by a test are removed by cleanup(), which runs on every exit path.
"""
import atexit
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

SKIP = 77


class Harness:
    def __init__(self, name):
        self.name = name
        self.bindir = os.environ.get("TG_BUILD_ROOT")
        self.srcdir = os.environ.get("TG_SOURCE_ROOT")
        if not self.bindir or not self.srcdir:
            print("SKIP: TG_BUILD_ROOT / TG_SOURCE_ROOT not set (run through meson test)")
            sys.exit(SKIP)
        self.tmp = tempfile.mkdtemp(prefix="tgops-", dir=os.environ.get("TMPDIR", "/tmp"))
        self.logs = []
        self.procs = []
        self.netns = []
        self.netns_etc = []
        self.made_etc_netns = False
        self.data = os.path.join(self.srcdir, "tests", "ops", "data")
        self._cleaned = False
        atexit.register(self.cleanup)
        # meson's timeout sends SIGTERM: clean up (namespaces) on it too
        signal.signal(signal.SIGTERM, self._on_term)

    def _on_term(self, signum, frame):
        print("terminated by signal %d" % signum)
        self.dump_logs()
        self.cleanup()
        sys.exit(1)

    # binaries -----------------------------------------------------------
    def exe(self, stage):
        if stage == "trailguard":
            return os.path.join(self.bindir, "cli", "trailguard")
        return os.path.join(self.bindir, stage, "trailguard-" + stage)

    def need_binaries(self, stages=("fetcher", "parser", "evaluator", "notifier",
                                    "trailguard")):
        missing = [s for s in stages if not os.access(self.exe(s), os.X_OK)]
        if missing:
            self.skip("not built: %s" % ", ".join(self.exe(s) for s in missing))

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    # processes ----------------------------------------------------------
    def start(self, argv, log, stdout=None, env=None, netns=None):
        if netns:
            argv = ["ip", "netns", "exec", netns] + list(argv)
        logf = open(log, "ab")
        if log not in self.logs:
            self.logs.append(log)
        out = open(stdout, "ab") if stdout else logf
        full_env = dict(os.environ)
        for k in list(full_env):
            if k.startswith("TRAILGUARD_"):
                del full_env[k]
        if env:
            full_env.update(env)
        p = subprocess.Popen(argv, stdout=out, stderr=logf, stdin=subprocess.DEVNULL,
                             env=full_env)
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, timeout=20):
        if p.poll() is None:
            p.send_signal(sig)
        try:
            return p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
            return None

    def stop_all(self, sig=signal.SIGTERM, timeout=20):
        for p in reversed(self.procs):
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
    def wait_for(self, what, cond, timeout=30.0, interval=0.02):
        deadline = time.time() + timeout
        while True:
            v = cond()
            if v:
                return v
            if time.time() > deadline:
                self.fail("timed out after %.0fs waiting for %s" % (timeout, what))
            time.sleep(interval)

    def log_lines(self, log, needle):
        try:
            with open(log, "rb") as f:
                return [l.decode(errors="replace") for l in f if needle.encode() in l]
        except FileNotFoundError:
            return []

    def wait_log(self, log, needle, count=1, timeout=30.0):
        return self.wait_for("%d x %r in %s" % (count, needle, log),
                             lambda: len(self.log_lines(log, needle)) >= count
                             and self.log_lines(log, needle), timeout)

    def wait_ready(self, log, timeout=30.0):
        """Wait for the tg_daemon ready line; returns its key=value fields."""
        line = self.wait_log(log, " ready endpoint=", 1, timeout)[0]
        kv = {}
        for tok in line.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                kv[k] = v
        return kv

    # metrics ------------------------------------------------------------
    def http_get(self, port, path, netns=None, host="127.0.0.1", timeout=5):
        url = "http://%s:%d%s" % (host, port, path)
        if not netns:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, ""
            except OSError:
                return 0, ""
        code = ("import sys,urllib.request as u\n"
                "try:\n"
                " r=u.urlopen(sys.argv[1],timeout=%d); print(r.status); "
                "sys.stdout.write(r.read().decode())\n"
                "except Exception as e:\n"
                " print(getattr(e,'code',0))\n" % timeout)
        r = subprocess.run(["ip", "netns", "exec", netns, sys.executable, "-c", code, url],
                           capture_output=True, text=True, timeout=timeout + 10)
        first, _, rest = r.stdout.partition("\n")
        try:
            return int(first), rest
        except ValueError:
            return 0, ""

    @staticmethod
    def parse_metrics(text, name, labels=None):
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

    def metric(self, port, name, labels=None, netns=None):
        code, text = self.http_get(port, "/metrics", netns)
        if code != 200:
            return None
        return self.parse_metrics(text, name, labels)

    # results ------------------------------------------------------------
    def alerts(self, path):
        """[(rule, ct.id)] from Falco JSON lines."""
        out = []
        if not os.path.exists(path):
            return out
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                try:
                    a = json.loads(line)
                except ValueError:
                    self.fail("not a JSON line in %s: %r" % (path, line[:200]))
                out.append((a["rule"], a.get("output_fields", {}).get("ct.id")))
        return out

    def alert_objects(self, path):
        with open(path) as f:
            return [json.loads(l) for l in f if l.strip()]

    # network namespaces -------------------------------------------------
    def netns_add(self, name):
        r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if r.returncode != 0:
            return r.stderr.strip() or "ip netns add failed"
        self.netns.append(name)
        self.sh("ip", "-n", name, "link", "set", "lo", "up")
        return None

    def sh(self, *argv):
        r = subprocess.run(list(argv), capture_output=True, text=True)
        if r.returncode != 0:
            self.fail("%s: %s" % (" ".join(argv), r.stderr.strip()))
        return r.stdout

    def veth(self, ns_a, if_a, addr_a, ns_b, if_b, addr_b):
        """A veth pair between two namespaces with a /30 on each end.  The
        pair is created inside ns_a, so nothing appears in the test's own
        namespace."""
        self.sh("ip", "-n", ns_a, "link", "add", if_a, "type", "veth", "peer",
                "name", if_b, "netns", ns_b)
        self.sh("ip", "-n", ns_a, "addr", "add", addr_a, "dev", if_a)
        self.sh("ip", "-n", ns_b, "addr", "add", addr_b, "dev", if_b)
        self.sh("ip", "-n", ns_a, "link", "set", if_a, "up")
        self.sh("ip", "-n", ns_b, "link", "set", if_b, "up")

    def netns_hosts(self, ns, hosts):
        """/etc/netns/<ns>/hosts: `ip netns exec` bind-mounts it over
        /etc/hosts, so names resolve per namespace (like a container's).
        Removed by cleanup()."""
        d = os.path.join("/etc/netns", ns)
        if not os.path.isdir("/etc/netns"):
            self.made_etc_netns = True
        os.makedirs(d, exist_ok=True)
        self.netns_etc.append(d)
        with open(os.path.join(d, "hosts"), "w") as f:
            f.write("127.0.0.1 localhost\n")
            for name, addr in hosts.items():
                f.write("%s %s\n" % (addr, name))

    # end ----------------------------------------------------------------
    def cleanup(self):
        if self._cleaned:
            return
        self._cleaned = True
        self.stop_all(signal.SIGKILL, 5)
        for ns in self.netns:
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        self.netns = []
        for d in self.netns_etc:
            shutil.rmtree(d, ignore_errors=True)
        self.netns_etc = []
        if self.made_etc_netns:
            try:
                os.rmdir("/etc/netns")  # ours, if nobody else added to it
            except OSError:
                pass
        if not os.environ.get("TG_KEEP_TMP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def dump_logs(self):
        for log in self.logs:
            print("===== %s" % log)
            try:
                with open(log, errors="replace") as f:
                    sys.stdout.write(f.read()[-20000:])
            except OSError as e:
                print("(%s)" % e)

    def fail(self, msg):
        print("FAIL: %s" % msg)
        self.dump_logs()
        sys.stdout.flush()
        self.cleanup()
        sys.exit(1)

    def skip(self, msg):
        print("SKIP: %s" % msg)
        sys.stdout.flush()
        self.cleanup()
        sys.exit(SKIP)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)

    def done(self):
        self.stop_all()
        self.cleanup()
        print("ok: %s" % self.name)
        sys.exit(0)


# ---- CloudTrail input -----------------------------------------------------

EVENT_NAMES = ["DescribeInstances", "DeleteTrail", "CreateUser", "GetObject",
               "StopLogging", "PutBucketPolicy", "ListBuckets", "AttachUserPolicy"]


def ct_record(i, account, region, user, name, day="2024-05-01", hour=10):
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA%06d" % i,
                         "arn": "arn:aws:iam::%s:user/%s" % (account, user),
                         "accountId": account, "userName": user},
        "eventTime": "%sT%02d:%02d:%02dZ" % (day, hour, (i // 60) % 60, i % 60),
        "eventSource": "iam.amazonaws.com",
        "eventName": name,
        "awsRegion": region,
        "sourceIPAddress": "198.51.100.%d" % (i % 250 + 1),
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"name": "trail-%d" % i, "userName": "u%d" % i},
        "responseElements": None,
        "requestID": "req-%08d" % i,
        "eventID": "00000000-0000-4000-8000-%012d" % i,
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
    }


def write_ct_file(directory, account, region, stamp, records, gz=False, pad=0):
    """Write one CloudTrail log file; returns its path.  pad adds a
    userAgent of that many characters to every record (bigger frames)."""
    os.makedirs(directory, exist_ok=True)
    if pad:
        for r in records:
            r["userAgent"] = "aws-cli/2.15.0 " + "x" * pad
    name = "%s_CloudTrail_%s_%s.json" % (account, region, stamp)
    body = json.dumps({"Records": records}).encode()
    path = os.path.join(directory, name + (".gz" if gz else ""))
    if gz:
        with gzip.open(path, "wb") as f:
            f.write(body)
    else:
        with open(path, "wb") as f:
            f.write(body)
    return path


def make_corpus(directory, first_id, nfiles, per_file, names=EVENT_NAMES,
                accounts=("111122223333", "444455556666"),
                regions=("eu-west-1", "us-east-1"), pad=0, tag="a"):
    """nfiles files of per_file records, event names cycling through
    `names`, users cycling alice/bob/mallory, accounts and regions cycling
    per file.  Returns (paths, records)."""
    paths, allrecs = [], []
    i = first_id
    for f in range(nfiles):
        acct = accounts[f % len(accounts)]
        reg = regions[(f // len(accounts)) % len(regions)]
        recs = []
        for _ in range(per_file):
            user = ("alice", "bob", "mallory")[i % 3]
            recs.append(ct_record(i, acct, reg, user, names[i % len(names)]))
            i += 1
        paths.append(write_ct_file(directory, acct, reg,
                                   "20240501T10%02dZ_%s%03d" % (f % 60, tag, f), recs,
                                   gz=(f % 2 == 1), pad=pad))
        allrecs += recs
    return paths, allrecs
