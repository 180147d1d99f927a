// What the local runtime supplies for settings a local stage may leave unset: the embedded Postgres's URLs (from the
// runner's postgres.json) and secrets generated once into the state dir, shared by every local instance.
import { ConfigError, type Env } from '../config/env';
import type { LocalProviders } from '../config/schema';
import { localSecret, readEmbeddedState, type EmbeddedPostgresState } from './state';

/** The embedded server's URL; looked up on use (the server may start after the function), never remembered when absent. */
const embeddedUrl =
  (variable: string, pick: (state: EmbeddedPostgresState) => string) =>
  (env: Env): string => {
    const state = readEmbeddedState(env);
    if (!state) {
      throw new ConfigError(variable, `${variable} is not set and the embedded Postgres is not running (start it with \`npm start\` or \`npm run db\`)`);
    }
    return pick(state);
  };

const generated = (file: string) => (env: Env) => localSecret(env, file);

/** The local defaults of both services, by variable (each service's schema says which of them it reads). */
export const LOCAL_DEFAULTS: LocalProviders = {
  DATABASE_URL: embeddedUrl('DATABASE_URL', (s) => s.appUrl),
  WEATHER_DATABASE_URL: embeddedUrl('WEATHER_DATABASE_URL', (s) => s.weatherUrl),
  JWT_SECRET: generated('jwt-secret'),
  DEVICE_TOKEN_SECRET: generated('device-token-secret'),
  WEATHER_SERVICE_TOKEN: generated('weather-service-token'),
};
