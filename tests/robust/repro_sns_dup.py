#!/usr/bin/env python3
"""Reproducer: a second signed SNS notification (new MessageId) naming an
object the pipeline already processed.  The fetcher's submit() finds the
identity done and commits synchronously, aws_objq frees the object, then
s_submit_ready() keeps using it (see docs/robustness-runs.md).

    repro_sns_dup.py --bin BUILD_DIR --out DIR [--posts 3]

Run with TRAILGUARD_BIN_DIR pointing at a directory whose
trailguard-fetcher wraps the debug fetcher in valgrind to get the trace.
Prints the POST answers, the alert counts and the supervisor's log (a
fetcher "died ... signal=6" line is the crash: glibc's "double free or
corruption").
"""
import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drive  # noqa: E402
import rbkit  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--posts", type=int, default=3)
a = ap.parse_args()
a.bin = os.path.abspath(a.bin)
a.mode, a.evaluators, a.poll = "sns", 1, "1s"
st = drive.Stack(a)
body, nal, _ = drive.make_file(random.Random(3), 0, 500)
key = rbkit.ct_key("dup")
st.put(key, body)
for i in range(a.posts):
    try:
        code = st.post(st.notify(key))
    except OSError as e:
        code = "error: %s" % e
    t = time.time()
    while st.alert_count() < nal and time.time() - t < 20:
        time.sleep(0.05)
    time.sleep(2)    # let a crash show in the supervisor's log
    print("post %d: %s; alerts %d (expected %d)" % (i, code, st.alert_count(), nal), flush=True)
with open(st.err) as f:
    print(f.read())
print("exit", st.stop())
