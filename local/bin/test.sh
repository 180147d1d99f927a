#!/usr/bin/env bash
# npm test: installs what is missing, type-checks, lints (imports one-way, short functions), checks the formatting,
# then runs the whole jest suite.
# Jest's machine-readable result goes to test-results/jest.json (read by .ci/run).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash local/bin/ensure-deps.sh
npx tsc --noEmit -p .
npx eslint .
npx prettier --check --log-level warn .
mkdir -p test-results
exec npx jest --json --outputFile=test-results/jest.json "$@"
