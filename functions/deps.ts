// The app backend's composition root: its settings, "the database", "the users", "the login throttle", "the current
// user", and how its routes become Lambda handlers. Handlers import what they need from here; layers/ receive it as arguments.
import { authenticator } from '../layers/auth/current-user';
import { passwordHasher } from '../layers/auth/passwords';
import { accessTokens } from '../layers/auth/tokens';
import { configProblem, settingsOnce, type ConfigError } from '../layers/config/env';
import { databaseUnavailableProblem, probeDatabase } from '../layers/db/availability';
import { loginThrottleStore } from '../layers/db/login-throttle';
import { database } from '../layers/db/pool';
import { usersStore, UsernameTaken, type PublicUser } from '../layers/db/users';
import type { AppOptions, Authentication } from '../layers/http/app';
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

/** Stage local: WEATHER_SERVICE_TOKEN, read on first use (only the weather proxy needs it); a missing or short one is logged once and answered 503. */
export const serviceToken = settingsOnce(() => settings().weatherServiceToken(), notConfigured);

/** Deployed: the role credentials the weather proxy signs with, read on first use like the token. */
export const awsCredentials = settingsOnce(() => settings().awsCredentials(), notConfigured);

/** The app database (role app_user). */
export const appDatabase = () => database(settings().databaseUrl(), settings(), SERVICE_NAME);

export const users = usersStore(appDatabase);
export const loginThrottle = loginThrottleStore(appDatabase, () => ({
  failures: settings().loginThrottleFailures,
  windowSeconds: settings().loginThrottleWindowSeconds,
  delaySeconds: settings().loginThrottleDelaySeconds,
}));
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

/** What every backend app is built with: its error registry, its authentication, 503 while misconfigured. */
export const backendAppOptions: AppOptions = { errors: BACKEND_ERRORS, authentication, precondition: () => void settings() };

/** A backend route: an authenticated one is handed the current user. */
export function route<S extends RouteSchema, A extends AuthMode>(spec: RouteSpec<S, A, CurrentUser>): RouteSpec<S, A, CurrentUser> {
  return spec;
}

/** The backend's Lambda handler for these routes. */
export function lambda(specs: AnyRoute | readonly AnyRoute[], options: Pick<AppOptions, 'setup' | 'notFound'> = {}) {
  return lambdaHandler(specs, { ...options, ...backendAppOptions });
}
