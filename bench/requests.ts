// The bench's own requests: a user to load with, warmed cities, single GETs, and the load generator child.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ROOT } from './context';
import { MEASURING, type LoadResult, type LoadSpec } from './load';

export const WARM_CITIES = [
  'London',
  'Paris',
  'Berlin',
  'Madrid',
  'Rome',
  'Tokyo',
  'Oslo',
  'Lisbon',
  'Vienna',
  'Prague',
  'Warsaw',
  'Dublin',
  'Athens',
  'Helsinki',
  'Stockholm',
  'Copenhagen',
  'Zürich',
  'São Paulo',
  'Москва',
  'New York',
];

export const cityPath = (city: string) => `/weather/${encodeURIComponent(city)}`;

export interface BenchUser {
  id: string;
  username: string;
  password: string;
  token: string;
}

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

export async function createBenchUser(api: string): Promise<BenchUser> {
  const username = `bench_${randomBytes(6).toString('hex')}`;
  const password = randomBytes(12).toString('base64url');
  const registered = await call('POST', `${api}/register`, { json: { username, password } });
  if (registered.status !== 201) throw new Error(`POST /register answered ${registered.status}: ${JSON.stringify(registered.json)}`);
  const token = await call('POST', `${api}/token`, { form: { username, password } });
  if (token.status !== 200) throw new Error(`POST /token answered ${token.status}: ${JSON.stringify(token.json)}`);
  return { id: String(registered.json!.id), username, password, token: String(token.json!.access_token) };
}

export async function warmCities(api: string, token: string): Promise<void> {
  for (const city of WARM_CITIES) {
    const res = await call('GET', `${api}${cityPath(city)}`, { token });
    if (res.status !== 200) throw new Error(`warming GET /weather/${city} answered ${res.status}: ${JSON.stringify(res.json)}`);
  }
}

/** One GET on a connection of its own; resolves with the status, or "error". */
export function getOnce(url: string, token: string): Promise<string> {
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

/** What to do right before the measured run starts and right after it ends (bench/cpu-meter.ts reads CPU times). */
export interface LoadWindow {
  start(loadGeneratorPid: number): Promise<void>;
  end(): Promise<void>;
}

/**
 * Runs autocannon in a child process (bench/load.ts), optionally pinned with taskset, and returns what it measured.
 * The child waits for `window.start` after its warm-up and stays alive until `window.end` is done.
 */
export function runLoad(spec: LoadSpec, cpus?: string, window?: LoadWindow): Promise<LoadResult> {
  const args = ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), JSON.stringify({ ...spec, handshake: true })];
  const [command, argv] = cpus ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolveLoad, reject) => {
    const child = spawn(command, argv, { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let result: LoadResult | undefined;
    let err = '';
    const step = (action: (() => Promise<void>) | undefined, then: () => void) =>
      void (action ? action() : Promise.resolve()).catch((e: Error) => (err += `measuring window: ${e.message}\n`)).finally(then);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line === MEASURING) return step(window && (() => window.start(child.pid!)), () => child.stdin.write('go\n'));
      if (!line.startsWith('{"requestsPerSecond"')) return;
      result = JSON.parse(line) as LoadResult;
      step(window && (() => window.end()), () => child.stdin.end());
    });
    child.stdin.on('error', () => undefined); // a child that died early: its exit code tells
    child.stderr.on('data', (chunk: Buffer) => (err = (err + chunk.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0 && result) resolveLoad(result);
      else reject(new Error(`load generator exited with ${code}: ${err}`));
    });
  });
}
