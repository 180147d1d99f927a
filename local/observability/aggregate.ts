// The dashboard's numbers computed from log lines, for machines without containers (npm run dashboard).
// It reads lines the way the Promtail pipeline does (JSON objects only, the line's own timestamp) and counts
// what the Grafana panels count, by the same event names and fields (layers/events.ts).
import { ACCESS_LOG, EVENTS } from '../../layers/events';

/** The four panels the dashboard is built around, titled the same in Grafana and in the terminal. */
export const SEED_PANELS = {
  cacheHits: 'Weather cache hits by city',
  externalRequests: 'External API requests by city',
  logins: 'User logins by username',
  failedLogins: 'Failed login attempts by username',
} as const;

/** What one shipped line contributes: its labels and the few fields the panels group by. */
export interface LogRecord {
  /** epoch ms, from the line's own `timestamp` */
  at: number;
  service: string;
  level?: string;
  event?: string;
  city?: string;
  username?: string;
  /** HAProxy access log only */
  status?: number;
  backend?: string;
}

const text = (value: unknown) => (typeof value === 'string' || typeof value === 'number' ? String(value) : undefined);

/**
 * One log line as the shippers see it: a JSON object with a parseable timestamp, else undefined
 * (serverless-offline's plain-text lines, blank lines, broken JSON).
 */
export function parseLogRecord(line: string): LogRecord | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(trimmed);
  } catch {
    return undefined;
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  const at = typeof json.timestamp === 'string' ? Date.parse(json.timestamp) : NaN;
  if (Number.isNaN(at)) return undefined;
  const service = text(json.service) ?? 'unknown';
  const record: LogRecord = { at, service };
  if (json.level !== undefined) record.level = text(json.level);
  if (json.event !== undefined) record.event = text(json.event);
  if (json.city !== undefined) record.city = text(json.city);
  if (json.username !== undefined) record.username = text(json.username);
  if (service === ACCESS_LOG.service) {
    const status = Number(json.status);
    if (Number.isInteger(status)) record.status = status;
    record.backend = text(json.backend);
  }
  return record;
}

export interface Count {
  key: string;
  count: number;
}

export interface Summary {
  from: number;
  to: number;
  /** The four seed panels, largest first. */
  cacheHitsByCity: Count[];
  externalRequestsByCity: Count[];
  loginsByUsername: Count[];
  failedLoginsByUsername: Count[];
  totals: {
    cacheHits: number;
    cacheMisses: number;
    externalRequests: number;
    logins: number;
    failedLogins: number;
    registrations: number;
    /** every JSON line of the selected services */
    lines: number;
    /** WARN and ERROR lines of the selected services */
    warningsAndErrors: number;
  };
  /** From the HAProxy access log (not narrowed by the service filter, like the dashboard's ingress panels). */
  http: {
    requests: number;
    /** averaged over the whole range */
    perSecond: number;
    /** over the last minute of the range */
    perSecondLastMinute: number;
    client4xx: number;
    server5xx: number;
    byBackend: Count[];
  };
}

export interface Window {
  from: number;
  to: number;
}

export interface SummaryOptions {
  /** Only these services count in the event panels and line totals (the dashboard's service variable). */
  services?: string[];
}

class Counter {
  private readonly counts = new Map<string, number>();
  add(key: string | undefined) {
    const k = key ?? '(none)';
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
  sorted(): Count[] {
    return [...this.counts].map(([key, count]) => ({ key, count })).sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  }
}

type Totals = Summary['totals'];
interface EventCounters {
  hitsByCity: Counter;
  externalByCity: Counter;
  loginsByUser: Counter;
  failedByUser: Counter;
}

/** Adds one function log line's event to the totals and the per-city / per-user counters. */
function countEvent(o: LogRecord, totals: Totals, c: EventCounters): void {
  switch (o.event) {
    case EVENTS.cacheHit.name:
      totals.cacheHits += 1;
      c.hitsByCity.add(o.city);
      break;
    case EVENTS.cacheMiss.name:
      totals.cacheMisses += 1;
      break;
    case EVENTS.externalRequest.name:
      totals.externalRequests += 1;
      c.externalByCity.add(o.city);
      break;
    case EVENTS.loginSucceeded.name:
      totals.logins += 1;
      c.loginsByUser.add(o.username);
      break;
    case EVENTS.loginFailed.name:
      totals.failedLogins += 1;
      c.failedByUser.add(o.username);
      break;
    case EVENTS.userRegistered.name:
      totals.registrations += 1;
      break;
  }
}

/** Counts what the dashboard counts, over the lines whose timestamp falls in the window. */
export function summarize(records: Iterable<LogRecord>, window: Window, options: SummaryOptions = {}): Summary {
  const services = options.services?.length ? new Set(options.services) : undefined;
  const counters: EventCounters = { hitsByCity: new Counter(), externalByCity: new Counter(), loginsByUser: new Counter(), failedByUser: new Counter() };
  const byBackend = new Counter();
  const totals: Totals = { cacheHits: 0, cacheMisses: 0, externalRequests: 0, logins: 0, failedLogins: 0, registrations: 0, lines: 0, warningsAndErrors: 0 };
  const http = { requests: 0, perSecond: 0, perSecondLastMinute: 0, client4xx: 0, server5xx: 0, byBackend: [] as Count[] };
  const lastMinute = Math.max(window.from, window.to - 60_000);
  let requestsLastMinute = 0;

  for (const o of records) {
    if (o.at < window.from || o.at > window.to) continue;
    if (o.service === ACCESS_LOG.service) {
      http.requests += 1;
      if (o.at >= lastMinute) requestsLastMinute += 1;
      if (o.status !== undefined && o.status >= 400 && o.status < 500) http.client4xx += 1;
      if (o.status !== undefined && o.status >= 500) http.server5xx += 1;
      byBackend.add(o.backend);
    }
    if (services && !services.has(o.service)) continue;
    totals.lines += 1;
    if (o.level === 'WARN' || o.level === 'ERROR' || o.level === 'CRITICAL') totals.warningsAndErrors += 1;
    countEvent(o, totals, counters);
  }

  const seconds = Math.max(1, (window.to - window.from) / 1000);
  http.perSecond = http.requests / seconds;
  http.perSecondLastMinute = requestsLastMinute / Math.max(1, (window.to - lastMinute) / 1000);
  http.byBackend = byBackend.sorted();
  return {
    from: window.from,
    to: window.to,
    cacheHitsByCity: counters.hitsByCity.sorted(),
    externalRequestsByCity: counters.externalByCity.sorted(),
    loginsByUsername: counters.loginsByUser.sorted(),
    failedLoginsByUsername: counters.failedByUser.sorted(),
    totals,
    http,
  };
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "15m", "1h", "2d", "90s" → milliseconds (what Grafana's time picker calls now-15m); undefined when malformed. */
export function parseDuration(value: string): number | undefined {
  const match = /^(\d+)(s|m|h|d|w)$/.exec(value.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS[match[2]];
  return ms > 0 ? ms : undefined;
}
