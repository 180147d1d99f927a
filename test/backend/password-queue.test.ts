// The line in front of bcrypt is bounded in length and in waiting time: under a burst some answers are a quick
// 503 with Retry-After, the accepted ones complete, and a request that gave up never runs bcrypt afterwards.
process.env.BCRYPT_COST = '10'; // real cost: ~70 ms a hash, so a burst really queues
process.env.BCRYPT_QUEUE_MAX = '10';
process.env.BCRYPT_QUEUE_TIMEOUT_MS = '400';
// 60 logins of one account at once, without its device token, would meet the account's counter of untrusted tries
// (a try in flight counts until it succeeds): this file is about the bcrypt line.
process.env.LOGIN_ACCOUNT_SLOWDOWN_FAILURES = '1000';
process.env.LOGIN_ACCOUNT_MAX_FAILURES = '1000';

import bcrypt from 'bcrypt';
import { handler as token } from '../../functions/auth/token';
import { passwords } from '../../functions/deps';
import { HttpProblem } from '../../layers/problems';
import { invoke } from '../support/lambda';
import { createUser, type TestUser } from '../support/users';

const realCompare = bcrypt.compare.bind(bcrypt) as (data: string, encrypted: string) => Promise<boolean>;

function countCompares(gate?: Promise<void>) {
  const calls = { count: 0 };
  jest.spyOn(bcrypt, 'compare').mockImplementation((async (data: string, encrypted: string) => {
    calls.count++;
    await gate;
    return realCompare(data, encrypted);
  }) as typeof bcrypt.compare);
  return calls;
}

let user: TestUser;
beforeAll(async () => {
  user = await createUser('burst');
});
afterEach(() => jest.restoreAllMocks());

describe('the bcrypt queue under overload', () => {
  test('a 60-request /token burst: some 503 problem+json with Retry-After, no 500, the accepted ones complete', async () => {
    const compares = countCompares();
    const burst = await Promise.all(
      Array.from({ length: 60 }, () => invoke(token, { method: 'POST', path: '/token', form: { username: user.username, password: user.password } })),
    );
    const ok = burst.filter((r) => r.status === 200);
    const refused = burst.filter((r) => r.status === 503);
    expect(ok.length + refused.length).toBe(60);
    expect(refused.length).toBeGreaterThan(0);
    expect(ok.length).toBeGreaterThanOrEqual(3);
    for (const res of refused) {
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.headers['cache-control']).toBe('no-store');
    }
    for (const res of ok) expect(res.json.token_type).toBe('bearer');
    expect(compares.count).toBe(ok.length); // a refused request never reached bcrypt
    expect(passwords.queue()).toEqual({ running: 0, waiting: 0 });
  });

  test('a request that waited past BCRYPT_QUEUE_TIMEOUT_MS is refused and never runs bcrypt later', async () => {
    const hash = await bcrypt.hash('correct horse battery', 4);
    let open!: () => void;
    const compares = countCompares(new Promise<void>((resolveGate) => (open = resolveGate)));
    const started = Date.now();
    // 3 run (held at the gate), 5 wait in line and time out.
    const attempts = Array.from({ length: 8 }, () =>
      passwords.verify('correct horse battery', hash).then(
        (v) => v,
        (e: unknown) => e,
      ),
    );
    const refused = await Promise.all(attempts.slice(3));
    expect(Date.now() - started).toBeGreaterThanOrEqual(390);
    for (const err of refused) {
      expect(err).toBeInstanceOf(HttpProblem);
      expect((err as HttpProblem).status).toBe(503);
      expect((err as HttpProblem).headers['retry-after']).toBe('1');
    }
    expect(passwords.queue()).toEqual({ running: 3, waiting: 0 });
    open();
    expect(await Promise.all(attempts.slice(0, 3))).toEqual([true, true, true]);
    expect(compares.count).toBe(3);
    expect(passwords.queue()).toEqual({ running: 0, waiting: 0 });
  });

  test('a full line refuses at once, without waiting', async () => {
    const hash = await bcrypt.hash('correct horse battery', 4);
    let open!: () => void;
    countCompares(new Promise<void>((resolveGate) => (open = resolveGate)));
    const attempts = Array.from({ length: 14 }, () =>
      passwords.verify('correct horse battery', hash).then(
        (v) => v,
        (e: unknown) => e,
      ),
    );
    const started = Date.now();
    const last = await attempts[13]; // 3 running + 10 waiting fill it
    // Well under BCRYPT_QUEUE_TIMEOUT_MS (400): it was refused on arrival, not after waiting (a busy CI machine may pause a little).
    expect(Date.now() - started).toBeLessThan(300);
    expect((last as HttpProblem).status).toBe(503);
    open();
    const results = await Promise.all(attempts.slice(0, 13));
    expect(results).toEqual(Array(13).fill(true));
  });
});
