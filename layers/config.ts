// The one configuration module: the environment is read and validated once, with typed defaults.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

export class ConfigError extends Error {}

export interface Config {
  stage: string;
  isLocal: boolean;
  databaseUrl: string;
  weatherDatabaseUrl: string;
  weatherServiceUrl: string;
  openWeatherApiKey: string;
  openWeatherBaseUrl: string;
  weatherCacheTtlSeconds: number;
  unknownCityTtlSeconds: number;
  upstreamTimeoutMs: number;
  weatherServiceTimeoutMs: number;
  jwtSecret: string;
  jwtTtlSeconds: number;
  jwtIssuer: string;
  bcryptCost: number;
  /** bcrypt operations in flight per process; the rest wait in line (see layers/auth/passwords.ts) */
  bcryptConcurrency: number;
  /** bcrypt operations allowed to wait for a turn per process; beyond it 503 (see layers/auth/passwords.ts) */
  bcryptQueueMax: number;
  /** how long a bcrypt operation may wait for a turn before it is answered 503 instead */
  bcryptQueueTimeoutMs: number;
  /** failed logins for one username within the window before its tries are spaced (layers/db/login-throttle.ts) */
  loginThrottleFailures: number;
  loginThrottleWindowSeconds: number;
  /** while throttled, one try per this many seconds for that username */
  loginThrottleDelaySeconds: number;
  dbPoolMax: number;
  dbQueryTimeoutMs: number;
  healthProbeTimeoutMs: number;
}

/**
 * Where the local runner keeps state: the embedded Postgres URLs and the generated JWT secret. Found by
 * walking up from the working directory, because `sls invoke local` runs from the esbuild output folder
 * and the weather service from functions/weather.
 */
export function localStateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LOCAL_STATE_DIR) return resolve(env.LOCAL_STATE_DIR);
  for (let dir = process.cwd(); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'local', '.data'))) return join(dir, 'local', '.data');
    if (dirname(dir) === dir) return join(process.cwd(), 'local', '.data');
  }
}

/** What local/postgres.ts writes when the embedded server is up. */
export interface EmbeddedPostgresState {
  pid: number;
  port: number;
  appUrl: string;
  weatherUrl: string;
}

export function readEmbeddedState(env: NodeJS.ProcessEnv = process.env): EmbeddedPostgresState | undefined {
  const file = join(localStateDir(env), 'postgres.json');
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as EmbeddedPostgresState;
}

function integer(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

function url(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const raw = env[name] || fallback;
  if (raw === '') return raw;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(`${name} is not a valid URL`);
  }
  return raw.replace(/\/+$/, '');
}

function embeddedUrl(env: NodeJS.ProcessEnv, name: string, pick: (s: EmbeddedPostgresState) => string): string {
  if (env[name]) return url(env, name, '');
  const state = readEmbeddedState(env);
  if (!state) {
    throw new ConfigError(`${name} is not set and the embedded Postgres is not running (start it with \`npm start\` or \`npm run db\`)`);
  }
  return pick(state);
}

function localJwtSecret(env: NodeJS.ProcessEnv): string {
  const dir = localStateDir(env);
  const file = join(dir, 'jwt-secret');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return readFileSync(file, 'utf8').trim();
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const stage = env.STAGE || 'local';
  const isLocal = stage === 'local' || stage === 'test' || env.IS_OFFLINE === 'true' || env.IS_LOCAL === 'true';
  let jwtSecret = env.JWT_SECRET || '';
  if (!jwtSecret) {
    if (!isLocal) throw new ConfigError(`JWT_SECRET must be set for stage "${stage}"`);
    jwtSecret = localJwtSecret(env);
  }
  if (Buffer.byteLength(jwtSecret) < 32) throw new ConfigError('JWT_SECRET must be at least 32 bytes long');
  const apiKey = env.OPENWEATHER_API_KEY || '';
  let databaseUrl: string | undefined;
  let weatherDatabaseUrl: string | undefined;
  return {
    stage,
    isLocal,
    // Database URLs are resolved lazily (a function that never touches a database must not need one),
    // then kept: the embedded server's state file is read once, not on every request.
    get databaseUrl() {
      databaseUrl ??= embeddedUrl(env, 'DATABASE_URL', (s) => s.appUrl);
      return databaseUrl;
    },
    get weatherDatabaseUrl() {
      weatherDatabaseUrl ??= embeddedUrl(env, 'WEATHER_DATABASE_URL', (s) => s.weatherUrl);
      return weatherDatabaseUrl;
    },
    weatherServiceUrl: url(env, 'WEATHER_SERVICE_URL', 'http://127.0.0.1:4000'),
    openWeatherApiKey: apiKey,
    openWeatherBaseUrl: url(env, 'OPENWEATHER_BASE_URL', 'https://api.openweathermap.org'),
    weatherCacheTtlSeconds: integer(env, 'WEATHER_CACHE_TTL_SECONDS', 600, 1, 86_400),
    unknownCityTtlSeconds: integer(env, 'WEATHER_UNKNOWN_CITY_TTL_SECONDS', 300, 1, 86_400),
    upstreamTimeoutMs: integer(env, 'OPENWEATHER_TIMEOUT_MS', 3000, 100, 30_000),
    weatherServiceTimeoutMs: integer(env, 'WEATHER_SERVICE_TIMEOUT_MS', 5000, 100, 30_000),
    jwtSecret,
    jwtTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 3600, 60, 31 * 86_400),
    jwtIssuer: env.JWT_ISSUER || 'weather-users-platform',
    bcryptCost: integer(env, 'BCRYPT_COST', 10, 4, 15),
    // One thread of libuv's pool stays free of bcrypt for everything else that needs it.
    bcryptConcurrency: integer(env, 'BCRYPT_CONCURRENCY', Math.max(1, integer(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024) - 1), 1, 1024),
    // Cost 10 takes ~70 ms per hash per thread, so 3 threads clear ~40 a second: 64 waiting is ~1.5 s of work.
    bcryptQueueMax: integer(env, 'BCRYPT_QUEUE_MAX', 64, 0, 100_000),
    bcryptQueueTimeoutMs: integer(env, 'BCRYPT_QUEUE_TIMEOUT_MS', 2000, 10, 60_000),
    loginThrottleFailures: integer(env, 'LOGIN_THROTTLE_FAILURES', 5, 1, 1_000_000),
    loginThrottleWindowSeconds: integer(env, 'LOGIN_THROTTLE_WINDOW_SECONDS', 900, 1, 86_400),
    loginThrottleDelaySeconds: integer(env, 'LOGIN_THROTTLE_DELAY_SECONDS', 30, 1, 3600),
    dbPoolMax: integer(env, 'DB_POOL_MAX', 10, 1, 100),
    dbQueryTimeoutMs: integer(env, 'DB_QUERY_TIMEOUT_MS', 3000, 100, 60_000),
    healthProbeTimeoutMs: integer(env, 'HEALTH_PROBE_TIMEOUT_MS', 1000, 100, 10_000),
  };
}

let cached: Config | undefined;

/** The process-wide configuration, read on first use. */
export function config(): Config {
  cached ??= readConfig();
  return cached;
}
