// Each caller's quota of provider calls per rolling minute, per user and per client address, counted in weather_db
// (see its migration) so every instance shares it. The caller is who the backend says it serves: its headers are
// read only on a request that carried the service credential (the route's authentication runs first).
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { IBaseProtocol } from 'pg-promise';
import { badRequest } from '../../layers/problems';
import { withParameters } from '../../layers/db/pool';
import { settings, weatherDatabase } from './deps';

/** The request headers naming the caller; the backend's weather proxy sets them (functions/weather-proxy/caller.ts). */
export const CALLER_USER_HEADER = 'x-weather-caller-user';
export const CALLER_ADDRESS_HEADER = 'x-weather-caller-address';

/** Who a lookup is for; undefined: the request did not say (counted under one shared "unattributed" key each). */
export interface Caller {
  user?: string;
  address?: string;
}

export type QuotaName = 'user' | 'address';

export type QuotaClaim = { granted: true } | { granted: false; quota: QuotaName; retryAfterSeconds: number };

const USER_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

/** The caller named by a request's headers; a malformed or repeated one is the backend's bug: 400, never guessed at. */
export function callerFrom(headers: IncomingHttpHeaders): Caller {
  const user = headers[CALLER_USER_HEADER];
  const address = headers[CALLER_ADDRESS_HEADER];
  if (user !== undefined && (typeof user !== 'string' || !USER_ID.test(user))) throw badRequest(`${CALLER_USER_HEADER} is not a user id`);
  if (address !== undefined && (typeof address !== 'string' || isIP(address) === 0)) throw badRequest(`${CALLER_ADDRESS_HEADER} is not an IP address`);
  return { user, address };
}

/**
 * The key an address is counted under: IPv4 (an IPv4-mapped IPv6 address too) as it is, IPv6 by its /64 (one
 * subscriber's prefix: a client owning a /64 must not get 2^64 quotas). `address` is valid (callerFrom checked it).
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (isIP(address) === 4 || mapped) return mapped ? mapped[1] : address;
  const [head, tail] = address.split('%')[0].split('::');
  // An embedded IPv4 tail fills the last two groups (never part of the /64).
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const [h, t] = [groups(head), groups(tail)];
  const full = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `${full
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** The rows a provider call for this caller is charged to, with their quotas (user first: the lock order). */
export function quotaKeys(caller: Caller): { key: string; limit: number; quota: QuotaName }[] {
  const { weatherMissesPerUserPerMinute, weatherMissesPerAddressPerMinute } = settings();
  return [
    { key: `user:${caller.user ?? '-'}`, limit: weatherMissesPerUserPerMinute, quota: 'user' },
    { key: `address:${caller.address === undefined ? '-' : addressKey(caller.address)}`, limit: weatherMissesPerAddressPerMinute, quota: 'address' },
  ];
}

// One statement: the call is recorded only while fewer than the quota fall in the last minute (ON CONFLICT locks the
// row and judges its latest version, so concurrent claims never exceed it); the times kept are those of that minute.
// Refused, the retry time is when the oldest of them leaves the window.
const CLAIM = `
  WITH claimed AS (
    INSERT INTO weather_caller_calls AS c (caller, calls, last_call_at)
    VALUES ($1, ARRAY[statement_timestamp()], statement_timestamp())
    ON CONFLICT (caller) DO UPDATE
       SET calls = ARRAY(SELECT t FROM unnest(c.calls) t WHERE t > statement_timestamp() - interval '1 minute' ORDER BY t) || statement_timestamp(),
           last_call_at = statement_timestamp()
     WHERE (SELECT count(*) FROM unnest(c.calls) t WHERE t > statement_timestamp() - interval '1 minute') < $2
    RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM claimed) AS granted,
         (SELECT greatest(1, ceil(extract(epoch FROM min(t) + interval '1 minute' - statement_timestamp())))::int
            FROM weather_caller_calls c, unnest(c.calls) t
           WHERE c.caller = $1 AND t > statement_timestamp() - interval '1 minute') AS retry_after`;

// A bounded batch per call (each granted claim adds at most two rows), so a flood of names cannot grow the table.
const EXPIRE = `
  DELETE FROM weather_caller_calls WHERE caller IN (
    SELECT caller FROM weather_caller_calls WHERE last_call_at < clock_timestamp() - interval '1 minute'
     ORDER BY last_call_at LIMIT 100 FOR UPDATE SKIP LOCKED)`;

/** Charges one provider call to each of the caller's quotas, within `t` (the budget claim's transaction). */
export async function claimCallerQuotas(t: IBaseProtocol<unknown>, caller: Caller): Promise<QuotaClaim> {
  for (const { key, limit, quota } of quotaKeys(caller)) {
    const row = await t.one<{ granted: boolean; retry_after: number | null }>(withParameters(CLAIM, [key, limit]));
    if (!row.granted) return { granted: false, quota, retryAfterSeconds: row.retry_after ?? 1 };
  }
  return { granted: true };
}

/** Deletes the rows of callers that caused no provider call for over a minute. */
export async function expireCallerQuotas(): Promise<void> {
  await weatherDatabase().none(EXPIRE);
}
