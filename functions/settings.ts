// The app backend's settings: only the variables the backend reads, validated once (one line per setting).
import { readPoolSettings } from '../layers/db/pool';
import { withVerifiedTls } from '../layers/config/database-tls';
import { integer, required, secret, text, url, type Env } from '../layers/config/env';
import { databaseUrl, localSecret } from '../layers/config/local-state';
import { isLocal, stageName } from '../layers/config/stage';

export type BackendSettings = ReturnType<typeof readBackendSettings>;

export function readBackendSettings(env: Env = process.env) {
  const stage = stageName(env);
  const local = isLocal(env);
  return {
    stage,
    isLocal: local,
    /** The app database (role app_user); on stage local the embedded server's when unset, elsewhere with sslmode=verify-full. */
    databaseUrl: withVerifiedTls(
      'DATABASE_URL',
      local,
      databaseUrl(env, 'DATABASE_URL', local, (s) => s.appUrl),
    ),
    ...readPoolSettings(env, local),
    healthProbeTimeoutMs: integer(env, 'HEALTH_PROBE_TIMEOUT_MS', 1000, 100, 10_000),
    // Generated once into local/.data on stage local only; a deployed stage must be given one.
    jwtSecret: secret(env, 'JWT_SECRET', { minBytes: 32, stage, generate: local ? () => localSecret(env, 'jwt-secret') : undefined }),
    jwtTtlSeconds: integer(env, 'JWT_TTL_SECONDS', 3600, 60, 31 * 86_400),
    jwtIssuer: text(env, 'JWT_ISSUER', 'weather-users-platform'),
    bcryptCost: integer(env, 'BCRYPT_COST', 10, 4, 15),
    // One thread of libuv's pool stays free of bcrypt for everything else that needs it.
    bcryptConcurrency: integer(env, 'BCRYPT_CONCURRENCY', Math.max(1, integer(env, 'UV_THREADPOOL_SIZE', 4, 1, 1024) - 1), 1, 1024),
    // Cost 10 takes ~70 ms per hash per thread, so 3 threads clear ~40 a second: 64 waiting is ~1.5 s of work.
    bcryptQueueMax: integer(env, 'BCRYPT_QUEUE_MAX', 64, 0, 100_000),
    bcryptQueueTimeoutMs: integer(env, 'BCRYPT_QUEUE_TIMEOUT_MS', 2000, 10, 60_000),
    // After this many failed logins for one username within the window, one try per delay (layers/db/login-throttle.ts).
    loginThrottleFailures: integer(env, 'LOGIN_THROTTLE_FAILURES', 5, 1, 1_000_000),
    loginThrottleWindowSeconds: integer(env, 'LOGIN_THROTTLE_WINDOW_SECONDS', 900, 1, 86_400),
    loginThrottleDelaySeconds: integer(env, 'LOGIN_THROTTLE_DELAY_SECONDS', 30, 1, 3600),
    weatherServiceUrl: url(env, 'WEATHER_SERVICE_URL', local ? 'http://127.0.0.1:4000' : ''),
    weatherServiceTimeoutMs: integer(env, 'WEATHER_SERVICE_TIMEOUT_MS', 5000, 100, 30_000),
    /** Stage local: the credential sent to the weather service (X-Service-Token); read on first use: only the weather proxy needs it. */
    weatherServiceToken: () =>
      secret(env, 'WEATHER_SERVICE_TOKEN', { minBytes: 32, stage, generate: local ? () => localSecret(env, 'weather-service-token') : undefined }),
    /** Deployed: the Lambda role's credentials (set by the runtime) the weather proxy signs its calls with (SigV4). */
    awsCredentials: () => ({
      accessKeyId: required(env, 'AWS_ACCESS_KEY_ID', stage),
      secretAccessKey: required(env, 'AWS_SECRET_ACCESS_KEY', stage),
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
      region: required(env, 'AWS_REGION', stage),
    }),
    /** The `servers` entry of /openapi.json. */
    publicUrl: text(env, 'PUBLIC_URL', '/'),
  };
}
