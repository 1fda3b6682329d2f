#!/bin/sh
# Run every test suite in the normal build, then again in the ASan+UBSan
# build, and print one closing "N passed, M failed, K skipped" line.
set -u
build=${1:-build}
asan=${2:-build-asan}
logdir=${TMPDIR:-/tmp}/trailguard-test-logs.$$
mkdir -p "$logdir"

status=0
run_suite_set() {
    dir=$1; shift
    echo "=== meson test -C $dir $*"
    meson test -C "$dir" --print-errorlogs "$@" 2>&1 | tee "$logdir/$(basename "$dir").log"
    rc=$?
    # tee hides meson's status; recover it from the log's summary.
    if grep -qE '^(Fail|Unexpected Pass|Timeout): +[1-9]' "$logdir/$(basename "$dir").log"; then
        status=1
    fi
    return $rc
}

run_suite_set "$build" --num-processes 2
# Sanitizer run: slow timing-heavy suites get more time.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_suite_set "$asan" --num-processes 2 --timeout-multiplier 3

pass=0; fail=0; skip=0
for f in "$logdir"/*.log; do
    p=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$f" | tail -1)
    e=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$f" | tail -1)
    t=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$f" | tail -1)
    s=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$f" | tail -1)
    pass=$((pass + ${p:-0})); fail=$((fail + ${e:-0} + ${t:-0})); skip=$((skip + ${s:-0}))
done
[ "$fail" -gt 0 ] && status=1
echo "tests: $pass passed, $fail failed, $skip skipped"
rm -rf "$logdir"
exit $status
