// npm run bench: the stack's performance through HAProxy, next to the same handlers in plain fastify processes,
// the runtime's own cost, memory under load, the core and replica curves and the packaged functions' cold starts.
// Options: `npm run bench -- --help` (bench/options.ts). Without --url it starts its own stacks (free ports,
// throw-away state, the edge's rate limits raised) and stops them. Results: bench/results/latest.{md,json}
// (a whole run only) plus timestamped copies; --profile writes bench/results/profile.md instead.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { groupMembers } from '../local/processes';
import { RATE_LIMITS_RAISED, BCRYPT_COST, RESULTS, ROOT, STACK_LIMITS_RAISED, say, type BenchContext } from './context';
import { treeMemory } from './memory';
import { parseOptions, SCENARIO_IDS, USAGE, type Options, type ScenarioId } from './options';
import { toggleProfilers, writeProfiles } from './profile';
import { writeReport } from './report';
import { createBenchUser, warmCities } from './requests';
import type { BenchReport } from './results';
import { runColdBurst } from './scenarios/cold-burst';
import { runColdStarts } from './scenarios/cold-starts';
import { runCores } from './scenarios/cores';
import { runFirstSeconds } from './scenarios/first-seconds';
import { LOAD_SCENARIOS, runLoadScenario } from './scenarios/load-scenarios';
import { MEMORY_USAGE_DIR, runMemory } from './scenarios/memory';
import { runReplicas } from './scenarios/replicas';
import { runRuntime } from './scenarios/runtime';
import type { Run } from './scenarios/scenario';
import { ingressReuse, runningStack, startDirect, startOwnStack, startUpstream, type StackUnderTest, type Upstream } from './systems';
import { targets } from './targets';

function newContext(options: Options, cleanups: (() => Promise<void>)[], startedGroups: Set<number>): BenchContext {
  const scratch = mkdtempSync(join(tmpdir(), 'bench-'));
  chmodSync(scratch, 0o755); // the postgres system user (when run as root) must reach the data dir inside
  cleanups.push(async () => {
    if (options.keep) say(`kept the logs and state in ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  });
  const logDir = join(scratch, 'logs');
  mkdirSync(logDir, { recursive: true });
  return { options, scratch, logDir, cleanups, startedGroups, notes: [] };
}

/** NODE_OPTIONS and the in-process switch for every stack of this run (profiling hooks in with --profile). */
function stackEnvironment(ctx: BenchContext): Record<string, string> {
  const env: Record<string, string> = {};
  const nodeOptions = ctx.options.nodeOptions ? [ctx.options.nodeOptions] : [];
  if (ctx.options.profile) {
    mkdirSync(join(ctx.scratch, 'profiles'));
    nodeOptions.push(`--require ${join(ROOT, 'bench', 'cpu-profile-hook.cjs')}`);
    env.CPU_PROFILE_DIR = join(ctx.scratch, 'profiles');
  }
  if (ctx.options.scenarios.includes('memory')) {
    mkdirSync(join(ctx.scratch, MEMORY_USAGE_DIR));
    nodeOptions.push(`--require ${join(ROOT, 'bench', 'memory-usage-hook.cjs')}`);
    env.MEMORY_USAGE_DIR = join(ctx.scratch, MEMORY_USAGE_DIR);
  }
  if (nodeOptions.length) env.NODE_OPTIONS = nodeOptions.join(' ');
  if (ctx.options.offlineMode === 'worker-threads') env.OFFLINE_IN_PROCESS = 'false';
  return env;
}

function emptyReport(ctx: BenchContext, target: StackUnderTest, loadBefore: number): BenchReport {
  const { options } = ctx;
  const own = !options.url;
  return {
    startedAt: new Date().toISOString(),
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model.trim() ?? '?',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverage: { before: Math.round(loadBefore * 100) / 100 },
    },
    settings: {
      connections: options.connections,
      durationSeconds: options.durationSeconds,
      warmupSeconds: options.warmupSeconds,
      bcryptCost: BCRYPT_COST,
      quick: options.quick,
      scenarios: options.scenarios,
    },
    loadGenerator: `autocannon ${autocannonVersion()} in a child process (one thread, ${options.connections} keep-alive connections) on the same ${availableParallelism()}-core machine, competing with the servers for CPU`,
    stack: {
      url: target.api,
      startedByBench: own,
      startupSeconds: target.startupMs === undefined ? undefined : Math.round(target.startupMs / 100) / 10,
      offlineMode: own ? options.offlineMode : 'as configured',
      rateLimits: own ? { ...RATE_LIMITS_RAISED, ...STACK_LIMITS_RAISED } : 'as configured',
    },
    scenarios: [],
    coldBurst: {},
    targets: [],
    notes: ctx.notes,
  };
}

/** The stack and baseline every scenario but the replica curve and cold starts measures. */
async function prepare(ctx: BenchContext): Promise<Run> {
  const loadBefore = loadavg()[0];
  const stackEnv = stackEnvironment(ctx);
  const { url, standInUrl, baseline, profile } = ctx.options;
  if (!url)
    say(
      `limits raised for the bench's stacks: ${Object.entries({ ...RATE_LIMITS_RAISED, ...STACK_LIMITS_RAISED })
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  const upstream: Upstream | undefined = url ? undefined : await startUpstream(ctx);
  const target = upstream ? await startOwnStack(ctx, '', upstream, stackEnv) : runningStack(url!, standInUrl);
  if (url) {
    say(`using the running stack at ${url}${target.standInUrl ? ` (stand-in ${target.standInUrl})` : ' (no stand-in URL: upstream calls are not counted)'}`);
    ctx.notes.push('The stack was already running (--url): its rate limits apply (429s count as errors) unless it was started with RATE_LIMIT_* raised.');
  }
  const report = emptyReport(ctx, target, loadBefore);
  if (Object.keys(target.pids).length) report.stack.idleMemory = treeMemory(target.pids);
  if (report.stack.idleMemory) say(`stack memory at idle: RSS ${report.stack.idleMemory.rssMb} MB, PSS ${report.stack.idleMemory.pssMb} MB`);
  const user = await createBenchUser(target.api);
  await warmCities(target.api, user.token);
  const run: Run = { ctx, target, upstream, user, stackEnv, report };
  if (baseline && !profile && ctx.options.scenarios.some((id) => LOAD_SCENARIOS.some((s) => s.id === id) || id === 'cold-burst')) {
    if (!target.stateDir) ctx.notes.push("No baseline: the running stack's state dir (postgres.json, JWT secret) was not found; set LOCAL_STATE_DIR.");
    else {
      say('starting the direct baseline (one plain fastify process per service)...');
      run.direct = await startDirect(ctx, target.stateDir, upstream);
    }
  }
  return run;
}

const ON_MAIN_STACK: Partial<Record<ScenarioId, (run: Run) => Promise<void>>> = {
  'first-seconds': runFirstSeconds,
  runtime: runRuntime,
  'cold-burst': runColdBurst,
  memory: runMemory,
  cores: runCores,
};

async function bench(options: Options, cleanups: (() => Promise<void>)[], startedGroups: Set<number>): Promise<void> {
  const ctx = newContext(options, cleanups, startedGroups);
  const run = await prepare(ctx);
  const { report, target } = run;
  if (options.profile) toggleProfilers(target.pids);
  for (const id of options.scenarios) {
    const load = LOAD_SCENARIOS.find((s) => s.id === id);
    if (load) await runLoadScenario(run, load);
    else await ON_MAIN_STACK[id]?.(run);
  }
  if (options.profile) toggleProfilers(target.pids); // second signal: stop and write
  if (options.profile) return writeProfiles(target.pids, join(ctx.scratch, 'profiles'), report.startedAt, report.scenarios);
  if (target.stats) report.stack.ingressConnections = await ingressReuse(target.stats);
  // the main stack is done: the cold starts (no database) and the replica stacks get the machine to themselves
  await target.stop();
  if (options.scenarios.includes('cold-starts')) await runColdStarts(run);
  if (options.scenarios.includes('replicas')) await runReplicas(run);
  report.machine.loadAverage.after = Math.round(loadavg()[0] * 100) / 100;
  report.targets = targets(report);
  if (!run.direct) ctx.notes.push('No direct baseline in this run.');
  // a partial run (--only, --skip, --quick) keeps only its timestamped copy: latest.* always holds a whole run
  const whole = !options.quick && options.scenarios.length === SCENARIO_IDS.length;
  const files = writeReport(RESULTS, report, whole ? 'latest' : undefined);
  say(`\nreport: ${files.map((f) => relative(process.cwd(), f)).join(', ')}`);
  for (const t of report.targets) say(`  ${t.met === undefined ? '?' : t.met ? '✓' : '✗'} ${t.what}: ${t.actual} (target ${t.target})`);
}

function autocannonVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string }).version;
}

async function main() {
  let options: Options | undefined;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`npm run bench: ${(err as Error).message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (!options) return say(USAGE);
  const cleanups: (() => Promise<void>)[] = [];
  const startedGroups = new Set<number>();
  let cleaning: Promise<void> | undefined;
  // everything the bench started is stopped, in reverse order, however it ends
  const cleanup = () =>
    (cleaning ??= (async () => {
      for (const step of cleanups.reverse()) await step().catch((err: Error) => process.stderr.write(`cleanup: ${err.message}\n`));
    })());
  const onSignal = () => {
    say('\ninterrupted: stopping everything the bench started');
    void cleanup().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await bench(options, cleanups, startedGroups);
  } catch (err) {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exitCode = 1;
  } finally {
    await cleanup();
    const left = [...startedGroups].flatMap(groupMembers);
    say(left.length ? `still running after cleanup: pids ${left.join(', ')}` : `stopped everything it started (${startedGroups.size} process groups)`);
    if (left.length) process.exitCode = 1;
  }
}

void main();
