-- Up Migration
-- The counters of failed logins, shared by every instance (layers/db/login-counters.ts; what each scope counts and
-- why: docs/security.md). Replaces login_throttle, which counted per username only: anyone could lock any account.
CREATE TABLE login_counters (
  -- What is counted ('account', 'address', 'account+address', ...) and whose: keys hold ids, addresses and digests
  -- only, never what a client typed.
  scope text NOT NULL CHECK (char_length(scope) BETWEEN 1 AND 32),
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
  failures integer NOT NULL CHECK (failures >= 0),
  -- The next try is let through from this moment on (claimed atomically); before it, 429.
  next_try_at timestamptz NOT NULL,
  -- The count starts over from here on; rows past it are deleted in small batches as new failures are recorded.
  expires_at timestamptz NOT NULL,
  -- The rule the row was last counted under (the backend's settings), so one statement serves every scope: tries
  -- wait from the delay_from-th failure on, first_delay_s, doubling per failure up to max_delay_s, and the count
  -- lasts window_s past the end of the last wait.
  delay_from integer NOT NULL CHECK (delay_from >= 1),
  first_delay_s integer NOT NULL CHECK (first_delay_s >= 0),
  max_delay_s integer NOT NULL CHECK (max_delay_s >= first_delay_s),
  window_s integer NOT NULL CHECK (window_s >= 1),
  PRIMARY KEY (scope, key)
);
CREATE INDEX login_counters_expires_idx ON login_counters (expires_at);

-- Its rows only ever slowed logins for a while; the new counters start empty.
DROP TABLE login_throttle;

-- Down Migration
DROP TABLE login_counters;
CREATE TABLE login_throttle (
  username text PRIMARY KEY CHECK (char_length(username) BETWEEN 3 AND 32 AND username = lower(username)),
  failures integer NOT NULL CHECK (failures > 0),
  window_started_at timestamptz NOT NULL,
  next_try_at timestamptz NOT NULL
);
CREATE INDEX login_throttle_window_idx ON login_throttle (window_started_at);
