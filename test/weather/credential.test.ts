// Only the backend may call the weather service. On stage local: X-Service-Token, checked in constant time, with two
// accepted values so it rotates without an outage; on any other stage: only what API Gateway verified (AWS_IAM,
// requestContext.authorizer.iam) of the backend's role. /health-check stays open; no credential appears in an answer or a log line.
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_SETTINGS } from '../../functions/settings';
import { WEATHER_SETTINGS } from '../../functions/weather/settings';
import { ConfigError, parseIamRole } from '../../layers/config/env';
import { resolveSetting, type SettingSpec } from '../../layers/config/schema';
import { LOCAL_DEFAULTS } from '../../layers/local-runtime/defaults';
import { readEmbeddedState } from '../../layers/local-runtime/state';
import type { StandIn } from '../../local/services/standin';
import { captureLogs, invoke } from '../support/lambda';
import { createUser, type TestUser } from '../support/users';
import { httpGet, serviceCredential, standInForThisFile, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

type Handler = Parameters<typeof invoke>[0];

let standIn: StandIn;
let service: RunningService;
let token: string;
const weather = (headers: Record<string, string>) => httpGet(`${service.url}/weather/${encodeURIComponent(uniqueCity())}`, headers);

/** The environment before a test changed it with loadWith (restored after each test). */
let savedEnv: NodeJS.ProcessEnv | undefined;
afterEach(() => {
  if (savedEnv) process.env = savedEnv;
  savedEnv = undefined;
});

/** Loads modules with their own settings read from `env` (on top of this file's environment, for the rest of the test). */
function loadWith<T>(_service: 'weather' | 'backend', env: Record<string, string | undefined>, load: () => T): T {
  savedEnv ??= { ...process.env };
  let loaded: T | undefined;
  // Each load stands for a new process: forget the settings problems this one has already reported.
  delete (globalThis as Record<symbol, unknown>)[Symbol.for('platform.config.reported')];
  jest.isolateModules(() => {
    Object.assign(process.env, env);
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete process.env[name];
    loaded = load();
  });
  return loaded!;
}

/** One setting as a service reads it from `env` (the local runtime's defaults on a local stage). */
const read = <T>(spec: SettingSpec<T>, env: NodeJS.ProcessEnv) => resolveSetting(spec, env, LOCAL_DEFAULTS) as T;
/** The tokens the weather service accepts, as its composition root makes the list (functions/weather/deps.ts). */
const acceptedTokens = (env: NodeJS.ProcessEnv) =>
  [read(WEATHER_SETTINGS.specs.weatherServiceToken, env), read(WEATHER_SETTINGS.specs.weatherServiceTokenNext, env)].filter(Boolean);
const jwtSecret = () => read(BACKEND_SETTINGS.specs.jwtSecret, process.env);

/** stdout and stderr (errors go there) while `work` runs. */
async function output<T>(work: () => Promise<T>): Promise<[T, string]> {
  const stderr: string[] = [];
  const spy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => stderr.push(String(chunk))) as never);
  const logs = captureLogs();
  try {
    const result = await work();
    return [result, logs.raw.join('') + stderr.join('')];
  } finally {
    logs.restore();
    spy.mockRestore();
  }
}

beforeAll(async () => {
  standIn = await standInForThisFile();
  token = process.env.WEATHER_SERVICE_TOKEN!;
  service = await startWeatherService();
});
afterAll(async () => {
  await service.close();
  await standIn.stop();
});

describe('the weather service', () => {
  const wrongByOne = () => `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  test.each<[string, () => Record<string, string>]>([
    ['no credential', () => ({})],
    ['a wrong credential of the same length', () => ({ 'x-service-token': wrongByOne() })],
    ['a wrong credential of another length', () => ({ 'x-service-token': 'short' })],
    ['the credential in another header', () => ({ authorization: `Bearer ${token}` })],
  ])('answers 401 problem+json to %s, without asking the provider', async (_, headers) => {
    const before = standIn.calls();
    const res = await weather(headers());
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.headers.get('www-authenticate')).toMatch(/^ServiceToken/);
    expect(res.json.detail).toMatch(/x-service-token/);
    expect(standIn.calls()).toBe(before);
  });

  test('answers 200 with the right credential, and the credential is in no answer and no log line', async () => {
    const [answers, logged] = await output(async () => {
      const right = await weather(serviceCredential());
      expect(right.status).toBe(200);
      const wrong = await weather({ 'x-service-token': 'wrong' });
      return JSON.stringify([right.json, wrong.json, [...right.headers], [...wrong.headers]]);
    });
    expect(logged).toContain('weather.external_request');
    expect(logged).not.toContain(token);
    expect(answers).not.toContain(token);
  });

  test('judges the credential before the request: without it a malformed city is 401 too (a stranger learns nothing of the rules)', async () => {
    const malformed = `${service.url}/weather/${encodeURIComponent('London<script>')}`;
    const stranger = await httpGet(malformed);
    expect(stranger.status).toBe(401);
    expect(stranger.headers.get('www-authenticate')).toMatch(/^ServiceToken/);
    const backend = await httpGet(malformed, serviceCredential());
    expect(backend.status).toBe(400);
    expect(backend.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  });

  test('/health-check stays open without the credential', async () => {
    const res = await httpGet(`${service.url}/health-check`);
    expect(res.status).toBe(200);
  });

  test('accepts WEATHER_SERVICE_TOKEN_NEXT beside the current token while it rotates, and nothing else', async () => {
    const next = randomBytes(32).toString('base64url');
    const handler = loadWith<Handler>('weather', { WEATHER_SERVICE_TOKEN_NEXT: next }, () => require('../../functions/weather/get').handler);
    const get = (sent: string) => {
      const city = uniqueCity();
      return invoke(handler, { method: 'GET', path: `/weather/${encodeURIComponent(city)}`, pathParameters: { city }, headers: { 'x-service-token': sent } });
    };
    const [current, rotated, other, both] = await Promise.all([get(token), get(next), get(randomBytes(32).toString('base64url')), get(`${token},${next}`)]);
    expect([current.status, rotated.status, other.status, both.status]).toEqual([200, 200, 401, 401]);
  });
});

describe('the weather service on a non-local stage', () => {
  const ROLE = 'arn:aws:iam::123456789012:role/app-backend-prod-eu-west-1-lambdaRole';
  const backendSession = {
    accountId: '123456789012',
    userArn: 'arn:aws:sts::123456789012:assumed-role/app-backend-prod-eu-west-1-lambdaRole/app-backend-prod-weather',
  };
  const prod = (env: Record<string, string | undefined>) => ({
    STAGE: 'prod',
    WEATHER_DATABASE_URL: `${readEmbeddedState()!.weatherUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(process.env.TEST_POSTGRES_CA!)}`,
    WEATHER_SERVICE_TOKEN: undefined,
    ...env,
  });
  const ask = (handler: Handler, call: { headers?: Record<string, string>; iam?: Record<string, string> }) => {
    const city = uniqueCity();
    return invoke(handler, {
      method: 'GET',
      path: `/weather/${encodeURIComponent(city)}`,
      pathParameters: { city },
      headers: call.headers,
      authorizer: call.iam ? { iam: call.iam } : undefined,
    });
  };

  test("answers the backend's role as API Gateway verified it (authorizer.iam), and nobody else; the token is no credential there", async () => {
    const handler = loadWith<Handler>('weather', prod({ WEATHER_BACKEND_ROLE_ARN: ROLE }), () => require('../../functions/weather/get').handler);
    const [answers] = await output(async () => [
      await ask(handler, { iam: backendSession }),
      await ask(handler, { headers: { 'x-service-token': token } }),
      await ask(handler, {}),
      await ask(handler, { iam: { accountId: '123456789012', userArn: 'arn:aws:sts::123456789012:assumed-role/Admin/someone' } }),
      await ask(handler, { iam: { accountId: '210987654321', userArn: backendSession.userArn.replace('123456789012', '210987654321') } }),
      await ask(handler, { iam: { accountId: '123456789012', userArn: 'arn:aws:iam::123456789012:user/app-backend-prod-eu-west-1-lambdaRole' } }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 401, 401, 403, 403, 403]);
    expect(answers[1].headers['www-authenticate']).toBe('AWS4-HMAC-SHA256');
    for (const res of answers.slice(1)) expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  test('without WEATHER_BACKEND_ROLE_ARN: 503 problem+json, one log line per process naming it, health open', async () => {
    const [handler, health] = loadWith<[Handler, Handler]>('weather', prod({ WEATHER_BACKEND_ROLE_ARN: undefined }), () => [
      require('../../functions/weather/get').handler,
      require('../../functions/weather/health').handler,
    ]);
    const [answers, logged] = await output(async () => [
      await ask(handler, { iam: backendSession }),
      await ask(handler, { iam: backendSession }),
      await invoke(health, { method: 'GET', path: '/health-check' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(answers[0].json.detail).toMatch(/not configured/);
    const reported = logged.split('\n').filter((line) => line.includes('WEATHER_BACKEND_ROLE_ARN'));
    expect(reported).toHaveLength(1);
    expect(JSON.parse(reported[0])).toMatchObject({
      level: 'ERROR',
      variable: 'WEATHER_BACKEND_ROLE_ARN',
      reason: 'WEATHER_BACKEND_ROLE_ARN must be set for stage "prod"',
    });
  });
});

describe("the backend's weather proxy", () => {
  let user: TestUser;
  beforeAll(async () => {
    user = await createUser('credential');
  });
  const proxy = (env: Record<string, string>) =>
    loadWith<Handler>('backend', { WEATHER_SERVICE_URL: service.url, ...env }, () => require('../../functions/weather-proxy/get').handler);
  const call = (handler: Handler) => {
    const city = uniqueCity();
    return invoke(handler, { method: 'GET', path: `/weather/${encodeURIComponent(city)}`, pathParameters: { city }, headers: user.auth });
  };

  test('sends the credential: 200', async () => {
    expect((await call(proxy({}))).status).toBe(200);
  });

  test('with a credential the service does not share: 503 for the client, an error naming the setting, no secret logged', async () => {
    const other = 'o'.repeat(40);
    const [res, logged] = await output(() => call(proxy({ WEATHER_SERVICE_TOKEN: other })));
    expect(res.status).toBe(503);
    expect(res.json.detail).toBe('the weather service failed (HTTP 401)');
    expect(logged).toContain('WEATHER_SERVICE_TOKEN differs');
    expect(logged + res.text).not.toContain(other);
    expect(logged + res.text).not.toContain(token);
  });

  test('on a non-local stage without the role credentials the runtime sets: /weather 503, logged once per process; its other routes unaffected', async () => {
    const prod = {
      STAGE: 'prod',
      DATABASE_URL: `${readEmbeddedState()!.appUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(process.env.TEST_POSTGRES_CA!)}`,
      JWT_SECRET: jwtSecret(), // the one the test user's token is signed with
      WEATHER_SERVICE_URL: service.url,
      WEATHER_SERVICE_TOKEN: token, // not used outside stage local
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_SESSION_TOKEN: undefined,
    };
    const [handler, health] = loadWith<[Handler, Handler]>('backend', prod, () => [
      require('../../functions/weather-proxy/get').handler,
      require('../../functions/health/check').handler,
    ]);
    const [answers, logged] = await output(async () => [
      await call(handler),
      await call(handler),
      await invoke(health, { method: 'GET', path: '/health-check' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([503, 503, 200]);
    expect(answers[0].json.detail).toMatch(/not configured/);
    const naming = logged.split('\n').filter((line) => line.includes('AWS_ACCESS_KEY_ID'));
    expect(naming).toHaveLength(1);
    expect(JSON.parse(naming[0])).toMatchObject({ level: 'ERROR', message: 'the service is not configured', variable: 'AWS_ACCESS_KEY_ID' });
  });

  test('on a non-local stage signs its call with SigV4 (the role credentials) and sends no token', async () => {
    const seen: Record<string, string | string[] | undefined>[] = [];
    const recorder = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(503, { 'content-type': 'application/problem+json' }).end('{"status":503,"title":"x","detail":"recorded"}');
    });
    recorder.listen(0, '127.0.0.1');
    await once(recorder, 'listening');
    try {
      const handler = loadWith<Handler>(
        'backend',
        {
          STAGE: 'prod',
          DATABASE_URL: `${readEmbeddedState()!.appUrl}?sslmode=verify-full&sslrootcert=${encodeURIComponent(process.env.TEST_POSTGRES_CA!)}`,
          JWT_SECRET: jwtSecret(),
          WEATHER_SERVICE_URL: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`,
          WEATHER_SERVICE_TOKEN: token,
          AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEEXAMPLE01',
          AWS_SECRET_ACCESS_KEY: 's'.repeat(40),
          AWS_SESSION_TOKEN: 'session-token-of-the-role',
          AWS_REGION: 'eu-west-1',
        },
        () => require('../../functions/weather-proxy/get').handler,
      );
      const res = await call(handler);
      expect(res.status).toBe(503);
      expect(seen).toHaveLength(1);
      expect(seen[0].authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=ASIAEXAMPLEEXAMPLE01\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=[a-z;-]*host[a-z;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(seen[0]['x-amz-security-token']).toBe('session-token-of-the-role');
      expect(seen[0]).not.toHaveProperty('x-service-token');
    } finally {
      recorder.close();
    }
  });
});

describe('the setting', () => {
  test('on stage local, unset: both services read one generated file (0600, at least 32 bytes)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weather-token-'));
    try {
      const env = { STAGE: 'local', LOCAL_STATE_DIR: dir };
      const [first] = acceptedTokens(env);
      expect(read(BACKEND_SETTINGS.specs.weatherServiceToken, env)).toBe(first);
      expect(acceptedTokens(env)).toEqual([first]);
      expect(Buffer.byteLength(first)).toBeGreaterThanOrEqual(32);
      expect(statSync(join(dir, 'weather-service-token')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    ['shorter than 32 bytes', { WEATHER_SERVICE_TOKEN: 'too-short' }, /WEATHER_SERVICE_TOKEN must be at least 32 bytes long/],
    [
      'the next one shorter than 32 bytes',
      { WEATHER_SERVICE_TOKEN: 'c'.repeat(32), WEATHER_SERVICE_TOKEN_NEXT: 'too-short' },
      /WEATHER_SERVICE_TOKEN_NEXT must be at least 32 bytes long/,
    ],
  ])('%s: a ConfigError naming it, only when it is used', (_, env, message) => {
    expect(() => acceptedTokens(env)).toThrow(ConfigError);
    expect(() => acceptedTokens(env)).toThrow(message);
  });

  test('both values are accepted while a rotation is under way; unset, only the current one', () => {
    expect(acceptedTokens({ WEATHER_SERVICE_TOKEN: 'c'.repeat(32), WEATHER_SERVICE_TOKEN_NEXT: 'n'.repeat(32) })).toEqual(['c'.repeat(32), 'n'.repeat(32)]);
    expect(acceptedTokens({ WEATHER_SERVICE_TOKEN: 'c'.repeat(32) })).toEqual(['c'.repeat(32)]);
  });

  test.each([
    ['missing', undefined, /WEATHER_BACKEND_ROLE_ARN must be set for stage "prod"/],
    ['not a role ARN', 'arn:aws:iam::123456789012:user/backend', /WEATHER_BACKEND_ROLE_ARN must be an IAM role ARN/],
    ['an account of 11 digits', 'arn:aws:iam::12345678901:role/backend', /WEATHER_BACKEND_ROLE_ARN must be an IAM role ARN/],
  ])('WEATHER_BACKEND_ROLE_ARN %s on a non-local stage: a ConfigError naming it, only when it is used', (_, value, message) => {
    const env = { STAGE: 'prod', WEATHER_DATABASE_URL: 'postgres://w:pw@db.example/weather_db?sslmode=verify-full', WEATHER_BACKEND_ROLE_ARN: value };
    // The other weather settings are good: only this one fails, and only when it is read.
    expect(WEATHER_SETTINGS.problems(env).map((p) => p.variable)).toEqual(['WEATHER_BACKEND_ROLE_ARN']);
    expect(() => read(WEATHER_SETTINGS.specs.backendRoleArn, env)).toThrow(ConfigError);
    expect(() => read(WEATHER_SETTINGS.specs.backendRoleArn, env)).toThrow(message);
  });

  test('a role ARN with a path names the role the sessions are of', () => {
    const env = {
      STAGE: 'prod',
      WEATHER_DATABASE_URL: 'postgres://w@db/weather_db?sslmode=verify-full',
      WEATHER_BACKEND_ROLE_ARN: 'arn:aws:iam::123456789012:role/svc/app-backend',
    };
    expect(parseIamRole('WEATHER_BACKEND_ROLE_ARN', read(WEATHER_SETTINGS.specs.backendRoleArn, env))).toEqual({
      partition: 'aws',
      accountId: '123456789012',
      name: 'app-backend',
    });
  });
});
