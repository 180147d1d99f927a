#!/usr/bin/env bash
# npm start: installs what is missing, then runs the whole stack in the foreground (Ctrl-C stops it).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
bash local/bin/ensure-deps.sh
# exec: no shell in between, so Ctrl-C and SIGTERM reach the runner, which stops everything in order.
exec node --import tsx local/bin/start.ts "$@"
