// The app backend's settings: only the variables the backend reads, validated once (one line per setting).
import { readPoolSettings } from '../layers/db/pool';
import { integer, secret, text, url, type Env } from '../layers/config/env';
import { databaseUrl, localSecret } from '../layers/config/local-state';
import { isLocal, stageName } from '../layers/config/stage';

export type BackendSettings = ReturnType<typeof readBackendSettings>;

export function readBackendSettings(env: Env = process.env) {
  const stage = stageName(env);
  const local = isLocal(env);
  return {
    stage,
    isLocal: local,
    /** The app database (role app_user); on stage local the embedded server's when unset. */
    databaseUrl: databaseUrl(env, 'DATABASE_URL', local, (s) => s.appUrl),
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
    // The three counters of failed logins (layers/auth/login-throttle.ts, docs/security.md): per username and address ...
    loginThrottleFailures: integer(env, 'LOGIN_THROTTLE_FAILURES', 5, 1, 1_000_000),
    // ... per address across usernames ...
    loginThrottleAddressFailures: integer(env, 'LOGIN_THROTTLE_ADDRESS_FAILURES', 30, 1, 1_000_000),
    // ... both counted until a window without failures, from their threshold on with a wait doubling up to its cap ...
    loginThrottleWindowSeconds: integer(env, 'LOGIN_THROTTLE_WINDOW_SECONDS', 900, 1, 86_400),
    loginThrottleDelaySeconds: integer(env, 'LOGIN_THROTTLE_DELAY_SECONDS', 30, 1, 3600),
    loginThrottleMaxDelaySeconds: integer(env, 'LOGIN_THROTTLE_MAX_DELAY_SECONDS', 900, integer(env, 'LOGIN_THROTTLE_DELAY_SECONDS', 30, 1, 3600), 86_400),
    // ... and per account, for clients without a device token: slowed past the first number, refused at the second.
    loginAccountSlowdownFailures: integer(env, 'LOGIN_ACCOUNT_SLOWDOWN_FAILURES', 20, 1, 1_000_000),
    loginAccountSlowdownDelaySeconds: integer(env, 'LOGIN_ACCOUNT_SLOWDOWN_DELAY_SECONDS', 180, 1, 86_400),
    loginAccountMaxFailures: integer(env, 'LOGIN_ACCOUNT_MAX_FAILURES', 100, 1, 1_000_000),
    loginAccountWindowSeconds: integer(env, 'LOGIN_ACCOUNT_WINDOW_SECONDS', 86_400, 1, 31 * 86_400),
    /** The key of device tokens, read on first use (only POST /token needs it); generated once into local/.data on stage local. */
    deviceTokenSecret: () =>
      secret(env, 'DEVICE_TOKEN_SECRET', { minBytes: 32, stage, generate: local ? () => localSecret(env, 'device-token-secret') : undefined }),
    deviceTokenTtlSeconds: integer(env, 'DEVICE_TOKEN_TTL_SECONDS', 30 * 86_400, 60, 366 * 86_400),
    // A device token with this many failed logins is no longer trusted (until it expires).
    deviceTokenMaxFailures: integer(env, 'DEVICE_TOKEN_MAX_FAILURES', 10, 1, 1000),
    /** Set by the local runner only: every request must carry it in X-Edge-Proof (HAProxy adds it), else 403. */
    edgeProofSecret: env.EDGE_PROOF_SECRET ? secret(env, 'EDGE_PROOF_SECRET', { minBytes: 32, stage }) : undefined,
    weatherServiceUrl: url(env, 'WEATHER_SERVICE_URL', local ? 'http://127.0.0.1:4000' : ''),
    weatherServiceTimeoutMs: integer(env, 'WEATHER_SERVICE_TIMEOUT_MS', 5000, 100, 30_000),
    /** The credential sent to the weather service (X-Service-Token); read on first use: only the weather proxy needs it. */
    weatherServiceToken: () =>
      secret(env, 'WEATHER_SERVICE_TOKEN', { minBytes: 32, stage, generate: local ? () => localSecret(env, 'weather-service-token') : undefined }),
    /** The `servers` entry of /openapi.json. */
    publicUrl: text(env, 'PUBLIC_URL', '/'),
  };
}
