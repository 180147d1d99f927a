// The provider-call budget per rolling minute, shared by every instance through weather_db (see its migration).
import { withParameters } from '../../layers/db/pool';
import { settings, weatherDatabase } from './deps';

export type BudgetClaim = { granted: true } | { granted: false; retryAfterSeconds: number };

const SEED = `INSERT INTO weather_upstream_slots (slot) SELECT generate_series(1, $1::int) ON CONFLICT DO NOTHING`;

// One statement: the slot unused longest is taken if that was over a minute ago (SKIP LOCKED: concurrent claims
// never take the same one; least recently used first, so instances configured with different budgets share fairly);
// when none is, the retry time is when the least recently used slot frees up.
const CLAIM = `
  WITH claimed AS (
    UPDATE weather_upstream_slots SET used_at = clock_timestamp()
     WHERE slot = (SELECT slot FROM weather_upstream_slots
                    WHERE slot <= $1 AND used_at <= clock_timestamp() - interval '1 minute'
                    ORDER BY used_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING slot
  )
  SELECT (SELECT slot FROM claimed) AS slot,
         greatest(1, ceil(extract(epoch FROM (SELECT min(used_at) FROM weather_upstream_slots WHERE slot <= $1)
                                           + interval '1 minute' - clock_timestamp())))::int AS retry_after`;

// Seeded once per process (and per budget: a changed setting adds the missing slots).
let seededFor = 0;

/** Takes one provider call from the shared budget, or says when the next one will be free. */
export async function claimUpstreamCall(): Promise<BudgetClaim> {
  const limit = settings().openWeatherCallsPerMinute;
  const db = weatherDatabase();
  if (seededFor !== limit) {
    await db.none(withParameters(SEED, [limit]));
    seededFor = limit;
  }
  const row = await db.one<{ slot: number | null; retry_after: number | null }>(withParameters(CLAIM, [limit]));
  return row.slot !== null ? { granted: true } : { granted: false, retryAfterSeconds: row.retry_after ?? 1 };
}
