// The whole system on one machine: embedded Postgres, the OpenWeatherMap stand-in, the weather service's and the
// app backend's replicas (serverless-offline each) and HAProxy in front of both. The services are a table
// (local/services.ts) run by a small supervisor (local/supervisor.ts); this file decides ports, directories and
// environments. `npm start` (local/start.ts), `npm run dev`, the stack tests and the benchmark all start it here.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { localSecret } from '../layers/config/local-state';
import { bundleDir, bundleService, stopBundler, watchService, type BundleWatcher } from './bundle';
import { writeHaproxyConfig } from './haproxy-config';
import { migrateExternal } from './migrate';
import { claimPidFile, releasePidFile, writePidFile } from './pid-file';
import { commandLine, groupMembers } from './processes';
import { backendName, local, serviceTable, weatherName, type InstancePorts, type StackPlan, type StackTasks } from './services';
import { freePort } from './ports';
import { Supervisor } from './supervisor';

export { StackAlreadyRunning } from './pid-file';
export { httpStatus } from './services';

export const ROOT = resolve(__dirname, '..');

/** Every process a stack may run; replicas are numbered from 1. */
export type ServiceName = 'postgres' | 'owm-standin' | 'haproxy' | `app-backend-${number}` | `weather-service-${number}`;

/** The fewest backend instances: one can fail while the other serves. */
export const MIN_BACKEND_REPLICAS = 2;
export const DEFAULT_BACKEND_REPLICAS = 2;
/** Measured on 2 cores (npm run bench, replicas): cached weather 707 req/s with 1 instance, 606 with 2, 572 with 3. */
export const DEFAULT_WEATHER_REPLICAS = 1;
/** V8's old-space cap of each serverless-offline instance: it holds garbage up to the default cap otherwise (docs/benchmarks.md). */
export const DEFAULT_INSTANCE_MAX_OLD_SPACE_MB = 160;
export const MIN_INSTANCE_MAX_OLD_SPACE_MB = 64;

export interface StackOptions {
  /** Postgres data, postgres.json, the generated secrets, the pid file and HAProxy's config (default local/.data). */
  stateDir?: string;
  /** Where each process's output goes (default local/logs). */
  logDir?: string;
  /** HAProxy's API port (default 8080); 0 picks a free port. */
  port?: number;
  /** HAProxy's stats and metrics port (default 8404); 0 picks a free port. */
  statsPort?: number;
  /** The weather service's one URL for the backend, HAProxy's loopback balancer (default 4000); 0 picks a free port. */
  weatherPort?: number;
  /** App backend instances (default 2, at least 2). */
  backendReplicas?: number;
  /** Weather service instances (default 2, at least 1). */
  weatherReplicas?: number;
  /** --max-old-space-size of each serverless-offline instance, in MB (default 160, at least 64). */
  instanceMaxOldSpaceMb?: number;
  /** Address HAProxy's API binds to (default 127.0.0.1). */
  address?: string;
  /** External Postgres: with both set, no embedded server is started (migrations still run). */
  databaseUrl?: string;
  weatherDatabaseUrl?: string;
  /** A real OpenWeatherMap key: no stand-in is started. */
  openWeatherApiKey?: string;
  openWeatherBaseUrl?: string;
  /** POST /token + POST /register per client address and window (default 20 per 10 s). */
  rateLimit?: { requests: number; windowSeconds: number };
  /** HAProxy configuration file (default haproxy.cfg at the repository root). */
  haproxyConfig?: string;
  /** Largest request body HAProxy lets through (default 65536 bytes, the functions' own limit). */
  maxBodyBytes?: number;
  /** Extra environment for HAProxy (the edge rules' settings: RATE_LIMIT_*, CORS_ORIGINS, MAX_BODY_BYTES, ...). */
  haproxyEnv?: Record<string, string>;
  /** Extra environment for every service (e.g. JWT_SECRET, BCRYPT_COST, LOG_LEVEL). */
  env?: Record<string, string | undefined>;
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
  stats: string;
  metrics: string;
  /** The one URL the backend reaches the weather service by (HAProxy balancing the weather replicas). */
  weather: string;
  /** Each weather service instance, directly. */
  weatherInstances: string[];
  backends: string[];
  standIn?: string;
  postgres?: string;
}

export interface Stack {
  urls: StackUrls;
  /** The pid of each started process; each leads its own process group (kill(-pid) reaches its children). */
  pids: Partial<Record<ServiceName, number>>;
  logFiles: Partial<Record<ServiceName, string>>;
  stateDir: string;
  /** Milliseconds from startStack() to healthy. */
  startupMs: number;
  /** Called when a process exits while the stack runs (not during stop() or restart()). */
  onUnexpectedExit(listener: (name: ServiceName, description: string) => void): void;
  /**
   * Stops one process (whatever state it is in) and starts it again with the same command, ports and data
   * dir, once it is ready; updates `pids` and resolves with the new pid. The chaos tests bring services back with it.
   */
  restart(name: ServiceName): Promise<number>;
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

function atLeast(value: number | undefined, fallback: number, minimum: number, setting: string): number {
  const count = value ?? fallback;
  if (!Number.isInteger(count) || count < minimum) throw new Error(`${setting} must be an integer of at least ${minimum}, got ${count}`);
  return count;
}

const instancePorts = async (count: number): Promise<InstancePorts[]> => {
  const ports: InstancePorts[] = [];
  for (let i = 0; i < count; i++) ports.push({ http: await freePort(), lambda: await freePort() });
  return ports;
};

/** The edge rules' settings HAProxy reads, from the runner's environment and the caller's (explicit options win). */
function haproxyEnvironment(options: StackOptions, plan: Pick<StackPlan, 'address' | 'apiPort' | 'statsPort' | 'weatherPort'>): NodeJS.ProcessEnv {
  const extra = Object.entries(options.env ?? {}).filter(([key, value]) => value !== undefined && /^(RATE_LIMIT_|MAX_BODY_BYTES$|CORS_ORIGINS$)/.test(key));
  const env: NodeJS.ProcessEnv = { ...process.env, ...Object.fromEntries(extra) };
  if (options.rateLimit)
    Object.assign(env, {
      RATE_LIMIT_AUTH_REQUESTS: String(options.rateLimit.requests),
      RATE_LIMIT_AUTH_WINDOW_SECONDS: String(options.rateLimit.windowSeconds),
    });
  if (options.maxBodyBytes !== undefined) env.MAX_BODY_BYTES = String(options.maxBodyBytes);
  return {
    ...env,
    ...options.haproxyEnv,
    PORT: String(plan.apiPort),
    HAPROXY_ADDRESS: plan.address,
    STATS_PORT: String(plan.statsPort),
    WEATHER_PORT: String(plan.weatherPort),
  };
}

/** The environment every function instance gets: the runner's, the caller's extras, the local state and secrets. */
function functionEnvironment(options: StackOptions, stateDir: string, dev: boolean): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    LOCAL_STATE_DIR: stateDir,
    // serverless-offline's per-request notice lines would otherwise land in the function logs.
    SLS_LOG_LEVEL: 'warning',
    OFFLINE_PREBUILT: 'true',
    OFFLINE_RELOAD: dev ? 'true' : 'false',
  };
  for (const name of ['DATABASE_URL', 'WEATHER_DATABASE_URL', 'ESBUILD_WORK_FOLDER', 'HTTP_PORT', 'LAMBDA_PORT', 'OFFLINE_PREBUILT_DIR'] as const)
    delete env[name];
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.weatherDatabaseUrl) env.WEATHER_DATABASE_URL = options.weatherDatabaseUrl;
  // Each service gets only its own secrets (the JWT secret goes to the backend alone: local/services.ts).
  for (const name of ['JWT_SECRET', 'OPENWEATHER_API_KEY'] as const) delete env[name];
  // Generated once into the state dir before the instances start (they would race to create it); the same
  // credential goes to the backend (which sends it) and the weather service (which checks it).
  env.WEATHER_SERVICE_TOKEN ||= localSecret({ LOCAL_STATE_DIR: stateDir }, 'weather-service-token');
  return env;
}

/** Decides every port, directory and environment of the stack (nothing is started yet). */
async function planStack(options: StackOptions, stateDir: string, tag: string): Promise<StackPlan> {
  const address = options.address ?? '127.0.0.1';
  const ports = {
    address,
    apiPort: await portFor(options.port ?? 8080, 'PORT', address),
    statsPort: await portFor(options.statsPort ?? 8404, 'STATS_PORT'),
    weatherPort: await portFor(options.weatherPort ?? 4000, 'WEATHER_HTTP_PORT'),
  };
  const backends = await instancePorts(atLeast(options.backendReplicas, DEFAULT_BACKEND_REPLICAS, MIN_BACKEND_REPLICAS, 'BACKEND_REPLICAS'));
  const weathers = await instancePorts(atLeast(options.weatherReplicas, DEFAULT_WEATHER_REPLICAS, 1, 'WEATHER_REPLICAS'));
  const externalDb = Boolean(options.databaseUrl && options.weatherDatabaseUrl);
  const standInPort = options.openWeatherApiKey ? undefined : await freePort();
  const dev = options.dev ?? false;
  const haproxyConfigFile = writeHaproxyConfig(options.haproxyConfig ?? join(ROOT, 'haproxy.cfg'), join(stateDir, 'haproxy.cfg'), {
    app_backend: backends.map((p, i) => ({ name: backendName(i), address: `127.0.0.1:${p.http}` })),
    weather_service: weathers.map((p, i) => ({ name: weatherName(i), address: `127.0.0.1:${p.http}` })),
  });
  return {
    root: ROOT,
    stateDir,
    ...ports,
    backends,
    weathers,
    postgresPort: externalDb ? undefined : await freePort(),
    standInPort,
    baseEnv: { ...process.env, ...options.env },
    serviceEnv: functionEnvironment(options, stateDir, dev),
    jwtSecret: options.env?.JWT_SECRET || process.env.JWT_SECRET || localSecret({ LOCAL_STATE_DIR: stateDir }, 'jwt-secret'),
    backendBundle: bundleDir(ROOT, tag),
    weatherBundle: bundleDir(join(ROOT, 'functions', 'weather'), tag),
    openWeather: {
      apiKey: options.openWeatherApiKey || randomBytes(16).toString('hex'),
      baseUrl: standInPort === undefined ? (options.openWeatherBaseUrl ?? '') : local(standInPort),
    },
    haproxyConfigFile,
    haproxyEnv: haproxyEnvironment(options, ports),
    instanceMaxOldSpaceMb: atLeast(
      options.instanceMaxOldSpaceMb,
      DEFAULT_INSTANCE_MAX_OLD_SPACE_MB,
      MIN_INSTANCE_MAX_OLD_SPACE_MB,
      'INSTANCE_MAX_OLD_SPACE_MB',
    ),
    dev,
    readyTimeoutMs: options.readyTimeoutMs ?? 180_000,
    signal: options.signal,
  };
}

/** Bundling (once, for every instance; in dev mode kept watching) and the external migrations, started at once. */
function startTasks(plan: StackPlan, options: StackOptions, progress: (message: string) => void): StackTasks & { watchers: Promise<BundleWatcher[]> } {
  const services: [string, string][] = [
    [ROOT, plan.backendBundle],
    [join(ROOT, 'functions', 'weather'), plan.weatherBundle],
  ];
  progress(plan.dev ? 'bundling the functions (watching for changes)' : 'bundling the functions');
  const watchers = plan.dev
    ? Promise.all(services.map(([dir, out]) => watchService(dir, out, [join(ROOT, 'functions'), join(ROOT, 'layers')], progress)))
    : Promise.resolve([]);
  const bundled = plan.dev
    ? watchers.then(() => undefined)
    : Promise.all(services.map(([dir, out]) => bundleService(dir, out))).then(async (results) => {
        await stopBundler();
        progress(`bundled ${results.reduce((n, b) => n + b.entries, 0)} functions in ${Math.max(...results.map((b) => b.ms))} ms`);
      });
  const migrated = plan.postgresPort === undefined ? migrateExternal({ app: options.databaseUrl!, weather: options.weatherDatabaseUrl! }) : Promise.resolve();
  for (const task of [bundled, migrated, watchers]) task.catch(() => undefined); // awaited through the table
  return { bundled: () => bundled, migrated: () => migrated, watchers };
}

function stackUrls(plan: StackPlan): StackUrls {
  const api = local(plan.apiPort);
  return {
    api,
    docs: `${api}/docs`,
    stats: `${local(plan.statsPort)}/stats`,
    metrics: `${local(plan.statsPort)}/metrics`,
    weather: local(plan.weatherPort),
    weatherInstances: plan.weathers.map((p) => local(p.http)),
    backends: plan.backends.map((p) => local(p.http)),
    standIn: plan.standInPort === undefined ? undefined : local(plan.standInPort),
    postgres: plan.postgresPort === undefined ? undefined : `127.0.0.1:${plan.postgresPort}`,
  };
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const stateDir = resolve(options.stateDir ?? join(ROOT, 'local', '.data'));
  const logDir = resolve(options.logDir ?? join(ROOT, 'local', 'logs'));
  const tag = options.tag ?? 'stack';
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  await claimPidFile(stateDir, progress);
  let plan: StackPlan;
  try {
    plan = await planStack(options, stateDir, tag);
  } catch (err) {
    releasePidFile(stateDir);
    throw err;
  }
  // The pid file says no stack runs here, so a postgres.json left by one that was killed names a dead server: the
  // instances start alongside Postgres and would take its old URL (and keep it) before the new one is written.
  if (plan.postgresPort !== undefined) rmSync(join(stateDir, 'postgres.json'), { force: true });
  const tasks = startTasks(plan, options, progress);
  const record = (running: ReadonlyMap<string, { pid: number }>) =>
    writePidFile(stateDir, { processes: Object.fromEntries([...running].map(([name, p]) => [name, { pid: p.pid, command: commandLine(p.pid) ?? '' }])) });
  const supervisor = new Supervisor(serviceTable(plan, tasks), logDir, record, progress);
  const stop = async () => {
    await supervisor.stop();
    const watchers = await tasks.watchers.catch(() => []);
    for (const watcher of watchers) await watcher.dispose();
    if (watchers.length > 0) await stopBundler();
    // A start that failed early may still be bundling: let it finish, or it writes the folders after they are removed.
    await tasks.bundled().catch(() => undefined);
    for (const dir of [plan.backendBundle, plan.weatherBundle]) rmSync(dir, { recursive: true, force: true });
    releasePidFile(stateDir);
  };
  try {
    progress(`starting ${supervisor.table.map((spec) => spec.name).join(', ')}`);
    await supervisor.start(options.signal);
  } catch (err) {
    await stop();
    throw err;
  }
  return runningStack(plan, supervisor, stop, options, Date.now() - started);
}

function runningStack(plan: StackPlan, supervisor: Supervisor, stop: () => Promise<void>, options: StackOptions, startupMs: number): Stack {
  const urls = stackUrls(plan);
  writePidFile(plan.stateDir, { urls: { ...urls } });
  const running = () => [...supervisor.running] as [ServiceName, { pid: number; logFile: string }][];
  const pids: Partial<Record<ServiceName, number>> = Object.fromEntries(running().map(([name, p]) => [name, p.pid]));
  return {
    urls,
    pids,
    logFiles: Object.fromEntries(running().map(([name, p]) => [name, p.logFile])),
    stateDir: plan.stateDir,
    startupMs,
    standInApiKey: options.openWeatherApiKey ? undefined : plan.openWeather.apiKey,
    onUnexpectedExit: (listener) => supervisor.onUnexpectedExit(listener as (name: string, description: string) => void),
    restart: async (name) => (pids[name] = await supervisor.restart(name)),
    stop,
  };
}

/** Processes still alive in the groups a stack started (empty after stop()). */
export function leftovers(pids: Partial<Record<ServiceName, number>>): number[] {
  return Object.values(pids).flatMap((pid) => groupMembers(pid!));
}
