#!/bin/sh
# make demo: run the whole pipeline (fetcher, parser, two evaluators,
# notifier, supervised by `trailguard run`) over the bundled sample logs with
# the bundled rules, and print the alerts as Falco JSON lines.
set -eu
build=${1:-build}
here=$(cd "$(dirname "$0")/.." && pwd)
tg="$build/cli/trailguard"
echo "== trailguard run --evaluators 2 -r rules/ examples/logs/" >&2
"$tg" run --evaluators 2 -r "$here/rules" "$here/examples/logs"
