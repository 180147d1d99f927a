// Current weather for a city: from the cache when fresh, else from the provider, once per city at a time.
import { cityKey } from '../../layers/city-names';
import type { RequestLogger } from '../../layers/http/logger';
import { notFound } from '../../layers/problems';
import { weatherCache, type CacheEntry } from './cache';
import { fetchCurrentWeather, UpstreamFailure, type Observation } from './openweather';

export interface WeatherAnswer extends Observation {
  fetched_at: string;
  cached: boolean;
  stale: boolean;
}

// In-process single-flight: concurrent misses for one city in this process share one refresh
// (null: the provider does not know the city).
const inFlight = new Map<string, Promise<WeatherAnswer | null>>();

const fromEntry = (report: Observation, entry: CacheEntry, stale: boolean): WeatherAnswer => ({
  ...report,
  fetched_at: entry.fetched_at.toISOString(),
  cached: true,
  stale,
});

export async function currentWeather(city: string, log: RequestLogger): Promise<WeatherAnswer> {
  const key = cityKey(city);
  const entry = await weatherCache.read(key);
  let answer: WeatherAnswer | null;
  if (entry?.fresh) {
    log.event('cacheHit', { city: key });
    answer = entry.report && fromEntry(entry.report, entry, false);
  } else {
    log.event('cacheMiss', { city: key });
    let refresh = inFlight.get(key);
    if (!refresh) {
      refresh = refreshCity(key, log).finally(() => inFlight.delete(key));
      inFlight.set(key, refresh);
    }
    answer = await refresh;
  }
  if (!answer) throw notFound(`the weather provider does not know a city called "${city}"`);
  return answer;
}

/** Asks the provider under the city's lock; another instance may have done it while this one waited. */
function refreshCity(key: string, log: RequestLogger): Promise<WeatherAnswer | null> {
  return weatherCache.underCityLock(key, async (cache) => {
    const current = await cache.read();
    if (current?.fresh) return current.report && fromEntry(current.report, current, false);
    let report: Observation | null;
    try {
      report = await fetchCurrentWeather(key, log);
    } catch (err) {
      if (!(err instanceof UpstreamFailure) || !current?.report) throw err;
      log.warn('serving stale weather: the provider failed', { city: key, reason: err.detail });
      return fromEntry(current.report, current, true);
    }
    const fetchedAt = await cache.write(report);
    return report && { ...report, fetched_at: fetchedAt.toISOString(), cached: false, stale: false };
  });
}
