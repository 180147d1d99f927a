// The OpenWeatherMap client: current weather by city name, every failure mapped to a clear answer.
import { getText, OutboundError, type OutboundAnswer } from '../../layers/http/client';
import type { RequestLogger } from '../../layers/http/logger';
import { HttpProblem } from '../../layers/problems';
import { settings } from './deps';

/** The WeatherReport fields that come from the provider (the cache adds fetched_at, cached and stale). */
export interface Observation {
  city: string;
  country: string;
  temperature_c: number;
  feels_like_c: number;
  humidity: number;
  pressure_hpa: number;
  wind_speed_ms: number;
  description: string;
  observed_at: string;
}

/** The provider could not give an answer: 503, or 504 when it did not answer in time. */
export class UpstreamFailure extends HttpProblem {
  constructor(status: 503 | 504, detail: string) {
    super(status, detail);
    this.name = 'UpstreamFailure';
  }
}

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/** Maps an OpenWeatherMap body to our fields, or undefined when it lacks what we need. */
export function toObservation(body: unknown, requested: string): Observation | undefined {
  const b = body as {
    name?: unknown;
    sys?: { country?: unknown };
    main?: { temp?: unknown; feels_like?: unknown; humidity?: unknown; pressure?: unknown };
    wind?: { speed?: unknown };
    weather?: Array<{ description?: unknown }>;
    dt?: unknown;
  } | null;
  const main = b?.main;
  const description = Array.isArray(b?.weather) ? b.weather[0]?.description : undefined;
  const observedAt = new Date(isNumber(b?.dt) ? b.dt * 1000 : NaN);
  if (
    !main ||
    !isNumber(main.temp) ||
    !isNumber(main.feels_like) ||
    !isNumber(main.humidity) ||
    !isNumber(main.pressure) ||
    !isNumber(b?.wind?.speed) ||
    typeof description !== 'string' ||
    Number.isNaN(observedAt.getTime())
  ) {
    return undefined;
  }
  return {
    // The provider leaves these empty for some places; the requested name is better than nothing.
    city: typeof b.name === 'string' && b.name ? b.name : requested,
    country: typeof b.sys?.country === 'string' ? b.sys.country : '',
    temperature_c: main.temp,
    feels_like_c: main.feels_like,
    humidity: Math.round(main.humidity),
    pressure_hpa: main.pressure,
    wind_speed_ms: b.wind!.speed as number,
    description,
    observed_at: observedAt.toISOString(),
  };
}

/**
 * Current weather for a city name (optionally "name,cc"), or null when the provider does not know the place.
 * Logs one weather.external_request event per call; never logs the URL (it carries the API key).
 */
export async function fetchCurrentWeather(city: string, log: RequestLogger): Promise<Observation | null> {
  const { openWeatherApiKey, openWeatherBaseUrl, upstreamTimeoutMs } = settings();
  if (!openWeatherApiKey) {
    log.error('no weather provider API key is configured (OPENWEATHER_API_KEY)');
    throw new UpstreamFailure(503, 'the weather provider is not configured');
  }
  const query = new URLSearchParams({ q: city, appid: openWeatherApiKey, units: 'metric' });
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  let answer: OutboundAnswer;
  try {
    answer = await getText(`${openWeatherBaseUrl}/data/2.5/weather?${query}`, {
      timeoutMs: upstreamTimeoutMs,
      headers: { accept: 'application/json' },
    });
  } catch (err) {
    const timedOut = err instanceof OutboundError && err.kind === 'timeout';
    log.event('externalRequest', { city, status: timedOut ? 'timeout' : 'error', duration_ms: elapsed() });
    if (timedOut) throw new UpstreamFailure(504, `the weather provider did not answer within ${upstreamTimeoutMs} ms`);
    log.warn('weather provider unreachable', { city, code: (err as OutboundError).code });
    throw new UpstreamFailure(503, 'the weather provider cannot be reached');
  }
  log.event('externalRequest', { city, status: answer.status, duration_ms: elapsed() });

  const { status } = answer;
  // 404 "city not found"; 400 "Nothing to geocode" means the same to our caller: no such place.
  if (status === 404 || status === 400) return null;
  if (status === 401) {
    log.error('weather provider rejected our API key', { status });
    throw new UpstreamFailure(503, 'weather provider rejected our API key');
  }
  if (status === 429) {
    log.warn('weather provider is rate-limiting us', { city, status });
    throw new UpstreamFailure(503, 'the weather provider is rate-limiting requests, try again later');
  }
  if (status !== 200) {
    log.warn('weather provider failed', { city, status });
    throw new UpstreamFailure(503, `the weather provider failed (HTTP ${status})`);
  }
  const observation = toObservation(parseJson(answer.text), city);
  if (!observation) {
    log.error('weather provider sent an unreadable answer', { city, status, bytes: answer.text.length });
    throw new UpstreamFailure(503, 'the weather provider sent an unreadable answer');
  }
  return observation;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
