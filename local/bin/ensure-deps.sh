#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: npm dependencies, and Debian's haproxy.
# Run by local/bin/start.sh, local/bin/test.sh and `npm run test:chaos`; safe to run again (it only installs what is missing).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

if [ ! -d "$root/node_modules" ] || [ "$root/package-lock.json" -nt "$root/node_modules/.package-lock.json" ]; then
  echo "installing npm dependencies..."
  (cd "$root" && npm ci --no-audit --no-fund --loglevel=error)
fi

if ! command -v haproxy >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "haproxy is not installed: install it with 'sudo apt-get install -y haproxy' and run this again" >&2
    exit 1
  fi
  echo "installing haproxy (apt)..."
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >/dev/null 2>&1 || {
    $sudo apt-get update -q >/dev/null && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q haproxy >/dev/null
  }
fi
