// The per-username throttle of failed logins, in Postgres so every replica and deployed instance shares it.
// After `failures` failed logins within `window` seconds, one try per `delay` seconds is let through for that
// username until the window (counted from its first failure) is over: a guess at one account is slowed, and
// the real user is never held up for longer than the window.
import { isRegistrableUsername } from '../credentials';
import type { Database } from './pool';

export interface LoginThrottleSettings {
  /** failed logins within the window before a username's tries are spaced */
  failures: number;
  /** length of the window in seconds, from its first failure */
  windowSeconds: number;
  /** while throttled, one try per this many seconds */
  delaySeconds: number;
}

// One statement: claim the next try if it is due (row-locked, so of concurrent tries exactly one wins);
// the SELECT sees the row as it was before the claim, which says whether the name was throttled at all.
const ADMIT = `
WITH claimed AS (
  UPDATE login_throttle SET next_try_at = now() + make_interval(secs => $4)
  WHERE username = $1 AND failures >= $2 AND window_started_at > now() - make_interval(secs => $3) AND next_try_at <= now()
  RETURNING username
)
SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
       greatest(1, ceil(extract(epoch FROM (t.next_try_at - now()))))::int AS wait_seconds
FROM login_throttle t
WHERE t.username = $1 AND t.failures >= $2 AND t.window_started_at > now() - make_interval(secs => $3)`;

// A failure starts a new window when the last one is over; from the threshold on, the next try waits `delay`.
// Expired rows of other names are removed on the way (indexed by window start).
const RECORD_FAILURE = `
WITH expired AS (
  DELETE FROM login_throttle WHERE window_started_at <= now() - make_interval(secs => $3) AND username <> $1
)
INSERT INTO login_throttle AS t (username, failures, window_started_at, next_try_at)
VALUES ($1, 1, now(), CASE WHEN $2 <= 1 THEN now() + make_interval(secs => $4) ELSE now() END)
ON CONFLICT (username) DO UPDATE SET
  failures = CASE WHEN t.window_started_at > now() - make_interval(secs => $3) THEN t.failures + 1 ELSE 1 END,
  window_started_at = CASE WHEN t.window_started_at > now() - make_interval(secs => $3) THEN t.window_started_at ELSE now() END,
  next_try_at = CASE
    WHEN (CASE WHEN t.window_started_at > now() - make_interval(secs => $3) THEN t.failures + 1 ELSE 1 END) >= $2
    THEN greatest(t.next_try_at, now() + make_interval(secs => $4))
    ELSE now() END`;

export type LoginThrottleStore = ReturnType<typeof loginThrottleStore>;

/**
 * The throttle of the app database `db`, with the service's settings (both looked up per call). Only names that
 * could be registered are tracked: the table stays bounded by what the edge lets through.
 */
export function loginThrottleStore(db: () => Database, settings: () => LoginThrottleSettings) {
  const parameters = (username: string) => {
    const { failures, windowSeconds, delaySeconds } = settings();
    return [username.toLowerCase(), failures, windowSeconds, delaySeconds];
  };
  return {
    /** Seconds to wait when this username may not try now; undefined when the try may go ahead. */
    async admit(username: string): Promise<number | undefined> {
      if (!isRegistrableUsername(username)) return undefined;
      const row = await db().oneOrNone<{ claimed: boolean; wait_seconds: number }>(ADMIT, parameters(username));
      if (!row || row.claimed) return undefined;
      return row.wait_seconds;
    },

    async recordFailure(username: string): Promise<void> {
      if (!isRegistrableUsername(username)) return;
      await db().none(RECORD_FAILURE, parameters(username));
    },

    /** A successful login clears the name's failures. */
    async reset(username: string): Promise<void> {
      await db().none('DELETE FROM login_throttle WHERE username = $1', [username.toLowerCase()]);
    },
  };
}
