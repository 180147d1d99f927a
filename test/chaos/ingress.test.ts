// Through the real stack, over raw HTTP into HAProxy: a sample of hostile requests (bodies, paths, oversize
// headers and URLs, broken request lines), forged and duplicated tokens, a brute-force login from one address,
// and at the end a scan of every log file and answer for the passwords, tokens and keys this file used.
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { settings } from '../../functions/deps';
import { isAlive } from '../../local/processes';
import { hostileBodies, hostileSegment, LEAK, withAnyContentType } from '../support/hostile';
import { sendChunked } from '../support/chunked-body';
import { rawRequest, type RawAnswer, type RawRequest } from '../support/raw-http';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { haproxyMetric } from '../support/haproxy-metrics';
import { eventually, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

const RATE_LIMIT = { requests: 10, windowSeconds: 30 };
const JWT_SECRET = randomBytes(48).toString('base64url');
const ISSUER = settings().jwtIssuer;

let scratch: ScratchDatabase;
let scratchWeather: ScratchDatabase;
let stack: TestStack;
/** Every answer of this file, for the secrets scan. */
const answers: Array<{ target: string; answer: RawAnswer }> = [];
/** Passwords and tokens this file used: none may appear in a log line or (tokens: outside /token) an answer. */
const passwords: string[] = [];
const tokens: string[] = [];

// Each call comes from its own loopback address unless told otherwise, so the per-address limit on
// /register and /token only counts what a test means it to count.
let nextAddress = 0;
const freshAddress = () => `127.0.${1 + Math.floor(nextAddress / 250)}.${1 + (nextAddress++ % 250)}`;

async function api(req: RawRequest): Promise<RawAnswer> {
  const answer = await rawRequest(stack.urls.api, { localAddress: freshAddress(), ...req });
  answers.push({ target: req.target, answer });
  return answer;
}

const json = (body: unknown): Pick<RawRequest, 'headers' | 'body'> => ({ headers: [['Content-Type', 'application/json']], body: JSON.stringify(body) });
const form = (fields: Record<string, string>): Pick<RawRequest, 'headers' | 'body'> => ({
  headers: [['Content-Type', 'application/x-www-form-urlencoded']],
  body: new URLSearchParams(fields).toString(),
});
const bearer = (token: string): Array<[string, string]> => [['Authorization', `Bearer ${token}`]];

interface User {
  id: string;
  username: string;
  password: string;
  token: string;
}

async function register(prefix: string): Promise<User> {
  const username = `${prefix}_${randomBytes(5).toString('hex')}`;
  const password = `pw-${randomBytes(12).toString('hex')}`;
  passwords.push(password);
  const created = await api({ method: 'POST', target: '/register', ...json({ username, password }) });
  expect(created.status).toBe(201);
  const issued = await api({ method: 'POST', target: '/token', ...form({ username, password }) });
  expect(issued.status).toBe(200);
  tokens.push(issued.json.access_token);
  return { id: created.json.id, username, password, token: issued.json.access_token };
}

/** Users in the (private) app database, as the functions see it. */
async function userRows(): Promise<Array<{ id: string; username: string }>> {
  const client = new pg.Client(scratch.url);
  await client.connect();
  try {
    return (await client.query('SELECT id::text, username FROM users ORDER BY id')).rows;
  } finally {
    await client.end();
  }
}

let alice: User;
let bob: User;

beforeAll(async () => {
  scratch = await createScratchDatabase('app');
  scratchWeather = await createScratchDatabase('weather');
  stack = await startTestStack({
    env: {
      DATABASE_URL: scratch.url,
      WEATHER_DATABASE_URL: scratchWeather.url,
      RATE_LIMIT_AUTH_REQUESTS: String(RATE_LIMIT.requests),
      RATE_LIMIT_AUTH_WINDOW_SECONDS: String(RATE_LIMIT.windowSeconds),
      JWT_SECRET,
      BCRYPT_COST: '4',
    },
  });
  alice = await register('alice');
  bob = await register('bob');
});

afterAll(async () => {
  await stack?.stop();
  await scratch?.drop();
  await scratchWeather?.drop();
});

function expectProblem(answer: RawAnswer, status?: number) {
  if (status !== undefined) expect(answer.status).toBe(status);
  expect(answer.headers['content-type']?.[0]).toMatch(/^application\/problem\+json/);
  expect(answer.json).toMatchObject({ status: answer.status, title: expect.any(String), detail: expect.any(String) });
  expect(answer.body).not.toMatch(LEAK);
}

describe('hostile requests through HAProxy', () => {
  const seen: Record<string, Record<number, number>> = {};
  const tally = (scenario: string, answer: RawAnswer) => {
    seen[scenario] ??= {};
    seen[scenario][answer.status] = (seen[scenario][answer.status] ?? 0) + 1;
  };
  afterAll(() => console.log(`hostile requests through HAProxy (scenario → status → count):\n${JSON.stringify(seen, null, 1)}`));

  /** 4xx problem+json, or one of the successes a valid request earns; never 5xx. */
  function expectRefusedOr(answer: RawAnswer, what: string, successes: number[] = []) {
    if (successes.includes(answer.status)) return;
    const seenAs = `${what} answered ${answer.status} ${answer.headers['content-type']} ${answer.body.slice(0, 300)}`;
    expect(seenAs).toMatch(/ answered 4\d\d application\/problem\+json/);
    expectProblem(answer);
  }

  let rowsBefore: Array<{ id: string; username: string }>;
  const created: Array<{ id: string; username: string }> = [];
  beforeAll(async () => {
    rowsBefore = await userRows();
  });

  test('malformed bodies to POST /register and POST /token answer only 4xx (or 201 for a valid registration)', async () => {
    const bodies = fc.sample(withAnyContentType(hostileBodies(['username', 'password'])), { numRuns: 150, seed: 7 });
    for (const [path, sample] of [
      ['/register', bodies],
      ['/token', fc.sample(withAnyContentType(hostileBodies(['username', 'password', 'grant_type'])), { numRuns: 150, seed: 8 })],
    ] as const) {
      for (const body of sample) {
        const headers: Array<[string, string]> = body.contentType ? [['Content-Type', body.contentType]] : [];
        const answer = await api({ method: 'POST', target: path, headers, body: body.payload });
        tally(path, answer);
        expectRefusedOr(answer, `POST ${path} with ${body.kind}`, path === '/register' ? [201] : []);
        if (answer.status === 201) created.push({ id: answer.json.id, username: answer.json.username });
      }
    }
  });

  test('hostile user ids and city names answer only 200, 400, 404 or 414', async () => {
    for (const segment of fc.sample(hostileSegment, { numRuns: 120, seed: 9 })) {
      for (const path of [`/user/${segment}`, `/weather/${segment}`]) {
        const answer = await api({ method: 'GET', target: path, headers: bearer(alice.token) });
        tally(path.split('/')[1], answer);
        expectRefusedOr(answer, `GET ${path.slice(0, 80)}`, [200]);
      }
      const answer = await api({ method: 'DELETE', target: `/user/${segment}`, headers: bearer(alice.token) });
      tally('delete', answer);
      expectRefusedOr(answer, `DELETE /user/${segment.slice(0, 80)}`);
    }
  });

  // HAProxy's HTTP parser refuses these before any rule runs; HAProxy 2.6 then always sends its built-in HTML
  // 400 page (errorfile and http-error are not applied there: haproxy/haproxy#3032, fixed in 3.2).
  test.each<[string, () => RawRequest]>([
    ['300 headers', () => ({ method: 'GET', target: '/users', headers: Array.from({ length: 300 }, (_, i): [string, string] => [`X-H${i}`, 'v'.repeat(50)]) })],
    ['a NUL byte in the path', () => ({ method: 'GET', target: '/user/\u0000', headers: bearer(alice.token) })],
    ['a raw space in the path', () => ({ method: 'GET', target: '/weather/New York', headers: bearer(alice.token) })],
    ['raw UTF-8 bytes in the path', () => ({ method: 'GET', target: '/weather/Z\u00fcrich', headers: bearer(alice.token) })],
    ['an absolute URI naming another host', () => ({ method: 'GET', target: 'http://evil.example/users', headers: bearer(alice.token) })],
    ['a relative traversal target', () => ({ method: 'GET', target: '../../etc/passwd' })],
    ['a header name with a space', () => ({ method: 'GET', target: '/health-check', headers: [['Bad Header', 'x']] })],
    [
      'two different Content-Length headers',
      () => ({
        method: 'POST',
        target: '/register',
        headers: [
          ['Content-Type', 'application/json'],
          ['Content-Length', '5'],
        ],
        body: '{"a":1}',
      }),
    ],
  ])('%s is refused by the ingress parser with 400', async (_, make) => {
    const answer = await api(make());
    tally('unparsable', answer);
    expect(answer.status).toBe(400);
  });

  test.each<[string, number, () => RawRequest]>([
    ['a 20 kB header', 431, () => ({ method: 'GET', target: '/users', headers: [...bearer(alice.token), ['X-Padding', 'a'.repeat(20_000)]] })],
    ['a 20 kB URL', 414, () => ({ method: 'GET', target: `/weather/${'a'.repeat(20_000)}`, headers: bearer(alice.token) })],
    ['a 9 kB query string', 400, () => ({ method: 'GET', target: `/users?limit=${'9'.repeat(9000)}`, headers: bearer(alice.token) })],
    [
      'limit=1e400 (a number too large to be finite)',
      400,
      () => ({ method: 'GET', target: '/users?limit=1e400&offset=Infinity', headers: bearer(alice.token) }),
    ],
    [
      'a 2 MB body declared by Content-Length',
      413,
      () => ({ method: 'POST', target: '/register', headers: [['Content-Type', 'application/json']], body: `{"username":"${'a'.repeat(2 * 1024 * 1024)}"}` }),
    ],
    ['a 9 kB Authorization header', 401, () => ({ method: 'GET', target: '/users', headers: [['Authorization', `Bearer ${'a'.repeat(9000)}.b.c`]] })],
    ['an unknown method', 400, () => ({ method: 'BREW', target: '/health-check' })],
    ['a lower-case method', 400, () => ({ method: 'get', target: '/health-check' })],
    ['a content type nobody can parse', 400, () => ({ method: 'POST', target: '/register', headers: [['Content-Type', '/;;=']], body: '{}' })],
    // serverless-offline would give the function a default application/json: HAProxy answers it, and nothing is stored.
    [
      'a POST body without Content-Type',
      415,
      () => ({ method: 'POST', target: '/register', body: JSON.stringify({ username: `notype_${randomBytes(4).toString('hex')}`, password: 'password123' }) }),
    ],
    ['an overlong UTF-8 escape in the path', 400, () => ({ method: 'GET', target: '/user/%C0%AE%C0%AE%2F', headers: bearer(alice.token) })],
  ])('%s is answered %i problem+json', async (_, status, make) => {
    const answer = await api(make());
    tally('oversize and odd', answer);
    expect(`${answer.status} ${answer.headers['content-type']} ${answer.body.slice(0, 160)}`).toMatch(new RegExp(`^${status} application/problem\\+json`));
    expectProblem(answer, status);
  });

  test('a chunked body of 2 MB (no Content-Length to judge) is refused with 413 by the ingress, before any function', async () => {
    // Paced: the refusal comes once HAProxy's buffer is full, and writing on after it would draw a reset that discards it.
    const target = '/register';
    const answer = await sendChunked(stack.urls.api, {
      target,
      bodyBytes: 2 * 1024 * 1024,
      chunkBytes: 64 * 1024,
      pauseMs: 100,
      headers: [['Content-Type', 'application/json']],
      localAddress: freshAddress(),
    });
    answers.push({ target, answer });
    tally('oversize and odd', answer);
    expect(answer.status).toBe(413);
    expectProblem(answer);
    const logged = await eventually('HAProxy to log the refusal', () =>
      stack.logLines('haproxy').find((l) => l.request_id === answer.headers['x-request-id']?.[0]),
    );
    expect(logged).toMatchObject({ status: 413, server: '<NOSRV>' });
  });

  test('afterwards every process still runs, none logged an error, the API answers, and the database holds exactly the users answered 201', async () => {
    for (const [name, pid] of Object.entries(stack.pids)) expect([name, isAlive(pid!)]).toEqual([name, true]);
    const errors = ['app-backend-1', 'app-backend-2', 'weather-service'].flatMap((name) =>
      stack
        .logLines(name)
        .filter((l) => l.level === 'ERROR')
        .map((l) => `${name}: ${JSON.stringify(l)}`),
    );
    expect(errors).toEqual([]);
    expect((await api({ method: 'GET', target: '/health-check' })).status).toBe(200);
    const after = await userRows();
    expect(after).toEqual([...rowsBefore, ...created].sort((a, b) => (a.id < b.id ? -1 : 1)));
  });
});

describe('tokens through the stack', () => {
  const sign = (claims: object, secret = JWT_SECRET, options: jwt.SignOptions = {}) =>
    jwt.sign({ exp: Math.floor(Date.now() / 1000) + 600, ...claims }, secret, { algorithm: 'HS256', issuer: ISSUER, ...options });

  test('the genuine token is accepted (the refusals below are about the token, not the route)', async () => {
    expect((await api({ method: 'GET', target: `/user/${alice.id}`, headers: bearer(alice.token) })).status).toBe(200);
  });

  test.each<[string, () => Array<[string, string]>]>([
    ['no Authorization header', () => []],
    [
      'an unsigned token (alg none)',
      () => bearer(jwt.sign({ sub: alice.id, iss: ISSUER, exp: Math.floor(Date.now() / 1000) + 600 }, '', { algorithm: 'none' })),
    ],
    ['a token signed with another secret', () => bearer(sign({ sub: alice.id }, randomBytes(48).toString('base64url')))],
    [
      'a changed payload with the old signature',
      () => {
        const [header, , signature] = alice.token.split('.');
        const payload = Buffer.from(JSON.stringify({ sub: bob.id, iss: ISSUER, iat: 1, exp: 9_999_999_999 })).toString('base64url');
        return bearer(`${header}.${payload}.${signature}`);
      },
    ],
    ['an expired token', () => bearer(sign({ sub: alice.id, exp: Math.floor(Date.now() / 1000) - 5 }))],
    ['a token from another issuer', () => bearer(sign({ sub: alice.id }, JWT_SECRET, { issuer: 'somebody-else' }))],
    ['an HS512 token with the right secret', () => bearer(sign({ sub: alice.id }, JWT_SECRET, { algorithm: 'HS512' }))],
    ['the Basic scheme', () => [['Authorization', `Basic ${Buffer.from(`${alice.username}:${alice.password}`).toString('base64')}`]]],
    ['another scheme with the right token', () => [['Authorization', `Token ${alice.token}`]]],
    ['the scheme without a token', () => [['Authorization', 'Bearer']]],
    ['the token without a scheme', () => [['Authorization', alice.token]]],
    ['two Authorization headers, both genuine', () => [...bearer(alice.token), ...bearer(bob.token)]],
    ['two Authorization headers, a forged one first', () => [...bearer('forged.token.value'), ...bearer(alice.token)]],
    ['two Authorization headers, the genuine one first', () => [...bearer(alice.token), ...bearer('forged.token.value')]],
    ['two tokens in one header', () => [['Authorization', `Bearer ${alice.token}, Bearer ${bob.token}`]]],
  ])('%s: 401 problem+json with WWW-Authenticate: Bearer', async (_, headers) => {
    for (const target of ['/users', `/user/${alice.id}`]) {
      const answer = await api({ method: 'GET', target, headers: headers() });
      expectProblem(answer, 401);
      expect(answer.headers['www-authenticate']).toEqual(['Bearer']);
    }
  });

  test("a deleted user's token is refused at once", async () => {
    const carol = await register('carol');
    expect((await api({ method: 'GET', target: '/users', headers: bearer(carol.token) })).status).toBe(200);
    expect((await api({ method: 'DELETE', target: `/user/${carol.id}`, headers: bearer(carol.token) })).status).toBe(204);
    for (const target of ['/users', `/user/${alice.id}`, '/weather/London']) {
      expectProblem(await api({ method: 'GET', target, headers: bearer(carol.token) }), 401);
    }
    expectProblem(await api({ method: 'DELETE', target: `/user/${carol.id}`, headers: bearer(carol.token) }), 401);
  });
});

describe('brute force', () => {
  test('failed logins from one address reach the limit and get 429; other clients and other endpoints are unaffected', async () => {
    const attacker = '127.0.0.2';
    const statuses: number[] = [];
    for (let i = 0; i < RATE_LIMIT.requests + 10; i++) {
      // One name per guess: this checks the per-address limit, apart from the per-username throttle (login-throttle.test.ts).
      const answer = await api({
        method: 'POST',
        target: '/token',
        localAddress: attacker,
        ...form({ username: `guess_${i}_target`, password: `guess-${i}-wrong` }),
      });
      statuses.push(answer.status);
      if (answer.status === 429) {
        expectProblem(answer, 429);
        expect(answer.headers['retry-after']).toEqual([String(RATE_LIMIT.windowSeconds)]);
      }
    }
    const firstLimited = statuses.indexOf(429);
    console.log(`brute force from ${attacker}: ${statuses.filter((s) => s === 401).length} × 401 then ${statuses.filter((s) => s === 429).length} × 429`);
    expect(statuses.slice(0, RATE_LIMIT.requests)).toEqual(Array(RATE_LIMIT.requests).fill(401));
    expect(firstLimited).toBe(RATE_LIMIT.requests);
    expect(statuses.slice(firstLimited).every((s) => s === 429)).toBe(true);
    // Even the right password is refused from that address until the window passes...
    expect(
      (await api({ method: 'POST', target: '/token', localAddress: attacker, ...form({ username: alice.username, password: alice.password }) })).status,
    ).toBe(429);
    // ...while the rest of the API still serves it, and other addresses log in as usual.
    expect((await api({ method: 'GET', target: '/health-check', localAddress: attacker })).status).toBe(200);
    expect((await api({ method: 'GET', target: '/users', localAddress: attacker, headers: bearer(alice.token) })).status).toBe(200);
    for (const [who, from] of [
      [alice, '127.0.0.3'],
      [bob, '127.0.0.4'],
    ] as const) {
      const answer = await api({ method: 'POST', target: '/token', localAddress: from, ...form({ username: who.username, password: who.password }) });
      expect(answer.status).toBe(200);
      tokens.push(answer.json.access_token);
    }
  });
});

describe('spellings of the path', () => {
  test(`48 failed logins from one address spread over spellings of /token: at most ${RATE_LIMIT.requests} reach a password check, every other answer is 4xx problem+json`, async () => {
    const attacker = '127.0.0.5';
    const username = `ghost_${randomBytes(4).toString('hex')}`;
    const spellings = [
      '/token',
      '/token/',
      '/%74oken',
      '/x/../token',
      '/./token',
      '//token',
      '/token;x',
      '/TOKEN',
      '/token?x=1',
      '/tok%65n',
      '/token%2F',
      '/x%2F..%2Ftoken',
    ];
    const statuses: Record<string, number> = {};
    const ids: string[] = [];
    // HAProxy's own counter, exact: its access log is not (a line it cannot write at once is dropped and counted).
    const forwardedBefore = await haproxyMetric(stack.urls.metrics, stack.statsLogin, 'haproxy_backend_http_requests_total', { proxy: 'app_backend' });
    for (let i = 0; i < 48; i++) {
      const target = spellings[i % spellings.length];
      const answer = await api({ method: 'POST', target, localAddress: attacker, ...form({ username, password: `guess-${i}-wrong` }) });
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      ids.push(answer.headers['x-request-id']?.[0] ?? '');
      expect(`${target} ${answer.status}`).toMatch(/ 4\d\d$/);
      expectProblem(answer);
    }
    const forwarded =
      (await haproxyMetric(stack.urls.metrics, stack.statsLogin, 'haproxy_backend_http_requests_total', { proxy: 'app_backend' })) - forwardedBefore;
    // Password checks, from what the functions logged (their stdout is never dropped: Node writes to a pipe synchronously);
    // found by request id, since a name without an account is logged as "unknown".
    const checks = ['app-backend-1', 'app-backend-2']
      .flatMap((name) => stack.logLines(name))
      .filter((l) => l.event === 'auth.login_failed' && ids.includes(l.request_id) && l.reason !== 'throttled').length;
    const logged = stack.logLines('haproxy').filter((l) => ids.includes(l.request_id));
    const dropped = await haproxyMetric(stack.urls.metrics, stack.statsLogin, 'haproxy_process_dropped_logs_total');
    console.log(
      `48 guesses over ${spellings.length} spellings from ${attacker}: ${checks} reached a password check, ${forwarded} reached a backend; answers ${JSON.stringify(statuses)}; HAProxy logged ${logged.length} of them (dropped log lines in all: ${dropped})`,
    );
    expect(new Set(ids).size).toBe(48);
    expect(logged.filter((l) => l.server !== '<NOSRV>').length).toBeLessThanOrEqual(forwarded);
    expect(checks).toBeGreaterThan(0);
    expect(checks).toBeLessThanOrEqual(RATE_LIMIT.requests);
    expect(forwarded).toBeLessThanOrEqual(RATE_LIMIT.requests);
  });

  // Canonical, so let through: none of these may be routed to the token function (it would answer 401) unseen by the limit.
  test.each([
    '/token%3F',
    '/token%23',
    '/token%3Bx',
    '/token%20',
    '/token%2C',
    '/token%25',
    '/token%C2%A0',
    '/token%E2%80%8B',
    '/token,',
    '/token:',
    '/token@',
    '/token!',
    "/token'",
    '/token(x)',
    '/token*',
    '/token+',
    '/token$',
    '/token&',
    '/token=',
    '/token~',
    '/token.',
    '/token-',
    '/token_',
    '/x/token',
    '/token/x',
  ])('POST %s is not the token function (404 problem+json)', async (target) => {
    const answer = await api({ method: 'POST', target, ...form({ username: alice.username, password: 'not-her-password' }) });
    expectProblem(answer, 404);
  });

  test('what legitimate clients send still works: Swagger UI and its assets, the OpenAPI document, encoded city names', async () => {
    const page = await api({ method: 'GET', target: '/docs' });
    expect(page.status).toBe(200);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => new URL(m[1], `http://x/docs`).pathname);
    expect(assets.length).toBeGreaterThan(0);
    for (const target of [...new Set(assets)]) expect([target, (await api({ method: 'GET', target })).status]).toEqual([target, 200]);
    expect((await api({ method: 'GET', target: '/openapi.json' })).status).toBe(200);
    for (const city of ['S\u00e3o Paulo,BR', 'Z\u00fcrich', '\u041c\u043e\u0441\u043a\u0432\u0430', "Val-d'Or", "St. John's"]) {
      const target = `/weather/${encodeURIComponent(city)}`;
      expect([target, (await api({ method: 'GET', target, headers: bearer(alice.token) })).status]).toEqual([target, 200]);
    }
  });
});

describe('CORS with the default (no CORS_ORIGINS)', () => {
  test.each([
    ['GET /health-check', { method: 'GET', target: '/health-check' }],
    ['POST /token', { method: 'POST', target: '/token', ...form({ username: 'nobody_here', password: 'not-the-password' }) }],
    ['a preflight', { method: 'OPTIONS', target: '/token', headers: [['Access-Control-Request-Method', 'POST'] as [string, string]] }],
  ])('%s from Origin https://evil.example gets no Access-Control-* header (serverless-offline would echo it)', async (_, req) => {
    const answer = await api({ ...req, headers: [['Origin', 'https://evil.example'], ...(req.headers ?? [])] });
    expect(Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'))).toEqual([]);
  });
});

const uniqueLetters = () => Array.from(randomBytes(8), (b) => String.fromCharCode(97 + (b % 26))).join('');

describe('secrets', () => {
  test('after all of the above, no password, token or key appears in any log file, nor in any answer', async () => {
    // Make the weather service call the upstream with its key at least once, so the key had a chance to leak.
    expect((await api({ method: 'GET', target: `/weather/Secretville%20${uniqueLetters()}`, headers: bearer(alice.token) })).status).toBe(200);
    const dbPassword = decodeURIComponent(new URL(scratch.url).password);
    const keys = [JWT_SECRET, dbPassword, stack.standInApiKey!].filter(Boolean);
    expect(keys.length).toBe(3);
    const files = readdirSync(stack.logDir).map((name) => join(stack.logDir, name));
    expect(files.length).toBeGreaterThanOrEqual(6);
    let bytes = 0;
    for (const file of files) {
      const text = readFileSync(file, 'utf8');
      bytes += text.length;
      for (const secret of [...passwords, ...tokens, ...keys]) {
        if (text.includes(secret)) throw new Error(`${file} contains a secret (${secret.slice(0, 6)}…)`);
      }
    }
    for (const { target, answer } of answers) {
      const text = JSON.stringify(answer.headers) + answer.body;
      const allowed = target === '/token' ? new Set(tokens) : new Set<string>();
      for (const secret of [...passwords, ...tokens, ...keys]) {
        if (!allowed.has(secret) && text.includes(secret)) throw new Error(`the answer to ${target} contains a secret (${secret.slice(0, 6)}…)`);
      }
    }
    console.log(
      `secrets scan: ${passwords.length} passwords, ${tokens.length} tokens, ${keys.length} keys; ${files.length} log files (${bytes} bytes), ${answers.length} answers: none found`,
    );
  });
});
