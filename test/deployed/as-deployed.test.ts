// The "as deployed" tier: both services packaged for stage ci, every function unpacked and run as the Lambda
// runtime runs it (own Node 22 process as `nobody`, only its template's environment plus the runtime's own,
// API Gateway v2 events), against the run's real Postgres and the OpenWeatherMap stand-in.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readEmbeddedState } from '../../layers/config/local-state';
import { startStandIn, type StandIn } from '../../local/owm-standin';
import { uniqueCity } from '../support/weather';
import { uniqueName } from '../support/users';
import { startDeployedStack, STAGE, type DeployedStack } from './support/deployed-stack';
import { ROOT } from './support/package-services';
import { node22 } from './support/node22';
import { zipEntries } from './support/zip-files';

jest.setTimeout(60_000);

let stack: DeployedStack;
let standIn: StandIn;
let databasePasswords: string[];

interface Reply {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

async function call(base: string, method: string, path: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Reply> {
  const res = await fetch(`${base}${path}`, { method, headers: init.headers, body: init.body, redirect: 'manual' });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const api = (method: string, path: string, init?: { headers?: Record<string, string>; body?: string }) => call(stack.backend.url, method, path, init);
const json = (value: unknown) => ({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
const form = (value: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  body: new URLSearchParams(value).toString(),
});

function expectProblem(reply: Reply, status: number) {
  expect(reply.status).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.json).toMatchObject({ status, title: expect.any(String), detail: expect.any(String) });
}

beforeAll(async () => {
  const state = readEmbeddedState();
  if (!state) throw new Error('the run has no embedded Postgres (test/support/global-setup.ts)');
  databasePasswords = [state.appUrl, state.weatherUrl].map((u) => decodeURIComponent(new URL(u).password));
  standIn = await startStandIn({ apiKey: `deployed-${uniqueName('k')}` });
  stack = await startDeployedStack({
    databaseUrl: state.appUrl,
    weatherDatabaseUrl: state.weatherUrl,
    openWeatherBaseUrl: standIn.url,
    openWeatherApiKey: standIn.apiKey,
  });
}, 240_000);

afterAll(async () => {
  if (stack) writeReport(stack);
  await stack?.stop();
  await standIn?.stop();
});

/** Zip sizes and cold starts of this run, for the lead and the bench (test-results/as-deployed.json). */
function writeReport(s: DeployedStack) {
  const functions = s.containers.map((c) => ({
    service: c.fn.name.split(`-${STAGE}-`)[0],
    function: c.fn.alias,
    zipBytes: statSync(c.fn.zip).size,
    coldStart: c.coldStart ? { initMs: Math.round(c.coldStart.initMs), firstAnswerMs: Math.round(c.coldStart.firstAnswerMs) } : null,
  }));
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'test-results', 'as-deployed.json'),
    JSON.stringify({ packageMs: { backend: s.packages.backend.packageMs, weather: s.packages.weather.packageMs }, functions }, null, 2),
  );
  writeFileSync(
    join(ROOT, 'test-results', 'as-deployed.log'),
    s
      .logs()
      .map((l) => `${l.fn} ${l.stream}: ${l.text}\n`)
      .join(''),
  );
}

describe('packaged for a non-local stage', () => {
  test('every function is declared for Node 22 on stage ci, with no local state, source maps or secrets left empty', () => {
    for (const { functions } of Object.values(stack.packages)) {
      for (const fn of functions) {
        expect(fn.runtime).toBe('nodejs22.x');
        expect(fn.environment.STAGE).toBe(STAGE);
        expect(fn.environment.LOCAL_STATE_DIR ?? '').toBe('');
        expect(fn.environment.NODE_OPTIONS ?? '').not.toMatch(/source-maps/);
        expect(fn.environment.DB_POOL_MAX).toBe('2');
        // The credential only where a weather request is made or checked, the device token key only where logins are.
        expect(fn.environment.WEATHER_SERVICE_TOKEN).toBe(fn.alias === 'weather' ? stack.secrets.serviceToken : undefined);
        expect(fn.environment.DEVICE_TOKEN_SECRET).toBe(fn.alias === 'token' ? stack.secrets.deviceTokenSecret : undefined);
        // The edge proof is the local runner's: deployed, the address is API Gateway's sourceIp.
        expect(fn.environment.EDGE_PROOF_SECRET ?? '').toBe('');
      }
    }
    const backend = stack.packages.backend.functions.find((f) => f.alias === 'token')!;
    expect(backend.environment.JWT_SECRET).toBe(stack.secrets.jwtSecret);
    expect(backend.environment).not.toHaveProperty('OPENWEATHER_API_KEY');
    const weather = stack.packages.weather.functions.find((f) => f.alias === 'weather')!;
    expect(weather.environment).not.toHaveProperty('JWT_SECRET');
    expect(weather.environment.OPENWEATHER_API_KEY).toBe(standIn.apiKey);
  });

  test('zips stay small: no source maps, bcrypt only where passwords are hashed, at most 600 KB (docs 2 MB)', async () => {
    for (const { functions } of Object.values(stack.packages)) {
      for (const fn of functions) {
        const files = await zipEntries(fn.zip);
        expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
        expect(statSync(fn.zip).size).toBeLessThanOrEqual(fn.alias === 'docs' ? 2_000_000 : 600 * 1024);
        // Its code or its binary (the packager copies a few license and build files regardless).
        const bcrypt = files.some((f) => /^node_modules\/bcrypt\/.*\.(js|node)$/.test(f));
        expect(bcrypt).toBe(['register', 'token'].includes(fn.alias));
        if (bcrypt)
          expect(files.filter((f) => f.endsWith('.node')).sort()).toEqual([
            'node_modules/bcrypt/prebuilds/linux-arm64/bcrypt.glibc.node',
            'node_modules/bcrypt/prebuilds/linux-x64/bcrypt.glibc.node',
          ]);
      }
    }
  });

  test("a function's user cannot write its code", () => {
    const root = stack.containers[0].taskRoot;
    const probe = `try { require('fs').writeFileSync(${JSON.stringify(join(root, 'probe'))}, 'x'); console.log('written') } catch (e) { console.log(e.code) }`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    expect(execFileSync(node22(), ['-e', probe], { encoding: 'utf8', ...asNobody }).trim()).toBe('EACCES');
  });
});

describe('the weather service alone', () => {
  const withCredential = () => ({ headers: { 'x-service-token': stack.secrets.serviceToken } });

  test('answers its health-check without a credential', async () => {
    const reply = await call(stack.weather.url, 'GET', '/health-check');
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'ok', checks: { database: 'ok' } });
  });

  test('a cold city costs one upstream call, the second request is a cache hit', async () => {
    const city = uniqueCity('Deployedville');
    const first = await call(stack.weather.url, 'GET', `/weather/${encodeURIComponent(city)}`, withCredential());
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ cached: false, stale: false });
    expect(standIn.calls(city)).toBe(1);
    const second = await call(stack.weather.url, 'GET', `/weather/${encodeURIComponent(city)}`, withCredential());
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ cached: true, city: first.json.city });
    expect(standIn.calls(city)).toBe(1);
  });

  // Needs the service credential check of functions/weather (X-Service-Token, WEATHER_SERVICE_TOKEN).
  test('refuses a weather request without the backend credential, or with a wrong one', async () => {
    const city = uniqueCity('Privateville');
    expectProblem(await call(stack.weather.url, 'GET', `/weather/${encodeURIComponent(city)}`), 401);
    expectProblem(await call(stack.weather.url, 'GET', `/weather/${encodeURIComponent(city)}`, { headers: { 'x-service-token': 'not-the-token' } }), 401);
    expect(standIn.calls(city)).toBe(0);
  });
});

// The user the backend rows create (its password and tokens must not appear in any log either).
const username = uniqueName('dep');
const password = `pw-${uniqueName('p')}`;
let id = '';
let token = '';

describe('the backend, every row of the HTTP API', () => {
  test('POST /register creates a user (201) and refuses the name again in other case (409)', async () => {
    const created = await api('POST', '/register', json({ username, password }));
    expect(created.status).toBe(201);
    expect(created.json).toEqual({ id: expect.any(String), username, created_at: expect.any(String) });
    id = created.json.id;
    expectProblem(await api('POST', '/register', json({ username: username.toUpperCase(), password })), 409);
    expectProblem(await api('POST', '/register', json({ username: 'x', password })), 400);
  });

  test('POST /token issues a bearer token, and refuses a wrong password with WWW-Authenticate', async () => {
    const issued = await api('POST', '/token', form({ username, password }));
    expect(issued.status).toBe(200);
    expect(issued.json).toMatchObject({ token_type: 'bearer', access_token: expect.any(String), expires_in: expect.any(Number) });
    token = issued.json.access_token;
    // The device token, as a field and as its cookie (payload 2.0 `cookies`), signed with the token function's own key.
    expect(issued.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^device_token=[\w-]+\.[\w-]+\.[\w-]+; Max-Age=2592000; Path=\/token; Secure; HttpOnly; SameSite=Strict$/),
    ]);
    expect(issued.headers.getSetCookie()[0]).toContain(issued.json.device_token);
    const again = await api('POST', '/token', {
      ...form({ username, password }),
      headers: { ...form({}).headers, cookie: `device_token=${issued.json.device_token}` },
    });
    expect(again.status).toBe(200);
    const refused = await api('POST', '/token', form({ username, password: `${password}x` }));
    expectProblem(refused, 401);
    expect(refused.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });

  test('GET /health-check reaches the database', async () => {
    const reply = await api('GET', '/health-check');
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'ok', checks: { database: 'ok' } });
  });

  test('GET /users and GET /user/{id} answer with a token, 401 without', async () => {
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const list = await api('GET', '/users?limit=1000', auth);
    expect(list.status).toBe(200);
    expect(list.json).toEqual(expect.arrayContaining([{ id, username, created_at: expect.any(String) }]));
    const one = await api('GET', `/user/${id}`, auth);
    expect(one.status).toBe(200);
    expect(one.json).toEqual({ id, username, created_at: expect.any(String) });
    expectProblem(await api('GET', '/user/not-a-uuid', auth), 400);
    expectProblem(await api('GET', '/users'), 401);
  });

  test('GET /weather/{city} goes through the weather service (its URL and credential from the template)', async () => {
    const city = uniqueCity('Proxyville');
    const auth = { headers: { authorization: `Bearer ${token}` } };
    const first = await api('GET', `/weather/${encodeURIComponent(city)}`, auth);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ cached: false, temperature_c: expect.any(Number) });
    const second = await api('GET', `/weather/${encodeURIComponent(city)}`, auth);
    expect(second.json).toMatchObject({ cached: true });
    expect(standIn.calls(city)).toBe(1);
  });

  test('GET /openapi.json and GET /docs serve the document and Swagger UI with its own assets', async () => {
    const doc = await api('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.json.paths)).toEqual(expect.arrayContaining(['/register', '/token', '/users', '/weather/{city}']));
    const page = await api('GET', '/docs');
    expect([200, 302]).toContain(page.status);
    const asset = await api('GET', '/docs/static/swagger-ui-bundle.js');
    expect(asset.status).toBe(200);
    expect(asset.text.length).toBeGreaterThan(100_000);
  });

  test('an unknown route is a 404 problem, a wrong method 405', async () => {
    expectProblem(await api('GET', '/no-such-route'), 404);
    expectProblem(await api('PUT', '/users'), 405);
  });

  test('two Authorization headers (joined with a comma, as API Gateway passes them) are refused; a body over 64 KiB is 413', async () => {
    // What the function receives either way: the two values in one header, comma-separated.
    const headers = new Headers();
    headers.append('authorization', `Bearer ${token}`);
    headers.append('authorization', `Bearer ${token}`);
    const res = await fetch(`${stack.backend.url}/users`, { headers });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ status: 401, detail: expect.stringMatching(/more than one/) });
    expectProblem(await api('POST', '/register', json({ username: uniqueName('big'), password: 'x'.repeat(70 * 1024) })), 413);
  });

  test('DELETE /user/{id} removes the account; its token is refused afterwards', async () => {
    const auth = { headers: { authorization: `Bearer ${token}` } };
    expect((await api('DELETE', `/user/${id}`, auth)).status).toBe(204);
    expectProblem(await api('GET', `/user/${id}`, auth), 401);
  });
});

describe('logs, as CloudWatch would receive them', () => {
  test('every line every function wrote is one JSON object, and none carries a secret', () => {
    const lines = stack.logs();
    expect(lines.length).toBeGreaterThan(0);
    const secrets = [
      stack.secrets.jwtSecret,
      stack.secrets.serviceToken,
      stack.secrets.deviceTokenSecret,
      standIn.apiKey,
      password,
      token,
      ...databasePasswords,
    ];
    expect(token).not.toBe('');
    const notJson = lines.filter((line) => {
      try {
        const parsed = JSON.parse(line.text) as Record<string, unknown>;
        return typeof parsed.level !== 'string' || typeof parsed.service !== 'string';
      } catch {
        return true;
      }
    });
    expect(notJson).toEqual([]);
    expect(lines.filter((line) => secrets.some((secret) => line.text.includes(secret)))).toEqual([]);
    expect(lines.some((l) => l.text.includes('"auth.login_succeeded"'))).toBe(true);
    expect(lines.some((l) => l.text.includes('"weather.cache_hit"'))).toBe(true);
  });
});
