// The counters of failed logins in app_db (table login_counters), shared by every replica and deployed instance.
// A generic mechanism: what a counter counts and its numbers are the login throttle's (layers/auth/login-throttle.ts).
// Every statement is one statement (row-locked where it decides), with bind parameters only.
import { withParameters, type Database } from './pool';

/** How a counter slows tries: from `delayFrom` failures on, a wait of `firstDelaySeconds`, doubling, capped. */
export interface CounterRule {
  delayFrom: number;
  firstDelaySeconds: number;
  maxDelaySeconds: number;
  /** the count starts over once this long has passed since the end of its last wait */
  windowSeconds: number;
}

export interface Counter {
  scope: string;
  key: string;
  rule: CounterRule;
}

/** A counter that refuses a try, and for how many seconds more. */
export interface Wait {
  scope: string;
  seconds: number;
}

// A counter past its expiry counts from zero again.
const COUNTED = `CASE WHEN c.expires_at > now() THEN c.failures ELSE 0 END`;
// The wait after the n-th failure of a counter `r` (its rule's columns): none below its threshold, then doubling, capped.
const delayAfter = (n: string, r: string) =>
  `CASE WHEN ${n} < ${r}.delay_from THEN interval '0' ` +
  `ELSE make_interval(secs => least(${r}.max_delay_s, ${r}.first_delay_s * 2.0 ^ least(${n} - ${r}.delay_from, 30))) END`;

// Refuses the try while any of its counters waits. A counter whose wait is over is claimed by this try and waits
// its last wait again (locked in key order: of concurrent tries exactly one claims it, and two never deadlock); the
// outer SELECT sees the rows as they were before, so the try is refused when any throttled row is not its claim.
const ADMIT = `
WITH wanted AS (SELECT * FROM unnest($1::text[], $2::text[]) AS w(scope, key)),
throttled AS (
  SELECT c.scope, c.key, c.next_try_at FROM login_counters c JOIN wanted USING (scope, key)
   WHERE c.expires_at > now() AND c.failures >= c.delay_from
),
claimed AS (
  UPDATE login_counters c
     SET next_try_at = now() + ${delayAfter('c.failures', 'c')},
         expires_at = greatest(c.expires_at, now() + ${delayAfter('c.failures', 'c')} + make_interval(secs => c.window_s))
   WHERE (c.scope, c.key) IN (
     SELECT l.scope, l.key FROM login_counters l JOIN throttled USING (scope, key)
      WHERE l.next_try_at <= now() AND l.expires_at > now() AND l.failures >= l.delay_from
      ORDER BY l.scope, l.key FOR UPDATE OF l)
  RETURNING c.scope, c.key
)
SELECT t.scope, greatest(1, ceil(extract(epoch FROM t.next_try_at - now())))::int AS seconds
  FROM throttled t
 WHERE (t.scope, t.key) NOT IN (SELECT scope, key FROM claimed)
 ORDER BY seconds DESC LIMIT 1`;

// Counts this try before its password check, unless the counter refuses it (at its ceiling, $7, until it starts
// over; or while it waits). One row, locked by the upsert: of concurrent tries, exactly as many are counted as the
// counter allows. The last SELECT sees the row as it was before, for the wait of a refused try.
const CLAIM = `
WITH counted AS (
  INSERT INTO login_counters AS c (scope, key, failures, next_try_at, expires_at, delay_from, first_delay_s, max_delay_s, window_s)
  SELECT $1, $2, 1, now() + d.delay, now() + d.delay + make_interval(secs => r.window_s), r.delay_from, r.first_delay_s, r.max_delay_s, r.window_s
    FROM (SELECT $3::int AS delay_from, $4::int AS first_delay_s, $5::int AS max_delay_s, $6::int AS window_s) r,
         LATERAL (SELECT ${delayAfter('1', 'r')} AS delay) d
  ON CONFLICT (scope, key) DO UPDATE SET
    failures = ${COUNTED} + 1,
    next_try_at = now() + ${delayAfter(`${COUNTED} + 1`, 'EXCLUDED')},
    expires_at = now() + ${delayAfter(`${COUNTED} + 1`, 'EXCLUDED')} + make_interval(secs => EXCLUDED.window_s),
    delay_from = EXCLUDED.delay_from, first_delay_s = EXCLUDED.first_delay_s, max_delay_s = EXCLUDED.max_delay_s, window_s = EXCLUDED.window_s
  WHERE ${COUNTED} < $7::int AND (${COUNTED} < c.delay_from OR c.next_try_at <= now())
  RETURNING c.failures
)
SELECT (SELECT failures FROM counted) AS counted,
       (SELECT greatest(1, ceil(extract(epoch FROM CASE WHEN c.failures >= $7::int THEN c.expires_at ELSE c.next_try_at END - now())))::int
          FROM login_counters c WHERE c.scope = $1 AND c.key = $2) AS seconds`;

// One more failure on each counter, from its threshold on with the next wait (locked in key order). Counters past
// their expiry are deleted on the way, a bounded batch per call: a failure adds at most one row per counter.
const RECORD_FAILURE = `
WITH rule AS (
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int[], $5::int[], $6::int[])
    AS r(scope, key, delay_from, first_delay_s, max_delay_s, window_s)
),
swept AS (
  DELETE FROM login_counters WHERE (scope, key) IN (
    SELECT o.scope, o.key FROM login_counters o
     WHERE o.expires_at <= now() AND (o.scope, o.key) NOT IN (SELECT scope, key FROM rule)
     ORDER BY o.expires_at LIMIT 100 FOR UPDATE SKIP LOCKED)
)
INSERT INTO login_counters AS c (scope, key, failures, next_try_at, expires_at, delay_from, first_delay_s, max_delay_s, window_s)
SELECT r.scope, r.key, 1, now() + d.delay, now() + d.delay + make_interval(secs => r.window_s), r.delay_from, r.first_delay_s, r.max_delay_s, r.window_s
  FROM rule r, LATERAL (SELECT ${delayAfter('1', 'r')} AS delay) d
 ORDER BY r.scope, r.key
ON CONFLICT (scope, key) DO UPDATE SET
  failures = ${COUNTED} + 1,
  next_try_at = now() + ${delayAfter(`${COUNTED} + 1`, 'EXCLUDED')},
  expires_at = now() + ${delayAfter(`${COUNTED} + 1`, 'EXCLUDED')} + make_interval(secs => EXCLUDED.window_s),
  delay_from = EXCLUDED.delay_from, first_delay_s = EXCLUDED.first_delay_s, max_delay_s = EXCLUDED.max_delay_s, window_s = EXCLUDED.window_s`;

// A counted try that never reached its password check (the bcrypt line was full, the database failed) is taken
// back, and the slot it held is free again (locked in key order).
const RELEASE = `
UPDATE login_counters c SET failures = greatest(c.failures - 1, 0), next_try_at = least(c.next_try_at, now())
 WHERE (c.scope, c.key) IN (
   SELECT l.scope, l.key FROM login_counters l JOIN unnest($1::text[], $2::text[]) AS w(scope, key) USING (scope, key)
    WHERE l.expires_at > now()
    ORDER BY l.scope, l.key FOR UPDATE OF l)`;

// A success clears these counters (locked in key order, like every statement that takes several rows).
const FORGET = `
DELETE FROM login_counters WHERE (scope, key) IN (
  SELECT c.scope, c.key FROM login_counters c JOIN unnest($1::text[], $2::text[]) AS w(scope, key) USING (scope, key)
   ORDER BY c.scope, c.key FOR UPDATE OF c)`;

const scopesAndKeys = (counters: readonly Counter[]) => [counters.map((c) => c.scope), counters.map((c) => c.key)];

const rules = (counters: readonly Counter[]) => [
  ...scopesAndKeys(counters),
  counters.map((c) => c.rule.delayFrom),
  counters.map((c) => c.rule.firstDelaySeconds),
  counters.map((c) => c.rule.maxDelaySeconds),
  counters.map((c) => c.rule.windowSeconds),
];

export type LoginCounterStore = ReturnType<typeof loginCounterStore>;

/** The counters of the app database `db` (looked up per call: the pool is made on first use). */
export function loginCounterStore(db: () => Database) {
  return {
    /** The longest wait among these counters (claiming the try of each whose wait is over), or undefined: go ahead. */
    async admit(counters: readonly Counter[]): Promise<Wait | undefined> {
      if (counters.length === 0) return undefined;
      return (await db().oneOrNone<Wait>(withParameters(ADMIT, scopesAndKeys(counters)))) ?? undefined;
    },

    /** Counts a try on `counter` before it is made; the wait instead when the counter is at `ceiling` or waiting. */
    async claim(counter: Counter, ceiling: number): Promise<Wait | undefined> {
      const { delayFrom, firstDelaySeconds, maxDelaySeconds, windowSeconds } = counter.rule;
      const values = [counter.scope, counter.key, delayFrom, firstDelaySeconds, maxDelaySeconds, windowSeconds, ceiling];
      const row = await db().one<{ counted: number | null; seconds: number | null }>(withParameters(CLAIM, values));
      return row.counted !== null ? undefined : { scope: counter.scope, seconds: row.seconds ?? 1 };
    },

    /** One more failure on each of these counters. */
    async recordFailure(counters: readonly Counter[]): Promise<void> {
      if (counters.length > 0) await db().none(withParameters(RECORD_FAILURE, rules(counters)));
    },

    /** Takes back a try counted by claim() that was never made. */
    async release(counters: readonly Counter[]): Promise<void> {
      if (counters.length > 0) await db().none(withParameters(RELEASE, scopesAndKeys(counters)));
    },

    /** Deletes these counters. */
    async forget(counters: readonly Counter[]): Promise<void> {
      if (counters.length > 0) await db().none(withParameters(FORGET, scopesAndKeys(counters)));
    },
  };
}
