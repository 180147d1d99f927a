// Hostile input, property-based, straight into the Lambda handlers (fast, so thousands of cases): malformed
// bodies, wrong content types, SQL injection in every field and path parameter, path tricks in city names,
// forged Authorization headers. Every answer is a 4xx problem+json (or the success a valid input earns), the
// process keeps serving, and the database holds exactly the users that were answered 201.
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { handler as docs } from '../../functions/docs/openapi';
import { handler as notFound } from '../../functions/fallback/not-found';
import { handler as health } from '../../functions/health/check';
import { handler as register } from '../../functions/auth/register';
import { handler as token } from '../../functions/auth/token';
import { handler as deleteUser } from '../../functions/users/delete';
import { handler as getUser } from '../../functions/users/get';
import { handler as listUsers } from '../../functions/users/list';
import { handler as weather } from '../../functions/weather-proxy/get';
import { appDatabase } from '../../functions/deps';
import type { StandIn } from '../../local/services/standin';
import { headerText, hostileBodies, hostileSegment, LEAK, SQL_INJECTIONS, withAnyContentType, type HostileBody } from '../support/hostile';
import { apiGatewayEvent, captureLogs, invoke, type Answer, type Call } from '../support/lambda';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { createUser, type TestUser } from '../support/users';
import { standInForThisFile, startWeatherService, type RunningService } from '../support/weather';

jest.setTimeout(120_000);

type Handler = Parameters<typeof invoke>[0];

let scratch: ScratchDatabase;
let scratchWeather: ScratchDatabase;
let standIn: StandIn;
let weatherService: RunningService;
let alice: TestUser;
let bob: TestUser;
let rowsBefore: Array<{ id: string; username: string }>;
let logs: ReturnType<typeof captureLogs>;
/** Users the handlers answered 201 for, with the password they were registered with. */
const registered: Array<{ id: string; username: string; password: string; kind: string }> = [];
/** Answers seen, per scenario and status: printed at the end, for the report. */
const seen: Record<string, Record<number, number>> = {};

beforeAll(async () => {
  scratch = await createScratchDatabase('app');
  scratchWeather = await createScratchDatabase('weather');
  process.env.DATABASE_URL = scratch.url;
  process.env.WEATHER_DATABASE_URL = scratchWeather.url;
  standIn = await standInForThisFile();
  weatherService = await startWeatherService();
  process.env.WEATHER_SERVICE_URL = weatherService.url;
  alice = await createUser('alice');
  bob = await createUser('bob');
  rowsBefore = await appDatabase().any('SELECT id, username FROM users ORDER BY id');
  logs = captureLogs();
});

afterAll(async () => {
  logs?.restore();
  console.log(`hostile input at the handlers (scenario → status → count):\n${JSON.stringify(seen, null, 1)}`);
  await weatherService?.close();
  await standIn?.stop();
  const { closeDatabases } = await import('../../functions/deps');
  await closeDatabases();
  await scratch?.drop();
  await scratchWeather?.drop();
});

async function send(scenario: string, handler: Handler, call: Call): Promise<Answer> {
  const res = await invoke(handler, call);
  seen[scenario] ??= {};
  seen[scenario][res.status] = (seen[scenario][res.status] ?? 0) + 1;
  return res;
}

/** A 4xx problem+json without internals, or one of the statuses a valid input earns. */
function expectRefusedOr(res: Answer, successes: number[] = []) {
  expect(res.headers['x-request-id'] ?? '').toMatch(/^[\w.:-]{1,128}$/);
  expect(res.text).not.toMatch(LEAK);
  if (successes.includes(res.status)) return;
  if (res.status < 400 || res.status >= 500) throw new Error(`answered ${res.status}: ${res.text.slice(0, 300)}`);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json).toMatchObject({ status: res.status, title: expect.any(String), detail: expect.any(String) });
}

function bodyCall(path: string, body: HostileBody, headers: Record<string, string> = {}): Call {
  const call: Call = { method: 'POST', path, headers: { ...headers, ...(body.contentType ? { 'content-type': body.contentType } : {}) } };
  if (typeof body.payload === 'string') call.rawBody = body.payload;
  else call.binaryBody = body.payload;
  return call;
}

const RUNS = { bodies: 1500, paths: 600, small: 400 };

describe('malformed bodies', () => {
  test('POST /register answers only 201 or 4xx, and stores exactly the users it answered 201', async () => {
    // Valid-looking registrations are part of the mix: SQL injection and NUL bytes in the password are data.
    const valid = fc
      .tuple(fc.stringMatching(/^[A-Za-z0-9_.-]{3,20}$/), fc.constantFrom(...SQL_INJECTIONS, 'pw\u0000with NUL', 'Pässwörd ✓'))
      .map(([name, pw]) => ({ username: `${name}_${randomBytes(3).toString('hex')}`, password: `${pw}-${randomBytes(4).toString('hex')}` }));
    const input = fc.oneof(
      { arbitrary: withAnyContentType(hostileBodies(['username', 'password'])), weight: 9 },
      { arbitrary: valid.map((v) => ({ kind: 'valid', contentType: 'application/json', payload: JSON.stringify(v) })), weight: 1 },
    );
    await fc.assert(
      fc.asyncProperty(input, async (body) => {
        const res = await send('register', register, bodyCall('/register', body));
        expectRefusedOr(res, [201]);
        if (res.status === 201) {
          const sent = JSON.parse(body.payload as string);
          expect(res.json).toEqual({ id: expect.any(String), username: sent.username, created_at: expect.any(String) });
          registered.push({ ...res.json, password: sent.password, kind: body.kind });
        }
      }),
      { numRuns: RUNS.bodies },
    );
  });

  test('POST /token answers only 4xx to malformed bodies and forged client credentials', async () => {
    const basic = fc.option(
      headerText(80).map((t) => `Basic ${Buffer.from(t, 'latin1').toString('base64')}`),
      { nil: undefined },
    );
    await fc.assert(
      fc.asyncProperty(withAnyContentType(hostileBodies(['username', 'password', 'grant_type', 'client_id'])), basic, async (body, authorization) => {
        const res = await send('token', token, bodyCall('/token', body, authorization ? { authorization } : {}));
        expectRefusedOr(res);
      }),
      { numRuns: RUNS.bodies },
    );
  });

  test('a JSON body serverless-offline hands over already parsed (false, 0) is a 400, not a failed invocation', async () => {
    for (const parsed of [false, 0, true, 12, null]) {
      const event = { ...apiGatewayEvent({ method: 'POST', path: '/register', headers: { 'content-type': 'application/json' } }), body: parsed };
      const res = (await register(event as never, {} as never)) as { statusCode: number; headers: Record<string, string>; body: string };
      expect([parsed, res.statusCode, res.headers['content-type']]).toEqual([parsed, 400, expect.stringMatching(/^application\/problem\+json/)]);
      expect(res.body).not.toMatch(LEAK);
    }
  });

  test('SQL injection as username or password never logs anyone in', async () => {
    for (const attempt of SQL_INJECTIONS) {
      for (const form of [
        { username: attempt, password: attempt },
        { username: alice.username, password: attempt },
        { username: `${alice.username}' --`, password: 'anything at all' },
      ]) {
        expectRefusedOr(await send('token SQL injection', token, { method: 'POST', path: '/token', form }));
      }
    }
  });
});

describe('path parameters and query strings', () => {
  const userPath = (segment: string) => `/user/${segment}`;

  test('GET /user/{id} answers only 200 (a real user), 400 or 404 to any id', async () => {
    const id = fc.oneof({ arbitrary: hostileSegment, weight: 8 }, fc.uuid().map(String), fc.constant(bob.id));
    await fc.assert(
      fc.asyncProperty(id, async (segment) => {
        expectRefusedOr(await send('get user', getUser, { method: 'GET', path: userPath(segment), headers: alice.auth }), [200]);
      }),
      { numRuns: RUNS.paths },
    );
  });

  test('DELETE /user/{id} answers only 4xx to anything but your own id, and deletes nobody', async () => {
    const id = fc.oneof({ arbitrary: hostileSegment, weight: 8 }, fc.uuid().map(String), fc.constant(bob.id));
    await fc.assert(
      fc.asyncProperty(id, async (segment) => {
        expectRefusedOr(await send('delete user', deleteUser, { method: 'DELETE', path: userPath(segment), headers: alice.auth }));
      }),
      { numRuns: RUNS.paths },
    );
    expect(await appDatabase().oneOrNone('SELECT id FROM users WHERE id = $1', [bob.id])).toEqual({ id: bob.id });
  });

  test('GET /weather/{city} answers only 200 (a real city), 400 or 404 to any name, traversal and encoding tricks', async () => {
    const city = fc.oneof(
      { arbitrary: hostileSegment, weight: 8 },
      fc.constantFrom('London', 'S%C3%A3o%20Paulo', '%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0', 'Atlantis'),
    );
    await fc.assert(
      fc.asyncProperty(city, async (segment) => {
        const res = await send('weather', weather, { method: 'GET', path: `/weather/${segment}`, headers: alice.auth });
        expectRefusedOr(res, [200]);
      }),
      { numRuns: RUNS.paths },
    );
  });

  test('GET /users answers only 200 or 400 to any query string', async () => {
    const value = fc.oneof(
      fc.constantFrom(...SQL_INJECTIONS),
      fc.string({ maxLength: 30 }),
      fc.integer().map(String),
      fc.constantFrom('1,2', '1e3', '0x10', '1e400', 'Infinity', '-Infinity', 'NaN', '9'.repeat(400), ' 5', '5 ', '+5', '0b1'),
    );
    const key = fc.oneof(fc.constantFrom('limit', 'offset'), fc.string({ maxLength: 10 }), fc.constantFrom('%', '%zz', 'limit%00', '__proto__', 'constructor'));
    await fc.assert(
      fc.asyncProperty(fc.dictionary(key, value, { maxKeys: 4 }), async (query) => {
        expectRefusedOr(await send('list users', listUsers, { method: 'GET', path: '/users', headers: alice.auth, query }), [200]);
      }),
      { numRuns: RUNS.small },
    );
  });

  test('the documentation routes never serve a file outside Swagger UI', async () => {
    const segment = fc.oneof(hostileSegment, fc.constantFrom('..%2F..%2Fpackage.json', '%2e%2e/%2e%2e/package.json', 'static/..%2F..%2F..%2Fpackage.json'));
    await fc.assert(
      fc.asyncProperty(segment, async (s) => {
        const res = await send('docs', docs, { method: 'GET', path: `/docs/${s}` });
        expect(res.status).toBeLessThan(500);
        expect(res.text).not.toMatch(/"weather-users-platform"|root:x:0:0|BEGIN [A-Z ]*PRIVATE KEY/);
      }),
      { numRuns: RUNS.small },
    );
  });

  test('unknown methods and paths answer 404 or 405', async () => {
    const method = fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND');
    const path = fc.array(hostileSegment, { minLength: 1, maxLength: 4 }).map((parts) => `/${parts.join('/')}`);
    await fc.assert(
      fc.asyncProperty(method, path, async (m, p) => {
        expectRefusedOr(await send('unknown route', notFound, { method: m, path: p }));
      }),
      { numRuns: RUNS.small },
    );
  });
});

describe('headers', () => {
  test('a forged or mangled Authorization header is always 401', async () => {
    const flip = (t: string, i: number) => {
      const at = i % t.length;
      const swapped = t[at] === 'A' ? 'B' : 'A';
      return t.slice(0, at) + swapped + t.slice(at + 1);
    };
    const header = fc.oneof(
      headerText(120),
      headerText(60).map((t) => `Bearer ${t}`),
      fc.nat().map((i) => `Bearer ${flip(alice.token, i)}`),
      fc.constantFrom(...SQL_INJECTIONS).map((s) => `Bearer ${s}`),
      fc.constant(`Bearer ${alice.token}, Bearer ${bob.token}`),
      fc.constant(`Bearer ${alice.token} ${alice.token}`),
      fc.constant(`Token ${alice.token}`),
      fc.constant(`Bearer\t${alice.token}`),
      fc.integer({ min: 8_000, max: 20_000 }).map((n) => `Bearer ${'a'.repeat(n)}.b.c`),
    );
    await fc.assert(
      fc.asyncProperty(
        header.filter((h) => h !== `Bearer ${alice.token}`),
        async (authorization) => {
          const res = await send('authorization', listUsers, { method: 'GET', path: '/users', headers: { authorization } });
          expect(res.status).toBe(401);
          expectRefusedOr(res);
        },
      ),
      { numRuns: RUNS.small },
    );
  });

  test('a hostile X-Request-ID is replaced, never reflected', async () => {
    await fc.assert(
      fc.asyncProperty(headerText(300), async (id) => {
        const res = await send('request id', health, { method: 'GET', path: '/health-check', headers: { 'x-request-id': id } });
        expect(res.status).toBe(200);
        const answered = res.headers['x-request-id'];
        expect(answered).toMatch(/^[\w.:-]{1,128}$/);
        if (answered !== id) expect(answered).toMatch(/^[0-9a-f-]{36}$/);
      }),
      { numRuns: RUNS.small },
    );
  });
});

describe('afterwards', () => {
  test('the handlers still serve, and the database holds exactly the users answered 201', async () => {
    expect((await invoke(health, { method: 'GET', path: '/health-check' })).status).toBe(200);
    expect((await invoke(getUser, { method: 'GET', path: `/user/${bob.id}`, headers: alice.auth })).status).toBe(200);
    const rowsAfter = await appDatabase().any<{ id: string; username: string }>('SELECT id, username FROM users ORDER BY id');
    const expected = [...rowsBefore, ...registered.map(({ id, username }) => ({ id, username }))].sort((a, b) => a.id.localeCompare(b.id));
    expect(rowsAfter).toEqual(expected);
    expect(registered.length).toBeGreaterThan(0);
    const tables = await appDatabase().map(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`, [], (r) => r.tablename);
    expect(tables).toEqual(['login_counters', 'pgmigrations', 'users']);
  });

  test('a password full of SQL or NUL bytes was stored as data: it logs in, a near miss does not', async () => {
    for (const user of registered.filter((u) => u.kind === 'valid').slice(0, 20)) {
      const ok = await invoke(token, { method: 'POST', path: '/token', form: { username: user.username, password: user.password } });
      expect(ok.status).toBe(200);
      const miss = await invoke(token, { method: 'POST', path: '/token', form: { username: user.username, password: `${user.password}x` } });
      expect(miss.status).toBe(401);
    }
  });

  test('no password that was registered appears in the logs', () => {
    const text = logs.raw.join('');
    // Only the marked passwords: a fuzzed one may equal a username that a failed login logged.
    for (const user of registered.filter((u) => u.kind === 'valid')) expect(text).not.toContain(user.password);
    expect(text).not.toContain(alice.password);
  });
});
