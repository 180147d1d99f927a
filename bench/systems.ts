// What is measured: a stack (started here, or already running at --url), the OpenWeatherMap stand-in both use,
// and beside them the direct baseline (each service's routes in one plain fastify process).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../local/ports';
import { fetchStats, serverRows, type StatsEndpoint } from '../local/services/haproxy-stats';
import { ManagedProcess, parseReadyLine } from '../local/processes';
import { startStack, type Stack, type StackOptions } from '../local/stack';
import { BCRYPT_COST, RATE_LIMITS_RAISED, ROOT, STACK_LIMITS_RAISED, say, type BenchContext } from './context';

export interface StackUnderTest {
  api: string;
  stats?: StatsEndpoint;
  standInUrl?: string;
  /** roots of the stack's process trees by service name, for memory, CPU and pinning */
  pids: Record<string, number>;
  /** the process that runs the stack and relays its log lines: the bench itself, or `npm start` (its pid file) */
  runnerPid?: number;
  startupMs?: number;
  /** when it was reported healthy (Date.now()), when the bench started it */
  healthyAt?: number;
  stateDir?: string;
  /** the stack object when the bench started it (profiles need its pids) */
  own?: Stack;
  stop(): Promise<void>;
}

export interface Upstream {
  url: string;
  apiKey: string;
  process: ManagedProcess;
}

const readyUrl = (line: string) => parseReadyLine<{ url: string }>(line)?.url;

/** The stand-in, started by the bench so both the stack and the baseline use it with a key the bench knows. */
export async function startUpstream(ctx: BenchContext): Promise<Upstream> {
  const apiKey = randomBytes(16).toString('hex');
  const args = ['--import', 'tsx', join(ROOT, 'local', 'bin', 'owm-standin.ts'), '--port', String(await freePort()), '--api-key', apiKey];
  const proc = new ManagedProcess('owm-standin', process.execPath, args, { cwd: ROOT, env: process.env, logDir: ctx.logDir, logs: 'plain' });
  ctx.startedGroups.add(proc.pid);
  ctx.cleanups.push(() => proc.stop());
  return { url: await proc.waitForLine(readyUrl), apiKey, process: proc };
}

/** Replica counts (BACKEND_REPLICAS / WEATHER_REPLICAS of the runner). */
export interface Replicas {
  backendReplicas?: number;
  weatherReplicas?: number;
}

/** Starts a stack of its own: free ports, a throw-away state dir, the edge's rate limits raised. */
export async function startOwnStack(
  ctx: BenchContext,
  name: string,
  upstream: Upstream,
  env: Record<string, string>,
  replicas: Replicas = {},
): Promise<StackUnderTest> {
  say(`starting a stack${name ? ` (${name})` : ''}: free ports, throw-away state dir...`);
  const options: StackOptions = {
    stateDir: join(ctx.scratch, `state${name ? `-${name}` : ''}`),
    logDir: join(ctx.logDir, name || 'stack'),
    tag: `bench-${process.pid}${name ? `-${name}` : ''}`,
    env: {
      PORT: '0',
      STATS_PORT: '0',
      WEATHER_HTTP_PORT: '0',
      ...RATE_LIMITS_RAISED,
      OPENWEATHER_API_KEY: upstream.apiKey,
      OPENWEATHER_BASE_URL: upstream.url,
      BCRYPT_COST: String(BCRYPT_COST),
      ...STACK_LIMITS_RAISED,
      ...(replicas.backendReplicas ? { BACKEND_REPLICAS: String(replicas.backendReplicas) } : {}),
      ...(replicas.weatherReplicas ? { WEATHER_REPLICAS: String(replicas.weatherReplicas) } : {}),
      ...env,
    },
    onProgress: (message: string) => say(`  ${message}`),
  };
  const stack = await startStack(options);
  const pids = Object.fromEntries(Object.entries(stack.pids).filter((e): e is [string, number] => e[1] !== undefined));
  for (const pid of Object.values(pids)) ctx.startedGroups.add(pid);
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= stack.stop());
  ctx.cleanups.push(stop);
  say(`stack healthy in ${(stack.startupMs / 1000).toFixed(1)} s at ${stack.urls.api}`);
  return {
    api: stack.urls.api,
    stats: { url: stack.urls.stats, login: stack.statsLogin },
    standInUrl: upstream.url,
    pids: { ...pids, 'owm-standin': upstream.process.pid },
    runnerPid: process.pid,
    startupMs: stack.startupMs,
    healthyAt: Date.now(),
    stateDir: stack.stateDir,
    own: stack,
    stop,
  };
}

/** A stack started by `npm start`: its pid file (local/.data/stack.json) names its processes and stand-in. */
export function runningStack(url: string, standIn: string | undefined): StackUnderTest {
  const stateDir = resolve(process.env.LOCAL_STATE_DIR || join(ROOT, 'local', '.data'));
  let pids: Record<string, number> = {};
  let standInUrl = standIn;
  let stats: StatsEndpoint | undefined;
  let runnerPid: number | undefined;
  try {
    const pidFile = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as {
      pid: number;
      urls?: { api?: string; standIn?: string; stats?: string };
      processes: Record<string, { pid: number }>;
    };
    if (pidFile.urls?.api === url || pidFile.urls?.api?.replace('127.0.0.1', 'localhost') === url) {
      pids = Object.fromEntries(Object.entries(pidFile.processes).map(([name, p]) => [name, p.pid]));
      standInUrl ??= pidFile.urls?.standIn;
      const password = join(stateDir, 'stats-password');
      if (pidFile.urls?.stats && existsSync(password))
        stats = { url: pidFile.urls.stats, login: { user: 'stats', password: readFileSync(password, 'utf8').trim() } };
      runnerPid = pidFile.pid;
    }
  } catch {
    // not started by npm start from this checkout: no memory or CPU figures
  }
  return {
    api: url,
    stats,
    standInUrl,
    pids,
    runnerPid,
    stateDir: existsSync(join(stateDir, 'postgres.json')) ? stateDir : undefined,
    stop: async () => undefined,
  };
}

export interface Direct {
  backend: string;
  weather: string;
  /** direct-backend and direct-weather, the bench's children (it relays their log lines) */
  pids: Record<string, number>;
}

/** The baseline: each service's routes in one plain fastify process (bench/direct-server.ts). */
export async function startDirect(ctx: BenchContext, stateDir: string, upstream: Upstream | undefined): Promise<Direct> {
  // the credential the stack generated: the direct backend sends it, the direct weather service checks it
  const token = serviceToken(stateDir);
  const pids: Record<string, number> = {};
  const launch = async (service: 'backend' | 'weather', extra: Record<string, string>) => {
    const proc = new ManagedProcess(`direct-${service}`, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'direct-server.ts'), service], {
      cwd: ROOT,
      env: {
        ...process.env,
        STAGE: 'local',
        LOCAL_STATE_DIR: stateDir,
        BCRYPT_COST: String(BCRYPT_COST),
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...STACK_LIMITS_RAISED,
        WEATHER_SERVICE_TOKEN: token,
        ...extra,
      },
      logDir: ctx.logDir,
      // Log lines flow through this process as the stack's do (local/stack.ts routes them the same way).
      logs: 'json',
    });
    ctx.startedGroups.add(proc.pid);
    ctx.cleanups.push(() => proc.stop());
    pids[proc.name] = proc.pid;
    return proc.waitForLine(readyUrl);
  };
  const weather = await launch('weather', {
    POWERTOOLS_SERVICE_NAME: 'weather-service',
    ...(upstream ? { OPENWEATHER_API_KEY: upstream.apiKey, OPENWEATHER_BASE_URL: upstream.url } : {}),
  });
  const backend = await launch('backend', { POWERTOOLS_SERVICE_NAME: 'app-backend', WEATHER_SERVICE_URL: weather });
  return { backend, weather, pids };
}

/** The weather service credential a stack generated into its state dir (local/stack.ts, layers/config/local-state.ts). */
export const serviceToken = (stateDir: string) => process.env.WEATHER_SERVICE_TOKEN || readFileSync(join(stateDir, 'weather-service-token'), 'utf8').trim();

/** New connections vs reused ones towards the app backend instances (cumulative, from HAProxy's stats). */
export async function ingressReuse(stats: StatsEndpoint): Promise<{ connects: number; reuses: number } | undefined> {
  const servers = serverRows((await fetchStats(stats.url, stats.login).catch(() => undefined)) ?? [], 'app_backend');
  if (!servers.length || servers[0].connect === undefined) return undefined;
  const sum = (column: string) => servers.reduce((n, r) => n + Number(r[column] || 0), 0);
  return { connects: sum('connect'), reuses: sum('reuse') };
}
