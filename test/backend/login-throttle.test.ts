// The login throttle at its default numbers, through the token handler with the real Postgres: a stranger's failures
// slow the stranger's address only (counter 1: 5 per account and address, the /48 at 20), spraying slows the address
// (counter 2: 30 across accounts), and every slowdown is a 429 with Retry-After, before any bcrypt work.
import bcrypt from 'bcrypt';
import { appDatabase } from '../../functions/deps';
import { captureLogs, type Answer } from '../support/lambda';
import { createUser, login, uniqueName } from '../support/users';

const WRONG = 'not the password';
let nextAddress = 1;
/** A documentation address (RFC 5737) not used before in this file. */
const freshV4 = () => `203.0.113.${nextAddress++}`;
let nextNetwork = 0x100;
/** A /48 of the IPv6 documentation prefix (RFC 3849) not used before in this file. */
const freshNetwork = () => `2001:db8:${(nextNetwork++).toString(16)}`;

async function failTimes(username: string, times: number, from: () => string) {
  for (let i = 0; i < times; i++) expect((await login(username, WRONG, { from: from() })).status).toBe(401);
}

function expectTooMany(answer: Answer, retryAfter: number, detail: RegExp) {
  expect(answer.status).toBe(429);
  expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(answer.headers['retry-after']).toBe(String(retryAfter));
  expect(answer.json).toMatchObject({ status: 429, title: 'Too Many Requests', detail: expect.stringMatching(detail) });
}

afterEach(() => jest.restoreAllMocks());

describe('counter 1: per account and client address', () => {
  test("30 wrong passwords from one address slow that address only: the owner's right password from another is 200 at once", async () => {
    const owner = await createUser('owner');
    const attacker = freshV4();
    const compare = jest.spyOn(bcrypt, 'compare');
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await login(owner.username, `guess-${i}-wrong`, { from: attacker })).status);
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(25).fill(429)]);
    // Only the first five reached a password check.
    expect(compare).toHaveBeenCalledTimes(5);
    expect((await login(owner.username, owner.password, { from: freshV4() })).status).toBe(200);
    // The attacker's address waits, even with the right password: 30 s after its fifth failure.
    expectTooMany(await login(owner.username, owner.password, { from: attacker }), 30, /for this username from this address/);
  });

  test('a success resets that address’s count for the account', async () => {
    const user = await createUser('resets');
    const from = freshV4();
    await failTimes(user.username, 4, () => from);
    expect((await login(user.username, user.password, { from })).status).toBe(200);
    await failTimes(user.username, 4, () => from);
    expect((await login(user.username, user.password, { from })).status).toBe(200);
  });

  test('is case-insensitive: every spelling of a name is one account', async () => {
    const user = await createUser('casey');
    const from = freshV4();
    await failTimes(user.username.toUpperCase(), 3, () => from);
    await failTimes(user.username, 2, () => from);
    expect((await login(user.username.toLowerCase(), WRONG, { from })).status).toBe(429);
  });

  test('answers a known and an unknown username alike: same status, body and headers', async () => {
    const known = await createUser('known');
    const unknown = uniqueName('ghost');
    const [fromA, fromB] = [freshV4(), freshV4()];
    await failTimes(known.username, 5, () => fromA);
    await failTimes(unknown, 5, () => fromB);
    const [a, b] = [await login(known.username, 'guess 12345', { from: fromA }), await login(unknown, 'guess 12345', { from: fromB })];
    expect([a.status, b.status]).toEqual([429, 429]);
    const strip = ({ request_id: _, ...rest }: Record<string, unknown>) => rest;
    expect(strip(a.json)).toEqual(strip(b.json));
    const headers = (x: Answer) =>
      Object.keys(x.headers)
        .filter((h) => h !== 'x-request-id')
        .sort();
    expect(headers(a)).toEqual(headers(b));
    expect(a.headers['retry-after']).toBe(b.headers['retry-after']);
  });

  test('logs throttled tries as failed logins with reason "throttled", naming only an existing account, never the password', async () => {
    const user = await createUser('logged');
    const from = freshV4();
    await failTimes(user.username, 5, () => from);
    await failTimes('Hunter2Summer2024', 5, () => from);
    const logs = captureLogs();
    await login(user.username, 'secret-guess-123', { from });
    await login('Hunter2Summer2024', 'secret-guess-456', { from });
    logs.restore();
    expect(logs.events('auth.login_failed')).toEqual([
      expect.objectContaining({ username: user.username, reason: 'throttled' }),
      expect.objectContaining({ username: 'unknown', reason: 'throttled' }),
    ]);
    for (const secret of ['secret-guess-123', 'secret-guess-456', 'Hunter2Summer2024']) expect(logs.raw.join('')).not.toContain(secret);
  });

  test('stores no name a client typed: a name without an account is counted under a keyed digest bucket', async () => {
    const typed = `Hunter2${uniqueName('x')}`.slice(0, 32);
    await failTimes(typed, 2, freshV4);
    const rows = await appDatabase().any<{ scope: string; key: string }>('SELECT scope, key FROM login_counters WHERE key ILIKE $1', [`%${typed}%`]);
    expect(rows).toEqual([]);
    const buckets = await appDatabase().any<{ key: string }>("SELECT key FROM login_counters WHERE scope = 'account' AND key LIKE 'unknown:%'");
    expect(buckets.length).toBeGreaterThan(0);
    for (const { key } of buckets) expect(key).toMatch(/^unknown:[0-9a-f]{4}$/);
  });
});

describe('IPv6: counted per /64, and per /48 at four times the numbers', () => {
  test('two addresses in one /64 share a count; another /64 of that /48 is not held up by it', async () => {
    const user = await createUser('six');
    const net = freshNetwork();
    await failTimes(user.username, 3, () => `${net}:1::1`);
    await failTimes(user.username, 2, () => `${net}:1:ffff:ffff:ffff:ffff`);
    expectTooMany(await login(user.username, user.password, { from: `${net}:1::abcd` }), 30, /from this address/);
    expect((await login(user.username, user.password, { from: `${net}:2::1` })).status).toBe(200);
  });

  test('20 failures from 20 /64s of one /48 slow the whole /48 for that account; a /64 of another /48 logs in', async () => {
    const user = await createUser('net');
    const net = freshNetwork();
    for (let i = 1; i <= 20; i++) expect((await login(user.username, WRONG, { from: `${net}:${i.toString(16)}::1` })).status).toBe(401);
    expectTooMany(await login(user.username, user.password, { from: `${net}:ff::1` }), 30, /from this network/);
    // 20 untrusted failures also slow the account for clients without its device token (counter 3): the owner sends it.
    expect((await login(user.username, user.password, { from: `${freshNetwork()}:1::1`, deviceToken: user.deviceToken })).status).toBe(200);
  });

  test('an IPv4-mapped IPv6 address is the IPv4 address', async () => {
    const user = await createUser('mapped');
    const v4 = freshV4();
    await failTimes(user.username, 3, () => v4);
    await failTimes(user.username, 2, () => `::ffff:${v4}`);
    expect((await login(user.username, user.password, { from: v4 })).status).toBe(429);
  });
});

describe('counter 2: per client address across accounts', () => {
  test('one password tried over 40 usernames from one address: 429 from the 31st on, before any bcrypt work', async () => {
    const sprayer = freshV4();
    const statuses: number[] = [];
    const compare = jest.spyOn(bcrypt, 'compare');
    for (let i = 0; i < 40; i++) statuses.push((await login(uniqueName(`sprayed${i}`), 'Summer2024!', { from: sprayer })).status);
    expect(statuses).toEqual([...Array(30).fill(401), ...Array(10).fill(429)]);
    expect(compare).toHaveBeenCalledTimes(30);
    expectTooMany(await login(uniqueName('next'), 'Summer2024!', { from: sprayer }), 30, /^too many failed logins from this address/);
    // Another address is not held up.
    expect((await login(uniqueName('elsewhere'), 'Summer2024!', { from: freshV4() })).status).toBe(401);
  });
});

describe('the client address is the connection’s', () => {
  test('a client-sent X-Forwarded-For, X-Real-IP or Forwarded changes no count: not its own, not the address it names', async () => {
    const victim = await createUser('victim');
    const [attacker, victimAddress] = [freshV4(), freshV4()];
    for (let i = 0; i < 5; i++) {
      const forged = { 'x-forwarded-for': `${victimAddress}, 10.0.0.${i}`, 'x-real-ip': victimAddress, forwarded: `for=${victimAddress}` };
      expect((await login(victim.username, WRONG, { from: attacker, headers: forged })).status).toBe(401);
    }
    // Counted at the attacker's connection whatever it claims to be...
    const claimed = { 'x-forwarded-for': freshV4(), 'x-real-ip': freshV4(), forwarded: `for=${freshV4()}` };
    expect((await login(victim.username, WRONG, { from: attacker, headers: claimed })).status).toBe(429);
    // ...and never at the address it named.
    expect((await login(victim.username, victim.password, { from: victimAddress })).status).toBe(200);
  });
});
