#!/bin/sh
# bench/latency.sh - end-to-end alert latency of the whole pipeline
# (`trailguard run`): from an SNS notification arriving at the fetcher (or,
# in s3 mode, the object appearing in the bucket) to the alert being
# written to the output file; p50/p90/p99 over LAT_REPS repetitions of a
# LAT_SIZE-byte (gzip) CloudTrail file whose last record is the only alert.
#
#   bench/latency.sh [BUILD_DIR] [OUT_DIR]     (defaults: build, /tmp/tg-latency)
#   LAT_MODE=sns|s3  LAT_REPS=50  LAT_SIZE=1048576  LAT_POLL=1s (s3 mode)
#
# Loopback only (tests/peers/aws_peer.js, openssl CLI).  Driver:
# tests/robust/drive.py; raw samples in OUT_DIR/latency.json.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
out=${2:-/tmp/tg-latency}
echo "latency: $(date -u +%FT%TZ) build=$build out=$out"
echo "load before: $(uptime)"
python3 "$here/tests/robust/drive.py" latency --bin "$build" --out "$out" \
    --mode "${LAT_MODE:-sns}" --reps "${LAT_REPS:-50}" --size "${LAT_SIZE:-1048576}" \
    --poll "${LAT_POLL:-1s}"
rc=$?
echo "load after: $(uptime)"
exit $rc
