// The "as deployed" tier: both services packaged for stage ci, every function unpacked and run as the Lambda
// runtime runs it (own Node 22 process as `nobody`, only its template's environment plus the runtime's own and its
// role's credentials; payload 1.0 events from the backend's REST API, 2.0 from the weather service's HTTP API, whose
// weather route verifies SigV4 as AWS_IAM does), against the run's real Postgres over verified TLS and the
// OpenWeatherMap stand-in.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import aws4 from 'aws4';
import { BACKEND_SETTINGS } from '../../functions/settings';
import { WEATHER_SETTINGS } from '../../functions/weather/settings';
import { readEmbeddedState } from '../../layers/local-runtime/state';
import { startStandIn, type StandIn } from '../../local/services/standin';
import { uniqueCity } from '../support/weather';
import { uniqueName } from '../support/users';
import { startDeployedStack, STAGE, type DeployedStack } from './support/deployed-stack';
import { FunctionContainer } from './support/function-container';
import { ACCOUNT_ID, REGION, ROOT } from './support/package-services';
import { node22 } from './support/node22';
import { fakeCredential, mayInvoke, type AwsCredential, type IamPrincipal } from './support/sigv4';
import { runSls } from '../support/sls-cli';
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

/** A GET signed with SigV4 (aws4, as the backend signs) by these credentials, for the weather API. */
function signedGet(path: string, credential: AwsCredential): Promise<Reply> {
  const { host } = new URL(stack.weather.url);
  const signed = aws4.sign({ host, path, method: 'GET', service: 'execute-api', region: REGION, headers: { accept: 'application/json' } }, credential);
  // fetch sets Host itself, to the same value.
  const headers = Object.fromEntries(Object.entries(signed.headers ?? {}).filter(([k]) => k.toLowerCase() !== 'host')) as Record<string, string>;
  return call(stack.weather.url, 'GET', path, { headers });
}
const principal = (key: string): IamPrincipal => stack.principals.get(key)!;
const backendRole = `app-backend-${STAGE}-${REGION}-lambdaRole`;
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
  if (!state || !process.env.TEST_POSTGRES_CA) throw new Error('the run has no embedded Postgres with TLS (test/support/global-setup.ts)');
  databasePasswords = [state.appUrl, state.weatherUrl].map((u) => decodeURIComponent(new URL(u).password));
  standIn = await startStandIn({ apiKey: `deployed-${uniqueName('k')}` });
  stack = await startDeployedStack({
    // Outside stage local nothing weaker is accepted; the functions trust the run's CA through NODE_EXTRA_CA_CERTS.
    databaseUrl: `${state.appUrl}?sslmode=verify-full`,
    weatherDatabaseUrl: `${state.weatherUrl}?sslmode=verify-full`,
    databaseCaFile: process.env.TEST_POSTGRES_CA,
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
  test.each([
    ['backend', BACKEND_SETTINGS],
    ['weather', WEATHER_SETTINGS],
  ] as const)("each %s function's environment holds exactly the settings it reads (its schema's readBy), no other service's", (service, schema) => {
    for (const fn of stack.packages[service].functions) {
      const reads = Object.values(schema.specs)
        .filter((spec) => spec.scope === 'packaged' && spec.readBy.includes(fn.alias))
        .map((spec) => spec.variable);
      expect(`${fn.alias}: ${Object.keys(fn.environment).sort().join(' ')}`).toBe(`${fn.alias}: ${[...reads].sort().join(' ')}`);
    }
    const env = (alias: string) => stack.packages.backend.functions.find((f) => f.alias === alias)!.environment;
    if (service === 'backend') {
      expect(env('healthCheck')).toHaveProperty('DATABASE_URL');
      for (const alias of ['docs', 'notFound', 'healthCheck']) expect(env(alias)).not.toHaveProperty('JWT_SECRET');
      for (const alias of ['docs', 'notFound']) expect(env(alias)).not.toHaveProperty('DATABASE_URL');
    }
  });

  test('every function is declared for Node 22 on stage ci, with no local state, source maps or secrets left empty', () => {
    for (const { functions } of Object.values(stack.packages)) {
      for (const fn of functions) {
        expect(fn.runtime).toBe('nodejs22.x');
        expect(fn.environment.STAGE).toBe(STAGE);
        expect(fn.environment).not.toHaveProperty('LOCAL_STATE_DIR');
        expect(fn.environment.NODE_OPTIONS ?? '').not.toMatch(/source-maps/);
        // A function that uses the database: 2 connections, and the CA it verifies the server with.
        if ('DATABASE_URL' in fn.environment || 'WEATHER_DATABASE_URL' in fn.environment) {
          expect(fn.environment.DB_POOL_MAX).toBe('2');
          expect(fn.environment.NODE_EXTRA_CA_CERTS).toBe(process.env.TEST_POSTGRES_CA);
        }
        // Deployed the backend proves itself with its role (SigV4): no service token exists outside stage local.
        expect(fn.environment).not.toHaveProperty('WEATHER_SERVICE_TOKEN');
        expect(fn.environment).not.toHaveProperty('WEATHER_SERVICE_TOKEN_NEXT');
        // The device token key only where logins are; the edge proof is the local runner's (deployed: API Gateway's sourceIp).
        expect(fn.environment.DEVICE_TOKEN_SECRET).toBe(fn.alias === 'token' ? stack.secrets.deviceTokenSecret : undefined);
        expect(fn.environment).not.toHaveProperty('EDGE_PROOF_SECRET');
      }
    }
    expect([stack.packages.backend.api, stack.packages.weather.api]).toEqual(['rest', 'http']);
    expect(stack.packages.backend.functions.find((f) => f.alias === 'weather')!.environment.WEATHER_SERVICE_URL).toBe(stack.weather.url);
    expect(stack.packages.weather.functions.find((f) => f.alias === 'weather')!.environment.WEATHER_BACKEND_ROLE_ARN).toBe(
      `arn:aws:iam::${ACCOUNT_ID}:role/${backendRole}`,
    );
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
        // The 404/405 fallback answers from a table of routes, not from the routes: no larger than the health check.
        if (fn.alias === 'notFound') {
          const health = functions.find((f) => f.alias === 'healthCheck')!;
          expect(statSync(fn.zip).size).toBeLessThanOrEqual(statSync(health.zip).size);
        }
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
  const cityPath = (city: string) => `/weather/${encodeURIComponent(city)}`;

  test('answers its health-check without a credential', async () => {
    const reply = await call(stack.weather.url, 'GET', '/health-check');
    expect(reply.status).toBe(200);
    expect(reply.json).toMatchObject({ status: 'ok', checks: { database: 'ok' } });
  });

  test("signed by the backend's role: a cold city costs one upstream call, the second request is a cache hit", async () => {
    const city = uniqueCity('São Tomé');
    const first = await signedGet(cityPath(city), principal('backend/weather').credential);
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ cached: false, stale: false });
    expect(standIn.calls(city)).toBe(1);
    const second = await signedGet(cityPath(city), principal('backend/weather').credential);
    expect(second.status).toBe(200);
    expect(second.json).toMatchObject({ cached: true, city: first.json.city });
    expect(standIn.calls(city)).toBe(1);
  });

  test('API Gateway refuses an unsigned call, a wrong signature, a stale one and a role without execute-api:Invoke (403), before any function runs', async () => {
    const city = uniqueCity('Privateville');
    const own = principal('backend/weather').credential;
    const refused = [
      await call(stack.weather.url, 'GET', cityPath(city)),
      await call(stack.weather.url, 'GET', cityPath(city), { headers: { 'x-service-token': 'a'.repeat(43) } }),
      await signedGet(cityPath(city), { ...own, secretAccessKey: fakeCredential().secretAccessKey }),
      await signedGet(cityPath(city), fakeCredential()),
      // The weather service's own role may not invoke its API.
      await signedGet(cityPath(city), principal('weather/healthCheck').credential),
    ];
    const { host } = new URL(stack.weather.url);
    const old = aws4.sign(
      { host, path: cityPath(city), method: 'GET', service: 'execute-api', region: REGION, headers: { 'X-Amz-Date': '20200101T000000Z' } },
      own,
    );
    delete old.headers!.Host;
    refused.push(await call(stack.weather.url, 'GET', cityPath(city), { headers: old.headers as Record<string, string> }));
    for (const reply of refused) {
      expect(reply.status).toBe(403);
      expect(reply.json).toEqual({ message: 'Forbidden' });
    }
    expect(standIn.calls(city)).toBe(0);
  });

  test("the function answers only the backend's role, even a principal IAM lets through (an administrator's): 403 problem+json", async () => {
    const admin: IamPrincipal = {
      credential: fakeCredential(),
      userArn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/Administrator/someone`,
      userId: 'AROAADMINISTRATOR:someone',
      accountId: ACCOUNT_ID,
      statements: [{ effect: 'Allow', actions: ['*'], resources: ['*'] }],
    };
    stack.weather.trust(admin);
    const city = uniqueCity('Adminville');
    expectProblem(await signedGet(cityPath(city), admin.credential), 403);
    expect(standIn.calls(city)).toBe(0);
  });

  test('invoked without what AWS_IAM adds to the event (a route left open by mistake): 401 problem+json', async () => {
    const container = stack.containers.find((c) => c.fn.name.startsWith('weather-service-') && c.fn.alias === 'weather')!;
    const city = uniqueCity('Openville');
    const event = {
      version: '2.0',
      routeKey: 'GET /weather/{city}',
      rawPath: cityPath(city),
      rawQueryString: '',
      headers: { host: 'weather', 'x-service-token': 'a'.repeat(43) },
      pathParameters: { city },
      requestContext: {
        http: { method: 'GET', path: cityPath(city), sourceIp: '127.0.0.1' },
        requestId: 'open',
        routeKey: 'GET /weather/{city}',
        stage: '$default',
      },
      isBase64Encoded: false,
    };
    const result = await container.invoke(event);
    expect(result).toMatchObject({ ok: true, payload: { statusCode: 401 } });
    expect(JSON.parse((result as { payload: { body: string } }).payload.body)).toMatchObject({ status: 401, detail: expect.stringMatching(/SigV4/) });
    expect(standIn.calls(city)).toBe(0);
  });
});

describe('the database, over TLS verified against its CA', () => {
  /** Runs the backend's health check once more in a container of its own whose environment `change` alters. */
  async function healthWith(change: (env: Record<string, string>) => Record<string, string>) {
    const health = stack.packages.backend.functions.find((f) => f.alias === 'healthCheck')!;
    const container = new FunctionContainer(
      { ...health, environment: change({ ...health.environment }) },
      join(stack.baseDir, `health-${uniqueName('c')}`),
      node22(),
    );
    await container.deploy();
    try {
      const results = [await container.invoke(healthEvent()), await container.invoke(healthEvent())];
      return { results: results.map((r) => (r.ok ? (r.payload as { statusCode: number; body: string }) : undefined)), logs: container.logs };
    } finally {
      await container.stop();
    }
  }

  test('without the CA (no NODE_EXTRA_CA_CERTS) the health check cannot reach the database: the certificate is verified, not only used', async () => {
    const { results, logs } = await healthWith(({ NODE_EXTRA_CA_CERTS: _, ...env }) => env);
    for (const result of results) {
      expect(result?.statusCode).toBe(503);
      expect(JSON.parse(result!.body)).toMatchObject({ checks: { database: 'unavailable' } });
    }
    expect(logs.some((l) => /unable to verify the first certificate|self[- ]signed/.test(l.text))).toBe(true);
  });

  test('a function given a URL with sslmode=require answers 503 problem+json and logs one line naming DATABASE_URL', async () => {
    const { results, logs } = await healthWith((env) => ({ ...env, DATABASE_URL: env.DATABASE_URL.replace('verify-full', 'require') }));
    for (const result of results) {
      expect(result?.statusCode).toBe(503);
      expect(JSON.parse(result!.body)).toMatchObject({ status: 503, detail: expect.stringMatching(/not configured/) });
    }
    const naming = logs.filter((l) => l.text.includes('"DATABASE_URL"'));
    expect(naming).toHaveLength(1);
    expect(JSON.parse(naming[0].text)).toMatchObject({ level: 'ERROR', variable: 'DATABASE_URL', reason: expect.stringMatching(/verify-full/) });
    expect(logs.filter((l) => databasePasswords.some((p) => l.text.includes(p)))).toEqual([]);
  });
});

/** GET /health-check as the backend's REST API sends it (payload 1.0). */
function healthEvent() {
  return {
    resource: '/health-check',
    path: '/health-check',
    httpMethod: 'GET',
    headers: { host: 'backend' },
    multiValueHeaders: { host: ['backend'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    requestContext: {
      httpMethod: 'GET',
      path: `/${STAGE}/health-check`,
      resourcePath: '/health-check',
      stage: STAGE,
      requestId: 'weak-tls',
      identity: { sourceIp: '127.0.0.1' },
    },
    body: null,
    isBase64Encoded: false,
  };
}

// The user the backend rows create (its password and tokens must not appear in any log either).
const username = uniqueName('dep');
const password = `pw-${uniqueName('p')}`;
let id = '';
let token = '';

describe('the backend, every row of the HTTP API (its REST API, payload 1.0)', () => {
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

  test('GET /weather/{city} goes through the weather service: its URL imported from the weather stack, its call signed with its role (SigV4)', async () => {
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

  test('two Authorization headers (both values in multiValueHeaders, as a REST API passes them) are refused; a body over 64 KiB is 413', async () => {
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

// What only AWS runs, proved from the templates this run packaged (docs/deploying.md lists what stays unverified).
describe('the CloudFormation templates: the defences only AWS runs', () => {
  type Resource = { Type: string; Properties: Record<string, any>; Condition?: string; DependsOn?: string | string[] };
  const resources = (service: 'backend' | 'weather') => Object.entries(stack.packages[service].template.Resources as Record<string, Resource>);
  const ofType = (service: 'backend' | 'weather', type: string) => resources(service).filter(([, r]) => r.Type === type);

  /** WAF's URL_DECODE, NORMALIZE_PATH and LOWERCASE, in the rules' order, on a request path. */
  function wafPath(path: string, transformations: { Priority: number; Type: string }[]): string {
    const steps: Record<string, (p: string) => string> = {
      URL_DECODE: (p) => p.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
      NORMALIZE_PATH: (p) => {
        const out: string[] = [];
        for (const segment of p.replace(/\/{2,}/g, '/').split('/')) {
          if (segment === '.') continue;
          if (segment !== '..') out.push(segment);
          else if (out.length > 1) out.pop();
        }
        return out.join('/') || '/';
      },
      LOWERCASE: (p) => p.toLowerCase(),
    };
    return [...transformations].sort((a, b) => a.Priority - b.Priority).reduce((p, t) => steps[t.Type](p), path);
  }

  test('a regional WAF web ACL with per-IP rate rules: /token + /register, /weather/*, and everything, on the decoded and normalised path', () => {
    const [[, acl]] = ofType('backend', 'AWS::WAFv2::WebACL');
    expect(acl.Properties).toMatchObject({ Scope: 'REGIONAL', DefaultAction: { Allow: {} } });
    const rules = acl.Properties.Rules as any[];
    for (const rule of rules) {
      const rate = rule.Statement.RateBasedStatement;
      expect(rate.AggregateKeyType).toBe('IP');
      expect([60, 120, 300, 600]).toContain(Number(rate.EvaluationWindowSec));
      expect(Number(rate.Limit)).toBeGreaterThanOrEqual(10);
      expect(rule.Action.Block.CustomResponse.ResponseCode).toBe(429);
    }
    const matcher = (name: string) => {
      const regex = rules.find((r) => r.Name === name).Statement.RateBasedStatement.ScopeDownStatement.RegexMatchStatement;
      expect(regex.FieldToMatch).toEqual({ UriPath: {} });
      const types = [...regex.TextTransformations].sort((a: any, b: any) => a.Priority - b.Priority).map((t: any) => t.Type);
      expect(types.indexOf('URL_DECODE')).toBeLessThan(types.indexOf('NORMALIZE_PATH'));
      return (path: string) => new RegExp(regex.RegexString).test(wafPath(path, regex.TextTransformations));
    };
    const auth = matcher('auth-per-ip');
    // Every spelling a client might try, with or without the default endpoint's /<stage> in front, counts.
    for (const path of [
      '/token',
      '/register',
      `/${STAGE}/token`,
      '/TOKEN',
      '/%74oken',
      '/x/../token',
      '//token',
      '/./register',
      `/${STAGE}/register/`,
      '/%2Ftoken',
    ]) {
      expect(`${path} ${auth(path)}`).toBe(`${path} true`);
    }
    for (const path of ['/users', '/user/x', '/tokens', '/docs']) expect(`${path} ${auth(path)}`).toBe(`${path} false`);
    const weather = matcher('weather-per-ip');
    for (const path of ['/weather/Paris', `/${STAGE}/weather/Paris`, '/WEATHER/x', '/%77eather/x', '/x/../weather/y', '/weather']) {
      expect(`${path} ${weather(path)}`).toBe(`${path} true`);
    }
    expect(weather('/users')).toBe(false);
    // And one rule for every request.
    expect(rules.filter((r) => !r.Statement.RateBasedStatement.ScopeDownStatement).map((r) => r.Name)).toEqual(['general-per-ip']);
  });

  test("the web ACL is associated with the REST API's only stage, and no other way leads to a function", () => {
    const [[aclId, acl]] = ofType('backend', 'AWS::WAFv2::WebACL');
    const [[, association]] = ofType('backend', 'AWS::WAFv2::WebACLAssociation');
    const [[deploymentId, deployment]] = ofType('backend', 'AWS::ApiGateway::Deployment');
    expect(association.Properties.WebACLArn).toEqual({ 'Fn::GetAtt': [aclId, 'Arn'] });
    const arn = association.Properties.ResourceArn['Fn::Join'][1] as unknown[];
    expect(arn).toEqual(expect.arrayContaining([{ Ref: 'ApiGatewayRestApi' }, `/stages/${STAGE}`]));
    expect(deployment.Properties.StageName).toBe(STAGE);
    expect([association.DependsOn].flat()).toContain(deploymentId);
    // On by default: the condition both carry holds.
    expect(association.Condition).toBe(acl.Condition);
    expect(stack.packages.backend.template.Conditions?.[acl.Condition!]).toEqual({ 'Fn::Equals': ['on', 'on'] });
    // One REST API, one stage, regional; no HTTP API, function URL or stage of its own beside it.
    expect(ofType('backend', 'AWS::ApiGateway::RestApi').map(([, r]) => r.Properties.EndpointConfiguration)).toEqual([{ Types: ['REGIONAL'] }]);
    expect(ofType('backend', 'AWS::ApiGateway::Deployment')).toHaveLength(1);
    for (const type of ['AWS::ApiGateway::Stage', 'AWS::ApiGatewayV2::Api', 'AWS::Lambda::Url']) expect(ofType('backend', type)).toEqual([]);
    // API Gateway may invoke a function only from this REST API.
    for (const [, permission] of ofType('backend', 'AWS::Lambda::Permission')) {
      expect(permission.Properties.Principal).toBe('apigateway.amazonaws.com');
      expect(JSON.stringify(permission.Properties.SourceArn)).toContain('{"Ref":"ApiGatewayRestApi"}');
    }
  });

  test('route throttles stay as the total ceiling: the stage limits every method, and POST /token and /register tighter', () => {
    const [[, deployment]] = ofType('backend', 'AWS::ApiGateway::Deployment');
    const settings = deployment.Properties.StageDescription.MethodSettings as any[];
    const limit = (path: string, method: string) => settings.find((m) => m.ResourcePath === path && m.HttpMethod === method);
    expect(limit('/*', '*')).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
    expect(limit('/~1token', 'POST')).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
    expect(limit('/~1register', 'POST')).toMatchObject({ ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
  });

  test('API_WAF=off leaves the web ACL and its association out (their condition fails)', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      API_WAF: 'off',
      DATABASE_URL: 'postgres://a@db.example/app_db?sslmode=verify-full',
      JWT_SECRET: stack.secrets.jwtSecret,
      DEVICE_TOKEN_SECRET: stack.secrets.deviceTokenSecret,
    };
    delete env.LOCAL_STATE_DIR;
    const { stdout } = await runSls(ROOT, ['print', '--stage', STAGE, '--format', 'json'], env, `.esbuild-print-${process.pid}`);
    expect(JSON.parse(stdout).resources.Conditions).toEqual({ ApiWaf: { 'Fn::Equals': ['off', 'on'] } });
  });

  test("the weather route requires AWS_IAM; the backend's role may invoke exactly GET /weather/* of the API the weather stack exports", () => {
    const routes = stack.packages.weather.routes;
    expect(routes.find((r) => r.path === '/weather/{city}')).toMatchObject({ method: 'GET', authorization: 'AWS_IAM' });
    expect(routes.find((r) => r.path === '/health-check')).toMatchObject({ authorization: 'NONE' });
    const role = stack.packages.backend.template.Resources.IamRoleLambdaExecution.Properties;
    const invoking = role.Policies.flatMap((p: any) => p.PolicyDocument.Statement).filter((s: any) => JSON.stringify(s.Action).includes('execute-api'));
    expect(invoking).toHaveLength(1);
    expect(invoking[0].Effect).toBe('Allow');
    expect([invoking[0].Action].flat()).toEqual(['execute-api:Invoke']);
    const resources = [invoking[0].Resource].flat();
    expect(resources).toHaveLength(1);
    expect(JSON.stringify(resources[0])).toContain(`{"Fn::ImportValue":"weather-service-${STAGE}-api-id"}`);
    expect(resources[0]['Fn::Join'][1].at(-1)).toBe('/*/GET/weather/*');
    // Resolved as CloudFormation would: what IAM then allows and refuses.
    const backend = principal('backend/weather');
    const arn = (api: string, method: string, path: string) => `arn:aws:execute-api:${REGION}:${ACCOUNT_ID}:${api}/$default/${method}${path}`;
    expect(mayInvoke(backend, arn(stack.weather.apiId, 'GET', '/weather/Paris'))).toBe(true);
    for (const denied of [
      arn(stack.weather.apiId, 'POST', '/weather/Paris'),
      arn(stack.weather.apiId, 'GET', '/health-check'),
      arn('otherapi', 'GET', '/weather/Paris'),
    ]) {
      expect(`${denied} ${mayInvoke(backend, denied)}`).toBe(`${denied} false`);
    }
    // The URL, too, is the weather stack's export: nothing is looked up while packaging.
    const proxy = ofType('backend', 'AWS::Lambda::Function').find(([id]) => id === 'WeatherLambdaFunction')![1];
    expect(proxy.Properties.Environment.Variables.WEATHER_SERVICE_URL).toEqual({ 'Fn::ImportValue': `weather-service-${STAGE}-url` });
    expect(Object.keys(stack.packages.weather.exports)).toEqual(expect.arrayContaining([`weather-service-${STAGE}-api-id`, `weather-service-${STAGE}-url`]));
  });
});

describe('logs, as CloudWatch would receive them', () => {
  test('every line every function wrote is one JSON object, and none carries a secret', () => {
    const lines = stack.logs();
    expect(lines.length).toBeGreaterThan(0);
    const secrets = [
      stack.secrets.jwtSecret,
      stack.secrets.deviceTokenSecret,
      ...stack.secrets.roleCredentials,
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
