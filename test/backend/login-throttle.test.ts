// The per-username throttle of failed logins, through the token handler with the real Postgres.
// Small settings keep it quick: 3 failures in a 6 s window, then one try per 2 s.
process.env.LOGIN_THROTTLE_FAILURES = '3';
process.env.LOGIN_THROTTLE_WINDOW_SECONDS = '6';
process.env.LOGIN_THROTTLE_DELAY_SECONDS = '2';

import bcrypt from 'bcrypt';
import { handler as token } from '../../functions/auth/token';
import { appDatabase } from '../../functions/deps';
import { captureLogs, invoke } from '../support/lambda';
import { createUser, uniqueName } from '../support/users';

const login = (username: string, password: string) => invoke(token, { method: 'POST', path: '/token', form: { username, password } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function failTimes(username: string, times: number) {
  for (let i = 0; i < times; i++) expect((await login(username, 'not the password')).status).toBe(401);
}

describe('failed-login throttle per username', () => {
  afterEach(() => jest.restoreAllMocks());

  test('after 3 failures the next try is 429 problem+json with Retry-After, before any bcrypt work', async () => {
    const user = await createUser('victim');
    await failTimes(user.username, 3);
    const compare = jest.spyOn(bcrypt, 'compare');
    const res = await login(user.username, user.password); // even the right password waits its turn
    expect(res.status).toBe(429);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(2);
    expect(res.json).toMatchObject({ status: 429, title: 'Too Many Requests' });
    expect(compare).not.toHaveBeenCalled();
  });

  test('answers a known and an unknown username alike', async () => {
    const known = await createUser('known');
    const unknown = uniqueName('ghost');
    await failTimes(known.username, 3);
    await failTimes(unknown, 3);
    const [a, b] = [await login(known.username, 'guess 12345'), await login(unknown, 'guess 12345')];
    expect([a.status, b.status]).toEqual([429, 429]);
    const strip = ({ request_id: _, ...rest }: Record<string, unknown>) => rest;
    expect(strip(a.json)).toEqual(strip(b.json));
  });

  test('is case-insensitive: other spellings of the name share its count', async () => {
    const user = await createUser('casey');
    await failTimes(user.username.toUpperCase(), 2);
    await failTimes(user.username, 1);
    expect((await login(user.username.toLowerCase(), 'again wrong')).status).toBe(429);
  });

  test('lets one try through per delay, and of concurrent tries exactly one', async () => {
    const user = await createUser('spaced');
    await failTimes(user.username, 3);
    expect((await login(user.username, user.password)).status).toBe(429);
    await sleep(2100);
    const burst = await Promise.all(Array.from({ length: 8 }, () => login(user.username, 'wrong again!')));
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses).toEqual([401, 429, 429, 429, 429, 429, 429, 429]);
    await sleep(2100);
    expect((await login(user.username, user.password)).status).toBe(200); // the real user gets in between guesses
  });

  test('a success resets the count', async () => {
    const user = await createUser('resets');
    await failTimes(user.username, 2);
    expect((await login(user.username, user.password)).status).toBe(200);
    await failTimes(user.username, 2);
    expect((await login(user.username, user.password)).status).toBe(200);
  });

  test('is lifted when the window is over, and the expired row is removed', async () => {
    const user = await createUser('lifted');
    await failTimes(user.username, 3);
    expect((await login(user.username, user.password)).status).toBe(429);
    await sleep(6100);
    await login(uniqueName('other'), 'some wrong one'); // another failure sweeps expired rows
    const left = await appDatabase().any('SELECT 1 FROM login_throttle WHERE username = $1', [user.username.toLowerCase()]);
    expect(left).toHaveLength(0);
    expect((await login(user.username, user.password)).status).toBe(200);
  });

  test('tracks only names that could be registered', async () => {
    const bad = `${'x'.repeat(40)} with spaces`;
    for (let i = 0; i < 4; i++) expect((await login(bad, 'not the password')).status).toBe(401);
    const rows = await appDatabase().any('SELECT username FROM login_throttle WHERE username LIKE $1', ['xxxx%']);
    expect(rows).toEqual([]);
  });

  test('logs throttled tries as failed logins with reason "throttled", never the password', async () => {
    const user = await createUser('logged');
    await failTimes(user.username, 3);
    const logs = captureLogs();
    await login(user.username, 'secret-guess-123');
    logs.restore();
    expect(logs.events('auth.login_failed')).toEqual([expect.objectContaining({ username: user.username, reason: 'throttled' })]);
    expect(logs.raw.join('')).not.toContain('secret-guess-123');
  });
});
