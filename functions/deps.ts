// The app backend's composition root: its settings, "the database", "the users", "the login throttle", "the current
// user", and how its routes become Lambda handlers. Handlers import what they need from here; layers/ receive it as arguments.
import { authenticator } from '../layers/auth/current-user';
import { deviceTokens as deviceTokensSignedWith } from '../layers/auth/device-tokens';
import { loginThrottle as loginThrottleOver } from '../layers/auth/login-throttle';
import { passwordHasher } from '../layers/auth/passwords';
import { accessTokens } from '../layers/auth/tokens';
import { configProblem, settingsOnce, type ConfigError } from '../layers/config/env';
import { databaseUnavailableProblem, probeDatabase } from '../layers/db/availability';
import { loginCounterStore } from '../layers/db/login-counters';
import { database } from '../layers/db/pool';
import { usersStore, UsernameTaken, type PublicUser } from '../layers/db/users';
import type { AppOptions, Authentication } from '../layers/http/app';
import { haproxyEdge } from '../layers/http/client-address';
import type { ErrorMapper } from '../layers/http/error-mapping';
import { lambda as lambdaHandler } from '../layers/http/lambda';
import { baseLogger } from '../layers/http/logger';
import type { AnyRoute, AuthMode, RouteSchema, RouteSpec } from '../layers/http/route';
import { conflict } from '../layers/problems';
import { readBackendSettings } from './settings';

export const SERVICE_NAME = 'app-backend';

// A bad setting is logged once per process (the loaders remember it); every request then answers 503.
const notConfigured = (err: ConfigError) => baseLogger().error('the service is not configured', { variable: err.variable, reason: err.message });

/** The backend's settings, read once; throws its ConfigError (answered 503) when one is missing or malformed. */
export const settings = settingsOnce(readBackendSettings, notConfigured);

/** WEATHER_SERVICE_TOKEN, read on first use (only the weather proxy needs it); a missing or short one is logged once and answered 503. */
export const serviceToken = settingsOnce(() => settings().weatherServiceToken(), notConfigured);

/** The app database (role app_user). */
export const appDatabase = () => database(settings().databaseUrl(), settings(), SERVICE_NAME);

export const users = usersStore(appDatabase);

/** DEVICE_TOKEN_SECRET, read on first use (only POST /token needs it); a missing or short one is logged once and answered 503. */
export const deviceTokenSecret = settingsOnce(() => settings().deviceTokenSecret(), notConfigured);
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
    maxDelaySeconds: s.loginThrottleMaxDelaySeconds,
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
export const tokens = accessTokens(() => ({ secret: settings().jwtSecret, ttlSeconds: settings().jwtTtlSeconds, issuer: settings().jwtIssuer }));
const currentUser = authenticator({ verifyToken: tokens.verify, findUser: users.findById });

/** The backend's callers: Bearer access tokens of existing users (the OAuth2 password flow of /docs). */
const authentication: Authentication = { scheme: 'OAuth2PasswordBearer', authenticate: (headers) => currentUser(headers.authorization) };

export const probeAppDatabase = () => probeDatabase(appDatabase(), settings().healthProbeTimeoutMs);

export type CurrentUser = PublicUser;

/** How the backend answers its dependencies' errors. */
const BACKEND_ERRORS: ErrorMapper[] = [(err) => (err instanceof UsernameTaken ? conflict(err.message) : undefined), databaseUnavailableProblem, configProblem];

/** What every backend app is built with: its error registry, its authentication, 503 while misconfigured, the edge it must be reached through. */
export const backendAppOptions: AppOptions = {
  errors: BACKEND_ERRORS,
  authentication,
  precondition: () => void settings(),
  edge: () => haproxyEdge(settings().edgeProofSecret),
};

/** A backend route: an authenticated one is handed the current user. */
export function route<S extends RouteSchema, A extends AuthMode>(spec: RouteSpec<S, A, CurrentUser>): RouteSpec<S, A, CurrentUser> {
  return spec;
}

/** The backend's Lambda handler for these routes. */
export function lambda(specs: AnyRoute | readonly AnyRoute[], options: Pick<AppOptions, 'setup' | 'notFound'> = {}) {
  return lambdaHandler(specs, { ...options, ...backendAppOptions });
}
