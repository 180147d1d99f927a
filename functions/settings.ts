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
  // The three counters of failed logins (layers/auth/login-throttle.ts, docs/security.md): per account and address ...
  loginThrottleFailures: integer('LOGIN_THROTTLE_FAILURES', {
    min: 1,
    max: 1_000_000,
    default: 5,
    readBy: ['token'],
    description: 'failed logins for one account from one client address (IPv6: its /64; its /48 at 4×) before that address waits',
  }),
  // ... per address across accounts (spraying) ...
  loginThrottleAddressFailures: integer('LOGIN_THROTTLE_ADDRESS_FAILURES', {
    min: 1,
    max: 1_000_000,
    default: 30,
    readBy: ['token'],
    description: 'failed logins from one client address across all accounts (IPv6: its /64; its /48 at 4×) before it waits',
  }),
  // ... both counted until a window without failures, from their threshold on with a wait doubling up to its cap ...
  loginThrottleDelaySeconds: integer('LOGIN_THROTTLE_DELAY_SECONDS', {
    min: 1,
    max: 3600,
    default: 30,
    readBy: ['token'],
    description: 'the first wait of an address past either threshold, in seconds, doubling with each further failure (429 with `Retry-After`)',
  }),
  loginThrottleMaxDelaySeconds: integer('LOGIN_THROTTLE_MAX_DELAY_SECONDS', {
    min: 1,
    max: 86_400,
    default: 900,
    readBy: ['token'],
    description: 'the longest such wait, in seconds (never below the first)',
  }),
  loginThrottleWindowSeconds: integer('LOGIN_THROTTLE_WINDOW_SECONDS', {
    min: 1,
    max: 86_400,
    default: 900,
    readBy: ['token'],
    description: 'both counts start over this many seconds after the last wait ended',
  }),
  // ... and per account, for clients without a device token: slowed past the first number, refused at the second.
  loginAccountSlowdownFailures: integer('LOGIN_ACCOUNT_SLOWDOWN_FAILURES', {
    min: 1,
    max: 1_000_000,
    default: 20,
    readBy: ['token'],
    description: "untrusted failed logins of one account (tries that reached a password check) before its untrusted clients' tries are spaced",
  }),
  loginAccountSlowdownDelaySeconds: integer('LOGIN_ACCOUNT_SLOWDOWN_DELAY_SECONDS', {
    min: 1,
    max: 86_400,
    default: 180,
    readBy: ['token'],
    description: 'that spacing, in seconds: one untrusted try of the account per this many',
  }),
  loginAccountMaxFailures: integer('LOGIN_ACCOUNT_MAX_FAILURES', {
    min: 1,
    max: 1_000_000,
    default: 100,
    readBy: ['token'],
    description: 'untrusted failed logins of one account before untrusted clients are refused (NIST SP 800-63B); a device token still passes',
  }),
  loginAccountWindowSeconds: integer('LOGIN_ACCOUNT_WINDOW_SECONDS', {
    min: 1,
    max: 31 * 86_400,
    default: 86_400,
    readBy: ['token'],
    description: "the account's count starts over this many seconds after its last counted try, or at a successful login",
  }),
  deviceTokenSecret: secret('DEVICE_TOKEN_SECRET', {
    minBytes: 32,
    readBy: ['token'],
    default: { local: fromLocalRuntime('generated once into `LOCAL_STATE_DIR/device-token-secret`'), deployed: REQUIRED },
    description: 'the key of the device tokens `/token` issues (a client that logged in before, trusted past the account ceiling)',
  }),
  deviceTokenTtlSeconds: integer('DEVICE_TOKEN_TTL_SECONDS', {
    min: 60,
    max: 366 * 86_400,
    default: 30 * 86_400,
    readBy: ['token'],
    description: 'device token lifetime, in seconds',
  }),
  deviceTokenMaxFailures: integer('DEVICE_TOKEN_MAX_FAILURES', {
    min: 1,
    max: 1000,
    default: 10,
    readBy: ['token'],
    description: 'failed logins with one device token before it is no longer trusted (until it expires)',
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
