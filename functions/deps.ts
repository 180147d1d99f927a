// The app backend's composition root: its settings, "the database", "the users", "the login throttle", "the current
// user", and how its routes become Lambda handlers. Handlers import what they need from here; layers/ receive it as
// arguments. The local runtime's parts (its defaults, serverless-offline's quirks, one-per-process state) are wired in here.
import { authenticator } from '../layers/auth/current-user';
import { deviceTokens as deviceTokensSignedWith } from '../layers/auth/device-tokens';
import { loginThrottle as loginThrottleOver } from '../layers/auth/login-throttle';
import { passwordHasher } from '../layers/auth/passwords';
import { accessTokens } from '../layers/auth/tokens';
import type { ConfigError } from '../layers/config/env';
import { configProblem } from '../layers/config/problem';
import { settingsLoader } from '../layers/config/schema';
import { isLocal } from '../layers/config/stage';
import { databaseUnavailableProblem, probeDatabase } from '../layers/db/availability';
import { loginCounterStore } from '../layers/db/login-counters';
import { databasePools } from '../layers/db/pool';
import { usersStore, UsernameTaken, type PublicUser } from '../layers/db/users';
import type { AppOptions, Authentication } from '../layers/http/app';
import { haproxyEdge } from '../layers/http/client-address';
import type { ErrorMapper } from '../layers/http/error-mapping';
import { lambda as lambdaHandler } from '../layers/http/lambda';
import { serviceLogger } from '../layers/http/logger';
import type { AnyRoute, AuthMode, RouteSchema, RouteSpec } from '../layers/http/route';
import { LOCAL_DEFAULTS } from '../layers/local-runtime/defaults';
import { tolerateOffline } from '../layers/local-runtime/offline';
import { firstTimeInProcess, processWide } from '../layers/local-runtime/process-wide';
import { conflict } from '../layers/problems';
import { BACKEND_SETTINGS, type BackendFunction } from './settings';

export const SERVICE_NAME = 'app-backend';

export const logger = serviceLogger(SERVICE_NAME);

// A bad setting is logged once per process (every bundle of a serverless-offline process shares the record); every
// request of a function that reads it then answers 503.
const notConfigured = (err: ConfigError) =>
  firstTimeInProcess('config.reported', `${err.variable}: ${err.message}`) &&
  logger.error('the service is not configured', { variable: err.variable, reason: err.message });

/** The backend's settings, each read and validated on first use (a bad one throws its ConfigError: 503). */
export const settings = settingsLoader(BACKEND_SETTINGS, { providers: LOCAL_DEFAULTS, report: notConfigured });

/** Stage local: WEATHER_SERVICE_TOKEN, the credential the weather proxy sends (only it reads it). */
export const serviceToken = () => settings().weatherServiceToken;

const pools = processWide('db.pools', databasePools);
/** Closes this process's database pools (tests, graceful shutdown). */
export const closeDatabases = () => pools.closeAll();

/** Whether this process runs under the local runtime (stage local): how the weather proxy proves itself depends on it. */
export const isLocalStage = () => isLocal(process.env);

/** Deployed: the role credentials the weather proxy signs with (set by the Lambda runtime). */
export const awsCredentials = () => {
  const { awsAccessKeyId, awsSecretAccessKey, awsSessionToken, awsRegion } = settings();
  return { accessKeyId: awsAccessKeyId, secretAccessKey: awsSecretAccessKey, sessionToken: awsSessionToken || undefined, region: awsRegion };
};

/** The app database (role app_user). */
export const appDatabase = () => pools.database(settings().databaseUrl, settings(), SERVICE_NAME);

export const users = usersStore(appDatabase);

/** DEVICE_TOKEN_SECRET (only POST /token reads it). */
export const deviceTokenSecret = () => settings().deviceTokenSecret;
export const deviceTokens = deviceTokensSignedWith(() => ({
  secret: deviceTokenSecret(),
  ttlSeconds: settings().deviceTokenTtlSeconds,
  issuer: settings().jwtIssuer,
}));

/** The three counters of failed logins and the trust of device tokens (layers/auth/login-throttle.ts), kept in app_db. */
export const loginThrottle = loginThrottleOver(loginCounterStore(appDatabase), () => {
  const s = settings();
  return {
    nameAddressFailures: s.loginThrottleFailures,
    addressFailures: s.loginThrottleAddressFailures,
    delaySeconds: s.loginThrottleDelaySeconds,
    // The cap of the growing wait is never below its first step.
    maxDelaySeconds: Math.max(s.loginThrottleMaxDelaySeconds, s.loginThrottleDelaySeconds),
    windowSeconds: s.loginThrottleWindowSeconds,
    accountSlowdownFailures: s.loginAccountSlowdownFailures,
    accountSlowdownDelaySeconds: s.loginAccountSlowdownDelaySeconds,
    accountMaxFailures: s.loginAccountMaxFailures,
    accountWindowSeconds: s.loginAccountWindowSeconds,
    deviceMaxFailures: s.deviceTokenMaxFailures,
    deviceTtlSeconds: s.deviceTokenTtlSeconds,
    secret: deviceTokenSecret(),
  };
});
// Pure: a function that never hashes drops the hasher, and with it any reference to bcrypt, from its bundle.
export const passwords = /* @__PURE__ */ passwordHasher(() => ({
  cost: settings().bcryptCost,
  concurrency: settings().bcryptConcurrency,
  queueMax: settings().bcryptQueueMax,
  queueTimeoutMs: settings().bcryptQueueTimeoutMs,
}));
// Getters: verifying a token reads the secret and the issuer only (the lifetime is the token function's alone).
const jwtSettings = {
  get secret() {
    return settings().jwtSecret;
  },
  get ttlSeconds() {
    return settings().jwtTtlSeconds;
  },
  get issuer() {
    return settings().jwtIssuer;
  },
};
export const tokens = accessTokens(() => jwtSettings);
const currentUser = authenticator({ verifyToken: tokens.verify, findUser: users.findById });

/** The backend's callers: Bearer access tokens of existing users (the OAuth2 password flow of /docs). */
const authentication: Authentication = { scheme: 'OAuth2PasswordBearer', authenticate: (headers) => currentUser(headers.authorization) };

export const probeAppDatabase = () => probeDatabase(appDatabase(), settings().healthProbeTimeoutMs);

export type CurrentUser = PublicUser;

/** How the backend answers its dependencies' errors. */
const BACKEND_ERRORS: ErrorMapper[] = [(err) => (err instanceof UsernameTaken ? conflict(err.message) : undefined), databaseUnavailableProblem, configProblem];

/** What every app of function `fn` is built with: the logger, the error registry, the authentication, 503 while one of
 * its settings is bad, and the edge it must be reached through under the local runner. */
export const backendAppOptions = (...fns: BackendFunction[]): AppOptions => ({
  logger,
  errors: BACKEND_ERRORS,
  authentication,
  precondition: () => settings.check(...fns),
  edge: () => haproxyEdge(settings().edgeProofSecret || undefined),
});

/** A backend route: an authenticated one is handed the current user. */
export function route<S extends RouteSchema, A extends AuthMode>(spec: RouteSpec<S, A, CurrentUser>): RouteSpec<S, A, CurrentUser> {
  return spec;
}

/** The Lambda handler of backend function `fn` (its serverless.yml key), serving these routes. */
export function lambda(fn: BackendFunction, specs: AnyRoute | readonly AnyRoute[], options: Pick<AppOptions, 'setup' | 'notFound'> = {}) {
  return tolerateOffline(lambdaHandler(specs, { ...options, ...backendAppOptions(fn) }));
}
