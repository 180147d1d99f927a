// The one configuration module: the environment is read and validated once, with typed defaults.
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
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
  /** Provider calls allowed per rolling minute, shared by every weather service instance (through Postgres). */
  openWeatherCallsPerMinute: number;
  /** Provider calls in flight per weather service process; further refreshes wait briefly, then get stale or 503. */
  weatherMaxConcurrentRefreshes: number;
  /** Cached reports older than this are deleted (stale answers older than this are not worth keeping). */
  weatherCacheRetentionSeconds: number;
  /** The credential the backend sends to the weather service (X-Service-Token); resolved on first use. */
  weatherServiceToken: string;
  jwtSecret: string;
  jwtTtlSeconds: number;
  jwtIssuer: string;
  bcryptCost: number;
  /** bcrypt operations in flight per process; the rest wait in line (see layers/auth/passwords.ts) */
  bcryptConcurrency: number;
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

/** A secret generated once into the local state dir, shared by every local process that reads it. */
function localSecret(env: NodeJS.ProcessEnv, name: string): string {
  const dir = localStateDir(env);
  const file = join(dir, name);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    // Written aside, then linked into place: two services starting at once never read a half-written file.
    const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
    writeFileSync(draft, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(draft, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(draft);
    }
  }
  return readFileSync(file, 'utf8').trim();
}

function secret(env: NodeJS.ProcessEnv, name: string, file: string, stage: string, isLocal: boolean): string {
  let value = env[name] || '';
  if (!value) {
    if (!isLocal) throw new ConfigError(`${name} must be set for stage "${stage}"`);
    value = localSecret(env, file);
  }
  if (Buffer.byteLength(value) < 32) throw new ConfigError(`${name} must be at least 32 bytes long`);
  return value;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const stage = env.STAGE || 'local';
  const isLocal = stage === 'local' || stage === 'test' || env.IS_OFFLINE === 'true' || env.IS_LOCAL === 'true';
  const jwtSecret = secret(env, 'JWT_SECRET', 'jwt-secret', stage, isLocal);
  const apiKey = env.OPENWEATHER_API_KEY || '';
  let databaseUrl: string | undefined;
  let weatherDatabaseUrl: string | undefined;
  let weatherServiceToken: string | undefined;
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
    // 50: below OpenWeatherMap's free tier (60 a minute), leaving room for clock skew and other users of the key.
    openWeatherCallsPerMinute: integer(env, 'OPENWEATHER_CALLS_PER_MINUTE', 50, 1, 10_000),
    weatherMaxConcurrentRefreshes: integer(env, 'WEATHER_MAX_CONCURRENT_REFRESHES', 4, 1, 100),
    weatherCacheRetentionSeconds: integer(env, 'WEATHER_CACHE_RETENTION_SECONDS', 7 * 86_400, 60, 366 * 86_400),
    // Resolved lazily: only the weather service and the backend's weather proxy need it.
    get weatherServiceToken() {
      weatherServiceToken ??= secret(env, 'WEATHER_SERVICE_TOKEN', 'weather-service-token', stage, isLocal);
      return weatherServiceToken;
    },
    jwtSecret,
    jwtTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 3600, 60, 31 * 86_400),
    jwtIssuer: env.JWT_ISSUER || 'weather-users-platform',
    bcryptCost: integer(env, 'BCRYPT_COST', 10, 4, 15),
    // One thread of libuv's pool stays free of bcrypt for everything else that needs it.
    bcryptConcurrency: integer(env, 'BCRYPT_CONCURRENCY', Math.max(1, integer(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024) - 1), 1, 1024),
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
