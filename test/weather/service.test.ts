// The weather service over real HTTP, against real Postgres and the OpenWeatherMap stand-in:
// cache hits and misses, stale answers, unknown cities, provider failures, city names, logs.
import { cityKey } from '../../layers/city-names';
import { handler as weatherHandler } from '../../functions/weather/get';
import { handler as notFoundHandler } from '../../functions/weather/not-found';
import { toObservation } from '../../functions/weather/openweather';
import { weatherDatabase } from '../../functions/weather/deps';
import { startStandIn, weatherBody, type StandIn, type StandInMode } from '../../local/services/standin';
import { captureLogs, invoke } from '../support/lambda';
import { httpGet, serviceCredential, standInForThisFile, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

process.env.POWERTOOLS_SERVICE_NAME = 'weather-service';
// A short provider deadline keeps the timeout cases quick; the stand-in's latency goes above it.
process.env.OPENWEATHER_TIMEOUT_MS = '1500'; // generous: a loaded CI machine must not turn a normal answer into a timeout
const SLOW = { latencyMs: 4000 };

let standIn: StandIn;
let service: RunningService;

const weather = (city: string, headers?: Record<string, string>) =>
  httpGet(`${service.url}/weather/${encodeURIComponent(city)}`, { ...serviceCredential(), ...headers });

/** Makes a cached city older than any TTL, as if it had been fetched yesterday. */
const ageEntry = (city: string) =>
  weatherDatabase().none(`UPDATE weather_cache SET fetched_at = fetched_at - interval '1 day' WHERE city_key = $1`, [cityKey(city)]);

beforeAll(async () => {
  standIn = await standInForThisFile();
  service = await startWeatherService();
});
afterAll(async () => {
  await service.close();
  await standIn.stop();
});
afterEach(() => standIn.setMode({}));

describe('cache', () => {
  test('a miss asks the provider once and answers its body as the documented fields', async () => {
    const city = uniqueCity();
    const res = await weather(city);
    expect(res.status).toBe(200);
    // The field mapping itself is pinned in mapping.test.ts; here: the service answers exactly that.
    expect(res.json).toEqual({
      ...toObservation(weatherBody(city, 'metric'), city),
      observed_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d0:00\.000Z$/),
      fetched_at: expect.any(String),
      cached: false,
      stale: false,
    });
    expect(Date.now() - Date.parse(res.json.fetched_at)).toBeLessThan(60_000);
    expect(standIn.calls(city)).toBe(1);
  });

  test('a fresh entry is answered from the cache without calling the provider, whatever the case and spacing', async () => {
    const city = uniqueCity('Hit Town');
    const first = await weather(city);
    const second = await weather(city.toUpperCase().replace(' ', '   '));
    expect(second.status).toBe(200);
    expect(second.json).toEqual({ ...first.json, cached: true });
    expect(standIn.calls(city)).toBe(1);
  });

  test('an entry older than the TTL is fetched again', async () => {
    const city = uniqueCity();
    await weather(city);
    await ageEntry(city);
    const res = await weather(city);
    expect(res.json).toMatchObject({ cached: false, stale: false });
    expect(standIn.calls(city)).toBe(2);
  });

  test('an unknown city answers 404 and is remembered: asking again costs no upstream call', async () => {
    const city = uniqueCity('Atlantis');
    const first = await weather(city);
    const second = await weather(city);
    for (const res of [first, second]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.json.detail).toContain(city);
    }
    expect(standIn.calls(city)).toBe(1);
  });
});

describe('city names', () => {
  test.each(['Москва', 'São Paulo', 'Zürich'])('serves %s through a URL-encoded path, then from the cache', async (city) => {
    const first = await weather(city);
    expect(first.status).toBe(200);
    expect(first.json.city).toBe(city);
    expect((await weather(city)).json.cached).toBe(true);
    expect(standIn.calls(city)).toBe(1);
  });

  test('the decomposed Unicode spelling of a name finds the entry of the composed one', async () => {
    const composed = `Ça ${uniqueCity('Marche')}`;
    await weather(composed);
    const decomposed = await weather(composed.normalize('NFD'));
    expect(decomposed.json.cached).toBe(true);
    expect(standIn.calls(composed)).toBe(1);
  });

  test('spaces around a name and another case are the same city: one cache entry, 200', async () => {
    const city = uniqueCity('London');
    const first = await weather(city);
    const spaced = await httpGet(`${service.url}/weather/%20%20${encodeURIComponent(city.toUpperCase())}%20`, serviceCredential());
    expect(spaced.status).toBe(200);
    expect(spaced.json).toEqual({ ...first.json, cached: true });
    expect(standIn.calls(city)).toBe(1);
  });

  test('a name whose case-folded key is too long to store is 400, without an upstream call, every time', async () => {
    const name = 'İ'.repeat(100); // 100 characters; lower-cased, each becomes i + a combining dot: 200
    const before = standIn.calls();
    for (let i = 0; i < 2; i++) {
      const res = await weather(name);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.json.detail).toMatch(/normalised form must be 1 to 100 characters \(it has 200\)/);
    }
    expect(standIn.calls()).toBe(before);
  });

  test('a key of exactly 100 characters after folding is stored and served from the cache', async () => {
    const name = `${'İ'.repeat(45)}${uniqueCity('Q')}`; // 45 × 2 + "q abcdefgh" = 100
    expect([...cityKey(name)]).toHaveLength(100);
    expect((await weather(name)).status).toBe(200);
    expect((await weather(name)).json.cached).toBe(true);
    expect(standIn.calls(name)).toBe(1);
  });

  test('a ",cc" country code is kept in the key and passed to the provider', async () => {
    const city = uniqueCity('Springfield');
    const res = await weather(`${city},US`);
    expect(res.json.country).toBe('US');
    expect(standIn.calls(`${city},us`)).toBe(1);
  });

  test.each([
    ['path traversal', '..%2F..%2Fetc%2Fpasswd'],
    ['an encoded slash', 'Lon%2Fdon'],
    ['digits', 'London1'],
    ['SQL', "x'%3B%20DROP%20TABLE%20weather_cache%3B--"],
    ['a NUL byte', 'Lon%00don'],
    ['markup', '%3Cscript%3E'],
    ['only spaces', '%20%20%20'],
    ['a three-letter country code', 'London%2CGBR'],
    ['101 letters', 'a'.repeat(101)],
  ])('refuses %s with 400 problem+json and no upstream call', async (_, raw) => {
    const before = standIn.calls();
    const res = await httpGet(`${service.url}/weather/${raw}`, serviceCredential());
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status: 400, title: 'Bad Request', detail: expect.any(String) });
    expect(standIn.calls()).toBe(before);
  });
});

describe('provider failures', () => {
  const failures: Array<[string, number, StandInMode]> = [
    ['429 rate limit', 503, { status: 429 }],
    ['500', 503, { status: 500 }],
    ['503', 503, { status: 503 }],
    ['malformed JSON', 503, { garbage: true }],
    ['a dropped connection', 503, { down: true }],
    ['a timeout', 504, SLOW],
  ];

  test.each(failures)('%s with a stale entry: the stale entry is served with stale: true', async (_, __, mode) => {
    const city = uniqueCity();
    const fresh = await weather(city);
    await ageEntry(city);
    standIn.setMode(mode);
    const res = await weather(city);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ ...fresh.json, fetched_at: expect.any(String), cached: true, stale: true });
    expect(Date.parse(res.json.fetched_at)).toBeLessThan(Date.parse(fresh.json.fetched_at));
    expect(standIn.calls(city)).toBe(2);
  });

  test.each(failures)('%s with nothing cached: answers %i problem+json', async (_, status, mode) => {
    const city = uniqueCity();
    standIn.setMode(mode);
    const res = await weather(city);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json).toMatchObject({ status, detail: expect.stringMatching(/weather provider/) });
    expect(standIn.calls(city)).toBe(1);
  });

  test('a failure is not cached: the next request after recovery asks again and succeeds', async () => {
    const city = uniqueCity();
    standIn.setMode({ status: 503 });
    expect((await weather(city)).status).toBe(503);
    standIn.setMode({});
    const res = await weather(city);
    expect(res.status).toBe(200);
    expect(res.json.cached).toBe(false);
  });

  test('a rejected API key answers 503, is logged, and the key never appears in any log line', async () => {
    const port = Number(new URL(standIn.url).port);
    await standIn.stop();
    standIn = await startStandIn({ port, apiKey: 'a-key-the-service-does-not-have' });
    const stderr: string[] = [];
    const stderrSpy = jest.spyOn(process.stderr, 'write').mockImplementation(((chunk: string) => stderr.push(String(chunk))) as never);
    const logs = captureLogs();
    try {
      const res = await weather(uniqueCity());
      expect(res.status).toBe(503);
      expect(res.json.detail).toBe('weather provider rejected our API key');
    } finally {
      logs.restore();
      stderrSpy.mockRestore();
      await standIn.stop();
      standIn = await startStandIn({ port, apiKey: process.env.OPENWEATHER_API_KEY });
    }
    const output = logs.raw.join('') + stderr.join('');
    expect(output).toContain('weather provider rejected our API key');
    expect(logs.events('weather.external_request')).toEqual([expect.objectContaining({ status: 401 })]);
    expect(output).not.toContain(process.env.OPENWEATHER_API_KEY);
    expect(output).not.toContain('appid');
  });
});

describe('logs', () => {
  test('cache_miss, external_request and cache_hit carry the city, the propagated request id and the service name', async () => {
    const city = uniqueCity();
    const logs = captureLogs();
    try {
      await weather(city, { 'x-request-id': 'req-miss-1' });
      await weather(city, { 'x-request-id': 'req-hit-1' });
    } finally {
      logs.restore();
    }
    const key = cityKey(city);
    const line = { service: 'weather-service', level: 'INFO', timestamp: expect.any(String), city: key };
    expect(logs.events('weather.cache_miss')).toEqual([expect.objectContaining({ ...line, request_id: 'req-miss-1' })]);
    expect(logs.events('weather.external_request')).toEqual([
      expect.objectContaining({ ...line, request_id: 'req-miss-1', status: 200, duration_ms: expect.any(Number) }),
    ]);
    expect(logs.events('weather.cache_hit')).toEqual([expect.objectContaining({ ...line, request_id: 'req-hit-1' })]);
    expect(logs.raw.join('')).not.toContain(process.env.OPENWEATHER_API_KEY);
  });

  test('a timeout is logged as external_request with status "timeout"', async () => {
    const city = uniqueCity();
    standIn.setMode(SLOW);
    const logs = captureLogs();
    try {
      await weather(city);
    } finally {
      logs.restore();
    }
    expect(logs.events('weather.external_request')).toEqual([expect.objectContaining({ city: cityKey(city), status: 'timeout' })]);
  });
});

describe('service routes', () => {
  test('GET /health-check reports the weather database', async () => {
    const res = await httpGet(`${service.url}/health-check`);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', checks: { database: 'ok' } });
  });

  test('the Lambda handler answers an API Gateway event for a city', async () => {
    const city = uniqueCity();
    const res = await invoke(weatherHandler, {
      method: 'GET',
      path: `/weather/${encodeURIComponent(city)}`,
      pathParameters: { city },
      headers: serviceCredential(),
    });
    expect(res.status).toBe(200);
    expect(res.json.city).toBe(weatherBody(city, 'metric').name);
  });

  test('the catch-all answers 405 with Allow for another method on /weather/{city}, else 404', async () => {
    const post = await invoke(notFoundHandler, { method: 'POST', path: '/weather/London' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const unknown = await invoke(notFoundHandler, { method: 'GET', path: '/users' });
    expect(unknown.status).toBe(404);
    expect(unknown.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});
