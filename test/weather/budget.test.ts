// The provider budget per rolling minute, shared by every instance through Postgres, and the expiry of old rows.
// On a private weather database: the budget's slots and the row counts are exact only where nobody else writes.
import { cityKey } from '../../layers/city-names';
import { claimUpstreamCall } from '../../functions/weather/upstream-budget';
import { weatherDatabase } from '../../functions/weather/deps';
import { closeDatabases } from '../../functions/weather/deps';
import type { StandIn } from '../../local/services/standin';
import { invoke } from '../support/lambda';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { createUser } from '../support/users';
import { httpGet, serviceCredential, standInForThisFile, startWeatherProcess, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

process.env.OPENWEATHER_CALLS_PER_MINUTE = '3';
process.env.POWERTOOLS_SERVICE_NAME = 'weather-service';
const BUDGET = 3;

let scratch: ScratchDatabase;
let standIn: StandIn;
let service: RunningService;

const weather = (city: string, url = service.url) => httpGet(`${url}/weather/${encodeURIComponent(city)}`, serviceCredential());
/** Every slot free again, as if the last call had been made over a minute ago. */
const refill = () => weatherDatabase().none(`UPDATE weather_upstream_slots SET used_at = '-infinity'`);
const callsInLastMinute = async () =>
  (await weatherDatabase().one<{ n: number }>(`SELECT count(*)::int AS n FROM weather_upstream_slots WHERE used_at > clock_timestamp() - interval '1 minute'`))
    .n;
const age = (city: string, interval: string) =>
  weatherDatabase().none(`UPDATE weather_cache SET fetched_at = fetched_at - $2::interval WHERE city_key = $1`, [cityKey(city), interval]);

beforeAll(async () => {
  scratch = await createScratchDatabase('weather');
  process.env.WEATHER_DATABASE_URL = scratch.url;
  standIn = await standInForThisFile();
  service = await startWeatherService();
});
afterAll(async () => {
  await service?.close();
  await standIn?.stop();
  await closeDatabases();
  await scratch?.drop();
});
beforeEach(async () => {
  await weather(uniqueCity('Seed')); // creates the slots on first use
  await refill();
});

describe('budget of provider calls per rolling minute', () => {
  test('over the budget, a cold city answers 503 problem+json with Retry-After and the provider is not called', async () => {
    const cities = Array.from({ length: BUDGET }, () => uniqueCity());
    for (const city of cities) expect((await weather(city)).status).toBe(200);
    const over = uniqueCity('Over');
    const res = await weather(over);
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json.detail).toMatch(/budget/);
    const retryAfter = Number(res.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(standIn.calls(over)).toBe(0);
    // Hits are not affected.
    const hit = await weather(cities[0]);
    expect(hit.status).toBe(200);
    expect(hit.json.cached).toBe(true);
  });

  test("through the backend's proxy, the 503 keeps its Retry-After", async () => {
    for (let i = 0; i < BUDGET; i++) await weather(uniqueCity());
    const user = await createUser('budget');
    let proxy: Parameters<typeof invoke>[0] | undefined;
    jest.isolateModules(() => {
      process.env.WEATHER_SERVICE_URL = service.url;
      proxy = require('../../functions/weather-proxy/get').handler;
    });
    const city = uniqueCity('Over');
    const res = await invoke(proxy!, { method: 'GET', path: `/weather/${encodeURIComponent(city)}`, pathParameters: { city }, headers: user.auth });
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(standIn.calls(city)).toBe(0);
  });

  test('a refresh counts, and over the budget the stale entry is served with stale: true', async () => {
    const city = uniqueCity('Stale');
    const fresh = await weather(city);
    await age(city, '1 day');
    expect(await callsInLastMinute()).toBe(1);
    expect((await weather(city)).json).toMatchObject({ cached: false, stale: false }); // the refresh: call 2
    expect(await callsInLastMinute()).toBe(2);
    await weather(uniqueCity()); // call 3: the budget is used up
    await age(city, '1 day');
    const stale = await weather(city);
    expect(stale.status).toBe(200);
    expect(stale.json).toEqual({ ...fresh.json, fetched_at: expect.any(String), cached: true, stale: true });
    expect(standIn.calls(city)).toBe(2);
  });

  test('concurrent claims never take more than the budget', async () => {
    const claims = await Promise.all(Array.from({ length: 20 }, () => claimUpstreamCall({ caller: {}, refresh: false })));
    expect(claims.filter((c) => c.granted)).toHaveLength(BUDGET);
  });

  test('two instances share one budget: a burst of cold cities split across both costs exactly the budget', async () => {
    // Refresh slots for every request: only the budget may refuse one here.
    const env = { POWERTOOLS_LOG_LEVEL: 'ERROR', WEATHER_DATABASE_URL: scratch.url, WEATHER_MAX_CONCURRENT_REFRESHES: '10' };
    const instances = await Promise.all([startWeatherProcess(env), startWeatherProcess(env)]);
    try {
      await refill();
      const before = standIn.calls();
      const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => weather(uniqueCity('Burst'), instances[i % 2].url)));
      expect(standIn.calls() - before).toBe(BUDGET);
      expect(answers.filter((a) => a.status === 200)).toHaveLength(BUDGET);
      expect(answers.filter((a) => a.status === 503)).toHaveLength(10 - BUDGET);
    } finally {
      await Promise.all(instances.map((i) => i.close()));
    }
  }, 60_000);
});

describe('expiry of old rows', () => {
  const insert = (key: string, report: object | null, interval: string) =>
    weatherDatabase().none(`INSERT INTO weather_cache (city_key, report, fetched_at) VALUES ($1, $2, clock_timestamp() - $3::interval)`, [
      key,
      report,
      interval,
    ]);
  const exists = async (key: string) => (await weatherDatabase().oneOrNone('SELECT 1 FROM weather_cache WHERE city_key = $1', [key])) !== null;
  const expiredUnknown = async () =>
    (
      await weatherDatabase().one<{ n: number }>(
        `SELECT count(*)::int AS n FROM weather_cache WHERE report IS NULL AND fetched_at < clock_timestamp() - interval '10 minutes'`,
      )
    ).n;

  test('unknown cities are deleted once their memory expired, in bounded batches, as new rows are written', async () => {
    const flood = Array.from({ length: 150 }, () => cityKey(uniqueCity('Nowhere')));
    for (const key of flood) await insert(key, null, '1 hour');
    const young = cityKey(uniqueCity('Nowhere'));
    await insert(young, null, '1 minute');
    expect(await expiredUnknown()).toBe(150);

    expect((await weather(uniqueCity('Atlantis'))).status).toBe(404); // one write, one batch of 100
    expect(await expiredUnknown()).toBe(50);
    expect((await weather(uniqueCity('Atlantis'))).status).toBe(404);
    expect(await expiredUnknown()).toBe(0);
    expect(await exists(young)).toBe(true); // still remembered: asking again costs no call
  });

  test('reports past the retention period are deleted; older than the TTL but within it are kept for stale answers', async () => {
    const report = {
      city: 'X',
      country: 'GB',
      temperature_c: 1,
      feels_like_c: 1,
      humidity: 1,
      pressure_hpa: 1,
      wind_speed_ms: 1,
      description: 'x',
      observed_at: new Date().toISOString(),
    };
    const ancient = cityKey(uniqueCity('Ancient'));
    const yesterday = cityKey(uniqueCity('Yesterday'));
    await insert(ancient, report, '8 days');
    await insert(yesterday, report, '1 day');
    expect((await weather(uniqueCity())).status).toBe(200);
    expect(await exists(ancient)).toBe(false);
    expect(await exists(yesterday)).toBe(true);
  });
});
