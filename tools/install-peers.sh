#!/bin/sh
# Install the npm test peers (S3/SQS emulators, AWS's own SigV4 verifier,
# SNS validator) from their lock files.  Nothing is fetched at build time;
# only the tests use these.
set -eu
for dir in tests/peers tests/notifier/peers; do
    [ -f "$dir/package-lock.json" ] || continue
    if [ -d "$dir/node_modules" ] && [ "$dir/node_modules/.package-lock.json" -nt "$dir/package-lock.json" ]; then
        continue
    fi
    echo "npm ci --prefix $dir"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
done
