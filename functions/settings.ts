// The app backend's settings: every variable its functions read, declared once (layers/config/schema.ts), with the
// functions that read each one (the keys of serverless.yml), so each function's environment holds only what it uses.
import { platformSettings } from '../layers/config/platform';
import { defineSettings, derived, fromLocalRuntime, httpUrl, integer, REQUIRED, secret, text } from '../layers/config/schema';
import { caBundleSetting, databaseUrlSetting, healthProbeSetting, poolSettings } from '../layers/db/settings';

/** Every function of the backend (serverless.yml). */
export const BACKEND_FUNCTIONS = ['register', 'token', 'healthCheck', 'listUsers', 'getUser', 'deleteUser', 'weather', 'docs', 'notFound'] as const;
export type BackendFunction = (typeof BACKEND_FUNCTIONS)[number];

/** The routes that need a signed-in user: they verify a token and look its user up. */
const AUTHENTICATED: BackendFunction[] = ['listUsers', 'getUser', 'deleteUser', 'weather'];
const USES_DATABASE: BackendFunction[] = ['register', 'token', 'healthCheck', ...AUTHENTICATED];
const HASHES_PASSWORDS: BackendFunction[] = ['register', 'token'];

export const BACKEND_SETTINGS = defineSettings('app-backend', {
  ...platformSettings('app-backend', BACKEND_FUNCTIONS),
  databaseUrl: databaseUrlSetting('DATABASE_URL', {
    readBy: [...USES_DATABASE, 'runner'],
    local: "the embedded server's `app_db` as `app_user`",
    description: "the backend's database (the runtime role); outside stage local it must ask for TLS that verifies the server (docs/deploying.md)",
  }),
  caBundle: caBundleSetting(USES_DATABASE),
  ...poolSettings(USES_DATABASE),
  healthProbeTimeoutMs: healthProbeSetting(),
  jwtSecret: secret('JWT_SECRET', {
    minBytes: 32,
    readBy: ['token', ...AUTHENTICATED],
    default: { local: fromLocalRuntime('generated once into `LOCAL_STATE_DIR/jwt-secret`'), deployed: REQUIRED },
    description: 'the HS256 key of access tokens',
  }),
  jwtTtlSeconds: integer('JWT_TTL_SECONDS', { min: 60, max: 31 * 86_400, default: 3600, readBy: ['token'], description: 'access token lifetime, in seconds' }),
  jwtIssuer: text('JWT_ISSUER', { default: 'weather-users-platform', readBy: ['token', ...AUTHENTICATED], description: 'the `iss` claim issued and required' }),
  uvThreadpoolSize: integer('UV_THREADPOOL_SIZE', {
    min: 1,
    max: 1024,
    default: 4,
    readBy: HASHES_PASSWORDS,
    scope: 'platform',
    description: "libuv's thread pool (Node's own variable, not set by serverless.yml): read only to derive `BCRYPT_CONCURRENCY`",
  }),
  bcryptCost: integer('BCRYPT_COST', { min: 4, max: 15, default: 10, readBy: HASHES_PASSWORDS, description: 'bcrypt cost factor of new hashes' }),
  // One thread of libuv's pool stays free of bcrypt for everything else that needs it (pg's SCRAM handshake).
  bcryptConcurrency: integer('BCRYPT_CONCURRENCY', {
    min: 1,
    max: 1024,
    default: derived('`UV_THREADPOOL_SIZE` − 1 (3)', (env) => Math.max(1, Number(env.UV_THREADPOOL_SIZE || 4) - 1)),
    readBy: HASHES_PASSWORDS,
    description: 'bcrypt operations in flight per process; the others wait in line, so one libuv thread stays free for the database driver',
  }),
  // Cost 10 takes ~70 ms per hash per thread, so 3 threads clear ~40 a second: 64 waiting is ~1.5 s of work.
  bcryptQueueMax: integer('BCRYPT_QUEUE_MAX', {
    min: 0,
    max: 100_000,
    default: 64,
    readBy: HASHES_PASSWORDS,
    description: 'bcrypt operations allowed to wait for a turn per process (0: none wait); beyond it 503 with `Retry-After` at once',
  }),
  bcryptQueueTimeoutMs: integer('BCRYPT_QUEUE_TIMEOUT_MS', {
    min: 10,
    max: 60_000,
    default: 2000,
    readBy: HASHES_PASSWORDS,
    description: 'longest wait for a bcrypt turn, in ms; past it 503 with `Retry-After`, and the request never runs bcrypt later',
  }),
  // After this many failed logins for one username within the window, one try per delay (layers/db/login-throttle.ts).
  loginThrottleFailures: integer('LOGIN_THROTTLE_FAILURES', {
    min: 1,
    max: 1_000_000,
    default: 5,
    readBy: ['token'],
    description: 'failed logins for one username (case-insensitive) within the window before its tries are spaced',
  }),
  loginThrottleWindowSeconds: integer('LOGIN_THROTTLE_WINDOW_SECONDS', {
    min: 1,
    max: 86_400,
    default: 900,
    readBy: ['token'],
    description: 'the window, from its first failure, in seconds; the throttle is lifted when it is over',
  }),
  loginThrottleDelaySeconds: integer('LOGIN_THROTTLE_DELAY_SECONDS', {
    min: 1,
    max: 3600,
    default: 30,
    readBy: ['token'],
    description: 'while throttled, one try per this many seconds for that username; other tries 429 with `Retry-After`',
  }),
  weatherServiceUrl: httpUrl('WEATHER_SERVICE_URL', {
    default: { local: 'http://127.0.0.1:4000', deployed: REQUIRED },
    readBy: ['weather'],
    description: 'how the backend reaches the weather service (trailing slashes dropped)',
  }),
  weatherServiceTimeoutMs: integer('WEATHER_SERVICE_TIMEOUT_MS', {
    min: 100,
    max: 30_000,
    default: 5000,
    readBy: ['weather'],
    description: 'deadline of the call to the weather service, in ms; past it: 504',
  }),
  // How the weather proxy proves itself (functions/weather-proxy/weather-credential.ts): a shared token on stage local,
  // deployed a SigV4 signature made with the Lambda role's credentials, which the runtime sets.
  weatherServiceToken: secret('WEATHER_SERVICE_TOKEN', {
    minBytes: 32,
    readBy: ['weather'],
    scope: 'local',
    default: { local: fromLocalRuntime('generated once into `LOCAL_STATE_DIR/weather-service-token`'), deployed: '' },
    description:
      "stage local: the credential the weather proxy sends (`X-Service-Token`), the weather service's current one; deployed the proxy signs with its role instead",
  }),
  awsAccessKeyId: text('AWS_ACCESS_KEY_ID', {
    readBy: ['weather'],
    scope: 'platform',
    default: { local: '', deployed: REQUIRED },
    description: "deployed: the Lambda role's credentials (set by the runtime), which the weather proxy signs its calls with (SigV4)",
  }),
  awsSecretAccessKey: secret('AWS_SECRET_ACCESS_KEY', {
    minBytes: 1,
    readBy: ['weather'],
    scope: 'platform',
    default: { local: '', deployed: REQUIRED },
    description: 'deployed: their secret (set by the runtime)',
  }),
  awsSessionToken: secret('AWS_SESSION_TOKEN', {
    minBytes: 1,
    readBy: ['weather'],
    scope: 'platform',
    default: '',
    description: "deployed: the role session's token (set by the runtime)",
  }),
  awsRegion: text('AWS_REGION', {
    readBy: ['weather'],
    scope: 'platform',
    default: { local: '', deployed: REQUIRED },
    description: "deployed: the function's region (set by the runtime), part of the signature",
  }),
  publicUrl: text('PUBLIC_URL', { default: '/', readBy: ['docs'], description: 'the `servers` entry of `/openapi.json`' }),
});

export type BackendSettings = ReturnType<typeof BACKEND_SETTINGS.read>;
