-- Up Migration
-- Failed logins per username (lower-cased), shared by every instance: after too many in a window, tries are spaced.
CREATE TABLE login_throttle (
  username text PRIMARY KEY CHECK (char_length(username) BETWEEN 3 AND 32 AND username = lower(username)),
  failures integer NOT NULL CHECK (failures > 0),
  window_started_at timestamptz NOT NULL,
  -- While throttled, the next try is admitted from this moment on (claimed atomically by an UPDATE).
  next_try_at timestamptz NOT NULL
);
-- Expired rows are removed by window start.
CREATE INDEX login_throttle_window_idx ON login_throttle (window_started_at);

-- Down Migration
DROP TABLE login_throttle;
