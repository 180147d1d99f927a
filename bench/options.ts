// The bench's command line (node:util parseArgs) and the scenario ids it knows.
import { parseArgs } from 'node:util';

/** Every scenario, in the order a full run measures them. */
export const SCENARIO_IDS = [
  'first-seconds',
  'runtime',
  'weather-hit',
  'user-get',
  'health',
  'token',
  'cold-burst',
  'memory',
  'cores',
  'replicas',
  'cold-starts',
] as const;
export type ScenarioId = (typeof SCENARIO_IDS)[number];

export interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  baseline: boolean;
  url?: string;
  standInUrl?: string;
  profile: boolean;
  /** scenarios to run, in SCENARIO_IDS order */
  scenarios: ScenarioId[];
  /** a smoke run: short loads, short memory run, no replica stacks beyond one extra */
  quick: boolean;
  /** keep the throw-away dir (logs, Postgres data) for a look afterwards */
  keep: boolean;
  /** NODE_OPTIONS for the stack's node services (heap flags and the like, to measure their effect) */
  nodeOptions?: string;
  offlineMode: 'in-process' | 'worker-threads';
  /** seconds of GET /user/{id} load in the memory scenario, and seconds of rest after it */
  memoryLoadSeconds: number;
  memoryRestSeconds: number;
}

export const USAGE = `npm run bench [-- options]
  --quick                 smoke run (short loads; about 4 minutes)
  --duration S --warmup S --connections N   each load scenario (default 10, 2, 32)
  --only a,b  --skip a,b  scenarios: ${SCENARIO_IDS.join(', ')}
  --no-baseline           no direct fastify baseline
  --url URL [--standin-url URL]   measure a running stack instead of starting one
  --profile               CPU profiles of the stack's services under weather-hit and user-get (bench/results/profile.md)
  --offline-mode in-process|worker-threads   --node-options='--flag ...' (with =)   --keep
  --memory-load S --memory-rest S           the memory scenario (default 120 and 60; --quick 20 and 10)`;

const OPTIONS = {
  help: { type: 'boolean' },
  quick: { type: 'boolean' },
  duration: { type: 'string' },
  warmup: { type: 'string' },
  connections: { type: 'string' },
  only: { type: 'string' },
  skip: { type: 'string' },
  'no-baseline': { type: 'boolean' },
  'no-cold': { type: 'boolean' },
  url: { type: 'string' },
  'standin-url': { type: 'string' },
  profile: { type: 'boolean' },
  'offline-mode': { type: 'string' },
  'node-options': { type: 'string' },
  keep: { type: 'boolean' },
  'memory-load': { type: 'string' },
  'memory-rest': { type: 'string' },
} as const;

function number(raw: string | undefined, name: string, fallback: number, min: number): number {
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

function scenarioList(raw: string | undefined, name: string): ScenarioId[] | undefined {
  if (raw === undefined) return undefined;
  const ids = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = ids.filter((id) => !(SCENARIO_IDS as readonly string[]).includes(id));
  if (unknown.length) throw new Error(`--${name}: unknown scenario ${unknown.join(', ')} (known: ${SCENARIO_IDS.join(', ')})`);
  return ids as ScenarioId[];
}

/** Throws with a message for the user on anything it cannot use; returns undefined for --help. */
export function parseOptions(argv: string[]): Options | undefined {
  const { values: v } = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: false });
  if (v.help) return undefined;
  const mode = v['offline-mode'] ?? 'in-process';
  if (mode !== 'in-process' && mode !== 'worker-threads') throw new Error('--offline-mode must be in-process or worker-threads');
  const url = v.url?.replace(/\/+$/, '');
  if (url && (mode !== 'in-process' || v.profile)) throw new Error('--offline-mode and --profile need a stack the bench starts itself (no --url)');
  const quick = v.quick === true;
  const only = scenarioList(v.only, 'only');
  const skip = new Set(scenarioList(v.skip, 'skip') ?? []);
  if (v['no-cold']) skip.add('cold-burst').add('cold-starts');
  const profileSet: ScenarioId[] = ['weather-hit', 'user-get'];
  const wanted = only ?? (v.profile ? profileSet : [...SCENARIO_IDS]);
  return {
    durationSeconds: number(v.duration, 'duration', quick ? 3 : 10, 1),
    warmupSeconds: number(v.warmup, 'warmup', quick ? 1 : 2, 0),
    connections: number(v.connections, 'connections', 32, 1),
    baseline: !v['no-baseline'],
    url,
    standInUrl: v['standin-url']?.replace(/\/+$/, ''),
    profile: v.profile === true,
    scenarios: SCENARIO_IDS.filter((id) => wanted.includes(id) && !skip.has(id)),
    quick,
    keep: v.keep === true,
    nodeOptions: v['node-options'],
    offlineMode: mode,
    memoryLoadSeconds: number(v['memory-load'], 'memory-load', quick ? 20 : 120, 1),
    memoryRestSeconds: number(v['memory-rest'], 'memory-rest', quick ? 10 : 60, 0),
  };
}
