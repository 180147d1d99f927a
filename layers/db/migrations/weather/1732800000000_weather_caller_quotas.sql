-- Up Migration
-- Each caller's share of the provider budget, shared by every instance: one row per caller key ('user:<id>',
-- 'address:<IPv4 or IPv6 /64>', or 'user:-' / 'address:-' for a request that names none), holding the times of
-- the provider calls it caused in the last minute (at most its quota of them). A claim is one upsert under the
-- row's lock, so concurrent claims from any number of instances never exceed the quota.
CREATE TABLE weather_caller_calls (
  caller text PRIMARY KEY CHECK (char_length(caller) BETWEEN 1 AND 200),
  calls timestamptz[] NOT NULL,
  last_call_at timestamptz NOT NULL
);
-- Rows of callers idle for over a minute are deleted oldest first, a bounded batch at a time.
CREATE INDEX weather_caller_calls_last_call_at ON weather_caller_calls (last_call_at);

-- Down Migration
DROP TABLE weather_caller_calls;
