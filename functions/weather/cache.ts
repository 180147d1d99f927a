// The weather cache in weather_db: all SQL of the weather service's cache and refresh leases, always with bind parameters.
// In front of it, each instance keeps the fresh entries it read or wrote for up to WEATHER_MEMORY_CACHE_MS, so a city
// asked for hundreds of times a second costs one query per instance per that time, not one per request.
import { randomUUID } from 'node:crypto';
import type { IBaseProtocol } from 'pg-promise';
import { withParameters } from '../../layers/db/pool';
import { MemoryCache } from '../../layers/memory-cache';
import { settings, weatherDatabase } from './deps';
import type { Observation } from './openweather';

export interface CacheEntry {
  /** null remembers a city the provider does not know. */
  report: Observation | null;
  fetched_at: Date;
  /** Younger than the TTL (the weather TTL, or the shorter unknown-city TTL for a null report). */
  fresh: boolean;
  /** How much longer it stays fresh, in ms (≤ 0 once it is not). */
  fresh_for_ms: number;
}

/** A claimed right to refresh one city, across every instance, until released or expired. */
export interface RefreshLease {
  release(): Promise<void>;
}

// Freshness is judged by the database clock, so every instance agrees on it (and on how long an entry stays fresh).
const READ = `
  SELECT report, fetched_at, fresh_for_ms > 0 AS fresh, fresh_for_ms
    FROM (SELECT report, fetched_at,
                 (1000 * (extract(epoch FROM fetched_at - clock_timestamp()) + CASE WHEN report IS NULL THEN $2::int ELSE $3::int END))::float8
                   AS fresh_for_ms
            FROM weather_cache
           WHERE city_key = $1) AS entry`;

const WRITE = `
  INSERT INTO weather_cache (city_key, report, fetched_at) VALUES ($1, $2, clock_timestamp())
  ON CONFLICT (city_key) DO UPDATE SET report = EXCLUDED.report, fetched_at = EXCLUDED.fetched_at
  RETURNING fetched_at`;

// A bounded batch per call, so a flood of made-up names cannot grow the table: each write removes more than it adds.
const EXPIRE = `
  WITH unknown AS (
    DELETE FROM weather_cache WHERE city_key IN (
      SELECT city_key FROM weather_cache
       WHERE report IS NULL AND fetched_at < clock_timestamp() - make_interval(secs => $1::int)
       ORDER BY fetched_at LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING 1
  ), old AS (
    DELETE FROM weather_cache WHERE city_key IN (
      SELECT city_key FROM weather_cache
       WHERE report IS NOT NULL AND fetched_at < clock_timestamp() - make_interval(secs => $2::int)
       ORDER BY fetched_at LIMIT $3 FOR UPDATE SKIP LOCKED)
    RETURNING 1
  ), leases AS (
    DELETE FROM weather_refresh_leases WHERE expires_at < clock_timestamp() - interval '1 minute'
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM unknown)::int + (SELECT count(*) FROM old)::int AS deleted`;

// Claimed when absent or expired: one short statement, so no connection is held while the provider is asked.
const CLAIM_LEASE = `
  INSERT INTO weather_refresh_leases (city_key, holder, expires_at)
  VALUES ($1, $2, clock_timestamp() + make_interval(secs => $3::float8 / 1000))
  ON CONFLICT (city_key) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
   WHERE weather_refresh_leases.expires_at < clock_timestamp()
  RETURNING holder`;

const RELEASE_LEASE = `DELETE FROM weather_refresh_leases WHERE city_key = $1 AND holder = $2`;

/** Rows deleted per write at most (each write adds one). */
const EXPIRE_BATCH = 100;

/** Cities an instance keeps in memory at most (about 1 kB each): made-up names cannot grow it past this. */
const MEMORY_ENTRIES = 1000;

// Only fresh entries, each until the sooner of its freshness and WEATHER_MEMORY_CACHE_MS: a city refreshed by another
// instance meanwhile is answered from the older, still fresh reading for at most that long.
const recent = new MemoryCache<CacheEntry>(MEMORY_ENTRIES);

function remember(key: string, entry: CacheEntry): void {
  if (entry.fresh) recent.set(key, entry, Math.min(entry.fresh_for_ms, settings().weatherMemoryCacheMs));
}

async function read(db: IBaseProtocol<unknown>, key: string): Promise<CacheEntry | null> {
  const inMemory = recent.get(key);
  if (inMemory) return inMemory;
  const { unknownCityTtlSeconds, weatherCacheTtlSeconds } = settings();
  // Named (prepared): the cache hit path runs it often, so it is parsed and planned once per connection.
  const entry = await db.oneOrNone<CacheEntry>({ name: 'weather-cache.read', text: READ, values: [key, unknownCityTtlSeconds, weatherCacheTtlSeconds] });
  if (entry) remember(key, entry);
  return entry;
}

export const weatherCache = {
  read: (key: string) => read(weatherDatabase(), key),

  /** Stores what the provider said (null: unknown city) and returns the time it was stored. */
  async write(key: string, report: Observation | null): Promise<Date> {
    const { fetched_at } = await weatherDatabase().one<{ fetched_at: Date }>(withParameters(WRITE, [key, report]));
    const { unknownCityTtlSeconds, weatherCacheTtlSeconds } = settings();
    remember(key, { report, fetched_at, fresh: true, fresh_for_ms: 1000 * (report ? weatherCacheTtlSeconds : unknownCityTtlSeconds) });
    return fetched_at;
  },

  /** Deletes expired unknown cities, reports past the retention period and abandoned leases; returns the rows removed. */
  async expire(): Promise<number> {
    const { unknownCityTtlSeconds, weatherCacheRetentionSeconds } = settings();
    const row = await weatherDatabase().one<{ deleted: number }>(withParameters(EXPIRE, [unknownCityTtlSeconds, weatherCacheRetentionSeconds, EXPIRE_BATCH]));
    return row.deleted;
  },

  /** The city's refresh lease for `ttlMs`, or undefined while another caller (any instance) holds it. */
  async claimLease(key: string, ttlMs: number): Promise<RefreshLease | undefined> {
    const holder = randomUUID();
    const claimed = await weatherDatabase().oneOrNone(withParameters(CLAIM_LEASE, [key, holder, ttlMs]));
    if (!claimed) return undefined;
    return {
      async release() {
        await weatherDatabase().none(withParameters(RELEASE_LEASE, [key, holder]));
      },
    };
  },
};
