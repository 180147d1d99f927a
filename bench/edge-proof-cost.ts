// What the edge proof costs a backend instance per request (docs/security.md): a stack of its own with two backend
// replicas, one requiring the proof (EDGE_PROOF_SECRET set) and one not (unset: it reads the connection's address),
// loaded together through HAProxy, so both see the same machine at the same moment. The roles swap every round
// (each swap restarts both), so neither instance's own luck decides; CPU per request is each instance's utime +
// stime over the requests HAProxy's stats say it answered (bench/cpu-meter.ts).
//
//   npx tsx bench/edge-proof-cost.ts [--rounds 12] [--seconds 8] [--connections 32] [--path /health-check]
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { serverStates } from '../local/services/haproxy-stats';
import { startStack, type Stack } from '../local/stack';
import { CpuMeter } from './cpu-meter';
import { runLoad } from './requests';

const BACKENDS = ['app-backend-1', 'app-backend-2'] as const;
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const say = (message: string) => process.stdout.write(`${message}\n`);

/** Restarts the backends so that `checking` requires the proof `proof` and the other asks for none. */
async function assign(stack: Stack, checking: string, proof: string) {
  for (const name of BACKENDS) await stack.restart(name, { EDGE_PROOF_SECRET: name === checking ? proof : '' });
}

/** Resolves once HAProxy has both backends UP. */
async function bothUp(stack: Stack) {
  for (let i = 0; i < 100; i++) {
    const states = await serverStates(stack.urls.stats, 'app_backend', stack.statsLogin).catch(() => ({}) as Record<string, string>);
    if (BACKENDS.every((name) => states[name] === 'UP')) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('the backends did not come back UP');
}

async function main() {
  const { values } = parseArgs({
    options: {
      rounds: { type: 'string', default: '12' },
      seconds: { type: 'string', default: '8' },
      connections: { type: 'string', default: '32' },
      path: { type: 'string', default: '/health-check' },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'edge-proof-cost-'));
  const stack = await startStack({
    stateDir: join(dir, 'state'),
    logDir: join(dir, 'logs'),
    tag: `edge-proof-cost-${process.pid}`,
    env: { PORT: '0', STATS_PORT: '0', WEATHER_HTTP_PORT: '0', BACKEND_REPLICAS: '2', WEATHER_REPLICAS: '1' },
  });
  try {
    // A proof this script knows: the instances first, then HAProxy (it is ready once a backend answers it 200).
    const proof = randomBytes(32).toString('base64url');
    await assign(stack, BACKENDS[0], proof);
    await stack.restart('weather-service-1', { EDGE_PROOF_SECRET: proof });
    await stack.restart('haproxy', { EDGE_PROOF_SECRET: proof });
    const rounds: { checked: number; unchecked: number }[] = [];
    for (let r = 0; r < Number(values.rounds); r++) {
      const checking = BACKENDS[r % 2];
      if (r > 0) await assign(stack, checking, proof);
      await bothUp(stack);
      const groups = Object.fromEntries(BACKENDS.map((name) => [name, { pid: stack.pids[name]! }]));
      const meter = new CpuMeter(groups, { url: stack.urls.stats, login: stack.statsLogin });
      const spec = {
        url: `${stack.urls.api}${values.path}`,
        connections: Number(values.connections),
        durationSeconds: Number(values.seconds),
        warmupSeconds: 3,
      };
      const load = await runLoad(spec, undefined, meter);
      const handled = meter.perRequest(load.requests)?.perHandled ?? {};
      const other = BACKENDS.find((name) => name !== checking)!;
      if (!handled[checking] || !handled[other]) throw new Error(`round ${r + 1}: no per-instance figures`);
      rounds.push({ checked: handled[checking].us, unchecked: handled[other].us });
      say(
        `round ${r + 1}: ${load.requestsPerSecond} req/s (${load.non2xx} non-2xx); with the check (${checking}) ${handled[checking].us} µs/request, ` +
          `without (${other}) ${handled[other].us} µs/request`,
      );
    }
    // Rounds in pairs (each instance once in each role): the mean of a pair's two differences cancels the instances' own gap.
    const pairs = Array.from({ length: rounds.length >> 1 }, (_, i) => rounds.slice(2 * i, 2 * i + 2)).map(
      ([a, b]) => (a.checked - a.unchecked + (b.checked - b.unchecked)) / 2,
    );
    say(
      `medians over ${rounds.length} rounds: with the check ${median(rounds.map((r) => r.checked)).toFixed(1)} µs/request, without ${median(rounds.map((r) => r.unchecked)).toFixed(1)} µs; ` +
        `the check's cost, median of ${pairs.length} pairs of rounds: ${median(pairs).toFixed(1)} µs (pairs from ${Math.min(...pairs).toFixed(1)} to ${Math.max(...pairs).toFixed(1)})`,
    );
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
