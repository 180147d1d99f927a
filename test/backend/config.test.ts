// Each service reads only its own settings; a bad one is logged once and answered 503; a non-local stage writes nothing.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readBackendSettings } from '../../functions/settings';
import { readWeatherSettings } from '../../functions/weather/settings';
import { ConfigError } from '../../layers/config/env';
import { readEmbeddedState } from '../../layers/config/local-state';
import { isLocal } from '../../layers/config/stage';
import { captureLogs, invoke } from '../support/lambda';

type Handler = Parameters<typeof invoke>[0];

const SECRET = 'x'.repeat(40);
const PROD_URLS = { DATABASE_URL: 'postgres://app_user:pw@db.example:5432/app_db', WEATHER_SERVICE_URL: 'https://weather.internal' };

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('the backend refuses a non-local stage without JWT_SECRET, naming it', () => {
    expect(() => readBackendSettings({ STAGE: 'prod', LOCAL_STATE_DIR: dir, ...PROD_URLS })).toThrow(
      new ConfigError('JWT_SECRET', 'JWT_SECRET must be set for stage "prod"'),
    );
  });

  test('the weather service needs no JWT_SECRET on stage prod', () => {
    const s = readWeatherSettings({ STAGE: 'prod', LOCAL_STATE_DIR: dir, WEATHER_DATABASE_URL: 'postgres://w:pw@db.example/weather_db' });
    expect(s).toMatchObject({ isLocal: false, openWeatherBaseUrl: 'https://api.openweathermap.org', weatherCacheTtlSeconds: 600, dbPoolMax: 2 });
    expect(s).not.toHaveProperty('jwtSecret');
    expect(s.weatherDatabaseUrl()).toBe('postgres://w:pw@db.example/weather_db');
  });

  test('a non-local stage writes no file and never looks for the embedded database', () => {
    const empty = mkdtempSync(join(tmpdir(), 'cfg-prod-'));
    try {
      expect(() => readBackendSettings({ STAGE: 'prod', LOCAL_STATE_DIR: empty, WEATHER_SERVICE_URL: 'https://w.internal', JWT_SECRET: SECRET })).toThrow(
        /DATABASE_URL must be set/,
      );
      expect(() => readWeatherSettings({ STAGE: 'prod', LOCAL_STATE_DIR: empty })).toThrow(/WEATHER_DATABASE_URL must be set/);
      expect(() => readBackendSettings({ STAGE: 'prod', LOCAL_STATE_DIR: empty, ...PROD_URLS })).toThrow(ConfigError);
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
    const first = readBackendSettings({ STAGE: 'local', LOCAL_STATE_DIR: dir }).jwtSecret;
    const second = readBackendSettings({ STAGE: 'local', LOCAL_STATE_DIR: dir }).jwtSecret;
    expect(first).toBe(second);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe(first);
  });

  test('names the variable when a number is invalid', () => {
    expect(() => readBackendSettings({ JWT_SECRET: SECRET, JWT_TTL_SECONDS: 'soon' })).toThrow(/JWT_TTL_SECONDS/);
    expect(() => readWeatherSettings({ WEATHER_CACHE_TTL_SECONDS: '-1' })).toThrow(/WEATHER_CACHE_TTL_SECONDS/);
    expect(() => readBackendSettings({ JWT_SECRET: SECRET, BCRYPT_QUEUE_TIMEOUT_MS: '0' })).toThrow(/BCRYPT_QUEUE_TIMEOUT_MS/);
    expect(() => readBackendSettings({ JWT_SECRET: SECRET, LOGIN_THROTTLE_FAILURES: '0' })).toThrow(/LOGIN_THROTTLE_FAILURES/);
    expect(() => readBackendSettings({ JWT_SECRET: SECRET, LOGIN_ACCOUNT_MAX_FAILURES: 'many' })).toThrow(/LOGIN_ACCOUNT_MAX_FAILURES/);
    // The cap of the growing wait is never below its first step.
    const capped = { JWT_SECRET: SECRET, LOGIN_THROTTLE_DELAY_SECONDS: '60', LOGIN_THROTTLE_MAX_DELAY_SECONDS: '30' };
    expect(() => readBackendSettings(capped)).toThrow(/LOGIN_THROTTLE_MAX_DELAY_SECONDS must be an integer between 60 and 86400/);
  });

  test('refuses a short edge proof or device token key without printing it; the device token key is read on first use', () => {
    expect(() => readBackendSettings({ JWT_SECRET: SECRET, EDGE_PROOF_SECRET: 'short-proof' })).toThrow(/^EDGE_PROOF_SECRET must be at least 32 bytes long$/);
    expect(() => readWeatherSettings({ EDGE_PROOF_SECRET: 'short-proof' })).toThrow(/^EDGE_PROOF_SECRET must be at least 32 bytes long$/);
    const deployed = readBackendSettings({ STAGE: 'prod', JWT_SECRET: SECRET, ...PROD_URLS, DEVICE_TOKEN_SECRET: 'short-key' });
    expect(() => deployed.deviceTokenSecret()).toThrow(/^DEVICE_TOKEN_SECRET must be at least 32 bytes long$/);
    expect(() => readBackendSettings({ STAGE: 'prod', JWT_SECRET: SECRET, ...PROD_URLS }).deviceTokenSecret()).toThrow(/DEVICE_TOKEN_SECRET must be set/);
    expect(readBackendSettings({ STAGE: 'local', LOCAL_STATE_DIR: dir }).deviceTokenSecret()).toBe(readFileSync(join(dir, 'device-token-secret'), 'utf8'));
  });

  test('refuses a short JWT secret without printing it', () => {
    expect(() => readBackendSettings({ JWT_SECRET: 'short-secret' })).toThrow(/^JWT_SECRET must be at least 32 bytes long$/);
  });

  test('uses the documented defaults, with a larger pool on stage local', () => {
    expect(readBackendSettings({ JWT_SECRET: SECRET })).toMatchObject({
      weatherServiceUrl: 'http://127.0.0.1:4000',
      jwtTtlSeconds: 3600,
      bcryptCost: 10,
      dbPoolMax: 10,
      dbQueryTimeoutMs: 3000,
      bcryptQueueMax: 64,
      bcryptQueueTimeoutMs: 2000,
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
      edgeProofSecret: undefined,
    });
    expect(readBackendSettings({ STAGE: 'prod', JWT_SECRET: SECRET, ...PROD_URLS }).dbPoolMax).toBe(2);
  });

  test('explains how to get a database when none is configured', () => {
    const s = readBackendSettings({ JWT_SECRET: SECRET, LOCAL_STATE_DIR: dir });
    expect(() => s.databaseUrl()).toThrow(/DATABASE_URL is not set/);
  });
});

describe('a backend deployed without JWT_SECRET', () => {
  const saved = { ...process.env };
  const handlers: Handler[] = [];
  const stateDir = mkdtempSync(join(tmpdir(), 'cfg-state-'));

  beforeAll(() => {
    Object.assign(process.env, { STAGE: 'prod', LOCAL_STATE_DIR: stateDir, ...PROD_URLS });
    delete process.env.JWT_SECRET;
    // Two functions, each with its own copy of the modules, in one process: as serverless-offline loads them.
    jest.isolateModules(() => handlers.push(require('../../functions/users/list').handler));
    jest.isolateModules(() => handlers.push(require('../../functions/health/check').handler));
  });
  afterAll(() => {
    process.env = saved;
    rmSync(stateDir, { recursive: true, force: true });
  });

  test('answers every request of every function 503 problem+json and logs the missing variable once per process', async () => {
    const logs = captureLogs();
    const errors: string[] = [];
    const spy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => errors.push(String(chunk)) > 0) as typeof process.stderr.write);
    try {
      for (const [handler, path] of [
        [handlers[0], '/users'],
        [handlers[1], '/health-check'],
        [handlers[0], '/users'],
      ] as const) {
        const res = await invoke(handler, { method: 'GET', path });
        expect(`${path} ${res.status} ${res.text}`).toMatch(/ 503 /);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(res.json.detail).toMatch(/not configured/);
      }
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
      Object.assign(process.env, { STAGE: 'prod', LOCAL_STATE_DIR: stateDir, WEATHER_DATABASE_URL: weatherUrl });
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
      weather = require('../../functions/weather/handler').handler;
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
