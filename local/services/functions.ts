// The stack's function services: the app backend's and the weather service's replicas, each a serverless-offline
// instance on its own ports, loading the bundles the stack built once (OFFLINE_PREBUILT). This module decides each
// instance's environment (only its own service's settings), its command line and when it counts as ready.
import { request } from 'node:http';
import { join } from 'node:path';
import type { AnySchema } from '../../layers/config/schema';
import { ROOT } from '../paths';
import { sleep } from '../processes';
import type { ServiceSpec } from '../supervisor';

export interface InstancePorts {
  http: number;
  lambda: number;
}

/** The header HAProxy adds to every request it forwards, and that the functions require while a runner runs them. */
export const EDGE_PROOF_HEADER = 'x-edge-proof';

export const backendName = (i: number): string => `app-backend-${i + 1}`;
export const weatherName = (i: number): string => `weather-service-${i + 1}`;
export const local = (port: number): string => `http://127.0.0.1:${port}`;

/** The status code of a GET, or undefined when nothing answers in time. */
export function httpStatus(url: string, headers: Record<string, string> = {}, timeoutMs = 2000): Promise<number | undefined> {
  return new Promise((resolveStatus) => {
    const req = request(url, { method: 'GET', timeout: timeoutMs, agent: false, headers }, (res) => {
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

/**
 * The environment of one service's processes: the runner's own (PATH, HOME, NODE_OPTIONS …) without any declared
 * setting (docs/configuration.md), plus the settings of the schemas it reads, as the runner was given them.
 */
export function serviceEnvironment(env: NodeJS.ProcessEnv, own: readonly AnySchema[], declared: ReadonlySet<string>): NodeJS.ProcessEnv {
  const mine = new Set(own.flatMap((schema) => Object.values(schema.specs).map((spec) => spec.variable)));
  return Object.fromEntries(Object.entries(env).filter(([name, value]) => value !== undefined && (mine.has(name) || !declared.has(name))));
}

export interface FunctionServiceOptions {
  /** Environment of the instances (their service's settings, the local state dir, the edge proof…). */
  env: NodeJS.ProcessEnv;
  /** The prebuilt bundles this service loads. */
  bundleDir: string;
  /** The instances' log hook (bundled) and where their logs go, rotated so. */
  logs: { hook: string; dir: string; maxBytes: number; filesKept: number };
  /** --max-old-space-size of each instance (MB). */
  maxOldSpaceMb: number;
  /** Reload changed bundles into the running instances (npm run dev). */
  dev: boolean;
  /** The per-start secret the instances require of every request (sent by the readiness probe too). */
  edgeProof: string;
  /** Waited for before the first start (the bundles). */
  prepare: () => Promise<void>;
  dependsOn?: string[];
  readyTimeoutMs: number;
  signal?: AbortSignal;
}

/** node [hooks] serverless offline start, on the instance's own ports: its own log files, idle connections kept long, dev reload. */
function offlineArgs(ports: InstancePorts, logHook: string, dev: boolean): string[] {
  const sls = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
  const hooks = [logHook, ...['keep-alive.cjs', ...(dev ? ['dev-reload.cjs'] : [])].map((hook) => join(ROOT, 'local', 'services', hook))];
  return [
    ...hooks.flatMap((hook) => ['--require', hook]),
    sls,
    'offline',
    'start',
    '--stage',
    'local',
    '--httpPort',
    String(ports.http),
    '--lambdaPort',
    String(ports.lambda),
  ];
}

function instanceSpec(name: string, group: string, cwd: string, ports: InstancePorts, env: NodeJS.ProcessEnv, o: FunctionServiceOptions): ServiceSpec {
  const url = local(ports.http);
  return {
    name,
    group,
    command: process.execPath,
    args: offlineArgs(ports, o.logs.hook, o.dev),
    env: {
      ...o.env,
      ...env,
      // The old-space cap first, so a caller's own --max-old-space-size (later) wins.
      NODE_OPTIONS: [`--max-old-space-size=${o.maxOldSpaceMb}`, o.env.NODE_OPTIONS].filter(Boolean).join(' '),
      OFFLINE_PREBUILT: 'true',
      OFFLINE_PREBUILT_DIR: o.bundleDir,
      OFFLINE_RELOAD: o.dev ? 'true' : 'false',
      // serverless-offline's per-request notice lines would otherwise land in the function logs.
      SLS_LOG_LEVEL: 'warning',
      EDGE_PROOF_SECRET: o.edgeProof,
      INSTANCE_LOGS: JSON.stringify({ file: join(o.logs.dir, `${name}.log`), maxBytes: o.logs.maxBytes, filesKept: o.logs.filesKept }),
    },
    cwd,
    logs: 'self',
    dependsOn: o.dependsOn,
    prepare: o.prepare,
    // Ready once its /health-check answers at all (the database may still be starting).
    ready: () =>
      until(
        url,
        async () => ((await httpStatus(`${url}/health-check`, { [EDGE_PROOF_HEADER]: o.edgeProof })) !== undefined ? true : undefined),
        o.readyTimeoutMs,
        o.signal,
      ),
    stop: { signal: 'SIGTERM', graceMs: 5000 },
  };
}

/** The app backend's replicas; they reach the weather service through `weatherUrl` (HAProxy's loopback balancer). */
export function backendServices(ports: InstancePorts[], weatherUrl: string, options: FunctionServiceOptions): ServiceSpec[] {
  return ports.map((p, i) => instanceSpec(backendName(i), 'app-backend', ROOT, p, { WEATHER_SERVICE_URL: weatherUrl }, options));
}

/** The weather service's replicas, calling the provider at `openWeather`. */
export function weatherServices(ports: InstancePorts[], openWeather: { apiKey: string; baseUrl: string }, options: FunctionServiceOptions): ServiceSpec[] {
  return ports.map((p, i) =>
    instanceSpec(
      weatherName(i),
      'weather-service',
      join(ROOT, 'functions', 'weather'),
      p,
      {
        WEATHER_HTTP_PORT: String(p.http),
        WEATHER_LAMBDA_PORT: String(p.lambda),
        OPENWEATHER_API_KEY: openWeather.apiKey,
        OPENWEATHER_BASE_URL: openWeather.baseUrl,
      },
      options,
    ),
  );
}
