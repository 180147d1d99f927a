import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, readConfig } from '../../layers/config';

describe('configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('refuses to start a non-local stage without JWT_SECRET', () => {
    expect(() => readConfig({ STAGE: 'prod', LOCAL_STATE_DIR: dir })).toThrow(new ConfigError('JWT_SECRET must be set for stage "prod"'));
  });

  test('generates a local JWT secret once and keeps it', () => {
    const first = readConfig({ STAGE: 'local', LOCAL_STATE_DIR: dir }).jwtSecret;
    const second = readConfig({ STAGE: 'local', LOCAL_STATE_DIR: dir }).jwtSecret;
    expect(first).toBe(second);
    expect(first.length).toBeGreaterThanOrEqual(32);
    expect(readFileSync(join(dir, 'jwt-secret'), 'utf8')).toBe(first);
  });

  test('names the variable when a number is invalid', () => {
    expect(() => readConfig({ JWT_SECRET: 'x'.repeat(40), JWT_TTL_SECONDS: 'soon' })).toThrow(/JWT_TTL_SECONDS/);
  });

  test('refuses a short JWT secret', () => {
    expect(() => readConfig({ JWT_SECRET: 'short' })).toThrow(/at least 32 bytes/);
  });

  test('uses the documented defaults', () => {
    const c = readConfig({ JWT_SECRET: 'x'.repeat(40) });
    expect(c).toMatchObject({
      weatherServiceUrl: 'http://127.0.0.1:4000',
      openWeatherBaseUrl: 'https://api.openweathermap.org',
      weatherCacheTtlSeconds: 600,
      jwtTtlSeconds: 3600,
      bcryptCost: 10,
    });
  });

  test('explains how to get a database when none is configured', () => {
    const c = readConfig({ JWT_SECRET: 'x'.repeat(40), LOCAL_STATE_DIR: dir });
    expect(() => c.databaseUrl).toThrow(/DATABASE_URL is not set/);
  });
});
