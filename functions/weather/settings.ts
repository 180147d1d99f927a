// The weather service's settings: only the variables it reads, validated once (one line per setting). No JWT, no bcrypt.
import { integer, secret, text, url, type Env } from '../../layers/config/env';
import { databaseUrl, localSecret } from '../../layers/config/local-state';
import { isLocal, stageName } from '../../layers/config/stage';
import { readPoolSettings } from '../../layers/db/pool';

export type WeatherSettings = ReturnType<typeof readWeatherSettings>;

export function readWeatherSettings(env: Env = process.env) {
  const stage = stageName(env);
  const local = isLocal(env);
  return {
    stage,
    isLocal: local,
    /** The weather database (role weather_user); on stage local the embedded server's when unset. */
    weatherDatabaseUrl: databaseUrl(env, 'WEATHER_DATABASE_URL', local, (s) => s.weatherUrl),
    ...readPoolSettings(env, local),
    healthProbeTimeoutMs: integer(env, 'HEALTH_PROBE_TIMEOUT_MS', 1000, 100, 10_000),
    /** Unset: every miss answers 503 "the weather provider is not configured" (the local runner starts a stand-in). */
    openWeatherApiKey: text(env, 'OPENWEATHER_API_KEY', ''),
    openWeatherBaseUrl: url(env, 'OPENWEATHER_BASE_URL', 'https://api.openweathermap.org'),
    upstreamTimeoutMs: integer(env, 'OPENWEATHER_TIMEOUT_MS', 3000, 100, 30_000),
    weatherCacheTtlSeconds: integer(env, 'WEATHER_CACHE_TTL_SECONDS', 600, 1, 86_400),
    unknownCityTtlSeconds: integer(env, 'WEATHER_UNKNOWN_CITY_TTL_SECONDS', 300, 1, 86_400),
    /** Reports older than this are deleted (stale answers older than this are not worth keeping). */
    weatherCacheRetentionSeconds: integer(env, 'WEATHER_CACHE_RETENTION_SECONDS', 7 * 86_400, 60, 366 * 86_400),
    // 50: below OpenWeatherMap's free tier (60 a minute), leaving room for clock skew and other users of the key.
    openWeatherCallsPerMinute: integer(env, 'OPENWEATHER_CALLS_PER_MINUTE', 50, 1, 10_000),
    /** Provider calls in flight per process; further refreshes wait briefly, then get stale or 503. */
    weatherMaxConcurrentRefreshes: integer(env, 'WEATHER_MAX_CONCURRENT_REFRESHES', 4, 1, 100),
    /** Set by the local runner only: every request must carry it in X-Edge-Proof (HAProxy adds it), else 403. */
    edgeProofSecret: env.EDGE_PROOF_SECRET ? secret(env, 'EDGE_PROOF_SECRET', { minBytes: 32, stage }) : undefined,
    /** The credential only the backend has (X-Service-Token); read on first use, so /health-check never needs it. */
    weatherServiceToken: () =>
      secret(env, 'WEATHER_SERVICE_TOKEN', { minBytes: 32, stage, generate: local ? () => localSecret(env, 'weather-service-token') : undefined }),
  };
}
