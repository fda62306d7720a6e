#!/usr/bin/env bash
# The whole test suite on a fresh machine: Debian test servers where missing, npm packages, a build
# (the CLI tests run the compiled gateway), then Jest. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-test-deps.sh
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build --silent

mkdir -p .tmp
results=.tmp/jest-results.json
rm -f "$results"
set +e
# --forceExit: a library timer left behind (matrix-js-sdk keeps request timers alive) must not hold CI
# until its time limit; every test stops the servers and processes it started itself.
npx jest --runInBand --forceExit --json --outputFile="$results" "$@"
status=$?
set -e
# One plain closing line that any CI reader understands.
if [ -f "$results" ]; then
  node -e '
    const r = require(process.argv[1]);
    const skipped = r.numPendingTests + r.numTodoTests;
    console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
    if (r.numTotalTests === 0) { console.error("no test ran"); process.exit(1); }
  ' "$PWD/$results" || status=1
fi
exit $status
