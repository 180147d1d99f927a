// The bench's own requests: a user to load with, warmed cities, single GETs, and the load generator child.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { ROOT } from './context';
import type { LoadResult, LoadSpec } from './load';

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

/** Runs autocannon in a child process (bench/load.ts), optionally pinned with taskset, and returns what it measured. */
export function runLoad(spec: LoadSpec, cpus?: string): Promise<LoadResult> {
  const args = ['--import', 'tsx', join(ROOT, 'bench', 'load.ts'), JSON.stringify(spec)];
  const [command, argv] = cpus ? ['taskset', ['-c', cpus, process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolveLoad, reject) => {
    const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
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
