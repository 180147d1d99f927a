// Runs the load scenarios (weather hit, /user, health, /token) through the stack and directly, in one pass, each
// with the CPU per request of every process on its path.
import type { StatsEndpoint } from '../../local/services/haproxy-stats';
import { say } from '../context';
import type { CpuGroups } from '../cpu';
import { CpuMeter, RUNNER } from '../cpu-meter';
import type { LoadResult, LoadSpec } from '../load';
import { runLoad } from '../requests';
import type { CpuPerRequest } from '../results';
import { health } from './health';
import { loadSettings, type LoadScenario, type Run } from './scenario';
import { bcryptCeiling, token, TOKEN_CONNECTIONS } from './token';
import { userGet } from './user-get';
import { weatherHit } from './weather-hit';

export const LOAD_SCENARIOS: LoadScenario[] = [weatherHit, userGet, health, token];

const line = (r: LoadResult) => `${r.requestsPerSecond} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, errors ${r.errors}`;
const cpuLine = (c: CpuPerRequest | undefined) =>
  c
    ? `  CPU per answer: ${c.totalUs} µs (${Object.entries(c.usPerAnswer)
        .map(([name, us]) => `${name} ${us}`)
        .join(', ')}; ±${c.resolutionUs} per process)`
    : '  CPU per answer: not measured';

const tree = (pid: number) => ({ pid });

/** The processes a request through the stack meets: every service's tree, and the runner relaying their log lines. */
export function stackGroups(run: Run): CpuGroups | undefined {
  const { pids, runnerPid } = run.target;
  if (!Object.keys(pids).length) return undefined;
  const groups: CpuGroups = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, tree(pid)]));
  if (runnerPid) groups[RUNNER] = { pid: runnerPid, only: 'process' };
  return groups;
}

/** The direct path: both plain fastify processes, the database and the stand-in they share, and the bench relaying their logs. */
function directGroups(run: Run): CpuGroups | undefined {
  if (!run.direct) return undefined;
  const shared = Object.entries(run.target.pids).filter(([name]) => name === 'postgres' || name === 'owm-standin');
  return {
    ...Object.fromEntries([...Object.entries(run.direct.pids), ...shared].map(([name, pid]) => [name, tree(pid)])),
    [RUNNER]: { pid: process.pid, only: 'process' },
  };
}

/** One load run, with the CPU per answer of `groups` over its measured part (after the warm-up). */
export async function measuredLoad(spec: LoadSpec, groups: CpuGroups | undefined, stats?: StatsEndpoint): Promise<{ result: LoadResult; cpu?: CpuPerRequest }> {
  const meter = groups && new CpuMeter(groups, stats);
  const result = await runLoad(spec, undefined, meter);
  const cpu = meter?.perRequest(result.requests);
  say(`  ${line(result)}`);
  say(cpuLine(cpu));
  return { result, cpu };
}

/** 503s of /token are the bcrypt queue's refusals (BCRYPT_QUEUE_MAX / BCRYPT_QUEUE_TIMEOUT_MS): reported, not hidden. */
function noteQueueRefusals(run: Run, path: string, result: LoadResult): void {
  const refused = result.statusCodes[503] ?? 0;
  if (refused) run.ctx.notes.push(`POST /token ${path}: ${refused} answers were 503 (the bcrypt queue was full or waited past BCRYPT_QUEUE_TIMEOUT_MS).`);
}

export async function runLoadScenario(run: Run, scenario: LoadScenario): Promise<void> {
  const settings = loadSettings(run);
  if (scenario.id === 'token') {
    settings.connections = Math.min(settings.connections, TOKEN_CONNECTIONS);
    // measured right before /token, so both see the machine in the same state
    say('bcrypt ceiling...');
    run.report.bcrypt = await bcryptCeiling(Math.min(5, Math.max(3, run.ctx.options.durationSeconds / 2)));
    say(`  ${run.report.bcrypt.comparesPerSecond} compares/s`);
  }
  say(`${scenario.title}: through the stack...`);
  const stack = await measuredLoad({ ...settings, ...scenario.spec(run.target.api, run.user) }, stackGroups(run), run.target.stats);
  const viaStack = stack.result;
  let direct: { result: LoadResult; cpu?: CpuPerRequest } | undefined;
  if (run.direct) {
    say(`${scenario.title}: direct...`);
    direct = await measuredLoad({ ...settings, ...scenario.spec(run.direct.backend, run.user) }, directGroups(run));
  }
  const viaDirect = direct?.result;
  if (scenario.id === 'token') {
    noteQueueRefusals(run, 'through the stack', viaStack);
    if (viaDirect) noteQueueRefusals(run, 'direct', viaDirect);
  }
  run.report.scenarios.push({ id: scenario.id, title: scenario.title, stack: viaStack, direct: viaDirect, stackCpu: stack.cpu, directCpu: direct?.cpu });
  if (scenario.id === 'weather-hit') {
    // latency at a fixed offered rate, below saturation (the p99 target is set at 400 req/s)
    const rate = 400;
    say(`${scenario.title}: through the stack at a fixed ${rate} req/s...`);
    const fixed = await measuredLoad({ ...settings, ...scenario.spec(run.target.api, run.user), overallRate: rate }, stackGroups(run), run.target.stats);
    run.report.fixedRate = { id: scenario.id, offeredPerSecond: rate, stack: fixed.result, stackCpu: fixed.cpu };
  }
}
