// Each weather instance answers a fresh city from its memory for up to WEATHER_MEMORY_CACHE_MS before asking weather_db
// again, never past the entry's freshness, and keeps a bounded number of cities (layers/memory-cache.ts).
import { setTimeout as sleep } from 'node:timers/promises';
import { cityKey } from '../../layers/city-names';
import { MemoryCache } from '../../layers/memory-cache';
import { weatherDatabase } from '../../functions/weather/deps';
import { weatherBody, type StandIn } from '../../local/services/standin';
import { toObservation } from '../../functions/weather/openweather';
import { httpGet, serviceCredential, standInForThisFile, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

process.env.POWERTOOLS_SERVICE_NAME = 'weather-service';
const MEMORY_MS = 1500;
process.env.WEATHER_MEMORY_CACHE_MS = String(MEMORY_MS);

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

test('a city just fetched is answered from memory: its row aged in weather_db changes nothing until the memory lapses', async () => {
  const city = uniqueCity('Memory Town');
  const first = await weather(city);
  expect(first.json).toMatchObject({ cached: false });
  await weatherDatabase().none(`UPDATE weather_cache SET fetched_at = fetched_at - interval '1 day' WHERE city_key = $1`, [cityKey(city)]);
  const fromMemory = await weather(city);
  expect(fromMemory.status).toBe(200);
  expect(fromMemory.json).toEqual({ ...first.json, cached: true });
  expect(standIn.calls(city)).toBe(1);
  await sleep(MEMORY_MS + 200);
  // The database's word again: the row is a day old, so the provider is asked.
  const refreshed = await weather(city);
  expect(refreshed.json).toMatchObject({ cached: false, stale: false });
  expect(standIn.calls(city)).toBe(2);
});

test('an entry is never answered from memory past its freshness in weather_db', async () => {
  const city = uniqueCity('Brief Town');
  // Fresh for another 300 ms by the database clock (the TTL is 600 s), well inside the memory's 1.5 s.
  const report = toObservation(weatherBody(city, 'metric'), city);
  await weatherDatabase().none(`INSERT INTO weather_cache (city_key, report, fetched_at) VALUES ($1, $2, clock_timestamp() - interval '599.7 seconds')`, [
    cityKey(city),
    report,
  ]);
  const hit = await weather(city);
  expect(hit.json).toMatchObject({ cached: true, stale: false });
  await sleep(600);
  const after = await weather(city);
  expect(after.json).toMatchObject({ cached: false, stale: false });
  expect(standIn.calls(city)).toBe(1);
});

describe('MemoryCache', () => {
  test('drops the entry set longest ago once full, and each entry at its own deadline', async () => {
    const cache = new MemoryCache<number>(3);
    cache.set('a', 1, 10_000);
    cache.set('b', 2, 50);
    cache.set('c', 3, 10_000);
    cache.set('a', 4, 10_000); // set again: now the newest
    cache.set('d', 5, 10_000);
    expect(cache.size).toBe(3);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.get('d')]).toEqual([4, undefined, 3, 5]);
    const timed = new MemoryCache<number>(10);
    timed.set('short', 1, 30);
    timed.set('long', 2, 10_000);
    await sleep(60);
    expect([timed.get('short'), timed.get('long')]).toEqual([undefined, 2]);
    timed.set('long', 3, 0); // nothing kept for 0 ms: the old value goes too
    expect(timed.get('long')).toBeUndefined();
  });
});
