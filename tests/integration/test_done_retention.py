#!/usr/bin/env python3
"""The fetcher's finished-job set and its retention (fetcher.done_retention),
through `trailguard run` with a kept state directory:

1. a first run over a directory alerts as expected and journals one
   checkpoint per file;
2. a second run with the same state skips every file (no alert);
3. once the checkpoints are older than a 1 s retention, a third run
   forgets them at start, processes every file again (their alerts, with the
   same stable ids, are dropped by the notifier's dedup window), and compacts
   the journal: it then holds one fresh record per file, not two."""
import collections
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tgharness import Harness, log_dir_logs  # noqa: E402

h = Harness("done_retention")
rules = os.path.join(h.data, "rules.yaml")
logs = os.path.join(h.data, "logs")
nfiles = sum(len(f) for _, _, f in os.walk(logs))
expected = collections.Counter(h.expected(os.path.join(h.data, "expected_alerts.txt")))
state = h.path("state")
journal = os.path.join(state, "fetcher", "checkpoint.journal")


def journal_records():
    """Payloads of the checkpoint journal (tg_journal.h framing)."""
    with open(journal, "rb") as f:
        data = f.read()
    h.check(data[:8] == b"TGJRNL1\n", "checkpoint journal header %r" % data[:8])
    recs, off = [], 8
    while off + 8 <= len(data):
        n = struct.unpack_from("<I", data, off)[0]
        recs.append(data[off + 8:off + 8 + n])
        off += 8 + n
    return recs


def run(name, retention=None):
    out = h.path(name + ".json")
    logdir = h.path(name + "-logs")
    os.makedirs(logdir)
    argv = [h.exe("trailguard"), "run", "--evaluators", "1", "--state-dir", state,
            "--log-dir", logdir, "-r", rules, "-o", "file:" + out, logs]
    if retention:
        cfg = h.path(name + ".yaml")
        with open(cfg, "w") as f:
            f.write("fetcher:\n  done_retention: %s\n" % retention)
        argv[2:2] = ["-c", cfg]
    try:
        rc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            timeout=60).returncode
    except subprocess.TimeoutExpired:
        log_dir_logs(h, logdir)
        h.fail("%s: trailguard run did not finish within 60s" % name)
    log_dir_logs(h, logdir)
    h.check(rc == 0, "%s: trailguard run exited %d" % (name, rc))
    got = collections.Counter(h.alerts(out)) if os.path.exists(out) else collections.Counter()
    with open(os.path.join(logdir, "fetcher-0.log"), "rb") as f:
        return got, f.read()


got, _ = run("first")
h.check(got == expected, "first run: alerts differ from the expected set")
recs = journal_records()
h.check(len(recs) == nfiles and all(r[:1] == b"@" for r in recs),
        "first run: %d checkpoints, expected %d timestamped ones: %r" % (len(recs), nfiles, recs[:2]))
t_done = time.time()

got, _ = run("again")
h.check(sum(got.values()) == 0, "second run alerted again: %d alerts" % sum(got.values()))
h.check(len(journal_records()) == nfiles, "second run added checkpoints")

# retention 1 s: the checkpoints must be older than that (a clock condition)
h.wait_for("checkpoints older than 1 s", lambda: time.time() > t_done + 1.5, 5)
got, _ = run("expired", "1s")
# the files were processed again: their new checkpoints replace the old
# ones in the compacted journal (their alerts have the same stable ids, so
# the notifier's dedup window drops them: no alert is repeated)
recs = journal_records()
h.check(len(recs) == nfiles, "journal not compacted: %d records for %d files" % (len(recs), nfiles))
stamps = [int(r[1:17], 16) for r in recs if r[:1] == b"@"]
h.check(len(stamps) == nfiles and min(stamps) >= int(t_done),
        "the files were not checkpointed again after the retention: %r" % recs)
h.check(sum(got.values()) == 0, "a repeated file repeated %d alerts past the dedup window"
        % sum(got.values()))
h.done()
