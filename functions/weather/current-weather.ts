// Current weather for a city: from the cache when fresh, else from the provider, once per city at a time.
import { setTimeout as sleep } from 'node:timers/promises';
import { storableCityKey } from '../../layers/city-names';
import type { RequestLogger } from '../../layers/http/logger';
import { HttpProblem, notFound } from '../../layers/problems';
import { weatherCache, type CacheEntry } from './cache';
import { expireCallerQuotas, type Caller } from './caller-quota';
import { settings } from './deps';
import { fetchCurrentWeather, UpstreamFailure, type Observation } from './openweather';
import { RefreshSlots } from './refresh-slots';
import { claimUpstreamCall, type BudgetClaim } from './upstream-budget';

export interface WeatherAnswer extends Observation {
  fetched_at: string;
  cached: boolean;
  stale: boolean;
}

// In-process single-flight: concurrent misses for one city in this process share one refresh, charged to the caller
// that started it, whose answer they all get (null: the provider does not know the city).
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

/** The weather in `city` for `caller` (whose quotas a provider call is charged to; hits cost nothing). */
export async function currentWeather(city: string, caller: Caller, log: RequestLogger): Promise<WeatherAnswer> {
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
      refresh = refreshCity(key, caller, log).finally(() => inFlight.delete(key));
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
async function refreshCity(key: string, caller: Caller, log: RequestLogger): Promise<WeatherAnswer | null> {
  const { upstreamTimeoutMs, dbQueryTimeoutMs } = settings();
  // The holder may wait for a slot, then for the provider, then write: the lease outlives all three.
  const leaseMs = SLOT_WAIT_MS + upstreamTimeoutMs + dbQueryTimeoutMs;
  const deadline = Date.now() + leaseMs;
  for (;;) {
    const lease = await weatherCache.claimLease(key, leaseMs);
    if (lease) {
      try {
        return await refreshHolding(key, caller, log);
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

/** Asks the provider while holding the city's lease, within this process's slots, the shared budget and the caller's quotas. */
async function refreshHolding(key: string, caller: Caller, log: RequestLogger): Promise<WeatherAnswer | null> {
  const current = await weatherCache.read(key);
  if (current?.fresh) return current.report && fromEntry(current.report, current, false);
  const releaseSlot = await refreshSlots.acquire(SLOT_WAIT_MS);
  if (!releaseSlot) {
    return staleOr(current, new HttpProblem(503, 'too many weather refreshes are in progress, try again shortly', { 'retry-after': '1' }), log);
  }
  try {
    // Only a report makes it a refresh of a known city (a remembered unknown name is not one): it may use the reserve.
    const claim = await claimUpstreamCall({ caller, refresh: Boolean(current?.report) });
    if (!claim.granted) return staleOr(current, refusal(claim, key, caller, log), log);
    let report: Observation | null;
    try {
      report = await fetchCurrentWeather(key, log);
    } catch (err) {
      if (!(err instanceof UpstreamFailure)) throw err;
      return staleOr(current, err, log);
    }
    const fetchedAt = await weatherCache.write(key, report);
    await weatherCache.expire().catch((err: Error) => log.warn('could not expire old weather rows', { reason: err.message }));
    await expireCallerQuotas().catch((err: Error) => log.warn('could not expire idle caller quotas', { reason: err.message }));
    return report && { ...report, fetched_at: fetchedAt.toISOString(), cached: false, stale: false };
  } finally {
    releaseSlot();
  }
}

/** A refused provider call: 429 when the caller's quota is used up, 503 when the shared budget is (both with Retry-After). */
function refusal(claim: Extract<BudgetClaim, { granted: false }>, key: string, caller: Caller, log: RequestLogger): HttpProblem {
  const s = settings();
  const retryAfter = { 'retry-after': String(claim.retryAfterSeconds) };
  if (claim.exhausted === 'budget') {
    log.warn('weather provider budget exhausted', { city: key, calls_per_minute: s.openWeatherCallsPerMinute });
    return new HttpProblem(503, 'the weather provider budget for this minute is used up, try again later', retryAfter);
  }
  const [limit, per] = claim.exhausted === 'user' ? [s.weatherMissesPerUserPerMinute, 'user'] : [s.weatherMissesPerAddressPerMinute, 'client address'];
  log.warn('weather caller quota exhausted', { city: key, quota: claim.exhausted, user_id: caller.user });
  return new HttpProblem(
    429,
    `the quota of ${limit} lookups of uncached cities a minute per ${per} is used up, try again in ${claim.retryAfterSeconds} s`,
    retryAfter,
  );
}

/** The stale report when there is one (stale: true), else the problem. */
function staleOr(entry: CacheEntry | null | undefined, problem: HttpProblem, log: RequestLogger): WeatherAnswer {
  if (!entry?.report) throw problem;
  log.warn('serving stale weather', { reason: problem.detail });
  return fromEntry(entry.report, entry, true);
}
