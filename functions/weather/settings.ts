// The weather service's settings: every variable its functions read, declared once (layers/config/schema.ts), with the
// functions that read each one (the keys of its serverless.yml). No JWT, no bcrypt.
import { platformSettings } from '../../layers/config/platform';
import { defineSettings, fromLocalRuntime, httpUrl, iamRoleArn, integer, REQUIRED, secret } from '../../layers/config/schema';
import { caBundleSetting, databaseUrlSetting, healthProbeSetting, poolSettings } from '../../layers/db/settings';

/** Every function of the weather service (functions/weather/serverless.yml). */
export const WEATHER_FUNCTIONS = ['weather', 'healthCheck', 'notFound'] as const;
const USES_DATABASE = ['weather', 'healthCheck'];

export const WEATHER_SETTINGS = defineSettings('weather-service', {
  ...platformSettings('weather-service', WEATHER_FUNCTIONS),
  weatherDatabaseUrl: databaseUrlSetting('WEATHER_DATABASE_URL', {
    readBy: [...USES_DATABASE, 'runner'],
    local: "the embedded server's `weather_db` as `weather_user`",
    description: "the weather cache's database (the runtime role); TLS as for `DATABASE_URL`",
  }),
  caBundle: caBundleSetting(USES_DATABASE),
  ...poolSettings(USES_DATABASE),
  healthProbeTimeoutMs: healthProbeSetting(),
  openWeatherApiKey: secret('OPENWEATHER_API_KEY', {
    minBytes: 1,
    default: '',
    readBy: ['weather', 'runner'],
    description:
      'the provider\'s key; empty: a cache miss answers 503 "the weather provider is not configured" (the local runner starts the stand-in and sets one)',
  }),
  openWeatherBaseUrl: httpUrl('OPENWEATHER_BASE_URL', {
    default: 'https://api.openweathermap.org',
    readBy: ['weather', 'runner'],
    description: "the provider's base URL, honoured exactly (the stand-in's URL locally)",
  }),
  upstreamTimeoutMs: integer('OPENWEATHER_TIMEOUT_MS', {
    min: 100,
    max: 30_000,
    default: 3000,
    readBy: ['weather'],
    description: 'deadline of a provider call, in ms; past it: the stale entry, else 504',
  }),
  weatherCacheTtlSeconds: integer('WEATHER_CACHE_TTL_SECONDS', {
    min: 1,
    max: 86_400,
    default: 600,
    readBy: ['weather'],
    description: 'freshness of a cached city, in seconds',
  }),
  weatherMemoryCacheMs: integer('WEATHER_MEMORY_CACHE_MS', {
    min: 0,
    max: 60_000,
    default: 1000,
    readBy: ['weather'],
    description:
      "how long an instance answers a fresh city from its memory before asking `weather_db` again, in ms (never past the entry's freshness; 0: every hit is a query)",
  }),
  unknownCityTtlSeconds: integer('WEATHER_UNKNOWN_CITY_TTL_SECONDS', {
    min: 1,
    max: 86_400,
    default: 300,
    readBy: ['weather'],
    description: 'how long an unknown city (provider 404) is remembered, in seconds; then its row is deleted',
  }),
  weatherCacheRetentionSeconds: integer('WEATHER_CACHE_RETENTION_SECONDS', {
    min: 60,
    max: 366 * 86_400,
    default: 7 * 86_400,
    readBy: ['weather'],
    description: 'reports older than this many seconds are deleted and no longer served as stale',
  }),
  // 50: below OpenWeatherMap's free tier (60 a minute), leaving room for clock skew and other users of the key.
  openWeatherCallsPerMinute: integer('OPENWEATHER_CALLS_PER_MINUTE', {
    min: 1,
    max: 10_000,
    default: 50,
    readBy: ['weather'],
    description:
      'provider calls per rolling minute, shared by every instance on one `weather_db` (the free tier allows 60); over it: the stale entry, else 503 with `Retry-After`',
  }),
  openWeatherRefreshReservePercent: integer('OPENWEATHER_REFRESH_RESERVE_PERCENT', {
    min: 0,
    max: 90,
    default: 20,
    readBy: ['weather'],
    description:
      'the share of `OPENWEATHER_CALLS_PER_MINUTE` (rounded down) that only refreshes of cities already cached may use: a flood of new names never takes it',
  }),
  weatherMissesPerUserPerMinute: integer('WEATHER_MISSES_PER_USER_PER_MINUTE', {
    min: 1,
    max: 10_000,
    default: 10,
    readBy: ['weather'],
    description: 'provider calls one user (`X-Weather-Caller-User`) may cause per rolling minute; over it: the stale entry, else 429 with `Retry-After`',
  }),
  weatherMissesPerAddressPerMinute: integer('WEATHER_MISSES_PER_ADDRESS_PER_MINUTE', {
    min: 1,
    max: 10_000,
    default: 30,
    readBy: ['weather'],
    description: 'the same per client address (`X-Weather-Caller-Address`; IPv6 by its /64): many accounts from one address add up',
  }),
  weatherMaxConcurrentRefreshes: integer('WEATHER_MAX_CONCURRENT_REFRESHES', {
    min: 1,
    max: 100,
    default: 4,
    readBy: ['weather'],
    description: 'provider calls in flight per process; a further refresh waits up to 1 s, then the stale entry, else 503 with `Retry-After: 1`',
  }),
  // How the backend proves itself (service-credential.ts): on stage local X-Service-Token (two accepted values, so it
  // rotates without an outage), elsewhere a SigV4 signature API Gateway verified (AWS_IAM). /health-check needs neither.
  weatherServiceToken: secret('WEATHER_SERVICE_TOKEN', {
    minBytes: 32,
    readBy: ['weather'],
    scope: 'local',
    default: { local: fromLocalRuntime('generated once into `LOCAL_STATE_DIR/weather-service-token`'), deployed: '' },
    description: 'stage local: the credential every `GET /weather/{city}` must carry (`X-Service-Token`); `/health-check` stays open',
  }),
  weatherServiceTokenNext: secret('WEATHER_SERVICE_TOKEN_NEXT', {
    minBytes: 32,
    readBy: ['weather'],
    scope: 'local',
    default: '',
    description: 'stage local: a second accepted token while the credential rotates (docs/weather-service.md)',
  }),
  backendRoleArn: iamRoleArn('WEATHER_BACKEND_ROLE_ARN', {
    readBy: ['weather'],
    default: { local: '', deployed: REQUIRED },
    description: "deployed: the backend's Lambda role, the one signer whose requests are answered (its template passes it)",
  }),
});

export type WeatherSettings = ReturnType<typeof WEATHER_SETTINGS.read>;
