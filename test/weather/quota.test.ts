// No single caller can spend the provider budget: per-user and per-address quotas on provider calls, counted in
// Postgres (shared by every instance), and a reserve of the budget for refreshing cities already cached.
// On a private weather database: the slots and the callers' counts are exact only where nobody else writes.
import { cityKey } from '../../layers/city-names';
import { closeDatabases, weatherDatabase } from '../../functions/weather/deps';
import type { StandIn } from '../../local/services/standin';
import { invoke } from '../support/lambda';
import { createScratchDatabase, type ScratchDatabase } from '../support/scratch-database';
import { createUser } from '../support/users';
import {
  httpGet,
  serviceCredential,
  standInForThisFile,
  startWeatherProcess,
  startWeatherService,
  uniqueCity,
  type HttpResult,
  type RunningService,
} from '../support/weather';

const BUDGET = 50;
const RESERVED = 10; // 20 % of the budget
const PER_USER = 10;
const PER_ADDRESS = 30;
process.env.OPENWEATHER_CALLS_PER_MINUTE = String(BUDGET);
process.env.OPENWEATHER_REFRESH_RESERVE_PERCENT = '20';
process.env.WEATHER_MISSES_PER_USER_PER_MINUTE = String(PER_USER);
process.env.WEATHER_MISSES_PER_ADDRESS_PER_MINUTE = String(PER_ADDRESS);
// Refresh slots for every request of the concurrent tests: only the budget and the quotas may refuse one here.
process.env.WEATHER_MAX_CONCURRENT_REFRESHES = '60';
process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
process.env.POWERTOOLS_SERVICE_NAME = 'weather-service';

let scratch: ScratchDatabase;
let standIn: StandIn;
let service: RunningService;

interface As {
  user?: string;
  address?: string;
}
const callerHeaders = ({ user, address }: As): Record<string, string> => ({
  ...(user !== undefined ? { 'x-weather-caller-user': user } : {}),
  ...(address !== undefined ? { 'x-weather-caller-address': address } : {}),
});
const weather = (city: string, as: As = {}, url = service.url) =>
  httpGet(`${url}/weather/${encodeURIComponent(city)}`, { ...serviceCredential(), ...callerHeaders(as) });
const statuses = (answers: HttpResult[]) => answers.map((a) => a.status);
let nextId = 0;
const userId = () => `00000000-0000-4000-8000-${String(++nextId).padStart(12, '0')}`;
const address = () => `198.51.100.${++nextId % 250}`;

/** Every slot free and no caller charged, as if the last call had been made over a minute ago. */
const refill = async () => {
  await weatherDatabase().none(`UPDATE weather_upstream_slots SET used_at = '-infinity'`);
  await weatherDatabase().none(`DELETE FROM weather_caller_calls`);
};
/** Provider calls charged to a caller key in the last minute. */
const charged = async (key: string) =>
  (
    await weatherDatabase().one<{ n: number }>(
      `SELECT coalesce((SELECT count(*) FROM weather_caller_calls, unnest(calls) t WHERE caller = $1 AND t > clock_timestamp() - interval '1 minute'), 0)::int AS n`,
      [key],
    )
  ).n;
const age = (city: string) =>
  weatherDatabase().none(`UPDATE weather_cache SET fetched_at = fetched_at - interval '1 day' WHERE city_key = $1`, [cityKey(city)]);

function expectQuota429(answer: HttpResult, per: 'user' | 'client address') {
  expect(answer.status).toBe(429);
  expect(answer.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(answer.json.detail).toMatch(new RegExp(`quota of ${per === 'user' ? PER_USER : PER_ADDRESS} lookups of uncached cities a minute per ${per}`));
  const retryAfter = Number(answer.headers.get('retry-after'));
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(60);
}

/** `count` new cities asked in turn as `as`. */
async function askNew(count: number, as: As, prefix = 'Madeup'): Promise<{ cities: string[]; answers: HttpResult[] }> {
  const cities = Array.from({ length: count }, () => uniqueCity(prefix));
  const answers: HttpResult[] = [];
  for (const city of cities) answers.push(await weather(city, as));
  return { cities, answers };
}

beforeAll(async () => {
  scratch = await createScratchDatabase('weather');
  process.env.WEATHER_DATABASE_URL = scratch.url;
  standIn = await standInForThisFile();
  service = await startWeatherService();
  await weather(uniqueCity('Seed')); // creates the slots on first use
});
afterAll(async () => {
  await service?.close();
  await standIn?.stop();
  await closeDatabases();
  await scratch?.drop();
});
beforeEach(refill);

describe('per-user quota', () => {
  test(`one user's 60 made-up cities in a minute: ${PER_USER} answered, then 429 without a provider call; another user's new city: 200`, async () => {
    const attacker = { user: userId(), address: address() };
    const { cities, answers } = await askNew(60, attacker);
    expect(statuses(answers)).toEqual([...Array(PER_USER).fill(200), ...Array(60 - PER_USER).fill(429)]);
    expectQuota429(answers[PER_USER], 'user');
    expectQuota429(answers[59], 'user');
    expect(cities.slice(PER_USER).map((c) => standIn.calls(c))).toEqual(Array(60 - PER_USER).fill(0));
    // Refused lookups cost nothing: the user was charged its quota, its address only what was granted.
    expect(await charged(`user:${attacker.user}`)).toBe(PER_USER);
    expect(await charged(`address:${attacker.address}`)).toBe(PER_USER);

    const other = await weather(uniqueCity('Never'), { user: userId(), address: attacker.address });
    expect(other.status).toBe(200);
    expect(other.json).toMatchObject({ cached: false, stale: false });
  });

  test('hits are never counted nor refused: a user over its quota still gets every cached city', async () => {
    const user = { user: userId(), address: address() };
    const { cities } = await askNew(PER_USER, user);
    expectQuota429(await weather(uniqueCity(), user), 'user');
    for (const city of cities) expect((await weather(city, user)).json).toMatchObject({ cached: true, stale: false });
    expect(await charged(`user:${user.user}`)).toBe(PER_USER);
  });

  test('over its quota, a user asking for a cached but stale city gets the stale report (stale: true), not 429, and no provider call', async () => {
    const user = { user: userId(), address: address() };
    const { cities } = await askNew(PER_USER, user);
    await age(cities[0]);
    const stale = await weather(cities[0], user);
    expect(stale.status).toBe(200);
    expect(stale.json).toMatchObject({ cached: true, stale: true });
    expect(standIn.calls(cities[0])).toBe(1);
    // The next caller under its quota refreshes it.
    expect((await weather(cities[0], { user: userId(), address: address() })).json).toMatchObject({ cached: false, stale: false });
  });

  test('concurrent misses for one city share one refresh: charged once, to the caller that started it', async () => {
    const [first, second] = [
      { user: userId(), address: address() },
      { user: userId(), address: address() },
    ];
    const city = uniqueCity('Together');
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => weather(city, i === 0 ? first : second)));
    expect(statuses(answers)).toEqual(Array(20).fill(200));
    expect(standIn.calls(city)).toBe(1);
    expect((await charged(`user:${first.user}`)) + (await charged(`user:${second.user}`))).toBe(1);
  });

  test(`concurrent claims never exceed the quota: 30 new cities at once from one user, exactly ${PER_USER} answered`, async () => {
    const user = { user: userId(), address: address() };
    const answers = await Promise.all(Array.from({ length: 30 }, () => weather(uniqueCity('Burst'), user)));
    expect(answers.filter((a) => a.status === 200)).toHaveLength(PER_USER);
    expect(answers.filter((a) => a.status === 429)).toHaveLength(30 - PER_USER);
  });

  test('two instances share the quota through Postgres: new cities of one user split across both, exactly the quota answered', async () => {
    const env = { WEATHER_DATABASE_URL: scratch.url };
    const instances = await Promise.all([startWeatherProcess(env), startWeatherProcess(env)]);
    try {
      const user = { user: userId(), address: address() };
      const before = standIn.calls();
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => weather(uniqueCity('Split'), user, instances[i % 2].url)));
      expect(answers.filter((a) => a.status === 200)).toHaveLength(PER_USER);
      expect(answers.filter((a) => a.status === 429)).toHaveLength(20 - PER_USER);
      expect(standIn.calls() - before).toBe(PER_USER);
    } finally {
      await Promise.all(instances.map((i) => i.close()));
    }
  }, 60_000);
});

describe('per-address quota', () => {
  test(`several user ids from one address: ${PER_ADDRESS} new cities in all, then 429 for any of them; another address: 200`, async () => {
    const shared = address();
    const answers: HttpResult[] = [];
    for (let i = 0; i < 4; i++) answers.push(...(await askNew(PER_USER, { user: userId(), address: shared })).answers);
    expect(statuses(answers)).toEqual([...Array(PER_ADDRESS).fill(200), ...Array(4 * PER_USER - PER_ADDRESS).fill(429)]);
    expectQuota429(answers[PER_ADDRESS], 'client address');
    // A fresh account on that address is refused too, and costs its user nothing.
    const fresh = userId();
    expectQuota429(await weather(uniqueCity(), { user: fresh, address: shared }), 'client address');
    expect(await charged(`user:${fresh}`)).toBe(0);
    expect((await weather(uniqueCity(), { user: userId(), address: address() })).status).toBe(200);
  });

  test('IPv6 addresses count by their /64, an IPv4-mapped address as its IPv4 address', async () => {
    const inPrefix = ['2001:db8:aa:1::1', '2001:DB8:AA:1:ffff::9', '2001:0db8:00aa:0001:1:2:3:4'];
    for (const addr of inPrefix) expect(statuses((await askNew(PER_USER, { user: userId(), address: addr })).answers)).toEqual(Array(PER_USER).fill(200));
    expect(await charged('address:2001:db8:aa:1::/64')).toBe(PER_ADDRESS);
    expectQuota429(await weather(uniqueCity(), { user: userId(), address: '2001:db8:aa:1:dead:beef:0:1' }), 'client address');
    expect((await weather(uniqueCity(), { user: userId(), address: '2001:db8:aa:2::1' })).status).toBe(200);

    await weather(uniqueCity(), { user: userId(), address: '::ffff:203.0.113.9' });
    await weather(uniqueCity(), { user: userId(), address: '203.0.113.9' });
    expect(await charged('address:203.0.113.9')).toBe(2);
  });
});

describe('the reserve for refreshing cached cities', () => {
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
  const cacheStale = (city: string) =>
    weatherDatabase().none(`INSERT INTO weather_cache (city_key, report, fetched_at) VALUES ($1, $2, clock_timestamp() - interval '1 day')`, [
      cityKey(city),
      report,
    ]);

  test(`with the new-city share (${BUDGET - RESERVED}) used up, new names get 503 while refreshes of stale cities still get the ${RESERVED} reserved calls`, async () => {
    const known = Array.from({ length: RESERVED + 1 }, () => uniqueCity('Known'));
    for (const city of known) await cacheStale(city);
    // A flood of new names from many users and addresses: each within its quotas, together the whole new-city share.
    const flood: HttpResult[] = [];
    for (let i = 0; i < (BUDGET - RESERVED) / PER_USER; i++) flood.push(...(await askNew(PER_USER, { user: userId(), address: address() })).answers);
    expect(statuses(flood)).toEqual(Array(BUDGET - RESERVED).fill(200));

    const refused = await weather(uniqueCity('Flood'), { user: userId(), address: address() });
    expect(refused.status).toBe(503);
    expect(refused.json.detail).toMatch(/budget/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);

    for (const city of known.slice(0, RESERVED)) {
      const refreshed = await weather(city, { user: userId(), address: address() });
      expect(refreshed.status).toBe(200);
      expect(refreshed.json).toMatchObject({ cached: false, stale: false });
      expect(standIn.calls(city)).toBe(1);
    }
    // The whole budget is spent now: the last known city is served stale, without a provider call.
    const last = await weather(known[RESERVED], { user: userId(), address: address() });
    expect(last.json).toMatchObject({ cached: true, stale: true });
    expect(standIn.calls(known[RESERVED])).toBe(0);
  });

  test('a refresh takes a reserved slot first, leaving the new-city share to new names', async () => {
    const city = uniqueCity('Known');
    await cacheStale(city);
    expect((await weather(city, { user: userId(), address: address() })).json).toMatchObject({ cached: false });
    const used = await weatherDatabase().many<{ slot: number }>(
      `SELECT slot FROM weather_upstream_slots WHERE used_at > clock_timestamp() - interval '1 minute'`,
    );
    expect(used.map((r) => r.slot)).toEqual([expect.any(Number)]);
    expect(used[0].slot).toBeLessThanOrEqual(RESERVED);
  });
});

describe('who the caller is', () => {
  test('a request that names no caller counts under one shared "unattributed" user and address', async () => {
    const { answers } = await askNew(PER_USER, {});
    expect(statuses(answers)).toEqual(Array(PER_USER).fill(200));
    expectQuota429(await weather(uniqueCity()), 'user');
    expect(await charged('user:-')).toBe(PER_USER);
    expect(await charged('address:-')).toBe(PER_USER);
  });

  test.each([
    ['a user id with a space', { 'x-weather-caller-user': 'a b' }, /x-weather-caller-user is not a user id/],
    ['an address that is not an IP address', { 'x-weather-caller-address': 'example.com' }, /x-weather-caller-address is not an IP address/],
  ])('%s: 400 problem+json, no provider call', async (_, headers, detail) => {
    const before = standIn.calls();
    const res = await httpGet(`${service.url}/weather/${encodeURIComponent(uniqueCity())}`, { ...serviceCredential(), ...headers });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(res.json.detail).toMatch(detail);
    expect(standIn.calls()).toBe(before);
  });

  test('caller headers without the service credential are refused with 401 before anything is counted', async () => {
    const res = await httpGet(`${service.url}/weather/${encodeURIComponent(uniqueCity())}`, callerHeaders({ user: userId(), address: address() }));
    expect(res.status).toBe(401);
    expect(await weatherDatabase().one(`SELECT count(*)::int AS n FROM weather_caller_calls`)).toEqual({ n: 0 });
  });
});

describe("through the backend's proxy", () => {
  let proxy: Parameters<typeof invoke>[0];
  beforeAll(() => {
    jest.isolateModules(() => {
      process.env.WEATHER_SERVICE_URL = service.url;
      proxy = require('../../functions/weather-proxy/get').handler;
    });
  });
  const viaProxy = (city: string, headers: Record<string, string>, sourceIp?: string) =>
    invoke(proxy, { method: 'GET', path: `/weather/${encodeURIComponent(city)}`, pathParameters: { city }, headers, sourceIp });

  test("the backend names its user: past the user's quota its 429 is passed on with Retry-After; another user's new city: 200", async () => {
    const [alice, bob] = [await createUser('quota'), await createUser('quota')];
    for (let i = 0; i < PER_USER; i++) expect((await viaProxy(uniqueCity(), alice.auth)).status).toBe(200);
    expect(await charged(`user:${alice.id}`)).toBe(PER_USER);
    const over = await viaProxy(uniqueCity(), alice.auth);
    expect(over.status).toBe(429);
    expect(over.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(over.json.detail).toMatch(new RegExp(`quota of ${PER_USER} lookups of uncached cities a minute per user`));
    expect(Number(over.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await viaProxy(uniqueCity(), bob.auth)).status).toBe(200);
  });

  test("the client's address is the connection's (API Gateway's sourceIp), never what the client writes in X-Forwarded-For", async () => {
    const user = await createUser('quota');
    expect((await viaProxy(uniqueCity(), user.auth, '198.51.100.7')).status).toBe(200);
    expect(await charged('address:198.51.100.7')).toBe(1);
    expect((await viaProxy(uniqueCity(), { ...user.auth, 'x-forwarded-for': '192.0.2.1, 203.0.113.77' }, '198.51.100.7')).status).toBe(200);
    expect(await charged('address:198.51.100.7')).toBe(2);
    expect(await charged('address:203.0.113.77')).toBe(0);
    expect(await charged('address:192.0.2.1')).toBe(0);
  });
});
