#!/bin/sh
# The shipped rule set validates with exit 0 and prints nothing but
# "FILE: Ok" lines: no errors and no warnings.
# usage: rules_validate_clean.sh TRAILGUARD RULES_DIR
set -u
tg=$1; dir=$2
out=$("$tg" rules validate "$dir"/*.yaml 2>&1); rc=$?
extra=$(printf '%s\n' "$out" | grep -v ': Ok$')
if [ $rc -ne 0 ] || [ -n "$extra" ]; then
    printf '%s\n' "$out"
    echo "FAIL: validate exit $rc, unexpected output above"
    exit 1
fi
echo "$(printf '%s\n' "$out" | wc -l) files Ok, no warnings"
