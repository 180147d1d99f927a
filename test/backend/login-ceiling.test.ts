// The account-wide ceiling (counter 3: NIST SP 800-63B, at most 100 failures that reached a password check) and the
// one kind of trust that passes it, device tokens. The slowdown before the ceiling is turned off here
// (LOGIN_ACCOUNT_SLOWDOWN_FAILURES = the ceiling), so that concurrent guesses meet the ceiling itself.
process.env.LOGIN_ACCOUNT_SLOWDOWN_FAILURES = '100';
process.env.DEVICE_TOKEN_MAX_FAILURES = '3';
process.env.BCRYPT_QUEUE_MAX = '1000';

import bcrypt from 'bcrypt';
import jwt from 'jsonwebtoken';
import { handler as deleteHandler } from '../../functions/users/delete';
import { deviceTokenSecret } from '../../functions/deps';
import { invoke, freshSourceIp, type Answer } from '../support/lambda';
import { createUser, login, registerUser, uniqueName, type TestUser } from '../support/users';

const WRONG = 'not the password';
const CEILING = 100;
const DAY = 86_400;
/** LOGIN_ACCOUNT_SLOWDOWN_DELAY_SECONDS: the wait the ceiling's try starts, after which its 24 h run */
const LAST_WAIT = 180;

/** `n` wrong passwords for `username` from `n` addresses, `concurrency` at a time; their statuses. */
async function guessFromMany(username: string, n: number, concurrency = 25): Promise<number[]> {
  const statuses: number[] = [];
  for (let sent = 0; sent < n; sent += concurrency) {
    const batch = Array.from({ length: Math.min(concurrency, n - sent) }, (_, i) => login(username, `guess-${sent + i}`, { from: freshSourceIp() }));
    statuses.push(...(await Promise.all(batch)).map((r) => r.status));
  }
  return statuses;
}

const count = (statuses: number[], status: number) => statuses.filter((s) => s === status).length;

function expectCeiling(answer: Answer) {
  expect(answer.status).toBe(429);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(Number(answer.headers['retry-after'])).toBeGreaterThan(DAY);
  expect(Number(answer.headers['retry-after'])).toBeLessThanOrEqual(DAY + LAST_WAIT);
}

afterEach(() => jest.restoreAllMocks());

describe('the account-wide ceiling', () => {
  test('200 wrong passwords from 200 addresses, 25 at a time: exactly 100 reach a password check; then only a device token gets in', async () => {
    const owner = await createUser('besieged');
    const compare = jest.spyOn(bcrypt, 'compare');
    const statuses = await guessFromMany(owner.username, 200);
    expect([count(statuses, 401), count(statuses, 429)]).toEqual([CEILING, 200 - CEILING]);
    expect(compare).toHaveBeenCalledTimes(CEILING);
    // The right password from a client without the account's device token: refused until the count decays (24 h)...
    expectCeiling(await login(owner.username, owner.password, { from: freshSourceIp() }));
    // ...while the owner's device, by field or by cookie, logs in.
    expect((await login(owner.username, owner.password, { from: freshSourceIp(), cookies: [`device_token=${owner.deviceToken}`] })).status).toBe(200);
    expect((await login(owner.username, owner.password, { from: freshSourceIp(), deviceToken: owner.deviceToken })).status).toBe(200);
    // A trusted login starts the count over: a new client gets in again.
    expect((await login(owner.username, owner.password, { from: freshSourceIp() })).status).toBe(200);
  });

  test('a name without an account meets the same ceiling, with the same answer', async () => {
    const [known, unknown] = [await createUser('known'), uniqueName('nobody')];
    await guessFromMany(known.username, CEILING);
    await guessFromMany(unknown, CEILING);
    const [a, b] = [await login(known.username, WRONG, { from: freshSourceIp() }), await login(unknown, WRONG, { from: freshSourceIp() })];
    expectCeiling(a);
    expectCeiling(b);
    // Alike but for the request id and the second the wait was measured at.
    const strip = ({ request_id: _, detail, ...rest }: Record<string, unknown>) => ({ ...rest, detail: String(detail).replace(/\d+ s$/, 'N s') });
    expect(strip(a.json)).toEqual(strip(b.json));
  });
});

describe('device tokens', () => {
  let owner: TestUser;
  beforeAll(async () => {
    owner = await createUser('device');
    await guessFromMany(owner.username, CEILING);
  });
  const withDeviceToken = (deviceToken: string) => login(owner.username, owner.password, { from: freshSourceIp(), deviceToken });

  test('are issued with every login, as a field and as a Secure, HttpOnly, SameSite=Strict cookie for /token only, bound to the user id for 30 days', async () => {
    const user = await createUser('issued');
    const res = await login(user.username, user.password);
    expect(res.status).toBe(200);
    expect(res.cookies).toEqual([`device_token=${res.json.device_token}; Max-Age=${30 * DAY}; Path=/token; Secure; HttpOnly; SameSite=Strict`]);
    expect(res.headers['cache-control']).toBe('no-store');
    const claims = jwt.verify(res.json.device_token, deviceTokenSecret(), { algorithms: ['HS256'] }) as jwt.JwtPayload;
    expect(claims).toMatchObject({ sub: user.id, aud: 'device', jti: expect.any(String) });
    expect(claims.exp! - claims.iat!).toBe(30 * DAY);
    expect(res.json.device_token).not.toBe(user.deviceToken);
  });

  const forged: Array<[string, () => string]> = [
    [
      'expired',
      () => jwt.sign({}, deviceTokenSecret(), { subject: owner.id, audience: 'device', issuer: 'weather-users-platform', jwtid: 'x', expiresIn: -10 }),
    ],
    [
      'signed with another key',
      () => jwt.sign({}, 'another key of at least thirty-two bytes!', { subject: owner.id, audience: 'device', issuer: 'weather-users-platform', jwtid: 'x' }),
    ],
    [
      'tampered with',
      () => {
        const [header, , signature] = owner.deviceToken.split('.');
        const payload = Buffer.from(JSON.stringify({ sub: owner.id, aud: 'device', jti: 'x', exp: 9_999_999_999 })).toString('base64url');
        return `${header}.${payload}.${signature}`;
      },
    ],
    ["the account's access token", () => owner.token],
    ['not a token at all', () => 'device_token'],
    ['2 kB of noise', () => 'x'.repeat(2048)],
  ];
  test.each(forged)('one %s gives no trust, and no error', async (_, token) => {
    expectCeiling(await withDeviceToken(token()));
    expectCeiling(await login(owner.username, owner.password, { from: freshSourceIp(), cookies: [`device_token=${token()}`] }));
  });

  test('are bound to the account, not the name: deleted and registered again, the name is another account', async () => {
    const first = await createUser('reborn');
    expect(
      (await invoke(deleteHandler, { method: 'DELETE', path: `/user/${first.id}`, pathParameters: { user_id: first.id }, headers: first.auth })).status,
    ).toBe(204);
    const password = 'the second owner';
    await registerUser(first.username, password);
    await guessFromMany(first.username, CEILING);
    expectCeiling(await login(first.username, password, { from: freshSourceIp(), deviceToken: first.deviceToken }));
  });

  test('one that failed 3 times is no longer trusted; the account’s other devices still are', async () => {
    const user = await createUser('stolen');
    const stolen = user.deviceToken;
    const kept = (await login(user.username, user.password)).json.device_token as string;
    await guessFromMany(user.username, CEILING);
    // The thief has the password wrong, and the device token of the owner: that passes the ceiling, three times.
    for (let i = 0; i < 3; i++) expect((await login(user.username, WRONG, { from: freshSourceIp(), deviceToken: stolen })).status).toBe(401);
    expectCeiling(await login(user.username, user.password, { from: freshSourceIp(), deviceToken: stolen }));
    expect((await login(user.username, user.password, { from: freshSourceIp(), deviceToken: kept })).status).toBe(200);
  });
});
