// The edge rules of haproxy.cfg's `frontend api`, run by the real HAProxy in front of stub backends that record what
// reaches them: canonical paths only, the per-address limits (/token + /register, and /weather), bodies refused
// whatever their framing, no replay of a login whose request was sent, CORS only for listed origins, and the client
// address the functions read: the connection's, with the edge's proof when EDGE_PROOF_SECRET is set.
import { execFile } from 'node:child_process';
import { connect } from 'node:net';
import { sendChunked } from '../support/chunked-body';
import { startEdgeHaproxy, type EdgeHaproxy } from '../support/edge-haproxy';
import { parseAnswer, rawRequest, requestBytes, type RawAnswer, type RawRequest } from '../support/raw-http';

jest.setTimeout(120_000);

const AUTH_LIMIT = 20; // the default, per 10 s
const WEATHER = { requests: 5, windowSeconds: 3 };
const LISTED = ['https://app.example', 'http://localhost:5173'];

const EDGE_PROOF = 'the-edge-proof-of-this-test-0123456789abcdef';

let edge: EdgeHaproxy;
let defaults: EdgeHaproxy;
let proved: EdgeHaproxy;

beforeAll(async () => {
  [edge, defaults, proved] = await Promise.all([
    startEdgeHaproxy({
      RATE_LIMIT_WEATHER_REQUESTS: String(WEATHER.requests),
      RATE_LIMIT_WEATHER_WINDOW_SECONDS: String(WEATHER.windowSeconds),
      CORS_ORIGINS: LISTED.join(', '),
    }),
    startEdgeHaproxy(),
    startEdgeHaproxy({ EDGE_PROOF_SECRET: EDGE_PROOF }),
  ]);
});

afterAll(async () => {
  await Promise.all([edge?.stop(), defaults?.stop(), proved?.stop()]);
});

let nextAddress = 0;
const freshAddress = () => `127.0.${10 + Math.floor(nextAddress / 250)}.${1 + (nextAddress++ % 250)}`;
const send = (req: RawRequest, on = edge) => rawRequest(on.url, { localAddress: freshAddress(), ...req });
const form = (fields: Record<string, string>): Pick<RawRequest, 'headers' | 'body'> => ({
  headers: [['Content-Type', 'application/x-www-form-urlencoded']],
  body: new URLSearchParams(fields).toString(),
});
/** How many recorded requests reached a stub since `from` and match. */
const reached = (from: number, match: (url: string, method: string) => boolean, on = edge) =>
  on.received.slice(from).filter((r) => match(r.url, r.method)).length;

function expectProblem(answer: RawAnswer, status: number) {
  expect(`${answer.status} ${answer.headers['content-type']}`).toBe(`${status} application/problem+json`);
  expect(answer.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
}

// Spellings of /token that serverless-offline (hapi) or fastify route to the token function, or that a literal-path
// rule would not see as /token.
const TOKEN_SPELLINGS = [
  '/token/',
  '/%74oken',
  '/tok%65n',
  '/x/../token',
  '/./token',
  '//token',
  '/token;x',
  '/token/.',
  '/token\\',
  '/\\token',
  '/x%2F..%2Ftoken',
  '/x/%2E%2E/token',
  '/%2e%2e/token',
  '/token%2F',
  '/token%00',
  '/%2Ftoken',
  '/token%5C',
  '/token//',
  '/x/..//token',
];

describe('canonical paths', () => {
  test.each([
    ...TOKEN_SPELLINGS,
    '/register/',
    '/%72egister',
    '/weather/London/',
    '/weather/S%c3%a3o%20Paulo',
    '/weather/%4Condon',
    '/users/',
    '/user/./x',
    '/weather/..',
    '/weather//London',
  ])('POST/GET %s is refused with 400 problem+json before it reaches a backend', async (target) => {
    const before = edge.received.length;
    const method = target.startsWith('/weather') || target.startsWith('/user') ? 'GET' : 'POST';
    const answer = await send({ method, target, ...(method === 'POST' ? form({ username: 'alice', password: 'guess-wrong' }) : {}) });
    expectProblem(answer, 400);
    expect(edge.received.length).toBe(before);
  });

  test.each([
    '/',
    '/token',
    '/register',
    '/docs',
    '/openapi.json',
    '/users?limit=5&offset=0',
    '/users?x=/../&y=%2e',
    '/user/0b7c6a4e-3f7e-4d0c-9d4e-2a1b3c4d5e6f',
    '/weather/London',
    '/weather/London,GB',
    '/weather/S%C3%A3o%20Paulo',
    '/weather/%D0%9C%D0%BE%D1%81%D0%BA%D0%B2%D0%B0',
    "/weather/Val-d'Or",
    '/weather/St.%20John%27s',
    '/weather/%20%20LONDON%20',
    '/weather/Winston-Salem,US',
    '/weather/A.B.',
    '/weather/...x',
    '/weather/Z%C3%BCrich',
    '/weather/New+York',
  ])('%s passes unchanged', async (target) => {
    const before = edge.received.length;
    const method = target === '/token' || target === '/register' ? 'POST' : 'GET';
    const answer = await send({ method, target, ...(method === 'POST' ? form({ username: 'alice', password: 'a-long-password' }) : {}) });
    expect(answer.status).toBe(200);
    expect(edge.received.slice(before).map((r) => r.url)).toEqual([target]);
  });

  test.each([
    ['a 12 kB city name', `/weather/${'a'.repeat(12_000)}`],
    ['2000 encoded letters', `/weather/${'%C3%A3'.repeat(2000)}`],
    ['3000 short segments', '/x'.repeat(3000)],
  ])('a long canonical path (%s) passes (no regex limit turns it into a refusal)', async (_, target) => {
    const before = edge.received.length;
    expect((await send({ method: 'GET', target })).status).toBe(200);
    expect(edge.received.slice(before).map((r) => r.url)).toEqual([target]);
  });

  test('a request target over 12 kB is 414 and headers over 16 kB are 431, in problem+json', async () => {
    expectProblem(await send({ method: 'GET', target: `/weather/${'a'.repeat(12_300)}` }), 414);
    expectProblem(await send({ method: 'GET', target: '/users', headers: [['X-Padding', 'a'.repeat(17_000)]] }), 431);
  });

  test(`48 guesses from one address spread over spellings of /token: at most ${AUTH_LIMIT} reach a backend, all others get 4xx problem+json`, async () => {
    const attacker = '127.0.9.1';
    const spellings = ['/token', '/TOKEN', '/Token', '/token?x=1', ...TOKEN_SPELLINGS];
    const before = edge.received.length;
    const statuses: Record<number, number> = {};
    for (let i = 0; i < 48; i++) {
      const answer = await send({
        method: 'POST',
        target: spellings[i % spellings.length],
        localAddress: attacker,
        ...form({ username: 'alice', password: `guess-${i}` }),
      });
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
      if (answer.status !== 200) {
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expectProblem(answer, answer.status);
      }
    }
    const arrived = reached(before, (_url, method) => method === 'POST');
    console.log(`48 guesses over ${spellings.length} spellings of /token from one address: ${arrived} reached a backend; answers ${JSON.stringify(statuses)}`);
    expect(arrived).toBeLessThanOrEqual(AUTH_LIMIT);
  });
});

test(`the same 48 guesses over the canonical spellings the functions route (case, a query): the first ${AUTH_LIMIT} reach a backend, then 429`, async () => {
  const attacker = '127.0.9.2';
  const spellings = ['/token', '/TOKEN', '/Token', '/token?x=1', '/token?'];
  const before = edge.received.length;
  const statuses: number[] = [];
  for (let i = 0; i < 48; i++)
    statuses.push(
      (await send({ method: 'POST', target: spellings[i % spellings.length], localAddress: attacker, ...form({ username: 'alice', password: `guess-${i}` }) }))
        .status,
    );
  expect(reached(before, (_url, method) => method === 'POST')).toBe(AUTH_LIMIT);
  expect(statuses).toEqual([...Array(AUTH_LIMIT).fill(200), ...Array(48 - AUTH_LIMIT).fill(429)]);
});

describe('per-address limit on GET /weather/', () => {
  test(`past ${WEATHER.requests} lookups per ${WEATHER.windowSeconds} s: 429 problem+json with Retry-After, other addresses and endpoints unaffected`, async () => {
    const client = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < WEATHER.requests + 3; i++) {
      const answer = await send({ method: 'GET', target: `/weather/City${i}`, localAddress: client });
      statuses.push(answer.status);
      if (answer.status === 429) {
        expectProblem(answer, 429);
        expect(answer.headers['retry-after']).toEqual([String(WEATHER.windowSeconds)]);
      }
    }
    expect(statuses).toEqual([...Array(WEATHER.requests).fill(200), 429, 429, 429]);
    expect((await send({ method: 'GET', target: '/Weather/Other', localAddress: client })).status).toBe(429);
    // Its own table: the same address still reaches /users and logs in, and another address looks up cities.
    expect((await send({ method: 'GET', target: '/users', localAddress: client })).status).toBe(200);
    expect((await send({ method: 'POST', target: '/token', localAddress: client, ...form({ username: 'a', password: 'b' }) })).status).toBe(200);
    expect((await send({ method: 'GET', target: '/weather/London' })).status).toBe(200);
    // The window slides on: after it, the address is served again.
    await new Promise((r) => setTimeout(r, WEATHER.windowSeconds * 1000 + 500));
    expect((await send({ method: 'GET', target: '/weather/London', localAddress: client })).status).toBe(200);
  });

  test('the default is 60 lookups per 10 s', async () => {
    const client = freshAddress();
    const statuses: number[] = [];
    for (let i = 0; i < 61; i++) statuses.push((await send({ method: 'GET', target: `/weather/City${i}`, localAddress: client }, defaults)).status);
    expect(statuses.filter((s) => s === 200).length).toBe(60);
    expect(statuses[60]).toBe(429);
  });

  test('the login limit does not count weather lookups (separate tables)', async () => {
    const client = freshAddress();
    for (let i = 0; i < 30; i++) expect((await send({ method: 'GET', target: `/weather/City${i}`, localAddress: client }, defaults)).status).toBe(200);
    for (let i = 0; i < AUTH_LIMIT; i++)
      expect((await send({ method: 'POST', target: '/token', localAddress: client, ...form({ username: 'a', password: 'b' }) }, defaults)).status).toBe(200);
    expect((await send({ method: 'POST', target: '/token', localAddress: client, ...form({ username: 'a', password: 'b' }) }, defaults)).status).toBe(429);
  });
});

describe('request bodies, whatever their framing', () => {
  const MAX = 65_536;
  const json: Array<[string, string]> = [['Content-Type', 'application/json']];

  // The 2 MB body pauses between chunks: writing on after the refusal would draw a reset that discards the answer.
  test.each([
    ['just at the limit', MAX, 200, 16 * 1024, 0],
    ['one byte over the limit', MAX + 1, 413, 16 * 1024, 0],
    ['of 2 MB', 2 * 1024 * 1024, 413, 64 * 1024, 100],
  ])('a chunked body %s (%i bytes) answers %i; an oversized one never reaches a backend', async (_, bodyBytes, status, chunkBytes, pauseMs) => {
    const before = edge.received.length;
    const answer = await sendChunked(edge.url, { target: '/register', bodyBytes, chunkBytes, pauseMs, headers: json, localAddress: freshAddress() });
    expect(answer.status).toBe(status);
    if (status === 413) {
      expectProblem(answer, 413);
      expect(edge.received.length).toBe(before);
    } else {
      expect(edge.received.slice(before).map((r) => r.bodyBytes)).toEqual([bodyBytes]);
    }
  });

  test('a slow chunked body under the limit is waited for and passed on whole', async () => {
    const before = edge.received.length;
    const answer = await sendChunked(edge.url, {
      target: '/register',
      bodyBytes: 40_000,
      chunkBytes: 2_000,
      pauseMs: 100,
      headers: json,
      localAddress: freshAddress(),
    });
    expect(answer.status).toBe(200);
    expect(edge.received.slice(before).map((r) => r.bodyBytes)).toEqual([40_000]);
  });

  test('a slow chunked body over the limit is refused with 413 before its end, and reaches no backend', async () => {
    const before = edge.received.length;
    const started = Date.now();
    const answer = await sendChunked(edge.url, {
      target: '/register',
      bodyBytes: 1024 * 1024,
      chunkBytes: 4096,
      pauseMs: 20,
      headers: json,
      localAddress: freshAddress(),
    });
    expectProblem(answer, 413);
    // Sending all of it would take 256 × 20 ms; the refusal comes once the buffer holds more than the limit.
    console.log(`slow 1 MB chunked body refused after ${Date.now() - started} ms`);
    expect(edge.received.length).toBe(before);
  });

  test('a chunked body that trickles for longer than 10 s gets 408 problem+json and reaches no backend', async () => {
    const before = edge.received.length;
    const answer = await sendChunked(edge.url, {
      target: '/register',
      bodyBytes: 30_000,
      chunkBytes: 1000,
      pauseMs: 500,
      headers: json,
      localAddress: freshAddress(),
    });
    expectProblem(answer, 408);
    expect(edge.received.length).toBe(before);
  });

  test.each<[string, string[]]>([
    ['with a Content-Length', []],
    ['chunked', ['-H', 'Transfer-Encoding: chunked']],
  ])('curl (Expect: 100-continue) posting 60 kB %s is let through whole', async (_, framing) => {
    const before = edge.received.length;
    const status = await new Promise<string>((resolve, reject) => {
      const curl = execFile(
        'curl',
        ['-sS', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'Content-Type: application/json', ...framing, '--data-binary', '@-', `${edge.url}/register`],
        (err, out) => (err ? reject(err) : resolve(out)),
      );
      curl.stdin!.end('a'.repeat(60_000));
    });
    expect(status).toBe('200');
    expect(edge.received.slice(before).map((r) => r.bodyBytes)).toEqual([60_000]);
  });

  test('a declared body just at the limit passes, one byte over is 413', async () => {
    const before = edge.received.length;
    expect((await send({ method: 'POST', target: '/register', headers: json, body: 'a'.repeat(MAX) })).status).toBe(200);
    expectProblem(await send({ method: 'POST', target: '/register', headers: json, body: 'a'.repeat(MAX + 1) }), 413);
    expect(edge.received.slice(before).map((r) => r.bodyBytes)).toEqual([MAX]);
  });
});

/**
 * Like rawRequest, but the client keeps its side open until the answer: one that has half-closed (rawRequest does,
 * after writing) sometimes gets 400 instead of 502 from HAProxy 2.6 when the backend drops the connection.
 */
function sendWithoutHalfClose(req: RawRequest): Promise<RawAnswer> {
  const { port, host } = new URL(edge.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port), localAddress: freshAddress() }, () => socket.write(requestBytes(host, req)));
    const received: Buffer[] = [];
    socket.setTimeout(20_000, () => socket.destroy(new Error('no answer within 20 s')));
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => (received.length ? resolve(parseAnswer(Buffer.concat(received))) : reject(new Error('closed without an answer'))));
  });
}

describe('replays after a lost answer', () => {
  afterEach(() => edge.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));

  // The stub reads the request, then closes the connection without answering: HAProxy's "empty-response" case.
  const dropEveryAnswer = () => edge.handle((req) => setTimeout(() => req.socket.destroy(), 50));

  test.each([
    ['POST', '/token'],
    ['POST', '/TOKEN'],
    ['POST', '/register'],
    ['DELETE', '/user/0b7c6a4e-3f7e-4d0c-9d4e-2a1b3c4d5e6f'],
  ])('%s %s whose answer is lost is sent exactly once (502 problem+json), never replayed', async (method, target) => {
    await dropEveryAnswer();
    const before = edge.received.length;
    const answer = await sendWithoutHalfClose({ method, target, ...(method === 'POST' ? form({ username: 'alice', password: 'a-long-password' }) : {}) });
    expectProblem(answer, 502);
    expect(edge.received.length - before).toBe(1);
  });

  test('POST /token to a backend that reads it and never answers gets one attempt and, after timeout server (15 s), 504', async () => {
    await edge.handle(() => undefined);
    const before = edge.received.length;
    expectProblem(await sendWithoutHalfClose({ method: 'POST', target: '/token', ...form({ username: 'alice', password: 'a-long-password' }) }), 504);
    expect(edge.received.length - before).toBe(1);
  });

  test('an idempotent GET whose answer is lost is replayed (the retry the rule above turns off exists)', async () => {
    await dropEveryAnswer();
    const before = edge.received.length;
    expectProblem(await sendWithoutHalfClose({ method: 'GET', target: '/users' }), 502);
    expect(edge.received.length - before).toBeGreaterThan(1);
  });
});

describe('CORS', () => {
  // What serverless-offline does: echo any Origin, with credentials allowed.
  beforeEach(() =>
    edge.handle((req, res) => {
      const origin = req.headers.origin ?? '*';
      res.writeHead(200, {
        'content-type': 'application/json',
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-expose-headers': 'WWW-Authenticate',
      });
      res.end('{}');
    }),
  );
  afterAll(() => edge.handle((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}')));
  const corsHeaders = (answer: RawAnswer) => Object.fromEntries(Object.entries(answer.headers).filter(([name]) => name.startsWith('access-control-')));

  test.each([
    'https://evil.example',
    'https://app.example.evil.example',
    'https://app.exampl',
    'http://app.example',
    'null',
    'https://app.example|https://app.example',
    'https://app.example, https://app.example',
  ])('an unlisted Origin %s gets no Access-Control-* header at all', async (origin) => {
    const answer = await send({ method: 'GET', target: '/users', headers: [['Origin', origin]] });
    expect(answer.status).toBe(200);
    expect(corsHeaders(answer)).toEqual({});
  });

  test('by default (CORS_ORIGINS empty) no origin gets CORS headers, not even a preflight answer', async () => {
    for (const origin of LISTED) {
      expect(corsHeaders(await send({ method: 'GET', target: '/users', headers: [['Origin', origin]] }, defaults))).toEqual({});
      const preflight = await send(
        {
          method: 'OPTIONS',
          target: '/token',
          headers: [
            ['Origin', origin],
            ['Access-Control-Request-Method', 'POST'],
          ],
        },
        defaults,
      );
      expect(corsHeaders(preflight)).toEqual({});
    }
  });

  test.each(LISTED)('a listed Origin %s gets exactly that origin back, Vary: Origin, and no credentials', async (origin) => {
    const answer = await send({ method: 'GET', target: '/users', headers: [['Origin', origin]] });
    expect(corsHeaders(answer)).toEqual({
      'access-control-allow-origin': [origin],
      'access-control-expose-headers': ['Retry-After, WWW-Authenticate, X-Request-ID'],
    });
    expect(answer.headers.vary?.join(',')).toMatch(/\bOrigin\b/i);
  });

  test("a listed origin's preflight is answered at the edge (204, methods, headers, max-age); an unlisted one gets no CORS headers", async () => {
    const before = edge.received.length;
    const asked: Array<[string, string]> = [
      ['Access-Control-Request-Method', 'POST'],
      ['Access-Control-Request-Headers', 'content-type'],
    ];
    const listed = await send({ method: 'OPTIONS', target: '/token', headers: [['Origin', LISTED[0]], ...asked] });
    expect(listed.status).toBe(204);
    expect(corsHeaders(listed)).toEqual({
      'access-control-allow-origin': [LISTED[0]],
      'access-control-allow-methods': ['GET, POST, DELETE'],
      'access-control-allow-headers': ['Authorization, Content-Type'],
      'access-control-max-age': ['600'],
      'access-control-expose-headers': ['Retry-After, WWW-Authenticate, X-Request-ID'],
    });
    const unlisted = await send({ method: 'OPTIONS', target: '/token', headers: [['Origin', 'https://evil.example'], ...asked] });
    expect(unlisted.status).toBe(204);
    expect(corsHeaders(unlisted)).toEqual({});
    expect(edge.received.length).toBe(before);
  });

  test("the edge's own refusals carry the CORS headers for a listed origin, so a browser app can read them", async () => {
    const answer = await send({ method: 'GET', target: '/token/', headers: [['Origin', LISTED[0]]] });
    expectProblem(answer, 400);
    expect(answer.headers['access-control-allow-origin']).toEqual([LISTED[0]]);
  });
});

describe("the loopback weather frontend's total ceiling (RATE_LIMIT_WEATHER_SERVICE_*)", () => {
  const CEILING = { requests: 5, windowSeconds: 3 };
  let weatherEdge: EdgeHaproxy;
  beforeAll(async () => {
    weatherEdge = await startEdgeHaproxy({
      RATE_LIMIT_WEATHER_SERVICE_REQUESTS: String(CEILING.requests),
      RATE_LIMIT_WEATHER_SERVICE_WINDOW_SECONDS: String(CEILING.windowSeconds),
    });
  });
  afterAll(() => weatherEdge?.stop());

  const lookup = (on: EdgeHaproxy, city: string, localAddress = freshAddress()) =>
    rawRequest(on.weatherUrl, { method: 'GET', target: `/weather/${city}`, headers: [['X-Service-Token', 'leaked']], localAddress });

  test(`past ${CEILING.requests} requests per ${CEILING.windowSeconds} s from all callers together: 429 problem+json with Retry-After, none reaches a replica`, async () => {
    const before = weatherEdge.received.length;
    const answers: RawAnswer[] = [];
    // Every request from another address: the ceiling counts them all as one.
    for (let i = 0; i < CEILING.requests + 3; i++) answers.push(await lookup(weatherEdge, `Ceiling${i}`));
    // HAProxy's sliding window is interpolated between two periods: a burst across their boundary may get one more in.
    const statuses = answers.map((a) => a.status);
    expect(statuses.slice(0, CEILING.requests)).toEqual(Array(CEILING.requests).fill(200));
    expect(statuses.slice(-2)).toEqual([429, 429]);
    for (const refused of answers.filter((a) => a.status !== 200)) {
      expectProblem(refused, 429);
      expect(refused.headers['retry-after']).toEqual([String(CEILING.windowSeconds)]);
      expect(refused.json.detail).toMatch(/weather service passes on at most 5 requests per 3 s from all callers together/);
    }
    expect(weatherEdge.received.length - before).toBe(statuses.filter((s) => s === 200).length);
    expect(weatherEdge.received.length - before).toBeLessThanOrEqual(CEILING.requests + 1);
    // The API frontend is not behind it: its own weather route still reaches a backend.
    expect((await send({ method: 'GET', target: '/weather/London' }, weatherEdge)).status).toBe(200);
    // The window slides on: after it, requests pass again.
    await new Promise((r) => setTimeout(r, CEILING.windowSeconds * 1000 + 500));
    expect((await lookup(weatherEdge, 'Later')).status).toBe(200);
  });

  test('refused requests do not count: a caller that keeps hammering does not keep the others out beyond the window', async () => {
    await new Promise((r) => setTimeout(r, CEILING.windowSeconds * 1000 + 500));
    for (let i = 0; i < CEILING.requests + 20; i++) await lookup(weatherEdge, `Hammer${i}`, '127.0.8.1');
    await new Promise((r) => setTimeout(r, CEILING.windowSeconds * 1000 + 500));
    expect((await lookup(weatherEdge, 'Victim', '127.0.8.2')).status).toBe(200);
  });

  test('the default (2000 per second) does not tax normal use: a burst of 300 lookups, 20 at a time, all pass', async () => {
    const before = defaults.received.length;
    const statuses: number[] = [];
    for (let round = 0; round < 15; round++)
      statuses.push(...(await Promise.all(Array.from({ length: 20 }, (_, i) => lookup(defaults, `Normal${round}x${i}`)))).map((a) => a.status));
    expect(statuses).toEqual(Array(300).fill(200));
    expect(defaults.received.length - before).toBe(300);
  });
});

describe('the client address, and the proof that a request came through here', () => {
  // What a client may claim about itself; none of it may reach a function.
  const CLAIMS: Array<[string, string]> = [
    ['X-Forwarded-For', '6.6.6.6'],
    ['X-Forwarded-For', '6.6.6.7, 6.6.6.8'],
    ['X-Real-IP', '7.7.7.7'],
    ['Forwarded', 'for=8.8.8.8;proto=https'],
    ['X-Edge-Proof', 'forged'],
  ];
  const addressHeaders = (r: { headers: Record<string, unknown> }) =>
    Object.fromEntries(['x-forwarded-for', 'x-real-ip', 'forwarded', 'x-edge-proof'].map((h) => [h, r.headers[h]]));

  test.each([
    ['POST', '/token', form({ username: 'alice', password: 'a-long-password' })],
    ['GET', '/users', {}],
    ['GET', '/health-check', {}],
  ] as const)('%s %s: claimed addresses never reach a backend, which sees one X-Forwarded-For, the connection’s source', async (method, target, extra) => {
    // Found by the request id the frontend gave it (a client's GET /health-check lands among the stubs' checks).
    for (const from of ['127.0.0.21', '127.0.0.22']) {
      const headers = [...CLAIMS, ...('headers' in extra ? extra.headers! : [])];
      const answer = await send({ method, target, localAddress: from, ...extra, headers });
      expect(answer.status).toBe(200);
      const seen = [...edge.received, ...edge.checks].filter((r) => r.headers['x-request-id'] === answer.headers['x-request-id'][0]);
      expect(seen.map(addressHeaders)).toEqual([{ 'x-forwarded-for': from, 'x-real-ip': undefined, forwarded: undefined, 'x-edge-proof': undefined }]);
    }
  });

  test('with EDGE_PROOF_SECRET set, every request reaching a backend carries it as X-Edge-Proof (a client’s own replaced)', async () => {
    for (const [method, target] of [
      ['POST', '/register'],
      ['GET', '/weather/London'],
      ['GET', '/nothing/here'],
    ]) {
      const before = proved.received.length;
      const answer = await send(
        { method, target, localAddress: '127.0.0.23', headers: [...CLAIMS, ['Content-Type', 'application/json']], body: method === 'POST' ? '{}' : undefined },
        proved,
      );
      expect(answer.status).toBe(200);
      expect(proved.received.slice(before).map(addressHeaders)).toEqual([
        { 'x-forwarded-for': '127.0.0.23', 'x-real-ip': undefined, forwarded: undefined, 'x-edge-proof': EDGE_PROOF },
      ]);
    }
  });

  test("HAProxy's own health checks of both backends carry the proof when it is set, and one X-Forwarded-For", async () => {
    // Checks run every second; the ones HAProxy sends itself carry no X-Request-ID (the API frontend sets one on every request).
    await new Promise((r) => setTimeout(r, 1500));
    const own = (on: EdgeHaproxy) => on.checks.filter((c) => !c.headers['x-request-id']);
    for (const server of [1, 2, 3, 4]) {
      const checks = own(proved).filter((c) => c.server === server);
      expect(checks.length).toBeGreaterThan(0);
      expect(new Set(checks.map((c) => `${c.headers['x-edge-proof']} ${c.headers['x-forwarded-for']}`))).toEqual(new Set([`${EDGE_PROOF} 127.0.0.1`]));
    }
    // Unset: the header is empty, which the functions (asking for no proof then) never look at.
    expect(new Set(own(edge).map((c) => c.headers['x-edge-proof'] ?? ''))).toEqual(new Set(['']));
  });

  test('the loopback weather frontend replaces claimed addresses too, and adds the proof only when it is set', async () => {
    for (const [on, proof] of [
      [proved, EDGE_PROOF],
      [edge, undefined],
    ] as const) {
      const before = on.received.length;
      const answer = await rawRequest(on.weatherUrl, { method: 'GET', target: '/weather/London', localAddress: '127.0.0.24', headers: CLAIMS });
      expect(answer.status).toBe(200);
      const seen = on.received.slice(before);
      expect(seen.map((r) => r.server).every((n) => n === 3 || n === 4)).toBe(true);
      expect(seen.map(addressHeaders)).toEqual([{ 'x-forwarded-for': '127.0.0.24', 'x-real-ip': undefined, forwarded: undefined, 'x-edge-proof': proof }]);
    }
  });
});
