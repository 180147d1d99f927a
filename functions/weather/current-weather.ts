// Current weather for a city: from the cache when fresh, else from the provider, once per city at a time.
import { setTimeout as sleep } from 'node:timers/promises';
import { storableCityKey } from '../../layers/city-names';
import type { RequestLogger } from '../../layers/http/logger';
import { HttpProblem, notFound } from '../../layers/problems';
import { weatherCache, type CacheEntry } from './cache';
import { settings } from './deps';
import { fetchCurrentWeather, UpstreamFailure, type Observation } from './openweather';
import { RefreshSlots } from './refresh-slots';
import { claimUpstreamCall } from './upstream-budget';

export interface WeatherAnswer extends Observation {
  fetched_at: string;
  cached: boolean;
  stale: boolean;
}

// In-process single-flight: concurrent misses for one city in this process share one refresh
// (null: the provider does not know the city).
const inFlight = new Map<string, Promise<WeatherAnswer | null>>();

const refreshSlots = new RefreshSlots(() => settings().weatherMaxConcurrentRefreshes);

/** How long a refresh waits for one of this process's refresh slots before answering stale or 503. */
const SLOT_WAIT_MS = 1000;
/** How often a caller waiting for another instance's refresh looks at the cache again. */
const POLL_MS = 100;

const fromEntry = (report: Observation, entry: CacheEntry, stale: boolean): WeatherAnswer => ({
  ...report,
  fetched_at: entry.fetched_at.toISOString(),
  cached: true,
  stale,
});

export async function currentWeather(city: string, log: RequestLogger): Promise<WeatherAnswer> {
  const key = storableCityKey(city);
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
  if (!answer) throw notFound(`the weather provider does not know a city called "${city.trim()}"`);
  return answer;
}

/**
 * Refreshes under the city's lease (one caller across all instances); without it, waits for the holder's row.
 * Only short queries run, so the pool stays free for cache hits while the provider is asked.
 */
async function refreshCity(key: string, log: RequestLogger): Promise<WeatherAnswer | null> {
  const { upstreamTimeoutMs, dbQueryTimeoutMs } = settings();
  // The holder may wait for a slot, then for the provider, then write: the lease outlives all three.
  const leaseMs = SLOT_WAIT_MS + upstreamTimeoutMs + dbQueryTimeoutMs;
  const deadline = Date.now() + leaseMs;
  for (;;) {
    const lease = await weatherCache.claimLease(key, leaseMs);
    if (lease) {
      try {
        return await refreshHolding(key, log);
      } finally {
        await lease.release().catch((err: Error) => log.warn('could not release a refresh lease', { city: key, reason: err.message }));
      }
    }
    const entry = await weatherCache.read(key);
    if (entry?.fresh) return entry.report && fromEntry(entry.report, entry, false);
    if (Date.now() >= deadline)
      return staleOr(entry, new HttpProblem(503, 'the weather is being refreshed elsewhere, try again shortly', { 'retry-after': '1' }), log);
    await sleep(POLL_MS);
  }
}

/** Asks the provider while holding the city's lease, within this process's slots and the shared budget. */
async function refreshHolding(key: string, log: RequestLogger): Promise<WeatherAnswer | null> {
  const current = await weatherCache.read(key);
  if (current?.fresh) return current.report && fromEntry(current.report, current, false);
  const releaseSlot = await refreshSlots.acquire(SLOT_WAIT_MS);
  if (!releaseSlot) {
    return staleOr(current, new HttpProblem(503, 'too many weather refreshes are in progress, try again shortly', { 'retry-after': '1' }), log);
  }
  try {
    const budget = await claimUpstreamCall();
    if (!budget.granted) {
      const retryAfter = String(budget.retryAfterSeconds);
      log.warn('weather provider budget exhausted', { city: key, calls_per_minute: settings().openWeatherCallsPerMinute });
      return staleOr(
        current,
        new HttpProblem(503, 'the weather provider budget for this minute is used up, try again later', { 'retry-after': retryAfter }),
        log,
      );
    }
    let report: Observation | null;
    try {
      report = await fetchCurrentWeather(key, log);
    } catch (err) {
      if (!(err instanceof UpstreamFailure)) throw err;
      return staleOr(current, err, log);
    }
    const fetchedAt = await weatherCache.write(key, report);
    await weatherCache.expire().catch((err: Error) => log.warn('could not expire old weather rows', { reason: err.message }));
    return report && { ...report, fetched_at: fetchedAt.toISOString(), cached: false, stale: false };
  } finally {
    releaseSlot();
  }
}

/** The stale report when there is one (stale: true), else the problem. */
function staleOr(entry: CacheEntry | null | undefined, problem: HttpProblem, log: RequestLogger): WeatherAnswer {
  if (!entry?.report) throw problem;
  log.warn('serving stale weather', { reason: problem.detail });
  return fromEntry(entry.report, entry, true);
}
