// How the login throttle's waits go, with small numbers so the clock can be watched: counter 1 (3 failures per
// account and address, then 1 s doubling up to 4 s, starting over 3 s after a wait ends) and counter 3 (untrusted
// failures per account: spaced 2 s apart past 6, refused at 9, starting over 4 s after the last). Concurrent tries
// are judged by single row-locked statements: exactly one wins a slot, and no failure is lost.
process.env.LOGIN_THROTTLE_FAILURES = '3';
process.env.LOGIN_THROTTLE_DELAY_SECONDS = '1';
process.env.LOGIN_THROTTLE_MAX_DELAY_SECONDS = '4';
process.env.LOGIN_THROTTLE_WINDOW_SECONDS = '3';
process.env.LOGIN_THROTTLE_ADDRESS_FAILURES = '1000';
process.env.LOGIN_ACCOUNT_SLOWDOWN_FAILURES = '6';
process.env.LOGIN_ACCOUNT_SLOWDOWN_DELAY_SECONDS = '2';
process.env.LOGIN_ACCOUNT_MAX_FAILURES = '9';
process.env.LOGIN_ACCOUNT_WINDOW_SECONDS = '4';
process.env.DEVICE_TOKEN_MAX_FAILURES = '1000';

import bcrypt from 'bcrypt';
import { appDatabase, passwords } from '../../functions/deps';
import { HttpProblem } from '../../layers/problems';
import { freshSourceIp } from '../support/lambda';
import { createUser, login, type TestUser } from '../support/users';

const WRONG = 'not the password';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let next = 1;
const freshV4 = () => `198.51.100.${next++}`;

/** A try with the user's device token: counter 3 lets it through, so only counter 1 judges it. */
const trusted = (user: TestUser, password: string, from: string) => login(user.username, password, { from, deviceToken: user.deviceToken });

afterEach(() => jest.restoreAllMocks());

describe('counter 1: per account and address', () => {
  test('after 3 failures the address waits 1 s, then 2 s, 4 s, 4 s (capped); a device token does not shorten it; no waiting try costs bcrypt', async () => {
    const user = await createUser('grows');
    const from = freshV4();
    for (let i = 0; i < 3; i++) expect((await trusted(user, WRONG, from)).status).toBe(401);
    const compare = jest.spyOn(bcrypt, 'compare');
    const waits: string[] = [];
    for (let round = 0; round < 4; round++) {
      const refused = await trusted(user, user.password, from);
      expect(refused.status).toBe(429);
      waits.push(refused.headers['retry-after']);
      await sleep(Number(refused.headers['retry-after']) * 1000 + 150);
      expect((await trusted(user, WRONG, from)).status).toBe(401); // the one try its wait lets through
    }
    expect(waits).toEqual(['1', '2', '4', '4']);
    expect(compare).toHaveBeenCalledTimes(4);
  });

  test('starts over once its window has passed since the last wait ended', async () => {
    const user = await createUser('over');
    const from = freshV4();
    for (let i = 0; i < 3; i++) expect((await trusted(user, WRONG, from)).status).toBe(401);
    expect((await trusted(user, WRONG, from)).status).toBe(429);
    await sleep(1000 + 3000 + 200);
    for (let i = 0; i < 3; i++) expect((await trusted(user, WRONG, from)).status).toBe(401);
    expect((await trusted(user, WRONG, from)).headers['retry-after']).toBe('1');
  });

  test('of concurrent tries for the slot a wait frees, exactly one is let through', async () => {
    const user = await createUser('race');
    const from = freshV4();
    for (let i = 0; i < 3; i++) expect((await trusted(user, WRONG, from)).status).toBe(401);
    await sleep(1150);
    const burst = await Promise.all(Array.from({ length: 8 }, () => trusted(user, WRONG, from)));
    expect(burst.map((r) => r.status).sort()).toEqual([401, 429, 429, 429, 429, 429, 429, 429]);
  });

  test('concurrent failures are all counted: none is lost to another', async () => {
    const user = await createUser('counted');
    const from = freshV4();
    // Below the threshold nothing waits yet: all ten reach a password check, and all ten are counted.
    const burst = await Promise.all(Array.from({ length: 10 }, () => trusted(user, WRONG, from)));
    const reached = burst.filter((r) => r.status === 401).length;
    const row = await appDatabase().one<{ failures: number }>("SELECT failures FROM login_counters WHERE scope = 'account+address' AND key = $1", [
      `user:${user.id}|${from}`,
    ]);
    expect(row.failures).toBe(reached);
    expect(reached).toBeGreaterThanOrEqual(3);
  });

  test('rows past their time are deleted as later failures are recorded', async () => {
    const user = await createUser('swept');
    const from = freshV4();
    expect((await trusted(user, WRONG, from)).status).toBe(401);
    const key = `user:${user.id}|${from}`;
    const rows = () => appDatabase().any("SELECT 1 FROM login_counters WHERE scope = 'account+address' AND key = $1", [key]);
    expect(await rows()).toHaveLength(1);
    await sleep(3000 + 200);
    // Each recorded failure deletes up to 100 expired rows, oldest first (other files' rows expire too).
    for (let i = 0; i < 20 && (await rows()).length > 0; i++) await login(`ghost_${i}_${next}`, WRONG, { from: freshSourceIp() });
    expect(await rows()).toHaveLength(0);
  });
});

describe('counter 3: untrusted failures per account', () => {
  /** `n` wrong passwords for the account from `n` addresses, none with its device token. */
  const failFromMany = async (user: TestUser, n: number) => {
    for (let i = 0; i < n; i++) expect((await login(user.username, WRONG, { from: freshSourceIp() })).status).toBe(401);
  };

  test('past 6, untrusted clients wait 2 s between tries of the account; its device token goes through, and its success starts the count over', async () => {
    const user = await createUser('slowed');
    await failFromMany(user, 6);
    const refused = await login(user.username, user.password, { from: freshSourceIp() });
    expect(refused.status).toBe(429);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.json.detail).toMatch(/for this username from devices it has not signed in from/);
    expect((await trusted(user, user.password, freshSourceIp())).status).toBe(200);
    expect((await login(user.username, user.password, { from: freshSourceIp() })).status).toBe(200);
  });

  test('while slowed, of concurrent untrusted tries exactly one reaches a password check per 2 s', async () => {
    const user = await createUser('spaced');
    await failFromMany(user, 6);
    await sleep(2150);
    const compare = jest.spyOn(bcrypt, 'compare');
    const burst = await Promise.all(Array.from({ length: 6 }, () => login(user.username, WRONG, { from: freshSourceIp() })));
    expect(burst.map((r) => r.status).sort()).toEqual([401, 429, 429, 429, 429, 429]);
    expect(compare).toHaveBeenCalledTimes(1);
  });

  test('a try that never reached its password check (the bcrypt line was full: 503) is not counted', async () => {
    const user = await createUser('overloaded');
    jest.spyOn(passwords, 'verify').mockRejectedValue(new HttpProblem(503, 'password checks are overloaded, try again shortly', { 'retry-after': '1' }));
    for (let i = 0; i < 10; i++) expect((await login(user.username, user.password, { from: freshSourceIp() })).status).toBe(503);
    jest.restoreAllMocks();
    const row = await appDatabase().oneOrNone<{ failures: number }>("SELECT failures FROM login_counters WHERE scope = 'account' AND key = $1", [
      `user:${user.id}`,
    ]);
    expect(row?.failures ?? 0).toBe(0);
    expect((await login(user.username, WRONG, { from: freshSourceIp() })).status).toBe(401);
  });

  test('at 9 every untrusted try is refused until the count starts over, 4 s after its last try', async () => {
    const user = await createUser('ceiling');
    await failFromMany(user, 6);
    for (let i = 0; i < 3; i++) {
      await sleep(2150);
      expect((await login(user.username, WRONG, { from: freshSourceIp() })).status).toBe(401);
    }
    await sleep(2150); // the spacing is over: what refuses now is the ceiling
    const refused = await login(user.username, user.password, { from: freshSourceIp() });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(4);
    await sleep(Number(refused.headers['retry-after']) * 1000 + 150);
    expect((await login(user.username, user.password, { from: freshSourceIp() })).status).toBe(200);
  });
});
