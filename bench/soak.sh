#!/bin/sh
# bench/soak.sh - 30-minute soak of the whole pipeline (`trailguard run`) fed
# at a fixed rate, with the RSS of every daemon sampled every few seconds.
#
#   bench/soak.sh [BUILD_DIR] [OUT_DIR]        (defaults: build, /tmp/tg-soak)
#   SOAK_MODE=sns|s3  SOAK_MINUTES=30  SOAK_EVERY=2  SOAK_RECORDS=1000  SOAK_SAMPLE=5
#
# sns (default): every SOAK_EVERY seconds one CloudTrail object of
# SOAK_RECORDS records is put into a loopback s3rver and a signed SNS
# notification naming it is POSTed to the fetcher's SNS endpoint.
# s3: the same objects, found by S3 polling (fetcher.aws.poll_interval 1s).
# Loopback only (tests/peers/aws_peer.js, openssl CLI).  Writes OUT_DIR/rss.csv
# (t_s,daemon,pid,rss_kb), OUT_DIR/summary.json and prints warm-up (median of
# minutes 3-5) and end (median of the last minute) RSS per daemon.
# The driver is tests/robust/drive.py.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$here/build}" && pwd)
out=${2:-/tmp/tg-soak}
echo "soak: $(date -u +%FT%TZ) build=$build out=$out"
echo "load before: $(uptime)"
python3 "$here/tests/robust/drive.py" soak --bin "$build" --out "$out" \
    --mode "${SOAK_MODE:-sns}" --minutes "${SOAK_MINUTES:-30}" --every "${SOAK_EVERY:-2}" \
    --records-per-file "${SOAK_RECORDS:-1000}" --sample "${SOAK_SAMPLE:-5}"
rc=$?
echo "load after: $(uptime)"
exit $rc
