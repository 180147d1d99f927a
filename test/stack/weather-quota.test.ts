// The per-caller quotas on provider calls in the running stack: HAProxy → two backends → the loopback balancer →
// two weather replicas sharing weather_db. The client address is the one HAProxy saw (a loopback address of this
// file's own, so other test files' lookups from 127.0.0.1 never count against it).
import { randomInt } from 'node:crypto';
import { request } from 'node:http';
import { closeDatabases, weatherDatabase } from '../../functions/weather/deps';
import { registerThroughApi, startTestStack, type TestStack } from '../support/stack';

jest.setTimeout(300_000);

const PER_USER = 10;
const PER_ADDRESS = 30;
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({
    env: {
      WEATHER_REPLICAS: '2',
      WEATHER_MISSES_PER_USER_PER_MINUTE: String(PER_USER),
      WEATHER_MISSES_PER_ADDRESS_PER_MINUTE: String(PER_ADDRESS),
      // The edge's per-address weather limit (60 per 10 s) would answer first: raised, so the 429 seen is the function's.
      RATE_LIMIT_WEATHER_REQUESTS: '1000',
    },
  });
});
afterAll(async () => {
  await stack?.stop();
  await closeDatabases();
});

/** A loopback source address no other test uses (all of 127/8 reaches HAProxy's 127.0.0.1). */
const clientAddress = () => `127.${randomInt(100, 250)}.${randomInt(1, 250)}.${randomInt(1, 250)}`;

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  json: any;
}

/** GET through HAProxy from `from`. */
function get(path: string, token: string, from: string): Promise<Answer> {
  const { hostname, port } = new URL(stack.urls.api);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, localAddress: from, headers: { authorization: `Bearer ${token}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, json: JSON.parse(text) }));
    });
    req.on('error', reject).end();
  });
}

const register = () => registerThroughApi(stack.urls.api, 'quota');

const LETTERS = 'abcdefghijklmnopqrstuvwxyz';
const madeUpCity = () => `Quotaville ${Array.from({ length: 10 }, () => LETTERS[randomInt(26)]).join('')}`;
const lookUp = (token: string, from: string) => get(`/weather/${encodeURIComponent(madeUpCity())}`, token, from);

const charged = async (key: string) =>
  (
    await weatherDatabase().one<{ n: number }>(
      `SELECT coalesce((SELECT count(*) FROM weather_caller_calls, unnest(calls) t WHERE caller = $1 AND t > clock_timestamp() - interval '1 minute'), 0)::int AS n`,
      [key],
    )
  ).n;

function expectQuota429(answer: Answer, per: string, limit: number) {
  expect(answer.status).toBe(429);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  // The function's problem (the edge's own 429 says "too many weather lookups from this address").
  expect(answer.json.detail).toMatch(new RegExp(`quota of ${limit} lookups of uncached cities a minute per ${per} is used up`));
  expect(Number(answer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(60);
}

test(`one user's 60 made-up cities in a minute: ${PER_USER} × 200, then 429 with Retry-After; another user's new city: 200`, async () => {
  const from = clientAddress();
  const [attacker, other] = [await register(), await register()];
  const answers: Answer[] = [];
  for (let i = 0; i < 60; i++) answers.push(await lookUp(attacker.token, from));
  expect(answers.map((a) => a.status)).toEqual([...Array(PER_USER).fill(200), ...Array(60 - PER_USER).fill(429)]);
  expectQuota429(answers[PER_USER], 'user', PER_USER);
  expectQuota429(answers[59], 'user', PER_USER);

  const never = await lookUp(other.token, from);
  expect(never.status).toBe(200);
  expect(never.json).toMatchObject({ cached: false, stale: false });
  // Counted under the address HAProxy saw, across both weather replicas.
  expect(await charged(`user:${attacker.id}`)).toBe(PER_USER);
  expect(await charged(`address:${from}`)).toBe(PER_USER + 1);
});

test(`several accounts from one address: ${PER_ADDRESS} new cities in all, then 429; a user from another address: 200`, async () => {
  const from = clientAddress();
  const users = [await register(), await register(), await register(), await register()];
  const statuses: number[] = [];
  let firstRefusal: Answer | undefined;
  for (const user of users)
    for (let i = 0; i < PER_USER; i++) {
      const answer = await lookUp(user.token, from);
      statuses.push(answer.status);
      if (answer.status === 429) firstRefusal ??= answer;
    }
  expect(statuses).toEqual([...Array(PER_ADDRESS).fill(200), ...Array(users.length * PER_USER - PER_ADDRESS).fill(429)]);
  expectQuota429(firstRefusal!, 'client address', PER_ADDRESS);
  expect((await lookUp(users[3].token, clientAddress())).status).toBe(200);
});
