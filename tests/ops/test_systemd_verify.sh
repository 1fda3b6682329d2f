#!/bin/sh
# systemd-analyze verify over the unit set in deploy/systemd, against the
# binaries installed into a temporary DESTDIR (meson install --destdir):
# ExecStart paths are rewritten into that root, and any output from
# systemd-analyze is a failure.  Then the generator runs into a scratch
# directory and its output (wants symlinks, per-instance drop-ins with
# distinct metrics ports) is checked and verified the same way.
set -u
SKIP=77
src=${TG_SOURCE_ROOT:-}
build=${TG_BUILD_ROOT:-}
bindir=${TG_BINDIR:-/usr/local/bin}
if [ -z "$src" ] || [ -z "$build" ]; then
    echo "SKIP: TG_SOURCE_ROOT / TG_BUILD_ROOT not set (run through meson test)"
    exit $SKIP
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze not installed"
    exit $SKIP
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tgops-sd.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0
failmsg() { echo "FAIL: $*"; fail=1; }

dest=$tmp/root
if ! meson install -C "$build" --destdir "$dest" --no-rebuild --tags runtime \
        >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "FAIL: meson install --destdir failed"
    exit 1
fi
for d in fetcher parser evaluator notifier; do
    [ -x "$dest$bindir/trailguard-$d" ] ||
        failmsg "trailguard-$d not installed in $dest$bindir"
done

# Units: the installed copies when the build installs them, else the tree.
units=$src/deploy/systemd
for cand in "$dest/usr/lib/systemd/system" "$dest/lib/systemd/system" \
            "$dest${bindir%/bin}/lib/systemd/system"; do
    if [ -f "$cand/trailguard-fetcher.service" ]; then
        units=$cand
        break
    fi
done
echo "units from $units, binaries from $dest$bindir"
u=$tmp/units
mkdir -p "$u"
for f in "$units"/*.service "$units"/*.target; do
    sed -e "s|/usr/bin/|$dest$bindir/|g" "$f" > "$u/$(basename "$f")"
done

# systemd-analyze prints nothing when every unit is fine.
verify() {
    vd=$1
    shift
    out=$(cd "$vd" && SYSTEMD_LOG_LEVEL=warning systemd-analyze verify "$@" 2>&1)
    rc=$?
    if [ -n "$out" ] || [ $rc -ne 0 ]; then
        echo "$out"
        failmsg "systemd-analyze verify $* (rc=$rc) printed the lines above"
    fi
}
verify "$u" trailguard-fetcher.service trailguard-notifier.service \
    trailguard-parser@1.service trailguard-parser@2.service \
    trailguard-evaluator@1.service trailguard-evaluator@3.service \
    trailguard.target

# The generator: 3 evaluators and 2 parsers from an env file.
gen=$src/deploy/systemd/trailguard-generator
g=$tmp/gen
mkdir -p "$g"
printf 'AWS_REGION=us-east-1\nTRAILGUARD_EVALUATORS=3\nTRAILGUARD_PARSERS=2\n' \
    > "$tmp/trailguard.env"
if TRAILGUARD_ENV_FILE=$tmp/trailguard.env TRAILGUARD_UNIT_DIR=$u \
        sh "$gen" "$g" > "$tmp/gen.log" 2>&1; then
    for i in 1 2 3; do
        l=$g/trailguard.target.wants/trailguard-evaluator@$i.service
        [ -L "$l" ] || failmsg "generator: no $l"
        grep -qx "Environment=TRAILGUARD_EVALUATOR_METRICS_PORT=$((9200 + i))" \
            "$g/trailguard-evaluator@$i.service.d/50-instance.conf" 2>/dev/null ||
            failmsg "generator: evaluator@$i has no metrics port $((9200 + i))"
    done
    [ -e "$g/trailguard.target.wants/trailguard-evaluator@4.service" ] &&
        failmsg "generator: 4 evaluators for TRAILGUARD_EVALUATORS=3"
    [ -L "$g/trailguard.target.wants/trailguard-parser@2.service" ] ||
        failmsg "generator: no parser@2 for TRAILGUARD_PARSERS=2"
    grep -qx "Environment=TRAILGUARD_EVALUATOR_CONNECT=ipc:///run/trailguard/batches-1,ipc:///run/trailguard/batches-2" \
        "$g/trailguard-evaluator@.service.d/50-parsers.conf" 2>/dev/null ||
        failmsg "generator: evaluators do not connect to both parsers"
    # The units with the generated drop-ins next to them verify cleanly.
    cp -R "$g"/*.d "$u"/
    verify "$u" trailguard-evaluator@2.service trailguard-parser@2.service
else
    cat "$tmp/gen.log"
    failmsg "the generator failed"
fi

# Number of evaluator instances the generator made in $1.
nevals() {
    c=0
    for l in "$1"/trailguard.target.wants/trailguard-evaluator@*.service; do
        [ -L "$l" ] && c=$((c + 1))
    done
    echo "$c"
}

# Default count: one evaluator per CPU, without an env file.
g2=$tmp/gen2
mkdir -p "$g2"
TRAILGUARD_ENV_FILE=$tmp/none TRAILGUARD_NPROC=2 sh "$gen" "$g2" >/dev/null 2>&1 ||
    failmsg "the generator failed without an env file"
n=$(nevals "$g2")
[ "$n" = 2 ] || failmsg "generator: $n evaluators for 2 CPUs, expected 2"
[ -L "$g2/trailguard.target.wants/trailguard-parser@2.service" ] ||
    failmsg "generator: no parser@2 for 2 CPUs (default: one per CPU)"
[ -e "$g2/trailguard.target.wants/trailguard-parser@3.service" ] &&
    failmsg "generator: 3 parsers for 2 CPUs"

# TRAILGUARD_EVALUATORS=0: a host without evaluators.
g3=$tmp/gen3
mkdir -p "$g3"
printf 'TRAILGUARD_EVALUATORS=0\n' > "$tmp/zero.env"
TRAILGUARD_ENV_FILE=$tmp/zero.env TRAILGUARD_NPROC=4 sh "$gen" "$g3" >/dev/null 2>&1 ||
    failmsg "the generator failed with TRAILGUARD_EVALUATORS=0"
n=$(nevals "$g3")
[ "$n" = 0 ] || failmsg "generator: $n evaluators for TRAILGUARD_EVALUATORS=0"

if [ $fail -ne 0 ]; then
    exit 1
fi
echo "ok: systemd units verify cleanly"
exit 0
