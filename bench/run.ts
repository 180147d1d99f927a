// npm run bench: the stack's performance through HAProxy, next to the same handlers in plain fastify processes.
//
//   npm run bench [-- --duration 10] [--warmup 2] [--connections 32] [--no-baseline]
//                 [--url http://localhost:8080 [--standin-url URL]] [--profile] [--offline-mode in-process|worker-threads]
//                 [--only weather-hit,user-get,token,health] [--no-cold] [--keep] [--node-options '--flag ...']
//
// Without --url it starts its own stack (local/stack.ts: free ports, a throw-away state dir, the auth rate
// limit raised) and stops it afterwards. Results: bench/results/latest.{md,json} plus timestamped copies.
// --profile instead runs only the weather-hit and user-get scenarios through the stack, with V8's CPU profiler
// on in the backends and the weather service meanwhile, and writes bench/results/profile.md.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { cityKey } from '../layers/city-names';
import { freePort } from '../local/ports';
import { groupMembers, ManagedProcess } from '../local/processes';
import { startStack, type ServiceName, type Stack } from '../local/stack';
import type { BcryptCeiling } from './bcrypt-ceiling';
import type { LoadResult, LoadSpec } from './load';
import { treeMemory } from './memory';
import { profileMarkdown, summarizeProfile } from './profile-summary';
import { writeReport, type BenchReport, type BurstResult, type ColdBurstReport, type ScenarioReport, type Target } from './report';

const ROOT = resolve(__dirname, '..');
const RESULTS = join(ROOT, 'bench', 'results');
const BCRYPT_COST = 10;
const RATE_LIMIT_RAISED = { requests: 1_000_000, windowSeconds: 10 };
const WARM_CITIES = [
  'London', 'Paris', 'Berlin', 'Madrid', 'Rome', 'Tokyo', 'Oslo', 'Lisbon', 'Vienna', 'Prague',
  'Warsaw', 'Dublin', 'Athens', 'Helsinki', 'Stockholm', 'Copenhagen', 'Zürich', 'São Paulo', 'Москва', 'New York',
];

interface Options {
  durationSeconds: number;
  warmupSeconds: number;
  connections: number;
  baseline: boolean;
  url?: string;
  standInUrl?: string;
  profile: boolean;
  /** scenario ids to run (default all) */
  only?: string[];
  cold: boolean;
  /** keep the throw-away dir (logs, Postgres data) for a look afterwards */
  keep: boolean;
  /** NODE_OPTIONS for the stack's node services (heap flags and the like, to measure their effect) */
  nodeOptions?: string;
  offlineMode: 'in-process' | 'worker-threads';
}

function parseOptions(argv: string[]): Options {
  const value = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const number = (name: string, fallback: number, min: number) => {
    const raw = value(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isFinite(n) || n < min) throw new Error(`${name} must be a number ≥ ${min}, got "${raw}"`);
    return n;
  };
  const mode = value('--offline-mode') ?? 'in-process';
  if (mode !== 'in-process' && mode !== 'worker-threads') throw new Error('--offline-mode must be in-process or worker-threads');
  const url = value('--url')?.replace(/\/+$/, '');
  if (url && (mode !== 'in-process' || argv.includes('--profile'))) throw new Error('--offline-mode and --profile need a stack the bench starts itself (no --url)');
  const only = value('--only')?.split(',');
  const unknown = only?.filter((id) => !SCENARIOS.some((s) => s.id === id));
  if (unknown?.length) throw new Error(`--only: unknown scenario ${unknown.join(', ')} (known: ${SCENARIOS.map((s) => s.id).join(', ')})`);
  return {
    durationSeconds: number('--duration', 10, 1),
    warmupSeconds: number('--warmup', 2, 0),
    connections: number('--connections', 32, 1),
    baseline: !argv.includes('--no-baseline'),
    url,
    standInUrl: value('--standin-url')?.replace(/\/+$/, ''),
    profile: argv.includes('--profile'),
    only,
    cold: !argv.includes('--no-cold'),
    keep: argv.includes('--keep'),
    nodeOptions: value('--node-options'),
    offlineMode: mode,
  };
}

const say = (message: string) => process.stdout.write(`${message}\n`);

/** Process groups the bench started (each led by the pid), checked for leftovers at the end. */
const startedGroups = new Set<number>();

// ---------------------------------------------------------------------------------------------------------
// What is measured: a stack (started here or given by URL) and, beside it, the direct baseline.

interface StackUnderTest {
  api: string;
  standInUrl?: string;
  /** roots of the stack's process trees by service, for memory */
  pids: Record<string, number>;
  startupMs?: number;
  stateDir?: string;
  stop(): Promise<void>;
}

interface Upstream {
  url: string;
  apiKey: string;
  process: ManagedProcess;
}

/** The stand-in, started by the bench so both the stack and the baseline use it with a key the bench knows. */
async function startUpstream(logDir: string): Promise<Upstream> {
  const apiKey = randomBytes(16).toString('hex');
  const proc = new ManagedProcess('owm-standin', process.execPath, ['--import', 'tsx', join(ROOT, 'local', 'owm-standin.ts'), '--port', String(await freePort()), '--api-key', apiKey], {
    cwd: ROOT,
    env: process.env,
    logDir,
    logs: 'plain',
  });
  startedGroups.add(proc.pid);
  const url = await proc.waitForLine((line) => (line.startsWith('{"ready":true') ? (JSON.parse(line) as { url: string }).url : undefined));
  return { url, apiKey, process: proc };
}

async function startOwnStack(stateDir: string, upstream: Upstream, env: Record<string, string>): Promise<{ stack: Stack; target: StackUnderTest }> {
  say('starting the stack (free ports, throw-away state dir)...');
  const stack = await startStack({
    stateDir,
    logDir: join(stateDir, 'logs'),
    port: 0,
    statsPort: 0,
    weatherPort: 0,
    tag: `bench-${process.pid}`,
    rateLimit: RATE_LIMIT_RAISED,
    openWeatherApiKey: upstream.apiKey,
    openWeatherBaseUrl: upstream.url,
    env: { BCRYPT_COST: String(BCRYPT_COST), ...env },
    onProgress: (message) => say(`  ${message}`),
  });
  for (const pid of Object.values(stack.pids)) startedGroups.add(pid!);
  say(`stack healthy in ${(stack.startupMs / 1000).toFixed(1)} s at ${stack.urls.api}`);
  return {
    stack,
    target: {
      api: stack.urls.api,
      standInUrl: upstream.url,
      pids: { ...(stack.pids as Record<string, number>), 'owm-standin': upstream.process.pid },
      startupMs: stack.startupMs,
      stateDir: stack.stateDir,
      stop: () => stack.stop(),
    },
  };
}

/** A stack started by `npm start`: its pid file (local/.data/stack.json) names its processes and stand-in. */
function runningStack(options: Options): StackUnderTest {
  const stateDir = resolve(process.env.LOCAL_STATE_DIR || join(ROOT, 'local', '.data'));
  let pids: Record<string, number> = {};
  let standInUrl = options.standInUrl;
  try {
    const pidFile = JSON.parse(readFileSync(join(stateDir, 'stack.json'), 'utf8')) as { urls?: { api?: string; standIn?: string }; processes: Record<string, { pid: number }> };
    if (pidFile.urls?.api === options.url || pidFile.urls?.api?.replace('127.0.0.1', 'localhost') === options.url) {
      pids = Object.fromEntries(Object.entries(pidFile.processes).map(([name, p]) => [name, p.pid]));
      standInUrl ??= pidFile.urls?.standIn;
    }
  } catch {
    // not started by npm start from this checkout: no memory figures
  }
  return { api: options.url!, standInUrl, pids, stateDir: existsSync(join(stateDir, 'postgres.json')) ? stateDir : undefined, stop: async () => undefined };
}

interface Direct {
  backend: string;
  weather: string;
  stop(): Promise<void>;
}

/** The baseline: each service's routes in one plain fastify process (bench/direct-server.ts). */
async function startDirect(stateDir: string, logDir: string, upstream: Upstream | undefined): Promise<Direct> {
  const launch = async (service: 'backend' | 'weather', extra: Record<string, string>) => {
    const proc = new ManagedProcess(`direct-${service}`, process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'direct-server.ts'), service], {
      cwd: ROOT,
      env: { ...process.env, STAGE: 'local', LOCAL_STATE_DIR: stateDir, BCRYPT_COST: String(BCRYPT_COST), POWERTOOLS_LOG_LEVEL: 'INFO', ...extra },
      logDir,
      // Log lines flow through this process as the stack's do (local/stack.ts routes them the same way).
      logs: 'json',
    });
    startedGroups.add(proc.pid);
    const url = await proc.waitForLine((line) => (line.startsWith('{"ready":true') ? (JSON.parse(line) as { url: string }).url : undefined));
    return { proc, url };
  };
  const weather = await launch('weather', {
    POWERTOOLS_SERVICE_NAME: 'weather-service',
    ...(upstream ? { OPENWEATHER_API_KEY: upstream.apiKey, OPENWEATHER_BASE_URL: upstream.url } : {}),
  });
  const backend = await launch('backend', { POWERTOOLS_SERVICE_NAME: 'app-backend', WEATHER_SERVICE_URL: weather.url });
  return {
    backend: backend.url,
    weather: weather.url,
    async stop() {
      await Promise.all([backend.proc.stop(), weather.proc.stop()]);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Requests

async function call(method: string, url: string, init: { form?: Record<string, string>; json?: unknown; token?: string } = {}) {
  const headers: Record<string, string> = {};
  let body: string | undefined;
  if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams(init.form).toString();
  } else if (init.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(init.json);
  }
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const res = await fetch(url, { method, headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : undefined };
}

interface BenchUser {
  id: string;
  username: string;
  password: string;
  token: string;
}

async function createBenchUser(api: string): Promise<BenchUser> {
  const username = `bench_${randomBytes(6).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const registered = await call('POST', `${api}/register`, { json: { username, password } });
  if (registered.status !== 201) throw new Error(`POST /register answered ${registered.status}: ${JSON.stringify(registered.json)}`);
  const token = await call('POST', `${api}/token`, { form: { username, password } });
  if (token.status !== 200) throw new Error(`POST /token answered ${token.status}: ${JSON.stringify(token.json)}`);
  return { id: String(registered.json!.id), username, password, token: String(token.json!.access_token) };
}

const cityPath = (city: string) => `/weather/${encodeURIComponent(city)}`;

async function warmCities(api: string, token: string): Promise<void> {
  for (const city of WARM_CITIES) {
    const res = await call('GET', `${api}${cityPath(city)}`, { token });
    if (res.status !== 200) throw new Error(`warming GET /weather/${city} answered ${res.status}: ${JSON.stringify(res.json)}`);
  }
}

/** Runs autocannon in a child process (bench/load.ts) and returns what it measured. */
function load(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolveLoad, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), JSON.stringify(spec)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = out.trim().split('\n').pop();
      if (code === 0 && line) resolveLoad(JSON.parse(line) as LoadResult);
      else reject(new Error(`load generator exited with ${code}: ${err}`));
    });
  });
}

async function standInCalls(standInUrl: string | undefined): Promise<Record<string, number> | undefined> {
  if (!standInUrl) return undefined;
  const res = await fetch(`${standInUrl}/__standin/stats`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as { byCity: Record<string, number> }).byCity;
}

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const uncachedCity = () => `Benchcold ${Array.from(randomBytes(10), (b) => LETTERS[b % 26]).join('')}`;
const standInKey = cityKey;

/** One GET on a connection of its own; resolves with the status, or "error". */
function getOnce(url: string, token: string): Promise<string> {
  return new Promise((resolveStatus) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${token}` }, agent: false, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolveStatus(String(res.statusCode)));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolveStatus('error'));
    req.end();
  });
}

/** Sends every request at once (one connection each) and waits for all answers. */
async function burst(api: string, token: string, cities: string[], standInUrl: string | undefined): Promise<BurstResult> {
  const before = await standInCalls(standInUrl);
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const answers = await Promise.all(cities.map((city) => getOnce(`${api}${cityPath(city)}`, token)));
  const ms = Math.round(performance.now() - started);
  for (const status of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  const after = await standInCalls(standInUrl);
  const keys = new Set(cities.map(standInKey));
  const upstreamCalls = before && after ? [...keys].reduce((sum, key) => sum + (after[key] ?? 0) - (before[key] ?? 0), 0) : undefined;
  return { requests: cities.length, cities: keys.size, ms, statuses, upstreamCalls };
}

async function coldBursts(api: string, token: string, standInUrl: string | undefined): Promise<ColdBurstReport> {
  const one = uncachedCity();
  const oneCity = await burst(api, token, Array.from({ length: 100 }, () => one), standInUrl);
  const manyCities = await burst(api, token, Array.from({ length: 50 }, uncachedCity), standInUrl);
  return { oneCity, manyCities };
}

function bcryptCeiling(seconds: number): Promise<BcryptCeiling> {
  const threads = Math.max(4, availableParallelism());
  return new Promise((resolveCeiling, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'bcrypt-ceiling.ts'), String(BCRYPT_COST), String(seconds), String(threads * 2)], {
      cwd: ROOT,
      env: { ...process.env, UV_THREADPOOL_SIZE: String(threads) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolveCeiling(JSON.parse(out.trim()) as BcryptCeiling) : reject(new Error(`bcrypt ceiling exited with ${code}`))));
  });
}

/** HAProxy's new connections vs reused ones towards the app backend instances (its stats CSV, cumulative). */
async function ingressReuse(statsUrl: string): Promise<{ connects: number; reuses: number } | undefined> {
  const res = await fetch(`${statsUrl};csv`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const [header, ...rows] = (await res.text()).trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const [connect, reuse] = [columns.indexOf('connect'), columns.indexOf('reuse')];
  if (connect < 0 || reuse < 0) return undefined;
  const servers = rows.map((r) => r.split(',')).filter((c) => c[0] === 'app_backend' && c[1] !== 'BACKEND');
  return { connects: servers.reduce((n, c) => n + Number(c[connect]), 0), reuses: servers.reduce((n, c) => n + Number(c[reuse]), 0) };
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios

interface Scenario {
  id: string;
  title: string;
  spec(base: string, user: BenchUser): Omit<LoadSpec, 'connections' | 'durationSeconds' | 'warmupSeconds'>;
}

const SCENARIOS: Scenario[] = [
  {
    id: 'weather-hit',
    title: `GET /weather/{city}, cache hit (${WARM_CITIES.length} cities)`,
    spec: (base, user) => ({ url: base, headers: { authorization: `Bearer ${user.token}` }, paths: WARM_CITIES.map(cityPath) }),
  },
  {
    id: 'user-get',
    title: 'GET /user/{id}',
    spec: (base, user) => ({ url: `${base}/user/${user.id}`, headers: { authorization: `Bearer ${user.token}` } }),
  },
  {
    id: 'token',
    title: 'POST /token (form, bcrypt cost 10)',
    spec: (base, user) => ({
      url: `${base}/token`,
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: user.username, password: user.password, grant_type: 'password' }).toString(),
    }),
  },
  {
    id: 'health',
    title: 'GET /health-check',
    spec: (base) => ({ url: `${base}/health-check` }),
  },
];

function targets(report: BenchReport): Target[] {
  const weather = report.scenarios.find((s) => s.id === 'weather-hit');
  const token = report.scenarios.find((s) => s.id === 'token');
  const pct = (r: number) => `${(r * 100).toFixed(0)}%`;
  const list: Target[] = [];
  if (weather) {
    const ratio = weather.direct ? weather.stack.requestsPerSecond / weather.direct.requestsPerSecond : undefined;
    list.push(
      { what: 'weather cache hit: stack / direct req/s', target: '≥ 50%', actual: ratio === undefined ? 'no baseline' : `${pct(ratio)} (${weather.stack.requestsPerSecond} / ${weather.direct!.requestsPerSecond})`, met: ratio === undefined ? undefined : ratio >= 0.5 },
      { what: 'weather cache hit: p99 through the stack', target: '≤ 50 ms', actual: `${weather.stack.latencyMs.p99} ms`, met: weather.stack.latencyMs.p99 <= 50 },
      { what: 'weather cache hit: errors', target: '0', actual: String(weather.stack.errors), met: weather.stack.errors === 0 },
    );
  }
  if (token) {
    const ratio = report.bcrypt ? token.stack.requestsPerSecond / report.bcrypt.comparesPerSecond : undefined;
    list.push({ what: 'POST /token / bcrypt ceiling', target: '≥ 80%', actual: ratio === undefined ? 'not measured' : `${pct(ratio)} (${token.stack.requestsPerSecond} / ${report.bcrypt!.comparesPerSecond})`, met: ratio === undefined ? undefined : ratio >= 0.8 });
  }
  const one = report.coldBurst.stack?.oneCity;
  if (one) list.push({ what: 'cold burst, 100 × one city: upstream calls', target: 'exactly 1', actual: one.upstreamCalls === undefined ? 'not counted' : String(one.upstreamCalls), met: one.upstreamCalls === undefined ? undefined : one.upstreamCalls === 1 });
  const memory = report.stack.idleMemory;
  list.push({ what: 'stack resident memory at idle (sum of RSS)', target: '≤ 800 MB', actual: memory ? `${memory.rssMb} MB (PSS ${memory.pssMb} MB)` : 'not measured', met: memory ? memory.rssMb <= 800 : undefined });
  return list;
}

// ---------------------------------------------------------------------------------------------------------

async function bench(options: Options, cleanups: (() => Promise<void>)[]): Promise<void> {
  const startedAt = new Date().toISOString();
  const loadBefore = loadavg()[0];
  const notes: string[] = [];
  const own = !options.url;
  const scratch = mkdtempSync(join(tmpdir(), 'bench-'));
  chmodSync(scratch, 0o755); // the postgres system user (when run as root) must reach the data dir inside
  cleanups.push(async () => {
    if (options.keep) say(`kept the logs and state in ${scratch}`);
    else rmSync(scratch, { recursive: true, force: true });
  });
  const logDir = join(scratch, 'logs');
  mkdirSync(logDir, { recursive: true });
  const profileDir = join(scratch, 'profiles');
  const stackEnv: Record<string, string> = {};
  const nodeOptions = options.nodeOptions ? [options.nodeOptions] : [];
  if (options.profile) {
    mkdirSync(profileDir);
    nodeOptions.push(`--require ${join(ROOT, 'bench', 'cpu-profile-hook.cjs')}`);
    stackEnv.CPU_PROFILE_DIR = profileDir;
  }
  if (nodeOptions.length) stackEnv.NODE_OPTIONS = nodeOptions.join(' ');
  if (options.offlineMode === 'worker-threads') stackEnv.OFFLINE_IN_PROCESS = 'false';

  let upstream: Upstream | undefined;
  let target: StackUnderTest;
  let stack: Stack | undefined;
  if (own) {
    upstream = await startUpstream(logDir);
    cleanups.push(() => upstream!.process.stop());
    ({ stack, target } = await startOwnStack(join(scratch, 'state'), upstream, stackEnv));
  } else {
    target = runningStack(options);
    say(`using the running stack at ${target.api}${target.standInUrl ? ` (stand-in ${target.standInUrl})` : ' (no stand-in URL: upstream calls are not counted)'}`);
    notes.push('The stack was already running (--url): its auth rate limit applies to POST /token (429s count as errors) unless it was started with RATE_LIMIT_AUTH_REQUESTS raised.');
  }
  cleanups.push(() => target.stop());

  const idleMemory = Object.keys(target.pids).length ? treeMemory(target.pids) : undefined;
  if (idleMemory) say(`stack memory at idle: RSS ${idleMemory.rssMb} MB, PSS ${idleMemory.pssMb} MB`);

  const user = await createBenchUser(target.api);
  await warmCities(target.api, user.token);

  let direct: Direct | undefined;
  if (options.baseline && !options.profile) {
    const stateDir = target.stateDir;
    if (!stateDir) {
      notes.push('No baseline: the running stack\'s state dir (postgres.json, JWT secret) was not found; set LOCAL_STATE_DIR.');
    } else {
      say('starting the direct baseline (one plain fastify process per service)...');
      direct = await startDirect(stateDir, logDir, upstream);
      cleanups.push(() => direct!.stop());
    }
  }

  const base = { connections: options.connections, durationSeconds: options.durationSeconds, warmupSeconds: options.warmupSeconds };
  const scenarios: ScenarioReport[] = [];
  const wanted = options.only ?? (options.profile ? ['weather-hit', 'user-get'] : SCENARIOS.map((s) => s.id));
  const chosen = SCENARIOS.filter((s) => wanted.includes(s.id));
  if (options.profile) toggleProfilers(stack!);
  let bcrypt: BcryptCeiling | undefined;
  for (const scenario of chosen) {
    if (scenario.id === 'token') {
      // Measured right before /token, so both see the machine in the same state.
      say('bcrypt ceiling...');
      bcrypt = await bcryptCeiling(Math.min(5, Math.max(3, options.durationSeconds / 2)));
      say(`  ${bcrypt.comparesPerSecond} compares/s`);
    }
    say(`${scenario.title}: through the stack...`);
    const viaStack = await load({ ...base, ...scenario.spec(target.api, user) });
    say(`  ${viaStack.requestsPerSecond} req/s, p50 ${viaStack.latencyMs.p50} ms, p99 ${viaStack.latencyMs.p99} ms, errors ${viaStack.errors}`);
    let viaDirect: LoadResult | undefined;
    if (direct) {
      say(`${scenario.title}: direct...`);
      viaDirect = await load({ ...base, ...scenario.spec(direct.backend, user) });
      say(`  ${viaDirect.requestsPerSecond} req/s, p50 ${viaDirect.latencyMs.p50} ms, p99 ${viaDirect.latencyMs.p99} ms, errors ${viaDirect.errors}`);
    }
    scenarios.push({ id: scenario.id, title: scenario.title, stack: viaStack, direct: viaDirect });
  }

  if (options.profile) {
    toggleProfilers(stack!);
    await writeProfiles(stack!, profileDir, startedAt, scenarios);
    return;
  }

  const reuse = stack ? await ingressReuse(stack.urls.stats) : undefined;
  if (reuse) say(`HAProxy → backends: ${reuse.connects} connections opened, ${reuse.reuses} reuses`);

  const partial = options.only !== undefined || !options.cold;
  let coldStack: ColdBurstReport | undefined;
  let coldDirect: ColdBurstReport | undefined;
  if (options.cold) {
    say('cold bursts through the stack...');
    coldStack = await coldBursts(target.api, user.token, target.standInUrl);
    say(`  one city: ${coldStack.oneCity.ms} ms, upstream calls ${coldStack.oneCity.upstreamCalls}; ${coldStack.manyCities.cities} cities: ${coldStack.manyCities.ms} ms`);
    if (direct && upstream) {
      say('cold bursts direct...');
      coldDirect = await coldBursts(direct.backend, user.token, upstream.url);
      say(`  one city: ${coldDirect.oneCity.ms} ms, upstream calls ${coldDirect.oneCity.upstreamCalls}; ${coldDirect.manyCities.cities} cities: ${coldDirect.manyCities.ms} ms`);
    }
  }

  const report: BenchReport = {
    startedAt,
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model.trim() ?? '?',
      memoryGb: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverage: { before: Math.round(loadBefore * 100) / 100, after: Math.round(loadavg()[0] * 100) / 100 },
    },
    settings: { ...base, bcryptCost: BCRYPT_COST },
    loadGenerator: `autocannon ${autocannonVersion()} in a child process (one thread, ${options.connections} keep-alive connections) on the same ${availableParallelism()}-core machine, competing with the servers for CPU`,
    stack: {
      url: target.api,
      startedByBench: own,
      startupSeconds: target.startupMs === undefined ? undefined : Math.round(target.startupMs / 100) / 10,
      offlineMode: own ? options.offlineMode : 'as configured',
      rateLimit: own ? `raised to ${RATE_LIMIT_RAISED.requests} per ${RATE_LIMIT_RAISED.windowSeconds} s for the bench` : 'as configured',
      idleMemory,
      ingressConnections: reuse,
    },
    scenarios,
    bcrypt,
    coldBurst: { stack: coldStack, direct: coldDirect },
    targets: [],
    notes,
  };
  report.targets = targets(report);
  if (!direct) notes.push('No direct baseline in this run.');
  // A partial run (--only, --no-cold) keeps only its timestamped copy: latest.* always holds a whole run.
  const files = writeReport(RESULTS, report, partial ? undefined : 'latest');
  say(`\nreport: ${files.map((f) => relative(process.cwd(), f)).join(', ')}`);
  for (const t of report.targets) say(`  ${t.met === undefined ? '?' : t.met ? '✓' : '✗'} ${t.what}: ${t.actual} (target ${t.target})`);
}

function autocannonVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'autocannon', 'package.json'), 'utf8')) as { version: string }).version;
}

const PROFILED: ServiceName[] = ['app-backend-1', 'app-backend-2', 'weather-service-1', 'weather-service-2'];

/** Starts (first call) or stops and writes (second call) the CPU profiles of the stack's node services. */
function toggleProfilers(stack: Stack): void {
  for (const name of PROFILED) process.kill(stack.pids[name]!, 'SIGUSR2');
}

/** Summarises the profiles bench/cpu-profile-hook.cjs wrote (while the bundles and their source maps exist). */
async function writeProfiles(stack: Stack, profileDir: string, startedAt: string, scenarios: ScenarioReport[]) {
  const sections = [
    `# CPU profiles ${startedAt}`,
    '',
    'Self time per function while these scenarios ran through the stack (the V8 profiler ran only during them):',
    '',
    ...scenarios.map((s) => `- ${s.title}: ${s.stack.requestsPerSecond} req/s, p99 ${s.stack.latencyMs.p99} ms, errors ${s.stack.errors}`),
  ];
  for (const name of PROFILED) {
    const file = join(profileDir, `${stack.pids[name]}.cpuprofile`);
    for (let i = 0; i < 50 && !existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    sections.push('', `## ${name}`, '', existsSync(file) ? profileMarkdown(summarizeProfile(file, 25)) : 'no profile was written');
  }
  mkdirSync(RESULTS, { recursive: true });
  const markdown = `${sections.join('\n')}\n`;
  writeFileSync(join(RESULTS, 'profile.md'), markdown);
  writeFileSync(join(RESULTS, `profile-${startedAt.replace(/[:.]/g, '-')}.md`), markdown);
  say(`\nprofiles: ${relative(process.cwd(), join(RESULTS, 'profile.md'))}`);
}

async function main() {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`npm run bench: ${(err as Error).message}\n`);
    process.exit(2);
  }
  const cleanups: (() => Promise<void>)[] = [];
  let cleaning: Promise<void> | undefined;
  // Everything the bench started is stopped, in reverse order, however it ends.
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
    await bench(options, cleanups);
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
