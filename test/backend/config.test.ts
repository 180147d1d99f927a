// Each service reads only its own settings, each function only the ones it uses; a bad one is logged once and
// answered 503; a non-local stage writes nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BACKEND_SETTINGS } from '../../functions/settings';
import { WEATHER_SETTINGS } from '../../functions/weather/settings';
import { ConfigError } from '../../layers/config/env';
import { resolveSetting } from '../../layers/config/schema';
import { isLocal } from '../../layers/config/stage';
import { LOCAL_DEFAULTS } from '../../layers/local-runtime/defaults';
import { readEmbeddedState } from '../../layers/local-runtime/state';
import { captureLogs, invoke } from '../support/lambda';

type Handler = Parameters<typeof invoke>[0];

const SECRET = 'x'.repeat(40);
const PROD_URLS = { DATABASE_URL: 'postgres://app_user:pw@db.example:5432/app_db?sslmode=verify-full', WEATHER_SERVICE_URL: 'https://weather.internal' };
const PROD_WEATHER_URL = 'postgres://w:pw@db.example/weather_db?sslmode=verify-full';
/** The run's Postgres, over TLS verified against the run's CA (test/support/test-ca.ts): what a deployed stage accepts. */
const verifiedTls = (url: string) => `${url}?sslmode=verify-full&sslrootcert=${encodeURIComponent(process.env.TEST_POSTGRES_CA ?? '')}`;
/** What a deployed function gets from the Lambda runtime: the role credentials the weather proxy signs with. */
const RUNTIME = {
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret',
  AWS_REGION: 'eu-west-1',
  WEATHER_BACKEND_ROLE_ARN: 'arn:aws:iam::123456789012:role/app',
};
const backend = (env: NodeJS.ProcessEnv) => BACKEND_SETTINGS.read({ ...RUNTIME, ...env }, LOCAL_DEFAULTS);
const weather = (env: NodeJS.ProcessEnv) => WEATHER_SETTINGS.read({ ...RUNTIME, ...env }, LOCAL_DEFAULTS);

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the backend refuses a non-local stage without JWT_SECRET, naming it', () => {
    expect(() => backend({ STAGE: 'prod', LOCAL_STATE_DIR: dir, ...PROD_URLS })).toThrow(
      new ConfigError('JWT_SECRET', 'JWT_SECRET must be set for stage "prod"'),
    );
  });

  test('the weather service needs no JWT_SECRET on stage prod', () => {
    const s = weather({ STAGE: 'prod', LOCAL_STATE_DIR: dir, WEATHER_DATABASE_URL: PROD_WEATHER_URL });
    expect(s).toMatchObject({ openWeatherBaseUrl: 'https://api.openweathermap.org', weatherCacheTtlSeconds: 600, dbPoolMax: 2 });
    expect(s).not.toHaveProperty('jwtSecret');
    expect(s.weatherDatabaseUrl).toBe(PROD_WEATHER_URL);
  });

  test('each function reads only what it uses: the health check no key, docs and the fallback no database', () => {
    expect(BACKEND_SETTINGS.readBy('healthCheck')).toContain('databaseUrl');
    expect(BACKEND_SETTINGS.readBy('healthCheck')).not.toContain('jwtSecret');
    for (const fn of ['docs', 'notFound']) {
      expect(BACKEND_SETTINGS.readBy(fn)).not.toContain('databaseUrl');
      expect(BACKEND_SETTINGS.readBy(fn)).not.toContain('jwtSecret');
    }
    expect(BACKEND_SETTINGS.readBy('getUser')).not.toContain('jwtTtlSeconds');
    expect(WEATHER_SETTINGS.readBy('healthCheck')).not.toContain('openWeatherApiKey');
    expect(WEATHER_SETTINGS.readBy('notFound')).not.toContain('weatherDatabaseUrl');
  });

  test('a non-local stage writes no file and never looks for the embedded database', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cfg-prod-'));
    try {
      expect(() => backend({ STAGE: 'prod', LOCAL_STATE_DIR: empty, WEATHER_SERVICE_URL: 'https://w.internal', JWT_SECRET: SECRET })).toThrow(
        /DATABASE_URL must be set/,
      );
      expect(() => weather({ STAGE: 'prod', LOCAL_STATE_DIR: empty })).toThrow(/WEATHER_DATABASE_URL must be set/);
      expect(() => backend({ STAGE: 'prod', LOCAL_STATE_DIR: empty, ...PROD_URLS })).toThrow(ConfigError);
      expect(readdirSync(empty)).toEqual([]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  test('stage local, serverless-offline and sls invoke local are local; dev and prod are not', () => {
    expect([{}, { STAGE: 'local' }, { STAGE: 'test' }, { STAGE: 'dev', IS_OFFLINE: 'true' }, { STAGE: 'dev', IS_LOCAL: 'true' }].map(isLocal)).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([{ STAGE: 'dev' }, { STAGE: 'prod' }].map(isLocal)).toEqual([false, false]);
  });

  test('generates a local JWT secret once and keeps it', () => {
    const env = { STAGE: 'local', LOCAL_STATE_DIR: dir };
    const first = resolveSetting(BACKEND_SETTINGS.specs.jwtSecret, env, LOCAL_DEFAULTS)!;
    const second = resolveSetting(BACKEND_SETTINGS.specs.jwtSecret, env, LOCAL_DEFAULTS);
    expect(first).toBe(second);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe(first);
  });

  test('names the variable, what is wrong and the accepted range', () => {
    const problem = (env: NodeJS.ProcessEnv) => BACKEND_SETTINGS.problems({ JWT_SECRET: SECRET, LOCAL_STATE_DIR: dir, ...env }).map((p) => p.message);
    expect(problem({ JWT_TTL_SECONDS: 'soon' })).toEqual(['JWT_TTL_SECONDS must be an integer from 60 to 2678400, got "soon"']);
    expect(WEATHER_SETTINGS.problems({ WEATHER_CACHE_TTL_SECONDS: '-1' }).map((p) => p.message)).toEqual([
      'WEATHER_CACHE_TTL_SECONDS must be an integer from 1 to 86400, got "-1"',
    ]);
    expect(problem({ BCRYPT_QUEUE_TIMEOUT_MS: '0' })).toEqual(['BCRYPT_QUEUE_TIMEOUT_MS must be an integer from 10 to 60000, got "0"']);
    expect(problem({ BCRYPT_COST: '4.5' })).toEqual(['BCRYPT_COST must be an integer from 4 to 15, got "4.5"']);
    expect(problem({ WEATHER_SERVICE_URL: 'not a url' })).toEqual(['WEATHER_SERVICE_URL must be an absolute URL (http or https), got "not a url"']);
    expect(problem({ LOGIN_THROTTLE_FAILURES: '0' })).toEqual(['LOGIN_THROTTLE_FAILURES must be an integer from 1 to 1000000, got "0"']);
    expect(problem({ LOGIN_ACCOUNT_MAX_FAILURES: 'many' })).toEqual(['LOGIN_ACCOUNT_MAX_FAILURES must be an integer from 1 to 1000000, got "many"']);
  });

  test('refuses a short edge proof or device token key without printing it; the device token key is generated locally', () => {
    expect(BACKEND_SETTINGS.problems({ JWT_SECRET: SECRET, EDGE_PROOF_SECRET: 'short-proof' }).map((p) => p.message)).toEqual([
      'EDGE_PROOF_SECRET must be at least 32 bytes long',
    ]);
    expect(WEATHER_SETTINGS.problems({ EDGE_PROOF_SECRET: 'short-proof' }).map((p) => p.message)).toEqual(['EDGE_PROOF_SECRET must be at least 32 bytes long']);
    const key = BACKEND_SETTINGS.specs.deviceTokenSecret;
    expect(() => resolveSetting(key, { STAGE: 'prod', DEVICE_TOKEN_SECRET: 'short-key' })).toThrow(/^DEVICE_TOKEN_SECRET must be at least 32 bytes long$/);
    expect(() => resolveSetting(key, { STAGE: 'prod' })).toThrow(/DEVICE_TOKEN_SECRET must be set/);
    expect(resolveSetting(key, { STAGE: 'local', LOCAL_STATE_DIR: dir }, LOCAL_DEFAULTS)).toBe(readFileSync(join(dir, 'device-token-secret'), 'utf8'));
  });

  test('refuses a short JWT secret without printing it', () => {
    expect(() => resolveSetting(BACKEND_SETTINGS.specs.jwtSecret, { JWT_SECRET: 'short-secret' })).toThrow(/^JWT_SECRET must be at least 32 bytes long$/);
  });

  test('never quotes a database URL it refuses (it carries a password)', () => {
    const [problem] = BACKEND_SETTINGS.problems({ JWT_SECRET: SECRET, DATABASE_URL: 'mysql://app:hunter2@db/app' });
    expect(problem.variable).toBe('DATABASE_URL');
    expect(problem.message).not.toContain('hunter2');
  });

  test('uses the documented defaults, with a larger pool on stage local', () => {
    expect(backend({ JWT_SECRET: SECRET, LOCAL_STATE_DIR: dir, DATABASE_URL: 'postgres://a:b@h/d' })).toMatchObject({
      weatherServiceUrl: 'http://127.0.0.1:4000',
      jwtTtlSeconds: 3600,
      bcryptCost: 10,
      dbPoolMax: 10,
      dbQueryTimeoutMs: 3000,
      bcryptQueueMax: 64,
      bcryptQueueTimeoutMs: 2000,
      bcryptConcurrency: 3,
      loginThrottleFailures: 5,
      loginThrottleAddressFailures: 30,
      loginThrottleWindowSeconds: 900,
      loginThrottleDelaySeconds: 30,
      loginThrottleMaxDelaySeconds: 900,
      loginAccountSlowdownFailures: 20,
      loginAccountSlowdownDelaySeconds: 180,
      loginAccountMaxFailures: 100,
      loginAccountWindowSeconds: 86_400,
      deviceTokenTtlSeconds: 30 * 86_400,
      deviceTokenMaxFailures: 10,
      edgeProofSecret: '',
    });
    expect(backend({ STAGE: 'prod', JWT_SECRET: SECRET, DEVICE_TOKEN_SECRET: SECRET, ...PROD_URLS }).dbPoolMax).toBe(2);
  });

  test('explains how to get a database when none is configured', () => {
    expect(() => resolveSetting(BACKEND_SETTINGS.specs.databaseUrl, { LOCAL_STATE_DIR: dir }, LOCAL_DEFAULTS)).toThrow(/DATABASE_URL is not set/);
  });
});

describe('TLS to Postgres outside stage local', () => {
  const backendUrl = (url: string) => () => backend({ STAGE: 'prod', JWT_SECRET: SECRET, DEVICE_TOKEN_SECRET: SECRET, ...PROD_URLS, DATABASE_URL: url });
  const weatherUrl = (url: string) => () => weather({ STAGE: 'prod', WEATHER_DATABASE_URL: url });
  const at = (query: string) => `postgres://app_user:pw@db.example:5432/app_db${query}`;

  test.each([
    ['no sslmode', '', /without sslmode the connection is not encrypted/],
    ['sslmode=disable', '?sslmode=disable', /connects without TLS/],
    ['sslmode=allow', '?sslmode=allow', /connects without TLS/],
    ['sslmode=no-verify', '?sslmode=no-verify', /accepts any certificate/],
    ['sslmode=prefer', '?sslmode=prefer', /falls back to no TLS in libpq/],
    ['sslmode=require', '?sslmode=require', /checks no certificate in libpq \(pg treats it as verify-full only with a warning/],
    ['sslmode=verify-ca', '?sslmode=verify-ca', /checks no server name in libpq/],
    ['verify-full, then disable (pg takes the last)', '?sslmode=verify-full&sslmode=disable', /more than once/],
    ['an unknown mode', '?sslmode=verify-everything', /is not an sslmode/],
  ])('%s is refused for both services, naming the variable and why', (_, query, why) => {
    for (const [read, name] of [
      [backendUrl(at(query)), 'DATABASE_URL'],
      [weatherUrl(at(query)), 'WEATHER_DATABASE_URL'],
    ] as const) {
      expect(read).toThrow(ConfigError);
      expect(read).toThrow(new RegExp(`^${name} must ask for sslmode=verify-full outside stage local: `));
      expect(read).toThrow(why);
      expect(read).not.toThrow(/pw/); // the URL's password is never part of the message
    }
  });

  test('sslmode=verify-full is taken (with a CA file or without); stage local takes any URL as given', () => {
    expect(backendUrl(at('?sslmode=verify-full'))().databaseUrl).toBe(at('?sslmode=verify-full'));
    expect(weatherUrl(at('?sslrootcert=/ca.pem&sslmode=verify-full'))().weatherDatabaseUrl).toBe(at('?sslrootcert=/ca.pem&sslmode=verify-full'));
    expect(backend({ STAGE: 'local', JWT_SECRET: SECRET, DATABASE_URL: at('') }).databaseUrl).toBe(at(''));
  });
});

describe('a backend deployed with a database URL that does not verify TLS', () => {
  const saved = { ...process.env };
  let health: Handler;
  const stateDir = mkdtempSync(join(tmpdir(), 'cfg-tls-'));

  beforeAll(() => {
    jest.isolateModules(() => {
      Object.assign(process.env, {
        STAGE: 'prod',
        LOCAL_STATE_DIR: stateDir,
        JWT_SECRET: SECRET,
        ...PROD_URLS,
        DATABASE_URL: 'postgres://app_user:pw@db.example/app_db?sslmode=require',
      });
      health = require('../../functions/health/check').handler;
    });
  });
  afterAll(() => {
    process.env = saved;
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('answers 503 problem+json and logs one line naming DATABASE_URL (and no password)', async () => {
    const logs = captureLogs();
    const errors: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write);
    const answers = [];
    try {
      answers.push(await invoke(health, { method: 'GET', path: '/health-check' }), await invoke(health, { method: 'GET', path: '/health-check' }));
    } finally {
      spy.mockRestore();
      logs.restore();
    }
    for (const res of answers) {
      expect(res.status).toBe(503);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json.detail).toMatch(/not configured/);
    }
    const output = [...logs.raw, ...errors].join('');
    const naming = output.split('\n').filter((line) => line.includes('"DATABASE_URL"'));
    expect(naming).toHaveLength(1);
    expect(JSON.parse(naming[0])).toMatchObject({
      level: 'ERROR',
      message: 'the service is not configured',
      reason: expect.stringMatching(/sslmode=verify-full/),
    });
    expect(output).not.toContain(':pw@');
  });
});

describe('a backend deployed without JWT_SECRET', () => {
  // Only the functions that read it fail: the health check needs the database, not the key.
  const saved = { ...process.env };
  const handlers: Handler[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'cfg-state-'));

  beforeAll(() => {
    Object.assign(process.env, { STAGE: 'prod', LOCAL_STATE_DIR: stateDir, ...PROD_URLS });
    delete process.env.JWT_SECRET;
    // Two functions, each with its own copy of the modules, in one process: as serverless-offline loads them.
    jest.isolateModules(() => handlers.push(require('../../functions/users/list').handler));
    jest.isolateModules(() => handlers.push(require('../../functions/health/check').handler));
    jest.isolateModules(() => handlers.push(require('../../functions/users/list').handler));
  });
  afterAll(() => {
    process.env = saved;
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('answers every request of a function that reads it 503 problem+json, logs the variable once per process, and spares the health check', async () => {
    const logs = captureLogs();
    const errors: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write);
    try {
      for (const [handler, path] of [
        [handlers[0], '/users'],
        [handlers[2], '/users'],
        [handlers[0], '/users'],
      ] as const) {
        const res = await invoke(handler, { method: 'GET', path, headers: { authorization: 'Bearer a.b.c' } });
        expect(`${path} ${res.status} ${res.text}`).toMatch(/ 503 /);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json.detail).toMatch(/not configured/);
      }
      // The health check reads no key: it answers about its database (unreachable here: 503 in its own report shape).
      const health = await invoke(handlers[1], { method: 'GET', path: '/health-check' });
      expect(health.json).toEqual({ status: 'unavailable', checks: { database: 'unavailable' } });
    } finally {
      spy.mockRestore();
      logs.restore();
    }
    const lines = [...logs.raw, ...errors]
      .join('')
      .split('\n')
      .filter((l) => l.includes('not configured'));
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0])).toMatchObject({ level: 'ERROR', variable: 'JWT_SECRET' });
    expect(readdirSync(stateDir)).toEqual([]);
  });
});

describe('the weather service deployed with only its own settings', () => {
  const saved = { ...process.env };
  const stateDir = mkdtempSync(join(tmpdir(), 'cfg-weather-'));
  let health: Handler;

  beforeAll(() => {
    const weatherUrl = readEmbeddedState()?.weatherUrl;
    if (!weatherUrl) throw new Error('the embedded Postgres of the test run is not running');
    jest.isolateModules(() => {
      Object.assign(process.env, { STAGE: 'prod', LOCAL_STATE_DIR: stateDir, WEATHER_DATABASE_URL: verifiedTls(weatherUrl) });
      delete process.env.JWT_SECRET;
      health = require('../../functions/weather/health').handler;
    });
  });
  afterAll(() => {
    process.env = saved;
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('answers its health-check 200 without JWT_SECRET and writes no local state', async () => {
    const res = await invoke(health, { method: 'GET', path: '/health-check' });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', checks: { database: 'ok' } });
    expect(readdirSync(stateDir)).toEqual([]);
  });
});

describe('a weather service deployed without its database URL', () => {
  const saved = { ...process.env };
  const stateDir = mkdtempSync(join(tmpdir(), 'cfg-weather-missing-'));
  let weather: Handler;

  beforeAll(() => {
    jest.isolateModules(() => {
      Object.assign(process.env, { STAGE: 'prod', LOCAL_STATE_DIR: stateDir, WEATHER_DATABASE_URL: '' });
      weather = require('../../functions/weather/get').handler;
    });
  });
  afterAll(() => {
    process.env = saved;
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('answers 503 problem+json naming no secret, and never looks for the embedded database', async () => {
    const logs = captureLogs();
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation((() => true) as typeof process.stderr.write);
    let res;
    try {
      res = await invoke(weather, { method: 'GET', path: '/weather/London', pathParameters: { city: 'London' } });
    } finally {
      spy.mockRestore();
      logs.restore();
    }
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 503, detail: expect.stringMatching(/not configured/) });
    expect(readdirSync(stateDir)).toEqual([]);
  });
});
