// The whole system on one machine: embedded Postgres, the OpenWeatherMap stand-in, the weather service, two
// app backend instances and HAProxy, started in parallel where safe and stopped in order, by pid.
// `npm start` (local/start.ts), the stack tests and the benchmark all start it through startStack().
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { join, relative, resolve } from 'node:path';
import { localSecret } from '../layers/config/local-state';
import { bundleDir, bundleService, stopBundler } from './bundle';
import { migrateExternal } from './migrate';
import { freePort } from './ports';
import { commandLine, groupMembers, isAlive, ManagedProcess, signalGroup, sleep, type LogRouting } from './processes';

export const ROOT = resolve(__dirname, '..');

/** Every process a stack may run, in start order; stop() goes through them in reverse. */
export const SERVICE_NAMES = ['postgres', 'owm-standin', 'weather-service', 'app-backend-1', 'app-backend-2', 'haproxy'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

export interface StackOptions {
  /** Postgres data, postgres.json, the JWT secret and the pid file (default local/.data). */
  stateDir?: string;
  /** Where each process's output goes (default local/logs). */
  logDir?: string;
  /** HAProxy's API port (default 8080); 0 picks a free port. */
  port?: number;
  /** HAProxy's stats and metrics port (default 8404); 0 picks a free port. */
  statsPort?: number;
  /** The weather service's port (default 4000); 0 picks a free port. */
  weatherPort?: number;
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
  /** Extra environment for every service (e.g. JWT_SECRET, BCRYPT_COST, LOG_LEVEL). */
  env?: Record<string, string | undefined>;
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
  weather: string;
  backends: [string, string];
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
  /** Called when a process exits while the stack runs (not during stop()). */
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

export class StackAlreadyRunning extends Error {
  constructor(
    readonly pid: number,
    readonly urls: Partial<StackUrls> | undefined,
    pidFile: string,
  ) {
    super(`the stack is already running (pid ${pid}${urls?.api ? `, ${urls.api}` : ''}); stop it with Ctrl-C in its terminal or \`kill ${pid}\` (pid file ${pidFile})`);
    this.name = 'StackAlreadyRunning';
  }
}

interface PidFile {
  pid: number;
  command: string;
  startedAt: string;
  urls?: Partial<StackUrls>;
  processes: Record<string, { pid: number; command: string }>;
}

const pidFilePath = (stateDir: string) => join(stateDir, 'stack.json');

/**
 * Claims the stack's pid file. A live owner means the stack runs: refuse. A dead owner (killed without
 * cleaning up) may have left processes behind: those still running the recorded command are stopped.
 */
async function claimPidFile(stateDir: string, log: (message: string) => void): Promise<void> {
  const file = pidFilePath(stateDir);
  if (existsSync(file)) {
    let previous: PidFile | undefined;
    try {
      previous = JSON.parse(readFileSync(file, 'utf8')) as PidFile;
    } catch {
      previous = undefined;
    }
    if (previous && isAlive(previous.pid) && commandLine(previous.pid) === previous.command) {
      throw new StackAlreadyRunning(previous.pid, previous.urls, file);
    }
    const left = Object.entries(previous?.processes ?? {}).filter(([, proc]) => isAlive(proc.pid) && commandLine(proc.pid) === proc.command);
    for (const [name, proc] of left) {
      log(`stopping ${name} (pid ${proc.pid}), left over by a stack that did not stop cleanly`);
      process.kill(proc.pid, 'SIGTERM');
    }
    // Postgres gets time for a clean shutdown; whatever still runs then is killed with its process group.
    for (let waited = 0; left.some(([, proc]) => isAlive(proc.pid)) && waited < 10_000; waited += 200) await sleep(200);
    for (const [, proc] of left) signalGroup(proc.pid, 'SIGKILL');
    for (let waited = 0; left.some(([, proc]) => groupMembers(proc.pid).length > 0) && waited < 3000; waited += 100) await sleep(100);
  }
  writePidFile(stateDir, { processes: {} });
}

function writePidFile(stateDir: string, update: Partial<PidFile>): void {
  const file = pidFilePath(stateDir);
  let current: Partial<PidFile> = {};
  if (existsSync(file)) current = JSON.parse(readFileSync(file, 'utf8')) as PidFile;
  const next: PidFile = {
    processes: {},
    ...current,
    ...update,
    pid: process.pid,
    command: commandLine(process.pid) ?? '',
    startedAt: current.pid === process.pid && current.startedAt ? current.startedAt : new Date().toISOString(),
  };
  writeFileSync(file, `${JSON.stringify(next, null, 2)}\n`);
}

function releasePidFile(stateDir: string): void {
  const file = pidFilePath(stateDir);
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as PidFile).pid === process.pid) rmSync(file, { force: true });
  } catch {
    // already gone
  }
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

/** The status code of a GET, or undefined when nothing answers in time. */
export function httpStatus(url: string, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolveStatus) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false }, (res) => {
      res.resume();
      resolveStatus(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus(undefined));
    req.end();
  });
}

/** The check state of each app backend server according to HAProxy's stats (UP, DOWN, "UP 1/2", ...). */
export async function backendServerStates(statsUrl: string): Promise<Record<string, string>> {
  const text = await new Promise<string>((resolveText, reject) => {
    const req = request(`${statsUrl};csv`, { timeout: 2000, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolveText(body));
    });
    req.on('timeout', () => req.destroy(new Error('stats page timed out')));
    req.on('error', reject);
    req.end();
  });
  const [header, ...rows] = text.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const status = columns.indexOf('status');
  const states: Record<string, string> = {};
  for (const row of rows) {
    const cells = row.split(',');
    if (cells[0] === 'app_backend' && cells[1] !== 'BACKEND') states[cells[1]] = cells[status];
  }
  return states;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, deadline: number, signal?: AbortSignal): Promise<T> {
  for (;;) {
    if (signal?.aborted) throw new Error('startup aborted');
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  const started = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const stateDir = resolve(options.stateDir ?? join(ROOT, 'local', '.data'));
  const logDir = resolve(options.logDir ?? join(ROOT, 'local', 'logs'));
  const tag = options.tag ?? 'stack';
  const deadline = started + (options.readyTimeoutMs ?? 180_000);
  const signal = options.signal;
  mkdirSync(stateDir, { recursive: true });
  mkdirSync(logDir, { recursive: true });
  await claimPidFile(stateDir, progress);

  const processes = new Map<ServiceName, ManagedProcess>();
  const bundles = [bundleDir(ROOT, tag), bundleDir(join(ROOT, 'functions', 'weather'), tag)];
  const exitListeners = new Set<(name: ServiceName, description: string) => void>();
  // How each process was launched, so restart() can launch it again the same way.
  const launches = new Map<ServiceName, Parameters<typeof launch>>();
  const restarting = new Set<ServiceName>();
  let stopping: Promise<void> | undefined;

  const stop = () =>
    (stopping ??= (async () => {
      // Reverse start order: the ingress first (no new requests), the database last.
      const order: [ServiceName[], NodeJS.Signals, number][] = [
        [['haproxy'], 'SIGUSR1', 6000], // soft stop: finish what is in flight
        [['app-backend-1', 'app-backend-2'], 'SIGTERM', 5000],
        [['weather-service'], 'SIGTERM', 5000],
        [['owm-standin'], 'SIGTERM', 3000],
        [['postgres'], 'SIGTERM', 15_000],
      ];
      for (const [names, stopSignal, graceMs] of order) {
        const group = names.map((name) => processes.get(name)).filter((p): p is ManagedProcess => p !== undefined);
        if (group.length === 0) continue;
        progress(`stopping ${names.join(', ')}`);
        await Promise.all(group.map((p) => p.stop(stopSignal, graceMs)));
      }
      for (const dir of bundles) rmSync(dir, { recursive: true, force: true });
      releasePidFile(stateDir);
    })());

  const launch = (name: ServiceName, command: string, args: string[], logs: LogRouting, env: NodeJS.ProcessEnv, cwd = ROOT, stdin = false) => {
    const proc = new ManagedProcess(name, command, args, { cwd, env, logDir, logs, stdin });
    processes.set(name, proc);
    launches.set(name, [name, command, args, logs, env, cwd, stdin]);
    void proc.exited.then((exit) => {
      if (stopping || restarting.has(name)) return;
      const description = exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`;
      for (const listener of exitListeners) listener(name, description);
    });
    writePidFile(stateDir, { processes: Object.fromEntries([...processes].map(([n, p]) => [n, { pid: p.pid, command: commandLine(p.pid) ?? '' }])) });
    return proc;
  };

  /** Fails fast when a process dies or the caller aborts while we wait for it. */
  const guard = <T>(what: Promise<T>, ...watched: ManagedProcess[]): Promise<T> =>
    Promise.race([
      what,
      ...watched.map((p) =>
        p.exited.then((exit) => {
          throw new Error(`${p.name} ${exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`} during startup; see ${relative(process.cwd(), p.errorLogFile ?? p.logFile)}:\n${p.recentOutput()}`);
        }),
      ),
    ]);

  try {
    const address = options.address ?? '127.0.0.1';
    const [apiPort, statsPort, weatherPort] = [
      await portFor(options.port ?? 8080, 'PORT', address),
      await portFor(options.statsPort ?? 8404, 'STATS_PORT'),
      await portFor(options.weatherPort ?? 4000, 'WEATHER_HTTP_PORT'),
    ];
    const backendPorts = [await freePort(), await freePort()] as const;
    const lambdaPorts = [await freePort(), await freePort(), await freePort()] as const;
    const local = (port: number) => `http://127.0.0.1:${port}`;

    const externalDb = Boolean(options.databaseUrl && options.weatherDatabaseUrl);
    const serviceEnv: NodeJS.ProcessEnv = {
      ...process.env,
      ...options.env,
      LOCAL_STATE_DIR: stateDir,
      // serverless-offline's per-request notice lines would otherwise land in the function logs.
      SLS_LOG_LEVEL: 'warning',
      OFFLINE_PREBUILT: 'true',
    };
    for (const name of ['DATABASE_URL', 'WEATHER_DATABASE_URL', 'ESBUILD_WORK_FOLDER', 'HTTP_PORT', 'LAMBDA_PORT'] as const) delete serviceEnv[name];
    if (options.databaseUrl) serviceEnv.DATABASE_URL = options.databaseUrl;
    if (options.weatherDatabaseUrl) serviceEnv.WEATHER_DATABASE_URL = options.weatherDatabaseUrl;
    // Generated once into the state dir before the instances start, so they cannot race to create it.
    if (!serviceEnv.JWT_SECRET) localSecret({ LOCAL_STATE_DIR: stateDir }, 'jwt-secret');
    if (!serviceEnv.WEATHER_SERVICE_TOKEN) localSecret({ LOCAL_STATE_DIR: stateDir }, 'weather-service-token');

    const node = process.execPath;
    const sls = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');

    // 1. Postgres and the stand-in start while the functions are bundled (once, for every instance).
    let postgres: Promise<string | undefined> = Promise.resolve(undefined);
    if (!externalDb) {
      progress('starting embedded Postgres');
      const pg = launch('postgres', node, ['--import', 'tsx', join(ROOT, 'local', 'postgres.ts'), '--state-dir', stateDir, '--port', String(await freePort()), '--exit-with-parent'], 'plain', { ...process.env, ...options.env }, ROOT, true);
      postgres = guard(pg.waitForLine((line) => (line.startsWith('{"ready":true') ? (JSON.parse(line) as { port: number }).port : undefined)), pg).then((port) => `127.0.0.1:${port}`);
    } else {
      progress('migrating the external databases');
      postgres = migrateExternal({ app: options.databaseUrl!, weather: options.weatherDatabaseUrl! }).then(() => undefined);
    }

    postgres.catch(() => undefined); // awaited below; a failure meanwhile must not count as unhandled

    let standIn: Promise<string | undefined> = Promise.resolve(undefined);
    const apiKey = options.openWeatherApiKey || randomBytes(16).toString('hex');
    if (!options.openWeatherApiKey) {
      progress('starting the OpenWeatherMap stand-in');
      // The key travels in the environment, not on the command line (ps, the pid file).
      const owm = launch('owm-standin', node, ['--import', 'tsx', join(ROOT, 'local', 'owm-standin.ts'), '--port', String(await freePort())], 'plain', { ...process.env, ...options.env, OPENWEATHER_API_KEY: apiKey });
      standIn = guard(owm.waitForLine((line) => (line.startsWith('{"ready":true') ? (JSON.parse(line) as { url: string }).url : undefined)), owm);
      standIn.catch(() => undefined);
    }

    progress('bundling the functions');
    const bundled = await Promise.all([bundleService(ROOT, bundles[0]), bundleService(join(ROOT, 'functions', 'weather'), bundles[1])]);
    await stopBundler();
    progress(`bundled ${bundled.reduce((n, b) => n + b.entries, 0)} functions in ${Math.max(...bundled.map((b) => b.ms))} ms`);
    if (signal?.aborted) throw new Error('startup aborted');

    // 2. The backends need nothing at start (they read the database lazily); the weather service needs the upstream URL.
    const backends = backendPorts.map((port, i) =>
      launch(
        `app-backend-${i + 1}` as ServiceName,
        node,
        [sls, 'offline', 'start', '--stage', 'local', '--httpPort', String(port), '--lambdaPort', String(lambdaPorts[i])],
        'json',
        { ...serviceEnv, OFFLINE_PREBUILT_DIR: bundles[0], WEATHER_SERVICE_URL: local(weatherPort) },
      ),
    );
    const upstream = await standIn;
    const weather = launch(
      'weather-service',
      node,
      [sls, 'offline', 'start', '--stage', 'local', '--httpPort', String(weatherPort), '--lambdaPort', String(lambdaPorts[2])],
      'json',
      {
        ...serviceEnv,
        OFFLINE_PREBUILT_DIR: bundles[1],
        WEATHER_HTTP_PORT: String(weatherPort),
        WEATHER_LAMBDA_PORT: String(lambdaPorts[2]),
        OPENWEATHER_API_KEY: apiKey,
        OPENWEATHER_BASE_URL: upstream ?? options.openWeatherBaseUrl ?? '',
      },
      join(ROOT, 'functions', 'weather'),
    );

    progress('waiting for Postgres and the services to listen');
    const postgresAddress = await postgres;
    const listening = (url: string) => async () => ((await httpStatus(url)) !== undefined ? true : undefined);
    await guard(
      Promise.all([...backendPorts.map((port) => until(`${local(port)}`, listening(`${local(port)}/health-check`), deadline, signal)), until('the weather service', listening(`${local(weatherPort)}/health-check`), deadline, signal)]),
      ...backends,
      weather,
    );

    // 3. The ingress, once there is something behind it.
    progress('starting HAProxy');
    const rateLimit = options.rateLimit ?? { requests: 20, windowSeconds: 10 };
    const haproxy = launch('haproxy', 'haproxy', ['-db', '-f', options.haproxyConfig ?? join(ROOT, 'haproxy.cfg')], 'files', {
      ...process.env,
      PORT: String(apiPort),
      HAPROXY_ADDRESS: address,
      STATS_PORT: String(statsPort),
      BACKEND_1_ADDRESS: `127.0.0.1:${backendPorts[0]}`,
      BACKEND_2_ADDRESS: `127.0.0.1:${backendPorts[1]}`,
      RATE_LIMIT_AUTH_REQUESTS: String(rateLimit.requests),
      RATE_LIMIT_AUTH_WINDOW_SECONDS: String(rateLimit.windowSeconds),
      MAX_BODY_BYTES: String(options.maxBodyBytes ?? 65_536),
    });
    const api = local(apiPort);
    const stats = `${local(statsPort)}/stats`;
    await guard(until('GET /health-check through HAProxy to answer 200', async () => ((await httpStatus(`${api}/health-check`)) === 200 ? true : undefined), deadline, signal), haproxy, ...backends);
    await guard(
      until('both app backend instances to be UP in HAProxy', async () => {
        const states = await backendServerStates(stats);
        return states['app-backend-1'] === 'UP' && states['app-backend-2'] === 'UP' ? true : undefined;
      }, deadline, signal),
      haproxy,
    );

    const urls: StackUrls = {
      api,
      docs: `${api}/docs`,
      stats,
      metrics: `${local(statsPort)}/metrics`,
      weather: local(weatherPort),
      backends: [local(backendPorts[0]), local(backendPorts[1])],
      standIn: upstream,
      postgres: postgresAddress,
    };
    writePidFile(stateDir, { urls });
    const pids: Partial<Record<ServiceName, number>> = Object.fromEntries([...processes].map(([name, p]) => [name, p.pid]));
    const readyLine = (p: ManagedProcess) => p.waitForLine((line) => (line.startsWith('{"ready":true') ? true : undefined));
    const answering = (url: string) => () => until(url, listening(url), Date.now() + 120_000);
    const ready: Record<ServiceName, (p: ManagedProcess) => Promise<unknown>> = {
      postgres: readyLine,
      'owm-standin': readyLine,
      'weather-service': answering(`${urls.weather}/health-check`),
      'app-backend-1': answering(`${urls.backends[0]}/health-check`),
      'app-backend-2': answering(`${urls.backends[1]}/health-check`),
      haproxy: answering(`${api}/health-check`),
    };
    const restart = async (name: ServiceName) => {
      const spec = launches.get(name);
      if (!spec || stopping) throw new Error(`${name} is not part of this running stack`);
      restarting.add(name);
      try {
        await processes.get(name)!.stop('SIGTERM', 3000);
        const proc = launch(...spec);
        await guard(ready[name](proc), proc);
        pids[name] = proc.pid;
        return proc.pid;
      } finally {
        restarting.delete(name);
      }
    };
    return {
      urls,
      pids,
      restart,
      standInApiKey: options.openWeatherApiKey ? undefined : apiKey,
      logFiles: Object.fromEntries([...processes].map(([name, p]) => [name, p.logFile])),
      stateDir,
      startupMs: Date.now() - started,
      onUnexpectedExit: (listener) => exitListeners.add(listener),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Processes still alive in the groups a stack started (empty after stop()). */
export function leftovers(pids: Partial<Record<ServiceName, number>>): number[] {
  return Object.values(pids).flatMap((pid) => groupMembers(pid!));
}
