// The OpenWeatherMap stand-in speaks the real API's shape and can be switched into failure modes,
// from this process and over HTTP from others.
import { join } from 'node:path';
import { startStandIn, type StandIn } from '../../local/services/standin';
import { spawnReady } from '../support/child';
import { ROOT } from '../support/child';
import { httpGet } from '../support/weather';

let standIn: StandIn;
const weatherUrl = (q: string, appid = standIn.apiKey, units = 'metric') => `${standIn.url}/data/2.5/weather?${new URLSearchParams({ q, appid, units })}`;
const post = (path: string, body?: unknown) => fetch(`${standIn.url}${path}`, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });

beforeAll(async () => {
  standIn = await startStandIn({ apiKey: 'standin-test-key' });
});
afterAll(() => standIn.stop());
beforeEach(() => standIn.reset());

test('answers a known city with the full OpenWeatherMap body, the same on every call', async () => {
  const first = await httpGet(weatherUrl('Москва'));
  const second = await httpGet(weatherUrl('москва'));
  expect(first.status).toBe(200);
  expect(first.json).toEqual(second.json);
  expect(first.json).toMatchObject({
    coord: { lon: expect.any(Number), lat: expect.any(Number) },
    weather: [{ id: expect.any(Number), main: expect.any(String), description: expect.any(String), icon: expect.any(String) }],
    main: {
      temp: expect.any(Number),
      feels_like: expect.any(Number),
      temp_min: expect.any(Number),
      temp_max: expect.any(Number),
      pressure: expect.any(Number),
      humidity: expect.any(Number),
    },
    wind: { speed: expect.any(Number), deg: expect.any(Number) },
    clouds: { all: expect.any(Number) },
    dt: expect.any(Number),
    sys: { country: 'RU', sunrise: expect.any(Number), sunset: expect.any(Number) },
    timezone: expect.any(Number),
    id: expect.any(Number),
    name: 'Москва',
    cod: 200,
  });
  expect(standIn.calls('Москва')).toBe(2);
});

test('honours units and an explicit ",cc" country code', async () => {
  const metric = await httpGet(weatherUrl('São Paulo,BR'));
  const kelvin = await httpGet(weatherUrl('São Paulo,BR', standIn.apiKey, 'standard'));
  expect(metric.json.name).toBe('São Paulo');
  expect(metric.json.sys.country).toBe('BR');
  expect(kelvin.json.main.temp).toBeCloseTo(metric.json.main.temp + 273.15, 1);
});

test('refuses a wrong or missing key with 401, like the real API', async () => {
  const wrong = await httpGet(weatherUrl('London', 'not-the-key'));
  const missing = await httpGet(`${standIn.url}/data/2.5/weather?q=London`);
  for (const res of [wrong, missing]) {
    expect(res.status).toBe(401);
    expect(res.json).toEqual({ cod: 401, message: expect.stringMatching(/^Invalid API key/) });
  }
});

test('answers 404 "city not found" for names starting with Atlantis or Nowhere', async () => {
  for (const q of ['Atlantis', 'nowhere land']) {
    const res = await httpGet(weatherUrl(q));
    expect(res.status).toBe(404);
    expect(res.json).toEqual({ cod: '404', message: 'city not found' });
  }
});

test('failure modes switched over HTTP: 429, then garbage, then normal after reset; stats count every call', async () => {
  expect((await post('/__standin/mode', { status: 429 })).status).toBe(200);
  const limited = await httpGet(weatherUrl('London'));
  expect(limited.status).toBe(429);
  expect(limited.json.cod).toBe(429);

  await post('/__standin/mode', { garbage: true });
  const garbage = await fetch(weatherUrl('London'));
  expect(garbage.status).toBe(200);
  await expect(garbage.json()).rejects.toThrow();

  await post('/__standin/reset');
  expect((await httpGet(weatherUrl('London'))).status).toBe(200);
  const stats = await httpGet(`${standIn.url}/__standin/stats`);
  expect(stats.json).toEqual({ calls: 1, byCity: { london: 1 } });
});

test('refuses an invalid mode with 400', async () => {
  expect((await post('/__standin/mode', { status: 418 })).status).toBe(400);
  expect((await post('/__standin/mode', { latencyMs: 'slow' })).status).toBe(400);
  expect(() => standIn.setMode({ status: 200 as 429 })).toThrow();
});

test('"down" drops the connection without an answer', async () => {
  standIn.setMode({ down: true });
  await expect(fetch(weatherUrl('London'))).rejects.toThrow();
  expect(standIn.calls('London')).toBe(1);
});

test('the CLI prints one ready line with its URL, serves the key from --api-key and stops on SIGTERM', async () => {
  const cli = await spawnReady<{ ready: boolean; url: string }>(join(ROOT, 'local', 'bin', 'owm-standin.ts'), ['--api-key', 'cli-key']);
  try {
    expect(cli.ready).toEqual({ ready: true, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const res = await httpGet(`${cli.ready.url}/data/2.5/weather?q=Paris&appid=cli-key&units=metric`);
    expect(res.status).toBe(200);
    expect(res.json.name).toBe('Paris');
  } finally {
    expect(await cli.stop()).toBe(0);
  }
});
