// The backend's GET /weather/{city} is an HTTP client of the weather service: real HTTP to the service's
// routes on a free port (or to a closed port, or to a server that never answers), with a real token.
import { createServer, type Server, type Socket } from 'node:net';
import { WeatherReport } from '../../layers/http/schemas';
import { freePort } from '../../local/ports';
import type { StandIn } from '../../local/services/standin';
import { captureLogs, invoke } from '../support/lambda';
import { createUser, type TestUser } from '../support/users';
import { standInForThisFile, startWeatherService, uniqueCity, type RunningService } from '../support/weather';

type Handler = Parameters<typeof invoke>[0];

process.env.OPENWEATHER_TIMEOUT_MS = '1500'; // generous: a loaded CI machine must not turn a normal answer into a timeout

let standIn: StandIn;
let service: RunningService;
let user: TestUser;
let proxy: Handler;

/** The backend's handler, loaded with its own configuration pointing at `url`. */
function loadProxy(url: string, timeoutMs = '5000'): Handler {
  let handler: Handler | undefined;
  jest.isolateModules(() => {
    process.env.WEATHER_SERVICE_URL = url;
    process.env.WEATHER_SERVICE_TIMEOUT_MS = timeoutMs;
    require('../../functions/deps').settings(); // read now, while the environment says this
    handler = require('../../functions/weather-proxy/get').handler;
  });
  return handler!;
}

const getWeather = (handler: Handler, city: string, headers: Record<string, string> = user.auth) =>
  invoke(handler, { method: 'GET', path: `/weather/${encodeURIComponent(city)}`, pathParameters: { city }, headers });

beforeAll(async () => {
  standIn = await standInForThisFile();
  service = await startWeatherService();
  proxy = loadProxy(service.url);
  user = await createUser('weather');
});
afterAll(async () => {
  await service.close();
  await standIn.stop();
});
afterEach(() => standIn.setMode({}));

test('200: the report with exactly the documented fields, then the cached one', async () => {
  const city = uniqueCity();
  const first = await getWeather(proxy, city);
  expect(first.status).toBe(200);
  expect(Object.keys(first.json).sort()).toEqual(Object.keys(WeatherReport.properties).sort());
  expect(first.json).toMatchObject({ cached: false, stale: false });
  const second = await getWeather(proxy, city);
  expect(second.json).toEqual({ ...first.json, cached: true });
  expect(standIn.calls(city)).toBe(1);
});

test('spaces around a name and another case reach the same cache entry: 200', async () => {
  const city = uniqueCity('London');
  const first = await getWeather(proxy, city);
  const raw = `%20%20${encodeURIComponent(city.toUpperCase())}%20`;
  const spaced = await invoke(proxy, { method: 'GET', path: `/weather/${raw}`, pathParameters: { city: decodeURIComponent(raw) }, headers: user.auth });
  expect(spaced.status).toBe(200);
  expect(spaced.json).toEqual({ ...first.json, cached: true });
  expect(standIn.calls(city)).toBe(1);
});

test("a name whose case-folded form is too long: the service's 400 is passed on, and the provider is not called", async () => {
  const before = standIn.calls();
  const res = await getWeather(proxy, 'İ'.repeat(100));
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(standIn.calls()).toBe(before);
});

test('a Unicode name travels URL-encoded to the service and back', async () => {
  const res = await getWeather(proxy, 'Kraków');
  expect(res.status).toBe(200);
  expect(res.json).toMatchObject({ city: 'Kraków', country: 'PL' });
});

test('the request id is passed on to the weather service and appears in its log events', async () => {
  const city = uniqueCity();
  const logs = captureLogs();
  try {
    const res = await getWeather(proxy, city, { ...user.auth, 'x-request-id': 'proxy-request-1' });
    expect(res.headers['x-request-id']).toBe('proxy-request-1');
  } finally {
    logs.restore();
  }
  expect(logs.events('weather.cache_miss')).toEqual([expect.objectContaining({ request_id: 'proxy-request-1' })]);
  expect(logs.events('weather.external_request')).toEqual([expect.objectContaining({ request_id: 'proxy-request-1', status: 200 })]);
});

test('404 problem+json for a city the provider does not know', async () => {
  const res = await getWeather(proxy, uniqueCity('Atlantis'));
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json.detail).toMatch(/does not know a city/);
});

test('400 problem+json for an invalid name, without asking the weather service', async () => {
  const before = standIn.calls();
  const res = await invoke(proxy, { method: 'GET', path: '/weather/..%2Fetc%2Fpasswd', headers: user.auth });
  expect(res.status).toBe(400);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(standIn.calls()).toBe(before);
});

test('401 without a bearer token', async () => {
  const res = await getWeather(proxy, 'London', {});
  expect(res.status).toBe(401);
  expect(res.headers['www-authenticate']).toBe('Bearer');
});

test("the service's 503 (provider down, nothing cached) is passed on with its detail", async () => {
  standIn.setMode({ status: 500 });
  const res = await getWeather(proxy, uniqueCity());
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json.detail).toBe('the weather provider failed (HTTP 500)');
});

test("the service's 504 (provider timeout, nothing cached) is passed on", async () => {
  standIn.setMode({ latencyMs: 4000 });
  const res = await getWeather(proxy, uniqueCity());
  expect(res.status).toBe(504);
  expect(res.json.detail).toMatch(/did not answer within 1500 ms/);
});

test('503 problem+json when the weather service is down (connection refused)', async () => {
  const down = loadProxy(`http://127.0.0.1:${await freePort()}`);
  const res = await getWeather(down, 'London');
  expect(res.status).toBe(503);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.json.detail).toBe('the weather service is unavailable, try again shortly');
  expect(res.text).not.toMatch(/ECONNREFUSED|127\.0\.0\.1/);
});

describe('a weather service that accepts connections and never answers', () => {
  let hung: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    hung = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    sockets.forEach((s) => s.destroy());
    await new Promise((resolve) => hung.close(resolve));
  });

  test('answers 504 problem+json at the deadline instead of hanging', async () => {
    const handler = loadProxy(`http://127.0.0.1:${(hung.address() as { port: number }).port}`, '800');
    const res = await getWeather(handler, 'London');
    expect(res.status).toBe(504);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json.detail).toBe('the weather service did not answer within 800 ms');
  });
});
