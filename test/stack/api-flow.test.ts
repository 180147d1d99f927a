// The real stack (HAProxy → two serverless-offline backends → weather service → stand-in, Postgres),
// used the way a client uses it: every request goes through HAProxy.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { startStack } from '../../local/stack';
import { haproxyMetric } from '../support/haproxy-metrics';
import { eventually, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

const RATE_LIMIT = { requests: 12, windowSeconds: 10 };
let stack: TestStack;
/** Registered first: the rate limit test below uses up the window for registrations. */
let weatherUser: Awaited<ReturnType<typeof register>>;

beforeAll(async () => {
  stack = await startTestStack({
    env: { RATE_LIMIT_AUTH_REQUESTS: String(RATE_LIMIT.requests), RATE_LIMIT_AUTH_WINDOW_SECONDS: String(RATE_LIMIT.windowSeconds), WEATHER_REPLICAS: '2' },
  });
  weatherUser = await register();
});

afterAll(async () => {
  await stack?.stop();
});

const call = (path: string, init: RequestInit = {}) => fetch(`${stack.urls.api}${path}`, init);
const json = (body: unknown): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const form = (fields: Record<string, string>): RequestInit => ({ method: 'POST', body: new URLSearchParams(fields) });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

async function register() {
  const username = `stack_${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const created = await call('/register', json({ username, password }));
  expect(created.status).toBe(201);
  const user = (await created.json()) as { id: string; username: string };
  const issued = await call('/token', form({ username, password }));
  expect(issued.status).toBe(200);
  const { access_token } = (await issued.json()) as { access_token: string };
  return { ...user, password, token: access_token };
}

// First in this file: nothing else has called the weather service yet.
test('before healthy the runner warmed every instance on its own port: each answer one it expects, none through HAProxy', async () => {
  const { warmUp } = stack;
  const perInstance = Number(process.env.WARM_UP_REQUESTS);
  expect(warmUp).toMatchObject({ instances: 4, requestsPerInstance: perInstance });
  // 200 (health checks, the weather service's London), 401 (a token of no account), 404 (an unknown path): the edge
  // proof and the client address were accepted; no 5xx.
  expect(Object.keys(warmUp.statuses).map(Number).sort()).toEqual([200, 401, 404]);
  expect(Object.values(warmUp.statuses).reduce((a, b) => a + b, 0)).toBe(4 * perInstance);
  // HAProxy's weather pool has carried no request: the warm-up went to the instances themselves.
  expect(await haproxyMetric(stack.urls.metrics, stack.statsLogin, 'haproxy_backend_http_requests_total', { proxy: 'weather_service' })).toBe(0);
  // The weather services served London from their cache as the backend calls them (after at most one provider call).
  const hits = stack.logLines('weather-service').filter((line) => line.event === 'weather.cache_hit' && line.city === 'london');
  expect(hits.length).toBeGreaterThan(0);
});

test('the whole API flow works through HAProxy: register, token, users, user, weather, delete, then the old token is refused', async () => {
  const me = await register();

  const users = await call('/users?limit=1000', { headers: bearer(me.token) });
  expect(users.status).toBe(200);
  expect(((await users.json()) as { id: string }[]).map((u) => u.id)).toContain(me.id);

  const user = await call(`/user/${me.id}`, { headers: bearer(me.token) });
  expect(user.status).toBe(200);
  expect(await user.json()).toMatchObject({ id: me.id, username: me.username });

  const weather = await call('/weather/London', { headers: bearer(me.token) });
  expect(weather.status).toBe(200);
  expect(await weather.json()).toMatchObject({ city: 'London', stale: false });
  const again = await call('/weather/london', { headers: bearer(me.token) });
  expect(await again.json()).toMatchObject({ city: 'London', cached: true });

  const deleted = await call(`/user/${me.id}`, { method: 'DELETE', headers: bearer(me.token) });
  expect(deleted.status).toBe(204);
  const refused = await call('/users', { headers: bearer(me.token) });
  expect(refused.status).toBe(401);
  expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
});

test('round robin spreads requests over both backend instances', async () => {
  for (let i = 0; i < 6; i++) expect((await call('/health-check')).status).toBe(200);
  const servers = await eventually('access log lines for the health checks', () => {
    const lines = stack.logLines('haproxy').filter((l) => l.path === '/health-check');
    return lines.length >= 6 ? new Set(lines.map((l) => l.server)) : undefined;
  });
  expect([...servers].sort()).toEqual(['app-backend-1', 'app-backend-2']);
});

test('every request gets an X-Request-ID at the edge, returned to the client and logged by HAProxy, the backend and the weather service', async () => {
  const me = await register();
  const spoofed = 'client-chosen-id';
  const answer = await call('/weather/Paris', { headers: { ...bearer(me.token), 'x-request-id': spoofed } });
  expect(answer.status).toBe(200);
  const id = answer.headers.get('x-request-id')!;
  expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(id).not.toBe(spoofed);

  const access = await eventually('the access log line', () => stack.logLines('haproxy').find((l) => l.request_id === id));
  expect(access).toMatchObject({ service: 'haproxy', method: 'GET', path: '/weather/Paris', status: 200, backend: 'app_backend' });
  expect(Object.keys(access).sort()).toEqual([
    'backend',
    'bytes',
    'client_ip',
    'duration_ms',
    'method',
    'path',
    'request_id',
    'server',
    'service',
    'status',
    'timestamp',
  ]);
  expect(new Date(access.timestamp).toISOString()).toBe(access.timestamp);
  expect(typeof access.duration_ms).toBe('number');

  const weatherLines = await eventually('the weather service log lines', () => {
    const lines = stack.logLines('weather-service').filter((l) => l.request_id === id);
    return lines.length ? lines : undefined;
  });
  expect(weatherLines.map((l) => l.event)).toContain('weather.cache_miss');
  expect(weatherLines.every((l) => l.service === 'weather-service')).toBe(true);

  // The backend logs events with the same id: registration happens on one of the two instances.
  const registered = await call('/register', json({ username: `stack_${randomBytes(5).toString('hex')}`, password: 'long-enough-pw' }));
  const registeredId = registered.headers.get('x-request-id');
  const event = await eventually('the user.registered event', () =>
    [...stack.logLines('app-backend-1'), ...stack.logLines('app-backend-2')].find((l) => l.request_id === registeredId),
  );
  expect(event).toMatchObject({ event: 'user.registered', service: 'app-backend', level: 'INFO' });
});

test('function log files hold only JSON lines; serverless-offline banners go to the .stderr.log files', () => {
  const weatherLogs = readdirSync(stack.logDir).filter((file) => /^weather-service-\d+\.log$/.test(file));
  expect(weatherLogs.sort()).toEqual(['weather-service-1.log', 'weather-service-2.log']);
  const read = (file: string) => readFileSync(`${stack.logDir}/${file}`, 'utf8').split('\n').filter(Boolean);
  for (const name of ['app-backend-1', 'app-backend-2', 'haproxy']) expect(read(`${name}.log`).length).toBeGreaterThan(0);
  expect(weatherLogs.flatMap(read).length).toBeGreaterThan(0);
  for (const file of ['app-backend-1.log', 'app-backend-2.log', 'haproxy.log', ...weatherLogs]) {
    for (const line of read(file)) expect(() => JSON.parse(line)).not.toThrow();
  }
  expect(readFileSync(`${stack.logDir}/app-backend-1.stderr.log`, 'utf8')).toContain('/health-check');
});

test('HAProxy refuses a body over the limit with 413 problem+json, before any backend sees it', async () => {
  const answer = await call('/register', json({ username: 'big_body', password: 'x'.repeat(70_000) }));
  expect(answer.status).toBe(413);
  expect(answer.headers.get('content-type')).toBe('application/problem+json');
  const body = (await answer.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status: 413, title: 'Payload Too Large', request_id: answer.headers.get('x-request-id') });
  const line = await eventually('the access log line', () => stack.logLines('haproxy').find((l) => l.request_id === body.request_id));
  expect(line.server).toBe('<NOSRV>');
});

test('a second stack on the same state dir is refused while the first one runs', async () => {
  await expect(startStack({ stateDir: stack.stateDir, env: { PORT: '0', STATS_PORT: '0', WEATHER_HTTP_PORT: '0' } })).rejects.toThrow(
    /already running \(pid \d+/,
  );
  expect((await call('/health-check')).status).toBe(200);
});

// Last: it uses up this address's allowance for the window.
test('past the limit, POST /token and POST /register answer 429 problem+json with Retry-After', async () => {
  const statuses: number[] = [];
  let limited: Response | undefined;
  for (let i = 0; i < RATE_LIMIT.requests + 8; i++) {
    // One name per try: the per-username throttle (429 after 5 failures) is not what this checks.
    const answer = await call('/token', form({ username: `nobody_${i}`, password: 'wrong-password' }));
    statuses.push(answer.status);
    if (answer.status === 429) limited ??= answer;
    else await answer.arrayBuffer();
  }
  const firstLimited = statuses.indexOf(429);
  expect(firstLimited).toBeGreaterThanOrEqual(0);
  expect(firstLimited).toBeLessThanOrEqual(RATE_LIMIT.requests);
  expect(statuses.slice(0, firstLimited).every((s) => s === 401)).toBe(true);
  expect(statuses.slice(firstLimited).every((s) => s === 429)).toBe(true);
  expect(limited!.headers.get('retry-after')).toBe(String(RATE_LIMIT.windowSeconds));
  expect(limited!.headers.get('content-type')).toBe('application/problem+json');
  expect(await limited!.json()).toMatchObject({ status: 429, title: 'Too Many Requests', request_id: limited!.headers.get('x-request-id') });

  const register = await call('/register', json({ username: `stack_${randomBytes(5).toString('hex')}`, password: 'long-enough-pw' }));
  expect(register.status).toBe(429);
  // Only the password endpoints are limited.
  expect((await call('/health-check')).status).toBe(200);
});

/** Letters only: a city name the weather service accepts and the stand-in has never been asked for. */
const freshCity = () => `Herd${[...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;

/** Local addresses listening on a TCP port, from /proc/net/tcp and tcp6 (hex address:port, state 0A = LISTEN). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  return ['/proc/net/tcp', '/proc/net/tcp6'].flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      .filter((cells) => cells[3] === '0A' && cells[1]?.endsWith(`:${hexPort}`))
      .map((cells) => cells[1].split(':')[0]),
  );
}

test('the weather replicas sit behind HAProxy: 50 concurrent misses for one city through the API cost one upstream call, and both replicas answer', async () => {
  const me = weatherUser;
  const city = freshCity();
  const answers = await Promise.all(Array.from({ length: 50 }, () => call(`/weather/${city}`, { headers: bearer(me.token) })));
  expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
  const stats = (await (await fetch(`${stack.urls.standIn}/__standin/stats`)).json()) as { byCity: Record<string, number> };
  expect(stats.byCity[city.toLowerCase()]).toBe(1);

  const servedBy = await eventually('weather log lines from both replicas', () => {
    const replicas = ['weather-service-1', 'weather-service-2'].filter((name) => stack.logLines(name).some((l) => l.city === city.toLowerCase()));
    return replicas.length === 2 ? replicas : undefined;
  });
  expect(servedBy).toEqual(['weather-service-1', 'weather-service-2']);
});

test('the weather service and its balancer listen on loopback only, and the service credential is generated with mode 0600', () => {
  const ports = [stack.urls.weather, ...stack.urls.weatherInstances].map((url) => Number(new URL(url).port));
  expect(ports).toHaveLength(3);
  // 0100007F is 127.0.0.1 as /proc/net/tcp prints it.
  for (const port of ports) expect(listeningAddresses(port)).toEqual(['0100007F']);
  expect(statSync(join(stack.stateDir, 'weather-service-token')).mode & 0o777).toBe(0o600);
});

/** Sends one GET over `socket` and resolves with the status line of its answer. */
function statusOver(socket: ReturnType<typeof connect>, path: string): Promise<string> {
  return new Promise((resolveStatus, reject) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('latin1');
      const head = text.indexOf('\r\n\r\n');
      const length = Number(/content-length: (\d+)/i.exec(text)?.[1] ?? -1);
      if (head >= 0 && length >= 0 && text.length >= head + 4 + length) {
        socket.off('data', onData);
        resolveStatus(text.split('\r\n')[0]);
      }
    };
    socket.on('data', onData).once('error', reject);
    socket.write(`GET ${path} HTTP/1.1\r\nHost: instance\r\nConnection: keep-alive\r\n\r\n`);
  });
}

test("an instance keeps an idle connection open past Node's default 5 s, so HAProxy is the one that closes idle connections", async () => {
  const { hostname, port } = new URL(stack.urls.backends[0]);
  const socket = connect(Number(port), hostname);
  let closedByInstance = false;
  socket.once('end', () => (closedByInstance = true));
  try {
    expect(await statusOver(socket, '/health-check')).toMatch(/^HTTP\/1\.1 \d{3}/);
    await new Promise((r) => setTimeout(r, 6500));
    expect(closedByInstance).toBe(false);
    // And the kept connection still serves.
    expect(await statusOver(socket, '/health-check')).toMatch(/^HTTP\/1\.1 \d{3}/);
  } finally {
    socket.destroy();
  }
});
