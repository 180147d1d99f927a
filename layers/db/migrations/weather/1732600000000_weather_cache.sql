-- Up Migration
-- One row per normalised city name (trimmed, case-folded, inner spaces collapsed, ",cc" kept).
CREATE TABLE weather_cache (
  city_key text PRIMARY KEY CHECK (char_length(city_key) BETWEEN 1 AND 100),
  -- The WeatherReport fields as the upstream last gave them; NULL remembers an unknown city (upstream 404).
  report jsonb,
  fetched_at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Down Migration
DROP TABLE weather_cache;
