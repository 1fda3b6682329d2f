#!/usr/bin/env python3
"""deploy/prometheus: the alert rules pass `promtool check rules` and the
unit tests in tests/ops/prometheus-rules-test.yml (`promtool test rules`),
the example prometheus.yml passes `promtool check config`; without promtool
a YAML structure check stands in.  The Grafana dashboard is valid JSON with
the required panels.  Every trailguard_* metric the rules and the dashboard
use is exported by the daemons (a string literal in their sources) or is
listed as still needed (printed, see docs/operations.md)."""
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from opsharness import Harness  # noqa: E402

# Metrics the rules/dashboard use that the daemons do not export yet.
NEEDED = {
    "trailguard_event_lag_seconds": "evaluator histogram: now - record eventTime",
    "trailguard_file_lag_seconds": "fetcher histogram: last ack - file arrival time",
    "trailguard_source_last_event_timestamp_seconds":
        "evaluator gauge {account,region}: newest eventTime seen",
    "trailguard_output_spool_bytes": "notifier gauge {output,type}: spool size in bytes",
    "trailguard_output_spool_max_bytes": "notifier gauge {output,type}: spool_max_size",
}

h = Harness("prometheus")
pdir = os.path.join(h.srcdir, "deploy", "prometheus")
rules = os.path.join(pdir, "trailguard-alerts.yml")
dash = os.path.join(pdir, "trailguard-dashboard.json")
conf = os.path.join(pdir, "prometheus.yml")
for f in (rules, dash, conf):
    h.check(os.path.isfile(f), "missing %s" % f)

promtool = shutil.which("promtool")
if promtool:
    for argv in (["check", "rules", rules],
                 ["test", "rules", os.path.join(h.srcdir, "tests", "ops",
                                                "prometheus-rules-test.yml")],
                 ["check", "config", conf]):
        r = subprocess.run([promtool] + argv, capture_output=True, text=True, timeout=60,
                           cwd=os.path.join(h.srcdir, "tests", "ops"))
        h.check(r.returncode == 0, "promtool %s failed:\n%s%s" %
                (" ".join(argv), r.stdout, r.stderr))
        print("promtool %s: ok" % " ".join(argv[:2]))
else:
    print("note: promtool not installed (Debian package prometheus): structure check only")

exprs = []
try:
    import yaml
except ImportError:
    yaml = None
    print("note: python3-yaml missing: rule structure not checked")
if yaml:
    doc = yaml.safe_load(open(rules))
    h.check(isinstance(doc, dict) and isinstance(doc.get("groups"), list), "no groups")
    alerts = set()
    for g in doc["groups"]:
        h.check(g.get("name") and isinstance(g.get("rules"), list), "bad group %r" % g)
        for r in g["rules"]:
            h.check(("alert" in r) != ("record" in r), "rule without alert/record: %r" % r)
            h.check(isinstance(r.get("expr"), str) and r["expr"].strip(), "rule without expr")
            exprs.append(r["expr"])
            if "alert" in r:
                alerts.add(r["alert"])
                h.check(r.get("labels", {}).get("severity") in ("warning", "critical"),
                        "%s: severity label" % r["alert"])
                h.check(r.get("annotations", {}).get("summary"), "%s: no summary" % r["alert"])
    for need in ("TrailguardStageDown", "TrailguardBacklogGrowing", "TrailguardQueueGrowing",
                 "TrailguardLagHigh", "TrailguardSourceSilent", "TrailguardSpoolFilling",
                 "TrailguardSnsSignatureFailures", "TrailguardDecodeErrors"):
        h.check(need in alerts, "alert %s missing" % need)

try:
    d = json.load(open(dash))
except ValueError as e:
    h.fail("dashboard is not JSON: %s" % e)
ids = [p["id"] for p in d.get("panels", [])]
h.check(len(ids) == len(set(ids)), "duplicate panel ids")
titles = " | ".join(p.get("title", "") for p in d["panels"]).lower()
for word in ("records in", "records out", "queue", "backlog", "error", "processing time",
             "lag", "staleness", "spool"):
    h.check(word in titles, "dashboard has no panel about %r" % word)
for p in d["panels"]:
    for t in p.get("targets", []):
        exprs.append(t["expr"])

# Metric names exported by the daemons: string literals in their sources.
exported = set()
lit = re.compile(r'"(trailguard_[a-z0-9_]+)"')
ctr = re.compile(r'S_CTR\(\w+,\s*"([a-z0-9_]+)"')
for top in ("common", "fetcher", "parser", "evaluator", "notifier"):
    for root, _, files in os.walk(os.path.join(h.srcdir, top)):
        for f in files:
            if f.endswith(".c"):
                text = open(os.path.join(root, f), errors="replace").read()
                exported.update(lit.findall(text))
                if "trailguard_output_" in text:
                    exported.update("trailguard_output_" + n for n in ctr.findall(text))
used = set()
for e in exprs:
    for m in re.findall(r"\b(trailguard_[a-z0-9_]+)", e):
        used.add(re.sub(r"_(bucket|sum|count)$", "", m))
unknown = sorted(u for u in used if u not in exported and u not in NEEDED)
h.check(not unknown, "metrics used but neither exported nor listed as needed: %s" % unknown)
missing = sorted(u for u in used if u not in exported)
for m in missing:
    print("NEEDS %s (%s)" % (m, NEEDED[m]))
print("%d metric names used, %d exported, %d still needed" %
      (len(used), len(used) - len(missing), len(missing)))
h.done()
