// The weather cache in weather_db: all SQL of the weather service lives here, always with parameters.
import type { IBaseProtocol } from 'pg-promise';
import { settings, weatherDatabase } from './deps';
import type { Observation } from './openweather';

export interface CacheEntry {
  /** null remembers a city the provider does not know. */
  report: Observation | null;
  fetched_at: Date;
  /** Younger than the TTL (the weather TTL, or the shorter unknown-city TTL for a null report). */
  fresh: boolean;
}

/** Reads and writes of one city's row, made while holding that city's lock. */
export interface LockedCache {
  read(): Promise<CacheEntry | null>;
  /** Stores what the provider said (null: unknown city) and returns the time it was stored. */
  write(report: Observation | null): Promise<Date>;
}

// Freshness is judged by the database clock, so every instance agrees on it.
const READ = `
  SELECT report, fetched_at,
         clock_timestamp() - fetched_at < make_interval(secs => CASE WHEN report IS NULL THEN $2::int ELSE $3::int END) AS fresh
    FROM weather_cache
   WHERE city_key = $1`;

const WRITE = `
  INSERT INTO weather_cache (city_key, report, fetched_at) VALUES ($1, $2, clock_timestamp())
  ON CONFLICT (city_key) DO UPDATE SET report = EXCLUDED.report, fetched_at = EXCLUDED.fetched_at
  RETURNING fetched_at`;

function read(db: IBaseProtocol<unknown>, key: string): Promise<CacheEntry | null> {
  const { unknownCityTtlSeconds, weatherCacheTtlSeconds } = settings();
  // Named (prepared): the cache hit path runs it on every request, so it is parsed and planned once per connection.
  return db.oneOrNone<CacheEntry>({ name: 'weather-cache.read', text: READ, values: [key, unknownCityTtlSeconds, weatherCacheTtlSeconds] });
}

export const weatherCache = {
  read: (key: string) => read(weatherDatabase(), key),

  /**
   * Runs `work` inside a transaction holding the city's advisory lock, so across every instance only one
   * caller at a time refreshes a city; the others wait, then find the fresh row.
   */
  async underCityLock<T>(key: string, work: (cache: LockedCache) => Promise<T>): Promise<T> {
    const { dbQueryTimeoutMs, upstreamTimeoutMs } = settings();
    // A waiter may wait for the holder's whole upstream call, longer than the usual query deadline.
    const lockWaitMs = upstreamTimeoutMs + dbQueryTimeoutMs;
    const connection = await weatherDatabase().connect();
    try {
      return await connection.tx(async (tx) => {
        await tx.one(`SELECT set_config('statement_timeout', $1, true)`, [String(lockWaitMs)]);
        // Through the driver directly: it is the one query whose client-side deadline must be longer.
        await connection.client.query({
          text: 'SELECT pg_advisory_xact_lock(hashtext($1))',
          values: [key],
          query_timeout: lockWaitMs + 1000,
        });
        await tx.one(`SELECT set_config('statement_timeout', $1, true)`, [String(dbQueryTimeoutMs)]);
        return work({
          read: () => read(tx, key),
          write: async (report) => (await tx.one<{ fetched_at: Date }>(WRITE, [key, report])).fetched_at,
        });
      });
    } finally {
      connection.done();
    }
  },
};
