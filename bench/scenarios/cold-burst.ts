// Bursts of uncached cities, all requests at once: 100 × one city must cost one upstream call (request coalescing),
// 50 different cities show the fan-out.
import { randomBytes } from 'node:crypto';
import { cityKey } from '../../layers/city-names';
import { say } from '../context';
import { cityPath, getOnce } from '../requests';
import type { BurstResult, ColdBurstReport } from '../results';
import type { Run } from './scenario';

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const uncachedCity = () => `Benchcold ${Array.from(randomBytes(10), (b) => LETTERS[b % 26]).join('')}`;

async function standInCalls(standInUrl: string | undefined): Promise<Record<string, number> | undefined> {
  if (!standInUrl) return undefined;
  const res = await fetch(`${standInUrl}/__standin/stats`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as { byCity: Record<string, number> }).byCity;
}

/** Sends every request at once (one connection each) and waits for all answers. */
async function burst(api: string, token: string, cities: string[], standInUrl: string | undefined): Promise<BurstResult> {
  const before = await standInCalls(standInUrl);
  const statuses: Record<string, number> = {};
  const started = performance.now();
  const answers = await Promise.all(cities.map((city) => getOnce(`${api}${cityPath(city)}`, token)));
  const ms = Math.round(performance.now() - started);
  for (const status of answers) statuses[status] = (statuses[status] ?? 0) + 1;
  const after = await standInCalls(standInUrl);
  const keys = new Set(cities.map(cityKey));
  const upstreamCalls = before && after ? [...keys].reduce((sum, key) => sum + (after[key] ?? 0) - (before[key] ?? 0), 0) : undefined;
  return { requests: cities.length, cities: keys.size, ms, statuses, upstreamCalls };
}

async function coldBursts(api: string, token: string, standInUrl: string | undefined): Promise<ColdBurstReport> {
  const one = uncachedCity();
  const oneCity = await burst(
    api,
    token,
    Array.from({ length: 100 }, () => one),
    standInUrl,
  );
  const manyCities = await burst(api, token, Array.from({ length: 50 }, uncachedCity), standInUrl);
  return { oneCity, manyCities };
}

const summary = (b: ColdBurstReport) =>
  `one city: ${b.oneCity.ms} ms, upstream calls ${b.oneCity.upstreamCalls}; ${b.manyCities.cities} cities: ${b.manyCities.ms} ms`;

export async function runColdBurst(run: Run): Promise<void> {
  say('cold bursts through the stack...');
  run.report.coldBurst.stack = await coldBursts(run.target.api, run.user.token, run.target.standInUrl);
  say(`  ${summary(run.report.coldBurst.stack)}`);
  if (run.direct && run.upstream) {
    say('cold bursts direct...');
    run.report.coldBurst.direct = await coldBursts(run.direct.backend, run.user.token, run.upstream.url);
    say(`  ${summary(run.report.coldBurst.direct)}`);
  }
}
