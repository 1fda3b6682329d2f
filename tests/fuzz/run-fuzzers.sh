#!/bin/sh
# run-fuzzers.sh - build the libFuzzer variant of trailguard in a scratch
# build directory and run every fuzz target for N seconds, one after the
# other (one fuzzer process at a time), then print executions and findings
# per target.  Exit status: 0 when every target ran with no finding, 1 when
# something was found, 2 on usage or build errors.
#
#   tests/fuzz/run-fuzzers.sh [-t SECONDS] [-b BUILDDIR] [TARGET...]
#
#   -t SECONDS   time per target (default 600: the "each target runs at
#                least 10 minutes with no finding" criterion)
#   -b BUILDDIR  scratch build dir (default build-fuzzrun in the source
#                root); configured with clang, -Dfuzz=true, ASan+UBSan and
#                coverage instrumentation of the libraries
#   TARGET       run only these (names below); default: all that build
#
# Each target's new corpus, logs and crash artifacts go to
# BUILDDIR/fuzz-work/TARGET/ (the checked-in seeds are never written to).
# Needs clang with libFuzzer (Debian: clang-14, libclang-rt-14-dev).
# Owner: fuzzing (tests/fuzz/).  See docs/robustness.md.
set -eu

secs=600
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build-fuzzrun

while getopts t:b:h opt; do
    case $opt in
    t) secs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) sed -n '2,21p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
case $build in /*) ;; *) build=$(pwd)/$build ;; esac

# name | ninja target | seed dirs (space-separated, relative to root) | dict
targets() {
    cat <<'EOF'
fuzz_condition|tests/fuzz/rules/fuzz_condition|tests/fuzz/rules/corpus_condition|tests/fuzz/rules/condition.dict
fuzz_rules_yaml|tests/fuzz/rules/fuzz_rules_yaml|tests/fuzz/rules/corpus_yaml|tests/fuzz/rules/rules_yaml.dict
fuzz_http_request|tests/fuzz/http/fuzz_http_request|tests/fuzz/http/corpus|tests/fuzz/http/http.dict
fuzz_sns|tests/fuzz/sns/fuzz_sns|tests/fuzz/sns/corpus|tests/fuzz/sns/sns.dict
fuzz_msg|tests/fuzz/fuzz_msg|tests/fuzz/corpus/msg|
fuzz_json_msgpack|tests/fuzz/fuzz_json_msgpack|tests/fuzz/corpus/json|
EOF
}

# wanted NAME [FILTER...]: true when no filter is given or NAME is one
wanted() {
    name=$1
    shift
    [ $# -eq 0 ] && return 0
    for w in "$@"; do [ "$w" = "$name" ] && return 0; done
    return 1
}

setup() {
    [ -f "$build/build.ninja" ] && return 0
    CC=clang CXX=clang++ meson setup "$build" "$root" -Dfuzz=true \
        -Db_sanitize=address,undefined -Db_lundef=false \
        -Dc_args=-fsanitize=fuzzer-no-link -Dcpp_args=-fsanitize=fuzzer-no-link \
        >"$build.setup.log" 2>&1 || {
        echo "meson setup failed, see $build.setup.log" >&2
        exit 2
    }
}

# final_stat NAME LOG: the value of libFuzzer's final "stat::NAME: N" line
final_stat() {
    sed -n "s/^stat::$1: *//p" "$2" | tail -n 1
}

# run NAME BINARY SEEDS DICT: one fuzzing session; prints one result line
run() {
    name=$1 bin=$2 seeds=$3 dict=$4
    work=$build/fuzz-work/$name
    mkdir -p "$work/corpus" "$work/artifacts"
    set --
    for s in $seeds; do [ -d "$root/$s" ] && set -- "$@" "$root/$s"; done
    [ -n "$dict" ] && [ -f "$root/$dict" ] && set -- "$@" "-dict=$root/$dict"
    before=$(find "$work/artifacts" -type f | wc -l)
    (cd "$work" && "$bin" corpus "$@" -max_total_time="$secs" \
        -max_len=65536 -rss_limit_mb=2048 -timeout=30 -jobs=1 -workers=1 \
        -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        >run.log 2>&1) || true
    log=$work/fuzz-0.log
    execs=$(final_stat number_of_executed_units "$log")
    rate=$(final_stat average_exec_per_sec "$log")
    cov=$(sed -n 's/.* cov: \([0-9]*\) .*/\1/p' "$log" | tail -n 1)
    after=$(find "$work/artifacts" -type f | wc -l)
    found=$((after - before))
    printf '%-20s %6ss %12s %8s %7s %9s  %s\n' "$name" "$secs" "${execs:-?}" \
        "${rate:-?}" "${cov:-?}" "$found" "$work"
    if [ "$found" -gt 0 ] || [ -z "$execs" ]; then
        find "$work/artifacts" -type f | sed 's/^/    artifact: /'
        grep -m 3 -E '^==[0-9]+==ERROR|^SUMMARY|deadly signal|out-of-memory' "$log" \
            | sed 's/^/    /' || true
        return 1
    fi
    return 0
}

setup
status=0
results=$build/fuzz-results.txt
mkdir -p "$build/fuzz-work"
rm -f "$build/fuzz-work/.failed"
printf '%-20s %7s %12s %8s %7s %9s  %s\n' target time executions exec/s cov findings workdir \
    >"$results"
targets | while IFS='|' read -r name tgt seeds dict; do
    wanted "$name" "$@" || continue
    if ! ninja -C "$build" -j2 "$tgt" >"$build/fuzz-work/$name.build.log" 2>&1; then
        printf '%-20s not built (see %s)\n' "$name" "$build/fuzz-work/$name.build.log" \
            >>"$results"
        continue
    fi
    run "$name" "$build/$tgt" "$seeds" "$dict" >>"$results" || echo fail >"$build/fuzz-work/.failed"
done
cat "$results"
if [ -f "$build/fuzz-work/.failed" ]; then
    rm -f "$build/fuzz-work/.failed"
    status=1
fi
exit $status
