// Slow misses for many distinct cities must not starve cache hits: a refresh holds no pooled connection while
// the provider answers, and each process runs only a few refreshes at once.
import type { StandIn } from '../../local/services/standin';
import { httpGet, serviceCredential, standInForThisFile, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

// A small pool and short pool deadline make starvation quick to see: 4 connections, 1 s to get one.
process.env.DB_POOL_MAX = '4';
process.env.DB_QUERY_TIMEOUT_MS = '1000';
process.env.OPENWEATHER_TIMEOUT_MS = '5000';
process.env.WEATHER_MAX_CONCURRENT_REFRESHES = '2';
const PROVIDER_LATENCY_MS = 2500;
const SLOW_MISSES = 8; // twice the pool

let standIn: StandIn;
let service: RunningService;
const weather = (city: string) => httpGet(`${service.url}/weather/${encodeURIComponent(city)}`, serviceCredential());

beforeAll(async () => {
  standIn = await standInForThisFile();
  service = await startWeatherService();
});
afterAll(async () => {
  await service.close();
  await standIn.stop();
});

test(`${SLOW_MISSES} slow misses for distinct cities in flight: hits for a cached city still answer 200 from the cache`, async () => {
  const cached = uniqueCity('Cached');
  expect((await weather(cached)).status).toBe(200);
  standIn.setMode({ latencyMs: PROVIDER_LATENCY_MS });

  const misses = Array.from({ length: SLOW_MISSES }, () => weather(uniqueCity('Slow')));
  await new Promise((resolve) => setTimeout(resolve, 300)); // the misses have reached the provider by now
  const startedHits = performance.now();
  const hits = await Promise.all(Array.from({ length: 10 }, () => weather(cached)));
  const hitMs = Math.round(performance.now() - startedHits);
  const upstreamInFlight = standIn.calls() - 1;
  const missAnswers = await Promise.all(misses);

  const statuses = (answers: Array<{ status: number }>) => answers.map((a) => a.status).join(',');
  console.log(`hits: ${statuses(hits)} in ${hitMs} ms; misses: ${statuses(missAnswers)}; upstream calls started: ${upstreamInFlight}`);
  expect(hits.map((h) => h.status)).toEqual(Array(10).fill(200));
  expect(hits.every((h) => h.json.cached === true)).toBe(true);
  // The misses beyond this process's refresh slots are refused quickly (no stale entry exists), never a 500.
  for (const miss of missAnswers) {
    expect([200, 503]).toContain(miss.status);
    if (miss.status === 503) expect(miss.headers.get('retry-after')).toBe('1');
  }
  expect(missAnswers.filter((m) => m.status === 200).length).toBeGreaterThanOrEqual(2);
  expect(upstreamInFlight).toBeLessThanOrEqual(2);
}, 30_000);
