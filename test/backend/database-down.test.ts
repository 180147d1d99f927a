// The database is unreachable (closed port) or frozen (accepts connections, never answers):
// every function answers 503 quickly instead of hanging or failing with 500.
import { createServer, type Server, type Socket } from 'node:net';
import jwt from 'jsonwebtoken';
import { freePort } from '../../local/ports';
import { invoke } from '../support/lambda';

type Handler = Parameters<typeof invoke>[0];

let frozen: Server;
const sockets: Socket[] = [];

async function loadWith(databaseUrl: string) {
  let modules: { health: Handler; users: Handler; register: Handler; secret: string; issuer: string } | undefined;
  jest.isolateModules(() => {
    process.env.DATABASE_URL = databaseUrl;
    process.env.DB_QUERY_TIMEOUT_MS = '1500';
    const { settings } = require('../../functions/deps');
    modules = {
      health: require('../../functions/health/check').handler,
      users: require('../../functions/users/list').handler,
      register: require('../../functions/auth/register').handler,
      secret: settings().jwtSecret,
      issuer: settings().jwtIssuer,
    };
  });
  return modules!;
}

beforeAll(async () => {
  frozen = createServer((socket) => sockets.push(socket)); // accepts, never answers
  await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  sockets.forEach((s) => s.destroy());
  await new Promise((resolve) => frozen.close(resolve));
  delete process.env.DATABASE_URL;
});

describe.each([
  ['unreachable', async () => `postgres://app_user:pw@127.0.0.1:${await freePort()}/app_db`],
  ['frozen', async () => `postgres://app_user:pw@127.0.0.1:${(frozen.address() as { port: number }).port}/app_db`],
])('when the database is %s', (_, url) => {
  let m: Awaited<ReturnType<typeof loadWith>>;
  beforeAll(async () => {
    m = await loadWith(await url());
  });

  test('the health check answers 503 unavailable within its deadline', async () => {
    const start = Date.now();
    const res = await invoke(m.health, { method: 'GET', path: '/health-check' });
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ status: 'unavailable', checks: { database: 'unavailable' } });
    expect(Date.now() - start).toBeLessThan(2500); // a deadline, not a speed target: 1 s probe
  });

  test('an authenticated request answers 503 problem+json, not 500 and not a hang', async () => {
    const token = jwt.sign({ sub: '5b3c1b1e-0d7e-4a53-9d1a-4d7b3a9f0c11' }, m.secret, { algorithm: 'HS256', issuer: m.issuer, expiresIn: 60 });
    const res = await invoke(m.users, { method: 'GET', path: '/users', headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json.detail).toMatch(/database/);
    expect(res.text).not.toMatch(/ECONNREFUSED|stack|at .*\.js/);
  });

  test('registration answers 503 problem+json', async () => {
    const res = await invoke(m.register, { method: 'POST', path: '/register', body: { username: 'down_user', password: 'password123' } });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
