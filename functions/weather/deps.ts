// The weather service's composition root: its settings, "the database", and how its routes become Lambda handlers.
// It imports no auth and no users code, so neither is in the weather bundle (test/architecture/bundles.test.ts checks).
import { configProblem, settingsOnce, type ConfigError } from '../../layers/config/env';
import { databaseUnavailableProblem, probeDatabase } from '../../layers/db/availability';
import { database } from '../../layers/db/pool';
import type { AppOptions } from '../../layers/http/app';
import { haproxyEdge } from '../../layers/http/client-address';
import { lambda as lambdaHandler } from '../../layers/http/lambda';
import { baseLogger } from '../../layers/http/logger';
import type { AnyRoute } from '../../layers/http/route';
import { serviceCredential } from './service-credential';
import { readWeatherSettings } from './settings';

export const SERVICE_NAME = 'weather-service';

// A bad setting is logged once per process (the loaders remember it); every request then answers 503.
const notConfigured = (err: ConfigError) => baseLogger().error('the service is not configured', { variable: err.variable, reason: err.message });

/** The weather service's settings, read once; throws its ConfigError (answered 503) when one is missing or malformed. */
export const settings = settingsOnce(readWeatherSettings, notConfigured);

/** WEATHER_SERVICE_TOKEN, read on first use (only GET /weather needs it); a missing or short one is logged once and answered 503. */
export const serviceToken = settingsOnce(() => settings().weatherServiceToken(), notConfigured);

/** The weather database (role weather_user). */
export const weatherDatabase = () => database(settings().weatherDatabaseUrl(), settings(), SERVICE_NAME);

export const probeWeatherDatabase = () => probeDatabase(weatherDatabase(), settings().healthProbeTimeoutMs);

/** What every weather app is built with: its error registry, the service credential (only the backend may call it), 503 while misconfigured, the edge it must be reached through. */
export const weatherAppOptions: AppOptions = {
  errors: [databaseUnavailableProblem, configProblem],
  authentication: serviceCredential(serviceToken),
  precondition: () => void settings(),
  edge: () => haproxyEdge(settings().edgeProofSecret),
};

/** The weather service's Lambda handler for these routes. */
export function lambda(specs: AnyRoute | readonly AnyRoute[], options: Pick<AppOptions, 'notFound'> = {}) {
  return lambdaHandler(specs, { ...options, ...weatherAppOptions });
}
