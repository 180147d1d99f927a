// The weather service's composition root: its settings, "the database", and how its routes become Lambda handlers.
// It imports no auth and no users code, so neither is in the weather bundle (test/architecture/bundles.test.ts checks).
// The local runtime's parts (its defaults, serverless-offline's quirks, one-per-process state) are wired in here.
import { configProblem } from '../../layers/config/problem';
import { parseIamRole, type ConfigError } from '../../layers/config/env';
import { isLocal } from '../../layers/config/stage';
import { settingsLoader } from '../../layers/config/schema';
import { databaseUnavailableProblem, probeDatabase } from '../../layers/db/availability';
import { databasePools } from '../../layers/db/pool';
import type { AppOptions } from '../../layers/http/app';
import { haproxyEdge } from '../../layers/http/client-address';
import { lambda as lambdaHandler } from '../../layers/http/lambda';
import { serviceLogger } from '../../layers/http/logger';
import type { AnyRoute } from '../../layers/http/route';
import { LOCAL_DEFAULTS } from '../../layers/local-runtime/defaults';
import { tolerateOffline } from '../../layers/local-runtime/offline';
import { firstTimeInProcess, processWide } from '../../layers/local-runtime/process-wide';
import { backendCredential } from './service-credential';
import { WEATHER_SETTINGS, type WEATHER_FUNCTIONS } from './settings';

export const SERVICE_NAME = 'weather-service';

export const logger = serviceLogger(SERVICE_NAME);

// A bad setting is logged once per process; every request of a function that reads it then answers 503.
const notConfigured = (err: ConfigError) =>
  firstTimeInProcess('config.reported', `${err.variable}: ${err.message}`) &&
  logger.error('the service is not configured', { variable: err.variable, reason: err.message });

/** The weather service's settings, each read and validated on first use (a bad one throws its ConfigError: 503). */
export const settings = settingsLoader(WEATHER_SETTINGS, { providers: LOCAL_DEFAULTS, report: notConfigured });

/** Stage local: the tokens X-Service-Token may carry, the current one and, while it rotates, the next (only GET /weather reads them). */
export const serviceTokens = () => [settings().weatherServiceToken, settings().weatherServiceTokenNext].filter(Boolean);

/** Deployed: WEATHER_BACKEND_ROLE_ARN, the one signer whose requests are answered. */
export const backendRole = () => parseIamRole('WEATHER_BACKEND_ROLE_ARN', settings().backendRoleArn);

const pools = processWide('db.pools', databasePools);
/** Closes this process's database pools (tests, graceful shutdown). */
export const closeDatabases = () => pools.closeAll();

/** The weather database (role weather_user). */
export const weatherDatabase = () => pools.database(settings().weatherDatabaseUrl, settings(), SERVICE_NAME);

export const probeWeatherDatabase = () => probeDatabase(weatherDatabase(), settings().healthProbeTimeoutMs);

type WeatherFunction = (typeof WEATHER_FUNCTIONS)[number];

// Who may call: the backend, by its token on stage local, by its role's signature deployed.
const authentication = backendCredential({ isLocal: () => isLocal(process.env), tokens: serviceTokens, backendRole });

/** What every app of function `fn` is built with: the logger, the error registry, the backend's credential, 503 while
 * misconfigured, and the edge it must be reached through under the local runner. */
export const weatherAppOptions = (...fns: WeatherFunction[]): AppOptions => ({
  logger,
  errors: [databaseUnavailableProblem, configProblem],
  authentication,
  precondition: () => settings.check(...fns),
  edge: () => haproxyEdge(settings().edgeProofSecret || undefined),
});

/** The Lambda handler of weather function `fn` (its serverless.yml key), serving these routes. */
export function lambda(fn: WeatherFunction, specs: AnyRoute | readonly AnyRoute[], options: Pick<AppOptions, 'notFound'> = {}) {
  return tolerateOffline(lambdaHandler(specs, { ...options, ...weatherAppOptions(fn) }));
}
