-- Up Migration
-- The provider-call budget shared by every instance: one row per allowed call per rolling minute. A call claims
-- the slot used longest ago, if that was over a minute ago (one UPDATE ... FOR UPDATE SKIP LOCKED: atomic).
-- The weather service adds rows up to its configured budget (OPENWEATHER_CALLS_PER_MINUTE) on first use.
CREATE TABLE weather_upstream_slots (
  slot integer PRIMARY KEY CHECK (slot >= 1),
  used_at timestamptz NOT NULL DEFAULT '-infinity'
);
CREATE INDEX weather_upstream_slots_used_at ON weather_upstream_slots (used_at);

-- Who refreshes a city right now, across instances: a lease claimed by one short statement and released after
-- the provider answered, so no connection is held during the call; a holder that died loses it at expires_at.
CREATE TABLE weather_refresh_leases (
  city_key text PRIMARY KEY,
  holder uuid NOT NULL,
  expires_at timestamptz NOT NULL
);

-- Expired rows are deleted oldest first, a bounded batch at a time: unknown cities after their short TTL,
-- reports after the retention period.
CREATE INDEX weather_cache_unknown_fetched_at ON weather_cache (fetched_at) WHERE report IS NULL;
CREATE INDEX weather_cache_fetched_at ON weather_cache (fetched_at);

-- Down Migration
DROP INDEX weather_cache_fetched_at;
DROP INDEX weather_cache_unknown_fetched_at;
DROP TABLE weather_refresh_leases;
DROP TABLE weather_upstream_slots;
