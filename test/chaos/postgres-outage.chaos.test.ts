// Postgres goes away while requests flow through the whole stack: stopped by its pid (fast shutdown), then
// frozen (SIGSTOP). The health check turns 503 within 2 s, API calls answer 503 problem+json without hanging,
// and once Postgres is back everything recovers within 5 s without restarting any function process.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import type { EmbeddedPostgresState } from '../../layers/local-runtime/state';
import { childrenOf, isAlive } from '../../local/processes';
import { LEAK } from '../support/hostile';
import { startTestStack, type TestStack } from '../support/stack';
import { sleep, startTraffic, tally, timedFetch, type Sample, type TrafficRequest } from '../support/traffic';

jest.setTimeout(600_000);

const HEALTH_503_WITHIN_MS = 2000;
const RECOVERY_WITHIN_MS = 5000;
/** No answer may take longer than this while Postgres is away (the functions' deadlines are 1 s and 3 s). */
const NO_HANG_MS = 5000;

let stack: TestStack;
let postgres: EmbeddedPostgresState;
const users: Array<{ id: string; username: string; token: string }> = [];

const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const auth = (token: string): RequestInit => ({ headers: { authorization: `Bearer ${token}` } });

async function register() {
  const username = `pg_${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const created = await fetch(`${stack.urls.api}/register`, json({ username, password }));
  expect(created.status).toBe(201);
  const { id } = (await created.json()) as { id: string };
  const issued = await fetch(`${stack.urls.api}/token`, { method: 'POST', body: new URLSearchParams({ username, password }) });
  const { access_token } = (await issued.json()) as { access_token: string };
  return { id, username, token: access_token };
}

/** The mix the clients send: health, two authenticated reads and a registration. */
const mix = (): TrafficRequest[] => [
  { name: 'health', path: '/health-check' },
  { name: 'user', path: `/user/${users[0].id}`, init: auth(users[0].token) },
  { name: 'users', path: '/users?limit=5', init: auth(users[0].token) },
  { name: 'register', path: '/register', init: json({ username: `pg_${randomBytes(5).toString('hex')}`, password: 'long enough pw' }) },
];

/** The postmaster and every process it forked (each session and worker leads a process group of its own). */
function postgresProcesses(): number[] {
  const postmaster = (JSON.parse(readFileSync(join(stack.stateDir, 'postgres.json'), 'utf8')) as EmbeddedPostgresState).pid;
  const children = childrenOf(postmaster);
  return [postmaster, ...children];
}

const signalAll = (pids: number[], signal: NodeJS.Signals) => pids.forEach((pid) => process.kill(pid, signal));

const functionPids = () => Object.entries(stack.pids).filter(([name]) => name.startsWith('app-backend-') || name.startsWith('weather-service-'));

async function until(what: string, probe: () => Promise<boolean>, limitMs = 60_000): Promise<number> {
  const started = performance.now();
  while (!(await probe())) {
    if (performance.now() - started > limitMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
  return performance.now();
}

const status = async (path: string, init?: RequestInit) => (await timedFetch(stack.urls.api, { name: path, path, init }, 10_000)).status;

/** A 503 is problem+json, except the health check's own report ({status: "unavailable"}). */
const unavailable = (s: Sample) =>
  s.status === 503 && (/^application\/problem\+json/.test(s.contentType) || (s.name === 'health' && JSON.parse(s.body).status === 'unavailable'));

/** Every answer is a success or a 503, none took longer than NO_HANG_MS, none leaks internals. */
function expectNoFailure(samples: Sample[]) {
  const bad = samples.filter((s) => s.ms > NO_HANG_MS || LEAK.test(s.body) || !(s.status === 200 || s.status === 201 || unavailable(s)));
  expect(bad.map((s) => `${s.name} ${s.status || s.error} after ${Math.round(s.ms)} ms: ${s.body.slice(0, 160)}`)).toEqual([]);
}

async function recoveredAfter(from: number) {
  const healthy = await until('GET /health-check to answer 200 again', async () => (await status('/health-check')) === 200);
  const read = await until('GET /user/{id} to answer 200 again', async () => (await status(`/user/${users[0].id}`, auth(users[0].token))) === 200);
  const write = await until(
    'POST /register to answer 201 again',
    async () => (await status('/register', json({ username: `pg_${randomBytes(5).toString('hex')}`, password: 'long enough pw' }))) === 201,
  );
  return { health: healthy - from, read: read - from, write: write - from };
}

beforeAll(async () => {
  stack = await startTestStack({ embeddedPostgres: true, env: { RATE_LIMIT_AUTH_REQUESTS: '1000000', BCRYPT_COST: '4' } });
  postgres = JSON.parse(readFileSync(join(stack.stateDir, 'postgres.json'), 'utf8')) as EmbeddedPostgresState;
  users.push(await register(), await register());
});

afterAll(async () => {
  await stack?.stop();
});

test('Postgres stopped by its pid: 503s while it is down, recovery within 5 s once it is back, no function restarted', async () => {
  const before = functionPids();
  const traffic = startTraffic(stack.urls.api, mix, 4);
  await sleep(1500);

  const stoppedAt = performance.now();
  process.kill(postgres.pid, 'SIGINT'); // fast shutdown of the postmaster: sessions are terminated, new ones refused
  const unhealthyAt = await until('GET /health-check to answer 503', async () => (await status('/health-check')) === 503);
  await sleep(4000);

  const restarting = stack.restart('postgres');
  const accepting = await until('Postgres to accept connections again', async () => {
    const client = new pg.Client({ connectionString: postgres.appUrl, connectionTimeoutMillis: 1000 });
    try {
      await client.connect();
      await client.end();
      return true;
    } catch {
      return false;
    }
  });
  await restarting;
  const recovery = await recoveredAfter(accepting);
  await sleep(1000);
  const samples = await traffic.stop();

  const during = samples.filter((s) => s.sentAt > stoppedAt + 200 && s.sentAt + s.ms < accepting);
  console.log(
    `Postgres stopped (SIGINT to postmaster ${postgres.pid}): health 503 after ${Math.round(unhealthyAt - stoppedAt)} ms; ` +
      `Postgres accepting again ${Math.round(accepting - stoppedAt)} ms after the stop; recovery after that: ` +
      `health ${Math.round(recovery.health)} ms, read ${Math.round(recovery.read)} ms, registration ${Math.round(recovery.write)} ms; ` +
      `${samples.length} requests, ${during.length} during the outage (slowest ${Math.round(Math.max(...during.map((s) => s.ms)))} ms): ` +
      JSON.stringify(tally(samples)),
  );
  expect(unhealthyAt - stoppedAt).toBeLessThanOrEqual(HEALTH_503_WITHIN_MS);
  expect(Math.max(recovery.health, recovery.read, recovery.write)).toBeLessThanOrEqual(RECOVERY_WITHIN_MS);
  expectNoFailure(samples);
  expect(during.length).toBeGreaterThan(0);
  expect(during.every((s) => s.status === 503)).toBe(true);
  expect(samples.filter((s) => s.sentAt > accepting + RECOVERY_WITHIN_MS).every((s) => s.status === 200 || s.status === 201)).toBe(true);
  expect(functionPids()).toEqual(before);
  for (const [, pid] of before) expect(isAlive(pid!)).toBe(true);
});

test('Postgres frozen (SIGSTOP): answers 503 within the deadlines instead of hanging, recovers within 5 s of SIGCONT, with no answer mixed up', async () => {
  const before = functionPids();
  const traffic = startTraffic(stack.urls.api, mix, 4);
  await sleep(1500);

  const frozen = postgresProcesses();
  const frozenAt = performance.now();
  signalAll(frozen, 'SIGSTOP'); // the server and every session: connections are accepted by the kernel, nothing answers
  let resumed = false;
  try {
    const unhealthyAt = await until('GET /health-check to answer 503', async () => (await status('/health-check')) === 503);
    await sleep(6000);
    signalAll(frozen, 'SIGCONT');
    resumed = true;
    const resumedAt = performance.now();
    const recovery = await recoveredAfter(resumedAt);

    // Queries that timed out while it was frozen get their answers late: none may reach another request.
    for (let i = 0; i < 40; i++) {
      const [me, other] = i % 2 ? users : [...users].reverse();
      const res = await fetch(`${stack.urls.api}/user/${other.id}`, auth(me.token));
      expect(res.status).toBe(200);
      expect(((await res.json()) as { id: string }).id).toBe(other.id);
    }
    await sleep(500);
    const samples = await traffic.stop();

    const during = samples.filter((s) => s.sentAt > frozenAt + 200 && s.sentAt + s.ms < resumedAt);
    console.log(
      `Postgres frozen (SIGSTOP to its ${frozen.length} processes): health 503 after ${Math.round(unhealthyAt - frozenAt)} ms; ` +
        `recovery after SIGCONT: health ${Math.round(recovery.health)} ms, read ${Math.round(recovery.read)} ms, registration ${Math.round(recovery.write)} ms; ` +
        `${samples.length} requests, ${during.length} while frozen (slowest ${Math.round(Math.max(...during.map((s) => s.ms)))} ms): ` +
        JSON.stringify(tally(samples)),
    );
    expect(unhealthyAt - frozenAt).toBeLessThanOrEqual(HEALTH_503_WITHIN_MS);
    expect(Math.max(recovery.health, recovery.read, recovery.write)).toBeLessThanOrEqual(RECOVERY_WITHIN_MS);
    expectNoFailure(samples);
    expect(during.filter((s) => s.sentAt > frozenAt + NO_HANG_MS).every((s) => s.status === 503)).toBe(true);
    expect(functionPids()).toEqual(before);
  } finally {
    if (!resumed) signalAll(frozen, 'SIGCONT');
  }
});
