#!/usr/bin/env bash
# Interleaved A/B of two checkouts through the stack: for each tree in turn (give them alternated, e.g. OLD NEW OLD NEW),
# start its stack, load it once unmeasured (both trees warm, whatever their own warm-up), then run this checkout's
# bench against it (--url: CPU per request of every process, from /proc) and print the CPU table; stop it by its pid.
#   git worktree add /tmp/old <commit> && ln -s "$PWD/node_modules" /tmp/old/node_modules
#   bash bench/scripts/ab-trees.sh /tmp/old "$PWD" /tmp/old "$PWD"
# ONLY (scenarios, default weather-hit,user-get,health) and DUR (seconds, default 8) choose the runs.
set -u
here=$(cd "$(dirname "$0")/../.." && pwd)
export RATE_LIMIT_AUTH_REQUESTS=1000000 RATE_LIMIT_AUTH_WINDOW_SECONDS=10 RATE_LIMIT_WEATHER_REQUESTS=1000000 RATE_LIMIT_WEATHER_WINDOW_SECONDS=10
export RATE_LIMIT_WEATHER_SERVICE_REQUESTS=1000000 OPENWEATHER_CALLS_PER_MINUTE=10000 WEATHER_MISSES_PER_USER_PER_MINUTE=10000 WEATHER_MISSES_PER_ADDRESS_PER_MINUTE=10000 LOGIN_THROTTLE_FAILURES=1000000
ONLY=${ONLY:-weather-hit,user-get,health}; DUR=${DUR:-8}
bench() { (cd "$here" && LOCAL_STATE_DIR=$1 timeout 600 npx tsx bench/run.ts --url "$2" --only "$3" --no-baseline --duration "$4"); }
newest() { ls -t "$here"/bench/results/2*.md 2>/dev/null | head -1; }
for tree in "$@"; do
  state=$(mktemp -d); logs=$(mktemp -d); port=$((20000 + RANDOM % 20000))
  entry=local/bin/start.ts; [ -f "$tree/$entry" ] || entry=local/start.ts
  (cd "$tree" && exec env LOCAL_STATE_DIR="$state" PORT=$port STATS_PORT=$((port + 1)) WEATHER_HTTP_PORT=0 node --import tsx $entry) >"$logs/runner.out" 2>&1 &
  pid=$!
  for _ in $(seq 1 240); do grep -q "up and healthy" "$logs/runner.out" && break; curl -sf -o /dev/null "http://127.0.0.1:$port/health-check" && [ ! -f "$tree/local/warm-up.ts" ] && break; sleep 1; done
  before=$(newest)
  bench "$state" "http://127.0.0.1:$port" weather-hit,user-get 5 >/dev/null 2>&1
  bench "$state" "http://127.0.0.1:$port" "$ONLY" "$DUR" >"$logs/bench.out" 2>&1
  report=$(newest)
  echo "=== $tree $(date +%T), load average $(cut -d' ' -f1 /proc/loadavg)"
  if [ -n "$report" ] && [ "$report" != "$before" ]; then sed -n '/^| scenario | path | req\/s | answers/,/^$/p' "$report"; else echo "no report: $logs/bench.out"; fi
  kill -INT $pid; wait $pid
  rm -rf "$state"
done
