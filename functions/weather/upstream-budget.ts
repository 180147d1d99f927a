// The provider-call budget per rolling minute, shared by every instance through weather_db (see its migrations):
// part of it kept for refreshing cities already cached, and each caller's quota of it (caller-quota.ts).
import { claimCallerQuotas, type Caller, type QuotaName } from './caller-quota';
import { withParameters } from '../../layers/db/pool';
import { settings, weatherDatabase } from './deps';

/** Refused: by the caller's quota (per user or per address) or by the shared budget, with when to come back. */
export type BudgetClaim = { granted: true } | { granted: false; exhausted: QuotaName | 'budget'; retryAfterSeconds: number };

export interface CallRequest {
  caller: Caller;
  /** A refresh of a city with a cached report: it may use the reserved slots; a new name may not. */
  refresh: boolean;
}

const SEED = `INSERT INTO weather_upstream_slots (slot) SELECT generate_series(1, $1::int) ON CONFLICT DO NOTHING`;

// One statement: the slot unused longest is taken if that was over a minute ago (SKIP LOCKED: concurrent claims
// never take the same one; least recently used first, so instances configured with different budgets share fairly);
// when none is, the retry time is when the least recently used slot frees up.
// The reserve is slots 1..$2: a new name may take only a slot above them, so no flood of names can ever use it
// (a fixed set of rows, not a count that concurrent claims could race past); a refresh takes a reserved one first.
const CLAIM = `
  WITH claimed AS (
    UPDATE weather_upstream_slots SET used_at = clock_timestamp()
     WHERE slot = (SELECT slot FROM weather_upstream_slots
                    WHERE slot <= $1 AND (slot > $2 OR $3) AND used_at <= clock_timestamp() - interval '1 minute'
                    ORDER BY slot > $2, used_at LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING slot
  )
  SELECT (SELECT slot FROM claimed) AS slot,
         greatest(1, ceil(extract(epoch FROM (SELECT min(used_at) FROM weather_upstream_slots WHERE slot <= $1 AND (slot > $2 OR $3))
                                           + interval '1 minute' - clock_timestamp())))::int AS retry_after`;

// Seeded once per process (and per budget: a changed setting adds the missing slots).
let seededFor = 0;

/** Thrown inside the claim's transaction to roll back what it charged. */
class Refused extends Error {
  constructor(readonly claim: BudgetClaim) {
    super('refused');
  }
}

/** The slots kept for refreshes: a share of the budget, rounded down (a budget of 4 or less at 20% keeps none). */
export const reservedSlots = () => Math.floor((settings().openWeatherCallsPerMinute * settings().openWeatherRefreshReservePercent) / 100);

/**
 * Takes one provider call from the shared budget and charges it to the caller's quotas, or says when to come back.
 * One transaction: the quotas are charged only when the budget grants the call, so a refused call costs the caller nothing.
 */
export async function claimUpstreamCall({ caller, refresh }: CallRequest): Promise<BudgetClaim> {
  const limit = settings().openWeatherCallsPerMinute;
  const db = weatherDatabase();
  if (seededFor !== limit) {
    await db.none(withParameters(SEED, [limit]));
    seededFor = limit;
  }
  try {
    await db.tx('weather-upstream-claim', async (t) => {
      const quota = await claimCallerQuotas(t, caller);
      if (!quota.granted) throw new Refused({ granted: false, exhausted: quota.quota, retryAfterSeconds: quota.retryAfterSeconds });
      const row = await t.one<{ slot: number | null; retry_after: number | null }>(withParameters(CLAIM, [limit, reservedSlots(), refresh]));
      if (row.slot === null) throw new Refused({ granted: false, exhausted: 'budget', retryAfterSeconds: row.retry_after ?? 1 });
    });
    return { granted: true };
  } catch (err) {
    if (err instanceof Refused) return err.claim;
    throw err;
  }
}
