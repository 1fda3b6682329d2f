#!/bin/sh
# make bench: end-to-end throughput of the whole pipeline against its
# baselines, from one run on this machine.
#
#   1. a deterministic corpus of $BENCH_RECORDS (default 1,000,000) CloudTrail
#      records in .json.gz files shaped like a real trail (bench/gen_corpus.py);
#   2. baseline: zcat | jq selecting three event names (one core each side);
#   3. baseline: libdeflate-gunzip -c alone on one core (the decompression floor);
#   4. trailguard run (fetcher, parser, evaluators, notifier) with the shipped
#      rules, alerts to a file; per-daemon CPU and peak RSS sampled from /proc;
#   5. the engine alone (ns/event for upstream, shipped and 1,000 rules);
#   6. the parser's and an evaluator's work in one process, per record
#      (trailguard-bench-decode, trailguard-bench-evaluator).
#
# BENCH_RECORDS (default 1000000), BENCH_OUT (default bench/out), and
# BENCH_CONFIG: a trailguard config file for the run (default
# bench/bench.yaml: group commit in the notifier; see that file).
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
BENCH_CONFIG=${BENCH_CONFIG:-$here/bench/bench.yaml}
out=${BENCH_OUT:-$here/bench/out}
records=${BENCH_RECORDS:-1000000}
corpus=$out/corpus-$records
tg=$build/cli/trailguard
mkdir -p "$out"

if [ ! -f "$corpus/files.txt" ]; then
    echo "bench: generating $records records in $corpus" >&2
    python3 "$here/bench/gen_corpus.py" --out "$corpus" --records "$records" --jobs 2 >&2
fi
files=$(cut -f1 "$corpus/files.txt" | sed "s|^|$corpus/|")
nfiles=$(wc -l < "$corpus/files.txt")
bytes=$(cat $files | wc -c)

now() { date +%s.%N; }
rate() { python3 -c "import sys; print(f'{int(sys.argv[1])/(float(sys.argv[3])-float(sys.argv[2])):.0f}')" "$@"; }

echo "bench: machine: $(nproc) CPUs, $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)"
echo "bench: load at start: $(uptime | sed 's/.*load average: //')"
echo "bench: corpus: $records records, $nfiles files, $bytes bytes gzipped"

t0=$(now)
for f in $files; do zcat "$f"; done \
  | jq -c '.Records[] | select(.eventName=="CreateUser" or .eventName=="DeleteTrail" or .eventName=="StopLogging")' > "$out/jq.out"
t1=$(now)
jq_rate=$(rate "$records" "$t0" "$t1")
echo "bench: baseline zcat|jq: $jq_rate records/s ($(wc -l < "$out/jq.out") matches)"

t0=$(now)
taskset -c 0 sh -c 'for f in "$@"; do libdeflate-gunzip -c "$f"; done > /dev/null' sh $files
t1=$(now)
gz_rate=$(rate "$records" "$t0" "$t1")
echo "bench: baseline libdeflate-gunzip, one core: $gz_rate records/s"

rm -f "$out/alerts.jsonl"
t0=$(now)
"$tg" run ${BENCH_CONFIG:+-c "$BENCH_CONFIG"} --evaluators "$(nproc)" -r "$here/rules" \
    -o "file:$out/alerts.jsonl" "$corpus/AWSLogs" 2> "$out/run.log" &
sup=$!
python3 "$here/bench/sample_procs.py" "$sup" "$records" > "$out/procs.txt"
wait "$sup" || { echo "bench: trailguard run failed; see $out/run.log" >&2; exit 1; }
t1=$(now)
tg_rate=$(rate "$records" "$t0" "$t1")
alerts=$(wc -l < "$out/alerts.jsonl")
python3 - "$tg_rate" "$jq_rate" "$gz_rate" "$alerts" <<'PY'
import sys
tg, jq, gz, alerts = (float(x) for x in sys.argv[1:5])
print(f"bench: trailguard run: {tg:.0f} records/s end to end, {alerts:.0f} alerts")
print(f"bench: vs zcat|jq: {tg / jq:.1f}x faster (target >= 8x)")
print(f"bench: vs libdeflate-gunzip floor: {gz / tg:.2f}x the one-core decompression time (target <= 2.5x)")
print(f"bench: target 400000 records/s: {'met' if tg >= 400000 else 'NOT met'}")
PY
cat "$out/procs.txt"
echo "bench: load at end: $(uptime | sed 's/.*load average: //')"
"$build/bench/trailguard-bench-engine" --rules "$here/rules" \
    --upstream "${SHARED_DIR:-$here/../shared}/falco/aws_cloudtrail_rules.yaml" \
    $(printf '%s\n' $files | head -n 100) || true
# The stages' own work in one process, without ZeroMQ (same 100 files):
# what the parser does per record (gunzip, parse + pack, frame) and what an
# evaluator does (decode the frame, match, render alerts).
"$build/bench/trailguard-bench-decode" --passes 3 $(printf '%s\n' $files | head -n 100) || true
"$build/bench/trailguard-bench-evaluator" --passes 3 --rules "$here/rules" \
    $(printf '%s\n' $files | head -n 100) || true
