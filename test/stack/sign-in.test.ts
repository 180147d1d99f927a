// Sign-in on the running stack, through the real HAProxy: the login counters, device tokens and the client address as
// a user and an attacker meet them (docs/security.md). Clients come from loopback source addresses of this file's own
// (all of 127/8 reaches HAProxy): the address the functions count is the connection's. The edge's own per-address
// limit on /token is raised, so every 429 here is the function's (its detail names the counter).
import { randomBytes, randomInt } from 'node:crypto';
import { request, type IncomingHttpHeaders } from 'node:http';
import { statsAuthorization } from '../../local/services/haproxy-stats';
import { apiGatewayEvent } from '../support/lambda';
import { eventually, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

const PER_ADDRESS = 5; // LOGIN_THROTTLE_FAILURES, the default
const SPRAY = 30; // LOGIN_THROTTLE_ADDRESS_FAILURES, the default
const CEILING = 100; // LOGIN_ACCOUNT_MAX_FAILURES, the default
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      RATE_LIMIT_AUTH_REQUESTS: '100000',
      // The account's slowdown (20 untrusted failures, then one try per 3 min) would hold the 200 guesses below
      // long before the ceiling: set at the ceiling, so that they meet the ceiling itself (the slowdown has its own
      // tests: test/backend/login-waits.test.ts).
      LOGIN_ACCOUNT_SLOWDOWN_FAILURES: String(CEILING),
    },
  });
});
afterAll(async () => {
  await stack?.stop();
});

/** Loopback addresses of this file's own, each new: 127.B.x.y with B drawn once. */
const block = randomInt(10, 250);
let addresses = 0;
const newAddress = () => {
  const n = addresses++;
  return `127.${block}.${Math.floor(n / 250)}.${(n % 250) + 1}`;
};

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: any;
}

/** One request on a connection of its own from `from`. */
function send(url: string, o: { method?: string; from?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', agent: false, localAddress: o.from, headers: o.headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode!, headers: res.headers, text, json });
      });
    });
    req.on('error', reject).end(o.body);
  });
}

interface LoginOptions {
  from: string;
  /** sent as the form field device_token */
  deviceToken?: string;
  headers?: Record<string, string>;
  /** where to send it (default: through HAProxy) */
  base?: string;
}

const login = (username: string, password: string, o: LoginOptions) =>
  send(`${o.base ?? stack.urls.api}/token`, {
    method: 'POST',
    from: o.from,
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...o.headers },
    body: new URLSearchParams({ username, password, ...(o.deviceToken ? { device_token: o.deviceToken } : {}) }).toString(),
  });

interface Account {
  username: string;
  password: string;
}

async function register(prefix: string): Promise<Account> {
  const account = { username: `${prefix}_${randomBytes(5).toString('hex')}`, password: `pw-${randomBytes(8).toString('hex')}` };
  const created = await send(`${stack.urls.api}/register`, {
    method: 'POST',
    from: newAddress(),
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(account),
  });
  expect(created.status).toBe(201);
  return account;
}

/** A 429 of the login counters (not the edge's "too many login or registration attempts"), naming `counter`. */
function expectThrottled(answer: Answer, counter: RegExp) {
  expect(answer.status).toBe(429);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.json.detail).toMatch(/^too many failed logins/);
  expect(answer.json.detail).toMatch(counter);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThan(0);
}
const FROM_THIS_ADDRESS = /for this username from this address/;

const statuses = (answers: Answer[]) => answers.map((a) => a.status);
const count = (answers: Answer[], status: number) => answers.filter((a) => a.status === status).length;

/** The function's auth.login_* lines for `username`, once there are `expected` of them. */
const loginLines = (username: string, expected: number) =>
  eventually(`${expected} login lines for ${username}`, () => {
    const lines = stack.logLines('app-backend').filter((l) => /^auth\.login_/.test(l.message) && l.username === username);
    return lines.length >= expected ? lines : undefined;
  });

test("30 wrong passwords from one address never keep the owner out elsewhere: another address logs in at once, the attacker's waits", async () => {
  const owner = await register('owner');
  const [attacker, elsewhere] = [newAddress(), newAddress()];
  const tries: Answer[] = [];
  for (let i = 0; i < 30; i++) tries.push(await login(owner.username, `guess-${i}`, { from: attacker }));
  expect(statuses(tries)).toEqual([...Array(PER_ADDRESS).fill(401), ...Array(30 - PER_ADDRESS).fill(429)]);
  for (const answer of tries.slice(PER_ADDRESS)) expectThrottled(answer, FROM_THIS_ADDRESS);

  const owners = await login(owner.username, owner.password, { from: elsewhere });
  expect(owners.status).toBe(200);
  expect(owners.json.access_token).toEqual(expect.any(String));
  // The right password from the attacking address still waits.
  expectThrottled(await login(owner.username, owner.password, { from: attacker }), FROM_THIS_ADDRESS);
});

describe('200 wrong passwords for one account from 200 addresses', () => {
  /** `n` wrong passwords for `username`, each from a new address, 20 at a time. */
  async function siege(username: string, n: number): Promise<Answer[]> {
    const answers: Answer[] = [];
    for (let sent = 0; sent < n; sent += 20) {
      const batch = Array.from({ length: Math.min(20, n - sent) }, (_, i) => login(username, `guess-${sent + i}`, { from: newAddress() }));
      answers.push(...(await Promise.all(batch)));
    }
    return answers;
  }
  const cookieOf = (answer: Answer) => (answer.headers['set-cookie'] ?? []).map((c) => /^device_token=([^;]+)/.exec(c)?.[1]).find(Boolean);
  const FROM_UNKNOWN_DEVICES = /for this username from devices it has not signed in from/;

  test('at most 100 reach a password check; then the owner gets in only from a device it signed in from before (cookie or field)', async () => {
    const owner = await register('besieged');
    const earlier = await login(owner.username, owner.password, { from: newAddress() });
    expect(earlier.status).toBe(200);
    const [field, cookie] = [earlier.json.device_token as string, cookieOf(earlier)];
    expect(cookie).toBe(field);

    const answers = await siege(owner.username, 200);
    expect(count(answers, 401) + count(answers, 429)).toBe(200);
    expect(count(answers, 401)).toBeLessThanOrEqual(CEILING);
    for (const answer of answers.filter((a) => a.status === 429)) expectThrottled(answer, FROM_UNKNOWN_DEVICES);
    // The function's own account of it: one line per try, a password check only behind the 401s.
    const lines = await loginLines(owner.username, 1 + 200);
    expect(lines.filter((l) => l.reason === 'wrong_password')).toHaveLength(count(answers, 401));
    expect(lines.filter((l) => l.reason === 'throttled')).toHaveLength(count(answers, 429));

    // The right password from a client without a device token of the account: refused.
    expectThrottled(await login(owner.username, owner.password, { from: newAddress() }), FROM_UNKNOWN_DEVICES);
    // With the cookie of the earlier login, from an address never seen: in (and the run of failures is over).
    expect((await login(owner.username, owner.password, { from: newAddress(), headers: { cookie: `device_token=${cookie}` } })).status).toBe(200);

    // Besieged again: the field of the earlier login gets in as well.
    expect(count(await siege(owner.username, CEILING + 10), 401)).toBeLessThanOrEqual(CEILING);
    expectThrottled(await login(owner.username, owner.password, { from: newAddress() }), FROM_UNKNOWN_DEVICES);
    expect((await login(owner.username, owner.password, { from: newAddress(), deviceToken: field })).status).toBe(200);
  });
});

test('one address trying one password across 40 usernames is refused before the 40th', async () => {
  const accounts = await Promise.all(Array.from({ length: 40 }, (_, i) => register(`sprayed${i}`)));
  const sprayer = newAddress();
  const answers: Answer[] = [];
  for (const { username } of accounts) answers.push(await login(username, 'Summer2024!', { from: sprayer }));
  const first429 = answers.findIndex((a) => a.status === 429);
  expect(first429).toBeGreaterThan(-1);
  expect(first429).toBeLessThan(39);
  expect(statuses(answers)).toEqual([...Array(SPRAY).fill(401), ...Array(40 - SPRAY).fill(429)]);
  for (const answer of answers.slice(SPRAY)) expectThrottled(answer, /from this address/);
  // One of those accounts, from elsewhere: in.
  expect((await login(accounts[39].username, accounts[39].password, { from: newAddress() })).status).toBe(200);
});

describe("a client's own X-Forwarded-For, X-Real-IP or Forwarded changes no count", () => {
  const claims = (address: string) => ({ 'x-forwarded-for': address, 'x-real-ip': address, forwarded: `for=${address}` });

  test('made-up addresses from one real one: still throttled at the per-address threshold', async () => {
    const owner = await register('forged');
    const real = newAddress();
    const tries: Answer[] = [];
    for (let i = 0; i < PER_ADDRESS + 3; i++) {
      const madeUp = `198.51.100.${i + 1}`;
      tries.push(await login(owner.username, `guess-${i}`, { from: real, headers: claims(madeUp) }));
    }
    expect(statuses(tries)).toEqual([...Array(PER_ADDRESS).fill(401), ...Array(3).fill(429)]);
    expectThrottled(tries[PER_ADDRESS], FROM_THIS_ADDRESS);
  });

  test('naming a throttled address does not throttle you', async () => {
    const owner = await register('named');
    const throttled = newAddress();
    for (let i = 0; i < PER_ADDRESS; i++) await login(owner.username, `guess-${i}`, { from: throttled });
    expectThrottled(await login(owner.username, 'guess', { from: throttled }), FROM_THIS_ADDRESS);

    const innocent = newAddress();
    expect((await login(owner.username, 'a typo', { from: innocent, headers: claims(throttled) })).status).toBe(401);
    expect((await login(owner.username, owner.password, { from: innocent, headers: claims(throttled) })).status).toBe(200);
  });
});

describe('a login sent straight to an instance is refused', () => {
  function expectNotThroughTheEdge(status: number, headers: Record<string, unknown>, body: string) {
    expect(status).toBe(403);
    expect(String(headers['content-type'])).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(body)).toMatchObject({ status: 403, detail: 'requests must come through the edge' });
    expect(body).not.toMatch(/access_token|device_token/);
  }

  test("on an instance's HTTP port: 403, no password check, nothing counted", async () => {
    const owner = await register('direct');
    const from = newAddress();
    for (const base of stack.urls.backends) {
      const right = await login(owner.username, owner.password, { from, base, headers: { 'x-forwarded-for': '203.0.113.9' } });
      expectNotThroughTheEdge(right.status, right.headers, right.text);
      for (let i = 0; i < PER_ADDRESS + 1; i++) {
        const wrong = await login(owner.username, `guess-${i}`, { from, base });
        expectNotThroughTheEdge(wrong.status, wrong.headers, wrong.text);
      }
    }
    // Through the edge from the same address: the count starts at nothing.
    const tries: Answer[] = [];
    for (let i = 0; i <= PER_ADDRESS; i++) tries.push(await login(owner.username, `guess-${i}`, { from }));
    expect(statuses(tries)).toEqual([...Array(PER_ADDRESS).fill(401), 429]);
    // And the function logged those tries only: the direct ones never reached the login.
    const lines = await loginLines(owner.username, PER_ADDRESS + 1);
    expect(lines.map((l) => l.reason)).toEqual([...Array(PER_ADDRESS).fill('wrong_password'), 'throttled']);
  });

  test("on an instance's Lambda invoke port: a hand-made event naming any sourceIp is answered 403", async () => {
    const owner = await register('invoked');
    for (const base of stack.urls.backendInvoke) {
      const event = apiGatewayEvent({
        method: 'POST',
        path: '/token',
        form: { username: owner.username, password: owner.password },
        sourceIp: '203.0.113.10',
        headers: { 'x-forwarded-for': '203.0.113.10', 'x-edge-proof': 'a guess' },
      });
      const invoked = await send(`${base}/2015-03-31/functions/app-backend-local-token/invocations`, {
        method: 'POST',
        from: newAddress(),
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(event),
      });
      expect(invoked.status).toBe(200); // the invocation ran: its answer is the function's
      expectNotThroughTheEdge(invoked.json.statusCode, invoked.json.headers, invoked.json.body);
    }
  });
});

describe('the stats page and the metrics', () => {
  test.each(['stats', 'metrics'] as const)('/%s: refused without the login or with a wrong one, answered with it', async (page) => {
    const url = stack.urls[page];
    const none = await send(url);
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Basic realm="?stats/);
    const wrong = await send(url, { headers: { authorization: statsAuthorization({ ...stack.statsLogin, password: 'a guess' }) } });
    expect(wrong.status).toBe(401);
    expect(wrong.text).not.toMatch(/app-backend-1/);
    const answered = await send(url, { headers: { authorization: statsAuthorization(stack.statsLogin) } });
    expect(answered.status).toBe(200);
    expect(answered.text).toMatch(/app-backend-1|app_backend/);
  });
});
