// Only the backend may call the weather service: X-Service-Token, checked in constant time; /health-check stays open;
// the credential never appears in an answer or a log line.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_SETTINGS } from '../../functions/settings';
import { WEATHER_SETTINGS } from '../../functions/weather/settings';
import { ConfigError } from '../../layers/config/env';
import { resolveSetting } from '../../layers/config/schema';
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

  test('on a non-local stage without WEATHER_SERVICE_TOKEN: 503 problem+json, one log line per process naming the setting, health open', async () => {
    const prod = { STAGE: 'prod', WEATHER_DATABASE_URL: readEmbeddedState()!.weatherUrl, WEATHER_SERVICE_TOKEN: undefined };
    const [handler, health] = loadWith<[Handler, Handler]>('weather', prod, () => [
      require('../../functions/weather/get').handler,
      require('../../functions/weather/health').handler,
    ]);
    const [answers, logged] = await output(async () => {
      const get = () => invoke(handler, { method: 'GET', path: '/weather/London', pathParameters: { city: 'London' }, headers: { 'x-service-token': token } });
      return [await get(), await get(), await invoke(health, { method: 'GET', path: '/health-check' })];
    });
    for (const res of answers.slice(0, 2)) {
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json.detail).toMatch(/not configured/);
      expect(res.text).not.toContain('WEATHER_SERVICE_TOKEN');
    }
    expect(answers[2].status).toBe(200);
    const reported = logged.split('\n').filter((line) => line.includes('WEATHER_SERVICE_TOKEN'));
    expect(reported).toHaveLength(1);
    expect(JSON.parse(reported[0])).toMatchObject({
      level: 'ERROR',
      variable: 'WEATHER_SERVICE_TOKEN',
      reason: 'WEATHER_SERVICE_TOKEN must be set for stage "prod"',
    });
    expect(logged).not.toContain(token);
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

  test('on a non-local stage without WEATHER_SERVICE_TOKEN: /weather 503, logged once per process; its other routes unaffected', async () => {
    const prod = {
      STAGE: 'prod',
      DATABASE_URL: readEmbeddedState()!.appUrl,
      JWT_SECRET: resolveSetting(BACKEND_SETTINGS.specs.jwtSecret, process.env, LOCAL_DEFAULTS), // the one the test user's token is signed with
      WEATHER_SERVICE_URL: service.url,
      WEATHER_SERVICE_TOKEN: undefined,
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
    const naming = logged.split('\n').filter((line) => line.includes('WEATHER_SERVICE_TOKEN'));
    expect(naming).toHaveLength(1);
    expect(JSON.parse(naming[0])).toMatchObject({ level: 'ERROR', message: 'the service is not configured', variable: 'WEATHER_SERVICE_TOKEN' });
  });
});

describe('the setting', () => {
  test('on stage local, unset: both services read one generated file (0600, at least 32 bytes)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'weather-token-'));
    try {
      const env = { STAGE: 'local', LOCAL_STATE_DIR: dir };
      const token = (spec: typeof WEATHER_SETTINGS.specs.weatherServiceToken) => resolveSetting(spec, env, LOCAL_DEFAULTS)!;
      const first = token(WEATHER_SETTINGS.specs.weatherServiceToken);
      expect(token(BACKEND_SETTINGS.specs.weatherServiceToken)).toBe(first);
      expect(token(WEATHER_SETTINGS.specs.weatherServiceToken)).toBe(first);
      expect(Buffer.byteLength(first)).toBeGreaterThanOrEqual(32);
      expect(statSync(join(dir, 'weather-service-token')).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [
      'missing on a non-local stage',
      { STAGE: 'prod', WEATHER_DATABASE_URL: 'postgres://w:pw@db.example/weather_db' },
      /WEATHER_SERVICE_TOKEN must be set for stage "prod"/,
    ],
    ['shorter than 32 bytes', { WEATHER_SERVICE_TOKEN: 'too-short' }, /WEATHER_SERVICE_TOKEN must be at least 32 bytes long/],
  ])('%s: a ConfigError naming it, only when it is used', (_, env, message) => {
    // The other weather settings are good: only reading the token fails.
    expect(WEATHER_SETTINGS.problems({ ...env, WEATHER_SERVICE_TOKEN: 'x'.repeat(32) })).toEqual([]);
    const read = () => resolveSetting(WEATHER_SETTINGS.specs.weatherServiceToken, env, LOCAL_DEFAULTS);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow(message);
  });
});
