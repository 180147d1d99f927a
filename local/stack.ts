// The whole system on one machine: reserve ports, collect the services (embedded Postgres, the OpenWeatherMap stand-in,
// the weather service's and the app backend's replicas, HAProxy in front of both: local/services/*), start them under
// the supervisor. `npm start` / `npm run dev` (local/bin/start.ts), the stack tests and the bench start it here.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { resolveSetting, type AnySchema } from '../layers/config/schema';
import { localSecret } from '../layers/local-runtime/state';
import { lastErrorLine } from './log-files';
import { DEFAULT_LOG_DIR, DEFAULT_STATE_DIR, ROOT } from './paths';
import { claimPidFile, releasePidFile, writePidFile } from './pid-file';
import { freePort } from './ports';
import { commandLine, groupMembers } from './processes';
import { bundleDir, bundleInstanceHook, bundleService, stopBundler, watchService, type BundleWatcher } from './services/bundles';
import { backendName, backendServices, local, weatherName, weatherServices, type InstancePorts, serviceEnvironment } from './services/functions';
import { haproxyService } from './services/haproxy';
import { adminSocketPath, restoreServer, setServerState, withdrawServer, type RollingTimes } from './services/haproxy-admin';
import type { StatsLogin } from './services/haproxy-stats';
import { migrateExternal } from './services/migrations';
import { postgresService } from './services/postgres';
import { standInService } from './services/standin';
import { ALL_SCHEMAS, assertLocalRunSettings, EDGE_SETTINGS, OFFLINE_SETTINGS, PACKAGING_SETTINGS, rotationSettings, RUNNER_SETTINGS } from './settings';
import { BACKEND_SETTINGS } from '../functions/settings';
import { WEATHER_SETTINGS } from '../functions/weather/settings';
import { Supervisor, type ServiceSpec } from './supervisor';
import { warmUp, type WarmUpReport, type WarmUpTarget } from './warm-up';

export { ROOT } from './paths';
export { StackAlreadyRunning } from './pid-file';
export { httpStatus } from './services/functions';

/** Every process a stack may run; replicas are numbered from 1. */
export type ServiceName = 'postgres' | 'owm-standin' | 'haproxy' | `app-backend-${number}` | `weather-service-${number}`;

export interface StackOptions {
  /**
   * Settings, as the environment gives them (over process.env): PORT, BACKEND_REPLICAS, RATE_LIMIT_*, DATABASE_URL,
   * OPENWEATHER_API_KEY, BCRYPT_COST … (docs/configuration.md). All are validated before anything starts.
   */
  env?: Record<string, string | undefined>;
  /** Postgres data, postgres.json, the generated secrets, the pid file and HAProxy's config (default LOCAL_STATE_DIR, else local/.data). */
  stateDir?: string;
  /** Where each process's output goes (default local/logs). */
  logDir?: string;
  /** Rebuild the bundles on change and reload them into the running instances (npm run dev). */
  dev?: boolean;
  /** Names this stack's bundle folders (.esbuild-<tag>), so stacks running side by side keep apart. */
  tag?: string;
  /** How long to wait for everything to be healthy (default 180 s). */
  readyTimeoutMs?: number;
  /** Aborting it during startup stops what was started and rejects. */
  signal?: AbortSignal;
  onProgress?: (message: string) => void;
}

export interface StackUrls {
  api: string;
  docs: string;
  /** The stats page and the metrics need `Stack.statsLogin`. */
  stats: string;
  metrics: string;
  /** The one URL the backend reaches the weather service by (HAProxy balancing the weather replicas). */
  weather: string;
  /** Each weather service instance, directly. */
  weatherInstances: string[];
  /** Each app backend instance's HTTP port, directly (refused without the edge proof). */
  backends: string[];
  /**
   * Each app backend instance's Lambda invoke endpoint (serverless-offline's --lambdaPort): POST
   * `/2015-03-31/functions/app-backend-local-<function>/invocations` with an event runs that function.
   */
  backendInvoke: string[];
  standIn?: string;
  postgres?: string;
}

export interface Stack {
  urls: StackUrls;
  /** The pid of each started process; each leads its own process group (kill(-pid) reaches its children). */
  pids: Partial<Record<ServiceName, number>>;
  logFiles: Partial<Record<ServiceName, string>>;
  stateDir: string;
  /** The login of /stats and /metrics (kept in the state dir). */
  statsLogin: StatsLogin;
  /** This start's X-Edge-Proof, which HAProxy adds to every request: what a caller of an instance directly (a test) must send. */
  edgeProof: string;
  /** Milliseconds from startStack() to healthy. */
  startupMs: number;
  /** What the warm-up before healthy sent each instance, and how they answered (local/warm-up.ts). */
  warmUp: WarmUpReport;
  /** Called when a process exits while the stack runs (not during stop() or restart()). */
  onUnexpectedExit(listener: (name: ServiceName, description: string) => void): void;
  /**
   * Stops one process (whatever state it is in) and starts it again with the same command, ports and data dir, once it
   * is ready; `env` changes its environment from then on (a rotated credential). An instance HAProxy balances leaves its
   * pool first (its requests finish) and is back in it, its checks passed, when this resolves. Updates `pids`, resolves
   * with the new pid.
   */
  restart(name: ServiceName, env?: Record<string, string | undefined>): Promise<number>;
  /** The key the generated stand-in accepts (tests check that it never leaks into logs or answers). */
  standInApiKey?: string;
  stop(): Promise<void>;
}

/** A port to listen on: the fixed one if it is free (else a message naming the setting), or a free one for 0. */
async function portFor(wanted: number, setting: string, address = '127.0.0.1'): Promise<number> {
  if (wanted === 0) return freePort();
  await new Promise<void>((resolveFree, reject) => {
    const probe = createServer();
    probe.once('error', (err: NodeJS.ErrnoException) =>
      reject(new Error(err.code === 'EADDRINUSE' ? `port ${wanted} is already in use: set ${setting} to use another one` : `port ${wanted}: ${err.message}`)),
    );
    probe.listen(wanted, address, () => probe.close(() => resolveFree()));
  });
  return wanted;
}

const instancePorts = async (count: number): Promise<InstancePorts[]> => {
  const ports: InstancePorts[] = [];
  for (let i = 0; i < count; i++) ports.push({ http: await freePort(), lambda: await freePort() });
  return ports;
};

type Runner = ReturnType<typeof RUNNER_SETTINGS.read>;

interface Ports {
  api: number;
  stats: number;
  weather: number;
  backends: InstancePorts[];
  weathers: InstancePorts[];
  /** undefined with an external database */
  postgres?: number;
  /** undefined with a real OpenWeatherMap key */
  standIn?: number;
}

async function reservePorts(runner: Runner, externalDb: boolean, realProvider: boolean): Promise<Ports> {
  return {
    api: await portFor(runner.port, 'PORT', runner.haproxyAddress),
    stats: await portFor(runner.statsPort, 'STATS_PORT'),
    weather: await portFor(runner.weatherPort, 'WEATHER_HTTP_PORT'),
    backends: await instancePorts(runner.backendReplicas),
    weathers: await instancePorts(runner.weatherReplicas),
    postgres: externalDb ? undefined : await freePort(),
    standIn: realProvider ? undefined : await freePort(),
  };
}

/** What the stack's processes share: the per-start edge proof, the stats login and the local secrets, made before anything starts. */
function stackSecrets(stateDir: string): { edgeProof: string; statsLogin: StatsLogin } {
  const state = { LOCAL_STATE_DIR: stateDir };
  // Generated once into the state dir before the instances start (each service reads the same file).
  for (const file of ['jwt-secret', 'weather-service-token']) localSecret(state, file);
  return { edgeProof: randomBytes(32).toString('base64url'), statsLogin: { user: 'stats', password: localSecret(state, 'stats-password') } };
}

interface Tasks {
  /** The functions' bundles and the instances' log hook. */
  bundled: () => Promise<void>;
  migrated: () => Promise<void>;
  watchers: Promise<BundleWatcher[]>;
}

/** Bundling (once, for every instance; in dev mode kept watching) and the external migrations, started at once. */
function startTasks(bundles: Plan['bundles'], dev: boolean, migrate: () => Promise<void>, progress: (m: string) => void): Tasks {
  const services: [string, string][] = [
    [ROOT, bundles.backend],
    [join(ROOT, 'functions', 'weather'), bundles.weather],
  ];
  progress(dev ? 'bundling the functions (watching for changes)' : 'bundling the functions');
  const watchers = dev
    ? Promise.all(services.map(([dir, out]) => watchService(dir, out, [join(ROOT, 'functions'), join(ROOT, 'layers')], progress)))
    : Promise.resolve([]);
  const functions = dev
    ? watchers.then(() => undefined)
    : Promise.all(services.map(([dir, out]) => bundleService(dir, out))).then((results) => {
        progress(`bundled ${results.reduce((n, b) => n + b.entries, 0)} functions in ${Math.max(...results.map((b) => b.ms))} ms`);
      });
  const bundled = Promise.all([functions, bundleInstanceHook(bundles.logHook)]).then(async () => {
    if (!dev) await stopBundler();
  });
  const migrated = migrate();
  for (const task of [bundled, migrated, watchers]) task.catch(() => undefined); // awaited through the table
  return { bundled: () => bundled, migrated: () => migrated, watchers };
}

interface Plan {
  env: NodeJS.ProcessEnv;
  runner: Runner;
  ports: Ports;
  stateDir: string;
  logDir: string;
  bundles: { backend: string; weather: string; logHook: string };
  secrets: ReturnType<typeof stackSecrets>;
  /** HAProxy's runtime API, and the pool (HAProxy backend) each instance is a server of. */
  haproxyAdmin: { socket: string; pools: ReadonlyMap<string, string> };
  openWeather: { apiKey: string; baseUrl: string };
  dev: boolean;
  readyTimeoutMs: number;
  signal?: AbortSignal;
  progress: (message: string) => void;
}

/** The services in start order; stop() goes through them in reverse (replicas of a group together). */
function collectServices(plan: Plan, tasks: Tasks): ServiceSpec[] {
  const { env, runner, ports, stateDir, secrets } = plan;
  const declared = new Set(ALL_SCHEMAS.flatMap((schema) => Object.values(schema.specs).map((spec) => spec.variable)));
  const common = { LOCAL_STATE_DIR: stateDir };
  // Each service's own settings, and what its serverless.yml reads when serverless-offline loads it (LOG_LEVEL …).
  const instance = (schema: AnySchema, bundleDir: string, dependsOn: string[] = []) => ({
    env: { ...serviceEnvironment(env, [schema, PACKAGING_SETTINGS, OFFLINE_SETTINGS], declared), ...common },
    bundleDir,
    logs: { hook: plan.bundles.logHook, dir: plan.logDir, ...rotationSettings(env) },
    maxOldSpaceMb: runner.instanceMaxOldSpaceMb,
    dev: plan.dev,
    edgeProof: secrets.edgeProof,
    prepare: tasks.bundled,
    dependsOn,
    readyTimeoutMs: plan.readyTimeoutMs,
    signal: plan.signal,
  });
  const base = serviceEnvironment(env, [RUNNER_SETTINGS], declared);
  const weathers = weatherServices(ports.weathers, plan.openWeather, instance(WEATHER_SETTINGS, plan.bundles.weather, ports.standIn ? ['owm-standin'] : []));
  const backends = backendServices(ports.backends, local(ports.weather), instance(BACKEND_SETTINGS, plan.bundles.backend));
  const instances = [...weathers, ...backends].map((spec) => spec.name);
  const haproxy = haproxyService({
    address: runner.haproxyAddress,
    ports: { api: ports.api, stats: ports.stats, weather: ports.weather },
    backends: ports.backends.map((p, i) => ({ name: backendName(i), address: `127.0.0.1:${p.http}` })),
    weathers: ports.weathers.map((p, i) => ({ name: weatherName(i), address: `127.0.0.1:${p.http}` })),
    edge: EDGE_SETTINGS.read(env),
    edgeProof: secrets.edgeProof,
    statsLogin: secrets.statsLogin,
    stateDir,
    adminSocket: plan.haproxyAdmin.socket,
    env: base,
    dependsOn: ports.postgres === undefined ? instances : ['postgres', ...instances],
    prepare: tasks.migrated,
    readyTimeoutMs: plan.readyTimeoutMs,
    signal: plan.signal,
  });
  return [
    ...(ports.postgres === undefined ? [] : [postgresService({ stateDir, port: ports.postgres, env: base })]),
    ...(ports.standIn === undefined ? [] : [standInService({ port: ports.standIn, apiKey: plan.openWeather.apiKey, env: base })]),
    ...weathers,
    ...backends,
    haproxy,
  ];
}

function stackUrls(ports: Ports): StackUrls {
  const api = local(ports.api);
  return {
    api,
    docs: `${api}/docs`,
    stats: `${local(ports.stats)}/stats`,
    metrics: `${local(ports.stats)}/metrics`,
    weather: local(ports.weather),
    weatherInstances: ports.weathers.map((p) => local(p.http)),
    backends: ports.backends.map((p) => local(p.http)),
    backendInvoke: ports.backends.map((p) => local(p.lambda)),
    standIn: ports.standIn === undefined ? undefined : local(ports.standIn),
    postgres: ports.postgres === undefined ? undefined : `127.0.0.1:${ports.postgres}`,
  };
}

/** The settings of a run: the caller's over the process's, without unset ones; throws SettingsProblems naming every bad one. */
function runEnvironment(extra: StackOptions['env']): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries({ ...process.env, ...extra }).filter(([, value]) => value !== undefined)) as NodeJS.ProcessEnv;
  assertLocalRunSettings(env);
  return env;
}

/** Decides ports, directories and secrets (nothing runs yet); the pid file is claimed first. */
async function planStack(options: StackOptions, env: NodeJS.ProcessEnv, stateDir: string, logDir: string): Promise<Plan> {
  const runner = RUNNER_SETTINGS.read(env);
  const externalDb = Boolean(env.DATABASE_URL && env.WEATHER_DATABASE_URL);
  const apiKey = env.OPENWEATHER_API_KEY || undefined;
  const ports = await reservePorts(runner, externalDb, apiKey !== undefined);
  const tag = options.tag ?? 'stack';
  return {
    env,
    runner,
    ports,
    stateDir,
    logDir,
    bundles: {
      backend: bundleDir(ROOT, tag),
      weather: bundleDir(join(ROOT, 'functions', 'weather'), tag),
      logHook: join(bundleDir(ROOT, `${tag}-hooks`), 'instance-logs.cjs'),
    },
    secrets: stackSecrets(stateDir),
    haproxyAdmin: {
      socket: adminSocketPath(stateDir),
      pools: new Map([
        ...ports.backends.map((_, i) => [backendName(i), 'app_backend'] as const),
        ...ports.weathers.map((_, i) => [weatherName(i), 'weather_service'] as const),
      ]),
    },
    openWeather: {
      apiKey: apiKey ?? randomBytes(16).toString('hex'),
      baseUrl: ports.standIn === undefined ? (env.OPENWEATHER_BASE_URL ?? '') : local(ports.standIn),
    },
    dev: options.dev ?? false,
    readyTimeoutMs: options.readyTimeoutMs ?? 180_000,
    signal: options.signal,
    progress: options.onProgress ?? (() => undefined),
  };
}

/** Every instance, by its own port (local/warm-up.ts says why not through the edge). */
function warmUpTargets(ports: Ports): (WarmUpTarget & { name: string })[] {
  return [
    ...ports.weathers.map((p, i) => ({ name: weatherName(i), url: local(p.http), kind: 'weather-service' as const })),
    ...ports.backends.map((p, i) => ({ name: backendName(i), url: local(p.http), kind: 'app-backend' as const })),
  ];
}

/** WARM_UP_REQUESTS to each of `targets` before they count as ready (the start, a restart). */
async function warmInstances(plan: Plan, targets: WarmUpTarget[]): Promise<WarmUpReport> {
  const { warmUpRequests } = plan.runner;
  if (warmUpRequests === 0 || targets.length === 0) return { instances: targets.length, requestsPerInstance: 0, statuses: {}, ms: 0 };
  const started = Date.now();
  const jwt = {
    secret: plan.env.JWT_SECRET || localSecret({ LOCAL_STATE_DIR: plan.stateDir }, 'jwt-secret'),
    issuer: resolveSetting(BACKEND_SETTINGS.specs.jwtIssuer, plan.env)!,
  };
  const serviceToken = plan.env.WEATHER_SERVICE_TOKEN || localSecret({ LOCAL_STATE_DIR: plan.stateDir }, 'weather-service-token');
  const statuses = await warmUp(targets, { requests: warmUpRequests, edgeProof: plan.secrets.edgeProof, jwt, serviceToken, signal: plan.signal });
  const answers = Object.entries(statuses).map(([status, n]) => `${n} × ${status}`);
  const ms = Date.now() - started;
  plan.progress(`warmed ${targets.length} instance(s) with ${warmUpRequests} requests each in ${ms} ms (${answers.join(', ')})`);
  return { instances: targets.length, requestsPerInstance: warmUpRequests, statuses, ms };
}

/** A start that did not get healthy: its error, and the last error line each instance logged. */
function diagnosed(err: Error, supervisor: Supervisor): Error {
  if (!/timed out/.test(err.message)) return err;
  const lines = [...supervisor.running]
    .filter(([name]) => /^(app-backend|weather-service)-/.test(name))
    .map(([name, proc]) => `  ${name}: ${lastErrorLine(proc.logFile, proc.errorLogFile) ?? 'no error logged'}`);
  return new Error(`${err.message}\nthe last error line of each instance:\n${lines.join('\n')}`);
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const env = runEnvironment(options.env);
  const stateDir = resolve(options.stateDir ?? (env.LOCAL_STATE_DIR || DEFAULT_STATE_DIR));
  const logDir = resolve(options.logDir ?? DEFAULT_LOG_DIR);
  mkdirSync(stateDir, { recursive: true });
  // Logs may hold usernames and request details: readable by the runner's user only.
  mkdirSync(logDir, { recursive: true, mode: 0o700 });
  chmodSync(logDir, 0o700);
  await claimPidFile(stateDir, progress);
  let plan: Plan;
  try {
    plan = await planStack(options, env, stateDir, logDir);
  } catch (err) {
    releasePidFile(stateDir);
    throw err;
  }
  // The pid file says no stack runs here, so a postgres.json left by one that was killed names a dead server: the
  // instances start alongside Postgres and would take its old URL (and keep it) before the new one is written.
  if (plan.ports.postgres !== undefined) rmSync(join(stateDir, 'postgres.json'), { force: true });
  const migrate = () =>
    plan.ports.postgres === undefined
      ? migrateExternal(
          { app: env.DATABASE_URL!, weather: env.WEATHER_DATABASE_URL! },
          { app: env.MIGRATE_DATABASE_URL, weather: env.MIGRATE_WEATHER_DATABASE_URL },
        )
      : Promise.resolve();
  const tasks = startTasks(plan.bundles, plan.dev, migrate, progress);
  const record = (running: ReadonlyMap<string, { pid: number }>) =>
    writePidFile(stateDir, { processes: Object.fromEntries([...running].map(([name, p]) => [name, { pid: p.pid, command: commandLine(p.pid) ?? '' }])) });
  const supervisor = new Supervisor(collectServices(plan, tasks), logDir, record, progress);
  const stop = async () => {
    await supervisor.stop();
    const watchers = await tasks.watchers.catch(() => []);
    for (const watcher of watchers) await watcher.dispose();
    if (watchers.length > 0) await stopBundler();
    // A start that failed early may still be bundling: let it finish, or it writes the folders after they are removed.
    await tasks.bundled().catch(() => undefined);
    for (const dir of [plan.bundles.backend, plan.bundles.weather, dirname(plan.bundles.logHook)]) rmSync(dir, { recursive: true, force: true });
    releasePidFile(stateDir);
  };
  let warmed: WarmUpReport;
  try {
    progress(`starting ${supervisor.table.map((spec) => spec.name).join(', ')}`);
    await supervisor.start(options.signal);
    warmed = await warmInstances(plan, warmUpTargets(plan.ports));
  } catch (err) {
    const reported = diagnosed(err as Error, supervisor);
    await stop();
    throw reported;
  }
  return runningStack(plan, supervisor, stop, Date.now() - started, warmed);
}

function runningStack(plan: Plan, supervisor: Supervisor, stop: () => Promise<void>, startupMs: number, warmed: WarmUpReport): Stack {
  const urls = stackUrls(plan.ports);
  writePidFile(plan.stateDir, { urls: { ...urls } });
  const running = () => [...supervisor.running] as [ServiceName, { pid: number; logFile: string }][];
  const pids: Partial<Record<ServiceName, number>> = Object.fromEntries(running().map(([name, p]) => [name, p.pid]));
  return {
    urls,
    pids,
    logFiles: Object.fromEntries(running().map(([name, p]) => [name, p.logFile])),
    stateDir: plan.stateDir,
    statsLogin: plan.secrets.statsLogin,
    edgeProof: plan.secrets.edgeProof,
    startupMs,
    warmUp: warmed,
    standInApiKey: plan.ports.standIn === undefined ? undefined : plan.openWeather.apiKey,
    onUnexpectedExit: (listener) => supervisor.onUnexpectedExit(listener as (name: string, description: string) => void),
    restart: async (name, env) => (pids[name] = await restartInPool(plan, supervisor, name, env)),
    stop,
  };
}

/**
 * A pool's other instances get 30 s to be UP (one restarted just before is, one whose check failed under load is
 * within a few); a withdrawn one's requests HAProxy's `timeout server`, past which it gives up on them itself; the
 * new process 30 s to pass HAProxy's checks (two in a row, ~1.5 s, once it answers).
 */
const ROLLING: RollingTimes = { peersMs: 30_000, requestsMs: 15_000, checksMs: 30_000 };

/**
 * Restarts one process. An instance HAProxy balances leaves its pool first (its requests finish) and takes traffic
 * again once HAProxy's checks pass on the new process: restarted one after another, a pool's instances are never out
 * together.
 */
async function restartInPool(plan: Plan, supervisor: Supervisor, name: ServiceName, env?: Record<string, string | undefined>): Promise<number> {
  const pool = plan.haproxyAdmin.pools.get(name);
  const { socket } = plan.haproxyAdmin;
  if (pool === undefined || !supervisor.running.get('haproxy')?.running) return supervisor.restart(name, env);
  await withdrawServer(socket, pool, name, ROLLING, plan.progress);
  let pid: number;
  try {
    pid = await supervisor.restart(name, env);
  } catch (err) {
    await setServerState(socket, pool, name, 'ready').catch(() => undefined); // its checks decide, as for any instance
    throw err;
  }
  const target = warmUpTargets(plan.ports).filter((t) => t.name === name);
  await warmInstances(plan, target).catch((err: Error) => plan.progress(`${name}: warm-up failed (${err.message}); its checks decide`));
  await restoreServer(socket, pool, name, ROLLING, plan.progress);
  return pid;
}

/** Processes still alive in the groups a stack started (empty after stop()). */
export function leftovers(pids: Partial<Record<ServiceName, number>>): number[] {
  return Object.values(pids).flatMap((pid) => groupMembers(pid!));
}
