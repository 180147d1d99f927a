#!/usr/bin/env bash
# Does HAProxy's access log keep up, and what does it cost the runner? Starts this checkout's stack (or TREE's), loads
# an unknown path (HAProxy → backend → 404, one access line each) at 64 connections for 10 s twice, then prints per
# run: answers, lines logged for that path, the runner's CPU per request (/proc), and HAProxy's DroppedLogs (lines it
# could not write at once) from its runtime API. Used for docs/operations.md and docs/benchmarks.md (the log pipe).
#   bash bench/scripts/haproxy-log-check.sh [TREE]
set -u
tree=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
here=$(cd "$(dirname "$0")/../.." && pwd)
state=$(mktemp -d); port=$((20000 + RANDOM % 20000)); out=$(mktemp)
(cd "$tree" && exec env LOCAL_STATE_DIR="$state" PORT=$port STATS_PORT=$((port + 1)) WEATHER_HTTP_PORT=0 RATE_LIMIT_AUTH_REQUESTS=1000000 node --import tsx local/bin/start.ts) >"$out" 2>&1 &
pid=$!
# healthy as the runner says it (after its warm-up), not as soon as HAProxy answers
for _ in $(seq 1 240); do grep -q "up and healthy" "$out" && break; sleep 1; done
sleep 5
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
dropped() { node -e "const s=require('net').connect('$state/haproxy.sock');let d='';s.on('data',c=>d+=c).on('end',()=>console.log((d.match(/DroppedLogs: (\d+)/)||[])[1]));s.write('show info\n')"; }
for path in /log-check-a /log-check-b; do
  count() { cat "$tree"/local/logs/haproxy.log* 2>/dev/null | grep -c "\\\\$path\""; }
  a=$(cpu); d0=$(dropped); l0=$(count)
  n=$(cd "$here" && npx autocannon -c 64 -d 10 -j "http://127.0.0.1:$port$path" 2>/dev/null | node -pe 'JSON.parse(require("fs").readFileSync(0)).requests.total')
  sleep 1; b=$(cpu); d1=$(dropped)
  logged=$(($(count) - l0))
  echo "$path: answers $n, logged $logged, runner $(((b - a) * 10)) ms = $(((b - a) * 10000000 / n / 1000)) µs per request, DroppedLogs +$((d1 - d0))"
done
kill -INT $pid; wait $pid
rm -rf "$state" "$out"
