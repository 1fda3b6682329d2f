#!/usr/bin/env python3
"""Meson test: upstream CloudTrail rules over the shared corpora.

    upstream_check.py TL_CORPUS SHARED_DIR

Runs the engine (TL_CORPUS: loads aws_cloudtrail_rules.yaml unchanged, must
load with 0 errors, rule_matching all, every rule enabled) and the
independent python oracle (upstream_oracle.py) over the same records, and
compares the (file, record index, rule) sets.  Exit 77 when SHARED_DIR is
absent.
"""
import glob
import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
tool, shared = sys.argv[1], sys.argv[2]
rules = os.path.join(shared, 'falco', 'aws_cloudtrail_rules.yaml')
if not os.path.isfile(rules) or not os.path.isdir(os.path.join(shared, 'corpora')):
    print('skip: %s not found' % shared)
    sys.exit(77)
files = sorted(glob.glob(os.path.join(shared, 'corpora', 'invictus', '*.json')))
files += [os.path.join(shared, 'corpora', 'awsdocs', 'doc_examples.jsonl')]
# synthetic records covering every rule and the absent/empty edge cases
files += [os.path.join(here, 'upstream_synth.jsonl')]
eng = subprocess.run([tool, rules] + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                     universal_newlines=True)
if eng.returncode != 0:
    print('engine failed (%d):\n%s' % (eng.returncode, eng.stderr))
    sys.exit(1)
orc = subprocess.run([sys.executable, os.path.join(here, 'upstream_oracle.py')] + files,
                     stdout=subprocess.PIPE, universal_newlines=True, check=True)
a = set(l for l in eng.stdout.splitlines() if l)
b = set(l for l in orc.stdout.splitlines() if l)
for l in sorted(a - b):
    print('engine only:', l)
for l in sorted(b - a):
    print('oracle only:', l)
rules_hit = {}
for l in a:
    r = l.split('\t')[2]
    rules_hit[r] = rules_hit.get(r, 0) + 1
for r in sorted(rules_hit):
    print('%5d %s' % (rules_hit[r], r))
ok = a == b
print('%d passed, %d failed' % (1 if ok else 0, 0 if ok else 1))
sys.exit(0 if ok else 1)
