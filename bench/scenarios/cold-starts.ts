// Cold starts of the packaged functions: `sls package` for both services, each zip unzipped and started in a fresh
// node process (bench/cold-start-probe.cjs: handler loaded, then the first API Gateway v2 event answered), beside a
// floor of the same run: a bare fastify app behind @fastify/aws-lambda, bundled with the functions' esbuild settings.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { parse } from 'yaml';
import { ROOT, say } from '../context';
import type { Run } from './scenario';

const run$ = promisify(execFile);

export interface ColdStart {
  service: string;
  fn: string;
  zipBytes?: number;
  /** medians over the repeats, ms since the process started */
  loadedMs: number;
  answeredMs: number;
  status?: number;
  ratioToFloor?: number;
}

export interface ColdStartReport {
  repeats: number;
  floor: ColdStart;
  functions: ColdStart[];
  failures: string[];
}

interface Packaged {
  service: string;
  fn: string;
  handler: string;
  zip: string;
  env: Record<string, string>;
  event: Record<string, unknown>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const SLS = join(ROOT, 'node_modules', 'serverless', 'bin', 'serverless.js');
const STAGE = 'dev';

/** Where the probes' functions find a database, a JWT secret and the weather service: the main stack, when it runs. */
interface Live {
  stateDir?: string;
  weatherUrl?: string;
  token?: string;
  userId?: string;
}

/**
 * A deployment's settings come from its parameters; here the function reads the main stack's state dir (its Postgres
 * and JWT secret, as STAGE=local does) so DB-backed routes answer as in service; without one, values that load.
 */
function probeEnv(env: Record<string, string>, live: Live): Record<string, string> {
  const filled: Record<string, string> = { ...env };
  if (live.stateDir) Object.assign(filled, { STAGE: 'local', LOCAL_STATE_DIR: live.stateDir, DATABASE_URL: '', WEATHER_DATABASE_URL: '', JWT_SECRET: '' });
  else Object.assign(filled, { DATABASE_URL: filled.DATABASE_URL || 'postgres://bench:bench@127.0.0.1:9/bench', JWT_SECRET: filled.JWT_SECRET || randomBytes(32).toString('hex') });
  if (live.weatherUrl) filled.WEATHER_SERVICE_URL = live.weatherUrl;
  for (const [key, value] of Object.entries(filled)) if (value === '') delete filled[key];
  return filled;
}

/** The first request a function would see: its own route as an API Gateway v2 event (path parameters filled in). */
function apiEvent(method: string, path: string, live: Live = {}): Record<string, unknown> {
  const pathParameters: Record<string, string> = {};
  const value = (name: string) => (name.includes('city') ? 'London' : (live.userId ?? '00000000-0000-4000-8000-000000000000'));
  const rawPath = path.replace(/\{([^}+]+)\+?\}/g, (_, name: string) => (pathParameters[name] = value(name)));
  const now = Date.now();
  return {
    version: '2.0', routeKey: `${method} ${path}`, rawPath, rawQueryString: '', isBase64Encoded: false,
    headers: { host: 'bench.example', 'content-type': 'application/json', 'user-agent': 'cold-start-probe', ...(live.token ? { authorization: `Bearer ${live.token}` } : {}) },
    pathParameters: Object.keys(pathParameters).length ? pathParameters : undefined,
    requestContext: { accountId: '000000000000', apiId: 'bench', domainName: 'bench.example', requestId: `cold-${now}`, routeKey: `${method} ${path}`, stage: '$default', time: new Date(now).toISOString(), timeEpoch: now, http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'cold-start-probe' } },
    body: method === 'POST' ? '{}' : undefined,
  };
}

async function packageService(service: string, cwd: string, outDir: string, live: Live): Promise<Packaged[]> {
  say(`cold starts: sls package ${service}...`);
  // a work folder of its own (git-ignored .esbuild-*), so a running `npm start` in this checkout is not disturbed
  const work = `.esbuild-bench-${process.pid}`;
  try {
    await run$(process.execPath, [SLS, 'package', '--stage', STAGE, '--package', outDir], { cwd, env: { ...process.env, SLS_LOG_LEVEL: 'warning', ESBUILD_WORK_FOLDER: work }, timeout: 300_000, maxBuffer: 16 * 2 ** 20 });
  } finally {
    rmSync(join(cwd, work), { recursive: true, force: true });
  }
  const state = JSON.parse(readFileSync(join(outDir, 'serverless-state.json'), 'utf8')) as {
    service: { provider: { environment?: Record<string, string> }; functions: Record<string, { handler: string; environment?: Record<string, string>; package?: { artifact?: string }; events?: { httpApi?: { method: string; path: string } }[] }> };
  };
  return Object.entries(state.service.functions).map(([fn, def]) => {
    const route = def.events?.find((e) => e.httpApi)?.httpApi ?? { method: 'GET', path: '/health-check' };
    const method = route.method === '*' ? 'GET' : route.method.toUpperCase();
    const path = route.path === '*' ? '/no-such-route' : route.path;
    return { service, fn, handler: def.handler, zip: join(outDir, basename(def.package?.artifact ?? `${fn}.zip`)), env: probeEnv({ ...state.service.provider.environment, ...def.environment }, live), event: apiEvent(method, path, live) };
  });
}

async function probe(dir: string, handler: string, env: Record<string, string>, event: Record<string, unknown>) {
  const { stdout } = await run$(process.execPath, [join(ROOT, 'bench', 'cold-start-probe.cjs'), dir, handler, JSON.stringify(event)], { cwd: dir, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 60_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!) as { loadedMs: number; answeredMs: number; status?: number };
}

async function measure(dir: string, handler: string, env: Record<string, string>, event: Record<string, unknown>, repeats: number) {
  const runs = [];
  for (let i = 0; i < repeats; i++) runs.push(await probe(dir, handler, env, event));
  return { loadedMs: median(runs.map((r) => r.loadedMs)), answeredMs: median(runs.map((r) => r.answeredMs)), status: runs[0].status };
}

/** The floor, built with the esbuild settings of serverless.yml's custom.esbuild (bundle, target, minify, format). */
async function buildFloor(outDir: string): Promise<string> {
  const settings = (parse(readFileSync(join(ROOT, 'serverless.yml'), 'utf8')) as { custom: { esbuild: Record<string, unknown> } }).custom.esbuild;
  await build({
    entryPoints: [join(ROOT, 'bench', 'cold-start-floor.ts')], outfile: join(outDir, 'floor.js'), bundle: true, platform: 'node',
    target: String(settings.target ?? 'node20'), format: 'cjs', minify: settings.minify === true, logLevel: 'error',
  });
  return outDir;
}

export async function runColdStarts(run: Run): Promise<void> {
  const repeats = run.ctx.options.quick ? 1 : 3;
  const root = join(run.ctx.scratch, 'cold-starts');
  const failures: string[] = [];
  const packaged: Packaged[] = [];
  const live: Live = { stateDir: run.target.own ? run.target.stateDir : undefined, weatherUrl: run.target.own?.urls.weather, token: run.user.token, userId: run.user.id };
  for (const [service, cwd] of [['app-backend', ROOT], ['weather-service', join(ROOT, 'functions', 'weather')]] as const) {
    await packageService(service, cwd, join(root, 'package', service), live).then((list) => packaged.push(...list), (err: Error) => failures.push(`sls package ${service}: ${err.message.split('\n').slice(0, 3).join(' ')}`));
  }
  const floorDir = await buildFloor(join(root, 'floor'));
  const floorEnv = { NODE_OPTIONS: packaged[0]?.env.NODE_OPTIONS ?? '' };
  const floor: ColdStart = { service: 'floor', fn: 'bare fastify + @fastify/aws-lambda', ...(await measure(floorDir, 'floor.handler', floorEnv, apiEvent('GET', '/health-check'), repeats)) };
  say(`  floor: loaded ${floor.loadedMs} ms, answered ${floor.answeredMs} ms`);
  const functions: ColdStart[] = [];
  for (const p of packaged) {
    const dir = join(root, 'unzipped', p.service, p.fn);
    mkdirSync(dir, { recursive: true });
    try {
      await run$('unzip', ['-q', '-o', p.zip, '-d', dir]);
      const m = await measure(dir, p.handler, p.env, p.event, repeats);
      functions.push({ service: p.service, fn: p.fn, zipBytes: statSync(p.zip).size, ...m, ratioToFloor: Math.round((m.answeredMs / floor.answeredMs) * 100) / 100 });
      say(`  ${p.service}/${p.fn}: ${Math.round(statSync(p.zip).size / 1024)} KB, loaded ${m.loadedMs} ms, answered ${m.answeredMs} ms (${m.status})`);
    } catch (err) {
      failures.push(`${p.service}/${p.fn}: ${(err as Error).message.split('\n').slice(0, 3).join(' ')}`);
    }
  }
  run.report.coldStarts = { repeats, floor, functions, failures };
}
