// Concurrent misses for one city cost exactly one upstream call: within one instance (single-flight)
// and across instances with their own pools (the refresh lease in Postgres).
import type { StandIn } from '../../local/services/standin';
import { httpGet, serviceCredential, standInForThisFile, startWeatherProcess, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

// The provider answers slowly, so every request arrives while the first upstream call is still running.
const LATENCY = { latencyMs: 300 };

let standIn: StandIn;
beforeAll(async () => {
  standIn = await standInForThisFile();
});
afterAll(() => standIn.stop());

async function burst(urls: string[], city: string, count: number) {
  const path = `/weather/${encodeURIComponent(city)}`;
  return Promise.all(Array.from({ length: count }, (_, i) => httpGet(`${urls[i % urls.length]}${path}`, serviceCredential())));
}

test('50 concurrent requests for one cold city in one instance: one upstream call, shared by all 50', async () => {
  const service = await startWeatherService();
  try {
    await burst([service.url], uniqueCity('Warmup'), 20); // opens the pool's connections first
    standIn.setMode({ latencyMs: 1000 });
    const city = uniqueCity('Crowded');
    const answers = await burst([service.url], city, 50);
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(standIn.calls(city)).toBe(1);
    // All joined the one in-flight refresh (none queued on the database lock and re-read the cache).
    expect(answers.filter((a) => a.json.cached === false)).toHaveLength(50);
    expect(new Set(answers.map((a) => a.json.fetched_at)).size).toBe(1);
  } finally {
    await service.close();
  }
});

describe('two instances, each with its own pool and its own single-flight', () => {
  let instances: RunningService[] = [];
  beforeAll(async () => {
    const env = {
      POWERTOOLS_SERVICE_NAME: 'weather-service',
      OPENWEATHER_BASE_URL: process.env.OPENWEATHER_BASE_URL!,
      OPENWEATHER_API_KEY: process.env.OPENWEATHER_API_KEY!,
      POWERTOOLS_LOG_LEVEL: 'ERROR',
    };
    instances = await Promise.all([startWeatherProcess(env), startWeatherProcess(env)]);
  }, 60_000);
  afterAll(() => Promise.all(instances.map((i) => i.close())));

  test('50 concurrent requests for one cold city split across both: one upstream call', async () => {
    standIn.setMode(LATENCY);
    const city = uniqueCity('Crowded');
    const answers = await burst(
      instances.map((i) => i.url),
      city,
      50,
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    expect(standIn.calls(city)).toBe(1);
  });

  test('an unknown city asked by both at once costs one upstream call and answers 404 everywhere', async () => {
    standIn.setMode(LATENCY);
    const city = uniqueCity('Nowhere');
    const answers = await burst(
      instances.map((i) => i.url),
      city,
      20,
    );
    expect(answers.map((a) => a.status)).toEqual(Array(20).fill(404));
    expect(standIn.calls(city)).toBe(1);
  });
});
