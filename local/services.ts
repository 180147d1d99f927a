// The table of services a local stack runs, in start order: what each one runs, with which environment and
// ports, when it counts as ready, and how it is stopped. local/supervisor.ts runs the table.
import { request } from 'node:http';
import { join } from 'node:path';
import { serverStates } from './haproxy-stats';
import { parseReadyLine, sleep, type ManagedProcess } from './processes';
import type { ServiceSpec } from './supervisor';

export interface InstancePorts {
  http: number;
  lambda: number;
}

/** Everything decided before anything starts: ports, directories, environments. */
export interface StackPlan {
  root: string;
  stateDir: string;
  address: string;
  apiPort: number;
  statsPort: number;
  /** HAProxy's loopback frontend for the weather replicas: WEATHER_SERVICE_URL's port. */
  weatherPort: number;
  backends: InstancePorts[];
  weathers: InstancePorts[];
  /** Embedded Postgres's port; undefined with an external database. */
  postgresPort?: number;
  /** The stand-in's port; undefined with a real OpenWeatherMap key. */
  standInPort?: number;
  /** Environment of every service (the runner's, the caller's extras, the generated secrets). */
  baseEnv: NodeJS.ProcessEnv;
  /** Environment of the functions' instances (no service's own secrets: those are added per service). */
  serviceEnv: NodeJS.ProcessEnv;
  /** The backend's token secret (given, or generated once into the state dir). */
  jwtSecret: string;
  backendBundle: string;
  weatherBundle: string;
  openWeather: { apiKey: string; baseUrl: string };
  haproxyConfigFile: string;
  haproxyEnv: NodeJS.ProcessEnv;
  /** --max-old-space-size of each serverless-offline instance (MB). */
  instanceMaxOldSpaceMb: number;
  /** Reload changed bundles into running instances (npm run dev). */
  dev: boolean;
  readyTimeoutMs: number;
  signal?: AbortSignal;
}

/** Work the table waits for: bundling before the instances load it; migrations before HAProxy's first health check. */
export interface StackTasks {
  bundled: () => Promise<void>;
  migrated: () => Promise<void>;
}

export const local = (port: number): string => `http://127.0.0.1:${port}`;

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

/** Polls `probe` every 200 ms until it returns a value; fails after timeoutMs or when the signal aborts. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (signal?.aborted) throw new Error('startup aborted');
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

export const backendName = (i: number): string => `app-backend-${i + 1}`;
export const weatherName = (i: number): string => `weather-service-${i + 1}`;

const readyLine = (proc: ManagedProcess) => proc.waitForLine((line) => parseReadyLine(line));

/** Ready once its /health-check answers at all (the database may still be starting). */
const answering = (plan: StackPlan, url: string) => () =>
  until(url, async () => ((await httpStatus(`${url}/health-check`)) !== undefined ? true : undefined), plan.readyTimeoutMs, plan.signal);

function postgresSpec(plan: StackPlan): ServiceSpec {
  const script = join(plan.root, 'local', 'postgres.ts');
  return {
    name: 'postgres',
    group: 'postgres',
    command: process.execPath,
    args: ['--import', 'tsx', script, '--state-dir', plan.stateDir, '--port', String(plan.postgresPort), '--exit-with-parent'],
    env: plan.baseEnv,
    cwd: plan.root,
    logs: 'plain',
    stdin: true,
    ready: readyLine,
    stop: { signal: 'SIGTERM', graceMs: 15_000 },
  };
}

function standInSpec(plan: StackPlan): ServiceSpec {
  return {
    name: 'owm-standin',
    group: 'owm-standin',
    command: process.execPath,
    args: ['--import', 'tsx', join(plan.root, 'local', 'owm-standin.ts'), '--port', String(plan.standInPort)],
    // The key travels in the environment, not on the command line (ps, the pid file).
    env: { ...plan.baseEnv, OPENWEATHER_API_KEY: plan.openWeather.apiKey },
    cwd: plan.root,
    logs: 'plain',
    ready: readyLine,
    stop: { signal: 'SIGTERM', graceMs: 3000 },
  };
}

/** node [dev reload hook] serverless offline start on the instance's own ports. */
function offlineArgs(plan: StackPlan, ports: InstancePorts): string[] {
  const sls = join(plan.root, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const hook = plan.dev ? ['--require', join(plan.root, 'local', 'dev-reload.cjs')] : [];
  return [...hook, sls, 'offline', 'start', '--stage', 'local', '--httpPort', String(ports.http), '--lambdaPort', String(ports.lambda)];
}

/** The instance's NODE_OPTIONS: the old-space cap first, so a caller's own --max-old-space-size (later) wins. */
const instanceNodeOptions = (plan: StackPlan): string =>
  [`--max-old-space-size=${plan.instanceMaxOldSpaceMb}`, plan.serviceEnv.NODE_OPTIONS].filter(Boolean).join(' ');

function weatherSpec(plan: StackPlan, tasks: StackTasks, ports: InstancePorts, i: number): ServiceSpec {
  return {
    name: weatherName(i),
    group: 'weather-service',
    command: process.execPath,
    args: offlineArgs(plan, ports),
    env: {
      ...plan.serviceEnv,
      NODE_OPTIONS: instanceNodeOptions(plan),
      OFFLINE_PREBUILT_DIR: plan.weatherBundle,
      WEATHER_HTTP_PORT: String(ports.http),
      WEATHER_LAMBDA_PORT: String(ports.lambda),
      OPENWEATHER_API_KEY: plan.openWeather.apiKey,
      OPENWEATHER_BASE_URL: plan.openWeather.baseUrl,
    },
    cwd: join(plan.root, 'functions', 'weather'),
    logs: 'json',
    dependsOn: plan.standInPort === undefined ? [] : ['owm-standin'],
    prepare: tasks.bundled,
    ready: answering(plan, local(ports.http)),
    stop: { signal: 'SIGTERM', graceMs: 5000 },
  };
}

function backendSpec(plan: StackPlan, tasks: StackTasks, ports: InstancePorts, i: number): ServiceSpec {
  return {
    name: backendName(i),
    group: 'app-backend',
    command: process.execPath,
    args: offlineArgs(plan, ports),
    env: {
      ...plan.serviceEnv,
      NODE_OPTIONS: instanceNodeOptions(plan),
      OFFLINE_PREBUILT_DIR: plan.backendBundle,
      WEATHER_SERVICE_URL: local(plan.weatherPort),
      JWT_SECRET: plan.jwtSecret,
    },
    cwd: plan.root,
    logs: 'json',
    prepare: tasks.bundled,
    ready: answering(plan, local(ports.http)),
    stop: { signal: 'SIGTERM', graceMs: 5000 },
  };
}

/** HAProxy is ready when /health-check answers 200 through it and every replica of both backends is UP. */
function haproxyReady(plan: StackPlan): () => Promise<unknown> {
  const stats = `${local(plan.statsPort)}/stats`;
  const allUp = async (backend: string, count: number) => {
    const states = Object.values(await serverStates(stats, backend));
    return states.length === count && states.every((state) => state === 'UP');
  };
  return async () => {
    const api = `http://${plan.address === '0.0.0.0' ? '127.0.0.1' : plan.address}:${plan.apiPort}`;
    await until(
      'GET /health-check through HAProxy to answer 200',
      async () => ((await httpStatus(`${api}/health-check`)) === 200 ? true : undefined),
      plan.readyTimeoutMs,
      plan.signal,
    );
    const up = async () => ((await allUp('app_backend', plan.backends.length)) && (await allUp('weather_service', plan.weathers.length)) ? true : undefined);
    await until('every app backend and weather service instance to be UP in HAProxy', up, plan.readyTimeoutMs, plan.signal);
  };
}

function haproxySpec(plan: StackPlan, tasks: StackTasks, dependsOn: string[]): ServiceSpec {
  return {
    name: 'haproxy',
    group: 'haproxy',
    command: 'haproxy',
    args: ['-db', '-f', plan.haproxyConfigFile],
    env: plan.haproxyEnv,
    cwd: plan.root,
    logs: 'files',
    dependsOn,
    prepare: tasks.migrated,
    ready: haproxyReady(plan),
    stop: { signal: 'SIGUSR1', graceMs: 6000 }, // soft stop: finish what is in flight
  };
}

/** The stack's services in start order; stop() goes through them in reverse (replicas of a group together). */
export function serviceTable(plan: StackPlan, tasks: StackTasks): ServiceSpec[] {
  const weathers = plan.weathers.map((ports, i) => weatherSpec(plan, tasks, ports, i));
  const backends = plan.backends.map((ports, i) => backendSpec(plan, tasks, ports, i));
  const instances = [...weathers, ...backends].map((spec) => spec.name);
  return [
    ...(plan.postgresPort === undefined ? [] : [postgresSpec(plan)]),
    ...(plan.standInPort === undefined ? [] : [standInSpec(plan)]),
    ...weathers,
    ...backends,
    haproxySpec(plan, tasks, plan.postgresPort === undefined ? instances : ['postgres', ...instances]),
  ];
}
